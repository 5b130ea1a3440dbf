"""The revision sheet, checked by reading the PDF back (pypdf) rather than its bytes."""

from __future__ import annotations

import re

import pytest
from pypdf import PdfReader

from ..conftest import copy_fixture, run_build


@pytest.fixture
def kinds_sheet(tmp_path):
    notes = copy_fixture("kinds", tmp_path)
    result = run_build(notes, tmp_path / "dist", formats=("pdf",))
    assert result.ok, [d.format() for d in result.diagnostics]
    return tmp_path / "dist" / "kinds.pdf"


def sheet_text(path) -> str:
    reader = PdfReader(path)
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def test_sheet_holds_prose_and_every_fact(kinds_sheet):
    text = sheet_text(kinds_sheet)
    for expected in [
        "Prose stays prose, even with code :: spans and {braces}.",
        "Capital of France",
        "Paris",
        "KABIL",
        "Khanij Bidesh India Ltd",
        "India joined the MSP in 2023.",
        "Neodymium and samarium go into magnets",
        "Lithium powers batteries",
        "Pillars of TRUST",
        "Strategic",
        "Technology",
        "Not a fact :: just text, {{literal}} and #hash",
        "Lithium is used in",
        "batteries",
    ]:
        assert expected in text, expected


def test_sheet_has_contents_tags_and_page_numbers(kinds_sheet):
    reader = PdfReader(kinds_sheet)
    text = sheet_text(kinds_sheet)
    assert "Contents" in text
    assert "Kinds of facts" in text and "Minerals" in text
    pages = len(reader.pages)
    assert f"page 1 of {pages}" in text and f"page {pages} of {pages}" in text
    assert "geo" in text and "upsc::gs3" in text
    assert "#geo" not in text


def test_sheet_is_a4(kinds_sheet):
    box = PdfReader(kinds_sheet).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)


def test_two_builds_give_the_same_pdf(tmp_path):
    notes = copy_fixture("kinds", tmp_path)
    run_build(notes, tmp_path / "a", formats=("pdf",))
    run_build(notes, tmp_path / "b", formats=("pdf",))
    assert (tmp_path / "a/kinds.pdf").read_bytes() == (tmp_path / "b/kinds.pdf").read_bytes()
