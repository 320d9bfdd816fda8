"""entrypoint.py in baseline mode: a benchmark the stored baseline flags is measured again
side by side with the base commit before it is called a regression (action/confirm.py).

The stored baseline (FAST_BASELINE) is far faster than any real call, as a baseline
measured on a faster or quieter runner would be: every run flags sum_squares. What the
base commit's code does decides the verdict.
"""

from __future__ import annotations

import json
import subprocess

from tests.fake_github.seed import REPO
from tests.fake_github.suites import FAST_BASELINE, baseline_zip

NAME = "perf-baseline"


def git(workspace, *args):
    return subprocess.run(["git", "-C", str(workspace), "-c", "user.name=t",
                           "-c", "user.email=t@example.invalid", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def two_commits(workspace, head_change):
    """The workspace as a checkout: the base commit, then a head commit changed by ``head_change``."""
    git(workspace, "init", "-q", "-b", "main")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "base")
    head_change(workspace)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "head")
    return git(workspace, "rev-parse", "HEAD~1")


def readme_only(workspace):
    (workspace / "README.md").write_text("widgets, now documented\n")


def ten_times_the_work(workspace):
    bench = workspace / "bench_widgets.py"
    bench.write_text(bench.read_text().replace("range(200)", "range(2000)"))


def test_an_unchanged_pull_request_flagged_by_a_faster_baseline_is_confirmed_unchanged(
        fake, run_action, workspace):
    fake.add_artifact(REPO, NAME, baseline_zip(FAST_BASELINE))
    base = two_commits(workspace, readme_only)
    result = run_action("pull_request", inputs={"base-ref": base})
    assert result.returncode == 0, result.explain()
    assert result.outputs["regression"] == "false"
    report = (workspace / "perf-report.md").read_text()
    assert f"measured again side by side with the base commit {base[:12]}" in report
    # the confirming run's results are kept beside the main ones
    confirmed = json.loads((workspace / "perf-results.confirm-base.json").read_text())
    assert confirmed["environment"]["commit_sha"] == base
    assert [b["name"] for b in confirmed["benchmarks"]] == ["sum_squares"]


def test_a_real_slowdown_flagged_by_the_baseline_is_confirmed_and_fails_the_job(
        fake, run_action, workspace):
    fake.add_artifact(REPO, NAME, baseline_zip(FAST_BASELINE))
    base = two_commits(workspace, ten_times_the_work)
    result = run_action("pull_request", inputs={"base-ref": base})
    assert result.returncode == 1, result.explain()
    assert result.outputs["regression"] == "true"
    assert any("title=Performance regression%3A sum_squares" in line
               for line in result.annotations("error"))
    comparison = json.loads(result.outputs["comparison-json"])
    [time] = [d for d in comparison["deltas"] if d["metric"] == "time"]
    # the confirming run's estimate (~10x), not the stored baseline's (~10^5 x)
    assert time["verdict"] == "regressed" and 3 < time["change"] < 30


def test_without_the_base_commit_a_flag_is_inconclusive_never_a_regression(fake, run_action,
                                                                          workspace):
    fake.add_artifact(REPO, NAME, baseline_zip(FAST_BASELINE))
    result = run_action("pull_request")     # the workspace is no git checkout at all
    assert result.returncode == 0, result.explain()
    assert result.outputs["regression"] == "false"
    comparison = json.loads(result.outputs["comparison-json"])
    [time] = [d for d in comparison["deltas"] if d["metric"] == "time"]
    # on a busy machine the runner's load already withholds it (runner_busy);
    # either way it is not a regression, and the summary says why
    assert time["verdict"] == "inconclusive"
    assert time["reason_code"] in ("unconfirmed", "runner_busy", "runner_slower", "suite_shift")
    if time["reason_code"] == "unconfirmed":
        assert "fetch-depth: 0" in time["reason"]
    assert "confirmed on this runner" in result.summary and "fetch-depth: 0" in result.summary
