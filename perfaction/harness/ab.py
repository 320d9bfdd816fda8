"""Same-runner A/B: the base tree and the head tree measured in one job.

Both sides run on the same machine, in the same rounds: every round starts a
fresh worker for each (benchmark, side), each benchmark's two sides next to
each other in random order, with identical settings (the same loop count,
the larger of the two calibrations). Whatever the machine does during the
run, it does to both sides alike, so runner-to-runner variance cancels.

Each side imports its own tree's code: its worker runs with the tree as
working directory and first on sys.path (and its ``src/`` when present), no
PYTHONPATH and no user site; after measuring, a worker fails if any loaded
module came from the other side's tree. A project that must be built or
installed needs an environment per side: pass each side's interpreter.

A base tree without the benchmark module (it arrives with the change under
test) is measured as empty: every benchmark is new, and the result's notes
say why. A base tree that has the module but cannot import it is an error:
the comparison would silently have no base at all.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from perfaction.errors import PerfActionError
from perfaction.harness import gitinfo
from perfaction.harness.discovery import is_path_target
from perfaction.harness.launcher import Launcher
from perfaction.harness.progress import Progress
from perfaction.harness.runner import RunOptions, RunResult, Side, execute
from perfaction.results import model

MODE = "same-runner"


def run_ab(base_dir: Path, head_dir: Path, target: str, options: RunOptions, *,
           progress: Progress | None = None, **kwargs) -> tuple[model.Suite, model.Suite]:
    """Measure ``target`` in both trees; returns (base suite, head suite)."""
    result = execute_ab(base_dir, head_dir, target, options, progress=progress, **kwargs)
    return result.suites[0], result.suites[1]


def execute_ab(base_dir: Path, head_dir: Path, target: str, options: RunOptions, *,
               progress: Progress | None = None, base_python: str | None = None,
               head_python: str | None = None, base_commit: str | None = None,
               base_ref: str | None = None, launcher: Launcher | None = None,
               clock: Callable[[], float] = time.perf_counter) -> RunResult:
    """``run_ab`` with run statistics and notes (e.g. a base without the module).

    Raises BenchmarkDiscoveryError (``side`` "base" or "head") when a tree
    that has the module cannot import it or finds no benchmark in it.
    """
    base_dir, head_dir = _checked_dir("base", base_dir), _checked_dir("head", head_dir)
    if base_dir == head_dir:
        raise PerfActionError(f"base and head are the same directory ({base_dir}); pass the "
                              "base as another checkout (--base-dir) or a git ref (--base-ref)")
    default_python = options.python or sys.executable
    absent = not has_target(base_dir, target)
    sides = [
        Side("base", base_dir, base_python or default_python, forbid=(head_dir,),
             commit_sha=base_commit or gitinfo.head_commit(base_dir), ref=base_ref,
             optional=absent),
        Side("head", head_dir, head_python or default_python, forbid=(base_dir,),
             commit_sha=options.commit_sha or gitinfo.head_commit(head_dir), ref=options.ref),
    ]
    result = execute(target, options, sides=sides, progress=progress, launcher=launcher,
                     clock=clock, mode=MODE)
    if absent:
        # The runner's note names the temporary tree; this one says what it means.
        others = tuple(n for n in result.notes if not n.startswith(f"base tree {base_dir}: "))
        result = replace(result, notes=(f"the base tree has no {target}, so every benchmark "
                                        "is new (there is nothing to compare it with)",) + others)
    return result


def base_failure(exc: PerfActionError, base: str, target: str) -> PerfActionError:
    """The error for a base tree that has ``target`` but could not import it."""
    # Comparing with an empty base would pass every change: an error of the comparison.
    return PerfActionError(
        f"same-runner mode cannot measure the base {base!r}: {exc}. The base has {target}, so "
        "the comparison would have no base; make the base importable (its dependencies must be "
        "installed too), compare with another base, or use a stored baseline")


def has_target(tree: Path, target: str) -> bool:
    """Whether ``tree`` holds the benchmark module ``target`` (a path, or a dotted name
    under the tree or its ``src/``), the way the worker looks it up."""
    if is_path_target(target):
        return (tree / target).exists()
    parts = target.split(".")
    for root in (tree, tree / "src"):
        module = root.joinpath(*parts)
        if module.with_name(module.name + ".py").is_file() or module.is_dir():
            return True
    return False


def _checked_dir(label: str, path: Path) -> Path:
    path = Path(path).resolve()
    if not path.is_dir():
        raise PerfActionError(f"{label} tree {path} is not a directory; check the path")
    return path
