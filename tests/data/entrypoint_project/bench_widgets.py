"""A tiny benchmark module the entrypoint tests run inside a fake workspace.

One benchmark only: each test runs it for real, and every benchmark costs
worker processes.
"""

from perfaction import benchmark


@benchmark
def sum_squares():
    numbers = list(range(200))
    return lambda: sum(n * n for n in numbers)
