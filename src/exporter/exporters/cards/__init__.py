"""Print-and-cut flashcards (`--format cards` → `dist/<name>-cards.pdf`): the deck's cards
on paper, fronts on odd pages and backs on even ones, each back behind its front when
the paper is printed on both sides.

The cards are the deck's own (`faces`): a reversed fact gives two, a cloze one per
deletion number. They are drawn by the sheet's renderer (its fonts, its math, code and
images, its part cache), one note at a time with each card side a page the card's size,
so a one-note edit renders that note's cards again and no other. A side whose text runs
past its card is drawn again smaller, in steps down to 7 pt; past that it says where the
sheet has it. Nothing is ever cut off unseen. `layout` then places the sides on paper.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ...config import BuildConfig
from ...diagnostics import Diagnostic
from ...identity import Report
from ...model import Deck, context_text
from ...store import Store
from .. import Output
from ..marks import pdf_math
from ..pdf import printed_check, printed_fingerprint, renderer
from ..pdf.page import environment
from ..pdf.render import Part
from ..pdf.renderer import Progress, Renderer
from .faces import Face, faces
from .layout import Layout, Placed, assemble, layout

TEMPLATES = Path(__file__).parent / "templates"
# Font size steps (`fit-0` … in cards.css); the last is the smallest a card is printed at.
FIT_STEPS = 4


@dataclass
class Side:
    """One side of one card as the note's render draws it."""

    id: str
    name: str  # "front" or "back"
    html: str
    context: str
    source: str
    tags: tuple[str, ...]
    remark: str = ""  # the weak cards' "forgotten 3×"
    level: int = 0
    too_long: bool = False
    page: int = 0
    sheet: str = ""


class CardsExporter:
    def signatures(self, config: BuildConfig) -> dict[str, str]:
        return {}

    def advice(self, report: Report) -> list[str]:
        return []

    def targets(self, deck: Deck, config: BuildConfig) -> list[Path]:
        return [config.out / f"{config.name}-cards.pdf"]

    def folders(self, config: BuildConfig) -> dict[Path, str]:
        return {}

    def cache_folders(self) -> list[str]:
        return [renderer.AREA, pdf_math.AREA]

    def fingerprint(self, config: BuildConfig) -> dict[str, str]:
        return {
            "card-size": config.card_size,
            "duplex": config.duplex,
            **printed_fingerprint(config),
        }

    def check(self, deck: Deck, config: BuildConfig) -> list[Diagnostic]:
        return printed_check(deck, config, "palette.css", "sheet.css", "cards.css")

    def export(
        self,
        deck: Deck,
        config: BuildConfig,
        paths: Mapping[Path, Path],
        store: Store,
        progress: Progress | None = None,
    ) -> Output:
        target = config.out / f"{config.name}-cards.pdf"
        paths[target].write_bytes(cards_pdf(deck, config, store, progress))
        return Output()


def cards_pdf(
    deck: Deck,
    config: BuildConfig,
    store: Store | None = None,
    progress: Progress | None = None,
    remarks: dict[str, str] | None = None,
) -> bytes:
    """The printable cards of `deck` (a `--tag` subset, or the weak facts, alike), with
    a remark by a fact's GUID in the small print (`weak`: how often it was forgotten)."""
    sheet = Renderer(config, deck, store=store)
    shape = layout(config.paper, config.card_size)
    with sheet.session():
        drawn = Drawing(sheet, deck, config, shape, remarks or {})
        parts = drawn.parts(progress)
    placed = [
        Placed(i, part.anchors[f"{face.id}-front"], part.anchors[f"{face.id}-back"])
        for i, (part, note_faces) in enumerate(zip(parts, drawn.faces, strict=True))
        for face in note_faces
    ]
    title = f"Cards: {deck.notes[0].title if len(deck.notes) == 1 else config.root_deck}"
    return assemble(shape, config.duplex, [p.pdf for p in parts], placed, title)


class Drawing:
    """The notes' card renders, each side fitted to its card."""

    def __init__(
        self,
        sheet: Renderer,
        deck: Deck,
        config: BuildConfig,
        shape: Layout,
        remarks: dict[str, str],
    ) -> None:
        self.sheet = sheet
        self.deck = deck
        self.config = config
        self.env = environment(TEMPLATES)
        self.faces = [[face for fact in note.facts for face in faces(fact)] for note in deck.notes]
        self.sides = [
            [side for face in note_faces for side in sides_of(face, config, remarks)]
            for note_faces in self.faces
        ]
        width, height = shape.card
        self.css = (config.styles / "cards.css").read_text(
            encoding="utf-8"
        ) + f"\n@page {{ size: {width:.3f}pt {height:.3f}pt; }}\n"

    def html(self, i: int) -> str:
        note = self.deck.notes[i]
        page = self.env.get_template("cards.html.j2").render(title=note.title, sides=self.sides[i])
        return self.sheet.localised(page)

    def parts(self, progress: Progress | None) -> list[Part]:
        """Each note's render, its sides drawn smaller until each fits its card."""
        notes = self.deck.notes
        parts: list[Part | None] = [None] * len(notes)
        todo = list(range(len(notes)))
        for attempt in range(FIT_STEPS + 1):
            names = [f"cards {{n}}/{{total}}: {notes[i].path}" for i in todo]
            jobs = [(self.html(i), self.css) for i in todo]
            for i, part in zip(todo, self.sheet.parts(jobs, names, progress), strict=True):
                parts[i] = part
            todo = [i for i in todo if self.refit(i, parts[i], last=attempt == FIT_STEPS - 1)]
            if not todo:
                break
        return [p for p in parts if p is not None]

    def refit(self, i: int, part: Part | None, last: bool) -> bool:
        """Mark each side of note `i` that ran past its card smaller, or, at the smallest
        size, too long. Whether the note must be drawn again."""
        assert part is not None
        sides = self.sides[i]
        again = False
        for k, side in enumerate(sides):
            start = part.anchors[side.id]
            end = part.anchors[sides[k + 1].id] if k + 1 < len(sides) else part.pages
            if end - start <= 1 or side.too_long:
                continue
            again = True
            if side.level < FIT_STEPS - 1 and not last:
                side.level += 1
            else:
                self.too_long(i, side)
        return again

    def too_long(self, i: int, side: Side) -> None:
        """The side says where to read on: the page of the note's own sheet that has
        the fact, when the build writes note sheets."""
        side.too_long = True
        side.level = 0
        if self.config.tags:
            return
        note = self.deck.notes[i]
        (part,), _ = self.sheet.sheet_parts(Deck(self.deck.name, (note,)), False)
        index = side.id.split("-")[0][1:]
        page = part.anchors.get(f"f-{index}")
        if page is not None:
            side.page = page + 1
            side.sheet = f"sheets/{Path(note.path).with_suffix('.pdf').as_posix()}"


def sides_of(face: Face, config: BuildConfig, remarks: dict[str, str]) -> list[Side]:
    fact = face.fact
    number = f" · card {face.number}" if fact.card_count > 1 else ""
    source = f"{config.source_name}/{fact.path}:{fact.line}{number}"
    context = context_text(fact.context)
    remark = remarks.get(fact.guid, "")
    return [
        Side(f"{face.id}-front", "front", face.front, context, source, fact.tags, remark),
        Side(f"{face.id}-back", "back", face.back, context, source, (), remark),
    ]


EXPORTER = CardsExporter()
