"""Output files of `perfaction run` and `perfaction ab`: never silently over another command's.

Running the same command again replaces its own results, as a user expects.
But `perfaction ab` writing `base.json` over the file an earlier `perfaction
run -o base.json` wrote, or either of them writing over a file that is not
results at all, loses work without a word. Checked before measuring, so a
refusal costs nothing; `--force` writes anyway.
"""

from __future__ import annotations

from pathlib import Path

from perfaction.errors import PerfActionError, ResultsFormatError

RUN = "perfaction run"
AB = "perfaction ab"


def _writer(path: Path) -> str | None:
    """The command that wrote the results file at ``path``; None when it is not one."""
    from perfaction.results.files import load_suite

    try:
        suite = load_suite(path)
    except (ResultsFormatError, OSError):
        return None
    mode = suite.settings.mode or ""
    return AB if mode.startswith("same-runner") else RUN


def check_overwrite(outputs: dict[str, str | None], *, command: str, force: bool) -> None:
    """Refuse (before measuring) to replace a file another command, or no command, wrote.

    ``outputs`` maps each option to the results file it names.
    """
    if force:
        return
    for option, value in outputs.items():
        if not value:
            continue
        path = Path(value)
        if not path.exists():
            continue
        if path.is_dir():
            raise PerfActionError(f"{option} {value!r} is a folder; give a file name")
        writer = _writer(path)
        if writer == command:
            continue        # this command's own earlier results: a re-run replaces them
        what = (f"holds results of `{writer}`" if writer
                else "exists and is not a perfaction results file")
        raise PerfActionError(
            f"{option} {value!r} {what}; `{command}` would overwrite it. Give another name "
            f"({option} FILE) or pass --force to replace it")
