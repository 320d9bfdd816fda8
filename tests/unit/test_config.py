"""Config.from_env: inputs as the runner names them, validation, the GitHub context."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from perfaction.action.config import INPUTS, Config, input_env_name, load_event
from perfaction.errors import ConfigError

EVENTS = Path(__file__).resolve().parents[1] / "data" / "events"


def runner_env(event_name="pull_request", **inputs):
    """What the runner gives a Docker action: every declared input present, most empty."""
    env = {input_env_name(name): "" for name in INPUTS}
    extra = {k: v for k, v in inputs.items() if k.isupper()}  # GITHUB_* and PERFACTION_* as given
    env.update({input_env_name(k): v for k, v in inputs.items() if not k.isupper()})
    env["INPUT_BENCHMARK"] = env["INPUT_BENCHMARK"] or "benchmarks/bench_parser.py"
    env.update({
        "GITHUB_REPOSITORY": "octo-org/widgets", "GITHUB_EVENT_NAME": event_name,
        "GITHUB_SHA": "9" * 40, "GITHUB_REF": "refs/pull/42/merge", "GITHUB_RUN_ID": "1234",
        "GITHUB_RUN_ATTEMPT": "1", "GITHUB_API_URL": "https://ghe.example.invalid/api/v3/",
        "GITHUB_SERVER_URL": "https://ghe.example.invalid", "GITHUB_WORKSPACE": "/github/workspace",
        "GITHUB_OUTPUT": "/github/file_commands/set_output_x", "GITHUB_STEP_SUMMARY": "/github/file_commands/step_summary_x",
    })
    env.update(extra)
    return env


def event(name):
    return load_event(str(EVENTS / f"{name}.json"))


def test_input_names_keep_hyphens():
    assert input_env_name("baseline-artifact") == "INPUT_BASELINE-ARTIFACT"
    assert input_env_name("fail on regression") == "INPUT_FAIL_ON_REGRESSION"


def test_empty_inputs_take_the_documented_defaults():
    config = Config.from_env(runner_env(), event=event("pull_request"))
    assert config.mode == "baseline"
    assert config.time_budget == 60.0
    assert config.baseline_artifact == "perf-baseline"
    assert config.fail_on_regression is True
    assert config.fail_on_missing_baseline is False
    assert config.comment_mode == "always"
    assert config.results_path == "perf-results.json"
    assert config.setup_command is None and config.thresholds is None


def test_every_input_is_read_from_its_hyphenated_variable():
    env = runner_env(**{
        "benchmark": "pkg.benchmarks", "working-directory": "backend", "setup-command": "pip install -e .",
        "time-budget": "2m", "filter": "parse_*", "benchmark-timeout": "30", "mode": "Same-Runner",
        "base-ref": "v1.2", "baseline-artifact": "perf-py312", "thresholds": "time:5%",
        "thresholds-file": ".perf.toml", "fail-on-regression": "False", "fail-on-missing-baseline": "yes",
        "comment-mode": "on-regression", "comment-id": "py312", "token": " ghs_secret ",
        "results-path": "out/results.json", "report-path": "out/report.md"})
    config = Config.from_env(env, event=event("pull_request"))
    assert (config.benchmark, config.working_directory) == ("pkg.benchmarks", "backend")
    assert config.setup_command == "pip install -e ."
    assert config.time_budget == 120.0 and config.benchmark_timeout == 30.0
    assert (config.mode, config.base_ref, config.filter) == ("same-runner", "v1.2", "parse_*")
    assert config.baseline_artifact == "perf-py312"
    assert (config.thresholds, config.thresholds_file) == ("time:5%", ".perf.toml")
    assert (config.fail_on_regression, config.fail_on_missing_baseline) == (False, True)
    assert (config.comment_mode, config.comment_id) == ("on-regression", "py312")
    assert config.token == "ghs_secret"
    assert (config.results_path, config.report_path) == ("out/results.json", "out/report.md")


def test_the_token_never_appears_in_the_repr():
    config = Config.from_env(runner_env(token="ghs_secret"), event=event("pull_request"))
    assert "ghs_secret" not in repr(config)


@pytest.mark.parametrize("name, value, fragment", [
    ("mode", "nightly", "input 'mode' accepts baseline, same-runner"),
    ("comment-mode", "sometimes", "input 'comment-mode' accepts always, on-change, on-regression, never"),
    ("fail-on-regression", "maybe", "input 'fail-on-regression' accepts true or false"),
    ("fail-on-missing-baseline", "2", "input 'fail-on-missing-baseline' accepts true or false"),
    ("time-budget", "fast", "input 'time-budget' accepts a positive duration"),
    ("time-budget", "0", "input 'time-budget' accepts a positive duration"),
    ("benchmark-timeout", "-3", "input 'benchmark-timeout'"),
    ("comment-id", "has space", "input 'comment-id'"),
    ("baseline-artifact", "a/b", "input 'baseline-artifact'"),
    ("results-path", "out/", "input 'results-path' must name a file"),
])
def test_bad_inputs_name_the_input_and_the_accepted_values(name, value, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")) as caught:
        Config.from_env(runner_env(**{name: value}), event=event("pull_request"))
    assert value.strip() in str(caught.value) or value == "has space"


def test_benchmark_is_required():
    env = runner_env()
    env["INPUT_BENCHMARK"] = ""
    with pytest.raises(ConfigError, match="input 'benchmark' is required"):
        Config.from_env(env, event=event("pull_request"))


def test_same_runner_and_baseline_path_exclude_each_other():
    with pytest.raises(ConfigError, match="baseline-path"):
        Config.from_env(runner_env(mode="same-runner", **{"baseline-path": "b.json"}), event={})


def test_outside_a_job_says_so():
    with pytest.raises(ConfigError, match="GITHUB_REPOSITORY and GITHUB_EVENT_NAME not set"):
        Config.from_env({"INPUT_BENCHMARK": "x"})


def test_pull_request_context_comes_from_the_payload():
    config = Config.from_env(runner_env(GITHUB_BASE_REF="main"), event=event("pull_request"))
    github = config.github
    assert github.is_pull_request and not github.is_fork
    assert github.pr_number == 42
    assert github.baseline_branch == "main"
    assert github.head_sha == "1f0c9e3a4b5d6e7f8091a2b3c4d5e6f708192a3b"
    assert github.head_commit == github.head_sha != github.sha
    assert github.repository_id == 1296269
    assert github.api_url == "https://ghe.example.invalid/api/v3"
    assert github.run_url == "https://ghe.example.invalid/octo-org/widgets/actions/runs/1234"
    assert github.output_file.endswith("set_output_x")


def test_a_pull_request_from_a_fork_is_detected():
    config = Config.from_env(runner_env(), event=event("pull_request_fork"))
    assert config.github.is_fork
    assert config.github.head_repository == "outsider/widgets"


def test_a_deleted_fork_counts_as_a_fork():
    payload = event("pull_request_fork")
    payload["pull_request"]["head"]["repo"] = None
    assert Config.from_env(runner_env(), event=payload).github.is_fork


def test_push_uses_the_default_branch_as_baseline_branch():
    env = runner_env("push", GITHUB_REF="refs/heads/main")
    github = Config.from_env(env, event=event("push")).github
    assert not github.is_pull_request and github.pr_number is None
    assert github.default_branch == "main" and github.baseline_branch == "main"
    assert github.before_sha == "0e1d2c3b4a5968778695a4b3c2d1e0f9e8d7c6b5"


def test_schedule_has_no_repository_in_its_payload():
    env = runner_env("schedule", GITHUB_REF="refs/heads/main", GITHUB_REPOSITORY_ID="1296269")
    github = Config.from_env(env, event=event("schedule")).github
    assert github.baseline_branch == "main"       # from GITHUB_REF
    assert github.repository_id == 1296269        # from GITHUB_REPOSITORY_ID


def test_api_settings_come_from_their_environment_variables():
    env = runner_env(PERFACTION_API_TIMEOUT="5", PERFACTION_API_RETRIES="0", PERFACTION_API_BACKOFF="0")
    api = Config.from_env(env, event={}).api
    assert (api.timeout, api.retries, api.backoff) == (5.0, 0, 0.0)
    with pytest.raises(ConfigError, match="PERFACTION_API"):
        Config.from_env({**env, "PERFACTION_API_RETRIES": "many"}, event={})


def test_load_event_errors_name_the_file(tmp_path):
    bad = tmp_path / "event.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="expected a JSON object"):
        load_event(str(bad))
    bad.write_text("{nope")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_event(str(bad))
    assert load_event(None) == {}


def test_event_fixtures_are_valid_json():
    for path in EVENTS.glob("*.json"):
        assert isinstance(json.loads(path.read_text()), dict), path


def test_inputs_and_defaults_match_action_yml():
    """The runner applies action.yml's defaults, config.py applies INPUTS': they must agree."""
    from ruamel.yaml import YAML  # comes with check-jsonschema, a test dependency
    action = YAML(typ="safe").load((Path(__file__).resolve().parents[2] / "action.yml").read_text())
    declared = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    assert set(declared) == set(INPUTS)
    expected = dict(INPUTS, token="${{ github.token }}")  # the runner's expression, resolved by it
    assert declared == expected


def test_nightly_inputs_default_and_parse():
    config = Config.from_env(runner_env("schedule"), event=event("schedule"))
    assert config.history_artifact == "perf-history" and config.history_path is None
    assert config.history_length == 200 and config.nightly_issue is False
    assert config.issue_label == "performance-regression"
    assert config.history_output == "perf-history.json"   # the file the workflow uploads
    config = Config.from_env(runner_env("schedule", **{
        "history-artifact": "perf-history-py312", "history-path": "cache/history.json",
        "history-length": " 60 ", "nightly-issue": "yes", "issue-label": "perf: regression"}),
        event=event("schedule"))
    assert (config.history_artifact, config.history_path) == ("perf-history-py312", "cache/history.json")
    assert (config.history_length, config.nightly_issue) == (60, True)
    assert config.issue_label == "perf: regression" and config.history_output == "cache/history.json"


@pytest.mark.parametrize("name, value, fragment", [
    ("history-length", "0", "input 'history-length' accepts a whole number of entries from 1"),
    ("history-length", "many", "input 'history-length' accepts a whole number"),
    ("history-length", "2.5", "input 'history-length' accepts a whole number"),
    ("history-length", "10001", "input 'history-length' accepts a whole number of entries from 1 to 10000"),
    ("nightly-issue", "sometimes", "input 'nightly-issue' accepts true or false"),
    ("issue-label", "perf,regression", "input 'issue-label' accepts a label name of 1 to 50"),
    ("issue-label", "x" * 51, "input 'issue-label' accepts a label name of 1 to 50"),
    ("history-artifact", "perf/history", "input 'history-artifact' is an artifact name"),
    ("history-path", "cache/", "input 'history-path' must name a file"),
])
def test_bad_nightly_inputs_name_the_input(name, value, fragment):
    with pytest.raises(ConfigError, match=re.escape(fragment)) as caught:
        Config.from_env(runner_env("schedule", **{name: value}), event=event("schedule"))
    assert repr(value) in str(caught.value) or repr(value.strip()) in str(caught.value)


def test_only_nightly_events_on_the_default_branch_extend_the_history():
    def records(event_name, ref, payload):
        env = runner_env(event_name, GITHUB_REF=ref)
        return Config.from_env(env, event=payload).github.records_history
    assert records("schedule", "refs/heads/main", event("schedule"))
    assert records("push", "refs/heads/main", event("push"))
    assert not records("push", "refs/heads/feature", event("push"))
    assert not records("push", "refs/tags/v1.0", event("push"))
    assert not records("push", "refs/heads/main", {})     # default branch unknown: not trusted
    assert not records("pull_request", "refs/pull/42/merge", event("pull_request"))


@pytest.mark.parametrize("inputs, fragment", [
    ({"report-path": "perf-results.json"}, "'results-path' and 'report-path' name the same file"),
    ({"report-path": "./out/../perf-results.json"}, "name the same file"),
    ({"results-path": "r.json", "report-path": "r.base.json"}, "base commit's results"),
    ({"report-path": "perf-results.confirm-head.json"}, "confirming run's head"),
    ({"results-path": "../elsewhere/results.json"}, "'results-path' must stay inside the workspace"),
    ({"report-path": "/tmp/report.md"}, "'report-path' must stay inside the workspace"),
    ({"baseline-path": "perf-results.json"}, "would overwrite the baseline before reading it"),
    ({"history-path": "perf-report.md"}, "'report-path' and 'history-path' name the same file"),
])
def test_output_paths_that_collide_or_leave_the_workspace_are_refused_before_measuring(
        inputs, fragment):
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        Config.from_env(runner_env(**inputs), event=event("pull_request"))


def test_distinct_output_paths_inside_the_workspace_are_accepted():
    config = Config.from_env(runner_env(**{"results-path": "out/results.json",
                                           "report-path": "out/report.md",
                                           "baseline-path": "baselines/main.json"}),
                             event=event("pull_request"))
    assert config.report_path == "out/report.md"


@pytest.mark.parametrize("name, value", [("time-budget", "21601"), ("time-budget", "400m"),
                                         ("benchmark-timeout", "99999999")])
def test_durations_beyond_a_job_s_limit_are_refused(name, value):
    with pytest.raises(ConfigError, match=rf"input '{name}' is '{value}', longer than a GitHub"):
        Config.from_env(runner_env(**{name: value}), event=event("pull_request"))


def test_a_pull_request_number_below_one_in_the_payload_is_refused(tmp_path):
    payload = event("pull_request")
    payload["pull_request"]["number"] = -4
    with pytest.raises(ConfigError, match="pull request number -4"):
        Config.from_env(runner_env(), event=payload)
