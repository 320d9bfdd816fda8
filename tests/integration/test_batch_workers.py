"""Batch workers with real processes: imports paid once per process, failures kept apart."""

import sys
from pathlib import Path

import pytest

from perfaction.harness import native_memory
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


KILLED_ONCE = '''
import os
import signal
from pathlib import Path

from perfaction import benchmark

MARK = Path(__file__).with_name("killed.mark")


@benchmark
def victim():
    data = list(range(100))

    def call():
        # the first measuring process is killed as another job or an operator would
        if os.environ.get("PERFACTION_TEST_KILL") and not MARK.exists() and len(data) == 100:
            MARK.write_text("killed")
            os.kill(os.getpid(), signal.SIGKILL)
        return sum(data)
    return call


@benchmark
def bystander():
    return lambda: sum(range(100))
'''


def test_a_worker_killed_from_outside_is_measured_again_and_keeps_its_values(tmp_path,
                                                                            monkeypatch):
    (tmp_path / "killed_once.py").write_text(KILLED_ONCE)
    # calibration runs first and must not be the one killed: arm the kill after it
    monkeypatch.setenv("PERFACTION_TEST_KILL", "1")
    (tmp_path / "killed.mark").write_text("calibration spared")
    options = RunOptions(time_budget=10.0, cwd=tmp_path, processes=4, min_value_time=0.002,
                         seed=2)

    class ArmAfterCalibration:
        """A launcher that removes the mark once calibration is done (the first measure)."""

        def __init__(self):
            from perfaction.harness.launcher import SubprocessLauncher
            self.inner, self.armed = SubprocessLauncher(), False

        def run(self, job, **kwargs):
            if job.get("task") == "measure" and not self.armed:
                self.armed = True
                (tmp_path / "killed.mark").unlink()
            return self.inner.run(job, **kwargs)

    result = execute("killed_once.py", options, launcher=ArmAfterCalibration())
    suite = result.suites[0]
    assert not suite.failures
    assert len(suite.get("victim").metrics["time"].samples) == 3     # one round lost
    assert len(suite.get("bystander").metrics["time"].samples) == 4
    assert len(result.retries) == 1 and "'victim'" in result.retries[0]


HELPER = '''
import subprocess
import sys
from pathlib import Path

from perfaction import benchmark

PIDS = Path(__file__).with_name("helpers.pids")


@benchmark
def client_of_a_local_server():
    # a helper in a session of its own, as a local server for a client benchmark would be
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                              start_new_session=True)
    with PIDS.open("a") as pids:
        pids.write(f"{helper.pid}\\n")
    return lambda: sum(range(100))
'''


def test_helpers_a_benchmark_leaves_in_their_own_session_are_stopped_and_named(tmp_path):
    (tmp_path / "helper_bench.py").write_text(HELPER)
    options = RunOptions(time_budget=10.0, cwd=tmp_path, processes=3, timeout=5.0,
                         min_value_time=0.002)
    result = execute("helper_bench.py", options)
    assert not result.suites[0].failures
    pids = [int(line) for line in (tmp_path / "helpers.pids").read_text().split()]
    assert len(pids) >= 4          # calibration and three rounds each started one
    assert [p for p in pids if _running(p)] == []
    [note] = result.cleanups
    assert f"benchmark 'client_of_a_local_server' left {len(pids)} processes running" in note
    assert "time.sleep(120)" in note and "perfaction stopped them" in note


def _running(pid):
    import psutil
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


FORKED_HELPER = '''
import multiprocessing
import time

from perfaction import benchmark


def _serve():
    time.sleep(120)


@benchmark
def client_of_a_forked_server():
    # a forked child inherits every file descriptor, the worker's result pipe included
    multiprocessing.get_context("fork").Process(target=_serve, daemon=False).start()
    return lambda: sum(range(100))
'''


def test_a_forked_helper_holding_the_result_pipe_neither_hangs_nor_times_out_the_benchmark(
        tmp_path):
    (tmp_path / "forked_bench.py").write_text(FORKED_HELPER)
    options = RunOptions(time_budget=10.0, cwd=tmp_path, processes=2, min_processes=2,
                         timeout=8.0, min_value_time=0.002)
    result = execute("forked_bench.py", options)
    suite = result.suites[0]
    assert not suite.failures, [b.error for b in suite.failures]
    assert len(suite.get("client_of_a_forked_server").metrics["time"].samples) == 2
    assert result.cleanups and "left" in result.cleanups[0]


NATIVE = '''
import ctypes
import ctypes.util

from perfaction import benchmark

LIBC = ctypes.CDLL(ctypes.util.find_library("c"))
LIBC.malloc.restype = ctypes.c_void_p
LIBC.free.argtypes = [ctypes.c_void_p]
SIZE = 32 * 1024 * 1024


@benchmark
def native_buffer():
    def call():
        # malloc'd outside Python's allocator, as an extension's buffers are:
        # tracemalloc never sees it, the resident set does once it is touched
        buffer = LIBC.malloc(SIZE)
        ctypes.memset(buffer, 1, SIZE)
        LIBC.free(buffer)
    return call
'''


def test_native_allocations_show_in_native_peak_not_in_tracemalloc_peak(tmp_path):
    if not native_memory.CLEAR_REFS.exists():
        pytest.fail("this test needs Linux's /proc/self/clear_refs")
    (tmp_path / "native_bench.py").write_text(NATIVE)
    options = RunOptions(time_budget=10.0, cwd=tmp_path, processes=3, min_value_time=0.002)
    bench = execute("native_bench.py", options).suites[0].get("native_buffer")
    assert bench.error is None
    assert bench.metrics["native_peak"].center() >= 30 * 1024 * 1024
    assert bench.metrics["peak_memory"].center() < 1024 * 1024
