"""results/formats: readers of other tools' result files behind one small protocol."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from perfaction import metrics
from perfaction.errors import ResultsFormatError
from perfaction.results.files import load_suite, suite_from_dict
from perfaction.results.formats import READERS, find_reader, known_formats
from perfaction.results.formats.article import ARTICLE_SUMMARY
from perfaction.results.model import Benchmark, Metric, Suite

ARTICLE = {"parse": {"mean_latency": 1e-3, "p99_latency": 3e-3, "ops_per_second": 1000.0},
           "render": {"peak_memory": 2048, "cpu_percent": 87.5}}


def test_the_article_reader_recognises_its_format_and_nothing_else():
    assert ARTICLE_SUMMARY.sniff(ARTICLE)
    assert not ARTICLE_SUMMARY.sniff({})
    assert not ARTICLE_SUMMARY.sniff({"parse": {"mean": 1.0}})
    assert not ARTICLE_SUMMARY.sniff({"format_version": 1, "benchmarks": []})
    assert not ARTICLE_SUMMARY.sniff([ARTICLE])


def test_the_article_reader_maps_fields_to_metrics_with_their_units_and_directions():
    suite = ARTICLE_SUMMARY.to_suite(ARTICLE, source="old.json")
    parse = suite.get("parse")
    assert parse is not None and suite.source_format == 0 and not suite.has_samples
    assert parse.metrics[metrics.TIME] == Metric(unit="s", value=1e-3)
    assert parse.metrics[metrics.THROUGHPUT].direction == metrics.HIGHER_IS_BETTER
    assert suite.get("render").metrics[metrics.CPU_UTILISATION].unit == "%"


def test_a_bad_value_names_the_file_the_benchmark_and_the_field():
    with pytest.raises(ResultsFormatError) as caught:
        ARTICLE_SUMMARY.to_suite({"parse": {"mean_latency": "fast"}}, source="old.json")
    message = str(caught.value)
    assert "old.json" in message and "parse" in message and "mean_latency" in message


def test_files_without_a_format_version_go_to_the_readers(tmp_path):
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(ARTICLE))
    assert load_suite(path).names() == ("parse", "render")


def test_a_document_no_reader_takes_is_refused_naming_the_formats_perfaction_reads():
    with pytest.raises(ResultsFormatError) as caught:
        suite_from_dict({"something": "else"}, source="x.json")
    assert "format_version" in str(caught.value) and known_formats() in str(caught.value)


@dataclass(frozen=True)
class _CountsReader:
    """A minimal reader, as a new format would add one: {"counts": {name: value}}."""

    name: str = "counts"

    def sniff(self, data: Any) -> bool:
        return isinstance(data, dict) and set(data) == {"counts"}

    def to_suite(self, data: Any, *, source: str | None = None) -> Suite:
        return Suite(tuple(Benchmark(name, {"count": Metric(unit="calls", value=value)})
                           for name, value in data["counts"].items()))


def test_a_new_reader_is_found_by_its_sniff_and_listed_by_name():
    readers = (*READERS, _CountsReader())
    document = {"counts": {"a": 3}}
    assert find_reader(document) is None
    reader = find_reader(document, readers)
    assert isinstance(reader, _CountsReader)
    assert reader.to_suite(document).get("a").metrics["count"].value == 3
    assert known_formats(readers).endswith("counts")
