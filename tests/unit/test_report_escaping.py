"""Hostile names cannot break a table, inject HTML or Markdown, or mention anyone.

The rendered Markdown is parsed with a GFM table parser (markdown-it-py with
the table extension) and checked cell by cell.
"""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt
from test_report_cases import make_comparison, make_context, make_delta

from perfaction.analysis.comparison import Delta, Summary, Verdict
from perfaction.report import markdown
from perfaction.report.context import COMMENT_MARKER, BaselineInfo
from perfaction.report.markdown import NAME_LIMIT, clean_text, link_url, md_code, md_text, mermaid_label
from perfaction.report.render import make_environment, render_comment, render_summary, render_terminal

HOSTILE = [
    "a|b <script>`x`</script>",
    "line1\nline2\r\n| --- | --- |",
    "``` fence\n# heading",
    "[click](https://evil.com)",
    "**bold** _em_ ~~strike~~ $x^2$",
    "@octocat please review",
    "<!-- perf-regression-action:comment -->",
    "back\\slash\\|pipe\\",
    "- list\n1. item",
    " spaced ",
    "`",
    "\u202eevil\u202c \x1b[31mred\x1b[0m",
    "<img src=x onerror=alert(1)>",
    "x" * 500,
]
OUR_LINK_PREFIX = "https://github.com/octo/widgets/"


def hostile_comparison():
    deltas = []
    for index, name in enumerate(HOSTILE):
        verdict = Verdict.REGRESSED if index % 3 == 0 else Verdict.UNCHANGED
        deltas.append(make_delta(name, "time", verdict, change=0.09 if verdict is Verdict.REGRESSED else 0.0,
                                 reason=f"reason for {name}"))
        deltas.append(make_delta(name, f"metric {name}", verdict, unit="ms|<b>x</b>",
                                 change=0.2 if verdict is Verdict.REGRESSED else 0.001))
    deltas.append(Delta("only|new\n<b>", "time", "s", "lower", Verdict.NEW, head=Summary(1e-3, 20, 0.01)))
    return make_comparison(deltas, notes=tuple(f"note: {n}" for n in HOSTILE[:4]))


def hostile_context():
    baseline = BaselineInfo(source="artifact", artifact_name="art|<b>`x`", artifact_id=1, run_id=2,
                            run_url="javascript:alert(1)", commit="not-a-sha <b>", ref="main|<i>")
    return make_context(baseline=baseline, label="label | <b>", run_url="https://evil.com/(x)",
                        notes=("@octocat see [here](https://evil.com)",),
                        history={HOSTILE[0]: [("a\"]\n```", 1e-4)]})


def parse(text):
    return MarkdownIt("commonmark").enable("table").parse(text)


def tables(tokens):
    """Each table as a list of rows; each row a list of cells; a cell a list of inline children."""
    found, rows, row = [], None, None
    for index, token in enumerate(tokens):
        if token.type == "table_open":
            rows = []
        elif token.type == "tr_open":
            row = []
        elif token.type in ("th_open", "td_open"):
            row.append(tokens[index + 1].children or [])
        elif token.type == "tr_close":
            rows.append(row)
        elif token.type == "table_close":
            found.append(rows)
    return found


def inline_text(children):
    """The text a reader sees (zero-width spaces that defuse mentions and autolinks are invisible)."""
    return "".join(c.content for c in children
                   if c.type in ("text", "code_inline")).replace("\u200b", "")


def all_children(tokens):
    for token in tokens:
        yield token
        yield from token.children or ()


@pytest.mark.parametrize("render", [render_comment, render_summary])
def test_tables_keep_their_shape_and_names_survive_literally(render):
    text = render(hostile_comparison(), hostile_context())
    found = tables(parse(text))
    assert len(found) == 2 if render is render_comment else 3  # summary adds the environment
    main, unchanged = found[0], found[1]
    for table in (main, unchanged):
        assert len({len(row) for row in table}) == 1, "a row has a different number of cells"
    assert len(main) - 1 == 2 * 5          # 5 regressed names x 2 metrics
    assert len(unchanged) - 1 == 2 * 9 + 1  # folded: 9 unchanged x 2 metrics, and the new benchmark
    shown_names = [row[1] for row in main[1:] + unchanged[1:] if row[1]]
    for children in shown_names:
        assert [c.type for c in children] == ["code_inline"]
    expected = {clean_text(n, NAME_LIMIT) for n in HOSTILE} | {clean_text("only|new\n<b>")}
    assert {children[0].content.replace("<\u200b!--", "<!--") for children in shown_names} == expected


def test_metric_names_units_and_reasons_are_literal_text():
    text = render_comment(hostile_comparison(), hostile_context())
    main = tables(parse(text))[0]
    metrics = {inline_text(row[2]) for row in main[1:]}
    assert clean_text("metric [click](https://evil.com)", 60).strip() in metrics
    assert any("ms|<b>x</b>" in inline_text(row[3]) for row in main[1:])
    assert any(inline_text(row[6]) == "reason for a|b <script>`x`</script>" for row in main[1:])
    assert any(inline_text(row[6]) == "reason for <img src=x onerror=alert(1)>" for row in main[1:])


def test_no_html_link_or_emphasis_comes_from_user_data():
    text = render_comment(hostile_comparison(), hostile_context())
    tokens = list(all_children(parse(text)))
    html = [t.content.strip() for t in tokens if t.type in ("html_inline", "html_block")]
    allowed_inline = {"<sub>", "</sub>", "<br>"}
    for chunk in html:
        assert chunk in allowed_inline or chunk == COMMENT_MARKER \
            or chunk.startswith("<details><summary>") or chunk == "</details>", chunk
    assert sum(chunk == COMMENT_MARKER for chunk in html) == 1
    assert text.count(COMMENT_MARKER) == 1   # a hostile name cannot fake the marker
    hrefs = [t.attrs["href"] for t in tokens if t.type == "link_open"]
    assert hrefs and all(h.startswith(OUR_LINK_PREFIX) or h == "https://evil.com/%28x%29" for h in hrefs)
    strong = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "strong_open"]
    assert all(s.startswith("+") or s.endswith("regressed") or s.startswith("The baseline") for s in strong)
    assert not [t for t in tokens if t.type in ("em_open", "s_open", "image", "heading_open")
                and t.markup not in ("##", "###")]


def test_mentions_are_broken_outside_code():
    text = render_comment(hostile_comparison(), hostile_context())
    outside_code = [t.content for t in all_children(parse(text)) if t.type == "text"]
    assert not any("@octocat" in chunk for chunk in outside_code)


def test_javascript_url_is_not_linked_and_odd_urls_are_encoded():
    assert link_url("javascript:alert(1)") is None
    assert link_url("https://x.example/a b(c)<d>") == "https://x.example/a%20b%28c%29%3Cd%3E"
    assert link_url(None) is None


def test_mermaid_chart_stays_inside_its_fence():
    text = render_comment(hostile_comparison(), hostile_context())
    fences = [t for t in parse(text) if t.type == "fence"]
    assert [f.info for f in fences] == ["mermaid"]
    lines = fences[0].content.splitlines()
    assert len(lines) == 5 and lines[0] == "xychart-beta"
    assert lines[2] == '    x-axis ["a__ ___", "this run"]'
    assert mermaid_label('a"b\n`c`;%') == '"a_b _c___"'
    # a title keeps a parametrised name readable; a list item does not take brackets
    assert mermaid_label("sort_users[size=100]: time", title=True) == '"sort_users[size=100]: time"'
    assert mermaid_label("a[b]") == '"a_b_"'


def test_terminal_output_has_no_escape_sequences_and_one_line_per_row():
    text = render_terminal(hostile_comparison(), hostile_context())
    assert "\x1b" not in text and "\u202e" not in text and "\r" not in text
    assert sum(line.lstrip().startswith("REGRESSED") for line in text.splitlines()) == 10


@pytest.mark.parametrize("raw, escaped", [
    ("a|b", "a\\|b"),
    ("<script>", "&lt;script&gt;"),
    ("[x](y)", "\\[x\\](y)"),
    ("**x** `y` ~z~ $m$", "\\*\\*x\\*\\* \\`y\\` \\~z\\~ \\$m\\$"),
    ("peak_memory _x_", "peak_memory \\_x\\_"),
    ("# title", "\\# title"),
    ("- item", "\\- item"),
    ("12. item", "12\\. item"),
    ("+5.5 %", "+5.5 %"),
    ("1.23 ms", "1.23 ms"),
    ("a\nb\tc", "a b c"),
    ("@team", "@\u200bteam"),
    ("a & b", "a &amp; b"),
    # GFM would autolink these; a zero-width space breaks the pattern
    ("fetch http://evil.com/x failed", "fetch http:\u200b//evil.com/x failed"),
    ("see www.evil.com", "see w\u200bww.evil.com"),
])
def test_md_text(raw, escaped):
    assert md_text(raw) == escaped


@pytest.mark.parametrize("raw, table, code", [
    ("plain", False, "`plain`"),
    ("a`b", False, "``a`b``"),
    ("`x`", False, "`` `x` ``"),
    ("a|b", True, "`a\\|b`"),
    ("a|b", False, "`a|b`"),
    ("<!-- m -->", False, "`<\u200b!-- m -->`"),
])
def test_md_code(raw, table, code):
    assert md_code(raw, table=table) == code


def test_long_names_are_cut_with_an_ellipsis():
    assert clean_text("x" * 500, 200) == "x" * 199 + "…"


def test_report_and_its_environment_use_the_escapers_of_markdown_py():
    env = make_environment()
    assert {name: env.filters[name] for name in markdown.FILTERS} == markdown.FILTERS
    assert env.finalize is markdown.refuse_unescaped


def test_pad_takes_only_escaped_text():
    assert markdown.pad(markdown.plain_text("ab"), 4, right=True) == "  ab"
    assert markdown.count(4632) == "4,632"
    with pytest.raises(TypeError, match="pad takes escaped text"):
        markdown.pad("ab", 4)  # type: ignore[arg-type]


LINK_BAIT = ["_www.evil.com/login", "see www.evil.com now", "(www.evil.com)",
             "~www.evil.com", "*www.evil.com*", "http://evil.com/x",
             "mail me at someone@evil.com", "https://evil.com"]


@pytest.mark.parametrize("text", LINK_BAIT)
def test_no_text_from_the_project_renders_as_a_link_under_gfm_autolinks(text):
    # cmark-gfm is the renderer GitHub runs; its autolink extension links www., URLs, emails
    import cmarkgfm
    assert "<a " in cmarkgfm.github_flavored_markdown_to_html(text)      # the bait is real
    assert "<a " not in cmarkgfm.github_flavored_markdown_to_html(str(md_text(text)))


def test_issue_references_in_messages_do_not_point_at_issues():
    text = str(md_text("fails since #123, see owner/repo#7 and GH-5"))
    assert "#123" not in text and "repo#7" not in text and "GH-5" not in text
    assert text.replace("\u200b", "") == "fails since #123, see owner/repo#7 and GH-5"
