"""The metric registry: a consistent table, a default row for unknown names, and
proof that adding a metric is a row (plus its measurement in the harness)."""

from __future__ import annotations

import dataclasses
import io
import sys
from pathlib import Path

import pytest

from perfaction import metrics
from perfaction.analysis.compare import compare_suites
from perfaction.analysis.comparison import Verdict
from perfaction.analysis.policy import MetricPolicy, Policy, default_policy
from perfaction.cli.run import print_summary
from perfaction.harness import schedule, worker
from perfaction.metrics import MetricInfo
from perfaction.report.context import BaselineInfo, ReportContext
from perfaction.report.reasons import reason_text
from perfaction.report.render import render_terminal
from perfaction.results.model import Suite

ROOT = Path(__file__).resolve().parents[2]
KIB = 1024


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------

def test_names_and_orders_are_unique_and_every_row_is_valid():
    rows = metrics.METRICS
    assert len({m.name for m in rows}) == len(rows)
    assert len({m.order for m in rows}) == len(rows)
    families = {f.name for f in metrics.FAMILIES}
    for row in rows:
        assert row.direction in metrics.DIRECTIONS, row.name
        assert row.family in families, row.name
        assert row.measured_by in metrics.PASSES + (None,), row.name
        assert row.label and row.description, row.name
    assert [m.order for m in metrics.in_display_order()] == sorted(m.order for m in rows)
    assert metrics.MAIN_METRIC in {m.name for m in rows if m.run_summary}


def test_the_rule_kinds_are_the_families_a_rule_can_name():
    assert metrics.kind_members("time") == ("time", "cpu_time")
    assert metrics.kind_members("memory") == ("peak_memory", "retained_memory")
    assert metrics.kind_members("latency") == ("latency_p50", "latency_p95", "latency_p99")
    # a one-metric family is named by its metric, not as a kind
    assert not metrics.is_kind("cpu") and not metrics.is_kind("throughput")


@pytest.mark.parametrize("change, message", [
    (dict(direction="sideways"), "direction"),
    (dict(measured_by="gpu"), "measured_by"),
    (dict(threshold=-0.1), "threshold"),
    (dict(floor=-1.0), "floor"),
    (dict(floor=float("inf")), "floor"),
    (dict(unit=""), "unit"),
    (dict(gates="yes"), "booleans"),
    (dict(order=1.5), "order"),
])
def test_a_row_is_checked_when_built(change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(metrics.metric_info(metrics.TIME), **change)


@pytest.mark.parametrize("extra, message", [
    (dataclasses.replace(metrics.metric_info(metrics.TIME), order=999), "'time' appears twice"),
    (dataclasses.replace(metrics.metric_info(metrics.TIME), name="wall"), "order 10 appears twice"),
    (dataclasses.replace(metrics.metric_info(metrics.TIME), name="gpu_time", order=999,
                         family="gpu"), "family 'gpu' is not in FAMILIES"),
    (dataclasses.replace(metrics.metric_info(metrics.TIME), name="gpu time", order=999),
     "metric name must be"),
])
def test_a_broken_table_fails_at_the_first_lookup_naming_the_row(monkeypatch, extra, message):
    monkeypatch.setattr(metrics, "METRICS", metrics.METRICS + (extra,))
    with pytest.raises(ValueError, match=message):
        metrics.metric_info("time")


def test_every_metric_the_harness_produces_has_a_row_with_its_pass(monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    job = {"root": str(ROOT), "target": "tests/data/bench_modules/mixed_failures.py"}
    found = worker.run_job({**job, "mode": "discover"})
    spec = next(s for s in found["specs"] if s["name"] == "healthy")
    for latency, memory in ((True, True), (False, False), (True, False), (False, True)):
        result = worker.run_job({**job, "mode": "measure", "spec": spec, "loops": 10,
                                 "min_value_time": 0.001, "values": 2, "warmup_values": 0,
                                 "latency": latency, "memory": memory})
        ran = {metrics.TIMED_PASS}
        ran |= {metrics.LATENCY_PASS} if latency else set()
        ran |= {metrics.MEMORY_PASS} if memory else set()
        produced = set(result["metrics"])
        assert all(metrics.is_known(name) for name in produced), produced
        assert produced == {m.name for m in metrics.harness_metrics() if m.measured_by in ran}


def test_policy_defaults_are_the_rows():
    policy = Policy()
    for row in metrics.METRICS:
        expected = MetricPolicy(row.threshold, floor=row.floor, gating=row.gates)
        assert default_policy(row.name) == policy.resolve("any", row.name) == expected, row.name
    # the harness sizes its memory pass for the gating rows it measures
    gating = [m.name for m in metrics.harness_metrics(metrics.TIME_MODE_PASSES) if m.gates]
    assert gating == ["time", "peak_memory", "retained_memory"]
    assert schedule.GATING_METRICS_PER_BENCHMARK == len(gating)


# ---------------------------------------------------------------------------
# Names the registry does not know
# ---------------------------------------------------------------------------

def test_an_unknown_metric_gets_a_report_only_lower_is_better_default_row():
    row = metrics.metric_info("pytest_benchmark_ops")
    assert not metrics.is_known("pytest_benchmark_ops")
    assert (row.name, row.unit, row.direction) == ("pytest_benchmark_ops", metrics.UNKNOWN_UNIT,
                                                   metrics.LOWER_IS_BETTER)
    assert (row.threshold, row.floor, row.gates, row.measured_by) == (0.05, None, False, None)
    assert row.family == metrics.OTHER_FAMILY and not row.run_summary
    assert default_policy("pytest_benchmark_ops") == MetricPolicy(0.05)
    # a file's own unit and direction fill the default row
    mine = metrics.default_info("rounds", unit="ops/s", direction=metrics.HIGHER_IS_BETTER)
    assert (mine.unit, mine.direction) == ("ops/s", metrics.HIGHER_IS_BETTER)
    # any name a file may hold, even one no rule could name
    assert metrics.metric_info("ops per second (mean)").label == "ops per second (mean)"


def test_unknown_names_sort_after_the_rows_in_the_order_they_came():
    names = ["zeta", "retained_memory", "alpha", "time", "latency_p99"]
    assert metrics.sort_names(names) == ["time", "latency_p99", "retained_memory", "zeta", "alpha"]


# ---------------------------------------------------------------------------
# Adding a metric is a row: nothing else on the analysis and report side
# ---------------------------------------------------------------------------

NATIVE_MEMORY = MetricInfo(
    "native_memory", "B", metrics.LOWER_IS_BETTER, metrics.MEMORY_FAMILY, metrics.MEMORY_PASS,
    threshold=0.10, floor=64 * KIB, gates=True, label="native", order=85, run_summary=True,
    description="bytes malloc'd outside the Python allocator (a test's row)")


@pytest.fixture
def with_native_memory(monkeypatch):
    monkeypatch.setattr(metrics, "METRICS", metrics.METRICS + (NATIVE_MEMORY,))


def _suite(native: float, *, processes: int = 8) -> Suite:
    bench = schedule.build_benchmark(
        "decode", params={}, loops=100, error=None,
        processes=[{"time": [1e-3 * (1 + 0.001 * i)], "native_memory": [native + 8 * i]}
                   for i in range(processes)])
    return Suite((bench,))


def test_a_new_row_flows_through_policy_compare_and_report(with_native_memory):
    # policy: the row's defaults, and its family's kind covers it
    assert default_policy("native_memory") == MetricPolicy(0.10, floor=64 * KIB, gating=True)
    assert Policy.parse("memory:20%").resolve("decode", "native_memory").threshold == 0.20
    assert Policy.parse("native_memory:report").resolve("decode", "native_memory").gating is False

    # results assembly: kept with the row's unit, in display order
    base, head = _suite(4 * 1024 * KIB), _suite(6 * 1024 * KIB)
    assert list(head.get("decode").metrics) == ["time", "native_memory"]
    assert head.get("decode").metrics["native_memory"].unit == "B"

    # compare: a gating metric that regressed fails the gate
    comparison = compare_suites(base, head, Policy())
    delta = next(d for d in comparison.deltas if d.metric == "native_memory")
    assert delta.verdict is Verdict.REGRESSED and delta.gating and delta.threshold == 0.10
    assert comparison.regressions

    # report: the footer states its default rule, with its floor in bytes
    context = ReportContext(baseline=BaselineInfo(source="file", path="base.json"))
    text = render_terminal(comparison, context)
    assert "native_memory 10 % and at least 64 KiB" in text

    # `perfaction run`'s summary line shows it by its label
    out = io.StringIO()
    print_summary(head, out)
    assert "native 6.00 MiB" in out.getvalue()


def test_a_new_row_measured_in_few_processes_gets_the_advice_of_its_pass(with_native_memory):
    # measured in 2 of 8 processes, as the memory pass does: more time adds no samples of it
    def suite(native: float) -> Suite:
        processes = [{"time": [1e-3]} for _ in range(8)]
        processes[0]["native_memory"] = [native]
        processes[1]["native_memory"] = [native * 1.3]
        return Suite((schedule.build_benchmark("decode", params={}, loops=1, error=None,
                                               processes=processes),))

    comparison = compare_suites(suite(4 * 1024 * KIB), suite(5 * 1024 * KIB), Policy())
    delta = next(d for d in comparison.deltas if d.metric == "native_memory")
    assert delta.verdict is Verdict.INCONCLUSIVE
    assert "--memory-processes" in reason_text(delta)
