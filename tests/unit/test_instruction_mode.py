"""Instruction mode's pure parts: reading callgrind's dumps, the counted rule, settings.

The real Valgrind runs in tests/integration/test_instruction_mode.py.
"""

from __future__ import annotations

import platform
from dataclasses import replace
from pathlib import Path

import pytest

from perfaction.action.config import Config
from perfaction.analysis.compare import compare_suites
from perfaction.analysis.comparison import Verdict
from perfaction.analysis.policy import Policy
from perfaction.errors import ConfigError
from perfaction.harness import counting, environment, valgrind
from perfaction.harness.runner import RunOptions
from perfaction.report.reasons import reason_text
from perfaction.results.model import Benchmark, Environment, Metric, Suite

COUNTED_ENV = Environment(cpu_model="Test CPU", logical_cores=2, machine="x86_64",
                          python_implementation="CPython", python_version="3.13.5",
                          counter="valgrind-3.24.0 callgrind", hash_seed="0",
                          python_build="3.13.5 (main) [GCC 14.2.0]", cpu_features="avx avx2")


def dump(folder: Path, name: str, label: str | None, total: int) -> None:
    trigger = f"desc: Trigger: Client Request: {label}\n" if label else "desc: Trigger: Program termination\n"
    (folder / name).write_text(
        "# callgrind format\nversion: 1\ncreator: callgrind-3.24.0\npid: 7\npart: 1\n\n"
        f"desc: I1 cache: \n{trigger}\npositions: line\nevents: Ir\nsummary: {total}\n\n"
        "ob=(1) /usr/bin/python3\nfn=(1) main\n0 5\n")


def test_counts_are_read_from_labelled_dumps_and_the_exit_dump_is_ignored(tmp_path):
    dump(tmp_path, "callgrind.7.1", counting.dump_label(0, 0, 1), 1_500)
    dump(tmp_path, "callgrind.7.2", counting.dump_label(0, 0, 3), 3_500)
    dump(tmp_path, "callgrind.7.3", counting.dump_label(0, 1, 1), 1_520)
    dump(tmp_path, "callgrind.7.4", counting.dump_label(0, 1, 3), 3_520)
    dump(tmp_path, "callgrind.7.5", counting.dump_label(1, 0, 1), 9_000)   # its pair never came
    dump(tmp_path, "callgrind.7.6", counting.dump_label(2, 0, 5), 9_000)
    dump(tmp_path, "callgrind.7.7", counting.dump_label(2, 0, 105), 109_000)
    dump(tmp_path, "callgrind.7", None, 99_999_999)
    counts = valgrind.read_counts(tmp_path)
    assert len(counts) == 7
    # per call by difference: what both dumps of a pair share cancels
    assert valgrind.per_call(counts, 0) == [1_000.0, 1_000.0]
    assert valgrind.per_call(counts, 1) == []
    assert valgrind.per_call(counts, 2) == [1_000.0]       # the call numbers come from the labels


def test_a_process_value_is_the_count_its_pairs_repeated_most():
    # warm-up stragglers and a periodic hiccup around a steady state
    assert valgrind.process_value([524.5, 524.5, 524.5, 410.0, 524.5]) == 524.5
    assert valgrind.process_value([814.5, 915.0, 814.5, 762.5, 814.5]) == 814.5
    assert valgrind.process_value([3.0, 1.0, 2.0]) == 2.0          # no repeat: the median
    assert valgrind.process_value([1.0, 1.0, 2.0, 2.0, 9.0]) == 1.5  # a tie: their median
    assert valgrind.process_value([]) is None


def test_labels_have_one_width_so_building_them_costs_the_same_in_every_dump():
    labels = {counting.dump_label(i, r, k) for i in (0, 7, 12_345) for r in (0, 2) for k in (1, 3)}
    assert len({len(label) for label in labels}) == 1
    assert len(labels) == 12


def test_counting_workers_get_a_fixed_hash_seed_and_no_other_python_variable():
    env = valgrind.counting_env({"PATH": "/bin", "PYTHONPATH": "/elsewhere",
                                 "PYTHONHASHSEED": "random", "PYTHONSTARTUP": "x.py"})
    assert env["PYTHONHASHSEED"] == valgrind.HASH_SEED == "0"
    assert "PYTHONPATH" not in env and "PYTHONSTARTUP" not in env
    assert env["PATH"] == "/bin"


def test_a_missing_valgrind_names_the_package_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(valgrind.shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="apt-get install valgrind"):
        valgrind.find()
    with pytest.raises(ConfigError, match="cannot run"):
        valgrind.find(str(tmp_path / "no-such-valgrind"))


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                    reason="the request page is x86-64 machine code")
def test_the_request_page_runs_natively_and_says_it_is_not_under_valgrind():
    requests = counting.ClientRequests()
    assert requests.on_valgrind() is False
    requests.send(requests.zero_block)     # a no-op on a real CPU: returns, touches nothing
    assert requests.request(counting.DUMP_STATS_AT, 0) == 0
    # the whole counting loop runs natively too (nothing is dumped without Valgrind)
    calls = []
    counting.count(lambda: calls.append(1), requests, index=0)
    assert len(calls) == counting.WARMUP_CALLS + counting.REPEATS * sum(counting.CALLS)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                    reason="the cpuid page is x86-64 machine code")
def test_cpuid_from_the_page_finds_what_the_kernel_reports():
    # the kernel may leave out flags it does not know (fsrm, vaes on older ones)
    names = {name for *_, name in counting._FEATURES}
    kernel = set((environment.cpu_features() or "").split()) & names
    assert kernel <= set(counting.ClientRequests().cpu_features().split())


def test_another_architecture_gets_a_clear_error(monkeypatch):
    monkeypatch.setattr(counting.platform, "machine", lambda: "aarch64")
    with pytest.raises(counting.UnsupportedMachine, match="x86-64 only.*aarch64"):
        counting.ClientRequests()


# ---------------------------------------------------------------------------
# The counted rule (analysis/exact.py) and the fingerprint
# ---------------------------------------------------------------------------

def counted(*values: float) -> Metric:
    return Metric(unit="instr", samples=tuple((v,) for v in values))


def counted_suite(**per_benchmark: tuple[float, ...]) -> Suite:
    return Suite(tuple(Benchmark(name, {"instructions": counted(*values)})
                       for name, values in per_benchmark.items()), COUNTED_ENV)


def verdicts(comparison):
    return {d.benchmark: d.verdict for d in comparison.deltas}


def test_a_tiny_callable_moving_by_fewer_instructions_than_the_floor_is_unchanged():
    base = counted_suite(tiny=(600.0,) * 2)
    head = counted_suite(tiny=(720.0,) * 2)       # +20 %, but 120 instructions
    [delta] = compare_suites(base, head, Policy()).deltas
    assert delta.verdict is Verdict.UNCHANGED and delta.why.code == "within_floor"


def test_two_processes_that_agree_exactly_decide_at_the_one_percent_threshold():
    base = counted_suite(a=(1_000_000.0,) * 2, b=(500_000.0,) * 2, c=(200_000.0,) * 2)
    head = counted_suite(a=(1_011_000.0,) * 2, b=(504_000.0,) * 2, c=(196_000.0,) * 2)
    result = compare_suites(base, head, Policy())
    assert verdicts(result) == {"a": Verdict.REGRESSED, "b": Verdict.UNCHANGED,
                                "c": Verdict.IMPROVED}
    regressed = next(d for d in result.deltas if d.benchmark == "a")
    assert regressed.gating and regressed.threshold == pytest.approx(0.01)
    assert "exactly" in reason_text(regressed) and "2 base, 2 head" in reason_text(regressed)
    assert "instruction counts: compared exactly" in result.method


def test_counts_that_vary_go_to_the_rank_tests_with_a_note_naming_them():
    base = counted_suite(a=(1_000_000.0, 1_000_400.0), b=(5_000.0,) * 2)
    head = counted_suite(a=(1_100_000.0, 1_100_000.0), b=(5_000.0,) * 2)
    result = compare_suites(base, head, Policy())
    assert verdicts(result)["a"] is Verdict.INCONCLUSIVE    # two processes cannot pass a rank test
    assert verdicts(result)["b"] is Verdict.UNCHANGED
    undecided = next(d for d in result.deltas if d.benchmark == "a")
    assert "--count-processes" in reason_text(undecided)
    assert "time budget" not in reason_text(undecided)
    [note] = [n for n in result.notes if "did not repeat exactly" in n]
    assert "a (0.04%)" in note and "b (" not in note


def test_a_baseline_counted_under_another_python_build_is_not_comparable():
    base = counted_suite(a=(1_000_000.0,) * 2)
    head = replace(counted_suite(a=(1_100_000.0,) * 2),
                   environment=replace(COUNTED_ENV, python_build="3.13.5 (other) [clang 19]"))
    result = compare_suites(base, head, Policy())
    [delta] = result.deltas
    assert delta.verdict is Verdict.NOT_COMPARABLE
    assert "python build" in reason_text(delta) and "new baseline" in reason_text(delta)
    assert [m.field for m in result.environment_mismatches] == ["python_build"]


def test_a_timed_run_keeps_its_fingerprint_whatever_the_counting_fields_hold():
    timed = replace(COUNTED_ENV, counter=None)
    assert "python_build" not in timed.fingerprint() and "cpu_model" in timed.fingerprint()
    # a count depends on the build and the features, not on the CPU model or cores
    counted_fp = COUNTED_ENV.fingerprint()
    assert set(Environment.COUNTING_FIELDS) <= set(counted_fp)
    assert "cpu_model" not in counted_fp and "logical_cores" not in counted_fp
    other_cpu = replace(counted_suite(a=(1_000_000.0,) * 2),
                        environment=replace(COUNTED_ENV, cpu_model="Other CPU", logical_cores=64))
    result = compare_suites(counted_suite(a=(1_000_000.0,) * 2), other_cpu, Policy())
    assert result.deltas[0].verdict is Verdict.UNCHANGED and not result.environment_mismatches


# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------

def test_run_options_accept_the_two_measures_only():
    assert RunOptions(measure="instructions").measure == "instructions"
    with pytest.raises(ConfigError, match="measure must be one of time, instructions"):
        RunOptions(measure="cycles")
    with pytest.raises(ConfigError, match="count_processes"):
        RunOptions(measure="instructions", count_processes=1)


def test_the_action_input_measure_is_parsed_and_checked():
    env = {"INPUT_BENCHMARK": "benchmarks.py", "GITHUB_WORKSPACE": "/tmp",
           "GITHUB_REPOSITORY": "octo/project", "GITHUB_EVENT_NAME": "push",
           "INPUT_MEASURE": "Instructions"}
    assert Config.from_env(env).measure == "instructions"
    with pytest.raises(ConfigError, match="'measure'"):
        Config.from_env({**env, "INPUT_MEASURE": "cycles"})
