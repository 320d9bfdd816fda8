"""Readers of other tools' result files: each turns one foreign format into a Suite.

A reader is a small object with a ``name`` (said in messages), a ``sniff``
that recognises its format from the parsed JSON (cheaply: top-level shape and
marker keys), and a ``to_suite`` that converts it, raising ResultsFormatError
that names the file, benchmark and field at fault. perfaction's own format
is not a reader: files.py reads it, and offers a document to the readers
only when it has no ``format_version``.

Adding a format is a module here with one reader, and its entry in
``READERS`` (order matters only when two could claim the same document).
"""

from __future__ import annotations

from typing import Any, Protocol

from perfaction.results.formats.article import ARTICLE_SUMMARY
from perfaction.results.formats.pyperf import PYPERF
from perfaction.results.formats.pytest_benchmark import PYTEST_BENCHMARK
from perfaction.results.model import Suite


class Reader(Protocol):
    @property
    def name(self) -> str:
        """The format, as a message names it."""
        ...

    def sniff(self, data: Any) -> bool:
        """Whether the parsed JSON ``data`` is this reader's format."""
        ...

    def to_suite(self, data: Any, *, source: str | None = None) -> Suite:
        """The Suite ``data`` holds; ResultsFormatError naming what is wrong otherwise."""
        ...


READERS: tuple[Reader, ...] = (PYPERF, PYTEST_BENCHMARK, ARTICLE_SUMMARY)


def find_reader(data: Any, readers: tuple[Reader, ...] = READERS) -> Reader | None:
    """The first reader that recognises ``data``, or None."""
    return next((reader for reader in readers if reader.sniff(data)), None)


def known_formats(readers: tuple[Reader, ...] = READERS) -> str:
    """The readers' names, for a message that lists what perfaction reads."""
    return ", ".join(reader.name for reader in readers)
