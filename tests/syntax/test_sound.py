"""Sounds in notes: `[sound:…]`, `![label](x.wav)`, `![[x.wav]]` and raw `<audio>` become
one sound mark naming the packed file, with the checks every image gets."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from exporter.model import render_marks

from ..conftest import parse_clean, parse_text


def write_wav(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes(range(0, 256, 2)) * 4)
    return path


def sounds(fragment: str) -> list[tuple[str, str, str]]:
    found = []
    render_marks(
        fragment, lambda m: found.append((m.kind, m.attrs["name"], m.attrs["label"])) or ""
    )
    return found


@pytest.mark.parametrize(
    ("written", "label"),
    [
        ("[sound:audio/hi.wav]", "hi.wav"),
        ("![say hi](audio/hi.wav)", "say hi"),
        ("![[hi.wav]]", "hi.wav"),
        ('<audio src="audio/hi.wav" controls></audio>', "hi.wav"),
        ('<audio title="say hi" controls><source src="audio/hi.wav"></audio>', "say hi"),
    ],
)
def test_every_way_of_writing_a_sound_is_one_mark(tmp_path, written, label):
    write_wav(tmp_path / "topic" / "audio" / "hi.wav")
    note = parse_clean(tmp_path, f"Greeting {written} :: hello\n")
    ((kind, name, shown),) = sounds(note.facts[0].question)
    assert (kind, shown) == ("sound", label)
    assert name.endswith("-hi.wav")
    assert [m.name for m in note.media] == [name]
    assert "<audio" not in note.facts[0].question


@pytest.mark.parametrize("suffix", [".mp3", ".ogg", ".wav", ".m4a", ".opus", ".flac"])
def test_audio_suffixes_in_image_syntax_are_sounds(tmp_path, suffix):
    (tmp_path / "topic").mkdir()
    (tmp_path / "topic" / f"a{suffix}").write_bytes(b"not really audio, packed as it is")
    note = parse_clean(tmp_path, f"Prose ![a]({'a' + suffix}) here.\n")
    assert [k for k, _, _ in sounds(note.sections[0].body)] == ["sound"]
    assert "<img" not in note.sections[0].body


def test_a_missing_sound_is_an_error_at_its_line_and_its_label_stays(tmp_path):
    note, diags = parse_text(tmp_path, "# T\n\nFirst :: one\nSecond [sound:gone.mp3] :: two\n")
    (d,) = diags
    assert (d.line, d.severity.value) == (4, "error")
    assert "sound 'gone.mp3' does not exist" in d.message
    assert note.facts[1].question == "Second gone.mp3"
    assert not note.media


def test_a_sound_outside_the_notes_folder_is_an_error(tmp_path):
    notes = tmp_path / "notes"
    write_wav(tmp_path / "outside.wav")
    _, diags = parse_text(notes, "Hear [sound:../../outside.wav] :: this\n")
    assert [d.message for d in diags] == ["sound '../../outside.wav' is outside the notes folder"]
    (notes / "topic" / "link.wav").symlink_to(tmp_path / "outside.wav")
    _, diags = parse_text(notes, "Hear [sound:link.wav] :: this\n")
    assert [d.message for d in diags] == ["sound 'link.wav' is outside the notes folder"]


def test_a_sound_is_found_by_name_as_obsidian_finds_attachments(tmp_path):
    write_wav(tmp_path / "attachments" / "deep" / "word.wav")
    note = parse_clean(tmp_path, "Word ![[word.wav]] :: palabra\n")
    assert note.media[0].path.endswith("attachments/deep/word.wav")


def test_sound_syntax_in_code_is_code(tmp_path):
    note = parse_clean(tmp_path, "Write `[sound:x.mp3]` and\n\n```\n[sound:y.mp3]\n```\n")
    assert "x-mark" not in note.sections[0].body
    assert not note.media


def test_images_are_unchanged(tmp_path):
    _, diags = parse_text(tmp_path, "Map ![map](none.png)\n")
    expected = "image 'none.png' does not exist; the sheet shows its name"
    assert [d.message for d in diags] == [expected]
