"""Memory that grows by design but is bounded, next to a real unbounded leak."""

import itertools

from perfaction import benchmark


@benchmark
def bounded_cache():
    # A cache capped at 500 entries: fills up, then replaces entries.
    cache = {}
    counter = itertools.count()

    def put():
        key = next(counter) % 500
        cache[key] = bytearray(100)
    return put


@benchmark
def capped_history():
    # A list the benchmark appends to by design, up to a fixed length.
    history = []

    def record():
        if len(history) < 2000:
            history.append(bytearray(64))
    return record


@benchmark
def leaks():
    # Grows on every call, without bound.
    kept = []

    def remember():
        kept.append(bytearray(100))
    return remember
