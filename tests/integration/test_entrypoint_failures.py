"""entrypoint.py when something is missing or wrong: expired or hostile baseline, API down, bad set-up.

(No baseline at all is the first-run case in test_entrypoint_pull_request.py.)
"""

from __future__ import annotations

import json

from tests.fake_github import zip_files
from tests.fake_github.seed import PR, REPO
from tests.fake_github.suites import (
    FAST_BASELINE,
    PROJECT_BENCHMARKS,
    SLOW_BASELINE,
    baseline_zip,
    steady_suite_dict,
)

NAME = "perf-baseline"


def suite_dict_fast():
    # 120 processes: a verdict even when a busy machine gives the head only one (1/121 < 0.01)
    return steady_suite_dict(PROJECT_BENCHMARKS, seconds=FAST_BASELINE, processes=120)


def test_an_expired_baseline_with_fail_on_missing_baseline_is_an_error(fake, run_action):
    fake.add_artifact(REPO, NAME, baseline_zip(SLOW_BASELINE), expired=True)
    result = run_action("pull_request", inputs={"fail-on-missing-baseline": "true"})
    assert result.returncode == 2, result.explain()
    assert result.outputs["baseline-status"] == "expired"
    assert any("fail-on-missing-baseline" in line and "expired" in line for line in result.annotations("error"))
    assert not fake.requests("api", "GET", r".*/zip")
    assert (result.workspace / "perf-results.json").exists()


def test_a_hostile_zip_is_refused_and_nothing_escapes(fake, run_action, tmp_path):
    fake.add_artifact(REPO, NAME, baseline_zip(SLOW_BASELINE))
    fake.add_artifact(REPO, NAME, zip_files({"../../../escaped.json": "{}", "perf-results.json": "{}"}))
    result = run_action("pull_request")
    assert result.returncode == 0, result.explain()
    assert result.outputs["baseline-status"] == "invalid"
    refused = [line for line in result.annotations("warning") if "title=Baseline artifact refused" in line]
    assert refused and "climbs out of the folder" in refused[0]
    assert not list(tmp_path.rglob("escaped.json"))
    assert len(fake.comments_on(REPO, PR)) == 1


def test_api_down_is_a_clear_error_and_the_results_are_kept(fake, run_action):
    fake.add_fault("*", r".*", 503, "Service Unavailable", times=1000)
    result = run_action("pull_request")
    assert result.returncode == 2, result.explain()
    # the baseline fetch failing is a warning (the run still reports itself);
    # the comment that cannot be written is the error
    warnings = result.annotations("warning")
    assert any("kept failing while listing artifacts" in line for line in warnings), warnings
    errors = result.annotations("error")
    assert any("kept failing while updating the comment" in line for line in errors), errors
    results = json.loads((result.workspace / "perf-results.json").read_text())
    assert results["benchmarks"][0]["name"] == "sum_squares"


def test_no_token_and_a_local_baseline_file_never_touch_the_api(fake, run_action, workspace):
    baseline = workspace / "baselines" / "main.json"
    baseline.parent.mkdir()
    baseline.write_text(json.dumps(suite_dict_fast()))
    result = run_action("pull_request", token="", inputs={"baseline-path": "baselines/main.json",
                                                          "confirm": "false"})
    assert result.returncode == 1, result.explain()
    assert result.outputs["baseline-status"] == "file"
    assert result.outputs["regression"] == "true"
    assert not fake.requests()
    assert any("title=No PR comment" in line for line in result.annotations("warning"))
    assert not any(line.startswith("::add-mask::") for line in result.stdout.splitlines())


def test_a_failing_setup_command_stops_before_measuring(fake, run_action):
    result = run_action("pull_request", inputs={"setup-command": "echo installing; echo boom >&2; exit 3"})
    assert result.returncode == 2, result.explain()
    errors = result.annotations("error")
    assert errors and "exit code 3" in errors[0] and "boom" in errors[0] and "installing" in errors[0]
    assert not (result.workspace / "perf-results.json").exists()
    assert not fake.requests()


def test_a_bad_input_names_the_input_and_the_accepted_values(fake, run_action):
    result = run_action("pull_request", inputs={"mode": "nightly"})
    assert result.returncode == 2
    assert result.annotations("error") == [
        "::error title=perfaction::input 'mode' accepts baseline, same-runner; got 'nightly'"]
    assert not fake.requests()


def test_a_missing_working_directory_is_a_clear_error(fake, run_action):
    result = run_action("pull_request", inputs={"working-directory": "no/such/dir"})
    assert result.returncode == 2
    assert "input 'working-directory'" in result.annotations("error")[0]


def test_a_failing_history_fetch_costs_the_trends_not_the_report(fake, run_action):
    from tests.fake_github.histories import history_zip, stepped
    fake.add_artifact(REPO, NAME, baseline_zip(SLOW_BASELINE))
    history = fake.add_artifact(REPO, "perf-history", history_zip(stepped([(12, 2e-5)],
                                                                          benchmark="sum_squares")))
    fake.add_fault("GET", rf"/repos/{REPO}/actions/artifacts/{history.id}/zip", 500, times=100)
    result = run_action("pull_request")
    assert result.returncode == 0, result.explain()
    assert result.outputs["baseline-status"] == "found"
    no_trends = [line for line in result.annotations("warning") if "title=No trends" in line]
    assert len(no_trends) == 1 and f"downloading artifact {history.id}" in no_trends[0]
    assert not result.annotations("error")
    [comment] = fake.comments_on(REPO, PR)
    assert "xychart-beta" not in comment.body
    assert result.summary.strip()


def test_a_local_baseline_file_without_a_history_path_reads_no_artifact(fake, run_action,
                                                                        workspace):
    baseline = workspace / "baseline.json"
    baseline.write_text(json.dumps(steady_suite_dict(PROJECT_BENCHMARKS, seconds=SLOW_BASELINE,
                                                     processes=20)))
    result = run_action("pull_request", inputs={"baseline-path": "baseline.json"})
    assert result.returncode == 0, result.explain()
    assert result.outputs["baseline-status"] == "file"
    assert not fake.requests("api", path=r".*/actions/.*")
    assert len(fake.comments_on(REPO, PR)) == 1


def test_a_baseline_path_that_is_missing_or_broken_is_refused_before_measuring(run_action,
                                                                              workspace):
    result = run_action("pull_request", inputs={"baseline-path": "baselines/mian.json"})
    assert result.returncode == 2, result.explain()
    assert "input 'baseline-path'" in result.stdout + result.stderr
    assert "Running benchmarks" not in result.stdout       # nothing measured, nothing lost
    (workspace / "broken.json").write_text('{"format_version": 1, "benchmarks": [')
    result = run_action("pull_request", inputs={"baseline-path": "broken.json"})
    assert result.returncode == 2 and "Running benchmarks" not in result.stdout
    assert "broken.json" in result.stdout + result.stderr


def test_a_pull_request_without_its_event_payload_says_why_there_is_no_comment(fake, run_action):
    result = run_action("pull_request", env={"GITHUB_EVENT_PATH": ""})
    assert result.returncode == 0, result.explain()
    assert any("title=No PR comment" in line and "GITHUB_EVENT_PATH" in line
               for line in result.annotations("warning"))
    assert not fake.requests("api", path=r".*/issues/.*")


def test_a_baseline_fetch_that_fails_still_reports_this_run_and_says_why(fake, run_action):
    fake.add_fault("GET", rf"/repos/{REPO}/actions/artifacts", 500, "Server Error", times=20)
    result = run_action("pull_request")
    assert result.returncode == 0, result.explain()
    assert result.outputs["baseline-status"] == "unavailable"
    assert any("title=No baseline" in line and "could not be fetched" in line
               for line in result.annotations("warning"))
    assert (result.workspace / "perf-report.md").read_text().strip()
    assert result.summary.strip() and "sum_squares" in result.summary
    failing = run_action("pull_request", inputs={"fail-on-missing-baseline": "true"})
    assert failing.returncode == 2 and "could not be fetched" in failing.stdout + failing.stderr
