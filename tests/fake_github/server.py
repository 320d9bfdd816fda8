"""A stateful fake of the GitHub REST API over real HTTP on 127.0.0.1.

Two servers on OS-assigned ports: the API (optionally under a path prefix
such as /api/v3, as on GitHub Enterprise Server) and a blob host that serves
artifact zips behind short-lived signed URLs and, like the real blob store,
refuses any request that carries an Authorization header.

Only the endpoints perfaction uses are served; anything else answers 404
with GitHub's error shape, so an unexpected call shows up as a failure.
Routes under TEST_ROUTES (/_test/) are not GitHub's: they let a workflow's
job container seed the fake over plain HTTP, and sit at the API server's
root whatever its prefix.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import threading
import zipfile
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from . import payloads
from .state import Artifact, Comment, FakeState, Fault, Issue, Pull, RecordedRequest, Repo, Run, Token
from .zips import zip_files

WEB = "https://github.example.invalid"
TEST_ROUTES = "/_test/"   # not GitHub's: seeding over HTTP for job containers (routes.py)
FORBIDDEN_INTEGRATION = "Resource not accessible by integration"
Route = tuple[str, "re.Pattern[str]", Callable[..., None]]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeGitHub          # set on the per-server subclass
    server_kind = "api"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = split.path
        prefix = self.fake.prefix if self.server_kind == "api" else ""
        if path.startswith(TEST_ROUTES):
            prefix = ""   # test-only routes sit at the root, whatever the API's prefix
        if prefix and path.startswith(prefix):
            path = path[len(prefix):]
        elif prefix:
            self.send_json(404, payloads.error_json("Not Found", 404))
            return
        self.query = dict(parse_qsl(split.query))
        self.body = body
        self.fake.state.record(RecordedRequest(self.server_kind, method, path, dict(self.query),
                                               {k.lower(): v for k, v in self.headers.items()}, body))
        fault = self.fake.state.take_fault(self.server_kind, method, path)
        self.cut_body = False
        if fault is not None:
            if fault.delay and self.fake.stopping.wait(fault.delay):
                return
            if fault.status is not None:
                self.send_json(fault.status, payloads.error_json(fault.message, fault.status), fault.headers)
                return
            self.cut_body = fault.cut_body
        routes = self.fake.api_routes if self.server_kind == "api" else self.fake.blob_routes
        for route_method, pattern, handler in routes:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                handler(self, *match.groups())
                return
        self.send_json(404, payloads.error_json("Not Found", 404))

    # -- responses ---------------------------------------------------------

    def send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(data).encode("utf-8")
        self.send_bytes(status, raw, "application/json; charset=utf-8", headers)

    def send_bytes(self, status: int, raw: bytes, content_type: str,
                   headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.cut_body and len(raw) > 1:
            # Half the promised bytes, then the connection closes: the client's read breaks off.
            self.wfile.write(raw[:len(raw) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(raw)

    def token(self) -> str | None:
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() in ("token", "bearer") else None

    def caller(self, *, write: bool = False, issues: bool = False) -> str | None:
        """The login behind the request's token; None after answering 401/403.

        ``issues``: the write touches an issue, so it needs `issues: write`.
        """
        token = self.fake.state.tokens.get(self.token() or "")
        if token is None:
            self.send_json(401, payloads.error_json("Bad credentials", 401))
            return None
        if write and (token.read_only or (issues and not token.issues_write)):
            self.send_json(403, payloads.error_json(FORBIDDEN_INTEGRATION, 403))
            return None
        return token.login


class FakeGitHub:
    """The fake's state plus its two servers. Use as a context manager or call close()."""

    def __init__(self, *, prefix: str = "/api/v3"):
        self.prefix = prefix.rstrip("/")
        self.state = FakeState()
        self.stopping = threading.Event()
        self.api_routes: list[Route] = []
        self.blob_routes: list[Route] = []
        from . import routes  # the endpoint handlers register themselves on this fake
        routes.register(self)
        self._api = self._start("api")
        self._blob = self._start("blob")

    def _start(self, kind: str) -> _Server:
        handler = type(f"{kind.title()}Handler", (_Handler,), {"fake": self, "server_kind": kind})
        server = _Server(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, args=(0.02,), name=f"fake-github-{kind}", daemon=True)
        thread.start()
        return server

    @property
    def base_url(self) -> str:
        """What GITHUB_API_URL would be: http://127.0.0.1:PORT[/api/v3]."""
        return f"http://127.0.0.1:{self._api.server_address[1]}{self.prefix}"

    @property
    def port(self) -> int:
        """The API server's port, for clients that cannot take a URL (tests/e2e's upload stand-in)."""
        return int(self._api.server_address[1])

    @property
    def blob_url(self) -> str:
        return f"http://127.0.0.1:{self._blob.server_address[1]}"

    @property
    def web_url(self) -> str:
        return WEB

    def add_route(self, kind: str, method: str, pattern: str, handler: Callable[..., None]) -> None:
        routes = self.api_routes if kind == "api" else self.blob_routes
        routes.append((method, re.compile(pattern), handler))

    def sign_blob(self, artifact_id: int) -> str:
        signature = secrets.token_urlsafe(16)
        with self.state.lock:
            self.state.blob_signatures[signature] = artifact_id
        return f"{self.blob_url}/artifacts/{artifact_id}.zip?" + urlencode({"sig": signature, "se": "soon"})

    def page_links(self, path: str, query: dict[str, str], page: int, last: int) -> dict[str, str]:
        """The Link header GitHub sends: absolute URLs for next/last (and prev/first)."""
        def url(number: int) -> str:
            return f"{self.base_url}{path}?" + urlencode({**query, "page": str(number)})
        links = []
        if page < last:
            links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
        if page > 1:
            links += [f'<{url(page - 1)}>; rel="prev"', f'<{url(1)}>; rel="first"']
        return {"Link": ", ".join(links)} if links else {}

    # -- seeding (tests call these) ----------------------------------------

    def add_repo(self, full_name: str, repo_id: int, *, default_branch: str = "main",
                 fork: bool = False, has_issues: bool = True) -> Repo:
        repo = Repo(full_name, repo_id, default_branch, fork, has_issues)
        with self.state.lock:
            self.state.repos[full_name] = repo
        self.state.user_for(full_name.split("/")[0])
        return repo

    def add_token(self, value: str, login: str, *, installation: bool = False,
                  read_only: bool = False, issues_write: bool = True) -> Token:
        token = Token(value, login, installation, read_only, issues_write)
        self.state.user_for(login)
        with self.state.lock:
            self.state.tokens[value] = token
        return token

    def add_pull(self, repo: str, number: int, *, author: str = "contributor",
                 head_repo: str | None = None, head_ref: str = "feature", head_sha: str = "b" * 40,
                 base_ref: str = "main", base_sha: str = "a" * 40) -> Pull:
        pull = Pull(repo, number, author, head_repo or repo, head_ref, head_sha, base_ref, base_sha)
        with self.state.lock:
            self.state.pulls[(repo, number)] = pull
        return pull

    def add_issue(self, repo: str, title: str, body: str | None = None, *, author: str,
                  labels: tuple[str, ...] = (), state: str = "open") -> Issue:
        """An issue (its number follows the repository's pulls and issues)."""
        self.state.user_for(author)
        moment = self.state.tick()
        with self.state.lock:
            issue = Issue(repo, self.state.next_number(repo), title, body, author, list(labels),
                          moment, moment, state, "completed" if state == "closed" else None,
                          moment if state == "closed" else None)
            self.state.issues[(repo, issue.number)] = issue
        return issue

    def add_comment(self, repo: str, number: int, body: str, *, author: str) -> Comment:
        self.state.user_for(author)
        moment = self.state.tick()
        comment = Comment(self.state.new_id(), repo, number, author, body, moment, moment)
        with self.state.lock:
            self.state.comments[comment.id] = comment
        return comment

    def add_artifact(self, repo: str, name: str, content: bytes, *, head_branch: str = "main",
                     head_repository_id: int | None = None, expired: bool = False,
                     run_id: int | None = None, head_sha: str = "c" * 40,
                     size_in_bytes: int | None = None) -> Artifact:
        """An artifact of a workflow run; ``head_repository_id`` defaults to the repository's own id."""
        own_id = self.state.repos[repo].id
        artifact = Artifact(self.state.new_id(), repo, name, content, self.state.tick(),
                            run_id if run_id is not None else self.state.new_id(),
                            head_repository_id if head_repository_id is not None else own_id,
                            head_branch, head_sha, expired, size_in_bytes)
        with self.state.lock:
            self.state.artifacts[artifact.id] = artifact
        return artifact

    def add_run(self, repo: str, run_id: int, *, head_branch: str = "main", head_sha: str = "c" * 40,
                head_repository_id: int | None = None, event: str = "push") -> Run:
        """A workflow run with no artifacts yet (a run with artifacts exists without this)."""
        own_id = self.state.repos[repo].id
        run = Run(run_id, repo, head_branch, head_sha,
                  head_repository_id if head_repository_id is not None else own_id,
                  self.state.tick(), event)
        with self.state.lock:
            self.state.runs[run_id] = run
        return run

    def upload_artifact_file(self, run_id: int, name: str, file_name: str, content: bytes, *,
                             repo: str | None = None, head_branch: str = "main",
                             head_sha: str = "c" * 40) -> tuple[Artifact, bool]:
        """Put ``file_name`` at the top of the zip of run ``run_id``'s artifact ``name``.

        What the test-only upload route does: the first file creates the
        artifact (in the run's repository, else ``repo``, else the first
        repository added), later ones are added to its zip or replace a file of
        that name. Returns the artifact and whether it was created.
        """
        with self.state.lock:
            artifact = self.state.artifact_in_run(run_id, name)
            if artifact is not None:
                files = _zip_members(artifact.content)
                files[file_name] = content
                artifact.content = zip_files(files)
                return artifact, False
            owner = repo or self.state.repo_of_run(run_id) or next(iter(self.state.repos), None)
            if owner is None or owner not in self.state.repos:
                raise KeyError(f"no repository {owner!r} for run {run_id}")
            return self.add_artifact(owner, name, zip_files({file_name: content}), run_id=run_id,
                                     head_branch=head_branch, head_sha=head_sha), True

    def remove_artifacts(self, repo: str | None = None) -> int:
        """Delete every artifact (of ``repo``, else of all repositories); how many went."""
        return self.state.remove_artifacts(repo)

    def add_fault(self, method: str, path: str, status: int | None = 500, message: str = "Server Error",
                  *, times: int = 1, delay: float = 0.0, headers: dict[str, str] | None = None,
                  cut_body: bool = False, server: str = "api") -> Fault:
        """Misbehave on the next ``times`` requests matching ``method`` ("*" for any) and the path regex.

        ``cut_body=True`` (with ``status=None``) sends half the body and closes the
        connection; ``server="blob"`` targets the artifact storage instead of the API.
        """
        if server not in ("api", "blob"):
            raise ValueError(f"server must be 'api' or 'blob', got {server!r}")
        fault = Fault(method, path, status, message, times, delay, dict(headers or {}), cut_body,
                      server)
        with self.state.lock:
            self.state.faults.append(fault)
        return fault

    # -- reading back ------------------------------------------------------

    def comments_on(self, repo: str, number: int) -> list[Comment]:
        return self.state.comments_on(repo, number)

    def issues_of(self, repo: str) -> list[Issue]:
        """Issues (not pull requests), by number."""
        return self.state.issues_of(repo)

    def requests(self, server: str | None = None, method: str | None = None,
                 path: str | None = None) -> list[RecordedRequest]:
        """Requests received so far, optionally filtered (``path`` is a regex)."""
        with self.state.lock:
            return [r for r in self.state.requests
                    if (server is None or r.server == server) and (method is None or r.method == method)
                    and (path is None or re.fullmatch(path, r.path))]

    # -- JSON for the routes ----------------------------------------------

    def user_json(self, login: str) -> dict[str, Any]:
        user = self.state.user_for(login)
        return payloads.user_json(self.base_url, WEB, user.login, user.id, user.type)

    def repo_json(self, full_name: str, *, full: bool = True) -> dict[str, Any]:
        repo = self.state.repos[full_name]
        return payloads.repo_json(self.base_url, WEB, full_name=full_name, repo_id=repo.id,
                                  owner=self.user_json(full_name.split("/")[0]),
                                  default_branch=repo.default_branch, fork=repo.fork, full=full)

    def comment_json(self, comment: Comment) -> dict[str, Any]:
        on_pull = (comment.repo, comment.issue_number) in self.state.pulls
        return payloads.comment_json(self.base_url, WEB, full_name=comment.repo,
                                     issue_number=comment.issue_number, comment_id=comment.id,
                                     body=comment.body, user=self.user_json(comment.author),
                                     created_at=comment.created_at, updated_at=comment.updated_at,
                                     on_pull=on_pull)

    def issue_json(self, issue: Issue) -> dict[str, Any]:
        labels = [payloads.label_json(self.base_url, full_name=issue.repo, name=name,
                                      label_id=9000 + sum(map(ord, name)))
                  for name in issue.labels]
        return payloads.issue_json(
            self.base_url, WEB, full_name=issue.repo, number=issue.number,
            issue_id=2_000_000 + issue.number, title=issue.title, body=issue.body,
            user=self.user_json(issue.author), labels=labels, state=issue.state,
            state_reason=issue.state_reason,
            comments=len(self.comments_on(issue.repo, issue.number)),
            created_at=issue.created_at, updated_at=issue.updated_at, closed_at=issue.closed_at)

    def artifact_json(self, artifact: Artifact) -> dict[str, Any]:
        repo_id = self.state.repos[artifact.repo].id
        size = artifact.size_in_bytes if artifact.size_in_bytes is not None else len(artifact.content)
        return payloads.artifact_json(
            self.base_url, full_name=artifact.repo, artifact_id=artifact.id, name=artifact.name,
            size=size, created_at=artifact.created_at, expires_at=self.state.expires_at(artifact),
            expired=artifact.expired,
            workflow_run={"id": artifact.run_id, "repository_id": repo_id,
                          "head_repository_id": artifact.head_repository_id,
                          "head_branch": artifact.head_branch, "head_sha": artifact.head_sha})

    def workflow_run_json(self, run: Run) -> dict[str, Any]:
        head_repo = next((name for name, r in self.state.repos.items() if r.id == run.head_repository_id),
                         run.repo)
        return payloads.workflow_run_json(
            self.base_url, WEB, full_name=run.repo, run_id=run.id, head_branch=run.head_branch,
            head_sha=run.head_sha, event=run.event, created_at=run.created_at,
            actor=self.user_json(run.repo.split("/")[0]),
            repository=self.repo_json(run.repo, full=False),
            head_repository=self.repo_json(head_repo, full=False),
            head_repository_id=run.head_repository_id)

    def pull_json(self, pull: Pull) -> dict[str, Any]:
        def side(repo_name: str | None, ref: str, sha: str) -> dict[str, Any]:
            repo = self.repo_json(repo_name, full=False) if repo_name in self.state.repos else None
            owner = (repo_name or pull.author).split("/")[0]
            return payloads.pull_side_json(repo=repo, user=self.user_json(owner), ref=ref, sha=sha)
        return payloads.pull_json(self.base_url, WEB, full_name=pull.repo, number=pull.number,
                                  user=self.user_json(pull.author), title=pull.title,
                                  head=side(pull.head_repo, pull.head_ref, pull.head_sha),
                                  base=side(pull.repo, pull.base_ref, pull.base_sha))

    def close(self) -> None:
        self.stopping.set()
        for server in (self._api, self._blob):
            server.shutdown()
            server.server_close()

    def __enter__(self) -> FakeGitHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _zip_members(content: bytes) -> dict[str, bytes | str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}
