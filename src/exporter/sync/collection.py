"""The user's Anki collection through the official `anki` library: opened only when Anki
does not hold it, changed in one go, and put back as it was if anything fails.

What the collection holds of ours is found by GUID (the lock's); what it looked like
right after the last sync is kept in the collection's own config, so a later sync can
tell a note edited in Anki from one it wrote itself.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .journal import Journal, copy_collection
from .plan import (
    Edit,
    Held,
    InCollection,
    NoteTypeProblem,
    Refused,
    Synced,
    Update,
    fields_digest,
    state_after,
)

STATE_KEY = "exporter-sync"


class CollectionBusy(Exception):
    """The collection cannot be reached now: Anki has the file open, or (AnkiConnect)
    Anki is not running."""


class CollectionUnreadable(Refused):
    """The file is not a collection this library can open: its message says what is
    wrong with it and what to do."""


def open_problem(path: Path, exc: Exception) -> Exception:
    """What a failure to open `path` means: Anki holding it (`CollectionBusy`), or the
    file itself (`CollectionUnreadable`, saying which of the usual things it is)."""
    text = str(exc)
    if "already open" in text:
        return CollectionBusy(text)
    if "FileTooNew" in text:
        why = (
            "it was saved by a newer Anki than this tool's anki library reads — "
            "upgrade the library: pip install -U anki"
        )
    elif "NotADatabase" in text:
        why = "it is not an Anki collection (not an SQLite database) — check the path"
    elif "CannotOpen" in text or "readonly" in text.lower() or "ReadOnly" in text:
        why = "it cannot be opened for writing — check its permissions and its folder's"
    else:
        why = text
    return CollectionUnreadable(why)


@contextlib.contextmanager
def opened(path: Path) -> Iterator[Any]:
    """The collection, closed afterwards; `CollectionBusy` when Anki holds it,
    `CollectionUnreadable` when the file is no collection this library can open."""
    from anki.collection import Collection
    from anki.errors import DBError

    if path.is_dir():
        raise CollectionUnreadable("it is a folder — give the collection.anki2 file inside it")
    if not path.parent.is_dir():
        raise CollectionUnreadable(f"its folder {path.parent} does not exist — check the path")
    try:
        col = Collection(str(path))
    except DBError as exc:
        raise open_problem(path, exc) from exc
    try:
        yield col
    finally:
        col.close()


@contextlib.contextmanager
def copied(path: Path) -> Iterator[Path]:
    """A copy of the collection (and its write-ahead log) in a temporary folder: opening
    it may upgrade or write it, and the original stays as it was."""
    if path.is_dir() or not path.exists():
        raise CollectionUnreadable(
            "it is a folder — give the collection.anki2 file inside it"
            if path.is_dir()
            else "it does not exist — check the path"
        )
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "collection.anki2"
        copy_collection(path, copy)
        yield copy


def our_notes(
    col: Any, guids: Iterable[str], foreign: Iterable[str] = ()
) -> dict[str, InCollection]:
    """Our notes by GUID; those in `foreign` (another lock's record) are marked so."""
    wanted, others = set(guids), set(foreign)
    held: dict[str, InCollection] = {}
    names: dict[int, list[str]] = {}
    for note_id, guid, mod, flds, tags, mid in col.db.all(
        "select id, guid, mod, flds, tags, mid from notes"
    ):
        if guid in wanted:
            cards = col.db.all(
                "select ord, (type != 0 or reps > 0 or exists "
                "(select 1 from revlog where cid = cards.id)) from cards where nid = ? "
                "order by ord",
                note_id,
            )
            held[guid] = InCollection(
                note_id,
                mod,
                tuple(o for o, _ in cards),
                fields_digest(
                    dict(zip(field_names(col, mid, names), flds.split("\x1f"), strict=False)),
                    tags.split(),
                ),
                tuple(o for o, studied in cards if studied),
                mid,
                foreign=guid in others,
            )
    return held


def field_names(col: Any, notetype: int, known: dict[int, list[str]]) -> list[str]:
    """A note type's field names in order, looked up once a read."""
    if notetype not in known:
        model = col.models.get(notetype)
        known[notetype] = [f["name"] for f in model["flds"]] if model else []
    return known[notetype]


def check_note_types(col: Any) -> None:
    """Our note types as Anki now has them must still hold every field we write (by
    name: a reordered field is fine). Anki's import would otherwise clone the note type
    ("Exporter Basic+") and an update would have nowhere to write."""
    from ..exporters.anki import NOTE_TYPE_NAMES, NOTE_TYPES

    owned = {notetype: names for notetype, names in NOTE_TYPES.values()}
    for notetype, names in sorted(owned.items()):
        model = col.models.get(notetype)
        if model is None:
            continue
        has = [f["name"] for f in model["flds"]]
        lacking = [n for n in names if n not in has]
        if lacking:
            raise NoteTypeProblem(
                f"the note type '{model['name']}' (made as '{NOTE_TYPE_NAMES[notetype]}') "
                f"has no field {', '.join(repr(n) for n in lacking)}; its fields are "
                f"{', '.join(repr(n) for n in has)}; nothing was changed — in Anki, "
                "Tools › Manage Note Types › Fields: add or rename the field back, "
                "then sync again"
            )


def state_key(owner: str) -> str:
    """Where the collection keeps what one lock's syncs left: each notes folder that
    syncs into it has its own record."""
    return f"{STATE_KEY}:{owner}"


def synced_state(col: Any, owner: str) -> dict[str, Synced]:
    """What this lock's last sync left; a collection synced before records were kept
    per lock has one shared record, read until this lock writes its own."""
    state = col.get_config(state_key(owner), None)
    if state is None:
        state = col.get_config(STATE_KEY, {})
    if not isinstance(state, dict):
        return {}
    out = {}
    for guid, value in state.items():
        with contextlib.suppress(TypeError, ValueError, IndexError):
            digest = str(value[2]) if len(value) > 2 else ""
            deck = str(value[3]) if len(value) > 3 else ""
            out[str(guid)] = Synced(int(value[0]), int(value[1]), digest, 0, deck)
    return out


def foreign_guids(col: Any, owner: str) -> set[str]:
    """The GUIDs other locks' syncs wrote into this collection."""
    found: set[str] = set()
    for key, state in col.all_config().items():
        if key.startswith(f"{STATE_KEY}:") and key != state_key(owner) and isinstance(state, dict):
            found.update(str(g) for g in state)
    return found


def import_package(col: Any, package: Path) -> None:
    """Anki's own import, for what it does best: new notes with their note types, decks
    and media. Existing notes are left to `update` (Anki's import skips a note whose
    time equals the one it has, whatever it is told)."""
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest
    from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition as Condition

    options = ImportAnkiPackageOptions(
        update_notes=Condition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_NEVER,
        update_notetypes=Condition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
        with_scheduling=False,
    )
    col.import_anki_package(ImportAnkiPackageRequest(package_path=str(package), options=options))


def update(col: Any, u: Update) -> None:
    """One note made to match its fact: fields by name, tags and deck, in the note type
    of the fact's kind (changed in place, which keeps the note and the cards the new
    type still has); its cards' scheduling and review history stay as they are."""
    note = col.get_note(u.note_id)
    if u.notetype and note.mid != u.notetype:
        change_note_type(col, u.note_id, note.mid, u.notetype)
        note = col.get_note(u.note_id)
    for name, value in zip(u.names, u.fields, strict=True):
        note[name] = value
    note.tags = list(u.tags)
    col.update_note(note)
    if u.move is False or (u.move is None and col.decks.id_for_name(u.deck) is None):
        return  # the deck is as the last sync left it, or was renamed in Anki
    deck_id = col.decks.id(u.deck)
    moved = [c for c in note.card_ids() if col.get_card(c).did != deck_id]
    if moved:
        col.set_deck(moved, deck_id)


def change_note_type(col: Any, note_id: int, old: int, new: int) -> None:
    """Anki's own Change Note Type, with its default maps: fields and card templates by
    name, else by position; a template the new type lacks takes its cards with it."""
    info = col.models.change_notetype_info(old_notetype_id=old, new_notetype_id=new)
    request = info.input
    request.note_ids.extend([note_id])
    col.models.change_notetype_of_notes(request)


def remove(col: Any, note_ids: list[int], cards: list[tuple[int, int]]) -> None:
    if note_ids:
        col.remove_notes(note_ids)
    card_ids = [
        col.db.scalar("select id from cards where nid = ? and ord = ?", nid, ord_)
        for nid, ord_ in cards
    ]
    if card_ids:
        col.remove_cards_and_orphaned_notes([c for c in card_ids if c])


def drop_empty_decks(col: Any, before: set[int]) -> None:
    """The import makes every deck the package names, also for the updated notes that
    ride along in it; a deck this sync made that holds no card is removed again (a deck
    renamed in Anki is not made a second time under its old name)."""
    for deck in col.decks.all_names_and_ids():
        if deck.id not in before and not col.decks.card_count(deck.id, include_subdecks=True):
            col.decks.remove([deck.id])


def remember(col: Any, state: dict[str, Synced], owner: str) -> None:
    col.set_config(
        state_key(owner),
        {g: [s.mod, s.written, s.digest, s.deck] for g, s in sorted(state.items())},
    )


@dataclass(frozen=True)
class LocalCollection:
    """A collection file, changed with the `anki` library while Anki is closed."""

    path: Path
    journal: Journal
    read_only: bool = False  # a dry run: read a copy, so not even an upgrade is written

    @property
    def label(self) -> str:
        from ..sources import display_path

        return display_path(self.path)

    @property
    def busy_hint(self) -> str:
        return (
            "Anki has it open; nothing was changed — close Anki and sync again, "
            "or sync through the running Anki with --anki-connect"
        )

    def read(
        self, guids: Iterable[str], owner: str
    ) -> tuple[dict[str, InCollection], dict[str, Synced]]:
        with self._reading() as col:
            check_note_types(col)
            foreign = foreign_guids(col, owner)
            return our_notes(col, guids, foreign), synced_state(col, owner)

    def contents(self, guids: Iterable[str]) -> dict[str, Held]:
        """Our notes' fields, tags and deck now, by GUID (for `pull` and the settled
        notes of a sync)."""
        wanted = set(guids)
        out: dict[str, Held] = {}
        names: dict[int, list[str]] = {}
        with self._reading() as col:
            for note_id, guid, flds, tags, mid in col.db.all(
                "select id, guid, flds, tags, mid from notes"
            ):
                if guid not in wanted:
                    continue
                did = col.db.scalar("select did from cards where nid = ? order by ord", note_id)
                deck = col.decks.name(did) if did else ""
                fields = dict(zip(field_names(col, mid, names), flds.split("\x1f"), strict=False))
                out[guid] = Held(fields, tuple(tags.split()), deck)
        return out

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Any]:
        """The collection itself, or for a dry run a copy of it."""
        if self.read_only:
            with copied(self.path) as copy, opened(copy) as col:
                yield col
        else:
            with opened(self.path) as col:
                yield col

    def change(
        self,
        edit: Edit,
        guids: Iterable[str],
        synced: dict[str, Synced],
        written: dict[str, int],
        wrote: set[str],
        owner: str,
    ) -> list[str]:
        """Everything in one go, on a backed-up, journalled collection."""
        with self.journal.around(self.path) as backup, opened(self.path) as col:
            decks_before = {d.id for d in col.decks.all_names_and_ids()}
            if edit.package is not None:
                import_package(col, edit.package)
            for name, path in edit.media:
                col.media.write_data(name, Path(path).read_bytes())
            for u in edit.updates:
                update(col, u)
            remove(col, list(edit.delete), list(edit.empty_cards))
            drop_empty_decks(col, decks_before)
            after = our_notes(col, guids, foreign_guids(col, owner))
            remember(col, state_after(after, synced, written, wrote, edit.decks), owner)
        from ..sources import display_path

        return [f"the collection as it was before this sync: {display_path(backup)}"]

    def recover(self) -> list[str]:
        return [] if self.read_only else self.journal.recover(self.path)

    deletes_cards = True

    def afterwards(self, leftover: tuple[tuple[int, int], ...]) -> list[str]:
        return []
