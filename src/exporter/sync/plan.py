"""What a sync will do, decided before the collection is touched: pure data in, a plan out.

Only notes whose GUIDs are in the lock are ever considered: a note the user made by hand
is never read, changed or deleted. The collection remembers, per note, a digest of the
fields and tags the last sync wrote; a note whose content differs from it was edited in
Anki, whenever that happened (a modification time, kept in whole seconds, misses an edit
made in the same second as the sync). The record moves only to what a sync itself wrote,
so an edit made in Anki stays visible to every later sync until it is overwritten on
purpose.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..model import Fact


@dataclass(frozen=True)
class InCollection:
    """One of our notes as the collection holds it."""

    note_id: int
    mod: int
    card_ords: tuple[int, ...] = ()
    digest: str = ""  # `fields_digest` of its fields and tags
    reviewed: tuple[int, ...] = ()  # the ords of its cards that have been studied
    notetype: int = 0  # its note type's id
    copies: tuple[int, ...] = ()  # other notes carrying its mark: copies made in Anki
    foreign: bool = False  # another lock's sync wrote it (its GUID is in that lock's record)


@dataclass(frozen=True)
class Held:
    """One of our notes' content as the target holds it now: fields by name, tags and
    the deck of its first card (read only for the notes edited there)."""

    fields: Mapping[str, str]
    tags: tuple[str, ...]
    deck: str


@dataclass(frozen=True)
class Synced:
    """A note as the last sync left it: its time in the collection, the time the deck
    gave the fact it came from, and the digest of the fields and tags it wrote (empty in
    records from before digests were kept)."""

    mod: int
    written: int
    digest: str = ""
    note_id: int = 0  # the note it wrote (AnkiConnect finds notes by a mark a copy shares)
    deck: str = ""  # the deck the notes named for it then


def fields_digest(fields: Mapping[str, str], tags: Iterable[str]) -> str:
    """What an edit in Anki changes: each field's value by its name (reordering a note
    type's fields edits no note) and the set of tags."""
    text = "\x1f".join(f"{k}\x1d{v}" for k, v in sorted(fields.items()))
    text += "\x1e" + " ".join(sorted(tags))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def edited_in_anki(note: InCollection, last: Synced) -> bool:
    """Whether the note differs from what the last sync left: by content where the
    record has a digest, else (an old record) by modification time."""
    if last.digest and note.digest:
        return note.digest != last.digest
    return note.mod != last.mod


@dataclass(frozen=True)
class Plan:
    add: tuple[Fact, ...] = ()
    update: tuple[Fact, ...] = ()
    conflicts: tuple[Fact, ...] = ()
    delete: tuple[str, ...] = ()  # GUIDs of removed facts still in the collection
    empty_cards: tuple[tuple[int, int], ...] = field(default=())  # (note id, card ord)
    foreign: tuple[Fact, ...] = ()  # facts whose GUID names another lock's note

    @property
    def is_empty(self) -> bool:
        return not (self.add or self.update or self.delete or self.empty_cards)


def plan(
    facts: tuple[Fact, ...],
    written: Mapping[str, int],
    removed: set[str],
    held: Mapping[str, InCollection],
    synced: Mapping[str, Synced],
    overwrite: bool = False,
) -> Plan:
    """`written`: the modification time the deck gives each fact's note (it changes
    exactly when the fact does); `removed`: the lock's removed GUIDs; `held`: our notes
    in the collection by GUID; `synced`: what the last sync left of each note."""
    add, update, conflicts, foreign = [], [], [], []
    empty: list[tuple[int, int]] = []
    for fact in facts:
        note = held.get(fact.guid)
        if note is None:
            add.append(fact)
            continue
        if note.foreign:
            foreign.append(fact)
            continue
        last = synced.get(fact.guid)
        if last is None:  # never synced here: maybe imported by hand; newer wins
            ours_changed, theirs_changed = written[fact.guid] > note.mod, False
        else:
            ours_changed = written[fact.guid] != last.written
            theirs_changed = edited_in_anki(note, last)
        if ours_changed and theirs_changed and not overwrite:
            conflicts.append(fact)
            continue
        if ours_changed:
            update.append(fact)
        if fact.kind.value == "cloze":
            wanted = {o - 1 for o in fact.card_numbers}
            empty += [(note.note_id, o) for o in note.card_ords if o not in wanted]
    delete = tuple(sorted(g for g in removed if g in held and not held[g].foreign))
    return Plan(
        tuple(add),
        tuple(update),
        tuple(conflicts),
        delete,
        tuple(sorted(empty)),
        tuple(foreign),
    )


class Refused(Exception):
    """The target cannot be synced as it is now: the message says why and what to do;
    nothing was changed."""


class NoteTypeProblem(Refused):
    """One of our note types was edited in Anki so that a sync cannot write its notes:
    the message names the note type, what is wrong, and what to do."""


@dataclass(frozen=True)
class Update:
    """One of our notes made to match its fact: `fields` by `names`, in the note type
    `notetype` (changed in place when the fact's kind changed)."""

    note_id: int
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    deck: str
    names: tuple[str, ...] = ()
    notetype: int = 0
    # Move its cards to `deck`: True when the notes changed its deck since the last sync,
    # False when they did not (a deck renamed or cards moved in Anki stay where the
    # person put them), None when unknown (an old record): only into a deck that exists.
    move: bool | None = True


@dataclass(frozen=True)
class Edit:
    """What a target is asked to do, in this order: import the package (new notes),
    store media, update notes, delete notes, delete cards (note id, card ord)."""

    package: Path | None
    updates: tuple[Update, ...]
    delete: tuple[int, ...]
    empty_cards: tuple[tuple[int, int], ...]
    # Files the updated notes show (name in the collection, file): an import brings the
    # media of new notes only.
    media: tuple[tuple[str, str], ...] = ()
    decks: Mapping[str, str] = field(default_factory=dict)  # each fact's deck, by GUID


def state_after(
    after: Mapping[str, InCollection],
    synced: Mapping[str, Synced],
    written: Mapping[str, int],
    wrote: set[str],
    decks: Mapping[str, str],
) -> dict[str, Synced]:
    """What this sync leaves of each note, for the next one to compare with. A note this
    sync wrote (`wrote`: added or updated) is recorded as it now is. Any other note keeps
    its old record, so an edit made in Anki (a kept conflict, or one made since) stays
    visible; only a note that provably still holds what was written (an old record whose
    time has not moved, or a never-synced note whose time is the deck's own) gets a
    record of its content."""
    state: dict[str, Synced] = {}
    for guid, note in after.items():
        if guid not in written or note.foreign:
            continue
        last = synced.get(guid)
        if guid in wrote:
            state[guid] = Synced(note.mod, written[guid], note.digest, note.note_id, decks[guid])
        elif last is not None and not last.digest and note.mod == last.mod:
            state[guid] = Synced(last.mod, last.written, note.digest, note.note_id, decks[guid])
        elif last is not None:
            state[guid] = last
        elif note.mod == written[guid]:
            state[guid] = Synced(note.mod, written[guid], note.digest, note.note_id, decks[guid])
    return state
