"""The command-line tool: `perfaction run | compare | ab | report`.

Each subcommand lives in perfaction/cli/<name>.py and registers itself
through ``add_parser``; this module only dispatches and turns user errors into
exit code 2 with a readable message. Subcommand modules import their heavy
dependencies inside the handler so `perfaction --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from importlib import import_module

from perfaction import __version__
from perfaction.errors import PerfActionError
from perfaction.signals import interruption, terminate_as_interrupt

COMMANDS = ("run", "compare", "ab", "report")


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
    try:
        with terminate_as_interrupt():
            return int(args.handler(args))
    except PerfActionError as exc:
        print(f"perfaction {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        print(f"perfaction {args.command}: interrupted{interruption(exc)}; worker processes "
              "were stopped", file=sys.stderr)
        return 2
    except Exception:  # a bug: show it whole, and exit 2 (error), never 1 (regression)
        traceback.print_exc()
        print(f"perfaction {args.command}: internal error (traceback above); please report it",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
