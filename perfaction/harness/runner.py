"""Running a suite: discovery, calibration, then interleaved rounds of fresh workers.

The process is the unit of replication. Each benchmark is measured in many
fresh worker processes, one per round; a round starts one worker per
benchmark in random order, so slow drifts of a shared machine spread evenly
over all benchmarks instead of landing on whichever ran last. Loop counts are
calibrated once per benchmark (in its own process) and reused by every later
process, so all values of a benchmark time the same amount of work.

The same engine runs one tree (``run_suite``) or two trees side by side
(``perfaction.harness.ab``): a *side* is a tree plus the interpreter that
imports it.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfaction.errors import BenchmarkDiscoveryError, ConfigError
from perfaction.harness import schedule
from perfaction.harness.discovery import Spec
from perfaction.harness.environment import utc_timestamp
from perfaction.harness.launcher import Launcher, SubprocessLauncher, WorkerOutcome
from perfaction.harness.measure import LATENCY_MIN_CALL, MEMORY_ROUND_TIME
from perfaction.harness.progress import Progress
from perfaction.metrics import TIME
from perfaction.results import model

DISCOVERY_TIMEOUT = 60.0


@dataclass(frozen=True)
class RunOptions:
    """How to run a suite. Only ``time_budget`` usually needs changing."""

    time_budget: float = 60.0          # seconds for the whole suite, start-up included
    filter: str | None = None          # glob (``*``, ``?``) or substring of benchmark names
    timeout: float | None = None       # seconds per worker process; default from the budget
    cwd: Path | None = None            # project root the module is imported from
    python: str | None = None          # interpreter for workers; default this one
    commit_sha: str | None = None
    ref: str | None = None
    latency: bool = True               # per-call percentiles for calls >= ~10 us
    memory: bool = True                # the untimed tracemalloc pass
    min_value_time: float = 0.05       # seconds each timed value lasts at least
    values_per_process: int = 3
    warmup_values: int = 1
    processes: int | None = None       # fixed processes per benchmark (ignores the budget)
    min_processes: int = 3
    max_processes: int = 40
    seed: int | None = None            # order of workers within rounds
    detail_processes: int = 5          # first processes per benchmark that also run the
                                       # latency pass (report-only)
    memory_processes: int | None = None  # first processes per benchmark (and side) that run
                                       # the memory pass; None: enough for the gate
                                       # (schedule.memory_processes)
    memory_round_time: float = MEMORY_ROUND_TIME  # CPU seconds per memory round

    def __post_init__(self) -> None:
        _positive("time_budget", self.time_budget)
        _positive("min_value_time", self.min_value_time)
        _positive("memory_round_time", self.memory_round_time)
        if self.timeout is not None:
            _positive("timeout", self.timeout)
        for name in ("values_per_process", "min_processes", "max_processes", "detail_processes"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.warmup_values, int) or self.warmup_values < 0:
            raise ConfigError(f"warmup_values must be 0 or more, got {self.warmup_values!r}")
        for name in ("processes", "memory_processes"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.min_processes > self.max_processes:
            raise ConfigError(f"min_processes ({self.min_processes}) exceeds max_processes "
                              f"({self.max_processes})")
        if self.cwd is not None:
            object.__setattr__(self, "cwd", Path(self.cwd))


def _positive(name: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
        raise ConfigError(f"{name} must be a positive number of seconds, got {value!r}")


@dataclass(frozen=True)
class Side:
    """One tree to measure and the interpreter that imports it."""

    label: str                          # "" for a plain run; "base" / "head" in A/B
    root: Path
    python: str
    forbid: tuple[Path, ...] = ()       # trees this side must never import from
    commit_sha: str | None = None
    ref: str | None = None
    optional: bool = False              # a discovery failure leaves it empty (A/B base side)


@dataclass(frozen=True)
class RunStats:
    """Where the wall time went; benchmarks/harness_accuracy.py reports these."""

    wall: float
    discovery: float
    calibration: float
    rounds: int
    worker_processes: int
    worker_wall: float        # sum of every worker's lifetime as the parent saw it
    timed: float              # seconds inside kept timed values
    worker_startup: float = 0.0   # interpreter start-up, perfaction import, result hand-over
    user_imports: float = 0.0     # importing the benchmark module in the workers
    memory_pass: float = 0.0      # seconds inside memory passes, all workers
    memory_processes: int = 0     # first processes per benchmark and side with a memory pass


@dataclass(frozen=True)
class RunResult:
    suites: tuple[model.Suite, ...]   # one per side, in the order given
    stats: RunStats
    notes: tuple[str, ...] = ()       # problems worth showing that did not stop the run


@dataclass
class _Unit:
    """One benchmark on one side, filled in as the run goes."""

    side: int
    spec: Spec
    loops: int | None = None
    per_call: float | None = None
    latency: bool = False
    processes: list[dict[str, list[float]]] = field(default_factory=list)
    error: str | None = None


def run_suite(target: str, options: RunOptions, *, progress: Progress | None = None,
              launcher: Launcher | None = None,
              clock: Callable[[], float] = time.perf_counter) -> model.Suite:
    """Measure every benchmark of ``target`` (a file path or dotted module name).

    A failing benchmark never raises: its failure lands in ``Benchmark.error``
    and the others are still measured. Raises BenchmarkDiscoveryError when the
    module cannot be imported or holds no (matching) benchmarks.
    """
    return execute(target, options, progress=progress, launcher=launcher, clock=clock).suites[0]


def execute(target: str, options: RunOptions, *, sides: Sequence[Side] | None = None,
            progress: Progress | None = None, launcher: Launcher | None = None,
            clock: Callable[[], float] = time.perf_counter, mode: str = "baseline") -> RunResult:
    """``run_suite`` with the stats, for one side or several (A/B)."""
    if sides is None:
        sides = [Side("", (options.cwd or Path.cwd()).resolve(), options.python or sys.executable,
                      commit_sha=options.commit_sha, ref=options.ref)]
    engine = _Engine(target, options, list(sides), progress or Progress(),
                     launcher or SubprocessLauncher(), clock, mode)
    return engine.run()


class _Engine:
    def __init__(self, target: str, options: RunOptions, sides: list[Side], progress: Progress,
                 launcher: Launcher, clock: Callable[[], float], mode: str):
        self.target, self.options, self.sides = target, options, sides
        self.progress, self.launcher, self.clock, self.mode = progress, launcher, clock, mode
        self.rng = random.Random(options.seed)
        self.workers = 0
        self.worker_wall = 0.0
        self.timed = 0.0
        self.startup = 0.0
        self.imports = 0.0
        self.memory_time = 0.0
        self.memory_processes = 0
        self.notes: list[str] = []

    # -- phases ------------------------------------------------------------
    def run(self) -> RunResult:
        start = self.clock()
        self.timestamp = utc_timestamp()
        specs, environments, startup = self._discover()
        discovered = self.clock()
        units = [_Unit(i, s) for i, side_specs in enumerate(specs) for s in side_specs]
        names = list(dict.fromkeys(u.spec.name for u in units))
        self.timeout = self.options.timeout or schedule.default_timeout(
            self.options.time_budget, len(names))
        self.memory_processes = self.options.memory_processes or schedule.memory_processes(
            len(names), at_least=self.options.detail_processes)
        self.progress.start(benchmarks=len(names), budget=self.options.time_budget)
        self._calibrate(units)
        calibrated = self.clock()
        rounds = self._rounds(units, start, startup)
        elapsed = self.clock() - start
        self.progress.finish(elapsed=elapsed)
        suites = tuple(self._suite(i, specs[i], environments[i], units, rounds)
                       for i in range(len(self.sides)))
        stats = RunStats(wall=elapsed, discovery=discovered - start,
                         calibration=calibrated - discovered, rounds=rounds,
                         worker_processes=self.workers, worker_wall=self.worker_wall,
                         timed=self.timed, worker_startup=self.startup,
                         user_imports=self.imports, memory_pass=self.memory_time,
                         memory_processes=self.memory_processes if self.options.memory else 0)
        return RunResult(suites, stats, tuple(self.notes))

    def _discover(self) -> tuple[list[list[Spec]], list[dict[str, Any]], float]:
        specs: list[list[Spec]] = []
        environments: list[dict[str, Any]] = []
        walls: list[float] = []
        for side in self.sides:
            self.progress.status(f"discovering benchmarks in {self.target}"
                                 + (f" ({side.label})" if side.label else ""))
            outcome = self._launch(side, {"mode": "discover"},
                                   self.options.timeout or DISCOVERY_TIMEOUT)
            if not outcome.ok:
                where = f"{side.label} tree {side.root}: " if side.label else ""
                if side.optional:
                    # e.g. the base commit predates the benchmark module: every
                    # benchmark of the other side is then new, not an error.
                    note = f"{where}{outcome.error}; measured the other side without it"
                    self.notes.append(note)
                    self.progress.failure(note)
                    specs.append([])
                    environments.append({})
                    continue
                error = BenchmarkDiscoveryError(f"{where}{outcome.error}")
                error.side = side.label  # type: ignore[attr-defined]
                raise error
            found = [Spec.from_json(s) for s in outcome.data["specs"]]
            specs.append([s for s in found if schedule.matches_filter(s.name, self.options.filter)])
            environments.append(outcome.data.get("environment", {}))
            walls.append(outcome.wall)
        if not any(specs):
            raise BenchmarkDiscoveryError(
                f"no benchmark in {self.target} matches --filter {self.options.filter!r}; "
                "use a substring or a glob such as 'book_*'")
        fallback: dict[str, Any] = next((e for e in environments if e), {})
        environments = [e or fallback for e in environments]
        return specs, environments, statistics.median(walls)

    def _calibrate(self, units: list[_Unit]) -> None:
        for index, unit in enumerate(units, 1):
            self.progress.status(f"calibrating {self._label(unit)} ({index}/{len(units)})")
            outcome = self._launch(self.sides[unit.side], {
                "mode": "calibrate", "spec": unit.spec.to_json(),
                "min_value_time": self.options.min_value_time}, self._timeout(unit))
            if outcome.ok:
                unit.loops = int(outcome.data["loops"])
                unit.per_call = float(outcome.data["seconds_per_call"])
            else:
                self._fail(unit, outcome)
        # Identical settings on every side: the most loops any side needed, and
        # per-call latency on everywhere if any side's calls are slow enough.
        by_name: dict[str, list[_Unit]] = {}
        for unit in units:
            by_name.setdefault(unit.spec.name, []).append(unit)
        for group in by_name.values():
            ok = [u for u in group if u.error is None]
            if not ok:
                continue
            loops = max(u.loops or 1 for u in ok)
            slow = max(u.per_call or 0.0 for u in ok) >= LATENCY_MIN_CALL
            for unit in ok:
                wanted = unit.spec.latency
                unit.loops = loops
                unit.latency = self.options.latency and (wanted is True or (wanted is None and slow))

    def _rounds(self, units: list[_Unit], start: float, startup: float) -> int:
        options = self.options
        active = [u for u in units if u.error is None]
        estimate = sum(self._process_estimate(u, startup) for u in active)
        planned = schedule.plan_rounds(
            remaining=options.time_budget - (self.clock() - start), round_seconds=estimate, done=0,
            min_processes=options.min_processes, max_processes=options.max_processes,
            fixed=options.processes)
        done = 0
        durations: list[float] = []
        while active and done < planned:
            done += 1
            round_start = self.clock()
            for unit in schedule.round_order(active, self.rng, key=lambda u: u.spec.name):
                self.progress.step(round_index=done, rounds=planned, benchmark=self._label(unit),
                                   time_left=options.time_budget - (self.clock() - start))
                self._measure(unit, done)
            durations.append(self.clock() - round_start)
            active = [u for u in active if u.error is None]
            planned = schedule.plan_rounds(
                remaining=options.time_budget - (self.clock() - start),
                # recent rounds: later ones skip the latency and then the memory pass
                round_seconds=statistics.fmean(durations[-3:]), done=done,
                min_processes=options.min_processes, max_processes=options.max_processes,
                fixed=options.processes)
        return done

    def _measure(self, unit: _Unit, round_index: int) -> None:
        options = self.options
        outcome = self._launch(self.sides[unit.side], {
            "mode": "measure", "spec": unit.spec.to_json(), "loops": unit.loops,
            "min_value_time": options.min_value_time, "values": options.values_per_process,
            "warmup_values": options.warmup_values,
            "latency": unit.latency and round_index <= options.detail_processes,
            "memory": options.memory and round_index <= self.memory_processes,
            "memory_round_time": options.memory_round_time}, self._timeout(unit))
        if not outcome.ok:
            self._fail(unit, outcome)
            return
        metrics = {k: [float(v) for v in vs] for k, vs in outcome.data["metrics"].items()}
        unit.processes.append(metrics)
        self.timed += sum(metrics.get(TIME, [])) * (unit.loops or 1)

    # -- helpers -----------------------------------------------------------
    def _launch(self, side: Side, job: dict[str, Any], timeout: float) -> WorkerOutcome:
        job = {**job, "root": str(side.root), "target": self.target,
               "forbid_paths": [str(p) for p in side.forbid]}
        outcome = self.launcher.run(job, cwd=side.root, python=side.python, timeout=timeout)
        self.workers += 1
        self.worker_wall += outcome.wall
        timings = outcome.data.get("timings") if outcome.ok else None
        if timings:
            self.startup += max(0.0, outcome.wall - float(timings.get("total", 0.0)))
            self.imports += float(timings.get("import", 0.0))
            self.memory_time += float(timings.get("memory", 0.0))
        return outcome

    def _timeout(self, unit: _Unit) -> float:
        return unit.spec.timeout or self.timeout

    def _label(self, unit: _Unit) -> str:
        label = self.sides[unit.side].label
        return f"{label}:{unit.spec.name}" if label else unit.spec.name

    def _fail(self, unit: _Unit, outcome: WorkerOutcome) -> None:
        unit.error = schedule.format_failure(unit.spec.name, outcome.phase, outcome.error)
        label = self.sides[unit.side].label
        self.progress.failure(f"{label}: {unit.error}" if label else unit.error)

    def _process_estimate(self, unit: _Unit, startup: float) -> float:
        value = max(self.options.min_value_time, (unit.loops or 1) * (unit.per_call or 0.0))
        values = self.options.warmup_values + self.options.values_per_process
        latency = self.options.min_value_time if unit.latency else 0.0
        # the memory pass: about six rounds (tracemalloc start-up and the peak calls included)
        memory = 6 * self.options.memory_round_time if self.options.memory else 0.0
        return startup + values * value + latency + memory

    def _suite(self, side_index: int, specs: list[Spec], environment: dict[str, Any],
               units: list[_Unit], rounds: int) -> model.Suite:
        side = self.sides[side_index]
        by_name = {u.spec.name: u for u in units if u.side == side_index}
        benchmarks = tuple(
            schedule.build_benchmark(spec.name, params=spec.params, loops=by_name[spec.name].loops,
                                     processes=by_name[spec.name].processes,
                                     error=by_name[spec.name].error)
            for spec in specs)
        known = {k: v for k, v in environment.items() if k in model.Environment.__dataclass_fields__}
        env = model.Environment(**{**known, "commit_sha": side.commit_sha, "ref": side.ref,
                                   "timestamp": self.timestamp})
        options = self.options
        settings = model.RunSettings(
            time_budget=options.time_budget, processes=rounds,
            values_per_process=options.values_per_process, min_value_time=options.min_value_time,
            warmup_values=options.warmup_values, timeout=self.timeout, filter=options.filter,
            mode=self.mode)
        return model.Suite(benchmarks, env, settings)
