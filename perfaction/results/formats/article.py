"""The reference article's summary baseline: ``{name: {mean_latency, p99_latency, ...}}``.

That harness stored one ``BenchmarkResult.__dict__`` per benchmark: summary
numbers, no per-process samples. Each field maps to one of our metrics; the
values load as ``Metric.value`` (format version 0), so a comparison against
such a baseline can only say what the threshold alone can say.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from perfaction import metrics
from perfaction.errors import ResultsFormatError
from perfaction.results.model import Benchmark, Metric, Suite, is_number

# Latencies are seconds. The units are the article's (cpu_percent is a
# percentage, not the ratio the harness records), so they are written here
# rather than taken from the registry.
FIELDS = {
    "mean_latency": (metrics.TIME, "s", metrics.LOWER_IS_BETTER),
    "median_latency": (metrics.LATENCY_P50, "s", metrics.LOWER_IS_BETTER),
    "p95_latency": (metrics.LATENCY_P95, "s", metrics.LOWER_IS_BETTER),
    "p99_latency": (metrics.LATENCY_P99, "s", metrics.LOWER_IS_BETTER),
    "peak_memory": (metrics.PEAK_MEMORY, "B", metrics.LOWER_IS_BETTER),
    "memory_leaked": (metrics.RETAINED_MEMORY, "B", metrics.LOWER_IS_BETTER),
    "cpu_percent": (metrics.CPU_UTILISATION, "%", metrics.LOWER_IS_BETTER),
    "ops_per_second": (metrics.THROUGHPUT, "ops/s", metrics.HIGHER_IS_BETTER),
}
# Every entry of such a file has at least one of these.
MARKERS = frozenset({"p99_latency", "mean_latency", "peak_memory", "ops_per_second"})


@dataclass(frozen=True)
class ArticleSummaryReader:
    name: str = "the article-style summary baseline {name: {mean_latency, p99_latency, ...}}"

    def sniff(self, data: Any) -> bool:
        return isinstance(data, dict) and bool(data) and all(
            isinstance(entry, dict) and MARKERS & set(entry) for entry in data.values())

    def to_suite(self, data: Any, *, source: str | None = None) -> Suite:
        benchmarks = []
        for name, summary in data.items():
            summaries = {}
            for article_field, (metric, unit, direction) in FIELDS.items():
                if article_field not in summary:
                    continue
                value = summary[article_field]
                if not is_number(value) or not math.isfinite(value):
                    raise ResultsFormatError(f"expected a finite number, got {value!r}",
                                             source=source, benchmark=name, field=article_field)
                summaries[metric] = Metric(unit=unit, direction=direction, value=value)
            benchmarks.append(Benchmark(name=name, metrics=summaries))
        return Suite(tuple(benchmarks), source_format=0)


ARTICLE_SUMMARY = ArticleSummaryReader()
