"""The pure parts of benchmarks/detection_quality.py: trial composition, rules, rates.

Hand-made pools stand in for measured ones, so nothing here starts a process.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path

import pytest

from perfaction.analysis.policy import Policy

WORKLOADS = Path(__file__).resolve().parents[2] / "benchmarks" / "detection_workloads"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, WORKLOADS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module   # dq_render imports dq_trials by name
    spec.loader.exec_module(module)
    return module


dq_trials = _load("dq_trials")
dq_suite = _load("dq_suite")
dq_render = _load("dq_render")

BENCHES = ("alpha", "beta", "gamma")
ZERO = ("z0", "z1", "z2", "z3")
LEVEL_SIDES = {0.05: "s05", 0.5: "s50"}


def _process(value: float, rng: random.Random) -> tuple[float, ...]:
    # A small seeded spread: every process differs, as measured ones do.
    base = value * (1 + 0.002 * rng.random())
    return (base, base * 1.0001, base * 0.9999)


def _pool(index: int, rounds: int, level_factor: dict[str, float] | None = None,
          shift: float = 1.0) -> dq_trials.PoolRun:
    """Every side and benchmark at 1 ms (times ``shift``); level sides slowed by their factor."""
    factors = {side: 1.0 for side in ZERO}
    factors.update(level_factor or {"s05": 1.05, "s50": 1.5})
    values, walls = {}, {}
    rng = random.Random(index)
    for side, factor in factors.items():
        values[side] = {b: tuple(_process(1e-3 * factor * shift, rng) for _ in range(rounds))
                        for b in BENCHES}
        walls[side] = {b: tuple(0.5 for _ in range(rounds)) for b in BENCHES}
    return dq_trials.PoolRun(index, values, walls)


def test_chunks_are_disjoint_and_fit():
    assert dq_trials.chunk_starts(10, 3) == [0, 3, 6]
    assert dq_trials.chunk_starts(2, 3) == []
    with pytest.raises(ValueError):
        dq_trials.chunk_starts(10, 0)


def test_zero_pairs_use_each_side_once():
    assert dq_trials.zero_pairs(ZERO) == [("z0", "z1"), ("z2", "z3")]
    with pytest.raises(ValueError):
        dq_trials.zero_pairs(("z0",))


def test_same_runner_trials_use_each_process_once_per_level():
    run = _pool(0, rounds=8)
    trials = dq_trials.compose([run], dq_trials.SAME_RUNNER, 4, ZERO, LEVEL_SIDES)
    assert len(trials[0.0]) == 2 * 2                 # 2 chunks x 2 zero pairs
    assert len(trials[0.05]) == 2 * len(BENCHES)     # 2 chunks x one trial per slowed benchmark
    for level, level_trials in trials.items():
        seen: set[tuple[str, tuple]] = set()
        for trial in level_trials:
            tested = BENCHES if level == 0.0 else (trial.slowed,)
            for bench in tested:
                for side in (trial.base, trial.head):
                    for process in side[bench]:
                        key = (bench, process)
                        assert key not in seen, f"process reused at level {level}"
                        seen.add(key)
    slowed = trials[0.5][0]
    assert slowed.head[slowed.slowed][0][0] > 1.4 * slowed.base[slowed.slowed][0][0]
    others = [b for b in BENCHES if b != slowed.slowed]
    assert all(abs(slowed.head[b][0][0] / slowed.base[b][0][0] - 1) < 0.02 for b in others)
    assert slowed.seconds == pytest.approx(0.5 * 4 * len(BENCHES) * 2)   # base and head


def test_baseline_trials_take_the_base_from_the_previous_run():
    runs = [_pool(0, 4, shift=1.0), _pool(1, 4, shift=1.3)]
    trials = dq_trials.compose(runs, dq_trials.BASELINE, 4, ZERO, LEVEL_SIDES)
    assert len(trials[0.0]) == 2 * 2                 # 2 head runs x 2 zero pairs
    first = trials[0.0][0]
    assert "base run 1, head run 0" in first.source   # the first run's base is the last run
    assert first.head["alpha"][0][0] < first.base["alpha"][0][0]
    assert first.seconds == pytest.approx(0.5 * 4 * len(BENCHES))   # head job only
    assert dq_trials.compose(runs[:1], dq_trials.BASELINE, 4, ZERO, LEVEL_SIDES)[0.0] == []


def test_rules_on_a_clear_slowdown_and_on_identical_code():
    run = _pool(0, rounds=12)
    trials = dq_trials.compose([run], dq_trials.SAME_RUNNER, 12, ZERO, LEVEL_SIDES)
    policy = Policy()
    big = next(t for t in trials[0.5] if t.slowed == "beta")
    outcome = dq_trials.evaluate(big, policy)
    assert outcome["beta"]["verdict"] == "regressed" and outcome["beta"]["perfaction"]
    assert outcome["beta"]["article_mean"] and outcome["beta"]["article"]
    assert not outcome["beta"]["gab"]                # +50 % is below the 200 % alert
    assert outcome["beta"]["mean_change"] == pytest.approx(0.5, abs=0.02)
    assert not outcome["alpha"]["perfaction"]
    same = dq_trials.evaluate(trials[0.0][0], policy)
    assert not any(o["perfaction"] or o["article"] for o in same.values())


def test_article_p99_is_the_nearest_rank_value():
    assert dq_trials.article_p99([float(v) for v in range(1, 101)]) == 100.0
    assert dq_trials.article_p99([float(v) for v in range(1, 201)]) == 199.0
    assert dq_trials.article_changes(((1.0, 1.0),), ((1.1, 1.2),)) == pytest.approx((0.15, 0.2))


def test_rates_and_their_exact_intervals():
    aa = [{"a": {"perfaction": False}, "b": {"perfaction": True}},
          {"a": {"perfaction": False}, "b": {"perfaction": False}}]
    assert dq_trials.false_alarms(aa, "perfaction") == dq_trials.Rate(1, 2)
    ab = [("a", {"a": {"perfaction": True}}), ("b", {"b": {"perfaction": False}})]
    assert dq_trials.detections(ab, "perfaction") == dq_trials.Rate(1, 2)
    assert dq_trials.detections(ab, "perfaction", bench="b") == dq_trials.Rate(0, 1)
    low, high = dq_trials.Rate(0, 50).interval()
    assert low == 0.0 and high == pytest.approx(0.0711, abs=1e-3)   # 1 - 0.025 ** (1 / 50)


def test_trial_rejects_inconsistent_sides():
    with pytest.raises(ValueError):
        dq_trials.Trial("baseline", 0.0, None, {"a": ()}, {"b": ()}, "x")
    with pytest.raises(ValueError):
        dq_trials.Trial("baseline", 0.05, None, {"a": ()}, {"a": ()}, "x")


def test_knob_extends_the_work_proportionally():
    assert dq_suite.extended([1, 2, 3, 4], 0.5) == [1, 2, 3, 4, 1, 2]
    assert dq_suite.extended(list(range(200)), 0.02)[-4:] == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        dq_suite.extended([1], -0.1)
    for factory in dq_suite.FACTORIES.values():   # same result type at every level
        assert type(factory(0.0)()) is type(factory(0.1)())


def test_pool_slowdowns_and_render_from_raw_json():
    runs = [_pool(0, 4), _pool(1, 4)]
    slow = dq_trials.pool_slowdowns(runs, ZERO, LEVEL_SIDES)
    assert slow["alpha"][0.5] == pytest.approx(0.5, abs=0.02)
    data = {
        "command": "python benchmarks/detection_quality.py --quick", "started": "t0",
        "finished": "t1", "measuring_seconds": 60, "environment": {}, "load_at_start": [1, 1, 1],
        "load_at_end": [1, 1, 1], "zero_sides": list(ZERO),
        "level_sides": {"0.05": "s05", "0.5": "s50"},
        "knob": {b: {"0.05": 0.05, "0.5": 0.5, "min 0.05": 0.05, "min 0.5": 0.5,
                     "per_call_us": 1000.0} for b in BENCHES},
        "sizing": [{"mode": dq_trials.SAME_RUNNER, "budget": 60.0, "n": 4, "rounds": 4,
                    "wall": 60.0, "load": [[1, 1, 1], [1, 1, 1]], "gating_verdicts": {}}],
        "pool": [{"index": r.index, "rounds": 4, "load": [[1, 1, 1], [1, 1, 1]], "errors": [],
                  "started": "t0", "wall": 100.0,
                  "values": {s: {b: [list(p) for p in ps] for b, ps in per.items()}
                             for s, per in r.values.items()},
                  "walls": {s: {b: list(w) for b, w in per.items()} for s, per in r.walls.items()}}
                 for r in runs]}
    data = json.loads(json.dumps(data))   # the render must work from what JSON gives back
    runs_back = [dq_trials.PoolRun(p["index"], {s: {b: tuple(tuple(x) for x in ps)
                                                    for b, ps in per.items()}
                                                for s, per in p["values"].items()})
                 for p in data["pool"]]
    trials = dq_trials.compose(runs_back, dq_trials.SAME_RUNNER, 4, ZERO,
                               {float(k): v for k, v in data["level_sides"].items()})
    evaluated = {lv: [(t.slowed, dq_trials.evaluate(t, Policy()), t.seconds) for t in ts]
                 for lv, ts in trials.items()}
    text = dq_render.render(data, [{"sizing": data["sizing"][0], "evaluated": evaluated}])
    assert "## False alarms" in text and "## Detection" in text
    assert "| 60 s | same-runner | 4 | +50% | 6 |" in text
    assert "| 0 | t0 | 1 / 1 | 100 |" in text   # the per-run table of the pool


def test_cpu_outcome_adds_a_rule_and_a_column():
    run = _pool(0, rounds=12)
    trial = dq_trials.compose([run], dq_trials.SAME_RUNNER, 12, ZERO, LEVEL_SIDES)[0.5][0]
    outcome = dq_trials.evaluate(trial, Policy())
    dq_trials.add_cpu_outcome(outcome, trial, Policy())
    assert outcome[trial.slowed]["perfaction_cpu"] is True
    assert outcome[trial.slowed]["cpu_verdict"] == "regressed"
    analysis = [{"sizing": {"budget": 60.0, "mode": dq_trials.SAME_RUNNER, "n": 12},
                 "evaluated": {0.0: [], 0.5: [(trial.slowed, outcome, None)]}}]
    assert dq_render.rule_titles(analysis)[-1] == ("perfaction_cpu", "perfaction on CPU time")
    assert "perfaction on CPU time" in dq_render.detection_table(analysis)


def test_noise_table_names_both_clocks():
    entry = {"n": 20, "robust_cv": 0.05, "verdict": "unchanged", "detectable": 0.04}
    checked = {"budget": 60.0, "load": [[1.0, 1, 1], [2.0, 2, 2]],
               "benchmarks": {"alpha": {"time": entry, "cpu_time": dict(entry, robust_cv=0.02),
                                        "cpu_utilisation": 0.97}}}
    text = dq_render.noise_table(checked)
    assert "| alpha | 20 | 5.0% | 2.0% | 0.97 | unchanged | unchanged | 4.0% | 4.0% |" in text


def _drifting_pool(rounds: int, seed: int) -> dq_trials.PoolRun:
    """A pool where each round's load factor (CV ~30 %) hits every side of that round alike.

    The s05 side is 10 % slower here: clearly beyond the 5 % threshold.
    """
    rng = random.Random(seed)
    factors = {side: 1.0 for side in ZERO}
    factors.update({"s05": 1.10, "s50": 1.5})
    loads = [rng.lognormvariate(0.0, 0.3) for _ in range(rounds)]
    values = {side: {b: tuple(_process(1e-3 * f * load * rng.lognormvariate(0.0, 0.01), rng)
                              for load in loads) for b in BENCHES}
              for side, f in factors.items()}
    return dq_trials.PoolRun(seed, values)


def test_paired_rule_pairs_by_round_and_sees_through_shared_drift():
    run = _drifting_pool(rounds=19, seed=4)
    trials = dq_trials.compose([run], dq_trials.SAME_RUNNER, 19, ZERO, LEVEL_SIDES)
    policy = Policy()
    for trial in trials[0.05]:
        outcome = dq_trials.evaluate(trial, policy)
        dq_trials.add_paired_outcome(outcome, trial, policy)
        slowed = outcome[trial.slowed]
        assert slowed["perfaction_paired"] and slowed["paired_verdict"] == "regressed"
        assert slowed["paired_estimate"] == pytest.approx(0.10, abs=0.01)
        assert not slowed["perfaction"]                   # unpaired: the drift hides +10 %
        assert slowed["paired_spread"] < 0.5 * slowed["sides_spread"]
        assert not any(outcome[b]["perfaction_paired"] for b in BENCHES if b != trial.slowed)
    for trial in trials[0.0]:
        outcome = dq_trials.evaluate(trial, policy)
        dq_trials.add_paired_outcome(outcome, trial, policy)
        assert not any(o["perfaction_paired"] for o in outcome.values())
        assert {o["paired_verdict"] for o in outcome.values()} == {"unchanged"}


def test_paired_rule_needs_same_runner_trials_and_renders_as_a_column():
    runs = [_drifting_pool(19, 1), _drifting_pool(19, 2)]
    baseline = dq_trials.compose(runs, dq_trials.BASELINE, 19, ZERO, LEVEL_SIDES)[0.0][0]
    with pytest.raises(ValueError, match="same rounds"):
        dq_trials.paired_deltas(baseline, Policy())
    analysis = []
    for mode in dq_trials.MODES:
        evaluated = {}
        for level, ts in dq_trials.compose(runs, mode, 19, ZERO, LEVEL_SIDES).items():
            rows = []
            for trial in ts:
                outcome = dq_trials.evaluate(trial, Policy())
                if mode == dq_trials.SAME_RUNNER:
                    dq_trials.add_paired_outcome(outcome, trial, Policy())
                rows.append((trial.slowed, outcome, trial.seconds))
            evaluated[level] = rows
        analysis.append({"sizing": {"budget": 60.0, "mode": mode, "n": 19},
                         "evaluated": evaluated})
    assert ("perfaction_paired", "perfaction (paired)") in dq_render.rule_titles(analysis)
    detection = dq_render.detection_table(analysis)
    assert "| 60 s | same-runner | 19 | +5% | 6 | 0/6 = 0% [0%, 46%] | 6/6 = 100% [54%, 100%] |" \
        in detection
    assert "| 60 s | baseline | 19 | +5% | 6 |" in detection and "| n/a |" in detection
    paired_rows = dq_render.paired_table(analysis)
    assert "| 60 s | same-runner | 19 | alpha |" in paired_rows
    assert "baseline" not in paired_rows.split("\n", 4)[-1]
