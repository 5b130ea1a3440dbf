"""Code blocks: a language Pygments knows is highlighted with classes (styled by the
cards' and the sheet's CSS); no language, `text`, an unknown language and an indented
block stay plain, as written before highlighting existed; code never holds markers."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.model import Kind
from exporter.syntax.code import card_code_css, highlights, is_code_html

from ..conftest import (
    REPO,
    copy_fixture,
    import_apkg,
    parse_clean,
    pdf_text,
    run_build,
    write_note,
)


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


# A fence with attributes, as the prose takes it: a title, line numbers, an id and a class.
ATTRIBUTED_FENCES = ['python title="a.py"', 'python linenums="1"', "{.python #id .class}"]
READ = 'print(open("a.py").read())'
# The question line and its block: under a blank line, directly under, in a tight list
# item, in a loose one.
LAYOUTS = {
    "blank line": "Reading a file ::\n\n```{info}\n{code}\n```\n",
    "directly under": "Reading a file ::\n```{info}\n{code}\n```\n",
    "tight item": "- Reading a file ::\n  ```{info}\n  {code}\n  ```\n",
    "loose item": "- Reading a file ::\n\n  ```{info}\n  {code}\n  ```\n",
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("info", ATTRIBUTED_FENCES)
def test_a_fence_with_attributes_is_a_long_answer(tmp_path, info, layout):
    prose = parse_clean(tmp_path, f"Prose.\n\n```{info}\n{READ}\n```\n", rel="prose.md")
    assert '<span class="nb">print</span>' in prose.sections[0].body
    note = parse_clean(tmp_path, LAYOUTS[layout].format(info=info, code=READ))
    (fact,) = note.facts
    assert fact.kind is Kind.LONG
    assert fact.question == "Reading a file"
    assert 'class="language-python' in fact.answer and " highlight" in fact.answer
    assert '<span class="nb">print</span>' in fact.answer
    assert "read" in fact.plain_answer
    assert "wzxhzdk" not in fact.answer + fact.question


@pytest.mark.parametrize("info", ["python", *ATTRIBUTED_FENCES])
def test_the_self_test_rules_a_line_a_line_of_code_whatever_the_fence(tmp_path, info):
    from exporter.exporters.pdf.page import answer_lines

    code = "\n".join(f"x{n} = {n}" for n in range(5))
    note = parse_clean(tmp_path, f"Five assignments ::\n\n```{info}\n{code}\n```\n")
    (fact,) = note.facts
    assert answer_lines(fact) == 5


def test_what_is_taken_for_code():
    assert is_code_html('<pre class="highlight"><code>x</code></pre>')
    assert is_code_html("\n<pre>raw</pre>")
    assert is_code_html('<div class="language-python highlight"><span class="filename">')
    assert is_code_html('<div id="id" class="language-python class highlight"><pre>')
    assert not is_code_html('<div class="note">raw HTML</div>')
    assert not is_code_html('<div class="highlighted">raw HTML</div>')
    assert not is_code_html("<prefix>")
    assert not is_code_html("<p>text</p>")


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


def answers_by_question(collection, package: Path) -> dict[str, str]:
    """Import `package`; each card's rendered answer by its note's first field."""
    import_apkg(collection, package)
    answers = {}
    for cid in collection.find_cards(""):
        card = collection.get_card(cid)
        answers[card.note().fields[0]] = card.answer()
    return answers


def test_card_shows_highlighted_spans(collection, code_build):
    answers = answers_by_question(collection, code_build / "code.apkg")
    answer = answers["How a function is defined in Python"]
    assert '<pre class="language-python highlight"><code>' in answer
    assert '<span class="k">def</span>' in answer
    assert '<span class="c1"># pi times r squared {{c1::not a cloze}} #not-a-tag</span>' in answer
    assert 'class="language-sh highlight"' in answers["Shell command that lists hidden files"]
    css = collection.models.by_name("Exporter Basic")["css"]
    assert ".card.nightMode .highlight .k" in css


@pytest.fixture(scope="module")
def attributed_build(tmp_path_factory) -> Path:
    """A long answer in each fence with attributes, built to a deck and a sheet."""
    tmp = tmp_path_factory.mktemp("attributed")
    notes = tmp / "fences"
    layouts = [LAYOUTS["directly under"], LAYOUTS["blank line"], LAYOUTS["loose item"]]
    lines = ["# Fences\n"]
    for n, (info, layout) in enumerate(zip(ATTRIBUTED_FENCES, layouts, strict=True)):
        written = layout.format(info=info, code=f"print(open('f{n}.py').read())")
        lines.append(written.replace("Reading a file", f"Reading file {n}"))
    write_note(notes, "fences.md", "\n".join(lines))
    result = run_build(notes, tmp / "dist", formats=("apkg", "pdf"), strict=True)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.counts[1] == len(ATTRIBUTED_FENCES)
    return tmp / "dist"


def test_a_fence_with_attributes_reaches_the_card_highlighted(collection, attributed_build):
    answers = answers_by_question(collection, attributed_build / "fences.apkg")
    assert len(answers) == len(ATTRIBUTED_FENCES)
    for n in range(len(ATTRIBUTED_FENCES)):
        answer = answers[f"Reading file {n}"]
        assert 'class="language-python' in answer
        assert '<span class="nb">print</span>' in answer
        assert f"f{n}.py" in answer
    assert '<span class="filename">a.py</span>' in answers["Reading file 0"]
    assert 'class="linenos"' in answers["Reading file 1"]


def test_a_fence_with_attributes_prints_on_the_sheet(attributed_build):
    text = pdf_text(attributed_build / "fences.pdf")
    for n in range(len(ATTRIBUTED_FENCES)):
        assert f"Reading file {n}" in text
        assert f"print(open('f{n}.py').read())" in text
    assert "a.py" in text


def test_sheet_prints_the_code_text(code_build):
    text = pdf_text(code_build / "code.pdf")
    assert "def area(radius: float) -> float:" in text
    assert "return 3.14159 * radius ** 2" in text
    assert "ls -la ~ # long format, all files" in text
    assert "└── core.py" in text
