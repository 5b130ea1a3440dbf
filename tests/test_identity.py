"""Identity across edits: the rules one by one, then the whole round trip through Anki
with a reviewed card, as a person edits notes over months."""

from __future__ import annotations

import json

import pytest

from exporter import identity
from exporter.config import BuildConfig
from exporter.identity import Lock
from exporter.pipeline import build, load

from .conftest import copy_fixture, import_apkg, snapshot, write_note

T0 = 1_800_000_000


def resolve(notes, lock=None, now=T0):
    deck, diags = load(BuildConfig(notes=notes))
    assert not diags, [d.format() for d in diags]
    return identity.resolve(deck, lock or Lock(), lambda: now)


def guids(deck) -> dict[str, str]:
    return {f.plain_question: f.guid for f in deck.facts}


@pytest.fixture
def notes(tmp_path):
    return copy_fixture("identity", tmp_path)


def edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_unchanged_notes_keep_guids_and_mtimes(notes):
    deck1, lock, report = resolve(notes)
    assert {c.status for c in report.changes} == {"new"}
    deck2, lock2, report2 = resolve(notes, lock, now=T0 + 50)
    assert guids(deck2) == guids(deck1)
    assert [f.mtime for f in deck2.facts] == [T0] * len(deck2.facts)
    assert report2.is_empty and lock2.dumps() == lock.dumps()


@pytest.mark.parametrize(
    ("old", "new", "question", "status"),
    [
        ("Capital of Japan :: Kyoto", "Capital of Japan :: Tokyo", "Capital of Japan", "edited"),
        (
            "Largest ocean on Earth :: Pacific",
            "The largest ocean on Earth :: Pacific",
            "The largest ocean on Earth",
            "edited",
        ),
        (
            "KABIL ::: Khanij Bidesh India Ltd ^kabil",
            "KABIL (a JV) ::: Khanij Bidesh India Limited ^kabil",
            "KABIL (a JV)",
            "edited",
        ),
        (
            "- Capital of France :: Paris\n- Capital of Japan :: Kyoto\n",
            "- Capital of Japan :: Kyoto\n- Capital of France :: Paris\n",
            "Capital of France",
            "unchanged",
        ),
        (
            "- Capital of France :: Paris\n",
            "\n## Europe\n\n- Capital of France :: Paris\n\n## Rest\n\n",
            "Capital of France",
            "moved",
        ),
        (
            "Capital of France :: Paris",
            "Capital city of France, on the Seine :: Paris",
            "Capital city of France, on the Seine",
            "edited",
        ),
    ],
)
def test_edits_keep_identity(notes, old, new, question, status):
    before, lock, _ = resolve(notes)
    original = {f.guid for f in before.facts}
    edit(notes / "a.md", old, new)
    after, _, report = resolve(notes, lock, now=T0 + 100)
    fact = next(f for f in after.facts if f.plain_question == question)
    assert fact.guid in original
    change = next(c for c in report.changes if c.guid == fact.guid)
    assert change.status == status
    assert fact.mtime == (T0 if status == "unchanged" else T0 + 100)
    assert {f.guid for f in after.facts} == original


def test_move_to_another_file_keeps_identity(notes):
    before, lock, _ = resolve(notes)
    edit(notes / "a.md", "- Longest river :: Nile\n", "")
    (notes / "b.md").write_text(
        (notes / "b.md").read_text() + "- Longest river :: Nile\n", encoding="utf-8"
    )
    after, _, report = resolve(notes, lock, now=T0 + 1)
    assert guids(after)["Longest river"] == guids(before)["Longest river"]
    assert [c.status for c in report.changes if c.question == "Longest river"] == ["moved"]


def test_rewritten_beyond_recognition_is_new(notes):
    before, lock, _ = resolve(notes)
    edit(notes / "a.md", "Largest ocean on Earth :: Pacific", "Deepest trench :: Mariana")
    after, _, report = resolve(notes, lock, now=T0 + 1)
    assert guids(after)["Deepest trench"] not in set(guids(before).values())
    assert [c.question for c in report.of("new")] == ["Deepest trench"]
    assert [c.question for c in report.of("removed")] == ["Largest ocean on Earth"]


def test_removed_fact_is_a_tombstone_and_comes_back(notes):
    before, lock, _ = resolve(notes)
    edit(notes / "a.md", "- A fact to delete :: goes away\n", "")
    _, lock2, report = resolve(notes, lock, now=T0 + 1)
    assert [c.question for c in report.of("removed")] == ["A fact to delete"]
    assert any(e.removed and e.question == "A fact to delete" for e in lock2.entries)
    edit(
        notes / "a.md",
        "- Longest river :: Nile\n",
        "- Longest river :: Nile\n- A fact to delete :: goes away\n",
    )
    again, _, report3 = resolve(notes, lock2, now=T0 + 2)
    assert guids(again)["A fact to delete"] == guids(before)["A fact to delete"]
    assert [c.question for c in report3.of("restored")] == ["A fact to delete"]


def test_lock_is_sorted_readable_json(notes):
    _, lock, _ = resolve(notes)
    data = json.loads(lock.dumps())
    assert data["version"] == 1
    keys = [(f["path"], f["guid"]) for f in data["facts"]]
    assert keys == sorted(keys)
    kabil = next(f for f in data["facts"] if f.get("anchor") == "kabil")
    assert kabil["question"] == "KABIL" and kabil["answer"] == "Khanij Bidesh India Ltd"
    assert Lock.loads(lock.dumps()).dumps() == lock.dumps()


def review_first_card(col, question: str):
    """Answer one card 'Good' through the real scheduler, as a person studying does."""
    (cid,) = col.find_cards(f'"Front:{question}"')
    card = col.get_card(cid)
    col.decks.select(card.did)
    card.start_timer()
    col.sched.answerCard(card, 3)
    return col.get_card(cid)


def test_round_trip_through_anki_keeps_history(tmp_path, notes, collection):
    out = tmp_path / "dist"
    config = BuildConfig(notes=notes, out=out, formats=("apkg",))
    first = build(config, now=lambda: T0)
    assert first.ok
    import_apkg(collection, out / "identity.apkg")
    assert collection.note_count() == 7
    nids = {
        collection.get_note(n)["Front"]
        if "Front" in collection.get_note(n)
        else collection.get_note(n)["Text"]: n
        for n in collection.find_notes("")
    }
    reviewed = review_first_card(collection, "Capital of Japan")
    assert reviewed.reps == 1 and reviewed.type != 0
    revlog = collection.db.all("select id, cid, ease, ivl from revlog")
    assert len(revlog) == 1

    edit(notes / "a.md", "Capital of Japan :: Kyoto", "Capital of Japan :: Tokyo")
    edit(notes / "a.md", "Largest ocean on Earth", "The largest ocean on Earth")
    edit(notes / "a.md", "Khanij Bidesh India Ltd ^kabil", "Khanij Bidesh India Limited ^kabil")
    edit(notes / "a.md", "- Longest river :: Nile\n", "")
    edit(notes / "a.md", "- A fact to delete :: goes away\n", "")
    write_note(
        notes,
        "b.md",
        (notes / "b.md").read_text() + "- Longest river :: Nile\n"
        "- Chemical symbol of lithium :: Li\n",
    )

    second = build(config, now=lambda: T0 + 3600)
    assert second.ok
    (removed,) = second.report.of("removed")
    assert removed.question == "A fact to delete"
    assert [c.question for c in second.report.of("new")] == ["Chemical symbol of lithium"]
    result = import_apkg(collection, out / "identity.apkg")
    assert [n.fields[0] for n in result.log.new] == ["Chemical symbol of lithium"]
    # Anki's log calls an existing note it left alone (not newer) a "duplicate".
    assert sorted(n.fields[0] for n in result.log.updated) == [
        "Capital of Japan",
        "KABIL",
        "Longest river",
        "The largest ocean on Earth",
    ]
    assert sorted(n.fields[0] for n in result.log.duplicate) == [
        "Capital of France",
        "India joined the MSP in {{c1::2023}}.",
    ]
    assert not result.log.conflicting

    # nothing duplicated: 7 notes before, one removed (Anki keeps it), one new
    assert collection.note_count() == 8
    fronts = {}
    for nid in collection.find_notes(""):
        note = collection.get_note(nid)
        fronts[note.fields[0]] = (nid, note.fields[1])
    assert fronts["Capital of Japan"] == (nids["Capital of Japan"], "Tokyo")
    assert fronts["The largest ocean on Earth"][0] == nids["Largest ocean on Earth"]
    assert fronts["KABIL"] == (nids["KABIL"], "Khanij Bidesh India Limited")
    assert fronts["Longest river"][0] == nids["Longest river"]
    assert fronts["Capital of France"][0] == nids["Capital of France"]
    source = collection.get_note(nids["Longest river"])["Source"]
    assert source.startswith("identity/b.md:")

    after = collection.get_card(reviewed.id)
    assert (after.reps, after.type, after.queue, after.ivl, after.due) == (
        reviewed.reps,
        reviewed.type,
        reviewed.queue,
        reviewed.ivl,
        reviewed.due,
    )
    assert collection.db.all("select id, cid, ease, ivl from revlog") == revlog

    # The build's advice for removed facts finds exactly that note in Anki.
    search = second.advice[-1].strip()
    assert search.startswith('"dupe:')
    (found,) = collection.find_notes(search)
    assert collection.get_note(found)["Front"] == "A fact to delete"


def test_unchanged_rebuild_is_identical_and_writes_nothing(tmp_path, notes):
    out = tmp_path / "dist"
    config = BuildConfig(notes=notes, out=out)
    assert build(config, now=lambda: T0).ok
    first = snapshot(tmp_path)
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    again = build(config, now=lambda: T0 + 999)
    assert again.ok and again.up_to_date and again.report.is_empty
    assert snapshot(tmp_path) == first
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == mtimes


def test_clean_rebuild_from_the_lock_is_byte_identical(tmp_path, notes):
    out = tmp_path / "dist"
    assert build(BuildConfig(notes=notes, out=out), now=lambda: T0).ok
    first = snapshot(out)
    for path in out.rglob("*"):
        if path.is_file():
            path.unlink()
    assert build(BuildConfig(notes=notes, out=out), now=lambda: T0 + 999).ok
    outputs = {k: v for k, v in snapshot(out).items() if not k.startswith(".cache/")}
    assert outputs == {k: v for k, v in first.items() if not k.startswith(".cache/")}
    assert set(outputs) == {"identity.apkg", "identity.pdf", "sheets/a.pdf", "sheets/b.pdf"}


def test_dry_run_reports_and_writes_nothing(tmp_path, notes):
    out = tmp_path / "dist"
    assert build(BuildConfig(notes=notes, out=out), now=lambda: T0).ok
    before = snapshot(tmp_path)
    edit(notes / "a.md", "- A fact to delete :: goes away\n", "")
    before["identity/a.md"] = (notes / "a.md").read_bytes()
    result = build(BuildConfig(notes=notes, out=out, dry_run=True), now=lambda: T0 + 5)
    assert result.ok and not result.outputs
    assert [c.question for c in result.report.of("removed")] == ["A fact to delete"]
    assert snapshot(tmp_path) == before


def test_template_change_bumps_note_type_mtime(tmp_path, notes, collection):
    import shutil

    styles = tmp_path / "styles"
    shutil.copytree(BuildConfig().styles, styles)
    out = tmp_path / "dist"
    config = BuildConfig(notes=notes, out=out, formats=("apkg",), styles=styles)
    build(config, now=lambda: T0)
    import_apkg(collection, out / "identity.apkg")
    (styles / "card.css").write_text(
        (styles / "card.css").read_text() + "\n.question { letter-spacing: 0.01em; }\n"
    )
    result = build(config, now=lambda: T0 + 10)
    assert result.report.stamps_changed and not result.report.of("edited")
    import_apkg(collection, out / "identity.apkg")
    from exporter.exporters.anki import BASIC_ID

    assert "letter-spacing: 0.01em" in collection.models.get(BASIC_ID)["css"]


def test_a_deleted_note_takes_its_sheet_with_it(tmp_path, notes):
    out = tmp_path / "dist"
    assert build(BuildConfig(notes=notes, out=out, formats=("pdf",)), now=lambda: T0).ok
    assert (out / "sheets/b.pdf").exists()
    (notes / "b.md").unlink()
    assert build(BuildConfig(notes=notes, out=out, formats=("pdf",)), now=lambda: T0 + 1).ok
    assert not (out / "sheets/b.pdf").exists() and (out / "sheets/a.pdf").exists()


def test_building_one_format_keeps_the_other(tmp_path, notes):
    out = tmp_path / "dist"
    assert build(BuildConfig(notes=notes, out=out), now=lambda: T0).ok
    deck = (out / "identity.apkg").read_bytes()
    edit(notes / "a.md", "Kyoto", "Tokyo")
    assert build(BuildConfig(notes=notes, out=out, formats=("pdf",)), now=lambda: T0 + 1).ok
    assert (out / "identity.apkg").read_bytes() == deck
    assert (out / "sheets/a.pdf").exists() and (out / "sheets/b.pdf").exists()
