"""Change-point detection on seeded series: steps found, noise and hardware ignored."""

from __future__ import annotations

import numpy as np
import pytest

from perfaction.analysis.changepoint import (
    IMPROVEMENT,
    REGRESSION,
    DetectionSettings,
    _variance_inflation,
    detect_history,
    detect_series,
    find_splits,
)
from perfaction.analysis.nightly import IssueAction, parse_marker, plan_nightly
from perfaction.results.history import Entry, History, MetricSummary

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
    entries = [Entry(f"c{i:03d}", "2024-01-01T02:00:00Z", fp,
                     {"bench": {"time": MetricSummary("s", direction, float(v), 20, 0.03)}})
               for i, (v, fp) in enumerate(zip(values, fingerprints, strict=True))]
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


# --- a regression fixed some nights later: a plateau ---------------------------------------

def regression_then_fix(seed: int, good: int = 30, bad: int = 10, after: int = 10,
                        size: float = 0.10, cv: float = 0.03) -> np.ndarray:
    values = noisy(np.random.default_rng(seed), good + bad + after, cv)
    values[good:good + bad] *= 1 + size
    return values


def test_regression_and_its_fix_are_both_found_with_their_commit_ranges():
    # 30 good nights, 10 bad, 10 good: the best single split puts the fix on the
    # side of the good nights and is not significant; the plateau search is.
    values = regression_then_fix(21)
    history = history_of(values)
    regression, fix = detect_history(history)
    assert (regression.kind, fix.kind) == (REGRESSION, IMPROVEMENT)
    assert regression.before_history_index < 30 <= regression.after_history_index
    assert fix.before_history_index < 40 <= fix.after_history_index
    for point in (regression, fix):
        assert point.after_history_index - point.before_history_index <= 4
        assert point.commit_before == history.entries[point.before_history_index].commit
        assert point.commit_after == history.entries[point.after_history_index].commit
        assert point.p_value <= 0.001
    assert regression.change == pytest.approx(0.10, abs=0.03)
    assert fix.change == pytest.approx(1 / 1.10 - 1, abs=0.03)


def test_regression_stays_reported_every_night_while_its_fix_arrives():
    values = regression_then_fix(22, after=20, cv=0.02)
    fix_seen = []
    for night in range(41, 61):
        found = find_splits(values[:night])
        assert any(s.earliest <= 30 <= s.latest for s in found), f"regression lost on night {night}"
        regression = next(s for s in found if s.earliest <= 30 <= s.latest)
        assert regression.change == pytest.approx(0.10, abs=0.03)   # not diluted by the fix
        fix_seen.append(any(s.earliest <= 40 <= s.latest for s in found))
    # the fix needs nights of its own to be significant; then it stays found
    first = fix_seen.index(True)
    assert 0 < first <= 10 and all(fix_seen[first:])


def test_nightly_issue_of_a_fixed_regression_is_updated_then_recovered():
    values = regression_then_fix(23, after=20)
    issues: dict[int, tuple[str, bool]] = {}       # number -> (marker, open), as on GitHub
    log: list[tuple[int, IssueAction]] = []
    for night in range(30, len(values)):
        history = history_of(values[:night + 1])
        known = [parse_marker(marker, issue_number=number, open=is_open)
                 for number, (marker, is_open) in issues.items()]
        for plan in plan_nightly(history, detect_history(history), known).issues:
            log.append((night, plan.action))
            if plan.action is IssueAction.OPEN:
                issues[len(issues) + 1] = (plan.marker, True)
            elif plan.action is IssueAction.UPDATE:
                issues[plan.issue_number] = (plan.marker, True)
            else:
                issues[plan.issue_number] = (issues[plan.issue_number][0], not plan.close)
    actions = [action for _, action in log]
    assert actions.count(IssueAction.OPEN) == 1 and actions.count(IssueAction.RECOVERED) == 1
    opened = next(n for n, a in log if a is IssueAction.OPEN)
    recovered = next(n for n, a in log if a is IssueAction.RECOVERED)
    assert opened < 40 < recovered <= 50
    # updated every night in between: the issue is never left untouched
    assert [n for n, a in log if a is IssueAction.UPDATE] == list(range(opened + 1, recovered))
    assert issues == {1: (issues[1][0], False)}


def test_plateau_too_short_to_pay_for_the_search_is_ignored():
    # Against 200 nights no arrangement of 4 points is significant once every
    # interval searched is paid for, so 4-night blips are not even searched.
    values = noisy(np.random.default_rng(24), 200, cv=0.01)
    values[100:104] *= 2.0
    assert find_splits(values) == ()
    values[104:106] *= 2.0
    assert [s.index for s in find_splits(values)] == [100, 106]


def test_null_noise_with_short_lived_bumps_of_noise_gives_no_plateaus():
    rng = np.random.default_rng(25)
    found = [s for _ in range(20) for s in find_splits(noisy(rng, 100, cv=0.05))]
    assert found == []


def test_variance_inflation_sees_correlated_noise_but_not_a_plateau():
    rng = np.random.default_rng(26)
    independent = rng.normal(0, 1, 200)
    assert _variance_inflation(independent, 80, 100) == 1.0
    bump = independent.copy()
    bump[80:100] += 5          # a plateau is a level, not correlation
    assert _variance_inflation(bump, 80, 100) == 1.0
    correlated = np.zeros(200)
    for i in range(1, 200):
        correlated[i] = 0.6 * correlated[i - 1] + independent[i]
    assert _variance_inflation(correlated, 80, 100) == pytest.approx(4.0, rel=0.35)
