"""What `serve` shows, kept current by the watch: each note's cards as Anki renders them,
each note's problems at their lines, and the library at a glance.

The watch builds as a dry run (nothing is written: the page shows what `build` would
make, and what it would change since the lock) with the warm, incremental build. Each
result updates only the notes whose cards or problems changed, and the listeners hear
which: the open pages of those notes, and the overview, fetch themselves again. A note
that does not build keeps showing its last good cards under its problem.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import BuildConfig
from ..diagnostics import Diagnostic
from ..identity import Report
from ..model import Fact, Kind, Note
from ..pipeline import BuildResult
from ..sources import display_path
from . import anki_template

SOUND_RE = re.compile(r"\[sound:([^\]]+)\]")
IMG_RE = re.compile(r'(<img\b[^>]*?\bsrc=")(?!/|data:|https?:)([^"]+)(")')
REPORTED = ("new", "edited", "moved", "moved+edited", "restored", "removed")


@dataclass(frozen=True)
class CardView:
    name: str
    front: str
    back: str


@dataclass(frozen=True)
class FactView:
    source: str
    line: int
    question: str
    cards: tuple[CardView, ...]


@dataclass(frozen=True)
class NoteView:
    path: str
    title: str
    deck: str
    facts: tuple[FactView, ...]
    key: str

    @property
    def card_count(self) -> int:
        return sum(len(f.cards) for f in self.facts)


@dataclass
class Overview:
    counts: tuple[int, int, int] = (0, 0, 0)
    decks: dict[str, int] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # status, where, what


class Preview:
    def __init__(self, config: BuildConfig) -> None:
        from ..exporters.anki import card_css, note_types

        self.config = config
        self.models = note_types(card_css(config.styles))
        self.css = as_in_a_frame(self.models[Kind.BASIC].css)
        self.guard = threading.Lock()
        self.version = 0
        self.notes: dict[str, NoteView] = {}
        self.problems: dict[str, tuple[Diagnostic, ...]] = {}
        self.general: tuple[Diagnostic, ...] = ()
        self.overview = Overview()
        self.media: dict[str, Path] = {}
        self.listeners: list[Callable[[list[str]], None]] = []
        self.built = threading.Event()

    # ---------------------------------------------------------------- updating

    def update(self, result: BuildResult) -> None:
        """Take a build's result; tell the listeners which notes changed."""
        by_shown = {}
        deck = result.deck
        notes = deck.notes if deck is not None else ()
        for note in notes:
            by_shown[display_path(self.config.notes / note.path)] = note.path
        problems: dict[str, list[Diagnostic]] = {}
        general = []
        for d in result.diagnostics:
            rel = by_shown.get(d.path)
            if rel is None:
                general.append(d)
            else:
                problems.setdefault(rel, []).append(d)
        views = {}
        for note in notes:
            broken = any(d.is_error for d in problems.get(note.path, ()))
            if broken and note.path in self.notes:
                continue  # its last good cards stay
            key = note_key(note)
            old = self.notes.get(note.path)
            views[note.path] = old if old is not None and old.key == key else self.view(note)
        with self.guard:
            gone = [p for p in self.notes if p not in views and p not in problems]
            changed = [p for p, v in views.items() if self.notes.get(p) is not v] + gone
            for path in gone:
                del self.notes[path]
            self.notes.update(views)
            new_problems = {p: tuple(ds) for p, ds in problems.items()}
            changed += [
                p
                for p in set(new_problems) | set(self.problems)
                if new_problems.get(p) != self.problems.get(p)
            ]
            self.problems = new_problems
            self.general = tuple(general)
            if deck is not None:
                self.media = {m.name: Path(m.path) for m in deck.media}
                if result.ok:
                    self.overview = overview(deck.notes, result.report, self.config, result.counts)
            self.version += 1
            listeners = list(self.listeners)
        self.built.set()
        for listen in listeners:
            listen(sorted(set(changed)))

    def view(self, note: Note) -> NoteView:
        facts = tuple(self.fact_view(f, note) for f in note.facts)
        return NoteView(note.path, note.title, note.deck, facts, note_key(note))

    def fact_view(self, fact: Fact, note: Note) -> FactView:
        """A fact's cards: each ordinal of its note type, front then back."""
        from ..exporters.anki import named_fields

        fields = named_fields(fact, note)
        templates = self.models[fact.kind].templates
        if fact.kind is Kind.CLOZE:
            cards = [(f"Cloze c{n}", templates[0], n) for n in fact.card_numbers]
        else:
            cards = [(t["name"], t, i + 1) for i, t in enumerate(templates)]
        shown = []
        for name, template, number in cards:
            front = anki_template.render(template["qfmt"], fields, number)
            back = anki_template.render(template["afmt"], fields, number, front)
            shown.append(CardView(name, local(front), local(back)))
        where = display_path(self.config.notes / fact.path)
        return FactView(f"{where}:{fact.line}", fact.line, fact.plain_question, tuple(shown))


def as_in_a_frame(css: str) -> str:
    """The note type's CSS as the page serves it: a card on a phone is a card in a narrow
    frame, so what the CSS asks of the screen's width (`@media (max-width)`, `vw`) it
    asks here of the card's frame (`@container`, `cqw`), and "Phone width" shows the
    card as a phone lays it out."""
    css = re.sub(r"@media\s*\((max|min)-width", r"@container (\1-width", css)
    return re.sub(r"(\d+(?:\.\d+)?)vw\b", r"\1cqw", css)


def note_key(note: Note) -> str:
    """What a note's cards are made from: the note and its facts' identities."""
    made_of = [note.digest, [[f.guid, f.mtime, f.numbers] for f in note.facts]]
    return hashlib.sha256(json.dumps(made_of).encode()).hexdigest()


def local(card_html: str) -> str:
    """A card's HTML as the page serves it: images and sounds from the notes' media,
    a sound as a player (Anki shows a play button)."""
    card_html = IMG_RE.sub(lambda m: f"{m.group(1)}/media/{m.group(2)}{m.group(3)}", card_html)
    return SOUND_RE.sub(
        lambda m: f'<audio controls preload="none" src="/media/{m.group(1)}"></audio>', card_html
    )


def overview(
    notes: tuple[Note, ...],
    report: Report | None,
    config: BuildConfig,
    counts: tuple[int, int, int],
) -> Overview:
    decks: dict[str, int] = {}
    tags: dict[str, int] = {}
    for note in notes:
        for fact in note.facts:
            decks[fact.deck] = decks.get(fact.deck, 0) + fact.card_count
            for tag in fact.tags:
                tags[tag] = tags.get(tag, 0) + fact.card_count
    changes = []
    for status in REPORTED:
        for change in report.of(status) if report is not None else ():
            where = display_path(config.notes / change.where)
            changes.append((status, where, change.question))
    return Overview(counts, decks, tags, changes)
