"""`perfaction run MODULE_OR_PATH -o results.json`: measure a benchmark module.

Exit 0 when every benchmark was measured; 2 when any failed (the results file
is written anyway, with each failure recorded in it) or the module could not
be run at all.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any, TextIO

DEFAULT_OUTPUT = "results.json"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "run", help="measure a benchmark module and write a results file",
        description="Measure every benchmark in MODULE_OR_PATH in fresh worker processes and "
                    "write the results (raw per-process samples) as JSON. Exit 0 when all "
                    "were measured, 2 when any failed; failures are recorded in the file.")
    parser.add_argument("target", metavar="MODULE_OR_PATH",
                        help="a benchmark file (benchmarks/bench_orders.py) or a dotted module "
                             "name, imported from the current directory")
    parser.add_argument("-o", "--output", default=DEFAULT_OUTPUT, metavar="FILE",
                        help=f"results file to write (default {DEFAULT_OUTPUT})")
    add_measurement_options(parser)
    parser.add_argument("--python", metavar="PATH",
                        help="interpreter for the worker processes (default: this one); it "
                             "needs perfaction and the project's dependencies installed")
    parser.add_argument("--commit-sha", help="commit recorded in the results (default: git HEAD)")
    parser.add_argument("--ref", help="branch or ref recorded in the results (default: the "
                                      "checked-out branch)")
    parser.set_defaults(handler=_handle)
    return parser


def add_measurement_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by `run` and `ab`."""
    parser.add_argument("--time-budget", type=float, default=60.0, metavar="S",
                        help="seconds for the whole suite (default 60); more processes, "
                             "tighter results")
    parser.add_argument("--filter", metavar="PATTERN",
                        help="only benchmarks whose name contains PATTERN, or matches it as a "
                             "glob when it has * or ?")
    parser.add_argument("--timeout", type=float, metavar="S",
                        help="seconds one worker process may take for one benchmark (default: "
                             "the budget's share per benchmark, at least 10)")
    parser.add_argument("--min-value-time", type=float, metavar="S",
                        help="seconds each timed value lasts at least (default: sized from the "
                             "budget, 0.05 down to 0.002, so that it buys enough processes)")
    parser.add_argument("--processes", type=int, metavar="N",
                        help="fixed number of processes per benchmark, ignoring the budget")
    parser.add_argument("--memory-processes", type=int, metavar="N",
                        help="processes per benchmark that also run the untimed memory pass "
                             "(default: enough for the memory gate to be able to pass)")
    parser.add_argument("--no-latency", action="store_true",
                        help="skip the per-call latency percentiles")
    parser.add_argument("--seed", type=int, help="seed for the order of workers in each round")
    from perfaction.metrics import MEASURE_TIME, MEASURES

    parser.add_argument("--measure", choices=MEASURES, default=MEASURE_TIME,
                        help="what to measure: wall time, CPU time and memory (default), or "
                             "instructions per call counted under Valgrind (which must be "
                             "installed): they repeat exactly on a busy machine and gate at 1%%, "
                             "but calls run 50-100x slower and I/O, cache misses and threads "
                             "are not seen")
    parser.add_argument("--count-processes", type=int, default=2, metavar="N",
                        help="instruction mode: Valgrind processes per side (default 2: the "
                             "second checks that the counts repeat)")
    parser.add_argument("--pytest", action="store_true",
                        help="MODULE_OR_PATH is a pytest-benchmark test file or folder: its "
                             "tests that use the benchmark fixture run unchanged under pytest "
                             "in the worker processes, named by node id (pytest must be "
                             "installed where the benchmarks run)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.add_argument("--shard", metavar="K/N",
                        help="measure only part K of N of the suite (after --filter); merge the "
                             "N results files with `perfaction merge`")
    parser.add_argument("--shard-costs", metavar="FILE",
                        help="with --shard: a results file of an earlier run of the whole suite "
                             "(the baseline) whose measured costs balance the parts; without it "
                             "the parts are balanced by count")
    parser.add_argument("--force", action="store_true",
                        help="write the results even over a file that another command (or no "
                             "perfaction command) wrote; re-running the same command never "
                             "needs it")


def options_from_args(args: argparse.Namespace, **extra: Any) -> Any:
    from perfaction.harness.runner import RunOptions

    return RunOptions(time_budget=args.time_budget, filter=args.filter, timeout=args.timeout,
                      min_value_time=args.min_value_time, processes=args.processes,
                      latency=not args.no_latency, seed=args.seed,
                      memory_processes=args.memory_processes, measure=args.measure,
                      count_processes=args.count_processes, pytest=args.pytest,
                      shard=shard_from_args(args), **extra)


def shard_from_args(args: argparse.Namespace) -> Any:
    """The --shard part, balanced by the costs in --shard-costs when given."""
    from perfaction.errors import ConfigError
    from perfaction.results import files
    from perfaction.results.shards import Shard, costs_basis, costs_of

    if args.shard is None:
        if args.shard_costs is not None:
            raise ConfigError("--shard-costs balances the parts of --shard; give --shard K/N too")
        return None
    shard = Shard.parse(args.shard, name="--shard")
    if args.shard_costs is None:
        return shard
    baseline = files.load_suite(args.shard_costs)
    return shard.with_costs(costs_of(baseline), costs_basis(baseline))


def _handle(args: argparse.Namespace) -> int:
    from perfaction.cli.outputs import RUN, check_overwrite
    from perfaction.errors import BenchmarkDiscoveryError
    from perfaction.harness import gitinfo
    from perfaction.harness.progress import make_progress
    from perfaction.harness.runner import run_suite
    from perfaction.pipeline import discovery_failure_suite, raise_for_failures
    from perfaction.results import files

    check_overwrite({"-o/--output": args.output}, command=RUN, force=args.force)
    cwd = Path.cwd()
    options = options_from_args(
        args, cwd=cwd, python=args.python,
        commit_sha=args.commit_sha or gitinfo.head_commit(cwd),
        ref=args.ref or gitinfo.current_ref(cwd))
    progress = make_progress(sys.stderr, quiet=args.quiet)
    try:
        suite = run_suite(args.target, options, progress=progress)
    except BenchmarkDiscoveryError as exc:
        files.dump_suite(discovery_failure_suite(args.target, str(exc), options), args.output)
        print(f"perfaction run: results with the failure written to {args.output}",
              file=sys.stderr)
        raise
    files.dump_suite(suite, args.output)
    print_summary(suite, sys.stdout)
    print(f"results written to {args.output}")
    for bench in suite.failures:
        print(f"perfaction run: error: {bench.error}", file=sys.stderr)
    raise_for_failures(head=suite)
    return 0


def print_summary(suite: Any, out: TextIO) -> None:
    """One plain line per benchmark (the rich report is `perfaction report`).

    Units and the spread are the reports' own (perfaction.units, the robust
    CV of analysis/stats.py), so this line and the comment never disagree. The
    metrics shown are the registry's rows with ``run_summary``, in display
    order; the main metric leads, with its spread and process count.
    """
    from perfaction import metrics
    from perfaction.analysis.stats import robust_cv
    from perfaction.report.units import format_spread, format_value

    def value_text(value: float, unit: str) -> str:
        # a whole percentage is enough for how busy the CPU was
        return f"{value * 100:.0f}%" if unit == "ratio" else format_value(value, unit)

    shown = sorted((m for m in metrics.in_display_order() if m.run_summary),
                   key=lambda m: m.name != metrics.MAIN_METRIC)   # stable: the rest keep order
    width = max((len(b.name) for b in suite.benchmarks), default=10)
    for bench in suite.benchmarks:
        if bench.failed:
            print(f"{bench.name:<{width}}  FAILED  {bench.error}", file=out)
            continue
        parts = []
        for info in shown:
            metric = bench.metrics.get(info.name)
            if metric is None:
                continue
            value = value_text(metric.center(), info.unit) + info.summary_suffix
            if info.name == metrics.MAIN_METRIC:
                spread = robust_cv(metric.per_process()) if metric.has_samples else math.nan
                parts.append(f"{value} {format_spread(None if math.isnan(spread) else spread)}"
                             f" ({len(metric.samples)} processes)")
            else:
                parts.append(f"{info.label} {value}")
        print(f"{bench.name:<{width}}  " + "  ".join(parts), file=out)
