"""`perfaction compare`: not yet implemented (see the issue tracker)."""

from ..errors import PerfActionError


def add_parser(subparsers):
    parser = subparsers.add_parser("compare", help="(not yet implemented)")
    parser.set_defaults(handler=_handle)


def _handle(args):
    raise PerfActionError("'perfaction compare' is not implemented yet")
