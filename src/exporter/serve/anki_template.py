"""A card's front and back as Anki renders them from its note type's templates and its
note's fields: the same templates, fields and CSS the `.apkg` carries
(`exporters.anki.note_types`, `fields_for`), read by the rules of Anki's own template
language for what our templates use: `{{Field}}`, `{{FrontSide}}`, `{{#Field}}…{{/Field}}`
and `{{^Field}}…{{/Field}}`, and the `cloze:` filter, with Anki's cloze markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

SECTION_RE = re.compile(r"\{\{([#^])([^}]+)\}\}(.*?)\{\{/\2\}\}", re.S)
FIELD_RE = re.compile(r"\{\{([^#^/}][^}]*)\}\}")
CLOZE_RE = re.compile(r"\{\{c(\d+)::(.*?)(?:::(.*?))?\}\}", re.S)
TAG_RE = re.compile(r"<[^>]+>")
# A formula as MathJax reads it on a card: `\(…\)` inline, `\[…\]` displayed.
MATH_RE = re.compile(r"\\\(.*?\\\)|\\\[.*?\\\]", re.S)


def render(template: str, fields: Mapping[str, str], card: int, front: str = "") -> str:
    """`template` filled for card `card` (its number: ordinal + 1); `front` is the
    rendered front, for `{{FrontSide}}` on the back."""

    def section(m: re.Match[str]) -> str:
        filled = bool(TAG_RE.sub("", fields.get(m.group(2).strip(), "")).strip())
        shown = filled if m.group(1) == "#" else not filled
        return m.group(3) if shown else ""

    previous = None
    while previous != template:  # sections may nest
        previous, template = template, SECTION_RE.sub(section, template)

    def field(m: re.Match[str]) -> str:
        name = m.group(1).strip()
        if name == "FrontSide":
            return front
        if name.startswith("cloze:"):
            return cloze(fields.get(name[len("cloze:") :], ""), card, answer=bool(front))
        return fields.get(name, "")

    return FIELD_RE.sub(field, template)


def cloze(text: str, card: int, answer: bool) -> str:
    """Anki's cloze filter: the card's own deletions blanked on the front (the hint in
    brackets, else `[...]`) and shown on the back, the others as plain text."""

    def in_math(m: re.Match[str]) -> str:
        """Inside a formula, as Anki draws it: the deletion is a class MathJax styles."""
        number, inner, hint = int(m.group(1)), m.group(2), m.group(3)
        if number != card:
            return inner
        if answer:
            return f"\\class{{cloze}}{{{inner}}}"
        return f"\\class{{cloze}}{{[{hint or '...'}]}}"

    text = MATH_RE.sub(lambda m: CLOZE_RE.sub(in_math, m.group(0)), text)

    def one(m: re.Match[str]) -> str:
        number, inner, hint = int(m.group(1)), m.group(2), m.group(3)
        if number != card:
            return f'<span class="cloze-inactive" data-ordinal="{number}">{inner}</span>'
        if answer:
            return f'<span class="cloze" data-ordinal="{number}">{inner}</span>'
        shown = f"[{hint}]" if hint else "[...]"
        return (
            f'<span class="cloze" data-cloze="{html.escape(inner)}" '
            f'data-ordinal="{number}">{shown}</span>'
        )

    return CLOZE_RE.sub(one, text)
