"""`perfaction run` end to end, with real worker processes and tiny budgets."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from perfaction.cli.main import main
from perfaction.results import files

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MODULES = "tests/data/bench_modules"
FAST = ["--time-budget", "1", "--min-value-time", "0.005", "--processes", "2", "-q"]


@pytest.fixture(autouse=True)
def in_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def test_failing_benchmarks_are_named_recorded_and_do_not_stop_the_others(tmp_path, capsys):
    out = tmp_path / "results.json"
    code = main(["run", f"{MODULES}/mixed_failures.py", "-o", str(out), "--timeout", "2", *FAST])
    assert code == 2
    suite = files.load_suite(out)
    errors = {b.name: b.error for b in suite.benchmarks}
    expected_causes = {
        "setup_raises": "ValueError: no market data",
        "call_raises": "KeyError",
        "returns_number": "not a callable",
        "hangs": "timed out after 2 s",
        "exits_process": "exited with code 3",
    }
    for name, cause in expected_causes.items():
        assert cause in errors[name] and repr(name) in errors[name]
    for name in ("healthy", "also_healthy[n=5]", "also_healthy[n=50]"):
        assert errors[name] is None
        assert len(suite.get(name).metrics["time"].samples) == 2
    stderr = capsys.readouterr().err
    for name in expected_causes:
        assert f"error: benchmark {name!r}" in stderr


def test_import_error_writes_the_failure_and_exits_2(tmp_path, capsys):
    out = tmp_path / "results.json"
    code = main(["run", f"{MODULES}/import_error.py", "-o", str(out), *FAST])
    assert code == 2
    suite = files.load_suite(out)
    assert len(suite.benchmarks) == 1 and suite.benchmarks[0].failed
    assert "perfaction_missing_dependency_xyz" in suite.benchmarks[0].error
    assert "perfaction_missing_dependency_xyz" in capsys.readouterr().err


def test_missing_module_is_named(tmp_path, capsys):
    out = tmp_path / "results.json"
    assert main(["run", "no_such_bench_module", "-o", str(out), *FAST]) == 2
    assert "'no_such_bench_module' not found" in capsys.readouterr().err
    assert files.load_suite(out).benchmarks[0].failed


def test_a_module_without_benchmarks_is_an_error(tmp_path, capsys):
    assert main(["run", f"{MODULES}/no_benchmarks.py", "-o", str(tmp_path / "r.json"),
                 *FAST]) == 2
    assert "no benchmarks found" in capsys.readouterr().err


def test_success_writes_samples_environment_and_a_summary(tmp_path, capsys):
    out = tmp_path / "results.json"
    code = main(["run", f"{MODULES}/mixed_failures.py", "-o", str(out), "--filter", "healthy",
                 "--commit-sha", "abc123", "--ref", "feature", *FAST])
    assert code == 0
    suite = files.load_suite(out)
    assert suite.names() == ("healthy", "also_healthy[n=5]", "also_healthy[n=50]")
    bench = suite.get("also_healthy[n=50]")
    assert bench.params == {"n": 50} and bench.loops >= 1
    for metric in ("time", "cpu_time", "cpu_utilisation", "peak_memory", "retained_memory"):
        assert len(bench.metrics[metric].samples) == 2
    assert all(len(p) == 3 for p in bench.metrics["time"].samples)     # 3 values per process
    assert (suite.environment.commit_sha, suite.environment.ref) == ("abc123", "feature")
    assert suite.environment.python_version and suite.settings.filter == "healthy"
    summary = capsys.readouterr().out
    assert "also_healthy[n=50]" in summary and "/op" in summary


def test_legacy_article_style_module_runs_unchanged(tmp_path):
    out = tmp_path / "results.json"
    assert main(["run", f"{MODULES}/legacy_style.py", "-o", str(out), *FAST]) == 0
    suite = files.load_suite(out)
    assert suite.names() == ("sum_small", "join_words")
    assert all(not b.failed for b in suite.benchmarks)


def test_dotted_module_name_and_real_exit_code(tmp_path):
    (tmp_path / "benchpkg").mkdir()
    (tmp_path / "benchpkg" / "__init__.py").write_text("")
    (tmp_path / "benchpkg" / "bench_small.py").write_text(
        "from perfaction import benchmark\n\n@benchmark\ndef tiny():\n    return lambda: None\n")
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "perfaction", "run", "benchpkg.bench_small",
                           "-o", str(out), *FAST], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["benchmarks"][0]["name"] == "tiny"


def test_sigterm_stops_the_worker_and_exits_2(tmp_path):
    """A cancelled job (SIGTERM) must not leave a benchmark process running."""
    import signal
    import time

    import psutil

    pids = tmp_path / "pids.txt"
    module = tmp_path / "bench_stuck.py"
    module.write_text(
        "import os, time\n"
        "from perfaction import benchmark\n\n"
        "@benchmark\n"
        "def stuck():\n"
        f"    with open({str(pids)!r}, 'a') as f:\n"
        "        f.write(f'{os.getpid()}\\n')\n"
        "    time.sleep(120)\n"
        "    return lambda: None\n")
    cli = subprocess.Popen([sys.executable, "-m", "perfaction", "run", str(module), "-o",
                            str(tmp_path / "out.json"), "--timeout", "300", "-q"],
                           cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (pids.exists() and pids.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.05)
        worker = int(pids.read_text().split()[0])
        assert psutil.pid_exists(worker)
        cli.send_signal(signal.SIGTERM)
        _, err = cli.communicate(timeout=60)
    finally:
        cli.kill()
    assert cli.returncode == 2
    assert "interrupted (received signal SIGTERM)" in err
    assert not psutil.pid_exists(worker) or psutil.Process(worker).status() == psutil.STATUS_ZOMBIE


def test_results_of_another_command_or_another_file_are_not_overwritten_without_force(
        tmp_path, capsys):
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": "not results"}', encoding="utf-8")
    code = main(["run", f"{MODULES}/growth.py", "-o", str(notes), *FAST])
    assert code == 2 and notes.read_text(encoding="utf-8") == '{"mine": "not results"}'
    assert "not a perfaction results file" in capsys.readouterr().err

    # `run` replaces its own results on a re-run; `ab` refuses to, before measuring
    out = tmp_path / "base.json"
    assert main(["run", f"{MODULES}/growth.py", "-o", str(out), *FAST]) == 0
    assert main(["run", f"{MODULES}/growth.py", "-o", str(out), *FAST]) == 0
    written = out.read_bytes()
    code = main(["ab", f"{MODULES}/growth.py", "--base-dir", str(ROOT), "--base-output", str(out),
                 "-o", str(tmp_path / "head.json"), *FAST])
    assert code == 2 and out.read_bytes() == written
    err = capsys.readouterr().err
    assert "holds results of `perfaction run`" in err and "--force" in err
    assert not (tmp_path / "head.json").exists()
    assert main(["run", f"{MODULES}/growth.py", "-o", str(notes), "--force", *FAST]) == 0
    assert files.load_suite(notes).benchmarks
