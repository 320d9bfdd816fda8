"""Memory gates end to end: real workers for two trees, default policy, several benchmarks.

Before, memory was measured in the first 5 processes a side only, and no rank
test of 5 against 5 can pass Holm at 0.01 over more than two tests: a tripled
peak or a leak came out "inconclusive". These runs use the harness's default
number of memory processes.
"""

from pathlib import Path

import pytest

from perfaction.analysis.compare import compare_suites, exit_code
from perfaction.analysis.comparison import Verdict
from perfaction.analysis.policy import Policy
from perfaction.harness import schedule
from perfaction.harness.ab import run_ab
from perfaction.harness.runner import RunOptions
from perfaction.report.reasons import reason_text

pytestmark = pytest.mark.slow

TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "bench_modules" / "memory_gate.py"
MEMORY = ("peak_memory", "retained_memory")
PROCESSES = 7     # 3 benchmarks x 3 gating metrics: 9 tests, 6 a side is the least


def tree(root: Path, *, peak_scale: int = 1, leak: int = 0) -> Path:
    root.mkdir()
    text = TEMPLATE.read_text(encoding="utf-8")
    text = text.replace("PEAK_SCALE = 1\n", f"PEAK_SCALE = {peak_scale}\n")
    text = text.replace("LEAK_BYTES = 0\n", f"LEAK_BYTES = {leak}\n")
    (root / "bench_memory.py").write_text(text, encoding="utf-8")
    return root


def measure(base: Path, head: Path):
    options = RunOptions(time_budget=2.0, processes=PROCESSES, min_processes=1,
                         min_value_time=0.005, seed=5)
    base_suite, head_suite = run_ab(base, head, "bench_memory.py", options)
    assert not base_suite.failures and not head_suite.failures
    for bench in base_suite.benchmarks + head_suite.benchmarks:
        for name in MEMORY:
            samples = bench.metrics[name].samples
            # the default memory_processes covers every process here, unless the memory
            # gave one value in the first processes of both sides (then the pass stops)
            assert len(samples) == PROCESSES or (
                len(samples) == schedule.CONSTANT_MEMORY_PROCESSES and len(set(samples)) == 1)
    return compare_suites(base_suite, head_suite, Policy.parse(""), mode="same-runner")


def test_a_tripled_peak_and_a_leak_regress_and_fail_the_job(tmp_path):
    comparison = measure(tree(tmp_path / "base"),
                         tree(tmp_path / "head", peak_scale=3, leak=5000))
    # 9 gating metrics; memory constant in every process of each side needs no test
    gating = [d for d in comparison.deltas if d.gating]
    assert len(gating) == 9
    assert comparison.gating_tests == sum(1 for d in gating if d.p_value is not None)
    verdicts = {(d.benchmark, d.metric): d for d in comparison.deltas}
    peak = verdicts["encode_frame", "peak_memory"]
    assert peak.verdict is Verdict.REGRESSED, reason_text(peak)
    assert 1.8 < peak.change < 2.2                          # 64 KiB -> 192 KiB
    leak = verdicts["open_session", "retained_memory"]
    assert leak.verdict is Verdict.REGRESSED, reason_text(leak)
    assert 4500 < leak.head.center < 6000                   # bytes kept per call
    for name in MEMORY:                                     # the unchanged benchmark
        assert verdicts["parse_order", name].verdict is not Verdict.REGRESSED
    assert exit_code(comparison) == 1


def test_identical_trees_raise_no_memory_verdict(tmp_path):
    comparison = measure(tree(tmp_path / "base"), tree(tmp_path / "head"))
    changed = [d for d in comparison.deltas if d.metric in MEMORY
               and d.verdict in (Verdict.REGRESSED, Verdict.IMPROVED)]
    assert changed == []
    assert all(d.verdict is Verdict.UNCHANGED for d in comparison.deltas if d.metric in MEMORY)
