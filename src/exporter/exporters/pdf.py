"""The printable revision sheet: Jinja2 HTML from the model, rendered by WeasyPrint.

WeasyPrint is imported here only, so deck-only builds never load it. The renderer may read
only the styles, the notes' own images and the bundled fonts: a note must not be able to
make the sheet fetch anything else.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path

import jinja2

from ..config import BuildConfig
from ..model import Deck, Fact
from . import Output

TEMPLATES = Path(__file__).parent / "templates"
SLOT_RE = re.compile(r"<!--fact:(\d+)-->")
IMG_SRC_RE = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]+)(")')


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(deck: Deck, config: BuildConfig) -> str:
    """The sheet as one HTML document: prose with each fact drawn in its slot."""
    env = environment()
    template = env.get_template("sheet.html.j2")
    fact_macro = template.module.fact_html  # type: ignore[attr-defined]
    media = {m.name: Path(m.path).resolve().as_uri() for m in deck.media}

    def fill(body: str, facts: tuple[Fact, ...]) -> str:
        body = SLOT_RE.sub(lambda m: str(fact_macro(facts[int(m.group(1))])), body)
        return IMG_SRC_RE.sub(lambda m: m.group(1) + media.get(m.group(2), "") + m.group(3), body)

    bodies = {
        note.path: [fill(section.body, note.facts) for section in note.sections]
        for note in deck.notes
    }
    latest = max((f.mtime for f in deck.facts), default=0)
    date = datetime.fromtimestamp(latest, timezone.utc).strftime("%Y-%m-%d") if latest else ""
    return template.render(
        title=deck.name,
        subtitle="Revision sheet",
        notes=deck.notes,
        facts=deck.facts,
        bodies=bodies,
        fact_count=len(deck.facts),
        card_count=deck.card_count,
        date=date,
        self_test=config.self_test,
    )


def stylesheets(config: BuildConfig) -> list[Path]:
    return [config.styles / "palette.css", config.styles / "sheet.css"]


def make_fetcher(allowed: list[Path]):
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    roots = [p.resolve() for p in allowed]

    class LocalOnlyFetcher(URLFetcher):
        """Reads files under the allowed folders; refuses every other URL, the network
        included, so rendering a note cannot reach outside the machine or the notes."""

        def fetch(self, url, headers=None):
            if not url.startswith("file://"):
                raise ValueError(f"refused to fetch {url}")
            from urllib.parse import unquote, urlparse

            path = Path(unquote(urlparse(url).path)).resolve()
            if not any(path == r or r in path.parents for r in roots):
                raise ValueError(f"refused to read {path}")
            return URLFetcherResponse(url, path.read_bytes(), status=200)

    return LocalOnlyFetcher()


class PdfExporter:
    def signatures(self, config: BuildConfig) -> dict[str, str]:
        return {}

    def targets(self, deck: Deck, config: BuildConfig) -> list[Path]:
        return [config.out / f"{config.name}.pdf"]

    def export(self, deck: Deck, config: BuildConfig, paths: Mapping[Path, Path]) -> Output:
        import weasyprint

        (target,) = (paths[t] for t in self.targets(deck, config))
        html = render_html(deck, config)
        fetcher = make_fetcher([config.styles, config.notes])
        document = weasyprint.HTML(
            string=html, base_url=config.styles.resolve().as_uri() + "/", url_fetcher=fetcher
        )
        css = [weasyprint.CSS(filename=str(p), url_fetcher=fetcher) for p in stylesheets(config)]
        with fixed_font_timestamps():
            document.write_pdf(target, stylesheets=css, pdf_identifier=b"exporter-sheet")
        return Output()


@contextlib.contextmanager
def fixed_font_timestamps() -> Iterator[None]:
    """fontTools stamps each embedded font subset with the clock unless SOURCE_DATE_EPOCH
    is set; a fixed value keeps the same notes giving the same PDF bytes."""
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = previous or "1700000000"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]


EXPORTER = PdfExporter()
