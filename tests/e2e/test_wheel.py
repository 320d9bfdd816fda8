"""The wheel a user gets from `pip install .`, installed into a fresh venv and used as a CLI.

The dev venv and the image used to install the tree editable, so nothing saw
that a wheel held no report templates (`perfaction report --format comment`
failed with TemplateNotFound). Here the wheel is built from the shipped files,
installed (not editable) into a new venv, and `perfaction run`, `compare`,
`report` and `ab` run from it in a directory outside the repository, with the
benchmark workers started from that venv's interpreter.

No Docker engine needed; the benchmark runs are tiny (seconds in all).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from .support import REPO, init_git_repo, run, write_bench

pytestmark = pytest.mark.slow

# What the Dockerfile copies to build the wheel; a stale build/ or egg-info of
# the checkout cannot leak into the wheel, and the checkout is not written to.
SOURCE_FILES = ("pyproject.toml", "README.md", "perfaction")
# The smallest measurement that exercises every pass (time, memory) of the worker.
TINY = ["--processes", "3", "--memory-processes", "1", "--no-latency", "--min-value-time", "0.01", "-q"]
COMMENT_MARKER = "<!-- perf-regression-action:comment -->"


@dataclass(frozen=True)
class FreshVenv:
    root: Path
    python: Path
    perfaction: Path
    site_packages: Path
    env: dict[str, str]

    def cli(self, *args: str, cwd: Path, expect: int | None = 0) -> subprocess.CompletedProcess:
        proc = run([str(self.perfaction), *args], cwd=cwd, env=self.env, check=False, timeout=180)
        if expect is not None:
            assert proc.returncode == expect, (
                f"perfaction {' '.join(args)} exited {proc.returncode}, expected {expect}\n"
                f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}")
        return proc


def _source(tmp: Path) -> Path:
    source = tmp / "src"
    source.mkdir()
    for name in SOURCE_FILES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        else:
            shutil.copy2(REPO / name, source / name)
    return source


def _built_wheel(tmp: Path) -> Path:
    source = _source(tmp)
    # With build isolation, as `pip install .` builds: pip installs the build
    # backend pyproject.toml asks for (from its cache after the first run).
    # The dev venv's own setuptools may be too old for the project's metadata.
    wheels = tmp / "wheels"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
         "--wheel-dir", str(wheels), str(source)], timeout=300)
    built = sorted(wheels.glob("perfaction-*.whl"))
    assert len(built) == 1, built
    return built[0]


def _clean_env(bin_dir: Path) -> dict[str, str]:
    """The caller's environment without anything that points Python at the checkout or the dev venv."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("PYTHON") and key != "VIRTUAL_ENV"}
    env["PATH"] = str(bin_dir) + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = str(bin_dir.parent)
    return env


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> FreshVenv:
    tmp = tmp_path_factory.mktemp("wheel")
    wheel = _built_wheel(tmp)
    assert "perfaction/report/templates/comment.md.j2" in _wheel_names(wheel), \
        "the report templates are not package data of the wheel"

    root = tmp / "venv"
    # Same base interpreter as the dev venv (its compiled numpy/scipy must match).
    run([sys.executable, "-m", "venv", "--without-pip", str(root)], timeout=120)
    python = root / "bin" / "python"
    site_packages = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             env=_clean_env(root / "bin")).stdout.strip())
    # The dev venv's pip installs into the new venv (no ensurepip: seconds saved).
    # Before the .pth below exists, so pip sees an empty environment.
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
         "--disable-pip-version-check", "-q", str(wheel)], timeout=300)

    # Why a .pth and not `pip install numpy scipy ...`: installing the runtime
    # dependencies from PyPI into every fresh venv costs a minute. A path line in
    # a .pth file only appends that directory to sys.path, after the venv's own
    # site-packages; .pth files inside the appended directory are not processed,
    # so the dev venv's editable-install hook never runs and the checkout stays
    # invisible: perfaction can only come from the wheel (asserted below).
    dev_dirs = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site_packages / "zz-dev-dependencies.pth").write_text(
        "".join(f"{path}\n" for path in dev_dirs), encoding="utf-8")
    return FreshVenv(root, python, root / "bin" / "perfaction", site_packages, _clean_env(root / "bin"))


def _wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A project outside the repository holding the tiny benchmark module."""
    project = tmp_path_factory.mktemp("project")
    assert REPO not in project.parents
    write_bench(project)
    return project


PROBE = """
import json, sys
import numpy, scipy, psutil, github, jinja2, requests
import perfaction, perfaction.harness.worker
print(json.dumps({
    "perfaction": perfaction.__file__,
    "worker": perfaction.harness.worker.__file__,
    "path": sys.path,
    "editable_hooks": [type(f).__module__ for f in sys.meta_path
                       if type(f).__module__.startswith("__editable__")],
}))
"""


@pytest.mark.parametrize("flags", [[], ["-s", "-E"]], ids=["cli", "worker-flags"])
def test_perfaction_is_imported_from_the_fresh_venv_not_the_checkout(fresh_venv, workspace, flags):
    # "-s -E" is how the harness starts benchmark workers (python -s -E -m perfaction.harness.worker).
    proc = run([str(fresh_venv.python), *flags, "-c", PROBE], cwd=workspace, env=fresh_venv.env)
    seen = json.loads(proc.stdout)
    installed = fresh_venv.site_packages / "perfaction"
    assert Path(seen["perfaction"]).parent == installed, seen["perfaction"]
    assert installed in Path(seen["worker"]).parents, seen["worker"]
    assert seen["editable_hooks"] == [], "the dev venv's editable-install hook ran"
    assert str(REPO) not in seen["path"], "the checkout is on sys.path"


def test_console_script_is_the_fresh_venvs(fresh_venv, workspace):
    proc = fresh_venv.cli("--version", cwd=workspace)
    assert proc.stdout.strip().startswith("perfaction ")
    shebang = fresh_venv.perfaction.read_text(encoding="utf-8").splitlines()[0]
    assert shebang == f"#!{fresh_venv.python}"


@pytest.fixture(scope="module")
def measured(fresh_venv, workspace) -> Path:
    """`perfaction run` twice: a base and a head results file."""
    for name in ("base.json", "head.json"):
        fresh_venv.cli("run", "bench/bench_tiny.py", "-o", name, *TINY, cwd=workspace)
    return workspace


def test_run_measures_the_benchmark_in_workers_of_the_fresh_venv(measured):
    for name in ("base.json", "head.json"):
        results = json.loads((measured / name).read_text(encoding="utf-8"))
        [bench] = results["benchmarks"]
        assert bench["name"] == "sum_list"
        assert len(bench["metrics"]["time"]["samples"]) == 3, "one value per worker process"
        assert "error" not in bench, bench["error"]


def test_compare_exits_0_and_writes_the_comparison(fresh_venv, measured):
    # 3 processes per side cannot reach significance at alpha 0.01: no regression is possible.
    proc = fresh_venv.cli("compare", "base.json", "head.json", "--json", "comparison.json", cwd=measured)
    assert "sum_list" in proc.stdout
    comparison = json.loads((measured / "comparison.json").read_text(encoding="utf-8"))
    assert {d["benchmark"] for d in comparison["deltas"]} == {"sum_list"}


@pytest.mark.parametrize("inputs", [["base.json", "head.json"], ["comparison.json"]],
                         ids=["two-results-files", "comparison-json"])
def test_report_renders_the_pr_comment_from_the_packaged_templates(fresh_venv, measured, inputs):
    # The regression this file guards: TemplateNotFound from a non-editable install.
    if not (measured / "comparison.json").exists():
        fresh_venv.cli("compare", "base.json", "head.json", "--json", "comparison.json", cwd=measured)
    out = measured / f"comment-{len(inputs)}.md"
    proc = fresh_venv.cli("report", *inputs, "--format", "comment", "-o", out.name, cwd=measured)
    assert "internal error" not in proc.stderr.lower()
    comment = out.read_text(encoding="utf-8")
    assert comment.startswith(COMMENT_MARKER), comment[:300]
    assert "sum_list" in comment


def test_ab_against_a_git_ref_in_a_project_outside_the_repository(fresh_venv, tmp_path):
    project = tmp_path / "project"
    write_bench(project)
    init_git_repo(project, repository="octo-org/widgets")
    proc = fresh_venv.cli("ab", "bench/bench_tiny.py", "--base-ref", "HEAD", *TINY,
                          "-o", "head.json", "--base-output", "base.json", "--json", "ab.json",
                          cwd=project)
    assert "sum_list" in proc.stdout
    for name in ("head.json", "base.json", "ab.json"):
        assert (project / name).is_file(), f"perfaction ab wrote no {name}"
    comparison = json.loads((project / "ab.json").read_text(encoding="utf-8"))
    assert {d["benchmark"] for d in comparison["deltas"]} == {"sum_list"}


def test_the_sdist_and_the_wheel_pass_twine_check_as_the_release_requires(tmp_path):
    # .github/workflows/release.yml runs `python -m build` then `twine check --strict`
    # before publishing to PyPI; a README that PyPI cannot render fails here first.
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "build", "--outdir", str(dist), str(_source(tmp_path))],
        timeout=600)
    built = sorted(p.name for p in dist.iterdir())
    assert [n.split("-")[0] for n in built] == ["perfaction", "perfaction"], built
    checked = run([sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir())],
                  check=False, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
