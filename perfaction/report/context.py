"""What a report shows beyond the Comparison: where the baseline came from, the run's links.

Front ends build a ReportContext; the renderers and the view only read it.
The hidden comment marker lives here because it keys the one sticky comment
per ``comment_id`` and is validated with the context.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

COMMENT_MARKER = "<!-- perf-regression-action:comment -->"
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
