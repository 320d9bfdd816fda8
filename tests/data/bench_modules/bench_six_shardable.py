"""Six small benchmarks (three functions) the sharding tests split into parts."""
from perfaction import benchmark


@benchmark(params={"size": [10, 100, 1000]})
def summing(size):
    data = list(range(size))
    return lambda: sum(data)


@benchmark(params={"words": [5, 50]})
def joining(words):
    parts = ["w"] * words
    return lambda: "-".join(parts)


@benchmark
def sorting():
    data = list(range(200, 0, -1))
    return lambda: sorted(data)
