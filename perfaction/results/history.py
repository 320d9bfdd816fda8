"""The nightly history: one summary entry per measured commit, carried between runs.

A results file (files.py) keeps raw samples of one run; the history keeps, for
the last N runs, just enough per benchmark and metric to redraw a trend and to
re-run change-point detection: the median of per-process values, how many
processes it came from and their robust spread. The file format is described
in docs/nightly.md.

History format versions (``format_version`` in the JSON):

- 1: first version. ``entries`` in commit order, each with ``commit``,
  ``date``, optional ``ref``, the environment ``fingerprint`` (and its short
  ``fingerprint_id``), ``failed`` benchmark names and ``benchmarks``:
  ``{benchmark: {metric: {unit, direction, center, n, spread}}}``.

Loading accepts every version up to HISTORY_FORMAT_VERSION and upgrades it in
memory (``_UPGRADES``); a newer version, a malformed or an oversized file is
refused with a ResultsFormatError that names the file and the field.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from perfaction.errors import ResultsFormatError
from perfaction.metrics import DIRECTIONS, LOWER_IS_BETTER
from perfaction.results.files import parse_json, write_json_atomic
from perfaction.results.model import Metric, Suite, bounded_number

HISTORY_FORMAT_VERSION = 1
HISTORY_TOOL = "perfaction-history"
DEFAULT_MAX_ENTRIES = 200
# A 200-entry history of 100 benchmarks x 8 metrics is about 16 MB; beyond 20 MiB
# something is wrong (or hostile), and json.loads of it would cost real memory.
DEFAULT_MAX_BYTES = 20 * 1024 * 1024

# Each entry upgrades a parsed document from version N to N + 1.
_UPGRADES: dict[int, Any] = {}


def fingerprint_id(fingerprint: Mapping[str, Any]) -> str:
    """A short stable name for an environment fingerprint (12 hex digits)."""
    canonical = json.dumps(dict(fingerprint), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


    try:
        return math.isfinite(float(value)) and abs(float(value)) <= 1e18
    except OverflowError:       # an integer beyond the float range
        return False


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def robust_cv(values: tuple[float, ...]) -> float | None:
    """Scaled median absolute deviation over |median|; None below 3 values or at median 0."""
    if len(values) < 3:
        return None
    center = _median(list(values))
    if center == 0:
        return None
    mad = _median([abs(v - center) for v in values])
    return 1.4826 * mad / abs(center)


@dataclass(frozen=True)
class MetricSummary:
    """One metric of one benchmark in one entry."""

    unit: str
    direction: str
    center: float               # median of per-process values (or the stored value)
    n: int = 0                  # per-process observations; 0 for summary-only sources
    spread: float | None = None  # robust CV between processes, None when unknown

    def __post_init__(self) -> None:
        if not isinstance(self.unit, str) or not self.unit:
            raise ValueError(f"unit must be a non-empty string, got {self.unit!r}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {self.direction!r}")
        if not bounded_number(self.center):
            raise ValueError(f"center must be a finite number, got {str(self.center)[:40]}")
        if not isinstance(self.n, int) or isinstance(self.n, bool) or self.n < 0:
            raise ValueError(f"n must be a non-negative integer, got {self.n!r}")
        if self.spread is not None and (not bounded_number(self.spread) or self.spread < 0):
            raise ValueError(f"spread must be a finite number >= 0 or null, "
                             f"got {str(self.spread)[:40]}")
        object.__setattr__(self, "center", float(self.center))
        if self.spread is not None:
            object.__setattr__(self, "spread", float(self.spread))

    @classmethod
    def from_metric(cls, metric: Metric) -> MetricSummary:
        per_process = metric.per_process() if metric.has_samples else ()
        return cls(metric.unit, metric.direction, metric.center(), len(per_process),
                   robust_cv(per_process))


def _check_date(date: Any) -> str:
    if not isinstance(date, str) or not date:
        raise ValueError(f"date must be an ISO 8601 string, got {date!r}")
    try:
        datetime.fromisoformat(date)
    except ValueError:
        raise ValueError(f"date must be ISO 8601 like 2024-05-01T02:00:00Z, got {date!r}") from None
    return date


@dataclass(frozen=True)
class Entry:
    """One measured commit: where it ran and the summaries of its benchmarks."""

    commit: str
    date: str                                    # ISO 8601, UTC
    fingerprint: Mapping[str, Any] = field(default_factory=dict)
    benchmarks: Mapping[str, Mapping[str, MetricSummary]] = field(default_factory=dict)
    ref: str | None = None
    failed: tuple[str, ...] = ()                 # benchmarks that raised or timed out

    def __post_init__(self) -> None:
        if not isinstance(self.commit, str) or not self.commit:
            raise ValueError(f"commit must be a non-empty string, got {self.commit!r}")
        _check_date(self.date)
        if self.ref is not None and not isinstance(self.ref, str):
            raise ValueError(f"ref must be a string or null, got {self.ref!r}")
        object.__setattr__(self, "fingerprint", dict(self.fingerprint))
        object.__setattr__(self, "benchmarks",
                           {name: dict(metrics) for name, metrics in self.benchmarks.items()})
        object.__setattr__(self, "failed", tuple(self.failed))

    @property
    def fingerprint_id(self) -> str:
        return fingerprint_id(self.fingerprint)

    @classmethod
    def from_suite(cls, suite: Suite, *, commit: str | None = None,
                   date: str | None = None) -> Entry:
        env = suite.environment
        commit = commit or env.commit_sha
        date = date or env.timestamp
        if not commit:
            raise ResultsFormatError(
                "the suite names no commit, so it cannot join the history; run it in a "
                "git checkout or pass the commit explicitly", field="environment.commit_sha")
        if not date:
            raise ResultsFormatError(
                "the suite has no timestamp, so it cannot join the history; pass the date "
                "explicitly", field="environment.timestamp")
        benchmarks = {bench.name: {name: MetricSummary.from_metric(metric)
                                   for name, metric in bench.metrics.items()}
                      for bench in suite.benchmarks if not bench.failed}
        failed = tuple(bench.name for bench in suite.benchmarks if bench.failed)
        try:
            return cls(commit, date, env.fingerprint(), benchmarks, env.ref, failed)
        except ValueError as exc:
            raise ResultsFormatError(str(exc), field="environment") from exc


@dataclass(frozen=True)
class SeriesPoint:
    index: int                   # position of the entry in the whole history
    commit: str
    date: str
    value: float                 # the entry's center for this metric
    n: int
    spread: float | None
    fingerprint_id: str


@dataclass(frozen=True)
class Series:
    """One benchmark's metric over the history, oldest first."""

    benchmark: str
    metric: str
    unit: str
    direction: str
    points: tuple[SeriesPoint, ...] = ()

    def values(self) -> tuple[float, ...]:
        return tuple(p.value for p in self.points)

    def __len__(self) -> int:
        return len(self.points)


@dataclass(frozen=True)
class History:
    """Entries in commit order, newest last, at most ``max_entries`` after an append."""

    entries: tuple[Entry, ...] = ()
    max_entries: int = DEFAULT_MAX_ENTRIES

    def __post_init__(self) -> None:
        if not isinstance(self.max_entries, int) or isinstance(self.max_entries, bool) \
                or self.max_entries < 1:
            raise ValueError(f"max_entries must be a positive integer, got {self.max_entries!r}")
        object.__setattr__(self, "entries", tuple(self.entries))

    def __len__(self) -> int:
        return len(self.entries)

    def append(self, suite: Suite, *, commit: str | None = None,
               date: str | None = None) -> History:
        """A new history with the suite's summaries added as the newest entry.

        A re-run of a commit already present replaces that entry where it
        stands (a re-run job, or a night without new commits), so one commit
        never counts twice. The oldest entries beyond ``max_entries`` drop.
        """
        return self.with_entry(Entry.from_suite(suite, commit=commit, date=date))

    def with_entry(self, entry: Entry) -> History:
        entries = list(self.entries)
        existing = next((i for i, e in enumerate(entries) if e.commit == entry.commit), None)
        if existing is None:
            entries.append(entry)
        else:
            entries[existing] = entry
        return replace(self, entries=tuple(entries[-self.max_entries:]))

    def fingerprint_ids(self) -> tuple[str, ...]:
        """Distinct fingerprint ids, in order of first appearance."""
        return tuple(dict.fromkeys(e.fingerprint_id for e in self.entries))

    def keys(self) -> tuple[tuple[str, str], ...]:
        """Every (benchmark, metric) pair present in any entry, sorted."""
        return tuple(sorted({(bench, metric) for e in self.entries
                             for bench, metrics in e.benchmarks.items() for metric in metrics}))

    def series(self, benchmark: str, metric: str,
               fingerprint: Mapping[str, Any] | str | None = None) -> Series:
        """The metric's values over the history, optionally of one fingerprint only.

        ``fingerprint`` is an Environment.fingerprint() dict or its id. Unit and
        direction come from the newest entry; points in another unit are left
        out, since they measure something else.
        """
        wanted = fingerprint_id(fingerprint) if isinstance(fingerprint, Mapping) else fingerprint
        summaries = [(i, e, e.benchmarks.get(benchmark, {}).get(metric))
                     for i, e in enumerate(self.entries)]
        found = [(i, e, s) for i, e, s in summaries if s is not None]
        if not found:
            return Series(benchmark, metric, "", LOWER_IS_BETTER)
        unit, direction = found[-1][2].unit, found[-1][2].direction
        points = tuple(SeriesPoint(i, e.commit, e.date, s.center, s.n, s.spread, e.fingerprint_id)
                       for i, e, s in found
                       if s.unit == unit and (wanted is None or e.fingerprint_id == wanted))
        return Series(benchmark, metric, unit, direction, points)

    # -- JSON ---------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {"format_version": HISTORY_FORMAT_VERSION, "tool": HISTORY_TOOL,
                "entries": [_entry_to_dict(e) for e in self.entries]}

    @classmethod
    def from_dict(cls, data: Any, *, source: str | None = None,
                  max_entries: int = DEFAULT_MAX_ENTRIES) -> History:
        return _history_from_dict(data, source, max_entries)

    @classmethod
    def from_bytes(cls, raw: bytes, *, source: str | None = None,
                   max_entries: int = DEFAULT_MAX_ENTRIES,
                   max_bytes: int = DEFAULT_MAX_BYTES) -> History:
        """Parse a history file's content (e.g. extracted from an artifact)."""
        _check_size(len(raw), max_bytes, source)
        data = parse_json(raw, source=source, advice="; the history file is corrupt: delete it "
                                                     "to start a new history")
        return _history_from_dict(data, source, max_entries)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, max_entries: int = DEFAULT_MAX_ENTRIES,
             max_bytes: int = DEFAULT_MAX_BYTES) -> History:
        path = Path(path)
        try:
            _check_size(path.stat().st_size, max_bytes, str(path))
            raw = path.read_bytes()
        except FileNotFoundError:
            raise ResultsFormatError("file not found; check the path", source=str(path)) from None
        except OSError as exc:
            raise ResultsFormatError(f"cannot read it: {exc}", source=str(path)) from exc
        return cls.from_bytes(raw, source=str(path), max_entries=max_entries, max_bytes=max_bytes)

    def dump(self, path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        """Write atomically; refuse a file the next run would reject as oversized."""
        data = self.to_dict()
        size = len(json.dumps(data, indent=1).encode("utf-8"))
        if size > max_bytes:
            raise ResultsFormatError(
                f"the history would be {size} bytes, above the {max_bytes}-byte limit; "
                "keep fewer entries (a smaller history length) or fewer benchmarks",
                source=str(path))
        write_json_atomic(data, path)


def _check_size(size: int, max_bytes: int, source: str | None) -> None:
    if size > max_bytes:
        raise ResultsFormatError(
            f"the history file is {size} bytes, above the {max_bytes}-byte limit; it is not "
            "a history this tool wrote: delete it to start a new history", source=source)


def _entry_to_dict(entry: Entry) -> dict[str, Any]:
    data: dict[str, Any] = {"commit": entry.commit, "date": entry.date}
    if entry.ref is not None:
        data["ref"] = entry.ref
    data["fingerprint"] = dict(entry.fingerprint)
    data["fingerprint_id"] = entry.fingerprint_id
    if entry.failed:
        data["failed"] = list(entry.failed)
    data["benchmarks"] = {
        bench: {metric: {"unit": s.unit, "direction": s.direction, "center": s.center,
                         "n": s.n, "spread": s.spread}
                for metric, s in metrics.items()}
        for bench, metrics in entry.benchmarks.items()}
    return data


def _history_from_dict(data: Any, source: str | None, max_entries: int) -> History:
    if not isinstance(data, dict):
        raise ResultsFormatError(f"expected a JSON object at the top level, got "
                                 f"{type(data).__name__}", source=source)
    if data.get("tool") != HISTORY_TOOL:
        raise ResultsFormatError(
            f"expected {HISTORY_TOOL!r}, got {data.get('tool')!r}: this is not a perfaction "
            "history file (a results file is not a history)", source=source, field="tool")
    version = data.get("format_version")
    if not _is_number(version) or not isinstance(version, int) or version < 1:
        raise ResultsFormatError(f"must be a positive integer, got {version!r}",
                                 source=source, field="format_version")
    if version > HISTORY_FORMAT_VERSION:
        raise ResultsFormatError(
            f"history version {version} is newer than this perfaction understands (up to "
            f"{HISTORY_FORMAT_VERSION}); upgrade perfaction to read it", source=source,
            field="format_version")
    for from_version in range(version, HISTORY_FORMAT_VERSION):
        data = _UPGRADES[from_version](data)
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, list):
        raise ResultsFormatError(f"must be a list, got {type(raw_entries).__name__}",
                                 source=source, field="entries")
    entries = tuple(_entry_from_dict(raw, f"entries[{i}]", source)
                    for i, raw in enumerate(raw_entries))
    try:
        return History(entries, max_entries)
    except ValueError as exc:
        raise ResultsFormatError(str(exc), source=source) from exc


def _entry_from_dict(raw: Any, where: str, source: str | None) -> Entry:
    if not isinstance(raw, dict):
        raise ResultsFormatError(f"must be an object, got {type(raw).__name__}",
                                 source=source, field=where)
    for key, kind in (("fingerprint", dict), ("benchmarks", dict), ("failed", list)):
        if key in raw and not isinstance(raw[key], kind):
            raise ResultsFormatError(f"must be {'an object' if kind is dict else 'a list'}, "
                                     f"got {type(raw[key]).__name__}",
                                     source=source, field=f"{where}.{key}")
    benchmarks: dict[str, dict[str, MetricSummary]] = {}
    for bench, metrics in raw.get("benchmarks", {}).items():
        if not isinstance(metrics, dict):
            raise ResultsFormatError(f"must be an object, got {type(metrics).__name__}",
                                     source=source, benchmark=bench, field=f"{where}.benchmarks")
        benchmarks[bench] = {name: _summary_from_dict(s, f"{where}.benchmarks.{name}",
                                                      bench, source)
                             for name, s in metrics.items()}
    unchecked: Any = raw   # Entry checks each value; its ValueError names the one that is wrong
    try:
        return Entry(unchecked.get("commit"), unchecked.get("date"), unchecked.get("fingerprint", {}),
                     benchmarks, unchecked.get("ref"), tuple(unchecked.get("failed", ())))
    except ValueError as exc:
        raise ResultsFormatError(str(exc), source=source, field=where) from exc


def _summary_from_dict(raw: Any, where: str, bench: str, source: str | None) -> MetricSummary:
    if not isinstance(raw, dict):
        raise ResultsFormatError(f"must be an object, got {type(raw).__name__}",
                                 source=source, benchmark=bench, field=where)
    unchecked: Any = raw   # MetricSummary checks each value; its ValueError names the one that is wrong
    try:
        return MetricSummary(unchecked.get("unit"), unchecked.get("direction"),
                             unchecked.get("center"), unchecked.get("n", 0), unchecked.get("spread"))
    except ValueError as exc:
        raise ResultsFormatError(str(exc), source=source, benchmark=bench, field=where) from exc
