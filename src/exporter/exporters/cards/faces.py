"""The cards a fact makes on paper, the same ones it makes in Anki: one for a basic or
long fact, two for a reversed one (each way), one per deletion number for a cloze. Each
card's front and back as HTML made from the model, with the sheet's classes, so the
sheet's renderers draw its math, code and images."""

from __future__ import annotations

import html
from dataclasses import dataclass

from ...model import Cloze, Fact, Kind, Segment


@dataclass(frozen=True)
class Face:
    """One card: `number` is its card within the fact (a cloze's deletion number; 1 and
    2 for the two ways of a reversed fact), so `id` names it in the note's render."""

    fact: Fact
    number: int
    front: str
    back: str

    @property
    def id(self) -> str:
        return f"k{self.fact.index}-{self.number}"


def faces(fact: Fact) -> list[Face]:
    if fact.kind is Kind.CLOZE:
        return [
            Face(fact, n, cloze_side(fact.text, n, False), cloze_back(fact, n))
            for n in fact.card_numbers
        ]
    if fact.kind is Kind.REVERSED:
        return [
            Face(fact, 1, question(fact.question), answer(fact.answer)),
            Face(fact, 2, question(fact.answer), answer(fact.question)),
        ]
    return [Face(fact, 1, question(fact.question), answer(fact.answer))]


def question(text: str) -> str:
    return f'<div class="card-q">{text}</div>'


def answer(text: str) -> str:
    return f'<div class="card-a">{text}</div>'


def cloze_side(text: tuple[Segment, ...], number: int, filled: bool) -> str:
    """The cloze's text with deletion `number` blanked (a visible gap, with its hint) or
    filled and marked (the sheet's `cloze` class); the other deletions read as plain
    text, as Anki shows them."""
    out = []
    for seg in text:
        if isinstance(seg, str):
            out.append(seg)
        elif seg.number != number:
            out.append(seg.html)
        elif filled:
            out.append(f'<span class="cloze">{seg.html}</span>')
        else:
            out.append(blank(seg))
    return f'<div class="card-q">{"".join(out)}</div>'


def blank(cloze: Cloze) -> str:
    """A gap to fill, and its hint: written as the sheet writes them, so a deletion
    inside a formula is drawn as a box there too (`marks/pdf_math.tex`)."""
    hint = f'<span class="hint">({html.escape(cloze.hint)})</span>' if cloze.hint else ""
    return f'<span class="blank"></span>{hint}'


def cloze_back(fact: Fact, number: int) -> str:
    extra = f'<div class="card-extra">{fact.answer}</div>' if fact.answer else ""
    return cloze_side(fact.text, number, True) + extra
