"""pytest_suite.run_job with a stand-in for the worker's measuring, in a fresh interpreter.

A fresh one as a worker is: pytest run inside this test process would import the
suite's modules next to this project's own `tests` package.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from perfaction.harness import protocol, pytest_suite

SUITE = Path(__file__).resolve().parents[1] / "data" / "pytest_suite"
SORTS = ["tests/test_perf.py::test_sort[100]", "tests/test_perf.py::test_sort[1000]"]

DRIVER = """
import json, sys
from perfaction.harness import pytest_suite

def measured(job, name, func):
    func()                               # the test's own callable, called once
    return {"metrics": {"time": [1e-6]}, "name": name}

events = []
result = pytest_suite.run_job(json.loads(sys.argv[1]), events.append, measured)
print(json.dumps({"result": result, "events": events}))
"""


def run_job(tmp_path: Path, job: dict) -> dict:
    shutil.copytree(SUITE, tmp_path / "tests")
    done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps({"root": str(tmp_path),
                                                                      "target": "tests", **job})],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_discovery_lists_the_benchmark_tests_by_node_id(tmp_path):
    result = run_job(tmp_path, {"mode": "discover"})["result"]
    names = [spec["name"] for spec in result["specs"]]
    assert SORTS[0] in names and "tests/test_perf.py::test_not_a_benchmark" not in names
    assert {spec["kind"] for spec in result["specs"]} == {pytest_suite.PYTEST}


def test_a_batch_reports_each_test_with_its_own_timeout(tmp_path):
    # the parent restarts a test's clock on each BEGIN that carries a timeout; without
    # one, a whole batch had to finish within a single test's time
    out = run_job(tmp_path, {"mode": "batch", "task": "measure", "benchmarks": [
        {"spec": {"name": n, "kind": pytest_suite.PYTEST}, "timeout": 7.0 + i}
        for i, n in enumerate(SORTS)]})
    assert out["result"]["ok"]
    events = out["events"]
    begun = [(e["name"], e["timeout"]) for e in events if e["event"] == protocol.BEGIN]
    assert begun == [(SORTS[0], 7.0), (SORTS[1], 8.0)]
    done = {e["name"]: e["result"] for e in events if e["event"] == protocol.DONE}
    assert all(r["ok"] and r["name"] == n for n, r in done.items()) and len(done) == 2
