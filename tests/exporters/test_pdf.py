"""The revision sheets, checked with real readers: pypdf for text and fonts, pdftoppm for
what a printed page looks like. Never PDF bytes against a golden file."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from pypdf import PdfReader

from exporter.config import BuildConfig
from exporter.exporters.pdf import make_fetcher, page_ranges

from ..conftest import copy_fixture, run_build, snapshot


@pytest.fixture(scope="module")
def kinds_build(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kinds")
    notes = copy_fixture("kinds", tmp)
    result = run_build(notes, tmp / "dist", formats=("pdf",), self_test=True, strict=True)
    assert result.ok, [d.format() for d in result.diagnostics]
    return tmp / "dist"


def pages_text(path) -> list[str]:
    return [re.sub(r"\s+", " ", p.extract_text()) for p in PdfReader(path).pages]


def sheet_text(path) -> str:
    return " ".join(pages_text(path))


def test_sheet_holds_prose_and_every_fact(kinds_build):
    text = sheet_text(kinds_build / "kinds.pdf")
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


def test_cover_contents_running_heads_and_page_numbers(kinds_build):
    pages = pages_text(kinds_build / "kinds.pdf")
    total = len(pages)
    assert "Revision sheet".upper() in pages[0] and "2 notes · 7 facts · 9 cards" in pages[0]
    assert "page" not in pages[0].split("Contents")[0]
    contents = pages[0].split("Contents", 1)[1]
    assert re.search(r"Kinds of facts\s*2", contents) and re.search(r"Minerals\s*3", contents)
    assert pages[1].startswith("Kinds of facts") or "Kinds of facts Kinds" in pages[1]
    for number in range(2, total + 1):
        assert f"page {number} of {total}" in pages[number - 1]
    assert "Minerals" in pages[2].split("Lithium")[0]


def test_tag_index_lists_tags_with_pages(kinds_build):
    index = pages_text(kinds_build / "kinds.pdf")[-1]
    assert index.startswith("Tag index") or "Tag index" in index
    assert re.search(r"geo\s*2\b", index)
    assert re.search(r"upsc::gs3\s*3\b", index)
    assert "#geo" not in sheet_text(kinds_build / "kinds.pdf")


def test_page_ranges():
    assert page_ranges([5, 3, 4, 9, 3]) == "3–5, 9"
    assert page_ranges([2]) == "2"


def test_self_test_hides_answers_until_the_key(kinds_build):
    pages = pages_text(kinds_build / "kinds-self-test.pdf")
    key_at = next(i for i, p in enumerate(pages) if "Answer key" in p)
    assert key_at > 0 and "Answer key" not in " ".join(pages[:key_at])
    before, key = " ".join(pages[:key_at]), " ".join(pages[key_at:])
    for question in ["Capital of France", "KABIL", "India joined the MSP in", "Pillars of TRUST"]:
        assert question in before, question
    for answer in ["Paris", "Khanij", "2023", "Neodymium", "samarium", "Strategic"]:
        assert answer not in before, answer
        assert answer in key, answer
    assert "(an alkali metal)" in before


def test_every_font_is_embedded(kinds_build):
    for name in ("kinds.pdf", "kinds-self-test.pdf"):
        fonts = embedded_fonts(kinds_build / name)
        assert fonts, name
        for font, embedded in fonts.items():
            assert embedded, f"{font} is not embedded in {name}"


def embedded_fonts(path) -> dict[str, bool]:
    found: dict[str, bool] = {}
    for page in PdfReader(path).pages:
        resources = page.get("/Resources") or {}
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            if font.get("/Subtype") == "/Type3":
                found[str(font.get("/Name", "type3"))] = True
                continue
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = target.get("/FontDescriptor").get_object()
            found[str(target.get("/BaseFont"))] = any(
                k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")
            )
    return found


def test_fonts_are_the_bundled_ones(kinds_build):
    names = set(embedded_fonts(kinds_build / "kinds.pdf"))
    assert all(re.search(r"Sheet-(Sans|Mono|Devanagari)|Noto-Color-Emoji", n) for n in names)


def test_per_note_sheets_mirror_the_notes(kinds_build):
    sheets = sorted(p.relative_to(kinds_build).as_posix() for p in kinds_build.rglob("*.pdf"))
    assert "sheets/general.pdf" in sheets and "sheets/ir/minerals.pdf" in sheets
    pages = pages_text(kinds_build / "sheets/ir/minerals.pdf")
    assert "Lithium is used in" in pages[0] and f"page 1 of {len(pages)}" in pages[0]


def test_paper_sizes(tmp_path):
    notes = copy_fixture("kinds", tmp_path)
    for paper, size in (("a4", (595, 842)), ("letter", (612, 792))):
        out = tmp_path / paper
        assert run_build(notes, out, formats=("pdf",), paper=paper).ok
        box = PdfReader(out / "kinds.pdf").pages[1].mediabox
        assert (round(float(box.width)), round(float(box.height))) == size


def test_two_builds_give_the_same_pdf(tmp_path):
    notes = copy_fixture("kinds", tmp_path)
    run_build(notes, tmp_path / "a", formats=("pdf",))
    run_build(notes, tmp_path / "b", formats=("pdf",))
    for rel in ("kinds.pdf", "sheets/general.pdf"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_emoji_devanagari_and_box_drawing_build_strict(tmp_path):
    notes = copy_fixture("glyphs", tmp_path)
    result = run_build(notes, tmp_path / "dist", formats=("pdf",), strict=True)
    assert result.ok, [d.format() for d in result.diagnostics]
    text = sheet_text(tmp_path / "dist/glyphs.pdf")
    assert "26 जनवरी 1950" in text or "जनवरी" in text
    assert "├── " in text and "└── " in text


def test_a_character_no_font_has_fails_strict_naming_it(tmp_path):
    notes = copy_fixture("tofu", tmp_path)
    out = tmp_path / "dist"
    lenient = run_build(notes, out, formats=("pdf",))
    assert lenient.ok
    (warning,) = lenient.diagnostics
    assert warning.path.endswith("tofu/hieroglyph.md") and (warning.line, warning.col) == (4, 3)
    assert "'𓀀' (U+13000)" in warning.message
    shutil.rmtree(out)
    strict = run_build(notes, out, formats=("pdf",), strict=True)
    assert not strict.ok and not (out / "tofu.pdf").exists()


def rendered(pdf_bytes: bytes, folder, page: int = 1, dpi: int = 50) -> list[tuple[int, int, int]]:
    """One page as pixels, as pdftoppm draws it."""
    from PIL import Image

    folder.mkdir()
    (folder / "in.pdf").write_bytes(pdf_bytes)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", "-f", str(page), "-l", str(page), "in.pdf", "page"],
        check=True,
        cwd=folder,
    )
    (png,) = folder.glob("page*.png")
    data = Image.open(png).convert("RGB").tobytes()
    return list(zip(data[0::3], data[1::3], data[2::3], strict=True))


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils")
def test_emoji_print_in_colour(tmp_path):
    """Render the page as a printer would and look for colour where the emoji are."""
    notes = copy_fixture("glyphs", tmp_path)
    assert run_build(notes, tmp_path / "dist", formats=("pdf",)).ok
    sheet = (tmp_path / "dist/glyphs.pdf").read_bytes()
    pixels = rendered(sheet, tmp_path / "render", page=2, dpi=60)
    colourful = sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 80)
    assert colourful > 500, colourful


def test_fetcher_reads_only_allowed_folders(tmp_path):
    allowed = tmp_path / "notes"
    allowed.mkdir()
    (allowed / "a.png").write_bytes(b"x")
    (tmp_path / "secret.txt").write_text("no")
    fetcher = make_fetcher([allowed])
    assert fetcher.fetch((allowed / "a.png").as_uri()).read() == b"x"
    for url in [
        (tmp_path / "secret.txt").as_uri(),
        (allowed / ".." / "secret.txt").as_uri(),
        "http://127.0.0.1:9/x.png",
        "https://example.org/x.png",
        "data:text/plain,hi",
    ]:
        with pytest.raises(ValueError):
            fetcher.fetch(url)


def test_renderer_config_defaults():
    assert BuildConfig().paper == "a4"


def test_parallel_and_serial_renders_are_byte_identical(tmp_path):
    from bench.corpus import write_corpus
    from exporter.exporters.pdf import PARALLEL_FROM

    notes = write_corpus(tmp_path / "notes", PARALLEL_FROM + 1, 6)
    for workers in (1, 2):
        result = run_build(notes, tmp_path / f"w{workers}", formats=("pdf",), workers=workers)
        assert result.ok, [d.format() for d in result.diagnostics]

    def outputs(folder):
        # The cache's state and font config name their own folder; every PDF must match.
        return {k: v for k, v in snapshot(folder).items() if k.endswith(".pdf")}

    one, two = outputs(tmp_path / "w1"), outputs(tmp_path / "w2")
    assert one == two
    assert len([k for k in one if k.startswith("sheets/")]) == PARALLEL_FROM + 1


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils")
def test_a_stamp_draws_its_page_exactly_and_leaves_the_page_below_alone(kinds_build, tmp_path):
    """Stamp the cover over a note page (itself stamped already), and over a page with
    nothing on it (no resources, no contents): on its own the stamp looks exactly like the
    cover; over the note page, each shows where the other is blank, and the result looks
    exactly like pypdf's own (slow) merge_page."""
    import io

    from pypdf import PdfWriter

    from exporter.exporters.pdf import stamp

    sheet = PdfReader(kinds_build / "kinds.pdf")
    cover, note_page = sheet.pages[0], sheet.pages[1]

    def single(page, over=None, merge=False) -> bytes:
        writer = PdfWriter()
        if page is None:
            writer.add_blank_page(float(cover.mediabox.width), float(cover.mediabox.height))
        else:
            writer.add_page(page)
        if merge:
            writer.pages[0].merge_page(over)
        elif over is not None:
            stamp(writer, [(writer.pages[0], over)])
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    alone, below = (
        rendered(single(cover), tmp_path / "a"),
        rendered(single(note_page), tmp_path / "b"),
    )
    assert rendered(single(None, cover), tmp_path / "c") == alone
    both = rendered(single(note_page, cover), tmp_path / "d")
    white = (255, 255, 255)
    assert all(p == a for p, a, b in zip(both, alone, below, strict=True) if b == white)
    assert all(p == b for p, a, b in zip(both, alone, below, strict=True) if a == white)
    assert both != below and both != alone
    assert rendered(single(note_page, cover, merge=True), tmp_path / "e") == both
