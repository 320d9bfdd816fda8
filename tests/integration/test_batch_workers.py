"""Batch workers with real processes: imports paid once per process, failures kept apart."""

import sys
from pathlib import Path

import pytest

from perfaction.harness.runner import RunOptions, execute, run_suite

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MODULES = "tests/data/bench_modules"


def test_a_module_with_a_one_second_import_gets_five_processes_per_benchmark_in_20_s():
    # Before batches every benchmark paid the 1 s import in each of its
    # processes: 20 benchmarks x 1 s per round. Now one worker measures all 20,
    # and the budget sizes values and memory rounds so that it buys processes:
    # at 50 ms values and 20 ms memory rounds the passes alone took ~7 s per
    # process for 20 benchmarks (docs/scaling.md).
    options = RunOptions(time_budget=20.0, cwd=ROOT, seed=1)
    result = execute(f"{MODULES}/slow_import.py", options)
    suite, stats = result.suites[0], result.stats
    assert len(suite.benchmarks) == 20 and not suite.failures
    counts = [len(b.metrics["time"].samples) for b in suite.benchmarks]
    assert min(counts) >= 5, counts
    assert suite.settings.min_value_time < 0.05     # sized down from the default
    # one import per process: discovery, one calibration worker, one worker per round
    assert stats.batch_size == 20
    assert stats.worker_processes == stats.rounds + 2
    assert stats.worker_processes <= stats.user_imports < stats.worker_processes * 1.5
    print(f"\nwall {stats.wall:.1f} s for a 20 s budget, {min(counts)} processes per "
          f"benchmark, {stats.worker_processes} workers, imports {stats.user_imports:.1f} s, "
          f"values of {suite.settings.min_value_time * 1000:g} ms", file=sys.stderr)


def test_benchmarks_that_raise_hang_or_kill_their_worker_fail_alone():
    options = RunOptions(time_budget=5.0, cwd=ROOT, min_value_time=0.005, processes=2,
                         min_processes=2, timeout=2.0)
    suite = run_suite(f"{MODULES}/mixed_failures.py", options)
    failed = {b.name: b.error for b in suite.benchmarks if b.failed}
    assert set(failed) == {"setup_raises", "call_raises", "returns_number", "hangs",
                           "exits_process"}
    assert "timed out after 2 s" in failed["hangs"]
    assert "exited with code 3" in failed["exits_process"]
    assert "ValueError" in failed["setup_raises"]
    for name in ("healthy", "also_healthy[n=5]", "also_healthy[n=50]"):
        assert len(suite.get(name).metrics["time"].samples) == 2, name
