"""The sheet's HTML: Jinja2 templates, and the small decisions a page makes (which
sections a self-test keeps, how long a blank is, how many ruled lines an answer gets)."""

from __future__ import annotations

import functools
import hashlib
import math
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2

from ...config import BuildConfig
from ...model import Deck, Fact, Kind, Note, Section

TEMPLATES = Path(__file__).parent / "templates"


@functools.lru_cache(maxsize=4)
def environment(folder: Path = TEMPLATES) -> jinja2.Environment:
    """The printed outputs' templates (the sheet's, or `folder`'s: the cards'), HTML
    escaped, with the sheet's filters. One a process: it holds nothing of a build, and
    keeps its compiled templates (a tenth of a second a build under `watch`); it still
    reads a template again once its file has changed (Jinja's `auto_reload`)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["blank_mm"] = blank_mm
    env.filters["answer_lines"] = answer_lines
    return env


def templates_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(TEMPLATES.iterdir()):
        h.update(path.read_bytes())
    return h.hexdigest()


# Room to write, in the self-test: handwriting takes about 2.2 mm a character; no blank
# is shorter than BLANK_MIN_MM, and an answer longer than BLANK_MAX_MM gets ruled lines of
# LINE_MM each below its question (one per item of a list answer, at least two).
HAND_MM = 2.2
BLANK_MIN_MM = 25
BLANK_MAX_MM = 110
LINE_MM = 160
MIN_LINES = 2
MAX_LINES = 14


def blank_mm(text: str) -> int:
    """The width of the blank for an answer of this text, in millimetres."""
    return round(min(max(len(text.strip()) * HAND_MM, BLANK_MIN_MM), BLANK_MAX_MM))


class _Items(HTMLParser):
    """Counts the items of an answer: list items, else table body rows, else code lines.
    Code with line numbers comes as a table (`highlighttable`) of the numbers beside the
    code: its rows are no table's rows, and only the code's lines count."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items = self.rows = self.heads = 0
        self.pre = 0
        self.code: list[str] = []
        self.tables: list[bool] = []  # for each open table, whether it numbers code
        self.numbers = False  # inside the line numbers of numbered code

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "table":
            self.tables.append("highlighttable" in classes)
        elif tag == "td":
            self.numbers = "linenos" in classes
        if not (self.tables and self.tables[-1]):
            self.items += tag == "li"
            self.rows += tag == "tr"
            self.heads += tag == "th"
        self.pre += tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.tables:
            self.tables.pop()
        elif tag == "td":
            self.numbers = False
        self.pre -= tag == "pre"

    def handle_data(self, data: str) -> None:
        if self.pre and not self.numbers:
            self.code.append(data)


def answer_lines(fact: Fact) -> int:
    """Ruled lines to write a fact's answer on: 0 when an inline blank is room enough."""
    if fact.kind is Kind.LONG:
        parser = _Items()
        parser.feed(fact.answer)
        parser.close()
        code = [s for s in "".join(parser.code).splitlines() if any(c.isalnum() for c in s)]
        count = parser.items or max(parser.rows - (1 if parser.heads else 0), 0) or len(code)
        return min(max(count, MIN_LINES), MAX_LINES)
    if fact.kind is Kind.CLOZE:
        return 0
    width = len(fact.plain_answer.strip()) * HAND_MM
    return 0 if width <= BLANK_MAX_MM else min(math.ceil(width / LINE_MM), MAX_LINES)


def wanted_tags(tags: tuple[str, ...]) -> set[str]:
    """A `--tag` filter's tags as facts carry them (`#upsc/gs2` → `upsc::gs2`)."""
    return {t.lstrip("#").replace("/", "::") for t in tags}


def question_numbers(note: Note) -> dict[int, int]:
    """Self-test numbers run through each note from 1, the same in questions and key: an
    edit renumbers (and re-renders) one note only, and the key is grouped by note."""
    return {f.index: n for n, f in enumerate(note.facts, 1)}


def shows_title(note: Note, section: Section) -> bool:
    """A section's heading is printed unless it is the note's H1 repeating its title."""
    return bool(section.title) and not (section.level == 1 and section.title == note.title)


def leading_sections(note: Note) -> set[int]:
    """The sections that hold a fact of the note, and the headings above them."""
    holding = {f.section for f in note.facts}
    kept: set[int] = set()
    stack: list[int] = []
    for i, section in enumerate(note.sections):
        while stack and note.sections[stack[-1]].level >= section.level:
            stack.pop()
        stack.append(i)
        if i in holding:
            kept.update(stack)
    return kept


def sheet_title(deck: Deck, config: BuildConfig, self_test: bool) -> str:
    title = deck.notes[0].title if len(deck.notes) == 1 else config.root_deck
    return f"Self-test: {title}" if self_test else title


def sheet_date(facts: Any) -> str:
    latest = max((f.mtime for f in facts), default=0)
    return datetime.fromtimestamp(latest, UTC).strftime("%d %B %Y") if latest else ""
