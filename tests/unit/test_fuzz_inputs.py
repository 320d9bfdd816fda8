"""Malformed and hostile input in every format the action reads: refused with a message
naming the input, never an internal error.

Each format starts from a valid document, then a seeded random mutation per case
changes one node of it (deleted, replaced by a value of another type, a huge or
tiny number, a huge integer, a deep nest, control characters) or its text (cut
short, bytes flipped, nested 100,000 deep). The reader, and what the action does
next with what it read (compare, render), must either work or raise
PerfActionError; anything else is a bug. The counts are printed with -s.
"""

from __future__ import annotations

import copy
import json
import random
import sys
from pathlib import Path

import pytest

from perfaction.action.config import Config, load_event
from perfaction.analysis.compare import compare_suites
from perfaction.analysis.comparison_json import comparison_from_dict, comparison_to_dict
from perfaction.analysis.policy import Policy
from perfaction.errors import PerfActionError
from perfaction.report.context import BaselineInfo, ReportContext
from perfaction.report.render import render_comment, render_terminal
from perfaction.results.files import parse_json, suite_from_dict, suite_to_dict
from perfaction.results.history import History
from perfaction.results.model import Benchmark, Environment, Metric, Suite

CASES = 400     # per format; the seed makes every run try the same ones
HOSTILE = [None, True, False, 0, -1, 1.5, 1e308, -1e308, 5e-324, 10 ** 30, "", "x" * 5000,
           "\x00\x1b[2J\u202e", [], {}, [[[]]], {"": {}}, "NaN", -0.0, 2 ** 63, 10 ** 400,
           -(10 ** 400)]


def sample_suite(center: float, commit: str) -> Suite:
    def metric(unit, c):
        return Metric(unit, samples=tuple((c * (1 + 0.01 * (i % 3)),) for i in range(8)))
    benches = (Benchmark("parse[size=10]", {"time": metric("s", center),
                                            "peak_memory": metric("B", 2048.0)},
                         params={"size": 10}, loops=100),
               Benchmark("broken", error="benchmark 'broken': the timed callable raised KeyError"))
    return Suite(benches, Environment(cpu_model="x", logical_cores=2, commit_sha=commit,
                                      timestamp="2026-12-01T00:00:00Z"))


def nodes(value, path=()):
    """Every (path, value) of a JSON tree."""
    yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from nodes(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from nodes(child, (*path, index))


def mutate(document, rng: random.Random) -> str:
    """One mutated copy of ``document``, as JSON text."""
    kind = rng.random()
    text = json.dumps(document)
    if kind < 0.12:
        cut = rng.randrange(len(text))
        return text[:cut] if rng.random() < 0.5 else text[:cut] + chr(rng.randrange(32, 0x3000)) \
            + text[cut + 1:]
    if kind < 0.16:
        return "[" * 100_000 + "]" * 100_000
    if kind < 0.20:
        return text.replace("8", "9" * 5000, 1)       # an integer of 5,000 digits
    if kind < 0.23:
        return text.replace("0.", "NaN, 0.", 1) if rng.random() < 0.5 else text.replace(
            "0.", "1e999, 0.", 1)
    mutated = copy.deepcopy(document)
    path, _ = rng.choice([n for n in nodes(mutated) if n[0]])
    parent = mutated
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    choice = rng.random()
    if choice < 0.25 and isinstance(parent, dict):
        del parent[last]
    elif choice < 0.35:
        # nested lists, written as text: json.dumps itself cannot nest this deep
        depth = rng.choice([50, 500, 3000])
        parent[last] = "@@deep@@"
        return json.dumps(mutated).replace('"@@deep@@"', "[" * depth + "]" * depth, 1)
    else:
        parent[last] = copy.deepcopy(rng.choice(HOSTILE))
    return json.dumps(mutated)


def exercise_results(text: str) -> None:
    suite = suite_from_dict(parse_json(text, source="results.json"), source="results.json")
    comparison = compare_suites(suite, suite, Policy())
    render_terminal(comparison, ReportContext(baseline=BaselineInfo(source="artifact")))


def exercise_comparison(text: str) -> None:
    comparison = comparison_from_dict(parse_json(text, source="c.json"), source="c.json")
    render_comment(comparison, ReportContext(baseline=BaselineInfo(source="artifact")))


def exercise_history(text: str) -> None:
    history = History.from_bytes(text.encode("utf-8", errors="surrogatepass"),
                                 source="history.json")
    for benchmark, metric in history.keys()[:3]:
        history.series(benchmark, metric)


def exercise_event(text: str, tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    env = {"INPUT_BENCHMARK": "bench.py", "GITHUB_REPOSITORY": "o/r",
           "GITHUB_EVENT_NAME": "pull_request", "GITHUB_WORKSPACE": str(tmp_path)}
    Config.from_env(env, event=load_event(str(path)))


def documents():
    base, head = sample_suite(1e-3, "a" * 40), sample_suite(1.3e-3, "b" * 40)
    comparison = compare_suites(base, head, Policy())
    history = History().append(base, commit="a" * 40).append(head, commit="b" * 40)
    event = json.loads((Path(__file__).parents[1] / "data" / "events" / "pull_request.json")
                       .read_text())
    return {"results": (suite_to_dict(head), exercise_results),
            "comparison": (comparison_to_dict(comparison), exercise_comparison),
            "history": (history.to_dict(), exercise_history),
            "event": (event, exercise_event)}


@pytest.mark.parametrize("name", ["results", "comparison", "history", "event"])
def test_malformed_input_is_refused_with_a_message_never_an_internal_error(name, tmp_path):
    document, exercise = documents()[name]
    rng = random.Random(f"fuzz-{name}")

    def attempt(case):
        text = mutate(document, rng)
        exercise(text, tmp_path) if name == "event" else exercise(text)
    assert_only_refusals(f"{name}: {CASES} mutated inputs", attempt)


def assert_only_refusals(what, attempt):
    """Run ``attempt(case)`` for every case: each either works or raises PerfActionError
    with a reason; the counts are printed (-s), any other exception fails the test."""
    refused, internal = 0, []
    for case in range(CASES):
        try:
            attempt(case)
        except PerfActionError as exc:
            refused += 1
            assert str(exc).strip(), "a refusal says why"
        except Exception as exc:  # noqa: BLE001 - any other exception is what we look for
            internal.append(f"case {case}: {type(exc).__name__}: {str(exc)[:160]}")
    print(f"\n{what}, {refused} refused, {CASES - refused - len(internal)} accepted, "
          f"{len(internal)} internal errors", file=sys.stderr)
    assert internal == [], "\n".join(internal[:10])


@pytest.mark.parametrize("text", ["1e999", "[-1e999]", "NaN", "[Infinity]", "9" * 5000,
                                  "[" * 100_000])
def test_the_strict_parser_refuses_what_json_loads_would_let_through_or_crash_on(text):
    with pytest.raises(PerfActionError, match="input.json"):
        parse_json(text, source="input.json")


@pytest.mark.parametrize("field", ["load_average_max", "speed_reference", "cpu_steal_max"])
def test_an_environment_number_beyond_the_float_range_is_refused(field):
    data = suite_to_dict(sample_suite(1e-3, "a" * 40))
    data["environment"][field] = 10 ** 400
    with pytest.raises(PerfActionError, match=field):
        suite_from_dict(data, source="results.json")


def test_mutated_artifact_zips_are_refused_with_a_reason_never_an_internal_error(tmp_path):
    import io
    import zipfile

    from perfaction.github.artifacts import suite_from_zip
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("perf-results.json",
                         json.dumps(suite_to_dict(sample_suite(1e-3, "a" * 40))))
    valid = buffer.getvalue()
    rng = random.Random("fuzz-zip")

    def attempt(case):
        data = bytearray(valid)
        for _ in range(rng.choice([1, 2, 8, 32])):       # flipped bytes anywhere
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[:rng.randrange(len(data))]        # cut short
        path = tmp_path / f"case{case}.zip"
        path.write_bytes(bytes(data))
        suite_from_zip(path, tmp_path / f"x{case}", results_name="perf-results.json")
    assert_only_refusals(f"zip: {CASES} mutated archives", attempt)
