"""The run-wide correction: which tests are corrected together, by what, at what level.

Tests come in two families, as the verdicts are read: the gating tests,
whose false alarms fail a job, and the report-only ones. Within a family:

- the paired tests of a same-runner run that share their rounds (every
  process of both sides, the same number of rounds: the largest such group)
  are corrected together by sign-flip max-T (maxt.py), whose smallest
  adjusted p-value does not grow with the number of benchmarks; a suite
  merged from shards has one such group per shard ("block", its own rounds),
  and max-T flips each block's rounds on their own;
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
from perfaction.analysis.maxt import sign_flip_maxt_blocks

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
    block: int | None = None             # whose rounds they are: a merged suite's shard (None: the run's)


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
    blocks = _max_t_blocks(family)
    group = [i for block in blocks for i in block]          # the max-T columns, block by block
    in_group = set(group)
    rest = [i for i in range(m) if i not in in_group]
    results = []
    if group:
        share = len(group) / m
        maxt = sign_flip_maxt_blocks([np.column_stack([_rounds(family[i]) for i in block])
                                      for block in blocks])
        test_alpha, smallest = maxt.per_test_alpha(alpha * share), maxt.column_smallest_p
        for column, i in enumerate(group):
            c = family[i]
            greater, less = float(maxt.p_greater[column]), float(maxt.p_less[column])
            worse, better = (greater, less) if c.worse_is_greater else (less, greater)
            results.append((i, Adjusted(min(1.0, worse / share), min(1.0, better / share), m,
                                        MAX_T, float(test_alpha[column]),
                                        min(1.0, float(smallest[column]) / share), share)))
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


def _max_t_blocks(family: list[Candidate]) -> list[list[int]]:
    """The max-T group, one list per block: in each, the paired tests sharing its most common
    number of rounds. Empty unless they are at least two in all.

    A block with a single such test joins the others. Max-T needs the columns
    of a block to share its rounds, not the blocks to share anything: each
    block's rounds flip on their own, so under the null the lone column is as
    exchangeable as any other. Joined, it gets the sign-flip p-value of its own
    rounds adjusted over the group (about Sidak's where it is independent of
    the rest); left out, it would take 1/m of alpha to Holm's part, whose first
    step is Bonferroni's alpha / m, and the group's share would shrink by as
    much. A lone test in all stays with Holm, as before blocks: max-T over one
    column has nothing to share.
    """
    by_block: dict[int | None, dict[int, list[int]]] = {}
    for i, c in enumerate(family):
        if c.rounds is not None and len(c.rounds) >= 2:
            by_block.setdefault(c.block, {}).setdefault(len(c.rounds), []).append(i)
    blocks = [max(by_rounds.values(), key=len) for by_rounds in by_block.values()]
    return blocks if sum(len(block) for block in blocks) >= 2 else []


def rounds_needed(share: float, alpha: float) -> int:
    """Fewest rounds for which max-T can reach alpha at all: 2**-n <= alpha * share."""
    return max(1, math.ceil(-math.log2(alpha * share) - 1e-12))
