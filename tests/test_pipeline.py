"""The pipeline's own promises: subsets by tag, the seed note under --strict, and the
lock covering every fact whatever subset is built."""

from __future__ import annotations

import json
import shutil

from pypdf import PdfReader

from exporter.config import BuildConfig
from exporter.pipeline import build, select_tags

from .conftest import REPO, copy_fixture, import_apkg


def test_tag_subset_builds_only_those_facts(tmp_path, collection):
    notes = copy_fixture("kinds", tmp_path)
    out = tmp_path / "dist"
    result = build(BuildConfig(notes=notes, out=out, tags=("geo", "#upsc")))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.counts == (2, 2, 2)
    assert {p.name for p in result.outputs} == {"kinds--geo-upsc.apkg", "kinds--geo-upsc.pdf"}
    import_apkg(collection, out / "kinds--geo-upsc.apkg")
    fronts = sorted(collection.get_note(n).fields[0] for n in collection.find_notes(""))
    assert fronts == ["Capital of France", "Lithium is used in"]
    text = " ".join(p.extract_text() for p in PdfReader(out / "kinds--geo-upsc.pdf").pages)
    assert "Capital of France" in text and "Lithium is used in" in text
    assert "KABIL" not in text and "Prose stays prose" not in text
    assert "Only facts tagged #geo, #upsc" in text
    lock = json.loads((tmp_path / "kinds.lock.json").read_text())
    assert len(lock["facts"]) == 7


def test_parent_tag_selects_children(tmp_path):
    from exporter.pipeline import load

    deck, _ = load(BuildConfig(notes=copy_fixture("kinds", tmp_path)))
    assert [f.plain_question for f in select_tags(deck, ("upsc",)).facts] == ["Lithium is used in"]
    assert select_tags(deck, ("ups",)).facts == ()


def test_seed_note_builds_strict(tmp_path, collection):
    shutil.copytree(REPO / "notes", tmp_path / "notes")
    out = tmp_path / "dist"
    result = build(BuildConfig(notes=tmp_path / "notes", out=out, strict=True, self_test=True))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert not result.diagnostics
    notes, facts, cards = result.counts
    assert notes == 1 and facts >= 40 and cards > facts
    import_apkg(collection, out / "notes.apkg")
    assert collection.note_count() == facts
    assert collection.card_count() == cards
    text = " ".join(p.extract_text() for p in PdfReader(out / "notes.pdf").pages)
    for section in [
        "About TRUST Initiative",
        "Pillars / Focus Areas",
        "Key Features",
        "Challenges for TRUST",
        "About Critical Minerals",
        "Mineral Security Partnership",
        "India’s Initiative",
        "USCEUAJSI",
    ]:
        assert section in text, section
