"""Changes the runner explains as well as the code are withheld in baseline mode
(analysis/contention.py): a busy machine, a moved speed reference, a suite-wide shift."""

from __future__ import annotations

from dataclasses import replace

import pytest

from perfaction.analysis.compare import compare_suites, exit_code
from perfaction.analysis.comparison import Verdict
from perfaction.analysis.contention import reference_change
from perfaction.analysis.policy import Policy
from perfaction.report.context import BaselineInfo, ReportContext
from perfaction.report.reasons import reason_text
from perfaction.report.render import render_terminal
from perfaction.results.model import Benchmark, Environment, Metric, Suite

QUIET = Environment(cpu_model="x", logical_cores=2, load_average_max=0.9, cpu_steal_max=0.0)
BUSY = replace(QUIET, load_average_max=3.2)
PROCESSES = 20


def samples(center: float) -> tuple[tuple[float, ...], ...]:
    # +-1 % of spread between processes, the same pattern on every side
    return tuple((center * (1 + 0.01 * ((i * 7) % 5 - 2) / 2),) for i in range(PROCESSES))


def bench(name: str, time: float, cpu: float, utilisation: float) -> Benchmark:
    return Benchmark(name, {
        "time": Metric("s", samples=samples(time)),
        "cpu_time": Metric("s", samples=samples(cpu)),
        "cpu_utilisation": Metric("ratio", direction="higher", samples=samples(utilisation)),
    })


def suite(env: Environment, *benches: Benchmark) -> Suite:
    return Suite(tuple(benches), environment=env)


def verdict(comparison, name: str, metric: str = "time"):
    return next(d for d in comparison.deltas if d.benchmark == name and d.metric == metric)


def quiet_base(*names: str) -> Suite:
    return suite(QUIET, *(bench(n, 1e-3, 1e-3, 0.99) for n in names))


def test_a_slower_time_on_a_busy_runner_whose_cpu_time_did_not_move_is_withheld():
    # The report: +30 % in wall time, CPU utilisation 99 % -> 76 %, load 3.2 on 2 cores.
    head = suite(BUSY, bench("a", 1.3e-3, 1.0e-3, 0.76), bench("b", 1e-3, 1e-3, 0.99))
    comparison = compare_suites(quiet_base("a", "b"), head, Policy())
    delta = verdict(comparison, "a")
    assert delta.verdict is Verdict.INCONCLUSIVE and delta.why.code == "runner_busy"
    text = reason_text(delta)
    assert "+30.0% would have been a regression" in text
    assert "load average up to 3.2 on 2 logical cores" in text
    assert "from 99.0% (baseline) to 76.0% (this run)" in text and "same-runner" in text
    assert exit_code(comparison) == 0


def test_utilisation_that_fell_is_evidence_even_when_the_load_average_missed_the_hog():
    head = suite(QUIET, bench("a", 1.3e-3, 1.0e-3, 0.76))
    delta = verdict(compare_suites(quiet_base("a"), head, Policy()), "a")
    assert delta.verdict is Verdict.INCONCLUSIVE and delta.why.facts["machine"] is None


def test_cpu_time_that_grew_with_the_wall_time_is_the_code_busy_machine_or_not():
    head = suite(BUSY, bench("a", 1.3e-3, 1.3e-3, 0.99))
    assert verdict(compare_suites(quiet_base("a"), head, Policy()), "a").verdict is Verdict.REGRESSED


def test_a_quiet_runner_keeps_the_regression():
    head = suite(QUIET, bench("a", 1.3e-3, 1.0e-3, 0.99), bench("b", 1e-3, 1e-3, 0.99))
    delta = verdict(compare_suites(quiet_base("a", "b"), head, Policy()), "a")
    assert delta.verdict is Verdict.REGRESSED


def test_same_runner_mode_keeps_its_verdicts_on_a_busy_machine():
    base = suite(BUSY, bench("a", 1e-3, 1e-3, 0.76))
    head = suite(BUSY, bench("a", 1.3e-3, 1.0e-3, 0.76))
    comparison = compare_suites(base, head, Policy(), mode="same-runner")
    assert verdict(comparison, "a").verdict is Verdict.REGRESSED


def test_a_runner_slower_by_its_speed_reference_explains_a_change_of_that_size_only():
    base = replace(QUIET, speed_reference=4.0e-4)
    slower = replace(QUIET, speed_reference=4.8e-4)              # +20 %
    head = suite(slower, bench("near", 1.22e-3, 1.22e-3, 0.99),  # +22 %: the runner's doing
                 bench("far", 1.6e-3, 1.6e-3, 0.99),             # +60 %: 33 % beyond it
                 bench("same", 1e-3, 1e-3, 0.99))
    comparison = compare_suites(suite(base, *quiet_base("near", "far", "same").benchmarks),
                                head, Policy())
    near = verdict(comparison, "near")
    assert near.verdict is Verdict.INCONCLUSIVE and near.why.code == "runner_slower"
    assert "ran slower than when the baseline was measured" in reason_text(near)
    assert verdict(comparison, "far").verdict is Verdict.REGRESSED


def test_most_of_the_suite_moving_together_is_the_runner_unless_its_reference_stayed_put():
    names = [f"b{i}" for i in range(6)]
    moved = [bench(n, 1.3e-3, 1.3e-3, 0.99) for n in names[:5]] + [bench("b5", 1e-3, 1e-3, 0.99)]
    comparison = compare_suites(quiet_base(*names), suite(QUIET, *moved), Policy())
    held = [verdict(comparison, n) for n in names[:5]]
    assert all(d.verdict is Verdict.INCONCLUSIVE and d.why.code == "suite_shift" for d in held)
    assert "5 of 6 benchmarks moved together" in reason_text(held[0])
    # the reference says the runner ran as fast as before: the code slowed the suite
    steady = replace(QUIET, speed_reference=4.0e-4)
    comparison = compare_suites(suite(steady, *quiet_base(*names).benchmarks),
                                suite(steady, *moved), Policy())
    assert all(verdict(comparison, n).verdict is Verdict.REGRESSED for n in names[:5])


def test_half_the_suite_is_not_a_shift():
    names = [f"b{i}" for i in range(6)]
    moved = [bench(n, 1.3e-3, 1.3e-3, 0.99) for n in names[:3]] + [
        bench(n, 1e-3, 1e-3, 0.99) for n in names[3:]]
    comparison = compare_suites(quiet_base(*names), suite(QUIET, *moved), Policy())
    assert all(verdict(comparison, n).verdict is Verdict.REGRESSED for n in names[:3])


@pytest.mark.parametrize("base, head", [(None, 1.0), (0.0, 1.0), (-1.0, 1.0),
                                        (float("nan"), 1.0), (1.0, float("inf"))])
def test_a_missing_or_damaged_speed_reference_is_no_evidence(base, head):
    assert reference_change(Environment(speed_reference=base),
                            Environment(speed_reference=head)) is None


def test_the_report_says_the_runner_explains_the_change_and_how_to_confirm_it():
    head = suite(BUSY, bench("a", 1.3e-3, 1.0e-3, 0.76), bench("b", 1e-3, 1e-3, 0.99))
    comparison = compare_suites(quiet_base("a", "b"), head, Policy())
    text = render_terminal(comparison, ReportContext(baseline=BaselineInfo(source="artifact")))
    assert "INCONCLUSIVE, 1 CHANGE THE RUNNER EXPLAINS AS WELL AS THE CODE" in text
    assert "not called a regression or an improvement" in text


def test_without_holding_runner_changes_the_test_s_verdict_stands():
    # the action's confirm: false: the stored baseline's verdicts as the test gave them
    head = suite(BUSY, bench("a", 1.3e-3, 1.0e-3, 0.76), bench("b", 1e-3, 1e-3, 0.99))
    comparison = compare_suites(quiet_base("a", "b"), head, Policy(), hold_runner_changes=False)
    assert verdict(comparison, "a").verdict is Verdict.REGRESSED
