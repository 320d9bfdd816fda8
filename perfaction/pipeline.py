"""The use cases both front ends share, written once.

The action (``perfaction.action.app``) and the command line
(``perfaction.cli``) each parse their own inputs and show the outcome their
own way; what happens in between is here:

- ``HarnessRunner``: the real ``ports.Runner``, the project's set-up command
  in a shell and its benchmarks in the harness's worker processes.
- ``measure_ab``: same-runner A/B. The base side is a git worktree of a ref
  (or a directory), both sides are measured in the same rounds, and a base
  that has the benchmark module but cannot run it is an error, since a
  comparison with an empty base passes every change.
- ``raise_for_failures`` and ``exit_code``: a benchmark that failed makes
  the run an error (exit 2), whatever else it found; otherwise exit 1 for a
  gating regression when failing is wanted, else 0.
- ``file_baseline`` and ``same_runner_baseline``: the report's account of
  where the baseline came from.
- ``run_guarded``: every way a front end's work can end, mapped to an exit
  code: 2 for a user's error (the message says what to fix), for an
  interruption (SIGTERM is turned into one, so worker processes are stopped)
  and for a bug (its traceback is printed).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from perfaction.analysis.compare import exit_code as regression_exit_code
from perfaction.analysis.comparison import Comparison
from perfaction.errors import BenchmarkDiscoveryError, PerfActionError
from perfaction.harness import gitinfo, leftovers
from perfaction.harness.ab import base_failure, execute_ab
from perfaction.harness.environment import gather, utc_timestamp
from perfaction.harness.progress import PlainProgress, Progress
from perfaction.harness.runner import RunOptions, RunResult, execute
from perfaction.report.context import BaselineInfo
from perfaction.results.model import Benchmark, Environment, RunSettings, Suite
from perfaction.signals import interruption, terminate_as_interrupt
from perfaction.untrusted import without_credentials

SETUP_TAIL_LINES = 30   # lines of a failed set-up command's output shown in the error


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------

class HarnessRunner:
    """The real runner: set-up commands in a shell, benchmarks in the harness's workers.

    A set-up command may start a service the benchmarks use (``server &``).
    Its output goes to a file the runner follows, not to a pipe a background
    process could hold open forever, so the step ends when the shell does.
    The processes it leaves running carry a token in their environment and
    keep running while the benchmarks run; ``close`` stops them and says which.
    """

    def __init__(self, stream: TextIO, *, poll: float = 0.1):
        self.stream = stream
        self.poll = poll
        self._setups: list[tuple[str, float]] = []   # (token, start time) of each set-up

    def setup(self, command: str, cwd: Path, log: Callable[[str], None]) -> tuple[int, list[str]]:
        tail: deque[str] = deque(maxlen=SETUP_TAIL_LINES)
        token = leftovers.new_token()
        self._setups.append((token, time.time()))
        # The project's own command: no CI credential in its environment.
        env = {**without_credentials(os.environ), leftovers.TOKEN_VARIABLE: token}
        with tempfile.TemporaryFile() as output:
            process = subprocess.Popen(command, shell=True, cwd=cwd, env=env, stdout=output,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
            follower = _Follower(output)
            while process.poll() is None:
                follower.lines(into=(tail, log))
                time.sleep(self.poll)
            follower.lines(into=(tail, log), final=True)
        return process.returncode, list(tail)

    def close(self) -> tuple[str, ...]:
        """Stop what the set-up commands left running; one sentence per command that did."""
        said = []
        for token, started in self._setups:
            killed = leftovers.stop_leftovers(token, since=started)
            if killed:
                said.append(leftovers.describe(killed, "setup-command", advice=None,
                                               until="while the benchmarks ran"))
        self._setups.clear()
        return tuple(said)

    def run(self, target: str, options: RunOptions) -> RunResult:
        return execute(target, options, progress=PlainProgress(self.stream))

    def run_ab(self, repo_dir: Path, base_ref: str, subdir: Path, target: str,
               options: RunOptions) -> RunResult:
        with gitinfo.base_worktree(repo_dir, base_ref) as base_root:
            return measure_ab(base_root / subdir, repo_dir / subdir, target, options,
                              progress=PlainProgress(self.stream), base_ref=base_ref)


class _Follower:
    """New whole lines of a file another process is writing, as they come.

    Reads with ``pread`` at its own offset: the writer shares the file's
    position (it got the same open file), and a seek here would move where it
    writes next, overwriting text not read yet. Each call reads up to the end.
    """

    def __init__(self, file: Any):
        self.fd, self.offset, self.partial = file.fileno(), 0, b""

    def lines(self, *, into: tuple[deque[str], Callable[[str], None]], final: bool = False) -> None:
        chunks = []
        while chunk := os.pread(self.fd, 1 << 20, self.offset):
            self.offset += len(chunk)
            chunks.append(chunk)
        data = self.partial + b"".join(chunks)
        *complete, self.partial = data.split(b"\n")
        if final and self.partial:
            complete.append(self.partial)
            self.partial = b""
        tail, log = into
        for raw in complete:
            line = raw.decode("utf-8", errors="replace").rstrip("\r")
            tail.append(line)
            log(line)


def measure_ab(base_dir: Path, head_dir: Path, target: str, options: RunOptions, *,
               progress: Progress, base_ref: str | None = None, base_python: str | None = None,
               head_python: str | None = None) -> RunResult:
    """Both trees measured in the same rounds; (base, head) suites and the run's notes.

    A base tree that has ``target`` but cannot import it raises the error of
    ``harness.ab.base_failure``; a head tree that cannot, BenchmarkDiscoveryError.
    """
    try:
        result = execute_ab(base_dir, head_dir, target, options, progress=progress,
                            base_python=base_python, head_python=head_python, base_ref=base_ref)
    except BenchmarkDiscoveryError as exc:
        if getattr(exc, "side", None) != "base":
            raise
        raise base_failure(exc, base_ref or str(base_dir), target) from exc
    base, head = result.suites
    if base.benchmarks and all(b.failed for b in base.benchmarks) and \
            not all(b.failed for b in head.benchmarks):
        # every head benchmark would pass as "new": the comparison has no base
        first = base.benchmarks[0]
        raise base_failure(PerfActionError(f"every benchmark failed on the base side, the first "
                                           f"with: {first.error}"),
                           base_ref or str(base_dir), target)
    return result


def discovery_failure_suite(target: str, message: str, options: RunOptions, *,
                            mode: str = "baseline") -> Suite:
    """A results file for a module that could not run: one failed entry named after it."""
    env = Environment(**gather(), commit_sha=options.commit_sha, ref=options.ref,
                      timestamp=utc_timestamp())
    settings = RunSettings(time_budget=options.time_budget, filter=options.filter,
                           timeout=options.timeout, mode=mode,
                           shard=options.shard.label if options.shard is not None else None)
    return Suite((Benchmark(name=target, error=message),), env, settings)


# ---------------------------------------------------------------------------
# Deciding
# ---------------------------------------------------------------------------

class BenchmarksFailed(PerfActionError):
    """Benchmarks crashed, hung or could not be imported: the run is an error (exit 2)."""

    def __init__(self, names: list[str]):
        self.names = names
        super().__init__(f"{len(names)} benchmark(s) failed: {', '.join(names)}; their errors "
                         "are in the log above, the report and the results file")


def failed_benchmarks(comparison: Comparison | None = None, head: Suite | None = None) -> list[str]:
    """Names of the benchmarks that failed, in the head suite or in the comparison."""
    names = {b.name for b in head.failures} if head is not None else set()
    if comparison is not None:
        names |= {d.benchmark for d in comparison.failures}
    return sorted(names)


def raise_for_failures(comparison: Comparison | None = None, head: Suite | None = None) -> None:
    """A failed benchmark makes the whole run an error, whatever the others show."""
    names = failed_benchmarks(comparison, head)
    if names:
        raise BenchmarksFailed(names)


def exit_code(comparison: Comparison, *, fail_on_regression: bool, head: Suite | None = None) -> int:
    """0 pass, 1 a gating regression (when failing is wanted); BenchmarksFailed for exit 2."""
    raise_for_failures(comparison, head)
    return regression_exit_code(comparison, fail_on_regression=fail_on_regression)


# ---------------------------------------------------------------------------
# Where the baseline came from
# ---------------------------------------------------------------------------

def file_baseline(path: str, suite: Suite | None = None) -> BaselineInfo:
    """A baseline read from a results file; what the file says of its own origin."""
    if suite is None:
        return BaselineInfo(source="file", path=path)
    env = suite.environment
    return BaselineInfo(source="file", path=path, commit=env.commit_sha, ref=env.ref,
                        created_at=env.timestamp)


def same_runner_baseline(base: Suite, *, ref: str | None, path: str | None = None) -> BaselineInfo:
    """The base side of an A/B run measured in this job."""
    return BaselineInfo(source="same-runner", commit=base.environment.commit_sha, ref=ref, path=path)


# ---------------------------------------------------------------------------
# Ending
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Failure:
    """How a front end's work ended when it did not return an exit code itself."""

    kind: str        # "error" (the user's to fix), "interrupted" or "internal" (a bug)
    message: str
    exit_code: int


def run_guarded(work: Callable[[], int], on_failure: Callable[[Failure], None]) -> int:
    """``work()``'s exit code; any exception becomes exit code 2 (or the error's own).

    SIGTERM (a cancelled job, ``docker stop``) is raised as KeyboardInterrupt
    inside, so the clean-up paths run: worker process groups are killed and a
    base worktree is removed. Never 1: that code means "regression".
    """
    try:
        with terminate_as_interrupt():
            return int(work())
    except PerfActionError as exc:
        failure = Failure("error", str(exc), exc.exit_code)
    except KeyboardInterrupt as exc:
        failure = Failure("interrupted", f"interrupted{interruption(exc)}; worker processes were "
                                         "stopped and results measured so far were not compared", 2)
    except Exception as exc:  # a bug: show it whole, and exit 2 rather than 1
        traceback.print_exc()
        failure = Failure("internal", f"internal error: {type(exc).__name__}: {exc}; please report "
                                      "it with the traceback above", 2)
    on_failure(failure)
    return failure.exit_code
