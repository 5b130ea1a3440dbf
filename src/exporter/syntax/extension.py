"""The Python-Markdown extension: every construct of the syntax registered in one place,
in Markdown's own stage order, and one parser per indent width."""

from __future__ import annotations

import xml.etree.ElementTree as etree

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from . import bounded, containers, headings, lists, sound
from . import math as math_syntax
from .code import CodeExtension
from .facts import FactTreeprocessor
from .markers import MARKER_RE, MarkerProcessor
from .obsidian import ObsidianExtension
from .positions import LinePreprocessor, LineTreeprocessor
from .shortcut import PlainTextTreeprocessor
from .state import new_state, state_of


class FactsExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.registerExtension(self)
        self.md = md
        new_state(md)
        if ":" not in md.ESCAPED_CHARS:
            md.ESCAPED_CHARS.append(":")
        md.preprocessors.register(LinePreprocessor(md), "fact_lines", 35)
        bounded.register(md)
        lists.register(md)
        headings.register(md)
        containers.register(md)
        sound.register(md)
        math_syntax.register(md)
        md.treeprocessors.register(LineTreeprocessor(md), "fact_positions", 25)
        md.inlinePatterns.register(MarkerProcessor(MARKER_RE, md), "fact_markers", 175)
        md.treeprocessors.register(PlainTextTreeprocessor(md), "fact_plain_text", 21)
        md.treeprocessors.register(FactTreeprocessor(md), "facts", 15)
        md.treeprocessors.register(KeepTree(md), "fact_keep", -100)

    def reset(self) -> None:
        """Markdown calls this between documents: each note starts with empty state."""
        new_state(self.md)


class KeepTree(Treeprocessor):
    """Take the finished tree, and give Markdown an empty one: `parse_note` serialises
    the tree in pieces, so the whole-document HTML `convert` would make is never used."""

    def run(self, root: etree.Element) -> etree.Element:
        state_of(self.md).root = root
        return etree.Element(root.tag)


_MARKDOWN: dict[int, markdown.Markdown] = {}


def markdown_for(tab_length: int = lists.INDENT) -> markdown.Markdown:
    """One parser per indent width, reset between notes: building one costs about as
    much as parsing a short note."""
    md = _MARKDOWN.get(tab_length)
    if md is None:
        md = _MARKDOWN[tab_length] = make_markdown(tab_length)
    md.reset()
    return md


def make_markdown(tab_length: int) -> markdown.Markdown:
    """Extensions are given as objects: named by a string, Python-Markdown looks each one
    up among every installed package's entry points, a third of building the parser."""
    from markdown.extensions.sane_lists import SaneListExtension
    from markdown.extensions.tables import TableExtension
    from pymdownx.superfences import SuperFencesCodeExtension

    return markdown.Markdown(
        extensions=[
            TableExtension(),
            SaneListExtension(),
            SuperFencesCodeExtension(),
            CodeExtension(),
            FactsExtension(),
            ObsidianExtension(),
        ],
        tab_length=tab_length,
        output_format="html",
    )


def list_indent(text: str) -> int:
    """The indent width the parser runs at: always 4 now that `lists` re-indents each
    list by its own content column (kept so callers need not change)."""
    return lists.INDENT
