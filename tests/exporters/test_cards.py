"""Print-and-cut cards (`--format cards`): read back with poppler's word positions, as a
person holding the printed sheet would check them. Every word lies inside its card; each
back stands behind its front after the printer's turn (within 1 mm); the deck's cards are
all there, once each; no Markdown syntax is printed; long text shrinks and, past the
smallest size, says where the sheet has it."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from exporter.config import CARD_SIZES, BuildConfig
from exporter.exporters.cards.layout import INDEX_CARDS, MM, Layout, layout
from exporter.exporters.pdf.render import Engine
from exporter.pipeline import build
from exporter.reading import load

from ..conftest import FIXTURES, write_note
from ..conftest import exporter_here as run

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler")
SOURCE_RE = re.compile(r"notes/\S+?\.md:\d+(?: · card \d+)?")


@dataclass(frozen=True)
class Word:
    text: str
    box: tuple[float, float, float, float]


def words(pdf: Path) -> list[list[Word]]:
    """Each page's words and their boxes (points from the top left)."""
    out = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = []
    for page in out.split("<page ")[1:]:
        pages.append(
            [
                Word(text, (float(a), float(b), float(c), float(d)))
                for a, b, c, d, text in re.findall(
                    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                    r"([^<]*)</word>",
                    page,
                )
            ]
        )
    return pages


def inside(box, cell, slack: float = 0.5) -> bool:
    return (
        box[0] >= cell[0] - slack
        and box[1] >= cell[1] - slack
        and box[2] <= cell[2] + slack
        and box[3] <= cell[3] + slack
    )


def cards_by_cell(page: list[Word], shape: Layout, back: bool, duplex: str) -> dict[int, str]:
    """The text of each card on a page, by its slot: every word must lie in a card."""
    text: dict[int, list[str]] = {}
    for word in page:
        slots = [s for s in range(shape.per_page) if inside(word.box, shape.cell(s, back, duplex))]
        assert slots, f"{word.text!r} at {word.box} lies outside every card"
        text.setdefault(slots[0], []).append(word.text)
    return {slot: " ".join(ws) for slot, ws in text.items()}


def source_of(text: str) -> str:
    found = SOURCE_RE.findall(text)
    assert len(found) == 1, text
    return found[0]


def placed(pdf: Path) -> list[list[tuple[float, float, float, float]]]:
    """Each page's card boxes as the PDF itself draws them, in slot order: where each
    card's form is put (`cm … Do`) and how big it is (its BBox), in points from the top
    left. Read from the file, not from the layout that wrote it."""
    import pikepdf

    out = []
    with pikepdf.open(pdf) as doc:
        for page in doc.pages:
            height = float(page.mediabox[3])
            forms = page.Resources.get("/XObject", {})
            boxes, at = [], (0.0, 0.0)
            for operands, op in pikepdf.parse_content_stream(page):
                if str(op) == "cm":
                    at = (float(operands[4]), float(operands[5]))
                elif str(op) == "Do" and str(operands[0]).startswith("/Card"):
                    _, _, w, h = (float(v) for v in forms[operands[0]].BBox)
                    boxes.append((at[0], height - at[1] - h, at[0] + w, height - at[1]))
            out.append(boxes)
    return out


def check_pairs(pdf: Path, shape: Layout, duplex: str) -> list[tuple[str, str]]:
    """Every front's card and back's card, by slot: the same card, every word inside the
    box the PDF draws it in, and the back's box behind the front's box within 1 mm once
    the sheet is turned. Returns (front, back) texts of every card."""
    pages = words(pdf)
    boxes = placed(pdf)
    assert len(pages) % 2 == 0
    cards = []
    width, height = shape.paper
    for k in range(0, len(pages), 2):
        fronts = cards_by_cell(pages[k], shape, False, duplex)
        backs = cards_by_cell(pages[k + 1], shape, True, duplex)
        assert fronts.keys() == backs.keys() == set(range(len(boxes[k])))
        for slot, front in fronts.items():
            assert source_of(front) == source_of(backs[slot])
            x0, y0, x1, y1 = boxes[k][slot]
            bx0, by0, bx1, by1 = boxes[k + 1][slot]
            assert (x0, y0, x1, y1) == pytest.approx(shape.cell(slot, False, duplex), abs=0.01)
            if duplex == "long-edge":  # turned about the vertical axis
                turned = (width - bx1, by0, width - bx0, by1)
            else:  # about the horizontal axis
                turned = (bx0, height - by1, bx1, height - by0)
            assert all(abs(a - b) <= 1 * MM for a, b in zip(turned, (x0, y0, x1, y1), strict=True))
            cards.append((front, backs[slot]))
    return cards


@pytest.fixture(scope="module")
def everyday(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("cards")
    shutil.copytree(FIXTURES / "everyday", work / "notes")
    done = run(work, "build", "--format", "cards")
    assert done.returncode == 0, done.stderr
    return work


def test_every_card_of_the_deck_is_printed_once_with_its_back_behind_it(everyday):
    out = everyday / "dist"
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == ["notes-cards.pdf"]
    deck = load(BuildConfig(notes=everyday / "notes", out=out)).deck
    cards = check_pairs(out / "notes-cards.pdf", layout("a4", "8-up"), "long-edge")
    assert len(cards) == deck.card_count == 59
    assert len({source_of(front) for front, _ in cards}) == 59
    assert len(words(out / "notes-cards.pdf")) == 2 * math.ceil(59 / 8)


def test_no_syntax_is_printed_and_a_cloze_shows_a_blank_then_its_filling(everyday):
    text = " ".join(w.text for page in words(everyday / "dist/notes-cards.pdf") for w in page)
    assert "{{" not in text and "}}" not in text and " :: " not in text and "::: " not in text
    deck = load(BuildConfig(notes=everyday / "notes")).deck
    for tag in {t for f in deck.facts for t in f.tags}:
        assert f"#{tag}" not in text
    cloze = next(f for f in deck.facts if f.kind.value == "cloze" and len(f.card_numbers) == 1)
    cards = check_pairs(everyday / "dist/notes-cards.pdf", layout("a4", "8-up"), "long-edge")
    source = f"notes/{cloze.path}:{cloze.line}"
    front, back = next(c for c in cards if source_of(c[0]) == source)
    deleted = cloze.text[[not isinstance(s, str) for s in cloze.text].index(True)]
    assert "[…]" in front or "[" in front
    assert re.sub("<[^>]+>", "", deleted.html) in back


def test_short_edge_printers_get_the_backs_turned_top_to_bottom(everyday, tmp_path):
    # The long-edge build's folder, its cache with it: the cards' renders do not depend on
    # the paper or the printer's edge, so only their placing is new.
    shutil.copytree(everyday, tmp_path, dirs_exist_ok=True)
    done = run(
        tmp_path, "build", "--format", "cards", "--duplex", "short-edge", "--paper", "letter"
    )
    assert done.returncode == 0, done.stderr
    cards = check_pairs(tmp_path / "dist/notes-cards.pdf", layout("letter", "8-up"), "short-edge")
    assert len(cards) == 59


INDEX_NOTE = """# Index cards

- Capital of India :: New Delhi
- KABIL ::: Khanij Bidesh India Ltd
- The {{Eleventh}} Schedule lists {{c2::29}} subjects.
"""


@pytest.mark.slow
@pytest.mark.parametrize("size", sorted(INDEX_CARDS))
def test_index_cards_are_one_card_a_page(tmp_path, size):
    write_note(tmp_path / "notes", "index.md", INDEX_NOTE)
    done = run(tmp_path, "build", "--format", "cards", "--card-size", size)
    assert done.returncode == 0, done.stderr
    shape = layout("a4", size)
    cards = check_pairs(tmp_path / "dist/notes-cards.pdf", shape, "long-edge")
    deck = load(BuildConfig(notes=tmp_path / "notes")).deck
    assert len(cards) == deck.card_count == 5
    info = subprocess.run(
        ["pdfinfo", str(tmp_path / "dist/notes-cards.pdf")], capture_output=True, text=True
    ).stdout
    width, height = INDEX_CARDS[size]
    assert f"Page size:       {width:.0f} x {height:.0f} pts" in re.sub(
        r"(\d+)\.\d+", lambda m: str(round(float(m.group(0)))), info
    )


def test_the_sizes_the_command_offers_are_the_layouts_there_are():
    assert set(CARD_SIZES) == {"8-up", *INDEX_CARDS}


LONG = "\n".join(
    f"  - Item {i} with a few more words that wrap onto a second line" for i in range(70)
)
MEDIUM = "\n".join(f"  - Subject {i}: a short phrase" for i in range(9))


@pytest.mark.slow
def test_long_text_shrinks_and_past_the_smallest_size_points_to_the_sheet(tmp_path):
    write_note(
        tmp_path / "notes",
        "long.md",
        f"# Long\n\n- Short :: answer\n- Medium list ::\n{MEDIUM}\n- Huge list ::\n{LONG}\n",
    )
    done = run(tmp_path, "build", "--format", "cards", "--format", "pdf")
    assert done.returncode == 0, done.stderr
    cards = check_pairs(tmp_path / "dist/notes-cards.pdf", layout("a4", "8-up"), "long-edge")
    backs = {source_of(front): back for front, back in cards}
    assert all(f"Subject {i}:" in backs["notes/long.md:4"] for i in range(9))  # shrunk, whole
    huge = backs["notes/long.md:14"]
    assert "continued on the sheet, page" in huge and "sheets/long.pdf" in huge
    assert "Item 0" not in huge  # nothing half-printed
    page = int(re.search(r"page (\d+) of", huge).group(1))
    sheet = words(tmp_path / "dist/sheets/long.pdf")
    assert "Huge" in " ".join(w.text for w in sheet[page - 1])


@pytest.mark.slow
def test_a_one_note_edit_renders_that_notes_cards_only(tmp_path, monkeypatch):
    shutil.copytree(FIXTURES / "everyday", tmp_path / "notes")
    config = BuildConfig(
        notes=tmp_path / "notes", out=tmp_path / "dist", formats=("cards",), workers=1
    )
    assert build(config).ok
    first = (tmp_path / "dist/notes-cards.pdf").read_bytes()
    rendered = []
    real = Engine.render

    def counting(self, html, css_extra=""):
        rendered.append(html)
        return real(self, html, css_extra)

    monkeypatch.setattr(Engine, "render", counting)
    note = next((tmp_path / "notes").rglob("*.md"))
    text = note.read_text(encoding="utf-8")
    note.write_text(text.replace(" :: ", " :: edited ", 1), encoding="utf-8")
    assert build(config).ok
    assert len(rendered) == 1
    assert (tmp_path / "dist/notes-cards.pdf").read_bytes() != first

    note.write_text(text, encoding="utf-8")
    rendered.clear()
    assert build(config).ok
    assert (tmp_path / "dist/notes-cards.pdf").read_bytes() == first  # the same bytes again


@pytest.mark.slow
def test_a_tag_subset_prints_its_cards_only(tmp_path):
    shutil.copytree(FIXTURES / "everyday", tmp_path / "notes")
    deck = load(BuildConfig(notes=tmp_path / "notes")).deck
    tag = sorted({t for f in deck.facts for t in f.tags})[0]
    done = run(tmp_path, "build", "--format", "cards", "--tag", tag)
    assert done.returncode == 0, done.stderr
    [pdf] = (tmp_path / "dist").glob("*-cards.pdf")
    cards = check_pairs(pdf, layout("a4", "8-up"), "long-edge")
    wanted = [
        f for f in deck.facts if tag in f.tags or any(t.startswith(tag + "::") for t in f.tags)
    ]
    assert len(cards) == sum(f.card_count for f in wanted) > 0


@pytest.mark.slow
def test_math_and_code_are_drawn_by_the_sheets_renderers(tmp_path):
    """A deletion inside a formula is a box, as on the sheet; no markup is printed."""
    shutil.copytree(FIXTURES / "math", tmp_path / "notes")
    done = run(tmp_path, "build", "--format", "cards")
    assert done.returncode == 0, done.stderr
    cards = check_pairs(tmp_path / "dist/notes-cards.pdf", layout("a4", "8-up"), "long-edge")
    text = " ".join(front + " " + back for front, back in cards)
    assert "span" not in text and "class" not in text and "$" not in text
    fonts = subprocess.run(
        ["pdffonts", str(tmp_path / "dist/notes-cards.pdf")], capture_output=True, text=True
    ).stdout
    assert "Sheet-Sans" in fonts  # the bundled fonts, embedded and subset
