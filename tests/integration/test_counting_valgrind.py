"""Instruction mode with the real Valgrind: counts per call, exact repeats, verdicts.

These need Valgrind on PATH (dev.sh installs it where apt-get can).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from perfaction.harness.runner import RunOptions, execute
from perfaction.results import files

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

MODULE = '''
import json
from perfaction import benchmark

SIZE = {size}


@benchmark
def squares():
    return lambda: sum(i * i for i in range(SIZE))


@benchmark
def squares_twice():
    return lambda: (sum(i * i for i in range(SIZE)), sum(i * i for i in range(SIZE)))


@benchmark
def heavy_setup_trivial_call():
    table = sorted(str(i) for i in range(200_000))     # set-up: not counted
    return lambda: table[0]


@benchmark
def json_round_trip():
    data = {{"numbers": list(range(100)), "text": "x" * 50}}
    return lambda: json.loads(json.dumps(data))
'''

BROKEN = '''

@benchmark
def broken():
    def call():
        raise RuntimeError("counted call failed")
    return call
'''


def write(folder: Path, size: int, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench_counts.py").write_text(MODULE.format(size=size) + extra)
    return folder


def test_counts_repeat_exactly_scale_with_the_work_and_a_failure_stays_alone(tmp_path):
    root = write(tmp_path / "tree", 2000, BROKEN)
    result = execute("bench_counts.py", RunOptions(cwd=root, measure="instructions"))
    suite = result.suites[0]
    by_name = {b.name: b for b in suite.benchmarks}
    assert "counted call failed" in (by_name["broken"].error or "")
    once = by_name["squares"].metrics["instructions"]
    twice = by_name["squares_twice"].metrics["instructions"]
    assert set(by_name["squares"].metrics) == {"instructions"}   # no time pass in this mode
    assert len(once.samples) == 2 and once.samples[0] == once.samples[1]   # exact repeats
    assert 1.95 < twice.center() / once.center() < 2.05
    # the set-up's millions of instructions are not counted, only the call
    assert by_name["heavy_setup_trivial_call"].metrics["instructions"].center() < 5_000
    env = suite.environment
    assert env.counter is not None and env.counter.startswith("valgrind-")
    assert env.hash_seed == "0" and env.python_build
    # the features Valgrind's emulated CPU offers, not the host's: never AVX-512
    assert "sse4_2" in env.cpu_features.split() and "avx512f" not in env.cpu_features.split()


def counted_ab(base: Path, head: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """`perfaction ab --measure instructions` from ``head``, its files in ``out``."""
    out.mkdir()
    return subprocess.run(
        [sys.executable, "-m", "perfaction", "ab", "bench_counts.py", "--base-dir", str(base),
         "--measure", "instructions", "-q", "-o", str(out / "head.json"),
         "--base-output", str(out / "base.json"), "--json", str(out / "comparison.json")],
        cwd=head, capture_output=True, text=True, timeout=600, check=False)


def test_ab_flags_two_percent_more_work_and_nothing_else(tmp_path):
    out = tmp_path / "out"
    proc = counted_ab(write(tmp_path / "base", 2000), write(tmp_path / "head", 2040), out)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    comparison = json.loads((out / "comparison.json").read_text())
    verdicts = {(d["benchmark"], d["metric"]): d["verdict"] for d in comparison["deltas"]}
    assert verdicts[("squares", "instructions")] == "regressed"
    assert verdicts[("squares_twice", "instructions")] == "regressed"
    assert verdicts[("json_round_trip", "instructions")] == "unchanged"
    regressed = next(d for d in comparison["deltas"] if d["benchmark"] == "squares")
    assert 0.015 < regressed["change"] < 0.025
    assert files.load_suite(out / "base.json").environment.counter


def test_without_valgrind_the_cli_says_what_to_install_and_exits_2(tmp_path):
    root = write(tmp_path / "tree", 10)
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    proc = subprocess.run([sys.executable, "-m", "perfaction", "run", "bench_counts.py",
                           "--measure", "instructions", "-q", "-o", str(tmp_path / "r.json")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 2
    assert "apt-get install valgrind" in proc.stderr and "--measure time" in proc.stderr


ADDED = '''

@benchmark
def a_added_by_the_change():
    return lambda: None
'''


def test_a_benchmark_added_by_the_change_leaves_the_others_unchanged(tmp_path):
    # It sorts first by name, yet is counted after the others (the order itself
    # is test_counting_engine's). The others' counts may still move by a few
    # instructions in 100,000: the head module is longer, so the heap the
    # counted calls run on differs, by an amount that varies between machines.
    out = tmp_path / "out"
    proc = counted_ab(write(tmp_path / "base", 2000), write(tmp_path / "head", 2000, ADDED), out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    deltas = json.loads((out / "comparison.json").read_text())["deltas"]
    verdicts = {d["benchmark"]: d["verdict"] for d in deltas}
    assert verdicts.pop("a_added_by_the_change") == "new"
    assert set(verdicts.values()) == {"unchanged"}
    assert all(abs(d["change"]) < 0.001 for d in deltas if d["verdict"] == "unchanged")
