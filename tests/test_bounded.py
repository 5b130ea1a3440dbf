"""The bounded stages read what Python-Markdown reads: the same HTML for real links and
for long, markup-dense texts. (Their speed is measured by `python -m bench.pathological`,
not timed here.)"""

from __future__ import annotations

import markdown
import pytest

from exporter.syntax import bounded, parse_note

from .conftest import write_note

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
    "x <b>y</b> <a href=\"u\">z</a> a < b > c",
    "[not a link] (u) and [dangling",
]


@pytest.mark.parametrize("text", LINKS)
def test_links_read_as_python_markdown_reads_them(text):
    plain, bound = markdown.Markdown(), markdown.Markdown()
    bounded.register(bound)
    assert bound.convert(text) == plain.convert(text)


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
