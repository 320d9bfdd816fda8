"""perfaction.stats on seeded simulated data, against scipy, and on hand-worked examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sp

from perfaction.analysis import stats


def lognormal(rng: np.random.Generator, size, cv: float, shift: float = 0.0) -> np.ndarray:
    """Per-process values with a relative spread ``cv`` around 1 * (1 + shift)."""
    return (1.0 + shift) * np.exp(rng.normal(0.0, cv, size))


# ---------------------------------------------------------------------------
# Mann-Whitney: it is scipy's test, with the method chosen from the data
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("m, n", [(5, 5), (10, 10), (7, 12), (30, 30)])
def test_mann_whitney_matches_scipy_exact_without_ties(m, n):
    rng = np.random.default_rng(m * 100 + n)
    base, head = rng.normal(size=m), rng.normal(0.5, 1.0, size=n)
    for alternative in ("greater", "less"):
        ours = stats.mann_whitney(base, head, alternative=alternative)
        ref = sp.mannwhitneyu(head, base, alternative=alternative, method="exact")
        assert ours.method == "exact"
        assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-12)
        assert ours.statistic == ref.statistic


def test_mann_whitney_uses_asymptotic_with_ties():
    base = [100.0, 100.0, 101.0, 102.0, 102.0, 103.0]
    head = [104.0, 104.0, 105.0, 106.0, 106.0, 107.0]
    ours = stats.mann_whitney(base, head, alternative="greater")
    ref = sp.mannwhitneyu(head, base, alternative="greater", method="asymptotic")
    assert ours.method == "asymptotic"
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-12)


def test_compare_samples_gives_both_tails_as_separate_scipy_calls():
    rng = np.random.default_rng(7)
    for m, n in ((9, 9), (6, 11)):       # equal sizes use one vectorised call
        base, head = lognormal(rng, m, 0.05), lognormal(rng, n, 0.05, 0.03)
        result = stats.compare_samples(base, head)
        assert result.p_greater == pytest.approx(
            sp.mannwhitneyu(head, base, alternative="greater", method="exact").pvalue, rel=1e-12)
        assert result.p_less == pytest.approx(
            sp.mannwhitneyu(head, base, alternative="less", method="exact").pvalue, rel=1e-12)
        assert (result.n_base, result.n_head) == (m, n)


def test_all_identical_values_give_p_one():
    result = stats.compare_samples([5.0] * 6, [5.0] * 6)
    assert result.p_greater == 1.0 and result.p_less == 1.0
    assert result.estimate.change == 0.0
    assert result.spread == 0.0


def test_rejects_empty_samples_and_bad_alternative():
    with pytest.raises(ValueError, match="both samples"):
        stats.mann_whitney([], [1.0])
    with pytest.raises(ValueError, match="alternative"):
        stats.mann_whitney([1.0], [2.0], alternative="two-sided")


def test_false_positive_rate_on_null_data_is_near_alpha():
    """2000 seeded A/A trials at alpha 0.05, 10 processes per side."""
    rng = np.random.default_rng(2024)
    alpha, trials = 0.05, 2000
    hits = sum(stats.mann_whitney(lognormal(rng, 10, 0.05), lognormal(rng, 10, 0.05)).p_value
               <= alpha for _ in range(trials))
    rate = hits / trials
    # The exact test's real size at n=10 is 0.0446 (discrete U); binomial sd ~0.0046.
    assert 0.030 <= rate <= 0.060, rate


def test_power_rises_with_sample_count():
    rng = np.random.default_rng(11)
    powers = []
    for n in (5, 10, 20):
        base = lognormal(rng, (400, n), 0.05)
        head = lognormal(rng, (400, n), 0.05, shift=0.05)
        p = sp.mannwhitneyu(head, base, alternative="greater", axis=1, method="exact").pvalue
        powers.append(float(np.mean(p <= 0.05)))
    assert powers[0] < powers[1] < powers[2], powers
    assert powers[2] > 0.7, powers


# ---------------------------------------------------------------------------
# The batch path (compare_many) against one pair at a time
# ---------------------------------------------------------------------------

def one_pair_at_a_time(base, head, confidence=0.95):
    """compare_samples as computed before batching: per-pair scipy calls, a full sort, np.median.

    Returns the fields of a SampleComparison as a flat tuple.
    """
    x, y = np.asarray(base, dtype=float), np.asarray(head, dtype=float)
    scale = stats.LOG if np.all(x > 0) and np.all(y > 0) else stats.LINEAR
    lx, ly = (np.log(x), np.log(y)) if scale == stats.LOG else (x, y)
    diffs = np.sort((ly[:, None] - lx[None, :]).ravel())
    shift = float(np.median(diffs))
    k = stats._lower_rank(x.size, y.size, (1 - confidence) / 2)
    shift_interval = (float(diffs[k - 1]), float(diffs[diffs.size - k])) if k >= 1 else None
    base_median = float(np.median(x))
    if scale == stats.LOG:
        relative = math.expm1
    else:
        relative = (lambda v: None) if base_median == 0 else (lambda v: v / abs(base_median))
    change = relative(shift)
    interval = (None if shift_interval is None or change is None
                else (relative(shift_interval[0]), relative(shift_interval[1])))
    pooled = np.concatenate([x, y])
    method = ("exact" if np.unique(pooled).size == pooled.size and x.size * y.size <= 10_000
              else "asymptotic")
    p_greater = float(sp.mannwhitneyu(y, x, alternative="greater", method=method).pvalue)
    p_less = float(sp.mannwhitneyu(y, x, alternative="less", method=method).pvalue)
    spread = stats.pooled_sd(stats.robust_sd(lx), x.size, stats.robust_sd(ly), y.size)
    return (shift, shift_interval, change, interval, scale, p_greater, p_less, method, spread,
            x.size, y.size, base_median, stats.robust_cv(x), stats.robust_cv(y))


def fields_of(result: stats.SampleComparison) -> tuple:
    e = result.estimate
    return (e.shift, e.shift_interval, e.change, e.interval, e.scale, result.p_greater,
            result.p_less, result.method, result.spread, result.n_base, result.n_head,
            result.base_median, result.base_cv, result.head_cv)


def identical(a, b) -> bool:
    """Bit for bit: same types (float stays float), NaN matches NaN, -0.0 differs from 0.0."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(identical(p, q) for p, q in zip(a, b, strict=True))
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or \
            (a == b and math.copysign(1.0, a) == math.copysign(1.0, b))
    return a == b


def mixed_pairs(rng: np.random.Generator) -> list[tuple[tuple[float, ...], tuple[float, ...]]]:
    """Pairs of every shape compare meets, shuffled so that groups interleave."""
    def sample(kind, n, shift):
        if kind == "lognormal":
            return lognormal(rng, n, 0.05, shift)
        if kind == "ties":                   # discrete values, e.g. memory
            return np.round(rng.normal(100 * (1 + shift), 2, n))
        if kind == "zeros":                  # retained memory: linear scale
            return rng.choice([0.0, 0.0, 4096.0 * (1 + shift)], n)
        if kind == "signed":                 # linear scale, negative base median possible
            return rng.normal(shift, 1.0, n)
        return np.full(n, 5.0)               # constant sides
    pairs = []
    sizes = [(1, 1), (1, 2), (2, 1), (2, 2), (3, 3), (1, 3), (3, 5), (4, 4), (5, 7), (10, 10),
             (7, 12), (20, 20), (60, 60)]    # 60 x 60: normal approximation of the interval
    for m, n in sizes:
        for kind in ("lognormal", "ties", "zeros", "signed", "constant"):
            for shift in (0.0, 0.05, 0.3):
                pairs.append((sample(kind, m, 0.0), sample(kind, n, shift)))
            if m == n:                       # identical samples
                same = sample(kind, m, 0.0)
                pairs.append((same, same.copy()))
        pairs.append((sample("lognormal", m, 0.0), sample("zeros", n, 0.0)))
    # Enough (100, 100) rows for several scipy calls, each mixing exact and tied rows.
    for i in range(240):
        pairs.append((sample("lognormal" if i % 2 else "ties", 100, 0.0),
                      sample("lognormal" if i % 2 else "ties", 100, 0.02)))
    pairs.append((sample("lognormal", 120, 0.0), sample("lognormal", 90, 0.1)))  # > 10,000 pairs
    order = rng.permutation(len(pairs))
    return [(tuple(pairs[i][0].tolist()), tuple(pairs[i][1].tolist())) for i in order]


def test_batch_gives_exactly_what_one_pair_at_a_time_gave():
    pairs = mixed_pairs(np.random.default_rng(2025))
    batch = stats.compare_many(pairs)
    assert len(batch) == len(pairs)
    # One shape after another keeps scipy's cached exact distribution warm in the reference.
    for i in sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]), len(pairs[i][1]))):
        expected = one_pair_at_a_time(*pairs[i])
        assert identical(fields_of(batch[i]), expected), (i, pairs[i], fields_of(batch[i]), expected)
    methods = {r.method for r in batch}
    scales = {r.estimate.scale for r in batch}
    assert methods == {"exact", "asymptotic"} and scales == {stats.LOG, stats.LINEAR}


def test_batch_at_another_confidence_and_the_scalar_api_agree():
    pairs = mixed_pairs(np.random.default_rng(7))[:120]
    batch = stats.compare_many(pairs, confidence=0.9)
    for pair, result in zip(pairs, batch, strict=True):
        assert identical(fields_of(result), one_pair_at_a_time(*pair, confidence=0.9))
        assert identical(fields_of(stats.compare_samples(*pair, confidence=0.9)), fields_of(result))


def test_batch_edge_cases():
    assert stats.compare_many([]) == []
    with pytest.raises(ValueError, match="both samples"):
        stats.compare_many([((1.0, 2.0), (3.0,)), ((), (1.0,))])
    with pytest.raises(ValueError, match="confidence"):
        stats.compare_many([((1.0,), (2.0,))], confidence=1.0)
    one = stats.compare_samples([3.0], [4.0])          # one value per side: estimate only
    assert one.estimate.change == pytest.approx(1 / 3) and one.estimate.interval is None
    assert math.isnan(one.spread) and math.isnan(one.base_cv)


# ---------------------------------------------------------------------------
# Hodges-Lehmann shift and its interval
# ---------------------------------------------------------------------------

def test_hodges_lehmann_hand_worked_linear():
    # differences head - base: 1 0 -1 / 2 1 0 / 3 2 1 -> sorted -1 0 0 1 1 1 2 2 3, median 1
    est = stats.hodges_lehmann([1.0, 2.0, 3.0], [2.0, 3.0, 4.0], scale=stats.LINEAR)
    assert est.shift == 1.0
    assert est.change == pytest.approx(0.5)          # 1 / median(base) = 1 / 2
    assert est.interval is None                       # 3 vs 3 cannot reach 95 %


def test_hodges_lehmann_recovers_an_exact_ratio():
    base = [0.9, 1.0, 1.05, 1.2, 0.97, 1.1]
    est = stats.hodges_lehmann(base, [v * 1.1 for v in base])
    assert est.scale == stats.LOG
    assert est.change == pytest.approx(0.1, abs=1e-12)
    assert est.interval[0] < 0.1 < est.interval[1]


def test_interval_with_four_per_side_spans_all_differences():
    # 4 vs 4: P(U <= 0) = 1/70 = 0.014 <= 0.025, so k = 1: the extremes.
    base, head = [1.0, 2.0, 3.0, 4.0], [1.5, 2.5, 3.5, 10.0]
    est = stats.hodges_lehmann(base, head, scale=stats.LINEAR)
    assert est.shift_interval == (1.5 - 4.0, 10.0 - 1.0)


@pytest.mark.parametrize("m, n", [(6, 6), (8, 13), (10, 10), (20, 15)])
def test_interval_inverts_the_exact_scipy_test(m, n):
    """Lower bound of the (1 - 2 alpha) interval > 0 exactly when scipy's exact p <= alpha."""
    rng = np.random.default_rng(m * 31 + n)
    agree = 0
    for _ in range(60):
        base, head = rng.normal(size=m), rng.normal(rng.uniform(0, 1.5), 1.0, size=n)
        for alpha in (0.05, 0.01):
            est = stats.hodges_lehmann(base, head, confidence=1 - 2 * alpha, scale=stats.LINEAR)
            p = sp.mannwhitneyu(head, base, alternative="greater", method="exact").pvalue
            assert (est.shift_interval[0] > 0) == (p <= alpha), (alpha, p, est)
            agree += 1
    assert agree == 120


def test_interval_coverage_on_simulated_data():
    rng = np.random.default_rng(5)
    for m, n in ((10, 10), (60, 60)):   # exact ranks, then the normal approximation
        covered = 0
        for _ in range(400):
            est = stats.hodges_lehmann(lognormal(rng, m, 0.05), lognormal(rng, n, 0.05, 0.04))
            covered += est.interval[0] <= 0.04 <= est.interval[1]
        assert 0.92 <= covered / 400 <= 0.99, (m, covered)


def test_linear_scale_when_a_value_is_not_positive():
    est = stats.hodges_lehmann([0.0, 0.0, 0.0, 0.0], [10.0, 12.0, 11.0, 9.0])
    assert est.scale == stats.LINEAR
    assert est.shift == pytest.approx(10.5)
    assert est.change is None and est.interval is None   # no relative change from zero


# ---------------------------------------------------------------------------
# Spread
# ---------------------------------------------------------------------------

def test_robust_cv_estimates_cv_and_ignores_an_outlier():
    rng = np.random.default_rng(3)
    values = lognormal(rng, 4000, 0.05)
    assert stats.robust_cv(values) == pytest.approx(0.05, rel=0.05)
    with_outlier = list(values[:20]) + [50.0]
    assert stats.robust_cv(with_outlier) < 0.1
    assert math.isnan(stats.robust_cv([1.0]))


def test_robust_sd_hand_worked_and_pooling():
    # median 3, absolute deviations 2 1 0 1 2 -> MAD 1
    assert stats.robust_sd([1, 2, 3, 4, 5]) == pytest.approx(1.482602218505602)
    assert stats.pooled_sd(1.0, 5, 3.0, 5) == pytest.approx(math.sqrt(5.0))
    assert math.isnan(stats.pooled_sd(math.nan, 1, math.nan, 1))


# ---------------------------------------------------------------------------
# Corrections
# ---------------------------------------------------------------------------

def test_holm_hand_worked():
    # sorted: 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 = 0.04 -> running max 0.06
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx((0.03, 0.06, 0.06, 0.02))
    # 0.5 x2 = 1.0 (capped), 0.6 x1 = 0.6 -> running max keeps 1.0
    assert stats.holm([0.6, 0.5]) == (1.0, 1.0)
    assert stats.holm([]) == ()


def test_benjamini_hochberg_hand_worked():
    # sorted: 0.005*4/1 = 0.02, 0.01*4/2 = 0.02, 0.03*4/3 = 0.04, 0.04*4/4 = 0.04
    assert stats.benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx(
        (0.02, 0.04, 0.04, 0.02))
    # 0.02*3/1 = 0.06, 0.03*3/2 = 0.045, 0.5*3/3 = 0.5 -> min from the right: 0.045 0.045 0.5
    assert stats.benjamini_hochberg([0.5, 0.02, 0.03]) == pytest.approx((0.5, 0.045, 0.045))


def test_benjamini_hochberg_matches_scipy():
    p = np.random.default_rng(8).uniform(0, 0.2, 50)
    assert stats.benjamini_hochberg(p) == pytest.approx(tuple(sp.false_discovery_control(p)))


def test_holm_keeps_the_family_wise_error_at_alpha_on_null_data():
    """2000 seeded A/A runs of 10 benchmarks each: how often does any test fire?"""
    rng = np.random.default_rng(99)
    base = lognormal(rng, (2000, 10, 10), 0.05)
    head = lognormal(rng, (2000, 10, 10), 0.05)
    p = sp.mannwhitneyu(head, base, alternative="greater", axis=-1, method="exact").pvalue
    uncorrected = float(np.mean((p <= 0.05).any(axis=1)))
    corrected = float(np.mean([min(stats.holm(row)) <= 0.05 for row in p]))
    assert uncorrected > 0.3           # 1 - 0.955^10: a naive gate fails a third of clean runs
    assert 0.02 <= corrected <= 0.06, corrected


def test_corrections_reject_out_of_range_p_values():
    with pytest.raises(ValueError, match="p-values"):
        stats.holm([0.1, 1.5])


# ---------------------------------------------------------------------------
# Smallest detectable change
# ---------------------------------------------------------------------------

# docs/statistics.md: simulated detectable slowdown, one-sided Mann-Whitney, 80 % power
TABLE = {  # (cv, n, alpha): detectable change
    (0.02, 10, 0.05): 0.025, (0.02, 20, 0.05): 0.020, (0.02, 30, 0.05): 0.015,
    (0.02, 10, 0.001): 0.050, (0.02, 20, 0.001): 0.030, (0.02, 30, 0.001): 0.025,
    (0.05, 10, 0.05): 0.065, (0.05, 20, 0.05): 0.045, (0.05, 30, 0.05): 0.035,
    (0.05, 10, 0.001): 0.125, (0.05, 20, 0.001): 0.075, (0.05, 30, 0.001): 0.060,
    (0.10, 10, 0.05): 0.135, (0.10, 20, 0.05): 0.090, (0.10, 30, 0.05): 0.070,
    (0.10, 10, 0.001): 0.265, (0.10, 20, 0.001): 0.155, (0.10, 30, 0.001): 0.120,
}


@pytest.mark.parametrize("key", sorted(TABLE))
def test_detectable_change_agrees_with_the_simulated_table(key):
    cv, n, alpha = key
    ours = stats.detectable_change(cv, n, n, alpha=alpha)
    # The table is rounded to 0.5 % steps, so allow one step plus 10 %.
    assert abs(ours - TABLE[key]) <= 0.005 + 0.1 * TABLE[key], (key, ours)


@pytest.mark.parametrize("cv, n, alpha", [(0.05, 10, 0.05), (0.05, 20, 0.001), (0.10, 7, 0.01)])
def test_detectable_change_has_the_promised_power_in_simulation(cv, n, alpha):
    shift = stats.detectable_change(cv, n, n, alpha=alpha)
    rng = np.random.default_rng(int(cv * 1000) + n)
    base = lognormal(rng, (2000, n), cv)
    head = lognormal(rng, (2000, n), cv, shift=shift)
    p = sp.mannwhitneyu(head, base, alternative="greater", axis=1, method="exact").pvalue
    assert 0.74 <= float(np.mean(p <= alpha)) <= 0.86


def test_detectable_edge_cases():
    assert stats.detectable_change(0.05, 3, 3, alpha=0.01) == math.inf   # 1/20 > 0.01
    assert stats.detectable_change(0.0, 10, 10, alpha=0.01) == 0.0
    assert stats.detectable_change(math.nan, 10, 10, alpha=0.01) == math.inf
    small = stats.detectable_change(0.05, 10, 10, alpha=0.01)
    assert stats.detectable_change(0.10, 10, 10, alpha=0.01) == pytest.approx(
        math.expm1(2 * math.log1p(small)))   # linear in the spread on the log scale


def test_minimum_sample_counts():
    assert stats.min_attainable_p(2, 2) == pytest.approx(1 / 6)
    # "Exact Mann-Whitney cannot reach p < 0.001 with fewer than 7 samples per side."
    assert stats.min_processes_per_side(0.001) == 7
    assert stats.min_processes_per_side(0.01) == 5    # 1/C(10,5) = 1/252


def test_the_p_value_floor_of_very_large_samples_does_not_overflow():
    # 515 a side: C(1030, 515) is beyond the largest float, and 1 / C raised OverflowError
    assert stats.min_attainable_p(515, 515) == 5e-324
    assert 0 < stats.min_attainable_p(2000, 3) < 1e-9
    assert stats.min_attainable_p(5, 5) == 1 / 252


def test_a_comparison_of_600_processes_a_side_decides_without_overflow():
    from perfaction.analysis.compare import compare_suites
    from perfaction.analysis.policy import Policy
    from perfaction.results.model import Benchmark, Metric, Suite

    def suite(center):
        samples = tuple((center * (1 + 0.01 * ((i * 7) % 11 - 5) / 5),) for i in range(600))
        return Suite((Benchmark("a", {"time": Metric("s", samples=samples)}),))

    [delta] = compare_suites(suite(1e-3), suite(1.2e-3), Policy()).deltas
    assert delta.verdict.value == "regressed" and delta.p_adjusted > 0
