"""The ports: what the pipeline needs from outside, and the values that cross them.

Front ends pass adapters in; nothing behind a port is imported by the core:

- ``Runner`` runs the project's set-up command and measures its benchmarks
  (``pipeline.HarnessRunner``; tests pass one that returns prepared suites).
- ``BaselineSource`` finds what earlier runs stored: a baseline suite, the
  nightly history (``github.client.GitHubClient``, from workflow artifacts).
- ``Publisher`` puts the verdict where people read it: the one sticky pull
  request comment and the nightly issues (``github.client.GitHubClient``).

Expected situations are values, not exceptions: no baseline yet, an expired
or refused one, a fork's read-only token (``status == "forbidden"``).
Adapters raise PerfActionError only for what the user must fix. This module
sits just above the results model, so adapters depend on it and not on the
pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from perfaction.results.history import History
from perfaction.results.model import Suite

if TYPE_CHECKING:   # the harness is imported by adapters only, when they measure
    from perfaction.harness.runner import RunOptions, RunResult


# ---------------------------------------------------------------------------
# The ports
# ---------------------------------------------------------------------------

class Runner(Protocol):
    """Runs the project's code: its set-up command, then its benchmarks."""

    def setup(self, command: str, cwd: Path, log: Callable[[str], None]) -> tuple[int, list[str]]: ...
    def run(self, target: str, options: RunOptions) -> RunResult: ...
    def run_ab(self, repo_dir: Path, base_ref: str, subdir: Path, target: str,
               options: RunOptions) -> RunResult: ...
    def close(self) -> tuple[str, ...]:
        """Stop what set-up commands left running (services for the benchmarks); what was stopped."""
        ...


class BaselineSource(Protocol):
    """Results stored by earlier runs: the newest trusted baseline and history."""

    def fetch_baseline(self, *, name: str, branch: str | None, repository_id: int | None,
                       exclude_run_id: int | None, results_name: str,
                       scratch: Path) -> BaselineOutcome: ...
    def fetch_history(self, *, name: str, branch: str | None, repository_id: int | None,
                      exclude_run_id: int | None, file_name: str, scratch: Path,
                      max_entries: int) -> HistoryOutcome: ...
    def fetch_shards(self, *, run_id: int, prefix: str,
                     scratch: Path) -> list[ShardArtifact]: ...


class Publisher(Protocol):
    """Where a run's verdict is shown: one comment per pull request, issues per regression."""

    def upsert_comment(self, pr_number: int, body: str, *, marker: str, create: bool = True,
                       fallback_body: str | None = None) -> CommentOutcome: ...
    def login(self) -> str: ...
    def list_issues(self, label: str) -> IssueListing: ...
    def create_issue(self, title: str, body: str, labels: tuple[str, ...] = ()) -> IssueOutcome: ...
    def edit_issue(self, number: int, *, title: str | None = None, body: str | None = None,
                   state: str | None = None) -> IssueOutcome: ...
    def comment_issue(self, number: int, body: str) -> IssueOutcome: ...


# ---------------------------------------------------------------------------
# What crosses them
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ArtifactInfo:
    """The fields of a listed artifact that the choice depends on."""

    id: int
    name: str
    size_in_bytes: int
    created_at: datetime
    expired: bool
    archive_download_url: str
    run_id: int | None = None
    repository_id: int | None = None
    head_repository_id: int | None = None
    head_branch: str | None = None
    head_sha: str | None = None

    def describe(self) -> str:
        where = f"{self.head_branch} @ {self.head_sha[:7]}" if self.head_branch and self.head_sha else "unknown commit"
        run = f"run {self.run_id}" if self.run_id is not None else "an unknown run"
        return (f"artifact '{self.name}' (id {self.id}) from {run} on {where}, "
                f"created {self.created_at:%Y-%m-%d %H:%M} UTC")


@dataclass(frozen=True)
class BaselineOutcome:
    """A baseline Suite, or None with the status and a plain sentence saying why."""

    suite: Suite | None
    status: str                      # "found", "missing", "expired" or "invalid"
    reason: str
    artifact: ArtifactInfo | None = None

    def __post_init__(self) -> None:
        if self.status not in ("found", "missing", "expired", "invalid"):
            raise ValueError(f"unknown baseline status {self.status!r}")
        if (self.suite is not None) != (self.status == "found"):
            raise ValueError("a suite is present exactly when the status is 'found'")


@dataclass(frozen=True)
class ShardArtifact:
    """One shard's results as its matrix job uploaded them (results/shards.py names the files).

    ``base`` is the base side of a same-runner shard, None in baseline mode.
    """

    name: str                        # e.g. "perf-shard-2-of-5"
    head: Suite
    base: Suite | None
    artifact: ArtifactInfo


@dataclass(frozen=True)
class HistoryOutcome:
    """The previous history, or None with the status and a plain sentence saying why."""

    history: History | None
    status: str                      # "found", "missing", "expired" or "invalid"
    reason: str
    artifact: ArtifactInfo | None = None

    def __post_init__(self) -> None:
        if self.status not in ("found", "missing", "expired", "invalid"):
            raise ValueError(f"unknown history status {self.status!r}")
        if (self.history is not None) != (self.status == "found"):
            raise ValueError("a history is present exactly when the status is 'found'")


@dataclass(frozen=True)
class IssueInfo:
    """One issue as the nightly planner needs it (pull requests are left out)."""

    number: int
    title: str
    body: str
    state: str                       # "open" or "closed"
    author: str                      # login, lower-cased
    url: str | None = None


@dataclass(frozen=True)
class IssueListing:
    """Issues carrying a label, or ``forbidden`` saying why they could not be read."""

    issues: tuple[IssueInfo, ...] = ()
    forbidden: str | None = None


@dataclass(frozen=True)
class IssueOutcome:
    status: str                      # "created", "updated", "commented", "closed", "forbidden"
    number: int | None = None
    url: str | None = None
    message: str = ""


@dataclass(frozen=True)
class CommentOutcome:
    status: str                      # "created", "updated", "skipped" or "forbidden"
    url: str | None = None
    message: str = ""
