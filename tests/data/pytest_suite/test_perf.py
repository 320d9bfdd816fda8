"""A pytest-benchmark suite as teams write them; perfaction runs it unchanged (--pytest).

WORK scales the sort; the tests edit it to make a slower head.
"""

import pytest

WORK = 1


@pytest.mark.parametrize("n", [100, 1000])
def test_sort(benchmark, n):
    data = list(range(n))[::-1]
    result = benchmark(lambda: [sorted(data) for _ in range(WORK)][-1])
    assert result[0] == 0


def test_count(benchmark, words):
    def count():
        out = {}
        for w in words:
            out[w] = out.get(w, 0) + 1
        return out
    assert len(benchmark(count)) == 37


def test_join_pedantic(benchmark):
    benchmark.pedantic(",".join, args=(["x"] * 50,), rounds=20, iterations=10)


def test_not_a_benchmark():
    assert True
