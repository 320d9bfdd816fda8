"""Instruction mode as a user gets it: whole `perfaction ab --measure instructions` runs.

Three measurements, each a subcommand; figures go to docs/instruction-mode.md.

``detection``: A/A runs and runs where one benchmark does x % more work, on a
quiet machine or with ``--hogs`` CPU-spinning processes beside it. Each run
is one pull request as the action's same-runner mode sees it: a fresh git
repository (in a folder whose name has a random length) whose last commit
adds the extra work, measured with `perfaction ab --base-ref HEAD~1`. The
extra work is a padding loop sized from a first count of the suite, so
"+1 %" means at least 1 % more instructions per call, not 1 % more of some
inner loop that the call's fixed cost then dilutes. Verdicts at other
thresholds follow from the recorded changes (the counted rule compares the
change with the threshold alone), which ``--thresholds 1 0.8`` tabulates::

    python benchmarks/instruction_mode.py detection --runs 50 --levels 0
    python benchmarks/instruction_mode.py detection --runs 10 --levels 0.005 0.01 0.02 0.05
    python benchmarks/instruction_mode.py --hogs 2 detection --runs 50 --levels 0

``scaling``: wall time of `perfaction run` and `perfaction ab` in instruction
mode on a generated module of ``--benchmarks`` benchmarks of 10 µs - 1 ms
each (timed natively) that imports numpy::

    python benchmarks/instruction_mode.py scaling --benchmarks 100

``libraries``: one benchmark module measured by two interpreters whose
environments hold two versions of a library (`--base-python`,
`--head-python`), as `perfaction ab` runs it::

    python benchmarks/instruction_mode.py libraries bench_libs.py \\
        --base-python venv-old/bin/python --head-python venv-new/bin/python

Run it with an interpreter that has perfaction installed from a wheel (not
the editable checkout). Raw records go to ``--out`` (JSON lines) as they
come. Nothing here asserts anything.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SUITE = '''
import json
import re
from itertools import repeat

from perfaction import benchmark

from padding import PAD


def pad(n):
    # the same cost per iteration whatever n: range would give small ints from a
    # cache below 257 and allocate above, so the probe's cost would not carry over
    for _ in repeat(None, n):
        pass


@benchmark
def int_loop():
    return lambda: (sum(i * i % 7 for i in range(600)), pad(PAD["int_loop"]))


@benchmark
def dict_counts():
    words = [f"w{i % 97}" for i in range(400)]

    def call():
        counts = {}
        for word in words:
            counts[word] = counts.get(word, 0) + 1
        pad(PAD["dict_counts"])
        return counts
    return call


@benchmark
def sort_records():
    records = [(i * 7919 % 1000, f"name{i}") for i in range(300)]
    return lambda: (sorted(records), pad(PAD["sort_records"]))


@benchmark
def format_lines():
    return lambda: ("\\n".join(f"{i:>6} {i * 1.5:.2f} {hex(i)}" for i in range(100)),
                    pad(PAD["format_lines"]))


@benchmark
def json_round_trip():
    data = {"items": [{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(20)]}
    return lambda: (json.loads(json.dumps(data)), pad(PAD["json_round_trip"]))


@benchmark
def regex_scan():
    text = "contact bob@example.org or ann@test.net today. " * 10
    pattern = re.compile(r"(\\w+)@(\\w+)\\.(\\w+)")
    return lambda: (pattern.findall(text), pad(PAD["regex_scan"]))
'''
NAMES = ("int_loop", "dict_counts", "sort_records", "format_lines", "json_round_trip",
         "regex_scan")
PROBE = '''
from itertools import repeat

from perfaction import benchmark

def pad(n):
    # the same cost per iteration whatever n: range would give small ints from a
    # cache below 257 and allocate above, so the probe's cost would not carry over
    for _ in repeat(None, n):
        pass

@benchmark
def pad_0():
    return lambda: pad(0)

@benchmark
def pad_10000():
    return lambda: pad(10000)
'''


def perfaction(*args: str, cwd: Path, python: str = sys.executable,
               timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, "-m", "perfaction", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, check=False)


def counts(results: Path) -> dict[str, float]:
    data = json.loads(results.read_text())
    return {b["name"]: statistics.median(v for p in b["metrics"]["instructions"]["samples"]
                                         for v in p)
            for b in data["benchmarks"] if not b.get("error")}


def write_tree(folder: Path, pads: dict[str, int]) -> None:
    folder.mkdir(parents=True)
    (folder / "suite_counted.py").write_text(SUITE)
    (folder / "padding.py").write_text(f"PAD = {pads!r}\n")


def spin() -> None:
    while True:
        pass


class Hogs:
    """``n`` processes spinning on the CPU for as long as the block runs."""

    def __init__(self, n: int):
        self.workers = [multiprocessing.Process(target=spin, daemon=True) for _ in range(n)]

    def __enter__(self) -> Hogs:
        for worker in self.workers:
            worker.start()
        if self.workers:
            time.sleep(2)       # let the load average see them
        return self

    def __exit__(self, *exc: object) -> None:
        for worker in self.workers:
            worker.terminate()
            worker.join()


def calibrate(scratch: Path) -> tuple[float, dict[str, float]]:
    """Instructions per padding iteration, and each benchmark's count with no padding."""
    probe = scratch / "probe"
    probe.mkdir()
    (probe / "probe.py").write_text(PROBE)
    done = perfaction("run", "probe.py", "--measure", "instructions", "-q", "-o", "p.json",
                      cwd=probe)
    if done.returncode != 0:
        raise SystemExit(f"calibration failed:\n{done.stdout}\n{done.stderr}")
    probe_counts = counts(probe / "p.json")
    per_iteration = (probe_counts["pad_10000"] - probe_counts["pad_0"]) / 10000
    tree = scratch / "calibration"
    write_tree(tree, dict.fromkeys(NAMES, 0))
    done = perfaction("run", "suite_counted.py", "--measure", "instructions", "-q",
                      "-o", "c.json", cwd=tree)
    if done.returncode != 0:
        raise SystemExit(f"calibration failed:\n{done.stdout}\n{done.stderr}")
    return per_iteration, counts(tree / "c.json")


def random_folder(scratch: Path, rng: random.Random, label: str) -> Path:
    return scratch / f"{label}-{'x' * rng.randint(1, 40)}-{rng.randrange(10**6)}"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=bench", "-c",
                    "user.email=bench@example.invalid", *args], check=True,
                   capture_output=True)


def detection_run(scratch: Path, rng: random.Random, level: float, slowed: str,
                  per_iteration: float, base_counts: dict[str, float]) -> dict[str, Any]:
    """One pull request as the action's same-runner mode sees it: a repository whose
    last commit adds the padding, measured with `perfaction ab --base-ref HEAD~1`
    (perfaction checks the base commit out into a worktree of its own)."""
    repo = random_folder(scratch, rng, "repo")
    write_tree(repo, dict.fromkeys(NAMES, 0))
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    extra = math.ceil(level * base_counts[slowed] / per_iteration) if level else 0
    (repo / "padding.py").write_text(f"PAD = {({**dict.fromkeys(NAMES, 0), slowed: extra})!r}\n")
    (repo / "CHANGES.md").write_text("the pull request's change\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "head")
    out = scratch / f"out-{rng.randrange(10**9)}"
    out.mkdir()
    started = time.perf_counter()
    done = perfaction("ab", "suite_counted.py", "--base-ref", "HEAD~1", "--measure",
                      "instructions", "-q", "-o", str(out / "head.json"), "--base-output",
                      str(out / "base.json"), "--json", str(out / "comparison.json"), cwd=repo)
    wall = time.perf_counter() - started
    record: dict[str, Any] = {"level": level, "slowed": slowed if level else None,
                              "exit": done.returncode, "wall": wall,
                              "load": os.getloadavg()[0]}
    try:
        deltas = json.loads((out / "comparison.json").read_text())["deltas"]
    except (OSError, ValueError):
        record["error"] = (done.stdout + done.stderr)[-2000:]
        return record
    record["verdicts"] = {d["benchmark"]: d["verdict"] for d in deltas
                          if d["metric"] == "instructions"}
    record["changes"] = {d["benchmark"]: d["change"] for d in deltas
                         if d["metric"] == "instructions"}
    shutil.rmtree(repo)
    shutil.rmtree(out)
    return record


def detection(args: argparse.Namespace, out: Any) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="instruction_mode_"))
    rng = random.Random(args.seed)
    per_iteration, base_counts = calibrate(scratch)
    print(f"padding: {per_iteration:.2f} instructions per iteration; counts per call: "
          + ", ".join(f"{n} {c:,.0f}" for n, c in base_counts.items()), file=sys.stderr)
    records = []
    with Hogs(args.hogs):
        for run in range(args.runs):
            for level in args.levels:
                slowed = NAMES[(run * len(args.levels) + args.levels.index(level)) % len(NAMES)]
                record = {**detection_run(scratch, rng, level, slowed, per_iteration,
                                          base_counts), "hogs": args.hogs}
                records.append(record)
                out.write(json.dumps(record) + "\n")
                out.flush()
                print(f"run {run + 1}/{args.runs} level {level:+.1%}: exit {record['exit']}, "
                      f"{record['wall']:.1f} s, load {record['load']:.1f}", file=sys.stderr)
    shutil.rmtree(scratch, ignore_errors=True)
    print(detection_table(records))
    print()
    print(threshold_table(records, args.thresholds))


def verdict_at(change: float, threshold: float) -> str:
    """The counted rule's verdict for an exact change (the floor is far below these
    benchmarks' counts)."""
    return "regressed" if change > threshold else "improved" if change < -threshold \
        else "unchanged"


def threshold_table(records: list[dict[str, Any]], thresholds: list[float]) -> str:
    lines = ["| more work | runs | threshold | slowed benchmark flagged | false alarms |",
             "|---|---|---|---|---|"]
    for level in sorted({r["level"] for r in records}):
        group = [r for r in records if r["level"] == level and "changes" in r]
        for threshold in thresholds:
            flagged = sum(1 for r in group if level and
                          verdict_at(r["changes"][r["slowed"]], threshold) == "regressed")
            alarms = sum(1 for r in group for name, c in r["changes"].items()
                         if name != r["slowed"] and verdict_at(c, threshold) != "unchanged")
            others = sum(1 for r in group for name in r["changes"] if name != r["slowed"])
            lines.append(f"| {level:+.1%} | {len(group)} | {threshold:.1%} | "
                         f"{f'{flagged}/{len(group)}' if level else '—'} | {alarms}/{others} |")
    return "\n".join(lines)


def detection_table(records: list[dict[str, Any]]) -> str:
    lines = ["| more work | hogs | runs | slowed benchmark flagged | its change, min .. max | "
             "false alarms (other benchmarks, A/A: all) | unchanged verdicts | wall per run, "
             "median |", "|---|---|---|---|---|---|---|---|"]
    for level in sorted({r["level"] for r in records}):
        group = [r for r in records if r["level"] == level and "verdicts" in r]
        failed = sum(1 for r in records if r["level"] == level and "verdicts" not in r)
        alarms = sum(1 for r in group for name, v in r["verdicts"].items()
                     if name != r["slowed"] and v in ("regressed", "improved"))
        others = sum(1 for r in group for name in r["verdicts"] if name != r["slowed"])
        unchanged = sum(1 for r in group for v in r["verdicts"].values() if v == "unchanged")
        total = sum(len(r["verdicts"]) for r in group)
        if level:
            flagged = sum(1 for r in group if r["verdicts"].get(r["slowed"]) == "regressed")
            changes = [r["changes"][r["slowed"]] for r in group]
            caught = f"{flagged}/{len(group)}"
            spread = f"{min(changes):+.3%} .. {max(changes):+.3%}"
        else:
            caught, spread = "—", "—"
        hogs = ",".join(str(h) for h in sorted({r["hogs"] for r in group}))
        lines.append(f"| {level:+.1%} | {hogs} | {len(group)}{f' ({failed} failed)' if failed else ''}"
                     f" | {caught} | {spread} | {alarms}/{others} | {unchanged}/{total} | "
                     f"{statistics.median(r['wall'] for r in group):.1f} s |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# scaling
# ---------------------------------------------------------------------------

SCALING_HEAD = '''
import numpy as np

from perfaction import benchmark
'''
SCALING_KINDS = (
    ("loop", "return lambda: sum(i * 3 % 11 for i in range({n}))", 25e-9),
    ("numpy", "data = np.arange({n}, dtype=np.float64)\n    "
              "return lambda: float(np.sqrt(data * data + 1.0).sum())", 2e-9),
    ("strings", "words = [str(i) for i in range({n})]\n    return lambda: '-'.join(words).upper()",
     40e-9),
)


def scaling_module(benchmarks: int, rng: random.Random) -> str:
    """``benchmarks`` benchmarks whose calls take 10 µs - 1 ms natively (log-uniform)."""
    parts = [SCALING_HEAD]
    for i in range(benchmarks):
        kind, body, per_item = SCALING_KINDS[i % len(SCALING_KINDS)]
        seconds = 10 ** rng.uniform(-5, -3)
        n = max(10, int(seconds / per_item))
        parts.append(f"\n\n@benchmark\ndef b{i:03d}_{kind}():\n    {body.format(n=n)}\n")
    return "".join(parts)


def scaling(args: argparse.Namespace, out: Any) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="instruction_scaling_"))
    rng = random.Random(args.seed)
    module = scaling_module(args.benchmarks, rng)
    base, head = scratch / "base", scratch / "head"
    for tree in (base, head):
        tree.mkdir()
        (tree / "suite_scaling.py").write_text(module)
    native = perfaction("run", "suite_scaling.py", "--time-budget", "60", "--no-latency", "-q",
                        "-o", "timed.json", cwd=head)
    timed = json.loads((head / "timed.json").read_text()) if native.returncode == 0 else None
    per_call = sorted(statistics.median(v for p in b["metrics"]["time"]["samples"] for v in p)
                      for b in (timed or {}).get("benchmarks", []) if not b.get("error"))
    with Hogs(args.hogs):
        started = time.perf_counter()
        run = perfaction("run", "suite_scaling.py", "--measure", "instructions", "-q",
                         "-o", "counted.json", cwd=head)
        run_wall = time.perf_counter() - started
        started = time.perf_counter()
        ab = perfaction("ab", "suite_scaling.py", "--base-dir", str(base), "--measure",
                        "instructions", "-q", "-o", "h.json", "--base-output", "b.json",
                        "--json", "c.json", cwd=head)
        ab_wall = time.perf_counter() - started
    verdicts: dict[str, int] = {}
    if ab.returncode in (0, 1):
        for delta in json.loads((head / "c.json").read_text())["deltas"]:
            verdicts[delta["verdict"]] = verdicts.get(delta["verdict"], 0) + 1
    record = {"benchmarks": args.benchmarks, "hogs": args.hogs, "run_exit": run.returncode,
              "run_wall": run_wall, "ab_exit": ab.returncode, "ab_wall": ab_wall,
              "ab_verdicts": verdicts,
              "native_per_call": [per_call[0], statistics.median(per_call), per_call[-1]]
              if per_call else None}
    out.write(json.dumps(record) + "\n")
    out.flush()
    shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(record, indent=2))
    if run.returncode != 0:
        print(run.stdout[-2000:], run.stderr[-2000:], file=sys.stderr)


# ---------------------------------------------------------------------------
# libraries
# ---------------------------------------------------------------------------

def libraries(args: argparse.Namespace, out: Any) -> None:
    module = Path(args.module).resolve()
    scratch = Path(tempfile.mkdtemp(prefix="instruction_libraries_"))
    trees = [scratch / "base", scratch / "head"]
    for tree in trees:
        tree.mkdir()
        shutil.copy2(module, tree / module.name)
    for repeat in range(args.repeats):
        started = time.perf_counter()
        done = perfaction("ab", module.name, "--base-dir", str(trees[0]), "--measure",
                          "instructions", "--base-python", args.base_python, "--head-python",
                          args.head_python, "-q", "-o", "h.json", "--base-output", "b.json",
                          "--json", "c.json", "--no-fail", cwd=trees[1])
        wall = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stdout[-3000:], done.stderr[-3000:], file=sys.stderr)
            continue
        deltas = json.loads((trees[1] / "c.json").read_text())["deltas"]
        record = {"repeat": repeat, "wall": wall,
                  "deltas": [{k: d.get(k) for k in ("benchmark", "metric", "verdict", "change")}
                             | {"base": d["base"]["center"], "head": d["head"]["center"]}
                             for d in deltas if d.get("base") and d.get("head")]}
        out.write(json.dumps(record) + "\n")
        out.flush()
        print(f"repeat {repeat + 1}: {wall:.1f} s", file=sys.stderr)
        for d in record["deltas"]:
            print(f"  {d['benchmark']:<24} {d['base']:>14,.0f} -> {d['head']:>14,.0f} "
                  f"{d['change']:+.2%}  {d['verdict']}")
    shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="instruction_mode.jsonl",
                        help="raw records, one JSON object per line (appended)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hogs", type=int, default=0, help="CPU-spinning processes alongside")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("detection", help="A/A and +x %% runs of `perfaction ab`")
    d.add_argument("--runs", type=int, default=10)
    d.add_argument("--levels", type=float, nargs="+", default=[0.0, 0.01])
    d.add_argument("--thresholds", type=float, nargs="+", default=[0.01, 0.008],
                   help="thresholds to tabulate the recorded changes at")
    s = sub.add_parser("scaling", help="wall time of a large suite importing numpy")
    s.add_argument("--benchmarks", type=int, default=100)
    lib = sub.add_parser("libraries", help="one module, two interpreters with two versions")
    lib.add_argument("module")
    lib.add_argument("--base-python", required=True)
    lib.add_argument("--head-python", required=True)
    lib.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    with open(args.out, "a", encoding="utf-8") as out:
        {"detection": detection, "scaling": scaling, "libraries": libraries}[args.command](args, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
