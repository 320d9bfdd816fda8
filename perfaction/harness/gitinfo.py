"""Small git queries: the commit and ref of a tree, and base worktrees for A/B runs."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from perfaction.errors import PerfActionError


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("git") is None:
        raise PerfActionError("git is not installed; install it, or pass --base-dir instead "
                              "of --base-ref")
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=False)


def _answer(repo: Path, *args: str) -> str | None:
    """git's one-line answer, or None when git is missing, fails or says nothing."""
    try:
        done = _git(repo, *args)
    except PerfActionError:
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def head_commit(repo: Path) -> str | None:
    """The commit checked out in ``repo``, or None when it is not a git tree."""
    return _answer(repo, "rev-parse", "--verify", "-q", "HEAD")


def current_ref(repo: Path) -> str | None:
    """The branch checked out in ``repo`` (``main``), or None when detached or not git."""
    return _answer(repo, "symbolic-ref", "-q", "--short", "HEAD")


def resolve_commit(repo: Path, ref: str) -> str:
    """The commit ``ref`` names in ``repo``; a PerfActionError saying how to fix it otherwise."""
    inside = _git(repo, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        raise PerfActionError(f"{repo} is not a git repository, so --base-ref {ref!r} cannot be "
                              "checked out; run inside the repository or pass --base-dir DIR")
    done = _git(repo, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}")
    if done.returncode != 0 or not done.stdout.strip():
        raise PerfActionError(f"unknown git ref {ref!r} in {repo}; fetch it first (on GitHub "
                              "Actions: actions/checkout with fetch-depth: 0, or "
                              f"`git fetch origin {ref}`)")
    return done.stdout.strip()


def has_commit(repo: Path, ref: str) -> bool:
    """Whether ``ref`` names a commit present in ``repo`` (a shallow clone often lacks the base)."""
    try:
        done = _git(repo, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}")
    except PerfActionError:
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


@contextmanager
def base_worktree(repo_dir: Path, ref: str) -> Iterator[Path]:
    """A detached git worktree of ``ref``, outside the repository; removed afterwards.

    Outside the repository on purpose: the head tree must not contain the
    base tree, or a search of the head's directories could reach base code.
    """
    repo_dir = Path(repo_dir).resolve()
    commit = resolve_commit(repo_dir, ref)
    # a short parent, so that the worktree's path can be as long as the
    # repository's even for /github/workspace (17 characters)
    parent = Path(tempfile.mkdtemp(prefix="pb"))
    path = parent / _leaf_as_long_as(repo_dir, parent)
    added = _git(repo_dir, "worktree", "add", "--detach", "--force", str(path), commit)
    if added.returncode != 0:
        shutil.rmtree(parent, ignore_errors=True)
        raise PerfActionError(f"cannot check out {ref!r} into a worktree: "
                              f"{added.stderr.strip() or added.stdout.strip()}")
    try:
        yield path
    finally:
        _git(repo_dir, "worktree", "remove", "--force", str(path))
        shutil.rmtree(parent, ignore_errors=True)
        _git(repo_dir, "worktree", "prune")


def _leaf_as_long_as(repo_dir: Path, parent: Path) -> str:
    """A folder name that makes ``parent / name`` as long as ``repo_dir``'s path.

    Paths end up in the heap (sys.path, module file names), and their lengths
    shape the allocations after them: in instruction mode, two trees whose
    paths differ in length counted identical code up to 0.4 % apart, two of
    one length alike. When ``parent`` is already too long, "tree".
    """
    room = len(str(repo_dir)) - len(str(parent)) - 1
    return "t" * room if room >= 1 else "tree"


def toplevel(path: Path) -> Path | None:
    """The root of the git work tree containing ``path``, or None."""
    try:
        done = _git(path, "rev-parse", "--show-toplevel")
    except PerfActionError:
        return None
    return Path(done.stdout.strip()).resolve() if done.returncode == 0 and done.stdout.strip() \
        else None
