"""entrypoint.py on push and schedule events: measure, keep results, compare, summarise."""

from __future__ import annotations

import json

from tests.fake_github.seed import REPO
from tests.fake_github.suites import FAST_BASELINE, SLOW_BASELINE, baseline_zip

NAME = "perf-baseline"
RUN_ID = 555000111  # GITHUB_RUN_ID in the run_action fixture


def downloaded_ids(fake) -> list[int]:
    return [int(r.path.split("/")[-2])
            for r in fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts/\d+/zip")]


def test_push_to_main_writes_the_next_baseline_and_compares_with_the_previous(fake, run_action):
    previous = fake.add_artifact(REPO, NAME, baseline_zip(FAST_BASELINE), head_branch="main")
    # A re-run attempt of this very run uploaded one already: not a *previous* baseline.
    fake.add_artifact(REPO, NAME, baseline_zip(SLOW_BASELINE), head_branch="main", run_id=RUN_ID)
    # confirm: false keeps the stored baseline's verdict (confirmations: test_entrypoint_confirm.py)
    result = run_action("push", inputs={"setup-command": 'echo "setup ran in $(pwd)" > setup.log',
                                        "confirm": "false"})
    # On push the comparison informs; it never blocks the upload of the next baseline.
    assert result.returncode == 0, result.explain()
    assert downloaded_ids(fake) == [previous.id]
    assert result.outputs["regression"] == "true"
    assert any("Performance regression" in line for line in result.annotations("warning"))
    assert not result.annotations("error")
    results = json.loads((result.workspace / "perf-results.json").read_text())
    assert results["format_version"] >= 1 and results["benchmarks"][0]["name"] == "sum_squares"
    assert results["environment"]["commit_sha"] == "9" * 40
    assert result.summary.strip()
    assert not fake.requests("api", path=r".*/issues/.*"), "no pull request, so no comment"
    listing = fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts")
    assert listing and listing[0].query["name"] == NAME
    assert (result.workspace / "setup.log").read_text().strip() == f"setup ran in {result.workspace}"
    assert "::group::Setting up: echo" in result.stdout


def test_schedule_uses_the_default_branch_and_the_runners_repository_id(fake, run_action):
    on_main = fake.add_artifact(REPO, NAME, baseline_zip(SLOW_BASELINE), head_branch="main")
    fake.add_artifact(REPO, NAME, baseline_zip(FAST_BASELINE), head_branch="dev")
    result = run_action("schedule")
    assert result.returncode == 0, result.explain()
    assert downloaded_ids(fake) == [on_main.id]
    assert result.outputs["baseline-status"] == "found"
    assert result.outputs["regression"] == "false"
    assert (result.workspace / "perf-results.json").exists()
    assert not fake.requests("api", path=r".*/issues/.*")
