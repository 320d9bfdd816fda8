"""The words for a decision's reason: ``Reason(code, facts)`` becomes one plain sentence.

compare.py decides and records why as data (analysis/comparison.py lists the
codes); every sentence a reader sees is written here, so wording changes
touch no statistics (tests/unit/test_reasons.py fails for a code without words). A delta
read from an older comparison file, or built by hand, carries its sentence in
``Delta.reason`` instead, which ``reason_text`` returns as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from perfaction.analysis.comparison import Delta, Reason
from perfaction.metrics import LATENCY_PASS, MEMORY_PASS

Facts = Mapping[str, Any]

# What gives a pass of some processes only (metrics.PASSES) more samples.
# Latency runs in a fixed first few processes of each benchmark, with no knob:
# the way out is not to gate on it.
_MORE_PROCESSES = {
    MEMORY_PASS: "measure memory in more processes (--memory-processes)",
    LATENCY_PASS: "gate on time instead and leave latency report-only (its default)",
}


# Advice the report gives once, above the undecided rows (the template's
# undecided_note): a row may leave it out and keep only what is its own.
GENERAL_ADVICE = ("more_budget", "more_budget_or_same_runner")


def reason_text(delta: Delta, *, general_advice: bool = True) -> str:
    """The sentence explaining ``delta``'s verdict.

    ``general_advice=False`` drops advice in GENERAL_ADVICE, for a row
    under a line that gives it for all.

    A reason read from a file may lack a fact its sentence needs, or hold one
    no sentence can print (a damaged or hand-edited comparison: a string for a
    number, an integer beyond the float range): the file's own sentence stands
    in for it then.
    """
    if delta.why is None:
        return delta.reason
    try:
        if not general_advice and delta.why.code in _SAID_ONCE:
            return _SAID_ONCE[delta.why.code](delta.why.facts)
        if not general_advice and delta.why.facts.get("advice") in GENERAL_ADVICE:
            return describe(Reason(delta.why.code, {**delta.why.facts, "advice": None}))
        return describe(delta.why)
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return delta.reason or f"({delta.why.code})"


# Reasons the report explains in one line above the undecided rows
# (summary_only_note): the row keeps only which side it is.
_SAID_ONCE: dict[str, Callable[[Facts], str]] = {
    "summary_only": lambda f: (f"{'the baseline' if f['side'] == 'baseline' else 'this run'} "
                               "holds a summary only: no test"),
}


def describe(reason: Reason) -> str:
    return _SENTENCES[reason.code](reason.facts)


# ---------------------------------------------------------------------------
# Numbers in words
# ---------------------------------------------------------------------------

def _pct(value: float, *, sign: bool = True) -> str:
    return f"{value * 100:+.1f}%" if sign else f"{value * 100:.1f}%"


def _limit(value: float) -> str:
    return f"{value * 100:.3g}%"


def _amount(value: float, unit: str) -> str:
    if unit == "B":
        for factor, name in ((1024 ** 3, "GiB"), (1024 ** 2, "MiB"), (1024, "KiB")):
            if abs(value) >= factor:
                return f"{value / factor:.1f} {name}"
        return f"{value:.0f} B"
    return f"{value:.3g} {unit}"


def _tests(count: int) -> str:
    return f"{count} test" if count == 1 else f"{count} tests"


def _change(f: Facts) -> str:
    """The estimated change: relative when the estimate has one, else an amount from zero."""
    if f["change"] is not None:
        return _pct(f["change"])
    return f"{'+' if f['shift'] > 0 else ''}{_amount(f['shift'], f['unit'])} from zero"


def _correction(f: Facts, relation: str) -> str:
    # files written before max-T existed name no correction: theirs was Holm
    return (f"{f.get('correction', 'Holm')} correction over {_tests(f['tests'])} (adjusted p "
            f"{f['p_adjusted']:.2g} {relation} {f['alpha']:g})")


# ---------------------------------------------------------------------------
# Undecided: what was missing, and what would give the metric more samples
# ---------------------------------------------------------------------------

def _then_advice(f: Facts) -> str:
    """``": <advice>"``, or nothing when the advice was left out (GENERAL_ADVICE)."""
    return "" if f["advice"] is None else f": {_advice(f)}"


def _advice(f: Facts) -> str:
    advice = f["advice"]
    if advice == "partial":
        knob = _MORE_PROCESSES.get(f["pass"] or "", "measure it in more processes")
        return (f"{f['metric']} is measured in {f['measured_base']} of {f['processes_base']} "
                f"processes (base) and {f['measured_head']} of {f['processes_head']} (head); a larger "
                f"budget adds no samples: {knob}")
    return {"count_processes": ("count in more processes (--count-processes), or find what "
                                "makes the counts differ between processes"),
            "more_processes": "raise the time budget or the process count",
            "more_budget": "raise the time budget",
            "more_budget_or_same_runner": "raise the time budget or use same-runner mode"}[advice]


def _seen(f: Facts) -> str:
    if f["detectable"] is None:
        return "the run's noise is unknown"
    return f"the run could only have detected changes above {_pct(f['detectable'], sign=False)}"


def _too_few(f: Facts) -> str:
    return (f"too few processes (base {f['n_base']}, head {f['n_head']}) for any test to pass "
            f"alpha {f['alpha']:g} over {_tests(f['tests'])}; at least {f['needed']} per side are "
            f"needed{_then_advice(f)}")


def _not_significant(f: Facts) -> str:
    return (f"{_change(f)} is beyond the {_limit(f['threshold'])} threshold but not significant "
            f"after {_correction(f, '>')}; {_seen(f)}{_then_advice(f)}")


def _too_noisy(f: Facts) -> str:
    return f"{_change(f)} is within ±{_limit(f['threshold'])}, but {_seen(f)}{_then_advice(f)}"


# ---------------------------------------------------------------------------
# Decided
# ---------------------------------------------------------------------------

def _and_floor(f: Facts) -> str:
    return f" and the {_amount(f['floor'], f['unit'])} floor" if f["floor"] is not None else ""


def _significant(f: Facts) -> str:
    return (f"{_change(f)} is beyond the {_limit(f['threshold'])} threshold{_and_floor(f)} and "
            f"significant after {_correction(f, '<=')}")


def _within_floor(f: Facts) -> str:
    return (f"the change of {_amount(f['difference'], f['unit'])} is within the "
            f"{_amount(f['floor'], f['unit'])} floor")


def _interval_within(f: Facts) -> str:
    return (f"the whole interval ({_pct(f['low'])} .. {_pct(f['high'])}) lies within "
            f"±{_limit(f['threshold'])}")


def _within_threshold(f: Facts) -> str:
    return (f"{_change(f)} is within ±{_limit(f['threshold'])} and the run could have detected a "
            f"change of {_pct(f['detectable'], sign=False)}")


def _constant(f: Facts) -> str:
    return (f"every process measured the same value on each side ({f['n_base']} base, "
            f"{f['n_head']} head)")


def _identical(f: Facts) -> str:
    return f"{_constant(f)}, {_amount(f['value'], f['unit'])} on both: nothing changed"


def _exact_change(f: Facts) -> str:
    return (f"{_change(f)}, exactly: {_constant(f)}; beyond the {_limit(f['threshold'])} "
            f"threshold{_and_floor(f)}")


def _exact_within_threshold(f: Facts) -> str:
    return (f"{_change(f)}, exactly: {_constant(f)}; within ±{_limit(f['threshold'])}")


# ---------------------------------------------------------------------------
# Withheld: the runner explains the change as well as the code
# ---------------------------------------------------------------------------

_CONFIRM = ("confirm it with mode: same-runner, which measures the base commit and this one "
            "side by side on one runner")


def _moved(f: Facts) -> str:
    change = _pct(f["change"]) if f.get("change") is not None else "the change"
    return f"{change} would have been {'a regression' if f['was'] == 'regressed' else 'an improvement'}"


def _runner_busy(f: Facts) -> str:
    evidence = []
    if f["machine"]:
        evidence.append(f"the machine was busy while {f['side']} measured ({f['machine']})")
    if f["utilisation_base"] is not None:
        evidence.append(f"CPU utilisation went from {_pct(f['utilisation_base'], sign=False)} "
                        f"(baseline) to {_pct(f['utilisation_head'], sign=False)} (this run), "
                        "so the wall time moved by waiting, not by computing")
    return (f"{_moved(f)}, but the runner explains it as well as the code: "
            f"{'; '.join(evidence)}; {_CONFIRM}")


def _runner_slower(f: Facts) -> str:
    pace = "slower" if f["reference_change"] > 0 else "faster"
    return (f"{_moved(f)}, but the runner itself ran {pace} than when the baseline was measured "
            f"(its speed reference {_pct(f['reference_change'])}; what remains is "
            f"{_pct(f['adjusted'])}); {_CONFIRM}")


def _suite_shift(f: Facts) -> str:
    reference = ("" if f.get("reference_change") is None
                 else f", and so did the runner's speed reference ({_pct(f['reference_change'])})")
    return (f"{_moved(f)}, but {f['moved']} of {f['compared']} benchmarks moved together "
            f"(median {_pct(f['median_change'])}){reference}, as a slower or busier runner "
            f"makes them; {_CONFIRM}")


def _unconfirmed(f: Facts) -> str:
    return (f"{_moved(f)} against the stored baseline, but it could not be confirmed on this "
            f"runner ({f['why']}); the action measures the base commit side by side when the "
            "checkout has it (actions/checkout with fetch-depth: 0)")


_SENTENCES: dict[str, Callable[[Facts], str]] = {
    "failed": lambda f: f"failed in this run: {f['error']}",
    "no_baseline": lambda f: "no baseline to compare with",
    "runner_busy": _runner_busy,
    "runner_slower": _runner_slower,
    "unconfirmed": _unconfirmed,
    "suite_shift": _suite_shift,
    "not_in_baseline": lambda f: "not in the baseline",
    "failed_in_baseline": lambda f: f"failed in the baseline: {f['error']}",
    "not_in_this_run": lambda f: "in the baseline but not in this run",
    "metric_not_in_baseline": lambda f: "metric not in the baseline",
    "metric_not_measured": lambda f: "metric not measured in this run",
    "counting_differs": lambda f: (
        f"counted under a different {f['fields']} than the baseline: instruction counts "
        "differ between builds and instruction sets, so they are not compared; measure a new "
        "baseline in this environment"),
    "params_differ": lambda f: f"parameters differ (base {f['base']}, head {f['head']})",
    "units_differ": lambda f: f"units differ (base {f['base']}, head {f['head']})",
    "direction_differs": lambda f: (f"direction differs (base {f['base']} is better, "
                                    f"head {f['head']} is better)"),
    "summary_only": lambda f: (f"{'the baseline' if f['side'] == 'baseline' else 'this run'} "
                               "holds one summary value and no per-process samples (another "
                               "tool's summary, or one process of pytest-benchmark), so no test "
                               "is possible; measure both sides with perfaction (or pyperf) to "
                               "decide"),
    "significant": _significant,
    "within_floor": _within_floor,
    "interval_within": _interval_within,
    "within_threshold": _within_threshold,
    "identical": _identical,
    "exact_change": _exact_change,
    "exact_within_threshold": _exact_within_threshold,
    "too_few_processes": _too_few,
    "not_significant": _not_significant,
    "too_noisy": _too_noisy,
}
