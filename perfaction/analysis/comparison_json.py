"""The JSON form of a Comparison: what `perfaction compare --json` writes and `perfaction report` reads.

Readers skip keys they do not know, so adding an optional field keeps the
format version; removing or changing one needs a new version.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from perfaction.analysis.comparison import (
    COMPARISON_FORMAT_VERSION,
    METHOD,
    Comparison,
    Delta,
    EnvironmentMismatch,
    Summary,
    Threshold,
    Verdict,
)
from perfaction.errors import ResultsFormatError
from perfaction.results.model import Environment


def comparison_to_dict(comparison: Comparison) -> dict[str, Any]:
    """A JSON-ready dict; ``comparison_from_dict`` reads it back unchanged."""
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
        "deltas": [_delta_to_dict(d) for d in comparison.deltas],
    }


def _delta_to_dict(delta: Delta) -> dict[str, Any]:
    data = asdict(delta)
    data["verdict"] = delta.verdict.value
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
