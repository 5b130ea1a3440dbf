"""The revision sheets, checked with real readers: pypdf for text and fonts, pdftoppm for
what a printed page looks like. Never PDF bytes against a golden file."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from exporter.config import BuildConfig
from exporter.exporters.pdf.assembly import page_ranges
from exporter.exporters.pdf.render import NOTES_URL, make_fetcher, notes_url

from ..conftest import FIXTURES, copy_fixture, run_build, snapshot


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
        "Lithium (an alkali metal) powers batteries",  # the hint follows its deletion
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
    assert re.search(r"Kinds of facts[\s.]*2", contents) and re.search(r"Minerals[\s.]*3", contents)
    assert pages[1].startswith("Kinds of facts") or "Kinds of facts Kinds" in pages[1]
    for number in range(2, total + 1):
        assert f"page {number} of {total}" in pages[number - 1]
    assert "Minerals" in pages[2].split("Lithium")[0]


def test_tag_index_lists_tags_with_pages(kinds_build):
    index = pages_text(kinds_build / "kinds.pdf")[-1]
    assert index.startswith("Tag index") or "Tag index" in index
    assert re.search(r"geo[\s.]*2\b", index)
    assert re.search(r"upsc::gs3[\s.]*3\b", index)
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


@pytest.mark.slow
def test_paper_sizes(tmp_path):
    notes = copy_fixture("kinds", tmp_path)
    for paper, size in (("a4", (595, 842)), ("letter", (612, 792))):
        out = tmp_path / paper
        assert run_build(notes, out, formats=("pdf",), paper=paper).ok
        box = PdfReader(out / "kinds.pdf").pages[1].mediabox
        assert (round(float(box.width)), round(float(box.height))) == size


@pytest.mark.slow
def test_two_builds_give_the_same_pdf(tmp_path):
    notes = copy_fixture("kinds", tmp_path)
    run_build(notes, tmp_path / "a", formats=("pdf",))
    run_build(notes, tmp_path / "b", formats=("pdf",))
    for rel in ("kinds.pdf", "sheets/general.pdf"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


@pytest.mark.slow
def test_the_same_notes_in_another_folder_give_the_same_sheets(tmp_path):
    """WeasyPrint names each image in the PDF by a hash of its URL; the sheet's URLs for
    the notes' files name their path below the notes folder, not the folder's place."""
    here = copy_fixture("every-construct", tmp_path / "here")
    moved = copy_fixture("every-construct", tmp_path / "elsewhere" / "deeper")
    assert run_build(here, tmp_path / "a", formats=("pdf",)).ok
    shutil.copy2(BuildConfig(notes=here).lock_path, BuildConfig(notes=moved).lock_path)
    assert run_build(moved, tmp_path / "b", formats=("pdf",)).ok

    def sheets(out: Path) -> list[Path]:
        return sorted(p.relative_to(out) for p in out.rglob("*.pdf") if ".cache" not in p.parts)

    made = sheets(tmp_path / "a")
    assert made == sheets(tmp_path / "b") and len(made) == 9
    assert any(b"/Subtype /Image" in (tmp_path / "a" / p).read_bytes() for p in made)
    for rel in made:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


@pytest.mark.slow
def test_emoji_devanagari_and_box_drawing_build_strict(tmp_path):
    notes = copy_fixture("glyphs", tmp_path)
    result = run_build(notes, tmp_path / "dist", formats=("pdf",), strict=True)
    assert result.ok, [d.format() for d in result.diagnostics]
    text = sheet_text(tmp_path / "dist/glyphs.pdf")
    assert "26 जनवरी 1950" in text or "जनवरी" in text
    assert "├── " in text and "└── " in text


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils")
def test_emoji_print_in_colour(tmp_path):
    """Render the page as a printer would and look for colour where the emoji are."""
    notes = copy_fixture("glyphs", tmp_path)
    assert run_build(notes, tmp_path / "dist", formats=("pdf",)).ok
    sheet = (tmp_path / "dist/glyphs.pdf").read_bytes()
    pixels = rendered(sheet, tmp_path / "render", page=1, dpi=60)  # one note: no cover
    colourful = sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 80)
    assert colourful > 500, colourful


def test_fetcher_reads_only_allowed_folders(tmp_path):
    allowed = tmp_path / "notes"
    allowed.mkdir()
    (allowed / "a.png").write_bytes(b"x")
    (tmp_path / "secret.txt").write_text("no")
    fetcher = make_fetcher([allowed], allowed)
    assert fetcher.fetch((allowed / "a.png").as_uri()).read() == b"x"
    assert fetcher.fetch(notes_url(allowed / "a.png", allowed)).read() == b"x"
    for url in [
        (tmp_path / "secret.txt").as_uri(),
        (allowed / ".." / "secret.txt").as_uri(),
        NOTES_URL + "../secret.txt",
        notes_url(tmp_path / "secret.txt", allowed),  # outside: a file URL, refused
        "http://127.0.0.1:9/x.png",
        "https://example.org/x.png",
        "data:text/plain,hi",
        "data:text/html,<b>x</b>",
    ]:
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    # Drawn formulas reach the renderer as SVG data, which fetches nothing.
    svg = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4="
    assert fetcher.fetch(svg).read().startswith(b"<svg")


def test_renderer_config_defaults():
    assert BuildConfig().paper == "a4"


@pytest.mark.slow
def test_parallel_and_serial_renders_are_byte_identical(tmp_path):
    from bench.corpus import write_corpus
    from exporter.exporters.pdf.renderer import PARALLEL_FROM

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


@pytest.mark.slow
def test_running_heads_in_runs_number_every_page_of_the_whole(tmp_path, monkeypatch):
    """Running heads render in runs of pages (`OVERLAY_RUN`, three pages here): each page
    is numbered in the whole sheet, and the runs give the same bytes on one core or two."""
    from bench.corpus import write_corpus
    from exporter.exporters.pdf import renderer

    monkeypatch.setattr(renderer, "OVERLAY_RUN", 3)
    notes = write_corpus(tmp_path / "notes", renderer.PARALLEL_FROM + 1, 6)
    for workers in (1, 2):
        result = run_build(notes, tmp_path / f"w{workers}", formats=("pdf",), workers=workers)
        assert result.ok, [d.format() for d in result.diagnostics]
    sheet = tmp_path / "w2" / "notes.pdf"
    assert sheet.read_bytes() == (tmp_path / "w1" / "notes.pdf").read_bytes()
    pages = pages_text(sheet)
    assert len(pages) > 2 * 3
    numbered = [i for i, text in enumerate(pages, 1) if f"page {i} of {len(pages)}" in text]
    assert numbered == list(range(numbered[0], len(pages) + 1))  # every page after the front
    assert numbered[0] <= 3


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils")
def test_a_stamp_draws_its_page_exactly_and_leaves_the_page_below_alone(kinds_build, tmp_path):
    """Stamp the cover over a note page (itself stamped already), and over a page with
    nothing on it (no resources, no contents): on its own the stamp looks exactly like the
    cover; over the note page, each shows where the other is blank, and the result looks
    exactly like pypdf's own (slow) merge_page."""
    import io

    from pypdf import PdfWriter

    from exporter.exporters.pdf.merge import Sheet

    data = (kinds_build / "kinds.pdf").read_bytes()
    reference = PdfReader(io.BytesIO(data))
    cover, note_page = 0, 1
    width, height = (float(v) for v in reference.pages[cover].mediabox[2:])

    def single(page, over=None, merge=False) -> bytes:
        if merge:  # pypdf's merge_page: the slow way, the picture to match
            writer = PdfWriter()
            writer.add_page(reference.pages[page])
            writer.pages[0].merge_page(reference.pages[over])
            out = io.BytesIO()
            writer.write(out)
            return out.getvalue()
        sheet = Sheet()
        source = sheet.open(data)
        if page is None:
            sheet.pdf.add_blank_page(page_size=(width, height))
        else:
            sheet.pdf.pages.append(source.pages[page])
        if over is not None:
            sheet.stamp(0, source.pages[over])
        return sheet.bytes("one page")

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


# ------------------------------------------------------------------ a sheet a student trusts
# The seed note (copied to tests/fixtures/sheet/ so edits to notes/ do not move these tests)
# and the nine-note fixture, each built once for the module.

SEED = "upsc/gs2/india-us-trust-initiative.md"
SEED_TITLE = "India–U.S. TRUST Initiative and Critical Minerals"
MM = 72 / 25.4  # points per millimetre
PX = 0.75  # points per CSS pixel


def build_once(tmp_path_factory, fixture: str, **kwargs):
    tmp = tmp_path_factory.mktemp(fixture)
    notes = copy_fixture(fixture, tmp)
    result = run_build(notes, tmp / "dist", formats=("pdf",), **kwargs)
    assert result.ok, [d.format() for d in result.diagnostics]
    return tmp / "dist"


@pytest.fixture(scope="module")
def seed_a4(tmp_path_factory):
    return build_once(tmp_path_factory, "sheet", self_test=True)


@pytest.fixture(scope="module")
def seed_letter(tmp_path_factory):
    return build_once(tmp_path_factory, "sheet", paper="letter")


@pytest.fixture(scope="module")
def seed_prelims(tmp_path_factory):
    return build_once(tmp_path_factory, "sheet", tags=("prelims",))


@pytest.fixture(scope="module")
def everyday(tmp_path_factory):
    return build_once(tmp_path_factory, "everyday")


@pytest.fixture(scope="module")
def seed_deck():
    from exporter.reading import load

    deck = load(BuildConfig(notes=FIXTURES / "sheet")).deck
    (note,) = deck.notes
    return note


def key_page(pages: list[str]) -> int:
    return next(i for i, p in enumerate(pages) if "Answer key" in p)


def test_self_test_prints_questions_and_blanks_only_until_the_key(seed_a4, seed_deck):
    from exporter.model import Kind

    pages = pages_text(seed_a4 / "sheet-self-test.pdf")
    at = key_page(pages)
    before, key = " ".join(pages[:at]), " ".join(pages[at:])
    # The intro paragraph, the trees and the table answer questions: none of them shows.
    for text in [
        "Transforming Relationship Utilizing Strategic Technology",
        "recently launched",
        "PILLARS / FOCUS AREAS",
        "├──",
        "└─",
        "│",
        "High-performance magnets for defence systems",
        "Ultra-pure silicon, superconducting materials",
        "Countries of MSP",
    ]:
        assert text not in before, text
    # No answer and no deletion, unless the question itself says it (a word in a question).
    questions = " ".join(
        f.plain_question
        if f.kind is not Kind.CLOZE
        else "".join(s for s in f.text if isinstance(s, str))
        for f in seed_deck.facts
    )
    answers = [f.plain_answer for f in seed_deck.facts if f.kind is not Kind.CLOZE] + [
        re.sub(r"<[^>]+>", "", s.html)
        for f in seed_deck.facts
        for s in f.text
        if hasattr(s, "number")
    ]
    hidden = [a for a in answers if len(a) > 3 and a not in questions]
    assert len(hidden) > 60
    for answer in hidden:
        assert " ".join(answer.split()) not in before, answer
    for question in ["Main objective of the TRUST Initiative", "Major critical minerals"]:
        assert question in before
    assert "Transforming Relationship Utilizing Strategic Technology" in key
    assert "├──" in key  # the tree is an answer there


def test_self_test_is_titled_and_numbered_like_its_key(seed_a4, seed_deck):
    path = seed_a4 / "sheet-self-test.pdf"
    reader = PdfReader(path)
    assert reader.metadata.title.startswith("Self-test")
    pages = pages_text(path)
    assert "SELF-TEST" in pages[0] and "Revision sheet".upper() not in pages[0]
    at = key_page(pages)
    assert pages[at].split("Answer key")[0].strip() in ("", "Answer key")  # from a new page
    # poppler keeps each list number on its line (pypdf reads them apart)
    lines = [" ".join(b["text"] for b in body) for _, body in page_lines(path)]
    before, key = " ".join(lines[:at]), " ".join(lines[at:])
    n = len(seed_deck.facts)
    for number, fact in enumerate(seed_deck.facts, 1):
        if fact.kind.value != "cloze":
            start = " ".join(fact.plain_question.split())[:25]
            assert f"{number}. {start}" in before, (number, start)
            assert f"{number}. {start}" in key, (number, start)
    assert f"{n}. " in key and f"{n + 1}. " not in key


def walk_boxes(box):
    yield box
    for child in getattr(box, "children", []):
        yield from walk_boxes(child)


@pytest.mark.slow
def test_self_test_blanks_leave_room_to_write(tmp_path, seed_deck):
    """Lay the seed's self-test out with the sheet's own styles and measure the boxes."""
    import weasyprint

    from exporter.exporters.pdf.render import _font_configuration
    from exporter.exporters.pdf.renderer import Renderer
    from exporter.model import Deck

    config = BuildConfig(notes=FIXTURES / "sheet", out=tmp_path)
    renderer = Renderer(config, Deck("sheet", (seed_deck,)))
    with renderer.session():
        fc = _font_configuration()
        css = weasyprint.CSS(string=renderer.engine.css_text, font_config=fc)
        document = weasyprint.HTML(string=renderer.note_html(seed_deck, True)).render(
            stylesheets=[css], font_config=fc
        )
    blanks, lines, facts, fact_id = [], {}, {}, ""
    for page in document.pages:
        for box in walk_boxes(page._page_box):
            classes = (box.element.get("class") or "").split() if box.element is not None else []
            if box.element_tag == "span" and "blank" in classes:
                blanks.append(round(box.border_width() * PX / MM, 2))
            if "fact" in classes:
                fact_id = box.element.get("id")
                height = box.style["line_height"]  # a factor, or a length in px
                facts[fact_id] = height if height < 10 else height / box.style["font_size"]
            if "line" in classes:
                lines.setdefault(fact_id, []).append(box.border_height() * PX / MM)
    assert len(blanks) > 40 and min(blanks) >= 25, min(blanks)
    # Questions are set at about twice the usual line height: room above each blank.
    assert len(facts) == len(seed_deck.facts) and min(facts.values()) >= 2, set(facts.values())
    # A long answer gets a ruled line per item (at least two), each tall enough to write on.
    counts = {
        f"f-{f.index}": f.answer.count("<li>") for f in seed_deck.facts if f.kind.value == "long"
    }
    for fact_id, items in counts.items():
        assert len(lines[fact_id]) == max(items, 2) or not items, (fact_id, items)
    major = next(f for f in seed_deck.facts if f.plain_question == "Major critical minerals")
    assert len(lines[f"f-{major.index}"]) == 8
    assert min(h for hs in lines.values() for h in hs) >= 7


def page_lines(pdf) -> list[tuple[list[str], list[dict]]]:
    """Per page, from poppler's own text layout: the running head's lines, left to right,
    and the body's lines from top to bottom (text, top, bottom, height), in points."""
    from xml.etree import ElementTree

    xml = subprocess.run(
        ["pdftotext", "-bbox-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    out = []
    for page in ElementTree.fromstring(xml).iterfind(".//x:page", ns):
        height = float(page.get("height"))
        head, body = [], []
        for line in page.iterfind(".//x:line", ns):
            text = " ".join(w.text or "" for w in line.iterfind("x:word", ns))
            y0, y1 = float(line.get("yMin")), float(line.get("yMax"))
            if y1 < 18 * MM:
                head.append((float(line.get("xMin")), text))
            elif y0 < height - 18 * MM:
                left = float(line.get("xMin"))
                body.append(
                    {"text": text, "top": y0, "bottom": y1, "height": y1 - y0, "left": left}
                )
        body.sort(key=lambda b: (b["top"], b["text"]))
        out.append(([t for _, t in sorted(head)], body))
    return out


def rows(body: list[dict], boxes: bool = False) -> list:
    """Lines poppler keeps apart (a chip, a contents line's leader and its number) joined
    into the rows they print on, left to right."""
    out: list[dict] = []
    for line in sorted(body, key=lambda b: (b["top"] + b["bottom"]) / 2):
        middle = (line["top"] + line["bottom"]) / 2
        if out and abs(middle - (out[-1]["top"] + out[-1]["bottom"]) / 2) < 3:
            out[-1]["parts"].append(line)
        else:
            out.append({**line, "parts": [line]})
    for row in out:
        row["text"] = " ".join(b["text"] for b in sorted(row["parts"], key=lambda b: b["left"]))
    return out if boxes else [row["text"] for row in out]


def top_titles(markdown: str) -> list[str]:
    """The H1 and H2 headings of a note, read from its Markdown (tags dropped)."""
    titles, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,2} ", line):
            titles.append(re.sub(r"\s+#[A-Za-z][\w/-]*", "", line.lstrip("#")).strip())
    return titles


def assert_heads_name_the_section_in_force(pdf, note_title, titles) -> int:
    """Walk the pages as a reader does: the head of each page of the note must be the last
    top heading seen above that page's first line (or that line, if it is one)."""
    current, checked = "", 0
    for head, body in page_lines(pdf):
        if not head or head[0] != note_title:
            continue
        sizes = sorted(b["height"] for b in body)
        median = sizes[len(sizes) // 2]
        # A heading is a whole line reading as a title, set no smaller than the text.
        headings = [b["text"] for b in body if b["text"] in titles and b["height"] > median]
        first = body[0]["text"]
        expected = first if first in headings else current
        assert " ".join(head[1:]) == expected, (checked, head, expected, first)
        if headings:
            current = headings[-1]
        checked += 1
    return checked


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_running_heads_name_the_section_in_force(paper, seed_a4, seed_letter):
    dist = seed_a4 if paper == "a4" else seed_letter
    titles = top_titles((FIXTURES / "sheet" / SEED).read_text(encoding="utf-8"))
    assert len(titles) == 9
    for pdf in (dist / "sheet.pdf", dist / "sheets" / SEED.replace(".md", ".pdf")):
        assert assert_heads_name_the_section_in_force(pdf, SEED_TITLE, titles) >= 4, pdf


def test_facts_are_marked_by_a_rule_not_a_fill(seed_a4, tmp_path):
    """A greyscale print of a page of facts: white paper and dark ink, no grey tint."""
    from PIL import Image

    pdf = tmp_path / "in.pdf"
    pdf.write_bytes((seed_a4 / "sheet.pdf").read_bytes())
    subprocess.run(
        ["pdftoppm", "-gray", "-r", "60", "-png", "-f", "4", "-l", "4", "in.pdf", "page"],
        check=True,
        cwd=tmp_path,
    )
    (png,) = tmp_path.glob("page*.png")
    image = Image.open(png).convert("L")
    width, height = image.size
    pixels = image.tobytes()
    tint = [215 <= v <= 248 for v in pixels]
    # A fill shows as rows with a long run of light grey (25 mm at 60 dpi); a thin rule or
    # a letter's soft edge does not. Today's sheet has hundreds such rows on this page.
    tinted_rows = 0
    for y in range(height):
        run = best = 0
        for v in tint[y * width : (y + 1) * width]:
            run = run + 1 if v else 0
            best = max(best, run)
        tinted_rows += best >= 60
    assert tinted_rows <= 10, tinted_rows
    assert sum(tint) / len(tint) < 0.08, sum(tint) / len(tint)


def text_pieces(page) -> list[tuple[str, float]]:
    """Each piece of text on a page with its size on paper, in points."""
    out = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            out.append((text.strip(), size * abs(tm[3]) * abs(cm[3])))

    page.extract_text(visitor_text=visit)
    return out


def test_chips_are_readable_and_inline(seed_a4):
    reader = PdfReader(seed_a4 / "sheet.pdf")
    sizes = [size for page in reader.pages for t, size in text_pieces(page) if t == "prelims"]
    assert len(sizes) >= 6 and min(sizes) >= 7.5, sizes
    lines = [t for _, body in page_lines(seed_a4 / "sheet.pdf") for t in rows(body)]
    assert any(t.endswith("Earth Elements (REE). prelims") for t in lines), "chip after fact"
    assert "iCET is a 2022 India–US partnership. prelims" in lines


def test_a_tag_build_of_a_few_facts_is_short(seed_prelims):
    path = seed_prelims / "sheet--prelims.pdf"
    pages = pages_text(path)
    assert 1 <= len(pages) <= 2
    text = " ".join(pages)
    assert "REVISION SHEET" not in text and "Contents" not in text and "Tag index" not in text
    assert "India joined the MSP in 2023." in text
    # The filter's own tag is on every fact: its chip says nothing, so it is left out.
    assert text.count("prelims") == 1 and "tagged #prelims" in text


def test_tag_index_leaves_out_tags_on_every_page(seed_a4):
    pages = pages_text(seed_a4 / "sheet.pdf")
    index = [p for p in pages if "Tag index" in p]
    assert len(index) <= 1
    listed = index[0].split("Tag index")[1] if index else ""
    for everywhere in ("upsc", "gs2::ir", "india-us"):
        assert everywhere not in listed.replace("Tag index", "")
    # A short index takes no page of its own: it sits under the last note when it fits.
    assert "Tag index" in pages[-1] and "Collaboration comes under" in pages[-1]
    assert "mains" in pages[-1].split("Tag index")[1]


@pytest.mark.slow
def test_contents_lists_notes_and_sections_with_links(everyday):
    path = everyday / "everyday.pdf"
    reader = PdfReader(path)
    _, body = page_lines(path)[0]
    entries = [b for b in rows(body, boxes=True) if re.search(r"\. \d+$", b["text"])]
    assert len(entries) == 9 + 17, [b["text"] for b in entries]  # every note and each H2
    pages = pages_text(path)
    page_of = {p.indirect_reference.idnum: i for i, p in enumerate(reader.pages)}
    height = float(reader.pages[0].mediabox.height)
    links = [a.get_object() for a in reader.pages[0].get("/Annots", [])]
    links = [a for a in links if a.get("/Subtype") == "/Link"]
    assert len(links) == len(entries)
    for link in links:
        _, y0, _, y1 = (float(v) for v in link["/Rect"])
        (entry,) = [
            b for b in entries if height - y1 <= (b["top"] + b["bottom"]) / 2 <= height - y0
        ]
        title, printed = re.match(r"(.*?)[\s.]*(\d+)$", entry["text"]).groups()
        target = page_of[link["/Dest"][0].idnum]
        assert target == int(printed) - 1, (entry["text"], target)
        assert title in pages[target]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_a_long_run_of_tag_chips_wraps_inside_the_column(tmp_path):
    """Chips had no break between them: 15 long tags ran off the page, and WeasyPrint,
    looking for a break in an unbreakable run, took time quadratic in the number of chips
    (2,000 tags on one fact: 19.5 s; 10,000 never finished)."""
    from xml.etree import ElementTree

    tags = [f"a-rather-long-tag-name-number-{i}" for i in range(15)]
    notes = tmp_path / "notes"
    notes.mkdir()
    line = "- A fact with many tags :: its answer " + " ".join(f"#{t}" for t in tags)
    (notes / "n.md").write_text(f"# N\n\n{line}\n", encoding="utf-8")
    result = run_build(notes, tmp_path / "dist", formats=("pdf",))
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    sheet = tmp_path / "dist" / "sheets" / "n.pdf"
    xml = subprocess.run(
        ["pdftotext", "-bbox", "-f", "1", "-l", "1", str(sheet), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    page = next(ElementTree.fromstring(xml).iter("{http://www.w3.org/1999/xhtml}page"))
    right = float(page.get("width")) - 16 * MM  # the page's right margin
    words = {
        w.text: (float(w.get("xMax")), round(float(w.get("yMin"))))
        for w in page.iter("{http://www.w3.org/1999/xhtml}word")
    }
    assert set(tags) <= set(words)
    assert all(words[t][0] <= right + 0.5 for t in tags), [(t, words[t]) for t in tags]
    assert len({words[t][1] for t in tags}) >= 3  # on several lines


@pytest.mark.slow
def test_a_one_note_reword_renders_that_note_only(tmp_path, monkeypatch):
    """The contents, the tag index and the running heads of a reword that moves no page
    are found in the store; the contents by what it is drawn from, without its HTML."""
    from exporter.exporters.pdf import renderer
    from exporter.exporters.pdf.render import Engine
    from exporter.pipeline import build

    shutil.copytree(FIXTURES / "everyday", tmp_path / "notes")
    config = BuildConfig(
        notes=tmp_path / "notes", out=tmp_path / "dist", formats=("pdf",), workers=1
    )
    assert build(config).ok
    rendered: list[str] = []
    real = Engine.render

    def counting(self, html, css_extra="", drawn=True):
        rendered.append(html)
        return real(self, html, css_extra, drawn)

    written: list[dict] = []
    front_from = renderer.Renderer.front_from

    def writing(self, fields):
        written.append(fields)
        return front_from(self, fields)

    monkeypatch.setattr(Engine, "render", counting)
    monkeypatch.setattr(renderer.Renderer, "front_from", writing)
    note = next((tmp_path / "notes").rglob("*.md"))
    text = note.read_text(encoding="utf-8")
    note.write_text(text.replace(" :: ", " :: reworded ", 1), encoding="utf-8")
    assert build(config).ok
    assert len(rendered) == 1 and "reworded" in rendered[0]
    assert written == []
