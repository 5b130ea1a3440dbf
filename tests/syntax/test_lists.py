"""Lists and tables as CommonMark, GitHub and Obsidian read them (syntax/lists.py): lists
under a paragraph line, nesting by each list's own content column, `1)`, tables and code
directly under a fact line or list item; and a structural comparison with markdown-it-py,
the CommonMark reference, on every ordinary-Markdown fixture."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from exporter.model import Kind
from exporter.sources import read_source
from exporter.syntax import parse_note
from exporter.syntax.lists import normalise

from ..conftest import FIXTURES, parse_clean
from ..conftest import parse_text as parse

REAL = FIXTURES / "real"


def body(note) -> str:
    return "\n".join(s.body for s in note.sections)


def qa(note) -> list[tuple[Kind, str, str]]:
    return [(f.kind, f.question, f.answer) for f in note.facts]


# ------------------------------------------------------------------ structure counts

STRUCTURES = ("li", "table", "pre", "blockquote")


def our_counts(note) -> dict[str, int]:
    """Counted in the sections' bodies and in the facts' HTML (a body holds a slot where a
    fact stood)."""
    html = "\n".join([body(note)] + [f"{f.question}\n{f.answer}" for f in note.facts])
    return {tag: len(re.findall(rf"<{tag}[\s>]", html)) for tag in STRUCTURES}


def commonmark_counts(text: str) -> dict[str, int]:
    kinds = {
        "list_item_open": "li",
        "table_open": "table",
        "fence": "pre",
        "code_block": "pre",
        "blockquote_open": "blockquote",
    }
    counts = dict.fromkeys(STRUCTURES, 0)
    for token in MarkdownIt("commonmark").enable("table").parse(text):
        if token.type in kinds:
            counts[kinds[token.type]] += 1
    return counts


def without_front_matter(text: str) -> str:
    """Front matter is not Markdown: blank it out (keeping the line count)."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end >= 0:
            return "\n" * text[: end + 5].count("\n") + text[end + 5 :]
    return text


# Obsidian's dialect (callouts, wikilinks, comments, highlights) is not CommonMark: notes
# written in it are compared elsewhere.
DIALECT = ("[[", "> [!", "%%", "==")


def ordinary_fixtures() -> list[Path]:
    found = []
    for path in sorted(FIXTURES.rglob("*.md")):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if not any(mark in text for mark in DIALECT):
            found.append(path)
    return found


@pytest.mark.parametrize(
    "path", ordinary_fixtures(), ids=lambda p: p.relative_to(FIXTURES).as_posix()
)
def test_fixture_structure_matches_commonmark(path):
    source, _ = read_source(path.parent, path)
    assert source is not None
    note, _ = parse_note(source, path.parent)
    expected = commonmark_counts(without_front_matter(path.read_text(encoding="utf-8")))
    assert our_counts(note) == expected


def test_the_new_fixtures_are_compared():
    names = {p.name for p in ordinary_fixtures()}
    assert {"gfm-readme.md", "upsc-bold-lines.md"} <= names


SNIPPETS = {
    "list under a line": "Intro\n- a\n- b\n",
    "numbered list under a line": "Intro\n1. a\n2. b\n",
    "2. cannot interrupt a line": "Intro\n2. a\n3. b\n",
    "2. under an item's line is text": "- a\n  2. b\n",
    "list of the other kind ends a list": "- a\n- b\n1. c\n2. d\n",
    "1) list": "1) a\n2) b\n   1) c\n",
    "three-space content column": "1. a\n   - b\n   - c\n\n   more\n2. d\n",
    "four-space nesting": "- a\n    - b\n        - c\n",
    "mixed nesting in one file": "- a\n    - b\n\n1. c\n   - d\n     - e\n",
    "ten. has a four-space column": "10. a\n    - b\n11. c\n",
    "table under a line": "Q ::\n| a | b |\n| --- | --- |\n| 1 | 2 |\n",
    "table indented under a line": "Q ::\n   | a | b |\n   | --- | --- |\n   | 1 | 2 |\n",
    "table under an item": "- Q ::\n  | a | b |\n  | --- | --- |\n  | 1 | 2 |\n- next\n",
    "lazy table line stays text": "- a\n| x | y |\n| --- | --- |\n",
    "fence in a tight item": "1. a\n   ```sh\n   x\n     y\n   ```\n2. b\n",
    "fence in a loose item": "- a\n\n  ```\n  x\n  ```\n\n- b\n",
    "quote under an item": "- a\n  > quoted\n- b\n",
    "four spaces under a line is text": "p\n    - x\n",
    "indented code after a blank": "p\n\n    code\n",
    "thematic break is no item": "- a\n\n* * *\n\n- b\n",
    "lazy continuation": "- a\nlazy\n- b\n",
}


@pytest.mark.parametrize("text", SNIPPETS.values(), ids=SNIPPETS.keys())
def test_snippet_structure_matches_commonmark(tmp_path, text):
    note, _ = parse(tmp_path, text)
    assert our_counts(note) == commonmark_counts(text)


# ------------------------------------------------------------------ lists under a line


def test_a_list_directly_under_a_line_is_a_list(tmp_path):
    note = parse_clean(tmp_path, "Intro line\n- first\n- second\n")
    assert "<p>Intro line</p>\n<ul>\n<li>first</li>\n<li>second</li>\n</ul>" in body(note)


def test_one_fact_in_a_list_under_a_line_is_one_card_not_the_block(tmp_path):
    text = "Some prose about the topic.\n- Capital of India :: New Delhi\n- more prose\n"
    note = parse_clean(tmp_path, text)
    assert qa(note) == [(Kind.BASIC, "Capital of India", "New Delhi")]
    assert note.facts[0].line == 2 and note.facts[0].col == 3
    assert "<p>Some prose about the topic.</p>" in body(note)
    assert "<li>more prose</li>" in body(note)


def test_a_long_answer_list_directly_under_its_line(tmp_path):
    note = parse_clean(tmp_path, "Pillars of TRUST ::\n- Defence\n- Technology\n")
    assert qa(note) == [
        (Kind.LONG, "Pillars of TRUST", "<ul><li>Defence</li><li>Technology</li></ul>")
    ]


def test_two_cannot_start_a_list_under_a_line(tmp_path):
    note = parse_clean(tmp_path, "Scored\n2. out of ten\n")
    assert "<ol" not in body(note)


# ------------------------------------------------------------------ nesting


def test_a_long_answer_nests_by_the_items_own_content_column(tmp_path):
    text = (
        "- Four-space list ::\n    - a1\n    - a2\n\n"
        "1. Three-space list ::\n\n   | x | y |\n   | --- | --- |\n   | 1 | 2 |\n"
    )
    note = parse_clean(tmp_path, text)
    assert [f.kind for f in note.facts] == [Kind.LONG, Kind.LONG]
    assert note.facts[0].answer == "<ul><li>a1</li><li>a2</li></ul>"
    assert note.facts[1].answer.startswith("<table>")


def test_a_three_space_column_and_a_four_space_list_in_one_file(tmp_path):
    text = "1. Steps ::\n   - one\n   - two\n\n- Other ::\n    - three\n        - four\n"
    note = parse_clean(tmp_path, text)
    assert qa(note) == [
        (Kind.LONG, "Steps", "<ul><li>one</li><li>two</li></ul>"),
        (Kind.LONG, "Other", "<ul><li>three<ul><li>four</li></ul></li></ul>"),
    ]


def test_fenced_code_in_an_item_keeps_its_inner_indent(tmp_path):
    # The four-space list first: the parser used to nest the whole file by 4 then.
    text = (
        "- Other\n    - nested\n\n"
        "1. Install ::\n   ```sh\n   pip install x\n     # indented\n   ```\n2. Use it\n"
    )
    note = parse_clean(tmp_path, text)
    (fact,) = note.facts
    assert fact.kind is Kind.LONG
    assert "pip install x\n  # indented" in re.sub(r"<[^>]+>", "", fact.answer)  # highlighted
    assert "<li>Use it</li>" in body(note) and "<li>nested</li>" in body(note)


# ------------------------------------------------------------------ `1)`


def test_paren_numbers_are_an_ordered_list(tmp_path):
    note = parse_clean(tmp_path, "3) three\n4) four\n")
    assert '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>' in body(note)


def test_a_fact_in_a_paren_list(tmp_path):
    note = parse_clean(tmp_path, "1) Capital of Kerala :: Thiruvananthapuram\n")
    assert qa(note) == [(Kind.BASIC, "Capital of Kerala", "Thiruvananthapuram")]
    assert (note.facts[0].line, note.facts[0].col) == (1, 4)


# ------------------------------------------------------------------ tables


@pytest.mark.parametrize("indent", [0, 1, 2, 3])
@pytest.mark.parametrize("blank", ["", "\n"], ids=["direct", "after-blank"])
def test_a_table_under_a_fact_line_at_any_commonmark_indent(tmp_path, indent, blank):
    pad = " " * indent
    rows = f"{pad}| a | b |\n{pad}| --- | --- |\n{pad}| 1 | 2 |\n"
    # A list indented by 2 elsewhere in the file made the parser nest by 2 before.
    text = f"- x\n  - y\n\nTable answer ::\n{blank}{rows}"
    note = parse_clean(tmp_path, text)
    (fact,) = note.facts
    assert fact.kind is Kind.LONG and fact.answer.startswith("<table>")


def test_a_table_directly_under_a_list_item(tmp_path):
    text = "- Houses ::\n  | house | seats |\n  | --- | --- |\n  | Lok Sabha | 543 |\n- after\n"
    note = parse_clean(tmp_path, text)
    (fact,) = note.facts
    assert fact.kind is Kind.LONG and "<td>Lok Sabha</td>" in fact.answer
    assert "<li>after</li>" in body(note)


# ------------------------------------------------------------------ positions


def test_errors_keep_their_source_line_and_column(tmp_path):
    text = "Intro\n- a\n1. Steps\n   - Broken {{cloze\n   - Empty ::\n"
    _, diags = parse(tmp_path, text)
    found = sorted((d.line, d.col, d.message) for d in diags)
    assert [(line, col) for line, col, _ in found] == [(4, 13), (5, 12)], found


def test_facts_in_nested_lists_keep_their_lines(tmp_path):
    text = "Intro\n1. Step\n   - Q one :: A\n     - Q two :: B\n2) skipped\n"
    note = parse_clean(tmp_path, text)
    assert [(f.question, f.line, f.col) for f in note.facts] == [
        ("Q one", 3, 6),
        ("Q two", 4, 8),
    ]


def test_normalise_keeps_every_line_and_reindents_by_depth():
    lines = ["Intro", "1. a", "   - b", "     c", "   ```", "     x", "   ```", "2) d", "", "e"]
    out = normalise(lines)
    assert len(out) == len(lines)
    assert out == ["Intro", "1. a", "    - b", "        c", "    ```", "      x", "    ```",
                   "2. d", "", "e"]  # fmt: skip


def test_absurdly_deep_nesting_is_capped_not_a_crash(tmp_path):
    # The parser nests 64 levels (then siblings); past 50 elements deep (25 levels of
    # `ul` and `li`) the HTML is flattened, with a warning: deeper crashed the sheet.
    text = "".join("  " * i + f"- level {i}\n" for i in range(300))
    note, diags = parse(tmp_path, text)
    assert [(d.line, d.col, d.severity.value) for d in diags] == [(26, 53, "warning")]
    assert body(note).count("<li>") == 25
    assert all(f"level {i}" in body(note) for i in range(300))


def test_normalise_escapes_a_number_that_is_paragraph_text_in_an_item():
    assert normalise(["- a", "  2. b"]) == ["- a", "    2\\. b"]


# ------------------------------------------------------------------ the real-note fixtures


def fixture_note(name: str):
    path = REAL / name
    source, diags = read_source(REAL, path)
    assert source is not None
    note, more = parse_note(source, REAL)
    assert not diags + more, [d.format() for d in diags + more]
    return note


def test_gfm_readme_facts():
    note = fixture_note("gfm-readme.md")
    assert qa(note) == [
        (Kind.BASIC, "Command that lists the changed files", "<code>git status</code>"),
        (Kind.REVERSED, "Command that records the staged changes", "<code>git commit</code>"),
        (Kind.CLOZE, "The staging area is also called the index.", ""),
        (
            Kind.LONG,
            "Steps of a release",
            "<ol><li>tag the commit</li><li>push the tag</li><li>publish the deck</li></ol>",
        ),
        (Kind.CLOZE, "Git was first released in 2005.", ""),
        (Kind.BASIC, "Default branch of a new GitHub repository", "<code>main</code>"),
    ]
    html = body(note)
    assert "<p>A README for the notes repository" in html
    assert "<li>on Windows, with the official installer</li>" in html
    assert "  # an indented comment stays indented" in re.sub(r"<[^>]+>", "", html)
    assert "<li>run the checks</li>" in html


def test_upsc_bold_lines_facts_and_prose():
    note = fixture_note("upsc-bold-lines.md")
    assert [(k, q) for k, q, _ in qa(note)] == [
        (Kind.BASIC, "Amendment that added the Fundamental Duties"),
        (Kind.REVERSED, "Committee that recommended the duties"),
        (Kind.CLOZE, "The Fundamental Duties are in Article 51A."),
        (Kind.BASIC, "Number of Fundamental Duties today"),
        (Kind.LONG, "Duties of a citizen under Article 51A (a selection)"),
        (Kind.LONG, "Duties by the amendment that added them"),
    ]
    answers = [a for _, _, a in qa(note)]
    assert answers[0] == "42nd (1976)" and answers[3] == "eleven"
    assert answers[4].startswith("<ul><li>abide by the Constitution")
    assert answers[4].count("<li>") == 3
    assert answers[5].startswith("<table>") and "<td>86th</td>" in answers[5]
    html = body(note)
    for bold in ("Key features", "Duties added later", "Sources", "Committees on duties"):
        assert f"<p><strong>{bold}</strong></p>\n<ul>" in html
    assert "<li>not enforceable by a court</li>" in html
    assert all("Key features" not in f.question + f.answer for f in note.facts)
