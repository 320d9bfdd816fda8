"""The nightly history file: summaries, cap, de-duplication, versions, rejection."""

from __future__ import annotations

import json

import pytest

from perfaction.errors import ResultsFormatError
from perfaction.results.history import (
    _UPGRADES,
    HISTORY_FORMAT_VERSION,
    Entry,
    History,
    MetricSummary,
    fingerprint_id,
)
from perfaction.results.model import Benchmark, Environment, Metric, Suite

RUNNER = dict(cpu_model="CPU A", logical_cores=4, machine="x86_64",
              python_implementation="CPython", python_version="3.11.9")


def make_suite(commit: str, time_s: float = 1e-3, *, day: int = 1, cpu: str = "CPU A",
               failed: bool = False) -> Suite:
    samples = ((time_s,), (time_s * 1.02,), (time_s * 0.98,), (time_s * 1.01,))
    benchmarks = [Benchmark("sort", {"time": Metric("s", samples=samples),
                                     "throughput": Metric("ops/s", "higher", value=1 / time_s)})]
    if failed:
        benchmarks.append(Benchmark("broken", {}, error="ZeroDivisionError"))
    env = Environment(**{**RUNNER, "cpu_model": cpu}, commit_sha=commit,
                      timestamp=f"2024-05-{day:02d}T02:00:00Z", ref="refs/heads/main")
    return Suite(tuple(benchmarks), env)


def test_append_summarises_per_process_values():
    history = History().append(make_suite("aaa", 1e-3, failed=True))
    entry = history.entries[0]
    summary = entry.benchmarks["sort"]["time"]
    assert (entry.commit, entry.date, entry.ref) == ("aaa", "2024-05-01T02:00:00Z", "refs/heads/main")
    assert summary.center == pytest.approx(1.005e-3)     # median of the 4 process means
    assert summary.n == 4 and summary.spread is not None and 0 < summary.spread < 0.05
    assert entry.benchmarks["sort"]["throughput"] == MetricSummary("ops/s", "higher", 1000.0, 0, None)
    assert entry.failed == ("broken",) and "broken" not in entry.benchmarks
    assert entry.fingerprint_id == fingerprint_id(make_suite("x").environment.fingerprint())


def test_append_returns_a_new_value():
    empty = History()
    one = empty.append(make_suite("aaa"))
    assert len(empty) == 0 and len(one) == 1


def test_round_trip_through_a_file(tmp_path):
    history = History()
    for day, commit in enumerate(["aaa", "bbb", "ccc"], start=1):
        history = history.append(make_suite(commit, 1e-3 * day, day=day, failed=day == 2))
    path = tmp_path / "nested" / "history.json"
    history.dump(path)
    loaded = History.load(path)
    assert loaded == history
    raw = json.loads(path.read_text())
    assert raw["format_version"] == HISTORY_FORMAT_VERSION
    assert raw["entries"][0]["fingerprint_id"] == history.entries[0].fingerprint_id
    assert not list(tmp_path.glob("nested/.history.json.*"))   # no temporary file left


def test_cap_drops_the_oldest_entries():
    history = History(max_entries=3)
    for day in range(1, 6):
        history = history.append(make_suite(f"c{day}", day=day))
    assert [e.commit for e in history.entries] == ["c3", "c4", "c5"]


def test_rerun_of_a_commit_replaces_its_entry_in_place():
    history = History()
    for day, commit in enumerate(["aaa", "bbb", "ccc"], start=1):
        history = history.append(make_suite(commit, day=day))
    rerun = history.append(make_suite("bbb", 5e-3, day=9))
    assert [e.commit for e in rerun.entries] == ["aaa", "bbb", "ccc"]
    assert rerun.entries[1].date == "2024-05-09T02:00:00Z"
    assert rerun.series("sort", "time").values()[1] == pytest.approx(5.025e-3)


def test_series_filters_by_fingerprint_dict_or_id():
    history = History()
    for day, cpu in enumerate(["CPU A", "CPU B", "CPU A"], start=1):
        history = history.append(make_suite(f"c{day}", 1e-3 * day, day=day, cpu=cpu))
    every = history.series("sort", "time")
    assert [p.commit for p in every.points] == ["c1", "c2", "c3"]
    assert (every.unit, every.direction) == ("s", "lower")
    fingerprint_a = history.entries[0].fingerprint
    only_a = history.series("sort", "time", fingerprint_a)
    assert [p.index for p in only_a.points] == [0, 2]
    assert history.series("sort", "time", history.entries[1].fingerprint_id).values() == \
        pytest.approx((2.01e-3,))
    assert len(history.series("missing", "time")) == 0
    assert history.fingerprint_ids() == (history.entries[0].fingerprint_id,
                                         history.entries[1].fingerprint_id)
    assert history.keys() == (("sort", "throughput"), ("sort", "time"))


def test_suite_without_commit_is_refused_with_the_field_named():
    suite = Suite((), Environment(timestamp="2024-05-01T02:00:00Z"))
    with pytest.raises(ResultsFormatError, match="environment.commit_sha"):
        History().append(suite)
    assert History().append(suite, commit="abc").entries[0].commit == "abc"


def _write(tmp_path, data) -> str:
    path = tmp_path / "history.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def test_newer_version_is_refused(tmp_path):
    path = _write(tmp_path, {"format_version": HISTORY_FORMAT_VERSION + 1,
                             "tool": "perfaction-history", "entries": []})
    with pytest.raises(ResultsFormatError, match="newer than this perfaction") as info:
        History.load(path)
    assert info.value.field == "format_version" and info.value.source == path


@pytest.mark.parametrize("version", [0, "1", None, True])
def test_invalid_version_is_refused(tmp_path, version):
    path = _write(tmp_path, {"format_version": version, "tool": "perfaction-history",
                             "entries": []})
    with pytest.raises(ResultsFormatError, match="format_version"):
        History.load(path)


def test_results_file_is_not_mistaken_for_a_history(tmp_path):
    path = _write(tmp_path, {"format_version": 1, "tool": "perfaction", "benchmarks": []})
    with pytest.raises(ResultsFormatError, match="not a perfaction history"):
        History.load(path)


def test_corrupt_json_names_the_file_and_the_fix(tmp_path):
    path = _write(tmp_path, '{"format_version": 1, "entries": [')
    with pytest.raises(ResultsFormatError, match=r"history\.json.*not valid JSON.*delete it"):
        History.load(path)


def test_bad_field_names_entry_benchmark_and_field(tmp_path):
    good = History().append(make_suite("aaa")).to_dict()
    good["entries"][0]["benchmarks"]["sort"]["time"]["center"] = "fast"
    with pytest.raises(ResultsFormatError) as info:
        History.load(_write(tmp_path, good))
    assert info.value.benchmark == "sort"
    assert info.value.field == "entries[0].benchmarks.time"
    assert "center must be a finite number" in str(info.value)


def test_bad_date_is_refused(tmp_path):
    data = History().append(make_suite("aaa")).to_dict()
    data["entries"][0]["date"] = "yesterday"
    with pytest.raises(ResultsFormatError, match=r"entries\[0\].*ISO 8601"):
        History.load(_write(tmp_path, data))


def test_oversized_file_is_refused_before_parsing(tmp_path):
    path = _write(tmp_path, " " * 2048)
    with pytest.raises(ResultsFormatError, match="2048 bytes, above the 1024-byte limit"):
        History.load(path, max_bytes=1024)
    with pytest.raises(ResultsFormatError, match="above the 1024-byte limit"):
        History.from_bytes(b" " * 2048, source="artifact history.json", max_bytes=1024)


def test_dump_refuses_a_history_the_next_run_would_reject(tmp_path):
    history = History().append(make_suite("aaa"))
    with pytest.raises(ResultsFormatError, match="smaller history length"):
        history.dump(tmp_path / "history.json", max_bytes=100)
    assert not (tmp_path / "history.json").exists()


def test_from_bytes_rejects_binary_garbage():
    with pytest.raises(ResultsFormatError, match="not UTF-8"):
        History.from_bytes(b"PK\x03\x04\xff\xfe", source="history.zip")


def test_unknown_fields_are_ignored_for_forward_compatibility(tmp_path):
    data = History().append(make_suite("aaa")).to_dict()
    data["entries"][0]["annotation"] = "added by a later minor release"
    assert History.load(_write(tmp_path, data)).entries[0].commit == "aaa"


def test_entry_validation():
    with pytest.raises(ValueError, match="commit"):
        Entry("", "2024-05-01T00:00:00Z")
    with pytest.raises(ValueError, match="direction"):
        MetricSummary("s", "sideways", 1.0)
    with pytest.raises(ValueError, match="max_entries"):
        History(max_entries=0)


def test_every_older_version_has_an_upgrade():
    # Bumping HISTORY_FORMAT_VERSION without an upgrade would strand older files.
    assert set(_UPGRADES) == set(range(1, HISTORY_FORMAT_VERSION))


def test_loaded_history_longer_than_the_cap_is_trimmed_at_the_next_append(tmp_path):
    history = History(max_entries=10)
    for day in range(1, 6):
        history = history.append(make_suite(f"c{day}", day=day))
    history.dump(tmp_path / "h.json")
    loaded = History.load(tmp_path / "h.json", max_entries=3)
    assert len(loaded) == 5
    assert [e.commit for e in loaded.append(make_suite("c6", day=6)).entries] == ["c4", "c5", "c6"]
