"""Compatibility with the reference article's benchmark style.

Modules written in that style define functions that build
``PerformanceBenchmark(name, warmup_iterations, benchmark_iterations)``, call
``.run(func)`` and return a ``BenchmarkResult``; a ``run_all_benchmarks()``
collects them into ``{name: result}``. Such a module runs unchanged under
``perfaction run``: discovery swaps the module's ``PerformanceBenchmark`` for
the one below while a collector is active, so ``run(func)`` hands ``func`` to
the harness (fresh processes, calibrated loops, memory measured in a separate
untimed pass) instead of timing it in-process with tracemalloc switched on.

Users may also import both classes from here. Outside the harness,
``PerformanceBenchmark.run`` measures in-process and returns real numbers, with
tracemalloc kept out of the timed loop.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass
class BenchmarkResult:
    """Summary of one benchmark, with the reference article's field names.

    Latencies are seconds, memory is bytes, ``cpu_percent`` is percent of
    one core.
    """

    name: str
    iterations: int
    min_latency: float
    max_latency: float
    mean_latency: float
    median_latency: float
    p95_latency: float
    p99_latency: float
    peak_memory: int
    memory_leaked: int
    cpu_percent: float
    ops_per_second: float

    @classmethod
    def from_measurements(cls, name: str, latencies: list[float], peak_memory: int,
                          memory_leaked: int, cpu_percent: float) -> BenchmarkResult:
        ordered = sorted(latencies)
        count = len(ordered)
        if count == 0:
            return cls.placeholder(name)
        total = sum(ordered)
        return cls(
            name=name, iterations=count,
            min_latency=ordered[0], max_latency=ordered[-1],
            mean_latency=total / count, median_latency=statistics.median(ordered),
            p95_latency=ordered[min(count - 1, int(count * 0.95))],
            p99_latency=ordered[min(count - 1, int(count * 0.99))],
            peak_memory=peak_memory, memory_leaked=memory_leaked,
            cpu_percent=cpu_percent,
            ops_per_second=count / total if total > 0 else 0.0)

    @classmethod
    def placeholder(cls, name: str) -> BenchmarkResult:
        """What ``run`` returns while the harness collects: zeros, never measured."""
        return cls(name=name, iterations=0, min_latency=0.0, max_latency=0.0,
                   mean_latency=0.0, median_latency=0.0, p95_latency=0.0, p99_latency=0.0,
                   peak_memory=0, memory_leaked=0, cpu_percent=0.0, ops_per_second=0.0)


@dataclass(frozen=True)
class Collected:
    """One ``run(func)`` call seen while collecting."""

    name: str
    func: Callable[[], Any]
    warmup_iterations: int
    benchmark_iterations: int
    entry: str | None   # the module-level function that called run(), if any


_collectors: list[list[Collected]] = []


@contextmanager
def collecting() -> Iterator[list[Collected]]:
    """While active, ``PerformanceBenchmark.run`` records instead of measuring."""
    found: list[Collected] = []
    _collectors.append(found)
    try:
        yield found
    finally:
        _collectors.pop()


class PerformanceBenchmark:
    """Drop-in for the article's class: same constructor, same ``run(func)``."""

    def __init__(self, name: str, warmup_iterations: int = 100,
                 benchmark_iterations: int = 1000):
        self.name = name
        self.warmup_iterations = warmup_iterations
        self.benchmark_iterations = benchmark_iterations

    def run(self, func: Callable[[], Any]) -> BenchmarkResult:
        if not callable(func):
            raise TypeError(f"PerformanceBenchmark({self.name!r}).run needs a callable, "
                            f"got {type(func).__name__}")
        if _collectors:
            caller = sys._getframe(1).f_code.co_name
            _collectors[-1].append(Collected(self.name, func, self.warmup_iterations,
                                             self.benchmark_iterations,
                                             None if caller.startswith("<") else caller))
            return BenchmarkResult.placeholder(self.name)
        return self._measure_here(func)

    def _measure_here(self, func: Callable[[], Any]) -> BenchmarkResult:
        """In-process measurement for scripts run outside perfaction.

        Timing first with tracemalloc off; then a separate, shorter pass with
        tracemalloc on for peak and leaked memory, so tracing overhead never
        lands in the latencies.
        """
        for _ in range(self.warmup_iterations):
            func()
        gc.collect()
        latencies = []
        clock = time.perf_counter
        cpu_start, wall_start = time.process_time(), clock()
        for _ in range(self.benchmark_iterations):
            start = clock()
            func()
            latencies.append(clock() - start)
        cpu, wall = time.process_time() - cpu_start, clock() - wall_start
        peak, leaked = _memory_pass(func, max(1, min(self.benchmark_iterations, 100)))
        return BenchmarkResult.from_measurements(
            self.name, latencies, peak_memory=peak, memory_leaked=leaked,
            cpu_percent=100.0 * cpu / wall if wall > 0 else 0.0)


def _memory_pass(func: Callable[[], Any], calls: int) -> tuple[int, int]:
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(calls):
            func()
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
        return max(0, peak - before), current - before
    finally:
        if not was_tracing:
            tracemalloc.stop()


def is_legacy_module(module: Any) -> bool:
    """True for a module in the article's style (no ``@benchmark`` functions needed)."""
    return callable(getattr(module, "run_all_benchmarks", None)) or \
        isinstance(getattr(module, "PerformanceBenchmark", None), type)
