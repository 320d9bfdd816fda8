"""A nightly run of a suite so large that its comparison alone would fill the step summary.

The runner allows one step summary of 1 MiB. The nightly section comes after
the comparison, so the comparison must leave it room: app.run is called
in-process with a runner that hands back a large suite at once (no workers).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from perfaction.action import app
from perfaction.action.config import Config
from perfaction.github.workflow import SUMMARY_LIMIT_BYTES
from perfaction.harness.runner import RunResult, RunStats
from perfaction.results.history import History
from perfaction.results.model import Benchmark, Environment, Metric, Suite
from tests.fake_github.histories import local_fingerprint, night, wiggle

BENCHMARKS = 8000   # about 160 bytes of summary each: well over 1 MiB together
CHARTED = 40        # benchmarks with a history: trend charts and change points, tens of KiB


def name(index: int) -> str:
    return f"bench_{index:05d}_{'x' * 80}"


class InstantRunner:
    """Returns a ready suite; nothing is measured."""

    def __init__(self, suite: Suite, budget_note: str | None = None, retries=()):
        self.suite, self.budget_note, self.retries = suite, budget_note, tuple(retries)

    def setup(self, command, cwd, log):
        return 0, []

    def run(self, target, options):
        stats = RunStats(wall=0.0, discovery=0.0, calibration=0.0, rounds=3,
                         worker_processes=0, worker_wall=0.0, timed=0.0)
        return RunResult((self.suite,), stats, budget_note=self.budget_note,
                         retries=self.retries)

    def close(self):
        return ()

    def run_ab(self, repo_dir, base_ref, subdir, target, options):
        raise AssertionError("baseline mode only")


def large_suite() -> Suite:
    time = Metric("s", samples=((1.2e-3, 1.21e-3),) * 3)
    benches = tuple(Benchmark(name(i), {"time": time}) for i in range(BENCHMARKS))
    return Suite(benches, Environment(**local_fingerprint(), commit_sha="9" * 40,
                                      timestamp="2024-06-01T03:17:00Z"))


def previous_history(path: Path) -> None:
    """Forty nights of the first CHARTED benchmarks on this runner, 20 % slower after night 20."""
    history = History()
    for index in range(40):
        seconds = (1.0e-3 if index < 20 else 1.2e-3) * wiggle(index)
        history = history.with_entry(night(index, {name(i): seconds for i in range(CHARTED)}))
    history.dump(path)


def schedule_config(workspace: Path) -> Config:
    env = {"INPUT_BENCHMARK": "bench.py", "INPUT_HISTORY-PATH": "history.json",
           "GITHUB_REPOSITORY": "octo-org/widgets", "GITHUB_EVENT_NAME": "schedule",
           "GITHUB_ACTIONS": "true",
           "GITHUB_REF": "refs/heads/main", "GITHUB_SHA": "9" * 40, "GITHUB_RUN_ID": "99",
           "GITHUB_WORKSPACE": str(workspace),
           "GITHUB_STEP_SUMMARY": str(workspace / "summary.md"),
           "GITHUB_OUTPUT": str(workspace / "output")}
    return Config.from_env(env, event={})


def test_the_nightly_section_keeps_its_place_after_a_comparison_that_fills_the_summary(tmp_path):
    config = schedule_config(tmp_path)
    previous_history(tmp_path / "history.json")
    out = io.StringIO()
    code = app.run(config, baselines=None, publisher=None, runner=InstantRunner(large_suite()),
                   clock=lambda: datetime(2024, 6, 1, tzinfo=UTC), stdout=out)
    assert code == 0, out.getvalue()[-3000:]
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert len(summary.encode("utf-8")) <= SUMMARY_LIMIT_BYTES
    # The comparison was shortened to fit (it says so) and the nightly section follows it whole.
    assert "bench_00000_" in summary and f"bench_{BENCHMARKS - 1:05d}_" not in summary
    assert "Nightly history: 40 active regressions" in summary
    nightly = summary[summary.index("Nightly history"):]
    assert summary.index("Nightly history") > summary.index("bench_00000_")
    assert len(nightly.encode("utf-8")) > 20_000 and nightly.count("xychart-beta") == CHARTED
    assert "The report was cut here" not in summary
    # The report file has everything: every row, then the same nightly section.
    full = (tmp_path / "perf-report.md").read_text(encoding="utf-8")
    assert f"bench_{BENCHMARKS - 1:05d}_" in full and "Nightly history" in full


def test_a_small_budget_and_a_killed_worker_are_said_in_the_log_and_the_report(tmp_path):
    config = schedule_config(tmp_path)
    note = ("the 60 s budget buys about 2 process(es) per benchmark; deciding any of the run's "
            "900 gating tests needs at least 10 per side, so verdicts will be inconclusive: "
            "a time budget of about 310 s would (--time-budget)")
    out = io.StringIO()
    code = app.run(config, baselines=None, publisher=None,
                   runner=InstantRunner(large_suite(), budget_note=note, retries=[
                       "benchmark 'bench_00007': its worker was killed from outside (SIGKILL) "
                       "during round 3"]),
                   clock=lambda: datetime(2024, 6, 1, tzinfo=UTC), stdout=out)
    assert code == 0, out.getvalue()[-3000:]
    assert "::warning title=Time budget too small to decide::" in out.getvalue()
    assert "::warning title=Worker killed from outside::" in out.getvalue()
    report = (tmp_path / "perf-report.md").read_text(encoding="utf-8")
    assert "a time budget of about 310 s would" in report
    assert "killed from outside (SIGKILL) during round 3" in report
