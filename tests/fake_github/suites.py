"""Results documents for tests, in perfaction's JSON form (format_version 1)."""

from __future__ import annotations

from typing import Any

from .zips import results_zip

# The benchmarks of tests/data/entrypoint_project/bench_widgets.py.
PROJECT_BENCHMARKS = ["sum_squares"]
FAST_BASELINE = 1e-9   # seconds per call, far faster than any real call: the head regresses
SLOW_BASELINE = 1.0    # far slower: the head improves


def suite_dict(times: dict[str, list[list[float]]], *, commit: str = "c" * 40,
               ref: str = "refs/heads/main") -> dict[str, Any]:
    """A results document with one ``time`` metric per benchmark (seconds, per-process samples)."""
    return {
        "format_version": 1,
        "tool": "perfaction",
        "environment": {"commit_sha": commit, "ref": ref, "python_implementation": "CPython"},
        "settings": {"time_budget": 1.0, "mode": "baseline"},
        "benchmarks": [
            {"name": name, "loops": 1,
             "metrics": {"time": {"unit": "s", "direction": "lower", "samples": samples}}}
            for name, samples in times.items()
        ],
    }


def steady_suite_dict(names: list[str], seconds: float = 0.001, processes: int = 6,
                      values: int = 5) -> dict[str, Any]:
    """Every benchmark at ``seconds`` per call with a little deterministic spread."""
    def process(i: int) -> list[float]:
        return [seconds * (1 + 0.001 * ((i * values + j) % 7)) for j in range(values)]
    return suite_dict({name: [process(i) for i in range(processes)] for name in names})


def baseline_zip(seconds: float, names: list[str] | None = None) -> bytes:
    """A baseline artifact whose benchmarks took ``seconds`` per call, 120 processes each.

    The budget is a limit: on a busy machine a tiny budget may give the head
    a single process. Against 120 a one-sided rank test still reaches
    1/121 < 0.01, so the tests' verdicts do not depend on the machine's load.
    """
    return results_zip(steady_suite_dict(names or PROJECT_BENCHMARKS, seconds=seconds,
                                         processes=120))
