"""How the run-wide correction decides at the process counts a budget gives (simulated).

Same-runner suites of K benchmarks measured in N rounds are simulated the way
a shared 2-core runner behaves: every round has a load factor that moves all
benchmarks of both sides (heavy-tailed, 5 %), each process adds its own noise
(heavy-tailed, 1-4 % depending on the benchmark), and now and then one
process is preempted (+30-100 % on one value). The data go through the real
``compare_suites`` (same-runner mode, default policy), so what is counted is
exactly what a user would be told:

- A/A: no code change. A false alarm is a run with any REGRESSED time metric;
  "decided" is the share of time metrics said unchanged (the rest: inconclusive).
- A/B: +10 % in 10 % of the benchmarks; detected is the share of those
  flagged REGRESSED, and any other benchmark flagged is counted as a false alarm.

For each (K, N) the Holm column says how many rounds Holm alone would have
needed before any test could pass (2**-N <= 0.01 / K): the floor max-T removes.

    python benchmarks/correction_quality.py --trials 200 --out out/correction_quality.json

The figures in docs/statistics.md came from that command.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from perfaction.analysis.compare import compare_suites
from perfaction.analysis.comparison import Verdict
from perfaction.analysis.policy import Policy
from perfaction.results.model import Benchmark, Environment, Metric, Suite

ENV = Environment(cpu_model="simulated", logical_cores=2, python_version="3.13")


def _side(rng: np.random.Generator, centers: np.ndarray, noise: np.ndarray,
          load: np.ndarray) -> np.ndarray:
    rounds, k = load.shape[0], len(centers)
    values = centers * load * np.exp(noise * rng.standard_t(4, size=(rounds, k)) / math.sqrt(2))
    preempted = rng.random((rounds, k)) < 0.02
    return values * np.where(preempted, 1.0 + rng.uniform(0.3, 1.0, (rounds, k)), 1.0)


def _suite(values: np.ndarray) -> Suite:
    return Suite(tuple(Benchmark(f"b{j:03d}", {"time": Metric(
        unit="s", samples=tuple((float(v),) for v in values[:, j]))})
        for j in range(values.shape[1])), environment=ENV)


def trial(rng: np.random.Generator, k: int, rounds: int, slowed: int) -> dict:
    centers = np.geomspace(1e-6, 5e-3, k)
    noise = rng.uniform(0.01, 0.04, k)
    load = np.exp(0.05 * rng.standard_t(3, size=(rounds, 1)))
    base = _side(rng, centers, noise, load)
    head = _side(rng, centers, noise, load)
    head[:, :slowed] *= 1.10
    comparison = compare_suites(_suite(base), _suite(head), Policy(), mode="same-runner")
    verdicts = {d.benchmark: d.verdict for d in comparison.deltas if d.metric == "time"}
    names = sorted(verdicts)
    hit = [verdicts[n] is Verdict.REGRESSED for n in names[:slowed]]
    others = [verdicts[n] for n in names[slowed:]]
    return {"false_alarm": any(v is Verdict.REGRESSED for v in others),
            "decided": sum(v is Verdict.UNCHANGED for v in others) / max(len(others), 1),
            "detected": sum(hit) / slowed if slowed else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    rows = []
    print(f"{'K':>4} {'rounds':>6} {'Holm needs':>10} {'A/A false alarms':>17} {'A/A decided':>11} "
          f"{'A/B detected':>12} {'A/B false alarms':>16} {'s/run':>6}")
    for k, rounds in ((10, 8), (30, 8), (100, 8), (100, 12), (300, 10)):
        started = time.perf_counter()
        aa = [trial(rng, k, rounds, 0) for _ in range(args.trials)]
        ab = [trial(rng, k, rounds, max(1, k // 10)) for _ in range(args.trials)]
        elapsed = (time.perf_counter() - started) / (2 * args.trials)
        row = {"benchmarks": k, "rounds": rounds, "trials": args.trials,
               "holm_rounds_needed": math.ceil(math.log2(k / 0.01)),
               "aa_false_alarms": sum(t["false_alarm"] for t in aa),
               "aa_decided": float(np.mean([t["decided"] for t in aa])),
               "ab_detected": float(np.mean([t["detected"] for t in ab])),
               "ab_false_alarms": sum(t["false_alarm"] for t in ab),
               "seconds_per_run": elapsed}
        rows.append(row)
        print(f"{k:>4} {rounds:>6} {row['holm_rounds_needed']:>10} "
              f"{row['aa_false_alarms']:>8}/{args.trials:<8} {row['aa_decided']:>10.0%} "
              f"{row['ab_detected']:>11.0%} {row['ab_false_alarms']:>8}/{args.trials:<7} "
              f"{elapsed:>6.2f}", flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
