"""Helpers for the end-to-end tests: commands, workspaces, the runner's environment, act.

Fixtures and pytest hooks live in conftest.py; this module holds the plain
functions the fixtures and the tests share.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from ruamel.yaml import YAML  # comes with check-jsonschema, a test dependency

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the fake GitHub API lives in tests/fake_github
    sys.path.insert(0, str(REPO))

from tests.fake_github import FakeGitHub, results_zip  # noqa: E402

REPOSITORY = "octo-org/widgets"
REPOSITORY_ID = 1296269
BOT = "github-actions[bot]"
TOKEN = "ghs_e2e_installation_token"
PR_NUMBER = 42
REPOSITORY_PAYLOAD = {"full_name": REPOSITORY, "id": REPOSITORY_ID, "default_branch": "main"}


def pull_request_event(head_sha: str = "b" * 40, base_sha: str = "a" * 40) -> dict:
    """The pull_request payload the runner hands the action: PR_NUMBER, head and base."""
    return {"action": "synchronize", "number": PR_NUMBER, "repository": REPOSITORY_PAYLOAD,
            "pull_request": {"number": PR_NUMBER,
                             "head": {"ref": "feature", "sha": head_sha, "repo": REPOSITORY_PAYLOAD},
                             "base": {"ref": "main", "sha": base_sha, "repo": REPOSITORY_PAYLOAD}}}
HERE = Path(__file__).resolve().parent
IMAGE = "perf-regression-action:e2e"
# act names the image of a local Docker action (`uses: ./`) like this. The tests
# run act with --rebuild=false and give the session's image this name too, since
# act's own build cannot use the host network here (see docs/docker.md).
ACT_LOCAL_ACTION_IMAGE = "act-dockeraction:latest"
# What a checkout of the action holds that the image or the runner reads.
ACTION_FILES = ("Dockerfile", ".dockerignore", "action.yml", "pyproject.toml", "README.md",
                "entrypoint.py", "perfaction")
# The workflows print the action's outputs as "E2E-OUTPUT name=value"; act
# shows a step's output lines as "[workflow/job]   | line".
_OUTPUT_LINE = re.compile(r"^\[[^\]]*\]\s+\|\s+E2E-OUTPUT (?P<name>[\w-]+)=(?P<value>.*)$", re.MULTILINE)

summary_lines: list[str] = []


def note(line: str) -> None:
    """A line for the end-of-run summary: what was built and what act decided."""
    summary_lines.append(line)


def tool(name: str) -> str:
    """An executable of the test environment (the venv first, then PATH)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found next to {sys.executable} nor on PATH: install the test "
                    "extras (pip install -e '.[test]') and run scripts/e2e-setup.sh", pytrace=False)
    return found


def run(cmd: list[str], *, timeout: float = 300, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run a command, capturing text; on an unexpected failure show both streams."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd[:8])} ... exited {proc.returncode}\n"
                    f"--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-6000:]}")
    return proc


def seed_baseline(fake: FakeGitHub, results: bytes, *, name: str = "perf-baseline") -> None:
    """The artifact a push to main uploaded (actions/upload-artifact zips the file)."""
    fake.add_artifact(REPOSITORY, name, results_zip(json.loads(results)), head_branch="main")


def load_yaml(path: Path):
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def write_bench(workspace: Path) -> str:
    """Put the tiny benchmark module in a workspace; returns its path there."""
    bench_dir = workspace / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(HERE / "data" / "bench_tiny.py", bench_dir / "bench_tiny.py")
    return "bench/bench_tiny.py"


def copy_action_checkout(dest: Path) -> Path:
    """What `actions/checkout` of the action's own repository gives: the shipped files."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ACTION_FILES:
        source = REPO / name
        if not source.exists():
            pytest.fail(f"{name} is missing from the repository; the action cannot be built without it")
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore)
        else:
            shutil.copy2(source, dest / name)
    return dest


def init_git_repo(path: Path, *, repository: str) -> str:
    """Commit everything; act reads the repository from the origin remote, the sha from HEAD."""
    git = ["git", "-C", str(path), "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid"]
    run(git + ["init", "-q", "-b", "main"])
    run(git + ["remote", "add", "origin", f"https://github.com/{repository}.git"])
    return commit_all(path, "e2e fixture")


def commit_all(path: Path, message: str) -> str:
    """Commit every change in the repository at ``path``; returns the new HEAD."""
    git = ["git", "-C", str(path), "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid"]
    run(git + ["add", "-A"])
    run(git + ["commit", "-q", "-m", message])
    return run(git + ["rev-parse", "HEAD"]).stdout.strip()


def runner_inputs(given: dict[str, str]) -> dict[str, str]:
    """INPUT_* as the runner sets them: every declared input, the given value, else its default."""
    declared = load_yaml(REPO / "action.yml")["inputs"]
    unknown = set(given) - set(declared)
    assert not unknown, f"not inputs of action.yml: {sorted(unknown)}"
    env = {}
    for name, spec in declared.items():
        value = given.get(name, str(spec.get("default", "")))
        env["INPUT_" + name.replace(" ", "_").upper()] = value
    return env


def read_outputs(path: Path) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT file (name=value and name<<DELIM blocks) as the runner does."""
    outputs: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            outputs[name] = "\n".join(lines[i + 1:end])
            i = end + 1
        else:
            name, _, value = line.partition("=")
            if name:
                outputs[name] = value
            i += 1
    return outputs


@dataclass(frozen=True)
class ActResult:
    returncode: int
    log: str
    outputs: dict[str, str]

    @property
    def job_succeeded(self) -> bool:
        return self.returncode == 0 and "Job succeeded" in self.log

    @property
    def job_failed(self) -> bool:
        return self.returncode != 0 and "Job failed" in self.log

    def explain(self) -> str:
        """For assertion messages: the verdicts the action reached, then the log's end."""
        return describe_comparison(self.outputs.get("comparison-json", "")) + "\n" + self.log[-5000:]


def describe_comparison(comparison_json: str) -> str:
    """One line per benchmark and metric of a comparison-json output."""
    try:
        deltas = json.loads(comparison_json).get("deltas", [])
    except (ValueError, AttributeError):
        return f"(comparison-json not readable: {comparison_json[:200]!r})"
    return "\n".join(f"{d.get('benchmark')} {d.get('metric')}: {d.get('verdict')} "
                     f"change={d.get('change')} base_n={(d.get('base') or {}).get('n')} "
                     f"head_n={(d.get('head') or {}).get('n')} {d.get('reason', '')}"
                     for d in deltas)


def remove_job_containers(workspace: Path) -> None:
    """act keeps a failed job's container (and its volumes) for debugging; ours go.

    Only containers whose working directory is this workspace: another act
    run on the same engine is left alone.
    """
    listed = run(["docker", "ps", "-a", "--filter", "name=^act-", "--format", "{{.ID}} {{.Names}}"],
                 check=False).stdout.split("\n")
    for line in filter(None, listed):
        container, name = line.split(" ", 1)
        workdir = run(["docker", "inspect", "--format", "{{.Config.WorkingDir}}", container],
                      check=False).stdout.strip()
        if workdir == str(workspace):
            run(["docker", "rm", "-f", container], check=False)
            run(["docker", "volume", "rm", name, f"{name}-env"], check=False)


def run_act(act: str, workspace: Path, *, event_name: str, workflow: Path, event: dict,
            env: dict[str, str] | None = None, secrets: dict[str, str] | None = None,
            label: str = "", timeout: float = 300) -> ActResult:
    """One act invocation: the job container and our action on the host network."""
    event_file = workspace.parent / f"{workspace.name}-{event_name}-event.json"
    event_file.write_text(json.dumps(event), encoding="utf-8")
    cmd = [act, event_name, "-W", str(workflow), "-e", str(event_file),
           "-P", "ubuntu-latest=debian:trixie-slim", "--pull=false", "--rebuild=false",
           "--action-offline-mode", "--network", "host", "--no-cache-server",
           "--container-daemon-socket", "-"]
    for key, value in (env or {}).items():
        cmd += ["--env", f"{key}={value}"]
    for key, value in (secrets or {}).items():
        cmd += ["-s", f"{key}={value}"]
    try:
        proc = subprocess.run(cmd, cwd=workspace, capture_output=True, text=True, timeout=timeout)
    finally:
        remove_job_containers(workspace)
    log = proc.stdout + proc.stderr
    outputs = {m["name"]: m["value"].strip() for m in _OUTPUT_LINE.finditer(log)}
    result = ActResult(proc.returncode, log, outputs)
    verdict = "succeeded" if result.job_succeeded else f"failed (act exit {proc.returncode})"
    note(f"act {event_name:<13} {label or workflow.name}: job {verdict}; "
         f"outputs regression={outputs.get('regression', '?')} "
         f"regressions-count={outputs.get('regressions-count', '?')}")
    return result


# ---------------------------------------------------------------------------
# actions/upload-artifact's stand-in for act workflows
# ---------------------------------------------------------------------------

# The environment variable the stand-in reads the fake GitHub's port from.
UPLOAD_STAND_IN_PORT_VAR = "FAKE_GITHUB_PORT"

# Bash functions for a workflow's `run:` step, where actions/upload-artifact
# (a remote action) cannot run offline and the job container has only bash and
# coreutils. `upload_artifact_file NAME FILE [MEMBER]` puts FILE at the top of
# artifact NAME of this run (GITHUB_RUN_ID) as MEMBER (default: FILE's
# basename), through the fake's test-only route
# POST /_test/runs/{run_id}/artifacts/{name}/files/{member} (tests/fake_github),
# using only bash's /dev/tcp, printf, cat and wc -c. Call it once per file of
# the artifact, as upload-artifact of a folder would store its contents:
#
#     upload_artifact_file perf-shard-1-of-2 out/results.json
#     upload_artifact_file perf-shard-1-of-2 out/results.base.json
UPLOAD_STAND_IN = r"""
upload_stand_in_urlencode() {
  local LC_ALL=C text=$1 out= char i
  for ((i = 0; i < ${#text}; i++)); do
    char=${text:i:1}
    case $char in
      [A-Za-z0-9._~-]) out+=$char ;;
      *) printf -v char '%%%02X' "'$char"; out+=$char ;;
    esac
  done
  printf '%s' "$out"
}

upload_artifact_file() {
  local name=$1 file=$2 member=${3:-${2##*/}}
  local port=${FAKE_GITHUB_PORT:?set FAKE_GITHUB_PORT to the fake GitHub API port}
  local run=${GITHUB_RUN_ID:?GITHUB_RUN_ID is not set}
  local branch=${GITHUB_HEAD_REF:-${GITHUB_REF_NAME:-}} size status reply
  if [ ! -f "$file" ]; then
    printf 'upload_artifact_file: no file %s\n' "$file" >&2
    return 1
  fi
  size=$(wc -c < "$file") || return 1
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'POST /_test/runs/%s/artifacts/%s/files/%s?branch=%s&sha=%s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nContent-Type: application/octet-stream\r\nContent-Length: %s\r\nConnection: close\r\n\r\n' \
    "$run" "$(upload_stand_in_urlencode "$name")" "$(upload_stand_in_urlencode "$member")" \
    "$(upload_stand_in_urlencode "$branch")" "$(upload_stand_in_urlencode "${GITHUB_SHA:-}")" \
    "$port" "$((size))" >&3
  cat "$file" >&3
  IFS= read -r status <&3
  reply=$(cat <&3)
  exec 3<&-
  case $status in
    "HTTP/1."?" 201 "*)
      printf 'uploaded %s as %s in artifact %s of run %s\n' "$file" "$member" "$name" "$run" ;;
    *)
      printf 'upload_artifact_file: the fake GitHub answered %s: %s\n' \
        "${status%$'\r'}" "${reply#*$'\r\n\r\n'}" >&2
      return 1 ;;
  esac
}
"""


def upload_stand_in_env(fake: FakeGitHub) -> dict[str, str]:
    """What a workflow using UPLOAD_STAND_IN needs in its environment (act's --env)."""
    return {UPLOAD_STAND_IN_PORT_VAR: str(fake.port)}
