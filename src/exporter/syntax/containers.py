"""`:::` containers, as VitePress (`::: tip Title`, `:::details`), pandoc (fenced divs,
`::: {.note}`) and MkDocs-style notes (`::: note "Title"`) write them: a line of three or
more colons and a name opens a box, a line of colons alone closes the innermost one.

The sheet prints the box with its title; facts inside work as anywhere else. The fence
lines are consumed here, before the fact pass, so `:::` on them is never read as the
separator of a reversed fact.

Two stages, because a container spans blank lines and Markdown's block parser sees one
blank-separated block at a time:

- a preprocessor pairs the fences in one pass over the lines (a stack, so nesting works
  and the cost stays linear) and writes each paired fence as a numbered marker line with
  a blank line on either side, so each marker is a block of its own;
- a block processor turns the blocks between an opening and its closing marker into a
  `<div class="container container-NAME">` with a title, parsed as Markdown.

A fence that pairs with nothing is reported and left as the text it was.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree
from collections import deque
from dataclasses import dataclass, field

import markdown
from markdown.blockprocessors import BlockProcessor
from markdown.preprocessors import Preprocessor
from markdown.util import ETX, STX

from ..diagnostics import warning
from .positions import fenced_lines
from .state import ParseState, state_of

# A fence: three or more colons at the start of a line, then the name and title (if any).
# Containers sit at the top level or in each other, not in lists (whose content Markdown
# indents), so a fence is not indented.
FENCE_RE = re.compile(r":{3,}(.*)")
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
CLASS_RE = re.compile(r"\.([A-Za-z][A-Za-z0-9_-]*)")
TITLE_ATTR_RE = re.compile(r"""title=(?:"([^"]*)"|'([^']*)'|(\S+))""")
# The marker lines the preprocessor writes; STX and ETX cannot occur in a note (Markdown
# removes them from the source before any preprocessor of ours runs).
OPEN, CLOSE = f"{STX}container:{{}}{ETX}", f"{STX}/container:{{}}{ETX}"
MARKER_RE = re.compile(f"{STX}(/?)container:(\\d+){ETX}")
# Nesting deeper than this is left as text: real notes nest two or three deep, and the
# bound keeps the block parser's recursion (and its scans) small.
MAX_DEPTH = 8
# Python-Markdown runs whitespace normalising at 30 and fenced code at 25 (so fences
# inside code are already stashed), raw HTML blocks at 20.
PRIORITY = 21


@dataclass(frozen=True)
class Container:
    name: str
    title: str


@dataclass
class Containers:
    """What the preprocessor found in the current note, for the block processor."""

    found: list[Container] = field(default_factory=list)


def parse_info(info: str) -> Container:
    """The name and title after the colons: `tip Title`, `details`, `{.note title="x"}`,
    `note "Title"`, `Warning :::`. The name is only used as a CSS class, so anything but
    a plain word is dropped; the title is text."""
    info = info.strip().rstrip(":").strip()
    if info.startswith("{"):
        classes = CLASS_RE.findall(info)
        given = TITLE_ATTR_RE.search(info)
        name = classes[0].lower() if classes else ""
        title = next((g for g in given.groups() if g is not None), "") if given else ""
        return Container(name, title or name.capitalize())
    word, _, rest = info.partition(" ")
    name = word.lower() if NAME_RE.fullmatch(word) else ""
    title = rest.strip()
    if len(title) >= 2 and title[0] == title[-1] and title[0] in "\"'":
        title = title[1:-1].strip()
    return Container(name, title or name.capitalize())


class ContainerPreprocessor(Preprocessor):
    def __init__(self, md: markdown.Markdown, containers: Containers) -> None:
        super().__init__(md)
        self.containers = containers

    def run(self, lines: list[str]) -> list[str]:
        self.containers.found = []
        if not any(":::" in line for line in lines):
            return lines
        state: ParseState = state_of(self.md)
        self.where = source_lines(state)
        fenced = fenced_lines(lines)
        out: list[list[str]] = [[line] for line in lines]
        # (line index of the opening fence, its number; None when nested too deep)
        stack: list[tuple[int, int | None]] = []
        for i, line in enumerate(lines):
            m = FENCE_RE.fullmatch(line)
            if m is None or i in fenced:
                continue
            info = m.group(1).strip()
            if not info.strip(":").strip():
                if stack:
                    _, number = stack.pop()
                    out[i] = [""] if number is None else ["", CLOSE.format(number), ""]
                else:
                    self.warn(state, line, "':::' closes no container", "delete the line")
                    out[i] = [""]
                continue
            if not (info[0].isalpha() or info[0] == "{"):
                continue  # `::: 42 …` names nothing: text, as before
            if len(stack) >= MAX_DEPTH:
                self.warn(
                    state,
                    line,
                    f"containers nest {MAX_DEPTH} deep at most; this one shows no box",
                    "close a container before opening another",
                )
                stack.append((i, None))
                out[i] = [""]
                continue
            number = len(self.containers.found)
            self.containers.found.append(parse_info(info))
            stack.append((i, number))
            out[i] = ["", OPEN.format(number), ""]
        for i, _ in stack:
            out[i] = [lines[i]]
            if i and lines[i - 1].strip() and not FENCE_RE.fullmatch(lines[i - 1]):
                continue  # `KABIL` over `::: Khanij Bidesh …`: a fact's separator line
            self.warn(
                state,
                lines[i],
                f"'{lines[i].strip()}' opens a container that is never closed",
                "close it with a line ':::'",
            )
        return [piece for group in out for piece in group]

    def warn(self, state: ParseState, line: str, message: str, hint: str) -> None:
        """Report at the fence's line in the source: earlier preprocessors may have
        folded lines (a fenced code block becomes one), so the line is found again."""
        found = self.where.get(line.strip())
        line_no = found.popleft() if found else 1
        state.diagnostics.append(warning(state.display, line_no, 1, message, hint))


def source_lines(state: ParseState) -> dict[str, deque[int]]:
    """The source line numbers of every fence-like line outside code, in order, by its
    text: one pass, however many fences there are."""
    where: dict[str, deque[int]] = {}
    for j, text in enumerate(state.lines):
        key = text.strip()
        if key.startswith(":::") and j not in state.fenced:
            where.setdefault(key, deque()).append(j + 1)
    return where


class ContainerProcessor(BlockProcessor):
    def __init__(self, parser, containers: Containers) -> None:
        super().__init__(parser)
        self.containers = containers

    def test(self, parent: etree.Element, block: str) -> bool:
        return block.lstrip("\n").startswith(STX) and MARKER_RE.fullmatch(block.strip()) is not None

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        m = MARKER_RE.fullmatch(blocks.pop(0).strip())
        if m is None or m.group(1):
            return  # a closing marker whose opening sat in another block: nothing to show
        number = int(m.group(2))
        close = CLOSE.format(number)
        # Blank lines around a marker may leave a newline on its block: compare stripped.
        # Without its closing marker (a list or quote split the pair) the box stays empty
        # and what follows stays where it is, so a box can never swallow the note.
        end = next((k for k, b in enumerate(blocks) if b.strip() == close), None)
        inner = blocks[:end] if end is not None else []
        del blocks[: end + 1 if end is not None else 0]
        found = self.containers.found
        box = found[number] if number < len(found) else Container("", "")
        div = etree.SubElement(parent, "div")
        div.set("class", f"container container-{box.name}" if box.name else "container")
        if box.title:
            title = etree.SubElement(div, "div")
            title.set("class", "container-title")
            # Inline Markdown, as the container's readers show it (`:::details **Title**`
            # is a bold title in VitePress); a marker in it makes no fact.
            title.text = box.title
        self.parser.parseBlocks(div, inner)


def register(md: markdown.Markdown) -> None:
    containers = Containers()
    md.preprocessors.register(ContainerPreprocessor(md, containers), "fact_containers", PRIORITY)
    # Before every other block processor: a marker block is never anything else.
    md.parser.blockprocessors.register(
        ContainerProcessor(md.parser, containers), "fact_containers", 105
    )
