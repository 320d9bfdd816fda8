"""A sharded suite under a real runner, act: a 3-shard matrix and the job that merges it.

The workflow (tests/e2e/workflows/perf-e2e-sharded.yml) mirrors
examples/workflows/perf-sharded.yml on a pull request, in same-runner mode:
each matrix job measures its third of six benchmarks beside the base commit
and uploads its results as an artifact of this workflow run; the merge job
(`needs:` the matrix) downloads every shard from the fake GitHub, compares
the whole suite as one run, comments once and sets the exit code. Three
pushes to one pull request, each a whole act run of the workflow:

1. nothing that runs changed: every job succeeds and one comment covers the
   benchmarks of all three shards;
2. one benchmark, measured by shard 2, is threefold slower: the shard jobs
   still succeed (they decide nothing), the merge job fails (exit 1) and the
   same comment now names the regression;
3. the same head, with shard 2's upload left out: the merge job refuses the
   set (exit 2, naming the missing shard) and leaves the comment alone, where
   merging the two shards it has would have passed the slowed benchmark.

actions/upload-artifact cannot run offline: a `run:` step stands in for it
(support.UPLOAD_STAND_IN, written into the checkout). act gives every job of
one invocation the run id passed as GITHUB_RUN_ID (its default is 1 for every
invocation), so each push gets its own id, and the fake's artifacts are
cleared between pushes as well.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import time
import zipfile

import pytest

from perfaction.results.shards import BASE_RESULTS_FILE, RESULTS_FILE, artifact_name, assign

from .support import (
    HERE,
    PR_NUMBER,
    REPOSITORY,
    TOKEN,
    UPLOAD_STAND_IN,
    ActResult,
    commit_all,
    copy_action_checkout,
    init_git_repo,
    note,
    pull_request_event,
    run_act,
    upload_stand_in_env,
)

pytestmark = [pytest.mark.docker, pytest.mark.act]

WORKFLOW = HERE / "workflows" / "perf-e2e-sharded.yml"
BENCH = HERE / "data" / "bench_sharded.py"
BENCH_PATH = "bench/bench_sharded.py"           # the workflow's `benchmark` input
STAND_IN_PATH = ".github/e2e/upload-stand-in.sh"  # what the upload step sources
SHARDS = 3
PREFIX = "perf-shard"                            # the default shard-artifact input
BENCHMARKS = ("sum_list", "sum_squares", "sort_words", "join_text", "dict_lookups",
              "json_round_trip")
SHARD_JOBS = tuple(f"perf-shard-{k}" for k in range(1, SHARDS + 1))  # act's names for the matrix
MERGE_JOB = "perf"
# The shard whose artifact the third push leaves out, and which holds the slowed benchmark.
MISSING_SHARD = 2

# act ends each job with "[workflow/job   ] 🏁  Job succeeded" (or failed), and a
# failed step with "[workflow/job   ] exit with `FAILURE`: CODE".
_JOB_LINE = re.compile(r"^\[[^/\]]+/(?P<job>[^\]]+?)\s*\](?P<text>.*)$", re.MULTILINE)
_JOB_END = re.compile(r"🏁\s+Job (succeeded|failed)")
_EXIT_CODE = re.compile(r"exit with `FAILURE`: (\d+)")


def job_logs(log: str) -> dict[str, str]:
    """Each job's lines of an act log, by job name (a matrix job: name-K)."""
    lines: dict[str, list[str]] = {}
    for match in _JOB_LINE.finditer(log):
        lines.setdefault(match["job"], []).append(match["text"])
    return {job: "\n".join(text) for job, text in lines.items()}


def job_outcomes(log: str) -> dict[str, str]:
    """'succeeded' or 'failed' per job that ran to its end."""
    outcomes = {}
    for job, text in job_logs(log).items():
        ends = _JOB_END.findall(text)
        if ends:
            outcomes[job] = ends[-1]
    return outcomes


def step_exit_codes(job_log: str) -> list[int]:
    return [int(code) for code in _EXIT_CODE.findall(job_log)]


def slowed_benchmark() -> str:
    """A benchmark of MISSING_SHARD, by the partition every shard job computes here.

    No baseline exists in same-runner mode, so the jobs balance by name hash;
    the first push checks from the uploaded artifacts that they did.
    """
    owner = assign(BENCHMARKS, SHARDS, {})
    return sorted(name for name in BENCHMARKS if owner[name] == MISSING_SHARD)[0]


def artifact_files(fake, run_id: int) -> dict[str, dict[str, bytes]]:
    """The artifacts of workflow run ``run_id`` on the fake: name -> {member: content}."""
    out = {}
    for artifact in fake.state.artifacts_of_run(REPOSITORY, run_id):
        with zipfile.ZipFile(io.BytesIO(artifact.content)) as archive:
            out[artifact.name] = {name: archive.read(name) for name in archive.namelist()}
    return out


def comment_writes(fake) -> int:
    """Comment creations and edits the fake received so far."""
    return (len(fake.requests(method="POST", path=r"/repos/[^/]+/[^/]+/issues/\d+/comments"))
            + len(fake.requests(method="PATCH", path=r"/repos/[^/]+/[^/]+/issues/comments/\d+")))


def explain(result: ActResult) -> str:
    outcomes = job_outcomes(result.log)
    return f"act exit {result.returncode}, jobs {outcomes}\n{result.explain()}"


@pytest.fixture(scope="module")
def checkout(action_image, tmp_path_factory):
    """The user's repository: the action, the benchmarks, the workflow, the upload stand-in."""
    root = tmp_path_factory.mktemp("act-sharded") / "widgets"
    copy_action_checkout(root)
    (root / "bench").mkdir()
    shutil.copy2(BENCH, root / BENCH_PATH)
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True)
    shutil.copy2(WORKFLOW, workflows / WORKFLOW.name)
    stand_in = root / STAND_IN_PATH
    stand_in.parent.mkdir(parents=True)
    stand_in.write_text(UPLOAD_STAND_IN, encoding="utf-8")
    return root, init_git_repo(root, repository=REPOSITORY)


def push(act_binary, root, fake, *, head_sha: str, base_sha: str, run_id: int, label: str,
         **env: str) -> ActResult:
    """One push to the pull request: the whole workflow, as workflow run ``run_id``."""
    fake.remove_artifacts()   # nothing left over from an earlier push
    fake.add_run(REPOSITORY, run_id, head_branch="feature", head_sha=head_sha, event="pull_request")
    started = time.monotonic()
    result = run_act(act_binary, root, event_name="pull_request",
                     workflow=root / ".github" / "workflows" / WORKFLOW.name,
                     event=pull_request_event(head_sha, base_sha),
                     env={"GITHUB_API_URL": fake.base_url, "GITHUB_RUN_ID": str(run_id),
                          **upload_stand_in_env(fake), **env},
                     secrets={"GITHUB_TOKEN": TOKEN}, label=label, timeout=420)
    note(f"act sharded: {label}: {time.monotonic() - started:.0f} s, jobs {job_outcomes(result.log)}")
    return result


def test_sharded_pull_request_comments_once_gates_on_a_shard_and_refuses_a_missing_one(
        act_binary, checkout, fake_github):
    root, base_sha = checkout
    fake = fake_github
    slowed = slowed_benchmark()
    expected_artifacts = {artifact_name(PREFIX, k, SHARDS) for k in range(1, SHARDS + 1)}

    # -- 1. a push that changes nothing that runs ---------------------------------
    (root / "CHANGELOG.md").write_text("A change to the docs only.\n", encoding="utf-8")
    quiet_sha = commit_all(root, "a change to the docs only")
    first = push(act_binary, root, fake, head_sha=quiet_sha, base_sha=base_sha, run_id=7101,
                 label="3 shards + merge, unchanged")
    outcomes = job_outcomes(first.log)
    assert first.returncode == 0 and outcomes == {
        **{job: "succeeded" for job in SHARD_JOBS}, MERGE_JOB: "succeeded"}, explain(first)
    # Every job of the run saw one run id, the one the merge job downloads from.
    assert {first.outputs[f"shard-{k}-run-id"] for k in range(1, SHARDS + 1)} \
        == {first.outputs["merge-run-id"]} == {"7101"}, first.outputs
    assert {first.outputs[f"shard-{k}-artifact"] for k in range(1, SHARDS + 1)} == expected_artifacts
    uploaded = artifact_files(fake, 7101)
    assert set(uploaded) == expected_artifacts, uploaded.keys()
    measured = {}
    for name, files in uploaded.items():
        # same-runner: each shard's base side travels with its head side
        assert set(files) == {RESULTS_FILE, BASE_RESULTS_FILE}, (name, set(files))
        head = json.loads(files[RESULTS_FILE])
        measured[name] = {bench["name"] for bench in head["benchmarks"]}
        assert measured[name] == {bench["name"] for bench in json.loads(files[BASE_RESULTS_FILE])["benchmarks"]}
    assert sorted(n for names in measured.values() for n in names) == sorted(BENCHMARKS), measured
    assert all(len(names) == len(BENCHMARKS) // SHARDS for names in measured.values()), measured
    assert slowed in measured[artifact_name(PREFIX, MISSING_SHARD, SHARDS)], measured

    merge_log = job_logs(first.log)[MERGE_JOB]
    assert f"merged {SHARDS} shards ({len(BENCHMARKS)} benchmarks)" in merge_log, merge_log[-3000:]
    assert first.outputs["regression"] == "false" and first.outputs["regressions-count"] == "0", \
        explain(first)
    assert first.outputs["baseline-status"] == "same-runner"
    assert first.outputs.get("results-file") == "present"
    deltas = json.loads(first.outputs["comparison-json"])["deltas"]
    assert {d["benchmark"] for d in deltas} == set(BENCHMARKS)
    [comment] = fake.comments_on(REPOSITORY, PR_NUMBER)
    first_body, comment_id = comment.body, comment.id
    assert all(f"`{name}`" in first_body for name in BENCHMARKS), first_body
    assert f"Merged from {SHARDS} shards" in first_body, first_body
    assert first.outputs["comment-url"].endswith(f"#issuecomment-{comment_id}")
    assert comment_writes(fake) == 1, "only the merge job writes the comment; the shards post nothing"

    # -- 2. a push that makes one benchmark of shard 2 threefold slower -----------
    bench = root / BENCH_PATH
    bench.write_text(bench.read_text(encoding="utf-8").replace(
        "SLOWED: tuple[str, ...] = ()", f"SLOWED: tuple[str, ...] = ({slowed!r},)"), encoding="utf-8")
    slow_sha = commit_all(root, f"{slowed} does eight times the work")
    second = push(act_binary, root, fake, head_sha=slow_sha, base_sha=base_sha, run_id=7102,
                  label=f"3 shards + merge, {slowed} 3x slower")
    outcomes = job_outcomes(second.log)
    assert second.returncode != 0 and outcomes == {
        **{job: "succeeded" for job in SHARD_JOBS}, MERGE_JOB: "failed"}, explain(second)
    assert step_exit_codes(job_logs(second.log)[MERGE_JOB]) == [1], explain(second)
    assert second.outputs["regression"] == "true", explain(second)
    deltas = json.loads(second.outputs["comparison-json"])["deltas"]
    [slowed_time] = [d for d in deltas if (d["benchmark"], d["metric"]) == (slowed, "time")]
    # The paired test needs about 7 rounds a side; the slowed shard's rounds are the longest.
    note(f"act sharded: {slowed} time {slowed_time['verdict']}, change {slowed_time['change']:+.0%}, "
         f"{slowed_time['base']['n']}/{slowed_time['head']['n']} processes (base/head)")
    regressed = [(d["benchmark"], d["metric"], d["gating"]) for d in deltas if d["verdict"] == "regressed"]
    assert (slowed, "time", True) in regressed and {b for b, _, _ in regressed} == {slowed}, explain(second)
    assert int(second.outputs["regressions-count"]) == sum(gating for _, _, gating in regressed)
    [comment] = fake.comments_on(REPOSITORY, PR_NUMBER)
    assert comment.id == comment_id, "the second push must update the comment, not add one"
    assert comment.updated_at > comment.created_at and comment.body != first_body
    second_body, second_updated = comment.body, comment.updated_at
    assert "regress" in second_body.split("\n", 3)[1].lower(), second_body[:500]  # the headline
    assert f"`{slowed}`" in second_body
    writes = comment_writes(fake)

    # -- 3. the same head, shard 2's artifact never uploaded ------------------------
    third = push(act_binary, root, fake, head_sha=slow_sha, base_sha=base_sha, run_id=7103,
                 label=f"shard {MISSING_SHARD} not uploaded", PERF_E2E_SKIP_UPLOAD=str(MISSING_SHARD))
    outcomes = job_outcomes(third.log)
    assert third.returncode != 0 and outcomes == {
        **{job: "succeeded" for job in SHARD_JOBS}, MERGE_JOB: "failed"}, explain(third)
    assert third.outputs.get(f"shard-{MISSING_SHARD}-upload") == "skipped"
    assert set(artifact_files(fake, 7103)) == expected_artifacts - {
        artifact_name(PREFIX, MISSING_SHARD, SHARDS)}
    merge_log = job_logs(third.log)[MERGE_JOB]
    assert step_exit_codes(merge_log) == [2], explain(third)
    assert f"1 shard of {SHARDS} missing: {MISSING_SHARD}/{SHARDS}" in merge_log, merge_log[-3000:]
    assert third.outputs["regression"] == "", "a refused merge reaches no verdict"
    [comment] = fake.comments_on(REPOSITORY, PR_NUMBER)
    assert (comment.id, comment.body, comment.updated_at) == (comment_id, second_body, second_updated), \
        "a refused merge must leave the last real verdict on the pull request"
    assert comment_writes(fake) == writes
