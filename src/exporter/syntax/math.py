"""Math: `$…$` and `\\(…\\)` inline, `$$…$$` and `\\[…\\]` display, as Anki, MathJax and
pandoc write them. A formula becomes a mark (`model.Mark`, kind `math`) holding its TeX
source, so each output renders it its own way (MathJax on a card, a drawing on the sheet).

Inside a formula nothing is Markdown and nothing is a marker, except an explicit cloze
`{{c1::…}}` (Anki blanks part of a MathJax formula): it becomes a cloze marker inside the
mark, so the card gets `\\(x = {{c1::…}}\\)`. `{{2}}` in a formula is TeX, never a cloze.

Money is not math (pandoc's rule): the opening `$` has a non-space character right after
it, the closing `$` a non-space character right before it and no digit right after it,
so `costs $5 and $10` is text. `\\$` writes a dollar sign.

Every scan is possessive and stops at the next delimiter, so a run of `$` or `\\(` is
read in linear time (bench/pathological.py).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree

import markdown
from markdown.blockprocessors import BlockProcessor
from markdown.inlinepatterns import InlineProcessor
from markdown.util import ETX, STX, AtomicString

from ..model import MARK_TAG

KIND = "math"
# Code spans (190) claim their text first; the formula must be read before backslash
# escapes (180) turn `\(` into `(`, and before clozes and tags (175).
PRIORITY = 185
# Before headings (70) and lists (40, 30), after indented code (80, 90).
BLOCK_PRIORITY = 75

_NO = f"{STX}{ETX}"  # a placeholder (a code span, raw HTML) never sits inside a formula
DOLLAR_BODY = rf"(?:[^$\\{_NO}]|\\[^{_NO}])"
INLINE_RE = (
    # $$ … $$ (display, inside a line)
    rf"(?<!\\)\$\$(?P<dd>{DOLLAR_BODY}++)\$\$"
    # \[ … \] (display)
    rf"|\\\[(?P<bd>(?:[^\\{_NO}]|\\[^\[\]{_NO}])++)\\\]"
    # \( … \) (inline)
    rf"|\\\((?P<bi>(?:[^\\{_NO}]|\\[^()\n{_NO}])++)\\\)"
    # $ … $ (inline): pandoc's rule against money
    rf"|(?<![\\$])\$(?=[^\s$])(?P<di>{DOLLAR_BODY}++)(?<=\S)\$(?!\d)"
)
# A display formula alone on its lines: a block of its own (so a `::` line takes it as
# its long answer), cutting the paragraph it sits in.
BLOCK_RE = re.compile(
    r"(?m)^[ ]{0,3}(?:\$\$(?P<dd>(?:[^$\\]|\\[\s\S])++)\$\$"
    r"|\\\[(?P<bd>(?:[^\\]|\\[^\[\]])++)\\\])[ \t]*$"
)
# An explicit cloze inside a formula (only `{{cN::…}}`: `{{2}}` is TeX). As in Anki, the
# deletion ends at the first `}}`; write `{{c1::\frac{a}{b} }}` when it ends in a brace.
MATH_CLOZE_RE = re.compile(r"\{\{c([1-9]\d*)::((?:[^{}]|\{(?!\{)|\}(?!\}))*+)\}\}")


def mark(source: str, display: str) -> etree.Element:
    """The mark of one formula: its source as atomic text, any explicit cloze a marker
    inside it. An opening `{` is written as Markdown's escape of it, which the inline
    stage's last pass turns back into `{`, so no check for an unclosed `{{` reads TeX."""
    el = etree.Element(MARK_TAG)
    el.set("data-kind", KIND)
    el.set("data-display", display)
    last: etree.Element | None = None
    at = 0
    for m in MATH_CLOZE_RE.finditer(source):
        _put(el, last, source[at : m.start()])
        cloze = etree.SubElement(el, "x-cloze")
        cloze.set("ord", m.group(1))
        text, _, hint = m.group(2).partition("::")
        cloze.text = AtomicString(text)
        if hint.strip():
            cloze.set("hint", " ".join(hint.split()))
        last, at = cloze, m.end()
    _put(el, last, source[at:])
    return el


def _put(el: etree.Element, last: etree.Element | None, text: str) -> None:
    text = AtomicString(text.replace("{", f"{STX}{ord('{')}{ETX}"))
    if last is None:
        el.text = text
    else:
        last.tail = text


class MathInlineProcessor(InlineProcessor):
    # InlineProcessor changes Pattern's handleMatch signature; its stub ignores it too.
    def handleMatch(self, m: re.Match[str], data: str):  # type: ignore[override]
        for group, display in (("dd", "block"), ("bd", "block"), ("bi", "inline")):
            if m.group(group) is not None:
                return mark(m.group(group).strip(), display), m.start(0), m.end(0)
        return mark(m.group("di"), "inline"), m.start(0), m.end(0)


class MathBlockProcessor(BlockProcessor):
    """`$$` or `\\[` at the start of a line, closed at the end of a line: a display block
    (`<div class="math">`), what stands before it a block of its own."""

    def test(self, parent: etree.Element, block: str) -> bool:
        return ("$$" in block or "\\[" in block) and BLOCK_RE.search(block) is not None

    def run(self, parent: etree.Element, blocks: list[str]) -> bool | None:
        block = blocks.pop(0)
        m = BLOCK_RE.search(block)
        if m is None:  # pragma: no cover - test() found it
            blocks.insert(0, block)
            return False
        before, after = block[: m.start()], block[m.end() :].lstrip("\n")
        if before.strip():
            self.parser.parseBlocks(parent, [before.rstrip("\n")])
        holder = etree.SubElement(parent, "div")
        holder.set("class", "math")
        source = m.group("dd") if m.group("dd") is not None else m.group("bd")
        holder.append(mark(source.strip(), "block"))
        if after.strip():
            blocks.insert(0, after)
        return None


def register(md: markdown.Markdown) -> None:
    """Called by the facts extension: the inline and block readers, and `\\$`."""
    if "$" not in md.ESCAPED_CHARS:
        md.ESCAPED_CHARS.append("$")
    md.inlinePatterns.register(MathInlineProcessor(INLINE_RE, md), "math", PRIORITY)
    md.parser.blockprocessors.register(MathBlockProcessor(md.parser), "math_block", BLOCK_PRIORITY)
