"""Notes as people really write them, built as a person builds them: the README's command
on a folder of GitHub, Obsidian and UPSC-style notes, under `--strict`, imported into
real Anki; the sheet read back as text.

`tests/fixtures/real/mixed/` was written as an author would write, before the dialect
work it tests was done: its expected cards are what the author marked, nothing more.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from .conftest import FIXTURES, REPO, import_apkg

# What each note of the mixed folder's author marked as a fact.
MIXED_FACTS = {
    "polity-emergency.md": [
        "Ground for a national emergency since 1978",
        "The 44th Amendment replaced",
        "Approval by Parliament is needed within",
        "Special majority",
        "Fundamental rights under Article 19",
    ],
    "economy-glossary.md": [
        "GDP",
        "GNP",
        "Repo rate",
        "The fiscal deficit target",
        "Basel III norms",
        "is kept in",
    ],
    "history-timeline.md": [
        "Champaran Satyagraha",
        "Kheda Satyagraha",
        "Ahmedabad mill strike",
        "Leaders of the Khilafat Movement",
    ],
}
MIXED_CARDS = 19
RAW_SYNTAX = ["[!", "%%", "[[", "]]", "==", "klzzwxh", "{{", "}}", ":::", "^frbm"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("real")
    shutil.copytree(FIXTURES / "real", work / "notes")
    proc = subprocess.run(
        [sys.executable, str(REPO / "build.py"), "build", "--strict"],
        cwd=work,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert len(list((work / "notes").rglob("*.md"))) >= 8
    return work


def test_the_mixed_notes_make_exactly_the_cards_their_author_marked(built, collection):
    import_apkg(collection, built / "dist" / "notes.apkg")
    by_file: dict[str, list[str]] = {}
    cards = 0
    for nid in collection.find_notes('"Source:*mixed/*"'):
        note = collection.get_note(nid)
        path = note["Source"].split(":")[0].rsplit("/", 1)[-1]
        by_file.setdefault(path, []).append(note.fields[0])
        cards += len(note.card_ids())
    for name, expected in MIXED_FACTS.items():
        fronts = by_file.get(name, [])
        assert len(fronts) == len(expected), (name, fronts)
        for start in expected:
            assert any(start in front for front in fronts), (name, start, fronts)
    assert cards == MIXED_CARDS


def test_no_card_shows_raw_dialect_syntax(built, collection):
    import_apkg(collection, built / "dist" / "notes.apkg")
    for cid in collection.find_cards('"Source:*mixed/*"'):
        card = collection.get_card(cid)
        for html in (card.question(), card.answer()):
            shown = html.split("</style>")[-1]
            assert not [s for s in RAW_SYNTAX if s in shown], shown


def test_the_sheet_reads_as_a_markdown_reader_shows_the_notes(built):
    sheets = sorted((built / "dist/sheets/mixed").glob("*.pdf"))
    assert [p.stem for p in sheets] == sorted(Path(n).stem for n in MIXED_FACTS)
    text = " ".join(page.extract_text() for p in sheets for page in PdfReader(p).pages)
    for raw in RAW_SYNTAX:
        assert raw not in text, raw
    joined = " ".join(text.split())
    for prose in [
        "Part XVIII of the Constitution",
        "National emergency (Article 352)",
        "fe80::/10",
        "std::vector",
        "1857 — the Revolt",
        "Remember",
        "food and fuel",
    ]:
        assert prose in joined, prose
    assert "check: was the third proclamation" not in joined
