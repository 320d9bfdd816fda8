"""entrypoint.py in a sharded workflow: the matrix jobs (shard: K/N) and the merge job.

The shard jobs measure the six benchmarks of SUITE_MODULE for real, each job
in its own process as the runner starts the action, against the fake GitHub
over HTTP. They are measured once per module (``name_hash_shards``,
``costed_shards``, ``same_runner_shards``), each set in a world of its own (a
fake server, a workspace), since the function-scoped ``run_action`` of
conftest.py cannot serve a module-scoped fixture; ``entrypoint`` below starts
the action through the same ``action_process.start_action``. The merge jobs then run with
``run_action`` against the standard fake, the shard folders seeded as this
run's artifacts (their files at the zip's top, as actions/upload-artifact
stores a folder).

Verdicts that must not depend on the machine come from baselines built
around the measured values (``baseline_around``), or from same-runner shards
built by hand (``hand_built_same_runner``).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from perfaction.results.files import suite_to_dict
from perfaction.results.model import Benchmark, Environment, Metric, RunSettings, Suite
from perfaction.results.shards import BASE_RESULTS_FILE, RESULTS_FILE, suite_digest
from tests.fake_github import FakeGitHub, zip_files
from tests.fake_github.seed import BOT, BOT_TOKEN, PR, REPO, seed
from tests.fake_github.suites import results_zip, suite_dict
from tests.integration.action_process import ActionRun as Job
from tests.integration.action_process import start_action

pytestmark = pytest.mark.slow


RUN = 6_200_300_400           # GITHUB_RUN_ID of the workflow run the tests play
OTHER_RUN = 6_200_300_999     # an earlier run of the same workflow
PREFIX = "perf-shard"
BASELINE = "perf-baseline"
HEAD_SHA = "1f0c9e3a4b5d6e7f8091a2b3c4d5e6f708192a3b"   # the PR head of events/pull_request.json
BASELINE_SHA = "d" * 40
# Shard jobs measure little: a budget per job, not per suite.
SHARD_BUDGET = "1"
# A few processes a side cannot decide a small change: tests of the wiring put the
# time thresholds out of reach (test_entrypoint_same_runner.py's WIRING_ONLY).
WIRING_ONLY = "time:500%,cpu_time:500%"

# six benchmarks, the same in the CLI and entry-point tests of sharding
SUITE_MODULE = (Path(__file__).parents[1] / "data" / "bench_modules" / "bench_six_shardable.py").read_text(encoding="utf-8")
BENCH_FILE = "bench_suite.py"
NAMES = {"summing[size=10]", "summing[size=100]", "summing[size=1000]",
         "joining[words=5]", "joining[words=50]", "sorting"}
COSTLY = "sorting"
PARAMS = {"summing[size=10]": {"size": 10}, "summing[size=100]": {"size": 100},
          "summing[size=1000]": {"size": 1000}, "joining[words=5]": {"words": 5},
          "joining[words=50]": {"words": 50}, "sorting": {}}


# ---------------------------------------------------------------------------
# Starting the action (as conftest.run_action does) and seeding artifacts
# ---------------------------------------------------------------------------

def entrypoint(fake: FakeGitHub, workspace: Path, files: Path, inputs: dict[str, str], *,
               token: str = BOT_TOKEN) -> Job:
    """entrypoint.py on a pull_request event of PR 42, in run RUN, as a shard job of the matrix."""
    given = {"benchmark": BENCH_FILE, "time-budget": SHARD_BUDGET, **inputs}
    return start_action(fake, workspace, files, "pull_request", inputs=given, token=token,
                        env={"GITHUB_RUN_ID": str(RUN), "GITHUB_JOB": "perf-shard"})


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                           *args], check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class ShardJobs:
    """The shard jobs of one matrix, measured once: each job's run and its uploaded folder."""

    jobs: dict[int, Job]
    folders: dict[int, Path]
    fake: FakeGitHub
    base_sha: str | None = None

    def results(self, index: int, file: str = RESULTS_FILE) -> dict:
        return json.loads((self.folders[index] / file).read_text())

    def names(self, index: int) -> list[str]:
        return [b["name"] for b in self.results(index)["benchmarks"]]

    def upload(self, fake: FakeGitHub, index: int, *, run_id: int = RUN,
               results: dict | None = None) -> None:
        """What actions/upload-artifact stores of shard ``index``'s folder, in run ``run_id``."""
        folder = self.folders[index]
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
        if results is not None:
            files[RESULTS_FILE] = json.dumps(results)
        count = len(self.folders)
        fake.add_artifact(REPO, f"{PREFIX}-{index}-of-{count}", zip_files(files), run_id=run_id,
                          head_branch="faster-parser", head_sha=HEAD_SHA)


def _measure_shards(root: Path, count: int, inputs: dict[str, str], *,
                    baseline: bytes | None = None, repo: bool = False) -> ShardJobs:
    workspace = root / "workspace"
    workspace.mkdir()
    (workspace / BENCH_FILE).write_text(SUITE_MODULE)
    base_sha = None
    if repo:   # a checkout: the base commit, then the PR's (cosmetic) change
        git(workspace, "init", "-q", "-b", "main")
        git(workspace, "add", "-A")
        git(workspace, "commit", "-q", "-m", "base")
        base_sha = git(workspace, "rev-parse", "HEAD")
        (workspace / BENCH_FILE).write_text(SUITE_MODULE + "\n# head\n")
        git(workspace, "commit", "-q", "-am", "head")
    jobs, folders = {}, {}
    with seed(FakeGitHub(prefix="/api/v3")) as fake:
        if baseline is not None:
            fake.add_artifact(REPO, BASELINE, baseline, head_sha=BASELINE_SHA)
        for index in range(1, count + 1):
            job = entrypoint(fake, workspace, root / f"job-{index}", {**inputs, "shard": f"{index}/{count}"})
            assert job.returncode == 0, job.explain()
            jobs[index] = job
            # Keep the folder as the upload step found it: the next job of this
            # workspace writes its own folder beside it, never into it.
            folders[index] = root / "uploaded" / f"{PREFIX}-{index}-of-{count}"
            shutil.copytree(workspace / job.outputs["shard-path"], folders[index])
    return ShardJobs(jobs, folders, fake, base_sha)


@pytest.fixture(scope="module")
def name_hash_shards(tmp_path_factory) -> ShardJobs:
    """Three baseline-mode shard jobs in a repository with no baseline artifact yet."""
    return _measure_shards(tmp_path_factory.mktemp("name_hash"), 3, {})


def costly_baseline() -> bytes:
    """main's baseline of the whole suite: COSTLY twenty times the others' cost."""
    def processes(seconds: float) -> list[list[float]]:
        return [[seconds * (1 + 0.01 * ((i + j) % 3)) for j in range(3)] for i in range(6)]
    times = {name: processes(0.02 if name == COSTLY else 0.001) for name in sorted(NAMES)}
    return results_zip(with_params(suite_dict(times, commit=BASELINE_SHA), PARAMS))


@pytest.fixture(scope="module")
def costed_shards(tmp_path_factory) -> ShardJobs:
    """Three shard jobs that read main's baseline (``costly_baseline``) to balance the shards."""
    return _measure_shards(tmp_path_factory.mktemp("costed"), 3, {}, baseline=costly_baseline())


@pytest.fixture(scope="module")
def same_runner_shards(tmp_path_factory) -> ShardJobs:
    """Two same-runner shard jobs in a checkout whose base commit is HEAD~1."""
    return _measure_shards(tmp_path_factory.mktemp("same_runner"), 2,
                           {"mode": "same-runner", "base-ref": "HEAD~1"}, repo=True)


def baseline_around(shards: ShardJobs) -> bytes:
    """main's baseline of the whole suite at each benchmark's measured time, 120 processes each.

    The head's time sits at the baseline's median, so no change is estimated for
    an unchanged benchmark, and against 120 processes a real change is
    significant whatever few processes the head got.
    """
    times, params = {}, {}
    for index in shards.folders:
        for bench in shards.results(index)["benchmarks"]:
            center = statistics.median(sum(p) / len(p) for p in bench["metrics"]["time"]["samples"])
            times[bench["name"]] = [[center * (1 + 0.001 * (i % 7 - 3))] * 3 for i in range(120)]
            params[bench["name"]] = bench.get("params", {})
    return results_zip(with_params(suite_dict(times, commit=BASELINE_SHA), params))


def with_params(document: dict, params: dict[str, dict]) -> dict:
    """``document`` with each benchmark's parameters, as the harness records them."""
    for bench in document["benchmarks"]:
        if params[bench["name"]]:
            bench["params"] = params[bench["name"]]
    return document


@pytest.fixture
def suite_workspace(workspace):
    """The merge job's checkout: the same suite (it measures only to confirm a flag)."""
    (workspace / BENCH_FILE).write_text(SUITE_MODULE)
    return workspace


def merge(run_action, **inputs: str):
    return run_action("pull_request", env={"GITHUB_RUN_ID": str(RUN)},
                      inputs={"benchmark": BENCH_FILE, "merge-shards": "true", **inputs})


def error_text(result) -> str:
    """The ::error:: annotations, unescaped enough to search (%0A is a newline)."""
    return "\n".join(result.annotations("error")).replace("%0A", "\n").replace("%25", "%")


# ---------------------------------------------------------------------------
# 1. The shard job: its part, its folder, its outputs and summary; no verdict
# ---------------------------------------------------------------------------

def test_a_shard_job_writes_its_part_to_the_artifact_folder_and_posts_nothing(name_hash_shards):
    job = name_hash_shards.jobs[2]
    assert job.returncode == 0, job.explain()
    assert job.outputs["shard-artifact"] == job.outputs["shard-path"] == "perf-shard-2-of-3"
    assert "regression" not in job.outputs and "comparison-json" not in job.outputs
    results = name_hash_shards.results(2)
    settings = results["settings"]
    assert settings["shard"] == "2/3" and settings["suite_size"] == len(NAMES)
    assert settings["suite_digest"] == suite_digest(NAMES)
    assert settings["partition"] == "name hash" and settings["shards"] is None
    assert results["environment"]["commit_sha"] == HEAD_SHA
    # Only its part: by name hash, six benchmarks make three parts of two.
    parts = [set(name_hash_shards.names(k)) for k in (1, 2, 3)]
    assert [len(p) for p in parts] == [2, 2, 2]
    assert set().union(*parts) == NAMES
    assert not (name_hash_shards.folders[2] / BASE_RESULTS_FILE).exists()
    # The summary says which shard, and what to upload; no verdict, no comparison.
    assert "shard 2/3" in job.summary
    assert "`perf-shard-2-of-3`" in job.summary
    assert "Measured 2 benchmarks of the suite's 6, balanced by name hash" in job.summary
    assert "regress" not in job.summary.lower()
    # Nothing of the merge job's: no comment, no results or report at the top.
    fake = name_hash_shards.fake
    assert fake.comments_on(REPO, PR) == []
    assert not fake.requests("api", "POST") and not fake.requests("api", "PATCH")
    assert not (job.workspace / "perf-results.json").exists()
    assert not (job.workspace / "perf-report.md").exists()
    # Without a baseline artifact the parts are balanced by name, and the log says why.
    assert "no artifact named 'perf-baseline'" in job.stdout
    assert not job.annotations("error")


def test_shard_jobs_balance_by_the_baselines_costs_so_the_costly_benchmark_sits_alone(costed_shards):
    parts = {k: set(costed_shards.names(k)) for k in (1, 2, 3)}
    assert set().union(*parts.values()) == NAMES and sum(map(len, parts.values())) == len(NAMES)
    [alone] = [k for k, names in parts.items() if COSTLY in names]
    assert parts[alone] == {COSTLY}, parts
    assert sorted(len(names) for k, names in parts.items() if k != alone) == [2, 3]
    basis = f"costs in the baseline of {BASELINE_SHA[:12]}"
    for k in (1, 2, 3):
        assert costed_shards.results(k)["settings"]["partition"] == basis
        assert basis in costed_shards.jobs[k].summary
    # The baseline was read (from main, the PR's base), never anything posted.
    assert costed_shards.fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts/\d+/zip")
    assert costed_shards.fake.comments_on(REPO, PR) == []


def test_a_shard_job_without_a_token_balances_by_name_hash(fake, run_action, suite_workspace):
    fake.add_artifact(REPO, BASELINE, costly_baseline(), head_sha=BASELINE_SHA)
    result = run_action("pull_request", token="", inputs={
        "benchmark": BENCH_FILE, "shard": "2/3", "time-budget": SHARD_BUDGET})
    assert result.returncode == 0, result.explain()
    results = json.loads((suite_workspace / "perf-shard-2-of-3" / RESULTS_FILE).read_text())
    assert results["settings"]["partition"] == "name hash"
    assert len(results["benchmarks"]) == 2
    assert "balanced by name hash" in result.summary
    assert not fake.requests()


# ---------------------------------------------------------------------------
# 2. A same-runner shard: both sides in the folder
# ---------------------------------------------------------------------------

def test_a_same_runner_shard_writes_the_base_sides_results_beside_its_own(same_runner_shards):
    job = same_runner_shards.jobs[1]
    assert job.outputs["shard-artifact"] == "perf-shard-1-of-2"
    head = same_runner_shards.results(1)
    base = same_runner_shards.results(1, BASE_RESULTS_FILE)
    assert head["settings"]["shard"] == base["settings"]["shard"] == "1/2"
    assert head["settings"]["mode"] == base["settings"]["mode"] == "same-runner"
    assert base["environment"]["commit_sha"] == same_runner_shards.base_sha
    assert {b["name"] for b in head["benchmarks"]} == {b["name"] for b in base["benchmarks"]}
    assert len(head["benchmarks"]) == 3
    assert f"beside the base commit `{same_runner_shards.base_sha[:12]}`" in job.summary
    assert not (job.workspace / "perf-results.base.json").exists()
    # The jobs look for main's baseline only to balance the shards (there is none yet).
    read = same_runner_shards.fake.requests("api", path=r".*/actions/.*")
    assert {(r.path, r.query.get("name")) for r in read} == {(f"/repos/{REPO}/actions/artifacts", BASELINE)}
    assert head["settings"]["partition"] == "name hash"


# ---------------------------------------------------------------------------
# 3. The merge job in baseline mode: one suite, one comparison, one comment
# ---------------------------------------------------------------------------

def test_the_merge_job_compares_the_whole_suite_and_posts_one_comment(
        fake, run_action, suite_workspace, name_hash_shards):
    for index in (3, 1, 2):
        name_hash_shards.upload(fake, index)
    fake.add_artifact(REPO, BASELINE, baseline_around(name_hash_shards), head_sha=BASELINE_SHA)
    result = merge(run_action, confirm="false")
    assert result.returncode == 0, result.explain()

    merged = json.loads((suite_workspace / "perf-results.json").read_text())
    names = [b["name"] for b in merged["benchmarks"]]
    assert sorted(names) == sorted(NAMES)           # every benchmark once
    assert merged["settings"]["shards"] == 3 and merged["settings"]["shard"] is None
    for bench in merged["benchmarks"]:
        assert bench["name"] in name_hash_shards.names(bench["shard"])
    assert not (suite_workspace / "perf-results.base.json").exists()

    [comment] = fake.comments_on(REPO, PR)
    assert comment.author == BOT
    assert result.outputs["regression"] == "false"
    assert result.outputs["baseline-status"] == "found"
    assert result.outputs["results-path"] == "perf-results.json"
    assert "shard-artifact" not in result.outputs
    comparison = json.loads(result.outputs["comparison-json"])
    timed = {d["benchmark"]: d["verdict"] for d in comparison["deltas"] if d["metric"] == "time"}
    assert set(timed) == NAMES
    assert set(timed.values()) <= {"unchanged", "inconclusive"}, timed   # compared, not refused
    assert "Merged from 3 shards" in (suite_workspace / "perf-report.md").read_text()
    assert "merged 3 shards (6 benchmarks)" in result.stdout
    # The summary holds the verdict of the whole suite (noise may leave one undecided).
    headline = result.summary.splitlines()[0]
    # ("no regression" when every benchmark was decided, else the undecided are counted)
    assert headline.startswith("## ") and "Performance:" in headline
    assert headline.endswith(": no regression") or ": inconclusive" in headline, headline
    assert "shard 2/3" not in result.summary
    # The run's shards were listed and downloaded; the baseline was read from main.
    assert fake.requests("api", "GET", rf"/repos/{REPO}/actions/runs/{RUN}/artifacts")
    assert len(fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts/\d+/zip")) == 4


def test_a_benchmark_three_times_slower_in_one_shard_fails_the_merge_job(
        fake, run_action, suite_workspace, name_hash_shards):
    slowed = name_hash_shards.names(2)[0]
    results = name_hash_shards.results(2)
    for bench in results["benchmarks"]:
        if bench["name"] == slowed:
            for metric in ("time", "cpu_time"):
                slower = [[v * 3 for v in p] for p in bench["metrics"][metric]["samples"]]
                # A busy machine may leave a 1 s budget a single round; one process against
                # 120 cannot pass Holm over the suite's tests, three can.
                bench["metrics"][metric]["samples"] = (slower * 3)[:max(3, len(slower))]
    name_hash_shards.upload(fake, 1)
    name_hash_shards.upload(fake, 2, results=results)
    name_hash_shards.upload(fake, 3)
    fake.add_artifact(REPO, BASELINE, baseline_around(name_hash_shards), head_sha=BASELINE_SHA)
    # The stored baseline's verdict stands: confirming it beside the base commit would
    # measure the base's code, which these hand-slowed results do not come from.
    result = merge(run_action, confirm="false")
    assert result.returncode == 1, result.explain()
    assert result.outputs["regression"] == "true"
    assert result.outputs["regressions-count"] == "1"
    comparison = json.loads(result.outputs["comparison-json"])
    regressed = [d for d in comparison["deltas"] if d["verdict"] == "regressed"]
    assert [(d["benchmark"], d["metric"]) for d in regressed] == [(slowed, "time")]
    assert 1.5 < regressed[0]["change"] < 3.5
    errors = result.annotations("error")
    assert any(f"title=Performance regression%3A {slowed}" in line for line in errors), errors
    [comment] = fake.comments_on(REPO, PR)
    assert slowed in comment.body
    assert "Performance: 1 regression" in result.summary.splitlines()[0]
    assert f"`{slowed}`" in result.summary


# ---------------------------------------------------------------------------
# 4. Refusals: exit 2, naming the problem, before anything is compared or posted
# ---------------------------------------------------------------------------

def assert_refused(result, fake, *words: str) -> str:
    assert result.returncode == 2, result.explain()
    said = error_text(result)
    for word in words:
        assert word in said, said
    assert fake.comments_on(REPO, PR) == []
    assert not (result.workspace / "perf-results.json").exists()
    assert "Running benchmarks" not in result.stdout
    return said


def test_a_missing_shard_is_named_and_nothing_is_compared(fake, run_action, suite_workspace,
                                                         name_hash_shards):
    name_hash_shards.upload(fake, 1)
    name_hash_shards.upload(fake, 3)
    said = assert_refused(merge(run_action), fake, "1 shard of 3 missing: 2/3",
                          "re-run the failed shard jobs")
    assert "1/3" not in said and "3/3" not in said


def test_no_shard_artifact_in_this_run_is_an_error_naming_the_run(fake, run_action, suite_workspace,
                                                                  name_hash_shards):
    fake.add_run(REPO, RUN, head_branch="faster-parser", event="pull_request")
    fake.add_artifact(REPO, "coverage", zip_files({"coverage.xml": "<coverage/>"}), run_id=RUN)
    for index in (1, 2, 3):           # an earlier run's complete set does not count
        name_hash_shards.upload(fake, index, run_id=OTHER_RUN)
    assert_refused(merge(run_action), fake, f"no artifact named {PREFIX}-K-of-N was uploaded by "
                                            f"this workflow run ({RUN})")
    assert not fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts/\d+/zip")


def test_shards_of_another_run_do_not_fill_a_gap_in_this_one(fake, run_action, suite_workspace,
                                                              name_hash_shards):
    for index in (1, 2, 3):
        name_hash_shards.upload(fake, index, run_id=OTHER_RUN)
    name_hash_shards.upload(fake, 1)
    name_hash_shards.upload(fake, 3)
    assert_refused(merge(run_action), fake, "missing: 2/3")
    other = {a.id for a in fake.state.artifacts.values() if a.run_id == OTHER_RUN}
    downloads = fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts/\d+/zip")
    assert len(downloads) == 2
    assert not any(r.path.split("/")[-2] in {str(i) for i in other} for r in downloads)


def test_same_runner_shards_are_refused_by_a_baseline_mode_merge(fake, run_action, suite_workspace,
                                                                 same_runner_shards):
    for index in (1, 2):
        same_runner_shards.upload(fake, index)
    assert_refused(merge(run_action), fake, "measured in same-runner mode",
                   "set mode: same-runner in the merge job too")


def test_baseline_mode_shards_are_refused_by_a_same_runner_merge(fake, run_action, suite_workspace,
                                                                 name_hash_shards):
    for index in (1, 2, 3):
        name_hash_shards.upload(fake, index)
    assert_refused(merge(run_action, mode="same-runner"), fake, "measured no base side")


@pytest.mark.parametrize("inputs, token, words", [
    ({"shard": "1/3", "merge-shards": "true"}, BOT_TOKEN,
     ["inputs 'shard' and 'merge-shards' exclude each other"]),
    ({"shard": "1/3", "results-file": "earlier.json"}, BOT_TOKEN,
     ["inputs 'shard' and 'results-file' exclude each other"]),
    ({"shard": "0/3"}, BOT_TOKEN, ["shard 0/3 is out of range"]),
    ({"shard": "abc"}, BOT_TOKEN, ["input 'shard' must be INDEX/COUNT", "'abc'"]),
    ({"merge-shards": "true"}, "", ["input 'merge-shards'", "give a token with actions: read"]),
], ids=["shard-and-merge", "shard-and-results-file", "shard-0-of-3", "shard-abc", "merge-without-token"])
def test_shard_inputs_that_cannot_work_exit_2_before_measuring(fake, run_action, suite_workspace,
                                                               inputs, token, words):
    (suite_workspace / "earlier.json").write_text(json.dumps(suite_dict({"sorting": [[0.001]]})))
    result = run_action("pull_request", token=token, env={"GITHUB_RUN_ID": str(RUN)},
                        inputs={"benchmark": BENCH_FILE, **inputs})
    assert_refused(result, fake, *words)
    assert not list(suite_workspace.glob(f"{PREFIX}-*"))
    assert not fake.requests("api", path=r".*/actions/.*")


# ---------------------------------------------------------------------------
# 5. The same-runner merge: both sides merged, one correction over every shard
# ---------------------------------------------------------------------------

def test_a_same_runner_merge_compares_both_sides_of_every_shard_under_one_correction(
        fake, run_action, suite_workspace, same_runner_shards):
    for index in (1, 2):
        same_runner_shards.upload(fake, index)
    result = merge(run_action, mode="same-runner", thresholds=WIRING_ONLY)
    assert result.returncode == 0, result.explain()
    assert result.outputs["baseline-status"] == "same-runner"
    head = json.loads((suite_workspace / "perf-results.json").read_text())
    base = json.loads((suite_workspace / "perf-results.base.json").read_text())
    assert sorted(b["name"] for b in head["benchmarks"]) == sorted(NAMES)
    assert sorted(b["name"] for b in base["benchmarks"]) == sorted(NAMES)
    assert head["settings"]["shards"] == base["settings"]["shards"] == 2
    assert base["environment"]["commit_sha"] == same_runner_shards.base_sha
    shard_of = {b["name"]: b["shard"] for b in head["benchmarks"]}
    assert shard_of == {b["name"]: b["shard"] for b in base["benchmarks"]}
    # One family of gating tests over both shards' benchmarks, not one per shard.
    comparison = json.loads(result.outputs["comparison-json"])
    tested = [d for d in comparison["deltas"] if d["gating"] and d["p_adjusted"] is not None]
    assert comparison["gating_tests"] == len(tested) > 0
    assert {shard_of[d["benchmark"]] for d in tested} == {1, 2}
    for delta in tested:
        if "tests" in delta.get("reason_facts", {}):
            assert delta["reason_facts"]["tests"] == comparison["gating_tests"]
    [comment] = fake.comments_on(REPO, PR)
    assert "same runner" in comment.body
    # same-runner compares with the base side: no baseline artifact is looked for
    assert not fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts")


def hand_built_same_runner(rounds: dict[int, int], slowed: str) -> dict[int, tuple[Suite, Suite]]:
    """Two same-runner shards, (head, base) each: shard 1 of ``rounds[1]`` rounds, shard 2 of
    ``rounds[2]``; ``slowed`` takes 1.5 times as long on the head side in every round."""
    parts = {1: ("parse", "render"), 2: ("search", "sort")}
    names = [n for p in parts.values() for n in p]

    def side(index: int, sha: str, head: bool) -> Suite:
        benches = []
        for number, name in enumerate(parts[index]):
            values = []
            for r in range(rounds[index]):
                seconds = 0.001 * (1 + number) * (1 + 0.05 * (r % 4))     # the round's load
                if head:
                    seconds *= 1.5 * (1 + 0.01 * (r % 3)) if name == slowed else 1 + 0.01 * (-1) ** r
                values.append((seconds, seconds * 1.001))
            benches.append(Benchmark(name, {"time": Metric("s", "lower", tuple(values))}, loops=1))
        return Suite(tuple(benches),
                     Environment(commit_sha=sha, python_implementation="CPython", python_version="3.12.0",
                                 machine="x86_64"),
                     RunSettings(time_budget=10.0, mode="same-runner", shard=f"{index}/2",
                                 suite_size=len(names), suite_digest=suite_digest(names),
                                 partition="name hash"))

    return {k: (side(k, HEAD_SHA, True), side(k, "0e1d2c3b4a5968778695a4b3c2d1e0f9e8d7c6b5", False))
            for k in (1, 2)}


def test_paired_tests_of_shards_with_different_rounds_are_corrected_together_by_max_t(
        fake, run_action, suite_workspace):
    # Two jobs get different numbers of rounds; each shard's rounds are its own block.
    for index, (head, base) in hand_built_same_runner({1: 8, 2: 10}, slowed="search").items():
        fake.add_artifact(REPO, f"{PREFIX}-{index}-of-2", zip_files({
            RESULTS_FILE: json.dumps(suite_to_dict(head)),
            BASE_RESULTS_FILE: json.dumps(suite_to_dict(base))}), run_id=RUN)
    result = merge(run_action, mode="same-runner")
    assert result.returncode == 1, result.explain()
    comparison = json.loads(result.outputs["comparison-json"])
    # Every paired test of both shards in one max-T group: none left to Holm, although
    # the shards' rounds differ (8 and 10), and the family is the whole suite's.
    assert comparison["correction"] == "max-T"
    assert comparison["gating_tests"] == 4
    [regressed] = [d for d in comparison["deltas"] if d["verdict"] == "regressed"]
    assert regressed["benchmark"] == "search"
    assert regressed["reason_facts"]["correction"] == "max-T"
    assert regressed["reason_facts"]["tests"] == 4
    # Its block's 10 rounds bound its p-value, whatever rounds the other shard adds.
    assert 2 ** -10 <= regressed["p_adjusted"] <= 0.01
    assert {d["verdict"] for d in comparison["deltas"] if d["benchmark"] != "search"} <= {
        "unchanged", "inconclusive"}
    assert result.outputs["regressions-count"] == "1"
    assert len(fake.comments_on(REPO, PR)) == 1
