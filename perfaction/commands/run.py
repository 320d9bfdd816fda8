"""`perfaction run`: not yet implemented (see the issue tracker)."""

from ..errors import PerfActionError


def add_parser(subparsers):
    parser = subparsers.add_parser("run", help="(not yet implemented)")
    parser.set_defaults(handler=_handle)


def _handle(args):
    raise PerfActionError("'perfaction run' is not implemented yet")
