"""Workloads for benchmarks/detection_quality.py, with a deterministic slowdown knob.

Three benchmarks of different character:

- ``py_loop``: a pure-Python integer loop over 200 ints, ~8 us per call;
- ``dict_group``: dict and list heavy: 100 blocks of 12 records, each block
  grouped by key into a fresh dict of lists, then reduced;
- ``numpy_norm``: numpy ufuncs (sin, exp, multiply) and a sum over 8192 floats.

The knob (``dq_knob.SLOWDOWN``, a fraction such as 0.05) makes each call do
proportionally more of the *same* work: the input (ints, blocks, floats) is
extended by its own first ``round(SLOWDOWN * N)`` items, so the call runs over
``N * (1 + SLOWDOWN)`` items. No sleeps, no randomness: the extra work is the
same in every process. The real slowdown is a little below the nominal one
where a fixed per-call cost (the call itself, numpy's dispatch) does not grow
with the input; detection_quality.py measures it in isolation and in its runs.

The knob lives in a separate module so that each measured tree can hold its
own value, the way a base and a head commit hold different code.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TypeVar

from perfaction import benchmark

try:  # each tree measured by detection_quality.py holds its own dq_knob.py
    from dq_knob import SLOWDOWN
except ImportError:  # imported on its own (tests, --verify-knob)
    SLOWDOWN = 0.0

T = TypeVar("T")

LOOP_ITEMS = 200       # py_loop: integers per call (~8 us)
GROUP_BLOCKS = 100     # dict_group: independent blocks per call (~150-250 us)
GROUP_RECORDS = 12     # records per block
GROUP_KEYS = 4         # distinct keys per block
NUMPY_ITEMS = 8192     # numpy_norm: floats per array; temporaries stay below 128 KiB,
                       # where glibc would switch to mmap and page faults would dominate


def extended(items: Sequence[T], slowdown: float) -> list[T]:
    """``items`` followed by its first ``round(slowdown * len(items))`` items."""
    if slowdown < 0:
        raise ValueError(f"slowdown must be 0 or more, got {slowdown!r}")
    extra = round(slowdown * len(items))
    return list(items) + list(items[:extra])


def make_py_loop(slowdown: float = 0.0) -> Callable[[], int]:
    data = extended(list(range(1, LOOP_ITEMS + 1)), slowdown)

    def py_loop() -> int:
        acc = 0
        for x in data:
            acc = (acc * 31 + x * x) % 1_000_003
        return acc
    return py_loop


def make_dict_group(slowdown: float = 0.0) -> Callable[[], int]:
    def build(count: int) -> list[list[tuple[str, int]]]:
        rng = random.Random(1234)   # fixed: every process builds the same records
        return [[(f"key{rng.randrange(GROUP_KEYS)}", rng.randrange(1000))
                 for _ in range(GROUP_RECORDS)] for _ in range(count)]

    # The extra blocks are fresh objects with the same content as the first
    # ones (not the same list objects again), so they cost what any block costs.
    extra = len(extended(range(GROUP_BLOCKS), slowdown)) - GROUP_BLOCKS
    blocks = build(GROUP_BLOCKS) + build(extra)

    def dict_group() -> int:
        total = 0
        for records in blocks:
            groups: dict[str, list[int]] = {}
            for key, value in records:
                bucket = groups.get(key)
                if bucket is None:
                    groups[key] = bucket = []
                bucket.append(value)
            total += sum(max(values) - min(values) for values in groups.values())
        return total
    return dict_group


def make_numpy_norm(slowdown: float = 0.0) -> Callable[[], float]:
    import numpy as np  # imported here so only this benchmark's processes pay for it

    rng = np.random.default_rng(1234)
    x = extended(rng.standard_normal(NUMPY_ITEMS).tolist(), slowdown)
    y = extended(rng.standard_normal(NUMPY_ITEMS).tolist(), slowdown)
    xs, ys = np.array(x), np.array(y)

    def numpy_norm() -> float:
        return float((np.sin(xs) * np.exp(-0.5 * ys * ys)).sum())
    return numpy_norm


FACTORIES = {"py_loop": make_py_loop, "dict_group": make_dict_group,
             "numpy_norm": make_numpy_norm}


@benchmark
def py_loop():
    return make_py_loop(SLOWDOWN)


@benchmark
def dict_group():
    return make_dict_group(SLOWDOWN)


@benchmark
def numpy_norm():
    return make_numpy_norm(SLOWDOWN)
