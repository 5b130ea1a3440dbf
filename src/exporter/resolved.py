"""What the last build resolved, note by note, so that a rebuild after an edit matches
only the facts of the notes that changed, and writes the lock from kept lines instead of
re-reading and re-writing every entry: an edit costs what the edit is.

It serves a build only while the lock is, byte for byte, the one the last build wrote (a
checkout or a hand edit of the lock falls back to the full match), and only for a whole
build (a `--notes` part of the folder always matches in full).

Why leaving unchanged notes out gives the full match's answer: after a build every live
lock entry holds its fact's exact question, answer, file and heading path. In the full
match an unchanged fact meets its own entry in the second pass with the highest score
that pass gives (same text, same file, same heading), higher than any fact of another file
can score for it, so the pair is claimed before anything else could take either, and no
later pass sees them. The facts and entries that remain are exactly those of the changed
notes and the removed facts, in the same order. A note holding two identical facts is
always matched again, since there the full match orders the pair by GUID; new GUIDs are
chosen knowing every GUID in use.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import identity
from .cache import PARSE_CODE, ParsedNotes, code_digest, media_unchanged
from .config import BuildConfig
from .identity import Change, Lock, LockEntry, Report, compose, entry_line
from .kept import KeptNote, Lost, Summary, summarise, with_identity
from .model import Deck, Note
from .store import Area, Store

VERSION = 7
AREA = "resolved"
# The code a kept piece is made by: the parse and the matching.
CODE = (*PARSE_CODE, "identity.py", "resolved.py", "kept.py")
INDEX = "index.json"


# Between two facts' lines in the lock. A line is one JSON object, which writes a line
# break inside a string as `\n`: this never occurs within a line.
BETWEEN = ",\n"


@dataclass(frozen=True)
class Piece:
    """One note as the build resolved it, and its live facts' lines of the lock file (by
    GUID) as one block, as they stand in the lock: the lock is written from the blocks
    of unchanged notes without splitting them. The entries themselves are read back
    only when the note has changed and its old facts join the match."""

    note: Note
    block: str
    # The snapshot file it was kept from, if it was, and its record in the index:
    # nothing to write again.
    file: str = ""
    record: Mapping[str, Any] = field(default_factory=dict)

    @property
    def entries(self) -> tuple[LockEntry, ...]:
        return entries_of(self.block)


def entries_of(block: str) -> tuple[LockEntry, ...]:
    lines = block.split(BETWEEN) if block else []
    return tuple(identity.entry_from_json(json.loads(line), i) for i, line in enumerate(lines))


@dataclass(frozen=True)
class Resolution:
    """A resolved build: the deck with identities, what changed, the lock's text, and
    the pieces the next build keeps."""

    deck: Deck
    report: Report
    lock_text: str
    has_facts: bool
    pieces: tuple[Piece, ...]
    removed: tuple[LockEntry, ...]
    stamps: Mapping[str, tuple[str, int]]
    lock_id: str


def piece(note: Note, entries: Iterable[LockEntry]) -> Piece:
    ordered = sorted(entries, key=lambda e: e.guid)
    return Piece(note, BETWEEN.join(entry_line(e) for e in ordered))


def by_file(entries: Iterable[LockEntry]) -> tuple[dict[str, list[LockEntry]], list[LockEntry]]:
    """The live entries by the file their fact is in, and the removed ones."""
    live: dict[str, list[LockEntry]] = {}
    removed = []
    for entry in entries:
        if entry.removed:
            removed.append(entry)
        else:
            live.setdefault(entry.path, []).append(entry)
    return live, removed


def lock_text(
    stamps: Mapping[str, tuple[str, int]],
    pieces: Iterable[Piece],
    removed: Iterable[LockEntry],
    lock_id: str,
) -> str:
    """The lock file, as `Lock.dumps` writes it: live facts by file then GUID, then the
    removed ones the same way."""
    blocks = [p.block for p in sorted(pieces, key=lambda p: p.note.path) if p.block]
    blocks += [entry_line(e) for e in sorted(removed, key=lambda e: (e.path, e.guid))]
    return compose(stamps, blocks, lock_id)  # joined as lines are, so blocks need not split


def full(
    deck: Deck,
    lock: Lock,
    now: Callable[[], int],
    signatures: Mapping[str, str],
    scope: str,
    forget: bool,
) -> Resolution:
    """Every fact matched against the whole lock (`identity.resolve`)."""
    new_deck, new_lock, report = identity.resolve(deck, lock, now, signatures, scope)
    if forget:
        new_lock = identity.forget(new_lock, {e.guid for e in report.pending})
        report = Report(report.changes, report.stamps_changed, ())
    if scope:
        # The lock keeps other folders' facts; this build's pieces would not hold them.
        return Resolution(
            new_deck,
            report,
            new_lock.dumps(),
            bool(new_lock.entries),
            (),
            (),
            new_lock.stamps,
            new_lock.id,
        )
    by_path, removed = by_file(new_lock.entries)
    pieces = tuple(piece(n, by_path.get(n.path, ())) for n in new_deck.notes)
    text = lock_text(new_lock.stamps, pieces, removed, new_lock.id)
    return Resolution(
        new_deck,
        report,
        text,
        bool(new_lock.entries),
        pieces,
        tuple(removed),
        new_lock.stamps,
        new_lock.id,
    )


@dataclass
class Snapshot:
    """The last build's pieces, read lazily: the index at once, a note's piece when it
    is asked for (`note`) or when its note changed (its old entries join the match)."""

    store: Store
    notes: dict[str, dict[str, Any]]
    removed: tuple[LockEntry, ...]
    stamps: dict[str, tuple[str, int]]
    lock_id: str
    kept: dict[str, Piece] = field(default_factory=dict)
    # Whether kept notes are read only when asked (`kept.KeptNote`); else at once, so a
    # parse lost from the cache is parsed again instead (after `kept.Lost`).
    lazily: bool = True

    @property
    def area(self) -> Area:
        return self.store.area(AREA)

    def note(self, path: str, key: str, parsed: ParsedNotes) -> Note | None:
        """The resolved note at `path` if its bytes are unchanged (`key`, the parse key),
        it embeds no other note, and it was read without a problem last time: a
        `KeptNote`, read from `parsed` with the identities the snapshot kept when first
        asked. Its piece is then kept."""
        record = self.notes.get(path)
        if record is None or record["key"] != key or record["twins"]:
            return None
        found = self._read(record)
        if found is None:
            return None
        summary, block = found
        # A note that embeds others is matched again each build: what it shows may have
        # changed with the other notes (`embeds.expand`), its bytes not.
        if summary.embeds or not parsed.has(key) or not media_unchanged(summary.stats):
            return None

        def make() -> Note:
            return KeptNote.of(path, summary, reader(parsed, key, summary))

        # The piece's file is named by the note's key and identities: it names the note.
        note = self.store.memo((AREA, record["file"]), make)
        if note is None:
            return None
        if not self.lazily:
            try:
                note.facts  # noqa: B018  read now, while a lost parse can still be made
            except Lost:
                return None
        self.kept[path] = Piece(note, block, record["file"], record)
        return note

    def _read(self, record: dict[str, Any]) -> tuple[Summary, str] | None:
        """A piece's file (`write_piece`): the note's summary and its lock lines."""
        return self.area.get(record["file"], decode_piece)

    def resolve(
        self, deck: Deck, now: Callable[[], int], signatures: Mapping[str, str]
    ) -> Resolution:
        """Match the facts of the notes not kept against the entries of the notes they
        replace and the removed facts; keep every other note as it was."""
        changed = [n for n in deck.notes if n.path not in self.kept]
        pool: list[LockEntry] = []
        for path, record in self.notes.items():
            if path in self.kept:
                continue
            old = self._read(record)
            if old is None:
                raise PieceMissing(path)
            pool.extend(entries_of(old[1]))
        pool.extend(self.removed)
        taken = itertools.chain.from_iterable(r["guids"].split() for r in self.notes.values())
        sub, sub_lock, sub_report = identity.resolve(
            Deck(deck.name, tuple(changed)),
            Lock(tuple(pool), self.stamps, self.lock_id),
            now,
            signatures,
            "",
            taken,
        )
        fresh = {n.path: n for n in sub.notes}
        by_path, removed = by_file(sub_lock.entries)
        changes_of: dict[str, list[Change]] = {}
        gone: list[Change] = []
        for change in sub_report.changes:
            if change.fact is None:
                gone.append(change)
            else:
                changes_of.setdefault(change.fact.path, []).append(change)
        pieces = []
        changes: list[Change] = []
        for note in deck.notes:
            kept = self.kept.get(note.path)
            if kept is not None:
                # Its facts are unchanged: the report leaves them out rather than read them.
                pieces.append(kept)
            else:
                pieces.append(piece(fresh[note.path], by_path.get(note.path, ())))
                changes.extend(changes_of.get(note.path, ()))
        new_deck = Deck(
            deck.name,
            tuple(p.note for p in pieces),
            {k: m for k, (_, m) in sub_lock.stamps.items()},
        )
        report = Report(
            (*changes, *gone),
            sub_report.stamps_changed,
            tuple(e for e in removed if not e.gone),
        )
        text = lock_text(sub_lock.stamps, pieces, removed, self.lock_id)
        has_facts = bool(removed) or any(p.block for p in pieces)
        return Resolution(
            new_deck,
            report,
            text,
            has_facts,
            tuple(pieces),
            tuple(removed),
            sub_lock.stamps,
            self.lock_id,
        )


def decode_piece(data: bytes) -> tuple[Summary, str]:
    ids, summary, block = data.decode("utf-8").split("\n", 2)
    return Summary.loads(ids, summary), block


def write_piece(area: Area, piece: Piece, key: str, stats: Mapping[str, Any]) -> str:
    """A piece's file, named by what it holds, written once: its facts' identities as
    one line of JSON, its note's summary as another, then its lock lines as they stand
    in the lock (`Piece.block`): read back as one string, without decoding them."""
    summary = summarise(piece.note, stats)
    kept = "\n".join([summary.ids, summary.dumps(), piece.block])
    file = hashlib.sha256(f"{key}|{kept}".encode()).hexdigest()[:32] + ".txt"
    area.put(file, kept.encode("utf-8"))
    return file


def reader(parsed: ParsedNotes, key: str, summary: Summary) -> Callable[[], Note]:
    """How a kept note is read when first asked: its parse, with the identities its
    piece holds."""

    def read() -> Note:
        note = parsed.get(key)
        ids = json.loads(summary.ids)
        if note is None or len(note.facts) != len(ids):
            raise Lost(key)
        facts = tuple(
            with_identity(fact, *each) for fact, each in zip(note.facts, ids, strict=True)
        )
        return dataclasses.replace(note, facts=facts)

    return read


class PieceMissing(Exception):
    """A piece the index names is missing or unreadable: match in full instead."""


def _salt(config: BuildConfig) -> str:
    return hashlib.sha256(
        f"{VERSION}|{code_digest(*CODE)}|{config.root_deck}|{config.notes.resolve()}".encode()
    ).hexdigest()


def open_snapshot(
    config: BuildConfig, store: Store, lock: str | None, lazily: bool = True
) -> Snapshot | None:
    """The last build's snapshot, if the lock is still the one it wrote and this build
    is of the whole folder with the same code; else None (match in full). `lock`: the
    lock's digest as this build read it; `lazily`: see `Snapshot.lazily`."""
    if config.scope or config.forget_removed:
        return None
    data = store.area(AREA).read(INDEX)
    if data is None:
        return None
    try:
        index = json.loads(data)
        if index["salt"] != _salt(config) or index["lock"] != lock:
            return None
        removed = tuple(identity.entry_from_json(e, i) for i, e in enumerate(index["removed"]))
        stamps = {k: (h, m) for k, (h, m) in index["stamps"].items()}
        return Snapshot(
            store, index["notes"], removed, stamps, str(index["lock_id"]), lazily=lazily
        )
    except (ValueError, KeyError, TypeError):
        return None


def save(
    config: BuildConfig,
    store: Store,
    resolution: Resolution,
    parsed: ParsedNotes,
    lock: str | None,
) -> None:
    """Stage this build's pieces for the next one, with the lock as it now is. Each
    piece's file is named by its note's bytes and identities, so only changed notes are
    written; the index is written after them (`Area.commit`), so it never names a file
    that is not there, and the pieces no longer named go after it. `parsed.clean`: the
    key of each note read without a problem."""
    if config.scope or not resolution.has_facts:
        return
    area = store.area(AREA)
    keys = parsed.clean
    notes: dict[str, dict[str, Any]] = {}
    for p in resolution.pieces:
        if p.record:
            notes[p.note.path] = dict(p.record)  # kept: its note was not read again
            continue
        key = keys.get(p.note.path, "")
        questions = [(f.plain_question, f.plain_answer) for f in p.note.facts]
        notes[p.note.path] = {
            "key": key,
            "file": write_piece(area, p, key, parsed.stats.get(key, {})),
            "guids": " ".join(f.guid for f in p.note.facts),
            "twins": len(set(questions)) != len(questions) or p.note.path not in keys,
        }
    index = {
        "salt": _salt(config),
        "lock": lock,
        "removed": [e.as_json() for e in resolution.removed],
        "stamps": {k: [h, m] for k, (h, m) in resolution.stamps.items()},
        "lock_id": resolution.lock_id,
        "notes": notes,
    }
    area.record(INDEX, json.dumps(index, ensure_ascii=False).encode("utf-8"))
    area.retain({str(r["file"]) for r in notes.values()} | {INDEX})
