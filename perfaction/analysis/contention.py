"""Whether the runner, not the code, explains a change: busy machines and moved runners.

The harness records the 1-minute load average before the first worker and at
its highest, the largest share of CPU time stolen by the hypervisor
(harness/machine.py), and the runner's speed on a fixed workload
(harness/reference.py). A run keeps about one core busy itself, so the
machine counts as busy when the load average went above its logical cores,
or when more than STEAL_LIMIT of CPU time was stolen. Busy machines add
noise: the paired tests of a same-runner run lose power (a +20 % slowdown
went undetected at a load of 2-3 on 2 cores); the comparison says so.

In baseline mode (this run against results stored by an earlier one) a
busy or different runner moves wall-clock times as much as a code change
does, so ``hold_contended`` withholds a wall-clock regression or improvement
("inconclusive", never "regressed") when the runner explains it as well as
the code:

- most of the suite moved together, and the speed reference did not show
  the runner unchanged (it moved too, or one side lacks it);
- the runner's speed reference moved the same way, and the change is not
  well beyond what that movement explains;
- the side that looks slower was measured on a busy machine, or its CPU
  utilisation fell (the wall time grew, the CPU time did not), unless its
  CPU time moved the same way significantly.

Same-runner mode measures both sides in the same rounds, so contention hits
both alike: there the comparison only says the machine was busy.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import replace

from perfaction.analysis.comparison import Delta, Reason, Verdict
from perfaction.metrics import (
    CPU_TIME,
    CPU_UTILISATION,
    LATENCY_FAMILY,
    LOWER_IS_BETTER,
    TIME,
    metric_info,
)
from perfaction.results.model import Environment

STEAL_LIMIT = 0.05   # share of CPU time given to other guests
# A benchmark whose code computes keeps ~100 % CPU utilisation (CPU time over
# wall time); below this on the slower side, and this far below the other side,
# the wall time grew by waiting for a core (or for I/O), not by computing.
BUSY_UTILISATION = 0.9
UTILISATION_DROP = 0.05
# A suite-wide shift: more than this share of the compared benchmarks' times
# flagged in one direction, in a suite of at least SHIFT_MIN_BENCHMARKS.
SHIFT_SHARE = 0.5
SHIFT_MIN_BENCHMARKS = 4
# The speed reference moved when its change passed this (it varies ~1-2 %
# between quiet runs of one runner); a change is the code's when, divided by
# the reference's movement, it is still beyond KEEP_FACTOR x its threshold.
REFERENCE_MOVE = 0.03
KEEP_FACTOR = 2.0


def busy_figures(environment: Environment) -> str | None:
    """What made the machine busy ("load average up to 3.1 on 2 logical cores"), or None."""
    problems = []
    load, cores = environment.load_average_max, environment.logical_cores
    if load is not None and cores and load > cores:
        problems.append(f"load average up to {load:.1f} on {cores} logical cores")
    steal = environment.cpu_steal_max
    if steal is not None and steal > STEAL_LIMIT:
        problems.append(f"CPU steal up to {steal:.0%}")
    return "; ".join(problems) or None


def busy_notes(base: Environment | None, head: Environment, mode: str) -> list[str]:
    """One note per busy side (one for both in same-runner mode, which measured them together)."""
    sides = [("this run", head)]
    if base is not None and mode != "same-runner":
        sides.append(("the baseline", base))
    notes = []
    for side, environment in sides:
        figures = busy_figures(environment)
        if figures:
            notes.append(f"the machine was busy while {side} measured ({figures}): other work "
                         "competed for the cores, so noise was higher and small changes harder "
                         "to see; keep other jobs off the runner while it measures")
    return notes


def _wall_clock(metric: str) -> bool:
    """Metrics read from the wall clock: the ones a competing job stretches."""
    return metric == TIME or metric_info(metric).family == LATENCY_FAMILY


def hold_contended(deltas: Sequence[Delta], base: Environment | None, head: Environment,
                   mode: str) -> tuple[Delta, ...]:
    """``deltas`` with the wall-clock changes the runner explains made INCONCLUSIVE (see above)."""
    if mode == "same-runner" or base is None:
        return tuple(deltas)
    by_key = {(d.benchmark, d.metric): d for d in deltas}
    runner = reference_change(base, head)
    shifted = _suite_shift(deltas, runner)
    held = []
    for delta in deltas:
        if delta.verdict in (Verdict.REGRESSED, Verdict.IMPROVED) and _wall_clock(delta.metric):
            why = (Reason("suite_shift", shifted[delta.verdict]) if delta.verdict in shifted
                   else _runner_moved(delta, runner)
                   or _busy_evidence(delta, by_key, base, head))
            if why is not None:
                delta = _hold(delta, why)
        held.append(delta)
    return tuple(held)


def reference_change(base: Environment, head: Environment) -> float | None:
    """How much slower (+) or faster (-) the runner ran the reference workload, or None."""
    b, h = base.speed_reference, head.speed_reference
    if not (isinstance(b, (int, float)) and isinstance(h, (int, float))):
        return None
    if not (math.isfinite(b) and math.isfinite(h) and b > 0 and h > 0):
        return None     # nonsense from a damaged file
    return h / b - 1


def _runner_moved(delta: Delta, runner: float | None) -> Reason | None:
    """The runner's own movement explains the change, within KEEP_FACTOR x its threshold."""
    if runner is None or delta.change is None or abs(runner) < REFERENCE_MOVE:
        return None
    if (runner > 0) != (delta.change > 0):
        return None     # the runner moved the other way: it does not explain this
    adjusted = (1 + delta.change) / (1 + runner) - 1
    if delta.threshold is not None and abs(adjusted) > KEEP_FACTOR * delta.threshold:
        return None     # well beyond what the runner explains: the code's
    return Reason("runner_slower", {"reference_change": runner, "adjusted": adjusted})


def _hold(delta: Delta, why: Reason) -> Delta:
    facts = {**why.facts, "change": delta.change, "was": delta.verdict.value}
    return replace(delta, verdict=Verdict.INCONCLUSIVE, why=Reason(why.code, facts), reason="")


def _suite_shift(deltas: Sequence[Delta], runner: float | None) -> dict[Verdict, dict[str, object]]:
    """The directions in which most of the suite's gating times moved together, with figures.

    Not when the speed reference says the runner ran as fast as before: then
    the code moved the whole suite (a global slowdown is a real regression).
    """
    compared = [d for d in deltas if d.metric == TIME and d.gating and d.change is not None]
    shifted: dict[Verdict, dict[str, object]] = {}
    if len(compared) < SHIFT_MIN_BENCHMARKS:
        return shifted
    for verdict in (Verdict.REGRESSED, Verdict.IMPROVED):
        moved = [d.change for d in compared if d.verdict is verdict and d.change is not None]
        if len(moved) <= SHIFT_SHARE * len(compared):
            continue
        median = statistics.median(moved)
        if runner is not None and not (abs(runner) >= REFERENCE_MOVE
                                       and (runner > 0) == (median > 0)):
            continue
        shifted[verdict] = {"moved": len(moved), "compared": len(compared),
                            "median_change": median, "reference_change": runner}
    return shifted


def _busy_evidence(delta: Delta, by_key: dict[tuple[str, str], Delta], base: Environment,
                   head: Environment) -> Reason | None:
    """Why the runner explains this change as well as the code, or None when it does not."""
    slower_is_head = (delta.verdict is Verdict.REGRESSED) == (delta.direction == LOWER_IS_BETTER)
    side, environment = ("this run", head) if slower_is_head else ("the baseline", base)
    cpu = by_key.get((delta.benchmark, CPU_TIME))
    if cpu is not None and cpu.verdict is delta.verdict:
        return None     # the CPU work itself moved: not a matter of waiting for a core
    facts: dict[str, object] = {"side": side, "machine": busy_figures(environment),
                                "utilisation_base": None, "utilisation_head": None}
    utilisation = by_key.get((delta.benchmark, CPU_UTILISATION))
    if utilisation is not None and utilisation.base is not None and utilisation.head is not None:
        ub, uh = utilisation.base.center, utilisation.head.center
        slow, other = (uh, ub) if slower_is_head else (ub, uh)
        if slow < BUSY_UTILISATION and other - slow >= UTILISATION_DROP:
            facts["utilisation_base"], facts["utilisation_head"] = ub, uh
    if facts["machine"] is None and facts["utilisation_base"] is None:
        return None
    return Reason("runner_busy", facts)
