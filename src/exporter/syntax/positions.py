"""Source positions: Python-Markdown keeps none, so the original lines are kept and each
block is matched to its first line before inline parsing changes its text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree

from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import STX

from .state import ParseState, Position, state_of
from .tree import POSITIONED


class LinePreprocessor(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        state: ParseState = state_of(self.md)
        state.lines = [line.expandtabs(self.md.tab_length) for line in lines]
        state.fenced = fenced_lines(state.lines)
        return lines


def fenced_lines(lines: list[str]) -> set[int]:
    """Indices of the lines inside fenced code (the opening fence itself excluded), so no
    block is mapped into code."""
    inside: set[int] = set()
    fence = ""
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if fence:
            inside.add(i)
            if stripped.startswith(fence) and not stripped[len(fence) :].strip():
                fence = ""
            continue
        m = re.match(r"(`{3,}|~{3,})", stripped)
        if m:
            fence = m.group(1)
    return inside


# ------------------------------------------------------------------ 2. block lines


class LineTreeprocessor(Treeprocessor):
    """Map each text-bearing block to its first source line, in document order."""

    def run(self, root: etree.Element) -> None:
        state: ParseState = state_of(self.md)
        cursor = 0
        for el in root.iter():
            if el.tag not in POSITIONED or not el.text or not el.text.strip():
                continue
            raw = el.text
            first = raw.strip("\n").split("\n")[0].strip()
            if first.startswith(STX):
                continue
            same_line = el.tag in ("td", "th")
            for i in range(cursor, len(state.lines)):
                if i in state.fenced:
                    continue
                line = state.lines[i].rstrip()
                if (first in line) if same_line else line.endswith(first):
                    state.positions[el] = Position(i + 1, raw.strip("\n"))
                    cursor = i if same_line else i + 1 + raw.strip("\n").count("\n")
                    break
