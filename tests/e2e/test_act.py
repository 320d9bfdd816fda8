"""A real runner, act, running a workflow that uses the action as `uses: ./`.

act reads the workflow, evaluates expressions and the action's input
defaults, starts a job container, copies the checkout in (actions/checkout
of the local tree), runs our image with the INPUT_* environment, the event
payload and the file commands, then maps GITHUB_OUTPUT to step outputs that
later steps read. The action talks to the fake GitHub API on 127.0.0.1
(host network). The workflow: tests/e2e/workflows/perf-e2e.yml.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from .support import (
    HERE,
    PR_NUMBER,
    REPOSITORY,
    REPOSITORY_PAYLOAD,
    TOKEN,
    commit_all,
    copy_action_checkout,
    init_git_repo,
    pull_request_event,
    run_act,
    seed_baseline,
    write_bench,
)

pytestmark = [pytest.mark.docker, pytest.mark.act]

WORKFLOW = HERE / "workflows" / "perf-e2e.yml"
SAME_RUNNER_WORKFLOW = HERE / "workflows" / "perf-e2e-same-runner.yml"
INSTRUCTIONS_WORKFLOW = HERE / "workflows" / "perf-e2e-instructions.yml"
COMPARE_ONLY_WORKFLOW = HERE / "workflows" / "perf-e2e-compare-only.yml"
def user_repository(root):
    """A repository holding the action, a tiny benchmark and the test workflows."""
    copy_action_checkout(root)
    write_bench(root)
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True)
    shutil.copy2(HERE / "data" / "bench_counted.py", root / "bench" / "bench_counted.py")
    for workflow in (WORKFLOW, SAME_RUNNER_WORKFLOW, INSTRUCTIONS_WORKFLOW, COMPARE_ONLY_WORKFLOW):
        (workflows / workflow.name).write_text(workflow.read_text(encoding="utf-8"), encoding="utf-8")
    return root, init_git_repo(root, repository=REPOSITORY)


@pytest.fixture(scope="module")
def checkout(action_image, tmp_path_factory):
    return user_repository(tmp_path_factory.mktemp("act") / "widgets")


def act(act_binary, checkout, fake, event_name: str, event: dict, label: str, *,
        workflow=WORKFLOW, **env: str):
    root, _ = checkout
    return run_act(act_binary, root, event_name=event_name,
                   workflow=root / ".github" / "workflows" / workflow.name, event=event,
                   env={"GITHUB_API_URL": fake.base_url, **env}, secrets={"GITHUB_TOKEN": TOKEN},
                   label=label)


def test_pull_request_comment_is_created_then_updated(act_binary, checkout, fake_github, baseline_results):
    seed_baseline(fake_github, baseline_results)
    event = pull_request_event(checkout[1])

    first = act(act_binary, checkout, fake_github, "pull_request", event, "first push to the PR")
    assert first.job_succeeded, first.explain()
    comments = fake_github.comments_on(REPOSITORY, PR_NUMBER)
    assert len(comments) == 1 and "sum_list" in comments[0].body
    assert first.outputs["regression"] == "false" and first.outputs["regressions-count"] == "0", first.explain()
    assert first.outputs.get("results-file") == "present" and first.outputs.get("report-file") == "present"
    assert isinstance(json.loads(first.outputs["comparison-json"]), dict)
    assert first.outputs["baseline-status"] == "found" and first.outputs["comment-url"]

    second = act(act_binary, checkout, fake_github, "pull_request", event, "second push to the PR")
    assert second.job_succeeded, second.explain()
    comments = fake_github.comments_on(REPOSITORY, PR_NUMBER)
    assert len(comments) == 1, "the second run must update the comment, not add one"
    assert comments[0].updated_at > comments[0].created_at


@pytest.mark.parametrize("event_name, event", [
    ("push", {"ref": "refs/heads/main", "before": "0" * 40, "repository": REPOSITORY_PAYLOAD}),
    ("schedule", {"schedule": "17 3 * * *", "repository": REPOSITORY_PAYLOAD}),
], ids=["push", "schedule"])
def test_push_and_schedule_compare_with_the_baseline_and_extend_the_history(
        act_binary, checkout, fake_github, baseline_results, event_name, event):
    seed_baseline(fake_github, baseline_results)
    result = act(act_binary, checkout, fake_github, event_name, event, "main branch")
    assert result.job_succeeded, result.explain()
    assert result.outputs["regression"] == "false", result.explain()
    assert result.outputs.get("results-file") == "present"
    assert result.outputs["baseline-status"] == "found" and not result.outputs["comment-url"]
    # The default branch's runs extend the history the nightly change-point detection reads.
    assert result.outputs.get("history-file") == "present"
    assert fake_github.requests(server="blob", method="GET"), "the baseline artifact was not fetched"
    assert not fake_github.requests(method="POST"), "no pull request, so no comment"


def test_regression_fails_the_job_and_says_so(act_binary, checkout, fake_github, baseline_results):
    seed_baseline(fake_github, baseline_results)
    result = act(act_binary, checkout, fake_github, "pull_request", pull_request_event(checkout[1]),
                 "head 20x slower", PERF_E2E_SLOWDOWN="20", PERF_E2E_CONFIRM="false")
    assert result.job_failed, result.explain()
    assert result.outputs["regression"] == "true"
    assert int(result.outputs["regressions-count"]) >= 1
    comments = fake_github.comments_on(REPOSITORY, PR_NUMBER)
    assert len(comments) == 1 and "sum_list" in comments[0].body


def test_same_runner_mode_checks_out_and_measures_the_base_commit(
        act_binary, action_image, fake_github, tmp_path):
    root, base_sha = user_repository(tmp_path / "widgets")
    (root / "CHANGELOG.md").write_text("A change on the pull request's branch.\n", encoding="utf-8")
    head_sha = commit_all(root, "the pull request's change")
    result = act(act_binary, (root, head_sha), fake_github, "pull_request",
                 pull_request_event(head_sha, base_sha), "same-runner A/B",
                 workflow=SAME_RUNNER_WORKFLOW)
    assert result.job_succeeded, result.explain()
    assert result.outputs["baseline-status"] == "same-runner"
    assert result.outputs.get("base-results-file") == "present", "the base side was not measured"
    assert result.outputs["regression"] == "false", result.explain()
    listed = [r.query.get("name") for r in fake_github.requests(path=r".*/actions/artifacts")]
    assert "perf-baseline" not in listed, "same-runner needs no baseline artifact"
    assert len(fake_github.comments_on(REPOSITORY, PR_NUMBER)) == 1


def test_instruction_mode_fails_two_percent_more_work_and_passes_an_unchanged_pull_request(
        act_binary, action_image, fake_github, tmp_path):
    root, base_sha = user_repository(tmp_path / "widgets")
    (root / "CHANGELOG.md").write_text("Nothing that runs changed.\n", encoding="utf-8")
    unchanged_sha = commit_all(root, "a change to the docs only")
    quiet = act(act_binary, (root, unchanged_sha), fake_github, "pull_request",
                pull_request_event(unchanged_sha, base_sha), "instruction mode, unchanged",
                workflow=INSTRUCTIONS_WORKFLOW)
    assert quiet.job_succeeded, quiet.explain()
    assert quiet.outputs["regression"] == "false", quiet.explain()
    deltas = json.loads(quiet.outputs["comparison-json"])["deltas"]
    assert {(d["benchmark"], d["metric"], d["verdict"]) for d in deltas} == {
        ("squares", "instructions", "unchanged"), ("json_round_trip", "instructions", "unchanged")}

    bench = root / "bench" / "bench_counted.py"
    bench.write_text(bench.read_text(encoding="utf-8").replace("SIZE = 1000", "SIZE = 1020"),
                     encoding="utf-8")
    slower_sha = commit_all(root, "two percent more work in squares")
    slower = act(act_binary, (root, slower_sha), fake_github, "pull_request",
                 pull_request_event(slower_sha, base_sha), "instruction mode, +2 % work",
                 workflow=INSTRUCTIONS_WORKFLOW)
    assert slower.job_failed, slower.explain()
    assert slower.outputs["regression"] == "true" and slower.outputs["regressions-count"] == "1"
    [regressed] = [d for d in json.loads(slower.outputs["comparison-json"])["deltas"]
                   if d["verdict"] == "regressed"]
    assert (regressed["benchmark"], regressed["metric"]) == ("squares", "instructions")
    assert 0.015 < regressed["change"] < 0.025
    comment = fake_github.comments_on(REPOSITORY, PR_NUMBER)[0].body
    assert "squares" in comment and "instructions" in comment


def test_compare_only_compares_results_the_hosts_python_made_and_comments(
        act_binary, action_image, fake_github, baseline_results, tmp_path):
    root, base_sha = user_repository(tmp_path / "widgets")
    # the host's Python (this test's interpreter), not the action's image, measures
    measured = subprocess.run([sys.executable, "-m", "perfaction", "run", "bench/bench_tiny.py",
                               "-o", "host-results.json", "--processes", "6", "-q"],
                              cwd=root, capture_output=True, text=True, timeout=300, check=False)
    assert measured.returncode == 0, measured.stdout + measured.stderr
    head_sha = commit_all(root, "results measured on the host")
    seed_baseline(fake_github, baseline_results)
    result = act(act_binary, (root, head_sha), fake_github, "pull_request",
                 pull_request_event(head_sha, base_sha), "compare-only, host results",
                 workflow=COMPARE_ONLY_WORKFLOW)
    assert result.job_succeeded, result.explain()
    assert result.outputs["baseline-status"] == "found" and result.outputs["regression"] == "false"
    deltas = json.loads(result.outputs["comparison-json"])["deltas"]
    assert {d["benchmark"] for d in deltas} == {"sum_list"}
    [comment] = fake_github.comments_on(REPOSITORY, PR_NUMBER)
    assert "Compare-only" in comment.body and "sum_list" in comment.body
