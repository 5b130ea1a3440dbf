"""The printable revision sheets: Jinja2 HTML from the model, rendered by WeasyPrint, one
note at a time, and assembled with pypdf.

Each note is rendered on its own and cached by its content, so an edit re-renders one
note; the same render is that note's own sheet under `sheets/`. The cover and contents,
the tag index and the answer key are rendered from the page numbers the parts came out
with, and one overlay render stamps running headers and `page N of M` on every page.

WeasyPrint is imported here only, so deck-only builds never load it. The renderer reads
only the notes' images, the styles and the bundled fonts: a note cannot make the sheet
fetch anything else.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2

from .. import __version__
from ..cache import touch
from ..config import BuildConfig
from ..diagnostics import Diagnostic
from ..identity import Report
from ..model import FACT_SLOT_RE, Deck, Fact, Kind, Note, Section, fact_slot, render_marks
from ..publish import write_atomic
from ..workers import pool_map
from . import Output, fonts, glyphs, marks, missing_styles, versions
from .assembly import assemble, page_ranges, single_note, stamp  # noqa: F401  (their home)

TEMPLATES = Path(__file__).parent / "templates"
IMG_SRC_RE = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]+)(")')
Progress = Callable[[str], None]
# Starting a worker (importing WeasyPrint, loading fonts) costs about as much as rendering
# a note or two, so a handful of changed notes render in this process.
PARALLEL_FROM = 6
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


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["blank_mm"] = blank_mm
    env.filters["answer_lines"] = answer_lines
    return env


def templates_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(TEMPLATES.iterdir()):
        h.update(path.read_bytes())
    return h.hexdigest()


# Room to write, in the self-test: handwriting takes about 2.2 mm a character; no blank
# is shorter than BLANK_MIN_MM, and an answer longer than BLANK_MAX_MM gets ruled lines of
# LINE_MM each below its question (one per item of a list answer, at least two).
HAND_MM = 2.2
BLANK_MIN_MM = 25
BLANK_MAX_MM = 110
LINE_MM = 160
MIN_LINES = 2
MAX_LINES = 14


def blank_mm(text: str) -> int:
    """The width of the blank for an answer of this text, in millimetres."""
    return round(min(max(len(text.strip()) * HAND_MM, BLANK_MIN_MM), BLANK_MAX_MM))


class _Items(HTMLParser):
    """Counts the items of an answer: list items, else table body rows, else code lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items = self.rows = self.heads = 0
        self.pre = 0
        self.code: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.items += tag == "li"
        self.rows += tag == "tr"
        self.heads += tag == "th"
        self.pre += tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        self.pre -= tag == "pre"

    def handle_data(self, data: str) -> None:
        if self.pre:
            self.code.append(data)


def answer_lines(fact: Fact) -> int:
    """Ruled lines to write a fact's answer on: 0 when an inline blank is room enough."""
    if fact.kind is Kind.LONG:
        parser = _Items()
        parser.feed(fact.answer)
        parser.close()
        code = [s for s in "".join(parser.code).splitlines() if any(c.isalnum() for c in s)]
        count = parser.items or max(parser.rows - (1 if parser.heads else 0), 0) or len(code)
        return min(max(count, MIN_LINES), MAX_LINES)
    if fact.kind is Kind.CLOZE:
        return 0
    width = len(fact.plain_answer.strip()) * HAND_MM
    return 0 if width <= BLANK_MAX_MM else min(math.ceil(width / LINE_MM), MAX_LINES)


def wanted_tags(tags: tuple[str, ...]) -> set[str]:
    """A `--tag` filter's tags as facts carry them (`#upsc/gs2` → `upsc::gs2`)."""
    return {t.lstrip("#").replace("/", "::") for t in tags}


def question_numbers(note: Note) -> dict[int, int]:
    """Self-test numbers run through each note from 1, the same in questions and key: an
    edit renumbers (and re-renders) one note only, and the key is grouped by note."""
    return {f.index: n for n, f in enumerate(note.facts, 1)}


def shows_title(note: Note, section: Section) -> bool:
    """A section's heading is printed unless it is the note's H1 repeating its title."""
    return bool(section.title) and not (section.level == 1 and section.title == note.title)


def leading_sections(note: Note) -> set[int]:
    """The sections that hold a fact of the note, and the headings above them."""
    holding = {f.section for f in note.facts}
    kept: set[int] = set()
    stack: list[int] = []
    for i, section in enumerate(note.sections):
        while stack and note.sections[stack[-1]].level >= section.level:
            stack.pop()
        stack.append(i)
        if i in holding:
            kept.update(stack)
    return kept


@dataclass(frozen=True)
class Engine:
    """What rendering HTML to PDF needs; small and picklable, so worker processes get one."""

    styles: Path
    cache: Path
    css_text: str
    allowed: tuple[Path, ...]

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        with fonts.bundled_fonts_only(self.styles, self.cache), fixed_font_timestamps():
            yield

    def render(self, html: str, css_extra: str = "") -> Part:
        import weasyprint

        fc = _font_configuration()
        fetcher = make_fetcher(list(self.allowed))
        base = self.styles.resolve().as_uri() + "/"
        css = [
            weasyprint.CSS(
                string=self.css_text + css_extra, font_config=fc, url_fetcher=fetcher, base_url=base
            )
        ]
        with fonts.catching_missing_glyphs() as missing:
            document = weasyprint.HTML(string=html, base_url=base, url_fetcher=fetcher).render(
                stylesheets=css, font_config=fc
            )
            anchors: dict[str, int] = {}
            boxes: dict[str, tuple[float, float, float, float]] = {}
            for i, page in reversed(list(enumerate(document.pages))):
                for name, box in page.anchors.items():
                    anchors[name] = i
                    boxes[name] = tuple(round(v * PT_PER_PX, 2) for v in box)  # type: ignore[assignment]
            top = bottom = 0.0
            if document.pages:
                box = document.pages[0]._page_box
                top = round(box.content_box_y() * PT_PER_PX, 2)
                bottom = round((box.content_box_y() + box.height) * PT_PER_PX, 2)
            pdf = document.write_pdf(pdf_identifier=b"exporter-sheet")
        return Part(
            pdf, len(document.pages), anchors, tuple(missing.characters), boxes, top, bottom
        )


_FONT_CONFIG: Any = None
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


def _render_in_worker(html: str) -> Part:
    assert _ENGINE is not None
    return _ENGINE.render(html)


class Renderer:
    """Templates, the part cache and the page geometry of one build's sheets."""

    def __init__(
        self, config: BuildConfig, deck: Deck, remarks: dict[str, str] | None = None
    ) -> None:
        self.config = config
        # A remark printed after a fact (the weak sheet's "forgotten 3×"); a sheet with
        # remarks shows only its facts, as a `--tag` subset does.
        self.remarks = remarks or {}
        self.env = environment()
        self.cache = config.out / ".cache" / "sheets"
        self.media = {m.name: Path(m.path).resolve().as_uri() for m in deck.media}
        width, height = PAPER[config.paper]
        self.page_height = height
        styles = config.styles
        css_text = "\n".join(
            [fonts.font_css(styles), f"@page {{ size: {width} {height}; }}"]
            + [(styles / n).read_text(encoding="utf-8") for n in ("palette.css", "sheet.css")]
        )
        self.engine = Engine(
            styles.resolve(),
            self.cache.resolve(),
            css_text,
            tuple(p.resolve() for p in (styles, config.notes, *fonts.folders(styles))),
        )
        self.key_base = hashlib.sha256(
            "|".join([__version__, fonts.signature(styles), css_text, templates_digest()]).encode()
        ).hexdigest()

    def session(self) -> contextlib.AbstractContextManager[None]:
        return self.engine.session()

    def kicker(self, self_test: bool) -> str:
        if self_test:
            return "Self-test"
        return "Facts you keep forgetting" if self.remarks else "Revision sheet"

    def render(self, html: str, css_extra: str = "") -> Part:
        """A render from the cache when this exact HTML was rendered before."""
        key = self.key(html, css_extra)
        return self.cached(key) or self.store(key, self.engine.render(html, css_extra))

    def key(self, html: str, css_extra: str = "") -> str:
        return hashlib.sha256(f"{self.key_base}|{css_extra}|{html}".encode()).hexdigest()

    # ---------------------------------------------------------------- note parts

    def note_html(self, note: Note, self_test: bool) -> str:
        """A note's pages. The sheet keeps every section as written, each fact slot
        filled. A subset (`--tag`) and a self-test keep only the facts, under the headings
        that lead to them: a self-test shows no prose, diagram, table, image or code that
        would answer a question printed below it."""
        wanted = wanted_tags(self.config.tags)
        hidden = set(note.tags) | wanted  # the header shows the file's tags; a filter's are given
        macros = self.env.get_template("macros.html.j2").module
        numbers = question_numbers(note)
        facts = {f.index: f for f in note.facts}

        def fill(body: str) -> str:
            def slot(m: re.Match[str]) -> str:
                fact = facts.get(int(m.group(1)))
                if fact is None:
                    return ""
                section_tags = set(note.sections[fact.section].tags)
                remark = self.remarks.get(fact.guid, "")
                number = numbers[fact.index]
                return str(macros.fact(fact, hidden | section_tags, self_test, number, remark))

            body = FACT_SLOT_RE.sub(slot, body)
            return IMG_SRC_RE.sub(
                lambda m: m.group(1) + self.media.get(m.group(2), "") + m.group(3), body
            )

        facts_only = self_test or bool(self.config.tags) or bool(self.remarks)
        kept = leading_sections(note) if facts_only else set(range(len(note.sections)))
        sections = []
        stack: list[tuple[int, tuple[str, ...]]] = []
        for i, section in enumerate(note.sections):
            while stack and stack[-1][0] >= section.level:
                stack.pop()
            parent = set(stack[-1][1]) if stack else set()
            stack.append((section.level, section.tags))
            if i not in kept:
                continue
            own = "".join(fact_slot(f.index) for f in note.facts if f.section == i)
            if facts_only:
                body = fill(f'<div class="facts">{own}</div>') if own else ""
            else:
                body = fill(section.body)
            sections.append(
                {
                    "index": i,
                    "level": section.level,
                    "h": min(section.level + 1, 6),
                    "title_html": section.title_html,
                    "show_title": shows_title(note, section),
                    "own_tags": [
                        t
                        for t in section.tags
                        if t not in parent and t not in note.tags and t not in wanted
                    ],
                    "body": body,
                }
            )
        page = self.env.get_template("note.html.j2").render(
            title=note.title,
            note=note,
            sections=sections,
            source=f"{self.config.source_name}/{note.path}",
            body_class="self-test" if self_test else "sheet",
            self_test=self_test,
            note_tags=[t for t in note.tags if t not in wanted],
            only=", ".join(f"#{t}" for t in sorted(wanted)),
            date="",
        )
        return render_marks(page, marks.renderer("pdf", cache=self.cache, media=self.media))

    def note_parts(
        self, notes: tuple[Note, ...], self_test: bool, progress: Progress | None = None
    ) -> list[Part]:
        """Each note's render, from the cache when its HTML is unchanged; the rest are
        rendered, in parallel worker processes when there are several."""
        htmls = [self.note_html(note, self_test) for note in notes]
        keys = [self.key(h) for h in htmls]
        parts: list[Part | None] = [self.cached(key) for key in keys]
        todo = [i for i, part in enumerate(parts) if part is None]
        workers = min(self.config.worker_count, len(todo))
        if workers > 1 and len(todo) >= PARALLEL_FROM:
            rendered = pool_map(
                _render_in_worker,
                [htmls[i] for i in todo],
                workers,
                "spawn",
                initializer=_start_worker,
                initargs=(self.engine,),
            )
            for n, (i, part) in enumerate(zip(todo, rendered, strict=True), 1):
                parts[i] = self.store(keys[i], part)
                if progress:
                    progress(f"sheet {n}/{len(todo)}: {notes[i].path}")
        else:
            for n, i in enumerate(todo, 1):
                if progress:
                    progress(f"sheet {n}/{len(todo)}: {notes[i].path}")
                parts[i] = self.store(keys[i], self.engine.render(htmls[i]))
        return [p for p in parts if p is not None]

    def cached(self, key: str) -> Part | None:
        pdf_path, meta_path = self.cache / f"{key}.pdf", self.cache / f"{key}.json"
        if not (pdf_path.exists() and meta_path.exists()):
            return None
        touch(pdf_path)
        touch(meta_path)
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        boxes = {k: tuple(v) for k, v in meta.get("boxes", {}).items()}
        return Part(
            pdf_path.read_bytes(),
            meta["pages"],
            meta["anchors"],
            tuple(meta["missing"]),
            boxes,  # type: ignore[arg-type]
            meta.get("top", 0.0),
            meta.get("bottom", 0.0),
        )

    def store(self, key: str, part: Part) -> Part:
        self.cache.mkdir(parents=True, exist_ok=True)
        meta = {
            "pages": part.pages,
            "anchors": part.anchors,
            "missing": list(part.missing),
            "boxes": part.boxes,
            "top": part.top,
            "bottom": part.bottom,
        }
        write_atomic(self.cache / f"{key}.pdf", part.pdf)
        write_atomic(self.cache / f"{key}.json", json.dumps(meta, sort_keys=True).encode())
        return part

    # ------------------------------------------------------------ whole sheets

    def front(
        self, deck: Deck, contents: list[dict[str, Any]], date: str, self_test: bool = False
    ) -> Part:
        """The cover and contents of a sheet of several notes."""
        notes = len(deck.notes)
        counts = (
            f"{notes} note{'s' if notes != 1 else ''} · "
            + (f"{len(deck.facts)} questions" if self_test else f"{len(deck.facts)} facts · ")
            + ("" if self_test else f"{deck.card_count} cards")
        )
        html = self.env.get_template("front.html.j2").render(
            title=sheet_title(deck, self.config, self_test),
            heading=deck.notes[0].title if notes == 1 else self.config.root_deck,
            kicker=self.kicker(self_test),
            counts=counts,
            date=date,
            contents=contents,
            body_class="front",
            self_test=self_test,
            tags=", ".join(f"#{t.lstrip('#')}" for t in self.config.tags),
        )
        return self.render(html)

    def answer_key(self, deck: Deck) -> Part:
        """The self-test's answer key, from a new page, numbered as the questions."""
        groups = []
        for i, note in enumerate(deck.notes):
            numbers = question_numbers(note)
            groups.append((i, note, [(numbers[f.index], f) for f in note.facts]))
        html = self.env.get_template("key.html.j2").render(
            title="Answer key", groups=groups, body_class="key", date=""
        )
        return self.render(html)

    def index(self, entries: list[tuple[str, str]]) -> Part:
        html = self.env.get_template("index.html.j2").render(
            title="Tag index", entries=entries, body_class="index", date=""
        )
        return self.render(html)

    def overlay(self, pages: list[dict[str, Any]]) -> Part:
        html = self.env.get_template("overlay.html.j2").render(
            pages=pages,
            total=len(pages),
            title="overlay",
            body_class="overlay",
            date="",
        )
        css = f"@page {{ margin: 0; }}\n.ov-page {{ height: {self.page_height}; }}\n"
        return self.render(html, css)


def sheet_title(deck: Deck, config: BuildConfig, self_test: bool) -> str:
    title = deck.notes[0].title if len(deck.notes) == 1 else config.root_deck
    return f"Self-test: {title}" if self_test else title


def make_fetcher(allowed: list[Path]):
    from urllib.parse import unquote, urlparse

    from weasyprint.urls import URLFetcher, URLFetcherResponse

    roots = [p.resolve() for p in allowed]

    class LocalOnlyFetcher(URLFetcher):
        """Reads files under the allowed folders; refuses every other URL, the network
        included, so rendering a note cannot reach outside the machine or the notes."""

        def fetch(self, url, headers=None):
            if url.startswith("data:image/svg+xml;"):  # drawn formulas (marks/pdf_math.py)
                return super().fetch(url, headers)
            if not url.startswith("file://"):
                raise ValueError(f"refused to fetch {url}")
            path = Path(unquote(urlparse(url).path)).resolve()
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


def weak_sheet(config: BuildConfig, deck: Deck, remarks: dict[str, str]) -> bytes:
    """The sheet of the facts a person keeps forgetting: laid out as the revision sheet,
    facts only, each with its remark."""
    renderer = Renderer(config, deck, remarks)
    with renderer.session():
        parts = renderer.note_parts(deck.notes, False)
        return assemble(renderer, deck, parts, self_test=False)


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
        return ["sheets"]

    def fingerprint(self, config: BuildConfig) -> dict[str, str]:
        try:
            bundled = fonts.signature(config.styles)
        except OSError:  # a missing font: `check` reports the styles folder
            bundled = "missing"
        return {
            "paper": config.paper,
            "self-test": str(config.self_test),
            "fonts": bundled,
            **versions("weasyprint", "pypdf", "jinja2", "pydyf", "fonttools"),
        }

    def check(self, deck: Deck, config: BuildConfig) -> list[Diagnostic]:
        styles = missing_styles(config, "palette.css", "sheet.css")
        if styles:
            return styles
        from .marks import pdf_math

        return glyphs.missing_glyph_diagnostics(deck, config) + pdf_math.diagnostics(deck, config)

    def export(
        self,
        deck: Deck,
        config: BuildConfig,
        paths: Mapping[Path, Path],
        progress: Progress | None = None,
    ) -> Output:
        renderer = Renderer(config, deck)
        missing: dict[str, tuple[str, ...]] = {}
        with renderer.session():
            parts = renderer.note_parts(deck.notes, False, progress)
            for note, part in zip(deck.notes, parts, strict=True):
                missing[note.path] = part.missing
            pdf = assemble(renderer, deck, parts, self_test=False)
            paths[config.out / f"{config.name}.pdf"].write_bytes(pdf)
            if config.self_test:
                quiz = renderer.note_parts(deck.notes, True, progress)
                pdf = assemble(renderer, deck, quiz, self_test=True)
                paths[config.out / f"{config.name}-self-test.pdf"].write_bytes(pdf)
            if not config.tags:
                for note, part in zip(deck.notes, parts, strict=True):
                    target = config.out / "sheets" / Path(note.path).with_suffix(".pdf")
                    paths[target].write_bytes(single_note(renderer, note, part))
        return Output(tuple(glyphs.glyph_warnings(deck, config, missing)))


EXPORTER = PdfExporter()
