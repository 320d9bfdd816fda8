"""Rendering for nightly runs: the job summary, the regression issue, the recovery comment.

The nightly counterpart of report.py, with its Jinja environment and its
escaping filters (``render.make_environment``): every user-controlled string
(benchmark and metric names, units, commits, URLs) passes through ``md``,
``code``, ``code_cell``, ``url`` or ``mermaid``, and a plain string printed by
a template fails at render time. What is shown comes from a
``nightly.NightlyOutcome`` and plain values passed in; nothing is decided here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from perfaction.analysis.changepoint import REGRESSION, ChangePoint
from perfaction.analysis.nightly import NightlyOutcome, Trend
from perfaction.metrics import HIGHER_IS_BETTER, LOWER_IS_BETTER
from perfaction.report import units
from perfaction.report.markdown import NAME_LIMIT, clean_text
from perfaction.report.render import make_environment
from perfaction.report.view import Chart

SUMMARY_CHARTS = 50          # trend charts in the job summary
ISSUE_CHARTS_POINTS = 30     # points in an issue's chart
MAX_CHANGE_ROWS = 200        # change points listed in the summary
_HEX_SHA = re.compile(r"[0-9a-fA-F]{7,64}")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


@dataclass(frozen=True, kw_only=True)
class NightlyContext:
    """Where the night ran and what the GitHub layer did, for links and notes."""

    repository: str | None = None            # owner/name
    server_url: str = "https://github.com"
    run_url: str | None = None
    history_status: str = "found"            # found, file, missing, expired, invalid
    notes: tuple[str, ...] = ()
    issues: Mapping[str, tuple[int, str | None]] = field(default_factory=dict)  # key -> (number, url)

    def __post_init__(self) -> None:
        object.__setattr__(self, "notes", tuple(str(n) for n in self.notes))
        object.__setattr__(self, "issues", dict(self.issues))


# ---------------------------------------------------------------------------
# Links and numbers
# ---------------------------------------------------------------------------

def _repo_base(context: NightlyContext) -> str | None:
    if not context.repository or not _REPOSITORY.fullmatch(context.repository):
        return None
    return f"{context.server_url.rstrip('/')}/{context.repository}"


def compare_url(context: NightlyContext, before: str, after: str) -> str | None:
    """``{server}/{repo}/compare/{before}...{after}``: the commits that may hold the cause."""
    base = _repo_base(context)
    if base is None or not (_HEX_SHA.fullmatch(before) and _HEX_SHA.fullmatch(after)):
        return None
    return f"{base}/compare/{before}...{after}"


def commit_url(context: NightlyContext, sha: str) -> str | None:
    base = _repo_base(context)
    return f"{base}/commit/{sha}" if base and _HEX_SHA.fullmatch(sha) else None


def _short(sha: str) -> str:
    return sha[:7] if _HEX_SHA.fullmatch(sha) else clean_text(sha, 40)


def _quantity(value: float | None, unit: str, reference: float | None) -> Markup | str:
    unit = clean_text(unit, 20)
    text = units.format_quantity(value, units.scale_for(unit, reference))
    return Markup(text) if units.is_known(unit) else text   # an unknown unit is user text


def _p(p: float) -> Markup:
    return Markup("< 0.001" if p < 0.001 else f"{p:.3f}")


def _date(value: str | None) -> str | None:
    return units.format_timestamp(value) if value else None


def _chart(trend: Trend, tonight: str | None) -> Chart:
    values = [p.value for p in trend.points]
    scale = units.scale_for(clean_text(trend.unit, 20), values[-1] if values else None)
    return Chart(trend.benchmark, trend.metric, clean_text(scale.symbol, 20),
                     tuple(p.label for p in trend.points),
                     tuple(Markup(f"{v / scale.factor:.{scale.decimals}f}") for v in values),
                     trend.fingerprint_id if trend.fingerprint_id != tonight else None)


# ---------------------------------------------------------------------------
# The job summary
# ---------------------------------------------------------------------------

def _change_row(point: ChangePoint, context: NightlyContext) -> dict[str, Any]:
    return {
        "benchmark": point.benchmark, "metric": point.metric, "runner": point.fingerprint_id,
        "kind": point.kind, "change": Markup(units.format_change(point.change)),
        "before": _quantity(point.level_before, point.unit, point.level_before),
        "after": _quantity(point.level_after, point.unit, point.level_before),
        "p": _p(point.p_value), "range": _range(point.commit_before, point.commit_after,
                                                 point.after_history_index
                                                 - point.before_history_index, context),
    }


def _range(before: str, after: str, nights: int | None, context: NightlyContext) -> dict[str, Any]:
    return {"text": f"{_short(before)}...{_short(after)}", "url": compare_url(context, before, after),
            "nights": nights}


def _regression_rows(outcome: NightlyOutcome, context: NightlyContext) -> list[dict[str, Any]]:
    rows = []
    for r in outcome.regressions:
        issue = context.issues.get(r.key)
        rows.append({
            "benchmark": r.benchmark, "metric": r.metric,
            "change": Markup(units.format_change(r.change)),
            "before": _quantity(r.level_before, r.unit, r.level_before),
            "now": _quantity(r.level_now, r.unit, r.level_before),
            "range": _range(r.commit_before, r.commit_after, r.after_index - r.before_index, context),
            "since": _date(r.date_after), "p": _p(r.p_value),
            "issue": None if issue is None else {"text": Markup(f"#{issue[0]}"), "url": issue[1]},
        })
    return rows


def _recovery_rows(outcome: NightlyOutcome, context: NightlyContext,
                   unit_of: Mapping[tuple[str, str], str]) -> list[dict[str, Any]]:
    rows = []
    for r in outcome.recoveries:
        known = r.known
        unit = unit_of.get((known.benchmark, known.metric), "")
        number = known.issue_number
        issue = context.issues.get(known.key) or ((number, None) if number is not None else None)
        rows.append({
            "benchmark": known.benchmark, "metric": known.metric,
            "before": _quantity(r.level_before, unit, r.level_before),
            "now": _quantity(r.level_now, unit, r.level_before),
            "range": _range(known.commit_before, known.commit_after, None, context),
            "issue": None if issue is None else {"text": Markup(f"#{issue[0]}"), "url": issue[1]},
        })
    return rows


def render_nightly_summary(outcome: NightlyOutcome, trends: Sequence[Trend], *,
                           context: NightlyContext, entries: int, benchmarks: int,
                           on_this_runner: int, unit_of: Mapping[tuple[str, str], str] = {},
                           min_nights: int = 3, templates_dir: Path | None = None) -> str:
    """The nightly section of the job summary: regressions, recoveries, trends, change points.

    ``trends`` are the charts to draw (one per benchmark, its main metric);
    ``entries`` and ``on_this_runner`` count the history's entries in all and
    on tonight's runner; ``unit_of`` gives each (benchmark, metric)'s unit;
    ``min_nights`` is how many nights a change point needs on each side.
    """
    charted = [t for t in trends if len(t.points) >= 2]
    changes = sorted(outcome.change_points, key=lambda c: (c.benchmark, c.metric, c.history_index))
    env = make_environment(Path(templates_dir) if templates_dir else None)
    return env.get_template("nightly.md.j2").render(
        regressions=_regression_rows(outcome, context),
        recoveries=_recovery_rows(outcome, context, unit_of),
        charts=[_chart(t, outcome.fingerprint_id) for t in charted[:SUMMARY_CHARTS]],
        charts_omitted=max(0, len(charted) - SUMMARY_CHARTS),
        single_night=len(trends) - len(charted),
        changes=[_change_row(c, context) for c in changes[:MAX_CHANGE_ROWS]],
        changes_omitted=max(0, len(changes) - MAX_CHANGE_ROWS),
        regression_kind=REGRESSION, entries=entries, benchmarks=benchmarks,
        on_this_runner=on_this_runner, runner=outcome.fingerprint_id or "",
        history_status=context.history_status, min_nights=min_nights,
        notes=tuple(outcome.notes) + context.notes, run_url=context.run_url)


# ---------------------------------------------------------------------------
# Issues
# ---------------------------------------------------------------------------

def _issue_chart(fields: Mapping[str, Any]) -> Chart | None:
    pairs = [(str(label), float(value)) for label, value in fields.get("trend") or ()]
    pairs = pairs[-ISSUE_CHARTS_POINTS:]
    if len(pairs) < 2:
        return None
    scale = units.scale_for(clean_text(fields.get("unit", ""), 20), pairs[-1][1])
    return Chart(str(fields["benchmark"]), str(fields["metric"]), clean_text(scale.symbol, 20),
                     tuple(label for label, _ in pairs),
                     tuple(Markup(f"{v / scale.factor:.{scale.decimals}f}") for _, v in pairs), None)


def render_issue_body(fields: Mapping[str, Any], context: NightlyContext, *,
                      templates_dir: Path | None = None) -> str:
    """The body of a regression issue (the caller appends the plan's hidden marker)."""
    unit, before = str(fields.get("unit", "")), float(fields["level_before"])
    view = {
        "benchmark": clean_text(fields["benchmark"], NAME_LIMIT), "metric": fields["metric"],
        "change": Markup(units.format_change(fields.get("change"))),
        "before": _quantity(before, unit, before),
        "after": _quantity(fields.get("level_after"), unit, before),
        "now": _quantity(fields.get("level_now"), unit, before),
        "p": _p(float(fields["p_value"])),
        "commits": _range(fields["commit_before"], fields["commit_after"], None, context),
        "since": _date(fields.get("date_after")),
        "latest": {"text": _short(fields["latest_commit"]),
                   "url": commit_url(context, fields["latest_commit"]),
                   "date": _date(fields.get("latest_date"))},
        "runners": [str(f) for f in fields.get("fingerprints") or ()],
        "chart": _issue_chart(fields), "run_url": context.run_url,
        "direction": (LOWER_IS_BETTER if fields.get("direction", LOWER_IS_BETTER) == LOWER_IS_BETTER
                      else HIGHER_IS_BETTER),
    }
    env = make_environment(Path(templates_dir) if templates_dir else None)
    return env.get_template("issue.md.j2").render(**view, recovery=False)


def render_recovery_comment(fields: Mapping[str, Any], context: NightlyContext, *,
                            closing: bool, templates_dir: Path | None = None) -> str:
    """The comment posted on a regression issue once the metric is back to its earlier level."""
    unit, before = str(fields.get("unit", "")), float(fields["level_before"])
    view = {
        "benchmark": clean_text(fields["benchmark"], NAME_LIMIT), "metric": fields["metric"],
        "before": _quantity(before, unit, before),
        "now": _quantity(fields.get("level_now"), unit, before),
        "commits": _range(fields["commit_before"], fields["commit_after"], None, context),
        "latest": {"text": _short(fields["latest_commit"]),
                   "url": commit_url(context, fields["latest_commit"]),
                   "date": _date(fields.get("latest_date"))},
        "closing": closing, "run_url": context.run_url,
    }
    env = make_environment(Path(templates_dir) if templates_dir else None)
    return env.get_template("issue.md.j2").render(**view, recovery=True)
