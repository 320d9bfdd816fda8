"""entrypoint.py on nightly runs and on pull requests with a history, against the fake GitHub.

Each run measures the real benchmark of tests/data/entrypoint_project (about
four seconds); the histories around it are synthetic (tests/fake_github/
histories.py) with a clear step, so what the detector finds is certain.
"""

from __future__ import annotations

import json

import pytest

from perfaction.analysis import nightly
from perfaction.results.history import History
from tests.fake_github import bomb_zip, zip_files
from tests.fake_github.histories import HISTORY_FILE, commit, history_zip, stepped
from tests.fake_github.seed import BOT, FORK_ID, PR, REPO

NAME = "perf-history"
TONIGHT = "9" * 40                       # GITHUB_SHA in the run_action fixture
WEB = "https://github.example.invalid"   # GITHUB_SERVER_URL in the run_action fixture
LABEL = "performance-regression"
BEFORE, AFTER = 1.0e-3, 1.2e-3           # parse_large's time: a 20 % step after night 20


def history_downloads(fake, artifacts) -> list[int]:
    ids = {a.id for a in artifacts}
    return [int(r.path.split("/")[-2])
            for r in fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts/\d+/zip")
            if int(r.path.split("/")[-2]) in ids]


def test_three_nights_open_one_issue_update_it_and_report_the_recovery(fake, run_action, workspace):
    # Night 1: the previous history holds a step; an older history and a fork's newer
    # one (which would hide the step) must not be used.
    older = fake.add_artifact(REPO, NAME, history_zip(stepped([(5, BEFORE)])))
    previous = fake.add_artifact(REPO, NAME, history_zip(stepped([(20, BEFORE), (30, AFTER)])))
    poisoned = fake.add_artifact(REPO, NAME, history_zip(stepped([(50, BEFORE)])),
                                 head_repository_id=FORK_ID)
    first = run_action("schedule", inputs={"nightly-issue": "true"})
    assert first.returncode == 0, first.explain()
    assert history_downloads(fake, [older, previous, poisoned]) == [previous.id]

    # The history is handed back: extended with tonight, where the upload step finds it.
    assert first.outputs["history-path"] == HISTORY_FILE
    assert first.outputs["history-status"] == "found"
    written = History.load(workspace / HISTORY_FILE)
    assert len(written) == 51 and written.entries[-1].commit == TONIGHT
    assert [e.commit for e in written.entries[:50]] == [commit(i) for i in range(50)]
    assert "sum_squares" in written.entries[-1].benchmarks
    assert (workspace / "perf-results.json").exists()

    # The summary: trend charts and the change point with the commits that introduced it.
    compare = f"{WEB}/{REPO}/compare/{commit(19)}...{commit(20)}"
    assert "Nightly history: 1 active regression" in first.summary
    assert "xychart-beta" in first.summary and 'title "parse_large: time"' in first.summary
    assert f"({compare})" in first.summary
    assert any("title=Nightly regression%3A parse_large" in line
               for line in first.annotations("warning"))

    # One issue, labelled, by the bot, carrying the marker and the compare link.
    [issue] = fake.issues_of(REPO)
    first_body = issue.body
    assert issue.author == BOT and issue.labels == [LABEL] and issue.state == "open"
    assert "parse_large" in issue.title and compare in issue.body
    known = nightly.parse_marker(issue.body)
    assert known is not None and known.commit_before == commit(19)
    assert f"[#{issue.number}]" in first.summary

    # Night 2: the uploaded history plus two more nights at the new level. The same
    # regression updates the same issue: no second issue.
    fake.add_artifact(REPO, NAME, history_zip(stepped([(2, AFTER)], start=50, base=written)))
    second = run_action("schedule", inputs={"nightly-issue": "true"})
    assert second.returncode == 0, second.explain()
    assert [i.number for i in fake.issues_of(REPO)] == [issue.number]
    assert len(fake.requests("api", "POST", rf"/repos/{REPO}/issues")) == 1
    assert fake.requests("api", "PATCH", rf"/repos/{REPO}/issues/{issue.number}")
    assert issue.body != first_body and nightly.parse_marker(issue.body).key == known.key
    assert "Nightly history: 1 active regression" in second.summary
    assert f"[#{issue.number}]" in second.summary
    assert issue.state == "open" and not fake.comments_on(REPO, issue.number)

    # Night 3, from a local history file (history-path, no artifact): the series is back
    # at its old level, so the issue gets a recovery comment and is closed.
    local = workspace / "nightly" / "history.json"
    local.parent.mkdir()
    stepped([(10, BEFORE)], start=52, base=History.load(workspace / HISTORY_FILE)).dump(local)
    listings_before = len(fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts"))
    third = run_action("schedule", inputs={"nightly-issue": "true",
                                           "history-path": "nightly/history.json"})
    assert third.returncode == 0, third.explain()
    listed = [r.query.get("name") for r in fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts")]
    assert NAME not in listed[listings_before:], "history-path replaces the artifact"
    assert third.outputs["history-status"] == "file"
    assert third.outputs["history-path"] == "nightly/history.json"
    assert len(History.load(local)) == 63
    [comment] = fake.comments_on(REPO, issue.number)
    assert comment.author == BOT and "Recovered" in comment.body
    assert fake.issues_of(REPO)[0].state == "closed"
    assert len(fake.issues_of(REPO)) == 1
    assert "Nightly history: no active regression, 1 recovery" in third.summary


@pytest.mark.parametrize("content, problem", [
    (zip_files({HISTORY_FILE: '{"tool": "perfaction-history", "entries": [tru'}), "not valid JSON"),
    (bomb_zip(21 * 1024 * 1024, name=HISTORY_FILE), "above the 20971520-byte limit"),
], ids=["corrupt", "oversized"])
def test_a_refused_history_starts_a_new_one_and_keeps_tonight(fake, run_action, workspace,
                                                              content, problem):
    fake.add_artifact(REPO, NAME, content)
    result = run_action("schedule")
    assert result.returncode == 0, result.explain()
    refused = [line for line in result.annotations("warning") if "title=History refused" in line]
    assert len(refused) == 1 and problem in refused[0] and "A new history starts tonight" in refused[0]
    assert result.outputs["history-status"] == "invalid"
    assert "a new history started tonight" in result.summary and problem in result.summary
    history = History.load(workspace / HISTORY_FILE)
    assert [e.commit for e in history.entries] == [TONIGHT]
    assert "sum_squares" in history.entries[0].benchmarks
    results = json.loads((workspace / "perf-results.json").read_text())
    assert results["benchmarks"][0]["name"] == "sum_squares"


def test_a_pull_request_comment_shows_the_trend_beside_the_comparison(fake, run_action, workspace):
    # Twelve nights of the project's own benchmark on this runner type.
    fake.add_artifact(REPO, NAME, history_zip(stepped([(12, 2e-5)], benchmark="sum_squares")))
    result = run_action("pull_request")
    assert result.returncode == 0, result.explain()
    [comment] = fake.comments_on(REPO, PR)
    assert "xychart-beta" in comment.body and "sum_squares" in comment.body
    assert f'"{commit(11)[:7]}", "this run"' in comment.body   # the nights, then this run
    assert not (workspace / HISTORY_FILE).exists(), "a pull request never writes the history"
    assert "history-path" not in result.outputs
