"""pytest-benchmark's ``--benchmark-json`` output: summaries of one process.

pytest-benchmark times every round of a test in the one pytest process, so
its rounds share that process's luck (where the heap, the caches and the
neighbours happened to be); many rounds make a tight interval around a value
the next process may not reproduce. With one process a side there is nothing
to test a difference against, so each test loads as a summary (its median,
seconds per call, as ``Metric.value``): a comparison shows the change and says
why it cannot decide (reason ``summary_only``), never a verdict it cannot back.
To decide, measure both sides with perfaction, which gives each benchmark
one value per fresh process.

The layout (pytest-benchmark 3.x to 5.x): ``{"machine_info", "commit_info",
"benchmarks": [{"name", "fullname", "stats": {"median", "ops", ...}}],
"datetime", "version"}``. Names are pytest's node ids (``fullname``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from perfaction import metrics
from perfaction.errors import ResultsFormatError
from perfaction.results.model import Benchmark, Environment, Metric, Suite, is_number, text_or_none

_COMMIT = re.compile(r"[0-9a-fA-F]{7,64}")


def _commit(value: Any) -> str | None:
    """A commit id; pytest-benchmark writes "unversioned" outside a repository."""
    return value if isinstance(value, str) and _COMMIT.fullmatch(value) else None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _environment(data: dict[str, Any]) -> Environment:
    machine = _object(data.get("machine_info"))
    cpu = _object(machine.get("cpu"))
    commit = _object(data.get("commit_info"))
    cores = cpu.get("count")
    system = " ".join(t for t in (text_or_none(machine.get("system")), text_or_none(machine.get("release"))) if t)
    return Environment(
        cpu_model=text_or_none(cpu.get("brand_raw")) or text_or_none(cpu.get("brand")),
        logical_cores=cores if isinstance(cores, int) and not isinstance(cores, bool) else None,
        os=system or None, machine=text_or_none(machine.get("machine")),
        python_version=text_or_none(machine.get("python_version")),
        python_implementation=text_or_none(machine.get("python_implementation")),
        commit_sha=_commit(commit.get("id")), timestamp=text_or_none(data.get("datetime")))


@dataclass(frozen=True)
class PytestBenchmarkReader:
    name: str = "pytest-benchmark JSON (pytest --benchmark-json FILE)"

    def sniff(self, data: Any) -> bool:
        benchmarks = data.get("benchmarks") if isinstance(data, dict) else None
        return ("machine_info" in data and isinstance(benchmarks, list)
                and all(isinstance(b, dict) and "stats" in b for b in benchmarks))

    def to_suite(self, data: Any, *, source: str | None = None) -> Suite:
        benchmarks = [_benchmark(raw, index, source)
                      for index, raw in enumerate(data["benchmarks"])]
        if not benchmarks:
            raise ResultsFormatError("holds no benchmark", source=source, field="benchmarks")
        try:
            # format 0: summaries, like the article's baseline (no samples to test)
            return Suite(tuple(benchmarks), _environment(data), source_format=0)
        except ValueError as exc:       # a node id twice
            raise ResultsFormatError(str(exc), source=source, field="benchmarks") from None


def _benchmark(raw: dict[str, Any], index: int, source: str | None) -> Benchmark:
    name = text_or_none(raw.get("fullname")) or text_or_none(raw.get("name"))
    if name is None:
        raise ResultsFormatError("has neither 'fullname' nor 'name'", source=source,
                                 field=f"benchmarks[{index}]")
    stats = raw["stats"]
    if not isinstance(stats, dict):
        raise ResultsFormatError("must be an object", source=source, benchmark=name,
                                 field="stats")
    median: Any = stats.get("median")
    if not (is_number(median) and math.isfinite(median) and median > 0):
        raise ResultsFormatError(f"must be a positive number of seconds, got {median!r}",
                                 source=source, benchmark=name, field="stats.median")
    try:
        metric = Metric(unit="s", direction=metrics.LOWER_IS_BETTER, value=float(median))
    except ValueError as exc:
        raise ResultsFormatError(str(exc), source=source, benchmark=name,
                                 field="stats.median") from None
    return Benchmark(name=name, metrics={metrics.TIME: metric})


PYTEST_BENCHMARK = PytestBenchmarkReader()
