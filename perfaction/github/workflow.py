"""The runner's file commands and workflow commands.

Outputs go to the file named by ``GITHUB_OUTPUT``, the job summary to
``GITHUB_STEP_SUMMARY``; annotations, log groups and masks are lines printed
on stdout. Every function takes the file path or the stream as a parameter, so
tests hand in a temporary file or a StringIO. Nothing here talks to the API.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from perfaction.untrusted import defuse

# The runner drops a step's summary beyond this size (and says so in an error annotation).
SUMMARY_LIMIT_BYTES = 1024 * 1024
_OUTPUT_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")

def escape_data(text: str) -> str:
    """Escape the message part of a workflow command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value (file=, title=, ...) of a workflow command."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_command(command: str, message: str = "", **properties: object) -> str:
    """One workflow command line, e.g. ``::error file=a.py,line=3::boom``."""
    props = ",".join(f"{key}={escape_property(str(value))}"
                     for key, value in properties.items() if value is not None)
    head = f"::{command} {props}" if props else f"::{command}"
    return f"{head}::{escape_data(message)}"


def format_output(name: str, value: str, *, new_delimiter: Callable[[], str] | None = None) -> str:
    """The ``GITHUB_OUTPUT`` text for one output; always the multi-line form, which is safe for any value."""
    if not name or not set(name) <= _OUTPUT_NAME_CHARS:
        raise ValueError(f"output name must be letters, digits, '_' or '-', got {name!r}")
    make = new_delimiter or (lambda: f"ghadelimiter_{uuid.uuid4()}")
    delimiter = make()
    lines = value.splitlines()
    while delimiter in lines or delimiter in name:
        delimiter = make()  # a value could hold the delimiter only by astronomical chance, or on purpose
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def write_outputs(path: str | os.PathLike[str] | None, outputs: Mapping[str, str], *,
                  new_delimiter: Callable[[], str] | None = None) -> bool:
    """Append outputs to the GITHUB_OUTPUT file; False (and nothing written) without one."""
    if not path:
        return False
    text = "".join(format_output(name, value, new_delimiter=new_delimiter) for name, value in outputs.items())
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)
    return True


def append_summary(path: str | os.PathLike[str] | None, markdown: str, *,
                   limit: int = SUMMARY_LIMIT_BYTES) -> bool:
    """Append Markdown to the job summary, cut so the step's summary stays under the runner's limit.

    Returns False when there is no summary file (running outside a job).
    """
    if not path:
        return False
    text = markdown if markdown.endswith("\n") else markdown + "\n"
    room = summary_room(path, limit=limit)
    data = text.encode("utf-8")
    if len(data) > room:
        note = "\n\n> The report was cut here: the job summary is limited to 1 MiB per step.\n"
        keep = max(room - len(note.encode("utf-8")), 0)
        text = data[:keep].decode("utf-8", errors="ignore") + note if room > len(note) else ""
    if text:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    return True


def in_actions(environ: Mapping[str, str]) -> bool:
    """True in a GitHub Actions job (the runner, act): workflow commands are read there."""
    return environ.get("GITHUB_ACTIONS") == "true"


def summary_room(path: str | os.PathLike[str] | None, *, limit: int = SUMMARY_LIMIT_BYTES) -> int:
    """Bytes of UTF-8 the step's summary can still take (the whole limit without a file)."""
    existing = Path(path).stat().st_size if path and Path(path).exists() else 0
    return max(limit - existing, 0)


class WorkflowCommands:
    """Workflow commands printed on a stream (the step's stdout).

    ``plain``: outside GitHub Actions (``./dev.sh demo``, the entry point run
    by hand) nothing reads commands, so they print as plain lines instead:
    ``warning: title: message``, ``== group title``, and no mask lines.
    """

    def __init__(self, stream: TextIO, *, plain: bool = False):
        self.stream = stream
        self.plain = plain

    def _emit(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def _annotation(self, kind: str, message: str, title: str | None, **where: Any) -> None:
        if self.plain:
            self._emit(defuse(f"{kind}: {f'{title}: ' if title else ''}{message}"))
        else:
            self._emit(format_command(kind, message, title=title, **where))

    def error(self, message: str, *, title: str | None = None, file: str | None = None,
              line: int | None = None) -> None:
        self._annotation("error", message, title, file=file, line=line)

    def warning(self, message: str, *, title: str | None = None, file: str | None = None,
                line: int | None = None) -> None:
        self._annotation("warning", message, title, file=file, line=line)

    def notice(self, message: str, *, title: str | None = None) -> None:
        self._annotation("notice", message, title)

    def mask(self, value: str) -> None:
        """Ask the runner to hide ``value`` in the log from here on (each line of it).
        Plain output has no runner to ask; nothing prints the token itself."""
        if self.plain:
            return
        for part in value.splitlines():
            if part.strip():
                self._emit(format_command("add-mask", part))

    def log(self, text: str) -> None:
        """Plain log lines; ``defuse`` makes sure data never turns into a command."""
        self._emit(defuse(text))

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """Fold everything printed inside into a collapsible log section."""
        if self.plain:
            self._emit(defuse(f"== {title}"))
            yield
            return
        self._emit(format_command("group", title))
        try:
            yield
        finally:
            self._emit("::endgroup::")
