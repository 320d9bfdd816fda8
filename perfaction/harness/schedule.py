"""Pure pieces of the runner: filtering, budgets, round planning, results assembly."""

from __future__ import annotations

import fnmatch
import math
import random
from typing import Any, Callable, Hashable, Mapping, Sequence, TypeVar

from .. import model

T = TypeVar("T")

# Metric name -> (unit, direction). Names as in model.py.
METRIC_KINDS: dict[str, tuple[str, str]] = {
    model.TIME: ("s", model.LOWER_IS_BETTER),
    model.CPU_TIME: ("s", model.LOWER_IS_BETTER),
    model.CPU_UTILISATION: ("ratio", model.LOWER_IS_BETTER),
    model.LATENCY_P50: ("s", model.LOWER_IS_BETTER),
    model.LATENCY_P95: ("s", model.LOWER_IS_BETTER),
    model.LATENCY_P99: ("s", model.LOWER_IS_BETTER),
    model.PEAK_MEMORY: ("B", model.LOWER_IS_BETTER),
    model.RETAINED_MEMORY: ("B", model.LOWER_IS_BETTER),
}

MIN_DEFAULT_TIMEOUT = 10.0


def matches_filter(name: str, pattern: str | None) -> bool:
    """A glob when the pattern has ``*`` or ``?`` (``[`` is literal), else a substring."""
    if not pattern:
        return True
    if "*" in pattern or "?" in pattern:
        escaped = pattern.replace("[", "[[]")
        return fnmatch.fnmatchcase(name, escaped)
    return pattern in name


def default_timeout(time_budget: float, benchmarks: int) -> float:
    """Seconds one worker may take: the budget's share per benchmark, at least 10 s.

    Meant to stop a hang, not to judge speed; benchmarks whose single call
    takes seconds should pass a larger ``--timeout``.
    """
    return max(MIN_DEFAULT_TIMEOUT, time_budget / max(1, benchmarks))


def plan_rounds(*, remaining: float, round_seconds: float, done: int, min_processes: int,
                max_processes: int, fixed: int | None = None) -> int:
    """How many rounds in total, given what is left of the budget.

    Every benchmark gets at least ``min_processes`` (statistics need a few
    processes even when the budget is too small), never more than
    ``max_processes``; in between, as many rounds as the budget still holds.
    """
    if fixed is not None:
        return fixed
    if round_seconds <= 0:
        affordable = max_processes
    else:
        affordable = done + max(0, math.floor(remaining / round_seconds))
    return max(min_processes, min(max_processes, affordable), done)


def round_order(units: Sequence[T], rng: random.Random,
                key: Callable[[T], Hashable] | None = None) -> list[T]:
    """One fresh process per unit, in a new random order each round.

    Interleaving spreads slow drifts of the machine evenly over benchmarks
    (and over both sides of an A/B run); the random order keeps a benchmark
    from always following the same neighbour. Units sharing a ``key`` (the
    base and head side of one benchmark) stay next to each other, in random
    order, so the two sides of a pair see nearly the same machine state.
    """
    groups: dict[Hashable, list[T]] = {}
    for unit in units:
        groups.setdefault(key(unit) if key else id(unit), []).append(unit)
    ordered = list(groups.values())
    rng.shuffle(ordered)
    result: list[T] = []
    for group in ordered:
        rng.shuffle(group)
        result.extend(group)
    return result


def build_benchmark(name: str, *, params: Mapping[str, Any], loops: int | None,
                    processes: Sequence[Mapping[str, Sequence[float]]],
                    error: str | None) -> model.Benchmark:
    """One model.Benchmark with one sample tuple per process for each metric."""
    metrics: dict[str, model.Metric] = {}
    for metric_name, (unit, direction) in METRIC_KINDS.items():
        samples = tuple(tuple(p[metric_name]) for p in processes if p.get(metric_name))
        if samples:
            metrics[metric_name] = model.Metric(unit=unit, direction=direction, samples=samples)
    return model.Benchmark(name=name, metrics=metrics, params=dict(params), loops=loops,
                           error=error)


def format_failure(name: str, phase: str | None, error: str | None) -> str:
    """One line naming the benchmark and the cause, as stored in Benchmark.error."""
    error = error or "failed without a message"
    if phase == "timeout":
        return (f"benchmark {name!r} {error} (per-benchmark timeout); make it faster, "
                "or raise the limit with --timeout")
    if error.startswith(f"benchmark {name!r}"):
        return error
    return f"benchmark {name!r}: {error}"
