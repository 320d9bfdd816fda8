"""The command-line tool: `perfaction run | compare | ab | merge | report`.

Each subcommand lives in perfaction/cli/<name>.py and registers itself
through ``add_parser``; this module only dispatches and turns user errors into
exit code 2 with a readable message (``pipeline.run_guarded``, as the action). Subcommand modules import their heavy
dependencies inside the handler so `perfaction --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module
from typing import TYPE_CHECKING

from perfaction import __version__

if TYPE_CHECKING:
    from perfaction.pipeline import Failure

COMMANDS = ("run", "compare", "ab", "merge", "report")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perfaction",
        description="Measure benchmarks, compare them with statistics that hold on "
                    "noisy machines, and report regressions. Exit codes: 0 pass, "
                    "1 regression, 2 error.")
    parser.add_argument("--version", action="version", version=f"perfaction {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = import_module(f"perfaction.cli.{name}")
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from perfaction.pipeline import run_guarded  # after parsing: `--help` stays fast

    def say(failure: Failure) -> None:
        prefix = "error: " if failure.kind == "error" else ""
        print(f"perfaction {args.command}: {prefix}{failure.message}", file=sys.stderr)

    return run_guarded(lambda: args.handler(args), say)


if __name__ == "__main__":
    sys.exit(main())
