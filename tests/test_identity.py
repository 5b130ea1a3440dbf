"""Identity across edits: the rules one by one, then the whole round trip through Anki
with a reviewed card, as a person edits notes over months."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exporter import identity
from exporter.config import BuildConfig
from exporter.identity import Lock
from exporter.pipeline import build
from exporter.reading import load

from .conftest import copy_fixture, import_apkg, snapshot, write_note

T0 = 1_800_000_000


def resolve(notes, lock=None, now=T0):
    deck, diags, _ = load(BuildConfig(notes=notes))
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
    assert search.startswith('"Source:*<!--exporter:')
    (found,) = collection.find_notes(search)
    assert collection.get_note(found)["Front"] == "A fact to delete"


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_deleted_note_takes_its_sheet_with_it(tmp_path, notes):
    out = tmp_path / "dist"
    assert build(BuildConfig(notes=notes, out=out, formats=("pdf",)), now=lambda: T0).ok
    assert (out / "sheets/b.pdf").exists()
    (notes / "b.md").unlink()
    assert build(BuildConfig(notes=notes, out=out, formats=("pdf",)), now=lambda: T0 + 1).ok
    assert not (out / "sheets/b.pdf").exists() and (out / "sheets/a.pdf").exists()


@pytest.mark.slow
def test_building_one_format_keeps_the_other(tmp_path, notes):
    out = tmp_path / "dist"
    assert build(BuildConfig(notes=notes, out=out), now=lambda: T0).ok
    deck = (out / "identity.apkg").read_bytes()
    edit(notes / "a.md", "Kyoto", "Tokyo")
    assert build(BuildConfig(notes=notes, out=out, formats=("pdf",)), now=lambda: T0 + 1).ok
    assert (out / "identity.apkg").read_bytes() == deck
    assert (out / "sheets/a.pdf").exists() and (out / "sheets/b.pdf").exists()


TREATIES = """# Treaties

## Treaty Alpha

- Significance :: It ended the border war between the two states.

## Treaty Beta

- Significance :: It opened the river ports to trade.
"""


@pytest.mark.parametrize("order", ["alpha first", "beta first"])
def test_same_questions_under_renamed_headings_keep_their_own_cards(tmp_path, order):
    """Either order puts, once, the fact whose own GUID sorts second first in the file:
    a tie broken by GUID order alone swaps the two cards in one of them."""
    alpha_part, beta_part = TREATIES.split("## Treaty Beta")
    text = TREATIES if order == "alpha first" else (
        "# Treaties\n\n## Treaty Beta" + beta_part + alpha_part.removeprefix("# Treaties\n\n")
    )
    notes = tmp_path / "notes"
    write_note(notes, "treaties.md", text)
    before, lock, _ = resolve(notes)
    was = {f.plain_answer: f.guid for f in before.facts}
    write_note(
        notes,
        "treaties.md",
        text.replace("Treaty Alpha", "Treaty Alpha (1998)")
        .replace("Treaty Beta", "Treaty Beta (2004)")
        .replace("border war between the two states", "border war of 1997 between the states")
        .replace("opened the river ports to trade", "opened the river ports to foreign trade"),
    )
    after, _, report = resolve(notes, lock, now=T0 + 1)
    now = {f.context[-1]: f.guid for f in after.facts}
    assert now["Treaty Alpha (1998)"] == was["It ended the border war between the two states."]
    assert now["Treaty Beta (2004)"] == was["It opened the river ports to trade."]
    assert [c.status for c in report.changes] == ["moved+edited", "moved+edited"]


def lock_shapes(good: str) -> dict[str, str]:
    """Lock files that are damaged in the ways people and tools damage them."""
    data = json.loads(good)
    fact = data["facts"][0]

    def with_fact(**changes) -> str:
        return json.dumps({**data, "facts": [{**fact, **changes}, *data["facts"][1:]]})

    return {
        "no facts": json.dumps({k: v for k, v in data.items() if k != "facts"}),
        "empty facts": json.dumps({**data, "facts": []}),
        "a list": json.dumps(data["facts"]),
        "a number guid": with_fact(guid=12),
        "an empty guid": with_fact(guid=""),
        "a NaN mtime": with_fact(mtime=float("nan")),
        "a string mtime": with_fact(mtime="1700000000"),
        "a true mtime": with_fact(mtime=True),
        "a null question": with_fact(question=None),
        "null stamps": json.dumps({**data, "stamps": None}),
        "null facts": json.dumps({**data, "facts": None}),
        "a fact that is a string": json.dumps({**data, "facts": ["x"]}),
    }


def test_every_damaged_lock_is_an_error_that_leaves_it_untouched(tmp_path):
    notes = copy_fixture("identity", tmp_path)
    out = tmp_path / "dist"
    config = BuildConfig(notes=notes, out=out, formats=("apkg",))
    assert build(config).ok
    good = config.lock_path.read_text()
    for name, text in lock_shapes(good).items():
        config.lock_path.write_text(text)
        before = snapshot(tmp_path)
        result = build(config)
        assert not result.ok, name
        (problem,) = [d for d in result.diagnostics if d.is_error]
        assert problem.path.endswith("identity.lock.json"), name
        assert "the lock file cannot be used" in problem.message, name
        assert "git checkout --" in problem.hint and "new identity" in problem.hint, name
        assert snapshot(tmp_path) == before, name


def test_a_lock_that_is_a_dangling_link_a_folder_or_a_pipe_is_an_error(tmp_path):
    import os

    notes = copy_fixture("identity", tmp_path)
    config = BuildConfig(notes=notes, out=tmp_path / "dist", formats=("apkg",))
    lock = config.lock_path
    lock.symlink_to(tmp_path / "moved-away.json")
    assert "link to a file that does not exist" in build(config).diagnostics[0].message
    lock.unlink()
    lock.mkdir()
    assert "not a regular file" in build(config).diagnostics[0].message
    lock.rmdir()
    os.mkfifo(lock)  # reading it would wait forever
    assert "not a regular file" in build(config).diagnostics[0].message
    assert not (tmp_path / "dist").exists()


def test_a_notes_folder_that_is_a_link_keeps_its_lock_beside_the_link(tmp_path):
    real = copy_fixture("identity", tmp_path / "elsewhere")
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes").symlink_to(real)
    config = BuildConfig(notes=project / "notes", out=project / "dist", formats=("apkg",))
    first = build(config)
    assert first.ok
    assert (project / "notes.lock.json").is_file()
    assert not (tmp_path / "elsewhere" / "identity.lock.json").exists()
    again = build(BuildConfig(notes=project / "notes", out=project / "d2", formats=("apkg",)))
    assert again.report is not None and not again.report.of("new")


def test_a_part_of_the_notes_builds_with_the_same_identities_and_decks(tmp_path, monkeypatch):
    notes = copy_fixture("everyday", tmp_path)
    monkeypatch.chdir(tmp_path)
    whole = build(BuildConfig(notes=Path("everyday"), out=Path("dist"), formats=("apkg",)))
    assert whole.ok
    lock_before = (tmp_path / "everyday.lock.json").read_text()
    by_question = {f.plain_question: (f.guid, f.deck) for f in whole.deck.facts}
    notes_before = snapshot(notes)

    part = build(BuildConfig(notes=Path("everyday/economy"), out=Path("dist"), formats=("apkg",)))
    assert part.ok, [d.format() for d in part.diagnostics]
    assert part.report is not None and part.report.is_empty
    assert {f.plain_question: (f.guid, f.deck) for f in part.deck.facts}.items() <= (
        by_question.items()
    )
    assert len(part.deck.facts) == 12
    assert not [a for a in part.advice if a.startswith("stale:")]
    assert snapshot(notes) == notes_before  # no lock, no file of any kind among the notes
    assert (tmp_path / "everyday.lock.json").read_text() == lock_before
    assert (tmp_path / "dist" / "everyday-economy.apkg").is_file()

    # An edit inside the part updates the one lock; the rest of the notes stay live.
    edit(notes / "economy/budget.md", "Revenue deficit ::", "Revenue deficit is ::")
    assert build(BuildConfig(notes=Path("everyday/economy"), formats=("apkg",))).ok
    lock = json.loads((tmp_path / "everyday.lock.json").read_text())
    assert not [e for e in lock["facts"] if e.get("removed")]
    assert len(lock["facts"]) == len(whole.deck.facts)


def test_cloze_numbers_stay_with_their_text_and_written_numbers_are_kept(tmp_path):
    notes = tmp_path / "notes"
    write_note(notes, "c.md", "- A {{x}} and {{y}} and {{c7::z}}.\n")
    before, lock, _ = resolve(notes)
    assert before.facts[0].marked_text == "A {{c1::x}} and {{c2::y}} and {{c7::z}}."
    write_note(notes, "c.md", "- A {{w}}, {{y}} and {{x}} and {{c7::z}} and {{v}}.\n")
    after, lock2, _ = resolve(notes, lock, now=T0 + 1)
    assert after.facts[0].guid == before.facts[0].guid
    assert after.facts[0].marked_text == (
        "A {{c8::w}}, {{c2::y}} and {{c1::x}} and {{c7::z}} and {{c9::v}}."
    )
    again, _, report = resolve(notes, lock2, now=T0 + 2)
    assert again.facts[0].marked_text == after.facts[0].marked_text
    assert report.is_empty
