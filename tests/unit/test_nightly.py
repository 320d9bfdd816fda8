"""Nightly planning: one issue per regression across nights, updates, recovery, trends."""

from __future__ import annotations

import numpy as np
import pytest

from perfaction.analysis import nightly
from perfaction.analysis.changepoint import detect_history
from perfaction.analysis.nightly import IssueAction, KnownRegression, NightlySettings, plan_nightly
from perfaction.results.history import Entry, History, MetricSummary

CPU_A = {"cpu_model": "CPU A", "logical_cores": 4}
CPU_B = {"cpu_model": "CPU B", "logical_cores": 4}


def entry(i: int, values: dict[str, float], cpu=CPU_A) -> Entry:
    return Entry(f"commit{i:03d}", f"2024-03-{1 + i % 28:02d}T02:00:00Z", cpu,
                 {name: {"time": MetricSummary("s", "lower", value, 20, 0.03)}
                  for name, value in values.items()})


def series(seed: int, length: int, steps: dict[int, float], cv: float = 0.03) -> np.ndarray:
    values = np.exp(np.random.default_rng(seed).normal(0, cv, length))
    for at, factor in steps.items():
        values[at:] *= factor
    return values


class FakeTracker:
    """Executes plans the way the GitHub layer will: issues hold the marker in their body."""

    def __init__(self):
        self.issues: dict[int, dict] = {}
        self.log: list[tuple[str, int]] = []

    def known(self) -> list[KnownRegression]:
        parsed = (nightly.parse_marker(i["body"], issue_number=n, open=i["open"])
                  for n, i in self.issues.items())
        return [k for k in parsed if k is not None]

    def execute(self, plans) -> None:
        for plan in plans:
            if plan.action is IssueAction.OPEN:
                number = len(self.issues) + 1
                self.issues[number] = {"title": plan.title, "body": "text\n" + plan.marker,
                                       "open": True, "comments": 0}
            else:
                number = plan.issue_number
                issue = self.issues[number]
                if plan.action is IssueAction.UPDATE:
                    issue.update(title=plan.title, body="text\n" + plan.marker)
                else:
                    issue["comments"] += 1
                    issue["open"] = not plan.close
            self.log.append((plan.action.value, number))


def run_nights(values_by_bench: dict[str, np.ndarray], tracker: FakeTracker,
               first_night: int = 40, cpus=None, settings=NightlySettings()):
    history = History()
    outcomes = []
    length = len(next(iter(values_by_bench.values())))
    for i in range(length):
        cpu = cpus[i] if cpus else CPU_A
        history = history.with_entry(entry(i, {b: float(v[i]) for b, v in values_by_bench.items()},
                                           cpu))
        if i < first_night:
            continue
        change_points = detect_history(history, settings.detection)
        outcome = plan_nightly(history, change_points, tracker.known(), settings)
        tracker.execute(outcome.issues)
        outcomes.append(outcome)
    return history, outcomes


def test_one_issue_opened_then_updated_each_night_never_duplicated():
    tracker = FakeTracker()
    _, outcomes = run_nights({"sort": series(1, 80, {60: 1.10})}, tracker)
    opened = [n for action, n in tracker.log if action == "open"]
    assert opened == [1]
    first_open = next(i for i, o in enumerate(outcomes) if o.issues)
    assert all(plan.action is IssueAction.UPDATE and plan.issue_number == 1
               for o in outcomes[first_open + 1:] for plan in o.issues)
    assert len(outcomes[-1].issues) == 1          # still reported on the last night
    (regression,) = outcomes[-1].regressions
    assert regression.commit_after == "commit060" and regression.commit_before == "commit059"
    assert regression.change == pytest.approx(0.10, abs=0.03)
    fields = outcomes[-1].issues[0].body_fields
    assert fields["commit_after"] == "commit060" and fields["latest_commit"] == "commit079"
    assert len(fields["trend"]) == 30


def test_regression_recovers_once_and_the_issue_is_closed():
    tracker = FakeTracker()
    _, outcomes = run_nights({"sort": series(2, 110, {50: 1.15, 80: 1 / 1.15})}, tracker)
    assert [a for a, _ in tracker.log].count("open") == 1
    assert [a for a, _ in tracker.log].count("comment-recovered") == 1
    issue = tracker.issues[1]
    assert issue["comments"] == 1 and issue["open"] is False
    recovered = next(o for o in outcomes if o.recoveries)
    (recovery,) = recovered.recoveries
    assert recovery.level_now == pytest.approx(recovery.level_before, rel=0.03)
    assert outcomes[-1].regressions == () and outcomes[-1].issues == ()


def test_partial_recovery_keeps_the_issue_open():
    tracker = FakeTracker()
    run_nights({"sort": series(3, 110, {50: 1.20, 80: 1 / 1.08})}, tracker)
    assert [a for a, _ in tracker.log].count("comment-recovered") == 0
    assert tracker.issues[1]["open"] is True and len(tracker.issues) == 1


def test_report_whose_location_moved_by_a_night_is_the_same_regression():
    history = History()
    values = series(4, 70, {50: 1.12})
    for i, v in enumerate(values):
        history = history.with_entry(entry(i, {"sort": float(v)}))
    earlier = KnownRegression("sort:time:commit047", "sort", "time", "commit047", "commit048",
                              issue_number=7)
    outcome = plan_nightly(history, detect_history(history), [earlier])
    assert [(p.action, p.issue_number, p.key) for p in outcome.issues] == \
        [(IssueAction.UPDATE, 7, "sort:time:commit047")]
    parsed = nightly.parse_marker(outcome.issues[0].marker)
    assert (parsed.commit_before, parsed.commit_after) == ("commit049", "commit050")


def test_closed_report_is_not_reopened():
    history = History()
    for i, v in enumerate(series(5, 70, {50: 1.12})):
        history = history.with_entry(entry(i, {"sort": float(v)}))
    closed = KnownRegression("sort:time:commit049", "sort", "time", "commit049", "commit050",
                             issue_number=3, open=False)
    outcome = plan_nightly(history, detect_history(history), [closed])
    assert len(outcome.regressions) == 1 and outcome.issues == ()


def test_hardware_switch_tonight_opens_nothing():
    tracker = FakeTracker()
    cpus = [CPU_A] * 60 + [CPU_B] * 20            # the runner type changed, 25% slower
    values = series(6, 80, {60: 1.25})
    _, outcomes = run_nights({"sort": values}, tracker, cpus=cpus)
    assert tracker.log == []
    assert outcomes[-1].fingerprint_id != outcomes[0].fingerprint_id
    assert len(outcomes[-1].trends[0].points) == 20   # the chart shows tonight's runner only


def test_alternating_runners_show_one_regression_not_two():
    rng = np.random.default_rng(7)
    cpus = [CPU_A if rng.random() < 0.5 else CPU_B for _ in range(120)]
    values = series(7, 120, {80: 1.15})
    values *= np.array([1.0 if c is CPU_A else 1.3 for c in cpus])
    history = History()
    for i, v in enumerate(values):
        history = history.with_entry(entry(i, {"sort": float(v)}, cpus[i]))
    change_points = detect_history(history)
    assert len({c.fingerprint_id for c in change_points}) == 2    # seen on both runners
    outcome = plan_nightly(history, change_points)
    (regression,) = outcome.regressions
    assert len(regression.evidence) == 2
    assert regression.before_index < 80 <= regression.after_index
    assert [p.action for p in outcome.issues] == [IssueAction.OPEN]


def test_improvement_is_charted_but_opens_no_issue():
    history = History()
    for i, v in enumerate(series(8, 70, {40: 0.8})):
        history = history.with_entry(entry(i, {"sort": float(v)}))
    change_points = detect_history(history)
    outcome = plan_nightly(history, change_points)
    assert [c.kind for c in outcome.change_points] == ["improvement"]
    assert outcome.trends[0].change_points == outcome.change_points
    assert outcome.regressions == () and outcome.issues == ()


def test_new_issues_per_night_are_capped_with_a_note():
    history = History()
    data = {f"bench{k}": series(10 + k, 60, {45: 1.2 + 0.05 * k}) for k in range(4)}
    for i in range(60):
        history = history.with_entry(entry(i, {b: float(v[i]) for b, v in data.items()}))
    settings = NightlySettings(max_new_issues=2)
    outcome = plan_nightly(history, detect_history(history), (), settings)
    assert len(outcome.regressions) == 4
    assert [p.body_fields["benchmark"] for p in outcome.issues] == ["bench3", "bench2"]
    assert "2 more new regressions" in outcome.notes[0]


def test_trend_pairs_are_the_last_points_of_tonights_runner():
    history = History()
    for i in range(40):
        history = history.with_entry(entry(i, {"sort": 1.0 + i}))
    chart = nightly.trend(history, "sort", "time", length=5)
    assert chart.pairs() == (("commit0", 36.0), ("commit0", 37.0), ("commit0", 38.0),
                             ("commit0", 39.0), ("commit0", 40.0))
    assert [p.commit for p in chart.points][-1] == "commit039"
    assert chart.unit == "s"


def test_marker_round_trip_survives_awkward_names():
    known = KnownRegression("k-->x", "bench --> <b>", "time", "a" * 40, "b" * 40)
    text = f"Some body\n\n{nightly.marker(known)}\n"
    assert nightly.parse_marker(text, issue_number=5, open=False) == \
        KnownRegression("k-->x", "bench --> <b>", "time", "a" * 40, "b" * 40, 5, False)
    assert nightly.marker(known).count("-->") == 1


@pytest.mark.parametrize("body", [None, "", "no marker here",
                                  "<!-- perfaction-nightly-regression v1 !!!! -->",
                                  "<!-- perfaction-nightly-regression v1 e30= -->",
                                  "<!-- perfaction-nightly-regression v9 e30= -->"])
def test_bodies_without_a_valid_marker_are_not_regressions(body):
    assert nightly.parse_marker(body) is None


def test_empty_history_plans_nothing():
    outcome = plan_nightly(History(), ())
    assert outcome.issues == () and outcome.fingerprint_id is None and outcome.notes
