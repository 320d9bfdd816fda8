"""Nightly histories for tests, built with perfaction.history so detection is deterministic.

Synthetic nights carry the fingerprint of the machine running the tests, so
they join the same series as the nights the entrypoint really measures.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from perfaction.harness.environment import gather
from perfaction.results.history import Entry, History, MetricSummary
from perfaction.results.model import Environment

from .zips import zip_files

HISTORY_FILE = "perf-history.json"


def local_fingerprint() -> dict:
    """What Environment.fingerprint() gives for a run on this machine with this Python."""
    known = {k: v for k, v in gather().items() if k in Environment.FINGERPRINT_FIELDS}
    return {name: known.get(name) for name in Environment.FINGERPRINT_FIELDS}


def commit(night: int) -> str:
    """A distinct 40-hex-digit commit per night (short forms differ too)."""
    return hashlib.sha1(f"night {night}".encode()).hexdigest()


def night(index: int, values: dict[str, float], fingerprint: dict | None = None) -> Entry:
    """One night: each benchmark's ``time`` at the given seconds, 20 processes, 1 % spread."""
    return Entry(commit(index), f"2024-04-{1 + index % 28:02d}T03:17:00Z",
                 fingerprint if fingerprint is not None else local_fingerprint(),
                 {name: {"time": MetricSummary("s", "lower", value, 20, 0.01)}
                  for name, value in values.items()}, ref="refs/heads/main")


def wiggle(index: int) -> float:
    """Small deterministic noise (about +-0.4 %), so ranks are never tied."""
    return 1 + 0.004 * (((index * 7919) % 11) - 5) / 5


def stepped(levels: Sequence[tuple[int, float]], benchmark: str = "parse_large",
            start: int = 0, base: History | None = None) -> History:
    """``levels`` as (nights, seconds) stretches, appended to ``base`` (or a new history)."""
    history = base or History()
    index = start
    for count, seconds in levels:
        for _ in range(count):
            history = history.with_entry(night(index, {benchmark: seconds * wiggle(index)}))
            index += 1
    return history


def history_zip(history: History, name: str = HISTORY_FILE) -> bytes:
    """What actions/upload-artifact makes of the history file."""
    return zip_files({name: json.dumps(history.to_dict(), indent=1)})
