"""SIGTERM handled like Ctrl-C, so clean-up code runs when a job is cancelled.

A cancelled CI job, ``docker stop`` and ``timeout`` send SIGTERM. Python's
default for it is to die at once, skipping every ``finally``: worker process
groups would keep running and an A/B run's base worktree would stay behind.
Turned into KeyboardInterrupt, it takes the paths Ctrl-C already takes (the
launcher kills the worker's group, the worktree context removes the tree), and
the command exits 2 with a message. It also matters for the container: as
process 1, the entrypoint ignores SIGTERM unless it installs a handler.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


def interruption(exc: KeyboardInterrupt) -> str:
    """What to add to "interrupted": the signal's name in brackets, or nothing for Ctrl-C."""
    return f" ({exc})" if str(exc) else ""


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"received signal {signal.Signals(signum).name}")


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt inside the block; the previous handler after it.

    Python lets only the main thread install handlers; called from another
    thread (an embedding application), the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
