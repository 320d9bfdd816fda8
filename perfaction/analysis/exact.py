"""Metrics that do not vary between processes: decided by their values, without a rank test.

Memory measured under tracemalloc is often the same to the byte in every
process of a side. A rank test then has nothing to rank: with n processes
per side its p-value cannot fall below 1/C(2n, n) however large the change,
and each such test took a share of the run's alpha from the time tests (in
one outside check 8 of 12 gating tests were memory tests that never varied).

When every process of each side gave exactly the same value, at least
MIN_PROCESSES of them per side, the change is known exactly: the verdict
follows from the threshold and the floor alone, and the metric counts in no
correction. A metric that varies on either side goes to the statistics.

Counted metrics (instruction counts, ``MetricInfo.counted``) repeat exactly
by construction (harness/counting.py: a fixed hash seed, the same history in
every process), so two processes per side are enough evidence there; when
they do not repeat, the metric goes to the statistics too, and the
comparison says so (``varying_counts``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from perfaction.analysis.comparison import Delta, Reason, Summary, Verdict
from perfaction.metrics import LOWER_IS_BETTER, metric_info

if TYPE_CHECKING:
    from perfaction.analysis.policy import MetricPolicy

MIN_PROCESSES = 3   # fewer identical values are no evidence that the metric cannot vary
COUNTED_MIN_PROCESSES = 2   # a counted metric: a second process checks that the counts repeat


def min_processes(metric: str) -> int:
    return COUNTED_MIN_PROCESSES if metric_info(metric).counted else MIN_PROCESSES


def varying_counts(items: Sequence[tuple[str, str, tuple[float, ...], tuple[float, ...]]]
                   ) -> str | None:
    """A note naming the counted metrics whose processes disagree: (benchmark, metric,
    base values, head values) each. None when every counted metric repeated."""
    varying = []
    for benchmark, metric, base_values, head_values in items:
        if not metric_info(metric).counted:
            continue
        spread = max(_spread(base_values), _spread(head_values))
        if spread > 0:
            varying.append(f"{benchmark} ({spread * 100:.3g}%)")
    if not varying:
        return None
    shown = ", ".join(varying[:5]) + (f" and {len(varying) - 5} more" if len(varying) > 5 else "")
    return (f"instruction counts did not repeat exactly between processes for {shown}: those "
            "were decided by the rank tests, which need more processes than instruction mode "
            "runs (--count-processes); look for code whose work depends on time, randomness "
            "or addresses (id(), hash() of objects)")


def _spread(values: tuple[float, ...]) -> float:
    if len(values) < 2 or not min(values) > 0:
        return 0.0
    return (max(values) - min(values)) / min(values)


def exact_delta(benchmark: str, metric: str, unit: str, direction: str, rule: MetricPolicy,
                base_values: tuple[float, ...], head_values: tuple[float, ...]) -> Delta | None:
    """The Delta of a metric constant on each side, or None when it varies (or is too short)."""
    needed = min_processes(metric)
    if len(base_values) < needed or len(head_values) < needed:
        return None
    base, head = base_values[0], head_values[0]
    if any(v != base for v in base_values) or any(v != head for v in head_values):
        return None
    sides = {"n_base": len(base_values), "n_head": len(head_values)}
    shift = head - base
    change = head / base - 1 if base > 0 and head >= 0 else None
    worse = shift > 0 if direction == LOWER_IS_BETTER else shift < 0
    beyond_threshold = change is None or abs(change) > rule.threshold
    beyond_floor = rule.floor is None or abs(shift) > rule.floor
    if shift == 0:
        verdict = Verdict.UNCHANGED
        why = Reason("identical", {"value": base, "unit": unit, **sides})
    elif beyond_threshold and beyond_floor:
        verdict = Verdict.REGRESSED if worse else Verdict.IMPROVED
        why = Reason("exact_change", {"change": change, "shift": shift, "unit": unit,
                                      "threshold": rule.threshold, "floor": rule.floor, **sides})
    elif not beyond_floor:
        verdict = Verdict.UNCHANGED
        why = Reason("within_floor", {"difference": shift, "floor": rule.floor, "unit": unit})
    else:
        verdict = Verdict.UNCHANGED
        why = Reason("exact_within_threshold", {"change": change, "shift": shift, "unit": unit,
                                                "threshold": rule.threshold, **sides})
    return Delta(benchmark, metric, unit, direction, verdict,
                 base=Summary(center=base, n=len(base_values), spread=0.0),
                 head=Summary(center=head, n=len(head_values), spread=0.0),
                 change=change, interval=(change, change) if change is not None else None,
                 threshold=rule.threshold, detectable=0.0, gating=rule.gating, why=why)
