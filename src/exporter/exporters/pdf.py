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
import io
import itertools
import json
import multiprocessing
import os
import re
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2

from .. import __version__
from ..cache import touch
from ..config import BuildConfig
from ..diagnostics import Diagnostic, warning
from ..identity import Report
from ..model import Deck, Note
from ..sources import display_path
from . import Output, fonts, missing_styles, versions

TEMPLATES = Path(__file__).parent / "templates"
SLOT_RE = re.compile(r"<!--fact:(\d+)-->")
IMG_SRC_RE = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]+)(")')
Progress = Callable[[str], None]
# Starting a worker (importing WeasyPrint, loading fonts) costs about as much as rendering
# a note or two, so a handful of changed notes render in this process.
PARALLEL_FROM = 6
PAPER = {"a4": ("210mm", "297mm"), "letter": ("8.5in", "11in")}
EPOCH = 1_700_000_000


@dataclass(frozen=True)
class Part:
    """One rendered piece of a sheet."""

    pdf: bytes
    pages: int
    anchors: dict[str, int]
    missing: tuple[str, ...] = ()


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def templates_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(TEMPLATES.iterdir()):
        h.update(path.read_bytes())
    return h.hexdigest()


def page_ranges(pages: list[int]) -> str:
    """`[3, 4, 5, 9]` → `3–5, 9`."""
    out: list[str] = []
    for p in sorted(set(pages)):
        if out and out[-1].split("–")[-1] == str(p - 1):
            out[-1] = f"{out[-1].split('–')[0]}–{p}"
        else:
            out.append(str(p))
    return ", ".join(out)


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
            anchors = {
                name: i
                for i, page in reversed(list(enumerate(document.pages)))
                for name in page.anchors
            }
            pdf = document.write_pdf(pdf_identifier=b"exporter-sheet")
        return Part(pdf, len(document.pages), anchors, tuple(missing.characters))


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

    def __init__(self, config: BuildConfig, deck: Deck) -> None:
        self.config = config
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

    def render(self, html: str, css_extra: str = "") -> Part:
        """A render from the cache when this exact HTML was rendered before."""
        key = self.key(html, css_extra)
        return self.cached(key) or self.store(key, self.engine.render(html, css_extra))

    def key(self, html: str, css_extra: str = "") -> str:
        return hashlib.sha256(f"{self.key_base}|{css_extra}|{html}".encode()).hexdigest()

    # ---------------------------------------------------------------- note parts

    def note_html(self, note: Note, self_test: bool) -> str:
        hidden = set(note.tags)
        macros = self.env.get_template("macros.html.j2").module
        numbers = {f.index: i + 1 for i, f in enumerate(note.facts)}
        facts = {f.index: f for f in note.facts}

        def fill(body: str) -> str:
            def slot(m: re.Match[str]) -> str:
                fact = facts.get(int(m.group(1)))
                if fact is None:
                    return ""
                section_tags = set(note.sections[fact.section].tags)
                return str(macros.fact(fact, hidden | section_tags, self_test, numbers[fact.index]))

            body = SLOT_RE.sub(slot, body)
            return IMG_SRC_RE.sub(
                lambda m: m.group(1) + self.media.get(m.group(2), "") + m.group(3), body
            )

        sections = []
        kept = {f.section for f in note.facts}
        subset = bool(self.config.tags)
        stack: list[tuple[int, tuple[str, ...]]] = []
        for i, section in enumerate(note.sections):
            while stack and stack[-1][0] >= section.level:
                stack.pop()
            parent = set(stack[-1][1]) if stack else set()
            stack.append((section.level, section.tags))
            if subset and i not in kept:
                continue
            body = (
                fill("".join(f"<!--fact:{f.index}-->" for f in note.facts if f.section == i))
                if subset
                else fill(section.body)
            )
            sections.append(
                {
                    "index": i,
                    "level": section.level,
                    "h": min(section.level + 1, 6),
                    "title_html": section.title_html,
                    "show_title": bool(section.title)
                    and not (section.level == 1 and section.title == note.title),
                    "own_tags": [t for t in section.tags if t not in parent and t not in note.tags],
                    "body": body,
                }
            )
        return self.env.get_template("note.html.j2").render(
            title=note.title,
            note=note,
            sections=sections,
            source=f"{self.config.source_name}/{note.path}",
            body_class="self-test" if self_test else "sheet",
            date="",
        )

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
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(
                workers, mp_context=context, initializer=_start_worker, initargs=(self.engine,)
            ) as pool:
                rendered = pool.map(_render_in_worker, [htmls[i] for i in todo])
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
        return Part(pdf_path.read_bytes(), meta["pages"], meta["anchors"], tuple(meta["missing"]))

    def store(self, key: str, part: Part) -> Part:
        self.cache.mkdir(parents=True, exist_ok=True)
        meta = {"pages": part.pages, "anchors": part.anchors, "missing": list(part.missing)}
        write_atomic(self.cache / f"{key}.pdf", part.pdf)
        write_atomic(self.cache / f"{key}.json", json.dumps(meta, sort_keys=True).encode())
        return part

    # ------------------------------------------------------------ whole sheets

    def front(self, deck: Deck, contents: list[dict[str, Any]], date: str) -> Part:
        notes = len(deck.notes)
        counts = (
            f"{notes} note{'s' if notes != 1 else ''} · {len(deck.facts)} facts · "
            f"{deck.card_count} cards"
        )
        title = deck.notes[0].title if notes == 1 else self.config.root_deck
        html = self.env.get_template("front.html.j2").render(
            title=title,
            kicker="Revision sheet",
            counts=counts,
            date=date,
            contents=contents,
            body_class="front",
            tags=", ".join(f"#{t.lstrip('#')}" for t in self.config.tags),
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


def sheet_date(deck: Deck) -> str:
    latest = max((f.mtime for f in deck.facts), default=0)
    return datetime.fromtimestamp(latest, timezone.utc).strftime("%d %B %Y") if latest else ""


def assemble(renderer: Renderer, deck: Deck, parts: list[Part], self_test: bool) -> bytes:
    """Cover and contents, the notes, then the index (or answer key); stamped and merged."""
    from pypdf import PdfReader, PdfWriter

    date = sheet_date(deck)

    def contents(front_pages: int) -> list[dict[str, Any]]:
        entries, start = [], front_pages + 1
        for note, part in zip(deck.notes, parts, strict=True):
            entries.append({"kind": "note", "title": note.title, "page": start})
            for i, section in enumerate(note.sections):
                anchor = f"s-{i}"
                if section.level == 2 and anchor in part.anchors:
                    entries.append(
                        {
                            "kind": "section",
                            "title": section.title,
                            "page": start + part.anchors[anchor],
                        }
                    )
            start += part.pages
        return entries

    guess = renderer.front(deck, contents(1), date)
    front = renderer.front(deck, contents(guess.pages), date)
    if front.pages != guess.pages:
        front = renderer.front(deck, contents(front.pages), date)

    starts, page = [], front.pages
    for part in parts:
        starts.append(page)
        page += part.pages
    if self_test:
        groups = [(n, n.facts) for n in deck.notes]
        tail = renderer.render(
            renderer.env.get_template("key.html.j2").render(
                title="Answer key", groups=groups, body_class="key", date=""
            )
        )
    else:
        pages_by_tag: dict[str, list[int]] = {}
        for note, part, start in zip(deck.notes, parts, starts, strict=True):
            for fact in note.facts:
                at = part.anchors.get(f"f-{fact.index}")
                if at is None:
                    continue
                for tag in fact.tags:
                    pages_by_tag.setdefault(tag, []).append(start + at + 1)
        entries = [(t, page_ranges(p)) for t, p in sorted(pages_by_tag.items())]
        tail = renderer.render(
            renderer.env.get_template("index.html.j2").render(
                title="Tag index", entries=entries, body_class="index", date=""
            )
        )

    running: list[dict[str, Any]] = [{"stamp": False}] * front.pages
    for note, part in zip(deck.notes, parts, strict=True):
        section_at = {}
        for i, section in enumerate(note.sections):
            at = part.anchors.get(f"s-{i}")
            if at is not None and section.title and section.level <= 2:
                section_at.setdefault(at, section.title)
        current = ""
        for p in range(part.pages):
            current = section_at.get(p, current)
            running.append({"stamp": True, "left": note.title, "right": current})
    running += [
        {"stamp": True, "left": "Answer key" if self_test else "Tag index", "right": ""}
    ] * tail.pages
    for i, entry in enumerate(running):
        running[i] = {**entry, "number": i + 1}
    overlay = renderer.overlay(running)

    writer = PdfWriter()
    for part in [front, *parts, tail]:
        for pdf_page in PdfReader(io.BytesIO(part.pdf)).pages:
            writer.add_page(pdf_page)
    stamps = PdfReader(io.BytesIO(overlay.pdf)).pages
    stamp(writer, [(writer.pages[i], stamps[i]) for i, e in enumerate(running) if e["stamp"]])
    for note, part, start in zip(deck.notes, parts, starts, strict=True):
        parent = writer.add_outline_item(title=note.title, page_number=start)
        for i, section in enumerate(note.sections):
            at = part.anchors.get(f"s-{i}")
            if at is not None and section.level == 2:
                writer.add_outline_item(title=section.title, page_number=start + at, parent=parent)
    writer.add_outline_item(title="Answer key" if self_test else "Tag index", page_number=page)
    title = deck.notes[0].title if len(deck.notes) == 1 else renderer.config.root_deck
    writer.add_metadata(
        {
            "/Title": title + (" — self-test" if self_test else ""),
            "/Producer": f"exporter {__version__}",
        }
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def stamp(writer: Any, pairs: list[tuple[Any, Any]]) -> None:
    """Draw each overlay page (running head, page number) over its page.

    pypdf's `merge_page` parses both pages' drawing operators to merge them: a second a
    hundred pages. Here each overlay page becomes a form XObject that the page draws last,
    and the page's own drawing is fenced with q/Q so its coordinate changes stay inside:
    nothing is parsed. (`_add_object` is pypdf's only way to add a new object.)"""
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject

    def stream(data: bytes) -> Any:
        obj = DecodedStreamObject()
        obj.set_data(data)
        return obj

    opening = writer._add_object(stream(b"q\n"))
    for page, over in pairs:
        drawn = over["/Contents"].get_object()
        pieces = drawn if isinstance(drawn, ArrayObject) else [drawn]
        form = stream(b"\n".join(p.get_object().get_data() for p in pieces)).flate_encode()
        form.update(
            {
                NameObject("/Type"): NameObject("/XObject"),
                NameObject("/Subtype"): NameObject("/Form"),
                NameObject("/BBox"): over.mediabox,
                NameObject("/Resources"): over["/Resources"].clone(writer),
            }
        )
        if "/Resources" not in page:
            page[NameObject("/Resources")] = DictionaryObject()
        resources = page["/Resources"].get_object()
        if "/XObject" not in resources:
            resources[NameObject("/XObject")] = DictionaryObject()
        xobjects = resources["/XObject"].get_object()
        # A name of its own: the page may hold stamps already, or share its resources.
        name = next(f"/Stamp{k}" for k in itertools.count() if f"/Stamp{k}" not in xobjects)
        xobjects[NameObject(name)] = writer._add_object(form)
        contents = page.raw_get("/Contents") if "/Contents" in page else ArrayObject()
        listed = contents.get_object()
        own = listed if isinstance(listed, ArrayObject) else [contents]
        closing = writer._add_object(stream(f"\nQ\nq {name} Do Q\n".encode()))
        page[NameObject("/Contents")] = ArrayObject([opening, *own, closing])


def single_note(renderer: Renderer, note: Note, part: Part) -> bytes:
    """A note's own sheet: its pages with their own running header and numbering,
    assembled once per version of the note."""
    from pypdf import PdfReader, PdfWriter

    key = hashlib.sha256(
        f"{renderer.key_base}|single|{note.title}|".encode() + part.pdf
    ).hexdigest()
    done = renderer.cache / f"{key}.single.pdf"
    if done.exists():
        touch(done)
        return done.read_bytes()

    running = [
        {"stamp": True, "left": note.title, "right": "", "number": i + 1} for i in range(part.pages)
    ]
    overlay = PdfReader(io.BytesIO(renderer.overlay(running).pdf)).pages
    writer = PdfWriter()
    for pdf_page in PdfReader(io.BytesIO(part.pdf)).pages:
        writer.add_page(pdf_page)
    stamp(writer, list(zip(writer.pages, overlay, strict=True)))
    writer.add_metadata({"/Title": note.title, "/Producer": f"exporter {__version__}"})
    out = io.BytesIO()
    writer.write(out)
    renderer.cache.mkdir(parents=True, exist_ok=True)
    write_atomic(done, out.getvalue())
    return out.getvalue()


def missing_glyph_diagnostics(
    deck: Deck, config: BuildConfig, by_note: Mapping[str, tuple[str, ...]]
) -> list[Diagnostic]:
    """A warning per character no bundled font can draw, at the first fact that has it."""
    out = []
    for note in deck.notes:
        for char in by_note.get(note.path, ()):
            fact = next(
                (
                    f
                    for f in note.facts
                    if char in f.plain_question + f.plain_answer
                    or any(char in s if isinstance(s, str) else char in s.html for s in f.text)
                ),
                None,
            )
            line, col = (fact.line, fact.col) if fact else (1, 1)
            out.append(
                warning(
                    display_path(config.notes / note.path),
                    line,
                    col,
                    f"no bundled font has '{char}' (U+{ord(char):04X}); the sheet shows a box",
                    "use another character, or add a font that has it to styles/fonts/",
                )
            )
    return out


def make_fetcher(allowed: list[Path]):
    from urllib.parse import unquote, urlparse

    from weasyprint.urls import URLFetcher, URLFetcherResponse

    roots = [p.resolve() for p in allowed]

    class LocalOnlyFetcher(URLFetcher):
        """Reads files under the allowed folders; refuses every other URL, the network
        included, so rendering a note cannot reach outside the machine or the notes."""

        def fetch(self, url, headers=None):
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


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


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
        return missing_styles(config, "palette.css", "sheet.css")

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
        return Output(tuple(missing_glyph_diagnostics(deck, config, missing)))


EXPORTER = PdfExporter()
