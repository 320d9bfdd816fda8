"""Readers of other tools' files: pyperf JSON (per-process values) and pytest-benchmark JSON (summaries)."""

from __future__ import annotations

import copy

import pytest

from perfaction.errors import ResultsFormatError
from perfaction.results.files import suite_from_dict

PYPERF = {
    "version": "1.0",
    "metadata": {"name": "sort", "cpu_count": 2, "python_implementation": "cpython",
                 "python_version": "3.11.7 (64-bit) revision fa7a6f2", "cpu_model_name": "EPYC"},
    "benchmarks": [{"runs": [
        {"metadata": {"calibrate_loops": 4096}, "warmups": [[1, 2e-5], [4096, 4e-6]]},
        {"warmups": [[4096, 4.2e-6]], "values": [4.1e-6, 4.0e-6, 4.3e-6]},
        {"warmups": [[4096, 4.4e-6]], "values": [4.2e-6, 4.1e-6, 4.0e-6]},
    ]}],
}

PYTEST_BENCHMARK = {
    "machine_info": {"python_implementation": "CPython", "python_version": "3.11.7",
                     "machine": "x86_64", "system": "Linux", "release": "6.1",
                     "cpu": {"brand_raw": "EPYC", "count": 2}},
    "commit_info": {"id": "unversioned"},
    "benchmarks": [{"name": "test_sort[100]", "fullname": "tests/test_sort.py::test_sort[100]",
                    "stats": {"min": 5e-7, "median": 5.2e-7, "mean": 5.3e-7, "rounds": 1000}}],
    "datetime": "2026-12-07T01:48:00", "version": "5.1.0",
}


def test_a_pyperf_file_loads_each_run_with_values_as_one_process():
    suite = suite_from_dict(copy.deepcopy(PYPERF), source="a.json")
    [bench] = suite.benchmarks
    assert bench.name == "sort"                      # named in the suite's metadata
    assert bench.metrics["time"].samples == ((4.1e-6, 4.0e-6, 4.3e-6), (4.2e-6, 4.1e-6, 4.0e-6))
    env = suite.environment
    assert (env.python_version, env.python_implementation, env.logical_cores) == \
        ("3.11.7", "CPython", 2)


def test_a_pyperf_memory_benchmark_is_peak_memory_and_a_run_may_name_it():
    data = copy.deepcopy(PYPERF)
    del data["metadata"]["name"]
    data["benchmarks"][0]["metadata"] = {"unit": "byte"}
    data["benchmarks"][0]["runs"][1]["metadata"] = {"name": "alloc"}
    [bench] = suite_from_dict(data).benchmarks
    assert bench.name == "alloc" and set(bench.metrics) == {"peak_memory"}


@pytest.mark.parametrize("change, field, words", [
    (lambda d: d["metadata"].pop("name"), "benchmarks[0]", "has no 'name'"),
    (lambda d: d["metadata"].update(unit="integer"), "metadata.unit", "'integer' has no perfaction metric"),
    (lambda d: d["benchmarks"][0]["runs"][2].update(values=[4e-6, -1.0]), "runs[2].values", "positive"),
    (lambda d: d["benchmarks"][0]["runs"].__delitem__(slice(1, 3)), "runs", "calibration runs only"),
    (lambda d: d["benchmarks"][0].update(runs="many"), "benchmarks[0].runs", "must be a list"),
])
def test_a_bad_pyperf_file_names_the_file_and_the_field(change, field, words):
    data = copy.deepcopy(PYPERF)
    change(data)
    with pytest.raises(ResultsFormatError) as info:
        suite_from_dict(data, source="a.json")
    assert info.value.field == field and words in str(info.value) and "a.json" in str(info.value)


def test_a_pytest_benchmark_file_loads_as_summaries_named_by_node_id():
    suite = suite_from_dict(copy.deepcopy(PYTEST_BENCHMARK), source="pb.json")
    [bench] = suite.benchmarks
    assert bench.name == "tests/test_sort.py::test_sort[100]"
    metric = bench.metrics["time"]
    assert metric.value == 5.2e-7 and not metric.has_samples      # one process: nothing to test
    assert suite.environment.commit_sha is None                   # "unversioned" is no commit
    assert suite.environment.cpu_model == "EPYC"


def test_a_pytest_benchmark_file_without_a_median_is_refused_naming_the_test():
    data = copy.deepcopy(PYTEST_BENCHMARK)
    del data["benchmarks"][0]["stats"]["median"]
    with pytest.raises(ResultsFormatError) as info:
        suite_from_dict(data, source="pb.json")
    assert info.value.benchmark == "tests/test_sort.py::test_sort[100]"
    assert info.value.field == "stats.median"


def test_an_unknown_document_lists_every_format_read():
    with pytest.raises(ResultsFormatError) as info:
        suite_from_dict({"benchmarks": [{"x": 1}]}, source="x.json")
    assert "pyperf JSON" in str(info.value) and "pytest-benchmark JSON" in str(info.value)
