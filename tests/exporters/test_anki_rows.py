"""The deck's kept rows (`dist/.cache/apkg/rows.sqlite`): made once per note version,
added only when a build succeeds, made again when damaged, dropped when long unused."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

from exporter.config import BuildConfig
from exporter.exporters import anki_rows
from exporter.pipeline import build
from exporter.store import Store, cache_root

from ..conftest import FIXTURES, rows_made

T0, T1 = 1_800_000_000, 1_800_000_500


def deck_config(root: Path) -> BuildConfig:
    return BuildConfig(notes=root / "notes", out=root / "dist", formats=("apkg",))


def database(config: BuildConfig) -> Path:
    return cache_root(config.out) / anki_rows.AREA / anki_rows.DATABASE


def kept_keys(config: BuildConfig) -> set[str]:
    with sqlite3.connect(database(config)) as conn:
        return {k for (k,) in conn.execute("SELECT key FROM kept")}


def reword(notes: Path, n: int) -> None:
    path = notes / "polity/parliament.md"
    text, count = re.subn(r":: 55\d members", f":: 55{n} members", path.read_text(encoding="utf-8"))
    assert count == 1
    path.write_text(text, encoding="utf-8")


def test_an_edit_makes_the_rows_of_that_note_only(tmp_path, monkeypatch):
    shutil.copytree(FIXTURES / "everyday", tmp_path / "notes")
    config = deck_config(tmp_path)
    made = rows_made(monkeypatch)
    assert build(config, now=lambda: T0).ok
    notes = len(made)
    assert notes >= 8 and len(kept_keys(config)) == notes
    made.clear()
    reword(config.notes, 2)
    assert build(config, now=lambda: T1).ok
    assert made == ["polity/parliament.md"]
    # The earlier version's rows stay (an undo finds them) beside the new ones.
    assert len(kept_keys(config)) == notes + 1


def test_rows_are_added_only_when_the_store_commits(tmp_path):
    store = Store(tmp_path / "dist")
    cache = anki_rows.RowCache(store)
    rows = anki_rows.NoteRows(((1, "g", 2, 3, -1, " ", "q\x1fa", "q", 0, 0, ""),), (), ())
    cache.keep([("k1", rows)])
    store.discard()  # a failed build
    assert not cache.path.exists()
    cache.keep([("k1", rows)])
    store.commit()
    assert anki_rows.RowCache(store).known(["k1", "k2"]) == {"k1": ()}


def test_a_damaged_database_is_made_again(tmp_path):
    shutil.copytree(FIXTURES / "everyday", tmp_path / "notes")
    config = deck_config(tmp_path)
    assert build(config, now=lambda: T0).ok
    database(config).write_bytes(b"not a database, but something else entirely" * 100)
    reword(config.notes, 3)
    assert build(config, now=lambda: T1).ok
    deck = (config.out / "notes.apkg").read_bytes()
    assert len(kept_keys(config)) == len(list(config.notes.rglob("*.md")))
    shutil.rmtree(config.out)
    assert build(config, now=lambda: T1).ok
    assert (config.out / "notes.apkg").read_bytes() == deck


def test_rows_unused_for_two_weeks_go(tmp_path, monkeypatch):
    shutil.copytree(FIXTURES / "everyday", tmp_path / "notes")
    config = deck_config(tmp_path)
    assert build(config, now=lambda: T0).ok
    first = kept_keys(config)
    reword(config.notes, 4)
    assert build(config, now=lambda: T1).ok
    current = kept_keys(config)
    assert len(current - first) == 1 and first < current
    later = anki_rows.today() + anki_rows.KEEP_UNUSED // anki_rows.DAY + 1
    monkeypatch.setattr(anki_rows, "today", lambda: later)
    reword(config.notes, 5)
    assert build(config, now=lambda: T1 + 9).ok
    # The two versions of the edited note no build used since are gone, with their rows.
    now = kept_keys(config)
    assert len(now) == len(first) and len(now - current) == 1
    with sqlite3.connect(database(config)) as conn:
        orphans = conn.execute(
            "SELECT count(*) FROM notes WHERE key NOT IN (SELECT key FROM kept)"
        ).fetchone()
    assert orphans == (0,)


def test_a_database_of_another_version_is_made_again_and_old_entries_go(tmp_path, monkeypatch):
    shutil.copytree(FIXTURES / "everyday", tmp_path / "notes")
    config = deck_config(tmp_path)
    assert build(config, now=lambda: T0).ok
    with sqlite3.connect(database(config)) as conn:
        conn.execute("PRAGMA user_version = 99")
    old_entry = database(config).parent / "0123abcd.pickle"  # a note's rows, as once kept
    old_entry.write_bytes(b"rows of an earlier version")
    made = rows_made(monkeypatch)
    reword(config.notes, 6)
    assert build(config, now=lambda: T1).ok
    assert len(made) == len(list(config.notes.rglob("*.md")))
    with sqlite3.connect(database(config)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (anki_rows.SCHEMA_VERSION,)
    assert not old_entry.exists()
    assert len(kept_keys(config)) == len(made)
