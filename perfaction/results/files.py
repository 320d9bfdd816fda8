"""The results file: a Suite's versioned JSON form, read and written.

Everything else in perfaction reads and writes suites through this module, so
the file format is defined in exactly one place (docs/results-format.md).

Format versions (``format_version`` in the JSON):

- 0: the reference article's summary-only baseline, ``{name: {p99_latency,
  mean_latency, peak_memory, ops_per_second, ...}}``, read by
  formats/article.py. No samples, so it loads with ``Metric.value`` set and
  ``Suite.has_samples`` false; comparisons against it can only be
  inconclusive or threshold-only.
- 1: first perfaction format. Raw per-process samples for every metric, an
  environment fingerprint and the run settings.

Loading accepts every version up to FORMAT_VERSION and upgrades it in memory
(``_UPGRADES``); a newer version is refused rather than half-read. A document
without ``format_version`` is offered to the readers of other tools' formats
(formats/), and refused, naming the formats known, when none takes it.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any

from perfaction import metrics
from perfaction.errors import PerfActionError, ResultsFormatError
from perfaction.results.formats import find_reader, known_formats
from perfaction.results.model import (
    FORMAT_VERSION,
    Benchmark,
    Environment,
    Metric,
    RunSettings,
    Suite,
    bounded_number,
    is_number,
    shown,
)


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
    if bench.shard is not None:
        data["shard"] = bench.shard
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
        reader = find_reader(data)
        if reader is not None:
            return reader.to_suite(data, source=source)
        raise ResultsFormatError(
            "no 'format_version': this is neither a perfaction results file nor one of the "
            f"other formats perfaction reads ({known_formats()})", source=source)
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
                    f"expected {kind}, got {type(value).__name__} {shown(value)}",
                    source=source, field=f"{where}.{key}")
            if kind in ("int", "float") and not bounded_number(value):
                raise ResultsFormatError(f"{shown(value)} is beyond any value this field takes",
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
    shard = raw.get("shard")
    if shard is not None and (not isinstance(shard, int) or isinstance(shard, bool)
                              or not 1 <= shard <= 10_000):
        raise ResultsFormatError(f"must be a shard number from 1 to 10000, got {shown(shard)}",
                                 source=source, benchmark=name, field="shard")
    try:
        return Benchmark(name, parsed, params, raw.get("loops"), error, shard)
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
            if not is_number(value):
                raise ResultsFormatError(
                    f"expected a number, got {type(value).__name__} {value!r}",
                    source=source, benchmark=bench, field=f"{where}.samples[{p_index}][{v_index}]")
    unchecked: Any = raw   # Metric checks the unit, direction and value itself
    try:
        return Metric(unit=unchecked.get("unit"),
                      direction=unchecked.get("direction", metrics.LOWER_IS_BETTER),
                      samples=tuple(tuple(p) for p in samples), value=unchecked.get("value"))
    except (ValueError, TypeError) as exc:
        raise ResultsFormatError(str(exc), source=source, benchmark=bench, field=where) from exc


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------

def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):      # 1e999 reads as infinity
        raise ValueError(f"{text[:40]} is beyond the range of a number")
    return value


def parse_json(text: str | bytes, *, source: str | None = None, advice: str = "") -> Any:
    """JSON from a file we did not write, or a ResultsFormatError naming it.

    Beyond malformed text, the standard parser raises other errors for input
    made to hurt: integers over 4,300 digits (ValueError), nesting thousands
    deep (RecursionError), and it accepts NaN and Infinity, which JSON does
    not. Each is refused here the same way.
    """
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        problem = f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    except RecursionError:
        problem = "not usable JSON: nested too deep"
    except ValueError as exc:          # over-long integers, NaN or Infinity
        problem = f"not usable JSON: {exc}"
    raise ResultsFormatError(problem + advice, source=source) from None


def load_suite(path: str | os.PathLike[str]) -> Suite:
    """Read a results file of any supported version; errors name the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsFormatError("file not found; check the path", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsFormatError(f"cannot read it: {exc}", source=str(path)) from exc
    return suite_from_dict(parse_json(text, source=str(path)), source=str(path))


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
