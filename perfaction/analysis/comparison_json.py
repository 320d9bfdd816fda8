"""The JSON form of a Comparison: what `perfaction compare --json` writes and `perfaction report` reads.

Readers skip keys they do not know, so adding an optional field keeps the
format version; removing or changing one needs a new version.

Each delta carries its reason twice: as data (``reason_code`` and
``reason_facts``, read back into ``Delta.why``) and as the sentence a reader
of the file sees (``reason``). The sentence comes from the report layer, which
this module must not import: writers pass ``describe`` (report.reasons.reason_text).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any

from perfaction.analysis.comparison import (
    COMPARISON_FORMAT_VERSION,
    METHOD,
    REASON_CODES,
    Comparison,
    Delta,
    EnvironmentMismatch,
    Reason,
    Summary,
    Threshold,
    Verdict,
)
from perfaction.errors import ResultsFormatError
from perfaction.results.model import Environment


def comparison_to_dict(comparison: Comparison, *,
                       describe: Callable[[Delta], str] | None = None) -> dict[str, Any]:
    """A JSON-ready dict; ``comparison_from_dict`` reads it back unchanged.

    ``describe`` words each delta's reason for the ``reason`` key; without it
    the key holds the delta's own ``reason`` text.
    """
    return {
        "format_version": COMPARISON_FORMAT_VERSION,
        "kind": "perfaction-comparison",
        "mode": comparison.mode,
        "alpha": comparison.alpha,
        "correction": comparison.correction,
        "confidence": comparison.confidence,
        "gating_tests": comparison.gating_tests,
        "method": comparison.method,
        "base_environment": (asdict(comparison.base_environment)
                             if comparison.base_environment is not None else None),
        "head_environment": asdict(comparison.head_environment),
        "environment_mismatches": [asdict(m) for m in comparison.environment_mismatches],
        "thresholds": [asdict(t) for t in comparison.thresholds],
        "notes": list(comparison.notes),
        "deltas": [_delta_to_dict(d, describe) for d in comparison.deltas],
    }


def _delta_to_dict(delta: Delta, describe: Callable[[Delta], str] | None) -> dict[str, Any]:
    data = asdict(delta)
    data["verdict"] = delta.verdict.value
    del data["why"]
    if describe is not None:
        data["reason"] = describe(delta)
    if delta.why is not None:
        data["reason_code"] = delta.why.code
        data["reason_facts"] = dict(delta.why.facts)
    if delta.interval is not None:
        data["interval"] = list(delta.interval)
    return data


def comparison_from_dict(data: Any, *, source: str | None = None) -> Comparison:
    """Rebuild a Comparison; raises ResultsFormatError naming the field at fault."""
    if not isinstance(data, dict) or data.get("kind") != "perfaction-comparison":
        raise ResultsFormatError("not a perfaction comparison (expected an object with "
                                 "kind 'perfaction-comparison')", source=source)
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or not \
            1 <= version <= COMPARISON_FORMAT_VERSION:
        raise ResultsFormatError(f"unsupported version {version!r} (this perfaction reads 1 to "
                                 f"{COMPARISON_FORMAT_VERSION}); upgrade perfaction",
                                 source=source, field="format_version")
    try:
        base_env = data.get("base_environment")
        return Comparison(
            deltas=tuple(_delta_from_dict(d) for d in data["deltas"]),
            base_environment=_known(Environment, base_env) if base_env is not None else None,
            head_environment=_known(Environment, data["head_environment"]),
            environment_mismatches=tuple(_known(EnvironmentMismatch, m)
                                         for m in data.get("environment_mismatches", [])),
            thresholds=tuple(_known(Threshold, t) for t in data.get("thresholds", [])),
            alpha=float(data["alpha"]), correction=str(data["correction"]),
            mode=str(data["mode"]), notes=tuple(str(n) for n in data.get("notes", [])),
            confidence=float(data.get("confidence", 0.95)),
            gating_tests=int(data.get("gating_tests", 0)),
            # written before the field existed: those files came from the same test
            method=str(data.get("method", METHOD)))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ResultsFormatError(f"malformed comparison: {exc!r}", source=source) from exc


def _delta_from_dict(raw: dict[str, Any]) -> Delta:
    values = {k: v for k, v in raw.items() if k in _DELTA_FIELDS}
    values["verdict"] = Verdict(raw["verdict"])
    values.pop("why", None)
    if raw.get("reason_code") in REASON_CODES:   # a newer writer's code: its text stands
        values["why"] = Reason(raw["reason_code"], dict(raw.get("reason_facts") or {}))
    for side in ("base", "head"):
        if values.get(side) is not None:
            values[side] = _known(Summary, values[side])
    if values.get("interval") is not None:
        low, high = values["interval"]
        values["interval"] = (float(low), float(high))
    return Delta(**values)


def _known(cls: Any, raw: dict[str, Any]) -> Any:
    """Build ``cls`` from the keys it knows; keys added by newer versions are skipped."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in raw.items() if k in names})


_DELTA_FIELDS = {f.name for f in fields(Delta)}
