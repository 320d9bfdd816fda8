"""Policy: thresholds parsed once from a spec; defaults, specificity, errors."""

from __future__ import annotations

import pytest

from perfaction.analysis.comparison import Threshold
from perfaction.analysis.policy import DEFAULT_ALPHA, MetricPolicy, Policy
from perfaction.errors import ConfigError

KIB = 1024


def test_defaults_per_metric_kind():
    policy = Policy.parse("")
    assert policy.alpha == DEFAULT_ALPHA == 0.01
    assert policy.resolve("any", "time") == MetricPolicy(0.05, gating=True)
    assert policy.resolve("any", "cpu_time") == MetricPolicy(0.05, gating=False)
    assert policy.resolve("any", "peak_memory") == MetricPolicy(0.10, floor=16 * KIB, gating=True)
    assert policy.resolve("any", "retained_memory") == MetricPolicy(0.10, floor=16, gating=True)
    for name in ("latency_p50", "latency_p99", "cpu_utilisation", "throughput", "other_tool_metric"):
        assert policy.resolve("any", name).gating is False, name


def test_the_example_spec():
    policy = Policy.parse("time:5%, memory:10%, orderbook_*:time:8%, legacy_*:ignore")
    assert policy.resolve("orderbook_insert", "time").threshold == 0.08
    assert policy.resolve("orderbook_insert", "cpu_time").threshold == 0.08   # the time kind
    assert policy.resolve("parse_json", "time").threshold == 0.05
    assert policy.resolve("orderbook_insert", "peak_memory") == MetricPolicy(
        0.10, floor=16 * KIB, gating=True)                   # threshold kept its floor
    assert policy.benchmark_ignored("legacy_loader")
    assert not policy.benchmark_ignored("orderbook_insert")


def test_more_specific_rules_win_whatever_their_order():
    policy = Policy.parse("orderbook_*:time:8%, time:6%, cpu_time:7%, *:3%")
    assert policy.resolve("orderbook_x", "time").threshold == 0.08    # glob beats no glob
    assert policy.resolve("other", "time").threshold == 0.06          # kind beats *
    assert policy.resolve("other", "cpu_time").threshold == 0.07      # metric name beats kind
    assert policy.resolve("other", "latency_p99").threshold == 0.03   # only * matched


def test_later_rule_wins_among_equals():
    assert Policy.parse("time:4%, time:9%").resolve("b", "time").threshold == 0.09


def test_gate_and_report_settings():
    policy = Policy.parse("latency_p99:10%:gate, time:report, cpu_time:gate")
    assert policy.resolve("b", "latency_p99") == MetricPolicy(0.10, gating=True)
    assert policy.resolve("b", "time").gating is False
    assert policy.resolve("b", "cpu_time").gating is True   # the metric rule beats the kind


def test_floors_accept_sizes():
    policy = Policy.parse(["peak_memory:10%:floor=1MiB", "retained_memory:floor=4096",
                           "slow_*:memory:floor=2kB"])
    assert policy.resolve("b", "peak_memory").floor == 1024 * 1024
    assert policy.resolve("b", "retained_memory").floor == 4096
    assert policy.resolve("slow_x", "peak_memory").floor == 2000


def test_alpha_and_metric_ignores():
    policy = Policy.parse("alpha:0.05, orderbook_*:latency:ignore, cpu_utilisation:ignore")
    assert policy.alpha == 0.05
    assert policy.resolve("orderbook_x", "latency_p95").ignored
    assert not policy.resolve("orderbook_x", "time").ignored
    assert policy.resolve("anything", "cpu_utilisation").ignored
    assert not policy.benchmark_ignored("anything")          # a metric name, not a benchmark
    assert Policy.parse("alpha:0.5%").alpha == pytest.approx(0.005)


def test_file_with_comments(tmp_path):
    path = tmp_path / "thresholds.txt"
    path.write_text("# team thresholds\ntime:7%   # a bit looser\n\nlegacy_*:ignore\n", "utf-8")
    policy = Policy.from_file(path)
    assert policy.resolve("b", "time").threshold == 0.07
    assert policy.benchmark_ignored("legacy_old")


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(ConfigError, match="nope.txt"):
        Policy.from_file(tmp_path / "nope.txt")


@pytest.mark.parametrize("spec, words", [
    ("time", "no setting"),
    ("time:five", "no setting"),
    ("orderbook_*:8%", "benchmark pattern"),
    ("time:5%:ignore", "cannot be combined"),
    ("a:b:c:5%", "too many parts"),
    ("alpha:2", "alpha must be"),
    ("alpha:often", "alpha must be"),
    ("peak_memory:floor=lots", "floor must be a size"),
    ("time::5%", "empty part"),
    ("time:5%:fast", "not a setting"),
    ("tim e:5%", "not a metric name"),
    ("time:1000%", "at least 0% and below 1000%"),
])
def test_bad_rules_raise_config_error_naming_the_rule(spec, words):
    with pytest.raises(ConfigError) as info:
        Policy.parse(f"memory:10%, {spec}")
    message = str(info.value)
    assert repr(spec) in message
    assert words in message
    assert "accepted forms" in message


def test_bad_rule_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("time:lots\n", "utf-8")
    with pytest.raises(ConfigError, match="t.txt"):
        Policy.from_file(path)


def test_invalid_alpha_in_the_constructor():
    with pytest.raises(ConfigError, match="alpha"):
        Policy(alpha=0.7)


def test_thresholds_for_the_footer():
    footer = Policy.parse("orderbook_*:time:8%, legacy_*:ignore, custom_metric:3%").thresholds()
    by_name = {(t.metric, t.pattern): t for t in footer}
    assert by_name[("time", None)] == Threshold("time", 0.05, gating=True)
    assert by_name[("peak_memory", None)].absolute_floor == 16 * KIB
    assert by_name[("latency", None)].gating is False       # p50/p95/p99 agree: one line
    assert by_name[("custom_metric", None)].relative == 0.03
    assert by_name[("time", "orderbook_*")] == Threshold("time", 0.08, pattern="orderbook_*",
                                                          gating=True)
    assert by_name[("*", "legacy_*")].ignored


def test_inline_alpha_overrides_the_files_alpha_even_when_it_is_the_default(tmp_path):
    rules = tmp_path / "rules.txt"
    rules.write_text("alpha:0.05\ntime:7%\n")
    policy = Policy.from_sources("alpha:0.01", rules)
    assert policy.alpha == 0.01
    assert policy.resolve("b", "time").threshold == 0.07
    assert Policy.from_sources(None, rules).alpha == 0.05


@pytest.mark.parametrize("spec, meant", [("tme:5%", "time"), ("peak_memroy:10%", "peak_memory"),
                                         ("book_*:tim:8%", "time"), ("lantecy:10%", "latency")])
def test_a_rule_naming_a_metric_the_run_lacks_is_said_with_the_name_meant(spec, meant):
    # it applies to nothing: silently, the meant metric would keep its default
    notes = Policy.parse(spec).unmatched({"time", "cpu_time", "peak_memory", "latency_p99"})
    assert len(notes) == 1 and spec in notes[0] and f"did you mean '{meant}'?" in notes[0]


def test_another_tool_s_metric_names_are_accepted_and_a_rule_for_them_is_quiet():
    policy = Policy.parse("mean_latency:5%, latency_p90:10%, time:3%, memory:20%")
    assert policy.unmatched({"mean_latency", "latency_p90", "time", "peak_memory"}) == []


def test_the_comparison_carries_the_note():
    from perfaction.analysis.compare import compare_suites
    from perfaction.results.model import Benchmark, Metric, Suite
    suite = Suite((Benchmark("a", {"time": Metric("s", samples=((1e-3,),) * 5)}),))
    notes = compare_suites(suite, suite, Policy.parse("tme:5%")).notes
    assert any("'tme'" in n and "did you mean 'time'?" in n for n in notes)
