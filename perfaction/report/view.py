"""The view: plain values that the report templates lay out.

``build_view`` turns a Comparison and a ReportContext into rows, sections,
counts, notes, rules and charts; every format (comment, summary, full report,
terminal) renders the same view. Nothing here decides a verdict: a row's kind
is the verdict compare.py gave, split only into gating ("regressed") and
report-only ("advisory"). Nothing here knows Jinja either: rendering and
fitting into a size limit are render.py's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from perfaction import metrics
from perfaction.analysis.comparison import RUNNER_REASONS, Comparison, Delta, Summary, Verdict
from perfaction.metrics import LOWER_IS_BETTER, MAIN_METRIC
from perfaction.report import units
from perfaction.report.markdown import NAME_LIMIT, clean_text
from perfaction.report.reasons import reason_text

if TYPE_CHECKING:  # report.py imports this module; the context is only read here
    from perfaction.report.context import ReportContext

# Row kinds in the order the tables list them: what needs action first.
KIND_ORDER = ("regressed", "failed", "advisory", "not_comparable", "inconclusive",
              "improved", "shifted", "new", "removed", "unchanged")
_PER_BENCHMARK = ("new", "removed", "failed")   # counted in benchmarks, not metrics
# Above the fold: what a reviewer acts on. Gating metrics that could not be
# decided get one line and a folded table of their own; everything else
# (unchanged, new or removed benchmarks, report-only metrics that did not
# change significantly) is folded.
_CHANGED = ("regressed", "failed", "advisory", "not_comparable", "improved", "shifted")
_REPORT_ONLY = ("advisory", "improved", "shifted")  # report-only kinds the counts name
UNSTABLE_SPREAD = 0.10        # robust CV between processes worth a warning
STALE_AFTER = timedelta(days=30)
_HEX_SHA = re.compile(r"[0-9a-fA-F]{7,64}")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Row:
    kind: str
    benchmark: str
    show_name: bool     # False on a benchmark's second and later rows
    metric: str
    base: str           # formatted values may hold a unit from the data: escape them
    head: str
    change: str
    spread: str
    p: str
    n: str              # "base / head"
    head_n: str
    note: str


@dataclass(frozen=True)
class Section:
    """Rows of one table, formatted only when asked: a comment shows a few of 20,000."""

    items: tuple[tuple[str, Delta, bool], ...]  # (kind, delta, show_name), in display order
    macro: str                                  # the row macro in _macros.md.j2
    note: bool                                  # has a Note column
    lines: tuple[Markup, ...] = ()              # rendered rows that fit
    omitted: tuple[tuple[str, int], ...] = ()   # (kind, count) of rows left out

    @property
    def total(self) -> int:
        return len(self.items)

    @cached_property
    def rows(self) -> tuple[Row, ...]:
        return tuple(format_row(*item) for item in self.items)

    @property
    def body(self) -> Markup:
        return Markup("\n".join(self.lines))

    @property
    def omitted_total(self) -> int:
        return sum(count for _, count in self.omitted)

    def showing(self, lines: Sequence[Markup]) -> Section:
        left: dict[str, int] = {}
        for kind, _, _ in self.items[len(lines):]:
            left[kind] = left.get(kind, 0) + 1
        ordered = sorted(left.items(), key=lambda item: _rank(item[0]))
        return replace(self, lines=tuple(lines), omitted=tuple(ordered))


@dataclass(frozen=True)
class Commit:
    sha: str
    short: str
    url: str | None


@dataclass(frozen=True)
class Chart:
    benchmark: str
    metric: str
    symbol: str
    labels: tuple[str, ...]
    values: tuple[Markup, ...]
    runner: str | None = None    # nightly: set when the chart is not of tonight's runner


@dataclass(frozen=True)
class Rule:
    metric: str
    pattern: str | None
    relative: str | None
    floor: str | None
    ignored: bool
    gating: bool


_RANKS = {kind: index for index, kind in enumerate(KIND_ORDER)}


def _rank(kind: str) -> int:
    return _RANKS.get(kind, 3)  # a verdict added later sorts with "not comparable"


def _kind(delta: Delta) -> str:
    if delta.verdict in (Verdict.REGRESSED, Verdict.IMPROVED) and not delta.gating \
            and metrics.is_known(delta.metric) and metrics.metric_info(delta.metric).diagnostic:
        return "shifted"     # e.g. CPU utilisation fell: the run waited, not the code improved
    if delta.verdict is Verdict.REGRESSED:
        return "regressed" if delta.gating else "advisory"
    return getattr(delta.verdict, "value", str(delta.verdict))


def _badness(delta: Delta) -> float:
    if delta.change is None:
        return 0.0
    return delta.change if delta.direction == LOWER_IS_BETTER else -delta.change


def _ordered(deltas: Sequence[Delta]) -> list[tuple[str, Delta]]:
    """Worst regressions first, a benchmark's rows together, failures once per benchmark."""
    first_seen: dict[str, int] = {}
    picked, failed = [], set()
    for index, delta in enumerate(deltas):
        first_seen.setdefault(delta.benchmark, index)
        kind = _kind(delta)
        if kind == "failed":
            if delta.benchmark in failed:
                continue
            failed.add(delta.benchmark)
        picked.append((kind, delta))
    worst: dict[tuple[str, str], float] = {}
    for kind, delta in picked:
        key = (kind, delta.benchmark)
        worst[key] = max(worst.get(key, float("-inf")), _badness(delta))

    def order(item: tuple[str, Delta]) -> tuple[int, float, int]:
        kind, delta = item
        badness = worst[(kind, delta.benchmark)]
        primary = -badness if kind in ("regressed", "advisory") else badness if kind == "improved" else 0.0
        return (_rank(kind), primary, first_seen[delta.benchmark])

    return sorted(picked, key=order)  # stable: metrics keep their order


def _format_p(p: float | None) -> str:
    if p is None:
        return units.MISSING
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


_BEYOND = {"regressed": True, "advisory": True, "improved": True, "shifted": True,
           "unchanged": False}


def _current(delta: Delta) -> float | None:
    """The current value the change column speaks of.

    The change is an estimate (Hodges-Lehmann, paired or not), not the ratio
    of the two sides' medians; printing the head's median beside it showed
    ``695 ns -> 759 ns`` as ``+2.2 %``. The baseline moved by the estimate
    keeps the three columns in agreement; each side's median stays in the
    comparison JSON.
    """
    base, head = delta.base, delta.head
    if base is None or head is None or delta.change is None or not base.center:
        return head.center if head else None
    return base.center * (1 + delta.change)


def format_row(kind: str, delta: Delta, show_name: bool) -> Row:
    """Formatted values; Markup marks text that is ours alone (numbers, known units)."""
    base, head = delta.base, delta.head
    reference = base.center if base else head.center if head else None
    unit = clean_text(delta.unit, 20)
    scale = units.scale_for(unit, reference)
    ours = Markup if units.is_known(unit) else str
    side_n = [str(s.n) if s else units.MISSING for s in (base, head)]
    base_text = ours(units.format_quantity(base.center if base else None, scale))
    head_text = ours(units.format_quantity(_current(delta), scale))
    if delta.why is not None and delta.why.code == "units_differ":
        # each side in its own unit: 0.5 s must not print as "0.502 ms"
        base_unit = clean_text(str(delta.why.facts.get("base", "")), 20)
        base_text = (Markup if units.is_known(base_unit) else str)(
            units.format_value(base.center if base else None, base_unit))
        head_text = ours(units.format_value(head.center if head else None, unit))
    return Row(
        kind=kind, benchmark=delta.benchmark, show_name=show_name,
        metric="(all)" if kind == "failed" else delta.metric,
        base=base_text, head=head_text,
        change=Markup(units.format_change(delta.change, delta.interval, threshold=delta.threshold,
                                          beyond=_BEYOND.get(kind))),
        spread=Markup(units.format_spread(head.spread if head else None)),
        p=Markup(_format_p(delta.p_adjusted if delta.p_adjusted is not None else delta.p_value)),
        n=Markup(" / ".join(side_n)), head_n=Markup(side_n[1]),
        # an inconclusive row sits under the line that gives the common fix once
        note=reason_text(delta, general_advice=kind != "inconclusive"))


def _section(items: Sequence[tuple[str, Delta]], macro: str, note: bool) -> Section:
    rows, previous = [], None
    for kind, delta in items:
        rows.append((kind, delta, delta.benchmark != previous))
        previous = delta.benchmark
    return Section(tuple(rows), macro, note)


def _counts(items: Sequence[tuple[str, Delta]]) -> dict[str, Any]:
    """Gating metrics by verdict, benchmarks without a comparison, and the
    report-only metrics that changed: the same rows the tables hold, so the
    headline, the counts line and the tables never disagree."""
    counts: dict[str, Any] = {kind: 0 for kind in KIND_ORDER}
    report_only = {kind: 0 for kind in _REPORT_ONLY}
    benchmarks: dict[str, set[str]] = {kind: set() for kind in _PER_BENCHMARK}
    for kind, delta in items:
        if kind in benchmarks:
            benchmarks[kind].add(delta.benchmark)
        elif delta.gating:
            counts[kind] = counts.get(kind, 0) + 1
        elif kind in report_only:
            report_only[kind] += 1
    counts.update({kind: len(names) for kind, names in benchmarks.items()})
    counts["report_only"] = report_only
    return counts


def _sections(items: Sequence[tuple[str, Delta]]) -> dict[str, Section]:
    main = [i for i in items if i[0] in _CHANGED]
    undecided = [i for i in items if i[0] == "inconclusive" and i[1].gating]
    picked = {id(delta) for _, delta in main + undecided}
    other = [i for i in items if id(i[1]) not in picked]
    return {"main": _section(main, "row", True), "undecided": _section(undecided, "row", True),
            "other": _section(other, "row", False),
            "measurements": Section((), "measurement_row", True)}


def _other_label(section: Section) -> tuple[Markup, ...]:
    """What the folded table holds, in words: ("unchanged", "new", "report-only")."""
    words = []
    for kind, delta, _ in section.items:
        word = "report-only" if not delta.gating and kind not in _PER_BENCHMARK else kind
        if word not in words:
            words.append(word)
    return tuple(Markup(word) for word in words)   # our own words, nothing from the data


def _status(comparison: Comparison, has_baseline: bool, undecided: int) -> str:
    if not has_baseline:
        return "no_baseline"
    if comparison.regressions:
        return "regressed"
    if comparison.failures:
        return "failed"
    return "inconclusive" if undecided else "pass"


def _commit(context: ReportContext, sha: str | None) -> Commit | None:
    if not sha:
        return None
    hex_sha = bool(_HEX_SHA.fullmatch(sha))
    url = None
    if hex_sha and context.repository and _REPOSITORY.fullmatch(context.repository):
        url = f"{context.server_url.rstrip('/')}/{context.repository}/commit/{sha}"
    return Commit(sha, sha[:7] if hex_sha else sha, url)


def _baseline(context: ReportContext, comparison: Comparison) -> dict[str, Any]:
    info = context.baseline
    base_env = comparison.base_environment
    sha = info.commit or context.base_sha or (base_env.commit_sha if base_env else None)
    return {"info": info, "commit": _commit(context, sha), "created": units.format_timestamp(info.created_at),
            "age": units.format_age(info.age) if info.age is not None else None,
            "stale": info.age is not None and info.age > STALE_AFTER}


def _environment_rows(comparison: Comparison) -> tuple[tuple[str, str | None, str | None, bool], ...]:
    base, head = comparison.base_environment, comparison.head_environment
    names = ("cpu_model", "logical_cores", "machine", "os", "python_implementation",
             "python_version", "perfaction_version")
    rows = []
    for name in names:
        values = [getattr(env, name, None) if env else None for env in (base, head)]
        shown = [None if v is None else str(v) for v in values]
        rows.append((name, shown[0], shown[1], None not in values and values[0] != values[1]))
    return tuple(rows)


_NOISE_MATTERS = (Verdict.INCONCLUSIVE, Verdict.REGRESSED, Verdict.IMPROVED)


def _noise(comparison: Comparison) -> dict[str, Any]:
    spreads = []
    for delta in comparison.deltas:
        # Noise matters where it kept a decision from being made or qualifies
        # one; an unchanged or report-only metric (retained bytes of 0-2 B
        # spread 200 %) is nothing to act on.
        if not delta.gating or delta.verdict not in _NOISE_MATTERS:
            continue
        worst = max((s.spread for s in (delta.base, delta.head) if s and s.spread is not None), default=None)
        if worst is not None and worst > UNSTABLE_SPREAD:
            spreads.append((worst, delta.benchmark, delta.metric))
    spreads.sort(key=lambda item: -item[0])
    undecided = [d for d in comparison.deltas if d.gating and d.verdict is Verdict.INCONCLUSIVE]
    held = sum(1 for d in undecided if d.why is not None and d.why.code in RUNNER_REASONS)
    unconfirmed = sum(1 for d in undecided if d.why is not None and d.why.code == "unconfirmed")
    # one side a summary without samples (another tool's file): not noise, no test at all
    summary_only = sum(1 for d in undecided if d.why is not None and d.why.code == "summary_only")
    return {
        "undecided": len(undecided) - held - unconfirmed - summary_only,
        "held": held,
        "unconfirmed": unconfirmed,
        "unstable": tuple((b, m, units.format_spread(s)) for s, b, m in spreads[:5]),
        "unstable_total": len(spreads),
        "summary_only": summary_only,
    }


def _charts(items: Sequence[tuple[str, Delta]], history: Mapping[str, Sequence[tuple[str, float]]],
            limit: int) -> tuple[Chart, ...]:
    """A line of the main metric (metrics.MAIN_METRIC when measured) for benchmarks with history."""
    main: dict[str, tuple[Delta, Summary]] = {}
    for _, delta in items:
        if delta.head is not None and history.get(delta.benchmark) and (
                delta.benchmark not in main or delta.metric == MAIN_METRIC):
            main[delta.benchmark] = (delta, delta.head)
    charts = []
    for name, (delta, head) in list(main.items())[:limit]:
        points = list(history[name][-30:]) + [("this run", head.center)]
        scale = units.scale_for(clean_text(delta.unit, 20), points[-1][1])
        values = tuple(Markup(f"{v / scale.factor:.{scale.decimals}f}") for _, v in points)
        charts.append(Chart(name, delta.metric, scale.symbol, tuple(p[0] for p in points), values))
    return tuple(charts)


def _rules(thresholds: Sequence[Any], measured: set[str]) -> tuple[Rule, ...]:
    """The rules that applied: per-benchmark ones, and defaults of metrics this run has."""
    rules = []
    for t in thresholds:
        if measured and t.pattern is None and not measured.intersection(_covered(t.metric)):
            continue
        relative = None
        if t.relative is not None:
            whole = abs(t.relative * 100 - round(t.relative * 100)) < 1e-9
            relative = units.format_percent(t.relative, signed=False, decimals=0 if whole else 1)
        floor = None
        if t.absolute_floor is not None:
            scale = units.scale_for(_floor_unit(t.metric), t.absolute_floor)
            floor = f"{t.absolute_floor / scale.factor:g} {scale.symbol}".strip()
        rules.append(Rule(t.metric, t.pattern, relative, floor, t.ignored, getattr(t, "gating", True)))
    return tuple(rules)


def _covered(subject: str) -> tuple[str, ...]:
    """The metrics a footer line speaks of: a metric itself, or a kind's (``latency``)."""
    if metrics.is_known(subject) or not metrics.is_kind(subject):
        return (subject,)
    return metrics.kind_members(subject)


def _floor_unit(subject: str) -> str:
    """Floors are parsed as sizes (policy.py): shown with a size unit for byte metrics,
    as the plain number written for any other."""
    unit = metrics.metric_info(_covered(subject)[0]).unit
    return unit if unit == "B" else ""


_CORRECTIONS = {"holm": "Holm", "bonferroni": "Bonferroni", "bh": "Benjamini-Hochberg",
                "benjamini-hochberg": "Benjamini-Hochberg", "none": None}
_MAX_NOTES, _MAX_RULES = 20, 30


def build_view(comparison: Comparison, context: ReportContext, *, marker: str,
               chart_limit: int) -> dict[str, Any]:
    """What every format shows.

    ``marker`` is the comment's hidden first line; ``chart_limit`` is the most
    charts any format shows (report.py picks each format's detail and charts).
    """
    has_baseline = context.baseline.source != "none"
    items = _ordered(comparison.deltas)
    if has_baseline:
        sections = _sections(items)
    else:
        sections = {"main": Section((), "row", True), "undecided": Section((), "row", True),
                    "other": Section((), "row", False),
                    "measurements": _section(items, "measurement_row", True)}
    noise = _noise(comparison)
    notes = tuple(comparison.notes) + context.notes
    rules = _rules(comparison.thresholds, {d.metric for d in comparison.deltas})
    confidence = getattr(comparison, "confidence", None)
    correction = comparison.correction
    return {
        "status": _status(comparison, has_baseline, noise["undecided"] + noise["held"]
                          + noise["unconfirmed"] + noise["summary_only"]),
        "label": context.label, "marker": Markup(marker),
        "counts": _counts(items), "kinds_used": tuple(dict.fromkeys(k for k, _ in items)),
        "total_benchmarks": len({d.benchmark for d in comparison.deltas}),
        "head": _commit(context, context.commit_sha or comparison.head_environment.commit_sha),
        "pr_number": context.pr_number, "run_url": context.run_url,
        "mode": context.mode or comparison.mode, "baseline": _baseline(context, comparison),
        "mismatches": tuple((m.field, units.MISSING if m.base is None else str(m.base),
                             units.MISSING if m.head is None else str(m.head))
                            for m in comparison.environment_mismatches),
        "environment": _environment_rows(comparison), "noise": noise,
        "notes": notes[:_MAX_NOTES], "notes_omitted": max(0, len(notes) - _MAX_NOTES),
        "charts": _charts(items, context.history, chart_limit),
        "rules": rules[:_MAX_RULES], "rules_omitted": max(0, len(rules) - _MAX_RULES),
        "alpha": Markup(f"{comparison.alpha:g}"),
        "method": getattr(comparison, "method", None),  # the test and estimate, if compare names them
        "correction": _CORRECTIONS.get(correction.lower(), correction),
        "gating_tests": getattr(comparison, "gating_tests", 0) or sum(
            1 for d in comparison.deltas if d.gating and d.p_value is not None),
        "confidence": None if confidence is None else Markup(units.format_percent(
            confidence, signed=False, decimals=0 if round(confidence * 100, 9).is_integer() else 1)),
        "full_report_path": context.full_report_path, "sections": sections,
        "other_words": _other_label(sections["other"]),
    }


def terminal_widths(sections: Mapping[str, Section]) -> dict[str, int]:
    """Column widths of the terminal report: the widest cell, at least the header."""
    # The headers: "benchmark", "metric", "baseline", "current", "change".
    widths = {"benchmark": 9, "metric": 6, "base": 8, "head": 7, "change": 6}
    for section in sections.values():
        for row in section.rows:
            for column in widths:
                text = row.benchmark if column == "benchmark" else getattr(row, column)
                widths[column] = max(widths[column], len(clean_text(text, NAME_LIMIT)))
    return widths
