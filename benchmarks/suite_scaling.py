"""How `perfaction run` and same-runner `perfaction ab` scale with the suite: wall time
against the budget, and processes per benchmark.

Writes synthetic suites (N benchmarks whose calls last from 1 us to 5 ms,
log-spaced; optionally a module import that takes 1 s) into a temporary
directory and runs the real command line on them, as a user would:

    .venv/bin/python benchmarks/suite_scaling.py --sizes 10 30 100 --budget 60
    .venv/bin/python benchmarks/suite_scaling.py --sizes 60 --imports 0 --modes run

``--python`` picks the interpreter (and so the perfaction install) that runs
the command line and its workers, to measure another version on the same
machine. Prints one Markdown row per (size, import, mode). Wall time is the
command's whole life (interpreter start-up included); for `ab` the set-up
(none here: both trees are plain directories) is part of it too.

The A/B runs are A/A (both trees hold the same code) unless ``--slow F``
makes every benchmark whose index is a multiple of 1/F (F = 0.1: one in ten)
``--by`` percent slower in the head tree. From each `ab` comparison (the
command's ``--json``) the script counts, over the gating ``time`` metrics:
how many were decided (regressed, improved or unchanged) among the benchmarks
left alone, the false alarms among them (a run with any is a false-alarm
run), and the slowed ones flagged as regressed. ``--repeat`` runs each case
several times. Nothing here asserts anything; the figures go to
docs/scaling.md with the conditions they were measured under.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

FASTEST_CALL = 1e-6
SLOWEST_CALL = 5e-3


def call_seconds(count: int) -> list[float]:
    """``count`` call durations, log-spaced from 1 us to 5 ms."""
    if count == 1:
        return [FASTEST_CALL]
    ratio = math.log(SLOWEST_CALL / FASTEST_CALL) / (count - 1)
    return [FASTEST_CALL * math.exp(i * ratio) for i in range(count)]


def slowed(count: int, fraction: float) -> set[int]:
    """Indices of the benchmarks ``--slow`` slows: every (1/fraction)-th, from the first."""
    if fraction <= 0:
        return set()
    step = max(1, round(1 / fraction))
    return set(range(0, count, step))


def suite_source(count: int, import_seconds: float, slow: set[int] = frozenset(),
                 factor: float = 1.0) -> str:
    """A benchmark module: each benchmark spins on the clock for its call duration."""
    lines = ['"""Synthetic suite written by benchmarks/suite_scaling.py."""', "",
             "import time", "", "from perfaction import benchmark", ""]
    if import_seconds:
        # stands for a heavy dependency (numpy, pandas, scipy) imported at module level
        lines += [f"time.sleep({import_seconds!r})", ""]
    lines += ["", "def _spin(seconds):",
              "    clock = time.perf_counter",
              "    def call():",
              "        end = clock() + seconds",
              "        while clock() < end:",
              "            pass",
              "    return call", ""]
    for index, seconds in enumerate(call_seconds(count)):
        if index in slow:
            seconds *= factor
        lines += ["", "@benchmark", f"def bench_{index:03d}():", f"    return _spin({seconds!r})", ""]
    return "\n".join(lines)


@dataclass(frozen=True)
class Measurement:
    benchmarks: int
    import_seconds: float
    mode: str
    budget: float
    wall: float
    processes_min: int
    processes_median: float
    exit_code: int
    verdicts: Verdicts | None = None
    value_time: float | None = None

    def row(self) -> str:
        over = (self.wall / self.budget - 1) * 100
        v = self.verdicts
        value = f"{self.value_time * 1000:g} ms" if self.value_time else "-"
        counts = (f"{v.decided}/{v.untouched} | {v.false_alarms} | {v.detected}/{v.slowed}"
                  if v else "- | - | -")
        return (f"| {self.benchmarks} | {self.import_seconds:g} s | {self.mode} | {self.budget:g} s "
                f"| {self.wall:.1f} s ({over:+.1f} %) | {self.processes_min} "
                f"| {self.processes_median:g} | {value} | {counts} | {self.exit_code} |")


@dataclass(frozen=True)
class Verdicts:
    """Gating time verdicts of one `ab` comparison."""

    untouched: int      # time metrics of benchmarks with the same code on both sides
    decided: int        # ... regressed, improved or unchanged
    false_alarms: int   # ... regressed or improved
    slowed: int         # time metrics of the slowed benchmarks
    detected: int       # ... regressed


HEADER = ("| benchmarks | module import | mode | budget | wall (vs budget) "
          "| processes per benchmark (fewest) | (median) | value time | A/A time decided "
          "| false alarms | slowed detected | exit |\n|---|---|---|---|---|---|---|---|---|---|---|---|")


def time_verdicts(comparison: Path, slow_names: set[str]) -> Verdicts:
    deltas = [d for d in json.loads(comparison.read_text())["deltas"]
              if d["metric"] == "time" and d.get("gating")]
    same = [d for d in deltas if d["benchmark"] not in slow_names]
    slow = [d for d in deltas if d["benchmark"] in slow_names]
    return Verdicts(
        untouched=len(same),
        decided=sum(d["verdict"] in ("regressed", "improved", "unchanged") for d in same),
        false_alarms=sum(d["verdict"] in ("regressed", "improved") for d in same),
        slowed=len(slow), detected=sum(d["verdict"] == "regressed" for d in slow))


def processes_per_benchmark(results: Path) -> tuple[list[int], float | None]:
    """Processes of each benchmark's time, and the value time the run chose."""
    data = json.loads(results.read_text())
    counts = []
    for bench in data["benchmarks"]:
        samples = (bench.get("metrics") or {}).get("time", {}).get("samples") or []
        counts.append(len(samples))
    return counts, (data.get("settings") or {}).get("min_value_time")


def measure(python: str, workdir: Path, count: int, import_seconds: float, mode: str,
            budget: float, slow: float = 0.0, by: float = 10.0, attempt: int = 0) -> Measurement:
    case = workdir / f"n{count}_i{import_seconds:g}_{mode}_{attempt}"
    head = case / "head"
    head.mkdir(parents=True)
    (head / "bench_suite.py").write_text(suite_source(count, import_seconds))
    command = [python, "-m", "perfaction.cli.main", mode, "bench_suite.py",
               "--time-budget", str(budget), "-o", "head.json", "-q"]
    slow_indices = slowed(count, slow) if mode == "ab" else set()
    if mode == "ab":
        shutil.copytree(head, case / "base")
        (head / "bench_suite.py").write_text(
            suite_source(count, import_seconds, slow_indices, 1 + by / 100))
        command += ["--base-dir", str(case / "base"), "--base-output", "base.json",
                    "--json", "comparison.json", "--no-fail"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=head, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1) or not (head / "head.json").exists():
        sys.stderr.write(done.stderr[-2000:])
    counts, value_time = ([0], None)
    if (head / "head.json").exists():
        counts, value_time = processes_per_benchmark(head / "head.json")
    verdicts = None
    if (head / "comparison.json").exists():
        verdicts = time_verdicts(head / "comparison.json",
                                 {f"bench_{i:03d}" for i in slow_indices})
    return Measurement(count, import_seconds, mode, budget, wall, min(counts),
                       statistics.median(counts), done.returncode, verdicts, value_time)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 30, 100])
    parser.add_argument("--imports", type=float, nargs="+", default=[0.0, 1.0],
                        help="seconds the module import takes")
    parser.add_argument("--modes", nargs="+", default=["run", "ab"], choices=["run", "ab"])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--slow", type=float, default=0.0, metavar="F",
                        help="share of benchmarks made slower in the head tree of `ab` (0.1)")
    parser.add_argument("--by", type=float, default=10.0, metavar="PCT",
                        help="how much slower, in percent (default 10)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each case")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter whose perfaction runs the command and its workers")
    args = parser.parse_args(argv)
    print(f"python: {args.python}; load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="suite_scaling_") as tmp:
        for count in args.sizes:
            for import_seconds in args.imports:
                for mode in args.modes:
                    for attempt in range(args.repeat):
                        result = measure(args.python, Path(tmp), count, import_seconds, mode,
                                         args.budget, args.slow, args.by, attempt)
                        print(result.row(), flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
