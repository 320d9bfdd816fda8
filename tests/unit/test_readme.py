"""The README documents every input and output the action declares."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _declared(section: str) -> list[str]:
    """Names under a top-level ``section:`` of action.yml (two-space indented keys)."""
    text = (REPO / "action.yml").read_text(encoding="utf-8")
    body = re.search(rf"^{section}:\n((?:[ \t].*\n|\n)*)", text, re.MULTILINE).group(1)
    return re.findall(r"^  ([a-z][a-z0-9-]*):", body, re.MULTILINE)


def _readme_table_names(heading: str) -> set[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z0-9-]+)` \|", section, re.MULTILINE))


def test_every_input_is_in_the_readme_inputs_table():
    inputs = _declared("inputs")
    assert len(inputs) >= 20
    assert set(inputs) <= _readme_table_names("Inputs")


def test_every_output_is_in_the_readme_outputs_table():
    outputs = _declared("outputs")
    assert {"regression", "regressions-count", "report-path", "results-path",
            "comparison-json"} <= set(outputs)
    assert set(outputs) <= _readme_table_names("Outputs")


_UPLOAD = re.compile(r"if: (?P<cond>.*)\n\s+uses: actions/upload-artifact@v\d+\n\s+with:\n"
                     r"\s+name: (?P<name>\S+).*\n\s+path: (?P<path>.+)")


def _upload_steps(text: str) -> dict[str, tuple[str, str]]:
    """name -> (if, path) of the actions/upload-artifact steps written in ``text``."""
    return {m["name"]: (m["cond"], m["path"].strip()) for m in _UPLOAD.finditer(text)}


def test_the_quick_start_keeps_baseline_and_history_as_the_nightly_docs_do():
    # Trends on pull requests need the history artifact; the Quick start once
    # uploaded only the baseline, so the history never accumulated.
    readme = _upload_steps((REPO / "README.md").read_text(encoding="utf-8"))
    nightly = _upload_steps((REPO / "docs" / "nightly.md").read_text(encoding="utf-8"))
    for steps in (readme, nightly):
        assert steps["perf-history"][1] == "${{ steps.perf.outputs.history-path }}"
        assert "!cancelled()" in steps["perf-history"][0]
        assert steps["perf-baseline"][1] == "perf-results.json"
        assert "success()" in steps["perf-baseline"][0]
