"""What one parse collects while Markdown runs: lines, positions, facts found."""

from __future__ import annotations

import xml.etree.ElementTree as etree
from dataclasses import dataclass, field

from markdown import Markdown

from ..diagnostics import Diagnostic
from ..model import Kind


@dataclass
class Position:
    line: int
    raw: str


@dataclass
class FactSpec:
    """What the fact pass found, before the tree is serialised."""

    kind: Kind
    tags: tuple[str, ...]
    anchor: str
    line: int
    col: int


@dataclass
class ParseState:
    display: str = ""
    lines: list[str] = field(default_factory=list)
    fenced: set[int] = field(default_factory=set)
    positions: dict[etree.Element, Position] = field(default_factory=dict)
    specs: list[FactSpec] = field(default_factory=list)
    heading_tags: dict[etree.Element, tuple[str, ...]] = field(default_factory=dict)
    # Each note embed met (`![[Other note#Heading]]`): its target, fragment and raw text,
    # placed on its line once the parse is done (`note.embed_places`).
    embeds: list[tuple[str, str, str]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    root: etree.Element | None = None


# FactsExtension keeps the document's state on the parser, where every processor reaches
# it through `self.md`. Markdown's types do not declare the attribute, so it is set and
# read here, by name, with its type.
STATE_ATTRIBUTE = "fact_state"


def new_state(md: Markdown) -> ParseState:
    """Give `md` an empty state: a new document."""
    state = ParseState()
    setattr(md, STATE_ATTRIBUTE, state)
    return state


def state_of(md: Markdown) -> ParseState:
    """The state of the document `md` is parsing."""
    state: ParseState = getattr(md, STATE_ATTRIBUTE)
    return state
