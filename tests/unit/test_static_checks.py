"""Ruff and mypy, as pyproject.toml configures them, find nothing.

Both run as subprocesses from the repository root: the executables of this
test's own virtual environment (next to ``sys.executable``), which the test
extra installs. A missing one fails the test, saying how to install it; it is
never skipped. Their caches (.ruff_cache/, .mypy_cache/ at the root,
git-ignored) make a second run take a fraction of a second.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Not resolved: a venv's python may be a symlink to the base interpreter.
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN))
    if path is None:
        pytest.fail(f"{name} is not installed next to {sys.executable}: run ./dev.sh test, "
                    "which installs the test extra ('.[test]') that holds it", pytrace=False)
    return path


def _check(args: list[str], timeout: float) -> None:
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).rstrip()
        pytest.fail(f"`{' '.join([Path(args[0]).name, *args[1:]])}` exited {proc.returncode}:\n{output}",
                    pytrace=False)


def test_ruff_finds_nothing() -> None:
    # [tool.ruff] in pyproject.toml: the rules, and what is excluded (.venv, out/)
    _check([_tool("ruff"), "check", "--no-fix", "--output-format", "concise", "."], timeout=120)


def test_mypy_finds_nothing() -> None:
    # [tool.mypy] in pyproject.toml names the files and the strictness
    _check([_tool("mypy"), "--config-file", "pyproject.toml"], timeout=600)
