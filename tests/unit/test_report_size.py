"""Size limits: the comment within 65,536 characters, the summary within 1 MiB of UTF-8."""

from __future__ import annotations

import re

import pytest
from test_report_cases import make_comparison, make_context, make_delta

from perfaction.analysis.comparison import Verdict
from perfaction.report.context import COMMENT_MARKER
from perfaction.report.render import (
    COMMENT_LIMIT,
    SUMMARY_LIMIT,
    render_comment,
    render_markdown_full,
    render_summary,
)

# History points for trend charts add fixed parts that must fit too.
HISTORY = {f"suite.group_{i}.bench_case[size={i}]": [(f"c{j:06x}", 1e-4 + j * 1e-7) for j in range(60)]
           for i in range(0, 200, 7)}


def big_comparison(count: int, *, regressed_every: int = 250, prefix: str = "suite"):
    deltas = []
    for i in range(count):
        name = f"{prefix}.group_{i % 40}.bench_case[size={i}]"
        if i % regressed_every == 0:
            deltas.append(make_delta(name, "time", Verdict.REGRESSED, change=0.12, p=0.0001,
                                     reason="slower by more than the 5 % threshold; p < 0.001 after Holm"))
        elif i % 10 == 1:
            deltas.append(make_delta(name, "time", Verdict.INCONCLUSIVE, change=0.04, spread=0.15))
        else:
            deltas.append(make_delta(name, "time", Verdict.UNCHANGED))
        deltas.append(make_delta(name, "peak_memory", Verdict.UNCHANGED, base=2.0e6, change=0.0))
    return make_comparison(deltas)


def regressed_rows(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.startswith("| 🔴 |"))


@pytest.fixture(scope="module")
def five_thousand():
    return big_comparison(5000), make_context(history=HISTORY)


def test_5000_benchmarks_comment_fits_and_keeps_every_regression(five_thousand):
    comparison, context = five_thousand
    text = render_comment(comparison, context)
    assert len(text) <= COMMENT_LIMIT
    assert text.startswith(COMMENT_MARKER)
    assert regressed_rows(text) == len(comparison.regressions) == 20
    assert "not shown here to keep within GitHub's size limit" in text
    assert "The full report is in `perf-report.md`." in text
    assert text.rstrip().endswith("perf-regression-action</sub>")   # the footer survived


def test_omitted_rows_are_counted_by_verdict(five_thousand):
    comparison, context = five_thousand
    text = render_comment(comparison, context)
    shown = sum(1 for line in text.splitlines() if re.match(r"\| (❔|⚪) \|", line))
    omitted = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) (?:inconclusive|unchanged)[,)]", text)]
    assert shown + sum(omitted) == len(comparison.deltas) - 20


def test_5000_benchmarks_summary_fits_in_one_mebibyte(five_thousand):
    comparison, context = five_thousand
    text = render_summary(comparison, context)
    assert len(text.encode("utf-8")) <= SUMMARY_LIMIT
    assert regressed_rows(text) == 20
    assert text.rstrip().endswith("perf-regression-action</sub>")


def test_summary_limit_counts_bytes_not_characters():
    # Each of these names is 4 bytes per character in UTF-8.
    comparison = big_comparison(5000, prefix="😀" * 40)
    text = render_summary(comparison, make_context())
    assert len(text.encode("utf-8")) <= SUMMARY_LIMIT < len(text) * 4


def test_when_even_regressions_overflow_the_comment_says_how_many_were_left_out():
    comparison = big_comparison(5000, regressed_every=1)
    text = render_comment(comparison, make_context())
    assert len(text) <= COMMENT_LIMIT
    shown = regressed_rows(text)
    match = re.search(r"_([\d,]+) more rows not shown here[^(]*\(([\d,]+) regressed\)", text)
    assert match, "the comment must say how many rows were left out"
    assert shown + int(match.group(2).replace(",", "")) == 5000
    assert shown > 100


@pytest.mark.parametrize("limit", [4_000, 9_000, 20_000, 40_000])
def test_any_limit_holds_and_more_room_shows_more_rows(limit):
    comparison = big_comparison(600, regressed_every=7)
    small = render_comment(comparison, make_context(), max_chars=limit)
    larger = render_comment(comparison, make_context(), max_chars=limit + 5_000)
    assert len(small) <= limit and len(larger) <= limit + 5_000
    assert small.count("\n| ") < larger.count("\n| ")


def test_a_limit_below_the_fixed_parts_still_holds_and_keeps_the_marker():
    comparison = big_comparison(50)
    text = render_comment(comparison, make_context(), max_chars=600)
    assert len(text) <= 600
    assert text.startswith(COMMENT_MARKER)
    assert "report cut here to fit the size limit" in text


def test_the_full_report_keeps_every_row(five_thousand):
    comparison, context = five_thousand
    text = render_markdown_full(comparison, context)
    assert sum(1 for line in text.splitlines() if re.match(r"\| (🔴|❔|⚪) \|", line)) == len(comparison.deltas)
    assert "not shown" not in text
