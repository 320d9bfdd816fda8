"""report/reasons.py: decisions arrive as codes with numbers; the sentences are made here."""

from __future__ import annotations

import json

import pytest

from perfaction.analysis.compare import compare_suites
from perfaction.analysis.comparison import REASON_CODES, Delta, Reason, Verdict
from perfaction.analysis.comparison_json import comparison_from_dict, comparison_to_dict
from perfaction.analysis.policy import Policy
from perfaction.report.reasons import _SENTENCES, describe, reason_text
from perfaction.results.model import Benchmark, Environment, Metric, Suite


def test_every_reason_code_has_its_sentence():
    assert set(_SENTENCES) == set(REASON_CODES)


def test_an_unknown_code_is_refused_where_the_reason_is_made():
    with pytest.raises(ValueError, match="unknown reason code 'because'"):
        Reason("because")


def _suite(center: float, seed: int, *, failed: bool = False) -> Suite:
    values = tuple((center * (1 + 0.01 * ((seed * 7 + i * 3) % 5 - 2)),) for i in range(12))
    bench = Benchmark("sort", {"time": Metric(unit="s", samples=values)},
                      error="ValueError: boom" if failed else None)
    return Suite((bench,), Environment(cpu_model="x"))


def test_compare_gives_codes_and_numbers_and_the_words_come_from_the_report_layer():
    comparison = compare_suites(_suite(1e-3, 1), _suite(1.5e-3, 2), Policy())
    delta = next(d for d in comparison.deltas if d.metric == "time")
    assert delta.verdict is Verdict.REGRESSED and delta.reason == ""
    assert delta.why.code == "significant"
    facts = delta.why.facts
    assert facts["threshold"] == 0.05 and facts["alpha"] == 0.01 and facts["change"] > 0.4
    assert reason_text(delta) == describe(delta.why)
    assert reason_text(delta).startswith(f"+{facts['change'] * 100:.1f}% is beyond the 5% threshold")


def test_the_comparison_json_keeps_the_sentence_and_adds_the_code():
    comparison = compare_suites(_suite(1e-3, 1), _suite(1e-3, 2, failed=True), Policy())
    data = json.loads(json.dumps(comparison_to_dict(comparison, describe=reason_text)))
    raw = data["deltas"][0]
    assert raw["reason_code"] == "failed" and raw["reason_facts"] == {"error": "ValueError: boom"}
    assert raw["reason"] == "failed in this run: ValueError: boom"
    again = comparison_from_dict(data)
    assert again.deltas[0].why == Reason("failed", {"error": "ValueError: boom"})
    assert reason_text(again.deltas[0]) == raw["reason"]


def test_a_file_from_before_codes_or_from_a_newer_writer_shows_its_own_sentence():
    comparison = compare_suites(_suite(1e-3, 1), _suite(1e-3, 2, failed=True), Policy())
    data = comparison_to_dict(comparison, describe=reason_text)
    data["deltas"][0]["reason_code"] = "a_code_from_the_future"
    delta = comparison_from_dict(data).deltas[0]
    assert delta.why is None and reason_text(delta) == "failed in this run: ValueError: boom"
    del data["deltas"][0]["reason_code"]
    assert reason_text(comparison_from_dict(data).deltas[0]) == "failed in this run: ValueError: boom"


def test_a_reason_missing_a_fact_falls_back_to_the_files_sentence():
    damaged = Delta("a", "time", "s", "lower", Verdict.REGRESSED,
                    why=Reason("significant", {"change": 0.2}), reason="slower, says the file")
    assert reason_text(damaged) == "slower, says the file"
