"""One build's sheets: each note's HTML, its render (from the part cache when the HTML is
unchanged, else rendered, in parallel workers when there are several), and the cover,
index, key and overlay pages assembly needs.

The part cache is the store's `sheets` area. A render is kept by its HTML (`key`), which
is exact but costs writing every note's HTML on every build: half a second for a hundred
notes, most of a one-note edit. So each note's HTML key is also kept under a key of
everything that HTML is made from (`note_key`): the templates, styles and fonts
(`key_base`), this package's code and the libraries that draw marks, the build's
options, and the note itself (its bytes and place, `Note.digest`; its facts' identities
and deletion numbers; remarks; where its images are). A note whose key is kept, and
whose render is, is not written out.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ... import __version__
from ...cache import PARSE_CODE, code_digest, library_versions
from ...config import BuildConfig
from ...model import FACT_SLOT_RE, Deck, Note, fact_slot, render_marks
from ...store import Store, open_store
from ...workers import shared, start_method
from .. import marks
from ..marks import pdf_math
from . import fonts
from .page import (
    environment,
    leading_sections,
    question_numbers,
    sheet_date,
    sheet_title,
    shows_title,
    templates_digest,
    wanted_tags,
)
from .render import PAPER, Engine, Part, _render_in_worker, _start_worker, notes_url

IMG_SRC_RE = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]+)(")')
Progress = Callable[[str], None]
# Starting a worker (importing WeasyPrint, loading fonts) costs about as much as rendering
# a note or two, so a handful of changed notes render in this process.
PARALLEL_FROM = 6
# What every render worker needs, imported once by the server workers are forked from.
PRELOAD = ("weasyprint", "exporter.exporters.pdf.render")
# Pages in one run of the running heads (`Renderer.overlay_later`): a 3,000-fact sheet's
# 158 pages took 2.3 s in one render, after the last note, with a core idle.
OVERLAY_RUN = 100
# Answers in one run of the answer key (`Renderer.answer_key`): some ten pages.
KEY_RUN = 400
AREA = "sheets"
FRONT = "front.html.j2"
# The expected contents is drawn only to count its pages, so without its dotted leaders:
# they are two thirds of its time (10 of 15 s for 775 entries) and take no line of their
# own. A count they would have changed is caught by drawing the contents again.
GUESS_CSS = ".toc-title::after { content: none; }\n"
# The code a note's HTML is made by: the parse, and the sheet's own modules.
CODE = (*PARSE_CODE, "exporters/pdf", "exporters/marks", "exporters/__init__.py")


# The libraries a sheet is drawn with, besides the templates.
LIBRARIES = (
    "weasyprint",
    "pydyf",
    "pikepdf",
    "fonttools",
    "uharfbuzz",
    "jinja2",
    "ziamath",
    "pygments",
)


class Renderer:
    """Templates, the part cache and the page geometry of one build's sheets."""

    def __init__(
        self,
        config: BuildConfig,
        deck: Deck,
        remarks: dict[str, str] | None = None,
        store: Store | None = None,
    ) -> None:
        self.config = config
        # A remark printed after a fact (the weak sheet's "forgotten 3×"); a sheet with
        # remarks shows only its facts, as a `--tag` subset does.
        self.remarks = remarks or {}
        self.env = environment()
        self.store = store or open_store(config.out)
        self.area = self.store.area(AREA)
        self.cache = self.area.folder
        self.media = {m.name: notes_url(Path(m.path), config.notes) for m in deck.media}
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
            config.notes.resolve(),
        )
        self.pool = shared(
            config.worker_count,
            start_method(PRELOAD),
            initializer=_start_worker,
            initargs=(self.engine,),
        )
        # What a render is made with besides its HTML: the sheet's code (how it calls
        # WeasyPrint, which fonts, how they are subset), the libraries, styles and fonts.
        made_with = [
            __version__,
            code_digest("exporters/pdf"),
            library_versions(*LIBRARIES),
            fonts.signature(styles),
            css_text,
            templates_digest(),
        ]
        self.key_base = hashlib.sha256("|".join(made_with).encode()).hexdigest()

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """The bundled fonts for this process, and worker processes (started when first
        needed) for every batch of the build."""
        with self.engine.session(), self.pool:
            yield

    def kicker(self, self_test: bool) -> str:
        if self_test:
            return "Self-test"
        return "Facts you keep forgetting" if self.remarks else "Revision sheet"

    def render(self, html: str, css_extra: str = "") -> Part:
        """A render from the cache when this exact HTML was rendered before."""
        key = self.key(html, css_extra)
        return self.cached(key) or self.keep(key, self.engine.render(html, css_extra))

    def key(self, html: str, css_extra: str = "") -> str:
        return hashlib.sha256(f"{self.key_base}|{css_extra}|{html}".encode()).hexdigest()

    def localised(self, fragment: str) -> str:
        """HTML from the model as the sheet draws it: each image from its file, each
        mark (a formula, a sound) by the sheet's renderers. For other printed outputs
        (the cards), so they draw what the sheet draws."""
        fragment = IMG_SRC_RE.sub(
            lambda m: m.group(1) + self.media.get(m.group(2), "") + m.group(3), fragment
        )
        math = self.store.area(pdf_math.AREA)
        return render_marks(fragment, marks.renderer("pdf", cache=math, media=self.media))

    # ---------------------------------------------------------------- note parts

    def note_html(self, note: Note, self_test: bool) -> str:
        """A note's pages. The sheet keeps every section as written, each fact slot
        filled. A subset (`--tag`) and a self-test keep only the facts, under the headings
        that lead to them: a self-test shows no prose, diagram, table, image or code that
        would answer a question printed below it."""
        wanted = wanted_tags(self.config.tags)
        hidden = set(note.tags) | wanted  # the header shows the file's tags; a filter's are given
        # Any: a template module's macros are attributes jinja2 sets at run time.
        macros: Any = self.env.get_template("macros.html.j2").module
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
        math = self.store.area(pdf_math.AREA)
        return render_marks(page, marks.renderer("pdf", cache=math, media=self.media))

    def sheet_parts(
        self, deck: Deck, self_test: bool, progress: Progress | None = None
    ) -> tuple[list[Part], int | None]:
        """The note parts of a sheet, and (for several notes) how many pages its cover
        and contents are expected to take. That needs only the titles, so this process
        finds it (`guess_fields`) while the workers render the notes."""
        memos = [self.note_key(note, self_test) for note in deck.notes]
        found: list[Part | None] = []
        for key in memos:
            html_key = self.area.get(f"{key}.memo", bytes.decode) if key else None
            found.append(self.cached(html_key) if html_key else None)
        todo = [i for i, part in enumerate(found) if part is None]
        jobs = [(self.note_html(deck.notes[i], self_test), "") for i in todo]
        names = [f"sheet {{n}}/{{total}}: {deck.notes[i].path}" for i in todo]
        if sum(not self.is_cached(job) for job in jobs) >= PARALLEL_FROM:
            self.pool.start()
        later = self.parts_later(jobs, names, progress)
        # Found by what the draft is drawn from: writing its HTML to find its key took a
        # tenth of a second a save under `watch`, for a contents of 1,100 lines.
        guess: Part | None = None
        guess_key, fresh = "", False
        if len(deck.notes) > 1:
            fields = self.guess_fields(deck, self_test)
            guess_key = self.fields_key(FRONT, fields, GUESS_CSS)
            guess = self.cached(guess_key)
            if guess is None:
                guess = self.engine.render(self.front_from(fields), GUESS_CSS, drawn=False)
                fresh = True
        for i, job, part in zip(todo, jobs, later(), strict=True):
            found[i] = part
            memo = memos[i]
            if memo is not None:
                html_key = self.key(*job)
                self.area.put(f"{memo}.memo", html_key.encode("ascii"), html_key)
        if fresh and guess is not None:
            self.keep(guess_key, guess)
        return [p for p in found if p is not None], guess.pages if guess else None

    def note_key(self, note: Note, self_test: bool) -> str | None:
        """The key of everything the note's HTML is made from; None for a note made by
        hand (no digest), whose HTML is always written."""
        if not note.digest:
            return None
        config = self.config
        made_of = [
            self.key_base,
            code_digest(*CODE),
            self_test,
            sorted(config.tags),
            config.source_name,
            note.digest,
            note.path,
            [[f.guid, f.mtime, f.numbers, self.remarks.get(f.guid, "")] for f in note.facts],
            [[m.name, self.media.get(m.name, "")] for m in note.media],
        ]
        return hashlib.sha256(json.dumps(made_of).encode()).hexdigest()

    def is_cached(self, job: tuple[str, str]) -> bool:
        key = self.key(*job)
        return self.area.exists(f"{key}.pdf") and self.area.exists(f"{key}.json")

    def parts(
        self, jobs: list[tuple[str, str]], names: list[str], progress: Progress | None = None
    ) -> list[Part]:
        """Renders of these (HTML, extra CSS) documents, from the cache when rendered
        before; the rest in parallel worker processes when there are several. `names` are
        progress lines."""
        return self.parts_later(jobs, names, progress)()

    def parts_later(
        self,
        jobs: list[tuple[str, str]],
        names: list[str],
        progress: Progress | None = None,
        keys: list[str] | None = None,
    ) -> Callable[[], list[Part]]:
        """`parts`, started now and collected by the returned call: with several to
        render, the workers render them while this process goes on with other work.
        `keys` name the renders in the store when they are not named by their HTML."""
        keys = keys or [self.key(*job) for job in jobs]
        parts: list[Part | None] = [self.cached(key) for key in keys]
        todo = [i for i, part in enumerate(parts) if part is None]
        # Once the workers are up, even one render is worth handing out.
        enough = 1 if self.pool.started else PARALLEL_FROM
        parallel = self.pool.workers > 1 and len(todo) >= enough
        waiting = {i: self.pool.submit(_render_in_worker, jobs[i]) for i in todo if parallel}

        def collect() -> list[Part]:
            for n, i in enumerate(todo, 1):
                if progress:
                    progress(names[i].format(n=n, total=len(todo)))
                parts[i] = waiting[i]() if parallel else self.engine.render(*jobs[i])
            for i in todo:
                part = parts[i]
                assert part is not None  # rendered just above
                self.keep(keys[i], part)
            return [p for p in parts if p is not None]

        return collect

    def cached(self, key: str) -> Part | None:
        """A render kept in the store: its page facts from memory when this process
        has them, its PDF from the file."""
        meta = self.area.get(f"{key}.json", json.loads)
        pdf = self.area.read(f"{key}.pdf") if meta is not None else None
        if meta is None or pdf is None:
            return None
        boxes = {k: tuple(v) for k, v in meta.get("boxes", {}).items()}
        return Part(
            pdf,
            meta["pages"],
            meta["anchors"],
            tuple(meta["missing"]),
            boxes,
            meta.get("top", 0.0),
            meta.get("bottom", 0.0),
        )

    def keep(self, key: str, part: Part) -> Part:
        """Stage a render in the store (written once the build has succeeded)."""
        meta = {
            "pages": part.pages,
            "anchors": part.anchors,
            "missing": list(part.missing),
            "boxes": part.boxes,
            "top": part.top,
            "bottom": part.bottom,
        }
        self.area.put(f"{key}.pdf", part.pdf)
        self.area.put(f"{key}.json", json.dumps(meta, sort_keys=True).encode(), meta)
        return part

    # ------------------------------------------------------------ whole sheets

    def front(
        self, deck: Deck, contents: list[dict[str, Any]], date: str, self_test: bool = False
    ) -> Part:
        """The cover and contents of a sheet of several notes."""
        return self.front_later(deck, contents, date, self_test)()

    def front_from(self, fields: dict[str, Any]) -> str:
        return self.env.get_template(FRONT).render(**fields)

    def front_fields(
        self, deck: Deck, contents: list[dict[str, Any]], date: str, self_test: bool
    ) -> dict[str, Any]:
        """Everything the cover and contents are drawn from, besides the templates."""
        notes = len(deck.notes)
        counts = (
            f"{notes} note{'s' if notes != 1 else ''} · "
            + (f"{len(deck.facts)} questions" if self_test else f"{len(deck.facts)} facts · ")
            + ("" if self_test else f"{deck.card_count} cards")
        )
        return {
            "title": sheet_title(deck, self.config, self_test),
            "heading": deck.notes[0].title if notes == 1 else self.config.root_deck,
            "kicker": self.kicker(self_test),
            "counts": counts,
            "date": date,
            "contents": contents,
            "body_class": "front",
            "self_test": self_test,
            "tags": ", ".join(f"#{t.lstrip('#')}" for t in self.config.tags),
        }

    def fields_key(self, template: str, fields: dict[str, Any], css_extra: str = "") -> str:
        """The key of a render of `template` with `fields`, without writing its HTML: the
        templates are part of `key_base`, and a template draws only what it is given."""
        made_of = json.dumps([template, fields], sort_keys=True, ensure_ascii=False)
        return self.key(f"fields|{made_of}", css_extra)

    def front_later(
        self, deck: Deck, contents: list[dict[str, Any]], date: str, self_test: bool = False
    ) -> Callable[[], Part]:
        """`front`, rendered by a worker when there are workers, collected by the call.
        Kept by what it is drawn from: a contents already drawn is found without writing
        its HTML."""
        fields = self.front_fields(deck, contents, date, self_test)
        key = self.fields_key(FRONT, fields)
        kept = self.cached(key)
        if kept is not None:
            return lambda: kept
        later = self.parts_later([(self.front_from(fields), "")], [""], keys=[key])
        return lambda: later()[0]

    def guess_fields(self, deck: Deck, self_test: bool) -> dict[str, Any]:
        """The cover and contents as expected, to know how many pages they will take:
        every note and H2 section the contents may list, each with a three-digit page
        number. The final contents is checked against it (`assembly.assemble`)."""
        facts_only = self_test or bool(self.config.tags) or bool(self.remarks)
        contents = []
        for note in deck.notes:
            kept = leading_sections(note) if facts_only else range(len(note.sections))
            contents.append({"kind": "note", "title": note.title, "page": 888})
            contents += [
                {"kind": "section", "title": note.sections[i].title, "page": 888}
                for i in sorted(kept)
                if note.sections[i].level == 2
            ]
        return self.front_fields(deck, contents, sheet_date(deck.facts), self_test)

    def answer_key(self, deck: Deck, progress: Progress | None = None) -> list[Part]:
        """The self-test's answer key, from a new page, numbered as the questions. It is
        rendered in runs of whole notes of about `KEY_RUN` answers, each from a new page:
        no process holds the key of a whole library (memory stays flat as facts grow), the
        runs render in parallel, and an edit re-renders the run of the edited note."""
        runs: list[list[tuple[int, Note, list[tuple[int, Any]]]]] = [[]]
        size = 0
        for i, note in enumerate(deck.notes):
            if runs[-1] and size + len(note.facts) > KEY_RUN:
                runs.append([])
                size = 0
            numbers = question_numbers(note)
            runs[-1].append((i, note, [(numbers[f.index], f) for f in note.facts]))
            size += len(note.facts)
        template = self.env.get_template("key.html.j2")
        jobs = [
            (template.render(title="Answer key", groups=run, first=n == 0, body_class="key"), "")
            for n, run in enumerate(runs)
        ]
        return self.parts(jobs, ["answer key {n}/{total}"] * len(jobs), progress)

    def index(self, entries: list[tuple[str, str]]) -> Part:
        html = self.env.get_template("index.html.j2").render(
            title="Tag index", entries=entries, body_class="index", date=""
        )
        return self.render(html)

    def overlay_job(self, pages: list[dict[str, Any]], total: int | None = None) -> tuple[str, str]:
        """The overlay's HTML and CSS: one page per sheet page, margins zero; `total` is
        the whole sheet's page count when `pages` is a run of it."""
        html = self.env.get_template("overlay.html.j2").render(
            pages=pages,
            total=len(pages) if total is None else total,
            title="overlay",
            body_class="overlay",
            date="",
        )
        css = f"@page {{ margin: 0; }}\n.ov-page {{ height: {self.page_height}; }}\n"
        return html, css

    def overlay_later(self, running: list[dict[str, Any]]) -> Callable[[], list[Part]]:
        """The running heads of a whole sheet, rendered in runs of at most `OVERLAY_RUN`
        pages, in parallel when there are workers; the returned call gives every page's
        overlay, in order. The runs are cut by page count alone, so the same sheet gives
        the same bytes on any number of cores; an edit that changes heads in one run
        renders that run again."""
        runs = -(-len(running) // OVERLAY_RUN) or 1
        size = -(-len(running) // runs) or 1
        chunks = [running[i : i + size] for i in range(0, len(running), size)] or [[]]
        return self.parts_later(
            [self.overlay_job(chunk, len(running)) for chunk in chunks],
            ["running heads {n}/{total}"] * len(chunks),
        )
