"""Twenty cheap benchmarks in a module whose import takes 1 s (a heavy dependency)."""

import time

from perfaction import benchmark

time.sleep(1.0)     # stands for importing numpy, pandas or scipy at module level


@benchmark(params={"size": list(range(1, 21))})
def total(size):
    numbers = list(range(size * 10))
    return lambda: sum(numbers)
