"""`sync`: make the user's Anki collection match the notes, keeping every review.

An `.apkg` import cannot delete, so a sync does what an import cannot, with the official
`anki` library on the collection file (Anki closed):

1. the notes are built as for the deck (errors stop everything; the lock is updated);
2. our notes in the collection (by the lock's GUIDs) are compared with the facts and
   with what the last sync left (`plan`);
3. new facts are added and edited ones updated through Anki's own import, removed facts'
   notes and removed cloze deletions' cards are deleted; a note edited in Anki since the
   last sync is reported and kept unless `overwrite`;
4. all of it in one go on a collection backed up first, and restored if anything fails.

Deleting more than `GUARD_COUNT` notes or a `GUARD_SHARE` of ours stops and asks for
`yes`. Notes the user made by hand are never read or touched.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import exporters, identity
from ..config import BuildConfig
from ..diagnostics import Diagnostic
from ..model import Deck, Fact
from ..pipeline import build, examine
from ..sources import display_path
from . import collection
from .collection import CollectionBusy
from .plan import Plan, Synced, plan

GUARD_COUNT = 10
GUARD_SHARE = 0.1


@dataclass(frozen=True)
class SyncOptions:
    collection: Path
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
    try:
        with collection.opened(options.collection) as col:
            held = collection.our_notes(col, [e.guid for e in lock.entries])
            synced = collection.synced_state(col)
    except CollectionBusy:
        return busy(options)
    todo = plan(deck.facts, written, removed, held, synced, options.overwrite)
    lines = describe(todo, config)
    if guarded(len(todo.delete), len(held)) and not (options.yes or options.dry_run):
        lines.append(
            f"stopped: this sync would delete {len(todo.delete)} of the {len(held)} notes "
            "it made; nothing was changed. Check the list above, then sync again with --yes"
        )
        return SyncResult(False, tuple(lines), built.diagnostics, todo)
    if options.dry_run:
        lines.append("dry run: nothing was changed")
        return SyncResult(True, tuple(lines), built.diagnostics, todo)
    if todo.is_empty:
        lines.append("nothing to do")
    else:
        try:
            apply(config, options, deck, todo, held, synced, written)
        except CollectionBusy:
            return busy(options)
        lines.append(f"synced {display_path(options.collection)}")
    if identity.pending_removals(lock, config.scope):
        # The collection now holds none of the removed facts: stop reminding.
        build(dataclasses.replace(deck_config, forget_removed=True), now=now)
    return SyncResult(True, tuple(lines), built.diagnostics, todo, changed=not todo.is_empty)


def guarded(deleting: int, owned: int) -> bool:
    """Many deletions at once are more often a moved or unreadable folder than a wish."""
    return deleting > GUARD_COUNT or (deleting > 1 and deleting > GUARD_SHARE * owned)


def resolved(config: BuildConfig, now: Callable[[], int]) -> tuple[Deck, identity.Lock]:
    """The notes with their identities, as the deck just built has them."""
    examined = examine(config)
    assert examined.lock is not None
    stamps = exporters.get("apkg").signatures(config)
    deck, lock, _ = identity.resolve(examined.deck, examined.lock, now, stamps, config.scope)
    return deck, lock


def apply(
    config: BuildConfig,
    options: SyncOptions,
    deck: Deck,
    todo: Plan,
    held: dict[str, collection.InCollection],
    synced: dict[str, Synced],
    written: dict[str, int],
) -> None:
    """Everything the plan says, on a backed-up collection."""
    from ..exporters.anki import fields_for

    # New notes come through Anki's import (note types, decks, media); updated ones ride
    # along only for their media.
    changing = {f.guid for f in (*todo.add, *todo.update)}
    notes_by_path = {note.path: note for note in deck.notes}
    with tempfile.TemporaryDirectory() as tmp, collection.backed_up(options.collection):
        package = None
        if changing:
            package = write_package(config, subset(deck, changing), Path(tmp))
        with collection.opened(options.collection) as col:
            if package is not None:
                collection.import_package(col, package)
            for fact in todo.update:
                fields = fields_for(fact, notes_by_path[fact.path])
                collection.update(col, held[fact.guid].note_id, fields, fact.tags, fact.deck)
            collection.remove(col, [held[g].note_id for g in todo.delete], list(todo.empty_cards))
            after = collection.our_notes(col, [f.guid for f in deck.facts])
            kept = {f.guid for f in todo.conflicts}
            state = {
                guid: synced[guid]
                if guid in kept and guid in synced
                else Synced(note.mod, written[guid])
                for guid, note in after.items()
            }
            collection.remember(col, state)


def subset(deck: Deck, guids: set[str]) -> Deck:
    notes = []
    for note in deck.notes:
        facts = tuple(f for f in note.facts if f.guid in guids)
        if facts:
            notes.append(dataclasses.replace(note, facts=facts))
    return dataclasses.replace(deck, notes=tuple(notes))


def write_package(config: BuildConfig, deck: Deck, folder: Path) -> Path:
    exporter = exporters.get("apkg")
    out_config = dataclasses.replace(config, out=folder, formats=("apkg",))
    (target,) = exporter.targets(deck, out_config)
    exporter.export(deck, out_config, {target: target})
    return target


def describe(todo: Plan, config: BuildConfig) -> list[str]:
    def where(fact: Fact) -> str:
        return f"{display_path(config.notes / fact.path)}:{fact.line}  {fact.plain_question}"

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
    return lines


def busy(options: SyncOptions) -> SyncResult:
    return SyncResult(
        False,
        (
            f"cannot open {display_path(options.collection)}: Anki has it open; nothing was "
            "changed — close Anki (or its profile) and sync again",
        ),
    )
