"""Sharding a suite over jobs, and merging the shards back into one suite.

A shard measures part K of N of the suite (``Shard``). Every shard job
computes the same partition on its own, from the same inputs: the suite's
benchmark names and, where a baseline exists, each benchmark's measured
cost in it. The merge (``merge_shards``) refuses a set of shards that does
not add up to one suite, naming what is wrong.
"""

from __future__ import annotations

import hashlib
import math
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from perfaction.errors import ConfigError, PerfActionError
from perfaction.results.model import Environment, Suite

# The files of a shard's artifact: this side's results, and in same-runner mode
# the base side's, measured in the same rounds.
RESULTS_FILE = "results.json"
BASE_RESULTS_FILE = "results.base.json"

DEFAULT_PREFIX = "perf-shard"
MAX_SHARDS = 256


def artifact_name(prefix: str, index: int, count: int) -> str:
    """The artifact a shard uploads: ``perf-shard-2-of-5``."""
    return f"{prefix}-{index}-of-{count}"


def parse_artifact_name(prefix: str, name: str) -> tuple[int, int] | None:
    """(index, count) of a shard artifact's name with this prefix, or None for other artifacts."""
    match = re.fullmatch(re.escape(prefix) + r"-(\d{1,4})-of-(\d{1,4})", name)
    if match is None:
        return None
    index, count = int(match.group(1)), int(match.group(2))
    return (index, count) if 1 <= index <= count <= MAX_SHARDS else None


# ---------------------------------------------------------------------------
# The partition
# ---------------------------------------------------------------------------

NAME_HASH = "name hash"


@dataclass(frozen=True)
class Shard:
    """Part ``index`` of ``count`` of a suite, balanced by ``costs`` where known.

    ``costs`` holds each benchmark's measuring cost in a previous run (any
    unit, the same for all); ``basis`` says where they came from, recorded in
    the results so a merge can tell shards that partitioned differently.
    """

    index: int
    count: int
    costs: Mapping[str, float] = field(default_factory=dict)
    basis: str = NAME_HASH

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.count <= MAX_SHARDS:
            raise ConfigError(f"shard {self.index}/{self.count} is out of range: the index runs "
                              f"from 1 to the count, and the count from 1 to {MAX_SHARDS}")

    @classmethod
    def parse(cls, text: str, *, name: str = "shard") -> Shard:
        """``"2/5"``: part 2 of 5."""
        match = re.fullmatch(r"\s*(\d{1,4})\s*/\s*(\d{1,4})\s*", text)
        if match is None:
            raise ConfigError(f"{name} must be INDEX/COUNT such as 2/5 (part 2 of 5, counted "
                              f"from 1), got {text!r}; in a matrix: "
                              "${{ matrix.shard }}/${{ strategy.job-total }}")
        try:
            return cls(int(match.group(1)), int(match.group(2)))
        except ConfigError as exc:
            raise ConfigError(f"{name}: {exc}") from None

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"

    def with_costs(self, costs: Mapping[str, float], basis: str) -> Shard:
        return Shard(self.index, self.count, dict(costs), basis if costs else NAME_HASH)

    def select(self, names: Iterable[str]) -> list[str]:
        """The names of this shard, in the order given."""
        names = list(names)
        owner = assign(names, self.count, self.costs)
        return [n for n in names if owner[n] == self.index]


def assign(names: Iterable[str], count: int, costs: Mapping[str, float]) -> dict[str, int]:
    """Each name's shard (1..count): longest cost first, each to the least loaded shard.

    The greedy "longest processing time" rule keeps the largest shard within
    4/3 of the best split. Names without a cost (new benchmarks, or no
    baseline at all) cost the median of the known ones; ties are broken by
    a hash of the name, not by the order given, so every shard job computes
    the same partition, and without costs the parts differ by at most one
    benchmark.
    """
    unique = sorted(set(names))
    known = sorted(c for n, c in costs.items() if n in set(unique) and _usable(c))
    typical = statistics.median(known) if known else 1.0
    cost = {n: costs[n] if n in costs and _usable(costs[n]) else typical for n in unique}
    loads = [0.0] * count
    owner: dict[str, int] = {}
    for name in sorted(unique, key=lambda n: (-cost[n], _name_hash(n))):
        lightest = min(range(count), key=lambda i: (loads[i], i))
        loads[lightest] += cost[name]
        owner[name] = lightest + 1
    return owner


def _usable(cost: float) -> bool:
    return math.isfinite(cost) and cost > 0


def _name_hash(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


def suite_digest(names: Iterable[str]) -> str:
    """A short digest of a suite's benchmark names: equal in every shard of one suite."""
    text = "\n".join(sorted(set(names)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def costs_of(suite: Suite) -> dict[str, float]:
    """Each benchmark's measuring cost in ``suite``: the timed values of one process.

    The time per call times calls per value times values per process, for
    the time metric, or the instruction count in a counted run (relative
    costs are all the partition needs). Failed benchmarks are left out.
    """
    out = {}
    for bench in suite.benchmarks:
        metric = bench.metrics.get("time") or bench.metrics.get("instructions")
        if bench.failed or metric is None:
            continue
        values = len(metric.samples[0]) if metric.samples else 1
        cost = metric.center() * (bench.loops or 1) * values
        if _usable(cost):
            out[bench.name] = cost
    return out


def costs_basis(suite: Suite) -> str:
    commit = suite.environment.commit_sha
    return f"costs in the baseline of {commit[:12]}" if commit else "costs in the baseline"


# ---------------------------------------------------------------------------
# The merge
# ---------------------------------------------------------------------------

class ShardSetError(PerfActionError):
    """Shards that do not add up to one suite: the message names what is missing or mixed."""


@dataclass(frozen=True)
class ShardPart:
    """One shard's results: where they came from (a file or an artifact), head and base."""

    source: str
    head: Suite
    base: Suite | None = None


# Settings every shard of one suite shares; a difference means the jobs were
# configured differently (or ran different versions of the workflow).
_SHARED_SETTINGS = ("mode", "time_budget", "filter", "suite_size", "suite_digest")


def _shared_environment(suite: Suite) -> tuple[str, ...]:
    """The environment fields every shard shares: the commit; and, when counted, what a count
    depends on. Timed shards may run on runners of different CPUs, as any two runs do."""
    if suite.environment.counter:
        return ("commit_sha", *Environment.COUNTING_FIELDS)
    return ("commit_sha", "counter")


def merge_shards(parts: Sequence[ShardPart]) -> tuple[Suite, Suite | None]:
    """The whole suite (head, and base in same-runner mode) from its shards' parts.

    Refuses, with ShardSetError, a set that is not exactly one suite: parts
    that are not shards, shards of different counts, a missing or repeated
    shard, shards configured or built differently, a benchmark in two shards,
    benchmarks no shard measured.
    """
    if not parts:
        raise ShardSetError("no shard results were given: upload each shard job's results as "
                            "an artifact (the action's shard-artifact output names it)")
    numbered = [(_shard_of(part), part) for part in parts]
    count = _one_count(numbered)
    by_index: dict[int, ShardPart] = {}
    for (index, _), part in numbered:
        if index in by_index:
            raise ShardSetError(f"shard {index}/{count} was given twice ({by_index[index].source} "
                                f"and {part.source}); give each shard's results once")
        by_index[index] = part
    missing = [i for i in range(1, count + 1) if i not in by_index]
    if missing:
        raise ShardSetError(
            f"{_plural(len(missing), 'shard')} of {count} missing: "
            f"{', '.join(f'{i}/{count}' for i in missing)}. Its job failed before uploading its "
            "results, or its artifact was not uploaded; re-run the failed shard jobs, then this "
            "one. Merging part of a suite would pass every benchmark it leaves out.")
    ordered = [by_index[i] for i in range(1, count + 1)]
    _check_alike(ordered)
    _check_partition(ordered, count)
    head = _merged([p.head for p in ordered], count)
    bases = [p.base for p in ordered]
    base = _merged([b for b in bases if b is not None], count) if bases[0] is not None else None
    return head, base


def _shard_of(part: ShardPart) -> tuple[int, int]:
    label = part.head.settings.shard
    if not label:
        raise ShardSetError(f"{part.source} holds the results of a whole suite, not of a shard "
                            "(it was measured without the shard input or --shard)")
    try:
        shard = Shard.parse(label)
    except ConfigError as exc:
        raise ShardSetError(f"{part.source}: settings.shard is not INDEX/COUNT: {exc}") from None
    if part.base is not None and part.base.settings.shard != label:
        raise ShardSetError(f"{part.source}: the base results belong to shard "
                            f"{part.base.settings.shard or 'none'}, the head results to {label}; "
                            "give each shard's head and base files from the same job")
    if part.head.settings.suite_size is None and part.head.failures:
        # the results a shard writes when its benchmarks could not even be listed
        raise ShardSetError(f"shard {label} ({part.source}) failed before measuring: "
                            f"{part.head.failures[0].error}")
    return shard.index, shard.count


def _one_count(numbered: list[tuple[tuple[int, int], ShardPart]]) -> int:
    counts = sorted({count for (_, count), _ in numbered})
    if len(counts) > 1:
        listed = "; ".join(f"{part.source}: {index}/{count}" for (index, count), part in numbered)
        raise ShardSetError(f"the shards were split {' and '.join(map(str, counts))} ways "
                            f"({listed}); every shard job of one run must use the same count")
    return counts[0]


def _check_alike(parts: list[ShardPart]) -> None:
    first = parts[0]
    for part in parts[1:]:
        for where, names, pick in (("settings", _SHARED_SETTINGS, lambda s: s.settings),
                                   ("environment", _shared_environment(first.head),
                                    lambda s: s.environment)):
            for name in names:
                mine, theirs = getattr(pick(part.head), name), getattr(pick(first.head), name)
                if mine != theirs:
                    raise ShardSetError(
                        f"the shards differ in {where}.{name}: {theirs!r} in {first.source}, "
                        f"{mine!r} in {part.source}; " + _ADVICE.get(name, _ADVICE[""]))
        if (part.base is None) != (first.base is None):
            raise ShardSetError(f"{first.source} and {part.source} were measured in different "
                                "modes (one has base results, one not); give every shard job "
                                "the same mode")


_ADVICE = {
    "suite_digest": "they found different benchmarks, so they ran different commits, filters "
                    "or set-ups; run every shard job on the same checkout and inputs",
    "suite_size": "they found different benchmarks; run every shard job on the same checkout "
                  "and inputs",
    "commit_sha": "they measured different commits; re-run the whole workflow",
    "": "give every shard job the same inputs and the same runner image",
}


def _check_partition(parts: list[ShardPart], count: int) -> None:
    owner: dict[str, int] = {}
    for index, part in enumerate(parts, start=1):
        for name in _names(part):
            if name in owner:
                raise ShardSetError(
                    f"benchmark {name!r} was measured by shard {owner[name]}/{count} and by shard "
                    f"{index}/{count}: the shards partitioned the suite differently "
                    f"({_bases(parts)}); re-run the shard jobs together")
            owner[name] = index
    size = parts[0].head.settings.suite_size
    if size is not None and len(owner) != size:
        raise ShardSetError(
            f"the shards measured {len(owner)} of the suite's {size} benchmarks: the shards "
            f"partitioned the suite differently ({_bases(parts)}), so some benchmarks were "
            "measured by no shard; re-run the shard jobs together")


def _names(part: ShardPart) -> set[str]:
    names = set(part.head.names())
    if part.base is not None:
        names |= set(part.base.names())
    return names


def _bases(parts: list[ShardPart]) -> str:
    bases = sorted({p.head.settings.partition or NAME_HASH for p in parts})
    return "all by " + bases[0] if len(bases) == 1 else "by " + " and by ".join(bases)


def _merged(suites: list[Suite], count: int) -> Suite:
    benchmarks = tuple(replace(bench, shard=index)
                       for index, suite in enumerate(suites, start=1) for bench in suite.benchmarks)
    environments = [s.environment for s in suites]
    speeds = [e.speed_reference for e in environments if e.speed_reference is not None]
    environment = replace(
        environments[0],
        load_average_before=_largest(e.load_average_before for e in environments),
        load_average_max=_largest(e.load_average_max for e in environments),
        cpu_steal_max=_largest(e.cpu_steal_max for e in environments),
        speed_reference=statistics.median(speeds) if speeds else None)
    processes = [s.settings.processes for s in suites if s.settings.processes is not None]
    settings = replace(suites[0].settings, shard=None, shards=count,
                       processes=min(processes) if processes else None)
    return Suite(benchmarks, environment, settings)


def _largest(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")
