"""Nightly rendering: the job summary, the regression issue, the recovery comment; trend choice."""

from __future__ import annotations

import re

import numpy as np

from perfaction.action.nightly import chart_trends, pr_trends, units_of
from perfaction.analysis import changepoint, nightly
from perfaction.report.nightly import (
    NightlyContext,
    compare_url,
    render_issue_body,
    render_nightly_summary,
    render_recovery_comment,
)
from perfaction.results.history import Entry, History, MetricSummary, fingerprint_id
from perfaction.results.model import Benchmark, Environment, Metric, Suite

CPU_A = {"cpu_model": "CPU A", "logical_cores": 4}
CPU_B = {"cpu_model": "CPU B", "logical_cores": 8}
HOSTILE = "evil|name`<!-- x -->@octocat"
CONTEXT = NightlyContext(repository="octo-org/widgets", server_url="https://github.com",
                         run_url="https://github.com/octo-org/widgets/actions/runs/7")


def sha(i: int) -> str:
    return f"{i:04x}" + "0" * 36


def entry(i: int, values: dict[str, float], cpu=CPU_A) -> Entry:
    return Entry(sha(i), f"2024-03-{1 + i % 28:02d}T02:00:00Z", cpu,
                 {name: {"time": MetricSummary("s", "lower", value, 20, 0.01)}
                  for name, value in values.items()})


def stepped_history(names=("parse", HOSTILE), nights=40, step_at=25) -> History:
    noise = np.random.default_rng(3).normal(0, 0.004, nights)
    history = History()
    for i in range(nights):
        level = 6e-3 if i >= step_at else 5e-3
        history = history.with_entry(entry(i, {n: level * (1 + noise[i]) for n in names}))
    return history


def night(history: History, known=(), context=CONTEXT):
    points = changepoint.detect_history(history)
    outcome = nightly.plan_nightly(history, points, known)
    summary = render_nightly_summary(
        outcome, chart_trends(history, outcome), context=context, entries=len(history),
        benchmarks=2, on_this_runner=len(history), unit_of=units_of(history))
    return outcome, summary


def test_the_summary_lists_each_regression_with_its_compare_link_and_issue():
    history = stepped_history()
    outcome, summary = night(history)
    key = outcome.regressions[0].key
    context = NightlyContext(repository="octo-org/widgets", issues={key: (12, "https://github.com/octo-org/widgets/issues/12")})
    _, summary = night(history, context=context)
    assert "Nightly history: 2 active regressions" in summary
    assert f"(https://github.com/octo-org/widgets/compare/{sha(24)}...{sha(25)})" in summary
    assert "[#12](https://github.com/octo-org/widgets/issues/12)" in summary
    assert re.search(r"\*\*\+20\.\d %\*\* \| [45]\.\d\d ms \| [56]\.\d\d ms \|", summary)
    assert summary.count("xychart-beta") == 2
    assert "2 change points in the history" in summary


def test_hostile_benchmark_names_cannot_break_the_markdown():
    _, summary = night(stepped_history())
    assert "<!--" not in summary   # a name can never forge the issue marker
    outside_code = re.sub(r"(`+).*?\1", "", summary)
    assert "@octocat" not in outside_code   # no mention outside code spans
    for line in summary.splitlines():
        if line.startswith("| 🔴 |"):   # a row keeps its 10 cell borders however the name reads
            assert len(re.findall(r"(?<!\\)\|", line)) == 10, line
    titles = [line for line in summary.splitlines() if line.strip().startswith("title ")]
    assert all(re.fullmatch(r'\s*title "[\w .:/()+,-]*"', t) for t in titles), titles


def test_a_quiet_history_says_so_and_shows_notes():
    history = History()
    for i in range(10):
        history = history.with_entry(entry(i, {"parse": 1e-3 * (1 + 0.001 * (i % 3))}))
    outcome = nightly.plan_nightly(history, changepoint.detect_history(history))
    context = NightlyContext(history_status="invalid", notes=("The previous history was refused.",))
    summary = render_nightly_summary(
        outcome, chart_trends(history, outcome), context=context, entries=10,
        benchmarks=1, on_this_runner=10)
    assert "no active regression" in summary and "No change point in the history." in summary
    # next to a comparison that may say "5 regressions": why the history may not, yet
    assert "needs 3 nights on each side" in summary and "speaks of tonight alone" in summary
    assert "a new history started tonight" in summary
    assert "- The previous history was refused." in summary


def test_links_need_a_repository_and_hex_commits():
    assert compare_url(CONTEXT, "abc1234", "def5678") == \
        "https://github.com/octo-org/widgets/compare/abc1234...def5678"
    assert compare_url(CONTEXT, "main", "def5678") is None
    assert compare_url(NightlyContext(repository=None), "abc1234", "def5678") is None


def test_the_issue_body_and_the_recovery_comment():
    history = stepped_history(names=("parse",))
    outcome, _ = night(history)
    [plan] = outcome.issues
    fields = {**plan.body_fields, "unit": "s"}
    body = render_issue_body(fields, CONTEXT)
    assert plan.marker not in body, "the caller appends the marker"
    assert f"/compare/{sha(24)}...{sha(25)})" in body
    assert re.search(r"\| Before the change \| [45]\.\d\d ms \|", body)
    assert "| p-value (adjusted) | < 0.001 |" in body
    assert "xychart-beta" in body and "(lower is better)" in body
    assert "(https://github.com/octo-org/widgets/actions/runs/7)" in body
    recovered = render_recovery_comment(fields, CONTEXT, closing=True)
    assert "Recovered" in recovered and "Closing this issue" in recovered
    assert "Closing" not in render_recovery_comment(fields, CONTEXT, closing=False)


def test_a_benchmark_new_on_tonights_runner_is_charted_from_its_usual_runner():
    history = History()
    for i in range(12):
        history = history.with_entry(entry(i, {"parse": 1e-3}, CPU_A))
    history = history.with_entry(entry(12, {"parse": 0.7e-3}, CPU_B))   # tonight: other hardware
    outcome = nightly.plan_nightly(history, changepoint.detect_history(history))
    [trend] = chart_trends(history, outcome)
    assert trend.fingerprint_id == fingerprint_id(CPU_A) and len(trend.points) == 12
    summary = render_nightly_summary(
        outcome, [trend], context=CONTEXT, entries=13, benchmarks=1, on_this_runner=1)
    assert f'title "parse: time (runner {fingerprint_id(CPU_A)})"' in summary


def head_suite(cpu: dict) -> Suite:
    time = Metric("s", samples=((2e-5, 2.1e-5),) * 3)
    memory = Metric("B", samples=((100.0,),) * 3)
    return Suite((Benchmark("parse", {"time": time}), Benchmark("alloc", {"peak_memory": memory})),
                 Environment(**cpu, commit_sha="f" * 40))


def test_pull_requests_get_the_time_trend_of_their_own_runner_type_only():
    history = History()
    runner_a = Environment(**CPU_A).fingerprint()   # what a measured suite's entry carries
    for i in range(5):
        history = history.with_entry(entry(i, {"parse": 1e-3 + i * 1e-6}, runner_a))
    series, notes = pr_trends(history, head_suite(CPU_A))
    assert list(series) == ["parse"] and notes == ()
    assert series["parse"][0] == (sha(0)[:7], 1e-3)
    series, notes = pr_trends(history, head_suite(CPU_B))
    assert series == {} and "no nights on this runner type" in notes[0]
    assert pr_trends(None, head_suite(CPU_A)) == ({}, ())
