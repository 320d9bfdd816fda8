"""Fixtures for integration tests: the fake GitHub server over real HTTP on 127.0.0.1."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The fake lives in tests/fake_github; make `tests.fake_github` importable however pytest is started.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from tests.fake_github import FakeGitHub  # noqa: E402
from tests.fake_github.seed import seed  # noqa: E402


@pytest.fixture(params=["/api/v3", ""], ids=["ghes-prefix", "root"])
def any_fake(request):
    """The fake under a GHES-style /api/v3 prefix and at the root, like api.github.com."""
    with seed(FakeGitHub(prefix=request.param)) as fake:
        yield fake


@pytest.fixture
def fake():
    with seed(FakeGitHub(prefix="/api/v3")) as fake:
        yield fake


# ---------------------------------------------------------------------------
# entrypoint.py as the runner starts a Docker action
# ---------------------------------------------------------------------------

import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
from dataclasses import dataclass  # noqa: E402

from perfaction.action.config import INPUTS, input_env_name  # noqa: E402
from tests.fake_github.seed import BOT_TOKEN, REPO, REPO_ID  # noqa: E402

ENTRYPOINT = _ROOT / "entrypoint.py"
DATA = _ROOT / "tests" / "data"
EVENTS = DATA / "events"


@dataclass
class ActionRun:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    workspace: Path

    def annotations(self, kind: str) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith(f"::{kind}")]

    def explain(self) -> str:
        return f"exit {self.returncode}\n--- stdout ---\n{self.stdout[-5000:]}\n--- stderr ---\n{self.stderr[-5000:]}"


def parse_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT as the runner reads it (name<<DELIM ... DELIM, or name=value)."""
    outputs, lines, index = {}, text.split("\n"), 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, index)
            outputs[name] = "\n".join(lines[index:end])
            index = end + 1
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


@pytest.fixture
def workspace(tmp_path):
    """What the runner mounts at /github/workspace: a checkout of a small project."""
    root = tmp_path / "workspace"
    shutil.copytree(DATA / "entrypoint_project", root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture
def run_action(fake, workspace, tmp_path):
    """Run entrypoint.py in a subprocess with the environment a Docker action gets."""
    counter = iter(range(1, 1000))

    def run(event: str, *, event_name: str | None = None, inputs: dict[str, str] | None = None,
            env: dict[str, str] | None = None, token: str = BOT_TOKEN) -> ActionRun:
        number = next(counter)
        commands_dir = tmp_path / f"file_commands_{number}"
        commands_dir.mkdir()
        output_file, summary_file = commands_dir / "set_output", commands_dir / "step_summary"
        output_file.touch()
        summary_file.touch()
        given = {"benchmark": "bench_widgets.py", "time-budget": "2", "token": token, **(inputs or {})}
        environ = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "SYSTEMROOT") if name in os.environ}
        # Every declared input is set: the given value, else the default (as the runner does).
        environ.update({input_env_name(name): given.get(name, default) for name, default in INPUTS.items()})
        payload = json.loads((EVENTS / f"{event}.json").read_text())
        name = event_name or ("pull_request" if event.startswith("pull_request") else event)
        pull = payload.get("pull_request")
        environ.update({
            "GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_EVENT_NAME": name,
            "GITHUB_EVENT_PATH": str(EVENTS / f"{event}.json"), "GITHUB_REPOSITORY": REPO,
            "GITHUB_REPOSITORY_ID": str(REPO_ID), "GITHUB_REPOSITORY_OWNER": REPO.split("/")[0],
            "GITHUB_SHA": "9" * 40, "GITHUB_RUN_ID": "555000111", "GITHUB_RUN_NUMBER": "17",
            "GITHUB_RUN_ATTEMPT": "1", "GITHUB_WORKFLOW": "perf", "GITHUB_JOB": "bench",
            "GITHUB_ACTION": "__run", "GITHUB_ACTOR": "octocat",
            "GITHUB_API_URL": fake.base_url, "GITHUB_SERVER_URL": "https://github.example.invalid",
            "GITHUB_GRAPHQL_URL": fake.base_url + "/graphql", "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_OUTPUT": str(output_file), "GITHUB_STEP_SUMMARY": str(summary_file),
            "RUNNER_OS": "Linux", "RUNNER_TEMP": str(tmp_path / "runner_temp"),
            # Keep retries quick in tests; a workflow may set these with `env:` too.
            "PERFACTION_API_RETRIES": "1", "PERFACTION_API_BACKOFF": "0", "PERFACTION_API_TIMEOUT": "10",
        })
        if pull:
            environ.update({"GITHUB_REF": f"refs/pull/{pull['number']}/merge",
                            "GITHUB_REF_NAME": f"{pull['number']}/merge",
                            "GITHUB_BASE_REF": pull["base"]["ref"], "GITHUB_HEAD_REF": pull["head"]["ref"]})
        else:
            environ.update({"GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main",
                            "GITHUB_BASE_REF": "", "GITHUB_HEAD_REF": ""})
        environ.update(env or {})
        proc = subprocess.run([sys.executable, "-u", str(ENTRYPOINT)], cwd=workspace, env=environ,
                              capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        return ActionRun(proc.returncode, proc.stdout, proc.stderr,
                         parse_outputs(output_file.read_text()), summary_file.read_text(), workspace)

    return run
