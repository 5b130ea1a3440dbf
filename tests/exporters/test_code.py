"""Code blocks: a language Pygments knows is highlighted with classes (styled by the
cards' and the sheet's CSS); no language, `text`, an unknown language and an indented
block stay plain, as written before highlighting existed; code never holds markers."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.syntax.code import card_code_css, highlights

from ..conftest import REPO, copy_fixture, import_apkg, parse_clean, pdf_text, run_build


def test_a_known_language_is_highlighted_with_classes(tmp_path):
    note = parse_clean(
        tmp_path, "Square in Python ::\n\n```python\ndef sq(x):\n    return x * x\n```\n"
    )
    (fact,) = note.facts
    assert fact.answer.startswith('<pre class="language-python highlight"><code>')
    assert '<span class="k">def</span>' in fact.answer
    assert '<span class="nf">sq</span>' in fact.answer
    assert "style=" not in fact.answer
    assert fact.plain_answer == "def sq(x): return x * x"


@pytest.mark.parametrize(
    ("written", "html"),
    [
        (
            "```text\na <b>\n```",
            '<pre class="highlight"><code class="language-text">a &lt;b&gt;</code></pre>',
        ),
        ("```\nplain\n```", '<pre class="highlight"><code>plain</code></pre>'),
        (
            "```nosuchlang\nx = 1\n```",
            '<pre class="highlight"><code class="language-nosuchlang">x = 1</code></pre>',
        ),
        ("    indented = 1\n", '<pre class="highlight"><code>indented = 1</code></pre>'),
    ],
)
def test_no_language_text_and_unknown_stay_plain_as_before(tmp_path, written, html):
    note = parse_clean(tmp_path, f"Prose.\n\n{written}\n")
    assert html in note.sections[0].body
    assert "<span" not in note.sections[0].body


def test_which_languages_highlight():
    assert highlights("python") and highlights("js") and highlights("bash")
    assert not highlights("") and not highlights("text") and not highlights("txt")
    assert not highlights("nosuchlang")


def test_markers_in_highlighted_code_are_code(tmp_path):
    text = "Prose.\n\n```python\nx = '{{c1::no}}'  # #tag ^id  Q :: A\n```\n"
    note = parse_clean(tmp_path, text)
    assert not note.facts
    body = note.sections[0].body
    assert "{{c1::no}}" in body and "#tag ^id  Q :: A" in body


def test_highlighted_block_under_a_list_item_is_its_answer(tmp_path):
    note = parse_clean(tmp_path, "- List files ::\n  ```sh\n  ls -la\n  ```\n")
    (fact,) = note.facts
    assert fact.question == "List files"
    assert 'class="language-sh highlight"' in fact.answer


def test_card_css_holds_the_current_pygments_styles():
    """`styles/card.css` ends with what `card_code_css()` makes (regenerate it from there
    after a Pygments upgrade or a change of style)."""
    css = (REPO / "styles" / "card.css").read_text(encoding="utf-8")
    generated = card_code_css()
    assert generated in css
    assert ".card.nightMode .highlight .k," in generated
    assert ".card.night_mode .highlight .k " in generated
    assert "background" not in generated


# ---------------------------------------------------------------- the outputs


@pytest.fixture(scope="module")
def code_build(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("code")
    notes = copy_fixture("code", tmp)
    result = run_build(notes, tmp / "dist", formats=("apkg", "pdf"), strict=True)
    assert result.ok, [d.format() for d in result.diagnostics]
    return tmp / "dist"


def test_card_shows_highlighted_spans(collection, code_build):
    import_apkg(collection, code_build / "code.apkg")
    answers = {}
    for cid in collection.find_cards(""):
        card = collection.get_card(cid)
        answers[card.note().fields[0]] = card.answer()
    answer = answers["How a function is defined in Python"]
    assert '<pre class="language-python highlight"><code>' in answer
    assert '<span class="k">def</span>' in answer
    assert '<span class="c1"># pi times r squared {{c1::not a cloze}} #not-a-tag</span>' in answer
    assert 'class="language-sh highlight"' in answers["Shell command that lists hidden files"]
    css = collection.models.by_name("Exporter Basic")["css"]
    assert ".card.nightMode .highlight .k" in css


def test_sheet_prints_the_code_text(code_build):
    text = pdf_text(code_build / "code.pdf")
    assert "def area(radius: float) -> float:" in text
    assert "return 3.14159 * radius ** 2" in text
    assert "ls -la ~ # long format, all files" in text
    assert "└── core.py" in text
