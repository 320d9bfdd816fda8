"""pyperf's JSON (``python -m pyperf timeit -o x.json``, a pyperf Runner's ``-o``).

pyperf measures like perfaction: several worker processes, a few values
each, every value in seconds per call (loops already divided out). Each run
that holds values is one process, so a pyperf file loads with full
per-process samples and gets the same tests as perfaction's own results.

The layout (pyperf's ``_bench.py``, format "1.0"): ``{"version", "metadata",
"benchmarks": [{"metadata", "runs": [{"metadata", "warmups", "values"}]}]}``.
Metadata is inherited downwards: the suite's, then the benchmark's, then the
run's, so a benchmark's name or unit may sit at any of the three levels.
Calibration runs carry warmups only; they are skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from perfaction import metrics
from perfaction.errors import ResultsFormatError
from perfaction.results.model import Benchmark, Environment, Metric, Suite, is_number, text_or_none

VERSIONS = ("1.0",)      # older files (0.9.x) name their fields differently: pyperf converts them
# pyperf's units, as metrics: its "second" is wall time per call; "byte" is
# what --track-memory / --tracemalloc record, the peak of the process.
UNITS = {"second": (metrics.TIME, "s"), "byte": (metrics.PEAK_MEMORY, "B")}


def _metadata(*levels: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for level in levels:
        if isinstance(level, dict):
            merged.update(level)
    return merged


def _environment(metadata: dict[str, Any]) -> Environment:
    """The fields perfaction's fingerprint uses, where pyperf recorded them."""
    version = text_or_none(metadata.get("python_version"))
    implementation = text_or_none(metadata.get("python_implementation"))
    cores = metadata.get("cpu_count")
    return Environment(
        cpu_model=text_or_none(metadata.get("cpu_model_name")),
        logical_cores=cores if isinstance(cores, int) and not isinstance(cores, bool) else None,
        os=text_or_none(metadata.get("platform")),
        # "3.11.7 (64-bit) revision fa7a6f2303": the version alone, as perfaction records it
        python_version=version.split()[0] if version else None,
        python_implementation={"cpython": "CPython", "pypy": "PyPy"}.get(
            implementation or "", implementation),
        timestamp=text_or_none(metadata.get("date")))


@dataclass(frozen=True)
class PyperfReader:
    name: str = "pyperf JSON (python -m pyperf ... -o FILE)"

    def sniff(self, data: Any) -> bool:
        benchmarks = data.get("benchmarks") if isinstance(data, dict) else None
        return (data.get("version") in VERSIONS and isinstance(benchmarks, list)
                and all(isinstance(b, dict) and "runs" in b for b in benchmarks))

    def to_suite(self, data: Any, *, source: str | None = None) -> Suite:
        suite_metadata = data.get("metadata")
        if suite_metadata is not None and not isinstance(suite_metadata, dict):
            raise ResultsFormatError("must be an object", source=source, field="metadata")
        benchmarks, first_metadata = [], None
        for index, raw in enumerate(data["benchmarks"]):
            bench_metadata = _metadata(suite_metadata, raw.get("metadata"))
            first_metadata = first_metadata or bench_metadata
            benchmarks.append(_benchmark(raw, index, bench_metadata, source))
        if not benchmarks:
            raise ResultsFormatError("holds no benchmark", source=source, field="benchmarks")
        try:
            return Suite(tuple(benchmarks), _environment(first_metadata or {}))
        except ValueError as exc:       # a name twice
            raise ResultsFormatError(str(exc), source=source, field="benchmarks") from None


def _benchmark(raw: dict[str, Any], index: int, metadata: dict[str, Any],
               source: str | None) -> Benchmark:
    runs = raw["runs"]
    where = f"benchmarks[{index}]"
    if not isinstance(runs, list):
        raise ResultsFormatError("must be a list", source=source, field=f"{where}.runs")
    run_metadata = [_metadata(metadata, r.get("metadata")) if isinstance(r, dict) else {}
                    for r in runs]
    name = text_or_none(metadata.get("name")) or next(
        (text_or_none(m.get("name")) for m in run_metadata if text_or_none(m.get("name"))), None)
    if name is None:
        raise ResultsFormatError("has no 'name' in its metadata (nor in the suite's or a run's)",
                                 source=source, field=where)
    unit = metadata.get("unit", "second")
    if unit not in UNITS:
        raise ResultsFormatError(
            f"unit {unit!r} has no perfaction metric; perfaction reads pyperf's "
            f"{', '.join(map(repr, UNITS))}", source=source, benchmark=name,
            field="metadata.unit")
    metric_name, metric_unit = UNITS[unit]
    samples = []
    for run_index, run in enumerate(runs):
        if not isinstance(run, dict):
            raise ResultsFormatError("must be an object", source=source, benchmark=name,
                                     field=f"runs[{run_index}]")
        values = run.get("values") or []     # a calibration run has warmups only
        if not isinstance(values, list) or not all(
                is_number(v) and math.isfinite(v) and v > 0 for v in values):
            raise ResultsFormatError("must be a list of positive finite numbers",
                                     source=source, benchmark=name,
                                     field=f"runs[{run_index}].values")
        if values:
            samples.append(tuple(float(v) for v in values))
    if not samples:
        raise ResultsFormatError("no run holds values (calibration runs only?)", source=source,
                                 benchmark=name, field="runs")
    try:
        metric = Metric(unit=metric_unit, direction=metrics.LOWER_IS_BETTER,
                        samples=tuple(samples))
    except ValueError as exc:
        raise ResultsFormatError(str(exc), source=source, benchmark=name, field="runs") from None
    return Benchmark(name=name, metrics={metric_name: metric})


PYPERF = PyperfReader()
