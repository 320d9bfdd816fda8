"""How long the action's container takes to reach the user's first benchmark.

Measures, on this machine, the time from `docker run` to the moment the first
benchmark's set-up function starts in a worker process, with no setup-command
(what the user's own set-up costs is theirs). Clock: the host's and the
container's wall clocks are the same kernel clock, so a timestamp written in
the container is comparable with one taken on the host.

    python benchmarks/container_startup.py [--image TAG] [--repeat 7] [--build]

Paths measured:

- ``container``: `docker run` of the image doing nothing (/bin/true): the
  engine's own start and removal cost;
- ``perfaction run``: the command-line tool in the container, first set-up;
- ``action``: the action's entrypoint with the runner's environment (INPUT_*,
  a pull_request event, a baseline artifact on a fake GitHub API on
  127.0.0.1), first set-up. Needs entrypoint.py; the fake API answers in
  microseconds, so real API latency comes on top.

``--build`` first builds the image from a copy of the shipped files: cold
(``--no-cache``; the Debian base image stays) and again after a code-only
change, and reports both times and the image size.

Goal (docs/docker.md): first benchmark within 1.5 s of `docker run`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("Dockerfile", ".dockerignore", "action.yml", "pyproject.toml", "README.md",
           "entrypoint.py", "perfaction", "templates")
PROBE_MODULE = '''\
import os, time
from perfaction import benchmark

@benchmark
def first():
    # Set-up runs once per worker: the first one to start records the moment.
    try:
        fd = os.open("/probe/first-setup", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        pass
    else:
        os.write(fd, repr(time.time()).encode())
        os.close(fd)
    return lambda: None
'''


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SystemExit(f"docker {' '.join(args[:4])} ... failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


def build(image: str) -> dict[str, float]:
    """Cold build, then a rebuild after a one-line code change, from a copy of the shipped files."""
    with tempfile.TemporaryDirectory() as tmp:
        context = Path(tmp)
        for name in SHIPPED:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, context / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, context / name)
        started = time.monotonic()
        docker("build", "--network", "host", "--no-cache", "-q", "-t", image, str(context))
        cold = time.monotonic() - started
        init = context / "perfaction" / "__init__.py"
        init.write_text(init.read_text() + "\n# a code-only change\n")
        started = time.monotonic()
        docker("build", "--network", "host", "-q", "-t", image, str(context))
        code_only = time.monotonic() - started
    return {"cold_build_s": cold, "code_change_build_s": code_only}


def image_size(image: str) -> int:
    return int(docker("image", "inspect", "--format", "{{.Size}}", image).stdout)


def time_empty_container(image: str) -> float:
    started = time.time()
    docker("run", "--rm", "--network", "host", "--entrypoint", "/bin/true", image)
    return time.time() - started


def time_to_first_setup(image: str, workspace: Path, probe: Path, *, env: dict[str, str] | None = None,
                        entrypoint: str | None = None, args: list[str] = ()) -> float:
    """Seconds from `docker run` to the first benchmark set-up starting in the container."""
    marker = probe / "first-setup"
    marker.unlink(missing_ok=True)
    cmd = ["run", "--rm", "--network", "host", "-v", f"{workspace}:/github/workspace",
           "-v", f"{probe}:/probe", "-w", "/github/workspace"]
    for key, value in (env or {}).items():
        cmd += ["-e", f"{key}={value}"]
    if entrypoint:
        cmd += ["--entrypoint", entrypoint]
    started = time.time()
    proc = docker(*cmd, image, *args, check=False)
    if not marker.exists():
        raise SystemExit(f"no benchmark started (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n"
                         f"{proc.stderr[-3000:]}")
    return float(marker.read_text()) - started


def action_environment(fake, probe: Path) -> dict[str, str]:
    """The runner's environment for a pull_request job, pointed at the fake API."""
    event = {"number": 42, "repository": {"full_name": "octo-org/widgets", "id": 1296269,
                                          "default_branch": "main"},
             "pull_request": {"number": 42, "head": {"ref": "feature", "sha": "b" * 40,
                                                     "repo": {"full_name": "octo-org/widgets"}},
                              "base": {"ref": "main", "sha": "a" * 40}}}
    (probe / "event.json").write_text(json.dumps(event))
    (probe / "output").write_text("")
    (probe / "summary").write_text("")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_API_URL": fake.base_url, "GITHUB_REPOSITORY": "octo-org/widgets",
           "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": "/probe/event.json",
           "GITHUB_SHA": "d" * 40, "GITHUB_REF": "refs/pull/42/merge", "GITHUB_BASE_REF": "main",
           "GITHUB_HEAD_REF": "feature", "GITHUB_RUN_ID": "1", "GITHUB_WORKSPACE": "/github/workspace",
           "GITHUB_OUTPUT": "/probe/output", "GITHUB_STEP_SUMMARY": "/probe/summary",
           "INPUT_BENCHMARK": "probe_bench.py", "INPUT_TIME-BUDGET": "1", "INPUT_TOKEN": "ghs_probe",
           "INPUT_COMMENT-MODE": "never"}
    return env


def measure_action(image: str, workspace: Path, probe: Path, baseline: bytes, repeat: int) -> list[float]:
    sys.path.insert(0, str(ROOT))
    from tests.fake_github import FakeGitHub, results_zip  # the project's own fake API
    with FakeGitHub(prefix="") as fake:
        fake.add_repo("octo-org/widgets", 1296269)
        fake.add_token("ghs_probe", "github-actions[bot]", installation=True)
        fake.add_pull("octo-org/widgets", 42, head_sha="b" * 40)
        fake.add_artifact("octo-org/widgets", "perf-baseline", results_zip(json.loads(baseline)))
        env = action_environment(fake, probe)
        return [time_to_first_setup(image, workspace, probe, env=env) for _ in range(repeat)]


def describe(name: str, values: list[float]) -> str:
    return (f"{name:<16} median {statistics.median(values):.2f} s  min {min(values):.2f} s  "
            f"max {max(values):.2f} s  (n={len(values)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", default="perf-regression-action:startup")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--build", action="store_true", help="build the image first and time the builds")
    args = parser.parse_args(argv)

    report: dict[str, object] = {"image": args.image}
    if args.build:
        report.update(build(args.image))
    report["image_size_mb"] = round(image_size(args.image) / 1e6, 1)

    with tempfile.TemporaryDirectory() as tmp:
        workspace, probe = Path(tmp) / "workspace", Path(tmp) / "probe"
        workspace.mkdir()
        probe.mkdir()
        (workspace / "probe_bench.py").write_text(PROBE_MODULE)
        time_empty_container(args.image)  # one unmeasured run: page cache, engine warm-up
        empty = [time_empty_container(args.image) for _ in range(args.repeat)]
        cli_args = ["run", "probe_bench.py", "-o", "/probe/results.json", "--time-budget", "1"]
        cli = [time_to_first_setup(args.image, workspace, probe, entrypoint="perfaction", args=cli_args)
               for _ in range(args.repeat)]
        lines = [describe("container", empty), describe("perfaction run", cli)]
        report["container_s"] = statistics.median(empty)
        report["perfaction_run_first_setup_s"] = statistics.median(cli)
        if (ROOT / "entrypoint.py").exists():
            baseline = (probe / "results.json").read_bytes()
            action = measure_action(args.image, workspace, probe, baseline, args.repeat)
            lines.append(describe("action", action))
            report["action_first_setup_s"] = statistics.median(action)
    for line in lines:
        print(line)
    for key in ("cold_build_s", "code_change_build_s"):
        if key in report:
            print(f"{key:<20} {report[key]:.1f} s")
    print(f"image size           {report['image_size_mb']} MB")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
