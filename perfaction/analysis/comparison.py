"""The comparison's value types: Verdict, Reason, Summary, Threshold, Delta, Comparison.

What reports render and what decides the exit code. They are computed in
compare.py (``compare_suites``) and serialised in comparison_json.py. A
decision's reason is data (a code and its numbers); report/reasons.py words it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from perfaction.results.model import Environment


class Verdict(StrEnum):
    REGRESSED = "regressed"            # significant after correction AND beyond the threshold
    IMPROVED = "improved"              # same rule, the good direction
    UNCHANGED = "unchanged"            # the run could have seen a threshold-sized change and did not
    INCONCLUSIVE = "inconclusive"      # too noisy or too few samples to tell
    NEW = "new"                        # only in head
    REMOVED = "removed"                # only in base
    FAILED = "failed"                  # the benchmark raised or timed out in head
    NOT_COMPARABLE = "not_comparable"  # units or settings differ


# Why a delta got its verdict. The facts each code carries are the numbers its
# sentence needs (report/reasons.py); a code is never reused for another meaning.
REASON_CODES = (
    # a side is missing or failed
    "failed", "no_baseline", "not_in_baseline", "failed_in_baseline", "not_in_this_run",
    "metric_not_in_baseline", "metric_not_measured",
    # not comparable, or not testable
    "params_differ", "units_differ", "direction_differs", "summary_only",
    # instruction counts taken under another Valgrind, Python build, hash seed or CPU features
    "counting_differs",
    # decided by the test
    "significant", "within_floor", "interval_within", "within_threshold",
    # decided without a test: every process of each side gave the same value (exact.py)
    "identical", "exact_change", "exact_within_threshold",
    # undecided: "advice" in the facts says what would give the metric more samples
    "too_few_processes", "not_significant", "too_noisy",
    # undecided: the runner explains the change as well as the code (contention.py)
    "runner_busy", "runner_slower", "suite_shift",
    # undecided: flagged against a stored baseline, not confirmable on this runner
    # (action/confirm.py: the base commit is not in the checkout)
    "unconfirmed",
)
# The codes of changes withheld because the runner explains them as well as the code.
RUNNER_REASONS = ("runner_busy", "runner_slower", "suite_shift")


@dataclass(frozen=True)
class Reason:
    """A decision's reason as data: a code from REASON_CODES and the numbers behind it."""

    code: str
    facts: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in REASON_CODES:
            raise ValueError(f"unknown reason code {self.code!r}; known: {', '.join(REASON_CODES)}")
        object.__setattr__(self, "facts", dict(self.facts))


@dataclass(frozen=True)
class Summary:
    """One side of a delta, summarised for display."""

    center: float                 # median of per-process values (or the stored value)
    n: int                        # per-process observations (0 for summary-only data)
    spread: float | None = None   # relative dispersion between processes (robust CV), or None


@dataclass(frozen=True)
class Threshold:
    """One rule of the policy, in the form the footer states it."""

    metric: str                   # metric name or kind ("time", "memory", ...)
    relative: float | None        # 0.05 means 5 %
    pattern: str | None = None    # benchmark glob, None for the default
    absolute_floor: float | None = None  # memory: changes smaller than this never regress
    ignored: bool = False
    gating: bool = True           # decides the job outcome (False: shown only)


@dataclass(frozen=True)
class Delta:
    """The change of one metric of one benchmark, and what we conclude."""

    benchmark: str
    metric: str
    unit: str
    direction: str
    verdict: Verdict
    base: Summary | None = None
    head: Summary | None = None
    change: float | None = None             # head / base - 1 (+0.05 = 5 % larger value)
    interval: tuple[float, float] | None = None  # confidence interval of ``change``
    p_value: float | None = None            # one-sided, raw
    p_adjusted: float | None = None         # after Holm across the run's gating tests
    q_value: float | None = None            # Benjamini-Hochberg, advisory
    threshold: float | None = None          # relative threshold that applied
    detectable: float | None = None         # smallest change this run could have detected
    gating: bool = True                     # counts towards the job outcome
    why: Reason | None = None               # why this verdict, as data (compare sets it)
    reason: str = ""                        # the same in words, when read from a file or given


@dataclass(frozen=True)
class EnvironmentMismatch:
    field: str
    base: Any
    head: Any


METHOD = ("one-sided Mann-Whitney U test on per-process values; change and interval: "
          "Hodges-Lehmann")
METHOD_SAME_RUNNER = ("one-sided Wilcoxon signed-rank test on per-round pairs (Mann-Whitney U for "
                      "metrics of some processes only), paired tests corrected together by "
                      "sign-flip max-T; change and interval: Hodges-Lehmann")
# Appended when instruction counts were compared (analysis/exact.py).
METHOD_COUNTED = ("; instruction counts: compared exactly when every process of each side "
                  "counted the same, else by the rank test")


@dataclass(frozen=True)
class Comparison:
    deltas: tuple[Delta, ...]
    base_environment: Environment | None
    head_environment: Environment
    environment_mismatches: tuple[EnvironmentMismatch, ...] = ()
    thresholds: tuple[Threshold, ...] = ()
    alpha: float = 0.01
    correction: str = "holm"
    mode: str = "baseline"                  # "baseline" or "same-runner"
    notes: tuple[str, ...] = field(default_factory=tuple)
    confidence: float = 0.95                # level of every Delta.interval
    gating_tests: int = 0                   # size of the Holm family of the gate
    method: str = METHOD                    # the test and estimate, for the report footer

    def with_verdict(self, verdict: Verdict) -> tuple[Delta, ...]:
        return tuple(d for d in self.deltas if d.verdict is verdict)

    @property
    def regressions(self) -> tuple[Delta, ...]:
        return tuple(d for d in self.deltas if d.verdict is Verdict.REGRESSED and d.gating)

    @property
    def failures(self) -> tuple[Delta, ...]:
        return self.with_verdict(Verdict.FAILED)

    def counts(self) -> dict[str, int]:
        counts = {v.value: 0 for v in Verdict}
        for delta in self.deltas:
            counts[delta.verdict.value] += 1
        return counts


MODES = ("baseline", "same-runner")
COMPARISON_FORMAT_VERSION = 1          # of the JSON form (comparison_json.py)
