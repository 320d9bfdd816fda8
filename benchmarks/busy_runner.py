"""Baseline mode on a busy runner: false alarms and detection, as the action gives them.

The README's Quick start in baseline mode, run the way a pull request runs it:
the stored baseline is a `perfaction run` of the base commit on a quiet
machine; each trial then runs the action's entry point (entrypoint.py, no
token, the baseline given as a file, default inputs otherwise, so the
confirmation beside the base commit is on) on a pull request's head commit
while ``--hogs`` processes spin on the CPU (0: quiet, 1: one core taken, 2:
both cores of a 2-core machine). The head commit changes only a README
(A/A), or makes one benchmark ``--slow`` percent slower.

    python benchmarks/busy_runner.py --hogs 1 --trials 10
    python benchmarks/busy_runner.py --hogs 2 --trials 10 --slow 10

Per trial it records the exit code, the regressions the action reported, the
time verdict of every benchmark and the reason codes, and the load average.
Raw records go to ``--out`` (JSON lines) as they come. Nothing here asserts
anything; the figures go to docs/detection-quality.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROJECT = '''"""Four benchmarks of different character, one of them optionally slowed."""

from perfaction import benchmark

SLOWED = {slowed!r}     # benchmark -> extra share of work (0.10: +10 %)


def _size(name, n):
    return round(n * (1 + SLOWED.get(name, 0.0)))


@benchmark
def int_loop():
    data = list(range(_size("int_loop", 400)))

    def call():
        acc = 0
        for x in data:
            acc = (acc * 31 + x * x) % 1_000_003
        return acc
    return call


@benchmark
def dict_counts():
    words = [f"w{{i % 37}}" for i in range(_size("dict_counts", 600))]

    def call():
        counts = {{}}
        for w in words:
            counts[w] = counts.get(w, 0) + 1
        return len(counts)
    return call


@benchmark
def sort_records():
    records = [((i * 7919) % 1000, f"r{{i}}") for i in range(_size("sort_records", 500))]
    return lambda: sorted(records)


@benchmark
def format_lines():
    rows = [(i, i * 0.5, f"name{{i}}") for i in range(_size("format_lines", 200))]
    return lambda: "\\n".join(f"{{a:>6}} {{b:>10.2f}} {{c}}" for a, b, c in rows)
'''


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=bench",
                           "-c", "user.email=bench@example.invalid", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def make_repo(path: Path, slowed: dict[str, float]) -> tuple[str, str]:
    """A checkout: the base commit, then a head commit (a README, or one benchmark slowed)."""
    path.mkdir(parents=True)
    (path / "bench_app.py").write_text(PROJECT.format(slowed={}))
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "base")
    (path / "README.md").write_text("the project, now documented\n")
    if slowed:
        (path / "bench_app.py").write_text(PROJECT.format(slowed=slowed))
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "head")
    return git(path, "rev-parse", "HEAD~1"), git(path, "rev-parse", "HEAD")


def spin() -> None:
    while True:
        pass


def environment(repo: Path, base: str, head: str, scratch: Path, inputs: dict[str, str]) -> dict:
    event = scratch / "event.json"
    event.write_text(json.dumps({"number": 7, "pull_request": {
        "number": 7, "base": {"sha": base, "ref": "main"}, "head": {"sha": head, "ref": "pr"}}}))
    for name in ("output", "summary"):
        (scratch / name).write_text("")
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update({f"INPUT_{k.upper()}": v for k, v in inputs.items()})
    env.update({"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request",
                "GITHUB_EVENT_PATH": str(event), "GITHUB_REPOSITORY": "bench/project",
                "GITHUB_SHA": head, "GITHUB_REF": "refs/pull/7/merge", "GITHUB_BASE_REF": "main",
                "GITHUB_HEAD_REF": "pr", "GITHUB_RUN_ID": "1", "GITHUB_WORKSPACE": str(repo),
                "GITHUB_OUTPUT": str(scratch / "output"),
                "GITHUB_STEP_SUMMARY": str(scratch / "summary")})
    return env


def trial(python: str, repo: Path, base: str, head: str, scratch: Path, hogs: int,
          budget: str) -> dict:
    env = environment(repo, base, head, scratch, {
        "benchmark": "bench_app.py", "baseline-path": "baseline.json", "time-budget": budget,
        "comment-mode": "never", "token": ""})
    workers = [multiprocessing.Process(target=spin, daemon=True) for _ in range(hogs)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(2 if hogs else 0)      # let the load average see the hogs
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        done = subprocess.run([python, str(ROOT / "entrypoint.py")], cwd=repo, env=env,
                              capture_output=True, text=True)
        wall = time.perf_counter() - start
    finally:
        for worker in workers:
            worker.terminate()
    outputs = read_outputs((scratch / "output").read_text())
    record = {"hogs": hogs, "exit": done.returncode, "wall": wall, "load_before": load_before,
              "regressions": outputs.get("regressions-count"), "verdicts": {}, "reasons": {},
              "confirmed": "measured again side by side" in (scratch / "summary").read_text()}
    if done.returncode == 2:
        record["error"] = done.stdout[-1500:] + done.stderr[-1500:]
    if outputs.get("comparison-json", "").startswith("{"):
        for delta in json.loads(outputs["comparison-json"])["deltas"]:
            if delta["metric"] == "time":
                record["verdicts"][delta["benchmark"]] = delta["verdict"]
                record["reasons"][delta["benchmark"]] = delta.get("reason_code")
    return record


def read_outputs(text: str) -> dict[str, str]:
    """The GITHUB_OUTPUT file: name=value lines and name<<DELIMITER blocks."""
    outputs, lines, index = {}, text.split("\n"), 0
    while index < len(lines):
        line, index = lines[index], index + 1
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, index)
            outputs[name], index = "\n".join(lines[index:end]), end + 1
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hogs", type=int, default=1, help="CPU-spinning processes per trial")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--slow", type=float, default=0.0,
                        help="percent slower for sort_records in the head (0: A/A)")
    parser.add_argument("--budget", default="60")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--out", default="out/busy_runner.jsonl")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    slowed = {"sort_records": args.slow / 100} if args.slow else {}
    with tempfile.TemporaryDirectory(prefix="busy_runner_") as tmp:
        repo = Path(tmp) / "project"
        base, head = make_repo(repo, slowed)
        # the stored baseline: the base commit measured on the quiet machine
        git(repo, "checkout", "-q", base)
        subprocess.run([args.python, "-m", "perfaction.cli.main", "run", "bench_app.py",
                        "--time-budget", args.budget, "-o", "baseline.json", "-q"],
                       cwd=repo, check=True)
        git(repo, "checkout", "-q", head)
        with out.open("a") as sink:
            for index in range(args.trials):
                scratch = Path(tmp) / f"trial{index}"
                scratch.mkdir()
                record = {**trial(args.python, repo, base, head, scratch, args.hogs,
                                  args.budget), "slow": args.slow, "trial": index}
                sink.write(json.dumps(record) + "\n")
                sink.flush()
                print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
