"""End-to-end fixtures: the real image, built once per session, the fake GitHub, act.

Tests marked ``docker`` or ``act`` need a Docker engine. When none is
reachable they FAIL with a message saying how to start one: a packaging test
that silently skips proves nothing. ``PERFACTION_E2E=0`` leaves them out
explicitly (deselected, and the run's header says so). The lint tests in this
folder need no engine and always run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from .support import (
    ACT_LOCAL_ACTION_IMAGE,
    BOT,
    HERE,
    IMAGE,
    PR_NUMBER,
    REPO,
    REPOSITORY,
    REPOSITORY_ID,
    TOKEN,
    FakeGitHub,
    note,
    run,
    summary_lines,
    tool,
    write_bench,
)

ENGINE_HELP = (
    "Docker engine not reachable ({reason}). The docker and act tests need one: run "
    "scripts/e2e-setup.sh (it starts an engine where the machine provides a set-up tool, "
    "and installs act), or start Docker yourself; set PERFACTION_E2E=0 to leave these "
    "tests out explicitly.")


def e2e_enabled() -> bool:
    return os.environ.get("PERFACTION_E2E", "1").strip() != "0"


def pytest_report_header(config):
    if not e2e_enabled():
        return "e2e: PERFACTION_E2E=0, the Docker and act tests are deselected"
    return None


def pytest_collection_modifyitems(config, items):
    if e2e_enabled():
        return
    keep, drop = [], []
    for item in items:
        in_e2e = HERE in Path(str(item.fspath)).parents
        needs_engine = item.get_closest_marker("docker") or item.get_closest_marker("act")
        (drop if in_e2e and needs_engine else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_terminal_summary(terminalreporter):
    if summary_lines:
        terminalreporter.section("end-to-end: image and runner")
        for line in summary_lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def docker_engine() -> str:
    """The docker client, once an engine answers."""
    docker = shutil.which("docker")
    if not docker:
        pytest.fail(ENGINE_HELP.format(reason="no docker command on PATH"), pytrace=False)
    try:
        proc = subprocess.run([docker, "info", "--format", "{{.ServerVersion}}"],
                              capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(ENGINE_HELP.format(reason="docker info timed out"), pytrace=False)
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["docker info failed"])[-1]
        pytest.fail(ENGINE_HELP.format(reason=reason), pytrace=False)
    return docker


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    build_seconds: float
    size_bytes: int


@pytest.fixture(scope="session")
def action_image(docker_engine) -> BuiltImage:
    """The shipped Dockerfile, built from the repository the way a runner builds it.

    PERFACTION_E2E_IMAGE=<image> tests that image instead (a released one, say).
    """
    given = os.environ.get("PERFACTION_E2E_IMAGE", "").strip()
    tag = given or IMAGE
    started = time.monotonic()
    if not given:
        # Output kept (not -q): on a failure run() shows the failing step.
        run([docker_engine, "build", "--network", "host", "-t", tag, str(REPO)], timeout=900)
    seconds = time.monotonic() - started
    run([docker_engine, "tag", tag, ACT_LOCAL_ACTION_IMAGE])
    size = int(run([docker_engine, "image", "inspect", "--format", "{{.Size}}", tag]).stdout)
    how = "given by PERFACTION_E2E_IMAGE" if given else f"built in {seconds:.1f} s (this machine's layer cache)"
    note(f"image {tag}: {how}, {size / 1e6:.0f} MB")
    return BuiltImage(tag, seconds, size)


@pytest.fixture(scope="session")
def baseline_results(docker_engine, action_image, tmp_path_factory) -> bytes:
    """Results of the tiny benchmark measured in the image: the stored baseline."""
    workspace = tmp_path_factory.mktemp("baseline")
    module = write_bench(workspace)
    run([docker_engine, "run", "--rm", "--network", "host", "-v", f"{workspace}:/github/workspace",
         "-w", "/github/workspace", "--entrypoint", "perfaction", action_image.tag,
         "run", module, "-o", "baseline.json", "--processes", "8"])
    return (workspace / "baseline.json").read_bytes()


@pytest.fixture
def fake_github():
    """The fake GitHub API on 127.0.0.1 (containers reach it over the host network)."""
    with FakeGitHub(prefix="") as fake:
        fake.add_repo(REPOSITORY, REPOSITORY_ID)
        fake.add_token(TOKEN, BOT, installation=True)
        fake.add_pull(REPOSITORY, PR_NUMBER, author="octocat", head_sha="b" * 40)
        yield fake


@pytest.fixture(scope="session")
def act_binary(docker_engine) -> str:
    return tool("act")
