"""The results model: Suite -> Benchmark -> Metric, and its versioned JSON form.

Everything else in perfaction reads and writes suites through this module, so
the file format is defined in exactly one place (docs/results-format.md).

Format versions (``format_version`` in the JSON):

- 0: the reference article's summary-only baseline, ``{name: {p99_latency,
  mean_latency, peak_memory, ops_per_second, ...}}``. No samples, so it loads
  with ``Metric.value`` set and ``Suite.has_samples`` false; comparisons
  against it can only be inconclusive or threshold-only.
- 1: first perfaction format. Raw per-process samples for every metric, an
  environment fingerprint and the run settings.

Loading accepts every version up to FORMAT_VERSION and upgrades it in memory
(``_UPGRADES``); a newer version is refused rather than half-read.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from perfaction import metrics
from perfaction.errors import PerfActionError, ResultsFormatError

FORMAT_VERSION = 1

# Metric names, units and directions are perfaction.metrics' (the registry);
# a file may hold metrics the registry does not know, with their own unit and
# direction.


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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
        samples = tuple(tuple(float(v) for v in process) for process in self.samples)
        for index, process in enumerate(samples):
            if not process:
                raise ValueError(f"samples[{index}] is empty: each process needs at least one value")
            bad = [v for v in process if not math.isfinite(v)]
            if bad:
                raise ValueError(f"samples[{index}] holds a non-finite value {bad[0]!r}")
        object.__setattr__(self, "samples", samples)
        if self.value is not None:
            if not _is_number(self.value) or not math.isfinite(self.value):
                raise ValueError(f"value must be a finite number, got {self.value!r}")
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


@dataclass(frozen=True)
class Benchmark:
    """One benchmark (one parameter combination) and its metrics, or its failure."""

    name: str
    metrics: Mapping[str, Metric] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    loops: int | None = None       # inner-loop calls per timed value
    error: str | None = None       # set when the benchmark failed; metrics may be partial

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"benchmark name must be a non-empty string, got {self.name!r}")
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

    FINGERPRINT_FIELDS = ("cpu_model", "logical_cores", "machine",
                          "python_implementation", "python_version")

    def fingerprint(self) -> dict[str, Any]:
        """Fields that change what a benchmark measures (not commit or time)."""
        return {name: getattr(self, name) for name in self.FINGERPRINT_FIELDS}


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


# ---------------------------------------------------------------------------
# JSON form
# ---------------------------------------------------------------------------

def suite_to_dict(suite: Suite) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "tool": "perfaction",
        "environment": _dataclass_to_dict(suite.environment),
        "settings": _dataclass_to_dict(suite.settings),
        "benchmarks": [_benchmark_to_dict(b) for b in suite.benchmarks],
    }


def _dataclass_to_dict(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _benchmark_to_dict(bench: Benchmark) -> dict[str, Any]:
    data: dict[str, Any] = {"name": bench.name}
    if bench.params:
        data["params"] = dict(bench.params)
    if bench.loops is not None:
        data["loops"] = bench.loops
    data["metrics"] = {name: _metric_to_dict(m) for name, m in bench.metrics.items()}
    if bench.error is not None:
        data["error"] = bench.error
    return data


def _metric_to_dict(metric: Metric) -> dict[str, Any]:
    data: dict[str, Any] = {"unit": metric.unit, "direction": metric.direction}
    if metric.samples:
        data["samples"] = [list(p) for p in metric.samples]
    if metric.value is not None:
        data["value"] = metric.value
    return data


def suite_from_dict(data: Any, *, source: str | None = None) -> Suite:
    """Build a Suite from parsed JSON of any supported version.

    Raises ResultsFormatError naming the file, benchmark and field at fault.
    """
    if not isinstance(data, dict):
        raise ResultsFormatError(
            f"expected a JSON object at the top level, got {type(data).__name__}", source=source)
    if "format_version" not in data:
        if _looks_like_article_baseline(data):
            return _suite_from_article_baseline(data, source=source)
        raise ResultsFormatError(
            "no 'format_version': this is neither a perfaction results file nor a "
            "summary baseline of the form {name: {mean_latency, p99_latency, ...}}",
            source=source)
    version = data["format_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ResultsFormatError(f"must be a positive integer, got {version!r}",
                                 source=source, field="format_version")
    if version > FORMAT_VERSION:
        raise ResultsFormatError(
            f"version {version} is newer than this perfaction understands "
            f"(up to {FORMAT_VERSION}); upgrade perfaction to read it",
            source=source, field="format_version")
    for from_version in range(version, FORMAT_VERSION):
        data = _UPGRADES[from_version](data)
    return _suite_from_current(data, source=source, loaded_from=version)


# Each entry upgrades a parsed document from version N to N + 1.
_UPGRADES: dict[int, Any] = {}


def _suite_from_current(data: dict[str, Any], *, source: str | None, loaded_from: int) -> Suite:
    environment = _build_dataclass(Environment, data.get("environment", {}), source, "environment")
    settings = _build_dataclass(RunSettings, data.get("settings", {}), source, "settings")
    raw_benchmarks = data.get("benchmarks")
    if not isinstance(raw_benchmarks, list):
        raise ResultsFormatError(f"must be a list, got {type(raw_benchmarks).__name__}",
                                 source=source, field="benchmarks")
    benchmarks = [_benchmark_from_dict(raw, index, source) for index, raw in enumerate(raw_benchmarks)]
    try:
        return Suite(tuple(benchmarks), environment, settings, source_format=loaded_from)
    except ValueError as exc:
        raise ResultsFormatError(str(exc), source=source, field="benchmarks") from exc


_FIELD_TYPES = {"str": (str,), "int": (int,), "float": (int, float)}


def _build_dataclass(cls: Any, raw: Any, source: str | None, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ResultsFormatError(f"must be an object, got {type(raw).__name__}",
                                 source=source, field=where)
    known = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            continue  # written by a newer minor revision; ignoring it loses nothing we use
        if value is not None:
            kind = str(known[key].type).split("|")[0].strip()
            accepted = _FIELD_TYPES.get(kind, (object,))
            if not isinstance(value, accepted) or isinstance(value, bool):
                raise ResultsFormatError(
                    f"expected {kind}, got {type(value).__name__} {value!r}",
                    source=source, field=f"{where}.{key}")
        values[key] = value
    return cls(**values)


def _benchmark_from_dict(raw: Any, index: int, source: str | None) -> Benchmark:
    if not isinstance(raw, dict):
        raise ResultsFormatError(f"must be an object, got {type(raw).__name__}",
                                 source=source, field=f"benchmarks[{index}]")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ResultsFormatError(f"must be a non-empty string, got {name!r}",
                                 source=source, field=f"benchmarks[{index}].name")
    raw_metrics = raw.get("metrics", {})
    if not isinstance(raw_metrics, dict):
        raise ResultsFormatError(f"must be an object, got {type(raw_metrics).__name__}",
                                 source=source, benchmark=name, field="metrics")
    parsed = {}
    for metric_name, raw_metric in raw_metrics.items():
        parsed[metric_name] = _metric_from_dict(raw_metric, source, name, f"metrics.{metric_name}")
    params = raw.get("params", {})
    if not isinstance(params, dict):
        raise ResultsFormatError(f"must be an object, got {type(params).__name__}",
                                 source=source, benchmark=name, field="params")
    error = raw.get("error")
    if error is not None and not isinstance(error, str):
        raise ResultsFormatError(f"must be a string or null, got {error!r}",
                                 source=source, benchmark=name, field="error")
    try:
        return Benchmark(name, parsed, params, raw.get("loops"), error)
    except ValueError as exc:
        raise ResultsFormatError(str(exc), source=source, benchmark=name) from exc


def _metric_from_dict(raw: Any, source: str | None, bench: str, where: str) -> Metric:
    if not isinstance(raw, dict):
        raise ResultsFormatError(f"must be an object, got {type(raw).__name__}",
                                 source=source, benchmark=bench, field=where)
    samples = raw.get("samples", [])
    if not isinstance(samples, list) or not all(isinstance(p, list) for p in samples):
        raise ResultsFormatError("must be a list of lists of numbers (one list per process)",
                                 source=source, benchmark=bench, field=f"{where}.samples")
    for p_index, process in enumerate(samples):
        for v_index, value in enumerate(process):
            if not _is_number(value):
                raise ResultsFormatError(
                    f"expected a number, got {type(value).__name__} {value!r}",
                    source=source, benchmark=bench, field=f"{where}.samples[{p_index}][{v_index}]")
    try:
        return Metric(unit=raw.get("unit"), direction=raw.get("direction", metrics.LOWER_IS_BETTER),
                      samples=tuple(tuple(p) for p in samples), value=raw.get("value"))
    except (ValueError, TypeError) as exc:
        raise ResultsFormatError(str(exc), source=source, benchmark=bench, field=where) from exc


# The reference article's baseline: {name: BenchmarkResult.__dict__}. Its fields,
# mapped to our metric names, units and directions. Latencies are seconds.
# The units are the article's (cpu_percent is a percentage, not the ratio the
# harness records), so they are written here rather than taken from the registry.
_ARTICLE_FIELDS = {
    "mean_latency": (metrics.TIME, "s", metrics.LOWER_IS_BETTER),
    "median_latency": (metrics.LATENCY_P50, "s", metrics.LOWER_IS_BETTER),
    "p95_latency": (metrics.LATENCY_P95, "s", metrics.LOWER_IS_BETTER),
    "p99_latency": (metrics.LATENCY_P99, "s", metrics.LOWER_IS_BETTER),
    "peak_memory": (metrics.PEAK_MEMORY, "B", metrics.LOWER_IS_BETTER),
    "memory_leaked": (metrics.RETAINED_MEMORY, "B", metrics.LOWER_IS_BETTER),
    "cpu_percent": (metrics.CPU_UTILISATION, "%", metrics.LOWER_IS_BETTER),
    "ops_per_second": (metrics.THROUGHPUT, "ops/s", metrics.HIGHER_IS_BETTER),
}
_ARTICLE_MARKERS = {"p99_latency", "mean_latency", "peak_memory", "ops_per_second"}


def _looks_like_article_baseline(data: dict[str, Any]) -> bool:
    return bool(data) and all(
        isinstance(v, dict) and _ARTICLE_MARKERS & set(v) for v in data.values())


def _suite_from_article_baseline(data: dict[str, Any], *, source: str | None) -> Suite:
    benchmarks = []
    for name, summary in data.items():
        summaries = {}
        for article_field, (metric, unit, direction) in _ARTICLE_FIELDS.items():
            if article_field not in summary:
                continue
            value = summary[article_field]
            if not _is_number(value) or not math.isfinite(value):
                raise ResultsFormatError(f"expected a finite number, got {value!r}",
                                         source=source, benchmark=name, field=article_field)
            summaries[metric] = Metric(unit=unit, direction=direction, value=value)
        benchmarks.append(Benchmark(name=name, metrics=summaries))
    return Suite(tuple(benchmarks), source_format=0)


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------

def load_suite(path: str | os.PathLike[str]) -> Suite:
    """Read a results file of any supported version; errors name the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsFormatError("file not found; check the path", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsFormatError(f"cannot read it: {exc}", source=str(path)) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsFormatError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            source=str(path)) from exc
    return suite_from_dict(data, source=str(path))


def dump_suite(suite: Suite, path: str | os.PathLike[str]) -> None:
    """Write atomically: a crash mid-write never leaves a truncated results file."""
    write_json_atomic(suite_to_dict(suite), path)


def write_json_atomic(data: Any, path: str | os.PathLike[str]) -> None:
    """Write JSON through a temporary file renamed over ``path``.

    The file gets ordinary permissions (0644 less the umask): the action runs
    as root in its container and the workflow's next step (the artifact
    upload) reads the file as the runner's own user, while mkstemp's 0600
    would lock it out.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise PerfActionError(f"cannot write {str(path)!r}: {exc.strerror or exc}; "
                              "choose a writable location") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o644 & ~_current_umask())
            json.dump(data, handle, indent=1, allow_nan=False)
            handle.write("\n")
        os.replace(tmp_name, path)
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise PerfActionError(f"cannot write {str(path)!r}: {exc.strerror or exc}; "
                              "choose a writable location") from exc
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

