"""entrypoint.py on pull_request events, as a subprocess against the fake GitHub.

Each test runs the real benchmarks of tests/data/entrypoint_project with a
tiny time budget. Baselines are seeded far slower (SLOW_BASELINE) or far faster
(FAST_BASELINE) than any real call, so the verdict is certain either way.
"""

from __future__ import annotations

import json

from perfaction.report.context import COMMENT_MARKER
from tests.fake_github.seed import BOT, FORK_ID, FORK_PR, PR, READ_ONLY_TOKEN, REPO
from tests.fake_github.suites import FAST_BASELINE, SLOW_BASELINE, baseline_zip

NAME = "perf-baseline"


def test_first_run_without_baseline_creates_the_comment(fake, run_action):
    result = run_action("pull_request")
    assert result.returncode == 0, result.explain()
    comments = fake.comments_on(REPO, PR)
    assert len(comments) == 1 and comments[0].author == BOT
    assert comments[0].body.startswith(COMMENT_MARKER)
    # No baseline is a normal first-run situation, reported plainly.
    assert "no baseline yet" in comments[0].body.lower()
    assert "no artifact named 'perf-baseline'" in comments[0].body
    assert "no baseline yet" in result.summary.lower()
    assert any("title=No baseline" in line for line in result.annotations("notice"))
    assert result.outputs["baseline-status"] == "missing"
    assert result.outputs["regression"] == "false"

    # What the step leaves behind: outputs, results and report files, a masked token.
    assert result.outputs["results-path"] == "perf-results.json"
    assert result.outputs["report-path"] == "perf-report.md"
    assert result.outputs["comment-url"].endswith(f"#issuecomment-{comments[0].id}")
    assert json.loads(result.outputs["comparison-json"])["deltas"]
    results = json.loads((result.workspace / "perf-results.json").read_text())
    assert [b["name"] for b in results["benchmarks"]] == ["sum_squares"]
    assert results["environment"]["commit_sha"] == "1f0c9e3a4b5d6e7f8091a2b3c4d5e6f708192a3b"
    assert (result.workspace / "perf-report.md").read_text().strip()
    assert result.stdout.splitlines()[0] == "::add-mask::ghs_fake_installation_token"
    assert result.stdout.count("ghs_fake_installation_token") == 1
    assert "::group::Running benchmarks" in result.stdout and "::endgroup::" in result.stdout


def test_second_run_with_a_regression_edits_the_comment_and_fails(fake, run_action):
    # What the first run left (test above): our comment, among others' comments.
    fake.add_comment(REPO, PR, "Looks good to me", author="octocat")
    first_body = f"{COMMENT_MARKER}\n## Performance: no baseline yet\n"
    comment = fake.add_comment(REPO, PR, first_body, author=BOT)
    fake.add_comment(REPO, PR, f"Quoting the bot:\n{first_body}", author="octocat")

    fake.add_artifact(REPO, NAME, baseline_zip(FAST_BASELINE))
    # The stored baseline's verdict stands (confirm: false): these tests are about the
    # comment and the gate; confirmations are in test_entrypoint_confirm.py.
    second = run_action("pull_request", inputs={"confirm": "false"})
    assert second.returncode == 1, second.explain()
    ours = [c for c in fake.comments_on(REPO, PR) if c.author == BOT]
    assert [c.id for c in ours] == [comment.id], "the second run must edit, not add"
    assert ours[0].body != first_body and ours[0].body.startswith(COMMENT_MARKER)
    assert ours[0].updated_at > ours[0].created_at
    assert len(fake.comments_on(REPO, PR)) == 3
    assert fake.requests("api", "PATCH", rf"/repos/{REPO}/issues/comments/{comment.id}")
    errors = second.annotations("error")
    assert any("title=Performance regression%3A sum_squares" in line for line in errors), errors
    assert second.outputs["regression"] == "true"
    assert int(second.outputs["regressions-count"]) >= 1
    assert second.outputs["baseline-status"] == "found"


def test_without_gating_or_comments_a_regression_only_warns(fake, run_action):
    fake.add_artifact(REPO, NAME, baseline_zip(FAST_BASELINE))
    result = run_action("pull_request", inputs={"fail-on-regression": "false", "comment-mode": "never",
                                                "confirm": "false"})
    assert result.returncode == 0, result.explain()
    assert result.outputs["regression"] == "true"
    assert not result.annotations("error")
    assert any("Performance regression" in line for line in result.annotations("warning"))
    assert not fake.requests("api", path=rf"/repos/{REPO}/issues/.*")


def test_a_fork_pr_gets_no_comment_but_a_summary_and_the_verdict(fake, run_action):
    fake.add_artifact(REPO, NAME, baseline_zip(FAST_BASELINE))
    result = run_action("pull_request_fork", token=READ_ONLY_TOKEN, inputs={"confirm": "false"})
    assert result.returncode == 1, result.explain()   # the verdict, not the 403
    assert fake.comments_on(REPO, FORK_PR) == []
    assert result.summary.strip()
    warnings = result.annotations("warning")
    assert any("title=No PR comment" in line and "Resource not accessible" in line for line in warnings), warnings
    assert result.outputs["regression"] == "true"


def test_a_forks_poisoned_artifact_is_ignored(fake, run_action):
    trusted = fake.add_artifact(REPO, NAME, baseline_zip(SLOW_BASELINE))
    # Newer, on a branch called main, but from the fork: it would make every PR regress.
    fake.add_artifact(REPO, NAME, baseline_zip(FAST_BASELINE), head_repository_id=FORK_ID)
    result = run_action("pull_request")
    assert result.returncode == 0, result.explain()
    downloads = fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts/\d+/zip")
    assert [r.path for r in downloads] == [f"/repos/{REPO}/actions/artifacts/{trusted.id}/zip"]
    assert result.outputs["regression"] == "false"
