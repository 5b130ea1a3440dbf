"""Note embeds (`embeds.py`): `![[Note]]`, `![[Note#Heading]]` and `![[Note#^block]]` show
the other note's part on the sheet and on the card whose answer is an embed, as
Obsidian's reading view does. The fixture (tests/fixtures/embeds) is eight notes written
as UPSC aspirants keep them: front matter, callouts, cloze lines under bold headings,
block ids at a paragraph's end and on a line of their own, a missing note and a cycle."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from exporter.config import BuildConfig
from exporter.embeds import Library
from exporter.model import Note
from exporter.reading import load

from .conftest import FIXTURES, build_py, import_apkg, parse_clean, pdf_text, write_note
from .conftest import exporter_here as run


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    work = tmp_path_factory.mktemp("embeds")
    shutil.copytree(FIXTURES / "embeds", work / "notes")
    return work, run(work)


def test_the_build_warns_at_the_lines_of_a_missing_note_and_a_cycle(built):
    _, done = built
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    err = done.stderr
    assert "notes/Revision/Weekly.md:7:1: warning: no note named 'Nonexistent note'" in err
    # The circle is warned of once, where it closes: Weekly embeds Cycle, whose embed of
    # Weekly's "This week" holds that very embed.
    assert (
        "notes/Revision/Weekly.md:9:1: warning: embeds go round in a circle: "
        "Weekly → Cycle → Weekly"
    ) in err
    # Another kind of file (a `.base`) and an embed inside fenced code are not warned of.
    assert err.count("warning:") == 2


def test_the_sheet_prints_the_embedded_heading_and_blocks(built):
    work, _ = built
    text = pdf_text(work / "dist/sheets/Polity/Constitution overview.pdf")
    # The heading with what stands under it, down to the next heading of its level.
    assert "Panchayati Raj › Eleventh Schedule" in text
    assert "Eleventh Schedule: 29 subjects for Panchayats" in text
    assert "Agriculture, minor irrigation and drinking water" in text
    assert "Conducts Panchayat elections" not in text  # the next section is not shown
    # A prose block (`^art21` at a paragraph's end) and a fact's `^id`.
    assert "Article 21 protects life and personal liberty" in text
    assert "Equality before law — Article 14" in text
    assert "Abolition of untouchability" not in text
    assert "![[" not in text and "^art" not in text


def test_block_ids_on_their_own_line_name_the_list_or_callout_above(built):
    work, _ = built
    minerals = pdf_text(work / "dist/sheets/Economy/Critical minerals.pdf")
    assert minerals.count("Reasi, Jammu and Kashmir") == 2  # the whole note, then the block
    rivers = pdf_text(work / "dist/sheets/Geography/Rivers.pdf")
    assert "Lithium-ion cells power electric vehicles" in rivers
    assert "![[Lithium]]" in rivers  # inside fenced code it is code


def test_an_embedded_fact_is_one_card_and_an_embedded_answer_shows_on_the_card(built, collection):
    work, _ = built
    import_apkg(collection, work / "dist/notes.apkg")
    facts = sum(len(n.facts) for n in load(config(work)).deck.notes)
    assert collection.note_count() == facts == 12
    [nid] = collection.find_notes('"Front:Lithium reserves in India"')
    card = collection.get_note(nid).cards()[0]
    answer = card.answer()
    assert "Mandya, Karnataka: 1,600 tonnes" in answer
    assert 'class="embed' in answer and "x-mark" not in answer
    assert len(collection.find_notes('"Front:Equality before law"')) == 1


def test_an_edit_of_the_embedded_note_reaches_the_card_and_equals_a_clean_build(
    tmp_path, collection
):
    shutil.copytree(FIXTURES / "embeds", tmp_path / "notes")
    # The deck alone: the sheet's embeds are read in the tests above.
    assert run(tmp_path, "build", "--format", "apkg").returncode == 0
    import_apkg(collection, tmp_path / "dist/notes.apkg")
    lithium = tmp_path / "notes/Economy/Lithium.md"
    lithium.write_text(
        lithium.read_text().replace("1,600 tonnes", "1,600 tonnes (2023 survey)"),
        encoding="utf-8",
    )
    again = run(tmp_path, "build", "--format", "apkg")
    assert again.returncode == 0, again.stderr
    assert "edited" in again.stdout + again.stderr  # the fact whose answer embeds it
    import_apkg(collection, tmp_path / "dist/notes.apkg")
    [nid] = collection.find_notes('"Front:Lithium reserves in India"')
    assert "(2023 survey)" in collection.get_note(nid).cards()[0].answer()
    assert collection.note_count() == 12

    clean = tmp_path / "clean"
    shutil.copytree(tmp_path / "notes", clean / "notes")
    shutil.copy(tmp_path / "notes.lock.json", clean / "notes.lock.json")
    assert run(clean, "build", "--format", "apkg").returncode == 0
    assert (tmp_path / "dist/notes.apkg").read_bytes() == (clean / "dist/notes.apkg").read_bytes()


def test_a_note_that_embeds_changes_its_digest_with_the_note_it_embeds(tmp_path):
    """Every per-note cache (the sheet's parts, the deck's rows, identities) is keyed by
    the note's digest: a host's must follow the notes it shows, and only those."""
    shutil.copytree(FIXTURES / "embeds", tmp_path / "notes")

    def digests() -> dict[str, str]:
        return {n.path: n.digest for n in load(config(tmp_path)).deck.notes}

    before = digests()
    lithium = tmp_path / "notes/Economy/Lithium.md"
    lithium.write_text(lithium.read_text().replace("1,600", "1,700"), encoding="utf-8")
    after = digests()
    changed = {p for p in before if before[p] != after[p]}
    assert changed == {"Economy/Lithium.md", "Economy/Critical minerals.md", "Geography/Rivers.md"}


def config(work: Path) -> BuildConfig:
    return BuildConfig(notes=work / "notes", out=work / "dist")


def test_block_ids_name_the_paragraph_the_list_above_or_the_quote_continued(tmp_path):
    note = parse_clean(
        tmp_path,
        "Para ends with an id ^p1\n\n- a\n- b\n\n^list\n\n> quoted\n^quote\n",
    )
    blocks = dict(note.blocks)
    assert blocks["p1"] == "<p>Para ends with an id</p>"
    assert blocks["list"].startswith("<ul>") and "<li>b</li>" in blocks["list"]
    assert blocks["quote"].startswith("<blockquote>")
    assert all("^" not in s.body for s in note.sections)


def test_an_embed_of_a_heading_of_the_same_note(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes/self.md").write_text(
        "# Self\n\n## Summary\n\n- Capital of India :: New Delhi\n\n## Recap\n\n"
        "![[#Summary]]\n\n![[#Nowhere]]\n",
        encoding="utf-8",
    )
    loaded = load(config(tmp_path))
    [note] = loaded.deck.notes
    recap = note.sections[-1].body
    assert 'class="embed-source">Summary<' in recap and "New Delhi" in recap
    assert [d.format() for d in loaded.diagnostics] == [
        "notes/self.md:11:1: warning: 'self' has no heading 'Nowhere' to embed — check the "
        "heading in self.md"
    ]
    assert len(note.facts) == 1


def test_a_name_finds_the_nearest_note_and_a_path_finds_its_own():
    notes = [Note(p, "", "", (), (), ()) for p in ("a/Topic.md", "b/Topic.md", "b/c/Other.md")]
    library = Library(notes)
    assert library.find("Topic", notes[1]).path == "b/Topic.md"
    assert library.find("Topic", notes[2]).path == "b/Topic.md"  # the nearest folder
    assert library.find("Other", notes[0]).path == "b/c/Other.md"
    assert library.find("a/Topic", notes[1]).path == "a/Topic.md"
    assert library.find("c/Other.md", notes[0]).path == "b/c/Other.md"
    assert library.find("topic", notes[0]).path == "a/Topic.md"  # as Obsidian: any case
    assert library.find("Missing", notes[0]) is None


@pytest.mark.slow
def test_embeds_of_embeds_that_would_multiply_stop_with_a_warning(tmp_path):
    """Six embeds of a note that embeds six more, nine deep, would print ten million
    copies: the build stops showing them at a bound and says so, once a note."""
    for i in range(9):
        embeds = "".join(f"![[n{i + 1}]]\n\n" for _ in range(6))
        write_note(tmp_path / "notes", f"n{i}.md", f"# N{i}\n\nText {i}.\n\n{embeds}")
    write_note(tmp_path / "notes", "n9.md", "# N9\n\n- Q :: A\n")
    done = build_py(tmp_path, "check")  # a subprocess with a timeout: it must end
    assert done.returncode == 0, done.stderr
    assert "notes/n0.md:5:1: warning: its embeds, and theirs, would print more" in done.stderr
    assert done.stderr.count("notes/n0.md:") == 1  # once a note
    assert "Traceback" not in done.stderr
