"""JSON bodies shaped like GitHub's REST API (OpenAPI description, API version 2022-11-28).

Each builder takes the fake's own base URL, so every ``url`` field points back
at the fake: PyGithub follows those URLs and asserts that they share its
base_url's scheme, host, port and path prefix.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, number: int) -> str:
    return f"{kind}_kgDO{number:08d}"


def user_json(api: str, web: str, login: str, user_id: int, kind: str = "User") -> dict[str, Any]:
    url = f"{api}/users/{login}"
    return {
        "login": login, "id": user_id, "node_id": node_id("U", user_id),
        "avatar_url": f"{web}/avatars/u/{user_id}?v=4", "gravatar_id": "",
        "url": url, "html_url": f"{web}/{login}",
        "followers_url": f"{url}/followers", "following_url": f"{url}/following{{/other_user}}",
        "gists_url": f"{url}/gists{{/gist_id}}", "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{url}/subscriptions", "organizations_url": f"{url}/orgs",
        "repos_url": f"{url}/repos", "events_url": f"{url}/events{{/privacy}}",
        "received_events_url": f"{url}/received_events", "type": kind, "site_admin": False,
    }


# Repository fields that are URL templates below the repository's API URL.
_REPO_URLS = {
    "archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}", "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}", "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}", "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}", "contributors_url": "/contributors",
    "deployments_url": "/deployments", "downloads_url": "/downloads", "events_url": "/events",
    "forks_url": "/forks", "git_commits_url": "/git/commits{/sha}", "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}", "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}", "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}", "labels_url": "/labels{/name}", "languages_url": "/languages",
    "merges_url": "/merges", "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}", "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}", "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}", "subscribers_url": "/subscribers",
    "subscription_url": "/subscription", "tags_url": "/tags", "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}", "hooks_url": "/hooks",
}


def repo_json(api: str, web: str, *, full_name: str, repo_id: int, owner: dict[str, Any],
              default_branch: str, fork: bool, full: bool = True) -> dict[str, Any]:
    """GET /repos/{o}/{r} (``full``), or the shorter form nested in a pull request."""
    url = f"{api}/repos/{full_name}"
    data: dict[str, Any] = {
        "id": repo_id, "node_id": node_id("R", repo_id), "name": full_name.split("/")[1],
        "full_name": full_name, "private": False, "owner": owner,
        "html_url": f"{web}/{full_name}", "description": None, "fork": fork, "url": url,
        "git_url": f"git://example.invalid/{full_name}.git", "ssh_url": f"git@example.invalid:{full_name}.git",
        "clone_url": f"{web}/{full_name}.git", "svn_url": f"{web}/{full_name}", "mirror_url": None,
        "homepage": None, "language": "Python", "forks_count": 0, "forks": 0,
        "stargazers_count": 0, "watchers_count": 0, "watchers": 0, "size": 100,
        "default_branch": default_branch, "open_issues_count": 0, "open_issues": 0,
        "has_issues": True, "has_projects": False, "has_wiki": False, "has_pages": False,
        "has_discussions": False, "has_downloads": True, "archived": False, "disabled": False,
        "visibility": "public", "pushed_at": iso(EPOCH), "created_at": iso(EPOCH),
        "updated_at": iso(EPOCH), "license": None,
        "topics": [], "is_template": False, "allow_forking": True,
    }
    if full:
        data.update({"subscribers_count": 0, "network_count": 0})
    data.update({field: url + suffix for field, suffix in _REPO_URLS.items()})
    return data


def comment_json(api: str, web: str, *, full_name: str, issue_number: int, comment_id: int,
                 body: str, user: dict[str, Any], created_at: datetime,
                 updated_at: datetime, on_pull: bool = True) -> dict[str, Any]:
    page = "pull" if on_pull else "issues"
    return {
        "id": comment_id, "node_id": node_id("IC", comment_id),
        "url": f"{api}/repos/{full_name}/issues/comments/{comment_id}",
        "html_url": f"{web}/{full_name}/{page}/{issue_number}#issuecomment-{comment_id}",
        "issue_url": f"{api}/repos/{full_name}/issues/{issue_number}",
        "body": body, "user": user, "created_at": iso(created_at), "updated_at": iso(updated_at),
        "author_association": "NONE" if user["type"] == "Bot" else "MEMBER",
        "performed_via_github_app": None,
    }


def label_json(api: str, *, full_name: str, name: str, label_id: int) -> dict[str, Any]:
    return {"id": label_id, "node_id": node_id("LA", label_id),
            "url": f"{api}/repos/{full_name}/labels/{quote(name)}", "name": name,
            "description": None, "color": "d73a4a", "default": False}


def issue_json(api: str, web: str, *, full_name: str, number: int, issue_id: int, title: str,
               body: str | None, user: dict[str, Any], labels: list[dict[str, Any]], state: str,
               state_reason: str | None, comments: int, created_at: datetime,
               updated_at: datetime, closed_at: datetime | None) -> dict[str, Any]:
    """GET /repos/{o}/{r}/issues/{n}: an issue that is not a pull request."""
    url = f"{api}/repos/{full_name}/issues/{number}"
    return {
        "id": issue_id, "node_id": node_id("I", issue_id), "url": url,
        "repository_url": f"{api}/repos/{full_name}",
        "labels_url": f"{url}/labels{{/name}}", "comments_url": f"{url}/comments",
        "events_url": f"{url}/events", "html_url": f"{web}/{full_name}/issues/{number}",
        "number": number, "state": state, "state_reason": state_reason, "title": title,
        "body": body, "user": user, "labels": labels, "assignee": None, "assignees": [],
        "milestone": None, "locked": False, "active_lock_reason": None, "comments": comments,
        "closed_at": iso(closed_at) if closed_at else None, "created_at": iso(created_at),
        "updated_at": iso(updated_at), "closed_by": None, "author_association": "NONE"
        if user["type"] == "Bot" else "MEMBER", "timeline_url": f"{url}/timeline",
        "performed_via_github_app": None,
    }


def artifact_json(api: str, *, full_name: str, artifact_id: int, name: str, size: int,
                  created_at: datetime, expires_at: datetime, expired: bool,
                  workflow_run: dict[str, Any]) -> dict[str, Any]:
    url = f"{api}/repos/{full_name}/actions/artifacts/{artifact_id}"
    return {
        "id": artifact_id, "node_id": node_id("MDg6QXJ0aWZhY3Q", artifact_id), "name": name,
        "size_in_bytes": size, "url": url, "archive_download_url": f"{url}/zip",
        "expired": expired, "created_at": iso(created_at), "expires_at": iso(expires_at),
        "updated_at": iso(created_at), "digest": None, "workflow_run": workflow_run,
    }


def workflow_run_json(api: str, web: str, *, full_name: str, run_id: int, head_branch: str,
                      head_sha: str, event: str, created_at: datetime, actor: dict[str, Any],
                      repository: dict[str, Any], head_repository: dict[str, Any],
                      head_repository_id: int) -> dict[str, Any]:
    """GET /repos/{o}/{r}/actions/runs/{run_id}: a run of the workflow perf.yml, in progress."""
    url = f"{api}/repos/{full_name}/actions/runs/{run_id}"
    workflow_id = 161335
    check_suite_id = 40_000_000 + run_id % 1_000_000
    author = {"name": "Monalisa Octocat", "email": "octocat@example.invalid"}
    return {
        "id": run_id, "name": "perf", "node_id": node_id("WFR", run_id),
        "check_suite_id": check_suite_id, "check_suite_node_id": node_id("CS", check_suite_id),
        "head_branch": head_branch, "head_sha": head_sha, "path": ".github/workflows/perf.yml",
        "display_title": "perf", "run_number": run_id % 1000 + 1, "run_attempt": 1,
        "referenced_workflows": [], "event": event, "status": "in_progress", "conclusion": None,
        "workflow_id": workflow_id, "url": url, "html_url": f"{web}/{full_name}/actions/runs/{run_id}",
        "pull_requests": [], "created_at": iso(created_at), "updated_at": iso(created_at),
        "run_started_at": iso(created_at), "actor": actor, "triggering_actor": actor,
        "jobs_url": f"{url}/jobs", "logs_url": f"{url}/logs",
        "check_suite_url": f"{api}/repos/{full_name}/check-suites/{check_suite_id}",
        "artifacts_url": f"{url}/artifacts", "cancel_url": f"{url}/cancel",
        "rerun_url": f"{url}/rerun", "previous_attempt_url": None,
        "workflow_url": f"{api}/repos/{full_name}/actions/workflows/{workflow_id}",
        "head_commit": {"id": head_sha, "tree_id": "d" * 40, "message": "A change",
                        "timestamp": iso(created_at), "author": author, "committer": author},
        "repository": repository, "head_repository": head_repository,
        "head_repository_id": head_repository_id,
    }


def pull_json(api: str, web: str, *, full_name: str, number: int, user: dict[str, Any],
              head: dict[str, Any], base: dict[str, Any], title: str) -> dict[str, Any]:
    url = f"{api}/repos/{full_name}/pulls/{number}"
    issue_url = f"{api}/repos/{full_name}/issues/{number}"
    html = f"{web}/{full_name}/pull/{number}"
    statuses = f"{api}/repos/{full_name}/statuses/{head['sha']}"
    return {
        "url": url, "id": 1000 + number, "node_id": node_id("PR", number), "html_url": html,
        "diff_url": f"{html}.diff", "patch_url": f"{html}.patch", "issue_url": issue_url,
        "commits_url": f"{url}/commits", "review_comments_url": f"{url}/comments",
        "review_comment_url": f"{api}/repos/{full_name}/pulls/comments{{/number}}",
        "comments_url": f"{issue_url}/comments", "statuses_url": statuses,
        "number": number, "state": "open", "locked": False, "title": title, "user": user,
        "body": None, "labels": [], "milestone": None, "active_lock_reason": None,
        "created_at": iso(EPOCH), "updated_at": iso(EPOCH), "closed_at": None, "merged_at": None,
        "merge_commit_sha": None, "assignee": None, "assignees": [], "requested_reviewers": [],
        "requested_teams": [], "head": head, "base": base,
        "_links": {
            "self": {"href": url}, "html": {"href": html}, "issue": {"href": issue_url},
            "comments": {"href": f"{issue_url}/comments"},
            "review_comments": {"href": f"{url}/comments"},
            "review_comment": {"href": f"{api}/repos/{full_name}/pulls/comments{{/number}}"},
            "commits": {"href": f"{url}/commits"}, "statuses": {"href": statuses},
        },
        "author_association": "CONTRIBUTOR", "auto_merge": None, "draft": False,
        "merged": False, "mergeable": True, "rebaseable": True, "mergeable_state": "clean",
        "merged_by": None, "comments": 0, "review_comments": 0, "maintainer_can_modify": False,
        "commits": 1, "additions": 1, "deletions": 0, "changed_files": 1,
    }


def pull_side_json(*, repo: dict[str, Any] | None, user: dict[str, Any], ref: str, sha: str) -> dict[str, Any]:
    owner = repo["owner"]["login"] if repo else user["login"]
    return {"label": f"{owner}:{ref}", "ref": ref, "sha": sha, "user": user, "repo": repo}


def error_json(message: str, status: int) -> dict[str, Any]:
    return {"message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": str(status)}
