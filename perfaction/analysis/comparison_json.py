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
from perfaction.results.model import Environment, bounded_number, shown


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
        _top_level(data)
        return Comparison(
            deltas=tuple(_delta_from_dict(d, f"deltas[{i}]")
                         for i, d in enumerate(_list(data, "deltas"))),
            base_environment=(_checked(Environment, base_env, "base_environment")
                              if base_env is not None else None),
            head_environment=_checked(Environment, data["head_environment"], "head_environment"),
            environment_mismatches=tuple(
                _checked(EnvironmentMismatch, m, f"environment_mismatches[{i}]")
                for i, m in enumerate(_list(data, "environment_mismatches"))),
            thresholds=tuple(_checked(Threshold, t, f"thresholds[{i}]")
                             for i, t in enumerate(_list(data, "thresholds"))),
            alpha=float(data["alpha"]), correction=data["correction"], mode=data["mode"],
            notes=tuple(data.get("notes", [])),
            confidence=float(data.get("confidence", 0.95)),
            gating_tests=int(data.get("gating_tests", 0)),
            # written before the field existed: those files came from the same test
            method=data.get("method", METHOD))
    except _Malformed as exc:
        raise ResultsFormatError(f"malformed comparison: {exc.problem}", source=source,
                                 field=exc.field) from None
    except KeyError as exc:
        raise ResultsFormatError(f"malformed comparison: the field {exc} is missing",
                                 source=source) from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise ResultsFormatError(f"malformed comparison: {exc!r}", source=source) from exc


class _Malformed(Exception):
    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


def _top_level(data: dict[str, Any]) -> None:
    for name, kind in (("alpha", "float"), ("correction", "str"), ("mode", "str"),
                       ("confidence", "float | None"), ("gating_tests", "int | None"),
                       ("method", "str | None")):
        if name in data and not _fits(kind, data[name]):
            raise _Malformed(name, f"expected {kind}, got {_shown(data[name])}")
    notes = data.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise _Malformed("notes", "expected a list of strings")


def _list(data: dict[str, Any], name: str) -> list[Any]:
    value = data[name] if name == "deltas" else data.get(name, [])
    if not isinstance(value, list):
        raise _Malformed(name, f"expected a list, got {_shown(value)}")
    return value


# Fields checked by hand in _delta_from_dict rather than by their annotation.
_DELTA_SPECIAL = {"verdict", "base", "head", "interval", "why"}


def _delta_from_dict(raw: Any, where: str) -> Delta:
    if not isinstance(raw, dict):
        raise _Malformed(where, f"expected an object, got {_shown(raw)}")
    values = _checked_values(Delta, raw, where, skip=_DELTA_SPECIAL)
    try:
        values["verdict"] = Verdict(raw["verdict"])
    except (KeyError, ValueError, TypeError):
        raise _Malformed(f"{where}.verdict", f"not a verdict: {_shown(raw.get('verdict'))}") \
            from None
    code, facts = raw.get("reason_code"), raw.get("reason_facts") or {}
    if isinstance(code, str) and code in REASON_CODES and isinstance(facts, dict):
        values["why"] = Reason(code, dict(facts))   # a newer writer's code: its text stands
    for side in ("base", "head"):
        if raw.get(side) is not None:
            values[side] = _checked(Summary, raw[side], f"{where}.{side}")
    interval = raw.get("interval")
    if interval is not None:
        if not (isinstance(interval, list) and len(interval) == 2
                and all(_fits("float", v) for v in interval)):
            raise _Malformed(f"{where}.interval", f"expected two numbers, got {_shown(interval)}")
        values["interval"] = (float(interval[0]), float(interval[1]))
    return Delta(**values)


def _checked(cls: Any, raw: Any, where: str) -> Any:
    """``cls`` from the keys it knows, each of its declared type; newer keys are skipped."""
    if not isinstance(raw, dict):
        raise _Malformed(where, f"expected an object, got {_shown(raw)}")
    return cls(**_checked_values(cls, raw, where))


def _checked_values(cls: Any, raw: dict[str, Any], where: str,
                    skip: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    values = {}
    for field in fields(cls):
        if field.name in skip or field.name not in raw:
            continue
        value = raw[field.name]
        if not _fits(str(field.type), value):
            raise _Malformed(f"{where}.{field.name}",
                             f"expected {field.type}, got {_shown(value)}")
        values[field.name] = value
    return values


def _fits(annotation: str, value: Any) -> bool:
    """Whether a JSON value is of a field's declared type (scalars; anything else: scalars)."""
    options = {part.strip() for part in annotation.split("|")}
    if value is None:
        return bool(options & {"None", "Any"})
    if isinstance(value, bool):
        return "bool" in options
    if isinstance(value, str):
        return "str" in options or "Any" in options
    if isinstance(value, int):
        return bool(options & {"int", "float", "Any"}) and abs(value) <= 10 ** 18
    if isinstance(value, float):
        return bool(options & {"float", "Any"}) and bounded_number(value)
    return False          # lists and objects are never a scalar field's value


def _shown(value: Any) -> str:
    return f"{type(value).__name__} {shown(value)}"
