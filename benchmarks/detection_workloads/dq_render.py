"""Markdown tables for benchmarks/detection_quality.py (input: raw JSON and its analysis)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

import dq_trials

from perfaction.analysis.stats import robust_cv

RULE_TITLES = (("perfaction", "perfaction"), ("perfaction_paired", "perfaction (paired)"),
               ("article_mean", "article: mean > 5 %"),
               ("article", "article: mean or p99 > 5 %"), ("gab", "gh-action-benchmark: 200 %"))
TARGET_FALSE_ALARMS = 0.01
TARGET_DETECT = {0.10: 0.95, 0.05: 0.80}


def pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value * 100:.{digits}f}%"


def rate_cell(rate: dq_trials.Rate | None) -> str:
    if rate is None:
        return "n/a"
    if not rate.total:
        return "no trials"
    low, high = rate.interval()
    return f"{rate.hits}/{rate.total} = {pct(rate.value, 0)} [{pct(low, 0)}, {pct(high, 0)}]"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _median(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(kept) if kept else None


def _seconds(entries: Sequence[tuple]) -> str:
    value = _median([s for _, _, s in entries])
    return "n/a" if value is None else f"{value:.0f}"


def _first_outcome(analysis: list[dict[str, Any]], rule: str) -> bool:
    return any(rule in o[next(iter(o))] for entry in analysis
               for rows in entry["evaluated"].values() for _, o, _ in rows if o)


def rule_titles(analysis: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    """The rules evaluated: the paired and CPU-time columns only when some trial has them."""
    return tuple((rule, title) for rule, title in
                 RULE_TITLES + (("perfaction_cpu", "perfaction on CPU time"),)
                 if rule not in ("perfaction_paired", "perfaction_cpu")
                 or _first_outcome(analysis, rule))


def _judged(outcomes: list, rule: str) -> bool:
    """Whether ``rule`` judged these trials (the paired rule: same-runner trials only)."""
    return bool(outcomes) and all(rule in o[next(iter(o))] for o in
                                  (x[1] if isinstance(x, tuple) else x for x in outcomes))


def render(data: dict[str, Any], analysis: list[dict[str, Any]]) -> str:
    parts = [conditions(data), knob_table(data), sizing_table(data), pool_table(data),
             false_alarm_table(analysis), detection_table(analysis),
             per_benchmark_table(analysis), paired_table(analysis), aa_detail_table(analysis),
             targets(analysis)]
    return "\n\n".join(parts) + "\n"


def conditions(data: dict[str, Any]) -> str:
    env = data.get("environment", {})
    runs = data.get("pool", [])
    pool_loads = [run["load"][0][0] for run in runs] + [run["load"][1][0] for run in runs]
    return "\n".join([
        "## Conditions",
        "",
        f"- command: `{data['command']}`",
        f"- measured {data['started']} .. {data.get('finished', '?')} "
        f"({data.get('measuring_seconds', 0) / 60:.0f} min)",
        f"- machine: {env.get('cpu_model')}, {env.get('logical_cores')} logical cores, "
        f"Python {env.get('python_version')}",
        f"- 1-minute load average: {data['load_at_start'][0]} at start, "
        f"{data.get('load_at_end', ['?'])[0]} at end, "
        f"{min(pool_loads, default=0):.1f} .. {max(pool_loads, default=0):.1f} around pool runs",
        f"- pool: {len(runs)} runs x {runs[0]['rounds'] if runs else 0} rounds x "
        f"{len(data['zero_sides']) + len(data['level_sides'])} trees x 3 benchmarks; "
        f"errors: {sum(len(r['errors']) for r in runs)}",
    ])


def knob_table(data: dict[str, Any]) -> str:
    levels = [float(k) for k in data["level_sides"]]
    runs = [dq_trials.PoolRun(r["index"], {s: {b: tuple(tuple(p) for p in ps)
                                               for b, ps in per.items()}
                                           for s, per in r["values"].items()})
            for r in data["pool"]]
    in_pool = dq_trials.pool_slowdowns(runs, data["zero_sides"],
                                       {float(k): v for k, v in data["level_sides"].items()})
    rows = []
    for bench, measured in data["knob"].items():
        rows.append([bench, f"{measured['per_call_us']:.1f} us"]
                    + [f"{pct(measured[f'{lv:g}'])} / {pct(measured.get(f'min {lv:g}'))} / "
                       f"{pct(in_pool.get(bench, {}).get(lv))}" for lv in levels])
    return ("## The knob: measured slowdown\n\nIn isolation (CPU time per call in one process, "
            "ratio of medians / ratio of minima) / in the pool runs (wall time, median "
            "per-process value against the zero-slowdown trees).\n\n"
            + table(["benchmark", "per call"] + [f"knob +{lv:.0%}" for lv in levels], rows))


def knob_isolation_table(knob: dict[str, dict[str, float]], levels: Sequence[float]) -> str:
    rows = [[bench, f"{m['per_call_us']:.1f} us"]
            + [f"{pct(m[f'{lv:g}'])} / {pct(m[f'min {lv:g}'])}" for lv in levels]
            for bench, m in knob.items()]
    return ("Knob in isolation: CPU time per call, ratio of medians / ratio of minima\n\n"
            + table(["benchmark", "per call"] + [f"knob +{lv:.0%}" for lv in levels], rows))


def noise_table(checked: dict[str, Any]) -> str:
    rows = []
    for bench, entry in checked["benchmarks"].items():
        wall, cpu = entry["time"], entry["cpu_time"]
        rows.append([bench, wall["n"], pct(wall["robust_cv"]), pct(cpu["robust_cv"]),
                     f"{entry['cpu_utilisation']:.2f}", wall["verdict"], cpu["verdict"],
                     pct(wall["detectable"]), pct(cpu["detectable"])])
    return (f"Same-runner A/A run at {checked['budget']:g} s, load {checked['load'][0][0]} / "
            f"{checked['load'][1][0]}\n\n"
            + table(["benchmark", "n/side", "robust CV wall", "robust CV CPU",
                     "CPU utilisation", "verdict wall", "verdict CPU", "detectable wall",
                     "detectable CPU"], rows))


def pool_table(data: dict[str, Any]) -> str:
    """Per pool run: load and the zero-slowdown trees' median per-process time and spread."""
    benches = sorted(data["knob"])
    rows = []
    for run in data["pool"]:
        cells = []
        for bench in benches:
            values = [statistics.fmean(p) for side in data["zero_sides"]
                      for p in run["values"][side][bench]]
            cells.append(f"{statistics.median(values) * 1e6:.1f} us, "
                         f"{pct(robust_cv(values), 0)}" if values else "n/a")
        rows.append([run["index"], run["started"], f"{run['load'][0][0]} / {run['load'][1][0]}",
                     f"{run['wall']:.0f}"] + cells)
    return ("## Pool runs: median per-process time of the zero-slowdown trees, robust CV\n\n"
            + table(["run", "started", "load before / after", "wall s"] + benches, rows))


def sizing_table(data: dict[str, Any]) -> str:
    rows = []
    for s in data["sizing"]:
        verdicts = s.get("gating_verdicts")
        flagged = "" if verdicts is None else ", ".join(
            f"{k}: {v}" for k, v in sorted(verdicts.items()) if v != "unchanged") or "all unchanged"
        rows.append([f"{s['budget']:g} s", s["mode"], s["n"], s["rounds"], f"{s['wall']:.1f}",
                     f"{s['load'][0][0]} / {s['load'][1][0]}", flagged])
    return ("## Real runs with default settings (sizing)\n\n"
            + table(["budget", "mode", "processes per side", "rounds", "wall s",
                     "load before / after", "A/A gating verdicts other than unchanged"], rows))


def _label(entry: dict[str, Any]) -> tuple[str, str, int]:
    s = entry["sizing"]
    return f"{s['budget']:g} s", s["mode"], s["n"]


def false_alarm_table(analysis: list[dict[str, Any]]) -> str:
    rows = []
    for entry in analysis:
        aa = entry["evaluated"][0.0]
        outcomes = [o for _, o, _ in aa]
        rows.append([*_label(entry), len(aa)]
                    + [rate_cell(dq_trials.false_alarms(outcomes, rule)
                                 if _judged(outcomes, rule) else None)
                       for rule, _ in rule_titles(analysis)]
                    + [_seconds(aa)])
    return ("## False alarms: A/A trials with any benchmark flagged (95 % interval)\n\n"
            + table(["budget", "mode", "n/side", "trials"] + [t for _, t in rule_titles(analysis)]
                    + ["worker s per trial"], rows))


def detection_table(analysis: list[dict[str, Any]]) -> str:
    rows = []
    for entry in analysis:
        for level, evaluated in sorted(entry["evaluated"].items()):
            if level == 0.0:
                continue
            outcomes = [(slowed, o) for slowed, o, _ in evaluated]
            counts = dq_trials.verdict_counts(outcomes)
            rows.append([*_label(entry), f"+{level:.0%}", len(outcomes)]
                        + [rate_cell(dq_trials.detections(outcomes, rule)
                                     if _judged(outcomes, rule) else None)
                           for rule, _ in rule_titles(analysis)]
                        + [", ".join(f"{k} {v}" for k, v in sorted(counts.items()))])
    return ("## Detection: A/B trials where the slowed benchmark was flagged (95 % interval)\n\n"
            + table(["budget", "mode", "n/side", "slowdown", "trials"]
                    + [t for _, t in rule_titles(analysis)] + ["perfaction verdicts"], rows))


def per_benchmark_table(analysis: list[dict[str, Any]]) -> str:
    rows = []
    for entry in analysis:
        levels = sorted(lv for lv in entry["evaluated"] if lv)
        benches = sorted({s for lv in levels for s, _, _ in entry["evaluated"][lv]})
        for bench in benches:
            cells = []
            for lv in levels:
                outcomes = [(s, o) for s, o, _ in entry["evaluated"][lv] if s == bench]
                rate = dq_trials.detections(outcomes, "perfaction")
                est = _median([o[bench]["estimate"] for _, o in outcomes])
                cells.append(f"{rate.hits}/{rate.total} (est {pct(est)})")
            detectable = _median([o[bench]["detectable"] for lv in levels
                                  for s, o, _ in entry["evaluated"][lv] if s == bench])
            rows.append([*_label(entry), bench] + cells + [pct(detectable)])
    levels = sorted(lv for lv in analysis[0]["evaluated"] if lv) if analysis else []
    return ("## perfaction per benchmark: detected / trials (median estimated change)\n\n"
            + table(["budget", "mode", "n/side", "benchmark"] + [f"+{lv:.0%}" for lv in levels]
                    + ["median detectable change"], rows))


def paired_table(analysis: list[dict[str, Any]]) -> str:
    """Same-runner trials per benchmark: what pairing by round removed, and what it detected."""
    rows = []
    for entry in analysis:
        levels = sorted(lv for lv in entry["evaluated"] if lv)
        aa = [o for _, o, _ in entry["evaluated"][0.0]]
        if not _judged(aa, "perfaction_paired"):
            continue
        for bench in sorted(aa[0]) if aa else []:
            sides = _median([o[bench]["sides_spread"] for o in aa])
            pairs = _median([o[bench]["paired_spread"] for o in aa])
            cells = []
            for lv in levels:
                outcomes = [(s, o) for s, o, _ in entry["evaluated"][lv] if s == bench]
                before = dq_trials.detections(outcomes, "perfaction")
                after = dq_trials.detections(outcomes, "perfaction_paired")
                est = _median([o[bench]["paired_estimate"] for _, o in outcomes])
                cells.append(f"{before.hits} → {after.hits} of {after.total} (est {pct(est)})")
            everything = aa + [o for lv in levels for s, o, _ in entry["evaluated"][lv]
                               if s == bench]
            detect = [o[bench]["detectable"] for o in everything]
            detect_paired = [o[bench]["paired_detectable"] for o in everything]
            ratio = None if not sides or pairs is None else pairs / (math.sqrt(2) * sides)
            rows.append([*_label(entry), bench, pct(sides), pct(pairs),
                         "n/a" if ratio is None else f"{ratio:.2f}"] + cells
                        + [f"{pct(_median(detect))} → {pct(_median(detect_paired))}"])
    levels = sorted(lv for lv in analysis[0]["evaluated"] if lv) if analysis else []
    return ("## Same-runner: unpaired → paired per benchmark\n\nSpread of each side (robust "
            "CV, pooled) and of the per-round log ratios head/base, median over A/A trials; "
            "their ratio is 1 when pairing cancels nothing and 0 when it cancels everything. "
            "Detections of the slowed benchmark: Mann-Whitney → signed-rank (median paired "
            "estimate). Median smallest detectable change over all trials.\n\n"
            + table(["budget", "mode", "n/side", "benchmark", "spread per side",
                     "spread of log ratios", "ratio / sqrt 2"]
                    + [f"+{lv:.0%}" for lv in levels] + ["detectable change"], rows))


def aa_detail_table(analysis: list[dict[str, Any]]) -> str:
    rows = []
    for entry in analysis:
        aa = [o for _, o, _ in entry["evaluated"][0.0]]
        benches = sorted(aa[0]) if aa else []
        for bench in benches:
            verdicts: dict[str, int] = {}
            for o in aa:
                verdicts[o[bench]["verdict"]] = verdicts.get(o[bench]["verdict"], 0) + 1
            changes = [abs(o[bench]["mean_change"]) for o in aa]
            rows.append([*_label(entry), bench,
                         ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())),
                         pct(_median([o[bench]["estimate"] for o in aa])),
                         pct(_median(changes)), pct(max(changes)),
                         sum(1 for o in aa if o[bench]["article"]),
                         pct(_median([o[bench]["detectable"] for o in aa]))])
    return ("## A/A detail per benchmark\n\n"
            + table(["budget", "mode", "n/side", "benchmark", "perfaction verdicts",
                     "median estimate", "median |mean change|", "max |mean change|",
                     "article flags", "median detectable change"], rows))


def targets(analysis: list[dict[str, Any]]) -> str:
    lines = ["## Targets (perfaction)"]
    for entry in analysis:
        budget, mode, n = _label(entry)
        aa = dq_trials.false_alarms([o for _, o, _ in entry["evaluated"][0.0]], "perfaction")
        verdict = ("met" if aa.value <= TARGET_FALSE_ALARMS else "missed") if aa.total else "n/a"
        text = [f"false alarms {rate_cell(aa)} vs <= 1 %: {verdict} (point estimate)"]
        for level, goal in sorted(TARGET_DETECT.items()):
            found = entry["evaluated"].get(level, [])
            rate = dq_trials.detections([(s, o) for s, o, _ in found], "perfaction")
            met = "met" if rate.total and rate.value >= goal else "missed"
            text.append(f"+{level:.0%} detected {rate_cell(rate)} vs >= {goal:.0%}: {met}")
        lines.append(f"- {budget} {mode} (n={n}): " + "; ".join(text))
        aa_rows = [o for _, o, _ in entry["evaluated"][0.0]]
        if _judged(aa_rows, "perfaction_paired"):
            paired_aa = dq_trials.false_alarms(aa_rows, "perfaction_paired")
            text = [f"false alarms {rate_cell(paired_aa)}"]
            for level, goal in sorted(TARGET_DETECT.items()):
                found = [(s, o) for s, o, _ in entry["evaluated"].get(level, [])]
                rate = dq_trials.detections(found, "perfaction_paired")
                met = "met" if rate.total and rate.value >= goal else "missed"
                text.append(f"+{level:.0%} detected {rate_cell(rate)} vs >= {goal:.0%}: {met}")
            lines.append(f"- {budget} {mode} (n={n}), paired: " + "; ".join(text))
    return "\n".join(lines)
