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
    """``text`` safe to print on the step's stdout or a terminal.

    No line of it can act as a workflow command: the runner trims leading
    whitespace before looking for ``::`` and finds the older ``##[command]``
    form anywhere in a line, so a line that starts with ``::`` after any blank
    or invisible characters gets a ``| `` in front, and ``##[`` becomes
    ``## [``. Lines are split wherever the runner (and more) would split them,
    so a bare carriage return cannot hide a second line. And no character of
    it can steer a terminal or hide text: control characters (ESC, NUL, the
    C1 range with its one-byte CSI), DEL and the bidirectional overrides are
    shown as escapes (``\x1b``, ``\u202e``) instead.
    """
    text = text.translate(_VISIBLE)
    lines = []
    for line in text.splitlines() or [""]:
        line = line.replace("##[", "## [")
        lines.append("| " + line if _starts_like_command(line) else line)
    return "\n".join(lines)


# Characters that act on a terminal or reorder text, mapped to a visible escape;
# tabs and the line breaks splitlines() handles are left alone.
_INVISIBLE = ([c for c in range(0x20) if chr(c) not in "\t\n\r\x0b\x0c\x1c\x1d\x1e"]
              + list(range(0x7F, 0xA0)) + [0x200E, 0x200F, 0x061C]
              + list(range(0x202A, 0x202F)) + list(range(0x2066, 0x206A)))
_VISIBLE = {c: (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}") for c in _INVISIBLE}
_VISIBLE.pop(0x85, None)      # NEL: splitlines() breaks the line there, as the runner does


def _starts_like_command(line: str) -> bool:
    start = 0
    while start < len(line) and (line[start].isspace() or not line[start].isprintable()):
        start += 1
    return line.startswith("::", start)
