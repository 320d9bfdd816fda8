"""Escaping filters for the reports: Markdown text, code spans, URLs, Mermaid labels, terminal text.

Jinja's HTML autoescaping is the wrong escape for Markdown and for a terminal,
so no report relies on it. Each filter here returns ``Markup`` as the "already
escaped" mark, and ``refuse_unescaped`` (the environment's ``finalize``)
refuses to print anything else that is a string: every user-controlled string
(benchmark and metric names, units, refs, reasons, notes, URLs) must pass
through one of these filters, or a template fails loudly at render time
instead of leaking it. ``render.make_environment`` installs them as ``FILTERS``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

NAME_LIMIT = 200              # characters of a name shown in a table cell
TEXT_LIMIT = 500              # characters of a reason or note

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
# GFM turns bare "scheme://..." and "www." (after any non-alphanumeric character, "_"
# included) into links: a zero-width space defuses them.
_AUTOLINK = re.compile(r"(?i)://|(?<![A-Za-z0-9])www\.")
# GitHub links "#123", "owner/repo#7" and "GH-5" to issues in comments: a zero-width
# space after "#" or "GH-" keeps an error message from pointing at one.
_REFERENCE = re.compile(r"(?i)(#|\bGH-)(?=\d)")
# Text made only of these needs no escaping (numbers, units, most sentences): the fast path.
_PLAIN = re.compile(r"[A-Za-z0-9 .,:;%+/()=?'\"µ±—…-]*")
_PLAIN_CODE = re.compile(r"[A-Za-z0-9_.,:;=+/()\[\]{}#*@$%&'\"!?~^-]+(?: [A-Za-z0-9_.,:;=+/()\[\]{}#*@$%&'\"!?~^-]+)*")


def clean_text(value: Any, limit: int = TEXT_LIMIT) -> str:
    """One line: control characters and line breaks become spaces; cut at ``limit``."""
    if type(value) is str and value.isprintable() and len(value) <= limit:
        return value  # no control, separator or direction characters (all non-printable)
    text = _BIDI.sub("", _CONTROL.sub(" ", str(value)))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def md_text(value: Any, limit: int = TEXT_LIMIT) -> Markup:
    """Literal inline Markdown text: no HTML, links, emphasis, tables or mentions.

    Markup passes unchanged: it is text this module already escaped or formatted.
    """
    if isinstance(value, Markup):
        return value
    if isinstance(value, str) and len(value) <= limit and _PLAIN.fullmatch(value) \
            and not _BLOCK_START.match(value) and value == value.strip() \
            and not _AUTOLINK.search(value) and not _REFERENCE.search(value):
        return Markup(value)
    text = _LOOSE_UNDERSCORE.sub(r"\\_", clean_text(value, limit).strip().translate(_MD_ESCAPES))
    text = _AUTOLINK.sub(lambda m: m.group(0)[0] + "\u200b" + m.group(0)[1:], text)
    text = _REFERENCE.sub(lambda m: m.group(1) + "\u200b", text)
    match = _BLOCK_START.match(text)
    if match:  # "# x", "- x", "1. x" would start a block at the start of a list item
        end = match.end()
        text = text[:end - 1] + "\\" + text[end - 1:]
    return Markup(text)


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


def mermaid_label(value: Any, limit: int = 40, *, title: bool = False) -> Markup:
    """A double-quoted Mermaid string: letters, digits and a few safe marks only.

    A ``title`` (a lone string, not an item of a bracketed list) also keeps
    ``[ ] =``, so ``sort_users[size=100]`` stays readable in a chart title.
    """
    marks = " _.:/()+-,[]=" if title else " _.:/()+-,"
    text = "".join(c if c.isalnum() or c in marks else "_" for c in clean_text(value, limit))
    return Markup(f'"{text}"')


def plural(count: int, word: str, many: str | None = None) -> Markup:
    """``1 regression``, ``2 regressions``; ``word`` is template text, not user data."""
    return Markup(f"{count:,} {word if count == 1 else (many or word + 's')}")


def count(number: int) -> Markup:
    """A count with thousands separated: ``4,632``."""
    return Markup(f"{number:,}")


def pad(text: Markup, width: int, right: bool = False) -> Markup:
    """A terminal column: escaped text padded to ``width``, on the right when ``right``."""
    if not isinstance(text, Markup):
        raise TypeError(f"pad takes escaped text (plain, md, ...), got {text!r}")
    return Markup(text.rjust(width) if right else text.ljust(width))


def refuse_unescaped(value: Any) -> Any:
    """Jinja's ``finalize``: print only Markup and numbers; anything else is a template bug."""
    if isinstance(value, Markup) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    raise TypeError(f"a template printed {type(value).__name__} {value!r} without an escaping "
                    "filter; pass it through md, code, code_cell, plain, url or mermaid")


FILTERS: dict[str, Callable[..., Any]] = {
    "md": md_text, "code": md_code, "code_cell": md_code_cell, "plain": plain_text,
    "url": link_url, "mermaid": mermaid_label, "plural": plural, "count": count, "pad": pad,
}
