"""One suite on one runner against the same suite in N shards: what sharding buys.

Writes one synthetic suite (``--benchmarks`` benchmarks whose calls last
from 1 us to 5 ms, log-spaced; optionally a module import that takes
``--imports`` seconds, which every worker process pays, standing for numpy or
scipy) into a temporary git repository of two commits, base and head: the
head commit makes every benchmark whose index is a multiple of 1/``--slow``
``--by`` percent slower (none without ``--slow``), so the run measures both
A/A decisions and detection. Then, for each ``--repeat``, it runs the real
command line as a user would, on the same suite, in two configurations:

- A, one job: the whole suite at ``--budget`` seconds, as one `perfaction ab`
  (``--mode ab``) or as `perfaction run` + `perfaction compare` against a
  baseline (``--mode run``);
- B, N shard jobs run one after another here (in CI they run in parallel),
  each `perfaction ab|run --shard K/N` at the same per-job budget, then a
  merge job: `perfaction merge` (``--base`` for ab) and `perfaction compare`
  (``--mode same-runner`` for ab).

In ``--mode run`` the baseline is a `perfaction run` of the base commit's
whole suite, measured once per repeat before the two configurations and
shared by both (it stands for the stored baseline of the main branch, so its
wall time is shown but not counted in either configuration's jobs).
``--balance costs`` balances the shards by the measured costs of a whole
suite (``--shard-costs``: the baseline in run mode; in ab mode configuration
A's base results of the same repeat, or of the one before when B goes first)
instead of by count.

    .venv/bin/python benchmarks/sharding.py --benchmarks 100 --shards 4 --budget 60 \\
        --imports 1 --repeat 2 --slow 0.1
    .venv/bin/python benchmarks/sharding.py --benchmarks 12 --shards 3 --budget 10 \\
        --imports 0 --repeat 1

The commands are the installed ``perfaction`` console script (``--perfaction``;
by default the one next to this interpreter, else the one on PATH), run from
the temporary repository with no PYTHON* variables, so their workers use that
script's interpreter and install. To measure the committed code rather than
an editable checkout, point ``--perfaction`` at a wheel install. For each
configuration and repeat the script reports the wall time of every job
(whole command lines, interpreter start-up included), the machine time (their
sum) and the elapsed time were the shards parallel (longest shard + merge
job); processes per benchmark (median and range over the benchmarks, from the
head results' time samples); and from the comparison's JSON, over the gating
metrics of the benchmarks left alone, how many were decided (regressed,
improved or unchanged, not inconclusive), for ``time`` and for all gating
metrics, the false alarms among them, and the slowed benchmarks' ``time``
flagged as regressed. Prints a Markdown table and the command line; raw
figures go to ``--json``. Nothing here asserts anything.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suite_scaling import processes_per_benchmark, slowed, suite_source, time_verdicts

MODULE = "bench_suite.py"
DECIDED = ("regressed", "improved", "unchanged")
FLAGGED = ("regressed", "improved")


def default_perfaction() -> str:
    beside = Path(sys.executable).parent / "perfaction"
    return str(beside) if beside.exists() else (shutil.which("perfaction") or "perfaction")


# ---------------------------------------------------------------------------
# The repository
# ---------------------------------------------------------------------------

def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=sharding benchmark",
                    "-c", "user.email=sharding@example.invalid", "-c", "commit.gpgsign=false",
                    *args], cwd=cwd, check=True, capture_output=True, text=True)


def make_repository(root: Path, count: int, import_seconds: float, slow: set[int],
                    by: float) -> tuple[Path, Path]:
    """(head checkout, base worktree): two commits of one suite, the second slowing ``slow``."""
    head = root / "repo"
    head.mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=head)
    (head / MODULE).write_text(suite_source(count, import_seconds))
    git("add", MODULE, cwd=head)
    git("commit", "-q", "-m", "base", cwd=head)
    (head / MODULE).write_text(suite_source(count, import_seconds, slow, 1 + by / 100))
    git("commit", "-q", "--allow-empty", "-a", "-m", "head", cwd=head)
    base = root / "base"
    git("worktree", "add", "-q", "--detach", str(base), "HEAD~1", cwd=head)
    return head, base


# ---------------------------------------------------------------------------
# Jobs
# ---------------------------------------------------------------------------

@dataclass
class Step:
    """One command line of a job."""

    args: list[str]
    wall: float
    exit_code: int
    error: str | None = None


@dataclass
class Job:
    name: str
    steps: list[Step] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return sum(s.wall for s in self.steps)

    @property
    def failed(self) -> bool:
        return any(s.exit_code not in (0, 1) for s in self.steps)


class Runner:
    def __init__(self, perfaction: str, cwd: Path, root: Path) -> None:
        self.perfaction = perfaction
        self.cwd = cwd
        self.root = str(root)   # recorded as WORK, so the figures hold no machine paths
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}

    def step(self, job: Job, *args: str, cwd: Path | None = None) -> Step:
        start = time.perf_counter()
        done = subprocess.run([self.perfaction, *args], cwd=cwd or self.cwd, env=self.env,
                              capture_output=True, text=True)
        wall = time.perf_counter() - start
        error = None
        if done.returncode not in (0, 1):
            error = (done.stdout[-1500:] + done.stderr[-2500:]).strip()
            sys.stderr.write(f"`perfaction {shlex.join(args)}` (job {job.name}) exited "
                             f"{done.returncode}:\n{error}\n")
        step = Step(["perfaction", *(a.replace(self.root, "WORK") for a in args)], wall,
                    done.returncode, error and error.replace(self.root, "WORK"))
        job.steps.append(step)
        return step


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------

@dataclass
class Outcome:
    """One configuration in one repeat."""

    config: str
    repeat: int
    jobs: list[Job]
    processes: list[int] = field(default_factory=list)
    time_untouched: int = 0
    time_decided: int = 0
    gating_untouched: int = 0
    gating_decided: int = 0
    false_alarms: int = 0
    slowed: int = 0
    detected: int = 0
    compared: bool = False

    @property
    def machine(self) -> float:
        return sum(j.wall for j in self.jobs)

    @property
    def elapsed(self) -> float:
        """Wall time from start to verdict were the shards parallel jobs."""
        shards = [j.wall for j in self.jobs if j.name.startswith("shard")]
        rest = [j.wall for j in self.jobs if not j.name.startswith("shard")]
        return (max(shards) if shards else 0.0) + sum(rest)

    def record(self) -> dict[str, Any]:
        out = asdict(self)
        out["jobs"] = [{"name": j.name, "wall": j.wall, "steps": [asdict(s) for s in j.steps]}
                       for j in self.jobs]
        out["machine"] = self.machine
        out["elapsed"] = self.elapsed
        return out


def read_figures(outcome: Outcome, head_results: Path, comparison: Path,
                 slow_names: set[str]) -> None:
    if head_results.exists():
        outcome.processes = processes_per_benchmark(head_results)[0]
    if not comparison.exists():
        return
    outcome.compared = True
    v = time_verdicts(comparison, slow_names)
    outcome.time_untouched, outcome.time_decided = v.untouched, v.decided
    outcome.slowed, outcome.detected = v.slowed, v.detected
    gating = [d for d in json.loads(comparison.read_text())["deltas"]
              if d.get("gating") and d["benchmark"] not in slow_names]
    outcome.gating_untouched = len(gating)
    outcome.gating_decided = sum(d["verdict"] in DECIDED for d in gating)
    outcome.false_alarms = sum(d["verdict"] in FLAGGED for d in gating)


def whole_suite(runner: Runner, args: argparse.Namespace, base: Path, out: Path,
                baseline: Path | None) -> Job:
    """Configuration A: one job measures (and compares) the whole suite."""
    job = Job("whole suite")
    budget = ["--time-budget", f"{args.budget:g}"]
    if args.mode == "ab":
        runner.step(job, "ab", MODULE, "--base-dir", str(base), *budget,
                    "-o", str(out / "head.json"), "--base-output", str(out / "base.json"),
                    "--json", str(out / "comparison.json"), "--no-fail", "-q")
    else:
        runner.step(job, "run", MODULE, *budget, "-o", str(out / "head.json"), "-q")
        if baseline is not None and (out / "head.json").exists():
            runner.step(job, "compare", str(baseline), str(out / "head.json"),
                        "--json", str(out / "comparison.json"), "--no-fail")
    return job


def sharded(runner: Runner, args: argparse.Namespace, base: Path, out: Path,
            baseline: Path | None, costs: Path | None) -> list[Job]:
    """Configuration B: N shard jobs one after another, then the merge job."""
    jobs = []
    budget = ["--time-budget", f"{args.budget:g}"]
    balance = ["--shard-costs", str(costs)] if costs is not None else []
    heads, bases = [], []
    for k in range(1, args.shards + 1):
        job = Job(f"shard {k}/{args.shards}")
        head_k, base_k = out / f"head-{k}.json", out / f"base-{k}.json"
        shard = ["--shard", f"{k}/{args.shards}", *balance]
        if args.mode == "ab":
            runner.step(job, "ab", MODULE, "--base-dir", str(base), *budget, *shard,
                        "-o", str(head_k), "--base-output", str(base_k), "--no-fail", "-q")
            bases.append(base_k)
        else:
            runner.step(job, "run", MODULE, *budget, *shard, "-o", str(head_k), "-q")
        heads.append(head_k)
        jobs.append(job)
    merge = Job("merge")
    jobs.append(merge)
    merged, merged_base = out / "merged.json", out / "merged.base.json"
    bases_args = [a for b in bases for a in ("--base", str(b))]
    runner.step(merge, "merge", *map(str, heads), *bases_args,
                "-o", str(merged), "--base-output", str(merged_base))
    if not merged.exists():
        return jobs
    if args.mode == "ab":
        runner.step(merge, "compare", str(merged_base), str(merged), "--mode", "same-runner",
                    "--json", str(out / "comparison.json"), "--no-fail")
    elif baseline is not None:
        runner.step(merge, "compare", str(baseline), str(merged),
                    "--json", str(out / "comparison.json"), "--no-fail")
    return jobs


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------

HEADER = ("| config | repeat | wall per job | machine time | elapsed (shards parallel) "
          "| processes per benchmark: median (range) | A/A time decided "
          "| A/A gating decided | false alarms | slowed detected | failed steps |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|")


def row(o: Outcome) -> str:
    walls = " · ".join(f"{j.name}: {j.wall:.1f} s" for j in o.jobs)
    processes = (f"{statistics.median(o.processes):g} ({min(o.processes)}-{max(o.processes)})"
                 if o.processes else "-")

    def share(decided: int, total: int) -> str:
        return f"{decided}/{total} ({decided / total:.0%})" if total else "-"

    verdicts = (f"{share(o.time_decided, o.time_untouched)} "
                f"| {share(o.gating_decided, o.gating_untouched)} | {o.false_alarms} "
                f"| {o.detected}/{o.slowed}" if o.compared else "- | - | - | -")
    failed = sum(s.exit_code not in (0, 1) for j in o.jobs for s in j.steps)
    return (f"| {o.config} | {o.repeat + 1} | {walls} | {o.machine:.1f} s | {o.elapsed:.1f} s "
            f"| {processes} | {verdicts} | {failed} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=int, default=100)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per job")
    parser.add_argument("--imports", type=float, default=1.0,
                        help="seconds the module import takes (default 1)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of both configurations")
    parser.add_argument("--mode", choices=["ab", "run"], default="ab",
                        help="same-runner `ab` (default), or `run` against a baseline run")
    parser.add_argument("--slow", type=float, default=0.0, metavar="F",
                        help="share of benchmarks made slower in the head commit (0.1)")
    parser.add_argument("--by", type=float, default=10.0, metavar="PCT",
                        help="how much slower, in percent (default 10)")
    parser.add_argument("--balance", choices=["count", "costs"], default="count",
                        help="balance the shards by count (default) or by a whole suite's "
                             "measured costs (--shard-costs)")
    parser.add_argument("--perfaction", default=default_perfaction(), metavar="PATH",
                        help="the perfaction command to run (default: the one next to this "
                             "interpreter, else the one on PATH)")
    parser.add_argument("--json", metavar="FILE", help="write the raw figures here")
    parser.add_argument("--keep", metavar="DIR",
                        help="work in DIR (new or empty) and keep the repository and every "
                             "results file there, instead of in a temporary directory")
    args = parser.parse_args(argv)
    if args.shards < 1 or args.benchmarks < args.shards:
        parser.error("need at least one shard and one benchmark per shard")
    command = shlex.join(["python", "benchmarks/sharding.py",
                          *(sys.argv[1:] if argv is None else argv)])
    version = subprocess.run([args.perfaction, "--version"], capture_output=True,
                             text=True).stdout.strip()
    print(f"{version or args.perfaction}; load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    slow = slowed(args.benchmarks, args.slow)
    slow_names = {f"bench_{i:03d}" for i in slow}
    outcomes: list[Outcome] = []
    baselines: list[Job] = []
    if args.keep and Path(args.keep).exists() and any(Path(args.keep).iterdir()):
        parser.error(f"--keep {args.keep}: the directory is not empty")
    with (contextlib.nullcontext(str(Path(args.keep).resolve())) if args.keep
          else tempfile.TemporaryDirectory(prefix="sharding_")) as tmp:
        head, base = make_repository(Path(tmp), args.benchmarks, args.imports, slow, args.by)
        runner = Runner(args.perfaction, head, Path(tmp))
        whole_base: Path | None = None   # ab: the latest whole-suite base results
        for repeat in range(args.repeat):
            out = Path(tmp) / f"repeat{repeat}"
            (out / "A").mkdir(parents=True)
            (out / "B").mkdir()
            baseline = None
            if args.mode == "run":
                baseline = out / "baseline.json"
                job = Job("baseline")
                runner.step(job, "run", MODULE, "--time-budget", f"{args.budget:g}",
                            "-o", str(baseline), "-q", cwd=base)
                baselines.append(job)
                print(f"repeat {repeat + 1}: baseline run of the base commit "
                      f"{job.wall:.1f} s", flush=True)
                if not baseline.exists():
                    baseline = None
            # alternate which configuration goes first, so slow drifts touch both
            for config in ("AB" if repeat % 2 == 0 else "BA"):
                if config == "A":
                    jobs = [whole_suite(runner, args, base, out / "A", baseline)]
                    if (out / "A" / "base.json").exists():
                        whole_base = out / "A" / "base.json"
                    outcome = Outcome("A: 1 job", repeat, jobs)
                else:
                    costs = None
                    if args.balance == "costs":
                        costs = baseline if args.mode == "run" else whole_base
                    jobs = sharded(runner, args, base, out / "B", baseline, costs)
                    outcome = Outcome(f"B: {args.shards} shards"
                                      + (" by costs" if costs else ""), repeat, jobs)
                read_figures(outcome, out / config / ("head.json" if config == "A"
                                                      else "merged.json"),
                             out / config / "comparison.json", slow_names)
                outcomes.append(outcome)
                print(f"repeat {repeat + 1}: {outcome.config} done, machine time "
                      f"{outcome.machine:.1f} s", flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    print()
    print(f"{args.benchmarks} benchmarks, {args.imports:g} s import, mode {args.mode}, "
          f"budget {args.budget:g} s per job, {len(slow)} slowed by {args.by:g} %")
    print()
    print(HEADER)
    for outcome in sorted(outcomes, key=lambda o: (o.config, o.repeat)):
        print(row(outcome))
    if baselines:
        print()
        print("Baseline runs (whole suite, base commit; not in either configuration's jobs): "
              + ", ".join(f"{j.wall:.1f} s" for j in baselines))
    print()
    print("```sh")
    print(command)
    print("```")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "command": command, "perfaction": version,
            "settings": {k: v for k, v in vars(args).items() if k not in ("json", "perfaction")},
            "slowed": sorted(slow_names),
            "baselines": [{"wall": j.wall, "steps": [asdict(s) for s in j.steps]}
                          for j in baselines],
            "outcomes": [o.record() for o in outcomes]}, indent=2) + "\n")
    failed = any(j.failed for o in outcomes for j in o.jobs) or any(j.failed for j in baselines)
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
