"""`perfaction ab MODULE --base-ref REF | --base-dir DIR`: same-runner A/B.

Measures the base tree and the head tree (the current directory) in the same
job, alternating fresh worker processes, writes both results files, then
compares them with the same statistics as `perfaction compare`.
Exit 0 no regression, 1 regression, 2 error (including a benchmark that
failed in the head tree).
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from perfaction.cli.compare import add_policy_options, load_policy
from perfaction.cli.run import add_measurement_options, options_from_args


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "ab", help="measure base and head in the same job and compare them",
        description="Same-runner A/B: measure MODULE in the base tree (a git ref checked out "
                    "in a temporary worktree, or a directory) and in the current directory, "
                    "alternating fresh processes with identical settings; write both results "
                    "files and print the comparison. Exit 0 pass, 1 regression, 2 error.")
    parser.add_argument("target", metavar="MODULE_OR_PATH",
                        help="benchmark file or dotted module, relative to each tree's root")
    base = parser.add_mutually_exclusive_group(required=True)
    base.add_argument("--base-ref", metavar="REF",
                      help="git commit, branch or tag to compare with (checked out in a "
                           "temporary worktree)")
    base.add_argument("--base-dir", metavar="DIR", help="a checkout of the base version")
    parser.add_argument("-o", "--output", default="head.json", metavar="FILE",
                        help="results of the head tree (default head.json)")
    parser.add_argument("--base-output", default="base.json", metavar="FILE",
                        help="results of the base tree (default base.json)")
    add_measurement_options(parser)
    parser.add_argument("--base-python", metavar="PATH",
                        help="interpreter for the base side (its own environment, with "
                             "perfaction and the base version's dependencies installed)")
    parser.add_argument("--head-python", metavar="PATH",
                        help="interpreter for the head side (default: this one)")
    add_policy_options(parser)
    parser.add_argument("--json", metavar="FILE", help="also write the comparison as JSON")
    parser.add_argument("--no-fail", action="store_true",
                        help="exit 0 even when a regression is found (report only)")
    parser.set_defaults(handler=_handle)
    return parser


def _handle(args: argparse.Namespace) -> int:
    from perfaction.errors import BenchmarkDiscoveryError
    from perfaction.harness import gitinfo
    from perfaction.harness.ab import MODE
    from perfaction.harness.progress import make_progress
    from perfaction.pipeline import discovery_failure_suite, measure_ab
    from perfaction.results.files import dump_suite

    # Before measuring: a typo in --thresholds must not cost the whole run.
    policy = load_policy(args)
    _check_outputs(args)
    head_dir = Path.cwd().resolve()
    options = options_from_args(args, cwd=head_dir, commit_sha=gitinfo.head_commit(head_dir),
                                ref=gitinfo.current_ref(head_dir))
    progress = make_progress(sys.stderr, quiet=args.quiet)
    with ExitStack() as stack:
        if args.base_ref:
            base_dir = _base_from_ref(stack, head_dir, args.base_ref)
        else:
            base_dir = Path(args.base_dir).resolve()
        try:
            result = measure_ab(base_dir, head_dir, args.target, options, progress=progress,
                                base_ref=args.base_ref, base_python=args.base_python,
                                head_python=args.head_python)
        except BenchmarkDiscoveryError as exc:   # the head side: its failure is a result too
            dump_suite(discovery_failure_suite(args.target, str(exc), options, mode=MODE), args.output)
            raise
    base, head = result.suites
    dump_suite(base, args.base_output)
    dump_suite(head, args.output)
    print(f"results written to {args.base_output} (base) and {args.output} (head)")
    for note in result.notes:
        print(f"perfaction ab: warning: {note}", file=sys.stderr)
    return _compare_and_report(args, policy, base, head)


def _check_outputs(args: argparse.Namespace) -> None:
    """Each output its own file: one written over another would lose a side's results;
    and none over results another command wrote (cli/outputs.py)."""
    from perfaction.cli.outputs import AB, check_overwrite
    from perfaction.errors import PerfActionError

    check_overwrite({"-o/--output": args.output, "--base-output": args.base_output},
                    command=AB, force=args.force)

    named = {"-o/--output": args.output, "--base-output": args.base_output, "--json": args.json}
    seen: dict[Path, str] = {}
    for option, value in named.items():
        if not value:
            continue
        path = Path(value).resolve()
        if path in seen:
            raise PerfActionError(f"{seen[path]} and {option} name the same file {value!r}; "
                                  "each would overwrite the other: give them different names")
        seen[path] = option


def _base_from_ref(stack: ExitStack, head_dir: Path, ref: str) -> Path:
    """Check REF out in a temporary worktree; the same sub-directory as the head's."""
    from perfaction.errors import PerfActionError
    from perfaction.harness import gitinfo

    top = gitinfo.toplevel(head_dir)
    if top is None:
        raise PerfActionError(f"{head_dir} is not inside a git repository, so --base-ref "
                              f"{ref!r} cannot be checked out; pass --base-dir DIR instead")
    tree = stack.enter_context(gitinfo.base_worktree(top, ref))
    return tree / head_dir.relative_to(top)


def _compare_and_report(args: argparse.Namespace, policy: Any, base: Any, head: Any) -> int:
    from perfaction.analysis.compare import compare_suites
    from perfaction.analysis.comparison_json import comparison_to_dict
    from perfaction.pipeline import exit_code, same_runner_baseline
    from perfaction.report.context import ReportContext
    from perfaction.report.reasons import reason_text
    from perfaction.report.render import render_terminal
    from perfaction.results.files import write_json_atomic

    comparison = compare_suites(base, head, policy, mode="same-runner")
    if args.json:
        write_json_atomic(comparison_to_dict(comparison, describe=reason_text), args.json)
    context = ReportContext(mode="same-runner",
                            baseline=same_runner_baseline(base, ref=args.base_ref, path=args.base_dir),
                            commit_sha=head.environment.commit_sha, base_sha=base.environment.commit_sha)
    sys.stdout.write(render_terminal(comparison, context))
    return exit_code(comparison, fail_on_regression=not args.no_fail, head=head)
