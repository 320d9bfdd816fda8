"""Batch workers: many benchmarks per process, failures that stay with their benchmark,
A/B pairs that measured the same batch, the budget as a limit, older workers."""

from pathlib import Path

from perfaction.harness import schedule
from perfaction.harness.launcher import WorkerOutcome
from perfaction.harness.runner import Side, execute, run_suite
from tests.unit.harness_fakes import FakeClock, FakeLauncher, options

NAMES = [f"b{i}" for i in range(6)]
HANG = WorkerOutcome(False, error="timed out after 10 s", phase="timeout")
DIES = WorkerOutcome(False, error="the worker process exited with code 3 without a result",
                     phase="crash")


def batch_jobs(launcher, task="measure"):
    return [j for j in launcher.jobs if j["mode"] == "batch" and j["task"] == task]


def test_one_worker_measures_every_benchmark_of_its_batch_once_in_its_own_order():
    clock = FakeClock()
    launcher = FakeLauncher(clock, NAMES, cost=1.0)   # start-up dwarfs a benchmark: one batch
    result = execute("bench.py", options(processes=5), launcher=launcher, clock=clock)
    jobs = batch_jobs(launcher)
    assert len(jobs) == 5 and result.stats.batch_size == 6
    orders = [[b["spec"]["name"] for b in j["benchmarks"]] for j in jobs]
    assert all(sorted(order) == NAMES for order in orders)
    assert len({tuple(order) for order in orders}) > 1
    assert len(batch_jobs(launcher, "calibrate")) == 1       # calibrated once per run
    assert all(len(result.suites[0].get(n).metrics["time"].samples) == 5 for n in NAMES)
    # discovery, calibration, five rounds: seven processes, each paying start-up once
    assert result.stats.worker_processes == 7 and result.stats.rounds == 5


def test_batches_shrink_when_start_up_is_cheap_against_the_benchmarks():
    assert schedule.batch_size(60, benchmark_seconds=0.25, process_overhead=0.05) == 2
    # a 1 s import: ~42 benchmarks pay it back ten times; balanced into equal batches
    assert schedule.batch_size(60, benchmark_seconds=0.25, process_overhead=1.05) == 30
    assert schedule.batch_size(20, benchmark_seconds=0.25, process_overhead=1.05) == 20
    assert schedule.batch_size(7, benchmark_seconds=0.25, process_overhead=0.1) == 4


def test_a_hang_fails_only_the_running_benchmark_and_the_rest_runs_in_a_new_worker():
    clock = FakeClock()
    launcher = FakeLauncher(clock, NAMES, failures={("b3", "measure"): HANG})
    suite = run_suite("bench.py", options(processes=3), launcher=launcher, clock=clock)
    assert "timed out" in suite.get("b3").error and "--timeout" in suite.get("b3").error
    for name in NAMES:
        if name != "b3":
            assert len(suite.get(name).metrics["time"].samples) == 3, name
    # the culprit was tried once, never again in later rounds
    assert sum(1 for j in launcher.measure_jobs() if j["spec"]["name"] == "b3") == 1


def test_a_worker_that_dies_in_calibration_fails_only_its_benchmark():
    clock = FakeClock()
    launcher = FakeLauncher(clock, NAMES, failures={("b0", "calibrate"): DIES})
    suite = run_suite("bench.py", options(processes=2), launcher=launcher, clock=clock)
    assert "exited with code 3" in suite.get("b0").error
    assert [b.name for b in suite.benchmarks if not b.failed] == NAMES[1:]


class DiesAtStartOnce(FakeLauncher):
    """The first batch worker dies before any benchmark begins."""

    died = False

    def run(self, job, **kwargs):
        if job["mode"] == "batch" and job["task"] == "measure" and not self.died:
            self.died = True
            self.jobs.append({**job, **kwargs})
            return DIES
        return super().run(job, **kwargs)


def test_a_worker_dying_before_any_benchmark_falls_back_to_one_worker_per_benchmark():
    clock = FakeClock()
    launcher = DiesAtStartOnce(clock, NAMES[:3])
    suite = run_suite("bench.py", options(processes=2), launcher=launcher, clock=clock)
    assert not suite.failures
    singles = [j for j in launcher.jobs if j["mode"] == "measure"]
    assert sorted(j["spec"]["name"] for j in singles) == NAMES[:3]      # round 1, one each
    assert all(len(suite.get(n).metrics["time"].samples) == 2 for n in NAMES[:3])


def test_a_worker_of_an_older_perfaction_gets_one_job_per_benchmark():
    clock = FakeClock()
    launcher = FakeLauncher(clock, NAMES[:3], protocol=1)
    suite = run_suite("bench.py", options(processes=2), launcher=launcher, clock=clock)
    assert not any(j["mode"] == "batch" for j in launcher.jobs)
    assert len([j for j in launcher.jobs if j["mode"] == "measure"]) == 6
    assert all(len(suite.get(n).metrics["time"].samples) == 2 for n in NAMES[:3])


def ab_sides():
    base, head = Path("/base"), Path("/head")
    return base, head, [Side("base", base, "python", forbid=(head,)),
                        Side("head", head, "python", forbid=(base,))]


def test_base_and_head_workers_of_a_batch_run_back_to_back():
    clock = FakeClock()
    base, head, sides = ab_sides()
    launcher = FakeLauncher(clock, [], trees={base: NAMES, head: NAMES}, cost=0.05,
                            benchmark_cost=0.25)      # cheap start-up: several batches a round
    result = execute("bench.py", options(processes=4), sides=sides, launcher=launcher,
                     clock=clock, mode="same-runner")
    jobs = batch_jobs(launcher)
    assert result.stats.batch_size < len(NAMES)
    pairs = [jobs[i:i + 2] for i in range(0, len(jobs), 2)]
    for first, second in pairs:
        assert {first["cwd"], second["cwd"]} == {base, head}
        assert ({b["spec"]["name"] for b in first["benchmarks"]}
                == {b["spec"]["name"] for b in second["benchmarks"]})
    assert len({p[0]["cwd"] for p in pairs}) == 2        # which side goes first varies
    for suite in result.suites:
        assert all(len(suite.get(n).metrics["time"].samples) == 4 for n in NAMES)


class StopsHeadAtBudget(FakeLauncher):
    """The head worker of the last batch it sees is stopped by the budget, after one benchmark."""

    def run(self, job, **kwargs):
        stop_after = kwargs.get("stop_after")
        if (job["mode"] == "batch" and job["task"] == "measure" and kwargs["cwd"] == Path("/head")
                and stop_after is not None and stop_after < 3.0):
            first = {**job, "benchmarks": job["benchmarks"][:1]}
            outcome = super().run(first, **kwargs)
            return WorkerOutcome(False, error="stopped at the end of the time budget",
                                 phase="budget", events=outcome.events)
        return super().run(job, **kwargs)


def test_a_round_one_side_did_not_finish_is_dropped_from_both_so_pairs_stay_aligned():
    clock = FakeClock()
    base, head, sides = ab_sides()
    launcher = StopsHeadAtBudget(clock, [], trees={base: NAMES[:3], head: NAMES[:3]}, cost=0.5,
                                 benchmark_cost=0.5)
    result = execute("bench.py", options(time_budget=20.0), sides=sides, launcher=launcher,
                     clock=clock, mode="same-runner")
    base_suite, head_suite = result.suites
    for name in NAMES[:3]:
        assert (len(base_suite.get(name).metrics["time"].samples)
                == len(head_suite.get(name).metrics["time"].samples)), name
    assert not base_suite.failures and not head_suite.failures
    assert clock.now - 1000.0 <= 20.0 * 1.05


def test_user_imports_are_paid_once_per_process():
    clock = FakeClock()

    class Importing(FakeLauncher):
        def run(self, job, **kwargs):
            outcome = super().run(job, **kwargs)
            if outcome.ok:
                timings = {"import": 1.0, "total": outcome.wall}
                return WorkerOutcome(True, {**outcome.data, "timings": timings},
                                     wall=outcome.wall + 0.05, events=outcome.events)
            return outcome

    launcher = Importing(clock, NAMES * 1, cost=1.05)
    result = execute("bench.py", options(processes=5), launcher=launcher, clock=clock)
    stats = result.stats
    assert stats.user_imports == stats.worker_processes * 1.0
    assert abs(stats.worker_startup - stats.worker_processes * 0.05) < 1e-9


def test_the_estimate_names_a_budget_that_buys_enough_processes_for_the_gate():
    from perfaction.harness import budget
    common = dict(spent=1.0, benchmarks=60, sides=1, process_overhead=0.05,
                  first_benchmark_seconds=0.4, later_benchmark_seconds=0.2,
                  calibration_seconds=0.15, detail_rounds=11, max_processes=40)
    short = budget.estimate(budget=60.0, **common)
    assert short.needed == 9 and short.tests == 180
    assert short.processes < short.needed and "--time-budget" in short.note
    enough = budget.estimate(budget=short.enough, **common)
    assert enough.processes >= short.needed and enough.note is None


def test_a_same_runner_estimate_asks_for_the_rounds_max_t_needs_whatever_the_suite_size():
    from perfaction.harness import budget
    common = dict(spent=1.0, sides=2, process_overhead=0.05, first_benchmark_seconds=0.4,
                  later_benchmark_seconds=0.2, calibration_seconds=0.15, detail_rounds=11,
                  max_processes=40)
    small = budget.estimate(budget=60.0, benchmarks=10, **common)
    large = budget.estimate(budget=600.0, benchmarks=300, **common)
    assert small.needed == large.needed == 7        # 2**-7 <= 0.01 < 2**-6


def test_memory_that_gives_one_value_stops_its_pass_after_the_processes_the_comparison_needs():
    clock = FakeClock()
    launcher = FakeLauncher(clock, NAMES, cost=1.0)      # every peak is 100 B, every time
    result = execute("bench.py", options(processes=8, memory_processes=8), launcher=launcher,
                     clock=clock)
    assert set(launcher.memory_counts.values()) == {schedule.CONSTANT_MEMORY_PROCESSES}
    peak = result.suites[0].get("b0").metrics["peak_memory"]
    assert len(peak.samples) == 3 and len(result.suites[0].get("b0").metrics["time"].samples) == 8


def test_memory_that_varies_on_one_side_keeps_its_pass_on_both():
    clock = FakeClock()
    sides = [Side("base", Path("/base"), "py"), Side("head", Path("/head"), "py")]
    # b0's head peaks differ between processes; everything else is constant
    launcher = FakeLauncher(clock, ["b0", "b1"], cost=1.0, peak=lambda name, cwd, count: (
        100.0 + count if (name, str(cwd)) == ("b0", "/head") else 100.0))
    execute("bench.py", options(processes=8, memory_processes=6), sides=sides,
            launcher=launcher, clock=clock)
    counts = {(name, str(cwd)): n for (name, cwd), n in launcher.memory_counts.items()}
    assert counts[("b0", "/base")] == counts[("b0", "/head")] == 6
    assert counts[("b1", "/base")] == counts[("b1", "/head")] == 3


def test_sizing_takes_the_longest_values_that_still_buy_the_processes_the_gate_needs():
    from perfaction.harness import budget

    def estimate_for(sizing):
        # a run whose processes grow as values shorten: 50 ms buys 4, 2 ms buys 30
        processes = round(0.2 / sizing.value_time * sizing.memory_round_time / 0.02 * 0.6)
        return budget.BudgetEstimate(processes, 7, 300, 0.0, 1, "", None)

    chosen, estimate = budget.size_values(estimate_for, cap=40)
    target = 7 + budget.EXTRA_PROCESSES
    assert estimate.processes >= target
    longer = [s for s in budget.SIZINGS if budget.SIZINGS.index(s) < budget.SIZINGS.index(chosen)]
    assert longer and all(estimate_for(s).processes < target for s in longer)

    never, _ = budget.size_values(lambda s: budget.BudgetEstimate(1, 7, 3, 0.0, 1, "", None),
                                  cap=40)
    assert never == budget.SIZINGS[-1]           # the most processes there are


def test_a_large_suite_gets_values_short_enough_to_buy_processes_and_a_small_one_keeps_50_ms():
    def sized(names, **kwargs):
        clock = FakeClock()
        launcher = FakeLauncher(clock, names, cost=1.0)
        suite = run_suite("bench.py", options(time_budget=60.0, **kwargs), launcher=launcher,
                          clock=clock)
        calibration = batch_jobs(launcher, "calibrate")[0]
        assert calibration["min_value_time"] == suite.settings.min_value_time
        return suite.settings.min_value_time, batch_jobs(launcher)[0]["memory_round_time"]

    assert sized(NAMES) == (0.05, 0.02)
    many = [f"b{i}" for i in range(200)]
    value_time, memory_round = sized(many)
    assert value_time < 0.05 and memory_round <= 0.02
    # what the user sets stays as set
    assert sized(many, min_value_time=0.03)[0] == 0.03
    assert sized(many, processes=3) == (0.05, 0.02)


def test_each_side_records_the_median_speed_reference_of_its_workers_and_ignores_nonsense():
    clock = FakeClock()
    readings = {Path("/base"): iter([4.0e-4, float("nan"), 4.2e-4, 4.1e-4, -1.0]),
                Path("/head"): iter([5.0e-4, 5.2e-4, "fast", 5.1e-4, 0.0])}
    launcher = FakeLauncher(clock, NAMES, trees={Path("/base"): NAMES, Path("/head"): NAMES},
                            reference=lambda cwd: next(readings[cwd]))
    sides = [Side("base", Path("/base"), "py"), Side("head", Path("/head"), "py")]
    result = execute("bench.py", options(processes=5), sides=sides, launcher=launcher,
                     clock=clock)
    base, head = result.suites
    assert base.environment.speed_reference == 4.1e-4
    assert head.environment.speed_reference == 5.1e-4


KILLED = WorkerOutcome(False, error="the worker process exited with code -9 without a result "
                       "(killed by signal 9)", phase="crash", returncode=-9)


class KilledFromOutside(FakeLauncher):
    """The worker measuring ``victim`` is SIGKILLed the first ``times`` times it runs ``task``."""

    def __init__(self, *args, victim, times, task="measure", **kwargs):
        super().__init__(*args, **kwargs)
        self.victim, self.times, self.task = victim, times, task

    def _one(self, task, job, cwd, python):
        if job["spec"]["name"] == self.victim and task == self.task and self.times > 0:
            self.times -= 1
            self.benchmark_jobs.append({**job, "mode": task, "cwd": cwd})
            return KILLED
        return super()._one(task, job, cwd, python)


def test_a_worker_killed_from_outside_costs_its_benchmark_one_round_not_the_run():
    clock = FakeClock()
    launcher = KilledFromOutside(clock, NAMES, victim="b2", times=1)
    result = execute("bench.py", options(processes=5), launcher=launcher, clock=clock)
    suite = result.suites[0]
    assert not suite.failures
    assert len(suite.get("b2").metrics["time"].samples) == 4      # the killed round only
    assert all(len(suite.get(n).metrics["time"].samples) == 5 for n in NAMES if n != "b2")
    assert len(result.retries) == 1 and "'b2'" in result.retries[0]
    assert "killed from outside (SIGKILL)" in result.retries[0]


def test_a_second_kill_fails_the_benchmark_as_an_out_of_memory_kill_would():
    clock = FakeClock()
    launcher = KilledFromOutside(clock, NAMES, victim="b2", times=5)
    suite = run_suite("bench.py", options(processes=5), launcher=launcher, clock=clock)
    assert "killed by signal 9" in suite.get("b2").error
    assert sum(1 for j in launcher.measure_jobs() if j["spec"]["name"] == "b2") == 2


def test_a_crash_of_the_benchmark_itself_is_not_retried():
    clock = FakeClock()
    segfault = WorkerOutcome(False, error="the worker process exited with code -11 without a "
                             "result (killed by signal 11)", phase="crash", returncode=-11)
    launcher = FakeLauncher(clock, NAMES, failures={("b2", "measure"): segfault})
    result = execute("bench.py", options(processes=3), launcher=launcher, clock=clock)
    assert "signal 11" in result.suites[0].get("b2").error and not result.retries


def test_a_calibration_worker_killed_from_outside_calibrates_again_at_once():
    clock = FakeClock()
    launcher = KilledFromOutside(clock, NAMES, victim="b4", times=1, task="calibrate")
    result = execute("bench.py", options(processes=3), launcher=launcher, clock=clock)
    assert not result.suites[0].failures
    assert len(result.suites[0].get("b4").metrics["time"].samples) == 3
    assert "during calibration" in result.retries[0]


def test_in_a_b_the_round_a_kill_cost_one_side_is_dropped_from_both():
    clock = FakeClock()
    base, head, sides = ab_sides()
    launcher = KilledFromOutside(clock, NAMES, victim="b1", times=1,
                                 trees={base: NAMES, head: NAMES})
    result = execute("bench.py", options(processes=4), sides=sides, launcher=launcher,
                     clock=clock)
    counts = [len(s.get("b1").metrics["time"].samples) for s in result.suites]
    assert counts == [3, 3] and result.retries[0].startswith(("base: ", "head: "))


def test_the_next_round_is_planned_without_the_memory_passes_that_stopped():
    # three rounds of 16 s, 6 s of which memory passes; memory settled everywhere
    assert schedule.next_round_seconds([16.0, 16.0, 16.0], [6.0, 6.0, 6.0],
                                       memory_share=0.0) == 10.0
    # half the benchmarks still measure memory next round
    assert schedule.next_round_seconds([16.0, 16.0, 16.0], [6.0, 6.0, 6.0],
                                       memory_share=0.5) == 13.0
    assert schedule.next_round_seconds([], [], memory_share=1.0) == 0.0


def test_the_base_and_head_workers_of_a_pair_measure_their_batch_in_the_same_order():
    # Within a pair only the code may differ: a benchmark's neighbours in the process
    # (what ran before it, the heap and imports they left) change between rounds only.
    clock = FakeClock()
    base, head, sides = ab_sides()
    launcher = FakeLauncher(clock, NAMES, cost=1.0, trees={base: NAMES, head: NAMES})
    execute("bench.py", options(processes=6), sides=sides, launcher=launcher, clock=clock)
    jobs = batch_jobs(launcher)
    assert len(jobs) == 12
    orders = [[b["spec"]["name"] for b in j["benchmarks"]] for j in jobs]
    pairs = list(zip(orders[::2], orders[1::2], strict=True))
    assert all(a == b for a, b in pairs)
    assert len({tuple(a) for a, _ in pairs}) > 1            # and a new order each round
    assert {j["cwd"] for j in jobs[:2]} == {base, head}


def test_sizing_stops_at_the_process_cap_when_that_is_below_the_target():
    from perfaction.harness import budget

    def estimate_for(sizing):
        return budget.BudgetEstimate(min(12, round(0.6 / sizing.value_time)), 7, 30, 0.0, 1,
                                     "", None)
    chosen, _ = budget.size_values(estimate_for, cap=12)
    assert chosen.value_time == 0.05              # 12 already at 50 ms: nothing to gain


def test_the_next_round_counts_only_the_memory_passes_it_will_still_run():
    # last round: 20 memory passes took 6 s; 20 still unsettled, so all 20 run again
    assert schedule.next_round_seconds([16.0], [6.0], memory_share=20 / 20) == 16.0
    # 5 of those 20 still measure memory: a quarter of the memory time
    assert schedule.next_round_seconds([16.0], [6.0], memory_share=5 / 20) == 11.5
