"""artifacts.py: which artifact is a trusted baseline, and safe zip extraction."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from perfaction.errors import ResultsFormatError
from perfaction.github.artifacts import (
    ArtifactInfo,
    ExtractionLimits,
    UnsafeArtifactError,
    artifact_from_json,
    check_member_name,
    choose_baseline,
    safe_extract,
    suite_from_zip,
)

REPO_ID, FORK_ID = 100, 200
T0 = datetime(2024, 3, 1, tzinfo=UTC)


def art(ident, *, hours=0, branch="main", head_repo=REPO_ID, expired=False, run=None, name="perf-baseline"):
    return ArtifactInfo(id=ident, name=name, size_in_bytes=10, created_at=T0 + timedelta(hours=hours),
                        expired=expired, archive_download_url="", run_id=run or ident + 1000,
                        repository_id=REPO_ID, head_repository_id=head_repo, head_branch=branch,
                        head_sha="abcdef1234")


def choose(artifacts, **kwargs):
    options = dict(name="perf-baseline", branch="main", repository_id=REPO_ID, exclude_run_id=None)
    options.update(kwargs)
    return choose_baseline(artifacts, **options)


def test_the_newest_trusted_artifact_wins_whatever_the_order():
    choice = choose([art(1, hours=1), art(2, hours=3), art(3, hours=2)])
    assert choice.status == "found" and choice.artifact.id == 2


def test_a_fork_with_a_main_branch_cannot_provide_the_baseline():
    choice = choose([art(1, hours=1), art(2, hours=9, head_repo=FORK_ID)])
    assert choice.artifact.id == 1


def test_other_names_branches_and_the_current_run_are_skipped():
    choice = choose([art(1), art(2, hours=5, branch="dev"), art(3, hours=6, name="other"),
                     art(4, hours=7, run=55)], exclude_run_id=55)
    assert choice.artifact.id == 1


def test_expired_only_says_expired_and_how_to_fix():
    choice = choose([art(1, expired=True), art(2, hours=1, expired=True)])
    assert choice.status == "expired" and choice.artifact is None
    assert "expired" in choice.reason and "id 2" in choice.reason and "push to branch 'main'" in choice.reason


def test_an_expired_newest_falls_back_to_an_older_live_one():
    choice = choose([art(1), art(2, hours=1, expired=True)])
    assert choice.artifact.id == 1


def test_nothing_at_all_is_missing():
    choice = choose([])
    assert choice.status == "missing" and "no artifact named 'perf-baseline'" in choice.reason


def test_unknown_repository_id_refuses_to_guess():
    assert choose([art(1)], repository_id=None).status == "missing"


def test_artifact_from_api_json():
    info = artifact_from_json({
        "id": 11, "name": "perf-baseline", "size_in_bytes": 123, "expired": False,
        "created_at": "2024-03-01T10:00:00Z", "archive_download_url": "https://x/zip",
        "workflow_run": {"id": 5, "repository_id": 100, "head_repository_id": 100,
                         "head_branch": "main", "head_sha": "abc"}})
    assert info.created_at == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert (info.run_id, info.head_repository_id, info.head_branch) == (5, 100, "main")


@pytest.mark.parametrize("name", ["../x", "a/../../x", "/etc/x", "\\\\server\\x", "C:/x", "a\\..\\x", ""])
def test_unsafe_member_names(name):
    with pytest.raises(UnsafeArtifactError):
        check_member_name(name)


@pytest.mark.parametrize("name", ["perf-results.json", "out/perf-results.json", "a..b.json"])
def test_safe_member_names(name):
    assert str(check_member_name(name)) == name


def make_zip(files, *, link=None):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        if link:
            info = zipfile.ZipInfo(link)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    buffer.seek(0)
    return zipfile.ZipFile(buffer)


def test_safe_extract_writes_regular_files(tmp_path):
    written = safe_extract(make_zip({"a.json": "{}", "sub/b.txt": "b"}), tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == ["a.json", "sub/b.txt"]


def test_a_refused_archive_writes_nothing(tmp_path):
    with pytest.raises(UnsafeArtifactError, match="symbolic link"):
        safe_extract(make_zip({"a.json": "{}"}, link="b.json"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_member_count_and_inflated_size_are_bounded(tmp_path):
    with pytest.raises(UnsafeArtifactError, match="members"):
        safe_extract(make_zip({f"{i}.txt": "x" for i in range(5)}), tmp_path, ExtractionLimits(max_members=4))
    with pytest.raises(UnsafeArtifactError, match="inflates"):
        safe_extract(make_zip({"big.json": "0" * 5000}), tmp_path, ExtractionLimits(max_total_bytes=4000))


def suite_json():
    return json.dumps({"format_version": 1, "benchmarks": [
        {"name": "parse", "metrics": {"time": {"unit": "s", "samples": [[0.1, 0.2]]}}}]})


def write_zip(path, files):
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


def test_suite_from_zip_picks_the_results_file(tmp_path):
    zip_path = write_zip(tmp_path / "a.zip", {"perf-results.json": suite_json(), "notes.txt": "hi"})
    assert suite_from_zip(zip_path, tmp_path / "x", results_name="perf-results.json").names() == ("parse",)


def test_suite_from_zip_accepts_a_single_json_under_another_name(tmp_path):
    zip_path = write_zip(tmp_path / "a.zip", {"renamed.json": suite_json()})
    assert suite_from_zip(zip_path, tmp_path / "x", results_name="perf-results.json").names() == ("parse",)


def test_suite_from_zip_validates_with_the_results_model(tmp_path):
    zip_path = write_zip(tmp_path / "a.zip", {"perf-results.json": '{"format_version": 1, "benchmarks": 3}'})
    with pytest.raises(ResultsFormatError, match="benchmarks"):
        suite_from_zip(zip_path, tmp_path / "x", results_name="perf-results.json")


def test_results_and_history_artifacts_open_through_the_same_checks(tmp_path):
    from perfaction.github.artifacts import history_from_zip
    from perfaction.results.history import History
    history = History().to_dict()
    zip_path = write_zip(tmp_path / "h.zip", {"perf-history.json": json.dumps(history)})
    assert len(history_from_zip(zip_path, tmp_path / "h", file_name="perf-history.json",
                                max_entries=10)) == 0
    two = write_zip(tmp_path / "two.zip", {"a.json": "{}", "b.json": "{}"})
    for open_zip, kind in ((lambda d: suite_from_zip(two, d, results_name="perf-results.json"),
                            "results"),
                           (lambda d: history_from_zip(two, d, file_name="perf-history.json",
                                                       max_entries=10), "history")):
        with pytest.raises(UnsafeArtifactError, match=f"one {kind} file named .*a.json, b.json"):
            open_zip(tmp_path / kind)


def test_a_refused_results_file_is_named_as_in_the_artifact_not_by_its_scratch_path(tmp_path):
    zip_path = write_zip(tmp_path / "a.zip", {"out/perf-results.json": "{not json"})
    scratch = tmp_path / "scratch-folder"
    with pytest.raises(ResultsFormatError) as caught:
        suite_from_zip(zip_path, scratch, results_name="perf-results.json")
    assert "out/perf-results.json" in str(caught.value) and str(scratch) not in str(caught.value)


def zip_with_method(path, name, content, method):
    """A zip whose one member claims a compression method Python cannot read (zstd: 93)."""
    write_zip(path, {name: content})
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):   # local, central
        at = data.find(signature)
        data[at + offset:at + offset + 2] = method.to_bytes(2, "little")
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("files, fragment", [
    ({"x" * 300 + ".json": suite_json()}, "over 255 bytes"),
    ({"/".join(["d"] * 2100) + "/perf-results.json": suite_json()}, "nested 2100 folders deep"),
    ({"perf-results.json": suite_json(), "perf-results.json/inner": "x"}, "cannot be unpacked"),
])
def test_hostile_archives_are_refused_with_a_reason_not_an_internal_error(tmp_path, files,
                                                                           fragment):
    zip_path = write_zip(tmp_path / "a.zip", files)
    with pytest.raises(UnsafeArtifactError, match=fragment):
        suite_from_zip(zip_path, tmp_path / "x", results_name="perf-results.json")


def test_an_unreadable_compression_method_is_refused(tmp_path):
    zip_path = zip_with_method(tmp_path / "a.zip", "perf-results.json", suite_json(), 93)
    with pytest.raises(UnsafeArtifactError, match="zip feature perfaction cannot read"):
        suite_from_zip(zip_path, tmp_path / "x", results_name="perf-results.json")


def test_a_listing_cut_at_the_scan_limit_is_said_in_the_baseline_s_reason():
    choice = choose([art(1, hours=2), art(2, hours=1)], scanned=3000)
    assert choice.artifact.id == 1
    assert "more than 3,000 artifacts named 'perf-baseline'" in choice.reason
    assert "3,000" not in choose([art(1, hours=2)]).reason
    missing = choose([art(1, branch="other")], scanned=3000)
    assert missing.status == "missing" and "only the first 3,000 were read" in missing.reason
