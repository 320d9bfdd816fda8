"""Measuring one callable inside one worker process.

Order inside a process, each pass separate so none pollutes another:

1. timing: warm-up values, then timed values of ``loops`` calls each; wall
   and CPU clocks read only around the whole loop, never per call;
2. latency (optional): calls timed one by one, for percentiles only;
3. memory: tracemalloc switched on for the first time, peak of single calls,
   then retained growth across rounds; switched off at the end.

GC policy, identical for every value: ``gc.collect()`` just before each value,
the collector left enabled while timing, so the cost of collections the code
itself triggers is part of its time, as it would be in production (timeit
disables GC, which hides that cost for allocation-heavy code).

Standard library only: this runs in the worker, next to user code.
"""

from __future__ import annotations

import array
import gc
import itertools
import math
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Clock = Callable[[], float]

LATENCY_MIN_CALL = 10e-6   # per-call timing below this measures the timer, not the code
MAX_LOOPS = 10 ** 9
# CPU seconds of traced calls in each memory round, whatever --min-value-time
# says. A bounded structure still settling (a dict resizing its table between
# two sizes) moves the traced total by kilobytes at odd moments; divided by
# the calls of a 2 ms round that read as ~13 B per call, divided by the
# thousands of calls of a 20 ms round it settles in the first, uncounted round.
MEMORY_ROUND_TIME = 0.02
MEMORY_WALL_FACTOR = 10    # a round also ends after this many round_times of wall time
MEMORY_TIME_CAP = 1.0      # wall seconds the memory pass may take before it stops at 3 rounds


class TracingWhileTimingError(RuntimeError):
    """tracemalloc was on before a timed pass: results would be meaningless."""


@dataclass(frozen=True)
class Calibration:
    loops: int
    seconds_per_call: float


@dataclass(frozen=True)
class TimedValue:
    wall: float   # seconds per call
    cpu: float    # CPU seconds per call

    @property
    def utilisation(self) -> float:
        return self.cpu / self.wall if self.wall > 0 else 0.0


@dataclass(frozen=True)
class MemoryResult:
    peak: int                    # bytes above the starting level during one call (max of a few)
    retained_per_call: float     # steady-state growth, bytes per call
    calls_per_round: int
    round_growth: tuple[int, ...]


def _run_loop(func: Callable[[], Any], loops: int, clock: Clock,
              cpu_clock: Clock) -> tuple[float, float]:
    """Total wall and CPU seconds of ``loops`` calls, after a full collection."""
    if tracemalloc.is_tracing():
        raise TracingWhileTimingError("tracemalloc is active while timing; perfaction measures "
                                      "memory in a separate pass, do not start tracemalloc in a "
                                      "benchmark's set-up")
    repeat = itertools.repeat(None, loops)
    gc.collect()
    cpu_start = cpu_clock()
    start = clock()
    for _ in repeat:
        func()
    end = clock()
    cpu_end = cpu_clock()
    return end - start, cpu_end - cpu_start


def calibrate(func: Callable[[], Any], min_value_time: float, *,
              clock: Clock = time.perf_counter, cpu_clock: Clock = time.process_time,
              max_loops: int = MAX_LOOPS) -> Calibration:
    """Smallest loop count (roughly) whose timed value lasts at least ``min_value_time``.

    One untimed warm-up call first: first calls pay lazy imports and caches.
    A loop that reaches the target is timed once more and the faster of the
    two counts: on a shared machine one preemption can make a short loop look
    long, which would leave every later value far too short (and a fast call
    mistaken for one slow enough for per-call latencies).
    """
    if min_value_time <= 0:
        raise ValueError(f"min_value_time must be positive, got {min_value_time!r}")
    _run_loop(func, 1, clock, cpu_clock)
    loops = 1
    while True:
        elapsed, _ = _run_loop(func, loops, clock, cpu_clock)
        if elapsed >= min_value_time and loops < max_loops:
            elapsed = min(elapsed, _run_loop(func, loops, clock, cpu_clock)[0])
        if elapsed >= min_value_time or loops >= max_loops:
            return Calibration(loops, elapsed / loops)
        # Aim 20% past the target so a slightly faster later process still reaches it.
        factor = (min_value_time * 1.2 / elapsed) if elapsed > 0 else 10.0
        loops = min(max_loops, math.ceil(loops * min(10.0, max(2.0, factor))))


def time_values(func: Callable[[], Any], loops: int, count: int, warmup: int = 1, *,
                clock: Clock = time.perf_counter,
                cpu_clock: Clock = time.process_time) -> list[TimedValue]:
    """``warmup`` discarded values, then ``count`` timed values of ``loops`` calls each."""
    values = []
    for index in range(warmup + count):
        wall, cpu = _run_loop(func, loops, clock, cpu_clock)
        if index >= warmup:
            values.append(TimedValue(wall / loops, cpu / loops))
    return values


def latency_pass(func: Callable[[], Any], duration: float, *, clock: Clock = time.perf_counter,
                 max_calls: int = 200_000) -> list[float]:
    """Seconds of each call, timed one by one for about ``duration`` seconds."""
    if tracemalloc.is_tracing():
        raise TracingWhileTimingError("tracemalloc is active during the latency pass")
    gc.collect()
    latencies: list[float] = []
    stop = clock() + duration
    while True:
        start = clock()
        func()
        end = clock()
        latencies.append(end - start)
        if end >= stop or len(latencies) >= max_calls:
            return latencies


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty list."""
    if not values:
        raise ValueError("percentile of an empty list")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def memory_pass(func: Callable[[], Any], *, rounds: int = 5,
                round_time: float = MEMORY_ROUND_TIME, max_calls_per_round: int = 1_000_000,
                time_cap: float = MEMORY_TIME_CAP, peak_calls: int = 3,
                clock: Clock = time.process_time,
                wall_clock: Clock = time.perf_counter) -> MemoryResult:
    """Peak memory of single calls and retained growth per call, under tracemalloc.

    Leak signal: memory still held after ``gc.collect()`` is read after each
    round of ``n`` calls; the growth of each round is kept, and the result is
    the median growth of the later half of the rounds divided by ``n``. A
    structure that fills up and stops (a bounded cache, a capped list) stops
    growing before those rounds, and it has usually filled during the
    thousands of calls of the timing pass that ran first, so it reads as ~0;
    growth that continues round after round reads as a leak.

    Rounds are sized by CPU time (``clock``), not wall time, so a busy machine
    taking the core away cannot shrink them to a handful of calls, where one
    stray allocation would read as bytes per call; and they last
    ``round_time`` however short the timed values are, for the same reason.
    A call that waits rather than computes (sleep, I/O) uses almost no CPU, so
    a round also ends after ``MEMORY_WALL_FACTOR`` x ``round_time`` of wall
    time, and ``time_cap`` (wall seconds) stops the pass after 3 rounds.
    Two rounds after the first that grew by exactly 0 bytes also end it: a
    leak grows every round, and most benchmarks retain nothing, so their pass
    costs three rounds instead of five.
    """
    if tracemalloc.is_tracing():
        raise RuntimeError("memory_pass needs tracemalloc off at the start")
    if rounds < 2:
        raise ValueError(f"rounds must be at least 2, got {rounds!r}")
    # Pre-allocated before tracing starts, so our own bookkeeping is never counted.
    marks = array.array("q", [0] * (rounds + 1))
    peaks = array.array("q", [0] * peak_calls)
    tracemalloc.start()
    try:
        deadline = wall_clock() + time_cap
        _peaks(func, peaks, wall_clock, deadline - time_cap / 2)
        gc.collect()
        marks[0] = tracemalloc.get_traced_memory()[0]
        calls = _first_round(func, round_time, max_calls_per_round, clock, wall_clock)
        gc.collect()
        marks[1] = tracemalloc.get_traced_memory()[0]
        done = 1
        while done < rounds and not (done >= 3 and wall_clock() > deadline):
            if done >= 3 and marks[done] == marks[done - 1] == marks[done - 2]:
                break   # two rounds after the first grew by exactly nothing: no steady leak
            for _ in itertools.repeat(None, calls):
                func()
            gc.collect()
            done += 1
            marks[done] = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    growth = tuple(marks[i + 1] - marks[i] for i in range(done))
    steady = sorted(growth[len(growth) // 2:])
    middle = len(steady) // 2
    median = steady[middle] if len(steady) % 2 else (steady[middle - 1] + steady[middle]) / 2
    return MemoryResult(peak=max(0, max(peaks)), retained_per_call=median / calls,
                        calls_per_round=calls, round_growth=growth)


def _peaks(func: Callable[[], Any], peaks: array.array[int], wall_clock: Clock,
           stop: float) -> None:
    """Traced memory above the starting level during single calls, into ``peaks``."""
    for index in range(len(peaks)):
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        func()
        peaks[index] = tracemalloc.get_traced_memory()[1] - before
        if wall_clock() > stop:
            break


def _first_round(func: Callable[[], Any], round_time: float, max_calls: int, clock: Clock,
                 wall_clock: Clock) -> int:
    """Call for ``round_time`` of CPU time (or a few times that of wall time); later
    rounds repeat the same count."""
    calls = 0
    stop = clock() + round_time
    wall_stop = wall_clock() + MEMORY_WALL_FACTOR * round_time
    while calls < max_calls:
        func()
        calls += 1
        if clock() >= stop or wall_clock() >= wall_stop:
            break
    return calls
