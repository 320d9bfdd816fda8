"""What a nightly run concludes, as plain values: trends, regressions, issue plans.

Pure: the history (with tonight's entry appended), the change points detected
in it and the regressions already reported (parsed from the hidden markers of
earlier issues) go in; an outcome comes out. The GitHub layer only executes
the IssuePlans, and the report only renders. docs/nightly.md describes the
rules; in short:

- A change point in the bad direction is an *active regression* while every
  later segment of its series (same fingerprint) stays worse than the level
  before it by at least the minimum magnitude; once one later segment comes
  back, it has *recovered*, for good.
- The same change seen in several fingerprint groups (runners with different
  CPUs alternate) is one regression; its commit range is where the groups'
  ranges agree.
- A regression matches an earlier report when their commit ranges overlap or
  start within ``match_tolerance`` entries of each other: estimated change
  locations move by a night or two as data arrives, and that must not open a
  second issue.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from perfaction.analysis.changepoint import REGRESSION, ChangePoint, DetectionSettings
from perfaction.metrics import LOWER_IS_BETTER
from perfaction.results.history import History, Series

MARKER_NAME = "perfaction-nightly-regression"
MARKER_VERSION = 1
_MARKER_RE = re.compile(r"<!-- " + MARKER_NAME + r" v(\d+) ([A-Za-z0-9_=-]+) -->")
_TITLE_LIMIT = 200   # GitHub allows 256; leave room for a prefix a person may add


@dataclass(frozen=True)
class NightlySettings:
    detection: DetectionSettings = DetectionSettings()
    trend_length: int = 30        # points in each trend chart
    match_tolerance: int = 3      # entries two estimates of one change may differ by
    stale_after: int = 30         # a fingerprint absent from the last N entries is retired
    label: str = "performance-regression"
    close_recovered: bool = True  # close the issue when commenting the recovery
    max_new_issues: int = 10      # more new regressions in one night are listed, not filed

    def __post_init__(self) -> None:
        for name in ("trend_length", "stale_after", "max_new_issues"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.match_tolerance, int) or self.match_tolerance < 0:
            raise ValueError(f"match_tolerance must be an integer >= 0, got {self.match_tolerance!r}")
        if not self.label:
            raise ValueError("label must be a non-empty string")


@dataclass(frozen=True)
class TrendPoint:
    label: str          # short commit, the chart's x-axis label
    value: float
    commit: str
    date: str


@dataclass(frozen=True)
class Trend:
    """The recent series of one benchmark's metric on tonight's runner, for a chart."""

    benchmark: str
    metric: str
    unit: str
    direction: str
    fingerprint_id: str
    points: tuple[TrendPoint, ...]
    change_points: tuple[ChangePoint, ...] = ()   # those inside the charted points

    def pairs(self) -> tuple[tuple[str, float], ...]:
        return tuple((p.label, p.value) for p in self.points)


@dataclass(frozen=True)
class Regression:
    """An active regression, merged over the fingerprint groups that show it."""

    key: str
    benchmark: str
    metric: str
    unit: str
    direction: str
    before_index: int       # history index of the last entry at the old level
    after_index: int        # history index of the first entry at the new level
    commit_before: str
    commit_after: str
    date_after: str
    level_before: float
    level_after: float
    level_now: float        # median of the latest segment
    change: float | None    # level_after / level_before - 1 at the change
    p_value: float
    evidence: tuple[ChangePoint, ...] = ()


@dataclass(frozen=True)
class KnownRegression:
    """A regression reported on an earlier night, read back from its issue's marker."""

    key: str
    benchmark: str
    metric: str
    commit_before: str
    commit_after: str
    issue_number: int | None = None
    open: bool = True


@dataclass(frozen=True)
class Recovery:
    known: KnownRegression
    level_before: float
    level_now: float
    latest_commit: str


class IssueAction(StrEnum):
    OPEN = "open"                       # create an issue with title, body, labels
    UPDATE = "update"                   # replace the title and body of issue_number
    RECOVERED = "comment-recovered"     # comment on issue_number (and close it if ``close``)


@dataclass(frozen=True)
class IssuePlan:
    action: IssueAction
    key: str
    title: str
    body_fields: Mapping[str, Any]      # plain values for the issue template
    marker: str                         # hidden marker the body must carry
    labels: tuple[str, ...] = ()
    issue_number: int | None = None     # set for UPDATE and RECOVERED
    close: bool = False


@dataclass(frozen=True)
class NightlyOutcome:
    fingerprint_id: str | None                 # tonight's runner
    trends: tuple[Trend, ...] = ()
    change_points: tuple[ChangePoint, ...] = ()
    regressions: tuple[Regression, ...] = ()
    recoveries: tuple[Recovery, ...] = ()
    issues: tuple[IssuePlan, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------
# Markers: the state carried from night to night inside the issues
# ---------------------------------------------------------------------------

def regression_key(benchmark: str, metric: str, commit_before: str) -> str:
    """Stable de-duplication key: benchmark, metric and the start of the commit range."""
    return f"{benchmark}:{metric}:{commit_before[:12]}"


def marker(known: KnownRegression) -> str:
    """The hidden HTML comment identifying a regression issue (base64: names may hold '-->')."""
    payload = {"key": known.key, "benchmark": known.benchmark, "metric": known.metric,
               "commit_before": known.commit_before, "commit_after": known.commit_after}
    encoded = base64.urlsafe_b64encode(json.dumps(payload, sort_keys=True).encode()).decode()
    return f"<!-- {MARKER_NAME} v{MARKER_VERSION} {encoded} -->"


def parse_marker(body: str | None, *, issue_number: int | None = None,
                 open: bool = True) -> KnownRegression | None:
    """The regression an issue body reports, or None when it carries no valid marker."""
    match = _MARKER_RE.search(body or "")
    if match is None or int(match.group(1)) > MARKER_VERSION:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(match.group(2)))
        fields = [data[k] for k in ("key", "benchmark", "metric", "commit_before", "commit_after")]
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
    if not all(isinstance(f, str) and f for f in fields):
        return None
    key, benchmark, metric, commit_before, commit_after = fields
    return KnownRegression(key, benchmark, metric, commit_before, commit_after,
                           issue_number=issue_number, open=open)


# ---------------------------------------------------------------------------
# Trends
# ---------------------------------------------------------------------------

def trend(history: History, benchmark: str, metric: str, fingerprint: str | None = None,
          length: int = 30, change_points: Sequence[ChangePoint] = ()) -> Trend:
    """The last ``length`` points of a metric on one runner (default: the newest entry's)."""
    if fingerprint is None and history.entries:
        fingerprint = history.entries[-1].fingerprint_id
    series = history.series(benchmark, metric, fingerprint)
    points = series.points[-length:]
    first = points[0].index if points else 0
    shown = tuple(c for c in change_points
                  if c.benchmark == benchmark and c.metric == metric
                  and c.fingerprint_id == fingerprint and c.history_index >= first)
    return Trend(benchmark, metric, series.unit, series.direction, fingerprint or "",
                 tuple(TrendPoint(p.commit[:7], p.value, p.commit, p.date) for p in points),
                 shown)


# ---------------------------------------------------------------------------
# Status of a change within one fingerprint group
# ---------------------------------------------------------------------------

def _worse_by(level: float, reference: float, direction: str) -> float:
    """How much worse ``level`` is than ``reference``, as a fraction (negative: better)."""
    if reference == 0:
        return 0.0 if level == reference else float("inf") * (1 if level > 0 else -1)
    change = level / reference - 1
    return change if direction == LOWER_IS_BETTER else -change


@dataclass(frozen=True)
class _Status:
    state: str                 # "active", "recovered" or "unknown"
    level_before: float = 0.0
    level_now: float = 0.0


def _status(series: Series, group_points: Sequence[ChangePoint], span: tuple[int, int],
            settings: NightlySettings) -> _Status:
    """Has the level after the commit range ``span`` stayed worse than before it?

    ``span`` is (last entry at the old level, first entry at the new level) in
    history indices; ``group_points`` are the change points of this series.
    A change point detected tonight near the span stands in for it, since
    its range is tonight's best estimate.
    """
    tolerance = settings.match_tolerance
    near = [c for c in group_points
            if _near((c.before_history_index, c.after_history_index), span, tolerance)]
    if near:
        point = min(near, key=lambda c: abs(c.before_history_index - span[0]))
        span = (point.before_history_index, point.after_history_index)
    values = np.asarray(series.values())
    positions = [p.index for p in series.points]
    before_end = sum(1 for i in positions if i <= span[0])     # group-local, exclusive
    after_start = sum(1 for i in positions if i < span[1])     # group-local, inclusive
    boundaries = sorted(c.index for c in group_points)
    window, min_size = settings.detection.window, settings.detection.min_size
    previous = max((b for b in boundaries if b < before_end), default=0)
    before = values[max(previous, before_end - window):before_end]
    if len(before) < min_size or len(values) - after_start < min_size:
        return _Status("unknown")
    level_before = float(np.median(before))
    later = [after_start, *(b for b in boundaries if b > after_start), len(values)]
    levels = [float(np.median(values[a:b])) for a, b in itertools.pairwise(later) if b > a]
    for level in levels:
        if _worse_by(level, level_before, series.direction) < settings.detection.min_magnitude:
            return _Status("recovered", level_before, levels[-1])
    return _Status("active", level_before, levels[-1])


def _groups(history: History, benchmark: str, metric: str,
            settings: NightlySettings) -> list[Series]:
    """The metric's series per fingerprint seen in the last ``stale_after`` entries."""
    recent = {e.fingerprint_id for e in history.entries[-settings.stale_after:]}
    return [s for s in (history.series(benchmark, metric, f)
                        for f in history.fingerprint_ids() if f in recent) if len(s)]


def _in_group(change_points: Sequence[ChangePoint], series: Series) -> list[ChangePoint]:
    fingerprint = series.points[0].fingerprint_id
    return [c for c in change_points
            if (c.benchmark, c.metric, c.fingerprint_id) ==
            (series.benchmark, series.metric, fingerprint)]


def _active(history: History, benchmark: str, metric: str,
            change_points: Sequence[ChangePoint],
            settings: NightlySettings) -> list[tuple[ChangePoint, _Status]]:
    found = []
    for series in _groups(history, benchmark, metric, settings):
        group_points = _in_group(change_points, series)
        for point in group_points:
            if point.kind != REGRESSION:
                continue
            span = (point.before_history_index, point.after_history_index)
            status = _status(series, group_points, span, settings)
            if status.state == "active":
                found.append((point, status))
    return found


def _near(a: tuple[int, int], b: tuple[int, int], tolerance: int) -> bool:
    """Do two commit ranges (before, after] overlap or start within ``tolerance``?"""
    return max(a[0], b[0]) < min(a[1], b[1]) or abs(a[0] - b[0]) <= tolerance


def _merge(found: list[tuple[ChangePoint, _Status]], history: History,
           tonight: str | None, settings: NightlySettings) -> list[Regression]:
    """One Regression per change, however many fingerprint groups show it."""
    clusters: list[list[tuple[ChangePoint, _Status]]] = []
    spans: list[tuple[int, int]] = []
    for point, status in sorted(found, key=lambda f: f[0].before_history_index):
        span = (point.before_history_index, point.after_history_index)
        if clusters and _near(spans[-1], span, settings.match_tolerance):
            clusters[-1].append((point, status))
            low, high = max(spans[-1][0], span[0]), min(spans[-1][1], span[1])
            # Where the groups agree narrows the culprit; if they don't, keep both.
            spans[-1] = (low, high) if low < high else (min(spans[-1][0], span[0]),
                                                        max(spans[-1][1], span[1]))
        else:
            clusters.append([(point, status)])
            spans.append(span)
    regressions = []
    for cluster, (before, after) in zip(clusters, spans, strict=True):
        point, status = min(cluster, key=lambda f: (f[0].fingerprint_id != tonight, f[0].p_value))
        entry_before, entry_after = history.entries[before], history.entries[after]
        regressions.append(Regression(
            key=regression_key(point.benchmark, point.metric, entry_before.commit),
            benchmark=point.benchmark, metric=point.metric, unit=point.unit,
            direction=point.direction, before_index=before, after_index=after,
            commit_before=entry_before.commit, commit_after=entry_after.commit,
            date_after=entry_after.date, level_before=point.level_before,
            level_after=point.level_after, level_now=status.level_now, change=point.change,
            p_value=min(p.p_value for p, _ in cluster),
            evidence=tuple(p for p, _ in cluster)))
    return regressions


def _known_span(known: KnownRegression, positions: Mapping[str, int]) -> tuple[int, int] | None:
    before, after = positions.get(known.commit_before), positions.get(known.commit_after)
    if before is None:
        if after is None:
            return None   # both commits fell off the history: nothing left to compare
        before = after - 1
    return before, before + 1 if after is None else after


def _match(regressions: Sequence[Regression], known: Sequence[KnownRegression],
           positions: Mapping[str, int], settings: NightlySettings) -> dict[int, KnownRegression]:
    """Regression index -> the earlier report of the same change (closest first)."""
    pairs = []
    for r_index, regression in enumerate(regressions):
        for k_index, report in enumerate(known):
            span = _known_span(report, positions)
            if (report.benchmark, report.metric) != (regression.benchmark, regression.metric) \
                    or span is None:
                continue
            if _near(span, (regression.before_index, regression.after_index),
                     settings.match_tolerance):
                pairs.append((abs(span[0] - regression.before_index), r_index, k_index))
    matched: dict[int, KnownRegression] = {}
    used: set[int] = set()
    for _, r_index, k_index in sorted(pairs):
        if r_index not in matched and k_index not in used:
            matched[r_index] = known[k_index]
            used.add(k_index)
    return matched


def _recovery(history: History, report: KnownRegression, change_points: Sequence[ChangePoint],
              positions: Mapping[str, int], tonight: str | None,
              settings: NightlySettings) -> Recovery | None:
    """A recovery when every runner that can tell says the level came back."""
    span = _known_span(report, positions)
    if span is None:
        return None
    decided = []
    for series in _groups(history, report.benchmark, report.metric, settings):
        status = _status(series, _in_group(change_points, series), span, settings)
        if status.state != "unknown":
            decided.append((series.points[0].fingerprint_id != tonight, status, series))
    if not decided or any(s.state == "active" for _, s, _ in decided):
        return None
    _, status, series = min(decided, key=lambda d: d[0])
    return Recovery(report, status.level_before, status.level_now, series.points[-1].commit)


# ---------------------------------------------------------------------------
# The night's outcome
# ---------------------------------------------------------------------------

def plan_nightly(history: History, change_points: Sequence[ChangePoint],
                 known: Iterable[KnownRegression] = (),
                 settings: NightlySettings = NightlySettings(),
                 keys: Iterable[tuple[str, str]] | None = None) -> NightlyOutcome:
    """Trends, active regressions, recoveries and issue plans for tonight.

    ``history`` already holds tonight's entry; ``change_points`` come from
    ``changepoint.detect_history(history, settings.detection, keys)``;
    ``known`` are the regressions earlier nights reported (``parse_marker`` on
    every issue carrying ``settings.label``, open or closed).
    """
    if not history.entries:
        return NightlyOutcome(None, notes=("the history is empty: nothing to chart yet",))
    keys = tuple(history.keys() if keys is None else keys)
    known = tuple(known)
    tonight = history.entries[-1].fingerprint_id
    positions = {e.commit: i for i, e in enumerate(history.entries)}
    trends = tuple(trend(history, b, m, tonight, settings.trend_length, change_points)
                   for b, m in keys)
    regressions = [r for b, m in keys
                   for r in _merge(_active(history, b, m, change_points, settings),
                                   history, tonight, settings)]
    matched = _match(regressions, known, positions, settings)
    plans, notes = _regression_plans(history, regressions, matched, tonight, settings)
    matched_keys = {k.key for k in matched.values()}
    recoveries = tuple(r for r in (_recovery(history, k, change_points, positions, tonight, settings)
                                   for k in known if k.open and k.key not in matched_keys)
                       if r is not None)
    plans += [_recovered_plan(history, r, settings) for r in recoveries]
    return NightlyOutcome(tonight, trends, tuple(change_points), tuple(regressions),
                          recoveries, tuple(plans), tuple(notes))


def _regression_plans(history: History, regressions: Sequence[Regression],
                      matched: Mapping[int, KnownRegression], tonight: str,
                      settings: NightlySettings) -> tuple[list[IssuePlan], list[str]]:
    plans, fresh = [], []
    for index, regression in enumerate(regressions):
        report = matched.get(index)
        if report is None:
            fresh.append(regression)
        elif report.open:   # a closed report was closed on purpose: leave it closed
            plans.append(_regression_plan(history, regression, IssueAction.UPDATE,
                                          report.key, report.issue_number, tonight, settings))
    fresh.sort(key=lambda r: -abs(r.change or 0.0))
    for regression in fresh[:settings.max_new_issues]:
        plans.append(_regression_plan(history, regression, IssueAction.OPEN,
                                      regression.key, None, tonight, settings))
    notes = []
    if len(fresh) > settings.max_new_issues:
        notes.append(f"{len(fresh) - settings.max_new_issues} more new regressions are listed "
                     f"in the summary but got no issue (at most {settings.max_new_issues} "
                     "new issues a night)")
    return plans, notes


def _regression_plan(history: History, regression: Regression, action: IssueAction,
                     key: str, issue_number: int | None, tonight: str,
                     settings: NightlySettings) -> IssuePlan:
    latest = history.entries[-1]
    chart = trend(history, regression.benchmark, regression.metric, tonight,
                  settings.trend_length)
    fields = {
        "benchmark": regression.benchmark, "metric": regression.metric,
        "unit": regression.unit, "direction": regression.direction,
        "change": regression.change, "p_value": regression.p_value,
        "level_before": regression.level_before, "level_after": regression.level_after,
        "level_now": regression.level_now,
        "commit_before": regression.commit_before, "commit_after": regression.commit_after,
        "date_after": regression.date_after,
        "latest_commit": latest.commit, "latest_date": latest.date,
        "fingerprints": sorted({p.fingerprint_id for p in regression.evidence}),
        "trend": [list(pair) for pair in chart.pairs()],
    }
    state = KnownRegression(key, regression.benchmark, regression.metric,
                            regression.commit_before, regression.commit_after)
    title = (f"Performance regression in {regression.benchmark} ({regression.metric}) "
             f"since {regression.commit_after[:7]}")
    return IssuePlan(action, key, _clip(title), fields, marker(state), (settings.label,),
                     issue_number)


def _recovered_plan(history: History, recovery: Recovery, settings: NightlySettings) -> IssuePlan:
    known = recovery.known
    latest = history.entries[-1]
    fields = {
        "benchmark": known.benchmark, "metric": known.metric,
        "commit_before": known.commit_before, "commit_after": known.commit_after,
        "level_before": recovery.level_before, "level_now": recovery.level_now,
        "latest_commit": recovery.latest_commit, "latest_date": latest.date,
    }
    title = f"Recovered: {known.benchmark} ({known.metric}) is back to its earlier level"
    return IssuePlan(IssueAction.RECOVERED, known.key, _clip(title), fields, marker(known),
                     (settings.label,), known.issue_number, settings.close_recovered)


def _clip(title: str) -> str:
    return title if len(title) <= _TITLE_LIMIT else title[:_TITLE_LIMIT - 1] + "…"
