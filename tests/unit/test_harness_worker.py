"""The worker's job handling, run in this process, and the launcher's parsing."""

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
