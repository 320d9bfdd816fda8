"""The nightly GitHub layer in-process against the fake over HTTP: history artifacts, issues.

Faster than the entrypoint runs (no benchmarks are measured): github.py's
issue calls and history lookup, the fake's issue payloads checked against
GitHub's published schema, and nightly_app's handling of permissions and of
issues it did not write.
"""

from __future__ import annotations

import io
import json

import pytest
import requests
from githubkit_schemas.v2022_11_28 import models  # test-only dependency

from perfaction.action.config import ApiSettings, Config
from perfaction.action.nightly import PreviousHistory, load_previous, record, report_night
from perfaction.analysis import changepoint, nightly
from perfaction.github.artifacts import ExtractionLimits
from perfaction.github.client import GitHubAPIError, GitHubClient
from perfaction.github.workflow import WorkflowCommands
from perfaction.results.history import History
from perfaction.results.model import Benchmark, Environment, Metric, Suite
from tests.fake_github.histories import HISTORY_FILE, commit, history_zip, stepped
from tests.fake_github.seed import BOT, BOT_TOKEN, NO_ISSUES_TOKEN, PR, REPO, REPO_ID, USER

LABEL = "performance-regression"
NAME = "perf-history"
STEP = [(20, 1.0e-3), (30, 1.2e-3)]   # a 20 % regression after night 20


def client(fake, token=BOT_TOKEN, limits=ExtractionLimits()):
    return GitHubClient(api_url=fake.base_url, token=token, repository=REPO,
                        settings=ApiSettings(timeout=5, retries=0, backoff=0), limits=limits)


def check(model, data):
    model.model_validate(data)
    known = {field.alias or name for name, field in model.model_fields.items()}
    assert not set(data) - known, f"{model.__name__}: keys not in GitHub's schema"


def config(tmp_path, **inputs):
    env = {"INPUT_BENCHMARK": "bench.py", "GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_NAME": "schedule",
           "GITHUB_ACTIONS": "true",
           "GITHUB_REF": "refs/heads/main", "GITHUB_REPOSITORY_ID": str(REPO_ID),
           "GITHUB_RUN_ID": "99", "GITHUB_SERVER_URL": "https://github.example.invalid",
           "GITHUB_WORKSPACE": str(tmp_path), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
           "GITHUB_OUTPUT": str(tmp_path / "output")}
    env.update({f"INPUT_{name.upper()}": value for name, value in inputs.items()})
    return Config.from_env(env, event={})


# ---------------------------------------------------------------------------
# The fake's issue endpoints
# ---------------------------------------------------------------------------

def test_issue_payloads_match_githubs_schema(fake):
    headers = {"Authorization": f"token {BOT_TOKEN}"}
    created = requests.post(f"{fake.base_url}/repos/{REPO}/issues", headers=headers, timeout=5,
                            json={"title": "t", "body": "b", "labels": [LABEL]})
    assert created.status_code == 201
    check(models.Issue, created.json())
    check(models.IssuePropLabelsItemsOneof1, created.json()["labels"][0])
    number = created.json()["number"]
    edited = requests.patch(created.json()["url"], headers=headers, timeout=5,
                            json={"state": "closed", "state_reason": "completed"})
    assert edited.status_code == 200 and edited.json()["state"] == "closed"
    check(models.Issue, edited.json())
    comment = requests.post(f"{created.json()['url']}/comments", headers=headers, timeout=5,
                            json={"body": "c"})
    assert comment.status_code == 201 and f"/issues/{number}#" in comment.json()["html_url"]
    check(models.IssueComment, comment.json())
    listed = requests.get(f"{fake.base_url}/repos/{REPO}/issues", headers=headers, timeout=5,
                          params={"state": "all"}).json()
    assert [i["number"] for i in listed if "pull_request" not in i] == [number]
    for item in listed:
        check(models.Issue, item)
    missing_title = requests.post(f"{fake.base_url}/repos/{REPO}/issues", headers=headers,
                                  timeout=5, json={"body": "no title"})
    assert missing_title.status_code == 422


# ---------------------------------------------------------------------------
# github.py: issues
# ---------------------------------------------------------------------------

def test_labelled_issues_are_read_on_every_page_open_and_closed_without_pull_requests(fake):
    for index in range(120):
        fake.add_issue(REPO, f"issue {index}", f"body {index}", author=BOT, labels=(LABEL,),
                       state="closed" if index % 3 == 0 else "open")
    fake.add_issue(REPO, "unlabelled", "x", author=BOT)
    fake.state.pulls[(REPO, PR)].labels.append(LABEL)   # a labelled pull request
    listing = client(fake).list_issues(LABEL)
    assert listing.forbidden is None
    assert len(listing.issues) == 120 and PR not in {i.number for i in listing.issues}
    assert sum(i.state == "closed" for i in listing.issues) == 40
    pages = fake.requests("api", "GET", rf"/repos/{REPO}/issues")
    assert [r.query.get("page", "1") for r in pages] == ["1", "2"]
    assert all(r.query["state"] == "all" and r.query["labels"] == LABEL for r in pages)


def test_issues_are_opened_updated_commented_and_closed(fake):
    github = client(fake)
    opened = github.create_issue("Regression", "body one", (LABEL,))
    assert opened.status == "created" and opened.url.endswith(f"/issues/{opened.number}")
    assert github.edit_issue(opened.number, title="Regression!", body="body two").status == "updated"
    assert github.comment_issue(opened.number, "recovered").status == "commented"
    assert github.edit_issue(opened.number, state="closed").status == "closed"
    [issue] = fake.issues_of(REPO)
    assert (issue.title, issue.body, issue.labels, issue.state) == ("Regression!", "body two",
                                                                   [LABEL], "closed")
    assert issue.state_reason == "completed"
    assert [c.body for c in fake.comments_on(REPO, issue.number)] == ["recovered"]


def test_missing_issue_permission_or_disabled_issues_are_outcomes_not_errors(fake):
    refused = client(fake, token=NO_ISSUES_TOKEN).create_issue("t", "b", (LABEL,))
    assert refused.status == "forbidden" and "`permissions: issues: write`" in refused.message
    fake.state.repos[REPO].has_issues = False
    disabled = client(fake).create_issue("t", "b", (LABEL,))
    assert disabled.status == "forbidden" and "enable Issues" in disabled.message
    assert fake.issues_of(REPO) == []


# ---------------------------------------------------------------------------
# github.py: the history artifact
# ---------------------------------------------------------------------------

def fetch_history(github, tmp_path):
    return github.fetch_history(name=NAME, branch="main", repository_id=REPO_ID,
                                exclude_run_id=None, file_name=HISTORY_FILE, scratch=tmp_path,
                                max_entries=200)


def test_the_newest_trusted_history_artifact_is_loaded(fake, tmp_path):
    assert fetch_history(client(fake), tmp_path).status == "missing"
    fake.add_artifact(REPO, NAME, history_zip(stepped([(3, 1e-3)])))
    newest = fake.add_artifact(REPO, NAME, history_zip(stepped([(5, 1e-3)])))
    fake.add_artifact(REPO, NAME, history_zip(stepped([(9, 1e-3)])), head_branch="feature")
    outcome = fetch_history(client(fake), tmp_path)
    assert outcome.status == "found" and outcome.artifact.id == newest.id
    assert len(outcome.history) == 5 and outcome.reason.startswith("history from")


def test_an_oversized_history_artifact_is_refused_before_download(fake, tmp_path):
    fake.add_artifact(REPO, NAME, history_zip(stepped([(3, 1e-3)])), size_in_bytes=40 * 2 ** 20)
    outcome = fetch_history(client(fake), tmp_path)
    assert outcome.status == "invalid" and "a history artifact can need" in outcome.reason
    assert not fake.requests("api", "GET", r".*/zip")


# ---------------------------------------------------------------------------
# nightly_app: permissions and issues it did not write
# ---------------------------------------------------------------------------

def night(fake, tmp_path, history, token=BOT_TOKEN):
    out = io.StringIO()
    outcome = report_night(
        config(tmp_path, **{"NIGHTLY-ISSUE": "true"}), client(fake, token), history,
        PreviousHistory(history, "found"), None, WorkflowCommands(out))
    return outcome, out.getvalue(), (tmp_path / "summary.md").read_text()


def test_without_issues_write_the_night_warns_and_still_reports(fake, tmp_path):
    outcome, log, summary = night(fake, tmp_path, stepped(STEP), token=NO_ISSUES_TOKEN)
    assert len(outcome.regressions) == 1 and fake.issues_of(REPO) == []
    refused = [line for line in log.splitlines() if line.startswith("::warning title=No nightly issue")]
    assert len(refused) == 1 and "`permissions: issues: write`" in refused[0]
    assert "1 active regression" in summary and "issues: write" in summary


def test_only_our_own_markers_count_and_a_closed_issue_stays_closed(fake, tmp_path):
    history = stepped(STEP)
    plan = nightly.plan_nightly(history, changepoint.detect_history(history)).issues[0]
    # Someone else planted the marker on a closed issue: it must not silence the regression.
    fake.add_issue(REPO, "not ours", f"text\n{plan.marker}", author=USER, labels=(LABEL,),
                   state="closed")
    night(fake, tmp_path, history)
    ours = [i for i in fake.issues_of(REPO) if i.author == BOT]
    assert len(ours) == 1 and ours[0].state == "open"
    assert nightly.parse_marker(ours[0].body).commit_before == commit(19)
    # A maintainer closes it as intended; the next nights leave it closed and open no other.
    ours[0].state = "closed"
    night(fake, tmp_path, stepped([(2, 1.2e-3)], start=50, base=history))
    assert [(i.author, i.state) for i in fake.issues_of(REPO)] == [(USER, "closed"), (BOT, "closed")]
    assert not fake.requests("api", "PATCH", rf"/repos/{REPO}/issues/{ours[0].number}")


def test_an_api_failure_while_reading_issues_still_writes_the_summary_then_fails(fake, tmp_path):
    fake.add_fault("GET", rf"/repos/{REPO}/issues", 502, "Bad Gateway", times=5)
    with pytest.raises(GitHubAPIError, match="listing issues labelled 'performance-regression'"):
        night(fake, tmp_path, stepped(STEP))
    summary = (tmp_path / "summary.md").read_text()
    assert "1 active regression" in summary and "Filing issues failed" in summary
    assert fake.issues_of(REPO) == [], "without the earlier issues, nothing may be filed"


def tonight_suite() -> Suite:
    time = Metric("s", samples=((1e-3, 1.01e-3),) * 3)
    return Suite((Benchmark("parse", {"time": time}),),
                 Environment(commit_sha="9" * 40, timestamp="2024-06-01T03:17:00Z"))


def test_a_corrupt_history_file_is_set_aside_and_tonight_starts_a_new_one(tmp_path):
    (tmp_path / "history.json").write_text("{broken")
    settings = config(tmp_path, **{"HISTORY-PATH": "history.json"})
    out = io.StringIO()
    commands = WorkflowCommands(out)
    previous = load_previous(settings, None, commands)
    assert previous.status == "invalid" and "not valid JSON" in previous.reason
    record(settings, previous, tonight_suite(), commands)
    assert [e.commit for e in History.load(tmp_path / "history.json").entries] == ["9" * 40]
    assert (tmp_path / "history.json.refused").read_text() == "{broken"
    assert "::warning title=History refused::" in out.getvalue()
    assert "history-status<<" in (tmp_path / "output").read_text()


def test_a_history_outgrowing_the_size_limit_drops_its_oldest_nights_not_tonight(tmp_path):
    settings = config(tmp_path)
    out = io.StringIO()
    previous = PreviousHistory(stepped([(40, 1e-3)]), "found")
    size = len(json.dumps(previous.history.to_dict(), indent=1))
    written = record(settings, previous, tonight_suite(), WorkflowCommands(out),
                     max_bytes=size // 2)
    assert written.entries[-1].commit == "9" * 40 and len(written) <= 21
    assert History.load(tmp_path / HISTORY_FILE).entries[-1].commit == "9" * 40
    assert "title=History trimmed" in out.getvalue()
