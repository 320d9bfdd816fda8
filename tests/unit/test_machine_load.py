"""The machine watched while measuring (harness/machine.py) and said when busy (analysis/contention.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from perfaction.analysis.compare import compare_suites
from perfaction.analysis.contention import busy_figures, busy_notes
from perfaction.analysis.policy import Policy
from perfaction.harness.machine import CpuTimes, MachineWatch, read_cpu_times, read_load_average
from perfaction.harness.runner import execute
from perfaction.results.model import Benchmark, Environment, Metric, Suite
from tests.unit.harness_fakes import FakeClock, FakeLauncher, options


def scripted_watch(loads, cpu):
    loads, cpu = iter(loads), iter(cpu)
    return MachineWatch(load=lambda: next(loads), cpu=lambda: next(cpu), cores=2)


def test_the_watch_keeps_the_first_and_highest_load_and_the_largest_steal_between_samples():
    watch = scripted_watch([0.4, 2.9, 1.2],
                           [CpuTimes(100.0, 1.0), CpuTimes(200.0, 11.0), CpuTimes(400.0, 15.0)])
    for _ in range(3):
        watch.sample()
    summary = watch.summary()
    assert summary["load_average_before"] == 0.4 and summary["load_average_max"] == 2.9
    assert summary["cpu_steal_max"] == pytest.approx(0.10)    # 10 s of 100 between the first two


def test_a_platform_without_steal_or_load_records_nothing_rather_than_zero():
    watch = scripted_watch([None, None], [CpuTimes(1.0, None), CpuTimes(2.0, None)])
    watch.sample()
    watch.sample()
    assert watch.summary() == {"load_average_before": None, "load_average_max": None,
                               "cpu_steal_max": None}


def test_the_real_readers_work_here():
    times = read_cpu_times()
    assert times.total > 0 and (times.steal is None or times.steal >= 0)
    load = read_load_average()
    assert load is None or load >= 0


def test_the_runner_records_what_its_watch_saw():
    clock = FakeClock()
    launcher = FakeLauncher(clock, ["a", "b"], cost=1.0)
    watch = scripted_watch([0.5] + [3.5] * 20, [CpuTimes(float(i), 0.0) for i in range(1, 22)])
    result = execute("bench.py", options(processes=3), launcher=launcher, clock=clock, watch=watch)
    env = result.suites[0].environment
    assert env.load_average_before == 0.5 and env.load_average_max == 3.5
    assert env.cpu_steal_max == 0.0


QUIET = Environment(cpu_model="x", logical_cores=2, load_average_max=1.1, cpu_steal_max=0.0)


def test_busy_means_more_load_than_cores_or_stolen_cpu():
    assert busy_figures(QUIET) is None
    assert busy_figures(replace(QUIET, load_average_max=3.14)) == \
        "load average up to 3.1 on 2 logical cores"
    assert busy_figures(replace(QUIET, cpu_steal_max=0.12)) == "CPU steal up to 12%"
    assert busy_figures(Environment()) is None         # nothing recorded: nothing claimed


def _suite(env: Environment) -> Suite:
    samples = tuple((1e-3 * (1 + 0.01 * (i % 3)),) for i in range(8))
    return Suite((Benchmark("a", {"time": Metric(unit="s", samples=samples)}),), environment=env)


def test_the_comparison_says_which_side_was_measured_on_a_busy_machine():
    busy = replace(QUIET, load_average_max=3.4)
    notes = compare_suites(_suite(QUIET), _suite(busy), Policy()).notes
    assert any(n.startswith("the machine was busy while this run measured (load average up to 3.4")
               for n in notes)
    assert not any("while the baseline measured" in n for n in notes)
    # same-runner: both sides were measured together, one note
    assert len(busy_notes(busy, busy, "same-runner")) == 1
    assert len(busy_notes(busy, busy, "baseline")) == 2
