"""`sync`: make the user's Anki collection match the notes, keeping every review.

An `.apkg` import cannot delete, so a sync does what an import cannot, with the official
`anki` library on the collection file (Anki closed):

1. the notes are built as for the deck (errors stop everything; the lock is updated);
2. our notes in the collection (by the lock's GUIDs) are compared with the facts and
   with what the last sync left (`plan`);
3. new facts are added and edited ones updated through Anki's own import, removed facts'
   notes and removed cloze deletions' cards are deleted; a note edited in Anki since the
   last sync is reported and kept unless `overwrite`; a fact whose kind changed changes
   its note's type in place;
4. all of it in one go on a collection backed up and journalled first (`journal`),
   restored if anything fails, and rolled back by the next sync if the process is killed.

Deleting a studied card, more than `GUARD_COUNT` notes or a `GUARD_SHARE` of ours stops
and asks for `yes`. Notes the user made by hand, copies of ours made in Anki and notes
another lock synced are never changed.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .. import exporters, identity
from ..config import BuildConfig
from ..diagnostics import Diagnostic
from ..model import Deck, Fact
from ..pipeline import build, examine
from ..sources import display_path
from ..store import Store
from .collection import CollectionBusy, CollectionUnreadable
from .plan import Edit, Held, InCollection, Plan, Refused, Synced, Update, plan

GUARD_COUNT = 10
# The fields a build makes from where a fact stands, not from what it says: its place
# (line numbers move with edits above) and its headings.
DERIVED = ("Context", "Source")
GUARD_SHARE = 0.1


class Target(Protocol):
    """Where a sync writes: a collection file, or a running Anki through AnkiConnect."""

    deletes_cards: bool  # single cards, for removed cloze deletions

    @property
    def label(self) -> str:
        """The target as messages name it."""
        ...

    @property
    def busy_hint(self) -> str:
        """Why it could not be opened and what to do, after "cannot open {label}:"."""
        ...

    def read(
        self, guids: Iterable[str], owner: str
    ) -> tuple[dict[str, InCollection], dict[str, Synced]]:
        """Our notes there by GUID, and what this lock's (`owner`) last sync left of each;
        a note another lock's sync wrote is marked `foreign`."""
        ...

    def change(
        self,
        edit: Edit,
        guids: Iterable[str],
        synced: dict[str, Synced],
        written: dict[str, int],
        wrote: set[str],
        owner: str,
    ) -> list[str]:
        """Do `edit`, then record what it left (`plan.state_after`); `wrote` are the
        GUIDs of the notes this sync adds or updates. Lines to print (where the backup
        is)."""
        ...

    def recover(self) -> list[str]:
        """Finish or roll back a sync that was killed half way; lines to print."""
        ...

    def afterwards(self, leftover: tuple[tuple[int, int], ...]) -> list[str]:
        """What the person still has to do by hand: the empty cards it cannot delete."""
        ...

    def contents(self, guids: list[str]) -> dict[str, Held]:
        """Our notes' fields, tags and deck as they are now, by GUID."""
        ...


@dataclass(frozen=True)
class SyncOptions:
    target: Target
    dry_run: bool = False
    overwrite: bool = False
    yes: bool = False


@dataclass(frozen=True)
class SyncResult:
    ok: bool
    lines: tuple[str, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    plan: Plan | None = None
    changed: bool = False


def sync(
    config: BuildConfig,
    options: SyncOptions,
    now: Callable[[], int] = lambda: int(time.time()),
) -> SyncResult:
    deck_config = dataclasses.replace(config, formats=("apkg",), dry_run=options.dry_run)
    built = build(deck_config, now=now)
    if not built.ok:
        return SyncResult(False, ("nothing was synced: the notes have errors",), built.diagnostics)
    deck, lock = resolved(deck_config, now)
    removed = {e.guid for e in lock.entries if e.removed}
    from ..exporters.anki import written_mtime

    written = {f.guid: written_mtime(f) for f in deck.facts}
    target = options.target
    guids = [e.guid for e in lock.entries]
    try:
        recovered = target.recover()
        held, synced = target.read(guids, lock.id)
    except (CollectionBusy, Refused) as exc:
        return failed(target, exc)
    todo = plan(deck.facts, written, removed, held, synced, options.overwrite)
    try:
        settled = agreeing(deck, written, held, synced, target)
    except (CollectionBusy, Refused) as exc:
        return failed(target, exc)
    leftover: tuple[tuple[int, int], ...] = ()
    if not target.deletes_cards:
        leftover, todo = todo.empty_cards, dataclasses.replace(todo, empty_cards=())
    todo, kinds, gone = kind_changes(todo, held, config)
    lines = recovered + describe(todo, config) + kinds + copies(held, deck, config)
    studied = reviewed_losses(todo, held, deck, config) + gone
    lines += studied
    stop = []
    if guarded(len(todo.delete), len(held)):
        stop.append(f"delete {len(todo.delete)} of the {len(held)} notes it made")
    if studied:
        stop.append(f"delete {len(studied)} cards you have studied (their reviews go too)")
    if kinds:
        stop.append(
            f"change the note type of {len(kinds)} notes, after which Anki asks for a "
            "one-way sync with AnkiWeb (upload this collection when it does)"
        )
    if stop and not (options.yes or options.dry_run):
        lines.append(
            f"stopped: this sync would {' and '.join(stop)}; nothing was changed. "
            "Check the list above, then sync again with --yes"
        )
        return SyncResult(False, tuple(lines), built.diagnostics, todo)
    if options.dry_run:
        lines.append("dry run: nothing was changed")
        return SyncResult(True, tuple(lines), built.diagnostics, todo)
    if todo.is_empty and not settled:
        lines.append("nothing to do")
    else:
        if todo.is_empty:
            lines.append("nothing to do but note that Anki and the notes agree again")
        # A note that holds what the notes say (an edit pulled back) is recorded as it
        # is, as if this sync had written it: it is edited in Anki no more.
        wrote = {f.guid for f in (*todo.add, *todo.update)} | settled
        try:
            with tempfile.TemporaryDirectory() as tmp:
                edit = edit_for(config, deck, todo, held, synced, Path(tmp))
                done = target.change(edit, guids, synced, written, wrote, lock.id)
        except (CollectionBusy, Refused) as exc:
            return failed(target, exc)
        lines.append(f"synced {target.label}")
        lines += done
    lines += target.afterwards(leftover)
    if identity.pending_removals(lock, config.scope):
        # The collection now holds none of the removed facts: stop reminding.
        build(dataclasses.replace(deck_config, forget_removed=True), now=now)
    return SyncResult(True, tuple(lines), built.diagnostics, todo, changed=not todo.is_empty)


def agreeing(
    deck: Deck,
    written: dict[str, int],
    held: dict[str, InCollection],
    synced: dict[str, Synced],
    target: Target,
) -> set[str]:
    """The notes edited in Anki whose facts were not edited in the notes, and that hold
    what the notes now say, as `pull` compares fields: an edit `pull --apply` brought
    back into the notes. Their content is read only when there are some."""
    from ..exporters.anki import named_fields
    from .markdown_back import normal
    from .plan import edited_in_anki

    facts = [
        f
        for f in deck.facts
        if f.guid in held
        and f.guid in synced
        and written[f.guid] == synced[f.guid].written
        and edited_in_anki(held[f.guid], synced[f.guid])
    ]
    if not facts:
        return set()
    now = target.contents([f.guid for f in facts])
    notes = {n.path: n for n in deck.notes}
    settled = set()
    for fact in facts:
        anki = now.get(fact.guid)
        if anki is None or sorted(anki.tags) != sorted(fact.tags):
            continue
        ours = named_fields(fact, notes[fact.path])
        own = [n for n in ours if n not in DERIVED]
        if set(anki.fields) == set(ours) and all(
            normal(ours[n]) == normal(anki.fields[n]) for n in own
        ):
            settled.add(fact.guid)
    return settled


def kind_changes(
    todo: Plan, held: dict[str, InCollection], config: BuildConfig
) -> tuple[Plan, list[str], list[str]]:
    """Updated facts whose kind changed (`:::` ↔ `::` ↔ cloze): their notes change note
    type in place, keeping the note and the cards the new type still has. The plan less
    those notes' empty cards (the change itself removes them); a line for each change
    naming the cards that go; a line for each of those that was studied."""
    from ..exporters.anki import NOTE_TYPES, card_ords

    lines, studied, changed = [], [], set()
    for fact in todo.update:
        note = held[fact.guid]
        notetype = NOTE_TYPES[fact.kind][0]
        if not note.notetype or note.notetype == notetype:
            continue
        changed.add(note.note_id)
        going = sorted(set(note.card_ords) - set(card_ords(fact)))
        cards = ", ".join(f"card {o + 1}" for o in going) if going else "no card"
        lines.append(
            f"  kind     {place(fact, config)}  {fact.plain_question} — now "
            f"{fact.kind.value}: the note changes type in place; {cards} goes"
        )
        studied += [
            f"  studied  card {o + 1} of {place(fact, config)}, which its new kind lacks"
            for o in going
            if o in note.reviewed
        ]
    empty = tuple(c for c in todo.empty_cards if c[0] not in changed)
    return dataclasses.replace(todo, empty_cards=empty), lines, studied


def copies(held: dict[str, InCollection], deck: Deck, config: BuildConfig) -> list[str]:
    """A line for each note that carries one of our marks but is a copy made in Anki."""
    facts = {f.guid: f for f in deck.facts}
    lines = []
    for guid, note in sorted(held.items()):
        where = place(facts.get(guid), config, guid)
        lines += [
            f"  copy     note {copy} is a copy made in Anki of {where}'s note: left alone"
            for copy in note.copies
        ]
    return lines


def reviewed_losses(
    todo: Plan, held: dict[str, InCollection], deck: Deck, config: BuildConfig
) -> list[str]:
    """A line for each studied card the plan deletes: a removed fact's note takes all its
    cards, a removed cloze deletion one. Counted in cards, not notes, so regrouping a
    table's clozes cannot delete a term's reviews without asking."""
    lines = []
    for guid in todo.delete:
        for ord_ in held[guid].reviewed:
            lines.append(f"  studied  card {ord_ + 1} of the removed fact's note ({guid})")
    by_note = {n.note_id: (guid, n) for guid, n in held.items()}
    facts = {f.guid: f for f in deck.facts}
    for note_id, ord_ in todo.empty_cards:
        guid, note = by_note[note_id]
        if ord_ in note.reviewed:
            where = place(facts.get(guid), config, guid)
            lines.append(f"  studied  cloze c{ord_ + 1} of {where}, no longer in the note")
    return lines


def guarded(deleting: int, owned: int) -> bool:
    """Many deletions at once are more often a moved or unreadable folder than a wish."""
    return deleting > GUARD_COUNT or (deleting > 1 and deleting > GUARD_SHARE * owned)


def resolved(config: BuildConfig, now: Callable[[], int]) -> tuple[Deck, identity.Lock]:
    """The notes with their identities, as the deck just built has them."""
    examined = examine(config)
    assert examined.lock is not None
    signatures = exporters.get("apkg").signatures(config)
    deck, lock, _ = identity.resolve(examined.deck, examined.lock, now, signatures, config.scope)
    return deck, lock


def edit_for(
    config: BuildConfig,
    deck: Deck,
    todo: Plan,
    held: dict[str, InCollection],
    synced: dict[str, Synced],
    folder: Path,
) -> Edit:
    """The plan as a target's work: new notes through Anki's own import (note types,
    decks, media; updated ones ride along only for their media), the rest note by note."""
    from ..exporters.anki import NOTE_TYPES, fields_for

    changing = {f.guid for f in (*todo.add, *todo.update)}
    package = write_package(config, subset(deck, changing), folder) if changing else None
    notes = {note.path: note for note in deck.notes}
    updates = tuple(
        Update(
            held[f.guid].note_id,
            tuple(fields_for(f, notes[f.path])),
            f.tags,
            f.deck,
            NOTE_TYPES[f.kind][1],
            NOTE_TYPES[f.kind][0],
            move=moves(synced.get(f.guid), f.deck),
        )
        for f in todo.update
    )
    updated_notes = {f.path for f in todo.update}
    media = tuple(
        sorted({(m.name, m.path) for n in deck.notes if n.path in updated_notes for m in n.media})
    )
    deleted = tuple(held[g].note_id for g in todo.delete)
    decks = {f.guid: f.deck for f in deck.facts}
    return Edit(package, updates, deleted, todo.empty_cards, media, decks)


def moves(last: Synced | None, deck: str) -> bool | None:
    """Whether an updated note's cards go to `deck` (`Update.move`)."""
    if last is None:
        return True
    return None if not last.deck else last.deck != deck


def subset(deck: Deck, guids: set[str]) -> Deck:
    return deck.keeping(lambda fact: fact.guid in guids)


def write_package(config: BuildConfig, deck: Deck, folder: Path) -> Path:
    exporter = exporters.get("apkg")
    out_config = dataclasses.replace(config, out=folder, formats=("apkg",))
    (target,) = exporter.targets(deck, out_config)
    exporter.export(deck, out_config, {target: target}, Store(folder))  # a scratch store
    return target


def place(fact: Fact | None, config: BuildConfig, guid: str = "") -> str:
    """Where a fact is written, as every sync line names it (its GUID when the notes
    no longer hold it)."""
    if fact is None:
        return guid
    return f"{display_path(config.notes / fact.path)}:{fact.line}"


def describe(todo: Plan, config: BuildConfig) -> list[str]:
    def where(fact: Fact) -> str:
        return f"{place(fact, config)}  {fact.plain_question}"

    lines = [
        f"sync: {len(todo.add)} to add, {len(todo.update)} to update, "
        f"{len(todo.delete)} to delete, {len(todo.empty_cards)} empty cloze cards to delete, "
        f"{len(todo.conflicts)} edited in Anki"
    ]
    lines += [f"  add      {where(f)}" for f in todo.add]
    lines += [f"  update   {where(f)}" for f in todo.update]
    lines += [f"  delete   the note of a removed fact ({g})" for g in todo.delete]
    lines += [
        f"  kept     {where(f)} — edited in Anki since the last sync; "
        "run with --overwrite to replace it with the note's version"
        for f in todo.conflicts
    ]
    lines += [
        f"  other    {where(f)} — the collection's note with its identity belongs to "
        "another notes folder's sync; left alone. Give the fact an ^id of its own (the "
        "same ^id in two folders names one note) and sync again"
        for f in todo.foreign
    ]
    return lines


def failed(target: Target, exc: Exception) -> SyncResult:
    """The one line a sync that could not be done prints."""
    if isinstance(exc, CollectionBusy):
        return SyncResult(False, (f"cannot open {target.label}: {target.busy_hint}",))
    if isinstance(exc, CollectionUnreadable):
        return SyncResult(False, (f"cannot open {target.label}: {exc}; nothing was changed",))
    return SyncResult(False, (f"cannot sync {target.label}: {exc}",))
