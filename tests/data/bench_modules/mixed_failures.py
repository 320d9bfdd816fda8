"""One healthy benchmark among benchmarks that fail in every way the runner handles."""

import os
import sys
import time

from perfaction import benchmark


@benchmark
def healthy():
    numbers = list(range(20))
    print("set-up output must not corrupt the worker's result")
    return lambda: sum(numbers)


@benchmark
def setup_raises():
    raise ValueError("no market data for this symbol")


@benchmark
def call_raises():
    def boom():
        raise KeyError("missing order id")
    return boom


@benchmark
def returns_number():
    return 42


@benchmark
def hangs():
    while True:
        time.sleep(0.05)


@benchmark
def exits_process():
    def leave():
        sys.stdout.flush()
        os._exit(3)
    return leave


@benchmark(params={"n": [5, 50]})
def also_healthy(n):
    data = list(range(n))
    return lambda: max(data)
