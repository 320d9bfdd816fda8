"""The built image, run the way a runner runs it: workspace at /github/workspace.

One image per session (the ``action_image`` fixture). These tests check the
promises the Dockerfile makes to the runner and to users: the benchmark
harness works inside it, git accepts the foreign-owned workspace, the
entrypoint is absolute, output is unbuffered, there is no USER and no compiler.
"""

from __future__ import annotations

import json
import os

import pytest

from perfaction.results.files import load_suite

from .support import REPO, run, write_bench

pytestmark = pytest.mark.docker

WORKSPACE = "/github/workspace"


def docker_run(docker: str, image: str, workspace, *args: str, entrypoint: str | None = None,
               env: dict[str, str] | None = None, check: bool = True):
    cmd = [docker, "run", "--rm", "--network", "host", "-v", f"{workspace}:{WORKSPACE}", "-w", WORKSPACE]
    for key, value in (env or {}).items():
        cmd += ["-e", f"{key}={value}"]
    if entrypoint:
        cmd += ["--entrypoint", entrypoint]
    return run(cmd + [image, *args], check=check)


def test_perfaction_run_measures_a_benchmark_module_in_the_mounted_workspace(
        docker_engine, action_image, tmp_path):
    module = write_bench(tmp_path)
    proc = docker_run(docker_engine, action_image.tag, tmp_path, "run", module,
                      "-o", "out/results.json", "--time-budget", "2", entrypoint="perfaction")
    suite = load_suite(tmp_path / "out" / "results.json")
    names = [bench.name for bench in suite.benchmarks]
    assert names == ["sum_list"], proc.stdout + proc.stderr
    samples = suite.benchmarks[0].metrics["time"].per_process()
    assert len(samples) >= 2 and all(value > 0 for value in samples)
    # Measured with the image's interpreter, not the host's.
    assert suite.environment.python_version.startswith("3.13")
    # The user's code ran without leaving root-owned bytecode in their checkout.
    assert not list(tmp_path.rglob("__pycache__"))


def test_image_contract_for_docker_actions(docker_engine, action_image):
    config = json.loads(run([docker_engine, "image", "inspect", "--format", "{{json .Config}}",
                             action_image.tag]).stdout)
    # The runner runs the container as root and overrides WORKDIR: no USER, absolute entrypoint.
    assert config.get("User", "") == ""
    assert config["Entrypoint"][0].startswith("/") and config["Entrypoint"][-1].startswith("/")
    assert "PYTHONUNBUFFERED=1" in config["Env"]


def test_installed_package_finds_its_templates_and_has_no_compiler(docker_engine, action_image, tmp_path):
    # The image installs the wheel: the templates come as package data, not from a source tree.
    script = ("import json, shutil, importlib.resources as r, perfaction; "
              "folder = r.files('perfaction.report') / 'templates'; "
              "print(json.dumps({'templates': sorted(p.name for p in folder.iterdir()), "
              "'site': perfaction.__file__, "
              "'compilers': [c for c in ('gcc', 'cc', 'g++', 'make') if shutil.which(c)]}))")
    # the action's own interpreter; `python` on PATH is the project's (setup-command's)
    proc = docker_run(docker_engine, action_image.tag, tmp_path, "-c", script,
                      entrypoint="/opt/venv/bin/python")
    found = json.loads(proc.stdout)
    expected = sorted(p.name for p in (REPO / "perfaction" / "report" / "templates").iterdir()
                      if p.name != "__pycache__")
    assert expected and found["templates"] == expected
    assert "/site-packages/perfaction/" in found["site"]   # installed, not an editable tree
    assert found["compilers"] == []


def test_git_accepts_a_workspace_owned_by_another_user(docker_engine, action_image, tmp_path):
    git = ["git", "-C", str(tmp_path), "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid"]
    run(git + ["init", "-q", "-b", "main"])
    (tmp_path / "file.txt").write_text("x\n")
    run(git + ["add", "-A"])
    run(git + ["commit", "-q", "-m", "one"])
    head = run(git + ["rev-parse", "HEAD"]).stdout.strip()
    # As on a runner: the checkout belongs to the runner's user, the container runs as root.
    # (A non-root test run already owns it as a user the container's root is not.)
    if os.geteuid() == 0:
        for path in [tmp_path, *tmp_path.rglob("*")]:
            os.lchown(path, 1001, 1001)
    proc = docker_run(docker_engine, action_image.tag, tmp_path,
                      "-C", WORKSPACE, "rev-parse", "HEAD", entrypoint="git")
    assert proc.stdout.strip() == head
