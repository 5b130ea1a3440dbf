"""Math in notes: `$…$`, `\\(…\\)`, `$$…$$`, `\\[…\\]` become math marks holding their TeX;
money, code spans and `\\$` stay text; only `{{cN::…}}` is a cloze inside a formula."""

from __future__ import annotations

from exporter.model import Cloze, Kind, Mark, render_marks
from tests.conftest import parse_clean, parse_text


def marks_of(fragment: str) -> list[Mark]:
    found: list[Mark] = []
    render_marks(fragment, lambda m: found.append(m) or "")
    return found


def body(note) -> str:
    return "".join(s.body for s in note.sections)


def test_inline_and_display_formulas_are_math_marks_with_their_source(tmp_path):
    note = parse_clean(
        tmp_path,
        "Energy $E = mc^2$ and \\(a_1 < b\\), display \\[ \\int_0^1 x\\,dx \\] "
        "and $$\\sum_n n$$ here.\n",
    )
    found = marks_of(body(note))
    assert [(m.kind, m.source, m.attrs["display"]) for m in found] == [
        ("math", "E = mc^2", "inline"),
        ("math", "a_1 < b", "inline"),
        ("math", "\\int_0^1 x\\,dx", "block"),
        ("math", "\\sum_n n", "block"),
    ]
    assert 'data-display="inline" data-kind="math">a_1 &lt; b</x-mark>' in body(note)


def test_nothing_inside_a_formula_is_markdown(tmp_path):
    note = parse_clean(tmp_path, "Sum $a_1 * b_2 * c_{3}$ and $[x](y)$ and $\\#tag$.\n")
    assert [m.source for m in marks_of(body(note))] == ["a_1 * b_2 * c_{3}", "[x](y)", "\\#tag"]
    assert "<em>" not in body(note) and "<a " not in body(note)


def test_money_code_spans_and_escaped_dollars_stay_text(tmp_path):
    note = parse_clean(
        tmp_path, "It costs $5 and $10, or $ 3 $. Code `$x$` stays code; \\$y\\$ is text.\n"
    )
    html = body(note)
    assert "x-mark" not in html
    assert "$5 and $10" in html and "<code>$x$</code>" in html and "$y$ is text" in html


def test_a_display_block_under_a_question_line_is_its_long_answer(tmp_path):
    note = parse_clean(tmp_path, "Gravitation ::\n$$\nF = \\frac{G m_1 m_2}{r^2}\n$$\n")
    (fact,) = note.facts
    assert fact.kind is Kind.LONG and fact.question == "Gravitation"
    (m,) = marks_of(fact.answer)
    assert (m.source, m.attrs["display"]) == ("F = \\frac{G m_1 m_2}{r^2}", "block")


def test_a_separator_inside_a_formula_is_not_one(tmp_path):
    note = parse_clean(tmp_path, "In prose $a :: b$ and $f: A \\to B$ stay one formula.\n")
    assert note.facts == ()
    assert [m.source for m in marks_of(body(note))] == ["a :: b", "f: A \\to B"]


def test_double_braces_in_a_formula_are_tex_not_a_cloze(tmp_path):
    note = parse_clean(tmp_path, "The square $x^{{2}}$ and $\\frac{{a}+b}{c}$ are TeX.\n")
    assert note.facts == ()
    assert [m.source for m in marks_of(body(note))] == ["x^{{2}}", "\\frac{{a}+b}{c}"]


def test_an_explicit_cloze_inside_a_formula_is_a_cloze(tmp_path):
    note = parse_clean(tmp_path, "Area $A = {{c1::\\pi r^2}}$ of a circle.\n")
    (fact,) = note.facts
    assert fact.kind is Kind.CLOZE
    clozes = [s for s in fact.text if isinstance(s, Cloze)]
    assert clozes == [Cloze(1, "\\pi r^2", "", True)]
    joined = "".join(s if isinstance(s, str) else "{{c1::" + s.html + "}}" for s in fact.text)
    (m,) = marks_of(joined)
    assert m.source == "A = {{c1::\\pi r^2}}"


def test_an_unclosed_dollar_is_text(tmp_path):
    note, diags = parse_text(tmp_path, "A lone $x and a lone \\( here.\n")
    assert not diags
    assert "x-mark" not in body(note)
