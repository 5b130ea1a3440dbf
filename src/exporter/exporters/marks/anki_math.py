"""A formula on a card: MathJax source in Anki's own delimiters, `\\(…\\)` inline and
`\\[…\\]` display, which Anki renders on every platform. The source is HTML-escaped
(`a < b` is `a &lt; b` in the field; Anki hands MathJax the text), and an explicit cloze
inside it (`{{c1::…}}`) stays Anki's cloze syntax, which Anki supports inside MathJax."""

from __future__ import annotations

import html
from typing import Any

from ...model import Mark

DELIMITERS = {"inline": ("\\(", "\\)"), "block": ("\\[", "\\]")}


def render(mark: Mark, **context: Any) -> str:
    opening, closing = DELIMITERS.get(mark.attrs.get("display", "inline"), DELIMITERS["inline"])
    return f"{opening}{html.escape(mark.source, quote=False)}{closing}"
