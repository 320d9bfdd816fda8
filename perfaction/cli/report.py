"""`perfaction report`: render a comparison, or two results files, as text, Markdown or JSON.

    perfaction report COMPARISON.json
    perfaction report BASE.json HEAD.json --thresholds "time:5%" -o report.md

It only renders: the exit code is 0 whatever the verdicts (`perfaction
compare` is the command that gates).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from perfaction.errors import PerfActionError

FORMATS = ("text", "md", "comment", "json")
_SUFFIX_FORMATS = {".md": "md", ".markdown": "md", ".json": "json"}


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "report", help="render a comparison (or two results files) as text, Markdown or JSON",
        description="Render a comparison JSON (from `perfaction compare`), or compare a base "
                    "and a head results file and render that. Exit code 0 unless the input "
                    "cannot be read (2).")
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="COMPARISON.json, or BASE.json HEAD.json")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="text (the terminal report), md (the full Markdown report), "
                             "comment (exactly the PR comment) or json (the comparison); "
                             "default: from the -o suffix (.md, .json), else text")
    parser.add_argument("-o", "--output", metavar="FILE", default=None,
                        help="write here instead of standard output")
    parser.add_argument("--thresholds", metavar="SPEC", default=None,
                        help="threshold rules when comparing two results files, e.g. "
                             "'time:5%%,orderbook_*:time:8%%'")
    parser.set_defaults(handler=_handle)


def _handle(args) -> int:
    from perfaction.analysis.comparison_json import comparison_from_dict, comparison_to_dict
    from perfaction.report.context import BaselineInfo, ReportContext
    from perfaction.report.reasons import reason_text
    from perfaction.report.render import render_comment, render_markdown_full, render_terminal

    if len(args.files) > 2:
        raise PerfActionError(f"expected COMPARISON.json or BASE.json HEAD.json, got "
                              f"{len(args.files)} files; pass one comparison or two results files")
    if len(args.files) == 1:
        if args.thresholds:
            raise PerfActionError("--thresholds applies when comparing two results files; "
                                  "a comparison JSON already holds its thresholds")
        data = _read_json(args.files[0])
        if isinstance(data, dict) and "benchmarks" in data and "deltas" not in data:
            raise PerfActionError(f"file {args.files[0]}: this is a results file, not a comparison; "
                                  "pass the baseline too: perfaction report BASE.json HEAD.json")
        comparison = comparison_from_dict(data, source=args.files[0])
        if comparison.base_environment is None:
            baseline = BaselineInfo(source="none", reason="the comparison was made without a baseline")
        else:
            baseline = BaselineInfo(source="file", commit=comparison.base_environment.commit_sha)
    else:
        comparison = _compare_files(args.files[0], args.files[1], args.thresholds)
        baseline = BaselineInfo(source="file", path=args.files[0],
                                commit=comparison.base_environment.commit_sha)
    context = ReportContext(baseline=baseline, mode=comparison.mode,
                            commit_sha=comparison.head_environment.commit_sha)
    fmt = args.format or _SUFFIX_FORMATS.get(Path(args.output or "").suffix.lower(), "text")
    if fmt == "json":
        data = comparison_to_dict(comparison, describe=reason_text)
        text = json.dumps(data, indent=1, allow_nan=False) + "\n"
    elif fmt == "md":
        text = render_markdown_full(comparison, context)
    elif fmt == "comment":
        text = render_comment(comparison, context)
    else:
        text = render_terminal(comparison, context)
    _write(text, args.output)
    return 0


def _compare_files(base_path: str, head_path: str, spec: str | None):
    from perfaction.analysis.compare import compare_suites
    from perfaction.analysis.policy import Policy
    from perfaction.results.files import load_suite

    policy = Policy.parse(spec)  # parse first: a bad rule is reported before any file is read
    return compare_suites(load_suite(base_path), load_suite(head_path), policy)


def _read_json(path: str):
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PerfActionError(f"file {path}: not found; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PerfActionError(f"file {path}: cannot read it: {exc}") from exc
    from perfaction.results.files import parse_json
    return parse_json(text, source=path, advice="; pass a comparison written by "
                      "`perfaction compare`, or BASE.json HEAD.json")


def _write(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise PerfActionError(f"cannot write {output}: {exc.strerror or exc}; check the path "
                              "and that its folder exists") from exc
