"""Benchmarks written in the older ``PerformanceBenchmark`` style, unchanged.

This is how many suites looked before perfaction: each benchmark function
builds a ``PerformanceBenchmark(name, warmup_iterations, benchmark_iterations)``,
calls ``.run(func)`` and returns a ``BenchmarkResult``; ``run_all_benchmarks()``
collects them. Run on its own (``python examples/legacy_article_style.py``)
it measures in-process, with tracemalloc on while timing, as that style did.

Under ``perfaction run examples/legacy_article_style.py`` nothing here needs to
change: perfaction swaps this module's ``PerformanceBenchmark`` for
``perfaction.compat.PerformanceBenchmark``, so each ``run(func)`` hands ``func``
to the harness (fresh processes, calibrated loops, memory in a separate
untimed pass). The iteration counts below are then ignored.
"""

import json
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class BenchmarkResult:
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


class PerformanceBenchmark:
    """The in-process harness of that style (replaced when perfaction runs the module)."""

    def __init__(self, name: str, warmup_iterations: int = 100, benchmark_iterations: int = 1000):
        self.name = name
        self.warmup_iterations = warmup_iterations
        self.benchmark_iterations = benchmark_iterations

    def run(self, func: Callable[[], object]) -> BenchmarkResult:
        for _ in range(self.warmup_iterations):
            func()
        tracemalloc.start()
        start_memory = tracemalloc.get_traced_memory()[0]
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        latencies: list[float] = []
        for _ in range(self.benchmark_iterations):
            begin = time.perf_counter()
            func()
            latencies.append(time.perf_counter() - begin)
        cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        ordered = sorted(latencies)
        count = len(ordered)
        return BenchmarkResult(
            name=self.name, iterations=count, min_latency=ordered[0], max_latency=ordered[-1],
            mean_latency=statistics.mean(ordered), median_latency=statistics.median(ordered),
            p95_latency=ordered[int(count * 0.95)], p99_latency=ordered[int(count * 0.99)],
            peak_memory=peak, memory_leaked=current - start_memory,
            cpu_percent=100.0 * cpu / wall, ops_per_second=count / sum(ordered))


class TopOfBook:
    """The latest best bid and ask from a quote feed (bounded: one level a side)."""

    def __init__(self):
        self.bid: float | None = None
        self.ask: float | None = None

    def quote(self, side: str, price: float) -> None:
        if side == "buy":
            self.bid = price
        else:
            self.ask = price

    def mid(self) -> float | None:
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2


def benchmark_orderbook_updates():
    book = TopOfBook()
    rng = np.random.default_rng(7)
    quotes = [("buy", 99.9 + q) if i % 2 == 0 else ("sell", 100.1 + q)
              for i, q in enumerate(rng.normal(0, 0.01, 4096))]
    position = [0]

    def update():
        side, price = quotes[position[0] % len(quotes)]
        position[0] += 1
        book.quote(side, price)
        return book.mid()

    benchmark = PerformanceBenchmark("orderbook_updates", warmup_iterations=1000,
                                     benchmark_iterations=10000)
    return benchmark.run(update)


def benchmark_var_calculation():
    returns = np.random.default_rng(11).normal(0, 0.01, 1000)

    def calc_var():
        return -np.percentile(returns, 1)

    benchmark = PerformanceBenchmark("var_calculation", warmup_iterations=100,
                                     benchmark_iterations=1000)
    return benchmark.run(calc_var)


def benchmark_trade_matching():
    bids = sorted((100 - i * 0.01 for i in range(50)), reverse=True)
    asks = sorted(99.9 + i * 0.01 for i in range(50))

    def match():
        return [(b, a) for b, a in zip(bids, asks, strict=True) if b >= a]

    benchmark = PerformanceBenchmark("trade_matching", warmup_iterations=100,
                                     benchmark_iterations=1000)
    return benchmark.run(match)


def run_all_benchmarks() -> dict[str, BenchmarkResult]:
    results = {}
    results["orderbook_updates"] = benchmark_orderbook_updates()
    results["var_calculation"] = benchmark_var_calculation()
    results["trade_matching"] = benchmark_trade_matching()
    return results


if __name__ == "__main__":
    print(json.dumps({name: asdict(r) for name, r in run_all_benchmarks().items()}, indent=2))
