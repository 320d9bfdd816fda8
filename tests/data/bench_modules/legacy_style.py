"""A module in the reference article's style, with its own in-process harness.

Its PerformanceBenchmark.run refuses to measure: if perfaction ever called
the module's own class instead of swapping in perfaction.compat's, every
benchmark here would fail with that message.
"""

from dataclasses import dataclass


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
    def __init__(self, name: str, warmup_iterations: int = 100, benchmark_iterations: int = 1000):
        self.name = name
        self.warmup_iterations = warmup_iterations
        self.benchmark_iterations = benchmark_iterations

    def run(self, func) -> BenchmarkResult:
        raise RuntimeError("the module's own in-process harness was used")


def benchmark_sum_small():
    numbers = list(range(50))

    def total():
        return sum(numbers)

    return PerformanceBenchmark("sum_small", warmup_iterations=10,
                                benchmark_iterations=100).run(total)


def benchmark_join_words():
    words = ["alpha", "beta", "gamma"] * 10

    def join():
        return ",".join(words)

    benchmark = PerformanceBenchmark("join_words", warmup_iterations=10,
                                     benchmark_iterations=100)
    return benchmark.run(join)


def run_all_benchmarks() -> dict[str, BenchmarkResult]:
    results = {}
    results["sum_small"] = benchmark_sum_small()
    results["join_words"] = benchmark_join_words()
    return results
