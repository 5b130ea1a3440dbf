"""Font subsetting with the wheel's HarfBuzz (exporters/pdf/subset.py): in place in every
render, drawing the same pages as WeasyPrint's own fontTools fallback, and never leaning on
the machine's `libharfbuzz-subset`."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from exporter.exporters.pdf import subset
from exporter.exporters.pdf.render import Engine

from ..conftest import REPO

HTML = (
    "<h1>Critical minerals</h1><p>Lithium, <b>cobalt</b> and <code>rare_earths()</code>"
    " — हिन्दी, தமிழ் and 🔋.</p>"
)


@pytest.fixture
def render(tmp_path: Path, monkeypatch):
    """Renders `HTML` with a subsetter chosen as `EXPORTER_SUBSETTER` chooses it; WeasyPrint's
    own `Font.subset` is put back afterwards."""
    from weasyprint.pdf import fonts

    monkeypatch.setattr(fonts.Font, "subset", fonts.Font.subset)
    styles = REPO / "styles"
    css = (styles / "sheet.css").read_text(encoding="utf-8")
    engine = Engine(styles, tmp_path / "cache", css, (styles,))

    def run(choice: str) -> bytes:
        monkeypatch.setenv(subset.CHOICE, choice)
        with engine.session():
            return engine.render(HTML).pdf

    return run


def font_programs(pdf: bytes, path: Path) -> dict[str, int]:
    """Each embedded font's name → the length of its font program."""
    path.write_bytes(pdf)
    found = {}
    for page in PdfReader(path).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            program = descriptor.get_object()["/FontFile2"].get_object()
            found[str(font["/BaseFont"])] = len(program.get_data())
    return found


def pages_png(pdf: bytes, folder: Path, name: str) -> list[bytes]:
    (folder / f"{name}.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "72", "-png", str(folder / f"{name}.pdf"), str(folder / name)],
        check=True,
    )
    return [p.read_bytes() for p in sorted(folder.glob(f"{name}-*.png"))]


def test_a_render_subsets_with_the_wheels_harfbuzz(render, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="weasyprint")
    pdf = render("harfbuzz")
    from weasyprint.pdf import fonts

    assert fonts.Font.subset is subset.subset
    assert not [r for r in caplog.records if "fontTools" in r.getMessage()]
    programs = font_programs(pdf, tmp_path / "ours.pdf")
    assert len(programs) >= 5, programs  # sans, bold, mono, Devanagari, Tamil, emoji
    for name, size in programs.items():
        assert 0 < size < 60_000, (name, size)  # the emoji font alone is 11 MB whole


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs pdftoppm (poppler-utils)")
def test_the_pages_are_those_of_weasyprints_fonttools_fallback(render, tmp_path):
    ours = render("harfbuzz")
    fallback = render("fonttools")
    assert ours != fallback  # two different subsetters ran
    assert pages_png(ours, tmp_path, "ours") == pages_png(fallback, tmp_path, "fallback")


@pytest.mark.slow
def test_the_same_html_gives_the_same_bytes(render):
    assert render("harfbuzz") == render("harfbuzz")
