"""perfaction.paired on seeded simulated data and against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from perfaction.analysis import paired, stats
from perfaction.analysis.stats import LINEAR

ALPHA_RUN = 0.01 / 3          # Holm's first step for a run of three gating tests


def _drifting(rng: np.random.Generator, trials: int, n: int, *, shift: float,
              drift_cv: float = 0.30, noise_cv: float = 0.03) -> tuple[np.ndarray, np.ndarray]:
    """Rows of base and head times: a per-round load factor hits both sides alike."""
    load = np.exp(rng.normal(0.0, drift_cv, (trials, n)))
    base = 1e-3 * load * np.exp(rng.normal(0.0, noise_cv, (trials, n)))
    head = 1e-3 * math.exp(shift) * load * np.exp(rng.normal(0.0, noise_cv, (trials, n)))
    return base, head


def _many(base: np.ndarray, head: np.ndarray) -> list[paired.PairedComparison]:
    return paired.compare_paired_many(list(zip(base.tolist(), head.tolist(), strict=True)))


def test_p_values_are_scipys_wilcoxon_both_ways():
    rng = np.random.default_rng(3)
    for n in (6, 12, 19, 60):
        base = np.exp(rng.normal(0, 0.1, n))
        head = base * np.exp(rng.normal(0.02, 0.05, n))
        d = np.log(head) - np.log(base)
        result = paired.compare_paired(base, head)
        method = "exact" if n <= 50 else "approx"
        for alternative, p in (("greater", result.p_greater), ("less", result.p_less)):
            expected = scipy_stats.wilcoxon(d, alternative=alternative, method=method,
                                            correction=method == "approx").pvalue
            assert p == pytest.approx(expected, rel=1e-12)
        assert result.method == ("exact" if n <= 50 else "asymptotic")
        assert paired.signed_rank(base, head, alternative="less")[0] == result.p_less


def test_ties_and_zeros_use_the_approximation_and_identical_sides_give_one():
    base = [100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0]
    head = [100.0, 210.0, 310.0, 410.0, 510.0, 610.0, 710.0, 810.0]   # one zero, ties
    d = np.array(head) - np.array(base)
    result = paired.compare_paired([-1.0] + base[1:], [-1.0] + head[1:])   # linear scale
    assert result.method == "asymptotic" and result.estimate.scale == LINEAR
    expected = scipy_stats.wilcoxon(d, alternative="greater", method="approx",
                                    correction=True).pvalue
    assert result.p_greater == pytest.approx(expected)
    same = paired.compare_paired(base, base)
    assert same.p_greater == 1.0 and same.p_less == 1.0 and same.estimate.change == 0.0


def test_batched_results_equal_one_at_a_time():
    rng = np.random.default_rng(5)
    samples = [(np.exp(rng.normal(0, 0.2, n)).tolist(), np.exp(rng.normal(0.05, 0.2, n)).tolist())
               for n in (5, 9, 9, 19, 19, 19)]
    samples.append(([0.0, 1.0, 2.0, 3.0], [0.0, 2.0, 2.0, 5.0]))
    batched = paired.compare_paired_many(samples)
    assert batched == [paired.compare_paired(b, h) for b, h in samples]


def test_estimate_is_the_median_of_walsh_averages_and_interval_matches_the_test():
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(7, 25))
        base = np.exp(rng.normal(0, 0.2, n))
        head = base * np.exp(rng.normal(rng.normal(0, 0.03), 0.03, n))
        d = np.log(head) - np.log(base)
        walsh = [(d[i] + d[j]) / 2 for i in range(n) for j in range(i, n)]
        result = paired.compare_paired(base, head, confidence=0.98)
        assert result.estimate.shift == pytest.approx(float(np.median(walsh)), abs=1e-15)
        low = result.estimate.shift_interval[0]
        # the lower end of the 98 % interval is above 0 exactly when the exact p <= 1 %
        assert (low > 0) == (result.p_greater <= 0.01)


def test_too_few_pairs_give_no_interval_and_no_detectable_change():
    assert paired.min_attainable_p(7) == pytest.approx(0.0078125)
    assert paired.min_pairs(ALPHA_RUN) == 9 and paired.min_pairs(0.01 / 30) == 12
    small = paired.compare_paired([1.0, 1.1, 0.9, 1.2, 1.0], [2.0, 2.3, 1.9, 2.6, 2.2])
    assert small.estimate.interval is None and small.p_greater == pytest.approx(1 / 32)
    assert math.isinf(paired.detectable_change(0.05, 8, alpha=ALPHA_RUN))
    assert paired.detectable_change(0.0, 19, alpha=ALPHA_RUN) == 0.0
    with pytest.raises(ValueError, match="same, non-zero number"):
        paired.compare_paired([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        paired.compare_paired_many([([], [])])


def test_null_pairs_under_strong_shared_drift_stay_calibrated():
    rng = np.random.default_rng(11)
    base, head = _drifting(rng, 4000, 19, shift=0.0)
    p = np.array([r.p_greater for r in _many(base, head)])
    for alpha in (0.05, 0.01):
        rate = float(np.mean(p <= alpha))
        # exact test: at most alpha in expectation; 4000 trials allow ~3 binomial sd
        assert rate <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / 4000)
        assert rate >= alpha / 2


def test_paired_detects_a_5_percent_shift_that_mann_whitney_misses_under_drift():
    rng = np.random.default_rng(13)
    base, head = _drifting(rng, 400, 19, shift=math.log(1.05))
    paired_hits = np.mean([r.p_greater <= ALPHA_RUN for r in _many(base, head)])
    unpaired = stats.compare_many(list(zip(base.tolist(), head.tolist(), strict=True)))
    unpaired_hits = np.mean([r.p_greater <= ALPHA_RUN for r in unpaired])
    assert paired_hits >= 0.9          # 80 % power needs 4.1 % here (see detectable_shift)
    assert unpaired_hits <= 0.05


def test_interval_covers_the_true_shift_at_its_level():
    rng = np.random.default_rng(17)
    true = math.log(1.04)
    base, head = _drifting(rng, 2000, 15, shift=true)
    covered = np.mean([r.estimate.shift_interval[0] <= true <= r.estimate.shift_interval[1]
                       for r in _many(base, head)])
    assert 0.93 <= covered <= 0.975          # exact intervals are slightly conservative


@pytest.mark.parametrize("n", [10, 19, 30])
def test_detectable_shift_has_the_promised_power(n):
    rng = np.random.default_rng(19 + n)
    shift = paired.detectable_shift(0.03, n, alpha=ALPHA_RUN)
    base, head = _drifting(rng, 2000, n, shift=shift, noise_cv=0.03 / math.sqrt(2))
    hits = np.mean([r.p_greater <= ALPHA_RUN for r in _many(base, head)])
    assert 0.74 <= hits <= 0.86
    # and the computed size shrinks with more pairs
    assert paired.detectable_shift(0.03, n + 10, alpha=ALPHA_RUN) < shift
