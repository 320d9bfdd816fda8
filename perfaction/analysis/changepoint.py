"""Change-point detection over a benchmark's nightly series.

The method follows the idea of Hunter / Apache Otava (ICPE 2023), itself a
cheaper E-Divisive (MongoDB, ICPE 2020), written here from the description:

1. Candidates: divisive (binary) segmentation. In a segment, every split is
   scored with the E-Divisive energy statistic computed over a window of at
   most ``window`` points on each side; the best split is the candidate.
   Scores use log values when all values are positive, so a 5% step weighs
   the same at 1 ms as at 1 s.
2. Significance: instead of E-Divisive's permutation test, a two-sample test
   between the points on either side of the candidate (again at most
   ``window`` each side): Mann-Whitney U, two-sided, because nightly values
   on shared runners carry outliers that a t-test lets through. Its p-value
   is multiplied by the number of positions the search chose from
   (Bonferroni): the best of many splits always looks significant, and every
   night offers a new one at the tail. The split is kept when that adjusted
   p is at most 3/4 of ``alpha``, and the recursion continues on both halves.
   Otherwise the segment is searched for a plateau: a change and its
   reversal, such as a regression fixed some nights later, which no single
   split sees (whichever side the fix falls on, the good nights dilute the
   bad ones). The best interval is tested against the points either side,
   its p-value multiplied by the number of intervals searched, against the
   last 1/4 of ``alpha``: a segment without any change is still split with
   probability <= ``alpha``. Bad spells of correlated noise look like
   plateaus, so this test widens its variance when the residuals are
   autocorrelated. A plateau found is split at both edges, and the recursion
   continues on its three parts.
3. Pruning: each kept change is re-tested against its neighbours (the window
   now ends at the adjacent change points); the weakest one failing
   ``alpha`` or the minimum relative magnitude is removed, and the rest are
   re-tested, until every change passes both. A plateau edge that fails
   (a fix seen for only a few nights) still bounds its partner's window.
4. Location: the commit range reported is a profile-likelihood interval
   around the split (``_location_range``), so a small step blurred by noise
   names every commit that may have caused it, not one guess.

Series must come from one environment: detection runs per fingerprint group
(``detect_history``), so a switch of runner hardware is never a change point.
docs/nightly.md explains the choices and gives the measured precision/recall.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from perfaction.metrics import LOWER_IS_BETTER
from perfaction.results.history import History, Series

REGRESSION = "regression"
IMPROVEMENT = "improvement"


@dataclass(frozen=True)
class DetectionSettings:
    alpha: float = 0.001          # adjusted two-sided p-value a change must reach
    min_magnitude: float = 0.02   # smallest |after / before - 1| reported
    window: int = 50              # most points on each side that score and test a split
    min_size: int = 3             # fewest points on each side of a change

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {self.alpha!r}")
        if not 0 <= self.min_magnitude < 10:
            raise ValueError(f"min_magnitude must be a fraction >= 0, got {self.min_magnitude!r}")
        if not isinstance(self.min_size, int) or self.min_size < 2:
            raise ValueError(f"min_size must be an integer >= 2, got {self.min_size!r}")
        if not isinstance(self.window, int) or self.window < self.min_size:
            raise ValueError(f"window must be an integer >= min_size ({self.min_size}), "
                             f"got {self.window!r}")


@dataclass(frozen=True)
class Split:
    """A change in a plain sequence: ``index`` is the first value of the new level.

    ``earliest`` .. ``latest`` are the plausible positions of that first value
    (see ``_location_range``): the change lies between values ``earliest - 1``
    and ``latest``, and the commit range reported spans exactly that.
    """

    index: int
    earliest: int
    latest: int
    before: float          # median of the values before, within the window
    after: float           # median of the values after, within the window
    change: float | None   # after / before - 1; None when before is 0
    p_value: float         # Mann-Whitney, two-sided, times the positions searched


@dataclass(frozen=True)
class ChangePoint:
    """A change in one benchmark's metric, within one environment fingerprint."""

    benchmark: str
    metric: str
    unit: str
    direction: str          # the metric's: "lower" or "higher" is better
    fingerprint_id: str
    index: int              # estimated first point after the change, in the fingerprint's series
    history_index: int      # the same point's position in the whole history
    before_history_index: int  # last entry surely at the old level (commit range start)
    after_history_index: int   # first entry surely at the new level (commit range end)
    commit_before: str      # commit of before_history_index
    commit_after: str       # commit of after_history_index
    date_after: str
    level_before: float     # median before / after, within the window
    level_after: float
    change: float | None    # level_after / level_before - 1
    p_value: float

    @property
    def kind(self) -> str:
        """``regression`` or ``improvement``, by the metric's direction."""
        increased = self.level_after > self.level_before
        worse = increased if self.direction == LOWER_IS_BETTER else not increased
        return REGRESSION if worse else IMPROVEMENT


# ---------------------------------------------------------------------------
# Plain sequences
# ---------------------------------------------------------------------------

def find_splits(values: Sequence[float],
                settings: DetectionSettings = DetectionSettings()) -> tuple[Split, ...]:
    """Change points of a sequence measured in one environment, oldest value first."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        raise ValueError("values must be a flat sequence of finite numbers")
    if len(x) < 2 * settings.min_size:
        return ()
    scored = np.log(x) if np.all(x > 0) else x
    prefix = _distance_prefix(scored)
    tester = _Tester(x, settings)
    found, partners = _segment(prefix, tester, settings)
    kept, bounds = _prune(sorted(found), partners, tester, len(x))
    splits = []
    for lo, index, hi in _with_bounds(bounds, len(x)):
        if index in kept:
            earliest, latest = _location_range(scored, lo, index, hi, settings.window)
            splits.append(replace(tester.split(lo, index, hi), earliest=earliest, latest=latest))
    return tuple(splits)


# Positions whose log-likelihood is within this of the best stay plausible (a
# likelihood ratio of 100); on seeded steps the range holds the true position
# 93-97% of the time (docs/nightly.md).
_LOCATION_LOG_LIKELIHOOD = 4.6


def _location_range(y: np.ndarray, lo: int, index: int, hi: int, window: int) -> tuple[int, int]:
    """Plausible first positions of the new level: a profile-likelihood interval.

    With the two levels fixed at the medians either side, moving the change
    from position t to t' changes the Gaussian log-likelihood by the summed
    contributions of the points in between; residuals are clipped at 3 robust
    standard deviations so one outlier cannot drag the range.
    """
    start, stop = max(lo, index - window), min(hi, index + window)
    level_before, level_after = np.median(y[start:index]), np.median(y[index:stop])
    residuals = np.concatenate([y[start:index] - level_before, y[index:stop] - level_after])
    sigma = 1.4826 * np.median(np.abs(residuals))
    if sigma == 0 or level_before == level_after:
        return index, index
    clipped = np.clip(y[start:stop], min(level_before, level_after) - 3 * sigma,
                      max(level_before, level_after) + 3 * sigma)
    looks_after = ((clipped - level_before) ** 2 - (clipped - level_after) ** 2) / (2 * sigma ** 2)
    # log-likelihood of "the new level starts at t", up to a constant: sum over points >= t
    profile = np.cumsum(looks_after[::-1])[::-1][1:]          # t = start + 1 .. stop - 1
    positions = np.arange(start + 1, stop)
    plausible = positions[profile >= profile.max() - _LOCATION_LOG_LIKELIHOOD]
    return min(int(plausible.min()), index), max(int(plausible.max()), index)


def _distance_prefix(y: np.ndarray) -> np.ndarray:
    """2-D prefix sums of |y_i - y_j|: any block of pairwise distances in O(1)."""
    distances = np.abs(y[:, None] - y[None, :])
    prefix = np.zeros((len(y) + 1, len(y) + 1))
    prefix[1:, 1:] = distances.cumsum(axis=0).cumsum(axis=1)
    return prefix


def _block(prefix: np.ndarray, r0, r1, c0, c1):
    return prefix[r1, c1] - prefix[r0, c1] - prefix[r1, c0] + prefix[r0, c0]


def _best_split(prefix: np.ndarray, lo: int, hi: int, settings: DetectionSettings) -> int:
    """The split of [lo, hi) with the largest windowed energy statistic."""
    tau = np.arange(lo + settings.min_size, hi - settings.min_size + 1)
    left = np.maximum(lo, tau - settings.window)
    right = np.minimum(hi, tau + settings.window)
    m = (tau - left).astype(float)
    n = (right - tau).astype(float)
    between = _block(prefix, left, tau, tau, right) / (m * n)
    within_left = _block(prefix, left, tau, left, tau) / (m * (m - 1))
    within_right = _block(prefix, tau, right, tau, right) / (n * (n - 1))
    energy = m * n / (m + n) * (2 * between - within_left - within_right)
    return int(tau[int(np.argmax(energy))])


# Part of alpha spent on the plateau search; the single split keeps the rest
# (weighted Bonferroni). A quarter: steps that stay are the common case, and a
# plateau clear enough to matter is found with a quarter about as often as with
# half (docs/nightly.md).
_PLATEAU_SHARE = 0.25
# A plateau is compared with up to this many windows of points on each side:
# a short one reaches significance only against many reference points.
_PLATEAU_REACH = 2


class _Tester:
    """Windowed two-sample tests, cached: pruning asks about the same splits again."""

    def __init__(self, values: np.ndarray, settings: DetectionSettings):
        self.values = values
        self.settings = settings
        self._cache: dict[tuple[int, int, int], Split] = {}

    def split(self, lo: int, index: int, hi: int) -> Split:
        key = (lo, index, hi)
        if key not in self._cache:
            self._cache[key] = self._compute(lo, index, hi)
        return self._cache[key]

    def _compute(self, lo: int, index: int, hi: int) -> Split:
        w = self.settings.window
        left = self.values[max(lo, index - w):index]
        right = self.values[index:min(hi, index + w)]
        before, after = float(np.median(left)), float(np.median(right))
        change = after / before - 1 if before != 0 else None
        # The split was the best of every position of [lo, hi): pay for that search
        # (Bonferroni), or each night's new tail would be a fresh chance of a false alarm.
        candidates = max(1, hi - lo - 2 * self.settings.min_size + 1)
        p_value = min(1.0, _rank_test(left, right) * candidates)
        return Split(index, index, index, before, after, change, p_value)

    def plateau(self, lo: int, start: int, end: int, hi: int, searched: int) -> float:
        """Adjusted p-value of "[start, end) differs from the points around it"."""
        reach = _PLATEAU_REACH * self.settings.window
        first, last = max(lo, start - reach), min(hi, end + reach)
        inside = self.values[start:end]
        around = np.concatenate([self.values[first:start], self.values[end:last]])
        level, baseline = float(np.median(inside)), float(np.median(around))
        if baseline != 0 and abs(level / baseline - 1) < self.settings.min_magnitude:
            return 1.0   # too small to report: spare the test
        inflation = _variance_inflation(self.values[first:last], start - first, end - first)
        return min(1.0, _rank_test(inside, around, inflation) * searched)

    def passes(self, split: Split) -> bool:
        if split.p_value > self.settings.alpha:
            return False
        if split.change is None:
            return split.after != split.before
        return abs(split.change) >= self.settings.min_magnitude


def _rank_test(left: np.ndarray, right: np.ndarray, inflation: float = 1.0) -> float:
    """Two-sided Mann-Whitney U p-value, unadjusted.

    ``inflation`` > 1 widens the statistic's null variance for correlated
    points (see ``_variance_inflation``); the normal approximation is then used.
    """
    both = np.concatenate([left, right])
    if np.ptp(both) == 0:
        return 1.0   # all equal: no test can tell the sides apart
    # The normal approximation overstates p far in the tail, exactly where the
    # threshold lies; the exact distribution is as fast at these sizes but wrong
    # with ties (deterministic metrics repeat values).
    exact = inflation == 1 and len(both) <= 200 and len(np.unique(both)) == len(both)
    # Imported here: scipy costs ~1 s of start-up that a PR run never needs.
    from scipy.stats import mannwhitneyu, norm
    p_value = float(mannwhitneyu(left, right, alternative="two-sided",
                                 method="exact" if exact else "asymptotic").pvalue)
    if math.isnan(p_value):
        return 1.0
    if inflation > 1:
        p_value = float(2 * norm.sf(norm.isf(p_value / 2) / math.sqrt(inflation)))
    return p_value


def _variance_inflation(y: np.ndarray, start: int, end: int) -> float:
    """How much lag-1 autocorrelation widens a rank sum's variance, 1 if none.

    Residuals from two levels (medians of y[start:end] and of the rest),
    clipped at 3 robust standard deviations so outliers do not decide. A
    correlation below 2 / sqrt(n) is what independent noise shows 98% of the
    time and counts as none; above it, AR(1) noise of coefficient rho widens
    the variance of a sum by (1 + rho) / (1 - rho).
    """
    inside = np.zeros(len(y), dtype=bool)
    inside[start:end] = True
    residuals = y - np.where(inside, np.median(y[inside]), np.median(y[~inside]))
    sigma = 1.4826 * np.median(np.abs(residuals))
    if sigma == 0:
        return 1.0
    residuals = np.clip(residuals, -3 * sigma, 3 * sigma)
    rho = float(np.dot(residuals[1:], residuals[:-1]) / np.dot(residuals, residuals))
    if rho <= 2 / math.sqrt(len(y)):
        return 1.0
    return (1 + rho) / (1 - rho) if rho < 1 else math.inf


def _segment(prefix: np.ndarray, tester: _Tester,
             settings: DetectionSettings) -> tuple[list[int], dict[int, int]]:
    """Divisive segmentation: split while a segment holds a significant change.

    A segment is first searched for one split; when that is not significant,
    for a plateau: a change and its reversal (a regression later fixed), which
    a single split dilutes with the points after the reversal. The two
    searches share ``alpha`` (weighted Bonferroni), so a segment without any
    change still raises a false alarm with probability at most ``alpha``.
    Returns the changes found and, for plateaus, each edge's partner edge.
    """
    found: list[int] = []
    partners: dict[int, int] = {}
    pending = [(0, len(prefix) - 1)]
    while pending:
        lo, hi = pending.pop()
        if hi - lo < 2 * settings.min_size:
            continue
        index = _best_split(prefix, lo, hi, settings)
        if tester.split(lo, index, hi).p_value <= settings.alpha * (1 - _PLATEAU_SHARE):
            found.append(index)
            pending += [(lo, index), (index, hi)]
            continue
        plateau = _best_plateau(prefix, lo, hi, settings)
        if plateau is None:
            continue
        start, end, searched = plateau
        if tester.plateau(lo, start, end, hi, searched) <= settings.alpha * _PLATEAU_SHARE:
            found += [start, end]
            partners.update({start: end, end: start})
            pending += [(lo, start), (start, end), (end, hi)]
    return found, partners


def _best_plateau(prefix: np.ndarray, lo: int, hi: int,
                  settings: DetectionSettings) -> tuple[int, int, int] | None:
    """The interval [start, end) of [lo, hi) most unlike the points around it.

    Returns (start, end, number of intervals searched), or None when no
    interval could be significant. Scored, like splits, by the energy
    statistic, here of the interval against the points either side.
    """
    lengths = _plateau_lengths(lo, hi, settings)
    if len(lengths) == 0:
        return None
    m, reach = settings.min_size, _PLATEAU_REACH * settings.window
    starts = np.arange(lo + m, hi - m - lengths[0] + 1)
    start, end = np.broadcast_arrays(starts[:, None], starts[:, None] + lengths)
    keep = end <= hi - m
    start, end = start[keep], end[keep]
    left, right = np.maximum(lo, start - reach), np.minimum(hi, end + reach)
    inside = (end - start).astype(float)
    around = (start - left + right - end).astype(float)
    between = _block(prefix, start, end, left, start) + _block(prefix, start, end, end, right)
    within_inside = _block(prefix, start, end, start, end)
    within_around = (_block(prefix, left, start, left, start)
                     + _block(prefix, end, right, end, right)
                     + 2 * _block(prefix, left, start, end, right))
    energy = inside * around / (inside + around) * (
        2 * between / (inside * around) - within_inside / (inside * (inside - 1))
        - within_around / (around * (around - 1)))
    best = int(np.argmax(energy))
    return int(start[best]), int(end[best]), len(start)


def _plateau_lengths(lo: int, hi: int, settings: DetectionSettings) -> np.ndarray:
    """Plateau lengths worth searching in [lo, hi), from the sizes alone.

    At most ``window``: a longer plateau fills a single split's window on its
    side, so the single split sees it undiluted. And only lengths whose most
    extreme possible outcome (every point beyond all points around) would be
    significant after paying for the intervals searched: three nights against
    two hundred never can, and searching them would only cost the others.
    """
    m = settings.min_size
    lengths = np.arange(m, min(settings.window, hi - lo - 2 * m) + 1)
    around = np.minimum(2 * _PLATEAU_REACH * settings.window, hi - lo - lengths)
    log_best = np.array([math.log(2) - math.lgamma(n + k + 1) + math.lgamma(n + 1)
                         + math.lgamma(k + 1) for k, n in zip(lengths, around, strict=True)])
    starts = hi - lo - 2 * m - lengths + 1
    keep = np.ones(len(lengths), dtype=bool)
    while keep.any():
        affordable = keep & (log_best + math.log(starts[keep].sum())
                             <= math.log(settings.alpha * _PLATEAU_SHARE))
        if (affordable == keep).all():
            break
        keep = affordable
    return lengths[keep]


def _with_bounds(indices: Sequence[int], length: int) -> list[tuple[int, int, int]]:
    bounds = [0, *indices, length]
    return [(bounds[i - 1], bounds[i], bounds[i + 1]) for i in range(1, len(bounds) - 1)]


def _prune(indices: list[int], partners: dict[int, int], tester: _Tester,
           length: int) -> tuple[set[int], list[int]]:
    """Drop the weakest failing change and re-test the rest, until all pass.

    Returns the changes kept and the boundaries their tests end at: those
    changes plus the dropped edges of plateaus whose other edge is kept. A fix
    seen for a few nights cannot pass its own test yet (a handful of points
    after it), but it is still where the regression's level ends: testing the
    regression against the nights after the fix as well would dilute it.
    """
    kept = set(indices)
    while kept:
        bounds = sorted(kept | {i for i in indices if partners.get(i) in kept})
        tested = [tester.split(lo, i, hi) for lo, i, hi in _with_bounds(bounds, length)
                  if i in kept]
        failing = [s for s in tested if not tester.passes(s)]
        if not failing:
            return kept, bounds
        weakest = max(failing, key=lambda s: (s.p_value, -abs(s.change or 0.0)))
        kept.discard(weakest.index)
    return kept, []


# ---------------------------------------------------------------------------
# History series
# ---------------------------------------------------------------------------

def detect_series(series: Series,
                  settings: DetectionSettings = DetectionSettings()) -> tuple[ChangePoint, ...]:
    """Change points of a series from ONE fingerprint (see ``detect_history``)."""
    fingerprints = {p.fingerprint_id for p in series.points}
    if len(fingerprints) > 1:
        raise ValueError(f"series {series.benchmark}/{series.metric} mixes "
                         f"{len(fingerprints)} environment fingerprints; detect per fingerprint")
    points = series.points
    return tuple(
        ChangePoint(
            benchmark=series.benchmark, metric=series.metric, unit=series.unit,
            direction=series.direction, fingerprint_id=points[s.index].fingerprint_id,
            index=s.index, history_index=points[s.index].index,
            before_history_index=points[s.earliest - 1].index,
            after_history_index=points[s.latest].index,
            commit_before=points[s.earliest - 1].commit, commit_after=points[s.latest].commit,
            date_after=points[s.latest].date, level_before=s.before, level_after=s.after,
            change=s.change, p_value=s.p_value)
        for s in find_splits(series.values(), settings))


def detect_history(history: History, settings: DetectionSettings = DetectionSettings(),
                   keys: Iterable[tuple[str, str]] | None = None) -> tuple[ChangePoint, ...]:
    """Change points of every (benchmark, metric), per environment fingerprint.

    A runner with another CPU gives another fingerprint, hence another series:
    its different level never shows up as a change. ``keys`` limits the pairs
    examined (e.g. to the gating metrics); by default all of them.
    """
    found: list[ChangePoint] = []
    for benchmark, metric in (history.keys() if keys is None else keys):
        for fingerprint in history.fingerprint_ids():
            series = history.series(benchmark, metric, fingerprint)
            found.extend(detect_series(series, settings))
    return tuple(found)
