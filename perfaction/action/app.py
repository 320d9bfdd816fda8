"""The action's glue: one run inside a workflow job, from Config to exit code.

    run(config, baselines=..., publisher=..., runner=..., clock=..., stdout=...) -> 0 | 1

Order matters. The results file is written as soon as the benchmarks finish,
before any network call, so nothing measured is lost when the API fails. Then
the baseline, the comparison, the report files, the job summary, outputs and
annotations, and last the PR comment (the one step a fork's token may refuse).

On a schedule and on pushes to the default branch the run also extends the
nightly history, reports change points and files issues (action/nightly.py)
before the summary is written: the summary has one size limit, and the
comparison gets what the nightly section leaves. An API failure while filing
issues is raised last. On pull requests the history, when there is one and
can be read, adds each benchmark's recent trend.

In same-runner mode a base commit without the benchmark module makes every
benchmark new, with a warning and a note; one that has the module but cannot
import it is an error (exit 2), since a comparison with nothing passes.

Pull requests are gated: a regression exits 1 when fail-on-regression is set.
On push, schedule and other events the comparison is informational: the job
passes, so the step that uploads the results as the next baseline still runs.
A PerfActionError is raised, after everything that could be written was; the
entry point turns it into an ``::error::`` annotation and exit 2.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from perfaction.action import nightly, sharding
from perfaction.action.config import Config
from perfaction.action.confirm import flagged as confirm_flagged
from perfaction.analysis import compare
from perfaction.analysis.comparison import Comparison, Verdict
from perfaction.analysis.comparison_json import comparison_to_dict
from perfaction.errors import ConfigError, PerfActionError, ResultsFormatError
from perfaction.github.workflow import WorkflowCommands, append_summary, summary_room, write_outputs
from perfaction.pipeline import (
    SETUP_TAIL_LINES,
    exit_code,
    file_baseline,
    raise_for_failures,
    same_runner_baseline,
)
from perfaction.ports import BaselineOutcome, BaselineSource, Publisher, Runner
from perfaction.report.context import BaselineInfo, ReportContext, comment_marker
from perfaction.report.reasons import reason_text
from perfaction.report.render import render_comment, render_markdown_full, render_summary, render_terminal
from perfaction.results.files import dump_suite, load_suite
from perfaction.results.model import Suite

if TYPE_CHECKING:
    from perfaction.analysis.policy import Policy
    from perfaction.harness.runner import RunOptions, RunResult
    from perfaction.results.shards import Shard

OUTPUT_JSON_LIMIT = 512 * 1024   # comparison-json beyond this is replaced by counts


@dataclass(frozen=True)
class Baseline:
    suite: Suite | None
    info: BaselineInfo
    status: str          # "found", "missing", "expired", "invalid", "file" or "same-runner"


def run(config: Config, *, baselines: BaselineSource | None, publisher: Publisher | None,
        runner: Runner, clock: Callable[[], datetime], stdout: TextIO) -> int:
    """Run the action once; returns 0 (pass) or 1 (regression).

    Raises PerfActionError for exit code 2 (``pipeline.run_guarded`` maps it),
    after writing whatever the run got to: results, report, summary, outputs.
    """
    commands = WorkflowCommands(stdout, plain=not config.github.in_actions)
    if config.token:
        commands.mask(config.token)
    try:
        return _run(config, baselines, publisher, runner, clock, commands)
    finally:
        runner.close()      # an error on the way: nothing the set-up started outlives the step


def _run(config: Config, baselines: BaselineSource | None, publisher: Publisher | None,
         runner: Runner, clock: Callable[[], datetime], commands: WorkflowCommands) -> int:
    context = config.github
    workdir = _working_directory(config)
    policy = load_policy(config)
    # The merge job measures only to confirm a flagged benchmark: set up then, if ever.
    if config.setup_command and not config.merge_shards:
        _setup(config.setup_command, workdir, runner, commands)
    # Before measuring: a typo in baseline-path must not cost the whole budget.
    baseline_file = _input_suite(config, "baseline-path", config.baseline_path,
                                 "relative to the workspace")
    # compare-only: the head's results, made by an earlier step
    given = _input_suite(config, "results-file", config.results_file,
                         "relative to the workspace; made by an earlier step such as "
                         "`perfaction run`")

    if config.merge_shards:
        base_suite, head, run_notes = sharding.merged(config, baselines, commands)
    elif given is None and config.shard is not None:
        return _measure_shard(config, baselines, runner, workdir, baseline_file, commands)
    elif given is None:
        base_suite, head, run_notes = _measure(config, workdir, runner, commands)
    else:
        base_suite, head = None, given
        run_notes = (f"Compare-only: the results in {config.results_file} were made by an earlier "
                     "step; this job measured nothing, so a flagged benchmark is not confirmed "
                     "beside the base commit.",)
        commands.log(f"perfaction: comparing the results in {config.results_file} (measured "
                     "by an earlier step)")
    results_file = config.in_workspace(config.results_path)
    if given is None or results_file.resolve() != config.in_workspace(
            config.results_file or "").resolve():
        dump_suite(head, results_file)                   # before any network step
        commands.log(f"perfaction: results written to {config.results_path}")
    if base_suite is not None:
        dump_suite(base_suite, results_file.with_name(results_file.stem + ".base.json"))
        run_notes += _base_failures(base_suite, commands)

    baseline = _baseline(config, baselines, base_suite, baseline_file, clock, commands)
    comparison = compare.compare_suites(baseline.suite, head, policy, mode=config.mode,
                                        hold_runner_changes=config.confirm)
    if config.mode != "same-runner" and config.confirm and baseline.suite is not None \
            and given is None and config.benchmark:
        if config.merge_shards and config.setup_command and confirm_flagged(comparison):
            _setup(config.setup_command, workdir, runner, commands)
        comparison, confirm_notes = _confirm(config, workdir, runner, comparison, policy,
                                             baseline.suite, results_file, commands)
        run_notes += confirm_notes
    for stopped in runner.close():      # measuring is over: the set-up's services can go
        commands.warning(stopped, title="Processes left running")
        run_notes += (f"{stopped}.",)
    night = None
    if context.records_history:   # before the report: a later failure still leaves the file
        previous = nightly.load_previous(config, baselines, commands)
        history = nightly.record(config, previous, head, commands)
        night = nightly.conclude_night(config, publisher, history, previous, policy, commands)
    trends, trend_notes = _trends(config, baselines, head, commands)
    report_context = _report_context(config, baseline, trends, run_notes + trend_notes)
    report_file = config.in_workspace(config.report_path)
    report_file.parent.mkdir(parents=True, exist_ok=True)
    report_file.write_text(render_markdown_full(comparison, report_context), encoding="utf-8")
    _write_summary(context.summary_file, comparison, report_context, night)
    if night is not None:
        nightly.append_to_report(config, night)
    commands.log(render_terminal(comparison, report_context))

    gate = context.is_pull_request and config.fail_on_regression
    _annotate(comparison, commands, as_error=gate)
    write_outputs(context.output_file, _outputs(config, comparison, baseline))
    comment_url = _comment(config, publisher, comparison, report_context, baseline, commands)
    if comment_url:
        write_outputs(context.output_file, {"comment-url": comment_url})
    if night is not None and night.failure is not None:
        raise night.failure   # the issues failed; everything else is written
    return _exit_code(config, comparison, baseline)


# ---------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------

def _working_directory(config: Config) -> Path:
    workdir = config.in_workspace(config.working_directory)
    if not workdir.is_dir():
        raise ConfigError(f"input 'working-directory': {config.working_directory!r} is not a folder "
                          "in the workspace; did the job run actions/checkout first?")
    return workdir


def load_policy(config: Config) -> Policy:
    """The thresholds: the file's rules first, then the inline ones (later rules win ties)."""
    from perfaction.analysis.policy import Policy
    rules_file = config.in_workspace(config.thresholds_file) if config.thresholds_file else None
    try:
        return Policy.from_sources(config.thresholds or None, rules_file)
    except ConfigError as exc:
        which = "thresholds-file' or 'thresholds" if config.thresholds_file else "thresholds"
        raise ConfigError(f"input '{which}': {exc}") from exc


def _setup(command: str, workdir: Path, runner: Runner, commands: WorkflowCommands) -> None:
    with commands.group(f"Setting up: {command}"):
        returncode, tail = runner.setup(command, workdir, commands.log)
    if returncode != 0:
        shown = "\n".join(tail[-SETUP_TAIL_LINES:]) or "(no output)"
        raise PerfActionError(f"input 'setup-command' failed with exit code {returncode}: {command}\n"
                              f"Last lines of its output:\n{shown}")


def _run_options(config: Config, workdir: Path, shard: Shard | None = None) -> RunOptions:
    from perfaction.harness.runner import RunOptions
    context = config.github
    return RunOptions(time_budget=config.time_budget, filter=config.filter,
                      timeout=config.benchmark_timeout, cwd=workdir, measure=config.measure,
                      pytest=config.pytest, python=config.project_python, shard=shard,
                      commit_sha=context.head_commit or None,
                      ref=context.head_ref or context.ref_name or context.ref or None)


def _measure_shard(config: Config, baselines: BaselineSource | None, runner: Runner,
                   workdir: Path, baseline_file: Suite | None, commands: WorkflowCommands) -> int:
    """A matrix job's part of a sharded suite: measured and written; the merge job decides."""
    fetch = (lambda: fetch_stored_baseline(config, baselines)) if baselines is not None else None
    shard = sharding.balanced(config, baseline_file, fetch, commands)
    base, head, _ = _measure(config, workdir, runner, commands, shard=shard)
    sharding.write_shard(config, shard, base, head, commands)
    for stopped in runner.close():
        commands.warning(stopped, title="Processes left running")
    raise_for_failures(head=head)   # the merge reports them too; this job shows where
    return 0


def _measure(config: Config, workdir: Path, runner: Runner, commands: WorkflowCommands, *,
             shard: Shard | None = None) -> tuple[Suite | None, Suite, tuple[str, ...]]:
    """(base suite in same-runner mode, head suite, notes for the report)."""
    context = config.github
    options = _run_options(config, workdir, shard)
    with commands.group(f"Running benchmarks: {config.benchmark}"):
        if config.mode != "same-runner":
            result = runner.run(config.benchmark, options)
            return None, result.suites[0], _run_notes(result, commands)
        base_ref = config.base_ref or context.base_sha or context.before_sha
        if not base_ref:
            raise ConfigError("input 'base-ref' is needed in same-runner mode on a "
                              f"'{context.event_name}' event: name the commit, branch or tag to compare with")
        repo_dir = _repository_root(workdir)
        result = runner.run_ab(repo_dir, base_ref, workdir.resolve().relative_to(repo_dir),
                               config.benchmark, options)
    base, head = result.suites
    for note in result.notes:
        commands.warning(note, title="Same-runner base")
    return base, head, (tuple(f"Base {base_ref}: {note}" for note in result.notes)
                        + _run_notes(result, commands))


def _confirm(config: Config, workdir: Path, runner: Runner, comparison: Comparison,
             policy: Policy, baseline: Suite, results_file: Path,
             commands: WorkflowCommands) -> tuple[Comparison, tuple[str, ...]]:
    """Baseline mode: the flagged benchmarks measured again beside the base commit (confirm.py)."""
    from perfaction.action import confirm
    from perfaction.harness import gitinfo
    if not confirm.flagged(comparison):
        return comparison, ()
    context = config.github
    base_ref = (config.base_ref or context.base_sha or baseline.environment.commit_sha
                or context.before_sha)
    repo_dir = gitinfo.toplevel(workdir)
    available = bool(repo_dir and base_ref and gitinfo.has_commit(repo_dir, base_ref))
    subdir = workdir.resolve().relative_to(repo_dir) if repo_dir else Path(".")
    with commands.group("Confirming flagged benchmarks beside the base commit"):
        done = confirm.confirm(comparison, policy=policy, runner=runner, repo_dir=repo_dir,
                               subdir=subdir, target=config.benchmark, base_ref=base_ref,
                               available=available, options=_run_options(config, workdir))
    if done.suites is not None:
        for suite, side in zip(done.suites, ("base", "head"), strict=True):
            dump_suite(suite, results_file.with_name(f"{results_file.stem}.confirm-{side}.json"))
    for note in done.notes:
        commands.log(f"perfaction: {note}")
    return done.comparison, done.notes


def _run_notes(result: RunResult, commands: WorkflowCommands) -> tuple[str, ...]:
    """What the runner warned about, for the log and the report: a budget too small to
    decide, benchmarks measured again after their worker was killed from outside."""
    notes = []
    if result.budget_note:
        commands.warning(result.budget_note, title="Time budget too small to decide")
        notes.append(f"Time budget: {result.budget_note}.")
    for retry in result.retries:
        commands.warning(retry, title="Worker killed from outside")
        notes.append(f"{retry}.")
    for cleanup in result.cleanups:
        commands.warning(cleanup, title="Processes left running")
        notes.append(f"{cleanup}.")
    return tuple(notes)


def _repository_root(workdir: Path) -> Path:
    """The git work tree holding the working directory (actions/checkout may use a `path:`)."""
    from perfaction.harness import gitinfo
    top = gitinfo.toplevel(workdir)
    if top is None:
        raise ConfigError(f"same-runner mode checks the base commit out with git, but the working "
                          f"directory {workdir} is not inside a git checkout; run actions/checkout "
                          "(with fetch-depth: 0) first, or use baseline mode")
    return top


def _base_failures(base: Suite, commands: WorkflowCommands) -> tuple[str, ...]:
    """Benchmarks the base commit has but could not run: shown as new, with a warning each."""
    notes = []
    for bench in base.failures:
        note = (f"{bench.name} failed on the base commit, so it is not compared: {bench.error}")
        commands.warning(note, title=f"Base benchmark failed: {bench.name}")
        notes.append(note)
    return tuple(notes)


def _trends(config: Config, baselines: BaselineSource | None, head: Suite,
            commands: WorkflowCommands) -> tuple[dict, tuple[str, ...]]:
    """A pull request's recent trend per benchmark, from the nightly history; optional.

    Same-runner mode reads no artifact, and a baseline from baseline-path
    without a history-path means the workflow keeps no artifacts. A failure
    to read the history costs the trends, never the report or the verdict.
    """
    if not config.github.is_pull_request or config.mode == "same-runner":
        return {}, ()
    if config.baseline_path and not config.history_path:
        return {}, ()
    try:
        earlier = nightly.load_previous(config, baselines, commands, quiet=True)
    except PerfActionError as exc:
        commands.warning(f"the nightly history could not be read, so no trends are shown: {exc}",
                         title="No trends")
        return {}, ()
    return nightly.pr_trends(earlier.history, head)


def _write_summary(path: str | None, comparison: Comparison, report_context: ReportContext,
                   night: nightly.NightReport | None) -> None:
    """The comparison, then the nightly section, within the step summary's one size limit.

    The comparison gets the room the nightly section leaves (at least half),
    so a large suite cannot crowd the nightly section out.
    """
    nightly_section = "\n" + night.section if night is not None else ""
    room = summary_room(path)
    budget = max(room - len(nightly_section.encode("utf-8")), room // 2, 0)
    summary = render_summary(comparison, report_context, max_bytes=budget)
    append_summary(path, summary.rstrip("\n") + "\n" + nightly_section)


def _input_suite(config: Config, name: str, path: str | None, where: str) -> Suite | None:
    """The results file an input names, read before anything is measured (a typo must
    not cost the budget); None when the input is not set. ``where`` says what the
    path is relative to, and by whom the file was made."""
    if not path:
        return None
    try:
        return load_suite(config.in_workspace(path))
    except ResultsFormatError as exc:
        raise ConfigError(f"input '{name}' ({where}): {exc}") from exc


def _baseline(config: Config, baselines: BaselineSource | None, same_runner_base: Suite | None,
              baseline_file: Suite | None, clock: Callable[[], datetime],
              commands: WorkflowCommands) -> Baseline:
    context = config.github
    if config.mode == "same-runner":
        assert same_runner_base is not None
        info = same_runner_baseline(same_runner_base, ref=config.base_ref or context.base_ref)
        return Baseline(same_runner_base, info, "same-runner")
    if config.baseline_path and baseline_file is not None:
        return Baseline(baseline_file, file_baseline(config.baseline_path, baseline_file), "file")
    if baselines is None:
        reason = "no token was given, so the baseline artifact could not be fetched"
        commands.warning(reason + "; set the 'token' input", title="No baseline")
        return Baseline(None, BaselineInfo(source="none", reason=reason), "missing")
    try:
        outcome = fetch_stored_baseline(config, baselines)
    except PerfActionError as exc:
        # The API or the network failed: the run's measurements still make a report (the
        # head alone), and fail-on-missing-baseline decides whether the step fails.
        reason = f"the baseline artifact could not be fetched: {exc}"
        commands.warning(reason, title="No baseline")
        return Baseline(None, BaselineInfo(source="none", reason=reason), "unavailable")
    if outcome.status == "invalid":
        commands.warning(outcome.reason, title="Baseline artifact refused")
    elif outcome.status != "found":
        commands.notice(outcome.reason, title="No baseline")
    artifact = outcome.artifact
    if outcome.suite is None or artifact is None:
        return Baseline(None, BaselineInfo(source="none", reason=outcome.reason), outcome.status)
    age = max(clock() - artifact.created_at, timedelta(0))
    run_url = (f"{context.server_url.rstrip('/')}/{context.repository}/actions/runs/{artifact.run_id}"
               if artifact.run_id is not None else None)
    info = BaselineInfo(source="artifact", artifact_name=artifact.name, artifact_id=artifact.id,
                               run_id=artifact.run_id, run_url=run_url, commit=artifact.head_sha,
                               ref=artifact.head_branch, created_at=artifact.created_at, age=age)
    return Baseline(outcome.suite, info, "found")


def fetch_stored_baseline(config: Config, baselines: BaselineSource) -> BaselineOutcome:
    """The newest trusted baseline artifact of the base branch (never one of this run)."""
    context = config.github
    with tempfile.TemporaryDirectory(prefix="perfaction-artifact-") as scratch:
        return baselines.fetch_baseline(
            name=config.baseline_artifact, branch=context.baseline_branch,
            repository_id=context.repository_id, exclude_run_id=context.run_id,
            results_name=Path(config.results_path).name, scratch=Path(scratch))


def _report_context(config: Config, baseline: Baseline, history: dict | None = None,
                    notes: tuple[str, ...] = ()) -> ReportContext:
    context = config.github
    return ReportContext(
        history=history or {}, notes=notes,
        baseline=baseline.info, repository=context.repository, pr_number=context.pr_number,
        commit_sha=context.head_commit or None, base_sha=context.base_sha, run_url=context.run_url,
        server_url=context.server_url, mode=config.mode, full_report_path=config.report_path,
        comment_id=config.comment_id)


def _annotate(comparison: Comparison, commands: WorkflowCommands, *, as_error: bool) -> None:
    emit = commands.error if as_error else commands.warning
    for delta in comparison.regressions:
        change = f" {delta.change:+.1%}" if delta.change is not None else ""
        emit(f"{delta.benchmark}: {delta.metric}{change}. {reason_text(delta)}".strip(),
             title=f"Performance regression: {delta.benchmark}")
    for name in sorted({d.benchmark for d in comparison.failures}):
        reason = next(reason_text(d) for d in comparison.failures if d.benchmark == name)
        commands.error(f"{name}: {reason}", title=f"Benchmark failed: {name}")


def should_create_comment(mode: str, comparison: Comparison, has_baseline: bool) -> bool:
    """Whether comment-mode asks for a new comment; an existing one is refreshed regardless."""
    if mode == "always":
        return True
    if mode == "on-regression":
        return bool(comparison.regressions or comparison.failures)
    if mode == "on-change":
        changed = {Verdict.REGRESSED, Verdict.IMPROVED, Verdict.REMOVED, Verdict.FAILED}
        if has_baseline:
            changed.add(Verdict.NEW)
        return any(d.verdict in changed for d in comparison.deltas)
    return False


def _comment(config: Config, publisher: Publisher | None, comparison: Comparison,
             report_context: ReportContext, baseline: Baseline,
             commands: WorkflowCommands) -> str | None:
    context = config.github
    if not context.is_pull_request or config.comment_mode == "never":
        return None
    if context.pr_number is None:
        commands.warning("this is a pull request event, but its payload (GITHUB_EVENT_PATH) is "
                         "missing or names no pull request number, so the report was not posted "
                         "on the pull request; it is in the job summary", title="No PR comment")
        return None
    if publisher is None:
        commands.warning("no token was given, so the report was not posted on the pull request; "
                         "it is in the job summary", title="No PR comment")
        return None
    marker = comment_marker(config.comment_id)
    where = f": {context.run_url}" if context.run_url else ""
    fallback = (f"{marker}\n### Performance\n\nThe report is too long for a pull request comment; "
                f"read it in the job summary{where}\n")
    outcome = publisher.upsert_comment(
        context.pr_number, render_comment(comparison, report_context), marker=marker,
        create=should_create_comment(config.comment_mode, comparison, baseline.suite is not None),
        fallback_body=fallback)
    if outcome.status == "forbidden":
        commands.warning(outcome.message, title="No PR comment")
    elif outcome.url:
        commands.log(f"perfaction: {outcome.message}: {outcome.url}")
    return outcome.url


def _outputs(config: Config, comparison: Comparison, baseline: Baseline) -> dict[str, str]:
    data = comparison_to_dict(comparison, describe=reason_text)
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    if len(text) > OUTPUT_JSON_LIMIT:
        text = json.dumps({"truncated": True, "counts": comparison.counts(),
                           "report_path": config.report_path}, separators=(",", ":"))
    return {
        "regression": "true" if comparison.regressions else "false",
        "regressions-count": str(len(comparison.regressions)),
        "report-path": config.report_path,
        "results-path": config.results_path,
        "comparison-json": text,
        "baseline-status": baseline.status,
    }


def _exit_code(config: Config, comparison: Comparison, baseline: Baseline) -> int:
    raise_for_failures(comparison)
    if baseline.suite is None and config.fail_on_missing_baseline:
        raise PerfActionError(f"no usable baseline ({baseline.info.reason}) and "
                              "fail-on-missing-baseline is true")
    if not config.github.is_pull_request:
        return 0   # informational: the results must still be uploaded as the next baseline
    return exit_code(comparison, fail_on_regression=config.fail_on_regression)
