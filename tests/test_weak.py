"""`weak`: after one card is answered "again" three times and another "good", the sheet of
the facts you forget holds the first and not the second; the collection is only read."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from exporter.cli import main

from .conftest import copy_fixture
from .test_sync import answer, open_collection, run_sync, snapshot_collection


def reviewed(tmp_path: Path, forgotten: int) -> tuple[Path, Path]:
    """The kinds notes synced into a new collection, "Capital of France" answered
    "again" `forgotten` times and "Lithium is used in" "good" once: (notes, collection)."""
    notes = copy_fixture("kinds", tmp_path)
    target = tmp_path / "collection.anki2"
    open_collection(target).close()
    assert run_sync(notes, target).exit_code == 0
    col = open_collection(target)
    for _ in range(forgotten):
        answer(col, '"Front:Capital of France"', ease=1)
    answer(col, '"Front:Lithium is used in"', ease=3)
    col.close()
    return notes, target


@pytest.mark.slow
def test_the_weak_sheet_holds_what_was_forgotten_and_not_what_was_known(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    notes, target = reviewed(tmp_path, 3)
    before = snapshot_collection(target)

    result = CliRunner().invoke(
        main, ["weak", "--notes", str(notes), "--collection", str(target), "--out", "out"]
    )
    assert result.exit_code == 0, result.output
    assert "the 1 fact you forget most" in result.output
    text = " ".join(p.extract_text() for p in PdfReader(tmp_path / "out/kinds-weak.pdf").pages)
    assert "Capital of France" in text and "forgotten 3×" in text and "<span" not in text
    assert "Lithium is used in" not in text and "KABIL" not in text
    assert snapshot_collection(target) == before


@pytest.mark.slow
def test_weak_facts_print_as_cards_to_cut(tmp_path, monkeypatch):
    """`weak --format cards`: the facts forgotten most, as the print-and-cut cards."""
    monkeypatch.chdir(tmp_path)
    notes, target = reviewed(tmp_path, 2)
    result = CliRunner().invoke(
        main,
        [
            *("weak", "--notes", str(notes), "--collection", str(target), "--out", "out"),
            *("--format", "cards", "--card-size", "a7"),
        ],
    )
    assert result.exit_code == 0, result.output
    pages = PdfReader(tmp_path / "out/kinds-weak-cards.pdf").pages
    assert len(pages) == 2  # the one fact's front, then its back
    assert "Capital of France" in pages[0].extract_text()
    assert "forgotten 2×" in pages[0].extract_text()
    assert "Paris" in pages[1].extract_text() and "Paris" not in pages[0].extract_text()
    assert not (tmp_path / "out/kinds-weak.pdf").exists()


def test_nothing_reviewed_writes_no_sheet(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    notes = copy_fixture("kinds", tmp_path)
    target = tmp_path / "collection.anki2"
    open_collection(target).close()
    assert run_sync(notes, target).exit_code == 0
    result = CliRunner().invoke(
        main, ["weak", "--notes", str(notes), "--collection", str(target), "--out", "out"]
    )
    assert result.exit_code == 0 and "no sheet written" in result.output
    assert not (tmp_path / "out").exists()
