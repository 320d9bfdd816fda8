"""The metric registry: everything perfaction knows about a metric, one row each.

``METRICS`` holds one ``MetricInfo`` row per metric: its name (as results
files store it), unit, direction, family, the harness pass that measures it,
its default threshold, floor and gating, a short label and its display order.
The harness, the results model, the policy, compare, the reports and the
nightly code read these rows (through ``metric_info`` and the helpers below)
instead of keeping tables and name checks of their own.

Adding a metric
---------------
1. A row in ``METRICS`` (and, for a new family, a row in ``FAMILIES``).
2. Its measurement in the harness: the pass named by ``measured_by``
   (harness/measure.py measures, harness/worker.py returns the values under
   the row's name). A metric that only other tools' files carry has
   ``measured_by=None`` and needs no measurement.

Nothing else changes: results assembly (harness/schedule.py) keeps it in
display order, the policy starts from its defaults, a rule for its family's
kind (``memory:10%``) covers it, compare gives its advice by its pass and
family, the report footer states its rule, and ``perfaction run`` shows it
when ``run_summary`` is set. tests/unit/test_metrics.py checks the table and
that a new row flows through without other edits.

Metrics the registry does not know (other tools' results bring their own
names) get ``default_info(name)``: report-only, 5 %, no floor, lower is
better. A results file records the unit and direction of every metric it
holds, and those always win over a row's: the rows give defaults for what
perfaction measures and for the rules, never reinterpret a file.

Helpers look the table up when called, not at import, so a test (or a plugin)
that replaces ``METRICS`` sees its rows everywhere. Standard library only: the
harness worker imports this module next to the user's code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

# Directions: which way is better. Results files store these words.
LOWER_IS_BETTER = "lower"
HIGHER_IS_BETTER = "higher"
DIRECTIONS = (LOWER_IS_BETTER, HIGHER_IS_BETTER)

# The harness passes, in the order a worker runs them (harness/measure.py).
TIMED_PASS = "timed"        # loops of calls between two clock reads
LATENCY_PASS = "latency"    # calls timed one by one, in the first few processes only
MEMORY_PASS = "memory"      # tracemalloc on, untimed, in enough processes for the gate
COUNT_PASS = "count"        # instruction mode only: instructions per call under Valgrind
PASSES = (TIMED_PASS, LATENCY_PASS, MEMORY_PASS, COUNT_PASS)
TIME_MODE_PASSES = (TIMED_PASS, LATENCY_PASS, MEMORY_PASS)   # what a default run measures

# Measurement modes (``--measure``, the action's ``measure`` input): a run times
# (the passes above) or counts instructions (COUNT_PASS), never both.
MEASURE_TIME = "time"
MEASURE_INSTRUCTIONS = "instructions"
MEASURES = (MEASURE_TIME, MEASURE_INSTRUCTIONS)

# Family names (rows of FAMILIES below).
TIME_FAMILY = "time"
CPU_FAMILY = "cpu"
LATENCY_FAMILY = "latency"
MEMORY_FAMILY = "memory"
THROUGHPUT_FAMILY = "throughput"
INSTRUCTION_FAMILY = "instructions"
NATIVE_FAMILY = "native"
OTHER_FAMILY = "other"      # metrics the registry does not know

# Metric names.
TIME = "time"
CPU_TIME = "cpu_time"
CPU_UTILISATION = "cpu_utilisation"
LATENCY_P50 = "latency_p50"
LATENCY_P95 = "latency_p95"
LATENCY_P99 = "latency_p99"
PEAK_MEMORY = "peak_memory"
RETAINED_MEMORY = "retained_memory"
THROUGHPUT = "throughput"
INSTRUCTIONS = "instructions"
NATIVE_PEAK = "native_peak"

# The metric a benchmark is summarised by: `perfaction run` leads its line
# with it, and report charts and nightly trends draw it.
MAIN_METRIC = TIME

# What a row says for a metric it does not know; the file's own unit wins.
UNKNOWN_UNIT = "?"
DEFAULT_THRESHOLD = 0.05
_UNKNOWN_ORDER = 1_000_000   # after every row; among themselves unknown names keep their order

_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")   # what a threshold rule can name (policy.py)
KIB = 1024


def _check_name(what: str, value: object) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(f"{what} must be letters, digits, '_', '.' or '-', got {value!r}")


def _check_text(what: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")


@dataclass(frozen=True)
class MetricInfo:
    """One metric: what it is, how it is measured and judged by default, how it is shown."""

    name: str                   # as results files store it
    unit: str                   # model unit: "s", "B", "ratio", "ops/s" (report/units.py)
    direction: str              # LOWER_IS_BETTER or HIGHER_IS_BETTER
    family: str                 # a FAMILIES row; a rule kind names all of a family
    measured_by: str | None     # the harness pass (PASSES), None when only other tools' files carry it
    threshold: float            # default relative threshold, 0.05 = 5 %
    floor: float | None         # default absolute floor in ``unit``: smaller changes never count
    gates: bool                 # decides the job outcome by default (else report-only)
    label: str                  # short human label ("p99", "peak")
    order: int                  # display order: results files, the run summary
    description: str = ""
    run_summary: bool = False   # shown on `perfaction run`'s line per benchmark
    summary_suffix: str = ""    # after its value on that line ("/op", "/call")
    counted: bool = False       # values repeat exactly for the same code: decided by the
                                # exact rule (analysis/exact.py) at 2 processes a side
    diagnostic: bool = False    # neither way is better: a change says how the run went
                                # (a busy runner lowers CPU utilisation), so a report shows
                                # it as changed, never as improved or worse

    def __post_init__(self) -> None:
        # Any string: default rows carry the names other tools' files use.
        # Rows of METRICS must also be nameable in a rule (checked in _build_index).
        if not isinstance(self.name, str):
            raise ValueError(f"name must be a string, got {self.name!r}")
        _check_text(f"{self.name}: unit", self.unit)
        if self.direction not in DIRECTIONS:
            raise ValueError(f"{self.name}: direction must be one of {DIRECTIONS}, "
                             f"got {self.direction!r}")
        _check_name(f"{self.name}: family", self.family)
        if self.measured_by is not None and self.measured_by not in PASSES:
            raise ValueError(f"{self.name}: measured_by must be one of {PASSES} or None, "
                             f"got {self.measured_by!r}")
        # the same range policy.MetricPolicy accepts
        if not (_is_number(self.threshold) and 0 <= self.threshold < 10):
            raise ValueError(f"{self.name}: threshold must be a fraction in [0, 10), "
                             f"got {self.threshold!r}")
        if self.floor is not None and not (_is_number(self.floor) and math.isfinite(self.floor)
                                           and self.floor >= 0):
            raise ValueError(f"{self.name}: floor must be a finite number >= 0 or None, "
                             f"got {self.floor!r}")
        if not all(isinstance(flag, bool) for flag in (self.gates, self.run_summary,
                                                         self.counted, self.diagnostic)):
            raise ValueError(f"{self.name}: gates, run_summary, counted and diagnostic must be "
                             "booleans")
        if self.diagnostic and self.gates:
            raise ValueError(f"{self.name}: a diagnostic metric has no better direction, so it "
                             "cannot gate")
        if not isinstance(self.label, str):
            raise ValueError(f"{self.name}: label must be a string, got {self.label!r}")
        if not isinstance(self.order, int) or isinstance(self.order, bool):
            raise ValueError(f"{self.name}: order must be an integer, got {self.order!r}")
        if not isinstance(self.description, str) or not isinstance(self.summary_suffix, str):
            raise ValueError(f"{self.name}: description and summary_suffix must be strings")

    def __hash__(self) -> int:
        # Policy caches a MetricPolicy per row; hashing every field on each lookup
        # cost more than the lookup saved. Equal rows have equal names and orders.
        return hash((self.name, self.order))


@dataclass(frozen=True)
class FamilyInfo:
    """A group of related metrics. Rows in FAMILIES are in the report footer's order."""

    name: str
    rule_kind: bool = False       # a threshold rule may name the family to cover its metrics
    one_rule_line: bool = False   # the report footer states the family in one line when its
                                  # metrics' rules agree (latency 10 %, not three lines)
    description: str = ""

    def __post_init__(self) -> None:
        _check_name("family name", self.name)
        if self.one_rule_line and not self.rule_kind:
            raise ValueError(f"family {self.name!r}: a family stated in one footer line must be "
                             "a rule kind, so that the line reads as a rule")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


FAMILIES: tuple[FamilyInfo, ...] = (
    FamilyInfo(TIME_FAMILY, rule_kind=True,
               description="seconds per call; ``time:5%`` covers wall and CPU time"),
    FamilyInfo(MEMORY_FAMILY, rule_kind=True,
               description="bytes under tracemalloc; ``memory:10%`` covers peak and retained"),
    FamilyInfo(LATENCY_FAMILY, rule_kind=True, one_rule_line=True,
               description="percentiles of single calls"),
    # One metric each: a rule names the metric itself, so no kind.
    FamilyInfo(CPU_FAMILY, description="how busy the process kept the CPU"),
    FamilyInfo(THROUGHPUT_FAMILY, description="operations per second"),
    FamilyInfo(INSTRUCTION_FAMILY, description="instructions per call, counted under Valgrind"),
    FamilyInfo(NATIVE_FAMILY, description="resident memory, native allocations included"),
)

# Defaults and their reasons (docs/statistics.md): time gates at 5 % and
# memory at 10 % as in the reference article; memory also needs an absolute
# change above a floor (allocator and interning noise). Latency percentiles,
# CPU time and utilisation are shown, not gating: p99 needs hundreds of
# samples and mostly measures the neighbours on shared runners. The harness
# sizes its memory pass for the gating rows (harness/schedule.py).
METRICS: tuple[MetricInfo, ...] = (
    # Instruction mode's metric: counts repeat exactly for the same code on any
    # machine, so 1 % gates (docs/instruction-mode.md). Its floor: a tiny
    # callable's count moves by up to ~120 instructions with the interpreter's
    # state that earlier benchmarks left (a call site specialised for another).
    MetricInfo(INSTRUCTIONS, "instr", LOWER_IS_BETTER, INSTRUCTION_FAMILY, COUNT_PASS,
               threshold=0.01, floor=250.0, gates=True, label="instructions", order=5,
               run_summary=True, summary_suffix="/op", counted=True,
               description="instructions executed per call, counted under Valgrind"),
    MetricInfo(TIME, "s", LOWER_IS_BETTER, TIME_FAMILY, TIMED_PASS,
               threshold=0.05, floor=None, gates=True, label="time", order=10,
               run_summary=True, summary_suffix="/op",
               description="wall-clock seconds per call"),
    MetricInfo(CPU_TIME, "s", LOWER_IS_BETTER, TIME_FAMILY, TIMED_PASS,
               threshold=0.05, floor=None, gates=False, label="cpu time", order=20,
               description="process CPU seconds per call"),
    MetricInfo(CPU_UTILISATION, "ratio", LOWER_IS_BETTER, CPU_FAMILY, TIMED_PASS,
               threshold=0.10, floor=None, gates=False, label="cpu", order=30, run_summary=True,
               diagnostic=True,
               description="CPU time / wall time while timing (1.0 = one core)"),
    MetricInfo(LATENCY_P50, "s", LOWER_IS_BETTER, LATENCY_FAMILY, LATENCY_PASS,
               threshold=0.10, floor=None, gates=False, label="p50", order=40,
               description="median seconds of single calls"),
    MetricInfo(LATENCY_P95, "s", LOWER_IS_BETTER, LATENCY_FAMILY, LATENCY_PASS,
               threshold=0.10, floor=None, gates=False, label="p95", order=50,
               description="95th percentile seconds of single calls"),
    MetricInfo(LATENCY_P99, "s", LOWER_IS_BETTER, LATENCY_FAMILY, LATENCY_PASS,
               threshold=0.10, floor=None, gates=False, label="p99", order=60, run_summary=True,
               description="99th percentile seconds of single calls"),
    MetricInfo(PEAK_MEMORY, "B", LOWER_IS_BETTER, MEMORY_FAMILY, MEMORY_PASS,
               threshold=0.10, floor=16 * KIB, gates=True, label="peak", order=70,
               run_summary=True, description="tracemalloc peak bytes during one call"),
    # Its floor: run-to-run noise measured 0-2.4 B per call; one leaked small object ~150 B.
    MetricInfo(RETAINED_MEMORY, "B", LOWER_IS_BETTER, MEMORY_FAMILY, MEMORY_PASS,
               threshold=0.10, floor=16, gates=True, label="retained", order=80,
               run_summary=True, summary_suffix="/call",
               description="steady-state bytes kept per call across rounds"),
    # What tracemalloc cannot see: extensions' own allocations (harness/native_memory.py).
    # Pages, shared with the allocators' caches: shown, with a floor of 1 MiB.
    MetricInfo(NATIVE_PEAK, "B", LOWER_IS_BETTER, NATIVE_FAMILY, TIMED_PASS,
               threshold=0.10, floor=1024 * KIB, gates=False, label="native peak", order=82,
               description="growth of peak resident memory during the timed calls (Linux)"),
    MetricInfo(THROUGHPUT, "ops/s", HIGHER_IS_BETTER, THROUGHPUT_FAMILY, None,
               threshold=0.05, floor=None, gates=False, label="throughput", order=90,
               description="operations per second (legacy baselines carry it)"),
)


def default_info(name: str, *, unit: str = UNKNOWN_UNIT,
                 direction: str = LOWER_IS_BETTER) -> MetricInfo:
    """The row of a metric the registry does not list: report-only, 5 %, no floor.

    ``unit`` and ``direction`` are the file's when a file names them.
    """
    return MetricInfo(name, unit, direction, OTHER_FAMILY, None, threshold=DEFAULT_THRESHOLD,
                      floor=None, gates=False, label=name, order=_UNKNOWN_ORDER)


@dataclass(frozen=True)
class _Index:
    """Lookups built from one version of the tables (rebuilt when a table is replaced)."""

    metrics: tuple[MetricInfo, ...]
    families: tuple[FamilyInfo, ...]
    by_name: dict[str, MetricInfo]
    ordered: tuple[MetricInfo, ...]
    members: dict[str, tuple[str, ...]]     # family -> metric names, in display order
    kinds: dict[str, tuple[str, ...]]       # families a threshold rule may name -> members


_index_cache: _Index | None = None


def _index() -> _Index:
    global _index_cache
    cached = _index_cache
    if cached is None or cached.metrics is not METRICS or cached.families is not FAMILIES:
        cached = _index_cache = _build_index(METRICS, FAMILIES)
    return cached


def _build_index(metrics: tuple[MetricInfo, ...], families: tuple[FamilyInfo, ...]) -> _Index:
    """Check the tables as a whole; a mistake fails at the first lookup, naming the row."""
    family_names = [f.name for f in families]
    _unique("family name", family_names)
    _unique("metric name", [m.name for m in metrics])
    _unique("metric order", [m.order for m in metrics])
    for row in metrics:
        _check_name("metric name", row.name)
        _check_text(f"metric {row.name!r}: label", row.label)
        if row.family not in family_names:
            raise ValueError(f"metric {row.name!r}: family {row.family!r} is not in FAMILIES")
        if row.order >= _UNKNOWN_ORDER:
            raise ValueError(f"metric {row.name!r}: order must be below {_UNKNOWN_ORDER}, "
                             "where metrics the registry does not know are shown")
    names = {m.name for m in metrics}
    for family in families:
        if family.one_rule_line and family.name in names:
            raise ValueError(f"family {family.name!r} is stated in one footer line but is also "
                             "a metric name: the line would be ambiguous")
    ordered = tuple(sorted(metrics, key=lambda m: m.order))
    members = {f.name: tuple(m.name for m in ordered if m.family == f.name) for f in families}
    kinds = {f.name: members[f.name] for f in families if f.rule_kind}
    return _Index(metrics, families, {m.name: m for m in metrics}, ordered, members, kinds)


def _unique(what: str, values: Sequence[Hashable]) -> None:
    seen: set[Hashable] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} appears twice in the metric registry")
        seen.add(value)


# ---------------------------------------------------------------------------
# Lookups
# ---------------------------------------------------------------------------

def metric_info(name: str) -> MetricInfo:
    """The row of ``name``, or ``default_info(name)`` for a name the registry does not list."""
    row = _index().by_name.get(name)
    return row if row is not None else default_info(name)


def is_known(name: str) -> bool:
    return name in _index().by_name


def in_display_order() -> tuple[MetricInfo, ...]:
    """Every row, by ``order``."""
    return _index().ordered


def sort_names(names: Iterable[str]) -> list[str]:
    """``names`` in display order; names the registry does not know last, as they came."""
    return sorted(names, key=lambda name: metric_info(name).order)


def harness_metrics(passes: Sequence[str] = PASSES) -> tuple[MetricInfo, ...]:
    """The rows perfaction's own harness measures (in ``passes``), in display order."""
    return tuple(m for m in _index().ordered if m.measured_by in passes)


def families() -> tuple[FamilyInfo, ...]:
    return _index().families


def family_members(family: str) -> tuple[str, ...]:
    """Metric names of a family, in display order; () for an unknown family."""
    return _index().members.get(family, ())


def is_kind(subject: str) -> bool:
    """True when a threshold rule's subject names a family (``memory``) rather than a metric."""
    return subject in _index().kinds


def kind_members(subject: str) -> tuple[str, ...]:
    """The metrics a rule kind covers; () when ``subject`` is not a kind."""
    return _index().kinds.get(subject, ())


def default_rule_lines() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """How the report footer states the default rules: (label, metrics) per line.

    Families in FAMILIES order; a metric per line, except that a family stated
    in one line gives one line labelled with its name (policy.thresholds()
    splits it again when its metrics' rules differ).
    """
    lines: list[tuple[str, tuple[str, ...]]] = []
    for family in families():
        members = family_members(family.name)
        if family.one_rule_line and members:
            lines.append((family.name, members))
        else:
            lines.extend((name, (name,)) for name in members)
    return tuple(lines)
