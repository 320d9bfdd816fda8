"""Units for display: one scale per column, chosen from a reference value.

A row of the report shows the baseline and the current value of one metric.
Both are printed in the unit chosen from the reference (the baseline when
there is one), with the same number of decimals, so a reader compares digits
rather than converting "998 µs" against "1.02 ms" in their head.

Model units (results/model.py, metrics.py) and how they are shown:

- ``s``: ns, µs, ms or s
- ``B``: B, KiB, MiB or GiB (binary prefixes; memory is allocated in pages)
- ``ops/s``: ops/s, k ops/s, M ops/s or G ops/s
- ``instr``: instructions (instruction mode): instr, k instr, M instr or G instr
- ``ratio``: as a percentage (1.0 is 100 %)
- ``%``: already a percentage
- anything else: the value as is, followed by the unit

Changes are fractions (+0.055 is 5.5 % larger) and always carry a sign.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MISSING = "—"   # shown where a side has no value (new or removed benchmarks)

# (symbol, size of one display unit in model units), smallest first.
_LADDERS: dict[str, tuple[tuple[str, float], ...]] = {
    "s": (("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0)),
    "B": (("B", 1.0), ("KiB", 1024.0), ("MiB", 1024.0 ** 2), ("GiB", 1024.0 ** 3),
          ("TiB", 1024.0 ** 4)),
    "ops/s": (("ops/s", 1.0), ("k ops/s", 1e3), ("M ops/s", 1e6), ("G ops/s", 1e9)),
    "instr": (("instr", 1.0), ("k instr", 1e3), ("M instr", 1e6), ("G instr", 1e9)),
}
_SIGNIFICANT_DIGITS = 3
_MAX_DECIMALS = 3


@dataclass(frozen=True)
class Scale:
    """How to print values of one column: ``value / factor`` with ``decimals``."""

    symbol: str
    factor: float
    decimals: int

    def __post_init__(self) -> None:
        if not (math.isfinite(self.factor) and self.factor > 0):
            raise ValueError(f"factor must be a positive finite number, got {self.factor!r}")
        if not 0 <= self.decimals <= _MAX_DECIMALS:
            raise ValueError(f"decimals must be between 0 and {_MAX_DECIMALS}, got {self.decimals!r}")


def is_known(unit: str) -> bool:
    """True for the model's units, whose symbols are ours (not text from the data)."""
    return unit in _LADDERS or unit in ("ratio", "%")


def _decimals_for(scaled: float) -> int:
    """Decimals that give the reference three significant digits (12.3, 1.23, 123)."""
    magnitude = abs(scaled)
    if magnitude == 0 or not math.isfinite(magnitude):
        return 0
    digits_before_point = math.floor(math.log10(magnitude)) + 1
    return min(_MAX_DECIMALS, max(0, _SIGNIFICANT_DIGITS - digits_before_point))


def scale_for(unit: str, reference: float | None) -> Scale:
    """The scale for a column of ``unit`` values, chosen from ``reference``.

    The largest display unit in which the reference is at least 1 wins
    (0.5 ms is shown as 500 µs); a zero or missing reference gets the base unit.
    """
    reference = 0.0 if reference is None or not math.isfinite(reference) else reference
    if unit == "ratio":
        return Scale("%", 0.01, _decimals_for(reference * 100))
    ladder = _LADDERS.get(unit)
    if ladder is None:
        return Scale(unit, 1.0, _decimals_for(reference))
    symbol, factor = ladder[0]
    for candidate_symbol, candidate_factor in ladder:
        if abs(reference) >= candidate_factor:
            symbol, factor = candidate_symbol, candidate_factor
    decimals = 0 if symbol == "B" else _decimals_for(reference / factor)
    return Scale(symbol, factor, decimals)


def _is_zero(number_text: str) -> bool:
    return not number_text.strip("-0.,")


def format_number(value: float, decimals: int) -> str:
    """Fixed decimals, thousands separated by commas; never "-0"."""
    text = f"{value:,.{decimals}f}"
    return text[1:] if text[0] == "-" and _is_zero(text) else text


def format_quantity(value: float | None, scale: Scale) -> str:
    """``32.1 µs``; MISSING when there is no value."""
    if value is None:
        return MISSING
    return f"{format_number(value / scale.factor, scale.decimals)} {scale.symbol}"


def format_value(value: float | None, unit: str) -> str:
    """A lone value in its own best unit (for a cell with nothing to line up with)."""
    return format_quantity(value, scale_for(unit, value))


def _percent_decimals(*fractions: float) -> int:
    # Under 100 % one decimal separates 2.4 % from 2.6 %; beyond, it is noise.
    for fraction in fractions:
        if not -1.0 < fraction < 1.0:
            return 0
    return 1


def _signed(number_text: str) -> str:
    return number_text if number_text[0] == "-" or _is_zero(number_text) else "+" + number_text


def format_percent(fraction: float, *, signed: bool = True, decimals: int | None = None) -> str:
    """0.055 -> ``+5.5 %``; a change that rounds to zero is shown as ``0.0 %``."""
    if decimals is None:
        decimals = _percent_decimals(fraction)
    text = format_number(fraction * 100, decimals)
    return f"{_signed(text) if signed else text} %"


def format_change(change: float | None, interval: tuple[float, float] | None = None, *,
                  threshold: float | None = None, beyond: bool | None = None) -> str:
    """``+5.5 % (+3.0 .. +8.0 %)``: the change and its interval, rounded alike.

    ``beyond`` says which side of ``threshold`` the verdict put the change on
    (False: within, as "unchanged" says). Rounding never moves it across:
    +9.994 % within a 10 % threshold shows as ``+9.99 %``, not ``+10.0 %``.
    """
    if change is None:
        return MISSING
    decimals = _percent_decimals(change, *(interval or ()))
    if threshold is not None and beyond is not None and math.isfinite(change):
        decimals = _decimals_keeping_side(change, threshold, beyond, decimals)
    if interval is None:
        return format_percent(change, decimals=decimals)
    low, high = interval
    low_text = _signed(format_number(low * 100, decimals))
    high_text = _signed(format_number(high * 100, decimals))
    return f"{format_percent(change, decimals=decimals)} ({low_text} .. {high_text} %)"


def _decimals_keeping_side(change: float, threshold: float, beyond: bool, decimals: int) -> int:
    """The fewest decimals (from ``decimals``, at most 4) at which the shown
    change stays on the verdict's side of the threshold."""
    limit = abs(threshold) * 100
    for places in range(decimals, 5):
        shown = round(abs(change) * 100, places)     # what format_number prints
        if (shown > limit) if beyond else (shown < limit):
            return places
    return 4


def format_spread(spread: float | None) -> str:
    """Relative dispersion between processes: 0.031 -> ``±3.1 %``."""
    if spread is None:
        return MISSING
    return f"±{format_percent(abs(spread), signed=False)}"


def format_count(count: int) -> str:
    return f"{count:,}"


def format_age(age: timedelta) -> str:
    """``3 days``, ``5 hours``, ``12 minutes``: the largest whole unit."""
    seconds = max(0, int(age.total_seconds()))
    for size, name in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"{count:,} {name}{'' if count == 1 else 's'}"
    return "less than a minute"


def format_timestamp(value: datetime | str | None) -> str | None:
    """``2024-05-01 12:00 UTC`` from a datetime or an ISO 8601 string (shown as is if unparsable)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        value = parsed
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC")
