"""Rendering: the PR comment, the job summary, the full report and the terminal text.

Everything shown comes from a Comparison (what compare.py decided) and a
ReportContext (where and how it ran) passed in; nothing is read from globals
or the environment. Verdicts are never decided here: templates only pick an
icon and a word for each one.

The work is split in three:

- ``markdown.py``: the escaping filters, and the ``finalize`` that refuses
  any string not passed through one of them (why: see that module).
  ``make_environment`` installs both; autoescape is on only so that macro
  output carries the same ``Markup`` mark.
- ``report_view.py``: the plain values (rows, sections, counts, notes, rules,
  charts) that the templates lay out, the same for every format.
- this module: the context types, the Jinja environment, the entry points,
  and fitting into a size limit. A comment body is limited to 65,536
  characters and a step summary to 1 MiB; ``_fit`` keeps every fixed part,
  then rows in priority order (regressions first) while they fit, and counts
  the rest with a pointer to the full report.

The escaping filters and the view types stay importable from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import jinja2

from .compare import Comparison
from .markdown import (FILTERS, NAME_LIMIT, TEXT_LIMIT, clean_text, link_url, md_code, md_code_cell,
                       md_text, mermaid_label, plain_text, plural, refuse_unescaped)
from .report_view import (KIND_ORDER, STALE_AFTER, UNSTABLE_SPREAD, Chart, Commit, Row, Rule, Section,
                          build_view, format_row, terminal_widths)

__all__ = [
    "COMMENT_MARKER", "COMMENT_LIMIT", "SUMMARY_LIMIT", "DEFAULT_TEMPLATES_DIR", "BASELINE_SOURCES",
    "MODES", "comment_marker", "BaselineInfo", "ReportContext", "make_environment", "Reports",
    "render_reports", "render_comment", "render_summary", "render_markdown_full", "render_terminal",
    # from markdown.py
    "NAME_LIMIT", "TEXT_LIMIT", "clean_text", "md_text", "md_code", "md_code_cell", "plain_text",
    "link_url", "mermaid_label", "plural",
    # from report_view.py
    "KIND_ORDER", "STALE_AFTER", "UNSTABLE_SPREAD", "Row", "Section", "Commit", "Chart", "Rule",
]

COMMENT_MARKER = "<!-- perf-regression-action:comment -->"
COMMENT_LIMIT = 65_536        # characters: GitHub refuses a longer comment body
SUMMARY_LIMIT = 1_048_576     # bytes of UTF-8: a longer step summary is dropped
DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
BASELINE_SOURCES = ("artifact", "file", "same-runner", "none")
MODES = ("baseline", "same-runner")
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
# The Jinja environment: escaping filters, finalize refusing raw strings
# ---------------------------------------------------------------------------

@lru_cache(maxsize=8)
def make_environment(templates_dir: Path = DEFAULT_TEMPLATES_DIR) -> jinja2.Environment:
    """The one Jinja environment every report is rendered with."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=True,            # only so that macros return Markup; see the module doc
        finalize=refuse_unescaped,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters.update(FILTERS)
    # The same escapers as values, so shared macros take the output format's escaper.
    env.globals.update(esc_md=md_text, esc_code=md_code, esc_plain=plain_text)
    return env


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
                line = cache[(key, index)] = row_macro(format_row(*item), view["detailed"], section.note)
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


def _view(comparison: Comparison, context: ReportContext) -> dict[str, Any]:
    return build_view(comparison, context, marker=comment_marker(context.comment_id),
                      chart_limit=max(_CHARTS.values()))


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
    view = _view(comparison, context)
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
    view = _variant(_view(comparison, context), detailed=False, charts=_CHARTS["comment"])
    return _fit(_environment(templates_dir), "comment.md.j2", view, max_chars, _chars)


def render_summary(comparison: Comparison, context: ReportContext, *,
                   templates_dir: Path | None = None, max_bytes: int = SUMMARY_LIMIT) -> str:
    """The job summary: more detail than the comment, within ``max_bytes`` of UTF-8."""
    view = _variant(_view(comparison, context), detailed=True, charts=_CHARTS["summary"])
    return _fit(_environment(templates_dir), "summary.md.j2", view, max_bytes, _utf8_bytes)


def render_markdown_full(comparison: Comparison, context: ReportContext, *,
                         templates_dir: Path | None = None) -> str:
    """The summary's layout with every row: the file the others point to."""
    view = _variant(_view(comparison, context), detailed=True, charts=_CHARTS["full"])
    return _fit(_environment(templates_dir), "summary.md.j2", view, float("inf"), _chars)


def render_terminal(comparison: Comparison, context: ReportContext, *,
                    templates_dir: Path | None = None) -> str:
    """Plain text for a terminal or a log: aligned columns, every row, no Markdown."""
    view = _variant(_view(comparison, context), detailed=True, charts=0)
    widths = terminal_widths(view["sections"])
    template = _environment(templates_dir).get_template("report.txt.j2")
    return template.render(**view, widths=widths)
