"""compare_suites: every verdict, floors, corrections, environments, the JSON form."""

from __future__ import annotations

import gc
import json
import math

import numpy as np
import pytest

from perfaction.analysis import comparison_json, stats
from perfaction.analysis.compare import compare_suites, exit_code
from perfaction.analysis.comparison import Comparison, Verdict
from perfaction.analysis.comparison_json import comparison_from_dict, comparison_to_dict
from perfaction.analysis.policy import Policy
from perfaction.errors import ConfigError, ResultsFormatError
from perfaction.report.reasons import reason_text
from perfaction.results.files import suite_from_dict
from perfaction.results.model import Benchmark, Environment, Metric, Suite

KIB = 1024
ENV = Environment(cpu_model="Test CPU 3000", logical_cores=2, machine="x86_64",
                  python_implementation="CPython", python_version="3.11.9")
DEFAULT = Policy.parse("")


def timed(center: float, *, cv: float = 0.02, n: int = 20, seed: int = 0,
          unit: str = "s", direction: str = "lower") -> Metric:
    """A metric with one value per process, log-normal around ``center``."""
    rng = np.random.default_rng(seed)
    values = center * np.exp(rng.normal(0.0, cv, n))
    return Metric(unit=unit, direction=direction, samples=tuple((float(v),) for v in values))


def constant(value: float, n: int = 10, unit: str = "B") -> Metric:
    return Metric(unit=unit, samples=tuple((float(value),) for _ in range(n)))


def suite(*benchmarks: Benchmark, env: Environment = ENV) -> Suite:
    return Suite(tuple(benchmarks), environment=env)


def bench(name: str, **metrics: Metric) -> Benchmark:
    return Benchmark(name, metrics)


def only(comparison: Comparison, benchmark: str, metric: str = "time"):
    (delta,) = [d for d in comparison.deltas if d.benchmark == benchmark and d.metric == metric]
    return delta


# ---------------------------------------------------------------------------
# The four statistical verdicts
# ---------------------------------------------------------------------------

def test_a_clear_slowdown_regresses_and_fails_the_job():
    base = suite(bench("sort", time=timed(1e-3, seed=1)))
    head = suite(bench("sort", time=timed(1.2e-3, seed=2)))
    comparison = compare_suites(base, head, DEFAULT)
    delta = only(comparison, "sort")
    assert delta.verdict is Verdict.REGRESSED and delta.gating
    assert 0.15 < delta.change < 0.25
    assert delta.interval[0] < delta.change < delta.interval[1]
    assert delta.p_adjusted <= 0.01 and delta.p_value <= delta.p_adjusted
    assert delta.why.code == "significant" and delta.why.facts["tests"] == 1
    assert "threshold" in reason_text(delta)
    assert comparison.regressions == (delta,)
    assert exit_code(comparison) == 1
    assert exit_code(comparison, fail_on_regression=False) == 0


def test_a_clear_speedup_improves():
    base = suite(bench("sort", time=timed(1e-3, seed=1)))
    head = suite(bench("sort", time=timed(0.8e-3, seed=2)))
    comparison = compare_suites(base, head, DEFAULT)
    assert only(comparison, "sort").verdict is Verdict.IMPROVED
    assert exit_code(comparison) == 0


def test_same_code_low_noise_is_unchanged():
    base = suite(bench("sort", time=timed(1e-3, seed=1)))
    head = suite(bench("sort", time=timed(1e-3, seed=2)))
    delta = only(compare_suites(base, head, DEFAULT), "sort")
    assert delta.verdict is Verdict.UNCHANGED
    assert delta.detectable is not None and delta.detectable <= 0.05


def test_significant_but_below_threshold_is_unchanged():
    base = suite(bench("sort", time=timed(1e-3, cv=0.003, seed=1)))
    head = suite(bench("sort", time=timed(1.02e-3, cv=0.003, seed=2)))
    delta = only(compare_suites(base, head, DEFAULT), "sort")
    assert delta.p_adjusted <= 0.01
    assert delta.verdict is Verdict.UNCHANGED


def test_noisy_run_is_inconclusive_and_says_what_it_could_see():
    base = suite(bench("sort", time=timed(1e-3, cv=0.30, n=8, seed=1)))
    head = suite(bench("sort", time=timed(1.1e-3, cv=0.30, n=8, seed=2)))
    delta = only(compare_suites(base, head, DEFAULT), "sort")
    assert delta.verdict is Verdict.INCONCLUSIVE
    assert delta.detectable > 0.05
    assert "could only have detected changes above" in reason_text(delta)
    assert "same-runner mode" in reason_text(delta)


def test_big_change_that_is_not_significant_is_inconclusive():
    base = suite(bench("sort", time=timed(1e-3, cv=0.15, n=6, seed=3)))
    head = suite(bench("sort", time=timed(1.12e-3, cv=0.15, n=6, seed=4)))
    delta = only(compare_suites(base, head, DEFAULT, mode="same-runner"), "sort")
    assert delta.verdict is Verdict.INCONCLUSIVE
    assert delta.change > 0.05
    assert "not significant" in reason_text(delta)
    assert "same-runner mode" not in reason_text(delta)      # already in it: other advice


def test_too_few_processes_is_inconclusive_with_the_count_needed():
    base = suite(bench("sort", time=timed(1e-3, n=3, seed=1)))
    head = suite(bench("sort", time=timed(2e-3, n=3, seed=2)))
    delta = only(compare_suites(base, head, DEFAULT), "sort")
    assert delta.verdict is Verdict.INCONCLUSIVE
    assert delta.detectable is None
    assert "too few processes" in reason_text(delta) and "at least 5 per side" in reason_text(delta)


def test_higher_is_better_metric_regresses_when_it_drops():
    base = suite(bench("api", throughput=timed(1000, seed=1, unit="ops/s", direction="higher")))
    head = suite(bench("api", throughput=timed(800, seed=2, unit="ops/s", direction="higher")))
    comparison = compare_suites(base, head, Policy.parse("throughput:gate"))
    delta = only(comparison, "api", "throughput")
    assert delta.verdict is Verdict.REGRESSED and delta.change < 0
    assert exit_code(comparison) == 1


def test_non_gating_regression_is_shown_but_does_not_fail():
    base = suite(bench("sort", time=timed(1e-3, seed=1), cpu_time=timed(1e-3, seed=3)))
    head = suite(bench("sort", time=timed(1e-3, seed=2), cpu_time=timed(1.3e-3, seed=4)))
    comparison = compare_suites(base, head, DEFAULT)
    delta = only(comparison, "sort", "cpu_time")
    assert delta.verdict is Verdict.REGRESSED and not delta.gating
    assert comparison.regressions == ()
    assert exit_code(comparison) == 0
    assert comparison.gating_tests == 1


# ---------------------------------------------------------------------------
# Memory floors
# ---------------------------------------------------------------------------

def test_memory_growth_below_the_floor_is_not_a_regression():
    base = suite(bench("parse", peak_memory=constant(100 * KIB)))
    head = suite(bench("parse", peak_memory=constant(112 * KIB)))     # +12 %, but only 12 KiB
    delta = only(compare_suites(base, head, DEFAULT), "parse", "peak_memory")
    assert delta.verdict is Verdict.UNCHANGED
    assert "floor" in reason_text(delta) and "12.0 KiB" in reason_text(delta)


def test_memory_growth_above_threshold_and_floor_regresses():
    base = suite(bench("parse", peak_memory=constant(1024 * KIB)))
    head = suite(bench("parse", peak_memory=constant(1300 * KIB)))
    comparison = compare_suites(base, head, DEFAULT)
    assert only(comparison, "parse", "peak_memory").verdict is Verdict.REGRESSED
    assert exit_code(comparison) == 1


def test_retained_memory_growth_from_zero_uses_the_floor():
    base = suite(bench("a", retained_memory=constant(0)), bench("b", retained_memory=constant(0)))
    head = suite(bench("a", retained_memory=constant(1 * KIB)),  # bytes kept per call
                 bench("b", retained_memory=constant(8)))  # below the 16 B floor
    comparison = compare_suites(base, head, DEFAULT)
    leak = only(comparison, "a", "retained_memory")
    assert leak.verdict is Verdict.REGRESSED and leak.change is None
    assert only(comparison, "b", "retained_memory").verdict is Verdict.UNCHANGED


# ---------------------------------------------------------------------------
# Memory as the harness measures it: time in every process, memory in the
# first ones, values mostly identical between processes
# ---------------------------------------------------------------------------

# Peak memory (B) of the example suite's benchmarks, as measured.
EXAMPLE_PEAKS = {"book_updates[depth=10]": 148, "book_updates[depth=200]": 148,
                 "var_historical[window=250]": 9496, "var_historical[window=2500]": 45528,
                 "var_parametric[window=2500]": 41600, "trade_matching[orders=100]": 34592,
                 "trade_matching[orders=2000]": 122392}


def _jittered(rng, value: float, n: int, jitter: tuple[float, ...], rate: float) -> Metric:
    """``n`` processes reading ``value``, a fraction ``rate`` of them off by a small amount."""
    values = [value + (rng.choice(jitter) if rng.random() < rate else 0.0) for _ in range(n)]
    return Metric(unit="B", samples=tuple((float(v),) for v in values))


def _harness_suite(rng, *, peak_scale=None, leak=None, processes=20, memory=9) -> Suite:
    """The example suite as the harness records it, with the jitter seen between processes:
    a few bytes of peak now and then (allocator, interning), an occasional arena (KiBs),
    retained growth of 0 with rare fractions of a byte per call."""
    peak_scale, leak = peak_scale or {}, leak or {}
    benchmarks = []
    for index, (name, peak) in enumerate(EXAMPLE_PEAKS.items()):
        peak_jitter = (-64.0, -16.0, 16.0, 32.0, 96.0, 512.0, 4096.0)
        benchmarks.append(bench(
            name, time=timed(1e-4 * (index + 1), n=processes, seed=int(rng.integers(1 << 30))),
            peak_memory=_jittered(rng, peak * peak_scale.get(name, 1), memory, peak_jitter, 0.2),
            retained_memory=_jittered(rng, leak.get(name, 0.0), memory,
                                      (-0.05, 0.02, 0.3, 1.2, 2.4), 0.1)))
    return suite(*benchmarks)


def test_tripled_peak_and_a_leak_regress_in_a_realistic_run():
    rng = np.random.default_rng(11)
    base = _harness_suite(rng)
    head = _harness_suite(rng, peak_scale={"var_historical[window=2500]": 3},
                          leak={"book_updates[depth=10]": 5000.0})
    comparison = compare_suites(base, head, DEFAULT, mode="same-runner")
    # 21 gating metrics; those constant on each side are decided without a test
    gating = [d for d in comparison.deltas if d.gating]
    assert len(gating) == 21
    assert comparison.gating_tests == sum(1 for d in gating if d.p_value is not None)
    peak = only(comparison, "var_historical[window=2500]", "peak_memory")
    leak = only(comparison, "book_updates[depth=10]", "retained_memory")
    assert peak.verdict is Verdict.REGRESSED and peak.gating
    assert 1.9 < peak.change < 2.1
    assert leak.verdict is Verdict.REGRESSED and leak.gating
    assert {(d.benchmark, d.metric) for d in comparison.regressions} <= {
        (peak.benchmark, "peak_memory"), (leak.benchmark, "retained_memory"),
        (peak.benchmark, "time"), (leak.benchmark, "time")}
    assert exit_code(comparison) == 1


def test_memory_from_too_few_processes_says_the_budget_would_not_help():
    # The first five processes only (the harness before memory_processes):
    # 1/252 can never pass 0.01 / 21, and 15 more timing processes add nothing.
    rng = np.random.default_rng(12)
    base = _harness_suite(rng, memory=5)
    head = _harness_suite(rng, memory=5, peak_scale={"var_historical[window=2500]": 3})
    delta = only(compare_suites(base, head, DEFAULT, mode="same-runner"),
                 "var_historical[window=2500]", "peak_memory")
    assert delta.verdict is Verdict.INCONCLUSIVE
    assert "at least 7 per side" in reason_text(delta)
    assert "measured in 5 of 20 processes" in reason_text(delta)
    assert "adds no samples" in reason_text(delta) and "--memory-processes" in reason_text(delta)
    assert "raise the time budget" not in reason_text(delta)


def test_memory_from_every_process_of_a_short_run_asks_for_more_budget():
    rng = np.random.default_rng(13)
    base = _harness_suite(rng, processes=4, memory=4)
    head = _harness_suite(rng, processes=4, memory=4,
                          peak_scale={"var_historical[window=2500]": 3})
    delta = only(compare_suites(base, head, DEFAULT), "var_historical[window=2500]",
                 "peak_memory")
    assert delta.verdict is Verdict.INCONCLUSIVE
    assert "raise the time budget" in reason_text(delta)
    assert "same-runner" not in reason_text(delta)      # memory does not depend on the machine


def test_a_gated_latency_from_the_first_processes_says_what_to_do_instead():
    base = suite(bench("slow", time=timed(1e-3, n=20, seed=1),
                       latency_p99=timed(2e-3, n=5, seed=2)))
    head = suite(bench("slow", time=timed(1e-3, n=20, seed=3),
                       latency_p99=timed(4e-3, n=5, seed=4)))
    delta = only(compare_suites(base, head, Policy.parse("latency_p99:gate, alpha:0.001")), "slow",
                 "latency_p99")
    assert delta.verdict is Verdict.INCONCLUSIVE
    text = reason_text(delta)
    assert "in 5 of 20 processes" in text and "leave latency report-only" in text
    assert "detail_processes" not in text       # a runner field, neither a flag nor an input


def test_tied_memory_p_values_never_go_below_the_exact_minimum():
    # scipy's tie-corrected normal approximation gives 0.0037 for 4 equal values and
    # one other against the same shape; no permutation of 10 values gives less than 1/252.
    def tied(value):
        return Metric(unit="B", samples=tuple((v,) for v in [value] * 4 + [value + 16 * KIB]))

    base = suite(bench("a", peak_memory=tied(1024 * KIB)))
    head = suite(bench("a", peak_memory=tied(3072 * KIB)))
    delta = only(compare_suites(base, head, DEFAULT), "a", "peak_memory")
    raw = stats.compare_samples([1024.0] * 4 + [1040.0], [3072.0] * 4 + [3088.0])
    assert raw.method == "asymptotic" and raw.p_greater < 1 / 252
    assert delta.p_value == pytest.approx(1 / 252)


def test_memory_constant_on_each_side_is_decided_exactly_without_a_test():
    # 5 equal values against 5 other equal ones: the change is known to the byte. A rank
    # test could not go below 1/252, which fails 0.01 / 3; no test is spent on it.
    base = suite(bench("a", time=timed(1e-3, seed=1), peak_memory=constant(1024 * KIB, n=5)))
    head = suite(bench("a", time=timed(1e-3, seed=2), peak_memory=constant(3072 * KIB, n=5)))
    comparison = compare_suites(base, head, DEFAULT)
    delta = only(comparison, "a", "peak_memory")
    assert delta.verdict is Verdict.REGRESSED and delta.change == pytest.approx(2.0)
    assert delta.p_value is None and delta.why.code == "exact_change"
    assert "exactly" in reason_text(delta)
    assert comparison.gating_tests == 1      # the time test alone
    same = compare_suites(base, suite(bench("a", time=timed(1e-3, seed=2),
                                            peak_memory=constant(1024 * KIB, n=5))), DEFAULT)
    assert only(same, "a", "peak_memory").verdict is Verdict.UNCHANGED
    small = compare_suites(base, suite(bench("a", time=timed(1e-3, seed=2),
                                             peak_memory=constant(1024 * KIB + 512, n=5))), DEFAULT)
    assert only(small, "a", "peak_memory").why.code == "within_floor"


def test_identical_code_memory_as_the_harness_measures_it_never_regresses():
    # 300 seeded A/A runs of the example suite's memory profile: equal values
    # with the jitter the harness shows. Neither direction may ever fire.
    rng = np.random.default_rng(2024)
    fired = []
    for _ in range(300):
        comparison = compare_suites(_harness_suite(rng), _harness_suite(rng), DEFAULT)
        fired += [d for d in comparison.deltas if d.metric != "time"
                  and d.verdict in (Verdict.REGRESSED, Verdict.IMPROVED)]
    assert fired == []


def test_memory_that_truly_varies_between_processes_keeps_the_false_alarm_rate():
    # A benchmark whose peak is not deterministic (+-30 % between processes,
    # far above the floor): the floor cannot protect, the test must. Holm over
    # the run keeps identical-code runs with any memory regression near alpha.
    rng = np.random.default_rng(7)

    def noisy():
        return suite(*(bench(f"b{i}", time=timed(1e-3, n=20, seed=int(rng.integers(1 << 30))),
                             peak_memory=timed(1024 * KIB, cv=0.3, n=9, unit="B",
                                               seed=int(rng.integers(1 << 30))),
                             retained_memory=timed(2048.0, cv=0.3, n=9, unit="B",
                                                   seed=int(rng.integers(1 << 30))))
                       for i in range(7)))

    trials = 400
    alarms = sum(any(d.metric != "time" and d.verdict is Verdict.REGRESSED
                     for d in compare_suites(noisy(), noisy(), DEFAULT).deltas)
                 for _ in range(trials))
    assert alarms / trials <= 0.01


# ---------------------------------------------------------------------------
# Presence, failures and comparability
# ---------------------------------------------------------------------------

def test_new_removed_and_failed_benchmarks():
    base = suite(bench("kept", time=timed(1e-3, seed=1)), bench("gone", time=timed(1e-3, seed=2)),
                 bench("crashes", time=timed(1e-3, seed=3)))
    head = suite(bench("kept", time=timed(1e-3, seed=4)), bench("added", time=timed(1e-3, seed=5)),
                 Benchmark("crashes", error="ZeroDivisionError: division by zero"))
    comparison = compare_suites(base, head, DEFAULT)
    assert only(comparison, "added").verdict is Verdict.NEW
    assert only(comparison, "added").head.n == 20
    assert only(comparison, "gone").verdict is Verdict.REMOVED
    failed = only(comparison, "crashes", "*")
    assert failed.verdict is Verdict.FAILED and "ZeroDivisionError" in reason_text(failed)
    assert comparison.failures == (failed,)
    assert exit_code(comparison) == 0          # a crash is exit 2, decided by the application


def test_new_and_removed_metrics_within_a_benchmark():
    base = suite(bench("b", time=timed(1e-3, seed=1), peak_memory=constant(KIB)))
    head = suite(bench("b", time=timed(1e-3, seed=2), cpu_time=timed(1e-3, seed=3)))
    comparison = compare_suites(base, head, DEFAULT)
    assert only(comparison, "b", "cpu_time").verdict is Verdict.NEW
    assert only(comparison, "b", "peak_memory").verdict is Verdict.REMOVED


def test_no_baseline_makes_everything_new():
    head = suite(bench("a", time=timed(1e-3)), bench("b", time=timed(1e-3)))
    comparison = compare_suites(None, head, DEFAULT)
    assert {d.verdict for d in comparison.deltas} == {Verdict.NEW}
    assert comparison.base_environment is None
    assert any("no baseline" in note for note in comparison.notes)


def test_different_units_or_parameters_are_not_comparable():
    base = suite(bench("a", time=timed(1.0, unit="ms")),
                 Benchmark("b", {"time": timed(1e-3)}, params={"size": 10}))
    head = suite(bench("a", time=timed(1e-3, unit="s")),
                 Benchmark("b", {"time": timed(1e-3)}, params={"size": 1000}))
    comparison = compare_suites(base, head, DEFAULT)
    assert only(comparison, "a").verdict is Verdict.NOT_COMPARABLE
    assert "units differ" in reason_text(only(comparison, "a"))
    assert "parameters differ" in reason_text(only(comparison, "b"))


def test_legacy_summary_baseline_is_inconclusive_but_shows_the_change():
    legacy = suite_from_dict({"sort": {"mean_latency": 1e-3, "p99_latency": 2e-3,
                                       "peak_memory": 1000, "ops_per_second": 1000.0}})
    head = suite(bench("sort", time=timed(1.5e-3)))
    comparison = compare_suites(legacy, head, DEFAULT)
    delta = only(comparison, "sort")
    assert delta.verdict is Verdict.INCONCLUSIVE
    assert delta.change == pytest.approx(0.5, abs=0.02)
    assert delta.base.n == 0 and delta.p_value is None
    assert "no per-process samples" in reason_text(delta)
    assert only(comparison, "sort", "peak_memory").verdict is Verdict.REMOVED
    assert any("records no environment" in note for note in comparison.notes)


def test_ignored_benchmarks_and_metrics_leave_no_delta_but_a_note():
    base = suite(bench("legacy_x", time=timed(1e-3)), bench("b", time=timed(1e-3), latency_p99=timed(1.0)))
    head = suite(bench("legacy_x", time=timed(5e-3)), bench("b", time=timed(1e-3), latency_p99=timed(9.0)))
    comparison = compare_suites(base, head, Policy.parse("legacy_*:ignore, latency:ignore"))
    assert [(d.benchmark, d.metric) for d in comparison.deltas] == [("b", "time")]
    assert any("legacy_x" in note for note in comparison.notes)


# ---------------------------------------------------------------------------
# Environments and corrections across the run
# ---------------------------------------------------------------------------

def test_environment_mismatch_is_recorded_not_ignored():
    other = Environment(cpu_model="Other CPU", logical_cores=4, machine="x86_64",
                        python_implementation="CPython", python_version="3.11.9")
    comparison = compare_suites(suite(bench("a", time=timed(1e-3)), env=other),
                                suite(bench("a", time=timed(1e-3))), DEFAULT)
    fields = {m.field: (m.base, m.head) for m in comparison.environment_mismatches}
    assert fields == {"cpu_model": ("Other CPU", "Test CPU 3000"), "logical_cores": (4, 2)}
    assert any("different environments" in note and "same-runner" in note
               for note in comparison.notes)


def test_holm_keeps_200_null_benchmarks_free_of_false_regressions():
    policy = Policy.parse("time:0%")   # no magnitude guard: only the correction protects
    base = suite(*(bench(f"b{i}", time=timed(1e-3, cv=0.05, n=12, seed=i)) for i in range(200)))
    head = suite(*(bench(f"b{i}", time=timed(1e-3, cv=0.05, n=12, seed=1000 + i))
                   for i in range(200)))
    comparison = compare_suites(base, head, policy)
    raw_hits = sum(d.p_value <= 0.01 for d in comparison.deltas)
    assert raw_hits >= 1          # uncorrected, some would have been flagged
    assert comparison.with_verdict(Verdict.REGRESSED) == ()
    assert comparison.with_verdict(Verdict.IMPROVED) == ()
    assert comparison.gating_tests == 200
    assert all(d.q_value >= d.p_value for d in comparison.deltas)


def test_a_real_regression_survives_the_correction_among_many_benchmarks():
    base = suite(*(bench(f"b{i}", time=timed(1e-3, seed=i)) for i in range(50)))
    head = suite(bench("b0", time=timed(1.1e-3, seed=500)),
                 *(bench(f"b{i}", time=timed(1e-3, seed=500 + i)) for i in range(1, 50)))
    comparison = compare_suites(base, head, DEFAULT)
    assert [d.benchmark for d in comparison.regressions] == ["b0"]


def test_unknown_mode_is_a_config_error():
    with pytest.raises(ConfigError, match="same-runner"):
        compare_suites(None, suite(), DEFAULT, mode="fast")


# ---------------------------------------------------------------------------
# The run's tests are computed in one batch: nothing may get mixed up
# ---------------------------------------------------------------------------

def _mixed_run(rng: np.random.Generator) -> tuple[Suite, Suite]:
    """Many benchmarks with every shape at once: sizes, ties, zeros, directions, shifts."""
    def values(n, center, shift, kind):
        if kind == "zeros":
            return rng.choice([0.0, 0.0, 8 * KIB * (1 + shift)], n)
        if kind == "ties":
            return np.round(rng.normal(center * (1 + shift), center * 0.01, n) / 64) * 64
        return center * (1 + shift) * np.exp(rng.normal(0.0, 0.03, n))

    def metric(values_, unit, direction="lower", per=1):
        return Metric(unit=unit, direction=direction,
                      samples=tuple(tuple([float(v)] * per) for v in values_))

    base, head = [], []
    for i in range(60):
        nb, nh = [(3, 3), (6, 6), (12, 12), (8, 15), (20, 20), (2, 9)][i % 6]
        shift = [0.0, 0.02, 0.12, -0.12][i % 4]
        kind = ["plain", "ties", "zeros"][i % 3]
        base.append(bench(f"b{i}", time=metric(values(nb, 1e-3, 0, "plain"), "s"),
                          peak_memory=metric(values(nb, 64 * KIB * KIB, 0, kind), "B"),
                          throughput=metric(values(nb, 1e3, 0, kind), "ops/s", "higher", 3)))
        head.append(bench(f"b{i}", time=metric(values(nh, 1e-3, shift, "plain"), "s"),
                          peak_memory=metric(values(nh, 64 * KIB * KIB, shift, kind), "B"),
                          throughput=metric(values(nh, 1e3, -shift, kind), "ops/s", "higher", 3)))
    return suite(*base), suite(*head)


def test_a_batched_run_matches_each_metric_compared_alone():
    base, head = _mixed_run(np.random.default_rng(42))
    comparison = compare_suites(base, head, Policy.parse("throughput:gate"))
    tested = [d for d in comparison.deltas if d.p_value is not None]
    constant = [d for d in comparison.deltas if d.why.code in ("identical", "exact_change",
                                                               "exact_within_threshold")]
    assert len(tested) + len(constant) == 180
    assert {d.verdict for d in tested} >= {Verdict.REGRESSED, Verdict.IMPROVED,
                                            Verdict.UNCHANGED, Verdict.INCONCLUSIVE}
    for delta in tested:
        base_metric = base.get(delta.benchmark).metrics[delta.metric]
        head_metric = head.get(delta.benchmark).metrics[delta.metric]
        alone = stats.compare_samples(base_metric.per_process(), head_metric.per_process())
        assert (delta.change, delta.interval) == (alone.estimate.change, alone.estimate.interval)
        # tied samples: the normal approximation is floored at the exact minimum 1/C(m+n, m)
        floor = (stats.min_attainable_p(alone.n_base, alone.n_head)
                 if alone.method == "asymptotic" else 0.0)
        assert delta.p_value in (max(alone.p_greater, floor), max(alone.p_less, floor))
        for summary, metric in ((delta.base, base_metric), (delta.head, head_metric)):
            spread = stats.robust_cv(metric.per_process())
            assert summary.center == metric.center() and summary.n == len(metric.samples)
            assert summary.spread == (None if math.isnan(spread) else spread)


def test_comparing_leaves_the_garbage_collector_as_it_was():
    base, head = suite(bench("a", time=timed(1e-3, seed=1))), suite(bench("a", time=timed(1e-3)))
    assert gc.isenabled()
    compare_suites(base, head, DEFAULT)
    assert gc.isenabled()
    gc.disable()
    try:
        compare_suites(base, head, DEFAULT)
        assert not gc.isenabled()
    finally:
        gc.enable()


# ---------------------------------------------------------------------------
# JSON form
# ---------------------------------------------------------------------------

def _mixed_comparison() -> Comparison:
    base = suite(bench("a", time=timed(1e-3, seed=1), peak_memory=constant(KIB)),
                 bench("gone", time=timed(1e-3)))
    head = suite(bench("a", time=timed(1.3e-3, seed=2), peak_memory=constant(KIB)),
                 Benchmark("boom", error="RuntimeError"), bench("new", time=timed(1e-3)),
                 env=Environment(cpu_model="Other"))
    return compare_suites(base, head, Policy.parse("orderbook_*:time:8%"))


def test_json_round_trip_is_exact():
    comparison = _mixed_comparison()
    text = json.dumps(comparison_to_dict(comparison), allow_nan=False)
    data = json.loads(text)
    assert data["format_version"] == 1 and data["kind"] == "perfaction-comparison"
    assert comparison_from_dict(data) == comparison
    assert comparison_json.comparison_from_dict(data) == comparison


def test_the_comparison_names_its_test_and_older_files_read_the_same():
    comparison = _mixed_comparison()
    assert "Mann-Whitney" in comparison.method and "Hodges-Lehmann" in comparison.method
    data = comparison_to_dict(comparison)
    assert data["method"] == comparison.method
    del data["method"]                      # written before the field existed
    assert comparison_from_dict(data) == comparison


def test_json_from_a_newer_version_or_garbage_is_refused():
    data = comparison_to_dict(_mixed_comparison())
    with pytest.raises(ResultsFormatError, match="upgrade perfaction"):
        comparison_from_dict({**data, "format_version": 99})
    with pytest.raises(ResultsFormatError, match="not a perfaction comparison"):
        comparison_from_dict({"deltas": []})
    broken = {**data, "deltas": [{"benchmark": "a"}]}
    with pytest.raises(ResultsFormatError, match="malformed"):
        comparison_from_dict(broken, source="c.json")
