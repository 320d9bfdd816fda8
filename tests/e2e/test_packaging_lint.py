"""Static checks of the packaging: action.yml, every workflow file, the Dockerfile.

The validators a user's editor or CI would run, offline: check-jsonschema with
the schemas it bundles (SchemaStore's github-action and github-workflow) and
hadolint. Plus the promises the schemas cannot see: action.yml declares the
inputs the configuration reads, with the same defaults, the example
workflows and the project's CI ask for the smallest permissions, and CI runs
the README's test command and gates its own examples with the action.
No Docker engine needed.
"""

from __future__ import annotations

import pytest

from perfaction.action import config

from .support import HERE, REPO, load_yaml, run, tool

WORKFLOW_DIRS = (REPO / "examples" / "workflows", REPO / ".github" / "workflows", HERE / "workflows")
WORKFLOWS = sorted(p for d in WORKFLOW_DIRS for p in d.glob("*.yml"))
EXAMPLES = sorted((REPO / "examples" / "workflows").glob("*.yml"))
CI = REPO / ".github" / "workflows" / "ci.yml"
# What perfaction/action/app.py writes to GITHUB_OUTPUT (docs/configuration.md lists them).
OUTPUTS = {"regression", "regressions-count", "report-path", "results-path", "comparison-json",
           "baseline-status", "comment-url", "history-path", "history-status",
           "shard-artifact", "shard-path"}


def test_action_yml_matches_the_github_actions_schema():
    proc = run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions",
                str(REPO / "action.yml")], check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_there_are_workflows_to_check():
    names = {p.name for p in EXAMPLES}
    assert {"perf-pr-baseline.yml", "perf-pr-same-runner.yml", "perf-nightly.yml",
            "perf-fork-pr.yml", "perf-fork-comment.yml"} <= names
    assert (REPO / ".github" / "workflows" / "release.yml") in WORKFLOWS
    assert CI in WORKFLOWS


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: str(p.relative_to(REPO)))
def test_workflow_matches_the_github_workflows_schema(workflow):
    proc = run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                str(workflow)], check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_passes_hadolint():
    proc = run([tool("hadolint"), str(REPO / "Dockerfile")], check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_action_runs_the_repository_dockerfile():
    runs = load_yaml(REPO / "action.yml")["runs"]
    assert runs == {"using": "docker", "image": "Dockerfile"}


def test_action_inputs_are_the_ones_the_configuration_reads_with_the_same_defaults():
    inputs = load_yaml(REPO / "action.yml")["inputs"]
    assert set(inputs) == set(config.INPUTS)
    for name, spec in inputs.items():
        assert spec.get("description"), f"input {name} has no description"
        if name == "token":
            # The runner does not hand GITHUB_TOKEN to a container: the input's default does.
            assert spec["default"] == "${{ github.token }}"
        elif name == "benchmark":
            assert spec.get("required") is True and "default" not in spec
        else:
            assert str(spec["default"]) == config.INPUTS[name], name


def test_no_expression_in_action_yml_outside_the_token_default():
    # Runners evaluate ${{ }} everywhere in action.yml, descriptions included: one in
    # a description ("e.g. ${{ matrix.shard }}") stops the action from loading at all.
    lines = [line.strip() for line in (REPO / "action.yml").read_text(encoding="utf-8").splitlines()
             if "${{" in line]
    assert lines == ["default: ${{ github.token }}"], lines


def test_action_declares_every_output_with_a_description():
    outputs = load_yaml(REPO / "action.yml")["outputs"]
    assert set(outputs) == OUTPUTS
    assert all(spec.get("description") for spec in outputs.values())


@pytest.mark.parametrize("workflow", [*EXAMPLES, CI], ids=lambda p: p.name)
def test_example_workflows_ask_for_explicit_minimal_permissions(workflow):
    doc = load_yaml(workflow)
    granted = dict(doc.get("permissions") or {})
    for job in doc["jobs"].values():
        granted.update(job.get("permissions") or {})
    assert granted, f"{workflow.name} declares no permissions: the default token may be broad"
    # Only what the action and the artifact steps use.
    allowed = {"contents": {"read"}, "actions": {"read"}, "pull-requests": {"write", "read"},
               "issues": {"write"}}
    for scope, level in granted.items():
        assert scope in allowed and level in allowed[scope], f"{workflow.name}: {scope}: {level}"


def test_fork_relay_never_checks_out_or_runs_pull_request_code():
    relay = load_yaml(REPO / "examples" / "workflows" / "perf-fork-comment.yml")
    triggers = relay.get("on") or relay.get(True)  # YAML 1.1 reads a bare `on` as True
    assert "workflow_run" in triggers
    steps = [step for job in relay["jobs"].values() for step in job["steps"]]
    assert not any(str(step.get("uses", "")).startswith("actions/checkout") for step in steps)
    assert not any("run" in step for step in steps), "the relay must only download and post"
    fork_side = load_yaml(REPO / "examples" / "workflows" / "perf-fork-pr.yml")
    assert set(fork_side.get("on") or fork_side.get(True)) == {"pull_request"}


def test_release_workflow_can_point_action_yml_at_the_prebuilt_image():
    # release.yml rewrites exactly this line (sed) before moving the major tag.
    assert "\n  image: Dockerfile\n" in (REPO / "action.yml").read_text(encoding="utf-8")
    assert "s|^  image: Dockerfile$|" in (REPO / ".github" / "workflows" / "release.yml").read_text()


def _triggers(doc) -> dict:
    return doc.get("on") or doc.get(True)  # YAML 1.1 reads a bare `on` as True


def test_ci_runs_the_readmes_test_command_on_pushes_and_pull_requests():
    assert "./dev.sh test" in (REPO / "README.md").read_text(encoding="utf-8")
    ci = load_yaml(CI)
    assert {"push", "pull_request"} <= set(_triggers(ci))
    test = ci["jobs"]["test"]
    assert test["runs-on"] == "ubuntu-latest"
    assert test["permissions"] == {"contents": "read"}
    assert [step["run"] for step in test["steps"] if "run" in step] == ["./dev.sh test"]


def test_ci_gates_its_own_examples_with_the_action_on_pull_requests():
    job = load_yaml(CI)["jobs"]["dogfood"]
    assert "pull_request" in job["if"]
    checkout, action = job["steps"]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["fetch-depth"] == 0, "same-runner mode checks out the base commit"
    assert action["uses"] == "./"
    inputs = action["with"]
    assert set(inputs) <= set(load_yaml(REPO / "action.yml")["inputs"])
    assert inputs["mode"] == "same-runner"
    assert (REPO / inputs["benchmark"]).is_file()
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
