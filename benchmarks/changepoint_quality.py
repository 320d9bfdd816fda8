"""Precision, recall and false alarms of perfaction's change-point detection.

Synthetic nightly series with known changes and noise like a shared CI
runner's: log-normal-ish (Student-t on the log scale) noise at CV 2% and 5%,
1% outliers (a busy neighbour: x1.2 to x2), steps of 3/5/10/20% up or down,
slow drifts, and runner hardware switches (another fingerprint, another
level). Every series goes through the real path: a History of entries,
``changepoint.detect_history`` grouped by fingerprint.

A detection counts as true when its commit range, widened by +-TOLERANCE
points, covers a true change (one detection per step and fingerprint group;
any number inside a drift). Two more tables replay nights one by one: how
many nights a step takes to be detected, and how many issues the nightly
planner opens on series without any change. A further scenario is a
regression fixed 5, 10 or 20 nights later (a plateau): both the regression
and its fix should be found, and the fix soon after it lands. Run:

    python benchmarks/changepoint_quality.py [--seed 1] [--series 100]

and copy the tables into docs/nightly.md.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
import zlib
from dataclasses import dataclass, field

import numpy as np

from perfaction.analysis.changepoint import DetectionSettings, detect_history, find_splits
from perfaction.analysis.nightly import IssueAction, NightlySettings, parse_marker, plan_nightly
from perfaction.results.history import Entry, History, MetricSummary

RUNNER_A = {"cpu_model": "Runner CPU A", "logical_cores": 4}
RUNNER_B = {"cpu_model": "Runner CPU B", "logical_cores": 4}
DAY = 86400


@dataclass
class Truth:
    values: np.ndarray
    fingerprints: list[dict]
    events: list[tuple[int, int, str]] = field(default_factory=list)  # (first, last, label)


def noise(rng: np.random.Generator, length: int, cv: float, outliers: float = 0.01,
          phi: float = 0.0) -> np.ndarray:
    """Multiplicative noise: Student-t (5 dof) on the log scale, optional AR(1), outliers."""
    shocks = rng.standard_t(5, length) / np.sqrt(5 / 3) * cv
    if phi:
        for i in range(1, length):
            shocks[i] += phi * shocks[i - 1]
        shocks *= np.sqrt(1 - phi ** 2)
    factor = np.exp(shocks)
    hit = rng.random(length) < outliers
    factor[hit] *= rng.uniform(1.2, 2.0, hit.sum())
    return factor


def place(rng: np.random.Generator, length: int, count: int, gap: int, margin: int) -> list[int]:
    """``count`` positions at least ``gap`` apart and ``margin`` from both ends."""
    while True:
        spots = sorted(rng.integers(margin, length - margin, count).tolist())
        if all(b - a >= gap for a, b in itertools.pairwise(spots)):
            return spots


def steps(rng, length, cv, size, count=2) -> Truth:
    level = np.ones(length)
    events = []
    for at in place(rng, length, count, gap=30, margin=15):
        level[at:] *= 1 + size * rng.choice([-1, 1])
        events.append((at, at, f"step {size:.0%}"))
    return Truth(level * noise(rng, length, cv), [RUNNER_A] * length, events)


def drift(rng, length, cv, total=0.10) -> Truth:
    span = int(rng.integers(30, 61))
    start = int(rng.integers(20, length - span - 20))
    level = np.ones(length)
    level[start:start + span] = np.linspace(1, 1 + total, span + 1)[1:]
    level[start + span:] = 1 + total
    return Truth(level * noise(rng, length, cv), [RUNNER_A] * length,
                 [(start, start + span - 1, "drift 10%")])


def plateau(rng, length, cv, size, span) -> Truth:
    """A regression of ``size`` that is fixed ``span`` nights later, back to the old level."""
    start = int(rng.integers(20, length - span - 20))
    level = np.ones(length)
    level[start:start + span] *= 1 + size
    return Truth(level * noise(rng, length, cv), [RUNNER_A] * length,
                 [(start, start, "regression"), (start + span, start + span, "fix")])


def hardware(rng, length, cv, with_step: bool) -> Truth:
    """Runner B for one or two stretches, at a level 15-30% off; maybe a real 10% step."""
    level = np.ones(length)
    fingerprints = [RUNNER_A] * length
    ratio = rng.choice([0.7, 0.8, 1.15, 1.3])   # runner B is consistently faster or slower
    for start in place(rng, length, 2, gap=60, margin=10):
        span = int(rng.integers(10, 40))
        level[start:start + span] *= ratio
        fingerprints[start:start + span] = [RUNNER_B] * len(fingerprints[start:start + span])
    events = []
    if with_step:
        at = int(rng.integers(20, length - 20))
        level[at:] *= 1.10
        events.append((at, at, "step 10%"))
    return Truth(level * noise(rng, length, cv), fingerprints, events)


def to_history(truth: Truth) -> History:
    entries = [_entry(i, float(v), fp)
               for i, (v, fp) in enumerate(zip(truth.values, truth.fingerprints, strict=True))]
    return History(tuple(entries), max_entries=len(entries))


def _entry(i: int, value: float, fingerprint: dict) -> Entry:
    return Entry(f"c{i:04d}", _date(i), fingerprint,
                 {"bench": {"time": MetricSummary("s", "lower", value, 20, 0.03)}})


def _date(i: int) -> str:
    return time.strftime("%Y-%m-%dT02:00:00Z", time.gmtime(1_700_000_000 + i * DAY))


def detections(truth: Truth, settings: DetectionSettings, grouped: bool):
    """(first, last, group): history indices each detection says the change lies in.

    Each fingerprint group may legitimately find the same true change once.
    """
    if grouped:
        found = detect_history(to_history(truth), settings)
        return [(c.before_history_index + 1, c.after_history_index, c.fingerprint_id)
                for c in found]
    return [(s.earliest, s.latest, "") for s in find_splits(truth.values, settings)]


@dataclass
class Score:
    series: int = 0
    points: int = 0
    events: dict = field(default_factory=dict)    # label -> [found, total]
    true_detections: int = 0
    false_detections: int = 0
    range_widths: int = 0           # commits in the ranges of true detections
    seconds: float = 0.0

    def add(self, truth: Truth, found, tolerance: int, seconds: float) -> None:
        self.series += 1
        self.points += len(truth.values)
        self.seconds += seconds
        matched_steps: set[tuple[int, str]] = set()
        hit_events: set[int] = set()
        for first, last, group in found:
            match = None
            for k, (lo, hi, label) in enumerate(truth.events):
                if first - tolerance <= hi and lo <= last + tolerance:
                    if label.startswith("drift") or (k, group) not in matched_steps:
                        match = k
                        break
            if match is None:
                self.false_detections += 1
            else:
                self.true_detections += 1
                self.range_widths += last - first + 1
                matched_steps.add((match, group))
                hit_events.add(match)
        for k, (_, _, label) in enumerate(truth.events):
            tally = self.events.setdefault(label, [0, 0])
            tally[0] += k in hit_events
            tally[1] += 1

    def row(self, name: str) -> str:
        total = sum(t[1] for t in self.events.values())
        found = sum(t[0] for t in self.events.values())
        detected = self.true_detections + self.false_detections
        recall = f"{found / total:.1%}" if total else "-"
        precision = f"{self.true_detections / detected:.1%}" if detected else "-"
        per_1000 = 1000 * self.false_detections / self.points
        width = f"{self.range_widths / self.true_detections:.1f}" if self.true_detections else "-"
        return (f"| {name} | {self.series} | {total} | {recall} | {precision} | "
                f"{self.false_detections} | {per_1000:.2f} | {width} | "
                f"{1000 * self.seconds / self.series:.1f} |")


SCENARIOS = {
    "null": lambda rng, n, cv: Truth(noise(rng, n, cv), [RUNNER_A] * n),
    "null, AR(1) 0.5 noise": lambda rng, n, cv: Truth(noise(rng, n, cv, phi=0.5), [RUNNER_A] * n),
    "steps 3%": lambda rng, n, cv: steps(rng, n, cv, 0.03),
    "steps 5%": lambda rng, n, cv: steps(rng, n, cv, 0.05),
    "steps 10%": lambda rng, n, cv: steps(rng, n, cv, 0.10),
    "steps 20%": lambda rng, n, cv: steps(rng, n, cv, 0.20),
    "drift +10%": lambda rng, n, cv: drift(rng, n, cv),
    "hardware switches only": lambda rng, n, cv: hardware(rng, n, cv, with_step=False),
    "hardware switches + 10% step": lambda rng, n, cv: hardware(rng, n, cv, with_step=True),
}


def quality_table(seed: int, series: int, length: int, tolerance: int,
                  settings: DetectionSettings) -> list[str]:
    lines = ["| scenario | series | true changes | recall | precision | false detections "
             "| false alarms / 1000 points | commits in range | CPU ms / series |",
             "|---|---|---|---|---|---|---|---|---|"]
    for cv in (0.02, 0.05):
        for name, make in SCENARIOS.items():
            for grouped in ((True, False) if name.startswith("hardware") else (True,)):
                rng = np.random.default_rng([seed, int(cv * 1000), zlib.crc32(name.encode())])
                score = Score()
                for _ in range(series):
                    truth = make(rng, length, cv)
                    start = time.process_time()   # CPU time: other jobs share the machine
                    found = detections(truth, settings, grouped)
                    score.add(truth, found, tolerance, time.process_time() - start)
                label = f"CV {cv:.0%}, {name}" + ("" if grouped else " (NOT grouped)")
                lines.append(score.row(label))
    return lines


def plateau_table(seed: int, series: int, length: int, tolerance: int,
                  settings: DetectionSettings) -> list[str]:
    """Regressions fixed a few nights later: are both the regression and its fix found?"""
    lines = ["| CV | regression | nights before the fix | series | regression found "
             "| fix found | precision | false alarms / 1000 points | CPU ms / series |",
             "|---|---|---|---|---|---|---|---|---|"]
    for cv in (0.02, 0.05):
        for size in (0.05, 0.10, 0.20):
            for span in (5, 10, 20):
                rng = np.random.default_rng([seed, 13, int(cv * 1000), int(size * 1000), span])
                score = Score()
                for _ in range(series):
                    truth = plateau(rng, length, cv, size, span)
                    start = time.process_time()
                    found = detections(truth, settings, grouped=True)
                    score.add(truth, found, tolerance, time.process_time() - start)
                lines.append(_plateau_row(cv, size, span, score))
    return lines


def _plateau_row(cv: float, size: float, span: int, score: Score) -> str:
    (up, total), (fixed, _) = score.events["regression"], score.events["fix"]
    detected = score.true_detections + score.false_detections
    precision = f"{score.true_detections / detected:.1%}" if detected else "-"
    return (f"| {cv:.0%} | +{size:.0%} | {span} | {score.series} | {up / total:.0%} | "
            f"{fixed / total:.0%} | {precision} | "
            f"{1000 * score.false_detections / score.points:.2f} | "
            f"{1000 * score.seconds / score.series:.1f} |")


def fix_delay_table(seed: int, series: int, settings: DetectionSettings,
                    tolerance: int) -> list[str]:
    """Nights after a fix until both the regression and the fix are reported.

    60 stable nights, 10 regressed ones, then the fix; the series grows one
    night at a time, as the nightly run sees it. Until the fix is found, an
    issue about the regression cannot be closed as recovered.
    """
    lines = ["| CV | regression, 10 nights | both found within 30 nights "
             "| median nights after the fix | 90th percentile |", "|---|---|---|---|---|"]
    at, span, horizon = 60, 10, 30
    for cv in (0.02, 0.05):
        for size in (0.05, 0.10, 0.20):
            rng = np.random.default_rng([seed, 17, int(cv * 1000), int(size * 1000)])
            delays = []
            for _ in range(series):
                values = noise(rng, at + span + horizon, cv)
                values[at:at + span] *= 1 + size
                delays.append(_first_detection(values, (at, at + span), horizon, settings,
                                               tolerance, offset=at + span))
            lines.append(_delay_row(f"| {cv:.0%} | +{size:.0%} |", delays, series))
    return lines


def _delay_row(prefix: str, delays: list, series: int) -> str:
    seen = sorted(d for d in delays if d is not None)
    median = f"{np.median(seen):.0f}" if seen else "-"
    p90 = f"{seen[int(0.9 * (len(seen) - 1))]}" if seen else "-"
    return f"{prefix} {len(seen) / series:.0%} | {median} | {p90} |"


def delay_table(seed: int, series: int, settings: DetectionSettings, tolerance: int) -> list[str]:
    """Nights after a step until it is reported, growing the series one night at a time."""
    lines = ["| CV | step | detected within 30 nights | median nights to detection "
             "| 90th percentile |", "|---|---|---|---|---|"]
    at, horizon = 60, 30
    for cv in (0.02, 0.05):
        for size in (0.05, 0.10, 0.20):
            rng = np.random.default_rng([seed, 7, int(cv * 1000), int(size * 1000)])
            delays = []
            for _ in range(series):
                values = noise(rng, at + horizon, cv)
                values[at:] *= 1 + size
                delays.append(_first_detection(values, (at,), horizon, settings, tolerance,
                                               offset=at))
            lines.append(_delay_row(f"| {cv:.0%} | +{size:.0%} |", delays, series))
    return lines


def nightly_table(seed: int, series: int, settings: DetectionSettings) -> list[str]:
    """Issues the nightly planner opens on series without any change, night after night.

    Each night appends one point, re-runs detection on the whole history and
    plans issues against the markers of issues opened on earlier nights, as
    the action does. Every issue opened here is a false alarm.
    """
    lines = ["| noise | series x nights | false issues opened | per 1000 nights |",
             "|---|---|---|---|"]
    first, length = 40, 150
    nightly_settings = NightlySettings(detection=settings)
    for cv, phi in ((0.02, 0.0), (0.05, 0.0), (0.02, 0.5), (0.05, 0.5)):
        rng = np.random.default_rng([seed, 11, int(cv * 1000), int(phi * 10)])
        opened = 0
        for _ in range(series):
            values = noise(rng, length, cv, phi=phi)
            history, markers = History(max_entries=length), []
            for i, value in enumerate(values):
                history = history.with_entry(_entry(i, float(value), RUNNER_A))
                if i < first:
                    continue
                known = [parse_marker(m, issue_number=n) for n, m in enumerate(markers)]
                outcome = plan_nightly(history, detect_history(history, settings), known,
                                       nightly_settings)
                for plan in outcome.issues:
                    if plan.action is IssueAction.OPEN:
                        opened += 1
                        markers.append(plan.marker)
        nights = series * (length - first)
        label = f"CV {cv:.0%}" + (f", AR(1) {phi}" if phi else "")
        lines.append(f"| {label} | {series} x {length - first} | {opened} | "
                     f"{1000 * opened / nights:.2f} |")
    return lines


def _first_detection(values, changes, horizon, settings, tolerance, offset) -> int | None:
    """Nights after ``offset`` until every one of ``changes`` is covered by a detection."""
    for nights in range(settings.min_size, horizon + 1):
        found = find_splits(values[:offset + nights], settings)
        if all(any(s.earliest - tolerance <= at <= s.latest + tolerance for s in found)
               for at in changes):
            return nights
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--series", type=int, default=100, help="series per scenario")
    parser.add_argument("--length", type=int, default=200, help="points per series")
    parser.add_argument("--tolerance", type=int, default=3, help="+- points a detection may be off")
    parser.add_argument("--alpha", type=float, default=DetectionSettings.alpha)
    parser.add_argument("--min-magnitude", type=float, default=DetectionSettings.min_magnitude)
    parser.add_argument("--window", type=int, default=DetectionSettings.window)
    parser.add_argument("--min-size", type=int, default=DetectionSettings.min_size)
    parser.add_argument("--no-delay", action="store_true", help="skip the detection-delay tables")
    parser.add_argument("--no-plateau", action="store_true",
                        help="skip the regression-then-fix table")
    parser.add_argument("--no-nightly", action="store_true",
                        help="skip the night-by-night false-issue table (the slowest)")
    args = parser.parse_args(argv)
    settings = DetectionSettings(args.alpha, args.min_magnitude, args.window, args.min_size)
    print(f"settings: {settings}; seed {args.seed}, {args.series} series of {args.length} "
          f"points per row, tolerance +-{args.tolerance}\n")
    print("\n".join(quality_table(args.seed, args.series, args.length, args.tolerance, settings)))
    if not args.no_plateau:
        print()
        print("\n".join(plateau_table(args.seed, args.series, args.length, args.tolerance,
                                      settings)))
    if not args.no_delay:
        print()
        print("\n".join(delay_table(args.seed, max(20, args.series // 2), settings,
                                    args.tolerance)))
        print()
        print("\n".join(fix_delay_table(args.seed, max(20, args.series // 2), settings,
                                        args.tolerance)))
    if not args.no_nightly:
        print()
        print("\n".join(nightly_table(args.seed, max(10, args.series // 4), settings)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
