"""The fake's responses checked against GitHub's published REST API description.

githubkit-schemas ships pydantic models generated from GitHub's OpenAPI
description; validating what the fake serves against them keeps the fake from
drifting away from the real API (a missing field, a wrong type, an invented key).
"""

from __future__ import annotations

import requests

# The API version PyGithub and the runner use when no X-GitHub-Api-Version is sent.
from githubkit_schemas.v2022_11_28 import models  # test-only dependency

from tests.fake_github import results_zip
from tests.fake_github.seed import BOT_TOKEN, PR, REPO, REPO_ID, USER_TOKEN
from tests.fake_github.suites import steady_suite_dict


def get(fake, path, token=BOT_TOKEN, **params):
    response = requests.get(f"{fake.base_url}{path}", params=params, timeout=5,
                            headers={"Authorization": f"token {token}"})
    return response


def check(model, data):
    """Validate ``data`` and refuse keys the schema does not define."""
    model.model_validate(data)
    known = {field.alias or name for name, field in model.model_fields.items()}
    invented = set(data) - known
    assert not invented, f"{model.__name__}: keys not in GitHub's schema: {sorted(invented)}"


def test_repository(fake):
    check(models.FullRepository, get(fake, f"/repos/{REPO}").json())


def test_pull_request(fake):
    data = get(fake, f"/repos/{REPO}/pulls/{PR}").json()
    check(models.PullRequest, data)
    check(models.Repository, data["head"]["repo"])


def test_authenticated_user(fake):
    check(models.PublicUser, get(fake, "/user", token=USER_TOKEN).json())


def test_issue_comments_list_create_and_edit(fake):
    fake.add_comment(REPO, PR, "hello", author="octocat")
    listed = get(fake, f"/repos/{REPO}/issues/{PR}/comments").json()
    assert isinstance(listed, list) and listed
    for item in listed:
        check(models.IssueComment, item)
        check(models.SimpleUser, item["user"])
    headers = {"Authorization": f"token {BOT_TOKEN}"}
    created = requests.post(f"{fake.base_url}/repos/{REPO}/issues/{PR}/comments",
                            json={"body": "x"}, headers=headers, timeout=5)
    assert created.status_code == 201
    check(models.IssueComment, created.json())
    edited = requests.patch(created.json()["url"], json={"body": "y"}, headers=headers, timeout=5)
    assert edited.status_code == 200 and edited.json()["body"] == "y"
    check(models.IssueComment, edited.json())


def test_artifacts_list(fake):
    fake.add_artifact(REPO, "perf-baseline", results_zip(steady_suite_dict(["a"])))
    data = get(fake, f"/repos/{REPO}/actions/artifacts", name="perf-baseline").json()
    check(models.ReposOwnerRepoActionsArtifactsGetResponse200, data)
    for item in data["artifacts"]:
        check(models.Artifact, item)
        check(models.ArtifactPropWorkflowRun, item["workflow_run"])


def test_a_workflow_run_and_its_artifacts(any_fake):
    """The run a merge job reads (PyGithub follows its artifacts_url), and that listing."""
    run_id = 6_100_200_300
    any_fake.add_artifact(REPO, "perf-shard-1-of-1", results_zip(steady_suite_dict(["a"])),
                          run_id=run_id, head_branch="feature", head_sha="f" * 40)
    any_fake.add_artifact(REPO, "perf-shard-1-of-1", results_zip(steady_suite_dict(["b"])),
                          run_id=run_id + 1)
    run = get(any_fake, f"/repos/{REPO}/actions/runs/{run_id}")
    assert run.status_code == 200
    check(models.WorkflowRun, run.json())
    assert run.json()["id"] == run_id and run.json()["head_branch"] == "feature"
    assert run.json()["repository"]["id"] == REPO_ID
    artifacts_url = run.json()["artifacts_url"]
    assert artifacts_url == f"{any_fake.base_url}/repos/{REPO}/actions/runs/{run_id}/artifacts"
    listed = get(any_fake, artifacts_url.removeprefix(any_fake.base_url)).json()
    check(models.ReposOwnerRepoActionsRunsRunIdArtifactsGetResponse200, listed)
    assert listed["total_count"] == 1 and [a["workflow_run"]["id"] for a in listed["artifacts"]] == [run_id]
    for item in listed["artifacts"]:
        check(models.Artifact, item)
    named = get(any_fake, artifacts_url.removeprefix(any_fake.base_url), name="perf-shard-2-of-2")
    assert named.json() == {"total_count": 0, "artifacts": []}
    assert get(any_fake, f"/repos/{REPO}/actions/runs/1").status_code == 404
    assert requests.get(artifacts_url, timeout=5).status_code == 401    # no token


def test_error_bodies(fake):
    response = get(fake, f"/repos/{REPO}/pulls/999")
    assert response.status_code == 404
    check(models.BasicError, response.json())
