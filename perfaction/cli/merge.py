"""`perfaction merge SHARD.json... -o merged.json`: one suite from its shards' results.

Each shard (`perfaction run --shard K/N` or `perfaction ab --shard K/N`)
measured part of the suite; the merge checks that the files are exactly the
N parts of one suite (none missing or repeated, no benchmark twice, the same
settings and commit) and writes the whole suite, which `perfaction compare`
then decides with one run-wide correction. Same-runner shards: give their
base files with --base, in any order; each is matched to its head by the
shard it records. Exit 2 when the set does not add up, naming what is wrong.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

DEFAULT_OUTPUT = "merged.json"
DEFAULT_BASE_OUTPUT = "merged.base.json"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "merge", help="merge the results files of a sharded suite into one",
        description="Merge the results of the N shards of one suite (perfaction run/ab "
                    "--shard K/N) into one results file; exit 2 when a shard is missing or "
                    "repeated, a benchmark is in two shards, or the shards' settings differ.")
    parser.add_argument("files", nargs="+", metavar="SHARD.json",
                        help="the results file of every shard (the head side for ab shards)")
    parser.add_argument("--base", action="append", default=[], metavar="FILE",
                        help="same-runner shards: the base results of a shard (repeat for each)")
    parser.add_argument("-o", "--output", default=DEFAULT_OUTPUT, metavar="FILE",
                        help=f"merged results to write (default {DEFAULT_OUTPUT})")
    parser.add_argument("--base-output", default=DEFAULT_BASE_OUTPUT, metavar="FILE",
                        help=f"with --base: merged base results (default {DEFAULT_BASE_OUTPUT})")
    parser.set_defaults(handler=_handle)
    return parser


def _handle(args: argparse.Namespace) -> int:
    from perfaction.results import files
    from perfaction.results.shards import ShardPart, ShardSetError, merge_shards

    heads = {path: files.load_suite(path) for path in args.files}
    bases: dict[str, tuple[str, Any]] = {}
    for path in args.base:
        suite = files.load_suite(path)
        label = suite.settings.shard or "none"
        if label in bases:
            raise ShardSetError(f"--base {path} and --base {bases[label][0]} are both shard "
                                f"{label}'s base results; give each once")
        bases[label] = (path, suite)
    parts = []
    for path, head in heads.items():
        base_path, base = bases.pop(head.settings.shard or "none", (None, None))
        if args.base and base is None:
            raise ShardSetError(f"{path} is shard {head.settings.shard}: no --base file holds "
                                "that shard's base results")
        parts.append(ShardPart(path if base_path is None else f"{path} (base {base_path})",
                               head, base))
    if bases:
        unmatched = ", ".join(path for path, _ in bases.values())
        raise ShardSetError(f"--base {unmatched}: no head results file of that shard was given")
    head, base = merge_shards(parts)
    files.dump_suite(head, args.output)
    print(f"merged {len(parts)} shards ({len(head.benchmarks)} benchmarks) into {args.output}",
          file=sys.stdout)
    if base is not None:
        files.dump_suite(base, args.base_output)
        print(f"merged their base results into {args.base_output}", file=sys.stdout)
    return 0
