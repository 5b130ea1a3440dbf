"""`pull`: edits made in Anki come back to the notes as a patch, and `pull --apply` writes
it safely. Run as a user runs it (`python build.py …` as subprocesses) on the nine
everyday notes, against a real collection file made with the `anki` library: review, edit
in Anki (in the same second as the sync), pull, apply, sync — the same notes, the same
cards, the same reviews, and nothing left to do."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from exporter.sync.markdown_back import cloze_markdown, numbered_ones, to_markdown
from exporter.sync.pull import lines_of
from exporter.sync.rewrite import NewText, Unmappable, rewrite

from .conftest import FIXTURES, parse_clean
from .conftest import exporter_here as run
from .test_sync import answer, open_collection, snapshot_collection

pytest.importorskip("anki")


def edit_in_anki(target: Path, search: str, field: str, value: str) -> int:
    col = open_collection(target)
    try:
        (nid,) = col.find_notes(search)
        note = col.get_note(nid)
        mod = note.mod
        note[field] = value
        col.update_note(note)
        # The same second as the sync: only the content can tell.
        col.db.execute("update notes set mod = ? where id = ?", mod, nid)
        return nid
    finally:
        col.close()


@pytest.fixture
def synced(tmp_path) -> tuple[Path, Path]:
    shutil.copytree(FIXTURES / "everyday", tmp_path / "notes")
    target = tmp_path / "collection.anki2"
    open_collection(target).close()
    done = run(tmp_path, "sync", "--collection", str(target))
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp_path, target


def test_an_anki_edit_comes_back_and_the_next_sync_keeps_every_card_and_review(synced):
    work, target = synced
    col = open_collection(target)
    answer(col, '"Front:Longest peninsular river"')
    answer(col, '"Text:*Tsangpo*"')
    col.close()
    edit_in_anki(target, '"Front:Longest peninsular river"', "Back", "Godavari (<b>1,465 km</b>)")
    edit_in_anki(
        target,
        '"Text:*Tsangpo*"',
        "Text",
        "The Brahmaputra is called {{c1::Yarlung Tsangpo}} in Tibet.",
    )
    edit_in_anki(
        target,
        '"Front:Stages of the Budget in Parliament"',
        "Back",
        "<ol><li>Presentation</li><li>General discussion</li><li>Vote on account</li></ol>",
    )
    before = snapshot_collection(target)
    rivers = work / "notes/geography/rivers.md"
    budget = work / "notes/economy/budget.md"
    old_rivers, old_budget = rivers.read_bytes(), budget.read_bytes()

    pulled = run(work, "pull", "--collection", str(target))
    assert pulled.returncode == 0, pulled.stderr
    out = pulled.stdout
    assert "notes/geography/rivers.md:15: Godavari → Godavari (**1,465 km**)" in out
    assert "notes/geography/rivers.md:11:" in out and "{{Yarlung Tsangpo}}" in out
    assert "notes/economy/budget.md:17:" in out
    patch = (work / "dist/anki-edits.patch").read_text(encoding="utf-8")
    assert "+- Longest peninsular river :: Godavari (**1,465 km**)" in patch
    assert "+- The Brahmaputra is called {{Yarlung Tsangpo}} in Tibet." in patch
    assert "+  3. Vote on account" in patch
    assert rivers.read_bytes() == old_rivers and budget.read_bytes() == old_budget  # only read
    assert snapshot_collection(target) == before  # the collection is only read
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q"], cwd=work, check=True)
        check = subprocess.run(
            ["git", "apply", "--check", "dist/anki-edits.patch"], cwd=work, capture_output=True
        )
        assert check.returncode == 0, check.stderr

    applied = run(work, "pull", "--apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "3 facts keep their identity and history" in applied.stdout
    text = rivers.read_text(encoding="utf-8")
    assert "- Longest peninsular river :: Godavari (**1,465 km**)\n" in text
    assert "- The Brahmaputra is called {{Yarlung Tsangpo}} in Tibet.\n" in text
    # Every other line stays as it was.
    assert [
        x for x in old_rivers.decode().splitlines() if "Godavari" not in x and "Tsangpo" not in x
    ] == [x for x in text.splitlines() if "Godavari" not in x and "Tsangpo" not in x]

    again = run(work, "sync", "--collection", str(target))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 to add, 0 to update, 0 to delete" in again.stdout
    after = snapshot_collection(target)
    assert after["revlog"] == before["revlog"]
    assert [c[:3] for c in after["cards"]] == [c[:3] for c in before["cards"]]
    assert [(n[0], n[1]) for n in after["notes"]] == [(n[0], n[1]) for n in before["notes"]]
    last = run(work, "sync", "--collection", str(target))
    assert "nothing to do" in last.stdout and "agree" not in last.stdout
    assert "nothing was edited" in run(work, "pull", "--collection", str(target)).stdout


def test_what_cannot_come_back_is_listed_with_its_reason(synced):
    work, target = synced
    edit_in_anki(target, '"Front:Repo rate"', "Back", 'the rate <img src="paste-1.png">')
    edit_in_anki(target, '"Front:Members of the MPC"', "Back", "six<br>three from the RBI")
    col = open_collection(target)
    (nid,) = col.find_notes('"Front:Fiscal deficit"')
    note = col.get_note(nid)
    note.tags.append("hard")
    col.update_note(note)
    col.set_deck(col.find_cards('"Front:Revenue deficit"'), col.decks.id("Elsewhere"))
    col.close()
    pulled = run(work, "pull", "--collection", str(target))
    assert pulled.returncode == 0, pulled.stderr
    out = pulled.stdout
    assert "notes/economy/monetary-policy.md:19: the new text is not valid: image" in out
    assert "notes/economy/monetary-policy.md:13: the answer now holds a line break" in out
    assert "notes/economy/budget.md:11: tags changed in Anki" in out
    assert "notes/economy/budget.md:12: moved to the deck 'Elsewhere' in Anki" in out
    assert "no patch written" in out
    assert not (work / "dist/anki-edits.patch").exists()


def test_a_fact_edited_on_both_sides_is_shown_both_ways_with_no_patch(synced):
    work, target = synced
    edit_in_anki(target, '"Front:Longest peninsular river"', "Back", "the Godavari")
    rivers = work / "notes/geography/rivers.md"
    rivers.write_text(rivers.read_text().replace(":: Godavari", ":: Godavari river"))
    pulled = run(work, "pull", "--collection", str(target))
    assert pulled.returncode == 0, pulled.stderr
    assert "notes/geography/rivers.md:15: edited in the notes and in Anki" in pulled.stdout
    assert "notes Back: Godavari river" in pulled.stdout
    assert "Anki  Back: the Godavari" in pulled.stdout
    assert not (work / "dist/anki-edits.patch").exists()
    # And `sync` keeps the Anki side unless told otherwise.
    kept = run(work, "sync", "--collection", str(target))
    assert "1 edited in Anki" in kept.stdout


def test_apply_writes_only_files_unchanged_since_the_patch(synced):
    work, target = synced
    edit_in_anki(target, '"Front:Longest peninsular river"', "Back", "Godavari!")
    edit_in_anki(target, '"Front:Fiscal deficit"', "Back", "borrowings of the government")
    assert run(work, "pull", "--collection", str(target)).returncode == 0
    rivers = work / "notes/geography/rivers.md"
    rivers.write_bytes(rivers.read_bytes() + b"\nA new line written since.\n")
    changed = rivers.read_bytes()
    lock = (work / "notes.lock.json").read_bytes()
    applied = run(work, "pull", "--apply")
    assert applied.returncode == 1
    assert "notes/geography/rivers.md: changed since the patch was made" in applied.stdout
    assert rivers.read_bytes() == changed
    assert "borrowings of the government" in (work / "notes/economy/budget.md").read_text()
    assert (work / "notes.lock.json").read_bytes() != lock  # the budget fact's new text


def test_apply_without_a_patch_says_what_to_do(tmp_path):
    shutil.copytree(FIXTURES / "everyday", tmp_path / "notes")
    done = run(tmp_path, "pull", "--apply")
    assert done.returncode == 1 and "run `python build.py pull` first" in done.stdout


# ---------------------------------------------------------------- the parts


def test_a_cloze_keeps_its_numbers_and_hints():
    text, _ = cloze_markdown(
        "The {{c2::Ganga}} meets the {{c1::Yamuna::river}} at <b>Prayagraj</b>."
    )
    assert text == "The {{c2::Ganga}} meets the {{Yamuna::river}} at **Prayagraj**."
    text, _ = cloze_markdown("{{c1::a}} and {{c2::b}}", explicit={2})
    assert text == "{{a}} and {{c2::b}}"
    assert numbered_ones([1, 1, 3], set()) == {0, 1, 2}
    assert numbered_ones([1, 2, 3], set()) == set()


def test_text_from_anki_never_becomes_our_markers():
    assert to_markdown("std::plus, {{x}} and #hashtag") == "std\\::plus, \\{{x}} and \\#hashtag"


@pytest.mark.parametrize(
    ("line", "change", "expected"),
    [
        ("- Q :: A #tag ^id1\r\n", {"answer": "B"}, "- Q :: B #tag ^id1\r\n"),
        ("#mains Q :: A\n", {"question": "R"}, "#mains R :: A\n"),
        ("1. KABIL ::: Khanij\n", {"answer": "Khanij Bidesh"}, "1. KABIL ::: Khanij Bidesh\n"),
        ("- `a :: b` :: code\n", {"answer": "text"}, "- `a :: b` :: text\n"),
    ],
)
def test_only_the_part_a_field_owns_changes(tmp_path, line, change, expected):
    note = parse_clean(tmp_path, "# T\n\n" + line.replace("\r\n", "\n"))
    (fact,) = note.facts
    lines, delta = rewrite(["# T\n", "\n", line], NewText(fact, **change))
    assert lines[2] == expected and delta == 0


def test_a_long_answer_is_its_block_indented_as_it_was(tmp_path):
    text = "# T\n\nStages ::\n  1. One\n  2. Two\n\nAfter.\n"
    (fact,) = parse_clean(tmp_path, text).facts
    lines, delta = rewrite(lines_of(text), NewText(fact, answer="1. One\n2. Two\n3. Three"))
    assert "".join(lines) == "# T\n\nStages ::\n  1. One\n  2. Two\n  3. Three\n\nAfter.\n"
    assert delta == 1
    with pytest.raises(Unmappable):
        rewrite(lines_of(text), NewText(fact, question="two\nlines"))
