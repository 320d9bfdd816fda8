"""Sign-flip max-T over blocks of rounds that flip independently: the shards of a merged suite."""

from __future__ import annotations

import numpy as np
import pytest

from perfaction.analysis import maxt
from perfaction.analysis.compare import compare_suites
from perfaction.analysis.comparison import Verdict
from perfaction.analysis.correction import HOLM, MAX_T, Candidate, correct
from perfaction.analysis.maxt import EXACT_ROUNDS, capped, paired_t, sign_flip_maxt, sign_flip_maxt_blocks
from perfaction.analysis.policy import Policy
from perfaction.results.model import Benchmark, Environment, Metric, Suite

ENV = Environment(cpu_model="x", logical_cores=2, python_version="3.13")


def _single_matrix_maxt(differences: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """max-T as it was computed before blocks existed, step for step: the reference."""
    values = capped(differences)
    rounds, tests = values.shape
    squares = (values ** 2).sum(axis=0)
    observed = paired_t(values.sum(axis=0), squares, rounds)
    exact = rounds <= EXACT_ROUNDS
    patterns = 2 ** rounds if exact else maxt.SAMPLED_PATTERNS + 1
    counts = {"greater": np.zeros(tests), "less": np.zeros(tests)}
    orders = {"greater": np.argsort(-observed, kind="mergesort"),
              "less": np.argsort(observed, kind="mergesort")}
    maxima = []
    chunk = max(1, maxt._CHUNK_CELLS // max(tests, rounds, 1))
    for signs in maxt._patterns(rounds, exact, maxt._SEED, chunk):
        null = paired_t(signs @ values, squares, rounds)
        maxima.append(np.abs(null).max(axis=1))
        for direction, sign in (("greater", 1.0), ("less", -1.0)):
            order = orders[direction]
            ranked = sign * null[:, order]
            successive = np.maximum.accumulate(ranked[:, ::-1], axis=1)[:, ::-1]
            target = sign * observed[order]
            reached = successive >= target - 1e-9 * np.maximum(np.abs(target), 1.0)
            counts[direction][order] += reached.sum(axis=0)
    adjusted = {}
    for direction, order in orders.items():
        ranked = np.maximum.accumulate((counts[direction] / patterns)[order])
        adjusted[direction] = np.empty(tests)
        adjusted[direction][order] = np.minimum(ranked, 1.0)
    return adjusted["greater"], adjusted["less"], patterns, np.concatenate(maxima)


@pytest.mark.parametrize(("rounds", "tests"), [(6, 1), (9, 40), (EXACT_ROUNDS, 3), (EXACT_ROUNDS + 3, 25)])
def test_one_block_gives_the_single_matrix_result_bit_for_bit(rounds, tests):
    d = np.random.default_rng(rounds * tests).standard_t(3, size=(rounds, tests)) * 0.05 + 0.01
    greater, less, patterns, maxima = _single_matrix_maxt(d)
    for result in (sign_flip_maxt_blocks([d]), sign_flip_maxt(d)):
        assert np.array_equal(result.p_greater, greater) and np.array_equal(result.p_less, less)
        assert np.array_equal(result.max_statistics, maxima) and result.patterns == patterns
        assert result.smallest_p == 1.0 / patterns
        assert np.array_equal(result.column_rounds, np.full(tests, rounds))


def test_a_shift_in_one_block_stands_out_and_the_unchanged_columns_do_not():
    rng = np.random.default_rng(17)
    first = rng.normal(0.0, 0.02, size=(7, 5))
    second = rng.normal(0.0, 0.02, size=(8, 5))
    second[:, 2] += np.log(1.30)
    result = sign_flip_maxt_blocks([first, second])
    assert result.exact and result.patterns == 2 ** 15
    assert result.p_greater[5 + 2] == pytest.approx(2.0 ** -8)      # its block's 8 rounds, no more
    others = np.delete(result.p_greater, 5 + 2)
    assert others.min() > 0.2 and result.p_less.min() > 0.2


def _null_blocks(rng) -> list[np.ndarray]:
    """Identical code, 2-3 shards: each round's load moves its shard's benchmarks, heavy tails."""
    blocks = []
    for _ in range(rng.integers(2, 4)):
        rounds, tests = int(rng.integers(6, 11)), int(rng.integers(3, 7))
        load = rng.standard_t(3, size=(rounds, 1)) * 0.05
        blocks.append(load * rng.uniform(0.5, 1.5, size=(1, tests))
                      + rng.standard_t(3, size=(rounds, tests)) * 0.02)
    return blocks


def test_identical_code_raises_a_false_alarm_in_at_most_alpha_of_the_runs():
    rng = np.random.default_rng(4242)
    runs = 300
    results = [sign_flip_maxt_blocks(_null_blocks(rng)) for _ in range(runs)]
    for direction in ("p_greater", "p_less"):
        alarms = sum(getattr(r, direction).min() <= 0.05 for r in results)
        # 15 expected at most; 27 would be a 1-in-1000 excess under a correct test
        assert alarms <= 0.09 * runs, f"{direction}: {alarms} false alarms in {runs} runs"


@pytest.mark.parametrize("sizes", [(5, 9), (6, 12), (7, 10, 8)])
def test_no_column_gets_below_two_to_the_minus_its_own_blocks_rounds(sizes):
    # every difference positive and alike: each column as significant as its rounds allow
    rng = np.random.default_rng(sum(sizes))
    blocks = [0.1 + rng.uniform(0.0, 0.001, size=(n, 3)) for n in sizes]
    result = sign_flip_maxt_blocks(blocks)
    floors = np.repeat([2.0 ** -n for n in sizes], 3)
    assert np.all(result.p_greater >= floors) and np.all(result.column_smallest_p >= floors)
    assert result.exact is (sum(sizes) <= EXACT_ROUNDS)
    # the most significant column reaches its own block's floor (sampled: about)
    top = result.p_greater.argmin()
    assert result.p_greater[top] == pytest.approx(floors[top], rel=0 if result.exact else 0.5)
    assert result.smallest_p == floors.min()


def test_per_test_alpha_uses_each_columns_own_rounds():
    rng = np.random.default_rng(3)
    result = sign_flip_maxt_blocks([rng.normal(size=(7, 4)), rng.normal(size=(9, 4))])
    levels = result.per_test_alpha(0.01)
    assert levels.shape == (8,) and len(set(levels[:4])) == 1 and len(set(levels[4:])) == 1
    assert levels[0] != levels[4] and np.all(levels >= result.column_smallest_p / 2)


# ---------------------------------------------------------------------------
# In the correction: one max-T group of the blocks' groups
# ---------------------------------------------------------------------------

def _candidate(rounds: np.ndarray, block: int | None) -> Candidate:
    return Candidate(True, 0.5, 0.5, 2.0 ** -len(rounds), True, rounds, block)


def test_blocks_join_one_max_t_group_a_lone_test_of_a_block_included():
    rng = np.random.default_rng(9)
    family = [_candidate(rng.normal(size=10), 1) for _ in range(3)] + [_candidate(rng.normal(size=12), 2)]
    adjusted = correct(family, 0.01)
    assert {a.correction for a in adjusted} == {MAX_T} and {a.part_share for a in adjusted} == {1.0}
    assert [a.smallest for a in adjusted] == [2.0 ** -10] * 3 + [2.0 ** -12]


def test_without_blocks_the_most_common_rounds_alone_get_max_t():
    rng = np.random.default_rng(9)
    family = [_candidate(rng.normal(size=10), None) for _ in range(3)] + [_candidate(rng.normal(size=12), None)]
    assert [a.correction for a in correct(family, 0.01)] == [MAX_T] * 3 + [HOLM]


def test_a_lone_paired_test_in_all_stays_with_holm():
    assert correct([_candidate(np.ones(10), 2)], 0.01)[0].correction == HOLM


# ---------------------------------------------------------------------------
# In a comparison: a same-runner suite merged from two shards
# ---------------------------------------------------------------------------

def _shard(rng, shard: int, rounds: int, benchmarks: int, slowed: float):
    """Base and head benchmarks of one shard's same-runner job: one time value per process."""
    load = np.exp(rng.normal(0.0, 0.05, size=(rounds, 1)))        # shared by both sides of a round
    centers = np.geomspace(1e-5, 1e-3, benchmarks)
    sides = [centers * load * np.exp(rng.normal(0.0, 0.01, size=(rounds, benchmarks))) for _ in range(2)]
    sides[1][:, 0] *= slowed
    return [[Benchmark(f"s{shard}_b{j}", {"time": Metric(unit="s", samples=tuple(
        (float(v),) for v in side[:, j]))}, shard=shard) for j in range(benchmarks)] for side in sides]


def _merged(shards) -> tuple[Suite, Suite]:
    return (Suite(tuple(b for base, _ in shards for b in base), environment=ENV),
            Suite(tuple(b for _, head in shards for b in head), environment=ENV))


def test_a_merged_suite_corrects_every_paired_test_by_max_t_and_flags_the_slowed_one():
    rng = np.random.default_rng(31)
    base, head = _merged([_shard(rng, 1, 10, 6, 1.0), _shard(rng, 2, 12, 6, 1.30)])
    comparison = compare_suites(base, head, Policy(), mode="same-runner")
    assert comparison.correction == MAX_T and comparison.gating_tests == 12
    slowed = next(d for d in comparison.deltas if d.benchmark == "s2_b0")
    assert slowed.verdict is Verdict.REGRESSED
    assert slowed.why.facts["correction"] == MAX_T and slowed.why.facts["tests"] == 12
    others = [d for d in comparison.deltas if d.benchmark != "s2_b0"]
    assert not any(d.verdict in (Verdict.REGRESSED, Verdict.IMPROVED) for d in others)


def test_the_same_suite_without_shards_splits_its_rounds_between_max_t_and_holm():
    # the contrast: unmerged, 10 and 12 rounds do not share rounds, the smaller part gets Holm
    rng = np.random.default_rng(31)
    shards = [_shard(rng, 1, 10, 6, 1.0), _shard(rng, 2, 12, 6, 1.30)]
    base, head = (Suite(tuple(Benchmark(b.name, b.metrics) for b in suite.benchmarks), environment=ENV)
                  for suite in _merged(shards))
    comparison = compare_suites(base, head, Policy(), mode="same-runner")
    assert comparison.correction == f"{MAX_T}/{HOLM}"
