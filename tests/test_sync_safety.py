"""Issue 24: syncs that lost a review or an edit, each replayed against a real collection
file made with the `anki` library."""

from __future__ import annotations

import os
import shutil

import pytest

from .conftest import FIXTURES, write_note
from .test_sync import answer, edit, open_collection, run_sync, snapshot_collection


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    notes = tmp_path / "notes"
    write_note(notes, "a.md", "# Geography\n\n- Capital of France :: Paris\n")
    target = tmp_path / "collection.anki2"
    open_collection(target).close()
    return notes, target


def back_of_france(target) -> str:
    col = open_collection(target)
    try:
        (nid,) = col.find_notes('"Front:Capital of France"')
        return col.get_note(nid)["Back"]
    finally:
        col.close()


def edit_in_anki(target, back: str) -> None:
    col = open_collection(target)
    (nid,) = col.find_notes('"Front:Capital of France"')
    note = col.get_note(nid)
    note["Back"] = back
    col.update_note(note)
    col.close()


def test_an_anki_edit_survives_an_unrelated_sync_and_a_later_note_edit(project):
    notes, target = project
    assert run_sync(notes, target).exit_code == 0
    edit_in_anki(target, "Paris (on the Seine)")  # the same second as the sync, too

    edit(notes / "a.md", "Paris\n", "Paris\n- Capital of Spain :: Madrid\n")
    unrelated = run_sync(notes, target)
    assert unrelated.exit_code == 0, unrelated.output
    assert "1 to add, 0 to update" in unrelated.output

    edit(notes / "a.md", ":: Paris\n", ":: Paris.\n")
    later = run_sync(notes, target)
    assert later.exit_code == 0, later.output
    assert "1 edited in Anki" in later.output and "kept     " in later.output
    assert back_of_france(target) == "Paris (on the Seine)"

    forced = run_sync(notes, target, "--overwrite")
    assert forced.exit_code == 0, forced.output
    assert back_of_france(target) == "Paris."
    assert "nothing to do" in run_sync(notes, target).output


def test_an_edit_in_the_same_second_as_the_sync_is_seen(project):
    notes, target = project
    assert run_sync(notes, target).exit_code == 0
    col = open_collection(target)
    (nid,) = col.find_notes('"Front:Capital of France"')
    mod = col.db.scalar("select mod from notes where id = ?", nid)
    note = col.get_note(nid)
    note["Back"] = "Paris!"
    col.update_note(note)
    col.db.execute("update notes set mod = ? where id = ?", mod, nid)  # same second
    col.close()
    edit(notes / "a.md", ":: Paris\n", ":: Paris, France\n")
    result = run_sync(notes, target)
    assert "1 edited in Anki" in result.output, result.output
    assert back_of_france(target) == "Paris!"


def test_regrouping_studied_cloze_cells_asks_before_deleting_their_cards(project):
    notes, target = project
    rows = "".join(f"| state {i} | {{{{c{i}::capital {i}}}}} |\n" for i in range(1, 16))
    write_note(notes, "table.md", "# States\n\n| state | capital |\n| --- | --- |\n" + rows)
    assert run_sync(notes, target).exit_code == 0
    col = open_collection(target)
    for i in range(1, 16):
        answer(col, f'"Text:*capital {i}*" card:{i}')
    col.close()
    before = snapshot_collection(target)

    text = (notes / "table.md").read_text()
    for i in range(1, 16):
        text = text.replace(f"{{{{c{i}::", "{{c1::")
    (notes / "table.md").write_text(text)
    asked = run_sync(notes, target)
    assert asked.exit_code == 1, asked.output
    assert "14 empty cloze cards to delete" in asked.output
    assert "delete 14 cards you have studied" in asked.output
    assert asked.output.count("  studied  cloze c") == 14
    assert snapshot_collection(target) == before

    agreed = run_sync(notes, target, "--yes")
    assert agreed.exit_code == 0, agreed.output
    col = open_collection(target)
    assert col.card_count() == 2  # France and the one card of the table
    col.close()


def test_notes_in_a_symlinked_folder_are_followed_not_deleted(project, tmp_path):
    notes, target = project
    write_note(notes, "geo/g.md", "# Rivers\n\n- Longest river :: Ganga\n")
    assert run_sync(notes, target).exit_code == 0
    shared = tmp_path / "shared"
    shared.mkdir()
    os.rename(notes / "geo", shared / "geo")
    os.symlink("../shared/geo", notes / "geo")
    result = run_sync(notes, target)
    assert result.exit_code == 0, result.output
    assert "0 to delete" in result.output and "nothing to do" in result.output
    edit(shared / "geo" / "g.md", ":: Ganga", ":: the Ganga")  # seen through the link
    edited = run_sync(notes, target)
    assert "0 to add, 1 to update, 0 to delete" in edited.output, edited.output

    os.symlink("..", notes / "geo" / "loop")  # a loop back to notes/ is read once
    looped = run_sync(notes, target)
    assert looped.exit_code == 0 and "0 to delete" in looped.output, looped.output


def test_a_link_that_cannot_be_followed_stops_every_deletion(project, tmp_path):
    notes, target = project
    write_note(notes, "geo/g.md", "# Rivers\n\n- Longest river :: Ganga\n")
    assert run_sync(notes, target).exit_code == 0
    before = snapshot_collection(target)
    (notes / "geo" / "g.md").unlink()
    (notes / "geo").rmdir()
    os.symlink(tmp_path / "gone", notes / "geo")
    result = run_sync(notes, target)
    assert result.exit_code == 1, result.output
    assert "cannot follow this link" in result.output
    assert "nothing was synced" in result.output
    assert snapshot_collection(target) == before


def test_a_mistyped_collection_path_is_an_error_unless_create(project, tmp_path):
    notes, _ = project
    result = run_sync(notes, tmp_path / "colection.anki2")
    assert result.exit_code == 2 and "does not exist" in result.output, result.output
    assert "--create" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "colection.anki2").exists()
    made = run_sync(notes, tmp_path / "colection.anki2", "--create")
    assert made.exit_code == 0 and "1 to add" in made.output, made.output


def test_a_dry_run_writes_nothing_to_an_old_schema_collection(project):
    notes, target = project
    col = open_collection(target)
    col.close(downgrade=True)  # schema 11, as an old Anki left it
    before = target.read_bytes()
    result = run_sync(notes, target, "--dry-run")
    assert result.exit_code == 0 and "1 to add" in result.output, result.output
    assert target.read_bytes() == before


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: p.write_text("not a collection"), "not an Anki collection"),
        (lambda p: p.mkdir(), "is a directory"),
    ],
)
def test_a_collection_that_cannot_be_opened_says_why(project, tmp_path, make, says):
    notes, _ = project
    bad = tmp_path / "bad.anki2"
    make(bad)
    result = run_sync(notes, bad)
    assert result.exit_code != 0 and says in result.output, result.output
    assert "Anki has it open" not in result.output and "Traceback" not in result.output


def test_a_collection_from_a_newer_anki_says_so(project, tmp_path):
    import sqlite3

    notes, target = project
    db = sqlite3.connect(target)
    db.execute("update col set ver = 99")
    db.commit()
    db.close()
    result = run_sync(notes, target)
    assert result.exit_code == 1 and "newer Anki" in result.output, result.output


@pytest.mark.parametrize("count", ["0", "-1"])
def test_weak_count_must_be_positive(project, count):
    from click.testing import CliRunner

    from exporter.cli import main

    notes, target = project
    result = CliRunner().invoke(
        main, ["weak", "--notes", str(notes), "--collection", str(target), "--count", count]
    )
    assert result.exit_code == 2 and "--count" in result.output, result.output


def test_files_written_atomically_are_readable_by_others(tmp_path):
    from exporter.publish import write_atomic

    write_atomic(tmp_path / "notes-weak.pdf", b"%PDF")
    assert (tmp_path / "notes-weak.pdf").stat().st_mode & 0o777 == 0o644


def notes_of(target) -> list[tuple]:
    """(note id, note type name, first field, card ords) of every note."""
    col = open_collection(target)
    try:
        out = []
        for nid in sorted(col.find_notes("")):
            note = col.get_note(nid)
            ords = col.db.list("select ord from cards where nid = ? order by ord", nid)
            out.append((nid, note.note_type()["name"], note.fields[0], ords))
        return out
    finally:
        col.close()


@pytest.mark.slow
def test_a_change_of_kind_changes_the_note_type_in_place(project):
    notes, target = project
    write_note(notes, "b.md", "# Words\n\n- KABIL ::: Khanij Bidesh India Ltd\n")
    assert run_sync(notes, target).exit_code == 0
    ((nid, kind, _, ords),) = [n for n in notes_of(target) if n[2] == "KABIL"]
    assert kind == "Exporter Basic (and reversed card)" and ords == [0, 1]
    col = open_collection(target)
    first = answer(col, '"Front:KABIL" card:1')
    col.close()

    edit(notes / "b.md", "KABIL ::: Khanij", "KABIL :: Khanij")  # reversed → basic
    unchanged = snapshot_collection(target)
    asked = run_sync(notes, target)
    assert asked.exit_code == 1, asked.output
    assert "change the note type of 1 notes" in asked.output and "one-way sync" in asked.output
    assert snapshot_collection(target) == unchanged
    result = run_sync(notes, target, "--yes")
    assert result.exit_code == 0, result.output
    assert "now basic: the note changes type in place; card 2 goes" in result.output
    assert (nid, "Exporter Basic", "KABIL", [0]) in notes_of(target)
    col = open_collection(target)
    assert col.get_card(first).reps == 1  # the studied card kept its history
    col.close()

    edit(notes / "b.md", "- KABIL :: Khanij Bidesh India Ltd", "- {{KABIL}} is Khanij Bidesh")
    to_cloze = run_sync(notes, target, "--yes")
    assert to_cloze.exit_code == 0, to_cloze.output
    assert "now cloze" in to_cloze.output
    (changed,) = [n for n in notes_of(target) if n[0] == nid]
    assert changed[1:] == ("Exporter Cloze", "{{c1::KABIL}} is Khanij Bidesh", [0])
    col = open_collection(target)
    assert col.get_card(first).reps == 1
    (cid,) = col.find_cards(f"nid:{nid}")
    assert "KABIL" in col.get_card(cid).answer() and "No cloze" not in col.get_card(cid).answer()
    col.close()

    edit(notes / "b.md", "- {{KABIL}} is Khanij Bidesh", "- KABIL ::: Khanij Bidesh")
    back = run_sync(notes, target, "--yes")
    assert back.exit_code == 0, back.output
    (changed,) = [n for n in notes_of(target) if n[0] == nid]
    assert changed[1:] == ("Exporter Basic (and reversed card)", "KABIL", [0, 1])


def test_fields_are_written_by_name_in_a_reordered_note_type(project):
    notes, target = project
    assert run_sync(notes, target).exit_code == 0
    col = open_collection(target)
    model = col.models.by_name("Exporter Basic")
    col.models.reposition_field(model, model["flds"][1], 0)  # Back first
    col.models.update_dict(model)
    col.close()
    edit(notes / "a.md", ":: Paris\n", ":: Paris, France\n")
    result = run_sync(notes, target)
    assert result.exit_code == 0, result.output
    col = open_collection(target)
    (nid,) = col.find_notes('"Front:Capital of France"')
    note = col.get_note(nid)
    assert (note["Front"], note["Back"]) == ("Capital of France", "Paris, France")
    col.close()


def test_a_note_type_missing_a_field_is_a_clear_error_and_nothing_changes(project):
    notes, target = project
    assert run_sync(notes, target).exit_code == 0
    col = open_collection(target)
    model = col.models.by_name("Exporter Basic")
    col.models.remove_field(model, model["flds"][2])  # Context
    col.models.update_dict(model)
    col.close()
    before = snapshot_collection(target)
    edit(notes / "a.md", ":: Paris\n", ":: Paris, France\n")
    result = run_sync(notes, target, "--overwrite")
    assert result.exit_code == 1, result.output
    assert "has no field 'Context'" in result.output and "Manage Note Types" in result.output
    assert "Traceback" not in result.output
    assert snapshot_collection(target) == before
    col = open_collection(target)
    assert not [m for m in col.models.all_names_and_ids() if m.name.endswith("+")]
    col.close()


KILLER = """
import os, signal, sys
import exporter.sync.collection as c
point, after = sys.argv.pop(1), int(sys.argv.pop(1))
seen = [0]

def kill_after(real):
    def wrapped(*args, **kwargs):
        result = real(*args, **kwargs)
        seen[0] += 1
        if seen[0] >= after:
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    return wrapped

if point == "media":
    import anki.collection
    import anki.media
    anki.media.MediaManager.write_data = kill_after(anki.media.MediaManager.write_data)
else:
    setattr(c, point, kill_after(getattr(c, point)))
from exporter.cli import main
main()
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("point", "after"),
    [("update", 2), ("remove", 1), ("media", 1), ("import_package", 1)],
)
def test_a_sync_killed_at_any_point_is_rolled_back_by_the_next(project, tmp_path, point, after):
    import subprocess
    import sys

    notes, target = project
    write_note(
        notes,
        "b.md",
        "# More\n\n- Capital of Spain :: Madrid\n- Capital of Peru :: Lima\n"
        "- Capital of Chad :: N'Djamena\n",
    )
    assert run_sync(notes, target).exit_code == 0
    col = open_collection(target)
    answer(col, '"Front:Capital of France"')
    col.close()
    before = snapshot_collection(target)

    text = (notes / "b.md").read_text()
    text = text.replace(":: Madrid", ":: Madrid!").replace(":: Lima", ":: Lima!")
    text = text.replace("- Capital of Chad :: N'Djamena\n", "")
    shutil.copy(FIXTURES / "sound" / "spanish" / "audio" / "hola.wav", notes / "hello.wav")
    text += "- Hello [sound:hello.wav] :: hola\n"
    (notes / "b.md").write_text(text)

    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLER,
            point,
            str(after),
            "sync",
            "--notes",
            str(notes),
            "--collection",
            str(target),
            "--yes",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stdout + killed.stderr
    journal = tmp_path / "notes.lock.json.sync-journal"
    assert journal.exists()
    assert (tmp_path / "dist" / ".backup" / "collection.anki2").exists()

    again = run_sync(notes, target, "--yes")
    assert again.exit_code == 0, again.output
    assert "rolled back a sync interrupted at" in again.output
    assert "dist/.backup/collection.anki2" in again.output
    assert "0 edited in Anki" in again.output
    assert not journal.exists()
    after_sync = snapshot_collection(target)
    assert after_sync["revlog"] == before["revlog"]
    assert "nothing to do" in run_sync(notes, target).output


@pytest.mark.slow
def test_a_rollback_never_undoes_reviews_made_after_the_kill(project, tmp_path):
    import subprocess
    import sys

    notes, target = project
    assert run_sync(notes, target).exit_code == 0
    edit(notes / "a.md", ":: Paris\n", ":: Paris!\n")
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLER,
            "update",
            "1",
            "sync",
            "--notes",
            str(notes),
            "--collection",
            str(target),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9
    col = open_collection(target)
    answer(col, '"Front:Capital of France"')
    col.close()
    reviewed = snapshot_collection(target)
    result = run_sync(notes, target)
    assert result.exit_code == 1, result.output
    assert "reviewed since, so it was not rolled back" in result.output
    assert snapshot_collection(target) == reviewed


def test_a_deck_renamed_in_anki_keeps_its_cards_through_later_edits(project):
    notes, target = project
    assert run_sync(notes, target).exit_code == 0
    col = open_collection(target)
    col.decks.rename(col.decks.by_name("Notes"), "Geography::Capitals")
    col.close()
    edit(notes / "a.md", ":: Paris\n", ":: Paris, France\n")
    assert run_sync(notes, target).exit_code == 0
    col = open_collection(target)
    (cid,) = col.find_cards('"Front:Capital of France"')
    assert col.decks.name(col.get_card(cid).did) == "Geography::Capitals"
    assert col.decks.id_for_name("Notes") is None  # not made again
    col.close()

    (notes / "a.md").write_text(
        "---\ndeck: World\n---\n# Geography\n\n- Capital of France :: Paris, France!\n"
    )
    assert run_sync(notes, target).exit_code == 0  # the notes moved it: it moves
    col = open_collection(target)
    (cid,) = col.find_cards('"Front:Capital of France"')
    assert col.decks.name(col.get_card(cid).did) == "World"
    col.close()


@pytest.fixture
def two_folders(tmp_path, monkeypatch):
    """Two notes folders (physics, history) and one collection they both sync into."""
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "collection.anki2"
    open_collection(target).close()
    return tmp_path / "physics" / "notes", tmp_path / "history" / "notes", target


def test_two_notes_folders_never_share_a_note(two_folders):
    """The same `^key1`, and the same path, question and answer, in two folders synced
    into one collection: two notes, each with its own folder's history."""
    physics, history, target = two_folders
    write_note(physics, "a.md", "# P\n\n- Unit of force :: newton ^key1\n- Same :: twice\n")
    write_note(history, "a.md", "# H\n\n- Battle of 1757 :: Plassey ^key1\n- Same :: twice\n")
    assert run_sync(physics, target).exit_code == 0
    col = open_collection(target)
    answer(col, '"Front:Unit of force"')
    col.close()
    second = run_sync(history, target)
    assert second.exit_code == 0, second.output
    assert "2 to add, 0 to update" in second.output
    col = open_collection(target)
    assert col.note_count() == 4
    (force,) = col.find_notes('"Front:Unit of force"')
    assert col.get_note(force)["Back"] == "newton"
    (cid,) = col.find_cards(f"nid:{force}")
    assert col.get_card(cid).reps == 1
    col.close()
    assert "nothing to do" in run_sync(physics, target).output
    assert "nothing to do" in run_sync(history, target).output


def test_a_note_another_lock_synced_is_left_alone(tmp_path, two_folders):
    """Locks written before lock ids shared GUIDs: the second folder's sync finds the
    first's note under its GUID, reports it and changes nothing of it."""
    import json

    physics, history, target = two_folders
    write_note(physics, "a.md", "# P\n\n- Unit of force :: newton ^key1\n")
    assert run_sync(physics, target).exit_code == 0
    write_note(history, "a.md", "# H\n\n- Battle of 1757 :: Plassey ^key1\n")
    lock = json.loads((tmp_path / "physics" / "notes.lock.json").read_text())
    lock["id"] = "00ff"  # another lock, whose facts got the physics GUID
    lock["facts"][0].update(path="a.md", question="Battle of 1757", answer="Plassey")
    (tmp_path / "history" / "notes.lock.json").write_text(json.dumps(lock))
    before = snapshot_collection(target)
    result = run_sync(history, target)
    assert result.exit_code == 0, result.output
    assert "other    " in result.output and "another notes folder's sync" in result.output
    assert snapshot_collection(target)["notes"] == before["notes"]
    col = open_collection(target)
    (nid,) = col.find_notes("")
    assert col.get_note(nid)["Back"] == "newton"
    col.close()
