"""An unchanged note is handed on unread (`kept.KeptNote`): a deck build after an edit
reads no other note, and whatever does read one gets the note a full read gives."""

from __future__ import annotations

import pickle
import shutil
import zipfile
from pathlib import Path

import pytest

from exporter.config import BuildConfig
from exporter.kept import KeptNote, Lost, summarise
from exporter.model import Note
from exporter.pipeline import build

from .conftest import FIXTURES, write_note

T0, T1 = 1_800_000_000, 1_800_000_500
# A single-pixel PNG, and another of another size: enough for a media file to change.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def deck_config(root: Path, **more: object) -> BuildConfig:
    return BuildConfig(notes=root / "notes", out=root / "dist", formats=("apkg",), **more)


def everyday(root: Path) -> Path:
    shutil.copytree(FIXTURES / "everyday", root / "notes")
    return root / "notes"


def reword(notes: Path) -> None:
    path = notes / "polity/parliament.md"
    text = path.read_text(encoding="utf-8")
    assert ":: 550 members" in text
    path.write_text(text.replace(":: 550 members", ":: 552 members"), encoding="utf-8")


def reads(config: BuildConfig) -> list[str]:
    """The notes a build read (parsed), by its progress lines."""
    lines: list[str] = []
    result = build(config, progress=lines.append, now=lambda: T1)
    assert result.ok, [d.format() for d in result.diagnostics]
    return sorted(line.removeprefix("read ") for line in lines if line.startswith("read "))


def test_a_deck_build_after_an_edit_reads_no_other_note(tmp_path):
    notes = everyday(tmp_path)
    config = deck_config(tmp_path)
    assert build(config, now=lambda: T0).ok
    reword(notes)
    result = build(config, now=lambda: T1)
    assert result.ok
    kept = [n for n in result.deck.notes if isinstance(n, KeptNote)]
    assert len(kept) == len(result.deck.notes) - 1 >= 7
    unread = [n.path for n in kept if "facts" in n.__dict__]
    assert not unread, f"the deck build read these unchanged notes: {unread}"

    # Read now, each is the note a clean build from the same lock gives.
    ours = {n.path: n for n in result.deck.notes}
    for note in kept:
        assert note.facts and note.title
    shutil.rmtree(config.out)
    clean = build(config, now=lambda: T1)
    assert clean.ok and clean.counts == result.counts
    assert not any(isinstance(n, KeptNote) for n in clean.deck.notes)
    for theirs in clean.deck.notes:
        mine = ours[theirs.path]
        assert mine == theirs and theirs == mine and hash(mine) == hash(theirs)
        copy = pickle.loads(pickle.dumps(mine))
        assert type(copy) is Note and copy == theirs
        assert (mine.fact_count, mine.card_count) == (len(theirs.facts), theirs.card_count)


def test_a_kept_note_whose_parse_is_damaged_is_parsed_again(tmp_path):
    """The deck must read the unchanged notes when their rows are gone; their parses,
    damaged, cannot be read: the build starts again, parsing them afresh, and gives
    the deck a clean build gives."""
    notes = everyday(tmp_path)
    config = deck_config(tmp_path)
    assert build(config, now=lambda: T0).ok
    cache = config.out / ".cache"
    for entry in (cache / "notes").iterdir():
        entry.write_bytes(b"not a pickle")
    shutil.rmtree(cache / "apkg")
    reword(notes)
    read = reads(config)
    every = {p.relative_to(notes).as_posix() for p in notes.rglob("*.md")}
    # The first try reads the edited note; the second, every note.
    assert set(read) == every, "the damaged parses were not redone"
    assert read.count("polity/parliament.md") == 2 and len(read) == len(every) + 1
    deck = (config.out / "notes.apkg").read_bytes()
    shutil.rmtree(config.out)
    assert reads(config)
    assert (config.out / "notes.apkg").read_bytes() == deck


def test_a_fact_repeated_in_notes_kept_unread_is_still_reported(tmp_path):
    notes = tmp_path / "notes"
    write_note(notes, "a.md", "# A\n\n- Quorum of the Lok Sabha :: one tenth ^quorum\n")
    write_note(notes, "b.md", "# B\n\n- Quorum of the Lok Sabha :: one tenth\n")
    write_note(notes, "c.md", "# C\n\n- Money bills start in :: the Lok Sabha\n")
    config = deck_config(tmp_path)
    first = build(config, now=lambda: T0)
    assert first.ok
    twice = [d.format() for d in first.diagnostics if "written twice" in d.message]
    assert len(twice) == 1 and "b.md:3" in twice[0]

    # a.md and b.md are kept unread: the warning comes from their summaries' keys.
    write_note(notes, "c.md", "# C\n\n- Money bills start in :: the Lok Sabha only\n")
    again = build(config, now=lambda: T1)
    assert again.ok
    assert [d.format() for d in again.diagnostics if "written twice" in d.message] == twice

    # An `^id` of a kept note, used again in the edited one: an error, at the new use.
    write_note(notes, "c.md", "# C\n\n- Money bills start in :: the Lok Sabha ^quorum\n")
    clash = build(config, now=lambda: T1)
    assert not clash.ok
    (error,) = [d for d in clash.diagnostics if "used twice" in d.message]
    assert error.path.endswith("c.md") and "a.md:3" in error.hint


def test_a_kept_note_whose_image_changed_is_read_again(tmp_path):
    notes = tmp_path / "notes"
    write_note(notes, "a.md", "# A\n\n- The map :: ![map](map.png)\n")
    write_note(notes, "b.md", "# B\n\n- Quorum :: one tenth\n")
    (notes / "map.png").write_bytes(PNG)
    config = deck_config(tmp_path)
    assert build(config, now=lambda: T0).ok
    (notes / "map.png").write_bytes(PNG + b"\0" * 16)
    write_note(notes, "b.md", "# B\n\n- Quorum :: one tenth of members\n")
    assert reads(config) == ["a.md", "b.md"]
    with zipfile.ZipFile(config.out / "notes.apkg") as package:
        media = [package.read(name) for name in package.namelist() if name.isdigit()]
    assert media == [PNG + b"\0" * 16]


def test_a_kept_note_that_could_not_be_read_can_be_read_again(tmp_path):
    """A warm process keeps its kept notes: one whose read failed (`Lost`) must fail the
    same way, or be read, when asked again, never lose its way to its fields."""
    notes = tmp_path / "notes"
    write_note(notes, "a.md", "# A\n\n- Quorum :: one tenth\n")
    result = build(deck_config(tmp_path), now=lambda: T0)
    (full,) = result.deck.notes
    tries = []

    def load() -> Note:
        tries.append(1)
        if len(tries) == 1:
            raise Lost(full.path)
        return full

    kept = KeptNote.of(full.path, summarise(full), load)
    with pytest.raises(Lost):
        kept.facts  # noqa: B018
    assert kept.facts == full.facts and kept == full and len(tries) == 2
    assert kept.title == full.title and len(tries) == 2  # read once, then held
