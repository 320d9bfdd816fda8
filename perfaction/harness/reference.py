"""The runner's speed, read in every measuring worker: a fixed Python workload, timed.

A baseline stored by an earlier run was measured on some runner at some
moment; this run's runner may be another model, or the same one with a job
competing for its cores. Every benchmark of the suite then moves together,
and nothing in the benchmarks' own figures says whether the code or the
runner changed. So each measuring worker, right after the import, times a
workload that never changes: integer arithmetic, a dict and tuple hashing,
the interpreter's everyday work. The results record its median over the
run's workers (``Environment.speed_reference``); the comparison reads a
reference that moved with the suite as the runner's doing
(analysis/contention.py).

Deterministic: ints and tuples of ints hash the same in every process
(no hash randomisation), and the workload allocates nothing that outlives it.
Standard library only: this runs in the worker, next to user code.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

ITEMS = 2_000       # one call: ~0.5 ms on a 2-core cloud runner
CALLS = 4           # calls per value: ~2 ms
VALUES = 5          # values per worker: ~10 ms in all


def workload() -> int:
    """The fixed work: a dict of running sums and a fold of tuple hashes."""
    table: dict[int, int] = {}
    folded = 0
    for i in range(ITEMS):
        key = i % 97
        table[key] = table.get(key, 0) + i * i
        folded ^= hash((key, i)) & 0xFFFF
    return folded + len(table)


def time_reference(*, values: int = VALUES, calls: int = CALLS,
                   clock: Callable[[], float] = time.perf_counter) -> float:
    """Median seconds of one workload call over ``values`` timed values (one warm-up first)."""
    workload()
    seconds = []
    for _ in range(values):
        start = clock()
        for _ in range(calls):
            workload()
        seconds.append((clock() - start) / calls)
    return statistics.median(seconds)
