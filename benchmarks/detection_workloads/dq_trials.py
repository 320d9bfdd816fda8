"""Composing detection-quality trials from measured pools, and the three decision rules.

Pure functions: nothing here measures. ``benchmarks/detection_quality.py``
measures the pools and renders the tables; tests/unit/test_detection_quality.py
checks this module on hand-made pools.

A *pool run* is one run of the real runner over several trees ("sides") of
the same benchmark module, each tree with its own slowdown: zero-slowdown
sides ``z0..z3`` and one side per slowdown level. Every round of the run starts
one fresh worker process per (side, benchmark), so round ``i`` of every side
was measured at nearly the same time.

A *trial* is one base suite and one head suite built from disjoint chunks of
``n`` consecutive rounds (``n`` = processes per side that a real run at the
given time budget gets):

- same-runner: base and head chunks from the same rounds of the same run,
  as perfaction's A/B mode measures them;
- baseline: the base chunk from the previous run (separate calibration,
  minutes earlier), the head chunk from this run, as a stored baseline.

A/A trials compare two zero-slowdown sides. An A/B trial slows ONE benchmark:
its head processes come from the slowdown side, the other benchmarks' head
processes from a zero side, so the Holm family holds unchanged benchmarks too.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from scipy import stats as scipy_stats

from perfaction import metrics
from perfaction.analysis import paired
from perfaction.analysis.compare import compare_suites
from perfaction.analysis.comparison import Delta, Verdict
from perfaction.analysis.policy import Policy
from perfaction.analysis.stats import holm, pooled_sd, robust_cv
from perfaction.results import model

SAME_RUNNER = "same-runner"
BASELINE = "baseline"
MODES = (SAME_RUNNER, BASELINE)

ARTICLE_THRESHOLD = 0.05   # the reference article: mean or p99 more than 5 % worse
GAB_RATIO = 2.0            # github-action-benchmark's default alert threshold, 200 %:
                           # on ops/s (1 / mean), i.e. mean head / mean base > 2

Samples = tuple[tuple[float, ...], ...]   # per process: its timed values (seconds per call)


@dataclass(frozen=True)
class PoolRun:
    """One measured pool run: side -> benchmark -> per-process timed values, in round order."""

    index: int
    values: Mapping[str, Mapping[str, Samples]]
    walls: Mapping[str, Mapping[str, tuple[float, ...]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError(f"pool run {self.index} holds no sides")

    def rounds(self) -> int:
        """Rounds every side and benchmark completed (a failed unit stops early)."""
        return min(len(per) for side in self.values.values() for per in side.values())

    def chunk(self, side: str, bench: str, start: int, n: int) -> Samples:
        return tuple(self.values[side][bench][start:start + n])

    def wall(self, side: str, bench: str, start: int, n: int) -> float | None:
        walls = self.walls.get(side, {}).get(bench)
        if walls is None or len(walls) < start + n:
            return None
        return math.fsum(walls[start:start + n])


@dataclass(frozen=True)
class Trial:
    mode: str                      # SAME_RUNNER or BASELINE
    level: float                   # 0.0 for A/A
    slowed: str | None             # the slowed benchmark (A/B), None (A/A)
    base: Mapping[str, Samples]
    head: Mapping[str, Samples]
    source: str                    # where the processes came from, for the raw record
    seconds: float | None = None   # worker seconds the job measuring head (and base) spent

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if set(self.base) != set(self.head):
            raise ValueError(f"base and head benchmarks differ: {sorted(self.base)} vs "
                             f"{sorted(self.head)}")
        if (self.slowed is None) != (self.level == 0):
            raise ValueError("an A/B trial names its slowed benchmark; an A/A trial has none")


def chunk_starts(rounds: int, n: int) -> list[int]:
    """Starts of the disjoint chunks of ``n`` consecutive rounds that fit in ``rounds``."""
    if n < 1:
        raise ValueError(f"n must be a positive number of processes, got {n!r}")
    return list(range(0, rounds - n + 1, n))


def zero_pairs(zero_sides: Sequence[str]) -> list[tuple[str, str]]:
    """(base side, head side) pairs of zero-slowdown sides, each side in one pair."""
    if len(zero_sides) < 2:
        raise ValueError(f"A/A trials need at least two zero-slowdown sides, got {zero_sides!r}")
    return [(zero_sides[i], zero_sides[i + 1]) for i in range(0, len(zero_sides) - 1, 2)]


def compose(runs: Sequence[PoolRun], mode: str, n: int, zero_sides: Sequence[str],
            level_sides: Mapping[float, str]) -> dict[float, list[Trial]]:
    """Every trial of ``mode`` at ``n`` processes per side: level -> trials (0.0 = A/A).

    Within one level, each process of a benchmark under test is used in
    exactly one trial. The A/B trials of one chunk reuse the zero-side
    processes of the *unchanged* benchmarks as their companions.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    pairs = zero_pairs(zero_sides)
    trials: dict[float, list[Trial]] = {0.0: []}
    trials.update({level: [] for level in sorted(level_sides)})
    for position, run in enumerate(runs):
        if mode == SAME_RUNNER:
            base_run = run
        elif len(runs) < 2:
            return trials   # baseline mode needs an earlier run to take the base from
        else:
            base_run = runs[position - 1]   # the previous run; the first takes the last
        benches = sorted(run.values[pairs[0][0]])
        rounds = min(run.rounds(), base_run.rounds())
        for start in chunk_starts(rounds, n):
            where = (f"run {run.index} rounds {start}-{start + n - 1}" if mode == SAME_RUNNER else
                     f"base run {base_run.index}, head run {run.index}, rounds "
                     f"{start}-{start + n - 1}")
            for base_side, head_side in pairs:
                trials[0.0].append(_trial(mode, 0.0, None, base_run, run, base_side,
                                          {b: head_side for b in benches}, start, n,
                                          f"{where}: {base_side} vs {head_side}"))
            for level, level_side in sorted(level_sides.items()):
                for k, slowed in enumerate(benches):
                    base_side, head_side = pairs[k % len(pairs)]
                    heads = {b: (level_side if b == slowed else head_side) for b in benches}
                    trials[level].append(_trial(
                        mode, level, slowed, base_run, run, base_side, heads, start, n,
                        f"{where}: {base_side} vs {head_side} with {slowed} from {level_side}"))
    return trials


def _trial(mode: str, level: float, slowed: str | None, base_run: PoolRun, head_run: PoolRun,
           base_side: str, head_sides: Mapping[str, str], start: int, n: int,
           source: str) -> Trial:
    benches = sorted(head_sides)
    base = {b: base_run.chunk(base_side, b, start, n) for b in benches}
    head = {b: head_run.chunk(head_sides[b], b, start, n) for b in benches}
    walls = [head_run.wall(head_sides[b], b, start, n) for b in benches]
    if mode == SAME_RUNNER:   # one job measures both sides
        walls += [base_run.wall(base_side, b, start, n) for b in benches]
    seconds = None if any(w is None for w in walls) else math.fsum(walls)  # type: ignore[arg-type]
    return Trial(mode, level, slowed, base, head, source, seconds)


# ---------------------------------------------------------------------------
# The rules. Each returns {benchmark: flagged?} for one trial.
# ---------------------------------------------------------------------------

def to_suite(per_bench: Mapping[str, Samples], mode: str) -> model.Suite:
    """A suite with the time metric only, as the runner would have produced it."""
    benchmarks = tuple(
        model.Benchmark(name, {metrics.TIME: model.Metric("s", metrics.LOWER_IS_BETTER, samples)})
        for name, samples in sorted(per_bench.items()))
    settings = model.RunSettings(mode="baseline" if mode == BASELINE else "same-runner")
    return model.Suite(benchmarks, model.Environment(), settings)


def perfaction_deltas(trial: Trial, policy: Policy) -> dict[str, Delta]:
    """perfaction's unpaired (Mann-Whitney) Delta for the time metric of every benchmark.

    compare_suites pairs same-runner processes by round; this column keeps the
    unpaired rule on every trial so the tables show what pairing adds (the
    paired column is ``add_paired_outcome``'s). The unpaired test and the
    verdict rule do not depend on the mode otherwise.
    """
    comparison = compare_suites(to_suite(trial.base, trial.mode), to_suite(trial.head, trial.mode),
                                policy, mode="baseline")
    return {d.benchmark: d for d in comparison.deltas if d.metric == metrics.TIME}


def pooled(samples: Samples) -> list[float]:
    return [v for process in samples for v in process]


def article_p99(values: Sequence[float]) -> float:
    """The article's nearest-rank percentile: sorted values at index int(n * 0.99)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def article_changes(base: Samples, head: Samples) -> tuple[float, float]:
    """(mean change, p99 change) of head against base over all timed values of the run."""
    b, h = pooled(base), pooled(head)
    return (statistics.fmean(h) / statistics.fmean(b) - 1, article_p99(h) / article_p99(b) - 1)


def evaluate(trial: Trial, policy: Policy) -> dict[str, dict[str, object]]:
    """Every rule's outcome for every benchmark of one trial."""
    deltas = perfaction_deltas(trial, policy)
    out: dict[str, dict[str, object]] = {}
    for bench in sorted(trial.base):
        mean_change, p99_change = article_changes(trial.base[bench], trial.head[bench])
        delta = deltas[bench]
        out[bench] = {
            "verdict": delta.verdict.value,
            "perfaction": delta.verdict is Verdict.REGRESSED and delta.gating,
            "estimate": delta.change,
            "detectable": delta.detectable,
            "article_mean": mean_change > ARTICLE_THRESHOLD,
            "article": mean_change > ARTICLE_THRESHOLD or p99_change > ARTICLE_THRESHOLD,
            "gab": mean_change + 1 > GAB_RATIO,
            "mean_change": mean_change,
            "p99_change": p99_change,
        }
    return out


def add_cpu_outcome(outcome: dict[str, dict[str, object]], cpu_trial: Trial,
                    policy: Policy) -> None:
    """Add ``perfaction_cpu``: the same rule on the CPU seconds of the same processes."""
    for bench, delta in perfaction_deltas(cpu_trial, policy).items():
        outcome[bench]["perfaction_cpu"] = delta.verdict is Verdict.REGRESSED and delta.gating
        outcome[bench]["cpu_verdict"] = delta.verdict.value
        outcome[bench]["cpu_detectable"] = delta.detectable


def per_process(samples: Samples) -> tuple[float, ...]:
    """Each process's mean timed value, as model.Metric.per_process computes it."""
    return tuple(math.fsum(p) / len(p) for p in samples)


def paired_deltas(trial: Trial, policy: Policy) -> dict[str, dict[str, object]]:
    """perfaction's rule with the paired analysis (perfaction.paired) instead of Mann-Whitney.

    Process i of base and process i of head come from the same round of the
    pool run, as in A/B mode (there they are adjacent; in the pool up to ~24
    processes apart). Holm runs over the trial's time tests, as compare does,
    and the verdict follows compare's rule: regressed/improved when the
    Holm-adjusted one-sided p <= alpha and the estimate is beyond the
    threshold; unchanged when the interval lies inside +-threshold, or the
    estimate does and a threshold-sized change was detectable; else
    inconclusive. Only same-runner trials have pairs.
    """
    if trial.mode != SAME_RUNNER:
        raise ValueError("paired analysis needs base and head measured in the same rounds "
                         "(same-runner trials)")
    benches = sorted(trial.base)
    results = paired.compare_paired_many(
        [(per_process(trial.base[b]), per_process(trial.head[b])) for b in benches],
        confidence=policy.confidence)
    floors = [r.p_floor if r.method == "asymptotic" else 0.0 for r in results]
    worse = holm([max(r.p_greater, f) for r, f in zip(results, floors, strict=True)])
    better = holm([max(r.p_less, f) for r, f in zip(results, floors, strict=True)])
    family = len(benches)
    out: dict[str, dict[str, object]] = {}
    for bench, r, adj_worse, adj_better in zip(benches, results, worse, better, strict=True):
        t = policy.resolve(bench, metrics.TIME).threshold
        change, interval = r.estimate.change, r.estimate.interval
        worse_way = r.estimate.shift >= 0
        p_adj = adj_worse if worse_way else adj_better
        detectable = paired.detectable_change(r.spread, r.n_pairs,
                                              alpha=policy.alpha / family, power=policy.power)
        if p_adj <= policy.alpha and abs(change) > t:
            verdict = Verdict.REGRESSED if worse_way else Verdict.IMPROVED
        elif interval is not None and -t < interval[0] and interval[1] < t:
            verdict = Verdict.UNCHANGED
        elif abs(change) <= t and detectable <= t:
            verdict = Verdict.UNCHANGED
        else:
            verdict = Verdict.INCONCLUSIVE
        out[bench] = {"verdict": verdict.value, "estimate": change, "p_adjusted": p_adj,
                      "detectable": None if math.isinf(detectable) else detectable,
                      "spread": r.spread}
    return out


def add_paired_outcome(outcome: dict[str, dict[str, object]], trial: Trial,
                       policy: Policy) -> None:
    """Add ``perfaction_paired`` (and its verdict, estimate, detectable change) to a
    same-runner trial's outcome."""
    for bench, judged in paired_deltas(trial, policy).items():
        outcome[bench]["perfaction_paired"] = judged["verdict"] == Verdict.REGRESSED.value
        outcome[bench]["paired_verdict"] = judged["verdict"]
        outcome[bench]["paired_estimate"] = judged["estimate"]
        outcome[bench]["paired_detectable"] = judged["detectable"]
        # the noise pairing has to beat: each side's spread, pooled, against the
        # spread of the per-round log ratios (sqrt(2) x pooled without any pairing gain)
        n = len(trial.base[bench])
        outcome[bench]["paired_spread"] = judged["spread"]
        outcome[bench]["sides_spread"] = pooled_sd(robust_cv(per_process(trial.base[bench])), n,
                                                   robust_cv(per_process(trial.head[bench])), n)


RULES = ("perfaction", "perfaction_paired", "article_mean", "article", "gab", "perfaction_cpu")


@dataclass(frozen=True)
class Rate:
    hits: int
    total: int

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else math.nan

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """Clopper-Pearson (exact binomial) interval of the rate."""
        if not self.total:
            return (math.nan, math.nan)
        tail = (1 - confidence) / 2
        low = 0.0 if self.hits == 0 else scipy_stats.beta.ppf(tail, self.hits,
                                                              self.total - self.hits + 1)
        high = 1.0 if self.hits == self.total else scipy_stats.beta.ppf(
            1 - tail, self.hits + 1, self.total - self.hits)
        return (float(low), float(high))


def false_alarms(outcomes: Iterable[Mapping[str, Mapping[str, object]]], rule: str) -> Rate:
    """A/A: trials where ANY benchmark was flagged by ``rule``."""
    outcomes = list(outcomes)
    hits = sum(1 for o in outcomes if any(bool(b[rule]) for b in o.values()))
    return Rate(hits, len(outcomes))


def detections(outcomes: Iterable[tuple[str, Mapping[str, Mapping[str, object]]]], rule: str,
               bench: str | None = None) -> Rate:
    """A/B: trials where the slowed benchmark was flagged; ``bench`` keeps only its trials."""
    chosen = [(slowed, o) for slowed, o in outcomes if bench is None or slowed == bench]
    return Rate(sum(1 for slowed, o in chosen if o[slowed][rule]), len(chosen))


def verdict_counts(outcomes: Iterable[tuple[str, Mapping[str, Mapping[str, object]]]]
                   ) -> dict[str, int]:
    """How perfaction judged the slowed benchmark (regressed, inconclusive, unchanged, ...)."""
    counts: dict[str, int] = {}
    for slowed, o in outcomes:
        verdict = str(o[slowed]["verdict"])
        counts[verdict] = counts.get(verdict, 0) + 1
    return counts


def pool_slowdowns(runs: Sequence[PoolRun], zero_sides: Sequence[str],
                   level_sides: Mapping[float, str]) -> dict[str, dict[float, float]]:
    """Measured slowdown of each level side in the harness: benchmark -> level -> change.

    Per run, the median per-process mean of the level side over the median of
    all zero sides' processes; then the median over runs.
    """
    out: dict[str, dict[float, list[float]]] = {}
    for run in runs:
        for bench in sorted(run.values[zero_sides[0]]):
            zero = [statistics.fmean(p) for side in zero_sides for p in run.values[side][bench]]
            if not zero:
                continue
            center = statistics.median(zero)
            for level, side in level_sides.items():
                slowed = [statistics.fmean(p) for p in run.values[side][bench]]
                if slowed:
                    out.setdefault(bench, {}).setdefault(level, []).append(
                        statistics.median(slowed) / center - 1)
    return {b: {lv: statistics.median(vs) for lv, vs in per.items()} for b, per in out.items()}
