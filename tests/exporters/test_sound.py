"""Sounds in the outputs: Anki's own `[sound:NAME]` in the field with the file in the
collection's media after import; a small "🔊 label" on the sheet."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ..conftest import copy_fixture, import_apkg, pdf_text, run_build, write_note


@pytest.fixture(scope="module")
def sound_build(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("sound")
    notes = copy_fixture("sound", tmp)
    result = run_build(notes, tmp / "dist", formats=("apkg", "pdf"), strict=True)
    assert result.ok, [d.format() for d in result.diagnostics]
    return tmp / "dist"


def fields_by_front(col) -> dict[str, list[str]]:
    return {col.get_note(nid).fields[0]: col.get_note(nid).fields for nid in col.find_notes("")}


def test_fields_hold_anki_sound_tags_and_the_files_reach_the_collection(collection, sound_build):
    import_apkg(collection, sound_build / "sound.apkg")
    fields = fields_by_front(collection)
    played = {n for fs in fields.values() for f in fs for n in re.findall(r"\[sound:([^\]]+)\]", f)}
    assert {re.sub(r"^[0-9a-f]{12}-", "", n) for n in played} == {
        "hola.wav",
        "adios.wav",
        "gracias.wav",
    }
    assert fields["Thank you"][1] == f"gracias [sound:{next(n for n in played if 'gracias' in n)}]"
    media = Path(collection.media.dir())
    for name in played:
        assert (media / name).read_bytes()[:4] == b"RIFF"
    assert not any("<x-mark" in f or "<audio" in f for fs in fields.values() for f in fs)


def test_the_card_plays_the_sound(collection, sound_build):
    import_apkg(collection, sound_build / "sound.apkg")
    (cid,) = collection.find_cards('"Front:Listen*"')
    card = collection.get_card(cid)
    assert "[anki:play:q:0]" in card.question()
    (tag,) = card.question_av_tags()
    assert tag.filename.endswith("-hola.wav")


def test_code_showing_the_syntax_plays_nothing(sound_build):
    text = pdf_text(sound_build / "sound.pdf")
    assert "[sound:not-a-sound.wav]" in text


def test_the_sheet_shows_a_speaker_and_the_label(sound_build):
    text = pdf_text(sound_build / "sound.pdf")
    assert "🔊 hola.wav" in text
    assert "🔊 adiós, slowly" in text
    assert "🔊 gracias" in text
    assert "[sound:" not in text.replace("[sound:not-a-sound.wav]", "")


def test_a_missing_sound_fails_the_build_at_its_line(tmp_path):
    notes = tmp_path / "notes"
    write_note(notes, "lang/words.md", "# Words\n\nOne :: uno\nTwo [sound:dos.mp3] :: dos\n")
    result = run_build(notes, tmp_path / "dist", formats=("apkg",))
    assert not result.ok
    (d,) = result.diagnostics
    assert (d.path.endswith("lang/words.md"), d.line) == (True, 4)
    assert "sound 'dos.mp3' does not exist" in d.message
    assert not (tmp_path / "dist" / "notes.apkg").exists()
