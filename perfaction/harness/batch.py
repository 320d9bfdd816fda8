"""Running one batch of benchmarks on one side, so that a failing benchmark fails alone.

A batch worker imports the module once and runs a task (``calibrate`` or
``measure``) for each benchmark in the order given. Three kinds of failure,
three answers:

- a benchmark raises (set-up, call, tracemalloc left on): the worker reports
  it as that benchmark's result and carries on;
- the worker hangs or dies (os._exit, a segfault, a per-benchmark timeout):
  its progress lines say which benchmarks finished (they keep their values)
  and which one was running (it fails, with the timeout or crash message a
  one-benchmark worker would have given); the rest of the batch runs again in
  a fresh worker;
- the worker dies before any benchmark began (start-up or import failed this
  time, though discovery worked): the rest of the batch falls back to one
  worker per benchmark, so each gets its own outcome, as before batches.

A worker of protocol version 1 (another perfaction install, ``protocol.py``)
gets one job per benchmark: the same outcomes, without the savings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from perfaction.harness import protocol
from perfaction.harness.launcher import WorkerOutcome

# (job, timeout, stop_after) -> outcome; the runner's launch, which also keeps its accounting
Launch = Callable[[dict[str, Any], float, "float | None"], WorkerOutcome]


@dataclass(frozen=True)
class BatchEntry:
    """One benchmark's part of a batch job."""

    name: str
    job: dict[str, Any]      # spec, loops, latency, memory: what a version-1 job would carry
    timeout: float


@dataclass(frozen=True)
class BatchResult:
    outcomes: dict[str, WorkerOutcome]   # by benchmark name, for each benchmark that ran
    cut: tuple[str, ...] = ()            # not run: the time budget ended first


def run_batch(launch: Launch, common: dict[str, Any], task: str, entries: Sequence[BatchEntry], *,
              protocol_version: int, time_left: Callable[[], float | None]) -> BatchResult:
    """Run ``task`` for every entry, in order; ``time_left`` is None when no budget applies."""
    outcomes: dict[str, WorkerOutcome] = {}
    pending = list(entries)
    batched = protocol_version >= protocol.BATCH_PROTOCOL
    while pending:
        left = time_left()
        if left is not None and left <= 0:
            break
        if not batched:
            entry = pending.pop(0)
            outcome = launch({**common, **entry.job, "mode": task}, entry.timeout, left)
            if outcome.phase == "budget":
                pending.insert(0, entry)
                break
            outcomes[entry.name] = outcome
            continue
        job = {**common, "mode": "batch", "task": task, "protocol": protocol.PROTOCOL_VERSION,
               "benchmarks": [{**e.job, "timeout": e.timeout} for e in pending]}
        # start-up and the import are timed against the most generous entry's timeout
        outcome = launch(job, max(e.timeout for e in pending), left)
        finished = _finished(outcome)
        outcomes.update({name: result for name, result in finished.items()
                         if name in {e.name for e in pending}})
        pending = [e for e in pending if e.name not in finished]
        if outcome.ok or not pending:
            if outcome.ok and pending:
                # a worker that ended well without reporting some: version skew, or a bug
                for entry in pending:
                    outcomes[entry.name] = WorkerOutcome(
                        False, error="the worker ended without reporting this benchmark",
                        phase="crash", wall=outcome.wall)
                pending = []
            break
        if outcome.phase == "budget":
            break
        running = _running(outcome, finished)
        if running is not None:
            outcomes[running] = WorkerOutcome(False, error=outcome.error, phase=outcome.phase,
                                              returncode=outcome.returncode,
                                              wall=outcome.wall)
            pending = [e for e in pending if e.name != running]
        elif outcome.phase == "crash":
            batched = False     # died before any benchmark began: one worker per benchmark
        else:
            # failed as a whole (the import, or code from the other tree): every
            # benchmark of the batch gets that failure, as its own worker would have
            for entry in pending:
                outcomes[entry.name] = outcome
            pending = []
    return BatchResult(outcomes, tuple(e.name for e in pending))


def _finished(outcome: WorkerOutcome) -> dict[str, WorkerOutcome]:
    """Each benchmark the worker reported as done, as a one-benchmark outcome."""
    finished = {}
    for event in outcome.events:
        if event.get("event") != protocol.DONE:
            continue
        result = event.get("result") or {}
        if result.get("ok"):
            finished[event["name"]] = WorkerOutcome(True, data=result)
        else:
            finished[event["name"]] = WorkerOutcome(False, data=result,
                                                    error=str(result.get("error")),
                                                    phase=str(result.get("phase")))
    return finished


def _running(outcome: WorkerOutcome, finished: dict[str, WorkerOutcome]) -> str | None:
    """The benchmark that had begun and not finished when the worker stopped."""
    began = [e["name"] for e in outcome.events if e.get("event") == protocol.BEGIN]
    unfinished = [name for name in began if name not in finished]
    return unfinished[-1] if unfinished else None
