"""Paired statistics for same-runner A/B runs: signed-rank test and Walsh-average shift.

In same-runner mode every round starts a base worker and a head worker next to
each other, so base process i and head process i were measured seconds apart
and share most of the machine's load at that moment. Load drifts over seconds
to minutes; between rounds it can move a process's time by tens of percent,
within a round it hits both sides alike. Analysing the per-round differences
cancels that shared part, which the two-sample Mann-Whitney test of
``stats.py`` has to treat as noise.

Per round i the difference is d_i = log(head_i) - log(base_i) when every value
is positive (a log ratio: multiplicative changes and load factors become
shifts), else head_i - base_i on raw values with the change relative to the
base median. Then:

- test: one-sided Wilcoxon signed-rank test of the d_i (scipy.stats.wilcoxon),
  both directions; exact when there are at most 50 pairs, no zero difference
  and no tied |d_i| (scipy's own rule), else the normal approximation with
  continuity correction, zeros dropped (Wilcoxon's convention);
- estimate: Hodges-Lehmann, the median of the n(n+1)/2 Walsh averages
  (d_i + d_j) / 2, i <= j, as a relative change exp(shift) - 1;
- interval: the order statistics of the Walsh averages that the signed-rank
  null distribution picks (exact up to 400 pairs, normal approximation above),
  distribution-free and consistent with the exact test: the lower end of the
  (1 - 2 alpha) interval is above 0 exactly when the exact one-sided p <= alpha;
- detectable change: the smallest shift the signed-rank test detects with the
  given power at the given alpha, from the robust spread of the d_i.

No alpha is applied here: p-values are raw, and the caller corrects across
the run (Holm in compare). Pure numpy + scipy; from the rest of perfaction
only ``stats`` (the shared estimate type and its relative-change helper). Result objects carry the same field names as
``stats.SampleComparison`` so compare can use either.

Too few pairs: an exact signed-rank test of n pairs cannot give p below
2**-n (``min_attainable_p``): 0.0078 at 7 pairs, 0.00098 at 10. With Holm at
alpha = 0.01 over m tests, p must reach 0.01 / m, so 3 tests need 9 pairs and
30 tests 12 (``min_pairs``). Below that nothing can be significant, which
compare reports as inconclusive. With fewer than 2 pairs the spread is NaN and
the interval None; with no pair at all the functions raise ValueError.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from perfaction.analysis.stats import (
    LINEAR,
    LOG,
    ShiftEstimate,
    robust_cv_rows,
    robust_sd_rows,
    shift_estimate,
)

_SCIPY_EXACT_LIMIT = 50          # scipy.stats.wilcoxon's 'auto' switches to the normal
                                 # approximation above 50 pairs
_EXACT_NULL_LIMIT = 400          # exact null distribution of T+ for the interval up to here
_CHUNK_VALUES = 1 << 18          # Walsh averages per intermediate array (2 MiB of floats)


@dataclass(frozen=True)
class PairedComparison:
    """Everything compare needs about one paired base/head comparison.

    Field names follow ``stats.SampleComparison``; ``spread`` is the robust
    standard deviation of the paired differences (not of either side), and
    ``n_base == n_head == n_pairs``. ``method`` is "exact" or "asymptotic".
    """

    estimate: ShiftEstimate
    p_greater: float        # one-sided: head larger than base
    p_less: float           # one-sided: head smaller than base
    method: str
    spread: float
    n_base: int
    n_head: int
    base_median: float
    base_cv: float = math.nan
    head_cv: float = math.nan
    n_pairs: int = 0

    def __post_init__(self) -> None:
        if not (self.n_base == self.n_head == self.n_pairs >= 1):
            raise ValueError(f"a paired comparison needs equal sides, got {self.n_base} base, "
                             f"{self.n_head} head values and {self.n_pairs} pairs")

    @property
    def p_floor(self) -> float:
        """The smallest p-value an exact test of these pairs could give."""
        return min_attainable_p(self.n_pairs)

    def detectable_shift(self, alpha: float, power: float = 0.8) -> float:
        """``detectable_shift`` for this comparison's spread and pairs."""
        return detectable_shift(self.spread, self.n_pairs, alpha=alpha, power=power)


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

def min_attainable_p(n_pairs: int) -> float:
    """Smallest one-sided p-value of an exact signed-rank test of ``n_pairs`` pairs: 2**-n."""
    return 0.5 ** n_pairs


def min_pairs(alpha: float) -> int:
    """Fewest pairs for which p <= alpha is reachable at all (9 for 0.01/3, 12 for 0.01/30)."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    return max(1, math.ceil(-math.log2(alpha) - 1e-12))


def differences(base: Sequence[float], head: Sequence[float]) -> tuple[np.ndarray, str]:
    """Per-pair differences and their scale: log ratios when all values are positive."""
    x, y = _as_pairs(base, head)
    if np.all(x > 0) and np.all(y > 0):
        return np.log(y) - np.log(x), LOG
    return y - x, LINEAR


def _as_pairs(base: Sequence[float], head: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(base, dtype=float).reshape(-1)
    y = np.asarray(head, dtype=float).reshape(-1)
    if x.size != y.size or x.size == 0:
        raise ValueError(f"paired samples need the same, non-zero number of values "
                         f"(base has {x.size}, head has {y.size}); unpaired samples need "
                         "the two-sample test (stats.py)")
    return x, y


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")


# ---------------------------------------------------------------------------
# Signed-rank null distribution and the interval's order statistics
# ---------------------------------------------------------------------------

@lru_cache(maxsize=128)
def _t_null_cdf(n: int) -> np.ndarray:
    """P(T+ <= t) for t = 0..n(n+1)/2 under the null, no ties (exact).

    Each rank k joins T+ with probability 1/2 independently, so the
    distribution is the convolution of n two-point distributions; only
    additions and halvings, numerically stable.
    """
    total = n * (n + 1) // 2
    pmf = np.zeros(total + 1)
    pmf[0] = 1.0
    top = 0
    for k in range(1, n + 1):
        shifted = pmf[:top + 1].copy()
        pmf[:top + 1] *= 0.5
        pmf[k:k + top + 1] += 0.5 * shifted
        top += k
    return np.cumsum(pmf)


def _lower_rank(n: int, tail: float) -> int:
    """Largest k with P(T+ <= k - 1) <= tail (0 when no order statistic qualifies)."""
    from scipy import special
    if n <= _EXACT_NULL_LIMIT:
        return int(np.searchsorted(_t_null_cdf(n), tail * (1 + 1e-12), side="right"))
    mean = n * (n + 1) / 4.0
    sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24.0)
    return max(0, math.floor(mean + 0.5 - float(special.ndtri(1.0 - tail)) * sd))


def _walsh_rows(d: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: median of the Walsh averages and their k-th lowest / highest (NaN if k = 0)."""
    rows, n = d.shape
    upper_i, upper_j = np.triu_indices(n)
    size = upper_i.size
    shift, low, high = np.empty(rows), np.full(rows, math.nan), np.full(rows, math.nan)
    step = max(1, _CHUNK_VALUES // size)
    for start in range(0, rows, step):
        part = d[start:start + step]
        walsh = (part[:, upper_i] + part[:, upper_j]) / 2.0
        walsh.sort(axis=1)
        shift[start:start + step] = _middle(walsh)
        if k >= 1:
            low[start:start + step] = walsh[:, k - 1]
            high[start:start + step] = walsh[:, size - k]
    return shift, low, high


def _middle(ordered: np.ndarray) -> np.ndarray:
    mid = ordered.shape[1] // 2
    return ordered[:, mid] if ordered.shape[1] % 2 else (ordered[:, mid - 1] + ordered[:, mid]) / 2


# ---------------------------------------------------------------------------
# Tests and estimates
# ---------------------------------------------------------------------------

def signed_rank_pvalues(d: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per row of differences: the method and both one-sided Wilcoxon p-values.

    Rows are tested in two scipy calls per method (greater, less), whatever
    their number. A row of only zero differences gives p = 1 both ways.
    """
    from scipy import stats
    rows, n = d.shape
    magnitudes = np.sort(np.abs(d), axis=1)
    exact = (n <= _SCIPY_EXACT_LIMIT) & np.all(magnitudes > 0, axis=1)
    if n > 1:
        exact &= ~np.any(magnitudes[:, 1:] == magnitudes[:, :-1], axis=1)
    p_greater, p_less = np.ones(rows), np.ones(rows)
    all_zero = np.all(d == 0, axis=1)
    for method, chosen in (("exact", exact), ("approx", ~exact & ~all_zero)):
        index = np.flatnonzero(chosen)
        if not index.size:
            continue
        options = dict(method=method, zero_method="wilcox", axis=-1)
        if method == "approx":
            options["correction"] = True
        with np.errstate(divide="ignore", invalid="ignore"):
            greater = stats.wilcoxon(d[index], alternative="greater", **options).pvalue
            less = stats.wilcoxon(d[index], alternative="less", **options).pvalue
        p_greater[index] = np.nan_to_num(greater, nan=1.0)
        p_less[index] = np.nan_to_num(less, nan=1.0)
    methods = np.where(exact, "exact", "asymptotic").tolist()
    return methods, np.clip(p_greater, 0.0, 1.0), np.clip(p_less, 0.0, 1.0)


def signed_rank(base: Sequence[float], head: Sequence[float], *,
                alternative: str = "greater") -> tuple[float, str]:
    """One-sided Wilcoxon signed-rank test of head against base, pair by pair: (p, method).

    ``alternative`` "greater" means head tends to be larger. Exact or
    asymptotic as described in the module docstring; no alpha is applied.
    """
    if alternative not in ("greater", "less"):
        raise ValueError(f"alternative must be 'greater' or 'less', got {alternative!r}")
    d, _ = differences(base, head)
    methods, greater, less = signed_rank_pvalues(d[None, :])
    return float(greater[0] if alternative == "greater" else less[0]), methods[0]


def hodges_lehmann_paired(base: Sequence[float], head: Sequence[float], *,
                          confidence: float = 0.95) -> ShiftEstimate:
    """Median of the Walsh averages of the paired differences, with its rank interval."""
    return compare_paired(base, head, confidence=confidence).estimate


def compare_paired(base: Sequence[float], head: Sequence[float], *,
                   confidence: float = 0.95) -> PairedComparison:
    """The paired comparison of one benchmark x metric; see ``compare_paired_many``."""
    return compare_paired_many([(base, head)], confidence=confidence)[0]


def compare_paired_many(pairs: Sequence[tuple[Sequence[float], Sequence[float]]], *,
                        confidence: float = 0.95) -> list[PairedComparison]:
    """``compare_paired`` of every (base, head) pair of samples, in order, batched.

    Element i of base and element i of head must come from the same round.
    Samples with the same number of pairs and the same scale are stacked into
    one matrix: scipy.stats.wilcoxon runs once per method and direction along
    its rows, the Walsh averages and spreads are computed row-wise with numpy.
    Raises ValueError when a pair of samples differs in length or is empty.
    """
    _check_confidence(confidence)
    groups: dict[int, list[int]] = {}
    for index, (base, head) in enumerate(pairs):
        if len(base) != len(head) or len(base) == 0:
            raise ValueError(f"paired samples need the same, non-zero number of values "
                             f"(item {index}: base has {len(base)}, head has {len(head)})")
        groups.setdefault(len(base), []).append(index)
    out: list[PairedComparison] = [None] * len(pairs)  # type: ignore[list-item]
    for n, indices in groups.items():
        x = np.array([pairs[i][0] for i in indices], dtype=float).reshape(len(indices), n)
        y = np.array([pairs[i][1] for i in indices], dtype=float).reshape(len(indices), n)
        positive = np.all(x > 0, axis=1) & np.all(y > 0, axis=1)
        for scale, rows in ((LOG, positive), (LINEAR, ~positive)):
            chosen = np.flatnonzero(rows)
            for row, result in zip(chosen.tolist(),
                                   _compare_block(x[chosen], y[chosen], scale, confidence)
                                   if chosen.size else [], strict=True):
                out[indices[row]] = result
    return out


def _compare_block(x: np.ndarray, y: np.ndarray, scale: str,
                   confidence: float) -> list[PairedComparison]:
    n = x.shape[1]
    d = np.log(y) - np.log(x) if scale == LOG else y - x
    methods, p_greater, p_less = signed_rank_pvalues(d)
    k = _lower_rank(n, (1.0 - confidence) / 2.0)
    shift, low, high = _walsh_rows(d, k)
    spread = robust_sd_rows(d)
    base_median = np.median(x, axis=1)
    base_cv, head_cv = robust_cv_rows(x), robust_cv_rows(y)
    out = []
    for i in range(x.shape[0]):
        bounds = None if k < 1 else (float(low[i]), float(high[i]))
        estimate = shift_estimate(float(shift[i]), bounds, scale, float(base_median[i]), confidence)
        out.append(PairedComparison(estimate, float(p_greater[i]), float(p_less[i]), methods[i],
                                    float(spread[i]), n, n, float(base_median[i]),
                                    float(base_cv[i]), float(head_cv[i]), n))
    return out


# ---------------------------------------------------------------------------
# Smallest detectable change of the paired design
# ---------------------------------------------------------------------------

def detectable_shift(spread: float, n_pairs: int, *, alpha: float,
                     power: float = 0.8) -> float:
    """Smallest shift of the differences the one-sided signed-rank test detects.

    ``spread`` is the standard deviation of the paired differences (robust sd
    of the log ratios for a multiplicative change). Assumes normal
    differences: the critical T+ comes from the exact null distribution, the
    power from the normal approximation of T+ under the shift with its exact
    mean and variance (Lehmann's U-statistic moments). Scales linearly with
    ``spread``; checked by simulation in tests/unit/test_paired.py.

    Returns ``math.inf`` when ``n_pairs`` cannot reach ``alpha`` (see
    ``min_attainable_p``) or the spread is NaN, and 0.0 for zero spread.
    """
    if not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise ValueError(f"alpha and power must lie in (0, 1), got {alpha!r}, {power!r}")
    if n_pairs < 1 or math.isnan(spread):
        return math.inf
    units = _detectable_units(n_pairs, float(alpha), float(power))
    return math.inf if math.isinf(units) else spread * units


def detectable_change(spread: float, n_pairs: int, *, alpha: float,
                      power: float = 0.8) -> float:
    """``detectable_shift`` of log ratios as a relative change (exp(shift) - 1)."""
    shift = detectable_shift(spread, n_pairs, alpha=alpha, power=power)
    return math.inf if math.isinf(shift) else math.expm1(shift)


@lru_cache(maxsize=4096)
def _detectable_units(n: int, alpha: float, power: float) -> float:
    if min_attainable_p(n) > alpha * (1 + 1e-12):
        return math.inf
    total = n * (n + 1) // 2
    critical = total - _lower_rank(n, alpha) + 1      # smallest c with P(T+ >= c) <= alpha
    low, high = 0.0, 64.0
    for _ in range(50):
        mid = (low + high) / 2.0
        if _power_at(mid, n, critical) >= power:
            high = mid
        else:
            low = mid
    return high


_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(60)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(80)


def _power_at(delta: float, n: int, critical: int) -> float:
    """P(T+ >= critical) when the differences are N(delta, 1)."""
    from scipy import special
    p1 = float(special.ndtr(delta))                          # P(d_i > 0)
    p2 = float(special.ndtr(math.sqrt(2.0) * delta))         # P(d_i + d_j > 0)
    # P(d_i + d_j > 0, d_i + d_k > 0) = E[Phi(2 delta + Z)^2]
    p4 = float(np.dot(_GH_WEIGHTS, special.ndtr(2 * delta + _GH_NODES) ** 2))
    # P(d_i > 0, d_i + d_j > 0) = integral over z > -delta of phi(z) Phi(2 delta + z)
    a, b = -delta, -delta + 12.0
    z = (b - a) / 2 * _GL_NODES + (a + b) / 2
    p3 = float((b - a) / 2 * np.dot(_GL_WEIGHTS, np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
                                    * special.ndtr(2 * delta + z)))
    pairs = n * (n - 1) / 2
    mean = n * p1 + pairs * p2
    variance = (n * p1 * (1 - p1) + pairs * p2 * (1 - p2)
                + n * (n - 1) * (n - 2) * (p4 - p2 * p2) + 2 * n * (n - 1) * (p3 - p1 * p2))
    if variance <= 0:
        return 1.0 if mean >= critical else 0.0
    return float(special.ndtr((mean - (critical - 0.5)) / math.sqrt(variance)))
