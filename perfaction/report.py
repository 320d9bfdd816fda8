"""Rendering: the PR comment, the job summary, the full report and the terminal text.

Everything shown comes from a Comparison (what compare.py decided) and a
ReportContext (where and how it ran) passed in; nothing is read from globals
or the environment. Verdicts are never decided here: templates only pick an
icon and a word for each one.

Escaping. Jinja's HTML autoescaping is the wrong escape for Markdown and for
a terminal, so no output relies on it. Instead ``finalize`` refuses to print
any plain string: each user-controlled string (benchmark and metric names,
units, refs, reasons, notes, URLs) must pass through one of the filters below,
which return ``Markup`` as the "already escaped" mark. Autoescape is switched
on only so that macro output carries that mark too. A template that prints a
raw string fails loudly at render time instead of leaking it.

Size. A comment body is limited to 65,536 characters and a step summary to
1 MiB; ``_fit`` keeps every fixed part, then rows in priority order
(regressions first) while they fit, and counts the rest with a pointer to the
full report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from . import units
from .compare import Comparison, Delta, Verdict
from .model import LOWER_IS_BETTER

COMMENT_MARKER = "<!-- perf-regression-action:comment -->"
COMMENT_LIMIT = 65_536        # characters: GitHub refuses a longer comment body
SUMMARY_LIMIT = 1_048_576     # bytes of UTF-8: a longer step summary is dropped
DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
BASELINE_SOURCES = ("artifact", "file", "same-runner", "none")
MODES = ("baseline", "same-runner")
NAME_LIMIT = 200              # characters of a name shown in a table cell
TEXT_LIMIT = 500              # characters of a reason or note
_COMMENT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def comment_marker(comment_id: str | None = None) -> str:
    """The hidden line that finds our comment again; one per ``comment_id``."""
    if comment_id is None or comment_id == "default":
        return COMMENT_MARKER
    if not _COMMENT_ID.fullmatch(comment_id):
        raise ValueError(f"comment_id accepts 1 to 64 letters, digits, '.', '_' or '-', got {comment_id!r}")
    return f"<!-- perf-regression-action:comment:{comment_id} -->"


# ---------------------------------------------------------------------------
# Context
# ---------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class BaselineInfo:
    """Where the baseline came from, or why there is none."""

    source: str                          # one of BASELINE_SOURCES
    artifact_name: str | None = None
    artifact_id: int | None = None
    run_id: int | None = None
    run_url: str | None = None
    commit: str | None = None
    ref: str | None = None               # branch the baseline was measured on
    path: str | None = None              # for source "file"
    created_at: datetime | str | None = None
    age: timedelta | None = None         # computed by the caller from its clock
    reason: str | None = None            # source "none": "no baseline artifact yet", "expired", ...

    def __post_init__(self) -> None:
        if self.source not in BASELINE_SOURCES:
            raise ValueError(f"source must be one of {BASELINE_SOURCES}, got {self.source!r}")
        if self.age is not None and self.age < timedelta(0):
            raise ValueError(f"age must not be negative, got {self.age!r}")
        for name in ("artifact_id", "run_id"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise ValueError(f"{name} must be an integer, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class ReportContext:
    """Everything a report shows that is not in the Comparison."""

    baseline: BaselineInfo
    repository: str | None = None        # owner/name
    pr_number: int | None = None
    commit_sha: str | None = None        # head commit
    base_sha: str | None = None
    run_url: str | None = None
    server_url: str = "https://github.com"
    mode: str | None = None              # None: the comparison's mode
    full_report_path: str | None = None  # where the untruncated report is kept
    history: Mapping[str, Sequence[tuple[str, float]]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    comment_id: str | None = None        # keys the hidden marker: one comment per id
    label: str | None = None             # shown after "Performance" in the headline

    def __post_init__(self) -> None:
        if self.mode is not None and self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES} or None, got {self.mode!r}")
        if self.pr_number is not None and (not isinstance(self.pr_number, int)
                                           or isinstance(self.pr_number, bool) or self.pr_number < 1):
            raise ValueError(f"pr_number must be a positive integer, got {self.pr_number!r}")
        comment_marker(self.comment_id)  # validates the id
        history = {}
        for name, points in dict(self.history).items():
            history[name] = tuple((str(label), float(value)) for label, value in points)
        object.__setattr__(self, "history", history)
        object.__setattr__(self, "notes", tuple(str(n) for n in self.notes))


# ---------------------------------------------------------------------------
# Escaping: every filter returns Markup, the mark finalize accepts
# ---------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Direction overrides can make a name display as something else ("Trojan Source").
_BIDI = re.compile(r"[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MD_ESCAPES = str.maketrans({
    "\\": "\\\\", "`": "\\`", "*": "\\*", "[": "\\[", "]": "\\]",
    "|": "\\|", "~": "\\~", "$": "\\$",   # $ starts math on GitHub
    "&": "&amp;", "<": "&lt;", ">": "&gt;",
    "@": "@\u200b",                       # no @mention from a name or a message
})
# "_" inside a word never starts emphasis (peak_memory stays readable); elsewhere it may.
_LOOSE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_BLOCK_START = re.compile(r"^(?:#{1,6}|[+-]|\d{1,9}[.)])(?=\s|$)")


def clean_text(value: Any, limit: int = TEXT_LIMIT) -> str:
    """One line: control characters and line breaks become spaces; cut at ``limit``."""
    if type(value) is str and value.isprintable() and len(value) <= limit:
        return value  # no control, separator or direction characters (all non-printable)
    text = _BIDI.sub("", _CONTROL.sub(" ", str(value)))
    return text if len(text) <= limit else text[:limit - 1] + "…"


# Text made only of these needs no escaping (numbers, units, most sentences): the fast path.
_PLAIN = re.compile(r"[A-Za-z0-9 .,:;%+/()=?'\"µ±—…-]*")


def md_text(value: Any, limit: int = TEXT_LIMIT) -> Markup:
    """Literal inline Markdown text: no HTML, links, emphasis, tables or mentions.

    Markup passes unchanged: it is text this module already escaped or formatted.
    """
    if isinstance(value, Markup):
        return value
    if isinstance(value, str) and len(value) <= limit and _PLAIN.fullmatch(value) \
            and not _BLOCK_START.match(value) and value == value.strip():
        return Markup(value)
    text = _LOOSE_UNDERSCORE.sub(r"\\_", clean_text(value, limit).strip().translate(_MD_ESCAPES))
    match = _BLOCK_START.match(text)
    if match:  # "# x", "- x", "1. x" would start a block at the start of a list item
        end = match.end()
        text = text[:end - 1] + "\\" + text[end - 1:]
    return Markup(text)


_PLAIN_CODE = re.compile(r"[A-Za-z0-9_.,:;=+/()\[\]{}#*@$%&'\"!?~^-]+(?: [A-Za-z0-9_.,:;=+/()\[\]{}#*@$%&'\"!?~^-]+)*")


def md_code(value: Any, limit: int = NAME_LIMIT, *, table: bool = False) -> Markup:
    """A code span holding the value literally; ``table`` also escapes ``|``."""
    if isinstance(value, str) and len(value) <= limit and _PLAIN_CODE.fullmatch(value):
        return Markup(f"`{value}`")  # the fast path: nothing to escape or pad
    # A name must not carry a comment marker: the action finds its comment by one.
    text = clean_text(value, limit).replace("<!--", "<\u200b!--")
    if table:
        text = text.replace("|", "\\|")  # GFM splits cells before parsing code spans
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text.strip(" ") and (text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " ")):
        text = f" {text} "  # CommonMark strips one space from each side
    return Markup(f"{fence}{text}{fence}")


def md_code_cell(value: Any, limit: int = NAME_LIMIT) -> Markup:
    return md_code(value, limit, table=True)


def plain_text(value: Any, limit: int = NAME_LIMIT) -> Markup:
    """For a terminal: no escape sequences, no line breaks."""
    if isinstance(value, Markup):
        return value
    return Markup(clean_text(value, limit))


def link_url(value: Any) -> Markup | None:
    """An http(s) URL safe inside ``[text](url)``, or None for anything else."""
    if not isinstance(value, str) or not re.match(r"https?://[^\s/]", value.strip(), re.IGNORECASE):
        return None
    return Markup(quote(value.strip(), safe=":/?#@!$&'*+,;=%~-._[]"))


def mermaid_label(value: Any, limit: int = 40) -> Markup:
    """A double-quoted Mermaid string: letters, digits and a few safe marks only."""
    text = "".join(c if c.isalnum() or c in " _.:/()+-," else "_" for c in clean_text(value, limit))
    return Markup(f'"{text}"')


def plural(count: int, word: str, many: str | None = None) -> Markup:
    """``1 regression``, ``2 regressions``; ``word`` is template text, not user data."""
    return Markup(f"{count:,} {word if count == 1 else (many or word + 's')}")


def _refuse_unescaped(value: Any) -> Any:
    if isinstance(value, Markup) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    raise TypeError(f"a template printed {type(value).__name__} {value!r} without an escaping "
                    "filter; pass it through md, code, code_cell, plain, url or mermaid")


def _pad(text: Markup, width: int, right: bool = False) -> Markup:
    if not isinstance(text, Markup):
        raise TypeError(f"pad takes escaped text (plain, md, ...), got {text!r}")
    return Markup(text.rjust(width) if right else text.ljust(width))


_FILTERS: dict[str, Callable[..., Any]] = {
    "md": md_text, "code": md_code, "code_cell": md_code_cell, "plain": plain_text,
    "url": link_url, "mermaid": mermaid_label, "plural": plural,
    "count": lambda n: Markup(f"{n:,}"),
    "pad": _pad,
}



@lru_cache(maxsize=8)
def make_environment(templates_dir: Path = DEFAULT_TEMPLATES_DIR) -> jinja2.Environment:
    """The one Jinja environment every report is rendered with."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=True,            # only so that macros return Markup; see the module doc
        finalize=_refuse_unescaped,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters.update(_FILTERS)
    # The same escapers as values, so shared macros take the output format's escaper.
    env.globals.update(esc_md=md_text, esc_code=md_code, esc_plain=plain_text)
    return env


# ---------------------------------------------------------------------------
# The view: plain values that the templates lay out
# ---------------------------------------------------------------------------

# Row kinds in the order the main table lists them: what needs action first.
KIND_ORDER = ("regressed", "failed", "advisory", "not_comparable", "inconclusive",
              "improved", "new", "removed", "unchanged")
_PER_BENCHMARK = ("new", "removed", "failed")   # counted in benchmarks, not metrics
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
        return tuple(_row(*item) for item in self.items)

    @property
    def body(self) -> Markup:
        return Markup("\n".join(self.lines))

    @property
    def omitted_total(self) -> int:
        return sum(count for _, count in self.omitted)

    def showing(self, lines: Sequence[Markup]) -> "Section":
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


def _row(kind: str, delta: Delta, show_name: bool) -> Row:
    """Formatted values; Markup marks text that is ours alone (numbers, known units)."""
    base, head = delta.base, delta.head
    reference = base.center if base else head.center if head else None
    unit = clean_text(delta.unit, 20)
    scale = units.scale_for(unit, reference)
    ours = Markup if units.is_known(unit) else str
    side_n = [str(s.n) if s else units.MISSING for s in (base, head)]
    return Row(
        kind=kind, benchmark=delta.benchmark, show_name=show_name,
        metric="(all)" if kind == "failed" else delta.metric,
        base=ours(units.format_quantity(base.center if base else None, scale)),
        head=ours(units.format_quantity(head.center if head else None, scale)),
        change=Markup(units.format_change(delta.change, delta.interval)),
        spread=Markup(units.format_spread(head.spread if head else None)),
        p=Markup(_format_p(delta.p_adjusted if delta.p_adjusted is not None else delta.p_value)),
        n=Markup(" / ".join(side_n)), head_n=Markup(side_n[1]), note=delta.reason)


def _section(items: Sequence[tuple[str, Delta]], macro: str, note: bool) -> Section:
    rows, previous = [], None
    for kind, delta in items:
        rows.append((kind, delta, delta.benchmark != previous))
        previous = delta.benchmark
    return Section(tuple(rows), macro, note)


def _counts(items: Sequence[tuple[str, Delta]]) -> dict[str, int]:
    counts = {kind: 0 for kind in KIND_ORDER}
    benchmarks: dict[str, set[str]] = {kind: set() for kind in _PER_BENCHMARK}
    for kind, delta in items:
        if kind in benchmarks:
            benchmarks[kind].add(delta.benchmark)
        else:
            counts[kind] = counts.get(kind, 0) + 1
    counts.update({kind: len(names) for kind, names in benchmarks.items()})
    return counts


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


def _noise(comparison: Comparison) -> dict[str, Any]:
    spreads = []
    for delta in comparison.deltas:
        worst = max((s.spread for s in (delta.base, delta.head) if s and s.spread is not None), default=None)
        if worst is not None and worst > UNSTABLE_SPREAD:
            spreads.append((worst, delta.benchmark, delta.metric))
    spreads.sort(key=lambda item: -item[0])
    return {
        "undecided": sum(1 for d in comparison.deltas if d.gating and d.verdict is Verdict.INCONCLUSIVE),
        "unstable": tuple((b, m, units.format_spread(s)) for s, b, m in spreads[:5]),
        "unstable_total": len(spreads),
        "summary_only": any(d.base is not None and d.base.n == 0 for d in comparison.deltas),
    }


def _charts(items: Sequence[tuple[str, Delta]], history: Mapping[str, Sequence[tuple[str, float]]],
            limit: int) -> tuple[Chart, ...]:
    """A line of the main metric (time when measured) for benchmarks with history."""
    main: dict[str, Delta] = {}
    for _, delta in items:
        if delta.head is not None and history.get(delta.benchmark) and (
                delta.benchmark not in main or delta.metric == "time"):
            main[delta.benchmark] = delta
    charts = []
    for name, delta in list(main.items())[:limit]:
        points = list(history[name][-30:]) + [("this run", delta.head.center)]
        scale = units.scale_for(clean_text(delta.unit, 20), points[-1][1])
        values = tuple(Markup(f"{v / scale.factor:.{scale.decimals}f}") for _, v in points)
        charts.append(Chart(name, delta.metric, scale.symbol, tuple(p[0] for p in points), values))
    return tuple(charts)


def _rules(thresholds: Sequence[Any], measured: set[str]) -> tuple[Rule, ...]:
    """The rules that applied: per-benchmark ones, and defaults of metrics this run has."""
    rules = []
    for t in thresholds:
        kind_measured = t.metric in measured or any(m.startswith(t.metric + "_") for m in measured)
        if measured and t.pattern is None and not kind_measured:
            continue
        relative = None
        if t.relative is not None:
            whole = abs(t.relative * 100 - round(t.relative * 100)) < 1e-9
            relative = units.format_percent(t.relative, signed=False, decimals=0 if whole else 1)
        floor = None
        if t.absolute_floor is not None:
            scale = units.scale_for("B" if "memory" in t.metric else "", t.absolute_floor)
            floor = f"{t.absolute_floor / scale.factor:g} {scale.symbol}".strip()
        rules.append(Rule(t.metric, t.pattern, relative, floor, t.ignored, getattr(t, "gating", True)))
    return tuple(rules)


_CORRECTIONS = {"holm": "Holm", "bonferroni": "Bonferroni", "bh": "Benjamini-Hochberg",
                "benjamini-hochberg": "Benjamini-Hochberg", "none": None}
_MAX_NOTES, _MAX_RULES = 20, 30


def _build_view(comparison: Comparison, context: ReportContext) -> dict[str, Any]:
    """What every format shows; ``_variant`` picks the detail and the number of charts."""
    has_baseline = context.baseline.source != "none"
    items = _ordered(comparison.deltas)
    if has_baseline:
        sections = {"main": _section([i for i in items if i[0] != "unchanged"], "row", True),
                    "unchanged": _section([i for i in items if i[0] == "unchanged"], "row", False),
                    "measurements": Section((), "measurement_row", True)}
    else:
        sections = {"main": Section((), "row", True), "unchanged": Section((), "row", False),
                    "measurements": _section(items, "measurement_row", True)}
    noise = _noise(comparison)
    notes = tuple(comparison.notes) + context.notes
    rules = _rules(comparison.thresholds, {d.metric for d in comparison.deltas})
    confidence = getattr(comparison, "confidence", None)
    correction = comparison.correction
    return {
        "status": _status(comparison, has_baseline, noise["undecided"]),
        "label": context.label, "marker": Markup(comment_marker(context.comment_id)),
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
        "charts": _charts(items, context.history, max(_CHARTS.values())),
        "rules": rules[:_MAX_RULES], "rules_omitted": max(0, len(rules) - _MAX_RULES),
        "alpha": Markup(f"{comparison.alpha:g}"),
        "correction": _CORRECTIONS.get(correction.lower(), correction),
        "gating_tests": getattr(comparison, "gating_tests", 0) or sum(
            1 for d in comparison.deltas if d.gating and d.p_value is not None),
        "confidence": None if confidence is None else Markup(units.format_percent(
            confidence, signed=False, decimals=0 if round(confidence * 100, 9).is_integer() else 1)),
        "full_report_path": context.full_report_path, "sections": sections,
    }


# ---------------------------------------------------------------------------
# Fitting into a size limit
# ---------------------------------------------------------------------------

def _chars(text: str) -> int:
    return len(text)


def _utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


_SLACK = 2_000  # table headers, <details> wrappers and the "not shown" lines, generously


def _fit(env: jinja2.Environment, template_name: str, view: dict[str, Any],
         limit: float, measure: Callable[[str], int]) -> str:
    """Render with as many rows as fit: sections in order, rows in order."""
    template = env.get_template(template_name)
    macros = env.get_template("_macros.md.j2").module
    sections = view["sections"]

    def render(shown: Mapping[str, int], lines: Mapping[str, list]) -> str:
        fitted = {key: s.showing(lines[key][:shown[key]]) for key, s in sections.items()}
        return template.render(**{**view, "sections": fitted})

    nothing = {key: 0 for key in sections}
    budget = limit - measure(render(nothing, {key: [] for key in sections})) - _SLACK
    lines: dict[str, list] = {key: [] for key in sections}
    full = True
    cache = view["line_cache"]  # shared by the summary and the full report of one view
    for key, section in sections.items():
        row_macro = getattr(macros, section.macro)
        for index, item in enumerate(section.items):
            line = cache.get((key, index))
            if line is None:
                line = cache[(key, index)] = row_macro(_row(*item), view["detailed"], section.note)
            budget -= measure(line) + 1
            if budget < 0:
                full = False
                break
            lines[key].append(line)
        if not full:
            break
    shown = {key: len(lines[key]) for key in sections}
    text = render(shown, lines)
    # The slack makes this loop rare; it exists so that the limit always holds.
    while measure(text) > limit and any(shown.values()):
        last = [key for key in sections if shown[key]][-1]
        shown[last] = shown[last] * 3 // 4
        text = render(shown, lines)
    return text if measure(text) <= limit else _truncate(text, int(limit), measure)


def _truncate(text: str, limit: int, measure: Callable[[str], int]) -> str:
    """Last resort when even the fixed parts overflow: cut and say so."""
    tail = "\n\n… (report cut here to fit the size limit; see the full report)\n"
    room = max(0, limit - measure(tail))
    encoded = text.encode("utf-8")[:room] if measure is _utf8_bytes else None
    head = encoded.decode("utf-8", "ignore") if encoded is not None else text[:room]
    return head + tail


# ---------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------

def _environment(templates_dir: Path | None) -> jinja2.Environment:
    return make_environment(Path(templates_dir) if templates_dir else DEFAULT_TEMPLATES_DIR)


_CHARTS = {"comment": 5, "summary": 20, "full": 50}


def _variant(view: dict[str, Any], *, detailed: bool, charts: int,
             cache: dict | None = None) -> dict[str, Any]:
    return {**view, "detailed": detailed, "charts": view["charts"][:charts],
            "line_cache": {} if cache is None else cache}


@dataclass(frozen=True)
class Reports:
    comment: str    # within COMMENT_LIMIT characters
    summary: str    # within SUMMARY_LIMIT bytes
    full: str       # every row: the file the other two point to


def render_reports(comparison: Comparison, context: ReportContext, *,
                   templates_dir: Path | None = None, max_chars: int = COMMENT_LIMIT,
                   max_bytes: int = SUMMARY_LIMIT) -> Reports:
    """All three Markdown reports of a run; they share one view and the rendered rows."""
    env = _environment(templates_dir)
    view = _build_view(comparison, context)
    cache: dict = {}
    full = _fit(env, "summary.md.j2", _variant(view, detailed=True, charts=_CHARTS["full"], cache=cache),
                float("inf"), _chars)
    summary = _fit(env, "summary.md.j2", _variant(view, detailed=True, charts=_CHARTS["summary"],
                                                  cache=cache), max_bytes, _utf8_bytes)
    comment = _fit(env, "comment.md.j2", _variant(view, detailed=False, charts=_CHARTS["comment"]),
                   max_chars, _chars)
    return Reports(comment, summary, full)


def render_comment(comparison: Comparison, context: ReportContext, *,
                   templates_dir: Path | None = None, max_chars: int = COMMENT_LIMIT) -> str:
    """The PR comment: the hidden marker first, always within ``max_chars``."""
    view = _variant(_build_view(comparison, context), detailed=False, charts=_CHARTS["comment"])
    return _fit(_environment(templates_dir), "comment.md.j2", view, max_chars, _chars)


def render_summary(comparison: Comparison, context: ReportContext, *,
                   templates_dir: Path | None = None, max_bytes: int = SUMMARY_LIMIT) -> str:
    """The job summary: more detail than the comment, within ``max_bytes`` of UTF-8."""
    view = _variant(_build_view(comparison, context), detailed=True, charts=_CHARTS["summary"])
    return _fit(_environment(templates_dir), "summary.md.j2", view, max_bytes, _utf8_bytes)


def render_markdown_full(comparison: Comparison, context: ReportContext, *,
                         templates_dir: Path | None = None) -> str:
    """The summary's layout with every row: the file the others point to."""
    view = _variant(_build_view(comparison, context), detailed=True, charts=_CHARTS["full"])
    return _fit(_environment(templates_dir), "summary.md.j2", view, float("inf"), _chars)


def render_terminal(comparison: Comparison, context: ReportContext, *,
                    templates_dir: Path | None = None) -> str:
    """Plain text for a terminal or a log: aligned columns, every row, no Markdown."""
    view = _variant(_build_view(comparison, context), detailed=True, charts=0)
    widths = {"benchmark": 9, "metric": 6, "base": 8, "head": 7, "change": 6}
    for section in view["sections"].values():
        for row in section.rows:
            for column in widths:
                text = row.benchmark if column == "benchmark" else getattr(row, column)
                widths[column] = max(widths[column], len(clean_text(text, NAME_LIMIT)))
    template = _environment(templates_dir).get_template("report.txt.j2")
    return template.render(**view, widths=widths)
