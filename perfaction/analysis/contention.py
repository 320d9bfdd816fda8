"""Whether the machine was busy while a side was measured, from what its results record.

The harness records the 1-minute load average before the first worker and at
its highest, and the largest share of CPU time stolen by the hypervisor
(harness/machine.py). A run keeps about one core busy itself, so the machine
counts as busy when the load average went above its logical cores, or when
more than STEAL_LIMIT of CPU time was stolen. Busy machines add noise: the
paired tests of a same-runner run lose power (a +20 % slowdown went
undetected at a load of 2-3 on 2 cores), and a baseline measured on a quiet
machine meets a head that was not. For now the comparison says so; verdicts
are unchanged.
"""

from __future__ import annotations

from perfaction.results.model import Environment

STEAL_LIMIT = 0.05   # share of CPU time given to other guests


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
