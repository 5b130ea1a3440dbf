"""HTML to PDF with WeasyPrint: one render a `Part`, in this process or in worker
processes, with the bundled fonts only and a URL fetcher that reads nothing but the
notes' images, the styles and the fonts."""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import fonts, leaders, subset

PAPER = {"a4": ("210mm", "297mm"), "letter": ("8.5in", "11in")}
EPOCH = 1_700_000_000
PT_PER_PX = 0.75  # CSS pixels are 1/96 in, PDF points 1/72


@dataclass(frozen=True)
class Part:
    """One rendered piece of a sheet: `anchors` gives the page (from 0) each id first
    appears on, `boxes` its box there (x0, y0, x1, y1 in points from the page's top left),
    `top` and `bottom` the top and bottom of the pages' content area in points."""

    pdf: bytes
    pages: int
    anchors: dict[str, int]
    missing: tuple[str, ...] = ()
    boxes: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    top: float = 0.0
    bottom: float = 0.0


@dataclass(frozen=True)
class Engine:
    """What rendering HTML to PDF needs; small and picklable, so worker processes get one."""

    styles: Path
    cache: Path
    css_text: str
    allowed: tuple[Path, ...]
    notes: Path | None = None  # what `NOTES_URL` names files below

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        with fonts.bundled_fonts_only(self.styles, self.cache), fixed_font_timestamps():
            yield

    def stylesheet(self, css_extra: str) -> Any:
        """The sheet's CSS parsed once a process: parsing it and compiling its selectors
        took about 40% of a small note's render. A stylesheet holds no state of the
        documents it styles, so one object serves every render with these fonts."""
        key = (self, css_extra)
        css = _STYLESHEETS.get(key)
        if css is None:
            import weasyprint

            if len(_STYLESHEETS) >= 8:
                _STYLESHEETS.clear()
            css = _STYLESHEETS[key] = weasyprint.CSS(
                string=self.css_text + css_extra,
                font_config=_font_configuration(),
                url_fetcher=_fetcher(self.allowed, self.notes),
                base_url=self.styles.resolve().as_uri() + "/",
            )
        return css

    def render(self, html: str, css_extra: str = "", drawn: bool = True) -> Part:
        """`html` laid out and drawn; with `drawn` False, laid out only, for its pages
        and anchors (the PDF is empty): drawing was a third of a draft contents' time."""
        import weasyprint

        subset.install()
        leaders.install()
        fc = _font_configuration()
        fetcher = _fetcher(self.allowed, self.notes)
        base = self.styles.resolve().as_uri() + "/"
        css = [self.stylesheet(css_extra)]
        with fonts.catching_missing_glyphs() as missing:
            document = weasyprint.HTML(string=html, base_url=base, url_fetcher=fetcher).render(
                stylesheets=css, font_config=fc
            )
            anchors: dict[str, int] = {}
            boxes: dict[str, tuple[float, float, float, float]] = {}
            for i, page in reversed(list(enumerate(document.pages))):
                for name, box in page.anchors.items():
                    anchors[name] = i
                    boxes[name] = tuple(round(v * PT_PER_PX, 2) for v in box)
            top = bottom = 0.0
            if document.pages:
                box = document.pages[0]._page_box
                top = round(box.content_box_y() * PT_PER_PX, 2)
                bottom = round((box.content_box_y() + box.height) * PT_PER_PX, 2)
            pdf = document.write_pdf(pdf_identifier=b"exporter-sheet") if drawn else b""
        return Part(
            pdf, len(document.pages), anchors, tuple(missing.characters), boxes, top, bottom
        )


_FONT_CONFIG: Any = None
_STYLESHEETS: dict[tuple[Engine, str], Any] = {}


@atexit.register
def _forget() -> None:
    """Let the font configuration go while the modules it cleans up with are loaded: at
    interpreter teardown its `__del__` finds them gone and prints a traceback."""
    global _FONT_CONFIG
    _STYLESHEETS.clear()
    _FONT_CONFIG = None


_ENGINE: Engine | None = None


def _font_configuration() -> Any:
    """One per process: building it loads every bundled font into fontconfig."""
    global _FONT_CONFIG
    if _FONT_CONFIG is None:
        from weasyprint.text.fonts import FontConfiguration

        _FONT_CONFIG = FontConfiguration()
    return _FONT_CONFIG


def _start_worker(engine: Engine) -> None:
    global _ENGINE
    _ENGINE = engine
    _ENGINE.session().__enter__()  # held for the worker's life


def _render_in_worker(job: tuple[str, str]) -> Part:
    """Render one (HTML, extra CSS) job with the worker's engine."""
    assert _ENGINE is not None
    return _ENGINE.render(*job)


@functools.lru_cache(maxsize=8)
def _fetcher(allowed: tuple[Path, ...], notes: Path | None) -> Any:
    """One fetcher a process for these folders, shared by the stylesheet and every
    render: it holds nothing of a document, and making one resolves every folder."""
    return make_fetcher(list(allowed), notes)


NOTES_URL = "exporter-notes:///"


def notes_url(path: Path, notes: Path) -> str:
    """A file of the notes as the sheet names it: its path below the notes folder, under
    a scheme of our own. WeasyPrint names each image in the PDF by a hash of its URL, so
    a `file://` URL made the same notes give other bytes once their folder moved. A file
    outside the folder keeps its `file://` URL, which the fetcher refuses."""
    try:
        below = path.resolve().relative_to(notes.resolve())
    except ValueError:
        return path.resolve().as_uri()
    return NOTES_URL + quote(below.as_posix())


def make_fetcher(allowed: list[Path], notes: Path | None = None):
    from urllib.parse import unquote, urlparse

    from weasyprint.urls import URLFetcher, URLFetcherResponse

    roots = [p.resolve() for p in allowed]

    class LocalOnlyFetcher(URLFetcher):
        """Reads files under the allowed folders; refuses every other URL, the network
        included, so rendering a note cannot reach outside the machine or the notes."""

        def fetch(self, url, headers=None):
            if url.startswith("data:image/svg+xml;"):  # drawn formulas (marks/pdf_math.py)
                return super().fetch(url, headers)
            if url.startswith(NOTES_URL) and notes is not None:
                path = (notes / unquote(url[len(NOTES_URL) :])).resolve()
            elif url.startswith("file://"):
                path = Path(unquote(urlparse(url).path)).resolve()
            else:
                raise ValueError(f"refused to fetch {url}")
            if not any(path == r or r in path.parents for r in roots):
                raise ValueError(f"refused to read {path}")
            return URLFetcherResponse(url, path.read_bytes(), status=200)

    return LocalOnlyFetcher()


@contextlib.contextmanager
def fixed_font_timestamps() -> Iterator[None]:
    """fontTools stamps each embedded font subset with the clock unless SOURCE_DATE_EPOCH
    is set; a fixed value keeps the same notes giving the same PDF bytes."""
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = previous or str(EPOCH)
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
