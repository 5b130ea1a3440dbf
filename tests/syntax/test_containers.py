"""`:::` containers (VitePress, pandoc fenced divs, MkDocs-style): a titled box on the
sheet, facts inside as anywhere else, and fence lines that are never a reversed fact."""

from __future__ import annotations

import pytest

from exporter.config import BuildConfig
from exporter.model import Kind
from exporter.syntax.containers import parse_info

from ..conftest import parse_clean as clean
from ..conftest import parse_text as parse
from ..conftest import write_note


def body(note) -> str:
    return "\n".join(s.body for s in note.sections)


VITEPRESS = """# Routing

::: tip Worth remembering
OSPF ::: Open Shortest Path First
BGP is a {{path-vector}} protocol.
:::

:::details
Why RIP fell out of use :: its 15-hop limit
:::

::: warning
Plain prose in a box.

- A list item in a box
- Another :: fact in a list
:::

::: danger STOP
Nothing here.
:::
"""


def test_a_vitepress_page_parses_without_a_problem(tmp_path):
    note = clean(tmp_path, VITEPRESS)
    assert [(f.kind, f.plain_question, f.plain_answer, f.line) for f in note.facts] == [
        (Kind.REVERSED, "OSPF", "Open Shortest Path First", 4),
        (Kind.CLOZE, "BGP is a path-vector protocol.", "", 5),
        (Kind.BASIC, "Why RIP fell out of use", "its 15-hop limit", 9),
        (Kind.BASIC, "Another", "fact in a list", 16),
    ]
    html = body(note)
    assert '<div class="container container-tip">' in html
    assert '<div class="container-title">Worth remembering</div>' in html
    assert '<div class="container container-details">' in html
    assert '<div class="container-title">Details</div>' in html
    assert '<div class="container-title">Warning</div>' in html
    assert '<div class="container-title">STOP</div>' in html
    assert ":::" not in html
    # The facts stand inside their boxes.
    tip = html[html.index("container-tip") : html.index("container-details")]
    assert tip.count("<!--fact:") == 2


@pytest.mark.parametrize(
    ("info", "name", "title"),
    [
        (" tip", "tip", "Tip"),
        ("details Click me", "details", "Click me"),
        (" {.note}", "note", "Note"),
        (' {#x .warning title="Careful now"}', "warning", "Careful now"),
        (' note "A quoted title"', "note", "A quoted title"),
        (" Warning :::", "warning", "Warning"),
        (" {#only-an-id}", "", ""),
        (" details Why *this*", "details", "Why *this*"),
    ],
)
def test_names_and_titles(info, name, title):
    box = parse_info(info)
    assert (box.name, box.title) == (name, title)


def test_pandoc_divs_nest_and_close_innermost_first(tmp_path):
    text = (
        ":::: {.columns}\n"
        '::: {.note title="Inner"}\n'
        "Inner fact :: one\n"
        ":::\n"
        "Outer fact :: two\n"
        "::::\n"
        "\n"
        "After :: three\n"
    )
    note = clean(tmp_path, text)
    assert [(f.plain_question, f.line) for f in note.facts] == [
        ("Inner fact", 3),
        ("Outer fact", 5),
        ("After", 8),
    ]
    html = body(note)
    outer = html.index("container-columns")
    inner = html.index("container-note")
    assert outer < inner < html.index("<!--fact:0-->") < html.index("<!--fact:1-->")
    assert html.index("<!--fact:2-->") > html.rindex("</div>\n</div>") - 1


def test_fence_lines_are_never_a_reversed_fact(tmp_path):
    note = clean(tmp_path, "::: tip\n:::\n\n:::details\n\n:::\n")
    assert note.facts == ()


def test_a_colon_fence_inside_code_is_code(tmp_path):
    note = clean(tmp_path, "```\n::: tip\n:::\n```\n")
    assert "container" not in body(note) and "::: tip\n:::" in body(note)


def test_a_title_reads_as_markdown_and_makes_no_fact(tmp_path):
    """`:::details **Chola Dynasty**` is a bold title in VitePress; real UPSC notes use it
    on every page. Raw HTML in a title is sanitised like any other."""
    note = clean(
        tmp_path, "::: tip **Chola** *period* <script>x()</script> & {{no}} #tag\nx\n:::\n"
    )
    html = body(note)
    title = html[html.index('<div class="container-title">') :].split("</div>")[0]
    assert "<strong>Chola</strong> <em>period</em>" in title
    assert "<script" not in html and "**" not in title
    assert note.facts == ()


def test_an_unclosed_container_is_a_warning_and_stays_text(tmp_path):
    note, diags = parse(tmp_path, "# T\n\n::: tip Title\n\nbody\n")
    assert [(d.line, d.severity.value, d.message) for d in diags] == [
        (3, "warning", "'::: tip Title' opens a container that is never closed"),
        (3, "error", "empty question before '::'"),  # the line is what it was before
    ]
    assert note.facts == ()


def test_a_separator_line_under_its_question_is_a_fact_not_a_container(tmp_path):
    """docs/syntax.md: a line that starts with its separator takes its question from the
    line above. Unclosed, it is that fact, with no warning (it builds under --strict)."""
    note, diags = parse(tmp_path, "# T\n\nKABIL\n::: Khanij Bidesh India Ltd\n")
    assert diags == []
    (fact,) = note.facts
    assert (fact.kind, fact.question, fact.answer) == (
        Kind.REVERSED,
        "KABIL",
        "Khanij Bidesh India Ltd",
    )


def test_a_closing_fence_without_a_container_is_a_warning(tmp_path):
    note, diags = parse(tmp_path, "# T\n\nprose\n\n:::\n")
    assert [(d.line, d.severity.value, d.message) for d in diags] == [
        (5, "warning", "':::' closes no container")
    ]
    assert note.facts == ()


def test_deep_nesting_is_bounded(tmp_path):
    depth = 12
    text = "".join(f"::: n{i}\n" for i in range(depth)) + "Q :: A\n" + ":::\n" * depth
    note, diags = parse(tmp_path, text)
    assert len(note.facts) == 1
    assert body(note).count('class="container ') == 8
    assert all(d.severity.value == "warning" for d in diags) and diags


def test_a_long_answer_can_be_a_container(tmp_path):
    note = clean(tmp_path, "Members ::\n\n::: details\n- a\n- b\n:::\n")
    (fact,) = note.facts
    assert fact.kind is Kind.LONG
    assert fact.answer.startswith('<div class="container container-details">')


def test_the_sheet_draws_the_box(tmp_path):
    from exporter.exporters.pdf.renderer import Renderer
    from exporter.reading import load

    notes = tmp_path / "notes"
    write_note(notes, "r.md", VITEPRESS)
    config = BuildConfig(notes=notes, out=tmp_path / "dist")
    deck, diags, _ = load(config)
    assert not diags
    html = Renderer(config, deck).note_html(deck.notes[0], self_test=False)
    assert '<div class="container-title">Worth remembering</div>' in html
    assert 'class="fact fact-reversed"' in html
    css = (config.styles / "sheet.css").read_text(encoding="utf-8")
    assert ".container {" in css and ".container-title {" in css
