"""The worker's job handling, run in this process, and the launcher's parsing."""

import gc
import json
import sys
import types
from pathlib import Path

import pytest

from perfaction.harness import discovery, launcher, worker

ROOT = Path(__file__).resolve().parents[2]
TARGET = "tests/data/bench_modules/mixed_failures.py"


@pytest.fixture(autouse=True)
def keep_sys_path(monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))


def job(mode, **extra):
    return {"mode": mode, "root": str(ROOT), "target": TARGET, **extra}


def spec_named(name):
    found = worker.run_job(job("discover"))
    return next(s for s in found["specs"] if s["name"] == name)


def test_discover_lists_benchmarks_and_the_environment():
    result = worker.run_job(job("discover"))
    assert result["ok"]
    assert [s["name"] for s in result["specs"]][:2] == ["healthy", "setup_raises"]
    assert result["environment"]["python_version"]
    assert set(result["timings"]) == {"import", "total"}


def test_measure_returns_every_metric_per_value():
    result = worker.run_job(job("measure", spec=spec_named("healthy"), loops=100,
                                min_value_time=0.001, values=3, warmup_values=1,
                                latency=True, memory=True))
    metrics = result["metrics"]
    assert len(metrics["time"]) == len(metrics["cpu_time"]) == 3
    assert {"latency_p50", "latency_p95", "latency_p99", "peak_memory",
            "retained_memory"} <= set(metrics)
    json.dumps(result, allow_nan=False)   # what the parent will parse


def test_a_raising_callable_is_reported_with_its_phase():
    result = worker.run_job(job("calibrate", spec=spec_named("call_raises"),
                                min_value_time=0.001))
    assert result["ok"] is False and result["phase"] == "call"
    assert "'call_raises'" in result["error"] and "KeyError" in result["error"]


def test_import_failures_are_reported_not_raised():
    result = worker.run_job({**job("discover"), "target": "tests/data/bench_modules/nope.py"})
    assert not result["ok"] and result["phase"] == "import" and "not found" in result["error"]


def test_isolation_check_rejects_code_from_the_other_tree(tmp_path, monkeypatch):
    own, other = tmp_path / "base", tmp_path / "head"
    (own / "pkg").mkdir(parents=True)
    (other / "pkg").mkdir(parents=True)
    fake = types.ModuleType("pkg_from_other_tree")
    fake.__file__ = str(other / "pkg" / "__init__.py")
    monkeypatch.setitem(sys.modules, "pkg_from_other_tree", fake)
    with pytest.raises(discovery.BenchmarkFailure, match="other side's tree"):
        worker._check_isolation(own, [other])
    fake.__file__ = str(own / "pkg" / "__init__.py")
    worker._check_isolation(own, [other])     # its own code is fine


def test_isolation_check_handles_a_base_nested_in_the_head_tree(tmp_path, monkeypatch):
    head = tmp_path / "head"
    base = head / "base-checkout"
    (base / "pkg").mkdir(parents=True)
    fake = types.ModuleType("nested_base_pkg")
    fake.__file__ = str(base / "pkg" / "__init__.py")
    monkeypatch.setitem(sys.modules, "nested_base_pkg", fake)
    worker._check_isolation(base, [head])        # base code, inside head's directory: fine
    with pytest.raises(discovery.BenchmarkFailure):
        worker._check_isolation(head, [base])    # head importing the nested base: not fine


def test_launcher_explains_output_without_a_result():
    outcome = launcher._parse(b"", b"Traceback...\nSegmentation fault", -11, 0.5, "py")
    assert not outcome.ok and outcome.phase == "crash"
    assert "signal 11" in outcome.error and "Segmentation fault" in outcome.error
    missing = launcher._parse(b"", b"/x/python: No module named perfaction", 1, 0.1, "/x/python")
    assert "perfaction is not installed for /x/python" in missing.error
    ok = launcher._parse(b'{"ok": true, "loops": 3}', b"", 0, 0.1, "py")
    assert ok.ok and ok.data["loops"] == 3


def test_worker_environment_drops_variables_that_change_imports():
    env = launcher.worker_env({"PYTHONPATH": "/elsewhere", "PYTHONHOME": "/x", "HOME": "/home/u"})
    assert "PYTHONPATH" not in env and "PYTHONHOME" not in env
    assert env["HOME"] == "/home/u" and env["PYTHONNOUSERSITE"] == "1"


FREEZE_PROBE = """
import gc
from pathlib import Path

from perfaction import benchmark

IMPORTED = [[] for _ in range(1000)]   # stands for a heavy dependency's objects


@benchmark
def probe():
    Path(__file__).with_suffix(".count").write_text(str(gc.get_freeze_count()))
    return lambda: None
"""


def test_a_batch_measures_with_the_import_heap_frozen_and_unfreezes_after(tmp_path):
    # Full collections before each value must not walk the import's objects
    # (a scipy import: ~30 ms each); the caller's heap is left as it was.
    (tmp_path / "freeze_probe.py").write_text(FREEZE_PROBE)
    module_job = {"root": str(tmp_path), "target": "freeze_probe.py"}
    spec = worker.run_job({**module_job, "mode": "discover"})["specs"][0]
    events = []
    result = worker.run_job({**module_job, "mode": "batch", "task": "measure",
                             "min_value_time": 0.001, "values": 1, "warmup_values": 0,
                             "benchmarks": [{"spec": spec, "loops": 1, "latency": False,
                                             "memory": False}]}, events.append)
    assert result["ok"]
    assert int((tmp_path / "freeze_probe.count").read_text()) >= 1000
    assert gc.get_freeze_count() == 0
    # the runner's speed, read once per measuring worker before its first benchmark
    assert events[0]["event"] == "reference" and 0 < events[0]["seconds"] < 0.1
    assert [e["event"] for e in events[1:]] == ["begin", "done"]


def test_only_the_end_of_a_huge_stderr_is_read_into_memory(tmp_path):
    # a benchmark that printed 20 MB: the message needs its last lines, not all of it
    with open(tmp_path / "err", "w+b") as err:
        err.write(b"x" * 20_000_000 + "\nlast words: é\n".encode())
        tail = launcher._tail(err)
    assert len(tail) <= 4 * launcher.STDERR_TAIL
    assert tail.endswith("last words: é\n".encode())
