"""Harness properties that need real worker processes."""

from pathlib import Path

import pytest

from perfaction.harness.runner import RunOptions, run_suite

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MODULES = "tests/data/bench_modules"


def run(target, **kwargs):
    options = RunOptions(**{"time_budget": 1.0, "cwd": ROOT, "min_value_time": 0.005,
                            "processes": 2, "min_processes": 2, **kwargs})
    return run_suite(target, options)


def test_tracemalloc_is_never_active_while_timing():
    # The probe sleeps 2 ms per call whenever tracemalloc is tracing. Timed
    # values far below 2 ms per call prove timing ran with tracing off, while
    # the memory pass (which does trace) still ran.
    suite = run(f"{MODULES}/tracing_probe.py")
    probe = suite.get("probe")
    assert probe.error is None
    assert probe.metrics["time"].center() < 20e-6
    assert probe.metrics["peak_memory"].has_samples
    refused = suite.get("starts_tracing_in_setup")
    assert refused.failed and "tracemalloc is active while timing" in refused.error


def test_bounded_growth_is_not_a_leak_but_unbounded_growth_is():
    suite = run(f"{MODULES}/growth.py")
    retained = {b.name: b.metrics["retained_memory"] for b in suite.benchmarks}
    for name in ("bounded_cache", "capped_history"):
        assert all(v < 1.0 for v in retained[name].per_process()), name
    # each call keeps a 100-byte bytearray (~157 B with its header) and a list slot
    assert all(v > 100.0 for v in retained["leaks"].per_process())


def test_the_example_suite_runs_with_every_benchmark_measured():
    suite = run("examples/bench_trading.py", processes=1, min_processes=1)
    assert set(suite.names()) == {
        "book_updates[depth=10]", "book_updates[depth=200]", "var_historical[window=250]",
        "var_historical[window=2500]", "var_parametric[window=2500]",
        "trade_matching[orders=100]", "trade_matching[orders=2000]"}
    assert not suite.failures
    # slow calls get latency percentiles, fast ones cannot be timed one by one
    assert "latency_p99" in suite.get("trade_matching[orders=2000]").metrics
    assert "latency_p99" not in suite.get("book_updates[depth=10]").metrics
    # the bounded book does not read as a leak
    assert suite.get("book_updates[depth=200]").metrics["retained_memory"].center() < 1.0


def test_the_legacy_example_runs_unchanged_through_the_shim():
    suite = run("examples/legacy_article_style.py", processes=1, min_processes=1)
    assert suite.names() == ("orderbook_updates", "var_calculation", "trade_matching")
    assert not suite.failures
    # measured by the harness (calibrated loops), not by the module's own class
    assert all(b.loops and b.loops > 1 for b in suite.benchmarks)
