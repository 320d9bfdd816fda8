"""Comparison of a head suite against a base suite: Delta per benchmark x metric.

Verdicts are computed in this module only; templates just pick an icon. The
value types live in comparison.py, their JSON form in comparison_json.py, and
the words for each reason in report/reasons.py.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from perfaction.analysis import paired, stats
from perfaction.analysis.comparison import (
    METHOD,
    METHOD_COUNTED,
    METHOD_SAME_RUNNER,
    MODES,
    Comparison,
    Delta,
    EnvironmentMismatch,
    Reason,
    Summary,
    Verdict,
)
from perfaction.analysis.contention import busy_notes, hold_contended
from perfaction.analysis.correction import HOLM, MAX_T, Adjusted, Candidate, correct, rounds_needed
from perfaction.analysis.exact import exact_delta, varying_counts
from perfaction.errors import ConfigError
from perfaction.metrics import (
    LOWER_IS_BETTER,
    MEMORY_FAMILY,
    metric_info,
)
from perfaction.results.model import Benchmark, Environment, Metric, Suite

if TYPE_CHECKING:  # only for annotations: policy is passed in
    from perfaction.analysis.policy import MetricPolicy, Policy


# ---------------------------------------------------------------------------
# Comparing two suites. The rule (docs/statistics.md says why):
# REGRESSED / IMPROVED: one-sided Mann-Whitney significant after Holm over the
#   delta's family (gating or report-only) AND the Hodges-Lehmann change beyond
#   the threshold AND, where set, the change of the medians above the floor.
# UNCHANGED: otherwise, when within the floor, or the interval lies inside
#   +-threshold, or the estimate does and a threshold-sized change was detectable.
# INCONCLUSIVE: the rest; the reason states the smallest detectable change and
#   what would add samples of that metric (memory: not always the time budget).
# p-values from the normal approximation (ties: memory) are never taken below
#   1/C(m+n, m), the smallest an exact permutation test of those sizes can give.
# ---------------------------------------------------------------------------



# The two stages of a tested metric are named tuples, not frozen dataclasses:
# a run makes tens of thousands and they never leave this module.

class _Samples(NamedTuple):
    """A benchmark x metric with per-process values on both sides, waiting for its test.

    The tests of a whole run are computed together (``stats.compare_many``):
    one at a time, scipy's per-call overhead made a 10,000-benchmark run take
    tens of seconds.
    """

    benchmark: str
    metric: str
    unit: str
    direction: str
    policy: MetricPolicy
    base_values: tuple[float, ...]
    head_values: tuple[float, ...]
    processes: tuple[int, int]       # processes the benchmark ran in (base, head)
    shard: int | None                # a merged suite: the shard (job) that measured it


class _Pending(NamedTuple):
    """A benchmark x metric with samples on both sides, waiting for the corrections."""

    benchmark: str
    metric: str
    unit: str
    direction: str
    policy: MetricPolicy
    base: Summary
    head: Summary
    result: stats.SampleComparison | paired.PairedComparison
    processes: tuple[int, int]
    p_floor: float                   # asymptotic tests: the smallest exact p of these sizes
    rounds: np.ndarray | None        # paired tests: the per-round differences, for max-T
    block: int | None                # paired tests: whose rounds those are (the shard's)

    # With ties (memory) scipy's normal approximation can undercut any exact
    # permutation p-value: 0.002 for 5 equal values against 5 others, not 1/252.
    @property
    def p_worse(self) -> float:
        raw = self.result.p_greater if self.direction == LOWER_IS_BETTER else self.result.p_less
        return max(raw, self.p_floor)

    @property
    def p_better(self) -> float:
        raw = self.result.p_less if self.direction == LOWER_IS_BETTER else self.result.p_greater
        return max(raw, self.p_floor)

    @property
    def partial(self) -> bool:
        """Measured in only some of the benchmark's processes (memory, latency passes)."""
        return (self.result.n_base < self.processes[0]
                or self.result.n_head < self.processes[1])


def compare_suites(base: Suite | None, head: Suite, policy: Policy, *,
                   mode: str = "baseline", hold_runner_changes: bool = True) -> Comparison:
    """Compare every benchmark x metric of ``head`` against ``base`` under ``policy``.

    ``base`` None means there is no baseline yet: every benchmark is NEW.
    ``mode`` ("baseline" or "same-runner") is recorded and shapes the advice in
    reasons. ``hold_runner_changes`` (baseline mode): withhold the changes the
    runner explains as well as the code (contention.py); False keeps the
    verdicts as the test gave them. Never raises for data problems: they
    become verdicts with reasons.
    """
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    with _gc_paused():
        return _compare(base, head, policy, mode, hold_runner_changes)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while comparing (restored afterwards).

    The comparison makes a few hundred thousand small objects and no cycles,
    which triggers full collections that walk every object of both suites
    (millions of sample tuples): about a third of the time for 10,000
    benchmarks, for nothing to collect. Reference counting still frees memory.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _compare(base: Suite | None, head: Suite, policy: Policy, mode: str,
             hold_runner_changes: bool) -> Comparison:
    notes: list[str] = []
    slots: list[Delta | _Samples] = []
    ignored: list[str] = []
    if base is None:
        notes.append("no baseline: every benchmark is new; nothing was compared")
    # Names are unique within a suite (model.Suite checks); a dict avoids a scan per lookup.
    base_by_name = {b.name: b for b in base.benchmarks} if base is not None else {}
    head_names = {b.name for b in head.benchmarks}
    for bench in head.benchmarks:
        if policy.benchmark_ignored(bench.name):
            ignored.append(bench.name)
            continue
        slots.extend(_benchmark_slots(base_by_name.get(bench.name), bench, policy, base is None))
    if base is not None:
        for bench in base.benchmarks:
            if bench.name not in head_names and not policy.benchmark_ignored(bench.name):
                slots.extend(_single_side(bench, policy, Verdict.REMOVED,
                                          Reason("not_in_this_run"), side="base"))
    if ignored:
        notes.append(f"ignored by policy: {', '.join(ignored)}")
    measured = {m for suite in (base, head) if suite is not None
                for b in suite.benchmarks for m in b.metrics}
    notes.extend(policy.unmatched(measured))
    mismatches, env_notes = _environment_checks(base, head, mode)
    notes.extend(env_notes)
    # a busy machine moves no count: its notes are for runs with anything else
    if not measured or not all(metric_info(m).counted for m in measured):
        notes.extend(busy_notes(base.environment if base is not None else None,
                                head.environment, mode))
    counts_note = varying_counts([(s.benchmark, s.metric, s.base_values, s.head_values)
                                  for s in slots if isinstance(s, _Samples)])
    if counts_note:
        notes.append(counts_note)
    deltas, gating_tests, correction = _decide_all(_run_tests(slots, policy.confidence, mode, policy.alpha),
                                       policy, mode)
    if hold_runner_changes:
        deltas = hold_contended(deltas, base.environment if base is not None else None,
                                head.environment, mode)
    deltas = _counted_comparable(deltas, mismatches)
    return Comparison(
        deltas=deltas,
        base_environment=base.environment if base is not None else None,
        head_environment=head.environment,
        environment_mismatches=mismatches,
        thresholds=policy.thresholds(),
        alpha=policy.alpha,
        correction=correction,
        mode=mode,
        notes=tuple(notes),
        confidence=policy.confidence,
        gating_tests=gating_tests,
        method=(METHOD_SAME_RUNNER if mode == "same-runner" else METHOD)
        + (METHOD_COUNTED if any(metric_info(d.metric).counted for d in deltas) else ""),
    )


def exit_code(comparison: Comparison, *, fail_on_regression: bool = True) -> int:
    """1 when a gating metric regressed (and failing is wanted), else 0.

    FAILED benchmarks do not change the code here: a benchmark that crashed is
    an error of the run, which the application maps to exit code 2.
    """
    return 1 if fail_on_regression and comparison.regressions else 0


def _summary(metric: Metric) -> Summary:
    if not metric.has_samples:
        return Summary(center=metric.center(), n=0)
    spread = stats.robust_cv(metric.per_process())
    return Summary(center=metric.center(), n=len(metric.samples),
                   spread=None if math.isnan(spread) else spread)


def _tested_summary(values: tuple[float, ...], cv: float) -> Summary:
    """``_summary`` of a tested metric from its per-process values and the batch's robust CV."""
    ordered = sorted(values)                # the median exactly as Metric.center computes it
    mid = len(ordered) // 2
    center = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return Summary(center=center, n=len(values), spread=None if math.isnan(cv) else cv)


def _run_tests(slots: list[Delta | _Samples], confidence: float, mode: str,
               alpha: float) -> list[Delta | _Pending]:
    """Every waiting test of the run, batched once per design.

    Same-runner runs start base and head process i in the same round, next to
    each other: the per-round ratio cancels the load both shared, so those
    metrics get the paired test (``paired.compare_paired_many``). Everything
    else gets Mann-Whitney (``stats.compare_many``).
    """
    out: list[Delta | _Pending] = list(slots)  # type: ignore[arg-type]
    waiting = []
    for i, s in enumerate(slots):
        if isinstance(s, _Samples):
            exact = exact_delta(s.benchmark, s.metric, s.unit, s.direction, s.policy,
                                s.base_values, s.head_values)
            if exact is not None:
                out[i] = exact
            else:
                waiting.append((i, s))
    # Pairs only for metrics of every process (not the memory or latency passes
    # of some, whose rounds need not line up), and only where 2**-n can pass
    # alpha at all: the paired tests sharing their rounds are corrected by
    # max-T (correction.py), whose smallest p does not grow with their number.
    need = paired.min_pairs(alpha)
    by_round = [mode == "same-runner" and len(s.base_values) == len(s.head_values) >= need
                and (len(s.base_values), len(s.head_values)) == s.processes
                for _, s in waiting]
    samples = [(s.base_values, s.head_values) for _, s in waiting]
    unpaired = iter(stats.compare_many([v for v, p in zip(samples, by_round, strict=True) if not p],
                                       confidence=confidence))
    pairs = iter(paired.compare_paired_many([v for v, p in zip(samples, by_round, strict=True) if p],
                                            confidence=confidence))
    floors: dict[tuple[int, int], float] = {}
    for (i, s), is_paired in zip(waiting, by_round, strict=True):
        result = next(pairs) if is_paired else next(unpaired)
        # exact p-values respect the floor already (and are left bit-for-bit as scipy gives them)
        if result.method != "asymptotic":
            floor = 0.0
        elif isinstance(result, paired.PairedComparison):
            floor = result.p_floor
        else:
            sizes = (result.n_base, result.n_head)
            if sizes not in floors:
                floors[sizes] = stats.min_attainable_p(*sizes)
            floor = floors[sizes]
        rounds = (paired.differences(s.base_values, s.head_values)[0] if is_paired else None)
        out[i] = _Pending(s.benchmark, s.metric, s.unit, s.direction, s.policy,
                          _tested_summary(s.base_values, result.base_cv),
                          _tested_summary(s.head_values, result.head_cv), result,
                          s.processes, floor, rounds, s.shard if is_paired else None)
    return out


def _benchmark_slots(base: Benchmark | None, head: Benchmark, policy: Policy,
                     no_baseline: bool) -> list[Delta | _Samples]:
    if head.failed:
        return [Delta(head.name, "*", "", LOWER_IS_BETTER, Verdict.FAILED,
                      gating=True, why=Reason("failed", {"error": head.error}))]
    if base is None or base.failed:
        why = (Reason("no_baseline") if no_baseline else Reason("not_in_baseline") if base is None
               else Reason("failed_in_baseline", {"error": base.error}))
        return _single_side(head, policy, Verdict.NEW, why, side="head")
    out: list[Delta | _Samples] = []
    processes = (_processes(base), _processes(head))
    for name, metric in head.metrics.items():
        rule = policy.resolve(head.name, name)
        if rule.ignored:
            continue
        base_metric = base.metrics.get(name)
        if base_metric is None:
            out.append(_delta(head.name, name, metric, rule, Verdict.NEW, head=_summary(metric),
                              why=Reason("metric_not_in_baseline")))
        else:
            out.append(_metric_slot(base, head, name, base_metric, metric, rule, processes))
    for name, metric in base.metrics.items():
        rule = policy.resolve(head.name, name)
        if name not in head.metrics and not rule.ignored:
            out.append(_delta(head.name, name, metric, rule, Verdict.REMOVED,
                              base=_summary(metric), why=Reason("metric_not_measured")))
    return out


def _processes(bench: Benchmark) -> int:
    """Worker processes a benchmark was measured in: its most-sampled metric's count."""
    return max((len(m.samples) for m in bench.metrics.values()), default=0)


def _single_side(bench: Benchmark, policy: Policy, verdict: Verdict, why: Reason, *,
                 side: str) -> list[Delta | _Samples]:
    out: list[Delta | _Samples] = []
    for name, metric in bench.metrics.items():
        rule = policy.resolve(bench.name, name)
        if not rule.ignored:
            summary = _summary(metric)
            out.append(_delta(bench.name, name, metric, rule, verdict, why=why,
                              **{side: summary}))
    return out


def _delta(bench: str, name: str, metric: Metric, rule: MetricPolicy, verdict: Verdict,
           **values: Any) -> Delta:
    return Delta(bench, name, metric.unit, metric.direction, verdict,
                 threshold=rule.threshold, gating=rule.gating, **values)


def _metric_slot(base: Benchmark, head: Benchmark, name: str, base_metric: Metric,
                 head_metric: Metric, rule: MetricPolicy,
                 processes: tuple[int, int]) -> Delta | _Samples:
    problem = None
    if dict(base.params) != dict(head.params):
        problem = Reason("params_differ", {"base": str(dict(base.params)),
                                           "head": str(dict(head.params))})
    elif base_metric.unit != head_metric.unit:
        problem = Reason("units_differ", {"base": base_metric.unit, "head": head_metric.unit})
    elif base_metric.direction != head_metric.direction:
        problem = Reason("direction_differs", {"base": base_metric.direction,
                                               "head": head_metric.direction})
    if problem or not (base_metric.has_samples and head_metric.has_samples):
        return _untested(head.name, name, base_metric, head_metric, rule, problem)
    return _Samples(head.name, name, head_metric.unit, head_metric.direction, rule,
                    base_metric.per_process(), head_metric.per_process(), processes, head.shard)


def _untested(bench: str, name: str, base_metric: Metric, head_metric: Metric,
              rule: MetricPolicy, problem: Reason | None) -> Delta:
    """NOT_COMPARABLE for ``problem``, else INCONCLUSIVE: one side holds a summary value only."""
    base_summary, head_summary = _summary(base_metric), _summary(head_metric)
    common = dict(base=base_summary, head=head_summary)
    if problem:
        return _delta(bench, name, head_metric, rule, Verdict.NOT_COMPARABLE,
                      why=problem, **common)
    side = "baseline" if not base_metric.has_samples else "head"
    change = (head_summary.center / base_summary.center - 1
              if base_summary.center > 0 else None)
    return _delta(bench, name, head_metric, rule, Verdict.INCONCLUSIVE, change=change,
                  why=Reason("summary_only", {"side": side}), **common)


def _decide_all(slots: list[Delta | _Pending], policy: Policy,
                mode: str) -> tuple[tuple[Delta, ...], int, str]:
    """The run-wide correction per family (correction.py); BH over every test of the run."""
    pending = [(i, s) for i, s in enumerate(slots) if isinstance(s, _Pending)]
    adjusted = correct([Candidate(s.policy.gating, s.p_worse, s.p_better, _smallest_raw_p(s),
                                  s.direction == LOWER_IS_BETTER, s.rounds, s.block)
                        for _, s in pending], policy.alpha)
    q_worse = stats.benjamini_hochberg([s.p_worse for _, s in pending])
    q_better = stats.benjamini_hochberg([s.p_better for _, s in pending])
    decided = {i: _decide(s, adj, (qw, qb), policy, mode)
               for (i, s), adj, qw, qb in zip(pending, adjusted, q_worse, q_better, strict=True)}
    deltas = tuple(decided.get(i, slot) for i, slot in enumerate(slots))
    gating = [a for (_, s), a in zip(pending, adjusted, strict=True) if s.policy.gating]
    used = sorted({a.correction for a in gating}, key=(MAX_T, HOLM).index) or [HOLM]
    return deltas, len(gating), "/".join(used)  # type: ignore[return-value]


def _smallest_raw_p(p: _Pending) -> float:
    """The smallest p-value the test's design can give: 2**-n paired, 1/C(m+n, m) unpaired."""
    if isinstance(p.result, paired.PairedComparison):
        return p.result.p_floor
    return stats.min_attainable_p(p.result.n_base, p.result.n_head)


def _decide(p: _Pending, adjusted: Adjusted, q: tuple[float, float],
            policy: Policy, mode: str) -> Delta:
    est, rule = p.result.estimate, p.policy
    sign = 1.0 if p.direction == LOWER_IS_BETTER else -1.0
    worse_way = sign * est.shift >= 0
    amount = None if est.change is None else sign * est.change     # > 0 means worse
    p_adj = adjusted.worse if worse_way else adjusted.better
    detectable = _detectable(p.result, adjusted.test_alpha, policy.power)
    t = rule.threshold
    beyond_floor = rule.floor is None or abs(p.head.center - p.base.center) > rule.floor
    beyond_threshold = amount is None or abs(amount) > t
    inside = est.interval is not None and -t < est.interval[0] and est.interval[1] < t
    change = {"change": est.change, "shift": est.shift, "unit": p.unit, "threshold": t}
    test = {"tests": adjusted.tests, "correction": adjusted.correction, "p_adjusted": p_adj,
            "alpha": policy.alpha}
    if p_adj <= policy.alpha and beyond_threshold and beyond_floor:
        verdict = Verdict.REGRESSED if worse_way else Verdict.IMPROVED
        why = Reason("significant", {**change, **test, "floor": rule.floor})
    elif not beyond_floor:
        verdict = Verdict.UNCHANGED
        why = Reason("within_floor", {"difference": p.head.center - p.base.center,
                                      "floor": rule.floor, "unit": p.unit})
    elif inside and est.interval is not None:
        verdict = Verdict.UNCHANGED
        why = Reason("interval_within", {"low": est.interval[0], "high": est.interval[1],
                                         "threshold": t})
    elif not beyond_threshold and detectable is not None and detectable <= t:
        verdict = Verdict.UNCHANGED
        why = Reason("within_threshold", {**change, "detectable": detectable})
    else:
        verdict = Verdict.INCONCLUSIVE
        why = _inconclusive(p, {**change, **test, "detectable": detectable}, beyond_threshold,
                            adjusted, policy, mode)
    return Delta(p.benchmark, p.metric, p.unit, p.direction, verdict, base=p.base, head=p.head,
                 change=est.change, interval=est.interval,
                 p_value=p.p_worse if worse_way else p.p_better, p_adjusted=p_adj,
                 q_value=q[0] if worse_way else q[1], threshold=t, detectable=detectable,
                 gating=rule.gating, why=why)


def _detectable(result: stats.SampleComparison | paired.PairedComparison, alpha: float,
                power: float) -> float | None:
    """Smallest relative change the run could have detected (Bonferroni level: Holm's first step)."""
    if isinstance(result, paired.PairedComparison):
        shift = result.detectable_shift(alpha, power)
    else:
        shift = stats.detectable_shift(result.spread, result.n_base, result.n_head,
                                       alpha=alpha, power=power)
    if math.isinf(shift):
        return None
    if result.estimate.scale == stats.LOG:
        return math.expm1(shift)
    return shift / abs(result.base_median) if result.base_median != 0 else None


def _inconclusive(p: _Pending, facts: dict[str, Any], beyond_threshold: bool,
                  adjusted: Adjusted, policy: Policy, mode: str) -> Reason:
    """Why a tested metric could not be decided, with what would give it more samples."""
    too_few = adjusted.smallest > policy.alpha
    facts = {**facts, **_more_samples(p, mode, too_few)}
    if too_few:
        if adjusted.correction == MAX_T:
            need = rounds_needed(adjusted.part_share, policy.alpha)
        elif isinstance(p.result, paired.PairedComparison):
            need = paired.min_pairs(policy.alpha / adjusted.tests)
        else:
            need = stats.min_processes_per_side(policy.alpha / adjusted.tests)
        return Reason("too_few_processes", {**facts, "n_base": p.result.n_base,
                                            "n_head": p.result.n_head, "needed": need})
    return Reason("not_significant" if beyond_threshold else "too_noisy", facts)


def _more_samples(p: _Pending, mode: str, too_few: bool) -> dict[str, Any]:
    """What would give this metric more samples; right per metric, not only for time.

    Memory and latency come from passes that run in the first processes of a
    benchmark only; once a run has that many, a larger time budget adds
    processes but no samples of them.
    """
    info = metric_info(p.metric)
    if p.partial:
        return {"advice": "partial", "metric": p.metric, "pass": info.measured_by,
                "measured_base": p.result.n_base, "measured_head": p.result.n_head,
                "processes_base": p.processes[0], "processes_head": p.processes[1]}
    if info.counted:
        return {"advice": "count_processes"}   # neither the budget nor the mode adds counts
    if too_few:
        return {"advice": "more_processes"}
    if info.family == MEMORY_FAMILY or mode == "same-runner":
        return {"advice": "more_budget"}       # memory hardly depends on the machine
    return {"advice": "more_budget_or_same_runner"}


_COMPARED = (Verdict.REGRESSED, Verdict.IMPROVED, Verdict.UNCHANGED, Verdict.INCONCLUSIVE)


def _counted_comparable(deltas: tuple[Delta, ...],
                        mismatches: tuple[EnvironmentMismatch, ...]) -> tuple[Delta, ...]:
    """Counted metrics of a baseline counted under another build or instruction set are
    not comparable: a time change there may be the machine's, a count change surely is."""
    fields_ = [m.field for m in mismatches if m.field in Environment.COUNTING_FIELDS]
    if not fields_:
        return deltas
    why = Reason("counting_differs", {"fields": ", ".join(f.replace("_", " ") for f in fields_)})
    return tuple(replace(d, verdict=Verdict.NOT_COMPARABLE, why=why, p_value=None,
                         p_adjusted=None, q_value=None)
                 if metric_info(d.metric).counted and d.verdict in _COMPARED else d
                 for d in deltas)


def _environment_checks(base: Suite | None, head: Suite,
                        mode: str) -> tuple[tuple[EnvironmentMismatch, ...], list[str]]:
    if base is None:
        return (), []
    base_fp, head_fp = base.environment.fingerprint(), head.environment.fingerprint()
    if all(v is None for v in base_fp.values()):
        return (), ["the baseline records no environment (CPU, Python): whether it was measured "
                    "on a comparable machine cannot be checked"]
    names = list(dict.fromkeys([*base_fp, *head_fp]))
    mismatches = tuple(EnvironmentMismatch(name, base_fp.get(name), head_fp.get(name))
                       for name in names
                       if base_fp.get(name) is not None and head_fp.get(name) is not None
                       and base_fp[name] != head_fp[name])
    notes = []
    # a field only one fingerprint has (a counted run's, against a timed one) is
    # not "unrecorded": the metrics differ anyway and say so
    unknown = [name for name in names if name in base_fp and name in head_fp
               and (base_fp[name] is None) != (head_fp[name] is None)]
    if unknown:
        notes.append(f"not recorded on one side, so not checked: {', '.join(unknown)}")
    if mismatches:
        fields_ = ", ".join(m.field for m in mismatches)
        notes.append(f"base and head ran in different environments ({fields_}): a time change may "
                     "come from the machine, not the code" +
                     ("" if mode == "same-runner" else "; same-runner mode avoids this"))
    return mismatches, notes
