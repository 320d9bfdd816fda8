"""A tiny benchmark for the end-to-end tests.

PERF_E2E_SLOWDOWN (an integer, default 1) multiplies the work per call, so a
workflow step can make the head measurably slower than its baseline.
"""

import os

from perfaction import benchmark

SLOWDOWN = int(os.environ.get("PERF_E2E_SLOWDOWN", "1"))


@benchmark
def sum_list():
    data = list(range(2000 * SLOWDOWN))
    return lambda: sum(data)
