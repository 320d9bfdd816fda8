"""Starting worker processes (parent side).

``SubprocessLauncher`` is the real one; the runner takes any object with the
same ``run`` method, so tests of the scheduling logic can pass a fake that
answers instantly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from perfaction.untrusted import is_credential

# Variables that would let another copy of the code win over the tree under test.
SCRUBBED_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH", "PYTHONINSPECT",
                "PYTHONNOUSERSITE", "PYTHONUSERBASE")

STDERR_TAIL = 1500


@dataclass(frozen=True)
class WorkerOutcome:
    """What one worker process produced."""

    ok: bool
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None       # why it failed, ready to show
    phase: str | None = None       # import, setup, call, timing, isolation, timeout, crash
    wall: float = 0.0              # seconds from start to exit, as the parent saw it


class Launcher(Protocol):
    def run(self, job: dict[str, Any], *, cwd: Path, python: str, timeout: float) -> WorkerOutcome:
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

    def run(self, job: dict[str, Any], *, cwd: Path, python: str, timeout: float) -> WorkerOutcome:
        start = time.perf_counter()
        # -I would also drop the tree from sys.path; -s and -E are what we need
        # (no user site, no PYTHON* variables), plus a scrubbed environment.
        command = [python, "-s", "-E", "-m", "perfaction.harness.worker"]
        try:
            proc = subprocess.Popen(command, cwd=str(cwd), env=self._env, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)
        except OSError as exc:
            return WorkerOutcome(False, error=f"cannot start the worker interpreter {python!r}: "
                                              f"{exc}", phase="crash")
        try:
            out, err = proc.communicate(json.dumps(job).encode("utf-8"), timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            return WorkerOutcome(False, error=f"timed out after {timeout:g} s",
                                 phase="timeout", wall=time.perf_counter() - start)
        finally:
            if proc.poll() is None:   # interrupted (e.g. Ctrl-C): leave nothing behind
                _kill_group(proc)
                proc.wait()
        wall = time.perf_counter() - start
        return _parse(out, err, proc.returncode, wall, python)


def _kill_group(proc: subprocess.Popen) -> None:
    # The worker leads its own session: this ends it and any process its
    # benchmark code started, and nothing else.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _parse(out: bytes, err: bytes, returncode: int, wall: float, python: str) -> WorkerOutcome:
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
        return WorkerOutcome(False, error=reason, phase="crash", wall=wall)
    if not data.get("ok"):
        return WorkerOutcome(False, data=data, error=str(data.get("error")),
                             phase=str(data.get("phase")), wall=wall)
    return WorkerOutcome(True, data=data, wall=wall)


def default_python() -> str:
    return sys.executable
