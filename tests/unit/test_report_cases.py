"""Comparisons and contexts the report tests render, built directly from the value types.

Other report test modules import CASES, make_delta, make_comparison and
make_context from here. The tests at the bottom check that each case holds
the verdicts its name promises, so a golden file never silently shows the
wrong situation.
"""

from __future__ import annotations

from datetime import timedelta

from perfaction.analysis.comparison import Comparison, Delta, EnvironmentMismatch, Summary, Threshold, Verdict
from perfaction.report.context import BaselineInfo, ReportContext
from perfaction.results.model import Environment

HEAD_SHA = "9f2c4e1b7a3d5f60812c9e4b7a1d3f5e6c8b0a21"
BASE_SHA = "4b1d9e7c2a6f8035e1d7c9b3a5f2e4d6c8a0b1c3"
UNITS = {"time": "s", "cpu_time": "s", "peak_memory": "B", "retained_memory": "B",
         "throughput": "ops/s", "cpu_utilisation": "ratio", "latency_p99": "s"}

HEAD_ENV = Environment(cpu_model="AMD EPYC 7763 64-Core Processor", logical_cores=4,
                       machine="x86_64", os="Linux-6.5.0-azure", python_implementation="CPython",
                       python_version="3.11.9", perfaction_version="0.1.0", commit_sha=HEAD_SHA)
BASE_ENV = Environment(cpu_model="AMD EPYC 7763 64-Core Processor", logical_cores=4,
                       machine="x86_64", os="Linux-6.5.0-azure", python_implementation="CPython",
                       python_version="3.11.9", perfaction_version="0.1.0", commit_sha=BASE_SHA)

THRESHOLDS = (
    Threshold("time", 0.05),
    Threshold("peak_memory", 0.10, absolute_floor=1024 * 1024),
    Threshold("time", 0.08, pattern="orderbook_*"),
    Threshold("latency_p99", 0.10, gating=False),
)


def make_delta(benchmark: str, metric: str = "time", verdict: Verdict = Verdict.UNCHANGED, *,
               base: float | None = 1.2e-4, change: float | None = 0.004,
               interval: tuple[float, float] | None = None, n: int = 20,
               spread: float | None = 0.021, p: float | None = 0.41, gating: bool = True,
               reason: str = "", direction: str = "lower", unit: str | None = None) -> Delta:
    """A delta with plausible numbers: head = base * (1 + change)."""
    if interval is None and change is not None:
        interval = (change - 0.02, change + 0.02)
    head = None if base is None or change is None else base * (1 + change)
    return Delta(
        benchmark=benchmark, metric=metric, unit=unit or UNITS.get(metric, "s"),
        direction=direction, verdict=verdict,
        base=Summary(base, n, spread) if base is not None else None,
        head=Summary(head, n, spread) if head is not None else None,
        change=change, interval=interval if change is not None else None,
        p_value=p, p_adjusted=None if p is None else min(1.0, p * 3), threshold=0.05,
        detectable=0.03, gating=gating, reason=reason or _default_reason(verdict))


def _default_reason(verdict: Verdict) -> str:
    return {
        Verdict.REGRESSED: "slower beyond the 5 % threshold, significant after correction",
        Verdict.IMPROVED: "faster beyond the 5 % threshold, significant after correction",
        Verdict.UNCHANGED: "within the threshold",
        Verdict.INCONCLUSIVE: "too noisy: could detect 12 % at best, threshold 5 %",
    }.get(verdict, "")


def new_delta(benchmark: str, metric: str = "time", value: float = 3.5e-5) -> Delta:
    return Delta(benchmark, metric, UNITS.get(metric, "s"), "lower", Verdict.NEW,
                 head=Summary(value, 20, 0.018), reason="only in this run")


def removed_delta(benchmark: str, metric: str = "time", value: float = 8.1e-6) -> Delta:
    return Delta(benchmark, metric, UNITS.get(metric, "s"), "lower", Verdict.REMOVED,
                 base=Summary(value, 20, 0.02), reason="only in the baseline")


def failed_delta(benchmark: str, metric: str, error: str) -> Delta:
    return Delta(benchmark, metric, UNITS.get(metric, "s"), "lower", Verdict.FAILED,
                 base=Summary(2.0e-3, 20, 0.02), reason=error)


def make_comparison(deltas, *, mismatches=(), notes=(), base_env=BASE_ENV,
                    mode: str = "baseline") -> Comparison:
    return Comparison(deltas=tuple(deltas), base_environment=base_env, head_environment=HEAD_ENV,
                      environment_mismatches=tuple(mismatches), thresholds=THRESHOLDS,
                      alpha=0.01, correction="holm", mode=mode, notes=tuple(notes))


def artifact_baseline() -> BaselineInfo:
    return BaselineInfo(source="artifact", artifact_name="perf-baseline", artifact_id=1296343,
                        run_id=9876543210,
                        run_url="https://github.com/octo/widgets/actions/runs/9876543210",
                        commit=BASE_SHA, ref="main", created_at="2024-05-01T12:00:00Z",
                        age=timedelta(days=3, hours=4))


def make_context(baseline: BaselineInfo | None = None, **overrides) -> ReportContext:
    values = dict(
        baseline=baseline or artifact_baseline(), repository="octo/widgets", pr_number=42,
        commit_sha=HEAD_SHA, base_sha=BASE_SHA,
        run_url="https://github.com/octo/widgets/actions/runs/9876549999",
        full_report_path="perf-report.md")
    values.update(overrides)
    return ReportContext(**values)


def _steady(names=("parse_small", "parse_large", "serialize")) -> list[Delta]:
    deltas = []
    for index, name in enumerate(names):
        deltas.append(make_delta(name, "time", base=1.2e-4 * (10 ** index), change=0.004 - index * 0.006))
        deltas.append(make_delta(name, "peak_memory", base=48_000.0 * (index + 1), change=0.0,
                                 interval=(-0.001, 0.001), p=0.97, spread=0.0))
    return deltas


def case_all_pass():
    return make_comparison(_steady()), make_context()


def case_regression():
    deltas = _steady() + [
        make_delta("orderbook_updates", "time", Verdict.REGRESSED, base=3.21e-5, change=0.087,
                   interval=(0.06, 0.112), p=0.0002,
                   reason="slower by more than the 8 % threshold; p = 0.0006 after Holm"),
        make_delta("orderbook_updates", "peak_memory", Verdict.REGRESSED, base=12.5 * 1024 ** 2,
                   change=0.31, interval=(0.30, 0.32), p=0.0001, spread=0.0,
                   reason="grew by 3.9 MiB, beyond 10 % and the 1 MiB floor"),
        make_delta("orderbook_updates", "latency_p99", Verdict.REGRESSED, base=9.1e-5,
                   change=0.14, interval=(0.02, 0.26), p=0.004, gating=False,
                   reason="report-only metric"),
        make_delta("risk_check", "time", Verdict.REGRESSED, base=1.52e-3, change=0.055,
                   interval=(0.03, 0.08), p=0.0008),
    ]
    history = {"orderbook_updates": [("c0ffee1", 3.18e-5), ("badcafe", 3.22e-5),
                                     ("f00dfee", 3.20e-5)]}
    return make_comparison(deltas), make_context(history=history)


def case_improvement():
    deltas = _steady() + [
        make_delta("matching_engine", "time", Verdict.IMPROVED, base=2.5e-3, change=-0.21,
                   interval=(-0.24, -0.18), p=0.0001),
        make_delta("matching_engine", "throughput", Verdict.IMPROVED, base=400.0, change=0.27,
                   interval=(0.22, 0.31), p=0.0001, direction="higher",
                   reason="more operations per second beyond the threshold"),
    ]
    return make_comparison(deltas), make_context()


def case_inconclusive():
    deltas = _steady() + [
        make_delta("network_roundtrip", "time", Verdict.INCONCLUSIVE, base=8.4e-3, change=0.043,
                   interval=(-0.08, 0.17), p=0.21, spread=0.18),
        make_delta("network_roundtrip", "cpu_utilisation", Verdict.UNCHANGED, base=0.92,
                   change=-0.01, p=0.6, spread=0.03),
    ]
    return make_comparison(deltas), make_context()


def case_no_baseline():
    deltas = [new_delta("parse_small", "time", 1.21e-4), new_delta("parse_small", "peak_memory", 48_213.0),
              new_delta("serialize", "time", 0.0118), failed_delta("boot", "time", "ImportError: no module named 'fastjson'")]
    baseline = BaselineInfo(source="none", reason="no baseline artifact yet on main")
    comparison = Comparison(deltas=tuple(deltas), base_environment=None, head_environment=HEAD_ENV,
                            thresholds=THRESHOLDS)
    return comparison, make_context(baseline=baseline, base_sha=None)


def case_new_removed_failed():
    deltas = _steady(("parse_small", "serialize")) + [
        new_delta("parse_stream", "time"), new_delta("parse_stream", "peak_memory", 96_000.0),
        removed_delta("parse_legacy"),
        failed_delta("export_csv", "time", "TimeoutError: benchmark exceeded its 60 s timeout"),
        failed_delta("export_csv", "peak_memory", "TimeoutError: benchmark exceeded its 60 s timeout"),
    ]
    return make_comparison(deltas), make_context()


def case_environment_mismatch():
    base_env = Environment(cpu_model="Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz", logical_cores=2,
                           machine="x86_64", python_implementation="CPython", python_version="3.11.4",
                           commit_sha=BASE_SHA)
    mismatches = (EnvironmentMismatch("cpu_model", base_env.cpu_model, HEAD_ENV.cpu_model),
                  EnvironmentMismatch("logical_cores", 2, 4),
                  EnvironmentMismatch("python_version", "3.11.4", "3.11.9"))
    deltas = _steady()
    return (make_comparison(deltas, mismatches=mismatches, base_env=base_env),
            make_context(notes=("The baseline artifact was made by perfaction 0.0.9.",)))


CASES = {
    "all_pass": case_all_pass,
    "regression": case_regression,
    "improvement": case_improvement,
    "inconclusive": case_inconclusive,
    "no_baseline": case_no_baseline,
    "new_removed_failed": case_new_removed_failed,
    "environment_mismatch": case_environment_mismatch,
}


def test_each_case_holds_the_verdicts_its_name_promises():
    verdicts = {name: {d.verdict for d in build()[0].deltas} for name, build in CASES.items()}
    assert verdicts["all_pass"] == {Verdict.UNCHANGED}
    assert Verdict.REGRESSED in verdicts["regression"]
    assert Verdict.IMPROVED in verdicts["improvement"] and Verdict.REGRESSED not in verdicts["improvement"]
    assert Verdict.INCONCLUSIVE in verdicts["inconclusive"]
    assert verdicts["no_baseline"] <= {Verdict.NEW, Verdict.FAILED}
    assert {Verdict.NEW, Verdict.REMOVED, Verdict.FAILED} <= verdicts["new_removed_failed"]
    assert CASES["environment_mismatch"]()[0].environment_mismatches
