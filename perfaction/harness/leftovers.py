"""Processes a worker's benchmark started and left running, found and stopped.

A benchmark's set-up may start a helper (a local server for a client
benchmark, a database): ``subprocess.Popen(..., start_new_session=True)``
puts it outside the worker's process group, so killing the group at a
timeout misses it, and when the worker exits it is re-parented away from
us. It would then outlive the run, holding a port or a core on the runner
while later workers measure.

So every worker gets a token in its environment (``TOKEN_VARIABLE``), which
its children inherit, and after the worker ends the parent looks for live
processes started since the worker began whose environment holds that
token, kills them, and says what it killed. A child that rewrites its whole
environment escapes this; one that keeps it does not, whatever its session.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterable

import psutil

TOKEN_VARIABLE = "PERFACTION_WORKER_TOKEN"
MAX_LISTED = 3          # commands named in the message
GONE_WAIT = 2.0         # seconds to wait for killed processes to be gone


def new_token() -> str:
    return secrets.token_hex(8)


def stop_leftovers(token: str, *, since: float,
                   processes: Iterable[psutil.Process] | None = None) -> tuple[str, ...]:
    """Kill the processes carrying ``token`` started at or after ``since`` (epoch seconds).

    Returns a description of each one killed ("pid 123: python -c ..."); an
    empty tuple when there were none. Never raises for a process that went
    away or that we may not inspect.
    """
    found = []
    candidates = processes if processes is not None else psutil.process_iter(["create_time"])
    for process in candidates:
        try:
            if process.pid == os.getpid() or process.create_time() < since - 1.0:
                continue
            if process.environ().get(TOKEN_VARIABLE) != token:
                continue
            found.append((process, " ".join(process.cmdline())[:120] or process.name()))
        except (psutil.Error, OSError):
            continue     # gone, a zombie, or not ours to read
    killed = []
    for process, _ in found:
        try:
            process.kill()      # SIGKILL takes effect at once; re-parented, it is not ours to reap
            killed.append(process)
        except (psutil.Error, OSError):
            pass                # gone already, or not ours to kill: nothing to wait for
    _wait_gone(killed, GONE_WAIT)
    return tuple(f"pid {p.pid}: {command}" for p, command in found)


def _wait_gone(processes: list[psutil.Process], timeout: float) -> None:
    """Wait until each killed process has exited, so "stopped" is true when we say it.

    SIGKILL is delivered at once but the process dies a moment later, and a
    re-parented one is not ours to reap: it counts as gone once it is a
    zombie or no longer exists.
    """
    deadline = time.monotonic() + timeout
    pending = list(processes)
    while pending and time.monotonic() < deadline:
        pending = [p for p in pending if _still_running(p)]
        if pending:
            time.sleep(0.01)


def _still_running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, OSError):
        return False


BENCHMARK_ADVICE = ("Stop helpers a benchmark starts in its set-up before it returns, or "
                    "start them in setup-command")


def describe(killed: tuple[str, ...], who: str, *, until: str = "after its worker ended",
             advice: str | None = BENCHMARK_ADVICE) -> str:
    """One sentence for the log and the report: who left what running, and that it was stopped."""
    shown = "; ".join(killed[:MAX_LISTED])
    more = f" and {len(killed) - MAX_LISTED} more" if len(killed) > MAX_LISTED else ""
    return (f"{who} left {len(killed)} process{'es' if len(killed) != 1 else ''} running {until} "
            f"({shown}{more}); perfaction stopped {'it' if len(killed) == 1 else 'them'}"
            + (f". {advice}" if advice else ""))
