"""report.py: golden outputs of every template and case, and what each must say.

Regenerate the golden files after an intended change, then read the diff:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/test_report.py -q
"""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta
from pathlib import Path

import jinja2
import pytest
from test_report_cases import CASES, make_comparison, make_context, make_delta

from perfaction.analysis.comparison import Verdict
from perfaction.report.context import COMMENT_MARKER, BaselineInfo, ReportContext, comment_marker
from perfaction.report.render import (
    make_environment,
    render_comment,
    render_markdown_full,
    render_reports,
    render_summary,
    render_terminal,
)

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
TEMPLATES = Path(__file__).resolve().parents[2] / "perfaction" / "report" / "templates"
RENDERERS = {
    "comment.md": render_comment,
    "summary.md": render_summary,
    "terminal.txt": render_terminal,
}


@pytest.mark.parametrize("renderer", sorted(RENDERERS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_output_matches_its_golden_file(case, renderer):
    comparison, context = CASES[case]()
    text = RENDERERS[renderer](comparison, context)
    path = GOLDEN / f"{case}.{renderer}"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path.name} is missing; create it with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"{path.name} differs; if the change is intended, rerun with UPDATE_GOLDEN=1 and review the diff")


def test_comment_starts_with_the_hidden_marker():
    comparison, context = CASES["regression"]()
    assert render_comment(comparison, context).startswith(COMMENT_MARKER + "\n")
    assert COMMENT_MARKER.startswith("<!--") and COMMENT_MARKER.endswith("-->")


def test_comment_id_keys_the_marker_so_two_jobs_keep_separate_comments():
    comparison, _ = CASES["all_pass"]()
    linux = render_comment(comparison, make_context(comment_id="linux-py311"))
    mac = render_comment(comparison, make_context(comment_id="macos"))
    assert linux.splitlines()[0] == "<!-- perf-regression-action:comment:linux-py311 -->"
    assert comment_marker("macos") in mac and comment_marker("linux-py311") not in mac
    assert comment_marker("default") == COMMENT_MARKER  # the action's default id


def test_summary_and_terminal_carry_no_marker():
    comparison, context = CASES["regression"]()
    assert "<!--" not in render_summary(comparison, context)
    assert "<!--" not in render_terminal(comparison, context)


def test_regressions_come_first_worst_first():
    comparison, context = CASES["regression"]()
    table_rows = [line for line in render_comment(comparison, context).splitlines()
                  if line.startswith("| 🔴") or line.startswith("| 🟠") or line.startswith("| ⚪")]
    icons = [row.split("|")[1].strip() for row in table_rows]
    assert icons == ["🔴", "🔴", "🔴", "🟠"] + ["⚪"] * 6
    assert "`orderbook_updates`" in table_rows[0] and "+8.7 %" in table_rows[0]  # +8.7 beats +5.5


def test_unchanged_rows_are_folded():
    comparison, context = CASES["regression"]()
    text = render_comment(comparison, context)
    folded = text[text.index("<details><summary>6 unchanged metrics</summary>"):]
    assert "`parse_small`" in folded[:folded.index("</details>")]
    assert "`parse_small`" not in text[:text.index("<details>")]


def test_change_is_shown_with_its_interval_and_the_baseline_unit():
    comparison, context = CASES["regression"]()
    text = render_comment(comparison, context)
    assert "| 1.52 ms | 1.60 ms | **+5.5 % (+3.0 .. +8.0 %)** |" in text
    assert "Change (95 % CI)" in text


def test_headlines_state_the_outcome_with_counts():
    expected = {
        "all_pass": "## ✅ Performance: no regression",
        "regression": "## ❌ Performance: 3 regressions",
        "improvement": "## ✅ Performance: no regression",
        "inconclusive": "## ❔ Performance: inconclusive, 1 metric too noisy to decide",
        "no_baseline": "## 📊 Performance: no baseline yet",
        "new_removed_failed": "## 💥 Performance: 1 benchmark failed",
    }
    for case, headline in expected.items():
        comparison, context = CASES[case]()
        assert render_comment(comparison, context).splitlines()[1] == headline, case
    comparison, context = CASES["regression"]()
    # gating metrics, then report-only ones that changed: the rows the tables hold
    assert "Metrics: **3 regressed** · 6 unchanged. Report-only: 1 worse." in \
        render_comment(comparison, context)


def test_no_baseline_is_said_plainly_and_never_shown_as_a_comparison():
    comparison, context = CASES["no_baseline"]()
    for text in (render_comment(comparison, context), render_summary(comparison, context)):
        assert "No baseline yet: no baseline artifact yet on main. Nothing was compared" in text
        for word in ("Baseline |", "Change", "regressed", "regressions", "unchanged", "🔴", "⚪", "✅"):
            assert word not in text
        assert "| `parse_small` | time | 121 µs |" in text
    assert "NO BASELINE YET" in render_terminal(comparison, context)


def test_expired_baseline_reason_is_shown():
    comparison, _ = CASES["no_baseline"]()
    baseline = BaselineInfo(source="none", reason="the newest baseline artifact (id 77) expired on 2024-03-01")
    text = render_comment(comparison, make_context(baseline=baseline))
    assert "No baseline yet: the newest baseline artifact (id 77) expired on 2024-03-01." in text


def test_baseline_provenance_names_artifact_run_commit_and_age():
    comparison, context = CASES["all_pass"]()
    text = render_comment(comparison, context)
    assert ("Baseline: artifact `perf-baseline` (id 1296343) from "
            "[run 9876543210](https://github.com/octo/widgets/actions/runs/9876543210) on `main`, "
            "commit [`4b1d9e7`](https://github.com/octo/widgets/commit/4b1d9e7c2a6f8035e1d7c9b3a5f2e4d6c8a0b1c3), "
            "created 2024-05-01 12:00 UTC (3 days ago).") in text


@pytest.mark.parametrize("baseline, expected", [
    (BaselineInfo(source="file", path="bench/base.json"), "Baseline: results file `bench/base.json`, commit"),
    (BaselineInfo(source="same-runner"), "Baseline: the base commit [`4b1d9e7`]"),
])
def test_other_baseline_sources(baseline, expected):
    comparison, _ = CASES["all_pass"]()
    assert expected in render_comment(comparison, make_context(baseline=baseline, mode="same-runner"))


def test_old_baseline_gets_a_note():
    comparison, _ = CASES["all_pass"]()
    baseline = BaselineInfo(source="artifact", artifact_name="perf-baseline", age=timedelta(days=45))
    text = render_comment(comparison, make_context(baseline=baseline))
    assert "The baseline is 45 days old" in text


def test_environment_mismatch_is_a_warning_near_the_top_with_a_fix():
    comparison, context = CASES["environment_mismatch"]()
    text = render_comment(comparison, context)
    warning = text.index("> [!WARNING]")
    assert warning < text.index("<details>")
    assert "> - logical_cores: `2` → `4`" in text
    assert "Fix: use `mode: same-runner`" in text
    terminal = render_terminal(comparison, context)
    assert "WARNING: The baseline was measured on a different machine" in terminal


def test_noise_warnings_name_a_concrete_fix():
    comparison, context = CASES["inconclusive"]()
    text = render_comment(comparison, context)
    assert "Fix: raise `time-budget` so that more processes run, or use `mode: same-runner`" in text
    assert "`network_roundtrip` time ±18.0 %" in text
    same_runner = render_comment(comparison, make_context(mode="same-runner"))
    assert "raise `time-budget`" in same_runner and "use `mode: same-runner`" not in same_runner


def test_footer_states_the_rule_and_thresholds_in_plain_words():
    comparison, context = CASES["regression"]()
    text = render_comment(comparison, context)
    assert ("at significance α = 0.01, Holm-corrected across the run's 9 gating tests, and by more "
            "than its threshold: time 5 %; peak_memory 10 % and at least 1 MiB; `orderbook_*` time "
            "8 %; latency_p99 10 % (report-only).") in text


def test_footer_names_the_test_and_the_estimate_when_the_comparison_does():
    comparison, context = CASES["regression"]()
    assert f"(report-only). Method: {comparison.method}. Current is the baseline moved" in \
        render_comment(comparison, context)
    custom = dataclasses.replace(comparison, method="Welch | <b>t</b>")
    assert "Method: Welch \\| &lt;b&gt;t&lt;/b&gt;." in render_comment(custom, context)
    assert "Method: Welch | <b>t</b>." in render_terminal(custom, context)
    unnamed = dataclasses.replace(comparison, method="")
    assert "Method:" not in render_comment(unnamed, context) + render_terminal(unnamed, context)


def test_summary_adds_p_values_sample_counts_and_environments():
    comparison, context = CASES["regression"]()
    text = render_summary(comparison, context)
    assert "| p (adj.) | n (base / head) |" in text
    assert "<details><summary>Environment</summary>" in text


def test_trend_chart_where_history_exists():
    comparison, context = CASES["regression"]()
    text = render_comment(comparison, context)
    chart = text[text.index("```mermaid"):]
    chart = chart[:chart.index("```\n", 3) + 3]
    assert chart.splitlines()[1:] == [
        "xychart-beta",
        '    title "orderbook_updates: time"',
        '    x-axis ["c0ffee1", "badcafe", "f00dfee", "this run"]',
        '    y-axis "time (µs)"',
        "    line [31.8, 32.2, 32.0, 34.9]",
        "```"]
    no_history = render_comment(comparison, make_context())
    assert "mermaid" not in no_history


def test_notes_from_the_comparison_and_the_context_are_listed_and_capped():
    comparison = make_comparison([make_delta("a")], notes=("from compare",))
    context = make_context(notes=tuple(f"note {i}" for i in range(30)))
    text = render_comment(comparison, context)
    assert "- from compare" in text and "- note 18" in text and "- note 19" not in text
    assert "- … and 11 more notes." in text


def test_a_verdict_added_later_still_renders():
    class FutureVerdict(str):  # a Verdict member this report does not know yet
        value = "drifting"
    delta = make_delta("a")
    object.__setattr__(delta, "verdict", FutureVerdict("drifting"))
    text = render_comment(make_comparison([delta]), make_context())
    assert "| • | `a` |" in text and "drifting" in text


def test_every_template_refuses_a_raw_string(tmp_path):
    (tmp_path / "t.j2").write_text("{{ name }}")
    env = make_environment(tmp_path)
    with pytest.raises(TypeError, match="without an escaping filter"):
        env.get_template("t.j2").render(name="a|b")
    assert env.from_string("{{ name|md }}").render(name="a|b") == "a\\|b"


def test_missing_variable_is_an_error_not_an_empty_string(tmp_path):
    (tmp_path / "t.j2").write_text("{{ missing|md }}")
    with pytest.raises(jinja2.UndefinedError):
        make_environment(tmp_path).get_template("t.j2").render()


def test_templates_dir_can_be_overridden(tmp_path):
    for name in ("_words.j2", "_macros.md.j2", "base.md.j2", "summary.md.j2", "report.txt.j2"):
        (tmp_path / name).write_text((TEMPLATES / name).read_text())
    (tmp_path / "comment.md.j2").write_text('{% extends "base.md.j2" %}{% block marker %}CUSTOM\n{% endblock %}')
    comparison, context = CASES["all_pass"]()
    assert render_comment(comparison, context, templates_dir=tmp_path).startswith("CUSTOM\n")


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "nightly"}, "mode must be one of"),
    ({"pr_number": 0}, "pr_number must be a positive integer"),
    ({"comment_id": "two words"}, "comment_id accepts"),
])
def test_context_is_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_context(**kwargs)


def test_baseline_info_is_validated():
    with pytest.raises(ValueError, match="source must be one of"):
        BaselineInfo(source="s3")
    with pytest.raises(ValueError, match="age must not be negative"):
        BaselineInfo(source="artifact", age=timedelta(days=-1))


def test_context_fields_are_keyword_only():
    with pytest.raises(TypeError):
        ReportContext(BaselineInfo(source="none"))  # type: ignore[misc]


def test_history_is_copied_into_tuples():
    history = {"a": [("x", 1.0)]}
    context = make_context(history=history)
    history["a"].append(("y", 2.0))
    assert context.history == {"a": (("x", 1.0),)}


def test_verdicts_are_not_decided_here():
    # A delta marked UNCHANGED stays unchanged even with a huge change: compare decides.
    delta = make_delta("a", change=0.9, verdict=Verdict.UNCHANGED)
    text = render_comment(make_comparison([delta]), make_context())
    assert "## ✅ Performance: no regression" in text and "| ⚪ | `a` |" in text


@pytest.mark.parametrize("case", ["regression", "no_baseline", "new_removed_failed"])
def test_render_reports_gives_what_the_single_renderers_give(case):
    comparison, context = CASES[case]()
    reports = render_reports(comparison, context)
    assert reports.comment == render_comment(comparison, context)
    assert reports.summary == render_summary(comparison, context)
    assert reports.full == render_markdown_full(comparison, context)


def test_render_reports_shares_rows_but_keeps_each_limit():
    from test_report_size import big_comparison
    comparison = big_comparison(400)
    reports = render_reports(comparison, make_context(), max_chars=5_000, max_bytes=20_000)
    assert len(reports.comment) <= 5_000 and len(reports.summary.encode()) <= 20_000
    assert "not shown" not in reports.full and reports.full.count("\n| ") > 800


def test_an_empty_comparison_renders_in_every_format():
    comparison = make_comparison([])
    context = make_context()
    assert "no regression" in render_comment(comparison, context)
    assert "Metrics: none compared." in render_summary(comparison, context)
    assert render_terminal(comparison, context).startswith("Performance: NO REGRESSION")
