"""What the fake GitHub knows: users, tokens, repositories, pulls, issues, comments, runs, artifacts, faults.

Plain data guarded by one lock; server.py turns HTTP requests into calls on
it. Tests seed it through ``FakeGitHub`` and read it back to assert.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .payloads import EPOCH

COMMENT_BODY_LIMIT = 65536


@dataclass
class User:
    login: str
    id: int
    type: str = "User"          # "Bot" for github-actions[bot]


@dataclass
class Token:
    value: str
    login: str
    installation: bool = False  # a GITHUB_TOKEN: GET /user answers 403
    read_only: bool = False     # a fork PR's token: writes answer 403
    issues_write: bool = True   # False: a job without `permissions: issues: write`


@dataclass
class Repo:
    full_name: str
    id: int
    default_branch: str = "main"
    fork: bool = False
    has_issues: bool = True     # False: Issues switched off in the settings (writes answer 410)


@dataclass
class Pull:
    repo: str
    number: int
    author: str
    head_repo: str | None
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    title: str = "A change"
    labels: list[str] = field(default_factory=list)


@dataclass
class Issue:
    repo: str
    number: int
    title: str
    body: str | None
    author: str
    labels: list[str]
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    state_reason: str | None = None
    closed_at: datetime | None = None


@dataclass
class Comment:
    id: int
    repo: str
    issue_number: int
    author: str
    body: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Artifact:
    id: int
    repo: str
    name: str
    content: bytes
    created_at: datetime
    run_id: int
    head_repository_id: int
    head_branch: str
    head_sha: str
    expired: bool = False
    size_in_bytes: int | None = None   # what the listing claims; None: len(content)


@dataclass
class Run:
    """A workflow run. A run also exists, without being added, once an artifact names it."""

    id: int
    repo: str
    head_branch: str
    head_sha: str
    head_repository_id: int
    created_at: datetime
    event: str = "push"


@dataclass
class Fault:
    """An injected misbehaviour for requests matching ``method`` and the ``path`` regex.

    ``status`` None means answer normally after ``delay`` seconds (a slow
    response); otherwise answer ``status`` with ``message``. ``cut_body``
    (with status None): answer normally but close the connection halfway
    through the body, as a connection reset mid-download does. ``server`` is
    "api" or "blob" (the artifact storage). Used ``times`` times, then removed.
    """

    method: str
    path: str
    status: int | None = 500
    message: str = "Server Error"
    times: int = 1
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    cut_body: bool = False
    server: str = "api"

    def matches(self, server: str, method: str, path: str) -> bool:
        return (self.server == server and self.method in ("*", method)
                and re.fullmatch(self.path, path) is not None)


@dataclass(frozen=True)
class RecordedRequest:
    server: str              # "api" or "blob"
    method: str
    path: str                # without the API prefix and query
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes


class FakeState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.tokens: dict[str, Token] = {}
        self.repos: dict[str, Repo] = {}
        self.pulls: dict[tuple[str, int], Pull] = {}
        self.issues: dict[tuple[str, int], Issue] = {}
        self.comments: dict[int, Comment] = {}
        self.artifacts: dict[int, Artifact] = {}
        self.runs: dict[int, Run] = {}
        self.faults: list[Fault] = []
        self.requests: list[RecordedRequest] = []
        self.blob_signatures: dict[str, int] = {}
        self._next_id = 5000
        self.now = EPOCH + timedelta(days=30)

    def new_id(self) -> int:
        with self.lock:
            self._next_id += 1
            return self._next_id

    def tick(self) -> datetime:
        """A strictly increasing clock, so created_at/updated_at order is deterministic."""
        with self.lock:
            self.now += timedelta(seconds=1)
            return self.now

    def take_fault(self, server: str, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(server, method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(request)

    def next_number(self, repo: str) -> int:
        """Issues and pull requests share one sequence of numbers per repository."""
        with self.lock:
            used = [n for r, n in (*self.pulls, *self.issues) if r == repo]
            return max(used, default=0) + 1

    def issues_of(self, repo: str) -> list[Issue]:
        with self.lock:
            return sorted((i for (r, _), i in self.issues.items() if r == repo), key=lambda i: i.number)

    def comments_on(self, repo: str, number: int) -> list[Comment]:
        with self.lock:
            return sorted((c for c in self.comments.values()
                           if c.repo == repo and c.issue_number == number), key=lambda c: c.id)

    def user_for(self, login: str) -> User:
        with self.lock:
            if login not in self.users:
                kind = "Bot" if login.endswith("[bot]") else "User"
                self.users[login] = User(login, self.new_id(), kind)
            return self.users[login]

    def artifacts_named(self, repo: str, name: str | None) -> list[Artifact]:
        with self.lock:
            return sorted((a for a in self.artifacts.values()
                           if a.repo == repo and (name is None or a.name == name)), key=lambda a: a.id)

    def artifacts_of_run(self, repo: str, run_id: int, name: str | None = None) -> list[Artifact]:
        with self.lock:
            return [a for a in self.artifacts_named(repo, name) if a.run_id == run_id]

    def artifact_in_run(self, run_id: int, name: str) -> Artifact | None:
        """The newest artifact called ``name`` of the run, whatever its repository."""
        with self.lock:
            found = [a for a in self.artifacts.values() if a.run_id == run_id and a.name == name]
            return max(found, key=lambda a: (a.created_at, a.id), default=None)

    def run(self, repo: str, run_id: int) -> Run | None:
        """The run, added or implied by its oldest artifact; None when neither exists."""
        with self.lock:
            run = self.runs.get(run_id)
            if run is not None:
                return run if run.repo == repo else None
            implied = self.artifacts_of_run(repo, run_id)
            if not implied:
                return None
            first = min(implied, key=lambda a: (a.created_at, a.id))
            return Run(run_id, repo, first.head_branch, first.head_sha, first.head_repository_id,
                       first.created_at)

    def repo_of_run(self, run_id: int) -> str | None:
        with self.lock:
            if run_id in self.runs:
                return self.runs[run_id].repo
            return next((a.repo for a in self.artifacts.values() if a.run_id == run_id), None)

    def remove_artifacts(self, repo: str | None = None) -> int:
        """Delete every artifact (of ``repo``, or of all repositories); how many went."""
        with self.lock:
            doomed = [i for i, a in self.artifacts.items() if repo is None or a.repo == repo]
            for artifact_id in doomed:
                del self.artifacts[artifact_id]
            return len(doomed)

    def expires_at(self, artifact: Artifact) -> datetime:
        return artifact.created_at + timedelta(days=90)
