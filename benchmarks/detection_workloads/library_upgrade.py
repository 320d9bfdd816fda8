"""Real libraries, for comparing two versions of them (benchmarks/instruction_mode.py
libraries): the same module, measured by two interpreters whose environments hold
markdown 3.3.7 / 3.7 and pyparsing 2.4.7 / 3.1.2."""

import markdown
import pyparsing as pp

from perfaction import benchmark

DOCUMENT = "\n\n".join(
    f"## Part {i}\n\nText with *emphasis*, **strong words**, `code` and a [link](https://x/{i}).\n\n"
    f"- first point\n- second point, _slanted_\n- third point\n\n> quoted line {i}\n\n"
    "    indented code\n    more code\n"
    for i in range(20))

CSV_LINE = ", ".join(f'"field {i}", {i * 3}, {i * 0.5}' for i in range(12))


@benchmark
def markdown_convert():
    converter = markdown.Markdown()
    return lambda: converter.reset().convert(DOCUMENT)


@benchmark
def pyparsing_arith():
    number = pp.Word(pp.nums).setParseAction(lambda t: int(t[0]))
    name = pp.Word(pp.alphas, exact=1)
    grammar = pp.infixNotation(number | name, [
        (pp.oneOf("* /"), 2, pp.opAssoc.LEFT),
        (pp.oneOf("+ -"), 2, pp.opAssoc.LEFT),
    ])
    text = "3 + 4 * (2 - x) / 7 - y * 9 + (1 + 2) * (3 - z)"
    return lambda: grammar.parseString(text)


@benchmark
def pyparsing_csv():
    value = pp.QuotedString('"') | pp.pyparsing_common.number
    line = pp.delimitedList(value)
    return lambda: line.parseString(CSV_LINE)
