"""The every-construct fixture (tests/fixtures/every-construct): a note for each part of
docs/syntax.md, built by `python build.py build --strict` as a person runs it, with no
error and no warning, then imported into a fresh Anki collection. CI builds the same
folder in a venv holding only the runtime install (.ci/run)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from .conftest import FIXTURES, REPO, import_apkg, pdf_text

FACTS = 39


@pytest.mark.slow
def test_every_construct_builds_under_strict(tmp_path, collection):
    notes = shutil.copytree(FIXTURES / "every-construct", tmp_path / "notes")
    proc = subprocess.run(
        [sys.executable, str(REPO / "build.py"), "build", "--strict"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "warning" not in output.lower() and "Traceback" not in output
    assert f"built 8 notes, {FACTS} facts" in proc.stdout
    assert notes.is_dir()

    import_apkg(collection, tmp_path / "dist" / "notes.apkg")
    assert collection.note_count() == FACTS
    media = set(os.listdir(collection.media.dir()))
    for name in ("hola.wav", "adios.wav", "gracias.wav", ".png"):
        assert any(packed.endswith(name) for packed in media), (name, media)
    answers = " ".join(collection.get_card(cid).answer() for cid in collection.find_cards("deck:*"))
    for shown in ("Thiruvananthapuram", 'class="highlight', r"\(F = ma\)", "[anki:play", "<table"):
        assert shown in answers, shown
    assert "<script" not in answers

    sheet = pdf_text(tmp_path / "dist" / "notes.pdf")
    shown_sheet = ("Khanij Bidesh India Ltd", "WORTH REMEMBERING", "Habeas corpus", "🔊")
    for shown in (*shown_sheet, "Eleventh Schedule: 29 subjects for Panchayats"):
        assert shown in sheet, shown  # box titles are set in capitals by the sheet's CSS
    for raw in ("{{1950}}", "{{c1::", "{{29}}", "%%", "[!note]", "==highlighted==", "^art368"):
        assert raw not in sheet, raw
