"""Anki's HTML as the notes' Markdown, for edits made in Anki that come back (`pull`).

markdownify, a well-kept converter, does the HTML: bold, italics, code, links, line
breaks, lists. What is ours is the fact syntax around it: a cloze's deletions (Anki's
`{{c1::text::hint}}`) become ours, `{{text::hint}}` or, where the number must be kept,
`{{c2::text::hint}}`; characters our syntax would read as markers (`::`, `{{`, a `#tag`)
are escaped, so the text reads back as written.

`normal` is the form two fields are compared in: the same Markdown, however Anki's editor
or ours wrote the tags (`<b>` or `<strong>`), and white space folded.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

ANKI_CLOZE_RE = re.compile(r"\{\{c(\d+)::(.*?)(?:::(.*?))?\}\}", re.S)
# A placeholder for a deletion while the HTML around it is converted: letters alone, so
# no converter escapes or splits it.
HOLD = "zqxclozeq{}zqx"
HOLD_RE = re.compile(r"zqxclozeq(\d+)zqx")
# Our markers, which text from Anki must not become: `::` (a separator or a hint), `{{`,
# and a `#tag` after a space. (A `^id` has no escape: such text does not come back.)
MARKER_RE = re.compile(r"(?<![\\:]):(?=:)|\{(?=\{)|(?<!\S)#(?=[^\W\d_])")


def to_markdown(fragment: str) -> str:
    """One field's HTML as Markdown, our markers escaped."""
    from markdownify import markdownify

    text = markdownify(
        fragment,
        heading_style="ATX",
        bullets="-",
        strong_em_symbol="*",
        escape_underscores=False,
    )
    text = text.replace("\xa0", " ")
    return MARKER_RE.sub(lambda m: "\\" + m.group(0), text).strip("\n")


@dataclass(frozen=True)
class Deletion:
    number: int
    text: str  # Markdown
    hint: str


def cloze_markdown(fragment: str, explicit: set[int] | None = None) -> tuple[str, list[Deletion]]:
    """A cloze field as our syntax, and its deletions. A deletion is written with its
    number (`{{c2::…}}`) when the number is in `explicit` (the source wrote it), or when
    the numbering our parser gives unnumbered deletions would not give it the same
    number: a card keeps its number, so it keeps its reviews."""
    deletions: list[Deletion] = []

    def hold(m: re.Match[str]) -> str:
        hint = html.unescape(m.group(3) or "")
        deletions.append(Deletion(int(m.group(1)), to_markdown(m.group(2)), hint))
        return HOLD.format(len(deletions) - 1)

    text = to_markdown(ANKI_CLOZE_RE.sub(hold, fragment))
    numbered = numbered_ones([d.number for d in deletions], explicit or set())

    def put(m: re.Match[str]) -> str:
        i = int(m.group(1))
        d = deletions[i]
        inner = f"c{d.number}::{d.text}" if i in numbered else d.text
        return "{{" + inner + (f"::{d.hint}" if d.hint else "") + "}}"

    return HOLD_RE.sub(put, text), deletions


def numbered_ones(numbers: list[int], explicit: set[int]) -> set[int]:
    """The positions of the deletions that must carry their number: those whose number
    is in `explicit`, then any the parser's numbering (the lowest number not yet taken,
    in order) would number otherwise, until the two agree."""
    written = {i for i, n in enumerate(numbers) if n in explicit}
    while True:
        taken = {numbers[i] for i in written}
        auto, given = 1, {}
        for i, _ in enumerate(numbers):
            if i in written:
                continue
            while auto in taken:
                auto += 1
            given[i] = auto
            taken.add(auto)
        wrong = {i for i, n in given.items() if n != numbers[i]}
        if not wrong:
            return written
        written |= {min(wrong)}


def normal(fragment: str) -> str:
    """A field as compared: its Markdown, white space folded."""
    return " ".join(to_markdown(fragment).split())
