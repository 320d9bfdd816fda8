"""Other tools' real files, made by the tools themselves, read by perfaction.

pyperf files keep every process's values, so they are tested like perfaction's
own; pytest-benchmark files hold one process's summary, so they are shown and
never judged. Both through the CLI, and a pytest-benchmark baseline through the
action.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.fake_github.seed import PR, REPO

pytestmark = pytest.mark.slow


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "perfaction", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)


def pyperf_timeit(path, statement):
    subprocess.run([sys.executable, "-m", "pyperf", "timeit", "--fast", "--quiet", "-o",
                    str(path), "-s", "data = list(range(300))[::-1]", statement],
                   check=True, capture_output=True, timeout=300)


def test_pyperf_files_compare_with_full_statistics(tmp_path):
    pyperf_timeit(tmp_path / "base.json", "sorted(data)")
    pyperf_timeit(tmp_path / "head.json", "sorted(data); sorted(data); sorted(data)")
    done = cli("compare", "base.json", "head.json", "--json", "c.json", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    [delta] = json.loads((tmp_path / "c.json").read_text())["deltas"]
    assert (delta["benchmark"], delta["metric"], delta["verdict"]) == ("timeit", "time", "regressed")
    assert delta["base"]["n"] >= 5            # one value per pyperf worker process
    assert 1.5 < 1 + delta["change"] < 4.5    # three sorts instead of one


PYTEST_BENCHMARKS = '''
import pytest

@pytest.mark.parametrize("n", [100, 1000])
def test_sort(benchmark, n):
    data = list(range(n))[::-1]
    benchmark(sorted, data)


def test_join(benchmark):
    benchmark.pedantic(",".join, args=(["x"] * 50,), rounds=20, iterations=10)
'''


def pytest_benchmark_json(folder, name):
    (folder / "test_perf.py").write_text(PYTEST_BENCHMARKS)
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_perf.py",
                    f"--benchmark-json={name}", "--benchmark-max-time=0.05"],
                   cwd=folder, check=True, capture_output=True, timeout=300)
    return folder / name


def test_pytest_benchmark_files_are_shown_with_the_reason_nothing_is_decided(tmp_path):
    pytest_benchmark_json(tmp_path, "before.json")
    pytest_benchmark_json(tmp_path, "after.json")
    done = cli("compare", "before.json", "after.json", "--json", "c.json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    deltas = json.loads((tmp_path / "c.json").read_text())["deltas"]
    assert {d["benchmark"] for d in deltas} == {
        "test_perf.py::test_sort[100]", "test_perf.py::test_sort[1000]", "test_perf.py::test_join"}
    assert {(d["verdict"], d["reason_code"]) for d in deltas} == {("inconclusive", "summary_only")}
    assert "against a summary without samples" in done.stdout.lower()
    assert "whose rounds all ran in one process" in done.stdout


def test_the_action_takes_a_pytest_benchmark_baseline_and_says_why_it_cannot_judge(
        fake, run_action, workspace):
    baseline = pytest_benchmark_json(workspace, "baseline.json")
    data = json.loads(baseline.read_text())
    data["benchmarks"][0]["fullname"] = "sum_squares"      # the fixture module's benchmark
    baseline.write_text(json.dumps(data))
    (workspace / "test_perf.py").unlink()
    result = run_action("pull_request", inputs={"baseline-path": "baseline.json"})
    assert result.returncode == 0, result.explain()
    [comment] = fake.comments_on(REPO, PR)
    assert "1 metric against a summary without samples" in comment.body
    assert "measure both sides with perfaction" in comment.body


def test_compare_only_takes_results_an_earlier_step_made_and_measures_nothing(
        fake, run_action, workspace):
    # an earlier step ran `perfaction run` on the host: here a pyperf file and a results
    # file stand for its output, the baseline made 3x faster than the head
    pyperf_timeit(workspace / "baseline.json", "sorted(data)")
    pyperf_timeit(workspace / "host-results.json", "sorted(data); sorted(data); sorted(data)")
    (workspace / "bench_widgets.py").unlink()        # nothing here could be measured
    result = run_action("pull_request", inputs={"benchmark": "", "results-file": "host-results.json",
                                                "baseline-path": "baseline.json"})
    assert result.returncode == 1, result.explain()
    assert "this job measured nothing" in result.stdout
    written = json.loads((workspace / "perf-results.json").read_text())   # for the upload step
    assert written["benchmarks"][0]["name"] == "timeit"
    [comment] = fake.comments_on(REPO, PR)
    assert "1 regression" in comment.body and "Compare-only" in comment.body


def test_compare_only_is_refused_with_same_runner_and_when_the_file_is_missing(run_action):
    result = run_action("pull_request", inputs={"results-file": "r.json", "mode": "same-runner",
                                                "base-ref": "HEAD~1"})
    assert result.returncode == 2 and "input 'results-file' needs mode 'baseline'" in result.stdout
    result = run_action("pull_request", inputs={"results-file": "nowhere.json"})
    assert result.returncode == 2 and "input 'results-file'" in result.stdout
    assert "nowhere.json" in result.stdout
