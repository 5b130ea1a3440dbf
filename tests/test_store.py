"""The store (`dist/.cache`): staged writes that only a commit puts on disk, records
written after entries, tidying, memory, pruning; and cache keys that name only the
code that made each entry."""

from __future__ import annotations

import os
import pickle
import shutil
import time
from pathlib import Path

import pytest

from exporter import cache
from exporter.cache import PARSE_CODE, code_digest
from exporter.exporters import anki_rows
from exporter.exporters.pdf import renderer
from exporter.store import KEEP_UNUSED, Store


def test_nothing_is_written_before_the_commit_and_a_discard_forgets(tmp_path):
    store = Store(tmp_path)
    area = store.area("notes")
    area.put("a.pickle", b"one", "decoded one")
    assert area.get("a.pickle", bytes.decode) == "decoded one"  # staged entries are seen
    assert not (tmp_path / ".cache").exists()
    store.discard()
    assert area.get("a.pickle", bytes.decode) is None
    area.put("b.pickle", b"two")
    store.commit()
    assert (tmp_path / ".cache" / "notes" / "b.pickle").read_bytes() == b"two"


def test_a_build_spools_staged_entries_to_temporary_files_until_the_commit(tmp_path):
    store = Store(tmp_path)
    store.spool = True
    area = store.area("sheets")
    area.put("a.pdf", b"one")
    (staged,) = area.folder.iterdir()
    assert staged.name.endswith(".part")  # not at its name yet
    assert area.read("a.pdf") == b"one"
    area.put("b.pdf", b"two")
    store.discard()
    assert not (tmp_path / ".cache").exists()  # a failed build leaves nothing, no folder
    area.put("c.pdf", b"three")
    store.commit()
    assert [p.name for p in area.folder.iterdir()] == ["c.pdf"]


def test_a_record_replaces_and_retain_tidies_after_the_writes(tmp_path):
    store = Store(tmp_path)
    area = store.area("resolved")
    area.put("old.txt", b"old")
    area.record("index.json", b"1")
    store.commit()
    area.put("new.txt", b"new")
    area.record("index.json", b"2")
    area.retain({"new.txt", "index.json"})
    store.commit()
    assert sorted(p.name for p in area.folder.iterdir()) == ["index.json", "new.txt"]
    assert (area.folder / "index.json").read_bytes() == b"2"


def test_a_damaged_entry_is_missing_not_an_error(tmp_path):
    store = Store(tmp_path)
    area = store.area("apkg")
    area.put("x.pickle", b"not a pickle")
    store.commit()
    assert Store(tmp_path).area("apkg").get("x.pickle", pickle.loads) is None


def test_memory_is_used_only_while_the_file_is_there(tmp_path):
    store = Store(tmp_path)
    area = store.area("notes")
    area.put("a.pickle", b"one", "decoded")
    store.commit()
    calls = []

    def decode(data: bytes) -> str:
        calls.append(data)
        return data.decode()

    assert area.get("a.pickle", decode) == "decoded" and not calls
    (area.folder / "a.pickle").unlink()
    assert area.get("a.pickle", decode) is None


def test_pruning_deletes_only_what_went_unused(tmp_path):
    store = Store(tmp_path)
    area = store.area("sheets")
    area.put("old.pdf", b"old")
    area.put("used.pdf", b"used")
    store.commit()
    month_ago = time.time() - KEEP_UNUSED - 3600
    for name in ("old.pdf", "used.pdf"):
        os.utime(area.folder / name, (month_ago, month_ago))
    fresh = Store(tmp_path)
    assert fresh.area("sheets").read("used.pdf") == b"used"  # a use refreshes its time
    assert fresh.prune(["sheets"]) == 1
    assert sorted(p.name for p in area.folder.iterdir()) == ["used.pdf"]
    assert fresh.prune(["sheets"]) == 0  # and a second look within a day costs nothing


def test_an_entry_used_is_refreshed_only_once_a_day_old(tmp_path):
    """Reading an entry, or using it unread (`keeps`), refreshes a time older than a
    day, and leaves a newer one alone: a fresh process writes no time for every entry
    it uses on every build."""
    store = Store(tmp_path)
    area = store.area("notes")
    for name in ("old.pickle", "new.pickle", "unread.pickle"):
        area.put(name, b"entry")
    store.commit()
    two_days_ago, hour_ago = time.time() - 2 * 24 * 3600, time.time() - 3600
    os.utime(area.folder / "old.pickle", (two_days_ago, two_days_ago))
    os.utime(area.folder / "new.pickle", (hour_ago, hour_ago))
    os.utime(area.folder / "unread.pickle", (two_days_ago, two_days_ago))
    fresh = Store(tmp_path).area("notes")
    assert fresh.read("old.pickle") == fresh.read("new.pickle") == b"entry"
    assert fresh.keeps("unread.pickle") and not fresh.keeps("missing.pickle")
    assert (area.folder / "old.pickle").stat().st_mtime > hour_ago
    assert (area.folder / "unread.pickle").stat().st_mtime > hour_ago
    assert (area.folder / "new.pickle").stat().st_mtime == pytest.approx(hour_ago)


@pytest.fixture
def package_copy(tmp_path, monkeypatch):
    """This package copied, and the code digests read from the copy."""
    copy = tmp_path / "exporter"
    shutil.copytree(cache.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "PACKAGE", copy)
    code_digest.cache_clear()
    yield copy
    code_digest.cache_clear()


def digests() -> dict[str, str]:
    code_digest.cache_clear()
    return {
        "all": code_digest(),
        "parse": code_digest(*PARSE_CODE),
        "rows": code_digest(*anki_rows.CODE),
        "sheet": code_digest(*renderer.CODE),
    }


def edit(path: Path) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")


def test_a_change_to_sync_keeps_every_parse_row_and_sheet(package_copy):
    before = digests()
    edit(package_copy / "sync" / "plan.py")
    after = digests()
    assert after["all"] != before["all"]  # the build runs again…
    assert {k: after[k] for k in ("parse", "rows", "sheet")} == {
        k: before[k] for k in ("parse", "rows", "sheet")
    }  # …and keeps what it kept


def test_a_change_to_the_parser_is_a_new_key_for_everything_made_from_a_parse(package_copy):
    before = digests()
    edit(package_copy / "syntax" / "facts.py")
    after = digests()
    assert all(after[k] != before[k] for k in before)


def test_a_change_to_the_deck_keeps_the_sheet_and_the_parse(package_copy):
    before = digests()
    edit(package_copy / "exporters" / "anki.py")
    after = digests()
    assert after["rows"] != before["rows"]
    assert after["parse"] == before["parse"] and after["sheet"] == before["sheet"]


def test_an_entry_that_cannot_be_spooled_waits_in_memory(tmp_path, monkeypatch):
    """A full disk while a build stages: the entry waits in memory, and the commit (after
    the outputs are in place) is where the build reports it."""
    import tempfile

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    store = Store(tmp_path)
    store.spool = True
    area = store.area("apkg")
    monkeypatch.setattr(tempfile, "mkstemp", full)
    area.put("x.pickle", b"rows")
    assert area.read("x.pickle") == b"rows"
    monkeypatch.undo()
    store.commit()
    assert (area.folder / "x.pickle").read_bytes() == b"rows"


def test_a_build_reads_each_note_once(tmp_path, monkeypatch):
    """The fingerprint hashes every note, and the notes that are not kept are decoded:
    one read serves both. A second build after an edit reads the edited note once too."""
    import os
    import shutil
    from collections import Counter

    from exporter.config import BuildConfig
    from exporter.pipeline import build

    from .conftest import FIXTURES

    notes = shutil.copytree(FIXTURES / "identity", tmp_path / "notes")
    for path in notes.rglob("*.md"):
        os.utime(path, (1_700_000_000, 1_700_000_000))  # long before this build
    reads: Counter[str] = Counter()
    read_bytes = Path.read_bytes

    def counted(self: Path) -> bytes:
        if self.suffix == ".md":
            reads[self.name] += 1
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", counted)
    config = BuildConfig(notes=notes, out=tmp_path / "dist", formats=("apkg",))
    assert build(config).ok
    assert reads and set(reads.values()) == {1}, reads
    reads.clear()
    (notes / "b.md").write_text("# M\n\n- edited :: yes\n", encoding="utf-8")
    assert build(config).ok
    assert reads["b.md"] == 1, reads
