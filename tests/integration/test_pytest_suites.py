"""pytest-benchmark suites run unchanged under perfaction's harness (--pytest, input pytest)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_github.seed import PR, REPO

pytestmark = pytest.mark.slow

SUITE = Path(__file__).resolve().parents[1] / "data" / "pytest_suite"
MEASURED = {"tests/test_perf.py::test_sort[100]", "tests/test_perf.py::test_sort[1000]",
            "tests/test_perf.py::test_count", "tests/test_perf.py::test_join_pedantic"}


def project(root: Path, work: int = 1) -> Path:
    """A project with the suite under tests/; WORK scales test_sort's work."""
    shutil.copytree(SUITE, root / "tests")
    test = root / "tests" / "test_perf.py"
    test.write_text(test.read_text().replace("WORK = 1", f"WORK = {work}"))
    # as real projects do (cattrs, for one): pytest-benchmark's options in addopts
    (root / "pytest.ini").write_text("[pytest]\naddopts = --benchmark-sort=fullname\n")
    return root


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "perfaction", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600, check=False)


def test_run_measures_each_benchmark_test_by_node_id_and_names_what_it_refuses(tmp_path):
    root = project(tmp_path / "p")
    done = cli("run", "tests", "--pytest", "--processes", "3", "-q", "-o", "r.json", cwd=root)
    assert done.returncode == 2, done.stdout + done.stderr      # some tests are refused
    results = {b["name"]: b for b in json.loads((root / "r.json").read_text())["benchmarks"]}
    for name in MEASURED:
        samples = results[name]["metrics"]["time"]["samples"]
        assert len(samples) == 3, name                           # one value set per process
    assert "tests/test_perf.py::test_not_a_benchmark" not in results   # no fixture, no benchmark
    errors = {name.split("::")[1]: b.get("error", "") for name, b in results.items()
              if "test_unsupported" in name}
    assert "benchmark.weave" in errors["test_weave"]
    assert "pedantic(setup=...)" in errors["test_pedantic_setup"]
    assert "AssertionError: wrong answer" in errors["test_fails_after_measuring"]
    assert "never called the benchmark fixture" in errors["test_never_calls_it"]
    assert "skipped: not on this platform" in errors["test_skipped"]
    # the sort of 1000 items costs more than that of 100: the values are the tests' own
    median = {n: sorted(v for p in results[n]["metrics"]["time"]["samples"] for v in p)[4]
              for n in MEASURED}
    assert median["tests/test_perf.py::test_sort[1000]"] > 3 * median["tests/test_perf.py::test_sort[100]"]


def test_ab_flags_the_slower_test_and_only_it(tmp_path):
    base, head = project(tmp_path / "base"), project(tmp_path / "head", work=3)
    done = cli("ab", "tests/test_perf.py", "--pytest", "--base-dir", str(base), "--processes", "12",
               "--no-latency", "-q", "--json", "c.json", cwd=head)
    assert done.returncode == 1, done.stdout + done.stderr
    deltas = json.loads((head / "c.json").read_text())["deltas"]
    regressed = {d["benchmark"] for d in deltas if d["verdict"] == "regressed" and d["metric"] == "time"}
    assert regressed == {"tests/test_perf.py::test_sort[100]", "tests/test_perf.py::test_sort[1000]"}


def test_a_folder_without_the_flag_says_to_add_it(tmp_path):
    root = project(tmp_path / "p")
    done = cli("run", "tests", "-q", "-o", "r.json", cwd=root)
    assert done.returncode == 2
    assert "--pytest" in done.stderr          # "tests" is imported as a package: say what to add
    done = cli("run", "tests/", "-q", "-o", "r.json", "--force", cwd=root)
    assert done.returncode == 2 and "is a folder" in done.stderr and "--pytest" in done.stderr


def test_the_action_runs_a_pytest_benchmark_folder_and_comments(fake, run_action, workspace):
    project(workspace)
    (workspace / "tests" / "test_unsupported.py").unlink()
    result = run_action("pull_request", inputs={"benchmark": "tests", "pytest": "true",
                                                "time-budget": "8"})
    assert result.returncode == 0, result.explain()
    head = json.loads((workspace / "perf-results.json").read_text())
    assert {b["name"] for b in head["benchmarks"]} == MEASURED
    [comment] = fake.comments_on(REPO, PR)
    assert "test_perf.py::test_count" in comment.body


def test_a_test_file_that_cannot_be_imported_fails_the_run_naming_it(tmp_path):
    # pytest stops on a collection error; so does perfaction, rather than drop its benchmarks
    root = project(tmp_path / "p")
    (root / "tests" / "test_broken.py").write_text("import not_installed_anywhere\n")
    done = cli("run", "tests", "--pytest", "--processes", "3", "-q", "-o", "r.json", cwd=root)
    assert done.returncode == 2
    assert "test_broken.py" in done.stderr and "not_installed_anywhere" in done.stderr
