"""entrypoint.py started as the runner starts a Docker action, for the integration tests.

conftest.py's ``run_action`` fixture and the module-scoped shard jobs of
test_entrypoint_shards.py both start the action through ``start_action``:
every declared input set (the given value, else its default), the GITHUB_*
environment of the event, the file commands in a folder of their own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from perfaction.action.config import INPUTS, input_env_name
from tests.fake_github import FakeGitHub
from tests.fake_github.seed import BOT_TOKEN, REPO, REPO_ID

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "entrypoint.py"
EVENTS = ROOT / "tests" / "data" / "events"


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


def start_action(fake: FakeGitHub, workspace: Path, commands_dir: Path, event: str, *,
                 inputs: dict[str, str], event_name: str | None = None,
                 env: dict[str, str] | None = None, token: str = BOT_TOKEN,
                 runner_temp: Path | None = None) -> ActionRun:
    """Run entrypoint.py once, on ``event`` (a file of tests/data/events), in a subprocess."""
    commands_dir.mkdir(parents=True)
    output_file, summary_file = commands_dir / "set_output", commands_dir / "step_summary"
    output_file.touch()
    summary_file.touch()
    given = {"token": token, **inputs}
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
        "RUNNER_OS": "Linux", "RUNNER_TEMP": str(runner_temp or commands_dir / "runner_temp"),
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
