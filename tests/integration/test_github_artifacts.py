"""github.py's baseline artifact lookup and download against the fake GitHub over HTTP."""

from __future__ import annotations

import json
import re
import socket

import pytest

from perfaction.action.config import ApiSettings
from perfaction.github.artifacts import ExtractionLimits
from perfaction.github.client import GitHubAPIError, GitHubClient
from tests.fake_github import bomb_zip, results_zip, symlink_zip, understated_bomb_zip, zip_files
from tests.fake_github.seed import BOT_TOKEN, FORK_ID, REPO, REPO_ID
from tests.fake_github.suites import steady_suite_dict

NAME = "perf-baseline"


def make_client(fake, *, token=BOT_TOKEN, retries=2, timeout=5.0, limits=ExtractionLimits(), sleeps=None):
    return GitHubClient(api_url=fake.base_url, token=token, repository=REPO,
                        settings=ApiSettings(timeout=timeout, retries=retries, backoff=0.0),
                        sleep=(sleeps.append if sleeps is not None else (lambda _: None)),
                        limits=limits)


def fetch(client, tmp_path, *, branch="main", exclude_run_id=None, repository_id=REPO_ID):
    return client.fetch_baseline(name=NAME, branch=branch, repository_id=repository_id,
                                 exclude_run_id=exclude_run_id, results_name="perf-results.json",
                                 scratch=tmp_path)


def good_zip(*names):
    return results_zip(steady_suite_dict(list(names)))


def test_newest_trusted_artifact_is_downloaded_without_the_token_reaching_the_blob_host(any_fake, tmp_path):
    any_fake.add_artifact(REPO, NAME, good_zip("old_bench"))
    newest = any_fake.add_artifact(REPO, NAME, good_zip("new_bench"))
    outcome = fetch(make_client(any_fake), tmp_path)
    assert outcome.status == "found", outcome.reason
    assert outcome.artifact.id == newest.id
    assert outcome.suite.names() == ("new_bench",)
    api_zip = any_fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts/\d+/zip")
    blob = any_fake.requests("blob")
    assert api_zip and "authorization" in api_zip[0].headers
    assert blob and all("authorization" not in r.headers for r in blob)


def test_listing_order_is_not_trusted_and_all_pages_are_read(fake, tmp_path):
    # 150 artifacts: two pages at per_page=100; the fake lists oldest first.
    for index in range(149):
        fake.add_artifact(REPO, NAME, good_zip(f"bench_{index}"))
    newest = fake.add_artifact(REPO, NAME, good_zip("newest"))
    outcome = fetch(make_client(fake), tmp_path)
    assert outcome.artifact.id == newest.id
    pages = fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts")
    assert [r.query.get("page", "1") for r in pages] == ["1", "2"]
    assert all(r.query["name"] == NAME for r in pages)


def test_a_forks_main_branch_artifact_is_never_the_baseline(fake, tmp_path):
    mine = fake.add_artifact(REPO, NAME, good_zip("trusted"))
    fake.add_artifact(REPO, NAME, good_zip("poisoned"), head_repository_id=FORK_ID, head_branch="main")
    outcome = fetch(make_client(fake), tmp_path)
    assert outcome.artifact.id == mine.id
    assert outcome.suite.names() == ("trusted",)


def test_only_fork_artifacts_means_missing_and_says_they_were_ignored(fake, tmp_path):
    fake.add_artifact(REPO, NAME, good_zip("poisoned"), head_repository_id=FORK_ID)
    outcome = fetch(make_client(fake), tmp_path)
    assert outcome.status == "missing" and outcome.suite is None
    assert "1 from other repositories" in outcome.reason
    assert not fake.requests("blob")


def test_other_branches_and_the_current_run_are_skipped(fake, tmp_path):
    wanted = fake.add_artifact(REPO, NAME, good_zip("main_bench"), head_branch="main")
    fake.add_artifact(REPO, NAME, good_zip("feature_bench"), head_branch="feature")
    fake.add_artifact(REPO, NAME, good_zip("this_run"), head_branch="main", run_id=99)
    outcome = fetch(make_client(fake), tmp_path, exclude_run_id=99)
    assert outcome.artifact.id == wanted.id


def test_no_artifact_is_a_plain_missing_outcome(fake, tmp_path):
    outcome = fetch(make_client(fake), tmp_path)
    assert outcome.status == "missing"
    assert "no artifact named 'perf-baseline'" in outcome.reason


def test_expired_in_the_listing_is_reported_without_a_download(fake, tmp_path):
    fake.add_artifact(REPO, NAME, good_zip("x"), expired=True)
    outcome = fetch(make_client(fake), tmp_path)
    assert outcome.status == "expired"
    assert "expired" in outcome.reason
    assert not fake.requests("api", "GET", r".*/zip")


def test_410_on_download_is_expired(fake, tmp_path):
    artifact = fake.add_artifact(REPO, NAME, good_zip("x"))
    fake.add_fault("GET", rf"/repos/{REPO}/actions/artifacts/{artifact.id}/zip", 410, "Artifact has expired")
    outcome = fetch(make_client(fake), tmp_path)
    assert outcome.status == "expired" and outcome.artifact.id == artifact.id


@pytest.mark.parametrize("content, expected", [
    (zip_files({"../perf-results.json": "{}"}), "with '\\.\\.'"),
    (zip_files({"/etc/perf-results.json": "{}"}), "absolute path"),
    (zip_files({"C:\\perf-results.json": "{}"}), "absolute path"),
    (symlink_zip(), "symbolic link"),
    (bomb_zip(2 * 1024 * 1024), "inflates to more than"),
    (understated_bomb_zip(2 * 1024 * 1024), "inflates to more than|Bad CRC-32"),
    (zip_files({f"f{i}.txt": "x" for i in range(80)}), "members"),
    (b"this is not a zip", "not a valid zip"),
    (zip_files({"perf-results.json": "{not json"}), "not valid JSON"),
    (zip_files({"perf-results.json": json.dumps({"format_version": 99, "benchmarks": []})}), "newer than"),
    (zip_files({"a.json": "{}", "b.json": "{}"}), "one results file"),
])
def test_hostile_or_broken_artifacts_are_refused_with_a_reason(fake, tmp_path, content, expected):
    fake.add_artifact(REPO, NAME, content)
    limits = ExtractionLimits(max_members=64, max_total_bytes=1024 * 1024)
    outcome = fetch(make_client(fake, limits=limits), tmp_path / "scratch")
    assert outcome.status == "invalid" and outcome.suite is None
    assert re.search(expected, outcome.reason)
    assert not (tmp_path / "perf-results.json").exists()
    assert not list(tmp_path.rglob("passwd"))


def test_a_listed_size_over_the_cap_is_refused_before_downloading(fake, tmp_path):
    fake.add_artifact(REPO, NAME, good_zip("x"), size_in_bytes=10 ** 9)
    outcome = fetch(make_client(fake), tmp_path)
    assert outcome.status == "invalid" and "bytes" in outcome.reason
    assert not fake.requests("blob")


def test_a_download_larger_than_the_cap_is_cut_off(fake, tmp_path):
    fake.add_artifact(REPO, NAME, zip_files({"perf-results.json": "x" * 50_000}), size_in_bytes=10)
    limits = ExtractionLimits(max_download_bytes=1000)
    outcome = fetch(make_client(fake, limits=limits), tmp_path)
    assert outcome.status == "invalid" and "1000 bytes" in outcome.reason


def test_server_errors_are_retried_then_succeed(fake, tmp_path):
    artifact = fake.add_artifact(REPO, NAME, good_zip("x"))
    fake.add_fault("GET", rf"/repos/{REPO}/actions/artifacts", 502, "Bad Gateway", times=2)
    fake.add_fault("GET", rf"/repos/{REPO}/actions/artifacts/{artifact.id}/zip", 503, "Unavailable")
    sleeps: list[float] = []
    outcome = fetch(make_client(fake, retries=2, sleeps=sleeps), tmp_path)
    assert outcome.status == "found"
    assert len(fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts")) == 3
    assert len(sleeps) == 1  # the download's own retry loop waited once (zero backoff here)


def test_a_connection_reset_mid_download_is_retried(fake, tmp_path):
    # Big enough that half of it is a real partial body, not an empty one.
    artifact = fake.add_artifact(REPO, NAME, results_zip(steady_suite_dict(["x"], processes=200)))
    fake.add_fault("GET", rf"/artifacts/{artifact.id}\.zip", None, cut_body=True, server="blob")
    sleeps: list[float] = []
    outcome = fetch(make_client(fake, retries=2, sleeps=sleeps), tmp_path)
    assert outcome.status == "found", outcome.reason
    assert outcome.suite.names() == ("x",)
    assert len(fake.requests("blob")) == 2 and len(sleeps) == 1


def test_a_reset_on_every_attempt_is_a_clear_network_error(fake, tmp_path):
    artifact = fake.add_artifact(REPO, NAME, results_zip(steady_suite_dict(["x"], processes=200)))
    fake.add_fault("GET", rf"/artifacts/{artifact.id}\.zip", None, cut_body=True, times=10,
                   server="blob")
    with pytest.raises(GitHubAPIError, match=rf"failed while downloading artifact {artifact.id}, "
                                             "on every attempt.*ChunkedEncodingError"):
        fetch(make_client(fake, retries=1), tmp_path)
    assert len(fake.requests("blob")) == 2


def test_an_empty_redirect_location_is_retried(fake, tmp_path):
    artifact = fake.add_artifact(REPO, NAME, good_zip("x"))
    fake.add_fault("GET", rf"/repos/{REPO}/actions/artifacts/{artifact.id}/zip", 302, "Found",
                   headers={"Location": ""})
    outcome = fetch(make_client(fake, retries=1), tmp_path)
    assert outcome.status == "found", outcome.reason
    assert len(fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts/\d+/zip")) == 2


def test_rate_limit_is_retried(fake, tmp_path):
    fake.add_artifact(REPO, NAME, good_zip("x"))
    fake.add_fault("GET", rf"/repos/{REPO}/actions/artifacts", 403,
                   "API rate limit exceeded for installation ID 1.",
                   headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Limit": "1000"})
    outcome = fetch(make_client(fake), tmp_path)
    assert outcome.status == "found"


def test_secondary_rate_limit_is_retried(fake, tmp_path):
    fake.add_artifact(REPO, NAME, good_zip("x"))
    fake.add_fault("GET", rf"/repos/{REPO}/actions/artifacts", 403,
                   "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                   headers={"Retry-After": "0"})
    assert fetch(make_client(fake), tmp_path).status == "found"
    assert len(fake.requests("api", "GET", rf"/repos/{REPO}/actions/artifacts")) == 2


def test_a_404_on_the_listing_names_what_to_check(fake, tmp_path):
    fake.add_fault("GET", rf"/repos/{REPO}/actions/artifacts", 404, "Not Found")
    with pytest.raises(GitHubAPIError, match="404.*check the repository name"):
        fetch(make_client(fake), tmp_path)


def test_api_down_after_retries_is_a_clear_error(fake, tmp_path):
    fake.add_fault("*", r".*", 503, "Service Unavailable", times=100)
    with pytest.raises(GitHubAPIError, match="kept failing while listing artifacts"):
        fetch(make_client(fake, retries=2), tmp_path)
    assert len(fake.requests("api")) == 3


def test_unreachable_api_is_a_clear_error(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = GitHubClient(api_url=f"http://127.0.0.1:{port}/api/v3", token=BOT_TOKEN, repository=REPO,
                          settings=ApiSettings(timeout=2, retries=0, backoff=0))
    with pytest.raises(GitHubAPIError, match="cannot reach the GitHub API"):
        fetch(client, tmp_path)


def test_missing_actions_read_permission_names_the_fix(fake, tmp_path):
    fake.add_fault("GET", rf"/repos/{REPO}/actions/artifacts", 403, "Resource not accessible by integration")
    with pytest.raises(GitHubAPIError, match="permissions: actions: read"):
        fetch(make_client(fake), tmp_path)


def test_bad_token_names_the_token_input(fake, tmp_path):
    with pytest.raises(GitHubAPIError, match="'token' input"):
        fetch(make_client(fake, token="ghs_wrong"), tmp_path)


def test_a_slow_api_times_out_with_a_clear_error(fake, tmp_path):
    fake.add_fault("GET", rf"/repos/{REPO}/actions/artifacts", None, delay=5.0)
    with pytest.raises(GitHubAPIError, match="cannot reach the GitHub API|kept failing"):
        fetch(make_client(fake, retries=0, timeout=1.0), tmp_path)


def test_repository_id_is_looked_up_when_the_runner_did_not_give_it(fake, tmp_path):
    fake.add_artifact(REPO, NAME, good_zip("x"))
    outcome = fetch(make_client(fake), tmp_path, repository_id=None)
    assert outcome.status == "found"
    assert fake.requests("api", "GET", rf"/repos/{REPO}")
