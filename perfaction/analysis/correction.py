"""The run-wide correction: which tests are corrected together, by what, at what level.

Tests come in two families, as the verdicts are read: the gating tests,
whose false alarms fail a job, and the report-only ones. Within a family:

- the paired tests of a same-runner run that share their rounds (every
  process of both sides, the same number of rounds: the largest such group)
  are corrected together by sign-flip max-T (maxt.py), whose smallest
  adjusted p-value does not grow with the number of benchmarks;
- every other test (baseline mode, metrics of some processes only) by Holm;
- the two parts share alpha in proportion to their number of tests
  (Bonferroni between the parts), so the family-wise error stays at alpha.

A family without a max-T group is plain Holm over all its tests, exactly as
before max-T existed: baseline mode decides as it always did.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from perfaction.analysis import stats
from perfaction.analysis.maxt import sign_flip_maxt

HOLM = "Holm"
MAX_T = "max-T"


@dataclass(frozen=True)
class Candidate:
    """One test as the correction sees it."""

    gating: bool
    p_worse: float                       # raw one-sided p-values, floored where asymptotic
    p_better: float
    smallest_raw_p: float                # the smallest raw p-value its design can give
    worse_is_greater: bool               # the worse direction is head > base
    rounds: np.ndarray | None = None     # paired differences in round order, when max-T may use them


@dataclass(frozen=True)
class Adjusted:
    """A test's adjusted p-values and what its correction amounts to."""

    worse: float
    better: float
    tests: int                # tests in its family
    correction: str           # HOLM or MAX_T
    test_alpha: float         # the single-test level the family's alpha amounts to here
    smallest: float           # the smallest adjusted p-value this test could have reached
    part_share: float         # the share of the family's alpha its part gets (1.0: all of it)


def correct(candidates: Sequence[Candidate], alpha: float) -> list[Adjusted]:
    """Adjusted p-values for every candidate, in order."""
    out: list[Adjusted | None] = [None] * len(candidates)
    for gating in (True, False):
        family = [i for i, c in enumerate(candidates) if c.gating is gating]
        for index, adjusted in _correct_family([candidates[i] for i in family], alpha):
            out[family[index]] = adjusted
    return out  # type: ignore[return-value]


def _correct_family(family: list[Candidate], alpha: float) -> list[tuple[int, Adjusted]]:
    m = len(family)
    group = _max_t_group(family)
    in_group = set(group)
    rest = [i for i in range(m) if i not in in_group]
    results = []
    if group:
        share = len(group) / m
        matrix = np.column_stack([_rounds(family[i]) for i in group])
        maxt = sign_flip_maxt(matrix)
        test_alpha = maxt.per_test_alpha(alpha * share)
        for column, i in enumerate(group):
            c = family[i]
            greater, less = float(maxt.p_greater[column]), float(maxt.p_less[column])
            worse, better = (greater, less) if c.worse_is_greater else (less, greater)
            results.append((i, Adjusted(min(1.0, worse / share), min(1.0, better / share), m,
                                        MAX_T, test_alpha, min(1.0, maxt.smallest_p / share),
                                        share)))
    if rest:
        share = len(rest) / m
        holm_worse = stats.holm([family[i].p_worse for i in rest])
        holm_better = stats.holm([family[i].p_better for i in rest])
        for i, w, b in zip(rest, holm_worse, holm_better, strict=True):
            # Holm within the part at alpha * share is Holm's adjusted p / share against alpha;
            # its first step is alpha / m, as plain Holm over the whole family.
            results.append((i, Adjusted(min(1.0, w / share), min(1.0, b / share), m, HOLM,
                                        alpha / m, min(1.0, family[i].smallest_raw_p * m), share)))
    return results


def _rounds(candidate: Candidate) -> np.ndarray:
    if candidate.rounds is None:
        raise ValueError("a max-T test needs its per-round differences")
    return candidate.rounds


def _max_t_group(family: list[Candidate]) -> list[int]:
    """The paired tests that share the most common number of rounds (at least two of them)."""
    by_rounds: dict[int, list[int]] = {}
    for i, c in enumerate(family):
        if c.rounds is not None and len(c.rounds) >= 2:
            by_rounds.setdefault(len(c.rounds), []).append(i)
    if not by_rounds:
        return []
    group = max(by_rounds.values(), key=len)
    return group if len(group) >= 2 else []


def rounds_needed(share: float, alpha: float) -> int:
    """Fewest rounds for which max-T can reach alpha at all: 2**-n <= alpha * share."""
    return max(1, math.ceil(-math.log2(alpha * share) - 1e-12))
