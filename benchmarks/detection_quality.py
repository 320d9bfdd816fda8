"""How well perfaction's rule detects real slowdowns, and how often it cries wolf.

Measures the workloads of benchmarks/detection_workloads/dq_suite.py (a
pure-Python loop, a dict/list workload, a numpy workload) on this machine,
with a deterministic slowdown knob, and evaluates three decision rules on the
same measurements: perfaction's (Policy defaults), the reference article's
(mean or p99 of the run more than 5 % worse than the base) and
github-action-benchmark's default (one value, alert at 200 %).

Steps (docs/detection-quality.md explains each and why it is fair):

1. sizing: real runs at ``--time-budget`` and ``--small-budget`` with default
   settings, same-runner (``perfaction.harness.ab``) and baseline (one tree),
   to learn how many processes per side such a run gets, and its wall time;
2. the knob checked in isolation (in-process timing, no harness);
3. pool runs: the real runner over eight trees of the suite (four without
   slowdown, one each at +2/5/10/20 %), fresh worker processes interleaved in
   randomized rounds exactly as A/B mode interleaves base and head;
4. trials composed from disjoint chunks of those processes, each rule applied.

Raw results go to a JSON file (default out/detection_quality.json); re-render
the tables without measuring again with ``--from-json``. Run from the
repository root:

    python benchmarks/detection_quality.py                 # ~35 min
    python benchmarks/detection_quality.py --quick         # ~2 min smoke run
    python benchmarks/detection_quality.py --from-json out/detection_quality.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "detection_workloads"))

import dq_render  # noqa: E402
import dq_suite  # noqa: E402
import dq_trials  # noqa: E402

from perfaction import metrics  # noqa: E402
from perfaction.analysis.compare import compare_suites  # noqa: E402
from perfaction.analysis.policy import Policy  # noqa: E402
from perfaction.analysis.stats import robust_cv  # noqa: E402
from perfaction.harness import environment  # noqa: E402
from perfaction.harness.ab import execute_ab  # noqa: E402
from perfaction.harness.progress import Progress  # noqa: E402
from perfaction.harness.runner import RunOptions, Side, execute  # noqa: E402

TARGET = "dq_suite.py"
LEVELS = (0.02, 0.05, 0.10, 0.20)
ZERO_SIDES = 4   # default count of zero-slowdown trees: two A/A pairs per chunk of rounds
FORMAT = 1


def zero_side_names(count: int) -> tuple[str, ...]:
    if count < 2 or count % 2:
        raise SystemExit(f"--zero-sides must be an even number >= 2, got {count}")
    return tuple(f"z{i}" for i in range(count))


def level_side(level: float) -> str:
    return f"s{round(level * 100):02d}"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def make_tree(parent: Path, name: str, slowdown: float) -> Path:
    """A copy of the workload module whose knob says ``slowdown``: one 'commit'."""
    root = parent / name
    root.mkdir()
    shutil.copy2(HERE / "detection_workloads" / "dq_suite.py", root / TARGET)
    (root / "dq_knob.py").write_text(f"SLOWDOWN = {slowdown!r}\n", encoding="utf-8")
    return root


class Recorder(Progress):
    """Wall seconds of every worker process of the rounds, by 'side:benchmark'."""

    def __init__(self, label: str, clock: Callable[[], float] = time.perf_counter):
        self.walls: dict[str, list[float]] = {}
        self._label, self._clock = label, clock
        self._open: tuple[str, float] | None = None
        self._round = 0

    def step(self, *, round_index: int, rounds: int, benchmark: str, time_left: float) -> None:
        self._close()
        self._open = (benchmark, self._clock())
        if round_index != self._round and (round_index == 1 or round_index % 10 == 0):
            log(f"{self._label}: round {round_index}/{rounds}, load {load()}")
        self._round = round_index

    def failure(self, message: str) -> None:
        log(f"{self._label}: FAILURE {message}")

    def finish(self, *, elapsed: float) -> None:
        self._close()

    def _close(self) -> None:
        if self._open is not None:
            label, started = self._open
            self.walls.setdefault(label, []).append(self._clock() - started)
            self._open = None


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------

def sizing_run(mode: str, budget: float, trees: dict[str, Path], seed: int) -> dict[str, Any]:
    """A real run at ``budget`` with default settings: processes per side and wall time."""
    log(f"sizing: real {mode} run, time budget {budget:g} s")
    options = RunOptions(time_budget=budget, seed=seed)
    before = load()
    if mode == dq_trials.SAME_RUNNER:
        result = execute_ab(trees["base"], trees["head"], TARGET, options)
        base, head = result.suites
        comparison = compare_suites(base, head, Policy(), mode=mode)
        verdicts = {f"{d.benchmark}:{d.metric}": d.verdict.value for d in comparison.deltas
                    if d.gating}
    else:
        result = execute(TARGET, replace(options, cwd=trees["base"]))
        head, verdicts = result.suites[0], None
    n = min(len(b.metrics[metrics.TIME].samples) for b in head.benchmarks
            if metrics.TIME in b.metrics)
    stats = result.stats
    return {"mode": mode, "budget": budget, "n": n, "wall": stats.wall, "rounds": stats.rounds,
            "seconds_per_process": stats.worker_wall / max(1, stats.worker_processes),
            "gating_verdicts": verdicts, "load": [before, load()]}


def noise_check(budget: float, seed: int) -> dict[str, Any]:
    """One real same-runner A/A run: spread between processes of wall time and CPU time,
    and perfaction's verdict and smallest detectable change on each."""
    with tempfile.TemporaryDirectory(prefix="perfaction-dq-") as tmp:
        trees = {name: make_tree(Path(tmp), name, 0.0) for name in ("base", "head")}
        before = load()
        base, head = execute_ab(trees["base"], trees["head"], TARGET,
                                RunOptions(time_budget=budget, seed=seed)).suites
    out: dict[str, Any] = {"budget": budget, "load": [before, load()], "benchmarks": {}}
    for metric in (metrics.TIME, metrics.CPU_TIME):
        sides = [{b.name: b.metrics[metric].samples for b in suite.benchmarks}
                 for suite in (base, head)]
        trial = dq_trials.Trial(dq_trials.SAME_RUNNER, 0.0, None, sides[0], sides[1],
                                f"noise check, {metric}")
        for bench, delta in dq_trials.perfaction_deltas(trial, Policy()).items():
            per_process = base.get(bench).metrics[metric].per_process()
            out["benchmarks"].setdefault(bench, {})[metric] = {
                "n": len(per_process), "robust_cv": robust_cv(per_process),
                "verdict": delta.verdict.value, "detectable": delta.detectable}
    for bench, entry in out["benchmarks"].items():
        entry["cpu_utilisation"] = statistics.median(
            base.get(bench).metrics[metrics.CPU_UTILISATION].per_process())
    return out


def verify_knob(repeats: int, seed: int) -> dict[str, dict[str, float]]:
    """Slowdown of each knob level in one process, no harness: CPU seconds per call.

    CPU time rather than wall time: on a loaded machine the wall clock also
    counts the time other processes held the core. Levels are interleaved in
    random order, ``repeats`` blocks of ~20 ms each; the ratio of medians and
    the ratio of minima are both kept.
    """
    rng = random.Random(seed)
    out: dict[str, dict[str, float]] = {}
    for name, factory in dq_suite.FACTORIES.items():
        funcs = {level: factory(level) for level in (0.0, *LEVELS)}
        number = max(1, int(0.02 / max(1e-7, timeit.Timer(funcs[0.0]).timeit(50) / 50)))
        times: dict[float, list[float]] = {level: [] for level in funcs}
        for _ in range(repeats):
            order = list(funcs)
            rng.shuffle(order)
            for level in order:
                start = time.process_time()
                timeit.Timer(funcs[level]).timeit(number)
                times[level].append((time.process_time() - start) / number)
        median, low = statistics.median(times[0.0]), min(times[0.0])
        out[name] = {f"{level:g}": statistics.median(times[level]) / median - 1 for level in LEVELS}
        out[name].update({f"min {level:g}": min(times[level]) / low - 1 for level in LEVELS})
        out[name]["per_call_us"] = median * 1e6
        log(f"knob {name}: " + ", ".join(f"{k}: {v:+.4f}" for k, v in out[name].items()))
    return out


def pool_run(index: int, trees: dict[str, Path], rounds: int, seed: int) -> dict[str, Any]:
    """One run of the real runner over every pool tree; per-process timed values kept."""
    roots = list(trees.values())
    sides = [Side(label, root, sys.executable, forbid=tuple(r for r in roots if r != root))
             for label, root in trees.items()]
    # Latency and memory passes run after the timing pass in each process and
    # cannot change its values; they are off only to save time.
    options = RunOptions(time_budget=24 * 3600.0, processes=rounds, memory=False, latency=False,
                         timeout=120.0, seed=seed)
    recorder = Recorder(f"pool run {index}")
    before = load()
    started = environment.utc_timestamp()
    result = execute(TARGET, options, sides=sides, progress=recorder, mode="same-runner")
    values: dict[str, dict[str, list[list[float]]]] = {}
    cpu: dict[str, dict[str, list[list[float]]]] = {}
    walls: dict[str, dict[str, list[float]]] = {}
    loops: dict[str, dict[str, int | None]] = {}
    errors = []
    for label, suite in zip(trees, result.suites, strict=True):
        for bench in suite.benchmarks:
            if bench.error:
                errors.append(f"{label}:{bench.name}: {bench.error}")
            metric = bench.metrics.get(metrics.TIME)
            samples = [list(p) for p in metric.samples] if metric else []
            values.setdefault(label, {})[bench.name] = samples
            cpu_metric = bench.metrics.get(metrics.CPU_TIME)
            cpu.setdefault(label, {})[bench.name] = (
                [list(p) for p in cpu_metric.samples] if cpu_metric else [])
            loops.setdefault(label, {})[bench.name] = bench.loops
            recorded = recorder.walls.get(f"{label}:{bench.name}", [])
            if len(recorded) == len(samples):
                walls.setdefault(label, {})[bench.name] = recorded
    log(f"pool run {index}: {result.stats.wall:.0f} s, {result.stats.rounds} rounds, "
        f"errors {len(errors)}")
    return {"index": index, "started": started, "wall": result.stats.wall,
            "rounds": result.stats.rounds, "load": [before, load()], "loops": loops,
            "values": values, "cpu": cpu, "walls": walls, "errors": errors}


def pool_rounds(trials: int, runs: int, n_same: int, n_baseline: int, *,
                max_rounds: int, zero_sides: tuple[str, ...]) -> int:
    """Rounds per pool run: enough chunks for ``trials`` same-runner A/A trials (one per
    pair of zero sides per chunk of ``n_same`` rounds) over ``runs`` runs, and at least
    one baseline chunk; fewer (whole chunks) when that exceeds ``max_rounds``."""
    chunks_per_run = math.ceil(math.ceil(trials / len(dq_trials.zero_pairs(zero_sides))) / runs)
    wanted = max(n_baseline, chunks_per_run * n_same)
    if wanted <= max_rounds:
        return wanted
    capped = max(n_baseline, n_same, max_rounds // n_same * n_same)
    log(f"pool capped by --max-minutes: {capped} rounds per run instead of {wanted}")
    return capped


def measure(args: argparse.Namespace, save: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    started = time.perf_counter()
    data: dict[str, Any] = {
        "format": FORMAT, "command": " ".join(["python", "benchmarks/detection_quality.py",
                                                *sys.argv[1:]]),
        "started": environment.utc_timestamp(), "environment": environment.gather(),
        "load_at_start": load(), "levels": list(LEVELS),
        "zero_sides": list(zero_side_names(args.zero_sides)),
        "level_sides": {f"{lv:g}": level_side(lv) for lv in LEVELS},
        "settings": {"trials": args.trials, "runs": args.runs, "seed": args.seed,
                     "time_budget": args.time_budget, "small_budget": args.small_budget}}
    with tempfile.TemporaryDirectory(prefix="perfaction-dq-") as tmp:
        parent = Path(tmp)
        trees = {"base": make_tree(parent, "base", 0.0), "head": make_tree(parent, "head", 0.0)}
        budgets = [args.time_budget] + ([args.small_budget] if args.small_budget else [])
        if args.resume:   # sizing and knob of an earlier (interrupted) run
            earlier = json.loads(args.resume.read_text(encoding="utf-8"))
            for key in ("sizing", "knob", "started", "load_at_start"):
                data[key] = earlier[key]
            data["resumed_from"] = str(args.resume)
        else:
            data["sizing"] = [sizing_run(mode, budget, trees, args.seed)
                              for budget in budgets for mode in dq_trials.MODES]
            data["knob"] = verify_knob(args.knob_repeats, args.seed)
        data["pool"] = []
        save(data)
        main = {s["mode"]: s for s in data["sizing"] if s["budget"] == args.time_budget}
        pool_trees = {side: make_tree(parent, side, 0.0) for side in data["zero_sides"]}
        pool_trees.update({level_side(lv): make_tree(parent, level_side(lv), lv) for lv in LEVELS})
        per_round = len(pool_trees) * len(dq_suite.FACTORIES) * max(
            s["seconds_per_process"] for s in main.values())
        rounds = pool_rounds(args.trials, args.runs, main[dq_trials.SAME_RUNNER]["n"],
                             main[dq_trials.BASELINE]["n"],
                             max_rounds=int(args.max_minutes * 60 / args.runs / per_round),
                             zero_sides=tuple(data["zero_sides"]))
        log(f"pool: {args.runs} runs x {rounds} rounds x {len(pool_trees)} sides x "
            f"{len(dq_suite.FACTORIES)} benchmarks, ~{rounds * per_round * args.runs / 60:.0f} min")
        for i in range(args.runs):
            data["pool"].append(pool_run(i, pool_trees, rounds, args.seed * 1000 + i))
            save(data)
    data["finished"] = environment.utc_timestamp()
    data["load_at_end"] = load()
    data["measuring_seconds"] = time.perf_counter() - started
    return data


# ---------------------------------------------------------------------------
# Analysis: raw JSON -> rates
# ---------------------------------------------------------------------------

def pool_runs(data: dict[str, Any], key: str = "values") -> list[dq_trials.PoolRun]:
    """The pool as PoolRuns of wall times (``values``) or CPU times (``cpu``)."""
    return [dq_trials.PoolRun(
        run["index"],
        {side: {b: tuple(tuple(p) for p in ps) for b, ps in per.items()}
         for side, per in run[key].items()},
        {side: {b: tuple(w) for b, w in per.items()} for side, per in run["walls"].items()})
        for run in data["pool"]]


def has_cpu(data: dict[str, Any]) -> bool:
    """Pools measured since CPU times were kept (earlier JSON files have wall times only)."""
    return bool(data["pool"]) and all(
        "cpu" in run and all(ps for per in run["cpu"].values() for ps in per.values())
        for run in data["pool"])


def analyse(data: dict[str, Any], policy: Policy) -> list[dict[str, Any]]:
    """One entry per (budget, mode): n, and the evaluated trials of every level.

    With CPU times in the pool, the same trials are also judged on CPU time
    (rule ``perfaction_cpu``: the default policy applied to the cpu_time values).
    Same-runner trials are also judged with the paired analysis (rule
    ``perfaction_paired``: base and head processes paired by round).
    """
    runs = pool_runs(data)
    cpu_runs = pool_runs(data, "cpu") if has_cpu(data) else None
    level_sides = {float(k): v for k, v in data["level_sides"].items()}
    out = []
    for sizing in data["sizing"]:
        trials = dq_trials.compose(runs, sizing["mode"], sizing["n"], data["zero_sides"],
                                   level_sides)
        cpu_trials = (dq_trials.compose(cpu_runs, sizing["mode"], sizing["n"],
                                        data["zero_sides"], level_sides) if cpu_runs else None)
        evaluated = {}
        for level, ts in trials.items():
            rows = []
            for index, trial in enumerate(ts):
                outcome = dq_trials.evaluate(trial, policy)
                if cpu_trials is not None:
                    dq_trials.add_cpu_outcome(outcome, cpu_trials[level][index], policy)
                if trial.mode == dq_trials.SAME_RUNNER:
                    dq_trials.add_paired_outcome(outcome, trial, policy)
                rows.append((trial.slowed, outcome, trial.seconds))
            evaluated[level] = rows
        out.append({"sizing": sizing, "evaluated": evaluated})
    return out


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically: a run stopped half-way leaves the last complete stage readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(data), encoding="utf-8")
    partial.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=24,
                        help="same-runner A/A trials wanted at --time-budget (sizes the pool)")
    parser.add_argument("--runs", type=int, default=4,
                        help="separate pool runs (baseline trials pair consecutive runs)")
    parser.add_argument("--time-budget", type=float, default=60.0,
                        help="the budget whose processes per side a trial uses (default 60)")
    parser.add_argument("--small-budget", type=float, default=30.0,
                        help="a smaller budget reported too; 0 to skip")
    parser.add_argument("--max-minutes", type=float, default=32.0,
                        help="cap on the pool's estimated duration (fewer rounds per run)")
    parser.add_argument("--zero-sides", type=int, default=ZERO_SIDES,
                        help="zero-slowdown trees in the pool (even); each pair gives one A/A "
                             "trial per chunk of rounds, so more pairs buy A/A trials for less "
                             "time than more rounds (default 4)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--knob-repeats", type=int, default=40)
    parser.add_argument("--noise-check", action="store_true",
                        help="one real same-runner A/A run at --time-budget: spread of wall "
                             "time against CPU time")
    parser.add_argument("--knob-only", action="store_true",
                        help="only check the knob in isolation (use with --knob-repeats)")
    parser.add_argument("--quick", action="store_true",
                        help="a ~2 minute smoke run: tiny budgets and pool")
    parser.add_argument("--out", type=Path, default=None,
                        help="raw results JSON (default out/detection_quality[_quick].json)")
    parser.add_argument("--resume", type=Path, default=None,
                        help="take sizing and knob results from an earlier run's JSON; "
                             "measure the pool only")
    parser.add_argument("--from-json", type=Path, default=None,
                        help="render the tables from an earlier run's JSON, measuring nothing")
    args = parser.parse_args(argv)
    if args.noise_check:
        checked = noise_check(args.time_budget, args.seed)
        write_json(args.out or Path("out") / "detection_quality_noise.json", checked)
        print(dq_render.noise_table(checked))
        return 0
    if args.knob_only:
        knob = verify_knob(args.knob_repeats, args.seed)
        write_json(args.out or Path("out") / "detection_quality_knob.json",
                   {"repeats": args.knob_repeats, "load": load(), "knob": knob})
        print(dq_render.knob_isolation_table(knob, LEVELS))
        return 0
    if args.from_json:
        data = json.loads(args.from_json.read_text(encoding="utf-8"))
    else:
        if args.quick:
            args.trials, args.runs, args.time_budget, args.small_budget = 4, 2, 6.0, 0.0
            args.knob_repeats, args.max_minutes = 5, 1.5
        out = args.out or Path("out") / ("detection_quality_quick.json" if args.quick
                                         else "detection_quality.json")
        data = measure(args, lambda partial: write_json(out, partial))
        write_json(out, data)
        log(f"raw results written to {out}")
    print(dq_render.render(data, analyse(data, Policy())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
