"""Progress while a suite runs: which benchmark, round i/N, time left.

On a terminal one line is rewritten in place (``\\r``); elsewhere (CI logs)
plain lines are printed, at most one every few seconds plus every new round
and every failure, so a log stays readable. Both go to stderr by default:
stdout is left to results and summaries.

Messages carry text from the project's code (benchmark names, a worker's
last stderr lines, exception messages). In a workflow log a line of it could
act as a workflow command, so every line printed passes through
``untrusted.defuse``, the same function the action's own log lines use.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from typing import TextIO

from perfaction.untrusted import defuse


class Progress:
    """The reporter interface the runner calls; this base class prints nothing."""

    def start(self, *, benchmarks: int, budget: float) -> None:
        pass

    def status(self, message: str) -> None:
        pass

    def step(self, *, round_index: int, rounds: int | None, benchmark: str,
             time_left: float) -> None:
        pass

    def failure(self, message: str) -> None:
        pass

    def note(self, message: str) -> None:
        """A warning worth a line of its own (e.g. the budget is too small)."""

    def finish(self, *, elapsed: float) -> None:
        pass


def _step_text(round_index: int, rounds: int | None, benchmark: str, time_left: float) -> str:
    """``rounds`` is None while the total is an estimate: the budget's plan is
    revised after every round, and a total that jumps (1/5, 2/4, 3/5) reads
    as a bug; the time left is the steady measure of progress then."""
    left = f"{max(0.0, time_left):.0f} s left" if time_left > 0 else "over budget"
    total = "" if rounds is None else f"/{rounds}"
    return f"round {round_index}{total}  {benchmark}  ({left})"


class PlainProgress(Progress):
    """Whole lines, rate-limited: for CI logs and pipes."""

    def __init__(self, stream: TextIO, *, interval: float = 5.0,
                 clock: Callable[[], float] = time.monotonic):
        self._stream = stream
        self._interval = interval
        self._clock = clock
        self._last_line = -float("inf")
        self._last_round = 0

    def _print(self, text: str) -> None:
        print(defuse(f"perfaction: {text}"), file=self._stream, flush=True)
        self._last_line = self._clock()

    def start(self, *, benchmarks: int, budget: float) -> None:
        self._print(f"measuring {benchmarks} benchmark(s), time budget {budget:g} s")

    def status(self, message: str) -> None:
        self._print(message)

    def step(self, *, round_index: int, rounds: int | None, benchmark: str,
             time_left: float) -> None:
        if round_index != self._last_round or self._clock() - self._last_line >= self._interval:
            self._last_round = round_index
            self._print(_step_text(round_index, rounds, benchmark, time_left))

    def failure(self, message: str) -> None:
        self._print(f"FAILED: {message}")

    def note(self, message: str) -> None:
        self._print(f"warning: {message}")

    def finish(self, *, elapsed: float) -> None:
        self._print(f"done in {elapsed:.1f} s")


class LiveProgress(Progress):
    """One line rewritten in place: for an interactive terminal."""

    def __init__(self, stream: TextIO, *, width: Callable[[], int] | None = None):
        self._stream = stream
        self._width = width or (lambda: shutil.get_terminal_size((80, 24)).columns)
        self._dirty = False

    def _show(self, text: str) -> None:
        width = max(20, self._width() - 1)
        text = defuse(text).replace("\n", " ")   # one line, rewritten in place
        if len(text) > width:
            text = text[:width - 1] + "…"
        self._stream.write("\r" + text.ljust(width))
        self._stream.flush()
        self._dirty = True

    def _line(self, text: str) -> None:
        if self._dirty:
            self._stream.write("\r" + " " * max(20, self._width() - 1) + "\r")
            self._dirty = False
        print(defuse(f"perfaction: {text}"), file=self._stream, flush=True)

    def start(self, *, benchmarks: int, budget: float) -> None:
        self._line(f"measuring {benchmarks} benchmark(s), time budget {budget:g} s")

    def status(self, message: str) -> None:
        self._show(message)

    def step(self, *, round_index: int, rounds: int | None, benchmark: str,
             time_left: float) -> None:
        self._show(_step_text(round_index, rounds, benchmark, time_left))

    def failure(self, message: str) -> None:
        self._line(f"FAILED: {message}")

    def note(self, message: str) -> None:
        self._line(f"warning: {message}")

    def finish(self, *, elapsed: float) -> None:
        self._line(f"done in {elapsed:.1f} s")


def make_progress(stream: TextIO | None = None, *, quiet: bool = False) -> Progress:
    """Live on a terminal, plain lines otherwise, nothing when quiet."""
    if quiet:
        return Progress()
    stream = stream or sys.stderr
    is_tty = getattr(stream, "isatty", lambda: False)()
    return LiveProgress(stream) if is_tty else PlainProgress(stream)
