"""What a reviewer sees above the fold: the answer, the changes, one line for the undecided.

The cases are shaped like the suites that made the old comment hard to read:
the bundled demo (many report-only latency rows, most metrics undecided) and a
3-benchmark run with one real regression.
"""

from __future__ import annotations

import re

import pytest

from perfaction.analysis.comparison import Verdict
from perfaction.report.render import render_comment, render_summary, render_terminal
from tests.unit.test_report_cases import CASES, make_comparison, make_context, make_delta

ABOVE_THE_FOLD_LIMIT = 25
LATENCIES = ("latency_p50", "latency_p95", "latency_p99")


def rows_above_the_fold(comment: str) -> int:
    """Table rows outside any <details> block (header and delimiter rows excluded)."""
    visible = re.sub(r"<details>.*?</details>", "", comment, flags=re.S)
    rows = [line for line in visible.splitlines() if line.startswith("|")]
    return len([line for line in rows if not line.startswith("|:-") and "| Benchmark |" not in line])


def undecided(name: str, metric: str = "time", *, gating: bool = True):
    return make_delta(name, metric, Verdict.INCONCLUSIVE, change=0.02, interval=(-0.1, 0.15),
                      gating=gating, p=0.2)


def demo_like(benchmarks: int = 9):
    """Every benchmark: time undecided, cpu_time and three latencies report-only and undecided."""
    deltas = []
    for i in range(benchmarks):
        name = f"bench_{i}"
        deltas.append(undecided(name))
        deltas.append(undecided(name, "cpu_time", gating=False))
        deltas.extend(undecided(name, metric, gating=False) for metric in LATENCIES)
        deltas.append(make_delta(name, "peak_memory", change=0.0, interval=(-0.001, 0.001)))
    return make_comparison(deltas)


def one_regression_of_three():
    deltas = [make_delta("parse", "time", Verdict.REGRESSED, base=3.2e-5, change=0.3,
                         interval=(0.2, 0.4), p=0.0001)]
    for name in ("parse", "render", "store"):
        if name != "parse":
            deltas.append(make_delta(name, "time"))
        deltas.append(make_delta(name, "cpu_time", gating=False))
        deltas.extend(undecided(name, metric, gating=False) for metric in LATENCIES)
    return make_comparison(deltas)


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_golden_case_shows_more_than_25_rows_above_the_fold(case):
    comparison, context = CASES[case]()
    assert rows_above_the_fold(render_comment(comparison, context)) <= ABOVE_THE_FOLD_LIMIT


def test_a_demo_like_suite_puts_no_undecided_row_above_the_fold_and_says_why_once():
    comment = render_comment(demo_like(), make_context())
    assert rows_above_the_fold(comment) == 0
    assert comment.count("too noisy to decide") == 2     # the headline, and the one line
    assert "Fix: raise `time-budget`" in comment
    assert comment.count("raise the time budget") == 0   # not repeated on every row
    # the headline, the counts line and the folded table agree: 9 gating metrics undecided
    assert "inconclusive, 9 metrics too noisy to decide" in comment
    assert "Metrics: 9 inconclusive · 9 unchanged." in comment
    assert "<summary>9 inconclusive metrics," in comment
    assert "<summary>45 more metrics: report-only, unchanged</summary>" in comment
    assert "detail_processes" not in comment


def test_one_regression_among_three_benchmarks_is_the_only_row_above_the_fold():
    comment = render_comment(one_regression_of_three(), make_context())
    assert rows_above_the_fold(comment) == 1
    assert "| 🔴 | `parse` | time |" in comment
    assert "Metrics: **1 regressed** · 2 unchanged." in comment


def test_a_report_only_metric_is_above_the_fold_only_when_it_changed_significantly():
    deltas = [make_delta("parse", "time"),
              make_delta("parse", "latency_p99", Verdict.REGRESSED, change=0.3,
                         interval=(0.2, 0.4), gating=False, p=0.001),
              undecided("parse", "latency_p50", gating=False)]
    comment = render_comment(make_comparison(deltas), make_context())
    visible = re.sub(r"<details>.*?</details>", "", comment, flags=re.S)
    assert "latency_p99" in visible and "latency_p50" not in visible
    assert "Report-only: 1 worse." in comment


def test_cpu_utilisation_that_fell_is_a_change_not_an_improvement():
    # contention lowers utilisation; a green "improved" row would misread it
    deltas = [make_delta("parse", "time"),
              make_delta("parse", "cpu_utilisation", Verdict.IMPROVED, base=0.99, change=-0.25,
                         interval=(-0.3, -0.2), gating=False, p=0.001, unit="ratio")]
    comment = render_comment(make_comparison(deltas), make_context())
    assert "| 🔹 | `parse` | cpu_utilisation |" in comment
    assert "🟢" not in comment and "Report-only: 1 changed." in comment
    assert "changed, report-only" in render_terminal(make_comparison(deltas), make_context())


def test_the_current_column_agrees_with_the_change_column():
    # a paired estimate of +2.2 % beside medians 695 ns and 759 ns read as a contradiction
    delta = make_delta("parse", "time", base=695e-9, change=0.022, interval=(0.01, 0.03))
    delta = delta.__class__(**{**delta.__dict__, "head": delta.head.__class__(759e-9, 20, 0.02)})
    text = render_summary(make_comparison([delta]), make_context())
    assert "| 695 ns | 710 ns | +2.2 % (+1.0 .. +3.0 %) |" in text
    assert "759 ns" not in text


@pytest.mark.parametrize("verdict, change, shown", [
    (Verdict.UNCHANGED, 0.09994, "+9.99 %"),      # within 10 %: never printed as +10.0 %
    (Verdict.REGRESSED, 0.10004, "+10.004 %"),    # beyond 10 %: never printed as +10.0 %
    (Verdict.REGRESSED, 0.125, "+12.5 %"),        # far from the threshold: one decimal
])
def test_rounding_never_moves_a_change_across_its_threshold(verdict, change, shown):
    delta = make_delta("leaky", "peak_memory", verdict, base=1e6, change=change,
                       interval=(change - 0.02, change + 0.02), p=0.001)
    delta = delta.__class__(**{**delta.__dict__, "threshold": 0.10})
    text = render_summary(make_comparison([delta]), make_context())
    assert f" {shown} (" in text or f"**{shown} (" in text      # regressions are bold
    assert "+10.0 %" not in text


def test_a_changed_diagnostic_metric_keeps_its_side_of_the_threshold_too():
    delta = make_delta("parse", "cpu_utilisation", Verdict.IMPROVED, base=0.99, change=-0.10004,
                       interval=(-0.12, -0.10002), gating=False, p=0.001, unit="ratio")
    delta = delta.__class__(**{**delta.__dict__, "threshold": 0.10})
    text = render_summary(make_comparison([make_delta("parse", "time"), delta]), make_context())
    assert "| 🔹 |" in text and "-10.004 % (" in text
