"""What a time budget buys, estimated before measuring.

After discovery the runner knows the benchmarks, the sides and what one
worker's start-up and import cost; it does not yet know the loop counts, but
every timed value will last at least ``min_value_time``, so a lower bound on
a process's cost gives an upper bound on the processes the budget buys. When
even that is fewer than the gate needs (an exact rank test passing Holm over
the run's gating tests; in same-runner mode the rounds max-T needs), every
gating verdict will be inconclusive whatever the code does, and the user
should hear it before waiting for the run, with a budget that would do.

The same estimate sizes the timed values. Long values cost a process more
and buy little: what limits a decision is the spread between processes (a
process's memory layout, hash seeds, the machine's state when it ran), which
only more processes average out. So the runner takes the longest value time
of ``SIZINGS`` whose run still buys ``EXTRA_PROCESSES`` more processes than
the gate needs, and the shortest when none does. The choices form a short
ladder, not a continuum: runs of one suite on one machine then pick the same
length, so a stored baseline and a later run time the same loops.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from perfaction.harness import schedule


@dataclass(frozen=True)
class BudgetEstimate:
    processes: int             # per benchmark (and side) the budget is expected to buy
    needed: int                # fewest per side with which any gating test can pass
    tests: int                 # gating tests of the run
    enough: float              # seconds of budget that would buy ``needed``
    batch_size: int
    summary: str               # one line for the progress output
    note: str | None           # the warning, when ``processes < needed``


def estimate(*, budget: float, spent: float, benchmarks: int, sides: int,
             process_overhead: float, first_benchmark_seconds: float,
             later_benchmark_seconds: float, calibration_seconds: float, detail_rounds: int,
             max_processes: int) -> BudgetEstimate:
    """``first_benchmark_seconds``: a benchmark's share of a worker in the first
    ``detail_rounds`` (latency and memory passes), ``later_...`` after them."""
    size = schedule.batch_size(benchmarks, benchmark_seconds=later_benchmark_seconds,
                               process_overhead=process_overhead)
    first_round, later_round = (
        schedule.round_seconds(benchmarks=benchmarks, sides=sides, size=size,
                               benchmark_seconds=seconds, process_overhead=process_overhead)
        for seconds in (first_benchmark_seconds, later_benchmark_seconds))
    # calibration: one worker per side, each benchmark's growing loops and confirmation
    fixed = spent + sides * (process_overhead + benchmarks * calibration_seconds)
    processes = schedule.affordable_processes(
        budget_left=budget - fixed, first_rounds=detail_rounds, first_round_seconds=first_round,
        later_round_seconds=later_round, cap=max_processes)
    tests = benchmarks * schedule.GATING_METRICS_PER_BENCHMARK
    # same-runner: max-T over the paired tests needs the same rounds for any suite size
    needed = (schedule.min_rounds_for_paired_gate(schedule.GATE_ALPHA) if sides > 1
              else schedule.min_processes_for_gate(schedule.GATE_ALPHA, tests))
    enough = schedule.budget_for_processes(needed, fixed=fixed, first_rounds=detail_rounds,
                                           first_round_seconds=first_round,
                                           later_round_seconds=later_round)
    summary = (f"the {budget:g} s budget buys about {processes} process(es) per benchmark"
               + (" and side" if sides > 1 else ""))
    note = None
    if processes < needed:
        note = (f"{summary}; deciding any of the run's {tests} gating tests needs at least "
                f"{needed} per side, so verdicts will be inconclusive: a time budget of about "
                f"{math.ceil(enough / 10) * 10:.0f} s would (--time-budget), or fewer "
                "benchmarks (--filter); measuring anyway")
    return BudgetEstimate(processes, needed, tests, enough, size, summary, note)



@dataclass(frozen=True)
class Sizing:
    """How long a process spends on each benchmark: its timed values and memory rounds."""

    value_time: float           # seconds each timed value lasts at least
    memory_round_time: float    # CPU seconds per memory round


# Longest first. Values shorten first: 2 ms is still ~10^5 timer resolutions
# of perf_counter and many calls of any fast benchmark (a benchmark whose call
# is longer takes one call per value). Memory rounds shorten last: below
# 20 ms a structure still resizing (a dict switching table sizes) can move a
# round's total and read as a few bytes retained per call (docs/harness.md),
# the same on both sides, so no false alarm, but a noisier memory figure.
SIZINGS = (Sizing(0.05, 0.02), Sizing(0.02, 0.02), Sizing(0.01, 0.02), Sizing(0.005, 0.02),
           Sizing(0.002, 0.02), Sizing(0.002, 0.01), Sizing(0.002, 0.005),
           Sizing(0.002, 0.002))
# Processes beyond the gate's minimum that a sized run aims for: at the bare
# minimum a test passes only when every process agrees, which a +10 % change
# on a noisy runner rarely gives. With 4 extra, 10 benchmarks behind a 1 s
# import got 10 processes a side in `ab` and left 1 of 9 A/A times undecided
# (docs/scaling.md); 8 extra ask for 15, which shorter values still afford.
EXTRA_PROCESSES = 8


def size_values(estimate_for: Callable[[Sizing], BudgetEstimate], *, cap: int,
                choices: Sequence[Sizing] = SIZINGS) -> tuple[Sizing, BudgetEstimate]:
    """The longest sizing whose estimate reaches ``needed + EXTRA_PROCESSES`` processes,
    or ``cap`` (the most a run takes) when that is fewer.

    ``estimate_for(sizing)``: what the budget buys with it. When no choice
    reaches the target, the shortest (the most processes).
    """
    if not choices:
        raise ValueError("no sizing to choose from")
    chosen = None
    for sizing in choices:
        chosen = (sizing, estimate_for(sizing))
        if chosen[1].processes >= min(chosen[1].needed + EXTRA_PROCESSES, cap):
            break
    assert chosen is not None
    return chosen
