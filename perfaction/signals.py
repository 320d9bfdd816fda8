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
from types import FrameType


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"received signal {signal.Signals(signum).name}")


def terminate_as_interrupt() -> None:
    """Install the handler (main thread only, as every signal handler in Python)."""
    signal.signal(signal.SIGTERM, _interrupt)
