"""An incremental build gives the bytes a clean build gives, after every kind of edit.

Two copies of the same notes, styles and lock: one is built, edited and built again (the
incremental path: kept pieces, kept rows, kept sheet parts); the other is edited and built
from nothing but the lock. The deck, the sheet, every note's sheet and the lock must be
byte-identical. The incremental build must also really have matched only the edited
notes' facts, or the test would pass by rebuilding everything.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from exporter import identity
from exporter.config import BuildConfig
from exporter.pipeline import build

FIXTURES = Path(__file__).parent / "fixtures"
STYLES = Path(__file__).parent.parent / "styles"
T0, T1 = 1_800_000_000, 1_800_000_500


def link_fonts(src: str, dst: str) -> None:
    """Fonts are linked (large, and replaced whole by the font edit); text is copied,
    since an edit writes into it."""
    if src.endswith((".ttf", ".otf")):
        os.link(src, dst)
    else:
        shutil.copy2(src, dst)


def config(root: Path) -> BuildConfig:
    return BuildConfig(notes=root / "notes", out=root / "dist", styles=root / "styles")


def outputs(root: Path) -> dict[str, bytes]:
    found = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in (root / "dist").rglob("*")
        if p.is_file() and ".cache" not in p.parts and p.name != "outputs.json"
    }
    found["notes.lock.json"] = (root / "notes.lock.json").read_bytes()
    return found


def reword(root: Path) -> None:
    path = root / "notes/polity/parliament.md"
    path.write_text(path.read_text().replace(":: 550 members", ":: 552 members"))


def add(root: Path) -> None:
    path = root / "notes/polity/parliament.md"
    path.write_text(path.read_text() + "\n- Quorum of either House :: one tenth\n")


def remove(root: Path) -> None:
    path = root / "notes/polity/parliament.md"
    line = "- Members nominated to the Rajya Sabha by the President :: 12\n"
    assert line in path.read_text()
    path.write_text(path.read_text().replace(line, ""))


def move(root: Path) -> None:
    source = root / "notes/history/freedom-struggle.md"
    line = "- Dandi March ::: Salt Satyagraha of 1930\n"
    assert line in source.read_text()
    source.write_text(source.read_text().replace(line, ""))
    target = root / "notes/polity/parliament.md"
    target.write_text(target.read_text() + "\n## Moved\n\n" + line)


def style(root: Path) -> None:
    for name in ("card.css", "sheet.css"):
        path = root / "styles" / name
        path.write_text(path.read_text() + "\n.answer { letter-spacing: 0.01em; }\n")


def font(root: Path) -> None:
    fonts = root / "styles/fonts"
    (fonts / "NotoSansOlChiki-Regular.ttf").unlink()
    shutil.copy2(fonts / "NotoSansOlChiki-Bold.ttf", fonts / "NotoSansOlChiki-Regular.ttf")


# Three notes of the everyday fixture: enough for a move between files and a sheet with a
# cover and contents, few enough that six pairs of sheet builds stay quick.
NOTES = ("polity/parliament.md", "polity/fundamental-rights.md", "history/freedom-struggle.md")
EDITS = {f.__name__: f for f in (reword, add, remove, move, style, font)}
EDITED_NOTES = {"reword": 1, "add": 1, "remove": 1, "move": 2, "style": 0, "font": 0}


def prepare(root: Path) -> None:
    for note in NOTES:
        (root / "notes" / note).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(FIXTURES / "everyday" / note, root / "notes" / note)
    shutil.copytree(STYLES, root / "styles", copy_function=link_fonts)


@pytest.fixture(scope="module")
def warm(tmp_path_factory) -> Path:
    """The build an edit follows, made once a module: kept under `warm/` and put back in
    `incremental/` for each test, since the snapshot belongs to the notes' own path."""
    base = tmp_path_factory.mktemp("resolved")
    prepare(base / "incremental")
    assert build(config(base / "incremental"), now=lambda: T0).ok
    shutil.copytree(base / "incremental", base / "warm", copy_function=link_fonts)
    return base


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(EDITS))
def test_incremental_build_equals_a_clean_one(warm, tmp_path, monkeypatch, kind):
    incremental, clean = warm / "incremental", tmp_path / "clean"
    shutil.rmtree(incremental)
    shutil.copytree(warm / "warm", incremental, copy_function=link_fonts)
    prepare(clean)
    shutil.copy2(incremental / "notes.lock.json", clean / "notes.lock.json")
    for root in (incremental, clean):
        EDITS[kind](root)

    matched: list[int] = []
    real_match = identity.match

    def counting(facts, entries):
        matched.append(len(facts))
        return real_match(facts, entries)

    monkeypatch.setattr(identity, "match", counting)
    first = build(config(incremental), now=lambda: T1)
    assert first.ok, [d.format() for d in first.diagnostics]
    edited = EDITED_NOTES[kind]
    notes = {n.path: len(n.facts) for n in first.deck.notes}
    expected = sum(sorted(notes.values())[-edited:]) if edited else 0
    assert matched and matched[0] <= expected < len(first.deck.facts), (
        "the incremental build matched more than the edited notes' facts"
    )

    second = build(config(clean), now=lambda: T1)
    assert second.ok
    assert matched[1] == len(second.deck.facts), "the clean build matched in full"

    ours, theirs = outputs(incremental), outputs(clean)
    assert sorted(ours) == sorted(theirs)
    assert {"dist/notes.apkg", "dist/notes.pdf", "notes.lock.json"} <= set(ours)
    differ = [name for name in ours if ours[name] != theirs[name]]
    assert not differ, f"after a {kind} edit these differ from a clean build: {differ}"


def test_a_kept_note_keeps_the_numbers_its_deletions_were_given(tmp_path, monkeypatch):
    """A deletion added before the others takes the next free number, not the first (so
    the old cards keep their blanks); once the note is kept from the snapshot, the
    numbers must still be those, as a clean build from the lock gives them."""
    incremental, clean = tmp_path / "incremental", tmp_path / "clean"
    for root in (incremental, clean):
        prepare(root)
    deck_only = {"formats": ("apkg",)}

    def cfg(root: Path) -> BuildConfig:
        return BuildConfig(
            notes=root / "notes", out=root / "dist", styles=root / "styles", **deck_only
        )

    cloze = incremental / "notes/history/freedom-struggle.md"
    assert build(cfg(incremental), now=lambda: T0).ok
    cloze.write_text(
        cloze.read_text().replace(
            "was launched in {{1920}}", "was launched by {{Gandhi}} in {{1920}}"
        )
    )
    assert build(cfg(incremental), now=lambda: T1).ok
    shutil.copy2(incremental / "notes.lock.json", clean / "notes.lock.json")
    shutil.copy2(cloze, clean / "notes/history/freedom-struggle.md")
    for root in (incremental, clean):
        reword(root)
    kept = build(cfg(incremental), now=lambda: T1 + 9)
    fresh = build(cfg(clean), now=lambda: T1 + 9)
    assert kept.ok and fresh.ok
    ours = {f.guid: f.card_numbers for f in kept.deck.facts}
    theirs = {f.guid: f.card_numbers for f in fresh.deck.facts}
    assert ours == theirs
    (launch,) = [f for f in kept.deck.facts if "Gandhi in" in f.plain_question]
    assert [s.number for s in launch.text if not isinstance(s, str)] == [2, 1]
    assert outputs(incremental) == outputs(clean)
