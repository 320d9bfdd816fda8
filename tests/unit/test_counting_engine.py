"""The runner's instruction mode with a fake counting worker: order, failures, environment.

The fake writes callgrind-shaped dump files where the Valgrind prefix tells it
to, as a counting worker under Valgrind would; the real one runs in
tests/integration/test_counting_valgrind.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from perfaction.errors import ConfigError
from perfaction.harness import counting, valgrind
from perfaction.harness.launcher import WorkerOutcome
from perfaction.harness.runner import RunOptions, Side, execute
from tests.unit.harness_fakes import ENVIRONMENT, FakeClock

BASE, HEAD = Path("/trees/base"), Path("/trees/head")
FEATURES = "avx avx2 sse4_2"


class FakeCounter:
    """Discovery as a worker answers it; count batches write dumps of ``per_call`` each."""

    def __init__(self, trees: dict[Path, list[str]], *, per_call: dict[str, float],
                 failing: set[tuple[Path, str]] = frozenset(), protocol: int = 3):
        self.trees, self.per_call, self.failing, self.protocol = trees, per_call, failing, protocol
        self.batches: list[tuple[Path, list[str], float]] = []   # (tree, names in order, timeout)

    def run(self, job, *, cwd, python, timeout, stop_after=None, wrapper=None):
        if job["mode"] == "discover":
            return WorkerOutcome(True, {"specs": [{"name": n} for n in self.trees[cwd]],
                                        "environment": ENVIRONMENT, "protocol": self.protocol})
        assert wrapper is not None and job["task"] == "count"
        assert wrapper.environ({"PYTHONPATH": "x"})["PYTHONHASHSEED"] == "0"
        out = Path(next(a for a in wrapper.prefix if a.startswith("--callgrind-out-file="))
                   .split("=", 1)[1]).parent
        names = [e["spec"]["name"] for e in job["benchmarks"]]
        self.batches.append((cwd, names, job["benchmarks"][0]["timeout"]))
        events = []
        for entry in job["benchmarks"]:
            name, index = entry["spec"]["name"], entry["count_index"]
            events.append({"event": "begin", "name": name, "timeout": entry["timeout"]})
            if (cwd, name) in self.failing:
                result = {"ok": False, "phase": "call", "error": f"benchmark {name!r} raised"}
            else:
                for repeat in range(counting.REPEATS):
                    for calls in counting.CALLS:
                        label = counting.dump_label(index, repeat, calls)
                        (out / f"callgrind.1.{index}.{repeat}.{calls}").write_text(
                            f"desc: Trigger: Client Request: {label}\n"
                            f"summary: {int(500 + calls * self.per_call[name])}\n")
                result = {"ok": True, "metrics": {}, "counted": True, "cpu_features": FEATURES}
            events.append({"event": "done", "name": name, "result": result})
        return WorkerOutcome(True, {"ok": True, "protocol": self.protocol}, events=tuple(events))


@pytest.fixture(autouse=True)
def a_valgrind(monkeypatch):
    monkeypatch.setattr(valgrind, "find", lambda: valgrind.Valgrind("/usr/bin/valgrind", "3.99.0"))
    monkeypatch.setattr(counting, "check_machine", lambda: None)


def ab(launcher, **options):
    sides = [Side("base", BASE, "python-base"), Side("head", HEAD, "python-head")]
    return execute("bench.py", RunOptions(measure="instructions", **options), sides=sides,
                   launcher=launcher, clock=FakeClock(), mode="same-runner")


def test_benchmarks_of_both_sides_come_first_in_every_worker_then_the_added_ones():
    launcher = FakeCounter({BASE: ["b_sum", "c_join"], HEAD: ["a_new", "b_sum", "c_join"]},
                           per_call=dict(a_new=100.0, b_sum=8_000.0, c_join=20_000.0))
    result = ab(launcher)
    orders = {(tree, tuple(names)) for tree, names, _ in launcher.batches}
    assert orders == {(BASE, ("b_sum", "c_join")), (HEAD, ("b_sum", "c_join", "a_new"))}
    assert len(launcher.batches) == 4        # two counting workers a side
    base, head = result.suites
    assert head.get("b_sum").metrics["instructions"].samples == ((8_000.0,), (8_000.0,))
    assert set(head.get("a_new").metrics) == {"instructions"}
    assert base.get("c_join").metrics["instructions"].center() == 20_000.0


def test_a_failed_benchmark_stays_in_later_workers_and_keeps_its_failure():
    launcher = FakeCounter({BASE: ["a", "b"], HEAD: ["a", "b"]},
                           per_call=dict(a=1_000.0, b=2_000.0), failing={(HEAD, "a")})
    head = ab(launcher).suites[1]
    head_batches = [names for tree, names, _ in launcher.batches if tree == HEAD]
    assert head_batches == [["a", "b"], ["a", "b"]]      # the same history in both workers
    assert "raised" in head.get("a").error
    assert head.get("b").metrics["instructions"].samples == ((2_000.0,), (2_000.0,))


def test_the_environment_records_the_counter_and_the_features_valgrind_offered():
    launcher = FakeCounter({BASE: ["a"], HEAD: ["a"]}, per_call={"a": 1_000.0})
    env = ab(launcher).suites[1].environment
    assert env.counter == "valgrind-3.99.0 callgrind" and env.hash_seed == "0"
    assert env.cpu_features == FEATURES


def test_the_default_timeout_is_ten_times_the_timed_one_and_an_explicit_one_is_kept():
    launcher = FakeCounter({BASE: ["a"], HEAD: ["a"]}, per_call={"a": 1_000.0})
    result = ab(launcher, time_budget=60.0)
    timeouts = {timeout for _, _, timeout in launcher.batches}
    assert timeouts == {result.suites[1].settings.timeout} and timeouts.pop() >= 100.0
    launcher = FakeCounter({BASE: ["a"], HEAD: ["a"]}, per_call={"a": 1_000.0})
    ab(launcher, timeout=30.0)
    assert {timeout for _, _, timeout in launcher.batches} == {30.0}


def test_an_older_perfaction_in_an_interpreter_is_refused_before_counting():
    launcher = FakeCounter({BASE: ["a"], HEAD: ["a"]}, per_call={"a": 1.0}, protocol=2)
    with pytest.raises(ConfigError, match=re.escape("python-base (base) has an older one")):
        ab(launcher)
    assert launcher.batches == []
