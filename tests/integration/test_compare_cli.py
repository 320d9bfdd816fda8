"""`perfaction compare` as a user runs it: real files in, report out, exit code."""

import json
import subprocess
import sys

import numpy as np
import pytest

from perfaction import metrics
from perfaction.results.files import dump_suite
from perfaction.results.model import Benchmark, Environment, Metric, Suite

ENV = Environment(cpu_model="Test CPU", logical_cores=2, machine="x86_64",
                  python_implementation="CPython", python_version="3.11.7",
                  commit_sha="abc1234")


def _suite(times_by_name: dict[str, np.ndarray], *, error: str | None = None) -> Suite:
    benchmarks = [Benchmark(name, metrics={metrics.TIME: Metric(unit="s", samples=tuple((float(v),) for v in values))})
                  for name, values in times_by_name.items()]
    if error:
        benchmarks.append(Benchmark("crashing", error=error))
    return Suite(tuple(benchmarks), ENV)


def _samples(seed: int, center: float, n: int = 20, cv: float = 0.02) -> np.ndarray:
    return center * np.exp(np.random.default_rng(seed).normal(0.0, cv, n))


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "perfaction", "compare", *args],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def files(tmp_path):
    def write(name: str, suite: Suite) -> str:
        path = tmp_path / name
        dump_suite(suite, path)
        return str(path)
    return write


def test_identical_distributions_pass_with_exit_0(files):
    base = files("base.json", _suite({"parse": _samples(1, 1e-5), "book": _samples(2, 3e-3)}))
    head = files("head.json", _suite({"parse": _samples(3, 1e-5), "book": _samples(4, 3e-3)}))
    result = _run(base, head)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "parse" in result.stdout and "book" in result.stdout


def test_twenty_percent_slowdown_is_a_regression_with_exit_1(files, tmp_path):
    base = files("base.json", _suite({"parse": _samples(1, 1e-5), "book": _samples(2, 3e-3)}))
    head = files("head.json", _suite({"parse": _samples(3, 1.2e-5), "book": _samples(4, 3e-3)}))
    comparison_json = tmp_path / "comparison.json"
    result = _run(base, head, "--json", str(comparison_json))
    assert result.returncode == 1, result.stdout + result.stderr
    data = json.loads(comparison_json.read_text())
    verdicts = {(d["benchmark"], d["metric"]): d["verdict"] for d in data["deltas"]}
    assert verdicts[("parse", "time")] == "regressed"
    assert verdicts[("book", "time")] != "regressed"


def test_no_fail_reports_but_exits_0(files):
    base = files("base.json", _suite({"parse": _samples(1, 1e-5)}))
    head = files("head.json", _suite({"parse": _samples(3, 1.2e-5)}))
    assert _run(base, head, "--no-fail").returncode == 0


def test_a_looser_threshold_for_that_benchmark_clears_it(files):
    base = files("base.json", _suite({"parse": _samples(1, 1e-5)}))
    head = files("head.json", _suite({"parse": _samples(3, 1.2e-5)}))
    assert _run(base, head, "--thresholds", "parse:time:30%").returncode == 0


def test_failed_benchmark_in_head_is_exit_2(files):
    base = files("base.json", _suite({"parse": _samples(1, 1e-5)}))
    head = files("head.json", _suite({"parse": _samples(3, 1e-5)}, error="ValueError: boom"))
    result = _run(base, head)
    assert result.returncode == 2
    assert "crashing" in result.stderr


def test_unreadable_baseline_is_exit_2_naming_the_file(files, tmp_path):
    head = files("head.json", _suite({"parse": _samples(3, 1e-5)}))
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    result = _run(str(broken), head)
    assert result.returncode == 2
    assert "broken.json" in result.stderr and "not valid JSON" in result.stderr


def test_bad_threshold_spec_is_exit_2_naming_the_rule(files):
    base = files("base.json", _suite({"parse": _samples(1, 1e-5)}))
    head = files("head.json", _suite({"parse": _samples(3, 1e-5)}))
    result = _run(base, head, "--thresholds", "time:fast")
    assert result.returncode == 2
    assert "time:fast" in result.stderr
