"""Detection quality from whole `perfaction ab` runs, as a user gets them.

Each run is one real command line: `perfaction ab dq_suite.py --base-dir
BASE` at the default settings, in a fresh pair of trees. The base tree holds
the workloads of benchmarks/detection_workloads/dq_suite.py unchanged; the
head tree holds them with the slowdown knob at the run's level (0: A/A).
Levels cycle through ``--levels``, so the machine's slow drifts spread over
all of them. From each run's ``--json`` comparison the script keeps the
gating ``time`` verdict of every benchmark, the processes per side and the
load average, and prints a table per level:

    python benchmarks/ab_end_to_end.py --runs 30 --levels 0 0.1 0 0.05 0 0.2

Raw results (one JSON object per run) go to ``--out`` as they come, so an
interrupted measurement keeps what it measured. Nothing here asserts
anything; the figures go to docs/detection-quality.md with the conditions
they were measured under.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITE = HERE / "detection_workloads" / "dq_suite.py"
FLAGGED = ("regressed", "improved")


def make_tree(path: Path, slowdown: float) -> None:
    path.mkdir(parents=True)
    shutil.copy(SUITE, path / "dq_suite.py")
    (path / "dq_knob.py").write_text(f"SLOWDOWN = {slowdown!r}\n")


def machine_noise(samples: int = 30) -> float:
    """How much the machine itself wobbles: the spread of a fixed 10 ms loop, in this process.

    (90th - 10th percentile) / median of ``samples`` timings one after another. On a
    quiet dedicated core it is a few percent; a shared host whose neighbours or
    frequency scaling move the speed within a second shows tens of percent, and no
    statistics can see a 5 % change through that with a few dozen processes.
    """
    def loop() -> int:
        total = 0
        for i in range(120_000):
            total += i * i
        return total

    times = []
    for _ in range(samples):
        start = time.perf_counter()
        loop()
        times.append(time.perf_counter() - start)
    times.sort()
    return (times[int(0.9 * samples)] - times[int(0.1 * samples)]) / statistics.median(times)


def one_run(python: str, workdir: Path, index: int, slowdown: float, budget: float) -> dict:
    case = workdir / f"run{index:03d}"
    make_tree(case / "base", 0.0)
    make_tree(case / "head", slowdown)
    command = [python, "-m", "perfaction.cli.main", "ab", "dq_suite.py",
               "--base-dir", str(case / "base"), "--time-budget", str(budget),
               "--json", "comparison.json", "--no-fail", "-q"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    load_before = os.getloadavg()[0]
    noise = machine_noise()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=case / "head", env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    record = {"run": index, "slowdown": slowdown, "budget": budget, "wall": wall,
              "exit": done.returncode, "load_before": load_before, "machine_noise": noise,
              "load_after": os.getloadavg()[0], "verdicts": {}, "processes": {}}
    comparison = case / "head" / "comparison.json"
    if not comparison.exists():
        record["error"] = done.stderr[-2000:]
        return record
    for delta in json.loads(comparison.read_text())["deltas"]:
        if delta["metric"] == "time" and delta.get("gating"):
            record["verdicts"][delta["benchmark"]] = delta["verdict"]
            record.setdefault("detectable", {})[delta["benchmark"]] = delta.get("detectable")
            record["processes"][delta["benchmark"]] = (delta.get("head") or {}).get("n")
    shutil.rmtree(case, ignore_errors=True)
    return record


def noise_text(record: dict) -> str:
    return f"{record['machine_noise'] * 100:.0f} %" if "machine_noise" in record else "-"


def table(records: list[dict]) -> str:
    rows = ["| head slowed by | runs | benchmark x run verdicts | regressed | improved "
            "| unchanged | inconclusive | runs with a false alarm | wall (median) "
            "| processes per side (median) | machine noise (median) | detectable (median) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for level in sorted({r["slowdown"] for r in records}):
        mine = [r for r in records if r["slowdown"] == level and r["verdicts"]]
        verdicts = [v for r in mine for v in r["verdicts"].values()]
        count = {name: sum(v == name for v in verdicts)
                 for name in ("regressed", "improved", "unchanged", "inconclusive")}
        # A/A: any regressed or improved is a false alarm; slowed: an improvement is
        false_runs = sum(1 for r in mine if any(
            v in (FLAGGED if level == 0 else ("improved",)) for v in r["verdicts"].values()))
        wall = statistics.median(r["wall"] for r in mine) if mine else 0.0
        processes = [n for r in mine for n in r["processes"].values() if n]
        rows.append(f"| {level * 100:+g} % | {len(mine)} | {len(verdicts)} "
                    f"| {count['regressed']} | {count['improved']} | {count['unchanged']} "
                    f"| {count['inconclusive']} | {false_runs} | {wall:.1f} s "
                    f"| {statistics.median(processes) if processes else 0:g} "
                    f"| {_median_pct([r.get('machine_noise') for r in mine])} "
                    f"| {_median_pct([d for r in mine for d in (r.get('detectable') or {}).values()])} |")
    return "\n".join(rows)


def _median_pct(values: list) -> str:
    values = [v for v in values if isinstance(v, (int, float))]
    return f"{statistics.median(values) * 100:.1f} %" if values else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--levels", type=float, nargs="+", default=[0.0, 0.1],
                        help="head slowdowns to cycle through (fractions; 0 is A/A)")
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--out", default="out/ab_end_to_end.jsonl")
    parser.add_argument("--from-json", metavar="FILE",
                        help="print the tables of an earlier measurement, measuring nothing")
    args = parser.parse_args(argv)
    if args.from_json:
        records = [json.loads(line) for line in Path(args.from_json).read_text().splitlines()
                   if line.strip()]
        print(table(records))
        return 0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    records = []
    with tempfile.TemporaryDirectory(prefix="ab_end_to_end_") as tmp, out.open("a") as sink:
        for index in range(args.runs):
            level = args.levels[index % len(args.levels)]
            record = one_run(args.python, Path(tmp), index, level, args.budget)
            records.append(record)
            sink.write(json.dumps(record) + "\n")
            sink.flush()
            print(f"run {index}: slowdown {level:+.0%}, {record['wall']:.1f} s, "
                  f"load {record['load_before']:.2f}, machine noise {noise_text(record)}, "
                  f"{record['verdicts']}", flush=True)
    print(table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
