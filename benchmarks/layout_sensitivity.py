"""Does where a process puts things change how fast the same function runs?

    python benchmarks/layout_sensitivity.py [--factor env|depth] [--processes 16]
                                            [--levels 12] [--step 16]

Fresh processes time the reference functions of ``harness_accuracy.py`` with
the harness's own measuring code (``perfaction.harness.measure``: loops
calibrated to >= 50 ms, one warm-up value, three timed values), started
exactly as the harness starts its workers (``python -s -E``). The processes
are identical in every respect but one factor, at 12 levels:

- ``env``: an environment variable nobody reads, 0, step, 2 x step, ...
  bytes long (the environment is copied in before anything else, so its
  size could shift where later allocations land);
- ``depth``: the timing loop called 0, 1, 2, ... Python frames deeper (the
  interpreter's frames of the loop and of the function then sit at other
  offsets in memory).

Levels are interleaved in random order, so drifts of a shared machine hit
every level alike. Printed per function: the median per-process time at each
level relative to the first, and a Kruskal-Wallis test of "the factor makes
no difference" (a small p-value: it does). Why it matters: two tools that
start or call their workers differently (pyperf and perfaction) can then
disagree by that much while both measure correctly; docs/harness.md
("Why the two tools differ on fast functions") reports the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FUNCTIONS = ("ref_100ns", "ref_10us")


def child(name: str, depth: int) -> None:
    """Runs in the measured process: print the mean of three timed values, seconds per call."""
    sys.path.insert(0, str(HERE))
    import harness_accuracy

    from perfaction.harness.measure import calibrate, time_values

    func = harness_accuracy.REFERENCES[name]

    def nested(level: int) -> float:
        # Each level is one more frame on the interpreter's frame stack below
        # the timing loop, so the loop's frame (and the function's) start
        # further along it: the same code at a different address.
        if level:
            return nested(level - 1)
        loops = calibrate(func, 0.05).loops
        return statistics.fmean(v.wall for v in time_values(func, loops, 3, 1))

    print(nested(depth))


def measure(name: str, factor: str, level: int, step: int) -> float:
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env["LAYOUT_PADDING"] = "x" * (level * step if factor == "env" else 0)
    depth = level if factor == "depth" else 0
    done = subprocess.run([sys.executable, "-s", "-E", __file__, "--child", name, str(depth)],
                          env=env, cwd=HERE, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"measuring {name} failed:\n{done.stderr}")
    return float(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=16, help="processes per level")
    parser.add_argument("--factor", choices=["env", "depth"], default="env",
                        help="what differs between the processes: the size of an unused "
                             "environment variable, or how many frames deep the timing loop "
                             "runs (default env)")
    parser.add_argument("--levels", type=int, default=12, help="levels of the factor tried")
    parser.add_argument("--step", type=int, default=16,
                        help="bytes between environment sizes (--factor env)")
    parser.add_argument("--functions", nargs="+", default=list(FUNCTIONS),
                        choices=list(FUNCTIONS) + ["ref_1ms"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", nargs=2, metavar=("FUNCTION", "DEPTH"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]))
        return 0

    from scipy import stats

    rng = random.Random(args.seed)
    levels = list(range(args.levels))
    unit = "bytes" if args.factor == "env" else "frames"
    scale = args.step if args.factor == "env" else 1
    load_before = os.getloadavg()[0]
    for name in args.functions:
        times: dict[int, list[float]] = {level: [] for level in levels}
        for _ in range(args.processes):
            order = levels[:]
            rng.shuffle(order)
            for level in order:
                times[level].append(measure(name, args.factor, level, args.step))
        medians = {level: statistics.median(values) for level, values in times.items()}
        reference = medians[levels[0]]
        what = ("size of an unused environment variable" if args.factor == "env"
                else "frames below the timing loop")
        print(f"\n{name}: median per-process time by {what} ({args.processes} processes each)")
        for level in levels:
            quartiles = statistics.quantiles(times[level], n=4)
            print(f"  {level * scale:5d} {unit:6s}  {medians[level] * 1e9:10.1f} ns  "
                  f"{(medians[level] / reference - 1) * 100:+5.1f} %   "
                  f"IQR {quartiles[0] * 1e9:.1f}-{quartiles[2] * 1e9:.1f} ns")
        low, high = min(medians.values()), max(medians.values())
        test = stats.kruskal(*times.values())
        print(f"  slowest / fastest: {(high / low - 1) * 100:+.1f} %; "
              f"Kruskal-Wallis p = {test.pvalue:.2g}")
    print(f"\nload average before {load_before:.2f}, after {os.getloadavg()[0]:.2f}; "
          f"{os.cpu_count()} logical cores; Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
