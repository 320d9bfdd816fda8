"""Pure runner pieces: filters, timeouts, round planning, interleaving, assembly."""

import random

import pytest

from perfaction import metrics
from perfaction.harness import schedule


@pytest.mark.parametrize("name, pattern, expected", [
    ("book_updates[size=100]", None, True),
    ("book_updates[size=100]", "book", True),
    ("book_updates[size=100]", "size=100", True),
    ("book_updates[size=100]", "var", False),
    ("book_updates[size=100]", "book_*", True),
    ("book_updates[size=100]", "*[size=100]", True),   # '[' is literal, not a class
    ("book_updates[size=100]", "*[size=1]", False),
    ("var_historical", "var_??storical", True),
])
def test_filter_is_a_substring_or_a_glob(name, pattern, expected):
    assert schedule.matches_filter(name, pattern) is expected


def test_default_timeout_is_the_budget_share_with_a_floor():
    assert schedule.default_timeout(60, 6) == 10
    assert schedule.default_timeout(600, 6) == 100
    assert schedule.default_timeout(5, 10) == schedule.MIN_DEFAULT_TIMEOUT


def plan(**kwargs):
    defaults = dict(remaining=10.0, round_seconds=1.0, done=0, min_processes=3,
                    max_processes=40, fixed=None)
    return schedule.plan_rounds(**{**defaults, **kwargs})


def test_rounds_follow_the_budget_between_the_limits():
    assert plan() == 10
    assert plan(remaining=100.0) == 40            # capped
    assert plan(remaining=0.5) == 3               # at least min_processes
    assert plan(remaining=4.0, done=5) == 9       # rounds done count
    assert plan(remaining=-3.0, done=7) == 7      # over budget: stop where we are
    assert plan(fixed=12, remaining=0.0) == 12    # a fixed count ignores the budget


def test_each_round_runs_every_unit_once_in_a_changing_order():
    rng = random.Random(1)
    units = list("abcdef")
    orders = [schedule.round_order(units, rng) for _ in range(5)]
    assert all(sorted(order) == units for order in orders)
    assert len({tuple(order) for order in orders}) > 1


def test_benchmark_is_built_with_one_sample_tuple_per_process():
    processes = [{"time": [1.0, 1.1], "peak_memory": [64.0]},
                 {"time": [1.2, 1.3], "peak_memory": [64.0], "latency_p99": [2.0]}]
    bench = schedule.build_benchmark("b", params={"n": 1}, loops=10, processes=processes,
                                     error=None)
    assert bench.metrics["time"].samples == ((1.0, 1.1), (1.2, 1.3))
    assert bench.metrics["time"].unit == "s"
    assert bench.metrics["peak_memory"].unit == "B"
    assert bench.metrics["latency_p99"].samples == ((2.0,),)
    assert bench.params == {"n": 1} and bench.loops == 10


def test_metric_kinds_use_the_model_names_and_units():
    # the units and directions build_benchmark records are the registry's
    info = metrics.metric_info(metrics.CPU_UTILISATION)
    assert (info.unit, info.direction) == ("ratio", metrics.LOWER_IS_BETTER)
    assert {m.name for m in metrics.harness_metrics(metrics.TIME_MODE_PASSES)} == {
        "time", "cpu_time", "cpu_utilisation", "peak_memory", "retained_memory",
        "latency_p50", "latency_p95", "latency_p99", "native_peak"}
    assert {m.name for m in metrics.harness_metrics((metrics.COUNT_PASS,))} == {"instructions"}


def test_a_measured_metric_the_registry_does_not_know_is_kept_not_dropped():
    processes = [{"time": [1.0], "branch_misses": [5.0e6]}, {"time": [1.1], "branch_misses": [5.1e6]}]
    bench = schedule.build_benchmark("b", params={}, loops=1, processes=processes, error=None)
    assert list(bench.metrics) == ["time", "branch_misses"]        # registry rows first
    kept = bench.metrics["branch_misses"]
    assert kept.samples == ((5.0e6,), (5.1e6,))
    assert (kept.unit, kept.direction) == (metrics.UNKNOWN_UNIT, metrics.LOWER_IS_BETTER)


def test_metrics_are_assembled_in_display_order_whatever_the_worker_sent():
    processes = [{"retained_memory": [1.0], "latency_p99": [2.0], "time": [3.0], "cpu_time": [3.0]}]
    bench = schedule.build_benchmark("b", params={}, loops=1, processes=processes, error=None)
    assert list(bench.metrics) == ["time", "cpu_time", "latency_p99", "retained_memory"]


def test_failure_text_names_the_benchmark_and_the_fix_for_timeouts():
    assert schedule.format_failure("x", "setup", "benchmark 'x': boom") == "benchmark 'x': boom"
    assert schedule.format_failure("x", "crash", "exited") == "benchmark 'x': exited"
    text = schedule.format_failure("x", "timeout", "timed out after 2 s")
    assert "'x'" in text and "--timeout" in text


# ---------------------------------------------------------------------------
# How many processes run the memory pass
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("tests", [1, 2, 3, 10, 21, 30, 100, 300, 3000])
def test_processes_for_the_gate_agree_with_the_statistics(tests):
    from perfaction.analysis import stats
    expected = stats.min_processes_per_side(0.01 / tests)
    assert schedule.min_processes_for_gate(0.01, tests) == expected


def test_the_runner_sizes_memory_for_the_policy_defaults():
    # schedule repeats two defaults of the policy (it must not import the
    # statistics stack); they must not drift apart
    from perfaction.analysis import policy
    assert schedule.GATE_ALPHA == policy.DEFAULT_ALPHA
    gating = [m.name for m in metrics.harness_metrics(metrics.TIME_MODE_PASSES)
              if policy.default_policy(m.name).gating]
    assert len(gating) == schedule.GATING_METRICS_PER_BENCHMARK == 3


def test_memory_processes_cover_the_gate_with_a_margin():
    # 7 benchmarks (the example suite): 21 gating tests need 7 a side; 2 more
    assert schedule.memory_processes(7) == 9
    assert schedule.memory_processes(1) == 8          # 3 tests need 6
    assert schedule.memory_processes(100) == 11       # 300 tests need 9
    assert schedule.memory_processes(1, at_least=12) == 12
    assert schedule.memory_processes(0) == schedule.memory_processes(1)
    with pytest.raises(ValueError):
        schedule.min_processes_for_gate(0.0, 3)
