"""Statistics on per-process values: rank test, shift interval, corrections, power.

Pure functions on plain sequences of floats; nothing here imports the rest of
perfaction. Each observation is one worker process's value (the process is the
unit of replication), so ``n`` below always counts processes.

Conventions:

- ``base`` and ``head`` are the two samples; "greater" means head tends to be
  larger than base.
- Relative changes are computed on log values when every value is positive
  (a multiplicative model: a 5 % slowdown is the same shift for a 1 µs and a
  1 s benchmark) and on raw values otherwise (for example retained memory,
  which can be zero).

The choices are explained in docs/statistics.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# scipy is imported inside the functions that use it: it costs about a second
# of start-up, which the action's container and the benchmark workers should
# not pay before the first benchmark starts.

LOG = "log"
LINEAR = "linear"

# Consistency constant: 1.4826 * MAD estimates the standard deviation of a normal sample.
_MAD_TO_SD = 1.482602218505602
# Above this many base x head pairs the exact null distribution is replaced by
# its normal approximation (the difference is below one order statistic there).
_EXACT_PAIRS_LIMIT = 2500
# scipy's exact Mann-Whitney p-value is used up to this many pairs without ties.
_SCIPY_EXACT_PAIRS_LIMIT = 10_000


@dataclass(frozen=True)
class RankTest:
    """Result of a one-sided Mann-Whitney U test.

    ``statistic`` is U for head (the number of base x head pairs where head is
    larger, ties counting one half); ``method`` is "exact" or "asymptotic".
    """

    statistic: float
    p_value: float
    alternative: str
    method: str


@dataclass(frozen=True)
class ShiftEstimate:
    """Hodges-Lehmann shift of head against base, with its rank-based interval.

    ``shift`` and ``shift_interval`` are on the analysis ``scale`` (log ratio or
    raw units). ``change`` is the same shift as a relative change of head against
    base (+0.05 = head 5 % larger); it is None on the linear scale when the base
    median is zero. ``interval`` is None when the samples are too small to reach
    the requested confidence.
    """

    shift: float
    shift_interval: tuple[float, float] | None
    change: float | None
    interval: tuple[float, float] | None
    confidence: float
    scale: str


@dataclass(frozen=True)
class SampleComparison:
    """Everything compare needs about one base/head pair, computed in one pass."""

    estimate: ShiftEstimate
    p_greater: float        # one-sided: head larger than base
    p_less: float           # one-sided: head smaller than base
    method: str
    spread: float           # pooled robust standard deviation on the analysis scale
    n_base: int
    n_head: int
    base_median: float
    base_cv: float = math.nan   # robust_cv of each side's values (NaN when undefined)
    head_cv: float = math.nan
# ---------------------------------------------------------------------------
# Spread
# ---------------------------------------------------------------------------

def robust_sd(values: Sequence[float] | np.ndarray) -> float:
    """1.4826 x median absolute deviation: a standard deviation that ignores outliers.

    Returns NaN for fewer than 2 values (no spread can be estimated).
    """
    data = np.asarray(values, dtype=float)
    if data.size < 2:
        return math.nan
    return float(_MAD_TO_SD * np.median(np.abs(data - np.median(data))))


def robust_cv(values: Sequence[float]) -> float:
    """Robust coefficient of variation: ``robust_sd`` of the log values.

    For small spreads this equals the CV (5 % CV gives about 0.05) while one
    slow outlier process barely moves it. Falls back to MAD / |median| on raw
    values when any value is not positive; NaN for fewer than 2 values or a
    zero median.
    """
    data = np.asarray(values, dtype=float)
    if data.size < 2:
        return math.nan
    if np.all(data > 0):
        return robust_sd(np.log(data))
    center = float(np.median(data))
    return robust_sd(data) / abs(center) if center != 0 else math.nan


def pooled_sd(sd_a: float, n_a: int, sd_b: float, n_b: int) -> float:
    """Pool two standard deviations weighted by degrees of freedom; NaN if undefined."""
    dof = (n_a - 1) + (n_b - 1)
    parts = [(n - 1) * sd * sd for sd, n in ((sd_a, n_a), (sd_b, n_b)) if n > 1]
    if dof <= 0 or any(math.isnan(sd) for sd, n in ((sd_a, n_a), (sd_b, n_b)) if n > 1):
        return math.nan
    return math.sqrt(math.fsum(parts) / dof)


# ---------------------------------------------------------------------------
# Mann-Whitney U
# ---------------------------------------------------------------------------

def mann_whitney(base: Sequence[float], head: Sequence[float], *,
                 alternative: str = "greater") -> RankTest:
    """One-sided Mann-Whitney U test (scipy.stats.mannwhitneyu) of head against base.

    ``alternative`` is "greater" (head tends larger) or "less". The p-value is
    exact (``method="exact"``) when there are no ties and at most 10 000 pairs;
    otherwise the normal approximation with tie and continuity corrections
    (``method="asymptotic"``). Ties mostly come from discrete metrics such as
    memory, where the approximation is adequate. No alpha is applied here.

    Too few samples are not an error: with n per side the smallest p-value
    reachable is ``min_attainable_p(m, n)`` (1/C(m+n, m)), e.g. 0.1 for 2 vs 2.
    Raises ValueError when a side is empty.
    """
    from scipy import stats
    if alternative not in ("greater", "less"):
        raise ValueError(f"alternative must be 'greater' or 'less', got {alternative!r}")
    x, y = _as_arrays(base, head)
    method = _choose_method(x, y)
    result = stats.mannwhitneyu(y, x, alternative=alternative, method=method)
    return RankTest(float(result.statistic), float(result.pvalue), alternative, method)


def _as_arrays(base: Sequence[float], head: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(base, dtype=float)
    y = np.asarray(head, dtype=float)
    if x.size == 0 or y.size == 0:
        raise ValueError(f"both samples need values (base has {x.size}, head has {y.size})")
    return x, y


def _choose_method(x: np.ndarray, y: np.ndarray) -> str:
    pooled = np.concatenate([x, y])
    has_ties = np.unique(pooled).size < pooled.size
    if not has_ties and x.size * y.size <= _SCIPY_EXACT_PAIRS_LIMIT:
        return "exact"
    return "asymptotic"


def min_attainable_p(n_base: int, n_head: int) -> float:
    """Smallest one-sided p-value an exact rank test can give: 1 / C(m+n, m).

    C(m+n, m) passes the largest float (~1.8e308) at 515 a side, where 1.0 / C
    raised OverflowError; the float's smallest positive value is the honest
    answer there (the p-value floor is then no limit at all).
    """
    log_count = math.lgamma(n_base + n_head + 1) - math.lgamma(n_base + 1) - math.lgamma(n_head + 1)
    if log_count > 700:          # exp(-700) ~ 1e-304: near the end of the float range
        return 5e-324
    return 1.0 / math.comb(n_base + n_head, n_base)


def min_processes_per_side(alpha: float) -> int:
    """Fewest processes per side (equal sizes) for which p <= alpha is reachable at all."""
    n = 1
    while min_attainable_p(n, n) > alpha:
        n += 1
    return n


@lru_cache(maxsize=256)
def _u_null_cdf(m: int, n: int) -> np.ndarray:
    """P(U <= u) for u = 0..m*n under the null hypothesis, no ties (exact).

    Recursion on the largest of the m+n values: it belongs to head with
    probability n/(m+n) and then beats all m base values. Only additions of
    probabilities, so it is numerically stable. Checked against scipy's exact
    p-values in tests/unit/test_stats.py.
    """
    row = [np.ones(1) for _ in range(n + 1)]           # m = 0: U is always 0
    for i in range(1, m + 1):
        new = [np.ones(1)]                              # n = 0: U is always 0
        for j in range(1, n + 1):
            out = np.zeros(i * j + 1)
            head_last = new[j - 1]
            base_last = row[j]
            out[i:i + head_last.size] += head_last * (j / (i + j))
            out[:base_last.size] += base_last * (i / (i + j))
            new.append(out)
        row = new
    return np.cumsum(row[n])


def _lower_rank(m: int, n: int, tail: float) -> int:
    """Largest k with P(U <= k - 1) <= tail (0 when even U = 0 is likelier than tail)."""
    from scipy import special
    if m * n <= _EXACT_PAIRS_LIMIT:
        cdf = _u_null_cdf(m, n)
        return int(np.searchsorted(cdf, tail * (1 + 1e-12), side="right"))
    sd = math.sqrt(m * n * (m + n + 1) / 12.0)
    z = float(special.ndtri(1.0 - tail))
    return max(0, math.floor(m * n / 2.0 + 0.5 - z * sd))


# ---------------------------------------------------------------------------
# Hodges-Lehmann shift and interval
# ---------------------------------------------------------------------------

def hodges_lehmann(base: Sequence[float], head: Sequence[float], *,
                   confidence: float = 0.95, scale: str | None = None) -> ShiftEstimate:
    """Hodges-Lehmann estimate of the shift head - base, with its distribution-free interval.

    The estimate is the median of all m x n differences head_j - base_i; the
    two-sided ``confidence`` interval is the pair of order statistics of those
    differences given by the exact Mann-Whitney null distribution (normal
    approximation above 2500 pairs), i.e. the shifts the rank test would not
    reject. On the log scale (default when all values are positive) the shift
    is a log ratio and ``change`` = exp(shift) - 1.

    Too few samples: when no interval reaches ``confidence`` (for 95 %: fewer
    than 4 values per side with equal sizes) ``interval`` is None; the point
    estimate is still given.
    """
    _check_confidence(confidence)
    x, y = _as_arrays(base, head)
    scale = scale or (LOG if np.all(x > 0) and np.all(y > 0) else LINEAR)
    if scale not in (LOG, LINEAR):
        raise ValueError(f"scale must be {LOG!r} or {LINEAR!r}, got {scale!r}")
    base_median = float(np.median(x))
    if scale == LOG:
        x, y = np.log(x), np.log(y)
    k = _lower_rank(x.size, y.size, (1.0 - confidence) / 2.0)
    shift, bounds = _shift_rows(x[None, :], y[None, :], k)
    shift_interval = None if bounds is None else (float(bounds[0][0]), float(bounds[1][0]))
    return shift_estimate(float(shift[0]), shift_interval, scale, base_median, confidence)


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")


# Values per intermediate array of the batch path (512 KiB of floats): bounds the
# memory of a large run (scipy makes about ten arrays the size of its input).
_CHUNK_VALUES = 1 << 16


def _shift_rows(x: np.ndarray, y: np.ndarray, k: int):
    """Per row: the median of the differences y_j - x_i and its k-th order statistics.

    Returns (shift, (low, high)) as arrays, or (shift, None) when k is 0.
    """
    rows, m = x.shape
    size = m * y.shape[1]
    shift, low, high = np.empty(rows), np.empty(rows), np.empty(rows)
    step = max(1, _CHUNK_VALUES // size)
    for start in range(0, rows, step):
        part = slice(start, start + step)
        diffs = (y[part, :, None] - x[part, None, :]).reshape(-1, size)
        diffs.sort(axis=1)
        shift[part] = _middle(diffs)
        if k >= 1:
            low[part], high[part] = diffs[:, k - 1], diffs[:, size - k]
    return shift, ((low, high) if k >= 1 else None)


def shift_estimate(shift: float, shift_interval: tuple[float, float] | None, scale: str,
                   base_median: float, confidence: float) -> ShiftEstimate:
    """A shift on the analysis scale and its interval, with the same as relative changes."""
    if scale != LOG and base_median == 0:
        # no relative change from a zero base median
        return ShiftEstimate(shift, shift_interval, None, None, confidence, scale)
    change = _relative(shift, scale, base_median)
    interval = None
    if shift_interval is not None:
        interval = (_relative(shift_interval[0], scale, base_median),
                    _relative(shift_interval[1], scale, base_median))
    return ShiftEstimate(shift, shift_interval, change, interval, confidence, scale)


def _relative(shift: float, scale: str, base_median: float) -> float:
    """A shift on the analysis scale as a relative change (on the linear scale, of a non-zero base)."""
    if scale == LOG:
        return math.expm1(shift)
    return shift / abs(base_median)


# ---------------------------------------------------------------------------
# Everything compare needs, for one pair or for a whole run at once
# ---------------------------------------------------------------------------

def compare_samples(base: Sequence[float], head: Sequence[float], *,
                    confidence: float = 0.95) -> SampleComparison:
    """Shift estimate, both one-sided Mann-Whitney p-values and the pooled spread.

    See ``hodges_lehmann`` and ``mann_whitney`` for the methods and for what
    happens with too few samples. The spread is the pooled ``robust_sd`` of the
    values on the analysis scale (NaN with one value per side); ``base_cv`` and
    ``head_cv`` are each side's ``robust_cv``.
    """
    return compare_many([(base, head)], confidence=confidence)[0]


def compare_many(pairs: Sequence[tuple[Sequence[float], Sequence[float]]], *,
                 confidence: float = 0.95) -> list[SampleComparison]:
    """``compare_samples`` of every (base, head) pair, in order, with identical results.

    A run compares thousands of pairs and scipy's per-call overhead (about 1 ms)
    would dominate, so pairs with the same sample sizes and scale are stacked
    into matrices: ``scipy.stats.mannwhitneyu(..., axis=-1)`` is called once
    per sizes and method (for up to _CHUNK_VALUES values at a time), and the
    shift, interval and spreads are computed row-wise with numpy. Raises
    ValueError when a side is empty.
    """
    _check_confidence(confidence)
    groups: dict[tuple[int, int], list[int]] = {}
    for index, (base, head) in enumerate(pairs):
        if len(base) == 0 or len(head) == 0:
            raise ValueError(f"both samples need values (base has {len(base)}, "
                             f"head has {len(head)})")
        groups.setdefault((len(base), len(head)), []).append(index)
    out: list[SampleComparison] = [None] * len(pairs)  # type: ignore[list-item]
    for (m, n), indices in groups.items():
        x = np.array([pairs[i][0] for i in indices], dtype=float).reshape(len(indices), m)
        y = np.array([pairs[i][1] for i in indices], dtype=float).reshape(len(indices), n)
        positive = np.all(x > 0, axis=1) & np.all(y > 0, axis=1)
        for scale, rows in ((LOG, positive), (LINEAR, ~positive)):
            chosen = np.flatnonzero(rows)
            if chosen.size:
                results = _compare_block(x[chosen], y[chosen], scale, confidence)
                for row, result in zip(chosen.tolist(), results, strict=True):
                    out[indices[row]] = result
    return out


def _compare_block(x: np.ndarray, y: np.ndarray, scale: str,
                   confidence: float) -> list[SampleComparison]:
    """``compare_samples`` of each row of x (base) and y (head): same sizes, same scale."""
    m, n = x.shape[1], y.shape[1]
    base_median = _median_rows(x).tolist()
    methods, p_greater, p_less = _rank_tests(x, y)       # on raw values: log could merge
    if scale == LOG:                                     # two close values into a tie
        lx, ly = np.log(x), np.log(y)
        base_cv, head_cv = robust_sd_rows(lx), robust_sd_rows(ly)
        sd_x, sd_y = base_cv, head_cv
    else:
        lx, ly = x, y
        base_cv, head_cv = robust_cv_rows(x), robust_cv_rows(y)
        sd_x, sd_y = robust_sd_rows(x), robust_sd_rows(y)
    spread = _pooled_rows(sd_x, m, sd_y, n).tolist()
    k = _lower_rank(m, n, (1.0 - confidence) / 2.0)
    shifts, bounds = _shift_rows(lx, ly, k)
    intervals = (list(zip(bounds[0].tolist(), bounds[1].tolist(), strict=True)) if bounds is not None
                 else [None] * x.shape[0])
    return [SampleComparison(shift_estimate(shift, interval, scale, median, confidence),
                             greater, less, method, sd, m, n, median, cv_base, cv_head)
            for shift, interval, median, greater, less, method, sd, cv_base, cv_head
            in zip(shifts.tolist(), intervals, base_median, p_greater, p_less, methods,
                   spread, base_cv.tolist(), head_cv.tolist(), strict=True)]


def _rank_tests(x: np.ndarray, y: np.ndarray) -> tuple[list[str], list[float], list[float]]:
    """Per row: the method ``mann_whitney`` would choose and both one-sided p-values."""
    rows, m = x.shape
    n = y.shape[1]
    exact = np.zeros(rows, bool)
    p_greater, p_less = np.empty(rows), np.empty(rows)
    step = max(1, _CHUNK_VALUES // (m + n))
    for start in range(0, rows, step):
        part = slice(start, start + step)
        if m * n <= _SCIPY_EXACT_PAIRS_LIMIT:      # exact when no value repeats
            pooled = np.sort(np.concatenate([x[part], y[part]], axis=1), axis=1)
            exact[part] = ~np.any(pooled[:, 1:] == pooled[:, :-1], axis=1)
        for method, chosen in (("exact", exact[part]), ("asymptotic", ~exact[part])):
            chosen = np.flatnonzero(chosen) + start
            if chosen.size:
                p_greater[chosen], p_less[chosen] = _both_tails(x[chosen], y[chosen], method)
    methods = np.where(exact, "exact", "asymptotic").tolist()
    return methods, p_greater.tolist(), p_less.tolist()


def _both_tails(x: np.ndarray, y: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """(P head greater, P head less) per row, from scipy along the last axis.

    "head less than base" is "base greater than head", so with equal sizes both
    one-sided tests are the rows of one call (half the cost of two calls).
    """
    from scipy import stats
    if x.shape[1] == y.shape[1]:
        p = stats.mannwhitneyu(np.concatenate([y, x]), np.concatenate([x, y]),
                               alternative="greater", method=method, axis=-1).pvalue
        return p[:x.shape[0]], p[x.shape[0]:]
    greater = stats.mannwhitneyu(y, x, alternative="greater", method=method, axis=-1)
    less = stats.mannwhitneyu(y, x, alternative="less", method=method, axis=-1)
    return greater.pvalue, less.pvalue


def _median_rows(a: np.ndarray) -> np.ndarray:
    """np.median of each row. Sorting is several times faster on short rows than
    np.median's partition at two places (which numpy does not vectorise)."""
    return _middle(np.sort(a, axis=1))


def _middle(ordered: np.ndarray) -> np.ndarray:
    """Median of sorted rows, as np.median computes it: the middle value or (a + b) / 2."""
    mid = ordered.shape[1] // 2
    return ordered[:, mid] if ordered.shape[1] % 2 else (ordered[:, mid - 1] + ordered[:, mid]) / 2


def robust_sd_rows(a: np.ndarray) -> np.ndarray:
    """``robust_sd`` of each row."""
    if a.shape[1] < 2:
        return np.full(a.shape[0], math.nan)
    center = _median_rows(a)[:, None]
    return _MAD_TO_SD * _median_rows(np.abs(a - center))


def robust_cv_rows(a: np.ndarray) -> np.ndarray:
    """``robust_cv`` of each row: log values where a row is all positive, else MAD / |median|."""
    out = np.full(a.shape[0], math.nan)
    if a.shape[1] < 2:
        return out
    positive = np.all(a > 0, axis=1)
    if positive.any():
        out[positive] = robust_sd_rows(np.log(a[positive]))
    rest = ~positive
    if rest.any():
        center = np.abs(_median_rows(a[rest]))
        with np.errstate(divide="ignore", invalid="ignore"):
            out[rest] = np.where(center != 0, robust_sd_rows(a[rest]) / center, math.nan)
    return out


def _pooled_rows(sd_a: np.ndarray, n_a: int, sd_b: np.ndarray, n_b: int) -> np.ndarray:
    """``pooled_sd`` of each row (a sum of two terms is what math.fsum rounds to)."""
    dof = (n_a - 1) + (n_b - 1)
    if dof <= 0:
        return np.full(sd_a.shape[0], math.nan)
    terms = [(n - 1) * sd * sd for sd, n in ((sd_a, n_a), (sd_b, n_b)) if n > 1]
    total = terms[0] + terms[1] if len(terms) == 2 else terms[0]
    return np.sqrt(total / dof)


# ---------------------------------------------------------------------------
# Multiple testing
# ---------------------------------------------------------------------------

def holm(p_values: Sequence[float]) -> tuple[float, ...]:
    """Holm step-down adjusted p-values (family-wise error control, any dependence).

    Sorted ascending, p_(i) is multiplied by (m - i + 1), a running maximum keeps
    the order, and values are capped at 1. Rejecting adjusted p <= alpha keeps
    the chance of any false rejection in the family at most alpha. An empty
    input gives an empty result.
    """
    p = _check_p_values(p_values)
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (m - np.arange(m))
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate(scaled))
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return tuple(float(v) for v in adjusted)


def benjamini_hochberg(p_values: Sequence[float]) -> tuple[float, ...]:
    """Benjamini-Hochberg q-values (false discovery rate control, advisory).

    Sorted ascending, q_(i) = min over j >= i of p_(j) * m / j, capped at 1.
    Flagging q <= 0.05 expects at most 5 % of the flags to be false.
    """
    p = _check_p_values(p_values)
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    q = np.empty(m)
    q[order] = q_sorted
    return tuple(float(v) for v in q)


def _check_p_values(p_values: Sequence[float]) -> np.ndarray:
    p = np.asarray(p_values, dtype=float).reshape(-1)
    if p.size and (np.any(np.isnan(p)) or np.any(p < 0) or np.any(p > 1)):
        raise ValueError(f"p-values must lie in [0, 1], got {p_values!r}")
    return p


# ---------------------------------------------------------------------------
# Smallest detectable change
# ---------------------------------------------------------------------------

def detectable_shift(spread: float, n_base: int, n_head: int, *,
                     alpha: float, power: float = 0.8) -> float:
    """Smallest shift the one-sided Mann-Whitney test detects with ``power`` at ``alpha``.

    ``spread`` is the standard deviation of the values on the analysis scale
    (``robust_sd`` of log values for a multiplicative change). Assumes normal
    values: the critical U comes from the exact null distribution (normal
    approximation above 2500 pairs) and the power from the normal approximation
    of U under the shift, using Lehmann's variance. Scales linearly with
    ``spread``; agrees within rounding with the simulated table in
    docs/statistics.md (checked by simulation in the tests).

    Returns ``math.inf`` when the sample sizes cannot reach ``alpha`` at all
    (see ``min_attainable_p``) or the spread is unknown (NaN), and 0.0 for zero
    spread.
    """
    if not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise ValueError(f"alpha and power must lie in (0, 1), got {alpha!r}, {power!r}")
    if n_base < 1 or n_head < 1 or math.isnan(spread):
        return math.inf
    units = _detectable_units(n_base, n_head, float(alpha), float(power))
    if math.isinf(units):
        return math.inf
    return spread * units


def detectable_change(spread: float, n_base: int, n_head: int, *,
                      alpha: float, power: float = 0.8) -> float:
    """``detectable_shift`` of log values as a relative change (exp(shift) - 1)."""
    shift = detectable_shift(spread, n_base, n_head, alpha=alpha, power=power)
    return math.inf if math.isinf(shift) else math.expm1(shift)


@lru_cache(maxsize=4096)
def _detectable_units(m: int, n: int, alpha: float, power: float) -> float:
    critical = _critical_u(m, n, alpha)
    if critical is None:
        return math.inf
    low, high = 0.0, 64.0
    for _ in range(50):
        mid = (low + high) / 2.0
        if _power_at(mid, m, n, critical) >= power:
            high = mid
        else:
            low = mid
    return high


def _critical_u(m: int, n: int, alpha: float) -> int | None:
    """Smallest c with P(U >= c) <= alpha under the null, or None if unreachable."""
    if min_attainable_p(m, n) > alpha * (1 + 1e-12):
        return None
    # The null distribution is symmetric, P(U >= c) = P(U <= mn - c), so with
    # P(U <= k - 1) <= alpha the smallest such c is mn - (k - 1).
    k = _lower_rank(m, n, alpha)
    return m * n - k + 1


_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(60)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()


def _power_at(delta: float, m: int, n: int, critical: int) -> float:
    """P(U >= critical) when head is shifted by ``delta`` standard deviations."""
    from scipy import special
    p1 = float(special.ndtr(delta / math.sqrt(2.0)))          # P(Y > X)
    # P(Y > X, Y' > X) = P(Y > X, Y > X') = E[Phi(delta + Z)^2] for normal data.
    p2 = float(np.dot(_GH_WEIGHTS, special.ndtr(delta + _GH_NODES) ** 2))
    mean = m * n * p1
    variance = m * n * (p1 * (1 - p1) + (m + n - 2) * (p2 - p1 * p1))
    if variance <= 0:
        return 1.0 if mean >= critical else 0.0
    return float(special.ndtr((mean - (critical - 0.5)) / math.sqrt(variance)))
