"""The fake's endpoints. Each answers as GitHub does, including its error bodies."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Sequence

from . import payloads
from .server import FORBIDDEN_INTEGRATION
from .state import COMMENT_BODY_LIMIT, Comment

if TYPE_CHECKING:
    from .server import FakeGitHub, _Handler

REPO = r"/repos/([^/]+/[^/]+)"


def register(fake: "FakeGitHub") -> None:
    fake.add_route("api", "GET", r"/user", get_user)
    fake.add_route("api", "GET", REPO, get_repo)
    fake.add_route("api", "GET", REPO + r"/pulls/(\d+)", get_pull)
    fake.add_route("api", "GET", REPO + r"/issues/(\d+)/comments", list_comments)
    fake.add_route("api", "POST", REPO + r"/issues/(\d+)/comments", create_comment)
    fake.add_route("api", "GET", REPO + r"/issues/comments/(\d+)", get_comment)
    fake.add_route("api", "PATCH", REPO + r"/issues/comments/(\d+)", edit_comment)
    fake.add_route("api", "GET", REPO + r"/actions/artifacts", list_artifacts)
    fake.add_route("api", "GET", REPO + r"/actions/artifacts/(\d+)/zip", download_artifact)
    fake.add_route("blob", "GET", r"/artifacts/(\d+)\.zip", get_blob)


def _not_found(h: "_Handler") -> None:
    h.send_json(404, payloads.error_json("Not Found", 404))


def _page(h: "_Handler", items: Sequence[Any]) -> tuple[list[Any], dict[str, str]]:
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


def get_user(h: "_Handler") -> None:
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


def get_repo(h: "_Handler", full_name: str) -> None:
    if h.caller() is None:
        return
    if full_name not in h.fake.state.repos:
        return _not_found(h)
    h.send_json(200, h.fake.repo_json(full_name))


def get_pull(h: "_Handler", full_name: str, number: str) -> None:
    if h.caller() is None:
        return
    pull = h.fake.state.pulls.get((full_name, int(number)))
    if pull is None:
        return _not_found(h)
    h.send_json(200, h.fake.pull_json(pull))


def list_comments(h: "_Handler", full_name: str, number: str) -> None:
    if h.caller() is None:
        return
    if (full_name, int(number)) not in h.fake.state.pulls:
        return _not_found(h)
    chunk, links = _page(h, h.fake.comments_on(full_name, int(number)))
    h.send_json(200, [h.fake.comment_json(c) for c in chunk], links)


def _body_from(h: "_Handler") -> str | None:
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


def create_comment(h: "_Handler", full_name: str, number: str) -> None:
    login = h.caller(write=True)
    if login is None:
        return
    if (full_name, int(number)) not in h.fake.state.pulls:
        return _not_found(h)
    body = _body_from(h)
    if body is None:
        return
    moment = h.fake.state.tick()
    comment = Comment(h.fake.state.new_id(), full_name, int(number), login, body, moment, moment)
    with h.fake.state.lock:
        h.fake.state.comments[comment.id] = comment
    h.send_json(201, h.fake.comment_json(comment), {"Location": h.fake.comment_json(comment)["url"]})


def get_comment(h: "_Handler", full_name: str, comment_id: str) -> None:
    if h.caller() is None:
        return
    comment = h.fake.state.comments.get(int(comment_id))
    if comment is None or comment.repo != full_name:
        return _not_found(h)
    h.send_json(200, h.fake.comment_json(comment))


def edit_comment(h: "_Handler", full_name: str, comment_id: str) -> None:
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


def list_artifacts(h: "_Handler", full_name: str) -> None:
    if h.caller() is None:
        return
    if full_name not in h.fake.state.repos:
        return _not_found(h)
    artifacts = h.fake.state.artifacts_named(full_name, h.query.get("name"))
    chunk, links = _page(h, artifacts)
    h.send_json(200, {"total_count": len(artifacts),
                      "artifacts": [h.fake.artifact_json(a) for a in chunk]}, links)


def download_artifact(h: "_Handler", full_name: str, artifact_id: str) -> None:
    if h.caller() is None:
        return
    artifact = h.fake.state.artifacts.get(int(artifact_id))
    if artifact is None or artifact.repo != full_name:
        return _not_found(h)
    if artifact.expired:
        h.send_json(410, payloads.error_json("Artifact has expired", 410))
        return
    h.send_bytes(302, b"", "text/plain", {"Location": h.fake.sign_blob(artifact.id)})


def get_blob(h: "_Handler", artifact_id: str) -> None:
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
