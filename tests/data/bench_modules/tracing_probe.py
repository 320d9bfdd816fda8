"""Detects tracemalloc from inside the timed callable.

When tracemalloc is on, each call sleeps 2 ms; when off it returns at once.
The memory pass (tracing on, untimed) therefore takes a little longer, but
the timed values stay far below 2 ms per call only if tracemalloc is never
active while timing.
"""

import time
import tracemalloc

from perfaction import benchmark


def _probe():
    if tracemalloc.is_tracing():
        time.sleep(0.002)


@benchmark
def probe():
    return _probe


@benchmark
def starts_tracing_in_setup():
    # A set-up that leaves tracemalloc on must be refused, not timed.
    tracemalloc.start()
    return lambda: None
