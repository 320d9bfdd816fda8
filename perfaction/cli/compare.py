"""`perfaction compare BASE.json HEAD.json`: the CI verdict, reproduced locally.

Exit codes as the action's: 0 no regression, 1 regression (a gating metric
regressed, significant after correction and beyond its threshold), 2 error
(unreadable input, or a benchmark that failed in HEAD).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "compare", help="compare two results files; exit 0 pass, 1 regression, 2 error",
        description="Compare HEAD against BASE with the same statistics and thresholds as "
                    "the action, print the report, and exit 0 (no regression), "
                    "1 (regression) or 2 (error).")
    parser.add_argument("base", metavar="BASE.json", help="baseline results file")
    parser.add_argument("head", metavar="HEAD.json", help="results file of the change")
    add_policy_options(parser)
    parser.add_argument("--mode", choices=("baseline", "same-runner"), default=None,
                        help="how the two files were measured (default: read from the files' "
                             "settings; same-runner when both sides came from `perfaction ab`)")
    parser.add_argument("--json", metavar="FILE",
                        help="also write the comparison as JSON (input of `perfaction report`)")
    parser.add_argument("--no-fail", action="store_true",
                        help="exit 0 even when a regression is found (report only)")
    parser.set_defaults(handler=_handle)
    return parser


def add_policy_options(parser: argparse.ArgumentParser) -> None:
    """Threshold options shared by `compare`, `ab` and `report`."""
    parser.add_argument("--thresholds", metavar="SPEC",
                        help="threshold rules separated by commas, each "
                             "[BENCHMARK_GLOB:]METRIC:SETTING where METRIC is a metric name "
                             "(time, peak_memory, instructions, ...) or a kind (time, memory, "
                             "latency, *) and SETTING a threshold (5%%), floor=16KiB, gate, "
                             "report or ignore; e.g. 'time:5%%, memory:10%%, "
                             "orderbook_*:time:8%%, legacy_*:ignore'. Defaults: time 5%%, "
                             "memory 10%% (and 16 KiB), instructions 1%%")
    parser.add_argument("--thresholds-file", metavar="FILE",
                        help="threshold rules, one per line, # comments allowed")


def load_policy(args: argparse.Namespace):
    """The Policy from --thresholds-file then --thresholds (inline rules win)."""
    from perfaction.analysis.policy import Policy

    return Policy.from_sources(getattr(args, "thresholds", None),
                               getattr(args, "thresholds_file", None))


def infer_mode(base, head) -> str:
    """same-runner when both files say they are the two sides of one A/B run."""
    modes = {base.settings.mode, head.settings.mode}
    return "same-runner" if modes and all(m and m.startswith("same-runner") for m in modes) \
        else "baseline"


def _handle(args: argparse.Namespace) -> int:
    from perfaction.analysis.compare import compare_suites
    from perfaction.analysis.comparison_json import comparison_to_dict
    from perfaction.pipeline import exit_code, file_baseline
    from perfaction.report.context import ReportContext
    from perfaction.report.reasons import reason_text
    from perfaction.report.render import render_terminal
    from perfaction.results.files import load_suite, write_json_atomic

    base = load_suite(args.base)
    head = load_suite(args.head)
    policy = load_policy(args)
    mode = args.mode or infer_mode(base, head)
    comparison = compare_suites(base, head, policy, mode=mode)
    if args.json:
        write_json_atomic(comparison_to_dict(comparison, describe=reason_text), args.json)
    context = ReportContext(mode=mode, baseline=file_baseline(args.base, base))
    sys.stdout.write(render_terminal(comparison, context))
    return exit_code(comparison, fail_on_regression=not args.no_fail)
