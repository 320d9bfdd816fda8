"""Change-point detection on seeded series: steps found, noise and hardware ignored."""

from __future__ import annotations

import numpy as np
import pytest

from perfaction.changepoint import (IMPROVEMENT, REGRESSION, DetectionSettings, detect_history,
                                    detect_series, find_splits)
from perfaction.history import Entry, History, MetricSummary

CPU_A = {"cpu_model": "CPU A", "logical_cores": 4}
CPU_B = {"cpu_model": "CPU B", "logical_cores": 4}


def noisy(rng: np.random.Generator, length: int, cv: float = 0.03) -> np.ndarray:
    """Log-normal noise with 1% outliers, like nightly runs on a shared runner."""
    values = np.exp(rng.normal(0, cv, length))
    hit = rng.random(length) < 0.01
    values[hit] *= 1.5
    return values


def history_of(values, fingerprints=None, direction="lower") -> History:
    fingerprints = fingerprints or [CPU_A] * len(values)
    entries = [Entry(f"c{i:03d}", f"2024-01-01T02:00:00Z", fp,
                     {"bench": {"time": MetricSummary("s", direction, float(v), 20, 0.03)}})
               for i, (v, fp) in enumerate(zip(values, fingerprints))]
    return History(tuple(entries))


def test_finds_a_seeded_step_where_it_happened():
    values = noisy(np.random.default_rng(11), 120)
    values[70:] *= 1.10
    (split,) = find_splits(values)
    assert abs(split.index - 70) <= 2
    assert split.change == pytest.approx(0.10, abs=0.03)
    assert split.p_value <= 0.001


def test_finds_two_steps_in_opposite_directions():
    values = noisy(np.random.default_rng(12), 150)
    values[40:] *= 1.15
    values[100:] /= 1.15
    found = find_splits(values)
    assert [round(s.index, -1) for s in found] == [40, 100]
    assert found[0].change > 0 > found[1].change


def test_null_noise_gives_no_change_points():
    rng = np.random.default_rng(13)
    found = [s for _ in range(20) for s in find_splits(noisy(rng, 200))]
    assert found == []


def test_significant_but_tiny_change_is_below_the_minimum_magnitude():
    values = noisy(np.random.default_rng(14), 200, cv=0.002)
    values[100:] *= 1.01
    assert find_splits(values, DetectionSettings(min_magnitude=0.02)) == ()
    (split,) = find_splits(values, DetectionSettings(min_magnitude=0.005))
    assert abs(split.index - 100) <= 2


def test_constant_and_short_series():
    assert find_splits([1.0] * 50) == ()
    assert find_splits([1.0, 2.0, 3.0]) == ()
    # zeros: no logarithm, but a change is still a change
    (split,) = find_splits([0.0] * 20 + [64.0] * 20)
    assert split.index == 20 and split.change is None


def test_deterministic_for_the_same_input():
    values = noisy(np.random.default_rng(15), 200)
    values[120:] *= 1.07
    assert find_splits(values) == find_splits(values.copy())


def test_hardware_switch_is_not_a_change_point_but_a_real_step_is():
    rng = np.random.default_rng(16)
    values = noisy(rng, 160)
    fingerprints = [CPU_A] * 160
    for i in range(50, 80):      # runner B, 30% slower, for a month
        values[i] *= 1.3
        fingerprints[i] = CPU_B
    values[120:] *= 1.10         # a real regression later, on runner A
    history = history_of(values, fingerprints)
    found = detect_history(history)
    assert len(found) == 1
    (point,) = found
    assert abs(point.history_index - 120) <= 2
    assert point.kind == REGRESSION
    assert point.commit_after == history.entries[point.history_index].commit
    assert point.commit_before == history.entries[point.before_history_index].commit
    # without grouping, the switch itself looks like two changes
    assert len(find_splits(values)) >= 3


def test_commit_range_spans_the_other_runner_when_the_change_happened_there():
    values = np.ones(100) * noisy(np.random.default_rng(17), 100)
    fingerprints = [CPU_A] * 100
    fingerprints[50:55] = [CPU_B] * 5
    values[52:] *= 1.2           # the change landed while runner B was in use
    (point,) = [c for c in detect_history(history_of(values, fingerprints))
                if c.fingerprint_id == history_of([1], [CPU_A]).entries[0].fingerprint_id]
    assert (point.before_history_index, point.history_index) == (49, 55)


def test_direction_decides_regression_or_improvement():
    values = noisy(np.random.default_rng(18), 80)
    values[40:] *= 1.2
    slower = detect_series(history_of(values).series("bench", "time"))
    faster = detect_series(history_of(values, direction="higher").series("bench", "time"))
    assert [c.kind for c in slower] == [REGRESSION]
    assert [c.kind for c in faster] == [IMPROVEMENT]


def test_mixed_fingerprints_are_refused_by_detect_series():
    history = history_of([1.0] * 10, [CPU_A] * 5 + [CPU_B] * 5)
    with pytest.raises(ValueError, match="per fingerprint"):
        detect_series(history.series("bench", "time"))


def test_settings_are_validated():
    with pytest.raises(ValueError, match="alpha"):
        DetectionSettings(alpha=0)
    with pytest.raises(ValueError, match="window"):
        DetectionSettings(window=2, min_size=3)


def test_location_range_is_wide_for_a_blurred_step_and_holds_the_true_position():
    values = noisy(np.random.default_rng(20), 200, cv=0.05)
    values[100:] *= 1.08
    (split,) = find_splits(values)
    assert split.index != 100                     # the point estimate misses ...
    assert split.earliest <= 100 <= split.latest  # ... the range does not
    assert split.latest - split.earliest >= 10


def test_location_range_is_one_point_for_a_sharp_step():
    values = noisy(np.random.default_rng(19), 200, cv=0.01)
    values[100:] *= 1.2
    (split,) = find_splits(values)
    assert (split.earliest, split.index, split.latest) == (100, 100, 100)


def test_p_value_pays_for_the_positions_searched():
    values = [1.0 + i / 100 for i in range(10)] + [2.0 + i / 100 for i in range(10)]
    (split,) = find_splits(values)
    exact = 2 / 184756                 # two-sided exact Mann-Whitney, 10 vs 10, no overlap
    positions = 20 - 2 * 3 + 1         # splits the search could choose with min_size 3
    assert split.index == 10
    assert split.p_value == pytest.approx(exact * positions)
