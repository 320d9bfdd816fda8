"""What --pytest refuses or reports, one test each."""

import pytest


def test_weave(benchmark):
    benchmark.weave(print)


def test_pedantic_setup(benchmark):
    benchmark.pedantic(sorted, setup=lambda: (([3, 1, 2],), {}), rounds=5)


def test_fails_after_measuring(benchmark):
    benchmark(sum, [1, 2])
    assert sum([1, 2]) == 4, "wrong answer"


def test_never_calls_it(benchmark):
    assert benchmark is not None


@pytest.mark.skip(reason="not on this platform")
def test_skipped(benchmark):
    benchmark(sum, [1])
