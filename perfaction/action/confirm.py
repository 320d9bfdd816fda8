"""Baseline mode's flags, confirmed on this runner before they become verdicts.

A stored baseline was measured on another runner, or on this one at a
quieter moment: a busy or slower machine moves every wall-clock time, and
the unpaired comparison cannot tell that from a code change (on a shared
2-core machine the README's workflow failed an unchanged pull request with
five "regressions" of +27 to +63 %). So when the comparison with the stored
baseline flags a benchmark (a gating regression or improvement, or a change
withheld because the runner explains it, analysis/contention.py), the action measures
those benchmarks again, and only those, side by side with the base commit on
this runner, in the same rounds: same-runner mode for a few benchmarks. Their
rows then show that run's verdicts. When the base commit is not in the
checkout (actions/checkout's default depth of 1), a flagged regression
cannot be confirmed and is reported as inconclusive, never as a regression
(or an improvement).

Pure apart from the runner and git it is given: the comparison in, the
comparison out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from perfaction.analysis.compare import compare_suites
from perfaction.analysis.comparison import RUNNER_REASONS, Comparison, Delta, Reason, Verdict
from perfaction.analysis.policy import Policy
from perfaction.errors import PerfActionError
from perfaction.metrics import MAIN_METRIC, metric_info
from perfaction.ports import Runner
from perfaction.results.model import Suite

if TYPE_CHECKING:   # the harness is imported where it measures
    from perfaction.harness.runner import RunOptions, RunResult

# The confirming run is sized by rounds, not by the budget: a busy runner,
# the very case it is for, makes rounds slower, and a budget would then buy
# too few for any paired test to pass (sign-flip max-T needs 7 at alpha 0.01).
# Twelve leave room for the noise a busy runner adds; 10 ms values keep a
# process cheap when a suite-wide shift flags most of the suite.
CONFIRM_PROCESSES = 12
CONFIRM_VALUE_TIME = 0.01


@dataclass(frozen=True)
class Confirmation:
    comparison: Comparison
    notes: tuple[str, ...]
    suites: tuple[Suite, Suite] | None = None   # (base, head) of the confirming run


_FLAGS = (Verdict.REGRESSED, Verdict.IMPROVED)


def flagged(comparison: Comparison) -> tuple[str, ...]:
    """Benchmarks whose gating verdict a change of runner could have produced: regressed,
    improved (a baseline from a busier moment makes an unchanged head look faster), or
    withheld because the runner explains the change. Counted metrics (instruction
    mode) do not depend on the runner's speed: nothing to confirm there."""
    names = []
    for delta in comparison.deltas:
        if metric_info(delta.metric).counted:
            continue
        held = (delta.verdict is Verdict.INCONCLUSIVE and delta.why is not None
                and delta.why.code in RUNNER_REASONS)
        if delta.gating and (delta.verdict in _FLAGS or held):
            names.append(delta.benchmark)
    return tuple(dict.fromkeys(names))


def confirm(comparison: Comparison, *, policy: Policy, runner: Runner, repo_dir: Path | None,
            subdir: Path, target: str, base_ref: str | None, available: bool,
            options: RunOptions) -> Confirmation:
    """Re-measure the flagged benchmarks side by side with ``base_ref`` (see the module doc).

    ``available``: whether ``base_ref`` is a commit of the checkout at ``repo_dir``.
    ``options``: the main run's options; the names and budget are set here.
    """
    names = flagged(comparison)
    if not names:
        return Confirmation(comparison, ())
    if repo_dir is None:
        return _unconfirmed(comparison, names, base_ref,
                            "the working directory is not in a git checkout")
    if not base_ref:
        return _unconfirmed(comparison, names, base_ref,
                            "no base commit is known: set the input base-ref")
    if not available:
        return _unconfirmed(comparison, names, base_ref,
                            f"the base commit {base_ref[:12]} is not in the checkout")
    options = replace(options, names=names, filter=None, processes=CONFIRM_PROCESSES,
                      min_value_time=CONFIRM_VALUE_TIME)
    try:
        result: RunResult = runner.run_ab(repo_dir, base_ref, subdir, target, options)
    except PerfActionError as exc:    # the base commit cannot be checked out or imported
        return _unconfirmed(comparison, names, base_ref, f"measuring it failed: {exc}")
    base, head = result.suites
    again = compare_suites(base, head, policy, mode="same-runner")
    measured = {d.benchmark for d in again.deltas if d.metric == MAIN_METRIC
                and d.verdict in _COMPARED}
    rows = {(d.benchmark, d.metric): d for d in again.deltas if d.benchmark in measured}
    deltas = tuple(rows.get((d.benchmark, d.metric), d) for d in comparison.deltas)
    comparison = replace(comparison, deltas=deltas)
    notes: list[str] = []
    if measured:
        done = tuple(n for n in names if n in measured)
        processes = min((d.head.n for d in again.deltas
                         if d.benchmark in measured and d.metric == MAIN_METRIC
                         and d.head is not None and d.head.n), default=0)
        notes.append(f"{_count(done)} flagged against the stored baseline ({_listed(done)}) "
                     f"{'was' if len(done) == 1 else 'were'} measured again side by side with "
                     f"the base commit {base_ref[:12]} on this runner ({processes} rounds); "
                     f"{'its row shows' if len(done) == 1 else 'their rows show'} that run's "
                     "verdicts")
    left = tuple(n for n in names if n not in measured)
    if left:
        rest = _unconfirmed(comparison, left, base_ref,
                            "the side-by-side run did not measure it on both sides")
        comparison, notes = rest.comparison, notes + list(rest.notes)
    # what the confirming run itself warned about: killed workers, leftover processes
    notes += [f"Confirming run: {n}" for n in (*result.notes, *result.retries,
                                               *result.cleanups, *again.notes)]
    return Confirmation(comparison, tuple(notes), (base, head))


# Verdicts of a benchmark measured on both sides of the confirming run.
_COMPARED = (Verdict.REGRESSED, Verdict.IMPROVED, Verdict.UNCHANGED, Verdict.INCONCLUSIVE)


def _unconfirmed(comparison: Comparison, names: tuple[str, ...], base_ref: str | None,
                 why: str) -> Confirmation:
    """Regressions that could not be confirmed become inconclusive, with what would confirm them."""
    facts: dict[str, object] = {"base_ref": base_ref, "why": why}
    deltas = tuple(_hold(d, facts) if d.benchmark in names and d.verdict in _FLAGS
                   and d.gating else d for d in comparison.deltas)
    note = (f"{_count(names)} flagged against the stored baseline could not be confirmed on "
            f"this runner ({why}), so none is called a regression or an improvement; the "
            "action measures the "
            "base commit side by side when the checkout has it (actions/checkout with "
            "fetch-depth: 0)")
    return Confirmation(replace(comparison, deltas=deltas), (note,))


def _hold(delta: Delta, facts: dict[str, object]) -> Delta:
    return replace(delta, verdict=Verdict.INCONCLUSIVE, reason="",
                   why=Reason("unconfirmed", {**facts, "change": delta.change,
                                              "was": delta.verdict.value}))


def _count(names: tuple[str, ...]) -> str:
    return f"{len(names)} benchmark" + ("" if len(names) == 1 else "s")


def _listed(names: tuple[str, ...], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
