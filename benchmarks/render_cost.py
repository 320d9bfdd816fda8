"""Time and peak memory to compare and render a large suite (goal: under 1 s for 10,000 benchmarks).

    .venv/bin/python benchmarks/render_cost.py [--benchmarks 10000] [--metrics 2] [--repeat 3]

Renders the PR comment, the job summary, the full Markdown report and the
terminal report from a Comparison built directly (a few regressions and
inconclusive metrics, the rest unchanged); times ``compare_suites`` on two
synthetic suites of the same size (20 processes x 3 values per metric); and
times both together as a run does them: compare the two suites, then render the
three Markdown reports of that comparison.
Times (wall and CPU) are the best of ``--repeat`` runs; peak memory is measured in a separate
pass under tracemalloc (which slows the code, so it never overlaps a timing).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from perfaction.analysis.comparison import Comparison, Delta, Summary, Threshold, Verdict  # noqa: E402
from perfaction.report.context import BaselineInfo, ReportContext
from perfaction.report.render import (
    render_comment,
    render_markdown_full,
    render_reports,
    render_summary,
    render_terminal,
)
from perfaction.results.model import Benchmark, Environment, Metric, Suite  # noqa: E402

METRICS = (("time", "s", 1.2e-4), ("peak_memory", "B", 2.0e6), ("cpu_time", "s", 1.1e-4))


def build_comparison(benchmarks: int, metrics: int) -> Comparison:
    deltas = []
    for i in range(benchmarks):
        name = f"suite.group_{i % 50}.bench_case[size={i}]"
        for metric, unit, base in METRICS[:metrics]:
            if metric == "time" and i % 500 == 0:
                verdict, change = Verdict.REGRESSED, 0.12
            elif metric == "time" and i % 10 == 1:
                verdict, change = Verdict.INCONCLUSIVE, 0.04
            else:
                verdict, change = Verdict.UNCHANGED, 0.003
            deltas.append(Delta(
                benchmark=name, metric=metric, unit=unit, direction="lower", verdict=verdict,
                base=Summary(base, 20, 0.02), head=Summary(base * (1 + change), 20, 0.02),
                change=change, interval=(change - 0.02, change + 0.02), p_value=0.2,
                p_adjusted=1.0, threshold=0.05, detectable=0.03, reason="within the threshold"))
    return Comparison(deltas=tuple(deltas), base_environment=Environment(cpu_model="x"),
                      head_environment=Environment(cpu_model="x"),
                      thresholds=(Threshold("time", 0.05), Threshold("peak_memory", 0.10)))


def build_suites(benchmarks: int, metrics: int) -> tuple[Suite, Suite]:
    rng = random.Random(1)

    def suite(shift: float) -> Suite:
        out = []
        for i in range(benchmarks):
            values = {}
            for metric, unit, base in METRICS[:metrics]:
                samples = tuple(tuple(base * (1 + shift) * rng.gauss(1, 0.02) for _ in range(3))
                                for _ in range(20))
                values[metric] = Metric(unit=unit, samples=samples)
            out.append(Benchmark(f"suite.group_{i % 50}.bench_case[size={i}]", values))
        return Suite(tuple(out), Environment(cpu_model="x"))

    return suite(0.0), suite(0.01)


def best_time(function, repeat: int):
    """Best wall and CPU seconds of ``repeat`` runs, and the result.

    CPU time is reported too because on a shared machine the wall time also
    counts the waits for a core.
    """
    best_wall, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return best_wall, best_cpu, result


def peak_memory(function) -> int:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=int, default=10_000)
    parser.add_argument("--metrics", type=int, default=2, choices=(1, 2, 3))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-compare", action="store_true", help="time rendering only")
    args = parser.parse_args(argv)

    comparison = build_comparison(args.benchmarks, args.metrics)
    context = ReportContext(
        baseline=BaselineInfo(source="artifact", artifact_name="perf-baseline"),
        repository="octo/widgets", commit_sha="9f2c4e1b7a3d5f60812c9e4b7a1d3f5e6c8b0a21",
        full_report_path="perf-report.md")
    tasks = {
        "comment": lambda: render_comment(comparison, context),
        "summary": lambda: render_summary(comparison, context),
        "full report (md)": lambda: render_markdown_full(comparison, context),
        "terminal": lambda: render_terminal(comparison, context),
    }
    # What a run renders: all three Markdown reports, sharing one view and the rows.
    tasks["all three (run)"] = lambda: render_reports(comparison, context)
    if not args.skip_compare:
        from perfaction.analysis.compare import compare_suites
        from perfaction.analysis.policy import Policy
        base, head = build_suites(args.benchmarks, args.metrics)
        policy = Policy.parse(None)
        tasks["compare_suites"] = lambda: compare_suites(base, head, policy)
        tasks["compare + render"] = lambda: render_reports(
            compare_suites(base, head, policy), context)

    render_comment(comparison, context)  # templates compiled once, as in a real run
    print(f"{args.benchmarks:,} benchmarks x {args.metrics} metrics = {len(comparison.deltas):,} deltas; "
          f"Python {sys.version.split()[0]}")
    print(f"{'task':<20} {'wall':>8} {'cpu':>8} {'peak memory':>12} {'output':>16}")
    for name, task in tasks.items():
        wall, cpu, result = best_time(task, args.repeat)
        peak = peak_memory(task)
        size = f"{len(result):,} chars" if isinstance(result, str) else \
            f"{len(result.deltas):,} deltas" if name == "compare_suites" else ""
        print(f"{name:<20} {wall:>7.3f}s {cpu:>7.3f}s {peak / 2**20:>8.1f} MiB {size:>16}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
