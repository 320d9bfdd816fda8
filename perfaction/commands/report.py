"""`perfaction report`: not yet implemented (see the issue tracker)."""

from ..errors import PerfActionError


def add_parser(subparsers):
    parser = subparsers.add_parser("report", help="(not yet implemented)")
    parser.set_defaults(handler=_handle)


def _handle(args):
    raise PerfActionError("'perfaction report' is not implemented yet")
