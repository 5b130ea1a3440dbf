"""What a sync will do, decided before the collection is touched: pure data in, a plan out.

Only notes whose GUIDs are in the lock are ever considered: a note the user made by hand
is never read, changed or deleted. The collection remembers, per note, the modification
time it had right after the last sync; a note whose time moved since was edited in Anki.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..model import Fact


@dataclass(frozen=True)
class InCollection:
    """One of our notes as the collection holds it."""

    note_id: int
    mod: int
    card_ords: tuple[int, ...] = ()


@dataclass(frozen=True)
class Synced:
    """A note as the last sync left it: its time in the collection, and the time the
    deck gave the fact it came from."""

    mod: int
    written: int


@dataclass(frozen=True)
class Plan:
    add: tuple[Fact, ...] = ()
    update: tuple[Fact, ...] = ()
    conflicts: tuple[Fact, ...] = ()
    delete: tuple[str, ...] = ()  # GUIDs of removed facts still in the collection
    empty_cards: tuple[tuple[int, int], ...] = field(default=())  # (note id, card ord)

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
    add, update, conflicts = [], [], []
    empty: list[tuple[int, int]] = []
    for fact in facts:
        note = held.get(fact.guid)
        if note is None:
            add.append(fact)
            continue
        last = synced.get(fact.guid)
        if last is None:  # never synced here: maybe imported by hand; newer wins
            ours_changed, theirs_changed = written[fact.guid] > note.mod, False
        else:
            ours_changed = written[fact.guid] != last.written
            theirs_changed = note.mod != last.mod
        if ours_changed and theirs_changed and not overwrite:
            conflicts.append(fact)
            continue
        if ours_changed:
            update.append(fact)
        if fact.kind.value == "cloze":
            wanted = {o - 1 for o in fact.cloze_ords}
            empty += [(note.note_id, o) for o in note.card_ords if o not in wanted]
    delete = tuple(sorted(g for g in removed if g in held))
    return Plan(tuple(add), tuple(update), tuple(conflicts), delete, tuple(sorted(empty)))


@dataclass(frozen=True)
class Update:
    """One of our notes made to match its fact."""

    note_id: int
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    deck: str


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


def state_after(
    after: Mapping[str, InCollection],
    synced: Mapping[str, Synced],
    written: Mapping[str, int],
    kept: set[str],
) -> dict[str, Synced]:
    """What this sync leaves of each note, for the next one to compare with. A kept
    conflict keeps its old record: the next sync still sees the edit made in Anki."""
    return {
        guid: synced[guid] if guid in kept and guid in synced else Synced(note.mod, written[guid])
        for guid, note in after.items()
        if guid in written
    }
