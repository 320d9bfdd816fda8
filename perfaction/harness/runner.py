"""Running a suite: discovery, calibration, then rounds of batch workers.

The process is the unit of replication. Each benchmark is measured in many
fresh worker processes, one per round. A round splits the benchmarks into
batches (a new random partition each round); one worker imports the module
once and measures every benchmark of its batch, in its own random order, so
interpreter start-up and the user's imports are paid once per process, not
once per benchmark. Slow drifts of a shared machine still spread evenly over
all benchmarks. Loop counts are calibrated once per benchmark and run (one
batch worker per side) and reused by every later process, so all values of a
benchmark time the same amount of work.

The time budget is a limit: rounds are planned to fit it, and a worker still
running when it ends is stopped (benchmarks it finished keep their values).
Only the first round always completes, so every benchmark has a value. At
the start the runner estimates how many processes the budget buys and says
when that is too few for the gate to decide anything.

The same engine runs one tree (``run_suite``) or two trees side by side
(``perfaction.harness.ab``): a *side* is a tree plus the interpreter that
imports it.
"""

from __future__ import annotations

import math
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfaction import __version__
from perfaction.errors import BenchmarkDiscoveryError, ConfigError
from perfaction.harness import (
    budget,
    counting,
    leftovers,
    protocol,
    pytest_suite,
    schedule,
    valgrind,
)
from perfaction.harness.batch import BatchEntry, BatchResult, run_batch
from perfaction.harness.discovery import Spec
from perfaction.harness.environment import utc_timestamp
from perfaction.harness.launcher import Launcher, SubprocessLauncher, WorkerOutcome, Wrapper
from perfaction.harness.machine import MachineWatch
from perfaction.harness.measure import LATENCY_MIN_CALL, MEMORY_ROUND_TIME
from perfaction.harness.progress import Progress
from perfaction.metrics import INSTRUCTIONS, MEASURE_INSTRUCTIONS, MEASURE_TIME, MEASURES, TIME
from perfaction.results import model
from perfaction.results.shards import Shard, suite_digest

DISCOVERY_TIMEOUT = 60.0
# A count worker runs 50-100x slower than a timed one: the default timeout and
# a benchmark's own (written for native speed) are this many times longer.
COUNT_TIMEOUT_FACTOR = 10
# What a run uses when the budget does not size it (a fixed process count).
DEFAULT_SIZING = budget.Sizing(budget.SIZINGS[0].value_time, MEMORY_ROUND_TIME)


@dataclass(frozen=True)
class RunOptions:
    """How to run a suite. Only ``time_budget`` usually needs changing."""

    time_budget: float = 60.0          # seconds for the whole suite, start-up included
    filter: str | None = None          # glob (``*``, ``?``) or substring of benchmark names
    names: tuple[str, ...] | None = None  # only these benchmarks, by exact name
    timeout: float | None = None       # seconds per worker process; default from the budget
    cwd: Path | None = None            # project root the module is imported from
    python: str | None = None          # interpreter for workers; default this one
    commit_sha: str | None = None
    ref: str | None = None
    latency: bool = True               # per-call percentiles for calls >= ~10 us
    memory: bool = True                # the untimed tracemalloc pass
    min_value_time: float | None = None  # seconds each timed value lasts at least; None:
                                       # sized from the budget (budget.size_values)
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
    memory_round_time: float | None = None  # CPU seconds per memory round; None: sized
                                       # from the budget with the values
    measure: str = MEASURE_TIME        # MEASURES: what a value is
    count_processes: int = 2           # instruction mode: Valgrind processes per side; two
                                       # show whether the counts repeat exactly (exact.py)
    pytest: bool = False               # the target is a pytest-benchmark test path
                                       # (pytest_suite.py), not a benchmark module
    shard: Shard | None = None         # measure only this part of the suite (after the filter)

    def __post_init__(self) -> None:
        if self.measure not in MEASURES:
            raise ConfigError(f"measure must be one of {', '.join(MEASURES)}, got {self.measure!r}")
        if not isinstance(self.count_processes, int) or not 2 <= self.count_processes <= 20:
            raise ConfigError(f"count_processes must be an integer from 2 to 20, "
                              f"got {self.count_processes!r}")
        _positive("time_budget", self.time_budget)
        for name in ("min_value_time", "memory_round_time"):
            if getattr(self, name) is not None:
                _positive(name, getattr(self, name))
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


# Longer durations are typos, and they overflow the timeouts built from them.
MAX_SECONDS = 7 * 24 * 3600.0


def _positive(name: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
        raise ConfigError(f"{name} must be a positive number of seconds, got {value!r}")
    if value > MAX_SECONDS:
        raise ConfigError(f"{name} is {value!r} seconds, more than a week; give a shorter one")


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
    batch_size: int = 1           # benchmarks per measuring worker
    estimated_processes: int = 0  # what the budget was expected to buy, before measuring


@dataclass(frozen=True)
class RunResult:
    suites: tuple[model.Suite, ...]   # one per side, in the order given
    stats: RunStats
    notes: tuple[str, ...] = ()       # problems worth showing that did not stop the run
    budget_note: str | None = None    # the budget buys too few processes to decide (said at start)
    retries: tuple[str, ...] = ()     # benchmarks measured again after their worker was killed
    cleanups: tuple[str, ...] = ()    # processes benchmarks left running, which were stopped


@dataclass
class _Unit:
    """One benchmark on one side, filled in as the run goes."""

    side: int
    spec: Spec
    loops: int | None = None
    per_call: float | None = None
    latency: bool = False
    setup: float = 0.0                 # seconds its set-up took at calibration
    processes: list[dict[str, list[float]]] = field(default_factory=list)
    rounds: list[int] = field(default_factory=list)   # the round of each entry of processes
    error: str | None = None
    killed: bool = False               # a worker was killed from outside while measuring it


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
            clock: Callable[[], float] = time.perf_counter, mode: str = "baseline",
            watch: MachineWatch | None = None) -> RunResult:
    """``run_suite`` with the stats, for one side or several (A/B)."""
    if sides is None:
        sides = [Side("", (options.cwd or Path.cwd()).resolve(), options.python or sys.executable,
                      commit_sha=options.commit_sha, ref=options.ref)]
    engine = _Engine(target, options, list(sides), progress or Progress(),
                     launcher or SubprocessLauncher(), clock, mode, watch or MachineWatch())
    return engine.run()


class _Engine:
    def __init__(self, target: str, options: RunOptions, sides: list[Side], progress: Progress,
                 launcher: Launcher, clock: Callable[[], float], mode: str, watch: MachineWatch):
        self.target, self.options, self.sides, self.watch = target, options, sides, watch
        self.progress, self.launcher, self.clock, self.mode = progress, launcher, clock, mode
        self.rng = random.Random(options.seed)
        self.workers = 0
        self.worker_wall = 0.0
        self.timed = 0.0
        self.startup = 0.0
        self.imports = 0.0
        self.memory_time = 0.0
        self.memory_processes = 0
        self.memory_settled: set[str] = set()   # benchmarks whose memory passes can stop
        self.memory_jobs = 0                    # memory passes asked for in this round
        self.references: dict[str, list[float]] = {}   # side label -> each worker's speed
        self.retries: list[str] = []    # benchmarks measured again after an outside kill
        self.cleanups: dict[str, list[str]] = {}   # who -> processes it left, stopped
        self.notes: list[str] = []
        self.protocols: list[int] = []
        self.overhead = 0.0            # start-up plus import of one worker, from discovery
        self.batch = 1
        self.estimated = 0
        self.deadline: float | None = None
        self.valgrind: valgrind.Valgrind | None = None    # instruction mode's counter
        self.counted_features: dict[str, str] = {}   # side label -> CPU features under Valgrind
        self.budget_note: str | None = None
        self.suite_names: list[str] = []     # the whole suite's names, before sharding
        self.value_time = options.min_value_time or DEFAULT_SIZING.value_time
        self.memory_round_time = options.memory_round_time or DEFAULT_SIZING.memory_round_time

    # -- phases ------------------------------------------------------------
    def run(self) -> RunResult:
        start = self.clock()
        self.timestamp = utc_timestamp()
        counted = self.options.measure == MEASURE_INSTRUCTIONS
        # before anything runs: a missing Valgrind is the user's to fix, at once
        self.valgrind = self._find_valgrind() if counted else None
        self.watch.sample()
        specs, environments, startup = self._discover()
        if counted:
            self._check_count_protocol()
        discovered = self.clock()
        units = [_Unit(i, s) for i, side_specs in enumerate(specs) for s in side_specs]
        names = list(dict.fromkeys(u.spec.name for u in units))
        self.timeout = self.options.timeout or schedule.default_timeout(
            self.options.time_budget, len(names))
        if counted and self.options.timeout is None:
            # calls run 50-100x slower under Valgrind, and so do later set-ups;
            # a --timeout given with --measure instructions is taken as it is
            self.timeout *= COUNT_TIMEOUT_FACTOR
        self.memory_processes = self.options.memory_processes or schedule.memory_processes(
            len(names), at_least=self.options.detail_processes)
        self.progress.start(benchmarks=len(names), budget=self.options.time_budget)
        if counted:
            self.progress.status(
                f"instruction mode: {self.options.count_processes} Valgrind processes per side "
                f"count every benchmark (Valgrind {self.valgrind.version if self.valgrind else '?'}); "
                "the time budget does not apply, the per-benchmark timeout does")
            calibrated = self.clock()
            rounds = self._count(units)
        else:
            self._announce_estimate(len(names), start)
            self._calibrate(units)
            calibrated = self.clock()
            if self.options.processes is None:
                self.deadline = start + self.options.time_budget
            rounds = self._rounds(units, start)
        elapsed = self.clock() - start
        self.progress.finish(elapsed=elapsed)
        suites = tuple(self._suite(i, specs[i], environments[i], units, rounds)
                       for i in range(len(self.sides)))
        stats = RunStats(wall=elapsed, discovery=discovered - start,
                         calibration=calibrated - discovered, rounds=rounds,
                         worker_processes=self.workers, worker_wall=self.worker_wall,
                         timed=self.timed, worker_startup=self.startup,
                         user_imports=self.imports, memory_pass=self.memory_time,
                         memory_processes=self.memory_processes if self.options.memory else 0,
                         batch_size=self.batch, estimated_processes=self.estimated)
        cleanups = tuple(leftovers.describe(tuple(killed), who)
                         for who, killed in self.cleanups.items())
        for note in cleanups:
            self.progress.note(note)
        return RunResult(suites, stats, tuple(self.notes), self.budget_note, tuple(self.retries),
                         cleanups)

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
                    self.protocols.append(protocol.PROTOCOL_VERSION)
                    continue
                error = BenchmarkDiscoveryError(f"{where}{outcome.error}")
                error.side = side.label  # type: ignore[attr-defined]
                raise error
            self.protocols.append(int(outcome.data.get("protocol", 1)))
            timings = outcome.data.get("timings") or {}
            self.overhead = max(self.overhead, outcome.wall - float(timings.get("total", 0.0))
                                + float(timings.get("import", 0.0)))
            found = [Spec.from_json(s) for s in outcome.data["specs"]]
            specs.append([s for s in found if schedule.matches_filter(s.name, self.options.filter)
                          and (self.options.names is None or s.name in self.options.names)])
            environments.append(outcome.data.get("environment", {}))
            walls.append(outcome.wall)
        if not any(specs):
            raise BenchmarkDiscoveryError(
                f"no benchmark in {self.target} matches --filter {self.options.filter!r}; "
                "use a substring or a glob such as 'book_*'")
        if self.options.shard is not None:
            specs = self._shard(specs, self.options.shard)
        fallback: dict[str, Any] = next((e for e in environments if e), {})
        environments = [e or fallback for e in environments]
        return specs, environments, statistics.median(walls)

    def _shard(self, specs: list[list[Spec]], shard: Shard) -> list[list[Spec]]:
        """This shard's part of every side, partitioned over the names of both sides.

        Both sides' names: a benchmark the change removed is still measured on
        the base side by exactly one shard.
        """
        self.suite_names = sorted({s.name for side in specs for s in side})
        mine = set(shard.select(self.suite_names))
        if not mine:
            raise BenchmarkDiscoveryError(
                f"shard {shard.label} has no benchmark: the suite has {len(self.suite_names)} "
                f"(after the filter), fewer than {shard.count} shards; use at most "
                f"{len(self.suite_names)} shards")
        self.progress.note(f"shard {shard.label}: {len(mine)} of the suite's "
                           f"{len(self.suite_names)} benchmarks, balanced by {shard.basis}")
        return [[s for s in side if s.name in mine] for side in specs]

    def _announce_estimate(self, benchmarks: int, start: float) -> None:
        """Size the values, say before measuring what the budget buys, and when that
        cannot decide anything."""
        options = self.options
        spent = self.clock() - start
        # memory that gives one value stops its passes after a few processes
        # (schedule.memory_settled): the common case, so the one estimated
        detail_rounds = (min(self.memory_processes, schedule.CONSTANT_MEMORY_PROCESSES)
                         if options.memory else options.detail_processes)

        def estimate_for(sizing: budget.Sizing) -> budget.BudgetEstimate:
            # what the user set stays as set; the rest follows the sizing
            self.value_time = options.min_value_time or sizing.value_time
            self.memory_round_time = options.memory_round_time or sizing.memory_round_time
            return budget.estimate(
                budget=options.time_budget, spent=spent, benchmarks=benchmarks,
                sides=len(self.sides), process_overhead=self.overhead,
                first_benchmark_seconds=self._benchmark_seconds(None, detail=True),
                later_benchmark_seconds=self._benchmark_seconds(None, detail=False),
                calibration_seconds=3 * self.value_time, detail_rounds=detail_rounds,
                max_processes=options.max_processes)

        sized = options.processes is None and (options.min_value_time is None
                                               or options.memory_round_time is None)
        if sized:
            chosen, estimate = budget.size_values(estimate_for, cap=options.max_processes)
            estimate_for(chosen)    # leaves value_time and memory_round_time at the choice
        else:
            estimate = estimate_for(DEFAULT_SIZING)
        self.batch = estimate.batch_size
        if options.processes is not None:
            self.estimated = options.processes
            return
        self.estimated = estimate.processes
        if estimate.note is None:
            self.progress.status(f"{estimate.summary}, with values of at least "
                                 f"{self.value_time * 1000:g} ms")
        else:
            self.budget_note = estimate.note
            self.progress.note(estimate.note)

    def _calibrate(self, units: list[_Unit]) -> None:
        # One batch worker per side calibrates every benchmark of that side;
        # measure.calibrate confirms the loop count and keeps the faster timing,
        # so one preempted loop cannot leave every later value too short.
        for side_index, side in enumerate(self.sides):
            mine = [u for u in units if u.side == side_index]
            if not mine:
                continue
            self.progress.status(f"calibrating {len(mine)} benchmark(s)"
                                 + (f" ({side.label})" if side.label else ""))
            entries = {u.spec.name: u for u in mine}
            todo = mine
            while todo:
                result = self._run_batch(side_index, todo, "calibrate",
                                         lambda unit: {"spec": unit.spec.to_json()}, budget=False)
                todo = []
                for name, outcome in result.outcomes.items():
                    unit = entries[name]
                    if outcome.ok:
                        unit.loops = int(outcome.data["loops"])
                        unit.per_call = float(outcome.data["seconds_per_call"])
                        unit.setup = float((outcome.data.get("timings") or {}).get("setup", 0.0))
                    elif self._spare(unit, outcome, "calibration"):
                        todo.append(unit)      # calibrated again at once: nothing runs without
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

    def _rounds(self, units: list[_Unit], start: float) -> int:
        options = self.options
        active = [u for u in units if u.error is None]
        names = list(dict.fromkeys(u.spec.name for u in active))
        by_name = {n: [u for u in active if u.spec.name == n] for n in names}
        per_benchmark = (statistics.fmean(self._benchmark_seconds(u, detail=False) for u in active)
                         if active else 0.0)
        self.batch = schedule.batch_size(len(names), benchmark_seconds=per_benchmark,
                                         process_overhead=self.overhead)
        first_round = sum(self._benchmark_seconds(u, detail=True) for u in active) + (
            len(self.sides) * math.ceil(len(names) / self.batch) * self.overhead)
        planned = schedule.plan_rounds(
            remaining=options.time_budget - (self.clock() - start), round_seconds=first_round,
            done=0, min_processes=options.min_processes, max_processes=options.max_processes,
            fixed=options.processes)
        done = 0
        durations: list[float] = []
        memory_seconds: list[float] = []
        while names and done < planned and not self._out_of_time(done + 1):
            done += 1
            round_start, memory_start = self.clock(), self.memory_time
            self.memory_jobs = 0
            # memory that gave one value in every process of every side so far is settled
            self.memory_settled = {n for n in names if schedule.memory_settled(
                [u.processes for u in by_name[n]])}
            for batch in schedule.split_batches(names, self.batch, self.rng):
                if self._out_of_time(done):
                    break
                # the base and head workers of a batch run back to back, in random
                # order: the two values of each pair are measured close together.
                # Both measure the batch in the same order (split_batches shuffled
                # it): a benchmark's neighbours (what ran before it in the process,
                # the heap and imports they left) then differ between rounds but
                # not within a pair, where they would only add noise.
                side_order = list(range(len(self.sides)))
                self.rng.shuffle(side_order)
                for side_index in side_order:
                    mine = [u for n in batch for u in by_name[n]
                            if u.side == side_index and u.error is None]
                    if mine:
                        self.progress.step(   # a total only when fixed: the plan moves
                            round_index=done, rounds=planned if options.processes else None,
                            benchmark=self._batch_label(side_index, mine),
                            time_left=options.time_budget - (self.clock() - start))
                        self._measure(side_index, mine, done)
            durations.append(self.clock() - round_start)
            memory_seconds.append(self.memory_time - memory_start)
            self.watch.sample()
            names = [n for n in names if any(u.error is None for u in by_name[n])]
            planned = schedule.plan_rounds(
                remaining=options.time_budget - (self.clock() - start),
                round_seconds=schedule.next_round_seconds(
                    durations, memory_seconds,
                    memory_share=self._memory_share_next(names, by_name, done + 1,
                                                         ran=self.memory_jobs)),
                done=done, min_processes=options.min_processes,
                max_processes=options.max_processes, fixed=options.processes)
        return done

    @staticmethod
    def _find_valgrind() -> valgrind.Valgrind:
        try:
            counting.check_machine()
        except counting.UnsupportedMachine as exc:
            raise ConfigError(str(exc)) from None
        return valgrind.find()

    def _check_count_protocol(self) -> None:
        for side, version in zip(self.sides, self.protocols, strict=True):
            if version < protocol.COUNT_PROTOCOL:
                raise ConfigError(
                    f"instruction mode needs perfaction {__version__} (worker protocol "
                    f"{protocol.COUNT_PROTOCOL}) in every interpreter, and {side.python}"
                    f"{f' ({side.label})' if side.label else ''} has an older one (protocol "
                    f"{version}): install this perfaction there, or use --measure time")

    def _count(self, units: list[_Unit]) -> int:
        """Instruction mode: ``count_processes`` Valgrind workers per side, each counting
        every benchmark of its side.

        Every worker takes the benchmarks in the same order (by name, those of
        every side first), so the workers repeat the same history: the heap,
        the imports and the interpreter's caches that earlier benchmarks left
        are the same on both sides, and identical code counts identically.
        A benchmark that failed stays in the later workers for the same reason
        (its set-up and failure are part of what the next one inherits).
        """
        assert self.valgrind is not None
        sides = [{u.spec.name for u in units if u.side == i} for i in range(len(self.sides))]
        common = set.intersection(*sides)
        # benchmarks on every side first: a benchmark added (or removed) by the
        # change then comes after them, and leaves their history alike
        order = sorted(common) + sorted(set.union(*sides) - common)
        index = {name: i for i, name in enumerate(order)}
        processes = self.options.count_processes
        for process in range(1, processes + 1):
            for side_index in range(len(self.sides)):
                mine = sorted((u for u in units if u.side == side_index),
                              key=lambda u: index[u.spec.name])
                if not mine:
                    continue
                self.progress.status(f"counting instructions under Valgrind, process "
                                     f"{process}/{processes}: "
                                     f"{self._batch_label(side_index, mine)}")
                self._count_batch(side_index, mine, index, process)
        return processes

    def _count_batch(self, side_index: int, units: list[_Unit], index: dict[str, int],
                     process: int) -> None:
        assert self.valgrind is not None
        with tempfile.TemporaryDirectory(prefix="perfaction-count-") as out:
            wrapper = Wrapper(tuple(valgrind.command(self.valgrind, Path(out))),
                              valgrind.counting_env)
            result = self._run_batch(
                side_index, units, "count",
                lambda unit: {"spec": unit.spec.to_json(), "count_index": index[unit.spec.name]},
                budget=False, wrapper=wrapper)
            counts = valgrind.read_counts(Path(out))
        by_name = {u.spec.name: u for u in units}
        for name, outcome in result.outcomes.items():
            unit = by_name[name]
            value = valgrind.process_value(valgrind.per_call(counts, index[name]))
            if outcome.ok and (value is None or value < 0):
                outcome = WorkerOutcome(False, phase="timing", wall=outcome.wall, error=(
                    "Valgrind wrote no instruction counts for it" if value is None else
                    f"its calls are too small to count ({value:.0f} instructions per call "
                    "after the counting's own cost): give it more work per call"))
            if not outcome.ok:
                if unit.error is None and not self._spare(unit, outcome,
                                                          f"counting process {process}"):
                    self._fail(unit, outcome)
                continue
            if unit.error is not None:
                continue        # failed in an earlier worker: a failure, whatever this one did
            features = outcome.data.get("cpu_features")
            if isinstance(features, str):
                self.counted_features[self.sides[side_index].label] = features
            assert value is not None
            unit.processes.append({INSTRUCTIONS: [value]})
            unit.rounds.append(process)

    def _memory_share_next(self, names: list[str], by_name: dict[str, list[_Unit]],
                           round_index: int, *, ran: int) -> float:
        """Memory passes round ``round_index`` will run, as a share of the ``ran`` the
        last round ran (whose time the plan scales by it)."""
        if not ran or not self.options.memory or round_index > self.memory_processes:
            return 0.0
        unsettled = sum(len(by_name[n]) for n in names if not schedule.memory_settled(
            [u.processes for u in by_name[n]]))
        return unsettled / ran

    def _out_of_time(self, round_index: int) -> bool:
        # the first round always completes: every benchmark gets a value
        return (round_index > 1 and self.deadline is not None
                and self.clock() >= self.deadline)

    def _measure(self, side_index: int, units: list[_Unit], round_index: int) -> None:
        options = self.options

        def job(unit: _Unit) -> dict[str, Any]:
            memory = (options.memory and round_index <= self.memory_processes
                      and unit.spec.name not in self.memory_settled)
            self.memory_jobs += memory
            return {"spec": unit.spec.to_json(), "loops": unit.loops,
                    "latency": unit.latency and round_index <= options.detail_processes,
                    "memory": memory}

        result = self._run_batch(side_index, units, "measure", job, budget=round_index > 1)
        by_name = {u.spec.name: u for u in units}
        for name, outcome in result.outcomes.items():
            unit = by_name[name]
            if not outcome.ok:
                if not self._spare(unit, outcome, f"round {round_index}"):
                    self._fail(unit, outcome)
                continue
            metrics = {k: [float(v) for v in vs] for k, vs in outcome.data["metrics"].items()}
            unit.processes.append(metrics)
            unit.rounds.append(round_index)
            self.timed += sum(metrics.get(TIME, [])) * (unit.loops or 1)

    def _run_batch(self, side_index: int, units: list[_Unit], task: str,
                   job: Callable[[_Unit], dict[str, Any]], *, budget: bool,
                   wrapper: Wrapper | None = None) -> BatchResult:
        side = self.sides[side_index]
        options = self.options
        common = {"min_value_time": self.value_time, "values": options.values_per_process,
                  "warmup_values": options.warmup_values,
                  "memory_round_time": self.memory_round_time}

        def time_left() -> float | None:
            if not budget or self.deadline is None:
                return None
            return self.deadline - self.clock()

        return run_batch(lambda j, timeout, stop_after: self._launch(side, j, timeout, stop_after,
                                                                     wrapper),
                         common, task, [BatchEntry(u.spec.name, job(u), self._timeout(u))
                                        for u in units],
                         protocol_version=self.protocols[side_index], time_left=time_left)

    # -- helpers -----------------------------------------------------------
    def _launch(self, side: Side, job: dict[str, Any], timeout: float,
                stop_after: float | None = None, wrapper: Wrapper | None = None) -> WorkerOutcome:
        job = {**job, "root": str(side.root), "target": self.target,
               "forbid_paths": [str(p) for p in side.forbid]}
        if self.options.pytest:
            job["collector"] = pytest_suite.PYTEST
        extra = {"wrapper": wrapper} if wrapper is not None else {}
        outcome = self.launcher.run(job, cwd=side.root, python=side.python, timeout=timeout,
                                    stop_after=stop_after, **extra)
        self.workers += 1
        self.worker_wall += outcome.wall
        if outcome.leftovers:
            self.cleanups.setdefault(self._who(side, job), []).extend(outcome.leftovers)
        for event in outcome.events:
            seconds = event.get("seconds") if event.get("event") == protocol.REFERENCE else None
            if isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0:
                self.references.setdefault(side.label, []).append(float(seconds))
        timings = outcome.data.get("timings") if outcome.ok else None
        if timings:
            # counted once per process: a batch worker reports its import once
            self.startup += max(0.0, outcome.wall - float(timings.get("total", 0.0)))
            self.imports += float(timings.get("import", 0.0))
            self.memory_time += float(timings.get("memory", 0.0))
        return outcome

    @staticmethod
    def _who(side: Side, job: dict[str, Any]) -> str:
        """The benchmarks of a job, for a message: one by name, a batch by count and names."""
        names = ([b["spec"]["name"] for b in job.get("benchmarks", ())]
                 or ([job["spec"]["name"]] if "spec" in job else []))
        where = f"{side.label}: " if side.label else ""
        if not names:
            return f"{where}the module's import"
        if len(names) == 1:
            return f"{where}benchmark {names[0]!r}"
        listed = ", ".join(repr(n) for n in sorted(names)[:3])
        return f"{where}a worker measuring {len(names)} benchmarks ({listed}{', ...' if len(names) > 3 else ''})"

    def _timeout(self, unit: _Unit) -> float:
        if unit.spec.timeout and self.options.measure == MEASURE_INSTRUCTIONS:
            return unit.spec.timeout * COUNT_TIMEOUT_FACTOR   # the code's own, for native speed
        return unit.spec.timeout or self.timeout

    def _label(self, unit: _Unit) -> str:
        label = self.sides[unit.side].label
        return f"{label}:{unit.spec.name}" if label else unit.spec.name

    def _spare(self, unit: _Unit, outcome: WorkerOutcome, when: str) -> bool:
        """Whether a worker killed from outside gets the benchmark another try (once).

        SIGKILL from another job, an operator or the out-of-memory killer says
        nothing about the benchmark the first time; the values it already has
        stay, and later rounds measure it again. A second kill fails it: a
        benchmark that exhausts memory is killed every time.
        """
        if unit.killed or not outcome.killed_from_outside:
            return False
        unit.killed = True
        label = self.sides[unit.side].label
        note = (f"{f'{label}: ' if label else ''}benchmark {unit.spec.name!r}: its worker was "
                f"killed from outside (SIGKILL) during {when}, not by its own crash; measured "
                "again in a fresh worker, keeping its earlier values (a second kill would "
                "fail it)")
        self.retries.append(note)
        self.progress.note(note)
        return True

    def _fail(self, unit: _Unit, outcome: WorkerOutcome) -> None:
        unit.error = schedule.format_failure(unit.spec.name, outcome.phase, outcome.error)
        label = self.sides[unit.side].label
        self.progress.failure(f"{label}: {unit.error}" if label else unit.error)

    def _benchmark_seconds(self, unit: _Unit | None, *, detail: bool) -> float:
        """One benchmark's share of a worker; ``detail``: with the latency and memory passes."""
        options = self.options
        value = self.value_time
        if unit is not None:
            value = max(value, (unit.loops or 1) * (unit.per_call or 0.0))
        latency = self.value_time if detail and (unit is None or unit.latency) else 0.0
        # the memory pass: about four rounds' worth (the peak calls, the first round and
        # two more, which end it when nothing was retained: measure.memory_pass)
        memory = 4 * self.memory_round_time if detail and options.memory else 0.0
        return schedule.benchmark_seconds(
            value_seconds=value, values=options.warmup_values + options.values_per_process,
            setup=unit.setup if unit is not None else 0.0, latency_seconds=latency,
            memory_seconds=memory)

    def _batch_label(self, side_index: int, units: list[_Unit]) -> str:
        label = self.sides[side_index].label
        what = units[0].spec.name if len(units) == 1 else f"{len(units)} benchmarks"
        return f"{label}:{what}" if label else what

    def _counter(self, side: str) -> dict[str, Any]:
        """What the environment records of the counting, in instruction mode: the
        CPU features are those Valgrind's emulated CPU offered the counted code
        (no AVX-512 whatever the host has), so runners that differ only in
        features Valgrind hides still count alike."""
        if self.valgrind is None:
            return {}
        recorded = {"counter": f"valgrind-{self.valgrind.version} callgrind",
                    "hash_seed": valgrind.HASH_SEED}
        if side in self.counted_features:
            recorded["cpu_features"] = self.counted_features[side]
        return recorded

    @staticmethod
    def _paired_processes(unit: _Unit, units: list[_Unit]) -> list[dict[str, list[float]]]:
        """The unit's processes, kept to the rounds every side of its benchmark measured.

        Same-runner analysis pairs base process i with head process i, so a
        round that only one side finished (the budget stopped the other
        side's worker) is dropped rather than shifting every later pair.
        A failed side keeps today's rule: its values stand as they are.
        """
        others = [u for u in units if u.spec.name == unit.spec.name and u is not unit]
        if not others or unit.error is not None or any(u.error is not None for u in others):
            return unit.processes
        common = set(unit.rounds).intersection(*(u.rounds for u in others))
        return [p for p, r in zip(unit.processes, unit.rounds, strict=True) if r in common]

    def _shard_settings(self) -> dict[str, Any]:
        shard = self.options.shard
        if shard is None:
            return {}
        return {"shard": shard.label, "suite_size": len(self.suite_names),
                "suite_digest": suite_digest(self.suite_names), "partition": shard.basis}

    def _suite(self, side_index: int, specs: list[Spec], environment: dict[str, Any],
               units: list[_Unit], rounds: int) -> model.Suite:
        side = self.sides[side_index]
        by_name = {u.spec.name: u for u in units if u.side == side_index}
        benchmarks = tuple(
            schedule.build_benchmark(spec.name, params=spec.params, loops=by_name[spec.name].loops,
                                     processes=self._paired_processes(by_name[spec.name], units),
                                     error=by_name[spec.name].error)
            for spec in specs)
        known = {k: v for k, v in environment.items() if k in model.Environment.__dataclass_fields__}
        references = self.references.get(side.label)
        env = model.Environment(**{**known, "commit_sha": side.commit_sha, "ref": side.ref,
                                   "timestamp": self.timestamp, **self.watch.summary(),
                                   "speed_reference": (statistics.median(references)
                                                       if references else None),
                                   **self._counter(side.label)})
        options = self.options
        settings = model.RunSettings(
            time_budget=options.time_budget, processes=rounds,
            values_per_process=options.values_per_process, min_value_time=self.value_time,
            warmup_values=options.warmup_values, timeout=self.timeout, filter=options.filter,
            mode=self.mode, **self._shard_settings())
        return model.Suite(benchmarks, env, settings)
