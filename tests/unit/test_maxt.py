"""Sign-flip max-T (analysis/maxt.py) and the run-wide correction that uses it (correction.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from perfaction.analysis.compare import compare_suites
from perfaction.analysis.comparison import Verdict
from perfaction.analysis.correction import HOLM, MAX_T
from perfaction.analysis.maxt import CAP, EXACT_ROUNDS, capped, sign_flip_maxt
from perfaction.analysis.policy import Policy
from perfaction.results.model import Benchmark, Environment, Metric, Suite

ENV = Environment(cpu_model="x", logical_cores=2, python_version="3.13")


def _permutation_p(values: np.ndarray) -> tuple[float, float]:
    """The exact sign-flip p-values of one column's mean, by brute force."""
    sums = [float(np.dot(signs, values)) for signs in itertools.product((1, -1), repeat=len(values))]
    observed = float(values.sum())
    return (sum(s >= observed - 1e-12 for s in sums) / len(sums),
            sum(s <= observed + 1e-12 for s in sums) / len(sums))


@pytest.mark.parametrize("rounds", [5, 9, 12])
def test_one_column_gives_the_exact_permutation_p_value_of_its_mean(rounds):
    d = np.random.default_rng(rounds).normal(0.3, 1.0, size=(rounds, 1))
    result = sign_flip_maxt(d)
    greater, less = _permutation_p(capped(d)[:, 0])
    assert result.exact and result.p_greater[0] == pytest.approx(greater, abs=1e-12)
    assert result.p_less[0] == pytest.approx(less, abs=1e-12)


def test_an_outlying_round_is_capped_by_magnitude_whatever_its_sign():
    d = np.array([[0.01, -1.0], [0.02, 0.02], [-0.03, 0.03], [50.0, -0.01]])
    out = capped(d)
    limit = CAP * np.median(np.abs(d), axis=0)
    assert out[3, 0] == pytest.approx(limit[0]) and out[0, 1] == pytest.approx(-limit[1])
    assert np.array_equal(out[:3, 0], d[:3, 0])


def test_the_smallest_adjusted_p_does_not_grow_with_the_number_of_benchmarks():
    # 8 rounds, 100 benchmarks each 10 % slower in every round: Holm would need
    # 2**-8 * 100 <= 0.01, impossible; max-T gives every one of them 1/256.
    rng = np.random.default_rng(1)
    d = np.log(1.10) + rng.normal(0.0, 0.01, size=(8, 100))
    result = sign_flip_maxt(d)
    assert result.smallest_p == 1 / 256
    assert np.all(result.p_greater == 1 / 256) and np.all(result.p_less == 1.0)


def test_a_larger_shift_never_gets_a_larger_adjusted_p():
    # the same noise in every column, shifted by more and more: step-down keeps the order
    noise = np.random.default_rng(3).normal(0.0, 0.02, size=(10, 1))
    result = sign_flip_maxt(noise + np.linspace(0.0, 0.05, 30))
    assert np.all(np.diff(result.p_greater) <= 0) and result.p_greater[-1] < result.p_greater[0]


def test_above_the_exact_limit_patterns_are_sampled_with_a_fixed_seed():
    d = np.random.default_rng(5).normal(0.2, 1.0, size=(EXACT_ROUNDS + 4, 5))
    first, again = sign_flip_maxt(d), sign_flip_maxt(d)
    assert not first.exact and np.array_equal(first.p_greater, again.p_greater)
    assert first.smallest_p == 1 / first.patterns


def _aa_trial(rng, rounds: int, benchmarks: int) -> np.ndarray:
    """Identical code on a shared machine: every round's load moves all benchmarks, heavy tails."""
    round_load = rng.standard_t(3, size=(rounds, 1)) * 0.05
    return (round_load * rng.uniform(0.5, 1.5, size=(1, benchmarks))
            + rng.standard_t(3, size=(rounds, benchmarks)) * 0.02)


def test_identical_code_raises_a_false_alarm_in_at_most_alpha_of_the_runs():
    rng = np.random.default_rng(2026)
    trials = 400
    alarms = sum(sign_flip_maxt(_aa_trial(rng, 10, 40)).p_greater.min() <= 0.01
                 for _ in range(trials))
    # expected at most 4 at alpha = 0.01; 10 would be a 1-in-1000 excess under a correct test
    assert alarms <= 10, f"{alarms} false alarms in {trials} runs"


# ---------------------------------------------------------------------------
# In a comparison: the paired tests of a same-runner run share one max-T correction
# ---------------------------------------------------------------------------

def _suite(values: np.ndarray) -> Suite:
    """Columns are benchmarks, rows the rounds: one time value per process."""
    return Suite(tuple(Benchmark(f"b{j:03d}", {"time": Metric(
        unit="s", samples=tuple((float(v),) for v in values[:, j]))})
        for j in range(values.shape[1])), environment=ENV)


def _same_runner_pair(rng, rounds: int, benchmarks: int, slowed: int, factor: float):
    load = np.exp(rng.normal(0.0, 0.05, size=(rounds, 1)))        # shared by both sides
    centers = np.geomspace(1e-6, 5e-3, benchmarks)
    base = centers * load * np.exp(rng.normal(0.0, 0.01, size=(rounds, benchmarks)))
    head = centers * load * np.exp(rng.normal(0.0, 0.01, size=(rounds, benchmarks)))
    head[:, :slowed] *= factor
    return _suite(base), _suite(head)


def test_a_large_same_runner_suite_decides_at_eight_rounds():
    base, head = _same_runner_pair(np.random.default_rng(7), 8, 100, slowed=10, factor=1.10)
    comparison = compare_suites(base, head, Policy(), mode="same-runner")
    slowed = [d for d in comparison.deltas if d.benchmark < "b010"]
    assert all(d.verdict is Verdict.REGRESSED for d in slowed)
    assert {d.why.facts["correction"] for d in slowed} == {MAX_T}
    others = [d for d in comparison.deltas if d.benchmark >= "b010"]
    assert not any(d.verdict is Verdict.REGRESSED for d in others)


def test_baseline_mode_keeps_holm():
    base, head = _same_runner_pair(np.random.default_rng(8), 12, 5, slowed=1, factor=1.5)
    comparison = compare_suites(base, head, Policy(), mode="baseline")
    slowed = next(d for d in comparison.deltas if d.benchmark == "b000")
    assert slowed.verdict is Verdict.REGRESSED and slowed.why.facts["correction"] == HOLM
