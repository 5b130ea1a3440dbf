"""The bounded stages read what Python-Markdown reads: the same HTML for real links and
for long, markup-dense texts. (Their speed is measured by `python -m bench.pathological`,
not timed here.)"""

from __future__ import annotations

import markdown
import pytest

from exporter.syntax import bounded, parse_note

from .conftest import parse_text, write_note

LINKS = [
    '[a](http://x.org/a_(b) "T (x)")',
    "[a [b] c](u)",
    "[[a]](b)",
    '![i](p.png "t")',
    '[a](<u v> "t")',
    "[a](u 'q')",
    "[x]: http://y\n\n[x] and [t][x] and [x][]",
    "[a](u(v(w)))",
    '[a](u "t" )',
    "[a]( u )",
    '![a](b) [c](d "e")',
    'x <b>y</b> <a href="u">z</a> a < b > c',
    "[not a link] (u) and [dangling",
]


@pytest.mark.parametrize("text", LINKS)
def test_links_read_as_python_markdown_reads_them(text):
    plain, bound = markdown.Markdown(), markdown.Markdown()
    bounded.register(bound)
    assert bound.convert(text) == plain.convert(text)


@pytest.mark.slow
def test_a_long_dense_text_reads_the_same_in_pieces():
    text = " ".join(f"*w{i}* [l{i}](u{i}) `c{i}` &amp; x{i}" for i in range(400))
    assert len(text) > bounded.CHUNK
    plain, bound = markdown.Markdown(), markdown.Markdown()
    bounded.register(bound)
    assert bound.convert(text) == plain.convert(text)
    assert len(bounded.pieces(text)) > 1


def test_a_block_of_unclosed_tags_is_text():
    md = markdown.Markdown()
    bounded.register(md)
    html = md.convert("x " + "<a " * 100)
    assert html.startswith("<p>x &lt;a &lt;a ")


def test_a_cloze_in_a_hint_is_an_error_at_its_line(tmp_path):
    from exporter.sources import read_source

    path = write_note(tmp_path, "n.md", "# N\n\n- A {{c1::a::{{c2::b}}}} here\n")
    source, _ = read_source(tmp_path, path)
    _, diags = parse_note(source, tmp_path)
    found = [(d.line, d.message) for d in diags if d.is_error]
    assert (3, "a cloze inside another cloze or its hint at '{{c1::a::'") in found


# ------------------------------------------------------------------ nesting

DEEP = {
    # name: (note text, line and column of the warning)
    "blockquotes": ("# N\n\n" + "> " * 160 + "text\n\n- quotes :: a\n", (3, 321)),
    "divs": ("# N\n\n" + "<div>" * 250 + "text" + "</div>" * 250 + "\n\n- divs :: a\n", (3, 1251)),
    "list": ("# N\n\n" + "".join("  " * i + f"- item {i}\n" for i in range(60)) + "\n", (28, 53)),
}


def depth_of(fragment: str) -> int:
    """How deep elements nest in a fragment (void elements and comments aside)."""
    import re

    depth = deepest = 0
    for m in re.finditer(r"<(/?)([A-Za-z][\w-]*)[^>]*>", fragment):
        if m.group(2) in ("br", "img", "hr", "wbr"):
            continue
        depth += -1 if m.group(1) else 1
        deepest = max(deepest, depth)
    return deepest


@pytest.mark.parametrize("name", DEEP)
def test_deep_nesting_is_flattened_with_one_warning_at_its_line(tmp_path, name):
    from exporter.syntax.sanitise import MAX_NESTING

    text, place = DEEP[name]
    note, diags = parse_text(tmp_path, text)
    assert [(d.line, d.col, d.severity.value) for d in diags] == [(*place, "warning")]
    assert f"nested more than {MAX_NESTING} levels deep" in diags[0].message
    body = "".join(s.body for s in note.sections)
    assert depth_of(body) == MAX_NESTING
    assert "text" in body or "item 59" in body  # the deepest text is kept


@pytest.mark.slow
def test_limit_nesting_unwraps_only_what_is_too_deep():
    from exporter.syntax.sanitise import limit_nesting

    shallow = "<div><p>a <b>b</b></p></div>"
    assert limit_nesting(shallow, 3) == (shallow, None)
    mark = '<x-mark data-kind="math">y<b>z</b></x-mark>'  # kept whole, however deep
    html, first = limit_nesting("<div>" * 4 + f"<p>x &amp; {mark}</p>" + "</div>" * 4, 3)
    assert html == f"<div><div><div>  x &amp; {mark}  </div></div></div>"
    assert first == "x &"
    # Any depth, in one pass: 100,000 levels are no problem.
    html, first = limit_nesting("<span>" * 100_000 + "t" + "</span>" * 100_000, 2)
    assert html == "<span><span>t</span></span>" and first == "t"


@pytest.mark.slow
def test_a_deeply_nested_note_builds_deck_and_sheet_with_a_warning_each(tmp_path):
    """WeasyPrint styles and lays out the sheet recursively: 160 nested blockquotes or 250
    nested divs were a RecursionError. Cards and sheet now get the flattened HTML."""
    from .conftest import run_build

    notes = tmp_path / "notes"
    for name, (text, _) in DEEP.items():
        write_note(notes, f"{name}.md", text)
    result = run_build(notes, tmp_path / "dist", workers=1)
    assert result.ok, [d.format() for d in result.diagnostics]
    warned = sorted((d.path.rsplit("/", 1)[-1], d.line) for d in result.diagnostics)
    assert warned == [("blockquotes.md", 3), ("divs.md", 3), ("list.md", 28)]
    assert {p.name for p in (tmp_path / "dist").glob("notes.*")} == {"notes.pdf", "notes.apkg"}
