"""Starting worker processes (parent side).

``SubprocessLauncher`` is the real one; the runner takes any object with the
same ``run`` method, so tests of the scheduling logic can pass a fake that
answers instantly.

The worker's result stream is read line by line while it runs: a batch
worker reports each benchmark as it begins and ends (``protocol.py``), so
each benchmark gets its own timeout, and when a worker hangs or dies the
lines read so far say which benchmarks finished and which one was running.
"""

from __future__ import annotations

import json
import math
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from perfaction.harness import leftovers
from perfaction.untrusted import is_credential

# Variables that would let another copy of the code win over the tree under test.
SCRUBBED_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH", "PYTHONINSPECT",
                "PYTHONNOUSERSITE", "PYTHONUSERBASE")

STDERR_TAIL = 1500
EXITED_GRACE = 0.5    # seconds of silence on the result pipe after which an exited worker is done
LINGER = 2.0          # seconds a worker may take to exit once it wrote its result


@dataclass(frozen=True)
class WorkerOutcome:
    """What one worker process produced."""

    ok: bool
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None       # why it failed, ready to show
    phase: str | None = None       # import, setup, call, timing, isolation, timeout, crash,
                                   # budget (stopped at the end of the run's time budget)
    wall: float = 0.0              # seconds from start to exit, as the parent saw it
    events: tuple[dict[str, Any], ...] = ()   # a batch worker's progress lines, in order
    returncode: int | None = None  # of a worker that died without a result (-N: signal N)
    leftovers: tuple[str, ...] = ()  # processes its benchmarks left running, stopped since

    @property
    def killed_from_outside(self) -> bool:
        """Died of SIGKILL that we did not send (our timeouts and budget stops say so).

        Another job, an operator or the kernel's out-of-memory killer ended it;
        not the benchmark's own crash (an exit code, SIGSEGV, SIGABRT).
        """
        return (self.phase == "crash"
                and self.returncode == -getattr(signal, "SIGKILL", 9))


@dataclass(frozen=True)
class Wrapper:
    """A command the worker runs under (Valgrind in instruction mode), and its environment.

    The worker then runs without ``-E``: ``environ`` turns the launcher's
    (scrubbed) environment into the worker's, removing what ``-E`` would have
    ignored and setting what the wrapper needs.
    """

    prefix: tuple[str, ...]
    environ: Callable[[dict[str, str]], dict[str, str]]


class Launcher(Protocol):
    def run(self, job: dict[str, Any], *, cwd: Path, python: str, timeout: float,
            stop_after: float | None = None, wrapper: Wrapper | None = None) -> WorkerOutcome:
        """Run one job. ``timeout`` limits start-up until the first event, then each
        event that carries a ``timeout`` restarts the clock with it; ``stop_after``
        (seconds) ends the worker whatever it is doing, for the run's budget."""
        ...


def worker_env(base: dict[str, str]) -> dict[str, str]:
    """The parent's environment without variables that change what gets imported.

    Nor the CI credentials (``untrusted.is_credential``: the action's token, the
    runner's ACTIONS_*TOKEN* variables): a benchmark is the project's code, and
    on a pull request that is code nobody has reviewed yet.
    """
    env = {k: v for k, v in base.items() if k not in SCRUBBED_ENV and not is_credential(k)}
    env["PYTHONNOUSERSITE"] = "1"   # a user-site copy of the project must not shadow the tree
    env.setdefault("PYTHONIOENCODING", "utf-8")
    return env


class SubprocessLauncher:
    """Runs ``python -m perfaction.harness.worker`` in its own process group."""

    def __init__(self, environ: dict[str, str] | None = None):
        self._env = worker_env(dict(os.environ if environ is None else environ))

    def run(self, job: dict[str, Any], *, cwd: Path, python: str, timeout: float,
            stop_after: float | None = None, wrapper: Wrapper | None = None) -> WorkerOutcome:
        start = time.perf_counter()
        started, token = time.time(), leftovers.new_token()
        # -I would also drop the tree from sys.path; -s and -E are what we need
        # (no user site, no PYTHON* variables), plus a scrubbed environment.
        command = [python, "-s", "-E", "-m", "perfaction.harness.worker"]
        env = self._env
        if wrapper is not None:
            command = [*wrapper.prefix, python, "-s", "-m", "perfaction.harness.worker"]
            env = wrapper.environ(dict(self._env))
        with tempfile.TemporaryFile() as err_file:
            try:
                proc = subprocess.Popen(command, cwd=str(cwd),
                                        env={**env, leftovers.TOKEN_VARIABLE: token},
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=err_file, start_new_session=True)
            except OSError as exc:
                if not Path(cwd).is_dir():
                    return WorkerOutcome(False, phase="crash", error=(
                        f"the tree {cwd} is gone (removed while measuring?), so no worker can "
                        "start in it"))
                return WorkerOutcome(False, error=f"cannot start the worker interpreter "
                                                  f"{python!r}: {exc}", phase="crash")
            try:
                lines, stopped = _read_lines(proc, job, start, timeout, stop_after)
            finally:
                if proc.poll() is None:   # interrupted (e.g. Ctrl-C): leave nothing behind
                    _kill_group(proc)
                proc.wait()
                # helpers its benchmarks started in a session of their own
                left = leftovers.stop_leftovers(token, since=started)
            err = _tail(err_file)
        wall = time.perf_counter() - start
        events = tuple(line for line in lines if "event" in line)
        if stopped is not None and stopped[0] == "lingered":
            # the results are complete; the worker only failed to exit
            left = (f"pid {proc.pid}: the worker itself, still running {LINGER:g} s after "
                    "writing its results (waiting for a child process it started?)", *left)
            stopped = None
        if stopped is not None:
            phase, limit = stopped
            error = (f"timed out after {limit:g} s" if phase == "timeout"
                     else "stopped at the end of the time budget")
            return WorkerOutcome(False, error=error, phase=phase, wall=wall, events=events,
                                 leftovers=left)
        final = next((line for line in reversed(lines) if "event" not in line), None)
        outcome = _parse(json.dumps(final).encode() if final is not None else b"", err,
                         proc.returncode, wall, python, events)
        return replace(outcome, leftovers=left) if left else outcome


def _tail(err_file: Any) -> bytes:
    """The end of the worker's stderr: all a message shows, however much it printed.

    Reading the whole file took the parent to 1.5 GiB for a benchmark that
    printed 512 MiB; the file stays on disk and only its last bytes are read.
    """
    err_file.seek(0, os.SEEK_END)
    size = err_file.tell()
    err_file.seek(max(0, size - 4 * STDERR_TAIL))   # UTF-8: at most 4 bytes a character
    return err_file.read()


def _read_lines(proc: subprocess.Popen, job: dict[str, Any], start: float, timeout: float,
                stop_after: float | None) -> tuple[list[dict[str, Any]], tuple[str, float] | None]:
    """Every JSON line the worker wrote, and why it was stopped (phase, limit) if it was."""
    assert proc.stdin is not None and proc.stdout is not None
    try:
        # the worker reads all of stdin before writing anything, so this cannot deadlock
        proc.stdin.write(json.dumps(job).encode("utf-8"))
        proc.stdin.close()
    except BrokenPipeError:
        pass   # it died at start-up; its exit code and stderr say why
    fd = proc.stdout.fileno()
    deadline, limit = start + timeout, timeout
    hard_stop = start + stop_after if stop_after is not None else math.inf
    lines: list[dict[str, Any]] = []
    lingering = False
    pending = b""
    while True:
        now = time.perf_counter()
        if now >= min(deadline, hard_stop):
            _kill_group(proc)
            if lingering:
                return lines, ("lingered", LINGER)
            if stop_after is None or deadline <= hard_stop:
                return lines, ("timeout", limit)
            return lines, ("budget", stop_after)
        # At most EXITED_GRACE at a time: a process the benchmark forked (multiprocessing)
        # holds the result pipe open after the worker exited, and EOF would never come.
        ready, _, _ = select.select([fd], [], [], min(deadline, hard_stop, now + EXITED_GRACE) - now)
        if not ready:
            if proc.poll() is not None:
                break     # the worker is gone; what it left holding the pipe is swept later
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            line = _json_line(raw)
            if line is None:
                continue
            lines.append(line)
            if "event" not in line:
                # the result: all that is left is exiting, which a child the benchmark
                # started (a non-daemon multiprocessing one) can hold up for minutes
                deadline, limit, lingering = min(deadline, time.perf_counter() + LINGER), LINGER, True
            if line.get("timeout"):
                # a batch worker began the next benchmark: that benchmark's own timeout
                limit = float(line["timeout"])
                deadline = time.perf_counter() + limit
    if pending.strip():
        line = _json_line(pending)     # a version-1 worker ends without a newline
        if line is not None:
            lines.append(line)
    try:
        proc.wait(timeout=max(0.0, min(deadline, hard_stop) - time.perf_counter()))
    except subprocess.TimeoutExpired:
        _kill_group(proc)      # closed its output but kept running: stopped like a hang
        return lines, ("lingered", LINGER) if lingering else ("timeout", limit)
    return lines, None


def _json_line(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _kill_group(proc: subprocess.Popen) -> None:
    # The worker leads its own session: this ends it and any process its
    # benchmark code started, and nothing else.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _parse(out: bytes, err: bytes, returncode: int, wall: float, python: str,
           events: tuple[dict[str, Any], ...] = ()) -> WorkerOutcome:
    tail = err.decode("utf-8", errors="replace").strip()[-STDERR_TAIL:]
    try:
        data = json.loads(out.decode("utf-8")) if out.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict):
        if "No module named perfaction" in tail:
            reason = (f"perfaction is not installed for {python}; install it in that "
                      "environment (pip install perfaction)")
        else:
            reason = f"the worker process exited with code {returncode} without a result"
            if returncode < 0:
                reason += f" (killed by signal {-returncode})"
        if tail:
            reason += f"; its last output: {tail}"
        return WorkerOutcome(False, error=reason, phase="crash", wall=wall, events=events,
                             returncode=returncode)
    if not data.get("ok"):
        return WorkerOutcome(False, data=data, error=str(data.get("error")),
                             phase=str(data.get("phase")), wall=wall, events=events)
    return WorkerOutcome(True, data=data, wall=wall, events=events)


def default_python() -> str:
    return sys.executable
