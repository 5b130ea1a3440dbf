"""Notes the last build resolved and nothing has changed since, handed on unread.

After an edit of one note in a library of a thousand, a build needs of each other note
only what its piece of the snapshot (`resolved`) says: how many facts and cards it has,
the names and fact keys the checks across notes compare, its media, and its facts'
identities, which name its deck rows. Reading each such note in full (unpickling a
hundred facts and giving them their identities) was a third of that build at 100,000
facts. So a kept note is a `Note` whose other fields are read from the parse cache the
first time anything asks for one: whatever reads a fact gets the very note a full read
gives, and what only counts or compares gets the piece's `Summary`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .model import Cloze, Fact, Media, Note

FIELDS = tuple(f.name for f in dataclasses.fields(Note))
# The fields a kept note reads when first asked. The others have class defaults (which
# would answer for a missing value), so a kept note is made with them.
LAZY = ("title", "deck", "tags", "sections", "facts")


@dataclass(frozen=True)
class Summary:
    """What a build needs of an unchanged note without reading it, kept in its piece."""

    digest: str
    ids: str  # its facts' identities (`identities_text`)
    count: int
    cards: int
    names: tuple[str, ...]  # the decks and tags its facts use
    keys: tuple[str, ...]  # each fact's question and answer, hashed (`fact_key`)
    anchors: tuple[str, ...]  # its facts' `^id`s
    media: tuple[Media, ...]
    # Each image's size and time when the note was parsed (`cache.note_entry`).
    stats: Mapping[str, Any]
    blocks: tuple[tuple[str, str], ...]
    embeds: bool

    def dumps(self) -> str:
        """One line of JSON (the identities stand on a line of their own)."""
        fields = dataclasses.asdict(self)
        del fields["ids"]
        fields["media"] = [[m.name, m.path] for m in self.media]
        return json.dumps(fields, ensure_ascii=False, sort_keys=True)

    @staticmethod
    def loads(ids: str, line: str) -> Summary:
        data = json.loads(line)
        return Summary(
            digest=str(data["digest"]),
            ids=ids,
            count=int(data["count"]),
            cards=int(data["cards"]),
            names=tuple(data["names"]),
            keys=tuple(data["keys"]),
            anchors=tuple(data["anchors"]),
            media=tuple(Media(str(n), str(p)) for n, p in data["media"]),
            stats=dict(data["stats"]),
            blocks=tuple((str(i), str(h)) for i, h in data["blocks"]),
            embeds=bool(data["embeds"]),
        )


def fact_key(fact: Fact) -> str:
    """A fact's question and answer as the check for facts written twice compares
    them, in 16 hex digits: two facts with one key are then compared in full."""
    text = f"{fact.plain_question}\x1f{fact.plain_answer}".encode()
    return hashlib.blake2b(text, digest_size=8).hexdigest()


def identity_of(fact: Fact) -> list[Any]:
    """What the build gave a fact beyond its parse: GUID, modification time and its
    deletions' numbers in order."""
    return [fact.guid, fact.mtime, fact.numbers]


def identities_text(facts: Iterable[Fact]) -> str:
    return json.dumps([identity_of(f) for f in facts], ensure_ascii=False)


def with_identity(fact: Fact, guid: str, mtime: int, ords: list[int]) -> Fact:
    """The parsed `fact` as the build resolved it (`identity_of`)."""
    if ords != fact.numbers:
        numbers = iter(ords)
        fact = fact.with_text(
            tuple(
                dataclasses.replace(s, number=next(numbers)) if isinstance(s, Cloze) else s
                for s in fact.text
            )
        )
    return fact.with_identity(guid, mtime)


def summarise(note: Note, stats: Mapping[str, Any] | None = None) -> Summary:
    """A note's summary from its fields; `stats`: its images as the parse found them."""
    facts = note.facts
    return Summary(
        digest=note.digest,
        ids=identities_text(facts),
        count=len(facts),
        cards=sum(f.card_count for f in facts),
        names=tuple(sorted({name for f in facts for name in (f.deck, *f.tags)})),
        keys=tuple(fact_key(f) for f in facts),
        anchors=tuple(f.anchor for f in facts if f.anchor),
        media=note.media,
        stats=dict(stats or {}),
        blocks=note.blocks,
        embeds=bool(note.embeds),
    )


def held(note: Note) -> Summary | None:
    """The summary a kept note was made with; None for any other note (a copy of a
    kept note made by `dataclasses.replace` is a whole note, without one)."""
    found = note.__dict__.get("_summary")
    return found if isinstance(found, Summary) else None


def summary_of(note: Note) -> Summary:
    """The note's summary: the one it was kept with, else made from its fields."""
    return held(note) or summarise(note)


def identities(note: Note) -> str:
    """Its facts' identities (`identities_text`), read from its summary when kept."""
    summary = held(note)
    return summary.ids if summary is not None else identities_text(note.facts)


class Lost(Exception):
    """A kept note could not be read after all (its parse went from the cache, or an
    image of it changed during the build): the build starts again reading every note."""


class KeptNote(Note):
    """A note as the last build resolved it, its lazy fields read on first use.

    Made by `of`, never by the dataclass constructor. A copy made by
    `dataclasses.replace` is a whole note; a pickled one is a plain `Note`."""

    @classmethod
    def of(cls, path: str, summary: Summary, load: Callable[[], Note]) -> KeptNote:
        note = object.__new__(cls)
        note.__dict__.update(
            path=path,
            media=summary.media,
            digest=summary.digest,
            embeds=(),
            blocks=summary.blocks,
            _summary=summary,
            _load=load,
        )
        return note

    def __getattr__(self, name: str) -> Any:
        # Only called for what the instance lacks: the lazy fields, until read. A read
        # that fails (`Lost`) may be tried again: a warm process keeps the note.
        load = self.__dict__.get("_load") if name in LAZY else None
        if load is None:
            raise AttributeError(name)
        full = load()
        summary = self.__dict__["_summary"]
        same = (full.digest, full.media, full.blocks, len(full.facts)) == (
            summary.digest,
            summary.media,
            summary.blocks,
            summary.count,
        )
        if not same or full.embeds:
            raise Lost(self.path)
        for field in LAZY:
            self.__dict__[field] = getattr(full, field)
        del self.__dict__["_load"]
        return self.__dict__[name]

    @property
    def fact_count(self) -> int:
        summary = held(self)
        return summary.count if summary is not None else len(self.facts)

    @property
    def card_count(self) -> int:
        summary = held(self)
        return summary.cards if summary is not None else super().card_count

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Note):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in FIELDS)

    __hash__ = Note.__hash__

    def __reduce__(self) -> tuple[Any, ...]:
        return (Note, tuple(getattr(self, f) for f in FIELDS))
