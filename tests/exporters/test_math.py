"""Math on cards (MathJax source in Anki's delimiters, checked in real Anki) and on the
sheet (formulas drawn, no TeX printed; a formula that cannot be drawn is a warning)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from exporter.exporters.marks import anki_math, pdf_math
from exporter.model import Mark
from exporter.store import Store
from tests.conftest import REPO, copy_fixture, import_apkg, run_build, write_note


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("math")
    notes = copy_fixture("math", root)
    result = run_build(notes, root / "dist", strict=True)
    assert not result.diagnostics, [d.format() for d in result.diagnostics]
    return root / "dist"


def test_anki_math_escapes_and_keeps_a_cloze():
    inline = Mark("math", "a < b & {{c1::c}}", {"display": "inline"})
    assert anki_math.render(inline) == "\\(a &lt; b &amp; {{c1::c}}\\)"
    assert anki_math.render(Mark("math", "x^2", {"display": "block"})) == "\\[x^2\\]"


def test_cards_hold_mathjax_source_exactly(built, collection):
    import_apkg(collection, built / "math.apkg")
    fields = {}
    for nid in collection.find_notes(""):
        note = collection.get_note(nid)
        fields[note.fields[0]] = (note, note.fields[1])
    assert fields["Newton's second law"][1] == "\\(F = ma\\)"
    assert fields["Gravitation"][1] == "\\[F = \\frac{G m_1 m_2}{r^2}\\]"
    assert "The square is \\(x^{{2}}\\) here" in fields
    area = next(n for text, (n, _) in fields.items() if text.startswith("Area"))
    assert area.fields[0] == "Area of a circle: \\(A = {{c1::\\pi r^2}}\\)"
    for note, _ in fields.values():
        for field in note.fields[:2]:
            assert "<em>" not in field and "<sub>" not in field
    # Anki renders the cards: the delimiters survive, the deletion inside is blanked.
    (card,) = area.cards()
    assert "\\(A = " in card.question() and "\\pi r^2" not in card.question()
    assert "\\pi r^2" in card.answer()
    newton = fields["Newton's second law"][0]
    assert "\\(F = ma\\)" in newton.cards()[0].answer()
    square = fields["The square is \\(x^{{2}}\\) here"][0]
    assert len(square.cards()) == 1 and "\\(x^{{2}}\\)" in square.cards()[0].question()


def text_of(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils")
def test_the_sheet_draws_formulas_and_prints_no_tex(built, tmp_path):
    sheet = built / "sheets" / "physics" / "mech.pdf"
    text = text_of(sheet)
    for tex in ("\\frac", "\\int", "\\sum", "mc^2", "$E", "\\("):
        assert tex not in text
    assert "costs $5 and $10" in text  # money stays text
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", str(sheet), str(tmp_path / "p")],
        check=True,
    )
    from PIL import Image

    (png,) = tmp_path.glob("p*.png")
    page = Image.open(png).convert("L")
    width, height = page.size
    # The centred display sum stands alone on its lines: ink in the middle band of the
    # page, below the laws, where no text is.
    band = page.crop((width // 3, 0, 2 * width // 3, height // 2))
    dark = sum(1 for v in band.tobytes() if v < 128)
    assert dark > 50


@pytest.mark.slow
def test_a_formula_that_cannot_be_drawn_is_a_warning_at_its_line(tmp_path):
    notes = tmp_path / "notes"
    write_note(notes, "n.md", "# N\n\nFine $x$ here.\n\nBroken: $\\frac{a}{$ here.\n")
    result = run_build(notes, tmp_path / "dist", formats=("pdf",))
    warned = [d for d in result.diagnostics if "cannot be drawn" in d.message]
    assert [(d.line, d.col) for d in warned] == [(5, 9)]
    text = text_of(tmp_path / "dist" / "notes.pdf")
    assert "\\frac{a}{" in text  # printed as its source


def test_drawing_is_cached_by_source(tmp_path):
    store = Store(tmp_path)
    first = pdf_math.draw("\\alpha + \\beta", "inline", store.area(pdf_math.AREA))
    assert isinstance(first, dict) and first["depth"] >= 0
    assert not list(tmp_path.rglob("*.json"))  # staged: written when the build succeeds
    store.commit()
    assert list((tmp_path / ".cache" / pdf_math.AREA).glob("*.json"))
    assert pdf_math.draw("\\unknowncommand", "inline") == "unknown command \\unknowncommand"


def nested_fraction(depth: int) -> str:
    tex = "a"
    for _ in range(depth):
        tex = f"\\frac{{{tex}}}{{b}}"
    return tex


def test_layouts_double_with_each_level_of_nesting():
    from ziamath.tex import tex2mml

    counts = [pdf_math.work(tex2mml(nested_fraction(n), inline=True)) for n in (4, 5, 6)]
    assert [layouts for layouts, _ in counts] == [367, 751, 1519]  # ziamath's own counts
    assert [elements for _, elements in counts] == [19, 23, 27]
    assert pdf_math.work(tex2mml("E = mc^2"))[0] < 50


@pytest.mark.slow
def test_a_deeply_nested_formula_prints_its_tex_with_one_warning(tmp_path, collection):
    """`\\frac` in `\\frac` 40 deep: ziamath would lay it out 2^40 times (10 deep took
    3.5 s, 16 over two minutes). The sheet prints its TeX and warns at its line; the card
    gets the MathJax source as written. A subprocess, so a hang fails the test."""
    deep = nested_fraction(40)
    notes = tmp_path / "notes"
    write_note(notes, "n.md", f"# N\n\n- ${deep}$ :: nested\n- $\\frac{{a}}{{b}}$ :: fine\n")
    out = tmp_path / "dist"
    build = [sys.executable, str(REPO / "build.py"), "build", "--notes", str(notes)]
    proc = subprocess.run([*build, "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    warned = [line for line in proc.stderr.splitlines() if ": warning: " in line]
    assert len(warned) == 1 and "n.md:3:3: warning: the formula '\\frac{\\frac{" in warned[0]
    assert "cannot be drawn (too deeply nested); the sheet prints its source" in warned[0]
    assert len(proc.stderr.splitlines()) == 1  # the warning, and no traceback
    assert "\\frac{\\frac{\\frac{" in text_of(out / "notes.pdf")
    # Its TeX has no space to break at: it breaks anywhere, inside the page's margins.
    bbox = subprocess.run(
        ["pdftotext", "-bbox", str(out / "sheets" / "n.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    width = float(re.search(r'<page width="([\d.]+)"', bbox).group(1))
    right = max(float(x) for x in re.findall(r'xMax="([\d.]+)"', bbox))
    assert right <= width - 16 * 72 / 25.4 + 0.5  # the right margin is 16 mm
    import_apkg(collection, out / "notes.apkg")
    fields = [collection.get_note(nid).fields for nid in collection.find_notes("")]
    assert ["\\(" + deep + "\\)", "nested"] in [f[:2] for f in fields]


def test_a_drawing_is_written_to_the_cache_only_when_kept(tmp_path):
    store = Store(tmp_path)
    area = store.area(pdf_math.AREA)
    assert isinstance(pdf_math.draw("\\gamma^3", "inline", area, keep=False), dict)
    store.commit()
    assert not area.folder.exists()  # `check` and dry runs draw, and keep nothing
    assert isinstance(pdf_math.draw("\\gamma^3", "inline", area), dict)
    store.commit()
    assert len(list(area.folder.glob("*.json"))) == 1  # drawn before: kept now
