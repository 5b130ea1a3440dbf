"""Python-Markdown's quadratic corners, bounded: a note parses in time linear in its size.

Three of Python-Markdown's own stages scan to the end of the text from every candidate
start, so a long run of one character takes minutes (150,000 characters of `[](`: over
five minutes; 20,000 `[`: a minute):

- link and image text: from each `[`, a character loop looking for the matching `]`;
- link destinations: from each `](`, a character loop looking for the matching `)`;
- raw HTML blocks: from each `<`, the standard library's HTML parser looks for the end of
  the tag across the whole rest of the block.

The first two are replaced by the same processors, registered under the same names and
priorities, whose scans are regular expressions with possessive quantifiers (no
backtracking) and a bounded nesting depth: link text may nest brackets three deep and a
destination parentheses three deep (one deep before a quoted title), which covers every
real link; Python-Markdown's own code then reads the span they found. The
third is a preprocessor that writes the `<` of a block as text when the block opens far
more tags than it closes: such a block holds no HTML a reader would see either.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree
from typing import Any

import markdown
from markdown import inlinepatterns
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString

# `[` … `]` with brackets nested at most three deep; the opening `[` is already matched.
_INNER = r"[^\[\]]"
_DEPTH3 = rf"\[(?:{_INNER}|\[{_INNER}*+\])*+\]"
LINK_TEXT = re.compile(rf"(?:{_INNER}|\[(?:{_INNER}|{_DEPTH3})*+\])*+\]", re.S)
# `(` … `)` with parentheses nested at most three deep, from the `(`.
_PLAIN = r"[^()]"
_P3 = rf"\((?:{_PLAIN}|\({_PLAIN}*+\))*+\)"
DESTINATION = re.compile(rf"\s*\((?:{_PLAIN}|{_P3})*+\)", re.S)
# `(` destination "title" `)`: the destination may nest parentheses one deep.
_DEST = r"""[^()"']"""
TITLED = re.compile(rf"""\s*\((?:{_DEST}|\({_DEST}*+\))*+(?:"[^"]*+"|'[^']*+')\s*\)""", re.S)


class BoundedLinks:
    """`getText` and `getLink` of Python-Markdown's link processors, in linear time."""

    def getText(self, data: str, index: int) -> tuple[str, int, bool]:
        m = LINK_TEXT.match(data, index)
        if m is None:
            return "", index, False
        return data[index : m.end() - 1], m.end(), True

    def getLink(self, data: str, index: int) -> tuple[str, str | None, int, bool]:
        m = DESTINATION.match(data, index)
        if m is None or any(q in m.group(0) for q in "\"'"):
            m = TITLED.match(data, index)
        if m is None:
            return "", None, index, False
        end = m.end()
        href, title, stop, handled = super().getLink(data[index:end], 0)  # type: ignore[misc]
        return href, title, index + stop, handled


def _bounded(cls: type) -> type:
    return type(f"Bounded{cls.__name__}", (BoundedLinks, cls), {})


# Python-Markdown's link processors by their registered names.
LINK_PROCESSORS: dict[str, tuple[type, str]] = {
    "reference": (inlinepatterns.ReferenceInlineProcessor, inlinepatterns.REFERENCE_RE),
    "link": (inlinepatterns.LinkInlineProcessor, inlinepatterns.LINK_RE),
    "image_link": (inlinepatterns.ImageInlineProcessor, inlinepatterns.IMAGE_LINK_RE),
    "image_reference": (
        inlinepatterns.ImageReferenceInlineProcessor,
        inlinepatterns.IMAGE_REFERENCE_RE,
    ),
    "short_reference": (
        inlinepatterns.ShortReferenceInlineProcessor,
        inlinepatterns.REFERENCE_RE,
    ),
    "short_image_ref": (
        inlinepatterns.ShortImageReferenceInlineProcessor,
        inlinepatterns.IMAGE_REFERENCE_RE,
    ),
}


def bound_links(md: markdown.Markdown) -> None:
    """Put the bounded processors in place of the registered ones, same name, same
    priority, so everything that looks patterns up by name keeps working."""
    patterns = md.inlinePatterns
    for name, (cls, pattern) in LINK_PROCESSORS.items():
        if name not in patterns:
            continue
        # Registry keeps priorities in `_priority`, which the stubs leave out.
        items = patterns._priority  # type: ignore[attr-defined]
        priority = next(item.priority for item in items if item.name == name)
        patterns.register(_bounded(cls)(pattern, md), name, priority)


# A block that opens this many more `<` than it closes with `>` is not HTML.
UNCLOSED_TAGS = 64


class UnclosedTagsPreprocessor(Preprocessor):
    """Write every `<` of a block as `&lt;` when the block opens far more tags than it
    closes: the HTML parser would otherwise scan the rest of the block from each one."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        block: list[str] = []
        for line in [*lines, ""]:
            if line.strip():
                block.append(line)
                continue
            out += _escape_if_unclosed(block)
            block = []
            out.append(line)
        return out[:-1]


def _escape_if_unclosed(block: list[str]) -> list[str]:
    opened = sum(line.count("<") for line in block)
    if opened - sum(line.count(">") for line in block) <= UNCLOSED_TAGS:
        return block
    return [line.replace("<", "&lt;") for line in block]


# Python-Markdown's inline stage costs, for one text with M matches, M times the text's
# length and M times the number of elements it made: fine for prose, minutes for a line
# of ten thousand tags or links. A text that long and that dense in markup characters is
# handed to it in pieces, each in an `x-chunk` element, cut at line ends (else at spaces),
# and the pieces are joined again right after. Ordinary prose, even a long paragraph, is
# never cut: it is far below the density.
CHUNK = 2_000
DENSE = 300
MARKUP = "[]()*_`{}<>&#\\!^$=~%"
WRAP = "x-chunk"


class ChunkTreeprocessor(Treeprocessor):
    """Before the inline stage: a long, markup-dense text becomes `x-chunk` elements."""

    def run(self, root: etree.Element) -> None:
        for el in list(root.iter()):
            text = el.text
            if not text or len(text) <= CHUNK or isinstance(text, AtomicString):
                continue
            if sum(text.count(c) for c in MARKUP) < DENSE:
                continue
            el.text = None
            for i, piece in enumerate(pieces(text)):
                chunk = etree.Element(WRAP)
                chunk.text = piece
                el.insert(i, chunk)


class UnchunkTreeprocessor(Treeprocessor):
    """After the inline stage: each `x-chunk` is replaced by what it holds."""

    def run(self, root: etree.Element) -> None:
        for parent in [el for el in root.iter() if any(c.tag == WRAP for c in el)]:
            unwrap_chunks(parent)


def unwrap_chunks(parent: etree.Element) -> None:
    """One pass over `parent`: the children of each chunk take its place, its text and
    tail join the text around them."""
    children: list[etree.Element] = []
    texts = [parent.text or ""]  # texts[i]: the text after children[i - 1]
    for child in list(parent):
        if child.tag != WRAP:
            children.append(child)
            texts.append(child.tail or "")
            continue
        texts[-1] += child.text or ""
        for inner in child:
            children.append(inner)
            texts.append(inner.tail or "")
        texts[-1] += child.tail or ""
    parent.text = texts[0] or None
    for child, text in zip(children, texts[1:], strict=True):
        child.tail = text or None
    parent[:] = children


def pieces(text: str) -> list[str]:
    """`text` cut into pieces of at most about `CHUNK` characters, each cut just after a
    line end, or after a space where a line is longer."""
    out, start = [], 0
    while len(text) - start > CHUNK:
        cut = text.rfind("\n", start, start + CHUNK)
        if cut <= start:
            cut = text.rfind(" ", start, start + CHUNK)
        if cut <= start:
            cut = start + CHUNK - 1
        out.append(text[start : cut + 1])
        start = cut + 1
    out.append(text[start:])
    return out


def register(md: markdown.Markdown, **_: Any) -> None:
    """Bound every quadratic stage of `md` (called by the facts extension)."""
    bound_links(md)
    # Around Python-Markdown's inline stage (20).
    md.treeprocessors.register(ChunkTreeprocessor(md), "bounded_chunks", 20.5)
    md.treeprocessors.register(UnchunkTreeprocessor(md), "bounded_unchunk", 19.5)
    # After fenced code is stashed (25), before raw HTML blocks are read (20).
    md.preprocessors.register(UnclosedTagsPreprocessor(md), "bounded_html", 22)
