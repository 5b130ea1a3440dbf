"""Lists and tables as CommonMark, GitHub and Obsidian read them, with Python-Markdown as
the parser.

Python-Markdown differs from CommonMark in three ways that real notes trip over:

- it nests by one fixed indent (`tab_length`), where CommonMark nests by each list item's
  own content column (2 under `-`, 3 under `1.`, 4 under `10.`);
- a list, a table or a fenced code block must be its own blank-line-separated block, where
  CommonMark lets them start directly under a paragraph line or a list item's line;
- `1)` is not an ordered list marker.

Two small pieces close the gaps, each doing what Python-Markdown cannot see for itself:

- `ListIndentPreprocessor` reads the list structure line by line as CommonMark does and
  re-indents the lines inside list items to four spaces a level (the parser runs at
  `tab_length` 4), writes `1)` as `1.`, and never adds or removes a line, so the original
  lines that `positions` recorded stay the ones blocks are matched to. A fenced block moves
  as a whole with its opening fence, so its code keeps its own inner indentation.
- `InterruptProcessor`, a block processor that runs just before paragraphs, splits a block
  where CommonMark starts a new block inside it: a list item that may interrupt a
  paragraph, a table, a fenced code block. It works inside the context the parser is in
  (the root, a quote, a list item), so an item followed directly by a table stays a tight
  item holding a table, as in CommonMark.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass

import markdown
from markdown import blockprocessors
from markdown.blockprocessors import BlockProcessor
from markdown.extensions.sane_lists import SaneOListProcessor, SaneUListProcessor
from markdown.preprocessors import Preprocessor
from markdown.util import HTML_PLACEHOLDER_RE

from .code import is_code_html
from .positions import fenced_lines

# The indent the parser runs at; every list level is normalised to it.
INDENT = 4
# Python-Markdown recurses a few frames a level and fails near 200 levels; deeper items
# are written as siblings at this depth (no real note comes near it).
MAX_DEPTH = 64

# A list item marker (CommonMark: 1-9 digits and `.` or `)`, or a bullet), after the
# indentation, followed by spaces (its content column is where the text starts) or by
# the end of the line (an empty item).
MARKER_RE = re.compile(r"(?P<marker>[-+*]|(?P<number>\d{1,9})[.)])(?P<space> *)(?P<rest>.*)")
# `* * *`, `---`, `___`: a thematic break wins over a bullet.
THEMATIC_RE = re.compile(r"(?:(?:\*[ ]*){3,}|(?:-[ ]*){3,}|(?:_[ ]*){3,})")
# Python-Markdown finds these only at a block's left edge; in a list item they are not.
QUOTE_OR_HEADING_RE = re.compile(r">|#{1,6}(?:[ ]|$)")
# Lines that start a block CommonMark will not read as a lazy paragraph continuation.
BLOCK_START_RE = re.compile(r"(?:#{1,6}(?:[ ]|$)|>|`{3,}|~{3,}|<)")


@dataclass
class Item:
    """An open list item: its content column in the source and in the output."""

    column: int
    new_column: int


def leading(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def can_interrupt(m: re.Match[str]) -> bool:
    """CommonMark: a list may start under a paragraph line only with a bullet or `1.` /
    `1)`, and only with some text on the line."""
    number = m.group("number")
    return bool(m.group("rest").strip()) and (number is None or int(number) == 1)


def starts_list(text: str) -> bool:
    """Whether `text` (a line without its indent) starts a list under a paragraph line.
    The preprocessor wrote every `N)` marker as `N.`, so an `N)` left is text."""
    m = MARKER_RE.fullmatch(text)
    if m is None or m.group("marker").endswith(")") or THEMATIC_RE.fullmatch(text):
        return False
    return can_interrupt(m)


def content_column(indent: int, m: re.Match[str]) -> int:
    """Where an item's text starts; one space past the marker when the item is empty or
    its text starts with five or more spaces (that text is indented code)."""
    spaces = len(m.group("space"))
    if not m.group("rest") or spaces > 4 or spaces == 0:
        spaces = 1
    return indent + len(m.group("marker")) + spaces


class ListIndentPreprocessor(Preprocessor):
    """Re-indent list content to four spaces a level, as CommonMark nests it."""

    def run(self, lines: list[str]) -> list[str]:
        return normalise(lines)


def normalise(lines: list[str]) -> list[str]:
    """`lines` with every line inside a list item re-indented so that an item of nesting
    depth d has its marker at 4·d and its content at 4·(d+1), and `N)` markers written as
    `N.`. The number of lines never changes, and lines outside lists stay as they are."""
    fenced = fenced_lines(lines)
    out: list[str] = []
    stack: list[Item] = []
    paragraph = False  # the previous line was paragraph text (so the next may be lazy)
    shift = 0  # how far the open fence, and so its code, moved
    base = 0  # the source column the open fence's container starts at
    for i, line in enumerate(lines):
        if i in fenced:
            if shift and leading(line) >= base and line.strip():
                line = " " * (leading(line) + shift) + line.lstrip(" ")
            out.append(line)
            continue
        if not line.strip():
            out.append(line)
            paragraph = False
            continue
        indent = leading(line)
        text = line[indent:]
        depth = 0
        while depth < len(stack) and indent >= stack[depth].column:
            depth += 1
        old_base = stack[depth - 1].column if depth else 0
        new_base = stack[depth - 1].new_column if depth else 0
        relative = indent - old_base
        m = MARKER_RE.fullmatch(text) if relative < INDENT else None
        if m and THEMATIC_RE.fullmatch(text):
            m = None
        if m and paragraph and depth == len(stack) and not can_interrupt(m):
            # Paragraph text that looks like a marker; Python-Markdown must not see one.
            out.append(" " * (new_base + relative) + (escape_marker(m) if stack else text))
            continue
        if m:
            del stack[depth:]
            marker = m.group("marker")
            if marker.endswith(")"):
                marker = marker[:-1] + "."
            new_indent = INDENT * min(depth, MAX_DEPTH)
            stack.append(Item(content_column(indent, m), new_indent + INDENT))
            out.append(" " * new_indent + marker + m.group("space") + m.group("rest"))
            paragraph = bool(m.group("rest").strip())
            continue
        if depth < len(stack) and paragraph and not BLOCK_START_RE.match(text):
            # A lazy continuation line: it continues the paragraph of the open item.
            out.append(line)
            continue
        del stack[depth:]
        new_indent = new_base + relative
        out.append(" " * new_indent + text)
        shift, base = new_indent - indent, old_base
        paragraph = not BLOCK_START_RE.match(text)
    return out


def escape_marker(m: re.Match[str]) -> str:
    """`2. text` as `2\\. text`: inside a list item Python-Markdown would read it as a
    nested item, where CommonMark reads paragraph text (a list under a paragraph line
    must start at 1). `N)` is no marker to Python-Markdown, so it needs nothing."""
    marker = m.group("marker")
    if marker.endswith(")"):
        return m.group(0)
    return marker[:-1] + "\\" + marker[-1] + m.group("space") + m.group("rest")


class EndBeforeItem:
    """Python-Markdown takes a whole block for a list or an indented part of one, where
    CommonMark ends it at a list item of an outer level (after the preprocessor, one
    left of the first indent) that the processor does not own: a list of the other kind
    (sane lists would take it as text of the last item), or any item after an indented
    paragraph of an item. The rest goes back to be parsed as a block of its own."""

    ENDS_RE: re.Pattern[str]

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        lines = blocks[0].split("\n")
        for i, line in enumerate(lines[1:], start=1):
            outer = leading(line) < INDENT and self.ENDS_RE.match(line)
            if outer and not THEMATIC_RE.fullmatch(line.strip()):
                blocks[0:1] = ["\n".join(lines[:i]), "\n".join(lines[i:])]
                break
        super().run(parent, blocks)  # type: ignore[misc]


class OListProcessor(EndBeforeItem, SaneOListProcessor):
    ENDS_RE = re.compile(r" *[-+*] +\S")


class UListProcessor(EndBeforeItem, SaneUListProcessor):
    ENDS_RE = re.compile(r" *\d{1,9}\. +\S")


class ListIndentProcessor(EndBeforeItem, blockprocessors.ListIndentProcessor):
    ENDS_RE = re.compile(r" *(?:[-+*]|\d{1,9}\.) +\S")


class InterruptProcessor(BlockProcessor):
    """Split a block where CommonMark starts a new block inside it: a list that may
    interrupt a paragraph, a table (its header row over a delimiter row), a fenced code
    block (already a placeholder line) and whatever follows that block. The block before
    the split goes on to the paragraph processor; the rest goes back to all of them.
    Registered just above the paragraph processor, so it only sees what would otherwise
    become a paragraph, in the context (root, quote, list item) the parser is in."""

    # A line that may start a block; `run` looks closer. Possessive, so the search is
    # linear in the block.
    CANDIDATE_RE = re.compile(
        r"\n *+(?:[-+*] +\S|0*1[.] +\S|>|#|\x02wzxhzdk|[^\n|]*+\|[^\n]*+\n *\|? *:?-)"
        r"|^ *\x02wzxhzdk"
    )

    def test(self, parent: etree.Element, block: str) -> bool:
        return self.CANDIDATE_RE.search(block) is not None

    def run(self, parent: etree.Element, blocks: list[str]) -> bool:
        lines = blocks[0].split("\n")
        if self.is_code(lines[0]) and (len(lines) > 1 or self.parser.state.isstate("list")):
            # Fenced code: a paragraph of its own holding only the placeholder, which
            # becomes the code block (a tight list item would take it as text).
            blocks.pop(0)
            etree.SubElement(parent, "p").text = lines[0].strip()
            if len(lines) > 1:
                blocks.insert(0, "\n".join(lines[1:]))
            return True
        cut = self.split_at(parent, lines)
        if cut is None:
            return False
        blocks[0:1] = ["\n".join(lines[:cut]), "\n".join(lines[cut:])]
        return False

    def split_at(self, parent: etree.Element, lines: list[str]) -> int | None:
        """The first line (after the first) where a new block starts, or None."""
        # In a tight list item, the lines under the item's first line keep the item's
        # indent; a line left of it is a lazy continuation of the paragraph.
        low = INDENT if self.parser.state.isstate("list") else 0
        for i, line in enumerate(lines[1:], start=1):
            if self.is_code(line):
                return i
            if not low <= leading(line) < low + INDENT:
                continue
            if starts_list(line.strip()) or QUOTE_OR_HEADING_RE.match(line.strip()):
                return i
            if i + 1 < len(lines) and "|" in line and self.is_table(parent, lines[i : i + 2]):
                return i
        return None

    def is_table(self, parent: etree.Element, rows: list[str]) -> bool:
        tables = self.parser.blockprocessors
        if "table" not in tables:
            return False
        return bool(tables["table"].test(parent, "\n".join(r.strip() for r in rows)))

    def is_code(self, line: str) -> bool:
        """A placeholder for fenced code on a line of its own."""
        m = re.fullmatch(HTML_PLACEHOLDER_RE.pattern, line.strip())
        if m is None:
            return False
        stash = self.parser.md.htmlStash.rawHtmlBlocks
        index = int(m.group(1))
        return index < len(stash) and is_code_html(str(stash[index]))


def register(md: markdown.Markdown) -> None:
    """After whitespace is normalised (30) and before fenced code is stashed (25); and just
    above the paragraph processor (10) and link references (15)."""
    md.preprocessors.register(ListIndentPreprocessor(md), "list_indent", 29)
    md.parser.blockprocessors.register(InterruptProcessor(md.parser), "list_interrupt", 16)
    # In place of the sane lists' processors: same names, same priorities.
    md.parser.blockprocessors.register(OListProcessor(md.parser), "olist", 40)
    md.parser.blockprocessors.register(UListProcessor(md.parser), "ulist", 30)
    md.parser.blockprocessors.register(ListIndentProcessor(md.parser), "indent", 90)
