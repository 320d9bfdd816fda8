"""`perfaction ab`: both trees measured in one job, each importing its own code."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from perfaction.cli.main import main
from perfaction.errors import PerfActionError
from perfaction.harness.ab import run_ab
from perfaction.harness.gitinfo import base_worktree
from perfaction.harness.launcher import SubprocessLauncher
from perfaction.harness.runner import RunOptions
from perfaction.results import files

pytestmark = pytest.mark.slow

FAST = ["--time-budget", "1", "--min-value-time", "0.005", "-q"]

BENCH = '''
import os
import mylib
from perfaction import benchmark

RECORD = {record!r}


@benchmark
def lib_work():
    with open(RECORD, "a", encoding="utf-8") as handle:
        handle.write(f"{{mylib.VERSION}} {{os.path.dirname(mylib.__file__)}}\\n")
    return mylib.work
'''

LIB = '''
VERSION = {version!r}
REPEAT = {repeat}


def work():
    total = 0
    for _ in range(REPEAT):
        total += sum(range(300))
    return total
'''


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"})


def write_project(root: Path, record: Path, version: str, repeat: int) -> None:
    (root / "mylib").mkdir(parents=True, exist_ok=True)
    (root / "benchmarks").mkdir(exist_ok=True)
    (root / "mylib" / "__init__.py").write_text(LIB.format(version=version, repeat=repeat))
    (root / "benchmarks" / "bench_lib.py").write_text(BENCH.format(record=str(record)))


def seen(record: Path) -> set[tuple[str, str]]:
    return {tuple(line.split(" ", 1)) for line in record.read_text().splitlines()}


@pytest.fixture
def repo(tmp_path):
    """A git project: tag v1 has VERSION base; the working tree has VERSION head, 2x the work."""
    root = tmp_path / "project"
    record = tmp_path / "record.txt"
    write_project(root, record, "base", 1)
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    git(root, "tag", "v1")
    write_project(root, record, "head", 2)
    return root, record


@pytest.fixture
def trees(tmp_path):
    """Two plain directories, base and head, with the same project; and the set-up record."""
    record = tmp_path / "record.txt"
    base, head = tmp_path / "base", tmp_path / "head"
    write_project(base, record, "base", 1)
    write_project(head, record, "head", 1)
    return base, head, record


def test_ab_with_a_base_ref_measures_each_tree_with_its_own_code(repo, monkeypatch, capsys):
    root, record = repo
    monkeypatch.chdir(root)
    code = main(["ab", "benchmarks/bench_lib.py", "--base-ref", "v1", "-o", "head.json",
                 "--base-output", "base.json", "--processes", "14", *FAST])
    base = files.load_suite(root / "base.json")
    head = files.load_suite(root / "head.json")
    seen_pairs = seen(record)
    versions = {v for v, _ in seen_pairs}
    assert versions == {"base", "head"}
    head_dirs = {d for v, d in seen_pairs if v == "head"}
    base_dirs = {d for v, d in seen_pairs if v == "base"}
    assert head_dirs == {str(root / "mylib")}
    assert all(not d.startswith(str(root)) for d in base_dirs)   # the temporary worktree
    assert base.settings.mode == head.settings.mode == "same-runner"
    assert base.get("lib_work").loops == head.get("lib_work").loops
    ratio = head.get("lib_work").metrics["time"].center() / base.get("lib_work").metrics[
        "time"].center()
    assert ratio > 1.3        # head does twice the work; only its direction is asserted here
    assert base.environment.commit_sha and base.environment.ref == "v1"
    # a 2x slowdown is a regression; 14 rounds, so that a few rounds a busy machine
    # turns around still leave the paired test far below alpha (8 once did not)
    assert code == 1, capsys.readouterr()
    # the worktree is gone again
    listed = subprocess.run(["git", "worktree", "list"], cwd=root, capture_output=True,
                            text=True).stdout
    assert len(listed.strip().splitlines()) == 1


def test_pythonpath_pointing_at_the_other_tree_cannot_shadow(trees, tmp_path):
    base, head, record = trees
    shadow = tmp_path / "installed"
    write_project(shadow, record, "installed", 1)
    # An "installed" copy on PYTHONPATH, as a careless environment might have.
    launcher = SubprocessLauncher(environ={**os.environ, "PYTHONPATH": str(shadow)})
    options = RunOptions(time_budget=1.0, min_value_time=0.005, processes=2, min_processes=2)
    base_suite, head_suite = run_ab(base, head, "benchmarks/bench_lib.py", options,
                                    launcher=launcher)
    assert not base_suite.failures and not head_suite.failures
    assert seen(record) == {("base", str(base / "mylib")), ("head", str(head / "mylib"))}


def test_a_base_without_the_benchmark_module_makes_every_benchmark_new(tmp_path):
    record = tmp_path / "record.txt"
    base, head = tmp_path / "base", tmp_path / "head"
    base.mkdir()
    write_project(head, record, "head", 1)
    options = RunOptions(time_budget=1.0, min_value_time=0.005, processes=2, min_processes=2)
    from perfaction.harness.ab import execute_ab
    result = execute_ab(base, head, "benchmarks/bench_lib.py", options)
    base_suite, head_suite = result.suites
    assert base_suite.benchmarks == () and head_suite.names() == ("lib_work",)
    assert result.notes == ("the base tree has no benchmarks/bench_lib.py, so every benchmark is "
                            "new (there is nothing to compare it with)",)


def test_a_base_that_has_the_module_but_cannot_import_it_is_an_error(trees):
    base, head, _ = trees
    bench = base / "benchmarks" / "bench_lib.py"
    bench.write_text("import no_such_dependency_of_the_base\n" + bench.read_text())
    options = RunOptions(time_budget=1.0, min_value_time=0.005, processes=2, min_processes=2)
    from perfaction.errors import BenchmarkDiscoveryError
    from perfaction.harness.ab import execute_ab
    with pytest.raises(BenchmarkDiscoveryError, match="no_such_dependency_of_the_base") as caught:
        execute_ab(base, head, "benchmarks/bench_lib.py", options)
    assert caught.value.side == "base"


def test_the_ab_command_names_a_broken_base_and_writes_no_head_results(trees, tmp_path,
                                                                        monkeypatch, capsys):
    base, head, _ = trees
    bench = base / "benchmarks" / "bench_lib.py"
    bench.write_text("raise ImportError('base needs an older mylib')\n" + bench.read_text())
    monkeypatch.chdir(head)
    code = main(["ab", "benchmarks/bench_lib.py", "--base-dir", str(base), "-o",
                 str(tmp_path / "h.json"), *FAST])
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot measure the base" in err and "base needs an older mylib" in err
    assert not (tmp_path / "h.json").exists()


def test_has_target_looks_where_the_worker_imports_from(tmp_path):
    from perfaction.harness.ab import has_target
    (tmp_path / "src" / "pkg" / "bench").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "perf.py").write_text("")
    (tmp_path / "top.py").write_text("")
    assert has_target(tmp_path, "top") and has_target(tmp_path, "top.py")
    assert has_target(tmp_path, "pkg.perf") and has_target(tmp_path, "pkg.bench")
    assert not has_target(tmp_path, "pkg.other") and not has_target(tmp_path, "missing.py")
    assert not has_target(tmp_path, "benchmarks/bench_lib.py")


def test_base_dir_and_output_files(trees, tmp_path, monkeypatch):
    base, head, _ = trees
    monkeypatch.chdir(head)
    code = main(["ab", "benchmarks/bench_lib.py", "--base-dir", str(base), "-o",
                 str(tmp_path / "h.json"), "--base-output", str(tmp_path / "b.json"),
                 "--processes", "3", *FAST])
    assert code in (0, 1)     # same code both sides: no failure either way
    assert json.loads((tmp_path / "b.json").read_text())["settings"]["mode"] == "same-runner"
    assert files.load_suite(tmp_path / "h.json").names() == ("lib_work",)


def test_base_ref_outside_git_and_unknown_refs_are_clear_errors(tmp_path, repo):
    with pytest.raises(PerfActionError, match="not a git repository"):
        with base_worktree(tmp_path, "main"):
            pass
    root, _ = repo
    with pytest.raises(PerfActionError, match="unknown git ref 'no-such-branch'.*fetch"):
        with base_worktree(root, "no-such-branch"):
            pass


def test_ab_command_without_git_says_to_use_base_dir(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["ab", "bench.py", "--base-ref", "main", *FAST]) == 2
    assert "--base-dir" in capsys.readouterr().err


def test_worktree_is_removed_even_when_the_run_fails(repo):
    root, _ = repo
    with pytest.raises(RuntimeError):
        with base_worktree(root, "v1") as tree:
            assert (tree / "mylib" / "__init__.py").read_text().find("'base'") > 0
            raise RuntimeError("stop")
    assert not tree.exists()


def test_a_bad_threshold_spec_fails_before_anything_is_measured(trees, tmp_path, monkeypatch,
                                                                 capsys):
    base, head, record = trees
    monkeypatch.chdir(head)
    code = main(["ab", "benchmarks/bench_lib.py", "--base-dir", str(base), "-o",
                 str(tmp_path / "h.json"), "--base-output", str(tmp_path / "b.json"),
                 "--thresholds", "time:five%", *FAST])
    assert code == 2
    assert "five" in capsys.readouterr().err
    # Nothing ran: no set-up recorded a call, no results file was started.
    assert not record.exists()
    assert not (tmp_path / "h.json").exists() and not (tmp_path / "b.json").exists()


def test_ab_refuses_outputs_that_name_one_file_before_measuring(trees, tmp_path, monkeypatch,
                                                               capsys):
    base, head, _ = trees
    monkeypatch.chdir(head)
    same = str(tmp_path / "results.json")
    code = main(["ab", "benchmarks/bench_lib.py", "--base-dir", str(base), "-o", same,
                 "--base-output", same, *FAST])
    assert code == 2
    err = capsys.readouterr().err
    assert "-o/--output and --base-output name the same file" in err
    assert "discovering" not in err and not (tmp_path / "results.json").exists()


def test_a_base_whose_every_benchmark_failed_is_an_error_not_a_pass(trees):
    # The base tree disappears after calibration (a worktree removed mid-run): every base
    # worker then fails to start. Before, the head's benchmarks all passed as "new", exit 0.
    from perfaction.harness.progress import Progress
    from perfaction.pipeline import measure_ab
    base, head, _ = trees
    bench = base / "benchmarks" / "bench_lib.py"
    bench.write_text(bench.read_text() + '''

@benchmark
def removes_its_tree():
    import shutil
    from pathlib import Path
    tree = Path(__file__).resolve().parents[1]
    shutil.rmtree(tree)
    return lambda: None
''')
    options = RunOptions(time_budget=5.0, min_value_time=0.005, processes=2, min_processes=2)
    with pytest.raises(PerfActionError) as caught:
        measure_ab(base, head, "benchmarks/bench_lib.py", options, progress=Progress())
    message = str(caught.value)
    assert "every benchmark failed on the base side" in message
    assert "is gone (removed while measuring?)" in message
