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
- ``view.py``: the plain values (rows, sections, counts, notes, rules,
  charts) that the templates lay out, the same for every format.
- ``context.py``: the context types and the comment marker.
- this module: the Jinja environment, the entry points,
  and fitting into a size limit. A comment body is limited to 65,536
  characters and a step summary to 1 MiB; ``_fit`` keeps every fixed part,
  then rows in priority order (regressions first) while they fit, and counts
  the rest with a pointer to the full report.

"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from perfaction.analysis.comparison import Comparison
from perfaction.report.context import ReportContext, comment_marker
from perfaction.report.markdown import (
    FILTERS,
    md_code,
    md_text,
    plain_text,
    refuse_unescaped,
)
from perfaction.report.view import (
    build_view,
    format_row,
    terminal_widths,
)

# Characters GitHub accepts in a comment body, less room for the seal line the
# publisher adds last (github/client.py seal_comment: 70 characters).
COMMENT_LIMIT = 65_536 - 80
SUMMARY_LIMIT = 1_048_576     # bytes of UTF-8: a longer step summary is dropped
# The templates are package data (perfaction/report/templates), loaded through
# importlib.resources so that an installed wheel finds them as a source tree does.
TEMPLATES_PACKAGE = "perfaction.report"
TEMPLATES_FOLDER = "templates"


# ---------------------------------------------------------------------------
# The Jinja environment: escaping filters, finalize refusing raw strings
# ---------------------------------------------------------------------------

@lru_cache(maxsize=8)
def make_environment(templates_dir: Path | None = None) -> jinja2.Environment:
    """The one Jinja environment every report is rendered with.

    ``templates_dir`` replaces the packaged templates (a test, or a team's own
    layout); by default they are read from the installed package.
    """
    loader: jinja2.BaseLoader = (jinja2.FileSystemLoader(str(templates_dir)) if templates_dir
                                 else jinja2.PackageLoader(TEMPLATES_PACKAGE, TEMPLATES_FOLDER))
    env = jinja2.Environment(
        loader=loader,
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
    return make_environment(Path(templates_dir) if templates_dir else None)


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


def render_shard_summary(*, shard: str, measured: int, total: int, basis: str,
                         artifact: str, base: str | None = None,
                         templates_dir: Path | None = None) -> str:
    """The step summary of a matrix job measuring one shard (the merge job has the verdict)."""
    return _environment(templates_dir).get_template("shard.md.j2").render(
        shard=shard, measured=measured, total=total, basis=basis, artifact=artifact, base=base)
