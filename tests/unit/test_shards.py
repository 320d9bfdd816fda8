"""Sharding (results/shards.py): parsing K/N, the partition, costs, the file fields, the merge."""

import itertools
import json
import random
import statistics
from dataclasses import replace

import pytest

from perfaction import metrics
from perfaction.errors import ConfigError, ResultsFormatError
from perfaction.results import files
from perfaction.results.model import Benchmark, Environment, Metric, RunSettings, Suite
from perfaction.results.shards import (
    MAX_SHARDS,
    NAME_HASH,
    Shard,
    ShardPart,
    ShardSetError,
    artifact_name,
    assign,
    costs_basis,
    costs_of,
    merge_shards,
    parse_artifact_name,
    suite_digest,
)

# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------


def test_parse_reads_index_and_count():
    shard = Shard.parse("2/5")
    assert (shard.index, shard.count, shard.label) == (2, 5, "2/5")
    assert shard.basis == NAME_HASH and dict(shard.costs) == {}
    assert Shard.parse(" 1 / 1 ").label == "1/1"
    assert Shard.parse(f"{MAX_SHARDS}/{MAX_SHARDS}").count == MAX_SHARDS


@pytest.mark.parametrize("text", ["2-3", "", "two/three", "2/", "/3", "2/3/4", "-1/3", "1.5/3"])
def test_malformed_text_is_refused_naming_index_count(text):
    with pytest.raises(ConfigError) as caught:
        Shard.parse(text)
    message = str(caught.value)
    assert "INDEX/COUNT" in message and repr(text) in message


def test_the_option_name_is_in_the_message():
    with pytest.raises(ConfigError, match="--shard must be INDEX/COUNT"):
        Shard.parse("x", name="--shard")


@pytest.mark.parametrize("text", ["0/3", "4/3", "0/0", f"{MAX_SHARDS + 44}/{MAX_SHARDS + 44}",
                                  "300/300", f"1/{MAX_SHARDS + 1}"])
def test_out_of_range_is_refused_naming_index_and_count(text):
    with pytest.raises(ConfigError) as caught:
        Shard.parse(text)
    message = str(caught.value)
    assert text in message
    assert "index" in message.lower() and "count" in message.lower()
    assert str(MAX_SHARDS) in message


def test_out_of_range_shard_built_directly_is_refused():
    with pytest.raises(ConfigError):
        Shard(3, 2)
    with pytest.raises(ConfigError):
        Shard(1, MAX_SHARDS + 1)


def test_artifact_names_round_trip():
    assert artifact_name("perf-shard", 2, 5) == "perf-shard-2-of-5"
    assert parse_artifact_name("perf-shard", "perf-shard-2-of-5") == (2, 5)
    assert parse_artifact_name("perf-shard", "perf-shard-6-of-5") is None
    assert parse_artifact_name("perf-shard", "perf-shard-0-of-5") is None
    assert parse_artifact_name("perf-shard", "other-2-of-5") is None
    assert parse_artifact_name("perf-shard", "perf-shard-2-of-5-x") is None
    # the prefix is matched literally, not as a pattern
    assert parse_artifact_name("a.b", "axb-1-of-2") is None
    assert parse_artifact_name("a.b", "a.b-1-of-2") == (1, 2)


# ---------------------------------------------------------------------------
# The partition
# ---------------------------------------------------------------------------


def _random_names(rng: random.Random, size: int) -> list[str]:
    names: set[str] = set()
    while len(names) < size:
        stem = "".join(rng.choice("abcdefghij_") for _ in range(rng.randint(1, 8)))
        names.add(f"{stem}[n={rng.randint(0, 999)}]" if rng.random() < 0.4 else stem)
    return sorted(names)


def _suites(seed: int, how_many: int):
    rng = random.Random(seed)
    for _ in range(how_many):
        names = _random_names(rng, rng.randint(1, 60))
        rng.shuffle(names)
        yield rng, names


@pytest.mark.parametrize("count", range(1, 13))
def test_every_name_is_in_exactly_one_shard(count):
    for rng, names in _suites(count, 40):
        costs = {n: rng.uniform(0.001, 5.0) for n in names if rng.random() < 0.7}
        parts = [Shard(k, count, costs, "test").select(names) for k in range(1, count + 1)]
        seen = [n for part in parts for n in part]
        assert sorted(seen) == sorted(names)          # every name, none twice
        owner = assign(names, count, costs)
        assert set(owner) == set(names) and set(owner.values()) <= set(range(1, count + 1))
        for k, part in enumerate(parts, start=1):
            assert all(owner[n] == k for n in part)


@pytest.mark.parametrize("count", range(1, 13))
def test_without_costs_the_part_sizes_differ_by_at_most_one(count):
    for _, names in _suites(100 + count, 40):
        sizes = [len(Shard(k, count).select(names)) for k in range(1, count + 1)]
        assert max(sizes) - min(sizes) <= 1, (len(names), sizes)
        assert sum(sizes) == len(names)


def _loads(owner: dict[str, int], costs: dict[str, float], count: int) -> list[float]:
    loads = [0.0] * count
    for name, index in owner.items():
        loads[index - 1] += costs[name]
    return loads


def _optimum(items: list[float], count: int) -> float:
    """The best makespan, by branch and bound (small instances only)."""
    items = sorted(items, reverse=True)
    best = [sum(items)]
    loads = [0.0] * count

    def place(i: int) -> None:
        if i == len(items):
            best[0] = min(best[0], max(loads))
            return
        tried = set()
        for m in range(count):
            if loads[m] in tried or loads[m] + items[i] >= best[0]:
                continue
            tried.add(loads[m])
            loads[m] += items[i]
            place(i + 1)
            loads[m] -= items[i]

    place(0)
    return best[0]


@pytest.mark.parametrize("count", range(2, 5))
def test_with_costs_the_largest_shard_is_within_the_lpt_bound_of_the_best_split(count):
    """Graham's LPT bound: at most (4/3 - 1/(3N)) times the optimum."""
    rng = random.Random(count)
    for _ in range(60):
        names = _random_names(rng, rng.randint(count + 1, 10))
        costs = {n: rng.choice([rng.uniform(0.1, 10.0), float(rng.randint(1, 5))]) for n in names}
        worst = max(_loads(assign(names, count, costs), costs, count))
        best = _optimum(list(costs.values()), count)
        assert worst <= (4 / 3 - 1 / (3 * count)) * best + 1e-9, (costs, worst, best)


@pytest.mark.parametrize("count", range(1, 13))
def test_with_costs_the_largest_shard_is_within_bounds_of_the_lower_bound(count):
    """Against the lower bound max(total/N, largest): optimal when one item dominates or
    there is at most one item per shard, and never worse than total/N + largest (list
    scheduling)."""
    for rng, names in _suites(200 + count, 40):
        costs = {n: rng.lognormvariate(0, 1.5) for n in names}
        loads = _loads(assign(names, count, costs), costs, count)
        total, largest = sum(costs.values()), max(costs.values())
        lower = max(total / count, largest)
        assert max(loads) >= lower - 1e-9
        assert max(loads) <= total / count + largest * (1 - 1 / count) + 1e-9
        if len(names) <= count:
            assert max(loads) == pytest.approx(largest)


def test_equal_costs_one_more_item_than_shards_is_optimal_but_above_four_thirds_of_the_bound():
    """4 equal items on 3 shards: the best split has a shard of 2, the bound says 4/3.
    The 4/3 guarantee is relative to the best split, not to max(total/N, largest)."""
    names = ["a", "b", "c", "d"]
    costs = dict.fromkeys(names, 1.0)
    loads = _loads(assign(names, 3, costs), costs, 3)
    assert max(loads) == 2.0 == _optimum(list(costs.values()), 3)


def test_a_classic_lpt_instance_balances_as_expected():
    costs = {"a": 3.0, "b": 3.0, "c": 2.0, "d": 2.0, "e": 2.0}
    loads = sorted(_loads(assign(list(costs), 2, costs), costs, 2))
    assert loads == [5.0, 7.0]          # LPT gives 7; the best split is 6 (7 <= 4/3 * 6)


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
def test_the_partition_does_not_depend_on_the_order_of_the_names(count):
    for rng, names in _suites(300 + count, 25):
        costs = {n: rng.choice([1.0, 2.0, rng.uniform(0.5, 3.0)]) for n in names if rng.random() < 0.6}
        reference = assign(names, count, costs)
        for _ in range(3):
            shuffled = names[:]
            rng.shuffle(shuffled)
            assert assign(shuffled, count, costs) == reference
            assert assign(shuffled + shuffled[:3], count, costs) == reference   # repeats ignored
            for k in range(1, count + 1):
                assert set(Shard(k, count, costs).select(shuffled)) == set(
                    Shard(k, count, costs).select(names))


def test_new_names_cost_the_median_of_the_known_ones():
    rng = random.Random(7)
    for _ in range(50):
        names = _random_names(rng, rng.randint(3, 30))
        known = rng.sample(names, rng.randint(1, len(names) - 1))
        costs = {n: rng.uniform(0.1, 20.0) for n in known}
        median = statistics.median(costs.values())
        filled = {**costs, **{n: median for n in names if n not in costs}}
        for count in (2, 3, 4):
            assert assign(names, count, costs) == assign(names, count, filled)


def test_unusable_costs_and_costs_of_other_benchmarks_count_as_unknown():
    names = ["a", "b", "c", "d", "e"]
    costs = {"a": 1.0, "b": 2.0, "c": 9.0}
    median = statistics.median(costs.values())
    expected = assign(names, 2, {**costs, "d": median, "e": median})
    noisy = {**costs, "d": 0.0, "e": float("nan"), "gone": 1000.0, "also_gone": -5.0}
    assert assign(names, 2, noisy) == expected
    assert assign(names, 2, {**costs, "d": float("inf"), "e": -1.0}) == expected


def test_a_dominant_cost_gets_a_shard_of_its_own():
    names = [f"b{i}" for i in range(10)]
    costs = {**dict.fromkeys(names, 1.0), "b3": 100.0}
    owner = assign(names, 3, costs)
    alone = [n for n in names if owner[n] == owner["b3"]]
    assert alone == ["b3"]


def test_select_keeps_the_order_given():
    rng = random.Random(11)
    for _ in range(30):
        names = _random_names(rng, 20)
        rng.shuffle(names)
        for k in (1, 2, 3):
            part = Shard(k, 3).select(names)
            positions = [names.index(n) for n in part]
            assert positions == sorted(positions)


def test_with_costs_records_the_basis_and_without_costs_falls_back_to_name_hash():
    shard = Shard(1, 2).with_costs({"a": 1.0}, "costs in the baseline of abc")
    assert shard.basis == "costs in the baseline of abc" and dict(shard.costs) == {"a": 1.0}
    assert Shard(1, 2).with_costs({}, "costs in the baseline").basis == NAME_HASH


def test_suite_digest_depends_on_the_set_of_names_only():
    assert suite_digest(["b", "a", "a"]) == suite_digest(["a", "b"])
    assert suite_digest(["a", "b"]) != suite_digest(["a", "b", "c"])
    assert len(suite_digest(["a"])) == 16


# ---------------------------------------------------------------------------
# Costs from a results file
# ---------------------------------------------------------------------------


def test_costs_of_is_time_times_loops_times_values_per_process():
    time = Metric(unit="s", samples=((1e-6, 1e-6, 1e-6), (3e-6, 3e-6, 3e-6)))   # center 2e-6
    suite = Suite(benchmarks=(
        Benchmark("timed", {metrics.TIME: time, metrics.PEAK_MEMORY: Metric(unit="B", value=9.0)},
                  loops=100),
        Benchmark("no_loops", {metrics.TIME: Metric(unit="s", samples=((4e-3, 4e-3),))}),
        Benchmark("summary_only", {metrics.TIME: Metric(unit="s", value=0.5)}, loops=2),
        Benchmark("counted", {"instructions": Metric(unit="instructions", samples=((1000.0,), (1000.0,)))},
                  loops=10),
        Benchmark("failed", {metrics.TIME: time}, loops=100, error="ValueError: boom"),
        Benchmark("memory_only", {metrics.PEAK_MEMORY: Metric(unit="B", samples=((1.0,),))}),
        Benchmark("nothing"),
    ))
    costs = costs_of(suite)
    assert set(costs) == {"timed", "no_loops", "summary_only", "counted"}
    assert costs["timed"] == pytest.approx(2e-6 * 100 * 3)
    assert costs["no_loops"] == pytest.approx(4e-3 * 1 * 2)
    assert costs["summary_only"] == pytest.approx(0.5 * 2 * 1)
    assert costs["counted"] == pytest.approx(1000.0 * 10 * 1)


def test_costs_of_prefers_time_over_instructions():
    bench = Benchmark("both", {metrics.TIME: Metric(unit="s", samples=((2.0,),)),
                               "instructions": Metric(unit="instructions", samples=((50.0,),))})
    assert costs_of(Suite(benchmarks=(bench,))) == {"both": 2.0}


def test_costs_basis_names_the_commit():
    with_commit = Suite(environment=Environment(commit_sha="0123456789abcdef0123"))
    assert costs_basis(with_commit) == "costs in the baseline of 0123456789ab"
    assert costs_basis(Suite()) == "costs in the baseline"


# ---------------------------------------------------------------------------
# The new fields in the results file
# ---------------------------------------------------------------------------


def _time(value: float = 1e-6, processes: int = 2) -> dict[str, Metric]:
    return {metrics.TIME: Metric(unit="s", samples=tuple((value, value) for _ in range(processes)))}


def test_shard_fields_round_trip(tmp_path):
    shard_suite = Suite(
        benchmarks=(Benchmark("a", _time(), loops=4),),
        environment=Environment(commit_sha="abc"),
        settings=RunSettings(time_budget=5.0, processes=2, mode="baseline", shard="2/3",
                             suite_size=7, suite_digest=suite_digest("abcdefg"),
                             partition="costs in the baseline of abc"))
    merged_suite = Suite(
        benchmarks=(Benchmark("a", _time(), loops=4, shard=2),
                    Benchmark("b", _time(), shard=1),
                    Benchmark("c", error="boom", shard=3)),
        settings=RunSettings(processes=2, suite_size=3, suite_digest=suite_digest("abc"),
                             partition=NAME_HASH, shards=3))
    for index, suite in enumerate((shard_suite, merged_suite)):
        data = files.suite_to_dict(suite)
        assert files.suite_from_dict(json.loads(json.dumps(data))) == suite
        path = tmp_path / f"r{index}.json"
        files.dump_suite(suite, path)
        assert files.load_suite(path) == suite
    data = files.suite_to_dict(merged_suite)
    assert [b.get("shard") for b in data["benchmarks"]] == [2, 1, 3]
    assert data["settings"]["shards"] == 3
    assert "shard" not in files.suite_to_dict(shard_suite)["benchmarks"][0]


def test_files_without_shard_fields_still_load():
    data = files.suite_to_dict(Suite(benchmarks=(Benchmark("a", _time()),)))
    for key in ("shard", "suite_size", "suite_digest", "partition", "shards"):
        del data["settings"][key]
    suite = files.suite_from_dict(data)
    assert suite.settings.shard is None and suite.benchmarks[0].shard is None


@pytest.mark.parametrize("bad", [0, -1, True, "2", 2.0, 10_001])
def test_a_bad_benchmark_shard_is_refused_naming_the_field(bad):
    data = files.suite_to_dict(Suite(benchmarks=(Benchmark("a", _time()),)))
    data["benchmarks"][0]["shard"] = bad
    with pytest.raises(ResultsFormatError) as caught:
        files.suite_from_dict(data, source="r.json")
    assert caught.value.field == "shard" and caught.value.benchmark == "a"
    assert "'shard'" in str(caught.value) and "r.json" in str(caught.value)


@pytest.mark.parametrize("key, bad", [("shard", 2), ("suite_size", "7"), ("shards", 2.5),
                                      ("suite_digest", 5), ("partition", True)])
def test_a_bad_settings_shard_field_is_refused_naming_the_field(key, bad):
    data = files.suite_to_dict(Suite(benchmarks=(Benchmark("a", _time()),)))
    data["settings"][key] = bad
    with pytest.raises(ResultsFormatError) as caught:
        files.suite_from_dict(data)
    assert caught.value.field == f"settings.{key}"


def test_the_model_refuses_a_bad_shard():
    for bad in (0, -1, True, "2"):
        with pytest.raises(ValueError, match="shard"):
            Benchmark("a", shard=bad)


# ---------------------------------------------------------------------------
# The merge
# ---------------------------------------------------------------------------

NAMES = [f"bench_{i}" for i in range(9)]
COMMIT = "c0ffee" * 6


def _shard_suite(names, index, count, *, suite_names=NAMES, processes=4, mode="baseline",
                 env=None, **settings):
    fields = dict(time_budget=5.0, processes=processes, values_per_process=3, mode=mode,
                  shard=f"{index}/{count}", suite_size=len(set(suite_names)),
                  suite_digest=suite_digest(suite_names), partition=NAME_HASH)
    fields.update(settings)
    environment = Environment(cpu_model="Test CPU", logical_cores=4, python_version="3.12.1",
                              commit_sha=COMMIT, **(env or {}))
    return Suite(tuple(Benchmark(n, _time(1e-6 * (1 + i), processes), loops=10)
                       for i, n in enumerate(names)),
                 environment, RunSettings(**fields))


def _parts(count=3, names=NAMES, **kwargs):
    return [ShardPart(f"shard-{k}.json",
                      _shard_suite(Shard(k, count).select(names), k, count, **kwargs))
            for k in range(1, count + 1)]


def test_a_complete_set_merges_into_the_whole_suite():
    parts = _parts()
    envs = [dict(load_average_before=0.5, load_average_max=1.0, cpu_steal_max=None,
                 speed_reference=1.0),
            dict(load_average_before=2.5, load_average_max=0.7, cpu_steal_max=0.02,
                 speed_reference=3.0),
            dict(load_average_before=None, load_average_max=4.0, cpu_steal_max=0.01,
                 speed_reference=2.5)]
    parts = [replace(part, head=replace(part.head, environment=replace(part.head.environment, **env),
                                        settings=replace(part.head.settings, processes=p)))
             for part, env, p in zip(parts, envs, (4, 3, 5), strict=True)]
    head, base = merge_shards(list(reversed(parts)))        # the order given does not matter
    assert base is None
    assert sorted(head.names()) == sorted(NAMES)
    for k, part in enumerate(parts, start=1):
        for name in part.head.names():
            assert head.get(name).shard == k
            assert head.get(name).metrics == part.head.get(name).metrics
    assert head.settings.shards == 3 and head.settings.shard is None
    assert head.settings.processes == 3
    assert head.settings.suite_size == len(NAMES) and head.settings.mode == "baseline"
    environment = head.environment
    assert environment.load_average_before == 2.5
    assert environment.load_average_max == 4.0
    assert environment.cpu_steal_max == 0.02
    assert environment.speed_reference == 2.5
    assert environment.commit_sha == COMMIT
    # the merged suite is a valid results file
    assert files.suite_from_dict(files.suite_to_dict(head)) == head


def test_a_single_shard_of_one_merges():
    head, _ = merge_shards(_parts(count=1))
    assert sorted(head.names()) == sorted(NAMES) and head.settings.shards == 1
    assert {b.shard for b in head.benchmarks} == {1}


def test_speed_reference_is_the_median_over_the_shards_that_have_one():
    parts = _parts(count=4)
    speeds = [1.0, None, 5.0, 2.0]
    parts = [replace(p, head=replace(p.head, environment=replace(p.head.environment,
                                                                 speed_reference=s)))
             for p, s in zip(parts, speeds, strict=True)]
    assert merge_shards(parts)[0].environment.speed_reference == 2.0


def _refusal(parts) -> str:
    with pytest.raises(ShardSetError) as caught:
        merge_shards(parts)
    return str(caught.value)


def test_refuses_an_empty_list():
    message = _refusal([])
    assert "no shard results" in message and "upload" in message and "artifact" in message


def test_refuses_a_whole_suite_file():
    parts = _parts()
    whole = replace(parts[1].head, settings=replace(parts[1].head.settings, shard=None))
    parts[1] = ShardPart("whole.json", whole)
    message = _refusal(parts)
    assert "whole.json" in message and "whole suite" in message
    assert "--shard" in message


def test_refuses_shards_of_different_counts():
    parts = _parts(count=3)[:2] + [_parts(count=2)[0]]
    parts = [parts[1], parts[2]]          # 2/3 and 1/2
    message = _refusal(parts)
    assert "2/3" in message and "1/2" in message
    assert "same count" in message


def test_refuses_a_repeated_index():
    parts = _parts()
    parts.append(ShardPart("again.json", parts[1].head))
    message = _refusal(parts)
    assert "2/3" in message and "twice" in message and "again.json" in message
    assert "once" in message


def test_refuses_a_missing_index_naming_it():
    message = _refusal(_parts()[:2])
    assert "3/3" in message and "missing" in message
    assert "re-run" in message


def test_names_every_missing_shard():
    parts = _parts(count=5)
    message = _refusal([parts[0], parts[2]])
    assert "3 shards of 5 missing" in message
    assert all(f"{k}/5" in message for k in (2, 4, 5))


@pytest.mark.parametrize("where, change, words", [
    ("settings", {"suite_digest": "0" * 16}, ["settings.suite_digest", "same checkout"]),
    ("environment", {"commit_sha": "f" * 40}, ["environment.commit_sha", "re-run the whole workflow"]),
    ("settings", {"mode": "same-runner-head"}, ["settings.mode", "same inputs"]),
    ("settings", {"time_budget": 9.0}, ["settings.time_budget", "same inputs"]),
    ("settings", {"filter": "bench_*"}, ["settings.filter", "same inputs"]),
])
def test_refuses_shards_configured_differently(where, change, words):
    parts = _parts()
    head = parts[2].head
    if where == "settings":
        head = replace(head, settings=replace(head.settings, **change))
    else:
        head = replace(head, environment=replace(head.environment, **change))
    parts[2] = ShardPart("odd.json", head)
    message = _refusal(parts)
    assert "odd.json" in message and "shard-1.json" in message
    for word in words:
        assert word in message


def test_refuses_a_benchmark_in_two_shards():
    parts = _parts()
    extra = parts[0].head.names()[0]
    head = parts[1].head
    head = replace(head, benchmarks=head.benchmarks + (Benchmark(extra, _time(), loops=10),))
    parts[1] = ShardPart("shard-2.json", head)
    message = _refusal(parts)
    assert repr(extra) in message and "1/3" in message and "2/3" in message
    assert "re-run the shard jobs together" in message


def test_refuses_fewer_benchmarks_than_the_suite_size():
    parts = _parts()
    head = parts[1].head
    parts[1] = ShardPart("shard-2.json", replace(head, benchmarks=head.benchmarks[1:]))
    message = _refusal(parts)
    assert f"measured {len(NAMES) - 1} of the suite's {len(NAMES)}" in message
    assert "re-run the shard jobs together" in message


def _ab_parts(count, head_names, base_names, **kwargs):
    union = sorted(set(head_names) | set(base_names))
    parts = []
    for k in range(1, count + 1):
        mine = Shard(k, count).select(union)
        parts.append(ShardPart(
            f"head-{k}.json",
            _shard_suite([n for n in mine if n in head_names], k, count, suite_names=union,
                         mode="same-runner-head", **kwargs),
            _shard_suite([n for n in mine if n in base_names], k, count, suite_names=union,
                         mode="same-runner-base", **kwargs)))
    return parts


def test_refuses_base_results_in_one_shard_only():
    parts = _ab_parts(3, NAMES, NAMES)
    parts[1] = ShardPart("head-2.json", parts[1].head)
    message = _refusal(parts)
    assert "head-2.json" in message and "different modes" in message
    assert "same mode" in message


def test_refuses_base_results_of_another_shard():
    parts = _ab_parts(3, NAMES, NAMES)
    parts[0] = ShardPart("head-1.json", parts[0].head, parts[1].base)
    message = _refusal(parts)
    assert "head-1.json" in message
    assert "base results belong to shard 2/3" in message and "head results to 1/3" in message


def test_refuses_base_results_of_a_whole_suite():
    parts = _ab_parts(2, NAMES, NAMES)
    base = parts[0].base
    parts[0] = ShardPart("head-1.json", parts[0].head,
                         replace(base, settings=replace(base.settings, shard=None)))
    message = _refusal(parts)
    assert "base results belong to shard none" in message


def test_same_runner_merges_both_sides_and_counts_removed_benchmarks():
    head_names = NAMES[:7] + ["added"]
    base_names = NAMES[:7] + ["removed"]
    for count in (2, 3, 4):
        parts = _ab_parts(count, head_names, base_names)
        random.Random(count).shuffle(parts)
        head, base = merge_shards(parts)
        assert sorted(head.names()) == sorted(head_names)
        assert base is not None and sorted(base.names()) == sorted(base_names)
        by_source = {p.head.settings.shard: p for p in parts}
        for merged, side in ((head, "head"), (base, "base")):
            assert merged.settings.shards == count and merged.settings.shard is None
            for bench in merged.benchmarks:
                part = by_source[f"{bench.shard}/{count}"]
                assert bench.name in getattr(part, side).names()
        assert head.settings.mode == "same-runner-head"
        assert base.settings.mode == "same-runner-base"
        # a benchmark measured on both sides was measured by the same shard
        for name in NAMES[:7]:
            assert head.get(name).shard == base.get(name).shard


def test_same_runner_a_removed_benchmark_nobody_measured_is_missing():
    head_names = NAMES[:7]
    base_names = NAMES[:7] + ["removed"]
    parts = _ab_parts(3, head_names, base_names)
    for k, part in enumerate(parts):
        if "removed" in part.base.names():
            parts[k] = replace(part, base=replace(part.base, benchmarks=tuple(
                b for b in part.base.benchmarks if b.name != "removed")))
    message = _refusal(parts)
    assert "measured 7 of the suite's 8" in message


def test_same_runner_a_benchmark_in_two_shards_across_sides_is_refused():
    parts = _ab_parts(2, NAMES, NAMES)
    stolen = parts[0].head.names()[0]
    base = parts[1].base
    parts[1] = replace(parts[1], base=replace(
        base, benchmarks=base.benchmarks + (Benchmark(stolen, _time(), loops=10),)))
    message = _refusal(parts)
    assert repr(stolen) in message and "by shard 1/2 and by shard 2/2" in message


def test_the_partition_is_what_runner_shards_agree_on():
    """Every job computes the same partition from the same names, in any order."""
    names = NAMES + ["x[n=1]", "x[n=2]"]
    for count in (2, 3, 4):
        orders = [names, list(reversed(names)), sorted(names, key=len)]
        selections = [[set(Shard(k, count).select(order)) for k in range(1, count + 1)]
                      for order in orders]
        assert all(s == selections[0] for s in selections)
        assert set(itertools.chain.from_iterable(selections[0])) == set(names)


def test_timed_shards_on_runners_of_different_cpus_and_builds_merge():
    parts = _parts()
    parts[1] = ShardPart(parts[1].source, replace(
        parts[1].head, environment=replace(parts[1].head.environment, cpu_model="Other CPU",
                                           cpu_features="avx2 avx512f",
                                           python_build="3.12.1 (other build)")))
    head, _ = merge_shards(parts)
    assert len(head.benchmarks) == len(NAMES)


def test_counted_shards_of_different_builds_are_refused():
    counted = {"counter": "valgrind-3.19.0 callgrind", "hash_seed": "0",
               "python_build": "3.12.1 (main)", "cpu_features": "avx2"}
    parts = _parts(env=counted)
    assert len(merge_shards(parts)[0].benchmarks) == len(NAMES)
    parts[2] = ShardPart(parts[2].source, replace(
        parts[2].head, environment=replace(parts[2].head.environment,
                                           python_build="3.12.1 (other build)")))
    message = _refusal(parts)
    assert "environment.python_build" in message and "shard-3.json" in message


def test_a_baseline_merged_from_3_shards_compares_whole_with_a_suite_of_2_shards():
    from perfaction.analysis.compare import compare_suites
    from perfaction.analysis.comparison import Verdict
    from perfaction.analysis.policy import Policy

    baseline, _ = merge_shards(_parts(count=3))
    head, _ = merge_shards(_parts(count=2))
    unsharded = _shard_suite(NAMES, 1, 1)
    for base in (baseline, unsharded):       # the shard count changed, or sharding switched on
        comparison = compare_suites(base, head, Policy())
        verdicts = {d.verdict for d in comparison.deltas}
        assert {d.benchmark for d in comparison.deltas} == set(NAMES)
        assert not verdicts & {Verdict.NEW, Verdict.REMOVED, Verdict.FAILED}, verdicts
    # and switched off: the merged baseline against one whole-suite run
    comparison = compare_suites(baseline, unsharded, Policy())
    assert not {d.verdict for d in comparison.deltas} & {Verdict.NEW, Verdict.REMOVED}
