"""actions.py: output and summary files, workflow commands, escaping."""

from __future__ import annotations

import io
import re

import pytest

from perfaction.github.workflow import (
    WorkflowCommands,
    append_summary,
    escape_data,
    escape_property,
    format_command,
    format_output,
    in_actions,
    write_outputs,
)
from perfaction.untrusted import defuse, is_credential, without_credentials


def parse_output_file(text: str) -> dict[str, str]:
    """Read GITHUB_OUTPUT the way the runner does (both the short and the heredoc form)."""
    outputs: dict[str, str] = {}
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            while lines[index] != delimiter:
                body.append(lines[index])
                index += 1
            index += 1
            outputs[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def test_outputs_round_trip_through_the_runner_format(tmp_path):
    path = tmp_path / "output"
    path.write_text("earlier=kept\n")
    values = {"regression": "true", "regressions-count": "2", "comparison-json": '{"a": [1,\n 2]}',
              "empty": "", "trailing": "line\n"}
    assert write_outputs(path, values)
    parsed = parse_output_file(path.read_text())
    assert parsed == {"earlier": "kept", **values}


def test_a_value_holding_the_delimiter_gets_another_one():
    delimiters = iter(["ghadelimiter_1", "ghadelimiter_2"])
    text = format_output("x", "a\nghadelimiter_1\nb", new_delimiter=lambda: next(delimiters))
    assert text == "x<<ghadelimiter_2\na\nghadelimiter_1\nb\nghadelimiter_2\n"


def test_default_delimiters_are_unique():
    first = format_output("x", "v").split("\n")[0]
    second = format_output("x", "v").split("\n")[0]
    assert first != second and re.fullmatch(r"x<<ghadelimiter_[0-9a-f-]{36}", first)


@pytest.mark.parametrize("name", ["", "a=b", "a\nb", "a<<b"])
def test_bad_output_names_are_refused(name):
    with pytest.raises(ValueError):
        format_output(name, "v")


def test_no_output_file_outside_a_job():
    assert write_outputs(None, {"a": "b"}) is False
    assert append_summary(None, "# hi") is False


def test_summary_appends(tmp_path):
    path = tmp_path / "summary"
    append_summary(path, "# one")
    append_summary(path, "two\n")
    assert path.read_text() == "# one\ntwo\n"


def test_summary_is_cut_to_stay_under_the_limit(tmp_path):
    path = tmp_path / "summary"
    path.write_text("x" * 100)
    append_summary(path, "é" * 1000, limit=600)
    text = path.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= 600
    assert text.endswith("limited to 1 MiB per step.\n")


def test_escaping_follows_the_runner_rules():
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a.py:3, b") == "a.py%3A3%2C b"


def test_format_command_with_properties():
    line = format_command("error", "time +12%\nsee report", title="Regression: parse, fast", file="b.py", line=3)
    assert line == "::error title=Regression%3A parse%2C fast,file=b.py,line=3::time +12%25%0Asee report"
    assert format_command("endgroup") == "::endgroup::"


def test_workflow_commands_on_a_stream():
    stream = io.StringIO()
    commands = WorkflowCommands(stream)
    commands.mask("ghs_secret\nsecond")
    with commands.group("Benchmarks"):
        commands.log("running\n::set-output name=x::y")
        commands.warning("slow", title="Note")
    commands.error("bad")
    commands.notice("fyi")
    assert stream.getvalue().splitlines() == [
        "::add-mask::ghs_secret", "::add-mask::second", "::group::Benchmarks", "running",
        "| ::set-output name=x::y", "::warning title=Note::slow", "::endgroup::", "::error::bad",
        "::notice::fyi"]


def test_group_ends_even_when_the_body_raises():
    stream = io.StringIO()
    with pytest.raises(RuntimeError):
        with WorkflowCommands(stream).group("g"):
            raise RuntimeError("boom")
    assert stream.getvalue().endswith("::endgroup::\n")


def looks_like_a_command(line: str) -> bool:
    """What the runner acts on: '::' after leading whitespace, or '##[' anywhere in the line."""
    return line.lstrip().startswith("::") or "##[" in line


@pytest.mark.parametrize("text", [
    "::error::pwned",
    "   ::add-mask::x",                  # the runner trims leading whitespace first
    "\t::stop-commands::tok",
    "\u200b::warning::zero-width space in front",
    "ok\r::set-output name=a::b",        # a bare CR is a line break to the runner
    "ok\n\n  ::group::g",
    "text ##[error]old form, anywhere in the line",
])
def test_defuse_leaves_no_line_the_runner_would_take_for_a_command(text):
    shown = defuse(text)
    assert not any(looks_like_a_command(line) for line in shown.split("\n"))
    assert "\r" not in shown


def test_defuse_keeps_ordinary_text_as_it_is():
    assert defuse("round 1/3  parse (12 s left)\nsecond line") == \
        "round 1/3  parse (12 s left)\nsecond line"
    assert defuse("a::b") == "a::b"


def test_log_lines_are_defused_even_with_leading_blanks():
    stream = io.StringIO()
    WorkflowCommands(stream).log("worker said:\n  ::error::not from us\n##[warning]x")
    assert not any(looks_like_a_command(line) for line in stream.getvalue().splitlines())
    assert "worker said:" in stream.getvalue() and "not from us" in stream.getvalue()


def test_credentials_are_the_token_input_github_token_and_the_runners_own():
    for name in ("INPUT_TOKEN", "GITHUB_TOKEN", "GH_TOKEN", "ACTIONS_RUNTIME_TOKEN",
                 "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "input_token"):
        assert is_credential(name), name
    for name in ("PATH", "HOME", "GITHUB_SHA", "ACTIONS_RUNTIME_URL", "NPM_TOKEN",
                 "INPUT_BENCHMARK", "PYTHONPATH"):
        assert not is_credential(name), name
    env = {"PATH": "/bin", "INPUT_TOKEN": "t", "ACTIONS_RUNTIME_TOKEN": "r", "GITHUB_SHA": "s"}
    assert without_credentials(env) == {"PATH": "/bin", "GITHUB_SHA": "s"}


def test_outside_actions_commands_print_as_plain_lines():
    stream = io.StringIO()
    commands = WorkflowCommands(stream, plain=True)
    commands.mask("ghs_secret")
    with commands.group("Benchmarks"):
        commands.log("running")
        commands.warning("slow\n::error::injected", title="Note")
    commands.error("bad")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "== Benchmarks" and "running" in lines
    assert not [line for line in lines if looks_like_a_command(line)]
    assert "ghs_secret" not in stream.getvalue()
    assert any(line.startswith("warning: Note: slow") for line in lines)
    assert lines[-1] == "error: bad"
    assert in_actions({"GITHUB_ACTIONS": "true"}) and not in_actions({})
