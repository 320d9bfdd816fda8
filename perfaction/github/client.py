"""The GitHub REST API: baseline, history and shard artifacts, the sticky PR comment, issues.

PyGithub does the JSON calls (pagination, GitHub's retry rules for 5xx and
rate limits); requests downloads artifact zips, because the download answers
302 to a blob store on another host that must not see the token. Nothing here
computes or renders: callers pass bodies in and get typed outcomes back.

Expected situations are values, not exceptions: no baseline yet, an expired
one, a refused zip (``BaselineOutcome``, ``HistoryOutcome``), a fork's
read-only token (``CommentOutcome.status == "forbidden"``), a job without
``issues: write`` (``IssueOutcome.status == "forbidden"``). Failures the user must fix (bad
token, missing permission, API unreachable after retries) raise
``GitHubAPIError``, which the app turns into exit code 2.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
from github import Auth, Github, GithubException, GithubRetry

from perfaction import __version__
from perfaction.errors import ConfigError, PerfActionError, ResultsFormatError
from perfaction.github.artifacts import (
    ExtractionLimits,
    ShardArtifactError,
    UnsafeArtifactError,
    choose_baseline,
    history_from_zip,
    shard_from_zip,
    suite_from_zip,
)
from perfaction.ports import (
    ArtifactInfo,
    BaselineOutcome,
    CommentOutcome,
    HistoryOutcome,
    IssueInfo,
    IssueListing,
    IssueOutcome,
    ShardArtifact,
)
from perfaction.results.history import History
from perfaction.results.model import Suite
from perfaction.results.shards import parse_artifact_name

COMMENT_LIMIT = 65536              # characters GitHub accepts in a comment body
DEFAULT_BOT_LOGIN = "github-actions[bot]"  # who GITHUB_TOKEN's comments belong to
MAX_ARTIFACTS_SCANNED = 3000       # thirty pages: far more than 90 days of main pushes
MAX_ISSUES_SCANNED = 1000          # labelled issues read per night (newest first)
ISSUE_BODY_LIMIT = 65536           # characters GitHub accepts in an issue body
_NOT_ACCESSIBLE = "resource not accessible"
_USER_AGENT = f"perfaction/{__version__}"
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_T = TypeVar("_T")


class GitHubAPIError(PerfActionError):
    """The API failed in a way the user has to act on; the message says how."""


@dataclass(frozen=True)
class ApiSettings:
    """How we talk to the GitHub API: per-call timeout and retries with backoff."""

    timeout: float = 30.0
    retries: int = 4          # extra attempts after the first, on 5xx, rate limits, dropped connections
    backoff: float = 1.0      # seconds; doubles each retry

    def __post_init__(self) -> None:
        if not (self.timeout > 0 and math.isfinite(self.timeout)):
            raise ConfigError(f"PERFACTION_API_TIMEOUT must be a positive number of seconds, got {self.timeout!r}")
        if self.retries < 0:
            raise ConfigError(f"PERFACTION_API_RETRIES must be 0 or more, got {self.retries!r}")
        if not (self.backoff >= 0 and math.isfinite(self.backoff)):
            raise ConfigError(f"PERFACTION_API_BACKOFF must be 0 or more seconds, got {self.backoff!r}")


def make_retry(settings: ApiSettings) -> GithubRetry | None:
    """GitHub's retry rules (5xx, rate limits with their reset times) with our attempt count.

    urllib3 waits 0, 2b, 4b, ... seconds (b = backoff) between attempts; a
    secondary rate limit waits 60 b seconds; a primary one waits for its reset,
    but never longer than two minutes, so a job does not hang for an hour.
    """
    if settings.retries == 0:
        return None
    return GithubRetry(total=settings.retries, backoff_factor=settings.backoff,
                       secondary_rate_wait=60 * settings.backoff,
                       max_rate_limit_wait=120 if settings.backoff else 0)


def make_github(api_url: str, token: str, settings: ApiSettings) -> Github:
    """PyGithub against ``api_url`` (GITHUB_API_URL: https://HOST/api/v3 on GHES).

    No client-side throttling (a job makes a handful of calls); retries and
    timeouts from ``settings``, so tests pass zero backoff instead of patching.
    """
    return Github(auth=Auth.Token(token), base_url=api_url.rstrip("/"),
                  timeout=max(1, math.ceil(settings.timeout)),  # PyGithub insists on whole seconds
                  retry=make_retry(settings),
                  per_page=100, user_agent=_USER_AGENT, lazy=True,
                  seconds_between_requests=None, seconds_between_writes=None)


class GitHubClient:
    """What the app needs from GitHub, for one repository."""

    def __init__(self, *, api_url: str, token: str, repository: str, settings: ApiSettings,
                 github: Github | None = None, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 limits: ExtractionLimits = ExtractionLimits()):
        if not token:
            raise GitHubAPIError("no token: set the action's 'token' input "
                                 "(its default is ${{ github.token }})")
        self.api_url = api_url.rstrip("/")
        self.repository = repository
        self.settings = settings
        self._token = token
        self._github = github or make_github(api_url, token, settings)
        self._session = session or requests.Session()
        self._sleep = sleep
        self._limits = limits
        self._login: str | None = None
        self._login_assumed = False   # an installation token: login guessed, not read

    def _repo(self) -> Any:
        return self._github.get_repo(self.repository)

    # -- identity ----------------------------------------------------------

    def login(self) -> str:
        """Whose comments are ours: the token's user, or github-actions[bot] for GITHUB_TOKEN."""
        if self._login is None and self._token.startswith("ghs_"):
            # An installation token (GITHUB_TOKEN is one): GET /user would answer 403.
            self._login, self._login_assumed = DEFAULT_BOT_LOGIN, True
        if self._login is None:
            try:
                self._login = self._github.get_user().login
            except GithubException as exc:
                if exc.status != 403:
                    raise _api_error(exc, "finding the token's user (GET /user)") from exc
                # an installation token may not read /user
                self._login, self._login_assumed = DEFAULT_BOT_LOGIN, True
            except requests.RequestException as exc:
                raise _network_error(exc, "finding the token's user", self.api_url) from exc
        return self._login

    def repository_id(self) -> int:
        try:
            return int(self._repo().id)
        except GithubException as exc:
            raise _api_error(exc, f"reading repository {self.repository}") from exc
        except requests.RequestException as exc:
            raise _network_error(exc, f"reading repository {self.repository}", self.api_url) from exc

    # -- baseline artifacts ------------------------------------------------

    def list_artifacts(self, name: str) -> tuple[list[ArtifactInfo], bool]:
        """The artifacts called ``name``, and whether the listing was cut at the scan limit."""
        return self._scan(lambda: self._repo().get_artifacts(name=name),
                          f"listing artifacts named '{name}'")

    def _scan(self, listing: Callable[[], Iterable[Any]], what: str) -> tuple[list[ArtifactInfo], bool]:
        """The artifacts a PyGithub listing yields, up to the scan limit, and whether it was cut."""
        try:
            found: list[ArtifactInfo] = []
            for artifact in listing():
                if len(found) >= MAX_ARTIFACTS_SCANNED:
                    return found, True
                found.append(_artifact_info(artifact))
            return found, False
        except GithubException as exc:
            raise _api_error(exc, what, permission="actions: read") from exc
        except requests.RequestException as exc:
            raise _network_error(exc, what, self.api_url) from exc

    def fetch_baseline(self, *, name: str, branch: str | None, repository_id: int | None,
                       exclude_run_id: int | None, results_name: str, scratch: Path) -> BaselineOutcome:
        """Find, download and open the newest trusted baseline artifact."""
        def open_zip(zip_path: Path, dest: Path) -> Suite:
            return suite_from_zip(zip_path, dest, results_name=results_name, limits=self._limits)
        suite, status, reason, artifact = self._fetch_artifact(
            name=name, branch=branch, repository_id=repository_id, exclude_run_id=exclude_run_id,
            scratch=scratch, open_zip=open_zip, kind="results")
        return BaselineOutcome(suite, status, reason, artifact)

    def fetch_history(self, *, name: str, branch: str | None, repository_id: int | None,
                      exclude_run_id: int | None, file_name: str, scratch: Path,
                      max_entries: int) -> HistoryOutcome:
        """Find, download and open the newest trusted history artifact (same rules as a baseline)."""
        def open_zip(zip_path: Path, dest: Path) -> History:
            return history_from_zip(zip_path, dest, file_name=file_name, max_entries=max_entries,
                                    limits=self._limits)
        history, status, reason, artifact = self._fetch_artifact(
            name=name, branch=branch, repository_id=repository_id, exclude_run_id=exclude_run_id,
            scratch=scratch, open_zip=open_zip, kind="history")
        if status == "found" and artifact is not None:
            reason = f"history from {artifact.describe()}"
        return HistoryOutcome(history, status, reason, artifact)

    # -- shard artifacts of this run ---------------------------------------

    def list_run_artifacts(self, run_id: int) -> tuple[list[ArtifactInfo], bool]:
        """Every artifact of workflow run ``run_id``, and whether the listing was cut at the scan limit.

        PyGithub reads the run (GET .../actions/runs/{run_id}) for its
        ``artifacts_url``, then follows that listing's pages.
        """
        return self._scan(lambda: self._repo().get_workflow_run(run_id).get_artifacts(),
                          f"listing the artifacts of workflow run {run_id}")

    def fetch_shards(self, *, run_id: int, prefix: str, scratch: Path) -> list[ShardArtifact]:
        """Download and open the shard artifacts (``<prefix>-K-of-N``) of workflow run ``run_id``.

        Other artifacts of the run are ignored, and so are expired ones (listed
        as expired, or answering 410 on download): the merge then names the
        shard it misses. A shard uploaded twice (a re-run job) counts once, the
        newest. A shard that cannot be downloaded or opened raises
        ShardArtifactError naming it, since the merge cannot go on without it;
        API failures raise GitHubAPIError. Sorted by (count, index).
        """
        listed, cut = self.list_run_artifacts(run_id)
        newest: dict[str, tuple[tuple[int, int], ArtifactInfo]] = {}
        for artifact in listed:
            part = parse_artifact_name(prefix, artifact.name)
            if part is None or artifact.expired or artifact.run_id not in (None, run_id):
                continue
            kept = newest.get(artifact.name)
            if kept is None or (artifact.created_at, artifact.id) > (kept[1].created_at, kept[1].id):
                newest[artifact.name] = (part, artifact)
        if cut and not _complete(part for part, _ in newest.values()):
            raise ShardArtifactError(
                f"workflow run {run_id} lists more than {MAX_ARTIFACTS_SCANNED:,} artifacts and the "
                f"first {MAX_ARTIFACTS_SCANNED:,} do not hold every '{prefix}-K-of-N' shard; upload "
                "fewer artifacts per run")
        shards: list[ShardArtifact] = []
        for (index, count), artifact in sorted(newest.values(), key=lambda item: (item[0][1], item[0][0])):
            zip_path = scratch / f"shard-{artifact.id}.zip"
            try:
                if not self._download(artifact, zip_path, "shard results"):
                    continue   # expired since it was listed
                head, base = shard_from_zip(zip_path, scratch / f"shard-{artifact.id}", self._limits)
            except (UnsafeArtifactError, ResultsFormatError) as exc:
                raise ShardArtifactError(f"shard {index} of {count}, {artifact.describe()}, cannot be "
                                         f"used: {exc}. The merge needs every shard: re-run the job "
                                         "that uploaded it") from exc
            shards.append(ShardArtifact(artifact.name, head, base, artifact))
        return shards

    def _fetch_artifact(self, *, name: str, branch: str | None, repository_id: int | None,
                        exclude_run_id: int | None, scratch: Path,
                        open_zip: Callable[[Path, Path], _T],
                        kind: str) -> tuple[_T | None, str, str, ArtifactInfo | None]:
        """(value, status, reason, artifact) for the newest trusted artifact called ``name``."""
        if repository_id is None:
            repository_id = self.repository_id()
        listed, cut = self.list_artifacts(name)
        choice = choose_baseline(listed, name=name, branch=branch, repository_id=repository_id,
                                 exclude_run_id=exclude_run_id, scanned=len(listed) if cut else None)
        artifact = choice.artifact
        if artifact is None:
            return None, choice.status, choice.reason, None
        zip_path = scratch / f"artifact-{artifact.id}.zip"
        try:
            if not self._download(artifact, zip_path, kind):
                return None, "expired", (f"{artifact.describe()} has expired "
                                         "(the download answered 410 Gone)"), artifact
            value = open_zip(zip_path, scratch / f"artifact-{artifact.id}")
        except (UnsafeArtifactError, ResultsFormatError) as exc:
            return None, "invalid", f"{artifact.describe()} was not used: {exc}", artifact
        return value, "found", choice.reason, artifact

    def _download(self, artifact: ArtifactInfo, dest: Path, kind: str = "results") -> bool:
        """Save the artifact zip to ``dest``; False when GitHub says it expired (410)."""
        if artifact.size_in_bytes > self._limits.max_download_bytes:
            raise UnsafeArtifactError(_too_large(artifact.size_in_bytes, self._limits, kind))
        # Built from the configured API URL, not taken from the listing, so a
        # listing cannot send the token elsewhere.
        url = f"{self.api_url}/repos/{self.repository}/actions/artifacts/{artifact.id}/zip"
        what = f"downloading artifact {artifact.id}"
        for attempt in self._attempts():
            try:
                response = self._session.get(url, headers=self._api_headers(), allow_redirects=False,
                                             stream=True, timeout=self.settings.timeout)
                redirected = response.status_code in (301, 302, 303, 307, 308)
                if redirected:
                    location = response.headers.get("Location", "")
                    response.close()
                    # A fresh request with no Authorization: the blob store refuses tokens,
                    # and a token must never travel to another host.
                    response = self._session.get(location, headers={"User-Agent": _USER_AGENT},
                                                 stream=True, timeout=self.settings.timeout)
                with response:
                    if response.status_code == 410:
                        return False
                    if response.status_code == 200:
                        self._save(response, dest, kind)
                        return True
                    # The signed URL may have lapsed: a new attempt asks for a fresh one.
                    retryable = redirected or response.status_code in _RETRY_STATUSES
                    if not retryable or attempt.last:
                        raise _http_error(response, what, from_storage=redirected)
            except requests.RequestException as exc:
                # Not only refused connections and timeouts: a connection reset while the
                # body streams (ChunkedEncodingError) or an unusable redirect (an empty
                # Location: MissingSchema) also deserve a fresh attempt, then a clear error.
                if attempt.last:
                    raise _network_error(exc, what, self.api_url) from exc
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _save(self, response: requests.Response, dest: Path, kind: str = "results") -> None:
        limit = self._limits.max_download_bytes
        declared = int(response.headers.get("Content-Length") or 0)
        if declared > limit:
            raise UnsafeArtifactError(_too_large(declared, self._limits, kind))
        received = 0
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(dest, "wb") as handle:
            for chunk in response.iter_content(64 * 1024):
                received += len(chunk)
                if received > limit:
                    raise UnsafeArtifactError(_too_large(received, self._limits, kind))
                handle.write(chunk)

    def _api_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}", "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28", "User-Agent": _USER_AGENT}

    def _attempts(self) -> Iterator[_Attempt]:
        total = self.settings.retries + 1
        for number in range(total):
            if number:
                self._sleep(self.settings.backoff * 2 ** (number - 1))
            yield _Attempt(last=number == total - 1)

    # -- nightly regression issues -----------------------------------------

    def list_issues(self, label: str) -> IssueListing:
        """Every issue (open and closed, newest first) carrying ``label``; pull requests skipped.

        A 403 (the job's token may not read issues) is an outcome: the night's
        results are unaffected, only the issues are skipped.
        """
        what = f"listing issues labelled '{label}'"
        try:
            found = []
            for issue in self._repo().get_issues(state="all", labels=[label]):
                if issue.pull_request is not None:
                    continue   # the issues endpoint lists pull requests too
                found.append(IssueInfo(
                    number=issue.number, title=issue.title or "", body=issue.body or "",
                    state=issue.state, author=issue.user.login.lower() if issue.user else "",
                    url=issue.html_url))
                if len(found) >= MAX_ISSUES_SCANNED:
                    break
            return IssueListing(tuple(found))
        except GithubException as exc:
            if exc.status == 403 and not _is_rate_limit(exc):
                return IssueListing(forbidden=_issues_forbidden(exc, "read the issues"))
            raise _api_error(exc, what, permission="issues: write") from exc
        except requests.RequestException as exc:
            raise _network_error(exc, what, self.api_url) from exc

    def create_issue(self, title: str, body: str, labels: tuple[str, ...] = ()) -> IssueOutcome:
        def call() -> IssueOutcome:
            issue = self._repo().create_issue(title, _clip_body(body), labels=list(labels))
            return IssueOutcome("created", issue.number, issue.html_url, f"opened issue #{issue.number}")
        return self._issue_call(call, "opening an issue", "open an issue")

    def edit_issue(self, number: int, *, title: str | None = None, body: str | None = None,
                   state: str | None = None) -> IssueOutcome:
        """Replace the title and body, and/or set the state ("open" or "closed")."""
        changes: dict[str, Any] = {}
        if title is not None:
            changes["title"] = title
        if body is not None:
            changes["body"] = _clip_body(body)
        if state is not None:
            changes["state"] = state
            if state == "closed":
                changes["state_reason"] = "completed"

        def call() -> IssueOutcome:
            issue = self._repo().get_issue(number)
            issue.edit(**changes)
            status = "closed" if state == "closed" else "updated"
            return IssueOutcome(status, number, issue.html_url, f"{status} issue #{number}")
        return self._issue_call(call, f"updating issue #{number}", f"update issue #{number}")

    def comment_issue(self, number: int, body: str) -> IssueOutcome:
        def call() -> IssueOutcome:
            comment = self._repo().get_issue(number).create_comment(_clip_body(body))
            return IssueOutcome("commented", number, comment.html_url, f"commented on issue #{number}")
        return self._issue_call(call, f"commenting on issue #{number}", f"comment on issue #{number}")

    def _issue_call(self, call: Callable[[], IssueOutcome], what: str, verb: str) -> IssueOutcome:
        try:
            return call()
        except GithubException as exc:
            if exc.status == 403 and not _is_rate_limit(exc):
                return IssueOutcome("forbidden", message=_issues_forbidden(exc, verb))
            if exc.status == 410:   # issues are switched off in the repository's settings
                return IssueOutcome("forbidden", message=(
                    f"GitHub refused to {verb} (410: {_message(exc)}): enable Issues in the "
                    "repository's settings, or set nightly-issue to false"))
            raise _api_error(exc, what, permission="issues: write") from exc
        except requests.RequestException as exc:
            raise _network_error(exc, what, self.api_url) from exc

    # -- the sticky comment ------------------------------------------------

    def upsert_comment(self, pr_number: int, body: str, *, marker: str, create: bool = True,
                       fallback_body: str | None = None) -> CommentOutcome:
        """Edit our comment on the PR (found by ``marker`` AND our login), else create one.

        ``create=False`` only refreshes an existing comment. A body over GitHub's
        limit is replaced by ``fallback_body`` (which must carry the marker too).
        A 403 (a fork PR's read-only token) is an outcome, not an error.
        """
        if marker not in body or (fallback_body is not None and marker not in fallback_body):
            raise ValueError("comment bodies must contain the marker, or the next run cannot find them")
        what = f"updating the comment on pull request #{pr_number}"
        try:
            issue = self._repo().get_issue(pr_number)
            ours = self._find_comment(issue, marker)
            if ours is None and not create:
                return CommentOutcome("skipped", None, "no earlier comment to update, and the "
                                                       "comment-mode did not ask for a new one")
            # the seal (seal_comment) is part of what GitHub counts
            fits = len(seal_comment(body)) <= COMMENT_LIMIT
            text = body if fits or fallback_body is None else fallback_body
            try:
                return self._write(issue, ours, text)
            except GithubException as exc:
                if exc.status == 422 and fallback_body is not None and text != fallback_body:
                    return self._write(issue, ours, fallback_body)  # "Body is too long"
                raise
        except GithubException as exc:
            if exc.status == 403 and not _is_rate_limit(exc):
                return CommentOutcome("forbidden", None, _forbidden_message(exc))
            raise _api_error(exc, what, permission="pull-requests: write") from exc
        except requests.RequestException as exc:
            raise _network_error(exc, what, self.api_url) from exc

    def _find_comment(self, issue: Any, marker: str) -> Any | None:
        """Our earlier comment: the marker, the seal, and our login.

        The seal (``seal_comment``) is a hash of the comment's own text that
        the action writes last: a comment merely quoting the marker (a
        person's, written with the same personal token, or another bot's)
        does not carry a seal matching its text, so it is never taken as ours.
        An installation token cannot tell whose it is: it is GITHUB_TOKEN
        (github-actions[bot]) or a custom GitHub App's (``<app>[bot]``); then a
        bot's sealed comment counts too, else an App's token would add a new
        comment every run. A comment from before seals existed counts only
        when it is the token's own bot's.
        """
        login = self.login().lower()
        bots = None
        for comment in issue.get_comments():   # PyGithub follows every Link rel="next"
            text = comment.body or ""
            if marker not in text:
                continue
            author = comment.user.login.lower() if comment.user else ""
            is_bot = bool(comment.user) and comment.user.type == "Bot"
            sealed = is_sealed(text)
            if author == login and (sealed or (is_bot and SEAL_PREFIX not in text)):
                return comment
            if self._login_assumed and bots is None and is_bot and sealed:
                bots = comment
        return bots

    @staticmethod
    def _write(issue: Any, ours: Any | None, text: str) -> CommentOutcome:
        text = seal_comment(text)
        if ours is not None:
            ours.edit(text)
            return CommentOutcome("updated", ours.html_url, "updated the existing comment")
        created = issue.create_comment(text)
        return CommentOutcome("created", created.html_url, "created a comment")


@dataclass(frozen=True)
class _Attempt:
    last: bool


def _artifact_info(artifact: Any) -> ArtifactInfo:
    run = artifact.workflow_run
    return ArtifactInfo(
        id=artifact.id, name=artifact.name, size_in_bytes=artifact.size_in_bytes or 0,
        created_at=artifact.created_at, expired=bool(artifact.expired),
        archive_download_url=artifact.archive_download_url or "",
        run_id=run.id if run else None,
        repository_id=run.repository_id if run else None,
        head_repository_id=run.head_repository_id if run else None,
        head_branch=run.head_branch if run else None,
        head_sha=run.head_sha if run else None)


def _complete(parts: Iterable[tuple[int, int]]) -> bool:
    """Whether some shards were found and, for each count N among them, all of 1..N."""
    by_count: dict[int, set[int]] = {}
    for index, count in parts:
        by_count.setdefault(count, set()).add(index)
    return bool(by_count) and all(indexes == set(range(1, count + 1))
                                  for count, indexes in by_count.items())


def _message(exc: GithubException) -> str:
    data = exc.data
    if isinstance(data, dict):
        return str(data.get("message") or data)
    return str(data or exc)


SEAL_PREFIX = "<!-- perf-regression-action:seal:"


def _seal_of(text: str) -> str:
    normal = text.replace("\r\n", "\n").rstrip()
    return hashlib.sha256(normal.encode("utf-8", errors="surrogatepass")).hexdigest()[:32]


def seal_comment(body: str) -> str:
    """``body`` with its seal as the last line: the hash of everything before it."""
    body = body.rstrip()
    return f"{body}\n{SEAL_PREFIX}{_seal_of(body)} -->"


def is_sealed(text: str) -> bool:
    """Whether ``text`` ends with the seal of exactly the text before it."""
    text = text.replace("\r\n", "\n").rstrip()
    head, _, last = text.rpartition("\n")
    if not (last.startswith(SEAL_PREFIX) and last.endswith(" -->")):
        return False
    return last[len(SEAL_PREFIX):-len(" -->")] == _seal_of(head)


def _is_rate_limit(exc: GithubException) -> bool:
    return "rate limit" in _message(exc).lower()


def _forbidden_message(exc: GithubException) -> str:
    return (f"GitHub refused to write the comment (403: {_message(exc)}). On a pull request from "
            "a fork the token is read-only; the report is in the job summary instead. Elsewhere, "
            "give the job `permissions: pull-requests: write`.")


def _issues_forbidden(exc: GithubException, verb: str) -> str:
    return (f"GitHub refused to {verb} (403: {_message(exc)}): give the job "
            "`permissions: issues: write` to file nightly regression issues; tonight's results "
            "and history are written regardless")


def _clip_body(body: str) -> str:
    """Keep a body within GitHub's limit, cutting before the end so a trailing marker survives."""
    if len(body) <= ISSUE_BODY_LIMIT:
        return body
    head, sep, tail = body.rpartition("\n<!--")
    keep = sep + tail if sep and len(sep + tail) < 1000 else ""
    note = "\n\n… (cut to fit GitHub's size limit)\n"
    return body[:ISSUE_BODY_LIMIT - len(keep) - len(note)] + note + keep


def _api_error(exc: GithubException, what: str, *, permission: str | None = None) -> GitHubAPIError:
    message = _message(exc)
    if exc.status == 401:
        hint = "the token is invalid or expired: check the action's 'token' input"
    elif exc.status == 403 and _NOT_ACCESSIBLE in message.lower() and permission:
        hint = f"the token lacks a permission: add `permissions: {permission}` to the job"
    elif exc.status == 403 and "rate limit" in message.lower():
        hint = "the API rate limit is used up; re-run the job after it resets"
    elif exc.status == 404:
        hint = "check the repository name, and that the token can see it"
    else:
        hint = "GitHub may be having problems; re-run the job"
    return GitHubAPIError(f"GitHub API answered {exc.status} ({message}) while {what}: {hint}")


def _http_error(response: requests.Response, what: str, *, from_storage: bool = False) -> GitHubAPIError:
    try:
        message = response.json().get("message", "")
    except ValueError:
        message = response.text[:200]
    status = response.status_code
    if from_storage:
        hint = "the artifact storage refused the signed download link; re-run the job"
    elif status in (401, 403):
        hint = ("the token cannot download artifacts: add `permissions: actions: read` to the job"
                if status == 403 else "the token is invalid or expired")
    elif status == 404:
        hint = "the artifact is gone (deleted after it was listed); re-run the job"
    else:
        hint = "GitHub may be having problems; re-run the job"
    return GitHubAPIError(f"GitHub answered {status} ({message}) while {what}: {hint}")


def _network_error(exc: Exception, what: str, api_url: str) -> GitHubAPIError:
    if isinstance(exc, requests.exceptions.RetryError):
        return GitHubAPIError(f"GitHub API at {api_url} kept failing while {what}, retries "
                              f"exhausted ({exc}); GitHub may be having problems, re-run the job")
    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return GitHubAPIError(f"cannot reach the GitHub API at {api_url} while {what} "
                              f"({type(exc).__name__}: {exc}); check GITHUB_API_URL and the "
                              "network, then re-run the job")
    # E.g. the connection broke off mid-body, or a redirect led nowhere.
    return GitHubAPIError(f"the GitHub API at {api_url} failed while {what}, on every attempt "
                          f"({type(exc).__name__}: {exc}); GitHub may be having problems, "
                          "re-run the job")


def _too_large(size: int, limits: ExtractionLimits, kind: str = "results") -> str:
    return (f"the artifact is {size} bytes, more than the {limits.max_download_bytes} bytes "
            f"a {kind} artifact can need; refusing it")

