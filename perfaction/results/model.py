"""The results model: Suite -> Benchmark -> Metric, as frozen values.

A Suite is one run: its benchmarks, where it ran (Environment) and how
(RunSettings). Each Metric keeps one tuple of values per worker process,
because the process is the unit of replication. Values are validated on
construction; files.py gives them their versioned JSON form, and formats/
reads other tools' result files into them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from perfaction import metrics

# The version of the results JSON this perfaction writes (files.py lists what
# each version holds); a Suite records the version it was loaded from.
FORMAT_VERSION = 1

# Metric names, units and directions are perfaction.metrics' (the registry);
# a file may hold metrics the registry does not know, with their own unit and
# direction.


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def text_or_none(value: Any) -> str | None:
    """A non-empty string read from a document, else None (missing, empty, or not text)."""
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Metric:
    """One measured quantity of a benchmark.

    ``samples`` holds one tuple per worker process, each with the values that
    process measured. The process is the unit of replication: statistics use
    ``per_process()``, never the pooled values, because values inside one
    process are correlated. ``value`` is a single summary for sources that
    kept no samples (legacy baselines, other tools' summaries).
    """

    unit: str
    direction: str = metrics.LOWER_IS_BETTER
    samples: tuple[tuple[float, ...], ...] = ()
    value: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.unit, str) or not self.unit:
            raise ValueError(f"unit must be a non-empty string, got {self.unit!r}")
        if self.direction not in metrics.DIRECTIONS:
            raise ValueError(f"direction must be one of {metrics.DIRECTIONS}, "
                             f"got {self.direction!r}")
        try:
            samples = tuple(tuple(float(v) for v in process) for process in self.samples)
        except OverflowError as exc:      # an integer beyond the float range
            raise ValueError(f"samples hold a number too large for a measurement: {exc}") from None
        for index, process in enumerate(samples):
            if not process:
                raise ValueError(f"samples[{index}] is empty: each process needs at least one value")
            bad = [v for v in process if not _plausible(v, self.unit)]
            if bad:
                raise ValueError(f"samples[{index}] holds {bad[0]!r}, which no measurement in "
                                 f"{self.unit!r} gives" + (" (a duration is positive)"
                                                           if self.unit == "s" else ""))
        object.__setattr__(self, "samples", samples)
        if self.value is not None:
            try:
                number = float(self.value) if is_number(self.value) else math.nan
            except OverflowError:         # an integer beyond the float range
                number = math.inf
            if not _plausible(number, self.unit):
                raise ValueError(f"value must be a finite number a measurement in {self.unit!r} "
                                 f"can give, got {shown(self.value)}")
            object.__setattr__(self, "value", float(self.value))
        if not samples and self.value is None:
            raise ValueError("a metric needs samples or a value")

    @property
    def has_samples(self) -> bool:
        return bool(self.samples)

    def per_process(self) -> tuple[float, ...]:
        """The mean of each process's values: the observations statistics use."""
        return tuple(math.fsum(p) / len(p) for p in self.samples)

    def all_values(self) -> tuple[float, ...]:
        return tuple(v for process in self.samples for v in process)

    def center(self) -> float:
        """Median of per-process means, or the stored value when there are no samples."""
        if not self.samples:
            assert self.value is not None
            return self.value
        ordered = sorted(self.per_process())
        mid = len(ordered) // 2
        return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


# Beyond these no measurement lands, and ratios of such numbers overflow or
# vanish in the statistics (1e308 / 1e-308); a file that holds one is damaged
# or made to hurt. Durations are positive.
_LARGEST, _SMALLEST = 1e18, 1e-300


def shown(value: Any) -> str:
    """A value read from a file, for an error message: huge integers neither flood it
    nor fail to print."""
    try:
        text = repr(value)
    except ValueError:                  # more digits than int -> str converts
        return "an integer of thousands of digits"
    return text if len(text) <= 40 else text[:37] + "..."


def bounded_number(value: Any) -> bool:
    """A number (not a bool) the statistics can use: finite as a float, within +-1e18."""
    if not is_number(value):
        return False
    try:
        number = float(value)
    except OverflowError:               # an integer beyond the float range
        return False
    return math.isfinite(number) and abs(number) <= _LARGEST


def _plausible(value: float, unit: str) -> bool:
    if not math.isfinite(value) or abs(value) > _LARGEST:
        return False
    if unit == "s":
        return value >= _SMALLEST
    return value == 0 or abs(value) >= _SMALLEST


@dataclass(frozen=True)
class Benchmark:
    """One benchmark (one parameter combination) and its metrics, or its failure."""

    name: str
    metrics: Mapping[str, Metric] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    loops: int | None = None       # inner-loop calls per timed value
    error: str | None = None       # set when the benchmark failed; metrics may be partial
    # A merged suite (results/shards.py): the shard whose job measured it. Process
    # i of two benchmarks ran in the same round only when they share a shard.
    shard: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"benchmark name must be a non-empty string, got {self.name!r}")
        if self.shard is not None and (not isinstance(self.shard, int)
                                       or isinstance(self.shard, bool) or self.shard < 1):
            raise ValueError(f"shard must be a positive integer, got {self.shard!r}")
        if self.loops is not None and (not isinstance(self.loops, int) or self.loops < 1):
            raise ValueError(f"loops must be a positive integer, got {self.loops!r}")
        object.__setattr__(self, "metrics", dict(self.metrics))
        object.__setattr__(self, "params", dict(self.params))

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass(frozen=True)
class Environment:
    """Where a suite was measured. ``fingerprint()`` is what must match to compare."""

    cpu_model: str | None = None
    logical_cores: int | None = None
    os: str | None = None
    machine: str | None = None
    python_version: str | None = None
    python_implementation: str | None = None
    perfaction_version: str | None = None
    commit_sha: str | None = None
    ref: str | None = None
    timestamp: str | None = None   # ISO 8601, UTC
    # how busy the machine was while measuring (harness/machine.py): 1-minute load
    # average before the first worker and at its highest, share of CPU time stolen
    load_average_before: float | None = None
    load_average_max: float | None = None
    cpu_steal_max: float | None = None
    # seconds of one call of a fixed Python workload, median over the measuring
    # workers (harness/reference.py): the runner's speed at the time
    speed_reference: float | None = None
    # instruction mode (harness/counting.py): what else changes an instruction count
    counter: str | None = None          # "valgrind-3.19.0 callgrind"; None: not counted
    hash_seed: str | None = None        # PYTHONHASHSEED of the counting workers
    python_build: str | None = None     # sys.version: version, build date and compiler
    cpu_features: str | None = None     # instruction-set extensions that select code paths
                                        # (a counted run: those Valgrind's CPU offered)

    FINGERPRINT_FIELDS = ("cpu_model", "logical_cores", "machine",
                          "python_implementation", "python_version")
    # Counts depend on the exact build and on which vector instructions libraries
    # choose, not on the machine's speed: checked when both sides counted.
    COUNTING_FIELDS = ("counter", "hash_seed", "python_build", "cpu_features")

    # What a count does not depend on: another CPU model (of the same features)
    # or core count counts alike, so a counted run's fingerprint leaves them out.
    NOT_COUNTED_FIELDS = ("cpu_model", "logical_cores")

    def fingerprint(self) -> dict[str, Any]:
        """Fields that change what a benchmark measures (not commit or time).

        A counted run's fingerprint swaps the machine's model and cores for the
        counting fields; a timed run's (and the nightly history keyed by it)
        stays as it was.
        """
        if not self.counter:
            return {name: getattr(self, name) for name in self.FINGERPRINT_FIELDS}
        names = [n for n in self.FINGERPRINT_FIELDS if n not in self.NOT_COUNTED_FIELDS]
        return {name: getattr(self, name) for name in (*names, *self.COUNTING_FIELDS)}


@dataclass(frozen=True)
class RunSettings:
    """How a suite was measured; compare uses these to spot incomparable runs."""

    time_budget: float | None = None        # seconds for the whole suite
    processes: int | None = None            # worker processes per benchmark
    values_per_process: int | None = None
    min_value_time: float | None = None     # seconds each timed value lasts at least
    warmup_values: int | None = None
    timeout: float | None = None            # per-benchmark timeout, seconds
    filter: str | None = None
    mode: str | None = None                 # "baseline" run or one side of "same-runner"
    # Sharding (results/shards.py). A shard's part: "2/5", the whole suite's size
    # and a digest of its names, and what the partition was balanced by. A
    # merged suite: the number of shards it was merged from.
    shard: str | None = None
    suite_size: int | None = None
    suite_digest: str | None = None
    partition: str | None = None
    shards: int | None = None


@dataclass(frozen=True)
class Suite:
    """A whole run: its benchmarks, where it ran and how."""

    benchmarks: tuple[Benchmark, ...] = ()
    environment: Environment = field(default_factory=Environment)
    settings: RunSettings = field(default_factory=RunSettings)
    source_format: int = FORMAT_VERSION     # version the data was loaded from

    def __post_init__(self) -> None:
        benchmarks = tuple(self.benchmarks)
        seen: set[str] = set()
        for bench in benchmarks:
            if bench.name in seen:
                raise ValueError(f"benchmark name {bench.name!r} appears twice")
            seen.add(bench.name)
        object.__setattr__(self, "benchmarks", benchmarks)

    def get(self, name: str) -> Benchmark | None:
        return next((b for b in self.benchmarks if b.name == name), None)

    def names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.benchmarks)

    @property
    def failures(self) -> tuple[Benchmark, ...]:
        return tuple(b for b in self.benchmarks if b.failed)

    @property
    def has_samples(self) -> bool:
        return any(m.has_samples for b in self.benchmarks for m in b.metrics.values())
