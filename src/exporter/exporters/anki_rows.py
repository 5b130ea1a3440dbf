"""The rows of the deck's collection, note by note, kept between builds in one database.

Rendering a fact's fields (marks, context, chips) is most of what making a deck's rows
costs, and one edited note changes the rows of that note only. So each note's rows are
kept in `dist/.cache/apkg/rows.sqlite`, under a key of what they are made from: the
note's bytes and place (`Note.digest`), its media, each fact's identity (GUID,
modification time, deletion numbers in order) and this package's code. A key names its
rows for good: they are added and deleted, never changed.

Writing the package is then moving every row into a new database in id order. Done by
SQLite from the kept rows (`insert`), a 100,000-fact package is written without a Python
object per row; the rows made this build join them from a temporary table.

The database keeps the store's rules (`store`): what a build makes is added in one
transaction when the store commits, after the build has succeeded (a failed build adds
nothing), and rows no build has used for `KEEP_UNUSED` go in the same transaction. A
database that cannot be read is made again, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import operator
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..cache import PARSE_CODE, code_digest, library_versions
from ..kept import identities
from ..model import Note
from ..store import KEEP_UNUSED, Store

AREA = "apkg"
DATABASE = "rows.sqlite"
# The code a note's rows are made by: the parse, and the deck's own modules.
CODE = (
    *PARSE_CODE,
    "kept.py",
    "exporters/anki.py",
    "exporters/anki_rows.py",
    "exporters/marks",
)
# The columns of genanki's (and Anki's) two tables that hold a note's rows, in order.
COLUMNS = {
    "notes": ("id", "guid", "mid", "mod", "usn", "tags", "flds", "sfld", "csum", "flags", "data"),
    "cards": (
        "id",
        "nid",
        "did",
        "ord",
        "mod",
        "usn",
        "type",
        "queue",
        "due",
        "ivl",
        "factor",
        "reps",
        "lapses",
        "left",
        "odue",
        "odid",
        "flags",
        "data",
    ),
}
# Columns without a type keep each value as it was bound (a text stays text): the
# package's own columns then convert it as they would have on a direct insert. The rows
# are stored in id order (WITHOUT ROWID, keyed by id and note key), so the package reads
# them in the order it inserts them, with no sort; several versions of a note may be
# kept, one key each.
SCHEMA = [
    "CREATE TABLE kept (key TEXT PRIMARY KEY, uses TEXT NOT NULL, day INTEGER NOT NULL) "
    "WITHOUT ROWID",
    *(
        f"CREATE TABLE {table} (key TEXT NOT NULL, {', '.join(columns)}, "
        "PRIMARY KEY (id, key)) WITHOUT ROWID"
        for table, columns in COLUMNS.items()
    ),
]
# Raised when SCHEMA changes: a database of another version is made again.
SCHEMA_VERSION = 1
PAGE_SIZE = 16384
DAY = 24 * 3600


@dataclass(frozen=True)
class NoteRows:
    """A note's rows in genanki's layout, and the (deck, note type) pairs its facts use."""

    notes: tuple[tuple, ...]
    cards: tuple[tuple, ...]
    uses: tuple[tuple[str, str], ...]


def key_of(note: Note) -> str:
    ids = identities(note)  # an unchanged note's, without reading it (`kept`)
    media = "\x1e".join(m.name for m in note.media)
    code = f"{code_digest(*CODE)}|{library_versions('genanki')}"
    text = "\x1f".join((code, note.digest, note.path, media, ids))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def today() -> int:
    return int(time.time()) // DAY


class RowCache:
    """The kept rows (the store's `apkg` area). `known` says which notes' rows are
    kept and what they use; `keep` stages the rows made this build; `insert` writes
    the package's rows from both."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.area = store.area(AREA)
        self.path = self.area.path(DATABASE)
        self.used: set[str] = set()

    def key(self, note: Note) -> str | None:
        """The key of a note's rows; None for a note made by hand (not parsed), which
        has no digest to name it: its rows are made each time."""
        if not note.digest:
            return None
        return self.store.of_note("rows key", note, key_of)

    def known(self, keys: Iterable[str]) -> dict[str, tuple[tuple[str, str], ...]]:
        """Of these keys, those with kept rows, and the (deck, note type) pairs each
        note's rows use."""
        wanted = list(dict.fromkeys(keys))
        if not wanted or not self.path.is_file():
            return {}
        try:
            with contextlib.closing(sqlite3.connect(self.path)) as conn:
                if version(conn) != SCHEMA_VERSION:
                    return {}
                conn.execute("CREATE TEMP TABLE wanted (key TEXT PRIMARY KEY) WITHOUT ROWID")
                conn.executemany("INSERT INTO wanted VALUES (?)", ((k,) for k in wanted))
                found = conn.execute(
                    "SELECT key, uses FROM kept WHERE key IN (SELECT key FROM wanted)"
                ).fetchall()
        except sqlite3.Error:
            return {}  # unreadable: every row is made again, and the file replaced
        self.area.touch(DATABASE)
        known = {k: tuple((d, t) for d, t in json.loads(uses)) for k, uses in found}
        self.used.update(known)
        return known

    def keep(self, made: Sequence[tuple[str, NoteRows]]) -> None:
        """Stage the rows made this build (by key), added when the store commits; the
        rows used this build are then marked used today."""
        self.used.update(k for k, _ in made)
        self.area.on_commit(lambda: self.commit(made))
        # Nothing else belongs here (a pickle a note, before the database).
        self.area.retain({DATABASE, f"{DATABASE}-journal"})

    def commit(self, made: Sequence[tuple[str, NoteRows]]) -> None:
        try:
            self.write(made)
        except sqlite3.DatabaseError as exc:
            if not isinstance(exc, sqlite3.OperationalError):
                # Not a database (damaged): start a new one.
                self.path.unlink(missing_ok=True)
                with contextlib.suppress(sqlite3.Error):
                    self.write(made)
                return
            raise OSError(f"{self.path}: {exc}") from exc

    def write(self, made: Sequence[tuple[str, NoteRows]]) -> None:
        self.store.make_folder(self.path.parent)
        day = today()
        with contextlib.closing(opened(self.path)) as conn, conn:  # one transaction
            conn.execute("CREATE TEMP TABLE used (key TEXT PRIMARY KEY) WITHOUT ROWID")
            conn.executemany("INSERT OR IGNORE INTO used VALUES (?)", ((k,) for k in self.used))
            conn.execute(
                "UPDATE kept SET day = ? WHERE day < ? AND key IN (SELECT key FROM used)",
                (day, day),
            )
            present = {
                k
                for (k,) in conn.execute("SELECT key FROM kept WHERE key IN (SELECT key FROM used)")
            }
            fresh = dict((k, rows) for k, rows in made if k and k not in present)
            conn.executemany(
                "INSERT INTO kept VALUES (?, ?, ?)",
                ((k, json.dumps(rows.uses), day) for k, rows in fresh.items()),
            )
            for table, columns in COLUMNS.items():
                marks = ", ".join("?" * (len(columns) + 1))
                conn.executemany(
                    f"INSERT INTO {table} VALUES ({marks})",
                    sorted(
                        ((k, *row) for k, rows in fresh.items() for row in getattr(rows, table)),
                        key=IN_ORDER,
                    ),
                )
            stale = day - KEEP_UNUSED // DAY
            if conn.execute("SELECT 1 FROM kept WHERE day < ? LIMIT 1", (stale,)).fetchone():
                for table in COLUMNS:  # a scan: at most once a day
                    conn.execute(
                        f"DELETE FROM {table} WHERE key IN (SELECT key FROM kept WHERE day < ?)",
                        (stale,),
                    )
                conn.execute("DELETE FROM kept WHERE day < ?", (stale,))

    def attach(self, conn: sqlite3.Connection) -> bool:
        """The kept rows, attached to the package's connection as `rows`; False when
        there are none. Outside any transaction (SQLite's rule for ATTACH)."""
        if not self.used or not self.path.is_file():
            return False
        try:
            conn.execute("ATTACH DATABASE ? AS rows", (str(self.path),))
        except sqlite3.Error:
            return False
        return True


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def opened(path: Path) -> sqlite3.Connection:
    """The kept rows' database for writing, made anew when it is of another version
    (or new: version 0)."""
    conn = sqlite3.connect(path)
    if version(conn) != SCHEMA_VERSION:
        conn.close()
        path.unlink(missing_ok=True)
        conn = sqlite3.connect(path)
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        for sql in SCHEMA:
            conn.execute(sql)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


# A kept row in the order of the table's key: (id, note key).
IN_ORDER = operator.itemgetter(1, 0)


def insert(
    cursor: sqlite3.Cursor, kept: list[str], made: Iterable[NoteRows], attached: bool
) -> None:
    """Every note's rows, in id order, with the table's indexes built after: the kept
    rows of the notes with keys `kept` (from the attached `rows`), and those `made`.
    Appending to a B-tree in key order fills its pages once, where ids in hash order
    split pages all along. A clean build and an incremental one insert the same rows
    in the same order, so they give the same bytes."""
    indexes = cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "ORDER BY rowid"
    ).fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    made = list(made)
    joined = attached and bool(kept)
    if joined:
        cursor.execute("CREATE TEMP TABLE wanted (key TEXT PRIMARY KEY) WITHOUT ROWID")
        cursor.executemany("INSERT INTO temp.wanted VALUES (?)", ((k,) for k in kept))
    by_id = operator.itemgetter(0)  # ids are unique: the first field orders the rows
    for table, columns in COLUMNS.items():
        names = ", ".join(columns)
        marks = ", ".join("?" * len(columns))
        rows = sorted((row for each in made for row in getattr(each, table)), key=by_id)
        if not joined:  # nothing kept (a first build): straight in
            cursor.executemany(f"INSERT INTO main.{table} ({names}) VALUES ({marks})", rows)
            continue
        cursor.execute(f"CREATE TEMP TABLE made_{table} ({names})")
        cursor.executemany(f"INSERT INTO temp.made_{table} VALUES ({marks})", rows)
        # Both sides in id order already (the kept rows by their table's key): SQLite
        # merges them.
        cursor.execute(
            f"INSERT INTO main.{table} ({names}) "
            f"SELECT {names} FROM temp.made_{table} UNION ALL "
            f"SELECT {names} FROM rows.{table} WHERE key IN (SELECT key FROM temp.wanted) "
            "ORDER BY id"
        )
        cursor.execute(f"DROP TABLE temp.made_{table}")
    for _, sql in indexes:
        cursor.execute(sql)
