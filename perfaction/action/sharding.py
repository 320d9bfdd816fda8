"""The action's two roles in a sharded suite: a matrix job, and the job that merges.

A matrix job (input ``shard: K/N``) measures its part of the suite, balanced
by the baseline's measured costs when it can read the baseline, writes its
results to a folder named after the artifact to upload, and stops there: no
comparison, no comment, no verdict. The job after the matrix (``merge-shards:
true``) downloads every shard artifact of this workflow run, merges them
into one suite (results/shards.py refuses a set that does not add up), and
goes on as any run: one comparison under one run-wide correction, one
comment, one summary, one exit code. Its results file is the whole suite,
so the baseline and the nightly history stay one suite whatever the number
of shards.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from perfaction.action.config import Config
from perfaction.errors import ConfigError, PerfActionError
from perfaction.github.workflow import WorkflowCommands, append_summary, write_outputs
from perfaction.ports import BaselineOutcome, BaselineSource
from perfaction.report.render import render_shard_summary
from perfaction.results.files import dump_suite
from perfaction.results.model import Suite
from perfaction.results.shards import (
    BASE_RESULTS_FILE,
    RESULTS_FILE,
    Shard,
    ShardPart,
    artifact_name,
    costs_basis,
    costs_of,
    merge_shards,
)


def balanced(config: Config, baseline_file: Suite | None,
             fetch_baseline: Callable[[], BaselineOutcome] | None,
             commands: WorkflowCommands) -> Shard:
    """This job's shard, balanced by the baseline's costs when the baseline can be read.

    ``baseline_file`` is the baseline-path input's; else ``fetch_baseline``
    (None without a token) fetches the stored artifact. Every shard job reads
    the same baseline, so they all compute the same partition; one that
    cannot read it falls back to the name hash, and the merge then names the
    difference if the partitions disagree.
    """
    shard = config.shard
    assert shard is not None
    baseline = baseline_file or _fetched(fetch_baseline, commands)
    if baseline is None:
        return shard
    return shard.with_costs(costs_of(baseline), costs_basis(baseline))


def _fetched(fetch_baseline: Callable[[], BaselineOutcome] | None,
             commands: WorkflowCommands) -> Suite | None:
    if fetch_baseline is None:
        return None
    try:
        outcome = fetch_baseline()
    except PerfActionError as exc:
        commands.log(f"perfaction: the baseline could not be read, so the shards are balanced "
                     f"by name hash (equal counts): {exc}")
        return None
    if outcome.suite is None:
        commands.log(f"perfaction: {outcome.reason}; the shards are balanced by name hash "
                     "(equal counts)")
    return outcome.suite


def write_shard(config: Config, shard: Shard, base: Suite | None, head: Suite,
                commands: WorkflowCommands) -> Path:
    """The shard's results in the folder to upload, its outputs and its summary."""
    name = artifact_name(config.shard_artifact, shard.index, shard.count)
    folder = config.in_workspace(name)
    dump_suite(head, folder / RESULTS_FILE)
    if base is not None:
        dump_suite(base, folder / BASE_RESULTS_FILE)
    commands.log(f"perfaction: shard {shard.label} results written to {name}/; upload that "
                 f"folder as the artifact {name}")
    context = config.github
    write_outputs(context.output_file, {"shard-artifact": name, "shard-path": name,
                                        "results-path": f"{name}/{RESULTS_FILE}"})
    append_summary(context.summary_file, render_shard_summary(
        shard=shard.label, measured=len(head.benchmarks), total=head.settings.suite_size or 0,
        basis=head.settings.partition or shard.basis, artifact=name,
        base=(base.environment.commit_sha or "")[:12] if base is not None else None))
    return folder


def merged(config: Config, baselines: BaselineSource | None,
           commands: WorkflowCommands) -> tuple[Suite | None, Suite, tuple[str, ...]]:
    """(merged base in same-runner mode, merged head, a note) from this run's shard artifacts."""
    context = config.github
    if baselines is None:
        raise ConfigError("input 'merge-shards' downloads this run's shard artifacts through the "
                          "GitHub API: give a token with actions: read (the default "
                          "github.token does)")
    if context.run_id is None:
        raise ConfigError("input 'merge-shards' needs the workflow run's id (GITHUB_RUN_ID), "
                          "which the runner sets in every job; it is missing here")
    with tempfile.TemporaryDirectory(prefix="perfaction-shards-") as scratch:
        found = baselines.fetch_shards(run_id=context.run_id, prefix=config.shard_artifact,
                                       scratch=Path(scratch))
    if not found:
        raise PerfActionError(
            f"no artifact named {config.shard_artifact}-K-of-N was uploaded by this workflow "
            f"run ({context.run_id}): did the shard jobs run (needs:) and upload their "
            "shard-path output as their shard-artifact output?")
    parts = [ShardPart(f"artifact {s.name}", s.head, s.base) for s in found]
    base, head = _checked_mode(config, *merge_shards(parts))
    commands.log(f"perfaction: merged {len(parts)} shards ({len(head.benchmarks)} benchmarks) "
                 f"from artifacts {', '.join(s.name for s in found)}")
    note = (f"Merged from {len(parts)} shards, each measured by its own job; one run-wide "
            "correction covers every shard's tests.")
    return base, head, (note,)


def _checked_mode(config: Config, head: Suite, base: Suite | None) -> tuple[Suite | None, Suite]:
    same_runner = config.mode == "same-runner"
    if same_runner and base is None:
        raise ConfigError("mode is same-runner here, but the shards measured no base side: give "
                          "the shard jobs and the merge job the same mode")
    if not same_runner and base is not None:
        raise ConfigError("the shards measured in same-runner mode (their artifacts hold base "
                          "results): set mode: same-runner in the merge job too")
    return base, head
