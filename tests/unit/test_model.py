"""The results model: construction rules, JSON round trip, versions, errors."""

import json

import pytest

from perfaction import metrics
from perfaction.errors import ResultsFormatError
from perfaction.results import files, model
from perfaction.results.model import Benchmark, Environment, Metric, RunSettings, Suite


def _suite() -> Suite:
    return Suite(
        benchmarks=(
            Benchmark(
                name="book[size=100]",
                params={"size": 100},
                loops=512,
                metrics={
                    metrics.TIME: Metric(unit="s", samples=((1.0e-6, 1.1e-6), (1.2e-6, 1.0e-6))),
                    metrics.PEAK_MEMORY: Metric(unit="B", samples=((4096.0,), (4100.0,))),
                },
            ),
            Benchmark(name="broken", error="ValueError: boom"),
        ),
        environment=Environment(cpu_model="Test CPU", logical_cores=2, python_version="3.11.7",
                                commit_sha="abc123", timestamp="2026-11-27T12:00:00Z"),
        settings=RunSettings(time_budget=10.0, processes=2, values_per_process=2),
    )


def test_round_trip_keeps_samples_environment_and_failures(tmp_path):
    path = tmp_path / "results.json"
    files.dump_suite(_suite(), path)
    loaded = files.load_suite(path)
    assert loaded == _suite()
    assert loaded.get("book[size=100]").metrics[metrics.TIME].samples == ((1.0e-6, 1.1e-6), (1.2e-6, 1.0e-6))
    assert loaded.get("broken").failed
    assert [b.name for b in loaded.failures] == ["broken"]
    assert loaded.source_format == model.FORMAT_VERSION


def test_per_process_values_are_process_means_and_center_is_their_median():
    metric = Metric(unit="s", samples=((1.0, 3.0), (5.0,), (10.0, 10.0)))
    assert metric.per_process() == (2.0, 5.0, 10.0)
    assert metric.center() == 5.0


def test_written_file_declares_its_version(tmp_path):
    path = tmp_path / "r.json"
    files.dump_suite(_suite(), path)
    data = json.loads(path.read_text())
    assert data["format_version"] == model.FORMAT_VERSION
    assert data["benchmarks"][0]["metrics"]["time"]["samples"][0] == [1.0e-6, 1.1e-6]


@pytest.mark.parametrize("bad, expected", [
    ({"unit": "", "samples": [[1.0]]}, "unit"),
    ({"unit": "s", "direction": "sideways", "samples": [[1.0]]}, "direction"),
    ({"unit": "s", "samples": [[]]}, "samples[0] is empty"),
    ({"unit": "s"}, "needs samples or a value"),
])
def test_metric_rules_are_enforced_on_construction(bad, expected):
    with pytest.raises(ValueError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        Metric(**{k: (tuple(tuple(p) for p in v) if k == "samples" else v) for k, v in bad.items()})


def test_duplicate_benchmark_names_are_rejected():
    bench = Benchmark(name="a", metrics={"time": Metric(unit="s", value=1.0)})
    with pytest.raises(ValueError, match="appears twice"):
        Suite((bench, bench))


def _write(tmp_path, data) -> str:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def _valid_dict():
    return files.suite_to_dict(_suite())


def test_future_version_is_refused_with_upgrade_advice(tmp_path):
    data = _valid_dict()
    data["format_version"] = model.FORMAT_VERSION + 1
    with pytest.raises(ResultsFormatError, match="newer than this perfaction understands") as info:
        files.load_suite(_write(tmp_path, data))
    assert info.value.field == "format_version"
    assert "bad.json" in str(info.value)


def test_malformed_json_names_file_and_line(tmp_path):
    with pytest.raises(ResultsFormatError, match=r"bad.json: not valid JSON \(line 1"):
        files.load_suite(_write(tmp_path, "{not json"))


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ResultsFormatError, match="file not found"):
        files.load_suite(tmp_path / "absent.json")


def test_wrong_sample_type_names_benchmark_and_field(tmp_path):
    data = _valid_dict()
    data["benchmarks"][0]["metrics"]["time"]["samples"][1][0] = "fast"
    with pytest.raises(ResultsFormatError) as info:
        files.load_suite(_write(tmp_path, data))
    err = info.value
    assert err.benchmark == "book[size=100]"
    assert err.field == "metrics.time.samples[1][0]"
    assert "expected a number, got str 'fast'" in str(err)


def test_boolean_is_not_a_number(tmp_path):
    data = _valid_dict()
    data["benchmarks"][0]["metrics"]["time"]["samples"][0][0] = True
    with pytest.raises(ResultsFormatError, match="got bool"):
        files.load_suite(_write(tmp_path, data))


def test_wrong_environment_type_names_the_field(tmp_path):
    data = _valid_dict()
    data["environment"]["logical_cores"] = "two"
    with pytest.raises(ResultsFormatError) as info:
        files.load_suite(_write(tmp_path, data))
    assert info.value.field == "environment.logical_cores"


def test_missing_unit_is_rejected_not_defaulted(tmp_path):
    data = _valid_dict()
    del data["benchmarks"][0]["metrics"]["time"]["unit"]
    with pytest.raises(ResultsFormatError, match="unit") as info:
        files.load_suite(_write(tmp_path, data))
    assert info.value.benchmark == "book[size=100]"


def test_benchmarks_must_be_a_list(tmp_path):
    data = _valid_dict()
    data["benchmarks"] = {"a": 1}
    with pytest.raises(ResultsFormatError, match="must be a list") as info:
        files.load_suite(_write(tmp_path, data))
    assert info.value.field == "benchmarks"


def test_unrecognised_document_says_what_was_expected(tmp_path):
    with pytest.raises(ResultsFormatError, match="neither a perfaction results file"):
        files.load_suite(_write(tmp_path, {"hello": "world"}))


ARTICLE_BASELINE = {
    "orderbook_updates": {
        "name": "orderbook_updates", "iterations": 10000,
        "min_latency": 2.0e-5, "max_latency": 9.0e-4, "mean_latency": 3.2e-5,
        "median_latency": 3.0e-5, "p95_latency": 4.0e-5, "p99_latency": 4.5e-5,
        "peak_memory": 2097152, "memory_leaked": 1024, "cpu_percent": 98.0,
        "ops_per_second": 31250.0,
    },
    "var_calculation": {
        "name": "var_calculation", "iterations": 1000,
        "min_latency": 1.0e-5, "max_latency": 1.0e-4, "mean_latency": 1.5e-5,
        "median_latency": 1.4e-5, "p95_latency": 2.0e-5, "p99_latency": 3.0e-5,
        "peak_memory": 16384, "memory_leaked": 0, "cpu_percent": 99.0,
        "ops_per_second": 66666.0,
    },
}


def test_reference_article_baseline_loads_as_summary_only(tmp_path):
    suite = files.load_suite(_write(tmp_path, ARTICLE_BASELINE))
    assert suite.source_format == 0
    assert not suite.has_samples
    book = suite.get("orderbook_updates")
    assert book.metrics[metrics.TIME].value == pytest.approx(3.2e-5)
    assert book.metrics[metrics.LATENCY_P99].value == pytest.approx(4.5e-5)
    assert book.metrics[metrics.PEAK_MEMORY].unit == "B"
    assert book.metrics[metrics.THROUGHPUT].direction == metrics.HIGHER_IS_BETTER
    assert not book.metrics[metrics.TIME].has_samples


def test_reference_article_baseline_with_bad_value_names_it(tmp_path):
    data = json.loads(json.dumps(ARTICLE_BASELINE))
    data["var_calculation"]["p99_latency"] = "slow"
    with pytest.raises(ResultsFormatError) as info:
        files.load_suite(_write(tmp_path, data))
    assert (info.value.benchmark, info.value.field) == ("var_calculation", "p99_latency")


def test_atomic_write_leaves_previous_file_when_serialising_fails(tmp_path):
    path = tmp_path / "baseline.json"
    files.dump_suite(_suite(), path)
    before = path.read_text()
    with pytest.raises(TypeError):
        files.write_json_atomic({"not serialisable": object()}, path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["baseline.json"]


def test_results_file_is_readable_by_other_users(tmp_path):
    # The action writes as root; the workflow's upload step reads as the runner's user.
    import os
    import stat
    path = tmp_path / "results.json"
    old = os.umask(0o022)
    try:
        files.dump_suite(_suite(), path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_unwritable_destination_is_a_clear_error(tmp_path):
    from perfaction.errors import PerfActionError
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(PerfActionError, match="cannot write"):
        files.dump_suite(_suite(), blocker / "results.json")
