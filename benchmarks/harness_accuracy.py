"""How closely perfaction's harness agrees with pyperf, and what it costs beyond its budget.

    python benchmarks/harness_accuracy.py [--budget 30] [--repeat 1] [--fast]
                                          [--pyperf-env copy|minimal|both]

Three reference functions (about 100 ns, 10 us and 1 ms per call) are timed
by perfaction's harness (``run_suite`` over this file, filtered to one
function, a third of the budget each) and by ``python -m pyperf timeit``
(20 processes x 3 values by default, like the harness a fresh process per
sample; with its workers given the parent's environment and, separately,
its default minimal one), plus timeit's best of 7 in this process as a
second reference. The tools alternate function by function, in random
order, so a shared machine's drifts hit all alike. Printed: per-op times,
the harness/pyperf ratio (target: within 3%), the harness's and pyperf's
timing loops compared inside one process, and where the harness's wall
time went beyond the budgeted measuring. Figures and conditions are
recorded in docs/harness.md.

This file is also the benchmark module the harness runs: the ``@benchmark``
set-ups below just return the reference functions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

from perfaction import benchmark

HERE = Path(__file__).resolve().parent

_SMALL = tuple(range(20))
_MEDIUM = list(range(550))


def ref_100ns():
    return sum(_SMALL)


def ref_10us():
    return sum([x * x for x in _MEDIUM])


def ref_1ms():
    total = 0
    for x in range(47_000):
        total += x & 7
    return total


REFERENCES = {"ref_100ns": ref_100ns, "ref_10us": ref_10us, "ref_1ms": ref_1ms}


@benchmark(name="ref_100ns")
def _bench_100ns():
    return ref_100ns


@benchmark(name="ref_10us")
def _bench_10us():
    return ref_10us


@benchmark(name="ref_1ms")
def _bench_1ms():
    return ref_1ms


def run_harness(budget: float, name: str):
    from perfaction.harness.runner import RunOptions, execute

    options = RunOptions(time_budget=budget, cwd=HERE, filter=name)
    started = time.perf_counter()
    result = execute(Path(__file__).name, options)
    wall = time.perf_counter() - started
    bench = result.suites[0].get(name)
    if bench is None or bench.failed:
        raise SystemExit(f"harness failed for {name}: {bench and bench.error}")
    time_metric, cpu_metric = bench.metrics["time"], bench.metrics["cpu_time"]
    return (time_metric.center(), min(time_metric.all_values()), cpu_metric.center(),
            len(time_metric.samples), result.stats, wall)


# pyperf hands its workers a minimal environment (PATH, HOME, locale) unless
# told --copy-env; perfaction's workers get the parent's environment minus
# PYTHON* variables and credentials. pyperf is run both ways so the table
# shows whether that difference is what separates the two tools ("copy" is
# the like-for-like comparison, "minimal" pyperf's default).
PYPERF_ENVS = {"copy": ["--copy-env"], "minimal": []}


def run_pyperf(name: str, fast: bool, env: str) -> tuple[float, float, int]:
    """Median and minimum per-call seconds from ``python -m pyperf timeit``, its process count."""
    import pyperf

    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / f"{name}.json"
        command = [sys.executable, "-m", "pyperf", "timeit", "--quiet", "-o", str(out),
                   *PYPERF_ENVS[env], "-s", f"from harness_accuracy import {name} as f", "f()"]
        if fast:
            command.insert(4, "--fast")
        done = subprocess.run(command, cwd=HERE, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"pyperf failed for {name}:\n{done.stderr}")
        bench = pyperf.Benchmark.load(str(out))
        return bench.median(), min(bench.get_values()), bench.get_nrun()


def same_process_loops(name: str, func, rounds: int = 15) -> float:
    """Median per-call time of the harness's timing loop / pyperf timeit's, in this process.

    Same loop count, values interleaved in random order: whatever differs
    here is the loop itself, not the processes around it. pyperf's Timer is
    a private module (``pyperf._timeit``), the code ``pyperf timeit`` runs.
    """
    from pyperf._timeit import Timer

    from perfaction.harness.measure import _run_loop, calibrate

    theirs = Timer(stmt="f()", setup=f"from harness_accuracy import {name} as f")
    loops = calibrate(func, 0.1).loops
    ours_values, their_values = [], []
    order = random.Random(name)
    for _ in range(rounds):
        for tool in order.sample(["ours", "theirs"], 2):
            if tool == "ours":
                wall, _ = _run_loop(func, loops, time.perf_counter, time.process_time)
                ours_values.append(wall / loops)
            else:
                their_values.append(theirs.time_func(loops) / loops)
    return statistics.median(ours_values) / statistics.median(their_values)


def timeit_best(func) -> float:
    timer = timeit.Timer(func)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=7, number=number)) / number


def timeit_cpu_median(func) -> float:
    """Median CPU seconds per call over 15 repeats (CPU time ignores preemption)."""
    timer = timeit.Timer(func, timer=time.process_time)
    number, _ = timer.autorange()        # values of >= 0.2 s CPU
    return statistics.median(timer.repeat(repeat=15, number=number)) / number


def _fmt(seconds: float) -> str:
    for unit, scale in (("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:8.3f} {unit}"
    return f"{seconds / 1e-9:8.1f} ns"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=30.0,
                        help="harness time budget in seconds, shared by the three functions")
    parser.add_argument("--repeat", type=int, default=1,
                        help="alternate harness and pyperf this many times; medians reported")
    parser.add_argument("--fast", action="store_true", help="pyperf --fast (fewer processes)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--seed", type=int, default=1, help="order of harness and pyperf runs")
    parser.add_argument("--pyperf-env", choices=["copy", "minimal", "both"], default="both",
                        help="pyperf workers' environment: the parent's (--copy-env, as the "
                             "harness's workers), pyperf's minimal default, or both (default)")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    rng = random.Random(args.seed)
    share = args.budget / len(REFERENCES)
    envs = list(PYPERF_ENVS) if args.pyperf_env == "both" else [args.pyperf_env]
    ratios = {(n, e): [] for n in REFERENCES for e in envs}
    min_ratios = {(n, e): [] for n in REFERENCES for e in envs}
    cpu_ratios: dict[str, list[float]] = {n: [] for n in REFERENCES}
    loop_ratios: dict[str, list[float]] = {n: [] for n in REFERENCES}
    rows = []
    overheads = []
    for rep in range(args.repeat):
        for name, func in REFERENCES.items():
            # The harness and every pyperf variant in random order, so drifts hit all alike.
            order = ["harness", *envs]
            rng.shuffle(order)
            theirs: dict[str, tuple[float, float, int]] = {}
            for tool in order:
                if tool == "harness":
                    ours, our_min, our_cpu, procs, stats, wall = run_harness(share, name)
                else:
                    theirs[tool] = run_pyperf(name, args.fast, tool)
            overheads.append((name, stats, wall))
            best = timeit_best(func)
            cpu_reference = timeit_cpu_median(func)
            cpu_ratios[name].append(our_cpu / cpu_reference)
            loop_ratios[name].append(same_process_loops(name, func))
            for env in envs:
                their_median, their_min, runs = theirs[env]
                ratios[name, env].append(ours / their_median)
                min_ratios[name, env].append(our_min / their_min)
                rows.append((rep + 1, name, env, ours, procs, their_median, runs,
                             ours / their_median, our_min, their_min, best, our_cpu,
                             cpu_reference))
    load_after = os.getloadavg()

    print(f"\nload average before {load_before[0]:.2f}, after {load_after[0]:.2f}; "
          f"{os.cpu_count()} logical cores; Python {sys.version.split()[0]}")
    print(f"\n{'rep':>3}  {'function':<10} {'pyperf env':<10} {'harness':>12} {'procs':>5} "
          f"{'pyperf':>12} {'runs':>4} {'diff':>7}   {'harness min':>12} {'pyperf min':>12} "
          f"{'timeit best':>12}   {'harness cpu':>12} {'timeit cpu':>12} {'diff':>7}")
    for (rep, name, env, ours, procs, theirs_median, runs, ratio, our_min, their_min, best,
         our_cpu, cpu_reference) in rows:
        print(f"{rep:>3}  {name:<10} {env:<10} {_fmt(ours)} {procs:>5} {_fmt(theirs_median)} "
              f"{runs:>4} {(ratio - 1) * 100:+6.1f}%   {_fmt(our_min)} {_fmt(their_min)} "
              f"{_fmt(best)}   {_fmt(our_cpu)} {_fmt(cpu_reference)} "
              f"{(our_cpu / cpu_reference - 1) * 100:+6.1f}%")
    print("\nmedian over repeats of the differences "
          "(wall vs pyperf: medians, minimums; CPU time vs timeit's CPU-time median):")
    verdicts: dict[str, dict[str, float]] = {}
    for name in REFERENCES:
        cpu_diff = (statistics.median(cpu_ratios[name]) - 1) * 100
        verdicts[name] = {"cpu": cpu_diff}
        parts = []
        for env in envs:
            diff = (statistics.median(ratios[name, env]) - 1) * 100
            min_diff = (statistics.median(min_ratios[name, env]) - 1) * 100
            verdicts[name].update({f"median_{env}": diff, f"minimum_{env}": min_diff})
            parts.append(f"vs pyperf ({env} env) wall {diff:+.1f}% "
                         f"({'within' if abs(diff) <= 3 else 'OUTSIDE'} 3%), "
                         f"minimum {min_diff:+.1f}%")
        loop_diff = (statistics.median(loop_ratios[name]) - 1) * 100
        verdicts[name]["same_process_loop"] = loop_diff
        print(f"  {name:<10} " + "; ".join(parts) + f"; CPU {cpu_diff:+.1f}% "
              f"({'within' if abs(cpu_diff) <= 3 else 'OUTSIDE'} 3%); the two timing loops "
              f"in one process {loop_diff:+.1f}%")

    print(f"\nharness overhead (per harness run, budget {share:g} s each):")
    for name, stats, wall in overheads:
        per_worker = stats.worker_startup / max(1, stats.worker_processes)
        print(f"  {name:<10} wall {wall:5.1f} s (overrun {wall - share:+.1f} s); discovery "
              f"{stats.discovery:.2f} s, calibration {stats.calibration:.2f} s; "
              f"{stats.worker_processes} workers, start-up {per_worker * 1000:.0f} ms each, "
              f"module import {stats.user_imports / max(1, stats.worker_processes) * 1000:.0f} ms "
              f"each; kept timed values {stats.timed / wall * 100:.0f}% of wall")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "rows": rows, "median_difference_pct": verdicts,
            "load": [load_before[0], load_after[0]],
            "overhead": [{"function": n, "wall": w, "budget": share, **vars(s)}
                         for n, s, w in overheads],
        }, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
