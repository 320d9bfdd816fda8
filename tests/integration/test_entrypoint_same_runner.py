"""entrypoint.py in same-runner mode: the base commit measured in the same job, from git."""

from __future__ import annotations

import json
import subprocess

from perfaction.report import COMMENT_MARKER
from tests.fake_github.seed import PR, REPO


def git(workspace, *args):
    subprocess.run(["git", "-C", str(workspace), "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                    *args], check=True, capture_output=True)


def test_same_runner_measures_the_base_commit_and_fetches_no_artifact(fake, run_action, workspace):
    bench = workspace / "bench_widgets.py"
    git(workspace, "init", "-q", "-b", "main")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "base")
    # A tiny time budget cannot decide anything with three processes a side, so
    # the change is cosmetic: this test is about the wiring, not the verdict.
    bench.write_text(bench.read_text() + "\n# head\n")
    git(workspace, "commit", "-q", "-am", "head")

    result = run_action("pull_request", inputs={"mode": "same-runner", "base-ref": "HEAD~1"})
    assert result.returncode == 0, result.explain()
    assert result.outputs["baseline-status"] == "same-runner"
    assert not fake.requests("api", path=r".*/actions/.*"), "same-runner needs no artifact"
    head = json.loads((workspace / "perf-results.json").read_text())
    base = json.loads((workspace / "perf-results.base.json").read_text())
    assert head["settings"]["mode"] == base["settings"]["mode"] == "same-runner"
    base_sha = subprocess.run(["git", "-C", str(workspace), "rev-parse", "HEAD~1"],
                              capture_output=True, text=True, check=True).stdout.strip()
    assert base["environment"]["commit_sha"] == base_sha
    [comment] = fake.comments_on(REPO, PR)
    assert comment.body.startswith(COMMENT_MARKER)
    assert "same runner" in comment.body
