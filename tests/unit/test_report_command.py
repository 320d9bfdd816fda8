"""`perfaction report`: a comparison JSON or two results files, to text, Markdown or JSON."""

from __future__ import annotations

import json
import random

import pytest
from test_report_cases import CASES

from perfaction.analysis.comparison_json import comparison_to_dict
from perfaction.cli.main import main
from perfaction.results.files import dump_suite
from perfaction.results.model import Benchmark, Environment, Metric, Suite


def suite(path, shift: float, *, seed: int, names=("parse", "serialize"), commit="a1b2c3d4e5f6"):
    rng = random.Random(seed)
    benchmarks = []
    for name in names:
        samples = tuple(tuple(1e-4 * (1 + shift) * rng.gauss(1, 0.01) for _ in range(3)) for _ in range(12))
        benchmarks.append(Benchmark(name, {"time": Metric(unit="s", samples=samples)}))
    dump_suite(Suite(tuple(benchmarks), Environment(cpu_model="cpu", commit_sha=commit)), path)
    return str(path)


@pytest.fixture
def results(tmp_path):
    base = suite(tmp_path / "base.json", 0.0, seed=1, commit="1111111aaaaaaa")
    head = suite(tmp_path / "head.json", 0.25, seed=2, commit="2222222bbbbbbb")
    return base, head


def test_two_results_files_render_to_the_terminal(results, capsys):
    assert main(["report", *results]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Performance: ")
    assert "REGRESSED" in out and "parse" in out and "+25" in out
    assert "Baseline: results file" in out and "commit 1111111" in out


def test_thresholds_change_the_verdict(results, capsys):
    assert main(["report", *results, "--thresholds", "time:50%"]) == 0
    assert "REGRESSED" not in capsys.readouterr().out


def test_markdown_to_a_file_by_suffix(results, tmp_path):
    out = tmp_path / "report.md"
    assert main(["report", *results, "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("## ❌ Performance: 2 regressions")
    assert "| p (adj.) |" in text


def test_comment_format_is_exactly_the_pr_comment(results, capsys):
    assert main(["report", *results, "--format", "comment"]) == 0
    assert capsys.readouterr().out.startswith("<!-- perf-regression-action:comment -->")


def test_json_round_trips_through_the_comparison_form(results, tmp_path, capsys):
    out = tmp_path / "comparison.json"
    assert main(["report", *results, "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["kind"] == "perfaction-comparison"
    assert main(["report", str(out), "--format", "md"]) == 0
    assert "## ❌ Performance: 2 regressions" in capsys.readouterr().out


def test_a_comparison_json_renders(tmp_path, capsys):
    comparison, _ = CASES["regression"]()
    path = tmp_path / "c.json"
    path.write_text(json.dumps(comparison_to_dict(comparison)))
    assert main(["report", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Performance: 3 REGRESSIONS" in out and "orderbook_updates" in out


@pytest.mark.parametrize("argv, message", [
    (["missing.json"], "not found"),
    (["a.json", "b.json", "c.json"], "got 3 files"),
])
def test_usage_errors_exit_2_with_a_fix(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["report", *argv]) == 2
    assert message in capsys.readouterr().err


def test_one_results_file_is_refused_with_the_right_usage(results, capsys):
    assert main(["report", results[0]]) == 2
    assert "this is a results file, not a comparison" in capsys.readouterr().err


def test_bad_threshold_spec_is_an_error(results, capsys):
    assert main(["report", *results, "--thresholds", "time:lots"]) == 2
    assert "time:lots" in capsys.readouterr().err


def test_unreadable_json_is_an_error(tmp_path, capsys):
    path = tmp_path / "c.json"
    path.write_text("{not json")
    assert main(["report", str(path)]) == 2
    assert "not valid JSON (line 1" in capsys.readouterr().err
