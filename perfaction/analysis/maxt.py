"""Westfall-Young max-T step-down over sign flips of whole rounds, for paired A/B runs.

Holm divides alpha by the number of tests: with 100 benchmarks a signed-rank
test of n pairs must reach 0.0001, which 2**-n only does from 14 pairs on,
however large the change. Sign-flip max-T (Westfall and Young, 1993,
Algorithm 2.8) controls the same family-wise error with a smallest adjusted
p-value of 2**-n whatever the number of benchmarks, and it gains where
benchmarks move together (a busy machine slows every benchmark of a round).

The null: in a same-runner run, round i measured base and head side by side
in random order. If the code did not change, the two labels of every round
are exchangeable, so negating every difference of round i (all benchmarks
at once, which keeps whatever the round did to all of them) leaves the joint
distribution unchanged. Each of the 2**n sign patterns is equally likely.

Per benchmark the statistic is the paired t of its n differences, after
capping their magnitudes at CAP times the median magnitude (a preempted
process cannot dominate; the cap depends on magnitudes only, so it commutes
with the sign flips). A t is on the same footing for every benchmark
whatever its scale, and it is continuous: a rank statistic of 8 rounds can
take only a few values, its largest (all ranks positive) is reached by one
pattern in 256 for every benchmark, so among 100 unchanged benchmarks some
reach it under most patterns and no consistent +10 % could stand out. The
sum of squares does not change with the signs, so every pattern's t comes
from one matrix product.

The adjusted p-value of the j-th largest statistic is the share of sign
patterns whose largest statistic among the j-th and all smaller ones reaches
it, made monotone (step-down). All 2**n patterns are enumerated up to 16
rounds; above that a fixed-seed sample of patterns (plus the observed one)
estimates the p-values. One column alone gets the exact permutation p-value
of its mean difference.

Blocks: a suite sharded over several jobs and merged back was measured in
one set of rounds per shard, and round i of one shard has nothing to do with
round i of another (another job, another machine). Under the null each
block's rounds flip independently, so a sign pattern gives every round of
every block its own sign, and each column's t comes from its own block's
rows. A column then reaches its observed t under every pattern that keeps
its block's signs positive: its smallest p-value is 2**-n of its block's n
rounds, however many rounds the others add. Step-down ranks the columns of
all blocks by their t, so a column ranked below one of a block with fewer
rounds cannot get below that block's 2**-n either.

Pure numpy, no alpha applied: compare decides with the adjusted p-values.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

CAP = 4.0                    # magnitudes capped at this many times their median
EXACT_ROUNDS = 16            # 65,536 sign patterns: enumerated
SAMPLED_PATTERNS = 1 << 15   # above EXACT_ROUNDS: this many random patterns, plus the observed
_CHUNK_CELLS = 1 << 21       # patterns x benchmarks per intermediate array (16 MiB of floats)
_SEED = 20_230_917           # fixed: the same data give the same p-values on every run


@dataclass(frozen=True)
class MaxTResult:
    """Adjusted p-values per column of the differences, one array per direction."""

    p_greater: np.ndarray      # head larger than base
    p_less: np.ndarray         # head smaller than base
    patterns: int              # sign patterns the p-values were computed from
    exact: bool                # every pattern enumerated
    max_statistics: np.ndarray  # the null distribution of the largest |statistic|
    column_rounds: np.ndarray  # rounds of each column's block

    @property
    def column_smallest_p(self) -> np.ndarray:
        """The smallest adjusted p-value each column can give: 2**-n of its block's rounds.

        Sampled patterns cannot resolve below one in ``patterns`` either.
        """
        return np.maximum(0.5 ** self.column_rounds, 1.0 / self.patterns)

    @property
    def smallest_p(self) -> float:
        """The smallest adjusted p-value any column can give (one block: 1 / patterns)."""
        return float(self.column_smallest_p.min())

    def per_test_alpha(self, alpha: float) -> np.ndarray:
        """Per column, the single-test level that max-T at ``alpha`` amounts to (detectable change).

        The critical value is the (1 - alpha) quantile of the largest |t|;
        one paired t of n rounds (its block's) exceeds it with about the t
        distribution's tail (n - 1 degrees of freedom). With independent
        benchmarks that is close to alpha / k (Sidak), with correlated ones
        larger: the correction costs less.
        """
        from scipy.stats import t as student_t  # scipy loads on first use (start-up time)

        critical = float(np.quantile(self.max_statistics, 1.0 - alpha))
        tail = student_t.sf(critical, np.maximum(self.column_rounds - 1, 1))
        return np.maximum(tail, self.column_smallest_p / 2)


def capped(differences: np.ndarray) -> np.ndarray:
    """The differences with magnitudes above CAP times their column's median magnitude capped."""
    d = np.asarray(differences, dtype=float)
    if d.ndim != 2 or d.shape[0] == 0:
        raise ValueError(f"differences must be a rounds x benchmarks array, got shape {d.shape}")
    magnitude = np.abs(d)
    limit = CAP * np.median(magnitude, axis=0)
    limit = np.where(limit > 0, limit, np.inf)     # a column mostly of zeros: nothing to cap
    return np.sign(d) * np.minimum(magnitude, limit)


def paired_t(sums: np.ndarray, squares: np.ndarray, rounds: int) -> np.ndarray:
    """The paired t of every pattern and column, from the signed sums and the sums of squares.

    A pattern whose values are all alike in magnitude and sign has no
    variance: its t is taken as very large rather than infinite, and a
    column of zeros has t = 0.
    """
    mean = sums / rounds
    variance = np.maximum(squares - sums * mean, 0.0) / max(rounds - 1, 1)
    floor = 1e-12 * np.maximum(squares, 1e-300) / rounds
    t = mean / np.sqrt(np.maximum(variance, floor) / rounds)
    return np.where(squares > 0, t, 0.0)


def sign_flip_maxt(differences: np.ndarray, *, seed: int = _SEED) -> MaxTResult:
    """Step-down max-T adjusted p-values for the columns of ``differences`` (rounds x tests)."""
    return sign_flip_maxt_blocks([differences], seed=seed)


def sign_flip_maxt_blocks(blocks: Sequence[np.ndarray], *, seed: int = _SEED) -> MaxTResult:
    """``sign_flip_maxt`` over blocks whose rounds flip independently (each rounds_k x tests_k).

    A pattern signs the rounds of all blocks at once (enumerated or sampled
    by their total number); each block's columns take their t from its own
    rounds. The result's columns are the blocks' columns, block by block.
    """
    if not blocks:
        raise ValueError("max-T needs at least one block of differences")
    values = [capped(block) for block in blocks]
    squares = [(v ** 2).sum(axis=0) for v in values]
    observed = np.concatenate([paired_t(v.sum(axis=0), s, len(v))
                               for v, s in zip(values, squares, strict=True)])
    column_rounds = np.concatenate([np.full(v.shape[1], len(v)) for v in values])
    rounds, tests = sum(len(v) for v in values), len(observed)
    exact = rounds <= EXACT_ROUNDS
    patterns = 2 ** rounds if exact else SAMPLED_PATTERNS + 1
    counts = {"greater": np.zeros(tests), "less": np.zeros(tests)}
    orders = {"greater": np.argsort(-observed, kind="mergesort"),
              "less": np.argsort(observed, kind="mergesort")}
    maxima = []
    chunk = max(1, _CHUNK_CELLS // max(tests, rounds, 1))
    for signs in _patterns(rounds, exact, seed, chunk):
        null = _null_t(signs, values, squares)              # patterns x tests
        maxima.append(np.abs(null).max(axis=1))
        for direction, sign in (("greater", 1.0), ("less", -1.0)):
            order = orders[direction]
            ranked = sign * null[:, order]
            # the largest among the j-th and all less extreme statistics, for every j
            successive = np.maximum.accumulate(ranked[:, ::-1], axis=1)[:, ::-1]
            target = sign * observed[order]
            reached = successive >= target - 1e-9 * np.maximum(np.abs(target), 1.0)
            counts[direction][order] += reached.sum(axis=0)
    # Enumerated, no column's p falls below 2**-n of its block's n rounds (every
    # pattern keeping them positive reaches its t). Sampled, a small block's
    # all-positive patterns can come up less often than their share, by chance
    # only: the p stays at what enumerating would give at least. (One block:
    # 1 / patterns is above the floor already.)
    floor = 0.5 ** column_rounds
    adjusted = {}
    for direction, order in orders.items():
        p = np.maximum(counts[direction] / patterns, floor)
        ranked = np.maximum.accumulate(p[order])      # step-down: never below an earlier step
        adjusted[direction] = np.empty(tests)
        adjusted[direction][order] = np.minimum(ranked, 1.0)
    return MaxTResult(adjusted["greater"], adjusted["less"], patterns, exact,
                      np.concatenate(maxima), column_rounds)


def _null_t(signs: np.ndarray, values: list[np.ndarray], squares: list[np.ndarray]) -> np.ndarray:
    """The t of every pattern and column, each block's from the signs of its own rounds."""
    null = np.empty((len(signs), sum(v.shape[1] for v in values)))
    row = column = 0
    for v, s in zip(values, squares, strict=True):
        rounds, tests = v.shape
        null[:, column:column + tests] = paired_t(signs[:, row:row + rounds] @ v, s, rounds)
        row, column = row + rounds, column + tests
    return null


def _patterns(rounds: int, exact: bool, seed: int, chunk: int) -> Iterator[np.ndarray]:
    """Sign patterns (rows of +-1), ``chunk`` at a time; the observed one (all +1) is among them."""
    if exact:
        total = 2 ** rounds
        bits = np.arange(rounds, dtype=np.int64)
        for start in range(0, total, chunk):
            codes = np.arange(start, min(total, start + chunk), dtype=np.int64)
            yield 1.0 - 2.0 * ((codes[:, None] >> bits) & 1)
        return
    rng = np.random.default_rng(seed)
    yield np.ones((1, rounds))
    remaining = SAMPLED_PATTERNS
    while remaining:
        size = min(chunk, remaining)
        yield rng.choice((-1.0, 1.0), size=(size, rounds))
        remaining -= size
