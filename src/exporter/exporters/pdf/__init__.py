"""The printable revision sheets: Jinja2 HTML from the model, rendered by WeasyPrint, one
note at a time, and assembled with pikepdf.

Each note is rendered on its own and cached by its content, so an edit re-renders one
note; the same render is that note's own sheet under `sheets/`. The cover and contents,
the tag index and the answer key are rendered from the page numbers the parts came out
with, and one overlay render stamps running headers and `page N of M` on every page.

WeasyPrint is imported here only, so deck-only builds never load it. The renderer reads
only the notes' images, the styles and the bundled fonts: a note cannot make the sheet
fetch anything else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from ...config import BuildConfig
from ...diagnostics import Diagnostic
from ...identity import Report
from ...model import Deck
from ...store import Store, open_store
from .. import Output, missing_styles, versions
from ..marks import pdf_math
from . import fonts, glyphs, renderer
from .assembly import assemble, single_notes
from .renderer import Progress, Renderer


def weak_sheet(config: BuildConfig, deck: Deck, remarks: dict[str, str]) -> bytes:
    """The sheet of the facts a person keeps forgetting: laid out as the revision sheet,
    facts only, each with its remark."""
    store = open_store(config.out)
    renderer = Renderer(config, deck, remarks, store)
    with renderer.session():
        parts, guess = renderer.sheet_parts(deck, False)
        pdf = assemble(renderer, deck, parts, False, guess)
    store.commit()
    return pdf


def printed_fingerprint(config: BuildConfig) -> dict[str, str]:
    """What every printed output (the sheet, the cards) is made with besides the notes:
    the paper, the bundled fonts and the libraries that draw and assemble it."""
    try:
        bundled = fonts.signature(config.styles)
    except OSError:  # a missing font: `check` reports the styles folder
        bundled = "missing"
    return {
        "paper": config.paper,
        "fonts": bundled,
        **versions("weasyprint", "pikepdf", "jinja2", "pydyf", "fonttools"),
    }


def printed_check(deck: Deck, config: BuildConfig, *styles: str) -> list[Diagnostic]:
    """What a printed output would meet: a style file missing, a character no bundled
    font has, a formula that cannot be drawn."""
    missing = missing_styles(config, *styles)
    if missing:
        return missing
    return glyphs.missing_glyph_diagnostics(deck, config) + pdf_math.diagnostics(deck, config)


class PdfExporter:
    def signatures(self, config: BuildConfig) -> dict[str, str]:
        return {}

    def advice(self, report: Report) -> list[str]:
        return []

    def targets(self, deck: Deck, config: BuildConfig) -> list[Path]:
        out = [config.out / f"{config.name}.pdf"]
        if config.self_test:
            out.append(config.out / f"{config.name}-self-test.pdf")
        if not config.tags:
            (sheets,) = self.folders(config)
            out += [sheets / Path(n.path).with_suffix(".pdf") for n in deck.notes]
        return out

    def folders(self, config: BuildConfig) -> dict[Path, str]:
        return {config.out / "sheets": "note sheet"}

    def cache_folders(self) -> list[str]:
        return [renderer.AREA, pdf_math.AREA]

    def fingerprint(self, config: BuildConfig) -> dict[str, str]:
        return {"self-test": str(config.self_test), **printed_fingerprint(config)}

    def check(self, deck: Deck, config: BuildConfig) -> list[Diagnostic]:
        return printed_check(deck, config, "palette.css", "sheet.css")

    def export(
        self,
        deck: Deck,
        config: BuildConfig,
        paths: Mapping[Path, Path],
        store: Store,
        progress: Progress | None = None,
    ) -> Output:
        renderer = Renderer(config, deck, store=store)
        missing: dict[str, tuple[str, ...]] = {}
        with renderer.session():
            parts, guess = renderer.sheet_parts(deck, False, progress)
            for note, part in zip(deck.notes, parts, strict=True):
                missing[note.path] = part.missing
            sheets: Callable[[], list[bytes]] | None = None

            def note_sheets() -> None:
                nonlocal sheets
                sheets = single_notes(renderer, deck.notes, parts)

            # A `--tag` build writes no note sheets: they are of whole notes.
            meanwhile = None if config.tags else note_sheets
            pdf = assemble(renderer, deck, parts, False, guess, meanwhile)
            paths[config.out / f"{config.name}.pdf"].write_bytes(pdf)
            if config.self_test:
                quiz, guess = renderer.sheet_parts(deck, True, progress)
                pdf = assemble(renderer, deck, quiz, True, guess)
                paths[config.out / f"{config.name}-self-test.pdf"].write_bytes(pdf)
            if sheets is not None:
                for note, sheet in zip(deck.notes, sheets(), strict=True):
                    target = config.out / "sheets" / Path(note.path).with_suffix(".pdf")
                    paths[target].write_bytes(sheet)
        return Output(tuple(glyphs.glyph_warnings(deck, config, missing)))


EXPORTER = PdfExporter()
