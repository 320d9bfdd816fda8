"""The nightly flow inside the action: history, change points, one issue per regression.

On a schedule, and on a push (or manual run) on the default branch, app.py
calls, in order:

1. ``load_previous``: the previous history, from ``history-path`` or the
   newest trusted history artifact (the baseline's rules). A corrupt or
   oversized one is refused with a warning and a new history starts: tonight's
   results are never lost to yesterday's bad file.
2. ``record``: tonight's suite appended, the file written (atomically, within
   the size limit) where the workflow uploads it as the next artifact, and the
   ``history-path`` / ``history-status`` outputs set.
3. ``conclude_night``: change points per fingerprint group (the gating metrics),
   the plan of nightly.py, the issues it asks for (with ``nightly-issue``),
   warning annotations and the nightly section of the job summary, which
   app.py writes after the comparison within the summary's one size limit
   (``report_night`` does all of it, writing included, for callers on their own).

On pull requests ``pr_trends`` turns the history into the per-benchmark
series that ReportContext(history=...) (report/context.py) draws beside the comparison.
Nothing here decides what a night concludes (nightly.py) or how it reads
(report/nightly.py).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from perfaction.analysis import changepoint, nightly
from perfaction.analysis.nightly import IssueAction, NightlyOutcome, NightlySettings, Trend
from perfaction.errors import PerfActionError, ResultsFormatError
from perfaction.github.workflow import WorkflowCommands, append_summary, write_outputs
from perfaction.metrics import MAIN_METRIC
from perfaction.ports import BaselineSource, IssueOutcome, Publisher
from perfaction.report.markdown import clean_text
from perfaction.report.nightly import (
    NightlyContext,
    render_issue_body,
    render_nightly_summary,
    render_recovery_comment,
)
from perfaction.results.history import DEFAULT_MAX_BYTES, History, fingerprint_id
from perfaction.results.model import Suite

if TYPE_CHECKING:
    from perfaction.action.config import Config
    from perfaction.analysis.policy import Policy


@dataclass(frozen=True)
class PreviousHistory:
    """The history before tonight, or None, and where it came from."""

    history: History | None
    status: str                 # found, file, missing, expired, invalid
    reason: str = ""

    @property
    def notes(self) -> tuple[str, ...]:
        if self.status == "invalid":
            return (f"The previous history was refused ({self.reason}). A new history starts "
                    "tonight; the refused one is not used again once tonight's is uploaded.",)
        if self.status in ("missing", "expired"):
            return (f"No previous history ({self.reason}): a new history starts tonight.",)
        return ()


# ---------------------------------------------------------------------------
# 1. The previous history
# ---------------------------------------------------------------------------

def load_previous(config: Config, source: BaselineSource | None,
                  commands: WorkflowCommands, *, quiet: bool = False) -> PreviousHistory:
    """The history before tonight. ``quiet`` (pull requests): no annotation when there is none."""
    if config.history_path:
        previous = _from_file(config, set_aside=not quiet)
    elif source is None:
        previous = PreviousHistory(None, "missing", "no token was given, so the history "
                                                    "artifact could not be fetched")
    else:
        previous = _from_artifact(config, source)
    if not quiet:
        _announce(previous, commands, no_token=source is None and not config.history_path)
    elif previous.status == "invalid":
        commands.notice(previous.reason, title="History refused")
    return previous


def _announce(previous: PreviousHistory, commands: WorkflowCommands, *,
              no_token: bool) -> None:
    if no_token:   # every night would start afresh: the history could never grow
        commands.warning("no token was given, so the history artifact cannot be fetched and each "
                         "run starts a new history; set the 'token' input, or keep the history "
                         "in a file with 'history-path'", title="No history")
    elif previous.status == "invalid":
        commands.warning(f"{previous.reason}. A new history starts tonight with tonight's results",
                         title="History refused")
    elif previous.history is None:
        commands.notice(f"{previous.reason}; a new history starts tonight", title="No history")


def _from_file(config: Config, *, set_aside: bool) -> PreviousHistory:
    path = config.in_workspace(config.history_path or "")
    if not path.exists():
        return PreviousHistory(None, "missing", f"input 'history-path': {config.history_path} "
                                                "does not exist yet")
    try:
        return PreviousHistory(History.load(path, max_entries=config.history_length), "file")
    except ResultsFormatError as exc:
        if not set_aside:
            return PreviousHistory(None, "invalid", f"input 'history-path': {exc}")
        # Tonight's history takes its place; keep the refused file for a person to inspect.
        path.replace(path.with_name(path.name + ".refused"))
        return PreviousHistory(None, "invalid", f"input 'history-path': {exc} (set aside as "
                                                f"{path.name}.refused)")


def _from_artifact(config: Config, source: BaselineSource) -> PreviousHistory:
    context = config.github
    with tempfile.TemporaryDirectory(prefix="perfaction-history-") as scratch:
        outcome = source.fetch_history(
            name=config.history_artifact, branch=context.baseline_branch,
            repository_id=context.repository_id, exclude_run_id=context.run_id,
            file_name=Path(config.history_output).name, scratch=Path(scratch),
            max_entries=config.history_length)
    return PreviousHistory(outcome.history, outcome.status, outcome.reason)


# ---------------------------------------------------------------------------
# 2. Tonight's entry
# ---------------------------------------------------------------------------

def record(config: Config, previous: PreviousHistory, head: Suite,
           commands: WorkflowCommands, *, max_bytes: int = DEFAULT_MAX_BYTES) -> History:
    """Append tonight's suite, write the file the workflow uploads, set the outputs."""
    base = previous.history or History(max_entries=config.history_length)
    extended = replace(base, max_entries=config.history_length).append(head)
    path = config.in_workspace(config.history_output)
    path.parent.mkdir(parents=True, exist_ok=True)
    extended = _dump_within_limit(extended, path, commands, max_bytes)
    commands.log(f"perfaction: history of {len(extended)} nights written to {config.history_output}")
    write_outputs(config.github.output_file, {"history-path": config.history_output,
                                              "history-status": previous.status})
    return extended


def _dump_within_limit(history: History, path: Path, commands: WorkflowCommands,
                       max_bytes: int) -> History:
    """Write the history; if it outgrew the size limit, drop its oldest half until it fits."""
    while True:
        try:
            history.dump(path, max_bytes=max_bytes)
            return history
        except ResultsFormatError as exc:
            if len(history) <= 1:
                raise
            kept = History(history.entries[len(history) // 2:], history.max_entries)
            commands.warning(f"{exc}. The oldest {len(history) - len(kept)} nights were dropped so "
                             "that tonight's results are kept; lower 'history-length'",
                             title="History trimmed")
            history = kept


# ---------------------------------------------------------------------------
# 3. What the night concludes
# ---------------------------------------------------------------------------

def detection_keys(history: History, policy: Policy | None) -> tuple[tuple[str, str], ...]:
    """The (benchmark, metric) pairs worth an issue: those the thresholds gate."""
    if policy is None:
        return history.keys()
    return tuple((b, m) for b, m in history.keys()
                 if not policy.benchmark_ignored(b) and policy.resolve(b, m).gating
                 and not policy.resolve(b, m).ignored)


def chart_trends(history: History, outcome: NightlyOutcome,
                 settings: NightlySettings = NightlySettings()) -> list[Trend]:
    """One chart per benchmark, of its main metric, on tonight's runner when it has a trend there.

    A benchmark with fewer than two nights on tonight's runner is charted on
    the recent runner type where it has the most nights (the chart says so).
    """
    tonight = outcome.fingerprint_id
    recent = list(dict.fromkeys(e.fingerprint_id for e in reversed(history.entries[-settings.stale_after:])))
    trends = []
    # Benchmarks measured lately; a removed one's last chart would hang around for months.
    current = {b for e in history.entries[-settings.stale_after:] for b in e.benchmarks}
    for benchmark in sorted(current):
        metric = _main_metric(history, benchmark)
        best = nightly.trend(history, benchmark, metric, tonight, settings.trend_length,
                             outcome.change_points)
        if len(best.points) < 2:
            for other in recent:
                candidate = nightly.trend(history, benchmark, metric, other, settings.trend_length,
                                          outcome.change_points)
                if len(candidate.points) > len(best.points):
                    best = candidate
        if best.points:
            trends.append(best)
    return trends


def _main_metric(history: History, benchmark: str) -> str:
    for entry in reversed(history.entries):
        metrics = entry.benchmarks.get(benchmark)
        if metrics:
            return MAIN_METRIC if MAIN_METRIC in metrics else sorted(metrics)[0]
    return MAIN_METRIC


@dataclass(frozen=True)
class NightReport:
    """What the night concluded, its summary section, and an API failure to raise afterwards."""

    outcome: NightlyOutcome
    section: str                          # Markdown: the nightly section of summary and report
    failure: PerfActionError | None = None


def conclude_night(config: Config, publisher: Publisher | None, history: History,
                   previous: PreviousHistory, policy: Policy | None,
                   commands: WorkflowCommands) -> NightReport:
    """Detect, plan, file the issues, annotate, and render the nightly section.

    Nothing is written to the summary here, so the caller can give the
    comparison only the room the nightly section leaves (the step's summary
    has one size limit for both). An API failure while reading or filing
    issues comes back in ``failure``; after a failure to read them nothing
    is filed (it would duplicate the earlier issues).
    """
    settings = NightlySettings(label=config.issue_label)
    keys = detection_keys(history, policy)
    points = changepoint.detect_history(history, settings.detection, keys)
    tracker = _IssueTracker(config, publisher, history, commands) if config.nightly_issue else None
    failure: PerfActionError | None = None
    known: list[nightly.KnownRegression] = []
    try:
        known = tracker.known() if tracker else []
    except PerfActionError as exc:
        failure = exc
    outcome = nightly.plan_nightly(history, points, known, settings, keys)
    if tracker is not None and failure is None:
        try:
            tracker.execute(outcome.issues)
        except PerfActionError as exc:
            failure = exc
    links = tracker.links if tracker else {}
    _annotate(outcome, links, commands)
    commands.log(f"perfaction: nightly: {len(points)} change point(s), "
                 f"{len(outcome.regressions)} active regression(s), "
                 f"{len(outcome.recoveries)} recovery(ies) in {len(history)} nights")
    notes = previous.notes + (tracker.notes if tracker else ()) \
        + ((f"Filing issues failed: {failure}",) if failure else ())
    section = _render_section(history, outcome, _context(config, previous.status, notes, links),
                              settings)
    return NightReport(outcome, section, failure)


def report_night(config: Config, publisher: Publisher | None, history: History,
                 previous: PreviousHistory, policy: Policy | None,
                 commands: WorkflowCommands) -> NightlyOutcome:
    """``conclude_night``, then the section appended to the job summary and the report file.

    An API failure while reading or filing issues is raised only after both are written.
    """
    night = conclude_night(config, publisher, history, previous, policy, commands)
    append_summary(config.github.summary_file, "\n" + night.section)
    append_to_report(config, night)
    if night.failure is not None:
        raise night.failure
    return night.outcome


def append_to_report(config: Config, night: NightReport) -> None:
    """The nightly section after the comparison in the full report file (which has no size limit)."""
    report_file = config.in_workspace(config.report_path)
    if report_file.exists():
        with open(report_file, "a", encoding="utf-8") as handle:
            handle.write("\n" + night.section)


def _render_section(history: History, outcome: NightlyOutcome,
                    context: NightlyContext, settings: NightlySettings) -> str:
    tonight = outcome.fingerprint_id
    return render_nightly_summary(
        outcome, chart_trends(history, outcome, settings), context=context, entries=len(history),
        benchmarks=len({b for b, _ in history.keys()}),
        on_this_runner=sum(1 for e in history.entries if e.fingerprint_id == tonight),
        unit_of=units_of(history), min_nights=settings.detection.min_size)


def _context(config: Config, status: str = "found", notes: Sequence[str] = (),
             links: Mapping[str, tuple[int, str | None]] = {}) -> NightlyContext:
    context = config.github
    return NightlyContext(
        repository=context.repository, server_url=context.server_url, run_url=context.run_url,
        history_status=status, notes=tuple(notes), issues=links)


def units_of(history: History) -> dict[tuple[str, str], str]:
    return {(b, m): history.series(b, m).unit for b, m in history.keys()}


def _annotate(outcome: NightlyOutcome, links: Mapping[str, tuple[int, str | None]],
              commands: WorkflowCommands) -> None:
    for r in outcome.regressions:
        change = f" {r.change:+.1%}" if r.change is not None else ""
        issue = f"; issue #{links[r.key][0]}" if r.key in links else ""
        commands.warning(f"{r.benchmark}: {r.metric}{change} since a commit in "
                         f"{r.commit_before[:7]}...{r.commit_after[:7]}{issue}",
                         title=f"Nightly regression: {r.benchmark}")


class _IssueTracker:
    """Reads the earlier reports from labelled issues and executes tonight's issue plans."""

    def __init__(self, config: Config, publisher: Publisher | None, history: History,
                 commands: WorkflowCommands):
        self.config, self.publisher, self.history, self.commands = config, publisher, history, commands
        self.links: dict[str, tuple[int, str | None]] = {}
        self.notes: tuple[str, ...] = ()
        self.blocked: str | None = None
        if publisher is None:
            self._block("no token was given, so no issue was filed; set the 'token' input")

    def _block(self, message: str) -> None:
        self.blocked = message
        self.notes += (message,)
        self.commands.warning(message, title="No nightly issue")

    def known(self) -> list[nightly.KnownRegression]:
        if self.publisher is None or self.blocked:
            return []
        listing = self.publisher.list_issues(self.config.issue_label)
        if listing.forbidden:
            self._block(listing.forbidden)
            return []
        # Only our own issues: anyone may open an issue, and a planted marker on a
        # closed one would otherwise silence a real regression.
        ours = self.publisher.login().lower()
        parsed = (nightly.parse_marker(i.body, issue_number=i.number, open=i.state == "open")
                  for i in listing.issues if i.author == ours)
        return [k for k in parsed if k is not None]

    def execute(self, plans: Sequence[nightly.IssuePlan]) -> None:
        context = _context(self.config)
        for plan in plans:
            if self.publisher is None or self.blocked:
                return
            fields = {**plan.body_fields, "unit": self.history.series(
                plan.body_fields["benchmark"], plan.body_fields["metric"]).unit}
            title = clean_text(plan.title, 256)
            if plan.action is IssueAction.OPEN:
                body = render_issue_body(fields, context) + "\n" + plan.marker
                self._done(plan, self.publisher.create_issue(title, body, plan.labels))
            elif plan.action is IssueAction.UPDATE and plan.issue_number is not None:
                body = render_issue_body(fields, context) + "\n" + plan.marker
                self._done(plan, self.publisher.edit_issue(plan.issue_number, title=title, body=body))
            elif plan.action is IssueAction.RECOVERED and plan.issue_number is not None:
                comment = render_recovery_comment(fields, context, closing=plan.close)
                if self._done(plan, self.publisher.comment_issue(plan.issue_number, comment)) \
                        and plan.close:
                    self._done(plan, self.publisher.edit_issue(plan.issue_number, state="closed"))

    def _done(self, plan: nightly.IssuePlan, outcome: IssueOutcome) -> bool:
        if outcome.status == "forbidden":
            self._block(outcome.message)
            return False
        if outcome.number is not None:
            # An update keeps the earlier report's key while tonight's estimate of the
            # change may carry another: the summary finds the issue under either.
            fields = plan.body_fields
            keys = {plan.key, nightly.regression_key(fields["benchmark"], fields["metric"],
                                                     fields["commit_before"])}
            for key in keys:
                earlier = self.links.get(key, (outcome.number, None))[1]
                self.links[key] = (outcome.number, outcome.url or earlier)
        self.commands.log(f"perfaction: {outcome.message}" + (f": {outcome.url}" if outcome.url else ""))
        return True


# ---------------------------------------------------------------------------
# Pull requests: the recent trend beside the comparison
# ---------------------------------------------------------------------------

def pr_trends(history: History | None, head: Suite,
              length: int = 30) -> tuple[dict[str, tuple[tuple[str, float], ...]], tuple[str, ...]]:
    """Each benchmark's recent ``time`` series on the head's runner type, and notes.

    Only the head's own runner type: a chart of another CPU model's nights
    beside this run's value would show a jump that is only the hardware.
    """
    if history is None or not history.entries:
        return {}, ()
    runner = fingerprint_id(head.environment.fingerprint())
    series: dict[str, tuple[tuple[str, float], ...]] = {}
    for bench in head.benchmarks:
        if bench.failed or MAIN_METRIC not in bench.metrics:
            continue
        points = nightly.trend(history, bench.name, MAIN_METRIC, runner, length).pairs()
        if points:
            series[bench.name] = points
    if series or runner in history.fingerprint_ids():
        return series, ()
    return {}, (f"The nightly history has no nights on this runner type ({runner}), so no trend "
                "is shown: a trend from other hardware would not be comparable.",)
