"""Pure pieces of the runner: filtering, budgets, round planning, results assembly."""

from __future__ import annotations

import fnmatch
import math
import random
import statistics
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

from perfaction import metrics
from perfaction.results import model

T = TypeVar("T")

MIN_DEFAULT_TIMEOUT = 10.0

# The gate's alpha (analysis/policy.py DEFAULT_ALPHA), repeated here because
# the runner must not import the statistics stack; a unit test keeps them equal.
GATE_ALPHA = 0.01
# Gating tests per benchmark by default: the registry's gating rows that the
# harness measures (time, peak_memory, retained_memory).
GATING_METRICS_PER_BENCHMARK = sum(
    1 for m in metrics.harness_metrics(metrics.TIME_MODE_PASSES) if m.gates)
# Processes beyond the bare minimum: each step multiplies the smallest
# attainable p-value by ~1/4, so two steps leave room for a 16x stricter
# policy (more gating metrics, a smaller alpha) or one overlapping process.
MEMORY_MARGIN = 2


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


def next_round_seconds(durations: Sequence[float], memory_seconds: Sequence[float], *,
                       memory_share: float) -> float:
    """How long the next round will take, from the rounds so far.

    Memory passes run in the first processes only and stop early for memory
    that gave one value (``memory_settled``), so they make the first rounds
    the longest: the recent rounds' time without their memory passes, plus the
    last round's memory time scaled by ``memory_share``, the next round's
    memory passes as a share of the last round's.
    Taking the first rounds' time as it was ended a 300-benchmark run 16 %
    under its budget with a round it could have afforded.
    """
    if not durations:
        return 0.0
    recent = list(zip(durations, memory_seconds, strict=True))[-3:]
    without_memory = statistics.fmean(max(0.0, d - m) for d, m in recent)
    return without_memory + memory_share * memory_seconds[-1]


def min_processes_for_gate(alpha: float, tests: int) -> int:
    """Fewest processes per side for which any rank test can pass Holm over ``tests`` tests.

    With n processes a side, an exact rank test cannot give a one-sided
    p-value below 1 / C(2n, n), and Holm's first step needs alpha / tests.
    Same result as ``analysis.stats.min_processes_per_side(alpha / tests)``.
    """
    if not 0 < alpha < 1 or tests < 1:
        raise ValueError(f"need 0 < alpha < 1 and tests >= 1, got {alpha!r}, {tests!r}")
    level = alpha / tests
    n = 1
    while 1.0 / math.comb(2 * n, n) > level:
        n += 1
    return n


def min_rounds_for_paired_gate(alpha: float) -> int:
    """Fewest same-runner rounds for which a paired test can pass at all: 2**-n <= alpha.

    The paired tests of a same-runner run are corrected together by sign-flip
    max-T (analysis/correction.py), whose smallest adjusted p-value is 2**-n
    whatever their number: 7 rounds at alpha = 0.01.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"need 0 < alpha < 1, got {alpha!r}")
    return max(1, math.ceil(-math.log2(alpha) - 1e-12))


# Processes per side in which memory must give one value before its pass stops:
# the comparison decides a metric constant on each side without a test from this
# many on (analysis/exact.py, MIN_PROCESSES), so later memory passes add nothing.
CONSTANT_MEMORY_PROCESSES = 3


def memory_settled(sides: Sequence[Sequence[Mapping[str, Sequence[float]]]]) -> bool:
    """Whether every side measured each memory metric in enough processes, one value in all.

    ``sides``: per side, the metrics of each process so far. A benchmark whose
    memory varies on any side keeps its memory pass up to ``memory_processes``
    on both, so that the rank test has as many values on each.
    """
    memory = {m.name for m in metrics.harness_metrics() if m.measured_by == metrics.MEMORY_PASS}
    names = {name for processes in sides for p in processes for name in p if name in memory}
    for processes in sides:
        for name in names:
            values = {tuple(p[name]) for p in processes if name in p}
            measured = sum(1 for p in processes if name in p)
            if measured < CONSTANT_MEMORY_PROCESSES or len(values) > 1:
                return False
    return bool(names)


def memory_processes(benchmarks: int, *, at_least: int = 1, alpha: float = GATE_ALPHA,
                     gating_per_benchmark: int = GATING_METRICS_PER_BENCHMARK,
                     margin: int = MEMORY_MARGIN) -> int:
    """How many processes per benchmark (and side) run the memory pass.

    Memory values barely vary between processes, so a few suffice to estimate
    them, but the gate needs enough of them for a rank test to be able to
    pass Holm's correction over every gating test of the run: with 5 a side
    the smallest p-value, 1/252, cannot beat 0.01 / 3. More rounds add
    memory samples only up to this count, so it is sized for the whole run
    (docs/statistics.md, "Memory").
    """
    tests = max(1, benchmarks) * gating_per_benchmark
    return max(at_least, min_processes_for_gate(alpha, tests) + margin)


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
    """One model.Benchmark with one sample tuple per process for each metric.

    Metrics come in the registry's display order, with its unit and direction.
    A metric the registry does not list (a worker of another perfaction
    version, a measurement added without its row) is kept after them with the
    default row (unit "?", lower is better, report-only), never dropped.
    """
    measured = dict.fromkeys(metric_name for p in processes for metric_name in p)
    kept: dict[str, model.Metric] = {}
    for metric_name in metrics.sort_names(measured):
        samples = tuple(tuple(p[metric_name]) for p in processes if p.get(metric_name))
        if samples:
            info = metrics.metric_info(metric_name)
            kept[metric_name] = model.Metric(unit=info.unit, direction=info.direction,
                                             samples=samples)
    return model.Benchmark(name=name, metrics=kept, params=dict(params), loops=loops,
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


# Start-up and import may take this share of a batch worker's time: batches
# grow until the fixed cost per process is paid back 1/share times over.
# Smaller batches keep the two sides of an A/B pair closer in time; larger
# ones waste less of the budget on interpreters and imports.
BATCH_OVERHEAD_SHARE = 0.1


def batch_size(benchmarks: int, *, benchmark_seconds: float, process_overhead: float,
               overhead_share: float = BATCH_OVERHEAD_SHARE) -> int:
    """How many benchmarks one worker measures, so start-up stays a small share of it.

    ``benchmark_seconds``: one benchmark's set-up and passes in one process;
    ``process_overhead``: interpreter start-up plus the module's import.
    """
    if benchmarks < 1:
        return 1
    if benchmark_seconds <= 0:
        return benchmarks
    wanted = math.ceil(process_overhead / (overhead_share * benchmark_seconds))
    size = min(benchmarks, max(1, wanted))
    batches = math.ceil(benchmarks / size)
    return math.ceil(benchmarks / batches)      # balanced: no tiny last batch


def split_batches(items: Sequence[T], size: int, rng: random.Random) -> list[list[T]]:
    """A fresh random partition into batches of at most ``size``, each in random order.

    Re-drawn every round, so no benchmark always shares a process (and its
    heap, its neighbours' garbage) with the same others.
    """
    shuffled = list(items)
    rng.shuffle(shuffled)
    return [shuffled[i:i + size] for i in range(0, len(shuffled), max(1, size))]


def round_seconds(*, benchmarks: int, sides: int, size: int, benchmark_seconds: float,
                  process_overhead: float) -> float:
    """Seconds one round takes: every benchmark once on every side, in batches of ``size``."""
    batches = math.ceil(benchmarks / max(1, size))
    return sides * (batches * process_overhead + benchmarks * benchmark_seconds)


def benchmark_seconds(*, value_seconds: float, values: int, setup: float = 0.0,
                      latency_seconds: float = 0.0, memory_seconds: float = 0.0) -> float:
    """One benchmark's share of a worker: set-up, warm-up and timed values, detail passes."""
    return setup + values * value_seconds + latency_seconds + memory_seconds


def affordable_processes(*, budget_left: float, first_rounds: int, first_round_seconds: float,
                         later_round_seconds: float, cap: int) -> int:
    """Rounds the rest of the budget holds when the first rounds cost more (memory passes)."""
    rounds, spent = 0, 0.0
    while rounds < cap:
        cost = first_round_seconds if rounds < first_rounds else later_round_seconds
        if spent + cost > budget_left:
            break
        spent += cost
        rounds += 1
    return rounds


def budget_for_processes(processes: int, *, fixed: float, first_rounds: int,
                         first_round_seconds: float, later_round_seconds: float) -> float:
    """The time budget that buys ``processes`` rounds after ``fixed`` seconds of set-up."""
    first = min(processes, first_rounds)
    return fixed + first * first_round_seconds + (processes - first) * later_round_seconds
