"""The reference-article shim: same field names, collecting mode, standalone mode."""

import dataclasses
import tracemalloc

import pytest

from perfaction import compat

ARTICLE_FIELDS = ["name", "iterations", "min_latency", "max_latency", "mean_latency",
                  "median_latency", "p95_latency", "p99_latency", "peak_memory",
                  "memory_leaked", "cpu_percent", "ops_per_second"]


def test_benchmark_result_has_the_article_fields_in_order():
    assert [f.name for f in dataclasses.fields(compat.BenchmarkResult)] == ARTICLE_FIELDS


def test_from_measurements_summarises_latencies():
    result = compat.BenchmarkResult.from_measurements(
        "x", [0.003, 0.001, 0.002, 0.004], peak_memory=10, memory_leaked=0, cpu_percent=50.0)
    assert result.iterations == 4
    assert (result.min_latency, result.max_latency) == (0.001, 0.004)
    assert result.mean_latency == pytest.approx(0.0025)
    assert result.median_latency == pytest.approx(0.0025)
    assert result.ops_per_second == pytest.approx(4 / 0.01)


def test_collecting_hands_the_callable_over_instead_of_measuring():
    calls = []

    def benchmark_orders():
        return compat.PerformanceBenchmark("orders", 5, 50).run(lambda: calls.append(1))

    with compat.collecting() as found:
        result = benchmark_orders()
    assert calls == []                               # not run: the harness times it later
    assert result.iterations == 0 and result.name == "orders"
    assert [(c.name, c.entry, c.warmup_iterations) for c in found] == [
        ("orders", "benchmark_orders", 5)]
    found[0].func()
    assert calls == [1]


def test_standalone_run_measures_with_tracemalloc_off_while_timing():
    seen = []
    result = compat.PerformanceBenchmark("probe", warmup_iterations=2,
                                         benchmark_iterations=20).run(
        lambda: seen.append(tracemalloc.is_tracing()))
    assert result.iterations == 20 and result.mean_latency > 0
    # 2 warm-up + 20 timed calls untraced, then the separate memory pass traced
    assert seen[:22] == [False] * 22 and all(seen[22:])
    assert not tracemalloc.is_tracing()


def test_run_needs_a_callable():
    with pytest.raises(TypeError, match="needs a callable"):
        compat.PerformanceBenchmark("x").run(42)
