"""The image run as the GitHub runner runs a Docker action, against the fake GitHub API.

`docker run` with what the runner provides: INPUT_* for every declared input
(default applied), the GITHUB_* context, the workspace at /github/workspace,
the event at /github/workflow/event.json and the file commands under
/github/file_commands; the container on the host network reaches the fake
API on 127.0.0.1. The baseline is a real artifact zip, measured in the image.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .support import (
    BOT,
    PR_NUMBER,
    REPOSITORY,
    TOKEN,
    describe_comparison,
    pull_request_event,
    read_outputs,
    run,
    runner_inputs,
    seed_baseline,
    write_bench,
)

pytestmark = pytest.mark.docker


def run_as_runner(docker: str, image: str, root: Path, api_url: str, inputs: dict[str, str],
                  event: dict, extra_env: dict[str, str] | None = None):
    """One step of a job: fresh file-command files, the same workspace across steps."""
    workspace, commands, workflow = root / "workspace", root / "file_commands", root / "workflow"
    for folder in (workspace, commands, workflow):
        folder.mkdir(exist_ok=True)
    (workflow / "event.json").write_text(json.dumps(event), encoding="utf-8")
    for name in ("output", "summary"):
        (commands / name).write_text("", encoding="utf-8")
    env = {
        "GITHUB_ACTIONS": "true", "CI": "true", "HOME": "/github/home",
        "GITHUB_API_URL": api_url, "GITHUB_SERVER_URL": "https://github.example.invalid",
        "GITHUB_REPOSITORY": REPOSITORY, "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": "/github/workflow/event.json", "GITHUB_SHA": "d" * 40,
        "GITHUB_REF": f"refs/pull/{PR_NUMBER}/merge", "GITHUB_BASE_REF": "main",
        "GITHUB_HEAD_REF": "feature", "GITHUB_RUN_ID": "9001", "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_WORKFLOW": "perf", "GITHUB_JOB": "perf", "GITHUB_WORKSPACE": "/github/workspace",
        "GITHUB_OUTPUT": "/github/file_commands/output",
        "GITHUB_STEP_SUMMARY": "/github/file_commands/summary",
        **runner_inputs(inputs), **(extra_env or {}),
    }
    cmd = [docker, "run", "--rm", "--network", "host", "--workdir", "/github/workspace",
           "-v", f"{workspace}:/github/workspace", "-v", f"{commands}:/github/file_commands",
           "-v", f"{workflow}:/github/workflow"]
    for key, value in env.items():
        cmd += ["-e", f"{key}={value}"]
    proc = run(cmd + [image], check=False)
    return proc, read_outputs(commands / "output"), (commands / "summary").read_text(encoding="utf-8")


def in_workspace(root: Path, path: str) -> Path:
    """An output path as the host sees it (relative to, or inside, /github/workspace)."""
    return root / "workspace" / Path(path).relative_to("/github/workspace") if path.startswith("/") \
        else root / "workspace" / path


def test_pull_request_run_comments_once_updates_in_place_and_sets_outputs(
        docker_engine, action_image, baseline_results, fake_github, tmp_path):
    seed_baseline(fake_github, baseline_results)
    module = write_bench(tmp_path / "workspace")
    inputs = {"benchmark": module, "time-budget": "5", "thresholds": "time:300%", "token": TOKEN}

    first, outputs, summary = run_as_runner(docker_engine, action_image.tag, tmp_path,
                                            fake_github.base_url, inputs, pull_request_event())
    log = first.stdout + first.stderr
    assert first.returncode == 0, log
    comments = fake_github.comments_on(REPOSITORY, PR_NUMBER)
    assert len(comments) == 1 and comments[0].author == BOT, log
    assert "sum_list" in comments[0].body
    assert outputs["regression"] == "false" and outputs["regressions-count"] == "0", \
        describe_comparison(outputs.get("comparison-json", ""))
    assert in_workspace(tmp_path, outputs["results-path"]).stat().st_size > 0
    assert in_workspace(tmp_path, outputs["report-path"]).read_text(encoding="utf-8").strip()
    assert isinstance(json.loads(outputs["comparison-json"]), dict)
    assert outputs["baseline-status"] == "found" and outputs["comment-url"]
    assert "sum_list" in summary
    # The baseline zip came from the blob host, fetched without the API token.
    blob_gets = fake_github.requests(server="blob", method="GET")
    assert blob_gets and all("authorization" not in r.headers for r in blob_gets)

    second, outputs, _ = run_as_runner(docker_engine, action_image.tag, tmp_path,
                                       fake_github.base_url, inputs, pull_request_event())
    assert second.returncode == 0, second.stdout + second.stderr
    comments = fake_github.comments_on(REPOSITORY, PR_NUMBER)
    assert len(comments) == 1, "the second run must update the comment, not add one"
    assert comments[0].updated_at > comments[0].created_at
    assert fake_github.requests(method="PATCH", path=r"/repos/.*/issues/comments/\d+")
    assert outputs["regression"] == "false", describe_comparison(outputs.get("comparison-json", ""))


ISOLATION_PROBE = '''
import importlib.metadata, importlib.util, json, sys
from perfaction import benchmark

# what the project's environment holds, as the benchmark workers see it
with open("isolation.json", "w") as out:
    json.dump({"prefix": sys.prefix,
               "typing_extensions": importlib.metadata.version("typing_extensions"),
               "numpy": importlib.util.find_spec("numpy") is not None}, out)


@benchmark
def sum_list():
    data = list(range(100))
    return lambda: sum(data)
'''


def test_setup_command_installs_into_the_projects_environment_not_the_actions(
        docker_engine, action_image, baseline_results, fake_github, tmp_path):
    # A user pin older than the action's own (PyGithub needs a newer typing_extensions)
    # lands in the project's environment; the action keeps its own and still works.
    seed_baseline(fake_github, baseline_results)
    (tmp_path / "workspace").mkdir()
    (tmp_path / "workspace" / "bench_probe.py").write_text(ISOLATION_PROBE, encoding="utf-8")
    inputs = {"benchmark": "bench_probe.py", "time-budget": "4", "thresholds": "time:300%",
              "token": TOKEN, "setup-command": "pip install --no-deps 'typing_extensions==4.5.0'"}
    proc, outputs, _ = run_as_runner(docker_engine, action_image.tag, tmp_path,
                                     fake_github.base_url, inputs, pull_request_event())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = json.loads((tmp_path / "workspace" / "isolation.json").read_text(encoding="utf-8"))
    assert seen == {"prefix": "/opt/project", "typing_extensions": "4.5.0", "numpy": False}
    assert len(fake_github.comments_on(REPOSITORY, PR_NUMBER)) == 1   # the action's side worked
    action_side = run([docker_engine, "run", "--rm", "--entrypoint", "/opt/venv/bin/python",
                       action_image.tag, "-c", "import importlib.metadata as m, numpy; "
                       "print(m.version('typing_extensions'))"])
    assert action_side.stdout.strip() != "4.5.0"
