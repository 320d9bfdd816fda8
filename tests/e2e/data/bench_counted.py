"""Benchmarks for the instruction-mode end-to-end test: the test edits SIZE on
the pull request's branch to give one benchmark 2 % more work."""

import json

from perfaction import benchmark

SIZE = 1000


@benchmark
def squares():
    return lambda: sum(i * i for i in range(SIZE))


@benchmark
def json_round_trip():
    data = {"numbers": list(range(100)), "text": "x" * 50}
    return lambda: json.loads(json.dumps(data))
