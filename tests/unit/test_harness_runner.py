"""The runner's scheduling logic, with a fake launcher that answers instantly."""

import re
from pathlib import Path

import pytest

from perfaction.analysis import stats
from perfaction.errors import BenchmarkDiscoveryError, ConfigError
from perfaction.harness.launcher import WorkerOutcome
from perfaction.harness.measure import MEMORY_ROUND_TIME
from perfaction.harness.runner import RunOptions, Side, execute, run_suite
from tests.unit.harness_fakes import FakeClock, FakeLauncher, options


def varying_peak(name, cwd, count):
    """Peaks that differ between processes: memory the comparison must test, so its
    pass runs in as many processes as the gate needs (constant memory stops at 3)."""
    return 100.0 + count


def test_a_failing_benchmark_is_recorded_and_the_others_still_run():
    clock = FakeClock()
    crash = WorkerOutcome(False, error="the timed callable raised KeyError: 'x'", phase="call")
    launcher = FakeLauncher(clock, ["a", "bad", "c"], failures={("bad", "measure"): crash})
    suite = run_suite("bench.py", options(processes=4), launcher=launcher, clock=clock)
    bad = suite.get("bad")
    assert bad.failed and "'bad'" in bad.error and "KeyError" in bad.error
    for name in ("a", "c"):
        assert not suite.get(name).failed
        assert len(suite.get(name).metrics["time"].samples) == 4
    # the failing benchmark was not retried after it failed
    assert sum(1 for j in launcher.measure_jobs() if j["spec"]["name"] == "bad") == 1


def test_a_failure_in_calibration_skips_the_benchmark_without_stopping_the_run():
    clock = FakeClock()
    timeout = WorkerOutcome(False, error="timed out after 10 s", phase="timeout")
    launcher = FakeLauncher(clock, ["slow", "ok"], failures={("slow", "calibrate"): timeout})
    suite = run_suite("bench.py", options(processes=2), launcher=launcher, clock=clock)
    assert "timed out" in suite.get("slow").error and "--timeout" in suite.get("slow").error
    assert suite.get("slow").metrics == {}
    assert len(suite.get("ok").metrics["time"].samples) == 2


def test_rounds_interleave_benchmarks_one_fresh_process_each():
    clock = FakeClock()
    names = ["a", "b", "c", "d"]
    launcher = FakeLauncher(clock, names)
    run_suite("bench.py", options(processes=5), launcher=launcher, clock=clock)
    order = [j["spec"]["name"] for j in launcher.measure_jobs()]
    rounds = [order[i:i + 4] for i in range(0, len(order), 4)]
    assert len(rounds) == 5
    assert all(sorted(r) == names for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1       # order varies between rounds


def test_the_number_of_processes_follows_the_time_budget():
    clock = FakeClock()
    # one worker measures both benchmarks: a round costs 0.5 s + 2 x 0.25 s
    launcher = FakeLauncher(clock, ["a", "b"], cost=0.5, benchmark_cost=0.25)
    start = clock.now
    suite = run_suite("bench.py", options(time_budget=20.0), launcher=launcher, clock=clock)
    elapsed = clock.now - start
    processes = len(suite.get("a").metrics["time"].samples)
    assert 15 <= processes <= 19      # discovery and calibration take their share
    assert elapsed <= 20.0 * 1.05     # the budget holds
    assert suite.settings.processes == processes


def test_a_tiny_budget_measures_one_round_and_says_which_budget_would_decide():
    # Before batches, the runner overran any budget to reach min_processes (3);
    # now the budget is a limit: the first round completes (every benchmark gets
    # a value), no later one starts once the budget is spent, and the note
    # names a budget that buys enough processes for the gate.
    clock = FakeClock()
    launcher = FakeLauncher(clock, ["a"], cost=5.0)
    result = execute("bench.py", options(time_budget=1.0, min_processes=3), launcher=launcher,
                     clock=clock)
    assert len(result.suites[0].get("a").metrics["time"].samples) == 1
    note = result.budget_note
    assert "buys about 0 process(es)" in note and "--time-budget" in note
    assert result.stats.estimated_processes == 0


def test_loops_from_calibration_are_reused_and_latency_only_for_slow_calls():
    clock = FakeClock()
    launcher = FakeLauncher(clock, ["fast", "slow", "forced_off"],
                            per_call={"fast": 1e-7, "slow": 1e-4, "forced_off": 1e-3})
    suite = run_suite("bench.py", options(processes=2), launcher=launcher, clock=clock)
    jobs = {j["spec"]["name"]: j for j in launcher.measure_jobs()}
    assert jobs["fast"]["loops"] == 500_000 and jobs["fast"]["latency"] is False
    assert jobs["slow"]["loops"] == 500 and jobs["slow"]["latency"] is True
    assert suite.get("fast").loops == 500_000
    assert "latency_p99" in suite.get("slow").metrics


def test_latency_and_memory_passes_run_in_the_first_processes_only():
    clock = FakeClock()
    launcher = FakeLauncher(clock, ["slow"], per_call={"slow": 1e-3}, peak=varying_peak)
    suite = run_suite("bench.py", options(processes=6, detail_processes=2, memory_processes=4),
                      launcher=launcher, clock=clock)
    flags = [(j["latency"], j["memory"]) for j in launcher.measure_jobs()]
    assert flags == [(True, True)] * 2 + [(False, True)] * 2 + [(False, False)] * 2
    assert len(suite.get("slow").metrics["time"].samples) == 6
    assert len(suite.get("slow").metrics["latency_p99"].samples) == 2
    assert len(suite.get("slow").metrics["peak_memory"].samples) == 4


@pytest.mark.parametrize("count", [1, 7, 40])
def test_memory_is_measured_in_enough_processes_for_the_gate_by_default(count):
    # With 5 processes a side no rank test can pass Holm at 0.01 over 3 tests;
    # by default the memory pass runs in as many processes as the gate needs
    # for every default-gating test of the run, plus two.
    clock = FakeClock()
    names = [f"b{i}" for i in range(count)]
    launcher = FakeLauncher(clock, names, peak=varying_peak)
    suite = run_suite("bench.py", options(processes=20, time_budget=6e5), launcher=launcher,
                      clock=clock)
    memory = len(suite.get("b0").metrics["peak_memory"].samples)
    needed = stats.min_processes_per_side(0.01 / (3 * count))
    assert memory == needed + 2
    assert stats.min_attainable_p(memory, memory) < 0.01 / (3 * count) / 10
    assert len(suite.get("b0").metrics["time"].samples) == 20
    assert {j["memory_round_time"] for j in launcher.measure_jobs()} == {MEMORY_ROUND_TIME}


def test_a_short_run_measures_memory_in_every_process():
    clock = FakeClock()
    launcher = FakeLauncher(clock, ["a", "b"], peak=varying_peak)
    suite = run_suite("bench.py", options(processes=4), launcher=launcher, clock=clock)
    assert all(j["memory"] for j in launcher.measure_jobs())
    assert len(suite.get("a").metrics["peak_memory"].samples) == 4


def test_two_sides_size_the_memory_pass_by_benchmarks_not_by_sides():
    clock = FakeClock()
    base, head = Path("/base"), Path("/head")
    launcher = FakeLauncher(clock, [], trees={base: ["a", "b"], head: ["a", "b"]},
                            peak=varying_peak)
    sides = [Side("base", base, "python", forbid=(head,)),
             Side("head", head, "python", forbid=(base,))]
    result = execute("bench.py", options(processes=12), sides=sides, launcher=launcher,
                     clock=clock, mode="same-runner")
    expected = stats.min_processes_per_side(0.01 / 6) + 2          # 2 benchmarks x 3 tests
    for suite in result.suites:
        assert len(suite.get("a").metrics["peak_memory"].samples) == expected


def test_latency_can_be_switched_off_for_the_whole_run():
    clock = FakeClock()
    launcher = FakeLauncher(clock, ["slow"], per_call={"slow": 1e-3})
    run_suite("bench.py", options(processes=1, min_processes=1, latency=False),
              launcher=launcher, clock=clock)
    assert launcher.measure_jobs()[0]["latency"] is False


def test_timeout_defaults_to_the_budget_share_and_can_be_set():
    clock = FakeClock()
    launcher = FakeLauncher(clock, ["a", "b"])
    suite = run_suite("bench.py", options(time_budget=100.0, processes=1, min_processes=1),
                      launcher=launcher, clock=clock)
    assert {j["timeout"] for j in launcher.measure_jobs()} == {50.0}
    assert suite.settings.timeout == 50.0
    launcher = FakeLauncher(clock, ["a"])
    run_suite("bench.py", options(timeout=3.0, processes=1, min_processes=1),
              launcher=launcher, clock=clock)
    assert {j["timeout"] for j in launcher.jobs} == {3.0}


def test_discovery_failure_raises_with_the_cause():
    clock = FakeClock()
    launcher = FakeLauncher(clock, [], discovery_error="importing 'x.py' failed: ImportError: y")
    with pytest.raises(BenchmarkDiscoveryError, match="ImportError: y"):
        run_suite("x.py", options(), launcher=launcher, clock=clock)


def test_a_filter_that_matches_nothing_is_an_error_naming_the_filter():
    clock = FakeClock()
    launcher = FakeLauncher(clock, ["a", "b"])
    with pytest.raises(BenchmarkDiscoveryError, match="'zzz'"):
        run_suite("bench.py", options(filter="zzz"), launcher=launcher, clock=clock)


def test_filter_selects_benchmarks():
    clock = FakeClock()
    launcher = FakeLauncher(clock, ["book[size=1]", "book[size=2]", "var"])
    suite = run_suite("bench.py", options(filter="book*", processes=1, min_processes=1),
                      launcher=launcher, clock=clock)
    assert suite.names() == ("book[size=1]", "book[size=2]")
    assert suite.settings.filter == "book*"


def test_environment_and_settings_are_filled_in():
    clock = FakeClock()
    launcher = FakeLauncher(clock, ["a"])
    suite = run_suite("bench.py", options(processes=2, commit_sha="abc123", ref="main"),
                      launcher=launcher, clock=clock)
    env = suite.environment
    assert env.cpu_model == "Test CPU" and env.logical_cores == 2
    assert (env.commit_sha, env.ref) == ("abc123", "main")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", env.timestamp)
    settings = suite.settings
    assert (settings.values_per_process, settings.warmup_values, settings.min_value_time,
            settings.mode) == (3, 1, 0.05, "baseline")


def test_two_sides_share_loops_and_rounds_and_keep_their_own_trees():
    clock = FakeClock()
    base, head = Path("/base"), Path("/head")
    launcher = FakeLauncher(clock, [], trees={base: ["a", "old"], head: ["a", "new"]},
                            per_call={(base, "a"): 1e-6, (head, "a"): 2e-6})
    sides = [Side("base", base, "python-base", forbid=(head,)),
             Side("head", head, "python-head", forbid=(base,))]
    result = execute("bench.py", options(processes=3), sides=sides, launcher=launcher,
                     clock=clock, mode="same-runner")
    base_suite, head_suite = result.suites
    assert base_suite.names() == ("a", "old") and head_suite.names() == ("a", "new")
    a_jobs = [j for j in launcher.measure_jobs() if j["spec"]["name"] == "a"]
    assert {j["loops"] for j in a_jobs} == {50_000}            # the larger count, both sides
    assert {(j["cwd"], j["python"]) for j in a_jobs} == {(base, "python-base"),
                                                          (head, "python-head")}
    assert all(j["forbid_paths"] == [str(head if j["cwd"] == base else base)]
               for j in launcher.jobs)
    assert base_suite.settings == head_suite.settings
    assert base_suite.settings.mode == "same-runner"
    assert len(base_suite.get("a").metrics["time"].samples) == 3


def test_invalid_options_are_config_errors():
    with pytest.raises(ConfigError, match="time_budget"):
        RunOptions(time_budget=0)
    with pytest.raises(ConfigError, match="min_processes"):
        RunOptions(min_processes=5, max_processes=2)
    with pytest.raises(ConfigError, match="processes"):
        RunOptions(processes=0)
    with pytest.raises(ConfigError, match="memory_processes"):
        RunOptions(memory_processes=0)
    with pytest.raises(ConfigError, match="memory_round_time"):
        RunOptions(memory_round_time=0)
    # beyond a week: a typo, and it would overflow the worker timeouts built from it
    with pytest.raises(ConfigError, match="time_budget is 1e\\+300 seconds, more than a week"):
        RunOptions(time_budget=1e300)
    with pytest.raises(ConfigError, match="timeout"):
        RunOptions(timeout=float("inf"))
