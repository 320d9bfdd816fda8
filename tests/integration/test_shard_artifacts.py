"""The merge job's download of this run's shard artifacts, against the fake GitHub over HTTP.

GitHubClient.fetch_shards lists the run's artifacts (PyGithub: the run, then
its artifacts_url), keeps ``<prefix>-K-of-N`` ones, downloads each with the
token kept off the blob host, and opens results.json (and results.base.json)
from the zip's top. The act workflows upload shards with a bash stand-in for
actions/upload-artifact (tests/e2e/support.py): it is run here for real.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import timedelta

import pytest
import requests

from perfaction.github import client as client_module
from perfaction.github.artifacts import ExtractionLimits, ShardArtifactError
from perfaction.github.client import ApiSettings, GitHubAPIError, GitHubClient
from perfaction.results.files import dump_suite, suite_to_dict
from perfaction.results.model import Benchmark, Environment, Metric, RunSettings, Suite
from perfaction.results.shards import BASE_RESULTS_FILE, RESULTS_FILE, artifact_name
from tests.e2e.support import UPLOAD_STAND_IN, UPLOAD_STAND_IN_PORT_VAR, upload_stand_in_env
from tests.fake_github import FORBIDDEN_INTEGRATION, zip_files
from tests.fake_github.seed import BOT_TOKEN, REPO, REPO_ID

RUN = 6_100_200_300
OTHER_RUN = 6_100_200_999
PREFIX = "perf-shard"
BASH = shutil.which("bash")


def make_client(fake, *, limits=ExtractionLimits(), retries=1):
    return GitHubClient(api_url=fake.base_url, token=BOT_TOKEN, repository=REPO,
                        settings=ApiSettings(timeout=5.0, retries=retries, backoff=0.0),
                        sleep=lambda _: None, limits=limits)


def suite(*names: str, side: str = "head", part: str | None = None, seconds: float = 0.001) -> Suite:
    """A shard's results: each benchmark timed by three processes."""
    samples = tuple(tuple(seconds * (1 + 0.01 * ((p + v) % 3)) for v in range(4)) for p in range(3))
    return Suite(
        benchmarks=tuple(Benchmark(name, {"time": Metric("s", "lower", samples)}, loops=1)
                         for name in names),
        environment=Environment(commit_sha=("b" if side == "head" else "a") * 40,
                                python_implementation="CPython"),
        settings=RunSettings(time_budget=1.0, mode="same-runner", shard=part))


def shard_zip(head: Suite, base: Suite | None = None, **extra: bytes | str) -> bytes:
    """What actions/upload-artifact of a shard's output folder stores: its files at the top."""
    files: dict[str, bytes | str] = {RESULTS_FILE: json.dumps(suite_to_dict(head))}
    if base is not None:
        files[BASE_RESULTS_FILE] = json.dumps(suite_to_dict(base))
    files.update(extra)
    return zip_files(files)


def add_shard(fake, index, count, head, base=None, *, run_id=RUN, prefix=PREFIX, **kwargs):
    return fake.add_artifact(REPO, artifact_name(prefix, index, count), shard_zip(head, base),
                             run_id=run_id, **kwargs)


def fetch(client, tmp_path, *, run_id=RUN, prefix=PREFIX):
    scratch = tmp_path / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    return client.fetch_shards(run_id=run_id, prefix=prefix, scratch=scratch)


# ---------------------------------------------------------------------------
# fetch_shards
# ---------------------------------------------------------------------------

def test_the_runs_shards_are_fetched_and_everything_else_is_ignored(any_fake, tmp_path):
    first = add_shard(any_fake, 1, 2, suite("parse", part="1/2"),
                      suite("parse", side="base", part="1/2"))
    second = add_shard(any_fake, 2, 2, suite("render", "sort", part="2/2"))
    # Not shards of this run: another run's, another prefix's, other artifacts of the run.
    add_shard(any_fake, 1, 2, suite("elsewhere"), run_id=OTHER_RUN)
    add_shard(any_fake, 1, 2, suite("other_prefix"), prefix="perf-shard-extra")
    add_shard(any_fake, 1, 2, suite("other_prefix"), prefix="nightly")
    for name in ("perf-baseline", "perf-shard-0-of-2", "perf-shard-3-of-2", "perf-shard-1-of-2.zip",
                 "xperf-shard-1-of-2", "perf-shard-1-of-"):
        any_fake.add_artifact(REPO, name, shard_zip(suite("not_a_shard")), run_id=RUN)

    shards = fetch(make_client(any_fake), tmp_path)

    assert [s.name for s in shards] == ["perf-shard-1-of-2", "perf-shard-2-of-2"]
    assert [s.artifact.id for s in shards] == [first.id, second.id]
    assert shards[0].head.names() == ("parse",) and shards[0].head.settings.shard == "1/2"
    assert shards[0].base is not None and shards[0].base.names() == ("parse",)
    assert shards[0].base.environment.commit_sha == "a" * 40
    assert shards[1].head.names() == ("render", "sort") and shards[1].base is None
    assert all(s.artifact.run_id == RUN for s in shards)
    # PyGithub reads the run for its artifacts_url, then lists them; only the two shards are downloaded.
    paths = [r.path for r in any_fake.requests("api", "GET")]
    assert f"/repos/{REPO}/actions/runs/{RUN}" in paths
    assert f"/repos/{REPO}/actions/runs/{RUN}/artifacts" in paths
    assert not any_fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts")
    downloads = any_fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts/\d+/zip")
    assert sorted(r.path for r in downloads) == sorted(
        f"/repos/{REPO}/actions/artifacts/{a.id}/zip" for a in (first, second))
    assert all("authorization" in r.headers for r in downloads)
    blob = any_fake.requests("blob")
    assert len(blob) == 2 and all("authorization" not in r.headers for r in blob)


def test_sorted_by_count_then_index_whatever_the_listing_order(fake, tmp_path):
    for index, count in ((3, 3), (2, 2), (1, 3), (2, 3), (1, 2)):
        add_shard(fake, index, count, suite(f"b{index}{count}"))
    shards = fetch(make_client(fake), tmp_path)
    assert [s.name for s in shards] == ["perf-shard-1-of-2", "perf-shard-2-of-2", "perf-shard-1-of-3",
                                        "perf-shard-2-of-3", "perf-shard-3-of-3"]


def test_a_shard_uploaded_twice_counts_once_the_newest(fake, tmp_path):
    newer = add_shard(fake, 1, 1, suite("rerun"))
    older = add_shard(fake, 1, 1, suite("first_attempt"))
    # Listed after the newer one but created before it: creation time decides, not listing order.
    older.created_at = newer.created_at - timedelta(minutes=5)
    shards = fetch(make_client(fake), tmp_path)
    assert len(shards) == 1
    assert shards[0].artifact.id == newer.id and shards[0].head.names() == ("rerun",)
    assert len(fake.requests("blob")) == 1


def test_expired_shards_are_skipped_and_not_downloaded(fake, tmp_path):
    add_shard(fake, 1, 2, suite("kept"))
    gone = add_shard(fake, 2, 2, suite("expired"), expired=True)
    older = add_shard(fake, 2, 2, suite("older_expired"), expired=True)
    older.created_at = gone.created_at - timedelta(minutes=1)
    shards = fetch(make_client(fake), tmp_path)
    assert [s.name for s in shards] == ["perf-shard-1-of-2"]
    assert not fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts/{gone.id}/zip")


def test_a_shard_that_expires_between_listing_and_download_is_skipped(fake, tmp_path):
    add_shard(fake, 1, 2, suite("kept"))
    late = add_shard(fake, 2, 2, suite("lapsed"))
    fake.add_fault("GET", rf"/repos/{REPO}/actions/artifacts/{late.id}/zip", 410, "Artifact has expired")
    assert [s.name for s in fetch(make_client(fake), tmp_path)] == ["perf-shard-1-of-2"]


def test_a_run_without_shards_gives_an_empty_list(fake, tmp_path):
    fake.add_run(REPO, RUN)
    fake.add_artifact(REPO, "perf-baseline", shard_zip(suite("x")), run_id=RUN)
    assert fetch(make_client(fake), tmp_path) == []
    assert not fake.requests("blob")


def test_all_pages_of_the_runs_artifacts_are_read(fake, tmp_path):
    for number in range(140):
        fake.add_artifact(REPO, f"coverage-{number}", b"PK\x05\x06" + b"\0" * 18, run_id=RUN)
    add_shard(fake, 1, 1, suite("last_page"))
    shards = fetch(make_client(fake), tmp_path)
    assert [s.head.names() for s in shards] == [("last_page",)]
    pages = fake.requests("api", "GET", rf"/repos/{REPO}/actions/runs/{RUN}/artifacts")
    assert [r.query.get("page", "1") for r in pages] == ["1", "2"]


def test_the_scan_limit_is_an_error_only_when_shards_may_lie_beyond_it(fake, tmp_path, monkeypatch):
    monkeypatch.setattr(client_module, "MAX_ARTIFACTS_SCANNED", 3)
    add_shard(fake, 1, 2, suite("a"))
    add_shard(fake, 2, 2, suite("b"))
    for number in range(3):
        fake.add_artifact(REPO, f"coverage-{number}", b"", run_id=RUN)
    assert [s.name for s in fetch(make_client(fake), tmp_path)] == ["perf-shard-1-of-2",
                                                                     "perf-shard-2-of-2"]
    fake.remove_artifacts()
    add_shard(fake, 1, 2, suite("a"))
    for number in range(3):
        fake.add_artifact(REPO, f"coverage-{number}", b"", run_id=RUN)
    add_shard(fake, 2, 2, suite("b"))   # beyond the limit
    with pytest.raises(ShardArtifactError, match=f"run {RUN} lists more than 3 artifacts"):
        fetch(make_client(fake), tmp_path / "second")


# ---------------------------------------------------------------------------
# A shard that cannot be used stops the merge, naming it
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("content, problem", [
    (zip_files({RESULTS_FILE: "{}", "../x": "escape"}), r"'\.\./x' climbs out of the folder"),
    (zip_files({"/etc/cron.d/x": "*"}), "has an absolute path"),
    (zip_files({"out/results.json": "{}"}), r"holds 'results.json' at its top; this one holds out/results.json"),
    (zip_files({RESULTS_FILE: "{not json"}), "file results.json: not valid JSON"),
    (zip_files({RESULTS_FILE: json.dumps(suite_to_dict(suite("ok"))), BASE_RESULTS_FILE: "[]"}),
     "file results.base.json"),
    (b"this is not a zip", "not a valid zip"),
], ids=["dot-dot", "absolute", "nested", "bad-json", "bad-base", "not-a-zip"])
def test_an_unusable_shard_raises_naming_the_artifact(fake, tmp_path, content, problem):
    add_shard(fake, 1, 2, suite("fine"))
    bad = fake.add_artifact(REPO, "perf-shard-2-of-2", content, run_id=RUN)
    with pytest.raises(ShardArtifactError) as caught:
        fetch(make_client(fake), tmp_path)
    message = str(caught.value)
    assert "shard 2 of 2" in message and "'perf-shard-2-of-2'" in message and f"id {bad.id}" in message
    assert f"run {RUN}" in message
    assert re.search(problem, message), message
    assert str(tmp_path) not in message   # the member, not the scratch folder
    assert not (tmp_path / "x").exists() and not (tmp_path / "scratch" / "x").exists()


def test_an_oversized_shard_is_refused_before_download(fake, tmp_path):
    big = add_shard(fake, 1, 1, suite("big"), size_in_bytes=10_000)
    with pytest.raises(ShardArtifactError, match=r"'perf-shard-1-of-1' \(id \d+\).*more than the 1000 bytes"):
        fetch(make_client(fake, limits=ExtractionLimits(max_download_bytes=1000)), tmp_path)
    assert not fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts/{big.id}/zip")


# ---------------------------------------------------------------------------
# API failures: as the other calls report them
# ---------------------------------------------------------------------------

def test_an_unknown_run_is_an_api_error(fake, tmp_path):
    with pytest.raises(GitHubAPIError, match=rf"404 .*listing the artifacts of workflow run {RUN}"):
        fetch(make_client(fake), tmp_path)


def test_a_token_without_actions_read_is_told_the_permission(fake, tmp_path):
    add_shard(fake, 1, 1, suite("a"))
    fake.add_fault("GET", rf"/repos/{REPO}/actions/runs/{RUN}/artifacts", 403, FORBIDDEN_INTEGRATION)
    with pytest.raises(GitHubAPIError, match=r"permissions: actions: read"):
        fetch(make_client(fake), tmp_path)


def test_an_unreachable_api_is_a_network_error(fake, tmp_path):
    client = GitHubClient(api_url="http://127.0.0.1:9/api/v3", token=BOT_TOKEN, repository=REPO,
                          settings=ApiSettings(timeout=2.0, retries=0, backoff=0.0))
    with pytest.raises(GitHubAPIError, match="cannot reach the GitHub API"):
        fetch(client, tmp_path)


def test_a_failed_download_is_an_api_error(fake, tmp_path):
    shard = add_shard(fake, 1, 1, suite("a"))
    fake.add_fault("GET", rf"/repos/{REPO}/actions/artifacts/{shard.id}/zip", 403, FORBIDDEN_INTEGRATION)
    with pytest.raises(GitHubAPIError, match=rf"403 .*downloading artifact {shard.id}.*actions: read"):
        fetch(make_client(fake, retries=0), tmp_path)


def test_remove_artifacts_empties_the_run(fake, tmp_path):
    fake.add_run(REPO, RUN)
    add_shard(fake, 1, 1, suite("a"))
    assert fake.remove_artifacts() == 1
    assert fetch(make_client(fake), tmp_path) == []


# ---------------------------------------------------------------------------
# The bash stand-in for actions/upload-artifact (tests/e2e/support.py)
# ---------------------------------------------------------------------------

def run_stand_in(fake, script: str, *, run_id: int = RUN, cwd=None, **env: str):
    """``script`` after the stand-in's functions, as a workflow's `run:` step (bash -e, pipefail)."""
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GITHUB_RUN_ID": str(run_id),
               **upload_stand_in_env(fake), **env}
    return subprocess.run([BASH, "--noprofile", "--norc", "-eo", "pipefail", "-c", UPLOAD_STAND_IN + script],
                          env=environ, cwd=cwd, capture_output=True, text=True, timeout=30)


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_the_bash_stand_in_uploads_a_shard_that_fetch_shards_then_downloads(any_fake, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dump_suite(suite("first_try", part="2/2"), out / RESULTS_FILE)
    dump_suite(suite("parse", side="base", part="2/2"), out / BASE_RESULTS_FILE)
    (out / "weird name&#%.txt").write_bytes(bytes(range(256)) + b"\r\n\0end")
    add_shard(any_fake, 1, 2, suite("other_shard", part="1/2"))

    first = run_stand_in(any_fake, """
        upload_artifact_file perf-shard-2-of-2 out/results.json
        upload_artifact_file perf-shard-2-of-2 out/results.base.json
        upload_artifact_file perf-shard-2-of-2 "out/weird name&#%.txt"
    """, cwd=tmp_path, GITHUB_REF_NAME="42/merge", GITHUB_HEAD_REF="feature/fast&lean",
                         GITHUB_SHA="e" * 40)
    assert first.returncode == 0, first.stderr
    assert "uploaded out/results.json as results.json in artifact perf-shard-2-of-2" in first.stdout
    # A second upload of a file replaces it in the same artifact.
    dump_suite(suite("parse", part="2/2"), out / RESULTS_FILE)
    again = run_stand_in(any_fake, "upload_artifact_file perf-shard-2-of-2 out/results.json\n", cwd=tmp_path)
    assert again.returncode == 0, again.stderr

    uploads = any_fake.requests("api", "POST")
    assert [r.path for r in uploads] == [f"/_test/runs/{RUN}/artifacts/perf-shard-2-of-2/files/{name}"
                                         for name in ("results.json", "results.base.json",
                                                      "weird%20name%26%23%25.txt", "results.json")]
    assert uploads[0].query == {"branch": "feature/fast&lean", "sha": "e" * 40}
    assert all(r.headers["content-length"] == str(len(r.body)) for r in uploads)
    assert uploads[3].body == (out / RESULTS_FILE).read_bytes()

    shards = fetch(make_client(any_fake), tmp_path)
    assert [s.name for s in shards] == ["perf-shard-1-of-2", "perf-shard-2-of-2"]
    uploaded = shards[1]
    assert uploaded.head.names() == ("parse",) and uploaded.head.environment.commit_sha == "b" * 40
    assert uploaded.base is not None and uploaded.base.environment.commit_sha == "a" * 40
    assert uploaded.artifact.head_branch == "feature/fast&lean" and uploaded.artifact.head_sha == "e" * 40
    assert uploaded.artifact.repository_id == REPO_ID
    unpacked = tmp_path / "scratch" / f"shard-{uploaded.artifact.id}"
    assert (unpacked / "weird name&#%.txt").read_bytes() == bytes(range(256)) + b"\r\n\0end"
    [artifact] = [a for a in any_fake.state.artifacts.values() if a.name == "perf-shard-2-of-2"]
    assert artifact.run_id == RUN and artifact.repo == REPO


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_the_bash_stand_in_defaults_and_its_answer(fake, tmp_path):
    (tmp_path / "results.json").write_text("{}")
    done = run_stand_in(fake, "upload_artifact_file perf-shard-1-of-1 results.json renamed.json\n",
                        cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [artifact] = fake.state.artifacts.values()
    assert (artifact.head_branch, artifact.head_sha) == ("main", "c" * 40)   # no GITHUB_* given
    [request] = fake.requests("api", "POST")
    assert request.path.endswith("/files/renamed.json")
    # The route's answer, as a client that can read JSON sees it.
    answer = requests.post(f"http://127.0.0.1:{fake.port}/_test/runs/{RUN}/artifacts/perf-shard-1-of-1"
                           f"/files/results.base.json", data=b"{}", timeout=5)
    assert answer.status_code == 201
    assert answer.json() == {"id": artifact.id, "name": "perf-shard-1-of-1", "run_id": RUN,
                             "created": False, "files": ["renamed.json", "results.base.json"],
                             "size_in_bytes": len(artifact.content)}


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_the_bash_stand_in_fails_loudly(fake, tmp_path):
    (tmp_path / "results.json").write_text("{}")
    missing = run_stand_in(fake, "upload_artifact_file perf-shard-1-of-1 nowhere.json\necho after\n",
                           cwd=tmp_path)
    assert missing.returncode != 0 and "no file nowhere.json" in missing.stderr
    assert "after" not in missing.stdout

    fake.add_fault("POST", r"/_test/.*", 503, "Service Unavailable")
    refused = run_stand_in(fake, "upload_artifact_file perf-shard-1-of-1 results.json\n", cwd=tmp_path)
    assert refused.returncode != 0
    assert "answered HTTP/1.1 503" in refused.stderr and "Service Unavailable" in refused.stderr

    no_port = run_stand_in(fake, "unset " + UPLOAD_STAND_IN_PORT_VAR +
                           "\nupload_artifact_file perf-shard-1-of-1 results.json\n", cwd=tmp_path)
    assert no_port.returncode != 0 and UPLOAD_STAND_IN_PORT_VAR in no_port.stderr
    assert not fake.state.artifacts
