"""units.py: one scale per column, consistent signs and rounding."""

from datetime import timedelta

import pytest

from perfaction.report import units
from perfaction.report.units import Scale, format_change, format_quantity, scale_for


@pytest.mark.parametrize("reference, symbol", [
    (3.2e-9, "ns"), (999e-9, "ns"), (1e-6, "µs"), (3.21e-5, "µs"), (1.52e-3, "ms"),
    (0.5, "ms"), (1.0, "s"), (125.0, "s"), (0.0, "ns"),
])
def test_time_scale_is_the_largest_unit_where_the_reference_is_at_least_one(reference, symbol):
    assert scale_for("s", reference).symbol == symbol


@pytest.mark.parametrize("reference, symbol, decimals", [
    (512.0, "B", 0), (1023.0, "B", 0), (1024.0, "KiB", 2), (48_000.0, "KiB", 1),
    (12.5 * 1024 ** 2, "MiB", 1), (3 * 1024 ** 3, "GiB", 2), (-2048.0, "KiB", 2),
])
def test_memory_uses_binary_prefixes_and_whole_bytes(reference, symbol, decimals):
    scale = scale_for("B", reference)
    assert (scale.symbol, scale.decimals) == (symbol, decimals)


@pytest.mark.parametrize("reference, text", [
    (400.0, "400 ops/s"), (12_345.0, "12.3 k ops/s"), (2.5e6, "2.50 M ops/s"), (3e9, "3.00 G ops/s"),
])
def test_throughput_uses_k_and_m(reference, text):
    assert format_quantity(reference, scale_for("ops/s", reference)) == text


def test_ratio_is_shown_as_percent_and_percent_stays_percent():
    assert format_quantity(0.92, scale_for("ratio", 0.92)) == "92.0 %"
    assert format_quantity(1.85, scale_for("ratio", 1.85)) == "185 %"
    assert format_quantity(37.5, scale_for("%", 37.5)) == "37.5 %"


def test_unknown_unit_is_kept_after_the_number():
    assert format_quantity(1234.5, scale_for("instructions", 1234.5)) == "1,234 instructions"


def test_one_scale_prints_both_sides_of_a_row_with_the_same_unit_and_decimals():
    scale = scale_for("s", 9.98e-4)   # the baseline picks µs ...
    assert format_quantity(9.98e-4, scale) == "998 µs"
    assert format_quantity(1.0213e-3, scale) == "1,021 µs"  # ... and the head follows it


def test_three_significant_digits_of_the_reference():
    assert [scale_for("s", v).decimals for v in (1.234e-3, 12.34e-3, 123.4e-3)] == [2, 1, 0]


def test_missing_value_is_a_dash():
    assert format_quantity(None, scale_for("s", 1.0)) == units.MISSING


@pytest.mark.parametrize("change, interval, text", [
    (0.055, (0.03, 0.08), "+5.5 % (+3.0 .. +8.0 %)"),
    (-0.21, (-0.24, -0.18), "-21.0 % (-24.0 .. -18.0 %)"),
    (0.043, (-0.08, 0.17), "+4.3 % (-8.0 .. +17.0 %)"),
    (0.00004, (-0.0004, 0.0004), "0.0 % (0.0 .. 0.0 %)"),
    (-0.00004, None, "0.0 %"),
    (2.5, (1.8, 3.2), "+250 % (+180 .. +320 %)"),   # rounded alike: all whole percents
    (0.95, (0.5, 1.4), "+95 % (+50 .. +140 %)"),
    (None, None, units.MISSING),
])
def test_change_carries_a_sign_and_its_interval_is_rounded_like_it(change, interval, text):
    assert format_change(change, interval) == text


def test_no_negative_zero_anywhere():
    assert units.format_number(-0.0001, 2) == "0.00"
    assert units.format_percent(-0.0000001) == "0.0 %"


def test_spread_and_counts():
    assert units.format_spread(0.031) == "±3.1 %"
    assert units.format_spread(None) == units.MISSING
    assert units.format_count(1234567) == "1,234,567"


@pytest.mark.parametrize("age, text", [
    (timedelta(days=3, hours=4), "3 days"), (timedelta(days=1), "1 day"),
    (timedelta(hours=5, minutes=59), "5 hours"), (timedelta(minutes=1), "1 minute"),
    (timedelta(seconds=20), "less than a minute"),
])
def test_age_uses_the_largest_whole_unit(age, text):
    assert units.format_age(age) == text


def test_scale_rejects_nonsense():
    with pytest.raises(ValueError, match="factor"):
        Scale("s", 0.0, 1)
    with pytest.raises(ValueError, match="decimals"):
        Scale("s", 1.0, 7)


def test_timestamps_are_shown_in_utc():
    from datetime import datetime, timedelta, timezone
    assert units.format_timestamp("2024-05-01T12:00:00Z") == "2024-05-01 12:00 UTC"
    cest = timezone(timedelta(hours=2))
    assert units.format_timestamp(datetime(2024, 5, 1, 14, 30, tzinfo=cest)) == "2024-05-01 12:30 UTC"
    assert units.format_timestamp("yesterday") == "yesterday"
    assert units.format_timestamp(None) is None


def test_sides_in_different_units_each_show_their_own():
    # 0.502 s against 502 "ms": the baseline must not be printed as 0.502 ms
    from perfaction.analysis.compare import compare_suites
    from perfaction.analysis.policy import Policy
    from perfaction.report.view import format_row
    from perfaction.results.model import Benchmark, Metric, Suite
    base = Suite((Benchmark("a", {"time": Metric("s", samples=((0.502,),) * 5)}),))
    head = Suite((Benchmark("a", {"time": Metric("ms", samples=((502.0,),) * 5)}),))
    [delta] = compare_suites(base, head, Policy()).deltas
    row = format_row("not_comparable", delta, True)
    assert str(row.base) == "502 ms" and str(row.head) == "502 ms"
