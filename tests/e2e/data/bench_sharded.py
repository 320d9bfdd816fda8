"""Six small benchmarks for the sharded end-to-end test (tests/e2e/test_act_sharded.py).

Three shard jobs measure two benchmarks each. The regression case commits a
version of this file whose SLOWED names one benchmark: that one then does
SLOWDOWN times the work per call on the pull request's head, and the base
commit (measured beside it in same-runner mode) does not.
"""

import json

from perfaction import benchmark

SLOWED: tuple[str, ...] = ()
SLOWDOWN = 3


def size(name: str, n: int) -> int:
    """``n``, or SLOWDOWN times ``n`` for the benchmark the head commit slowed."""
    return n * SLOWDOWN if name in SLOWED else n


@benchmark
def sum_list():
    data = list(range(size("sum_list", 2000)))
    return lambda: sum(data)


@benchmark
def sum_squares():
    n = size("sum_squares", 500)
    return lambda: sum(i * i for i in range(n))


@benchmark
def sort_words():
    words = [f"w{(i * 7919) % 1000:04d}" for i in range(size("sort_words", 500))]
    return lambda: sorted(words)


@benchmark
def join_text():
    parts = [str(i) for i in range(size("join_text", 1000))]
    return lambda: ",".join(parts)


@benchmark
def dict_lookups():
    table = {i: i * 2 for i in range(size("dict_lookups", 1000))}
    keys = list(table)
    return lambda: sum(table[k] for k in keys)


@benchmark
def json_round_trip():
    data = {"numbers": list(range(size("json_round_trip", 100))), "text": "x" * 50}
    return lambda: json.loads(json.dumps(data))
