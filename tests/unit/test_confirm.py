"""Baseline-mode flags confirmed side by side with the base commit (action/confirm.py)."""

from __future__ import annotations

from pathlib import Path

from perfaction.action import confirm
from perfaction.analysis.compare import compare_suites
from perfaction.analysis.comparison import Verdict
from perfaction.analysis.policy import Policy
from perfaction.errors import PerfActionError
from perfaction.harness.runner import RunOptions, RunResult, RunStats
from perfaction.report.reasons import reason_text
from perfaction.results.model import Benchmark, Environment, Metric, Suite

PROCESSES = 12
STATS = RunStats(wall=0.0, discovery=0.0, calibration=0.0, rounds=PROCESSES,
                 worker_processes=0, worker_wall=0.0, timed=0.0)


def samples(center):
    return tuple((center * (1 + 0.002 * ((i * 7) % 5 - 2)),) for i in range(PROCESSES))


def suite(**times):
    return Suite(tuple(Benchmark(name, {"time": Metric("s", samples=samples(t))})
                       for name, t in times.items()), environment=Environment(cpu_model="x"))


class SideBySide:
    """A runner whose same-runner run returns the given (base, head) suites."""

    def __init__(self, base=None, head=None, error=None):
        self.base, self.head, self.error, self.calls = base, head, error, []

    def setup(self, command, cwd, log):
        return 0, []

    def run(self, target, options):
        raise AssertionError("confirmation measures side by side only")

    def close(self):
        return ()

    def run_ab(self, repo_dir, base_ref, subdir, target, options):
        self.calls.append((base_ref, options))
        if self.error:
            raise self.error
        return RunResult((self.base, self.head), STATS)


def flagged_comparison():
    # the stored baseline was measured on a faster runner: both benchmarks look 30 % slower
    stored = suite(a=1.0e-3, b=2.0e-3, c=3.0e-3)
    head = suite(a=1.3e-3, b=2.6e-3, c=3.0e-3)
    return compare_suites(stored, head, Policy())


def run(comparison, runner, *, available=True, base_ref="b" * 40):
    return confirm.confirm(comparison, policy=Policy(), runner=runner, repo_dir=Path("/repo"),
                           subdir=Path("."), target="bench.py", base_ref=base_ref,
                           available=available, options=RunOptions(time_budget=60.0))


def verdicts(comparison):
    return {d.benchmark: d.verdict for d in comparison.deltas if d.metric == "time"}


def test_only_the_flagged_benchmarks_are_measured_again_in_a_fixed_number_of_rounds():
    comparison = flagged_comparison()
    assert verdicts(comparison) == {"a": Verdict.REGRESSED, "b": Verdict.REGRESSED,
                                    "c": Verdict.UNCHANGED}
    runner = SideBySide(suite(a=1.3e-3, b=2.0e-3), suite(a=1.3e-3, b=2.6e-3))
    done = run(comparison, runner)
    [(base_ref, options)] = runner.calls
    assert base_ref == "b" * 40 and options.names == ("a", "b")
    assert options.processes == confirm.CONFIRM_PROCESSES and options.filter is None
    # a: the base commit is as slow on this runner (the baseline's runner was faster);
    # b: the base commit is faster here too, so the slowdown is the code's
    assert verdicts(done.comparison) == {"a": Verdict.UNCHANGED, "b": Verdict.REGRESSED,
                                         "c": Verdict.UNCHANGED}
    assert "2 benchmarks flagged against the stored baseline (a, b) were measured again" \
        in done.notes[0]
    assert done.suites is not None


def test_nothing_flagged_measures_nothing():
    stored = suite(a=1.0e-3)
    comparison = compare_suites(stored, suite(a=1.0e-3), Policy())
    runner = SideBySide()
    assert run(comparison, runner).comparison is comparison and not runner.calls


def test_without_the_base_commit_a_regression_becomes_inconclusive_and_says_how_to_confirm():
    done = run(flagged_comparison(), SideBySide(), available=False)
    assert verdicts(done.comparison)["a"] is Verdict.INCONCLUSIVE
    delta = next(d for d in done.comparison.deltas if d.benchmark == "a" and d.metric == "time")
    assert delta.why.code == "unconfirmed"
    assert "+30.0% would have been a regression" in reason_text(delta)
    assert "not in the checkout" in reason_text(delta) and "fetch-depth: 0" in done.notes[0]


def test_a_base_commit_that_cannot_be_measured_leaves_the_flags_unconfirmed():
    runner = SideBySide(error=PerfActionError("cannot check out 'bbbb' into a worktree: boom"))
    done = run(flagged_comparison(), runner)
    assert set(verdicts(done.comparison).values()) == {Verdict.INCONCLUSIVE, Verdict.UNCHANGED}
    assert "measuring it failed: cannot check out" in done.notes[0]


def test_a_benchmark_the_base_commit_does_not_have_stays_unconfirmed():
    # the base commit lacks 'b' (added by this pull request, measured in the stored baseline)
    runner = SideBySide(suite(a=1.3e-3), suite(a=1.3e-3, b=2.6e-3))
    done = run(flagged_comparison(), runner)
    assert verdicts(done.comparison) == {"a": Verdict.UNCHANGED, "b": Verdict.INCONCLUSIVE,
                                         "c": Verdict.UNCHANGED}
    assert any("did not measure it on both sides" in n for n in done.notes)


def test_each_reason_a_flag_cannot_be_confirmed_is_named_as_it_is():
    comparison = flagged_comparison()
    no_checkout = confirm.confirm(comparison, policy=Policy(), runner=SideBySide(),
                                  repo_dir=None, subdir=Path("."), target="bench.py",
                                  base_ref="b" * 40, available=False,
                                  options=RunOptions(time_budget=60.0))
    assert "not in a git checkout" in no_checkout.notes[0]
    no_ref = run(comparison, SideBySide(), base_ref=None)
    assert "no base commit is known: set the input base-ref" in no_ref.notes[0]


def test_the_confirming_run_s_own_warnings_reach_the_notes():
    runner = SideBySide(suite(a=1.3e-3, b=2.0e-3), suite(a=1.3e-3, b=2.6e-3))
    original = runner.run_ab

    def with_warnings(*args):
        result = original(*args)
        from dataclasses import replace
        return replace(result, cleanups=("benchmark 'a' left 1 process running",))
    runner.run_ab = with_warnings
    done = run(flagged_comparison(), runner)
    assert any(n == "Confirming run: benchmark 'a' left 1 process running" for n in done.notes)


def test_an_improvement_against_the_stored_baseline_is_confirmed_too():
    stored = suite(a=1.3e-3, b=2.0e-3, c=3.0e-3)
    comparison = compare_suites(stored, suite(a=1.0e-3, b=2.0e-3, c=3.0e-3), Policy())
    assert verdicts(comparison)["a"] is Verdict.IMPROVED
    runner = SideBySide(suite(a=1.0e-3), suite(a=1.0e-3))
    done = run(comparison, runner)
    assert runner.calls[0][1].names == ("a",)
    assert verdicts(done.comparison)["a"] is Verdict.UNCHANGED
    held = run(comparison, SideBySide(), available=False)
    assert verdicts(held.comparison)["a"] is Verdict.INCONCLUSIVE
