"""What the project's own code and text must not get or do.

The setup-command and the benchmarks are a pull request's code, and benchmark
names and error messages are its text. Two rules hold wherever either reaches
a process or a log: no credential variable is passed on, and no line printed
can act as a workflow command. Standard library only, so the harness uses it
too.
"""

from __future__ import annotations

from collections.abc import Mapping

# Credentials a job's environment may carry that the project's own code (its
# setup-command and its benchmarks, which a pull request can change) must not
# get: the action's token input, the names workflows give ``github.token``,
# and the runner's own ACTIONS_* credentials (artifact and cache uploads, OIDC
# tokens; ACTIONS_ID_TOKEN_REQUEST_URL names "TOKEN" too and is useless alone).
# Variables a workflow sets on the step under other names are passed on.
CREDENTIAL_NAMES = frozenset({"INPUT_TOKEN", "GITHUB_TOKEN", "GH_TOKEN"})


def is_credential(name: str) -> bool:
    """Whether the variable ``name`` is one the project's code never receives (see above)."""
    upper = name.upper()
    return upper in CREDENTIAL_NAMES or (upper.startswith("ACTIONS_") and "TOKEN" in upper)


def without_credentials(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``environ`` without the credential variables."""
    return {name: value for name, value in environ.items() if not is_credential(name)}


def defuse(text: str) -> str:
    """``text`` safe to print on the step's stdout: no line of it can act as a workflow command.

    The runner trims leading whitespace before looking for ``::`` and finds the
    older ``##[command]`` form anywhere in a line, so a line that starts with
    ``::`` after any blank or invisible characters gets a ``| `` in front, and
    ``##[`` becomes ``## [``. Lines are split wherever the runner (and more)
    would split them, so a bare carriage return cannot hide a second line.
    """
    lines = []
    for line in text.splitlines() or [""]:
        line = line.replace("##[", "## [")
        lines.append("| " + line if _starts_like_command(line) else line)
    return "\n".join(lines)


def _starts_like_command(line: str) -> bool:
    start = 0
    while start < len(line) and (line[start].isspace() or not line[start].isprintable()):
        start += 1
    return line.startswith("::", start)
