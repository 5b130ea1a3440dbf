"""Where each card stands on the paper, and the paper put together (pikepdf).

Each card side is rendered as a page of its own, the card's size; here each is placed in
its cell as a form XObject. Fronts fill the odd pages and backs the even ones. A back
stands in the mirror image of its front's cell: across the page for printers that turn
the sheet on its long edge, up and down for the short edge. The grid is centred, so a
mirrored cell lies exactly behind the original, and cut marks stand in the margins,
never on a card.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ... import __version__

MM = 72 / 25.4  # points in a millimetre
IN = 72.0
# The sizes a card may take, in points (width, height), and the paper each is printed on.
PAPERS = {"a4": (210 * MM, 297 * MM), "letter": (8.5 * IN, 11 * IN)}
# Eight cards to an A4 or Letter sheet: two across, four down, each 90 × 62 mm.
GRID_CARD = (90 * MM, 62 * MM)
GRID = (2, 4)
# Index cards are printed on card stock of their own size, one card a page.
INDEX_CARDS = {"3x5": (5 * IN, 3 * IN), "a7": (105 * MM, 74 * MM)}
# Cut marks: this far from the cards, this long, this thick (points).
MARK_GAP = 2 * MM
MARK_LENGTH = 6 * MM
MARK_WIDTH = 0.3


@dataclass(frozen=True)
class Layout:
    paper: tuple[float, float]
    card: tuple[float, float]
    cols: int
    rows: int
    marks: bool

    @property
    def per_page(self) -> int:
        return self.cols * self.rows

    @property
    def origin(self) -> tuple[float, float]:
        """The grid's top-left corner, in points from the paper's top left."""
        return (
            (self.paper[0] - self.cols * self.card[0]) / 2,
            (self.paper[1] - self.rows * self.card[1]) / 2,
        )

    def cell(self, slot: int, back: bool, duplex: str) -> tuple[float, float, float, float]:
        """The box (x0, y0, x1, y1, points from the paper's top left) of the card in
        `slot` (0 at the top left, across then down) on a front page, or behind it on
        the back page."""
        row, col = divmod(slot, self.cols)
        if back and duplex == "long-edge":
            col = self.cols - 1 - col
        elif back:
            row = self.rows - 1 - row
        x0, y0 = self.origin
        x, y = x0 + col * self.card[0], y0 + row * self.card[1]
        return (x, y, x + self.card[0], y + self.card[1])

    def cut_marks(self) -> str:
        """PDF drawing of the cut marks: each line between cards, extended into the
        margins on both sides, never drawn across a card."""
        if not self.marks:
            return ""
        x0, y0 = self.origin
        x1, y1 = x0 + self.cols * self.card[0], y0 + self.rows * self.card[1]
        height = self.paper[1]
        ops = [f"q {MARK_WIDTH} w 0 G"]
        for c in range(self.cols + 1):
            x = x0 + c * self.card[0]
            for a, b in outside(y0, y1):
                ops.append(f"{x:.3f} {height - a:.3f} m {x:.3f} {height - b:.3f} l S")
        for r in range(self.rows + 1):
            y = height - (y0 + r * self.card[1])
            for a, b in outside(x0, x1):
                ops.append(f"{a:.3f} {y:.3f} m {b:.3f} {y:.3f} l S")
        ops.append("Q")
        return "\n".join(ops)


def outside(start: float, end: float) -> tuple[tuple[float, float], ...]:
    """Where a cut mark is drawn before `start` and after `end` of the grid."""
    return (
        (start - MARK_GAP - MARK_LENGTH, start - MARK_GAP),
        (end + MARK_GAP, end + MARK_GAP + MARK_LENGTH),
    )


def layout(paper: str, size: str) -> Layout:
    if size in INDEX_CARDS:
        card = INDEX_CARDS[size]
        return Layout(card, card, 1, 1, False)
    return Layout(PAPERS[paper], GRID_CARD, *GRID, True)


@dataclass(frozen=True)
class Placed:
    """One card to print: the rendered part (by index) and its front's and back's page."""

    part: int
    front: int
    back: int


def assemble(
    layout: Layout, duplex: str, parts: Sequence[bytes], cards: Sequence[Placed], title: str
) -> bytes:
    """The printable PDF: for each run of cards a page of fronts, then their backs."""
    import pikepdf

    pdf = pikepdf.Pdf.new()
    sources = [pikepdf.Pdf.open(io.BytesIO(data)) for data in parts]
    marks = layout.cut_marks()
    per = layout.per_page
    for start in range(0, max(len(cards), 1), per):
        run = cards[start : start + per]
        for back in (False, True):
            ops, forms = [marks] if marks else [], {}
            for slot, card in enumerate(run):
                page = sources[card.part].pages[card.back if back else card.front]
                name = f"/Card{slot}"
                forms[name] = pdf.copy_foreign(page.as_form_xobject())
                x0, _, _, y1 = layout.cell(slot, back, duplex)
                ops.append(f"q 1 0 0 1 {x0:.3f} {layout.paper[1] - y1:.3f} cm {name} Do Q")
            add_page(pdf, layout.paper, ops, forms)
    pdf.docinfo[pikepdf.Name.Title] = title
    pdf.docinfo[pikepdf.Name.Producer] = f"exporter {__version__}"
    out = io.BytesIO()
    pdf.save(out, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


def add_page(pdf: Any, paper: tuple[float, float], ops: list[str], forms: dict[str, Any]) -> None:
    import pikepdf

    page = pdf.add_blank_page(page_size=paper)
    page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(forms))
    page.obj.Contents = pdf.make_stream("\n".join(ops).encode("ascii"))
