"""`perfaction run/ab --shard K/N` then `perfaction merge`, with real worker processes."""

import shutil
from pathlib import Path

import pytest

from perfaction.cli.main import main
from perfaction.results import files
from perfaction.results.shards import NAME_HASH, Shard, costs_of, suite_digest

pytestmark = pytest.mark.slow

FAST = ["--time-budget", "3", "--min-value-time", "0.005", "-q"]
COMMIT = "0123456789abcdef0123456789abcdef01234567"

# six benchmarks, the same in the CLI and entry-point tests of sharding
MODULE = (Path(__file__).parents[1] / "data" / "bench_modules" / "bench_six_shardable.py").read_text(encoding="utf-8")
NAMES = {"summing[size=10]", "summing[size=100]", "summing[size=1000]",
         "joining[words=5]", "joining[words=50]", "sorting"}

SMALL = '''
from perfaction import benchmark


@benchmark(params={"n": [1, 2, 3]})
def tiny(n):
    return lambda: n + 1
'''

REMOVED = '''

@benchmark
def removed_by_the_change():
    return lambda: len("abc")
'''


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    """The three shards of the module, measured one by one as three jobs would."""
    root = tmp_path_factory.mktemp("sharded")
    (root / "bench_shard.py").write_text(MODULE)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        for k in (1, 2, 3):
            code = main(["run", "bench_shard.py", "--shard", f"{k}/3", "-o", f"shard-{k}.json",
                         "--commit-sha", COMMIT, *FAST])
            assert code == 0
    return root


def test_each_shard_records_its_part_and_the_merge_has_every_benchmark_once(sharded, tmp_path,
                                                                            monkeypatch, capsys):
    monkeypatch.chdir(sharded)
    parts = [files.load_suite(sharded / f"shard-{k}.json") for k in (1, 2, 3)]
    measured = [set(p.names()) for p in parts]
    assert all(measured)
    assert sorted(n for m in measured for n in m) == sorted(NAMES)
    for k, part in enumerate(parts, start=1):
        assert part.settings.shard == f"{k}/3"
        assert part.settings.suite_size == len(NAMES)
        assert part.settings.suite_digest == suite_digest(NAMES)
        assert part.settings.partition == NAME_HASH
        assert measured[k - 1] == set(Shard(k, 3).select(sorted(NAMES)))

    merged = tmp_path / "merged.json"
    capsys.readouterr()
    assert main(["merge", "shard-3.json", "shard-1.json", "shard-2.json", "-o", str(merged)]) == 0
    assert "merged 3 shards (6 benchmarks)" in capsys.readouterr().out
    whole = files.load_suite(merged)
    assert sorted(whole.names()) == sorted(NAMES)
    for bench in whole.benchmarks:
        assert not bench.failed
        assert bench.name in measured[bench.shard - 1]
    assert whole.settings.shards == 3 and whole.settings.shard is None
    assert whole.environment.commit_sha == COMMIT
    assert not (tmp_path / "merged.base.json").exists()

    assert main(["compare", str(merged), str(merged)]) == 0
    assert "error" not in capsys.readouterr().err.lower()


def test_merging_two_of_three_exits_2_naming_the_missing_shard(sharded, tmp_path, monkeypatch,
                                                                capsys):
    monkeypatch.chdir(sharded)
    merged = tmp_path / "merged.json"
    assert main(["merge", "shard-1.json", "shard-3.json", "-o", str(merged)]) == 2
    stderr = capsys.readouterr().err
    assert "2/3" in stderr and "missing" in stderr
    assert "1/3" not in stderr.replace("2/3", "")     # only the missing one is named
    assert not merged.exists()

    assert main(["merge", "shard-1.json", "shard-2.json", "-o", str(merged)]) == 2
    assert "3/3" in capsys.readouterr().err
    assert not merged.exists()


def test_merging_a_shard_twice_or_a_whole_suite_exits_2(sharded, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(sharded)
    copy = tmp_path / "copy-of-2.json"
    shutil.copy(sharded / "shard-2.json", copy)
    merged = tmp_path / "merged.json"
    assert main(["merge", "shard-1.json", "shard-2.json", str(copy), "shard-3.json",
                 "-o", str(merged)]) == 2
    assert "given twice" in capsys.readouterr().err

    assert main(["merge", "shard-1.json", "shard-2.json", "shard-3.json", "-o", str(merged)]) == 0
    assert main(["merge", str(merged), "-o", str(tmp_path / "again.json")]) == 2
    assert "whole suite" in capsys.readouterr().err


def test_more_shards_than_benchmarks_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bench_small.py").write_text(SMALL)
    assert main(["run", "bench_small.py", "--shard", "5/5", "-o", "r.json", *FAST]) == 2
    assert "at most 3 shards" in capsys.readouterr().err
    # the file that records the failure is still a shard's: the merge says what happened
    assert main(["merge", "r.json", "-o", "merged.json"]) == 2
    said = capsys.readouterr().err
    assert "shard 5/5" in said and "failed before measuring" in said and "at most 3" in said


@pytest.mark.parametrize("argv, words", [
    (["--shard", "0/3"], "out of range"),
    (["--shard", "2-3"], "INDEX/COUNT"),
    (["--shard-costs", "baseline.json"], "give --shard K/N too"),
])
def test_bad_shard_options_exit_2_before_measuring(tmp_path, monkeypatch, capsys, argv, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bench_small.py").write_text(SMALL)
    assert main(["run", "bench_small.py", *argv, "-o", "r.json", *FAST]) == 2
    stderr = capsys.readouterr().err
    assert words in stderr
    assert not (tmp_path / "r.json").exists()


def test_shard_costs_balance_by_the_baseline_and_say_so(sharded, tmp_path, monkeypatch):
    monkeypatch.chdir(sharded)
    baseline = tmp_path / "baseline.json"
    assert main(["merge", "shard-1.json", "shard-2.json", "shard-3.json", "-o", str(baseline)]) == 0
    out = tmp_path / "costed.json"
    assert main(["run", "bench_shard.py", "--shard", "1/3", "--shard-costs", str(baseline),
                 "-o", str(out), "--commit-sha", COMMIT, *FAST]) == 0
    suite = files.load_suite(out)
    assert suite.settings.partition == f"costs in the baseline of {COMMIT[:12]}"
    assert suite.settings.partition.startswith("costs in the baseline")
    assert suite.settings.shard == "1/3" and suite.settings.suite_size == len(NAMES)
    costs = costs_of(files.load_suite(baseline))
    assert set(costs) == NAMES
    assert set(suite.names()) == set(Shard(1, 3, costs).select(sorted(NAMES)))


def test_same_runner_shards_merge_both_sides(tmp_path, monkeypatch, capsys):
    head_dir, base_dir = tmp_path / "head", tmp_path / "base"
    head_dir.mkdir()
    (head_dir / "bench_shard.py").write_text(MODULE)
    shutil.copytree(head_dir, base_dir)
    # the change removed a benchmark: only the base side has it, and one shard measures it
    (base_dir / "bench_shard.py").write_text(MODULE + REMOVED)
    monkeypatch.chdir(head_dir)
    for k in (1, 2):
        code = main(["ab", "bench_shard.py", "--base-dir", str(base_dir), "--shard", f"{k}/2",
                     "-o", f"head-{k}.json", "--base-output", f"base-{k}.json", *FAST])
        assert code in (0, 1), capsys.readouterr().err
    everything = NAMES | {"removed_by_the_change"}
    for k in (1, 2):
        head, base = files.load_suite(f"head-{k}.json"), files.load_suite(f"base-{k}.json")
        assert head.settings.shard == base.settings.shard == f"{k}/2"
        assert head.settings.suite_size == base.settings.suite_size == len(everything)
        assert head.settings.suite_digest == suite_digest(everything)
        assert set(head.names()) == set(Shard(k, 2).select(sorted(everything))) - {
            "removed_by_the_change"}
        assert set(base.names()) == set(Shard(k, 2).select(sorted(everything)))

    capsys.readouterr()
    code = main(["merge", "head-1.json", "head-2.json", "--base", "base-2.json",
                 "--base", "base-1.json"])
    assert code == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "merged.json" in out and "merged.base.json" in out
    head = files.load_suite("merged.json")
    base = files.load_suite("merged.base.json")
    assert set(head.names()) == NAMES
    assert set(base.names()) == everything
    for name in NAMES:
        assert head.get(name).shard == base.get(name).shard
    assert head.settings.shards == base.settings.shards == 2

    code = main(["compare", "merged.base.json", "merged.json", "--mode", "same-runner"])
    assert code in (0, 1), capsys.readouterr().err


def test_same_runner_merge_refuses_a_repeated_base_and_a_missing_shard(tmp_path, monkeypatch,
                                                                      capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bench_small.py").write_text(SMALL)
    base_dir = tmp_path / "base"
    base_dir.mkdir()
    (base_dir / "bench_small.py").write_text(SMALL)
    assert main(["ab", "bench_small.py", "--base-dir", str(base_dir), "--shard", "1/2",
                 "-o", "head-1.json", "--base-output", "base-1.json", *FAST]) in (0, 1)
    capsys.readouterr()
    assert main(["merge", "head-1.json", "--base", "base-1.json", "--base", "base-1.json"]) == 2
    assert "give each once" in capsys.readouterr().err
    assert main(["merge", "head-1.json"]) == 2
    assert "2/2" in capsys.readouterr().err
