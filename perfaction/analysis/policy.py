"""Thresholds and gating rules, parsed once from a readable spec.

A spec is a list of rules separated by commas or new lines (``#`` starts a
comment). Each rule is ``[BENCHMARK_GLOB:]SUBJECT:SETTING[:SETTING...]``:

- SUBJECT is a metric name (``time``, ``peak_memory``, ``latency_p99``, ...),
  a kind that names a family of metrics in perfaction.metrics (``time`` = time
  and cpu_time, ``memory`` = peak_memory and retained_memory, ``latency`` =
  latency_p50/p95/p99) or ``*``;
- SETTING is a threshold ``5%``, ``floor=16KiB`` (memory: absolute changes at or
  below it never count), ``gate`` / ``report`` (whether the metric decides the
  job outcome) or ``ignore``;
- ``GLOB:ignore`` drops whole benchmarks; ``alpha:0.01`` sets the family-wise
  error rate of the gate.

Examples: ``time:5%, memory:10%, orderbook_*:time:8%, legacy_*:ignore,
latency_p99:10%:gate``. More specific rules win over general ones whatever
their order: a benchmark glob beats no glob, a metric name beats a kind, a kind
beats ``*``; among equals the later rule wins. A metric's defaults are its row
in perfaction.metrics; their reasons are in docs/statistics.md.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypedDict

from perfaction import metrics
from perfaction.analysis.comparison import Threshold
from perfaction.errors import ConfigError

KIB = 1024


@dataclass(frozen=True)
class MetricPolicy:
    """What applies to one benchmark x metric after every rule is resolved."""

    threshold: float            # relative, 0.05 = 5 %
    floor: float | None = None  # absolute, in the metric's unit; None = no floor
    gating: bool = False
    ignored: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.threshold, (int, float)) and 0 <= self.threshold < 10):
            raise ValueError(f"threshold must be a fraction in [0, 10), got {self.threshold!r}")
        if self.floor is not None and not self.floor >= 0:
            raise ValueError(f"floor must be a non-negative number, got {self.floor!r}")


def default_policy(metric: str) -> MetricPolicy:
    """A metric's policy before any rule: its registry row, or the default row
    (5 %, shown, not gating) for metrics of other tools.

    Looked up when called, so a row added to perfaction.metrics applies at once.
    """
    return _policy_of_row(metrics.metric_info(metric))


@functools.lru_cache(maxsize=256)
def _policy_of_row(row: metrics.MetricInfo) -> MetricPolicy:
    # cached: resolve() runs for every benchmark x metric of a run
    return MetricPolicy(row.threshold, floor=row.floor, gating=row.gates)


# The harness sizes its memory pass for this alpha (harness/schedule.py
# GATE_ALPHA; a unit test keeps them equal).
DEFAULT_ALPHA = 0.01

ACCEPTED_FORMS = ("time:5%, memory:10%, peak_memory:10%:floor=16KiB, orderbook_*:time:8%, "
                  "latency_p99:10%:gate, cpu_time:report, legacy_*:ignore, "
                  "orderbook_*:latency:ignore, alpha:0.01")

_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
_GLOB_CHARS = set("*?[")
_PERCENT = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*%$")
_SIZE = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*(B|KiB|MiB|GiB|kB|KB|MB|GB)?$")
_SIZE_FACTORS = {None: 1, "B": 1, "KiB": KIB, "MiB": KIB ** 2, "GiB": KIB ** 3,
                 "kB": 1000, "KB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3}


@dataclass(frozen=True)
class Rule:
    """One parsed rule; fields left None do not change what earlier rules set."""

    subject: str                      # metric name, kind name or "*"
    pattern: str | None = None        # benchmark glob; None = every benchmark
    threshold: float | None = None
    floor: float | None = None
    gate: bool | None = None
    ignore: bool = False
    text: str = ""                    # the rule as written, for messages

    def applies_to(self, benchmark: str, metric: str) -> bool:
        if self.pattern is not None and not fnmatch.fnmatchcase(benchmark, self.pattern):
            return False
        return (self.subject == "*" or self.subject == metric
                or metric in metrics.kind_members(self.subject))

    def specificity(self) -> tuple[int, int]:
        # "time" is both a kind and a metric name; written in a rule it means the kind.
        level = 0 if self.subject == "*" else 1 if metrics.is_kind(self.subject) else 2
        return (self.pattern is not None, level)


@dataclass(frozen=True)
class Policy:
    """Thresholds, floors, gating and ignores for a run; ``resolve`` answers per metric."""

    rules: tuple[Rule, ...] = ()
    alpha: float = DEFAULT_ALPHA     # family-wise error rate of the gate (Holm)
    confidence: float = 0.95         # level of the displayed interval
    power: float = 0.8               # for the smallest detectable change

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        if not 0.0 < self.alpha < 0.5:
            raise ConfigError(f"alpha must be between 0 and 0.5, got {self.alpha!r}; "
                              "0.01 is the default")
        if not 0.5 <= self.confidence < 1.0:
            raise ConfigError(f"confidence must be in [0.5, 1), got {self.confidence!r}")
        if not 0.0 < self.power < 1.0:
            raise ConfigError(f"power must be between 0 and 1, got {self.power!r}")
        ordered = sorted(enumerate(self.rules), key=lambda item: (item[1].specificity(), item[0]))
        object.__setattr__(self, "_ordered", tuple(rule for _, rule in ordered))

    # -- construction -------------------------------------------------------

    @classmethod
    def parse(cls, spec: str | Sequence[str] | None) -> Policy:
        """Parse a spec string or a list of them; raises ConfigError naming the bad rule."""
        rules: list[Rule] = []
        alpha = DEFAULT_ALPHA
        for text in _split_rules(spec):
            parts = text.split(":")
            if len(parts) == 2 and parts[0].strip().lower() == "alpha":
                alpha = _parse_alpha(text)
            else:
                rules.append(_parse_rule(text))
        return cls(tuple(rules), alpha=alpha)

    @classmethod
    def from_file(cls, path: str | Path) -> Policy:
        """One rule per line (commas also work); ``#`` starts a comment."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the threshold file {str(path)!r}: {exc.strerror or exc}; "
                              "check the path") from exc
        try:
            return cls.parse(text)
        except ConfigError as exc:
            raise ConfigError(f"threshold file {str(path)!r}: {exc}") from exc

    def unmatched(self, measured: Iterable[str]) -> list[str]:
        """A note for each rule whose metric this run does not have.

        Such a rule applies to nothing: a typo (``tme:5%``) would leave the
        meant metric at its default unseen. A name is not refused when the
        rule is read, because other tools' result files bring metrics of their
        own; the run's data says which names exist.
        """
        names = set(measured)
        known = sorted(names | {m.name for m in metrics.in_display_order()}
                       | {f.name for f in metrics.families() if f.rule_kind})
        notes = []
        for rule in self.rules:
            if rule.subject == "*" or rule.subject in names or (
                    metrics.is_kind(rule.subject)
                    and names.intersection(metrics.kind_members(rule.subject))):
                continue
            close = difflib.get_close_matches(rule.subject, known, n=1, cutoff=0.6)
            notes.append(f"threshold rule {rule.text!r} names the metric {rule.subject!r}, which "
                         "this run does not have, so it applied to nothing"
                         + (f"; did you mean {close[0]!r}?" if close else ""))
        return notes

    @classmethod
    def from_sources(cls, spec: str | None = None, file: str | Path | None = None) -> Policy:
        """Rules from a file, then inline rules (later rules win among equals).

        The CLI's --thresholds/--thresholds-file and the action's thresholds /
        thresholds-file inputs both come through here.
        """
        texts = []
        if file:
            cls.from_file(file)     # reports a bad rule with the file's name
            texts.append(Path(file).read_text(encoding="utf-8"))
        if spec:
            texts.append(spec)
        # One parse of both, in order: an inline alpha overrides the file's,
        # whatever value either has.
        return cls.parse(texts)

    # -- queries ------------------------------------------------------------

    def benchmark_ignored(self, benchmark: str) -> bool:
        """True when a ``GLOB:ignore`` rule drops the whole benchmark."""
        return any(r.ignore and r.subject == "*" and r.pattern is not None
                   and fnmatch.fnmatchcase(benchmark, r.pattern) for r in self.rules)

    def resolve(self, benchmark: str, metric: str) -> MetricPolicy:
        """The threshold, floor, gating and ignore state for one benchmark x metric."""
        result = default_policy(metric)
        for rule in self._ordered:  # type: ignore[attr-defined]
            if rule.applies_to(benchmark, metric):
                result = _apply(result, rule)
        return result

    def thresholds(self) -> tuple[Threshold, ...]:
        """The rules as the report footer states them: defaults first, then per-benchmark."""
        out = []
        seen: set[str] = set()
        for kind, members in metrics.default_rule_lines():
            resolved = {self.resolve("", m) for m in members}
            if len(resolved) == 1:
                out.append(_threshold(kind, None, resolved.pop()))
            else:
                out.extend(_threshold(m, None, self.resolve("", m)) for m in members)
            seen.update(members)
        for rule in self.rules:
            if rule.pattern is None and rule.subject not in seen \
                    and not metrics.is_kind(rule.subject) and rule.subject != "*":
                out.append(_threshold(rule.subject, None, self.resolve("", rule.subject)))
                seen.add(rule.subject)
        for rule in self.rules:
            if rule.pattern is not None:
                subject = (metrics.kind_members(rule.subject) or (rule.subject,))[0]
                gating = rule.gate if rule.gate is not None else self.resolve("", subject).gating
                out.append(Threshold(metric=rule.subject, relative=rule.threshold,
                                     pattern=rule.pattern, absolute_floor=rule.floor,
                                     ignored=rule.ignore, gating=gating and not rule.ignore))
        return tuple(out)


def _threshold(metric: str, pattern: str | None, policy: MetricPolicy) -> Threshold:
    return Threshold(metric=metric, relative=policy.threshold, pattern=pattern,
                     absolute_floor=policy.floor, ignored=policy.ignored, gating=policy.gating)


class _Changes(TypedDict, total=False):
    """The MetricPolicy fields one rule sets."""

    threshold: float
    floor: float
    gating: bool
    ignored: bool


def _apply(current: MetricPolicy, rule: Rule) -> MetricPolicy:
    changes: _Changes = {}
    if rule.threshold is not None:
        changes["threshold"] = rule.threshold
    if rule.floor is not None:
        changes["floor"] = rule.floor
    if rule.gate is not None:
        changes["gating"] = rule.gate
    if rule.ignore:
        changes["ignored"] = True
    return replace(current, **changes) if changes else current


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------

def _split_rules(spec: str | Sequence[str] | None) -> Iterable[str]:
    if spec is None:
        return
    texts = [spec] if isinstance(spec, str) else list(spec)
    for text in texts:
        if not isinstance(text, str):
            raise ConfigError(f"threshold rules must be strings, got {text!r}; "
                              f"accepted forms: {ACCEPTED_FORMS}")
        for line in text.splitlines():
            line = line.split("#", 1)[0]
            for part in line.split(","):
                part = part.strip()
                if part:
                    yield part


def _bad(text: str, problem: str) -> ConfigError:
    return ConfigError(f"threshold rule {text!r}: {problem}; accepted forms: {ACCEPTED_FORMS}")


def _parse_alpha(text: str) -> float:
    value = text.split(":", 1)[1].strip() if ":" in text else ""
    try:
        alpha = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise _bad(text, f"alpha must be a number such as 0.01, got {value!r}") from None
    if not 0.0 < alpha < 0.5:
        raise _bad(text, f"alpha must be between 0 and 0.5, got {value!r}")
    return alpha


def _is_setting(token: str) -> bool:
    token = token.strip().lower()
    return (token in ("ignore", "gate", "report") or token.startswith("floor=")
            or bool(_PERCENT.match(token)))


def _parse_rule(text: str) -> Rule:
    parts = [p.strip() for p in text.split(":")]
    if any(not p for p in parts):
        raise _bad(text, "empty part between colons")
    first_setting = next((i for i, p in enumerate(parts) if _is_setting(p)), None)
    if first_setting is None:
        raise _bad(text, "no setting: end the rule with a threshold like 5%, "
                         "or gate, report, floor=16KiB, ignore")
    heads, settings = parts[:first_setting], parts[first_setting:]
    bad_setting = next((s for s in settings if not _is_setting(s)), None)
    if bad_setting is not None:
        raise _bad(text, f"{bad_setting!r} is not a setting (N%, floor=SIZE, gate, report, ignore)")
    pattern, subject = _parse_heads(text, heads, settings)
    rule = Rule(subject=subject, pattern=pattern, text=text)
    for setting in settings:
        rule = _parse_setting(text, rule, setting)
    if rule.ignore and (rule.threshold is not None or rule.floor is not None or rule.gate is not None):
        raise _bad(text, "'ignore' cannot be combined with other settings")
    return rule


def _parse_heads(text: str, heads: list[str], settings: list[str]) -> tuple[str | None, str]:
    if len(heads) == 1:
        (only,) = heads
        is_glob = bool(_GLOB_CHARS & set(only))
        known = metrics.is_known(only) or metrics.is_kind(only) or only == "*"
        if settings == ["ignore"] and (is_glob or not known):
            return only, "*"                 # GLOB:ignore drops benchmarks
        if is_glob and only != "*":
            raise _bad(text, f"{only!r} looks like a benchmark pattern: name the metric too, "
                             f"as in {only}:time:8%")
        if not _NAME.match(only) and only != "*":
            raise _bad(text, f"{only!r} is not a metric name")
        return None, only
    if len(heads) == 2:
        pattern, subject = heads
        if subject != "*" and not _NAME.match(subject):
            raise _bad(text, f"{subject!r} is not a metric name")
        return pattern, subject
    if not heads:
        raise _bad(text, "name a metric before the setting, as in time:5%")
    raise _bad(text, "too many parts before the setting (at most BENCHMARK_GLOB:METRIC)")


def _parse_setting(text: str, rule: Rule, setting: str) -> Rule:
    lowered = setting.lower()
    if lowered == "ignore":
        return replace(rule, ignore=True)
    if lowered in ("gate", "report"):
        return replace(rule, gate=lowered == "gate")
    if lowered.startswith("floor="):
        return replace(rule, floor=_parse_size(text, setting.split("=", 1)[1].strip()))
    percent = float(_PERCENT.match(lowered).group(1))  # type: ignore[union-attr]
    if not 0 <= percent < 1000 or math.isnan(percent):
        raise _bad(text, f"threshold must be at least 0% and below 1000%, got {setting!r}")
    return replace(rule, threshold=percent / 100.0)


def _parse_size(text: str, value: str) -> float:
    match = _SIZE.match(value)
    if not match:
        raise _bad(text, f"floor must be a size such as 16KiB, 1MiB or 4096 (bytes), got {value!r}")
    return float(match.group(1)) * _SIZE_FACTORS[match.group(2)]
