"""The fake's endpoints. Each answers as GitHub does, including its error bodies."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from . import payloads
from .server import FORBIDDEN_INTEGRATION, TEST_ROUTES
from .state import COMMENT_BODY_LIMIT, Comment, Issue

if TYPE_CHECKING:
    from .server import FakeGitHub, _Handler

REPO = r"/repos/([^/]+/[^/]+)"


def register(fake: FakeGitHub) -> None:
    fake.add_route("api", "GET", r"/user", get_user)
    fake.add_route("api", "GET", REPO, get_repo)
    fake.add_route("api", "GET", REPO + r"/pulls/(\d+)", get_pull)
    fake.add_route("api", "GET", REPO + r"/issues", list_issues)
    fake.add_route("api", "POST", REPO + r"/issues", create_issue)
    fake.add_route("api", "GET", REPO + r"/issues/(\d+)", get_issue)
    fake.add_route("api", "PATCH", REPO + r"/issues/(\d+)", edit_issue)
    fake.add_route("api", "GET", REPO + r"/issues/(\d+)/comments", list_comments)
    fake.add_route("api", "POST", REPO + r"/issues/(\d+)/comments", create_comment)
    fake.add_route("api", "GET", REPO + r"/issues/comments/(\d+)", get_comment)
    fake.add_route("api", "PATCH", REPO + r"/issues/comments/(\d+)", edit_comment)
    fake.add_route("api", "GET", REPO + r"/actions/artifacts", list_artifacts)
    fake.add_route("api", "GET", REPO + r"/actions/artifacts/(\d+)/zip", download_artifact)
    fake.add_route("api", "GET", REPO + r"/actions/runs/(\d+)", get_run)
    fake.add_route("api", "GET", REPO + r"/actions/runs/(\d+)/artifacts", list_run_artifacts)
    fake.add_route("blob", "GET", r"/artifacts/(\d+)\.zip", get_blob)
    # Test-only, not GitHub's: at the server's root whatever the API prefix (server.TEST_ROUTES).
    fake.add_route("api", "POST", TEST_ROUTES + r"runs/(\d+)/artifacts/([^/]+)/files/([^/]+)",
                   upload_artifact_file)


def _not_found(h: _Handler) -> None:
    h.send_json(404, payloads.error_json("Not Found", 404))


def _page(h: _Handler, items: Sequence[Any]) -> tuple[list[Any], dict[str, str]]:
    """Slice ``items`` by ?page and ?per_page (default 30, at most 100) and build the Link header."""
    try:
        per_page = min(max(int(h.query.get("per_page", 30)), 1), 100)
        page = max(int(h.query.get("page", 1)), 1)
    except ValueError:
        per_page, page = 30, 1
    last = max((len(items) + per_page - 1) // per_page, 1)
    chunk = list(items[(page - 1) * per_page: page * per_page])
    query = {k: v for k, v in h.query.items() if k != "page"}
    path = h.path.split("?")[0][len(h.fake.prefix):]
    return chunk, h.fake.page_links(path, query, page, last)


def get_user(h: _Handler) -> None:
    token = h.fake.state.tokens.get(h.token() or "")
    if token is None:
        h.send_json(401, payloads.error_json("Bad credentials", 401))
    elif token.installation:
        h.send_json(403, payloads.error_json(FORBIDDEN_INTEGRATION, 403))
    else:
        profile = {"name": None, "company": None, "blog": "", "location": None, "email": None,
                   "hireable": None, "bio": None, "public_repos": 1, "public_gists": 0,
                   "followers": 0, "following": 0, "created_at": payloads.iso(payloads.EPOCH),
                   "updated_at": payloads.iso(payloads.EPOCH)}
        h.send_json(200, {**h.fake.user_json(token.login), **profile})


def get_repo(h: _Handler, full_name: str) -> None:
    if h.caller() is None:
        return
    if full_name not in h.fake.state.repos:
        return _not_found(h)
    h.send_json(200, h.fake.repo_json(full_name))


def get_pull(h: _Handler, full_name: str, number: str) -> None:
    if h.caller() is None:
        return
    pull = h.fake.state.pulls.get((full_name, int(number)))
    if pull is None:
        return _not_found(h)
    h.send_json(200, h.fake.pull_json(pull))


def _exists(h: _Handler, full_name: str, number: str) -> bool:
    key = (full_name, int(number))
    return key in h.fake.state.pulls or key in h.fake.state.issues


def list_comments(h: _Handler, full_name: str, number: str) -> None:
    if h.caller() is None:
        return
    if not _exists(h, full_name, number):
        return _not_found(h)
    chunk, links = _page(h, h.fake.comments_on(full_name, int(number)))
    h.send_json(200, [h.fake.comment_json(c) for c in chunk], links)


def _body_from(h: _Handler) -> str | None:
    """The request's "body" field, or None after answering 422 as GitHub does."""
    try:
        body = json.loads(h.body or b"{}").get("body")
    except (ValueError, AttributeError):
        body = None
    if not isinstance(body, str):
        h.send_json(422, payloads.error_json("Invalid request.\n\nNo subschema in \"anyOf\" matched.", 422))
        return None
    if len(body) > COMMENT_BODY_LIMIT:
        h.send_json(422, {"message": "Validation Failed",
                          "errors": [{"resource": "IssueComment", "code": "unprocessable",
                                      "field": "data", "message": "Body is too long (maximum is 65536 characters)"}],
                          "documentation_url": "https://docs.github.com/rest/issues/comments",
                          "status": "422"})
        return None
    return body


def create_comment(h: _Handler, full_name: str, number: str) -> None:
    # A comment on a pull request needs `pull-requests: write`, on an issue `issues: write`.
    login = h.caller(write=True, issues=(full_name, int(number)) in h.fake.state.issues)
    if login is None:
        return
    if not _exists(h, full_name, number):
        return _not_found(h)
    body = _body_from(h)
    if body is None:
        return
    moment = h.fake.state.tick()
    comment = Comment(h.fake.state.new_id(), full_name, int(number), login, body, moment, moment)
    with h.fake.state.lock:
        h.fake.state.comments[comment.id] = comment
    h.send_json(201, h.fake.comment_json(comment), {"Location": h.fake.comment_json(comment)["url"]})


def get_comment(h: _Handler, full_name: str, comment_id: str) -> None:
    if h.caller() is None:
        return
    comment = h.fake.state.comments.get(int(comment_id))
    if comment is None or comment.repo != full_name:
        return _not_found(h)
    h.send_json(200, h.fake.comment_json(comment))


def edit_comment(h: _Handler, full_name: str, comment_id: str) -> None:
    login = h.caller(write=True)
    if login is None:
        return
    comment = h.fake.state.comments.get(int(comment_id))
    if comment is None or comment.repo != full_name:
        return _not_found(h)
    if comment.author != login:
        # GitHub lets repository writers edit others' comments; perfaction must never try.
        h.send_json(403, payloads.error_json("Must have admin rights to Repository.", 403))
        return
    body = _body_from(h)
    if body is None:
        return
    with h.fake.state.lock:
        comment.body = body
        comment.updated_at = h.fake.state.tick()
    h.send_json(200, h.fake.comment_json(comment))


def list_artifacts(h: _Handler, full_name: str) -> None:
    if h.caller() is None:
        return
    if full_name not in h.fake.state.repos:
        return _not_found(h)
    artifacts = h.fake.state.artifacts_named(full_name, h.query.get("name"))
    chunk, links = _page(h, artifacts)
    h.send_json(200, {"total_count": len(artifacts),
                      "artifacts": [h.fake.artifact_json(a) for a in chunk]}, links)


def download_artifact(h: _Handler, full_name: str, artifact_id: str) -> None:
    if h.caller() is None:
        return
    artifact = h.fake.state.artifacts.get(int(artifact_id))
    if artifact is None or artifact.repo != full_name:
        return _not_found(h)
    if artifact.expired:
        h.send_json(410, payloads.error_json("Artifact has expired", 410))
        return
    h.send_bytes(302, b"", "text/plain", {"Location": h.fake.sign_blob(artifact.id)})


def get_run(h: _Handler, full_name: str, run_id: str) -> None:
    if h.caller() is None:
        return
    run = h.fake.state.run(full_name, int(run_id)) if full_name in h.fake.state.repos else None
    if run is None:
        return _not_found(h)
    h.send_json(200, h.fake.workflow_run_json(run))


def list_run_artifacts(h: _Handler, full_name: str, run_id: str) -> None:
    """The run's artifacts, oldest first, filtered by ?name; paginated like list_artifacts."""
    if h.caller() is None:
        return
    if full_name not in h.fake.state.repos or h.fake.state.run(full_name, int(run_id)) is None:
        return _not_found(h)
    artifacts = h.fake.state.artifacts_of_run(full_name, int(run_id), h.query.get("name"))
    chunk, links = _page(h, artifacts)
    h.send_json(200, {"total_count": len(artifacts),
                      "artifacts": [h.fake.artifact_json(a) for a in chunk]}, links)


def upload_artifact_file(h: _Handler, run_id: str, name: str, file_name: str) -> None:
    """Test-only: the request's body becomes ``file_name`` in run ``run_id``'s artifact ``name``.

    For job containers with only bash (tests/e2e/support.py, UPLOAD_STAND_IN).
    No token; ?branch, ?sha and ?repo set the new artifact's run (empty means
    the default). Answers 201 {"id", "name", "run_id", "created", "files", "size_in_bytes"}.
    """
    name, file_name = unquote(name), unquote(file_name)
    if "Content-Length" not in h.headers:
        h.send_json(411, payloads.error_json("Length Required", 411))
        return
    if not name or file_name in ("", ".", ".."):
        h.send_json(422, payloads.error_json("Validation Failed: empty artifact or file name", 422))
        return
    try:
        artifact, created = h.fake.upload_artifact_file(
            int(run_id), name, file_name, h.body, repo=h.query.get("repo") or None,
            head_branch=h.query.get("branch") or "main", head_sha=h.query.get("sha") or "c" * 40)
    except KeyError as exc:
        h.send_json(404, payloads.error_json(f"Not Found: {exc}", 404))
        return
    files = sorted(_zip_names(artifact.content))
    h.send_json(201, {"id": artifact.id, "name": artifact.name, "run_id": artifact.run_id,
                      "created": created, "files": files, "size_in_bytes": len(artifact.content)})


def _zip_names(content: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return archive.namelist()


def get_blob(h: _Handler, artifact_id: str) -> None:
    if "Authorization" in h.headers:
        # The real blob store rejects a request that carries a GitHub token.
        h.send_bytes(403, b"<Error><Code>InvalidAuthenticationInfo</Code></Error>", "application/xml")
        return
    with h.fake.state.lock:
        signed_for = h.fake.state.blob_signatures.get(h.query.get("sig", ""))
        artifact = h.fake.state.artifacts.get(int(artifact_id))
    if signed_for != int(artifact_id) or artifact is None:
        h.send_bytes(403, b"<Error><Code>AuthenticationFailed</Code></Error>", "application/xml")
        return
    h.send_bytes(200, artifact.content, "application/zip")


# -- issues -------------------------------------------------------------------

def _pull_as_issue(h: _Handler, pull: Any) -> dict[str, Any]:
    """A pull request as the issues endpoints list it: an issue with a pull_request key."""
    moment = payloads.EPOCH
    data = h.fake.issue_json(Issue(pull.repo, pull.number, pull.title, None, pull.author,
                                   list(pull.labels), moment, moment))
    url = f"{h.fake.base_url}/repos/{pull.repo}/pulls/{pull.number}"
    html = f"{h.fake.web_url}/{pull.repo}/pull/{pull.number}"
    data["html_url"] = html
    data["pull_request"] = {"url": url, "html_url": html, "diff_url": f"{html}.diff",
                            "patch_url": f"{html}.patch", "merged_at": None}
    return data


def list_issues(h: _Handler, full_name: str) -> None:
    """Issues and pull requests, filtered by ?state (default open) and ?labels (all of them)."""
    if h.caller() is None:
        return
    if full_name not in h.fake.state.repos:
        return _not_found(h)
    state = h.query.get("state", "open")
    if state not in ("open", "closed", "all"):
        h.send_json(422, payloads.error_json("Validation Failed", 422))
        return
    wanted = {label.strip() for label in h.query.get("labels", "").split(",") if label.strip()}
    with h.fake.state.lock:
        items = [(i.number, i.created_at, h.fake.issue_json(i), i.state, i.labels)
                 for i in h.fake.state.issues_of(full_name)]
        items += [(p.number, payloads.EPOCH, _pull_as_issue(h, p), "open", p.labels)
                  for (repo, _), p in h.fake.state.pulls.items() if repo == full_name]
    chosen = [(n, created, data) for n, created, data, st, labels in items
              if (state == "all" or st == state) and wanted <= set(labels)]
    # GitHub's default order: newest first (sort=created, direction=desc).
    ascending = h.query.get("direction") == "asc"
    chosen.sort(key=lambda item: (item[1], item[0]), reverse=not ascending)
    chunk, links = _page(h, [data for _, _, data in chosen])
    h.send_json(200, chunk, links)


def _issue_fields(h: _Handler, *, creating: bool) -> dict[str, Any] | None:
    """The request's fields, or None after answering 422 as GitHub does."""
    try:
        data = json.loads(h.body or b"{}")
    except ValueError:
        data = None
    problems = []
    if not isinstance(data, dict):
        problems.append("Problems parsing JSON")
        data = {}
    if creating and not isinstance(data.get("title"), str):
        problems.append('"title" wasn\'t supplied.')
    if "body" in data and data["body"] is not None and (not isinstance(data["body"], str)
                                                        or len(data["body"]) > COMMENT_BODY_LIMIT):
        problems.append("body is too long (maximum is 65536 characters)")
    if "state" in data and data["state"] not in ("open", "closed"):
        problems.append(f"state {data['state']!r} is not one of open, closed")
    if "labels" in data and not (isinstance(data["labels"], list)
                                 and all(isinstance(x, str) for x in data["labels"])):
        problems.append("labels must be a list of names")
    if problems:
        h.send_json(422, {**payloads.error_json("Validation Failed", 422),
                          "errors": [{"resource": "Issue", "code": "invalid", "message": m}
                                     for m in problems]})
        return None
    return data


def _issues_enabled(h: _Handler, full_name: str) -> bool:
    if h.fake.state.repos[full_name].has_issues:
        return True
    h.send_json(410, payloads.error_json("Issues are disabled for this repo", 410))
    return False


def create_issue(h: _Handler, full_name: str) -> None:
    login = h.caller(write=True, issues=True)
    if login is None:
        return
    if full_name not in h.fake.state.repos:
        return _not_found(h)
    if not _issues_enabled(h, full_name):
        return
    data = _issue_fields(h, creating=True)
    if data is None:
        return
    issue = h.fake.add_issue(full_name, data["title"], data.get("body"), author=login,
                             labels=tuple(dict.fromkeys(data.get("labels") or ())))
    h.send_json(201, h.fake.issue_json(issue), {"Location": h.fake.issue_json(issue)["url"]})


def get_issue(h: _Handler, full_name: str, number: str) -> None:
    if h.caller() is None:
        return
    issue = h.fake.state.issues.get((full_name, int(number)))
    if issue is None:
        return _not_found(h)
    h.send_json(200, h.fake.issue_json(issue))


def edit_issue(h: _Handler, full_name: str, number: str) -> None:
    login = h.caller(write=True, issues=True)
    if login is None:
        return
    issue = h.fake.state.issues.get((full_name, int(number)))
    if issue is None:
        return _not_found(h)
    data = _issue_fields(h, creating=False)
    if data is None:
        return
    with h.fake.state.lock:
        moment = h.fake.state.tick()
        issue.title = data.get("title", issue.title)
        issue.body = data.get("body", issue.body)
        if "labels" in data:
            issue.labels = list(dict.fromkeys(data["labels"]))
        if data.get("state") == "closed" and issue.state != "closed":
            issue.state, issue.closed_at = "closed", moment
            issue.state_reason = data.get("state_reason") or "completed"
        elif data.get("state") == "open" and issue.state != "open":
            issue.state, issue.closed_at, issue.state_reason = "open", None, "reopened"
        issue.updated_at = moment
    h.send_json(200, h.fake.issue_json(issue))
