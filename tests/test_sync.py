"""`sync` against a real collection file made with the `anki` library: it adds, updates in
place, deletes removed notes and removed cloze deletions' cards, keeps reviews, notes made
by hand and notes edited in Anki, changes nothing when there is nothing to do, and leaves
the collection as it was when Anki holds it or the sync fails half-way."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from exporter.cli import main
from exporter.config import BuildConfig
from exporter.sync import SyncOptions, sync
from exporter.sync.collection import LocalCollection
from exporter.sync.journal import Journal

from .conftest import copy_fixture, write_note


def open_collection(path: Path):
    from anki.collection import Collection

    return Collection(str(path))


def snapshot_collection(path: Path) -> dict:
    col = open_collection(path)
    try:
        return {
            "notes": sorted(col.db.all("select id, guid, mod, flds from notes")),
            "cards": sorted(col.db.all("select id, nid, ord, ivl, due, reps from cards")),
            "revlog": sorted(col.db.all("select id, cid, ease from revlog")),
            "mod": col.db.scalar("select mod from col"),
        }
    finally:
        col.close()


def run_sync(notes: Path, target: Path, *args: str):
    return CliRunner().invoke(
        main, ["sync", "--notes", str(notes), "--collection", str(target), *args]
    )


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def setup(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    notes = copy_fixture("kinds", tmp_path)
    target = tmp_path / "collection.anki2"
    open_collection(target).close()
    return notes, target


def answer(col, search: str, ease: int = 3):
    (cid, *_) = col.find_cards(search)
    card = col.get_card(cid)
    col.decks.select(card.did)
    card.start_timer()
    col.sched.answerCard(card, ease)
    return cid


def test_a_month_of_edits_lands_note_by_note_and_keeps_every_review(setup):
    notes, target = setup
    first = run_sync(notes, target)
    assert first.exit_code == 0, first.output
    assert "7 to add" in first.output

    col = open_collection(target)
    assert col.note_count() == 7 and col.card_count() == 9
    france = answer(col, '"Front:Capital of France"')
    reviewed = col.get_card(france)
    state = (reviewed.reps, reviewed.type, reviewed.queue, reviewed.ivl, reviewed.due)
    magnets = answer(col, '"Text:*magnets*" card:2')
    hand = col.new_note(col.models.by_name("Basic"))
    hand["Front"], hand["Back"] = "made by hand", "in Anki"
    col.add_note(hand, col.decks.id("Default"))
    ids = {col.get_note(n).fields[0]: n for n in col.find_notes("")}
    revlog = col.db.all("select id, cid, ease from revlog")
    col.close()

    general = notes / "general.md"
    edit(general, "Capital of France :: Paris", "Capital of France :: Paris, on the Seine")
    edit(general, "- KABIL ::: Khanij Bidesh India Ltd\n", "")
    edit(general, "go into {{c2::magnets}}", "go into magnets")
    edit(
        general,
        "- {{Lithium::an alkali metal}}",
        "- Copper conducts :: heat\n- {{Lithium::an alkali metal}}",
    )
    minerals = notes / "ir" / "minerals.md"
    moved = minerals.read_text().replace("# Minerals\n", "")
    minerals.unlink()
    write_note(notes, "economy/minerals.md", "# Minerals again\n" + moved)

    unchanged = snapshot_collection(target)
    asked = run_sync(notes, target)  # the magnets deletion was studied: it asks first
    assert asked.exit_code == 1, asked.output
    assert "studied  cloze c2 of kinds/general.md:11, no longer in the note" in asked.output
    assert "delete 1 cards you have studied" in asked.output
    assert snapshot_collection(target) == unchanged
    second = run_sync(notes, target, "--yes")
    assert second.exit_code == 0, second.output
    assert (
        "sync: 1 to add, 3 to update, 1 to delete, 1 empty cloze cards to delete, 0 edited in Anki"
    ) in second.output
    col = open_collection(target)
    now = {col.get_note(n).fields[0]: n for n in col.find_notes("")}
    assert now["Capital of France"] == ids["Capital of France"]
    assert col.get_note(now["Capital of France"])["Back"] == "Paris, on the Seine"
    assert "KABIL" not in now
    assert "Copper conducts" in now
    assert now["Lithium is used in"] == ids["Lithium is used in"]
    assert "made by hand" in now and now["made by hand"] == ids["made by hand"]
    magnet_note = next(n for f, n in now.items() if "samarium" in f)
    assert col.db.list("select ord from cards where nid = ?", magnet_note) == [0]
    assert col.db.scalar("select count() from cards where id = ?", magnets) == 0
    kept = col.get_card(france)
    assert (kept.reps, kept.type, kept.queue, kept.ivl, kept.due) == state
    survivors = {c for c in col.db.list("select id from cards")}
    assert [r for r in revlog if r[1] in survivors] == col.db.all(
        "select id, cid, ease from revlog where cid in (select id from cards)"
    )
    assert col.card_count() == 8  # 9, less KABIL's 2 and a deletion, plus Copper and hand
    col.close()

    before = snapshot_collection(target)
    third = run_sync(notes, target)
    assert third.exit_code == 0 and "nothing to do" in third.output
    assert snapshot_collection(target) == before


@pytest.mark.slow
def test_a_note_edited_in_anki_is_reported_and_kept(setup):
    notes, target = setup
    assert run_sync(notes, target).exit_code == 0
    time.sleep(1.1)  # Anki keeps a note's modification time in whole seconds
    col = open_collection(target)
    (nid,) = col.find_notes('"Front:Capital of France"')
    note = col.get_note(nid)
    note["Back"] = "Paris (my own words)"
    col.update_note(note)
    col.close()
    edit(notes / "general.md", "Capital of France :: Paris", "Capital of France :: Paris city")

    result = run_sync(notes, target)
    assert result.exit_code == 0, result.output
    assert (
        "kept     notes/general.md:9  Capital of France"
        in result.output.replace(str(notes.parent) + "/", "")
        or "Capital of France — edited in Anki" in result.output
    )
    col = open_collection(target)
    assert col.get_note(nid)["Back"] == "Paris (my own words)"
    col.close()
    again = run_sync(notes, target)
    assert "edited in Anki" in again.output  # still reported, still kept
    forced = run_sync(notes, target, "--overwrite")
    assert forced.exit_code == 0
    col = open_collection(target)
    assert col.get_note(nid)["Back"] == "Paris city"
    col.close()


def test_dry_run_changes_nothing(setup):
    notes, target = setup
    before = snapshot_collection(target)
    result = run_sync(notes, target, "--dry-run")
    assert result.exit_code == 0 and "7 to add" in result.output
    assert "nothing was changed" in result.output
    assert snapshot_collection(target) == before


@pytest.mark.slow
def test_a_collection_anki_holds_is_a_clear_error_and_nothing_changes(setup):
    notes, target = setup
    before = snapshot_collection(target)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from anki.collection import Collection; "
            f"c = Collection({str(target)!r}); print('open', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        result = run_sync(notes, target)
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 1
    assert "Anki has it open; nothing was changed — close Anki" in result.output
    assert "--anki-connect" in result.output
    assert "Traceback" not in result.output
    assert snapshot_collection(target) == before


def test_a_sync_that_fails_half_way_leaves_the_collection_as_it_was(setup, monkeypatch):
    notes, target = setup
    assert run_sync(notes, target).exit_code == 0
    edit(notes / "general.md", "- KABIL ::: Khanij Bidesh India Ltd\n", "")
    edit(notes / "general.md", "Capital of France :: Paris", "Capital of France :: Paris!")
    before = snapshot_collection(target)

    def broken(col, note_ids, cards):
        raise RuntimeError("the disk filled up")

    monkeypatch.setattr("exporter.sync.collection.remove", broken)
    config = BuildConfig(notes=notes)
    journal = Journal(notes.parent / "journal", config.out / ".backup")
    with pytest.raises(RuntimeError):
        sync(config, SyncOptions(LocalCollection(target, journal)))
    assert snapshot_collection(target) == before
    assert not journal.path.exists()


def test_many_deletions_stop_and_ask(setup):
    notes, target = setup
    assert run_sync(notes, target).exit_code == 0
    (notes / "general.md").write_text("# Kinds\n\nAll gone.\n")
    result = run_sync(notes, target)
    assert result.exit_code == 1
    assert "stopped: this sync would delete 6 of the 7 notes" in result.output
    col = open_collection(target)
    assert col.note_count() == 7
    col.close()
    assert run_sync(notes, target, "--yes").exit_code == 0
    col = open_collection(target)
    assert col.note_count() == 1
    col.close()


def test_removed_facts_stay_pending_until_a_sync_or_forget(setup):
    notes, target = setup
    build_args = ["build", "--notes", str(notes), "--format", "apkg"]
    assert CliRunner().invoke(main, build_args).exit_code == 0
    edit(notes / "general.md", "- KABIL ::: Khanij Bidesh India Ltd\n", "")

    for _ in range(2):  # the edit, then a build with nothing to do: both remind
        shown = CliRunner().invoke(main, build_args).output
        assert "1 removed fact may still be in Anki" in shown
        assert '"Source:*<!--exporter:' in shown
    checked = CliRunner().invoke(main, ["check", "--notes", str(notes)]).output
    assert "1 removed fact may still be in Anki: `python build.py sync` deletes them" in checked
    listed = CliRunner().invoke(main, ["check", "--notes", str(notes), "--removed"]).output
    assert "kinds/general.md  KABIL" in listed

    assert run_sync(notes, target).exit_code == 0
    assert "may still be in Anki" not in CliRunner().invoke(main, build_args).output
    assert (
        "may still be in Anki"
        not in CliRunner().invoke(main, ["check", "--notes", str(notes)]).output
    )

    edit(notes / "general.md", "- Capital of France :: Paris #geo\n", "")
    assert "1 removed fact" in CliRunner().invoke(main, build_args).output
    forgot = CliRunner().invoke(main, [*build_args, "--forget-removed"])
    assert forgot.exit_code == 0 and "may still be in Anki" not in forgot.output
    assert "may still be in Anki" not in CliRunner().invoke(main, build_args).output


def test_a_deletion_inserted_before_a_reviewed_one_keeps_its_history_on_its_blank(setup):
    notes, target = setup
    write_note(notes, "order.md", "- The {{first}} came before the {{second}}.\n")
    assert run_sync(notes, target).exit_code == 0
    col = open_collection(target)
    (nid,) = col.find_notes('"Text:*first*"')
    reviewed = answer(col, f"nid:{nid} card:1")
    col.close()

    write_note(notes, "order.md", "- The {{zeroth}}, the {{first}} and the {{second}}.\n")
    result = run_sync(notes, target)
    assert result.exit_code == 0, result.output
    col = open_collection(target)
    note = col.get_note(nid)
    assert note["Text"] == "The {{c3::zeroth}}, the {{c1::first}} and the {{c2::second}}."
    card = col.get_card(reviewed)
    assert card.reps == 1 and card.ord == 0
    shown = re.sub(r"<[^>]+>", "", card.question().split("</style>")[-1])
    assert "first" not in shown and "zeroth" in shown and "second" in shown
    assert sorted(col.db.list("select ord from cards where nid = ?", nid)) == [0, 1, 2]
    col.close()


def test_an_image_added_to_a_synced_fact_reaches_the_media_folder(setup):
    from PIL import Image

    notes, target = setup
    assert run_sync(notes, target).exit_code == 0
    (notes / "images").mkdir()
    Image.new("RGB", (3, 3), "red").save(notes / "images" / "dot.png")
    edit(
        notes / "general.md",
        "Capital of France :: Paris",
        "Capital of France :: Paris ![m](images/dot.png)",
    )
    assert run_sync(notes, target).exit_code == 0
    col = open_collection(target)
    (nid,) = col.find_notes('"Front:Capital of France"')
    name = re.search(r'src="([^"]+)"', col.get_note(nid)["Back"]).group(1)
    assert (Path(col.media.dir()) / name).read_bytes() == (notes / "images/dot.png").read_bytes()
    col.close()


def test_a_profile_is_found_in_the_anki_folder(tmp_path, monkeypatch):
    from exporter.sync.profiles import ProfileError, find_collection

    monkeypatch.setenv("ANKI_BASE", str(tmp_path))
    (tmp_path / "User 1").mkdir()
    open_collection(tmp_path / "User 1" / "collection.anki2").close()
    assert find_collection(None) == tmp_path / "User 1" / "collection.anki2"
    assert find_collection("User 1") == tmp_path / "User 1" / "collection.anki2"
    with pytest.raises(ProfileError, match="no profile 'Nobody'"):
        find_collection("Nobody")
    (tmp_path / "Second").mkdir()
    open_collection(tmp_path / "Second" / "collection.anki2").close()
    with pytest.raises(ProfileError, match="choose a collection"):
        find_collection(None)
