"""Problems only seen across notes: names Anki would merge or rename without a word."""

from __future__ import annotations

import unicodedata

from exporter.config import BuildConfig
from exporter.reading import examine

from .conftest import write_note


def problems(notes) -> list[tuple[str, int, str]]:
    found = examine(BuildConfig(notes=notes, formats=("apkg",))).diagnostics
    return [(d.path.rsplit("/", 1)[-1], d.line, d.message) for d in found]


def test_tags_and_decks_that_differ_only_in_capitals_are_reported(tmp_path):
    notes = tmp_path / "notes"
    write_note(notes, "Polity/a.md", "- Writs :: five #Mains\n")
    write_note(notes, "polity/b.md", "- Articles :: 395 #mains\n")
    found = problems(notes)
    assert (
        "b.md",
        1,
        "deck 'polity' differs from 'Polity' only in capitals; Anki merges them into one deck",
    ) in found
    assert (
        "b.md",
        1,
        "tag 'mains' differs from 'Mains' only in capitals; Anki merges them into one tag",
    ) in found


def test_file_names_in_two_unicode_forms_are_reported(tmp_path):
    notes = tmp_path / "notes"
    name = "café.md"
    write_note(notes, unicodedata.normalize("NFC", name), "- a :: b\n")
    write_note(notes, unicodedata.normalize("NFD", name), "- c :: d\n")
    found = [p for p in problems(notes) if "Unicode form" in p[2]]
    assert len(found) == 1


def test_empty_levels_in_decks_are_errors_and_in_tags_are_dropped(tmp_path):
    notes = tmp_path / "notes"
    write_note(notes, "a.md", '---\ndeck: "UPSC::::GS2"\ntags: ["a::::b", "::"]\n---\n- q :: a\n')
    found = problems(notes)
    assert ("a.md", 2, "deck 'UPSC::::GS2' has an empty level (Anki would rename it)") in found
    assert any(line == 3 and "tag '::' cannot be an Anki tag" in m for _, line, m in found)
    write_note(notes, "a.md", '---\ntags: ["a::::b"]\n---\n- q :: a\n')
    deck = examine(BuildConfig(notes=notes, formats=("apkg",))).deck
    assert deck.facts[0].tags == ("a::b",)
