"""Dotted leaders at the cost of one text box a line, in every process that renders a
sheet, with the same PDF bytes as WeasyPrint's own.

The contents and the tag index end each title with `content: leader(" . ")`. WeasyPrint
places whole copies of the leader string right-aligned to the line and keeps each copy
as its own text box: some 20,000 boxes for a 3,000-fact contents. Each box is laid out,
given a background layer, and drawn by setting up a Pango layout and walking its glyphs,
which was two thirds of the contents' render and most of the tag index's (issue 20).

`install()` wraps two WeasyPrint functions and changes neither's rule:
- `handle_leader` still chooses which copies to keep and where; the line then holds one
  box in their place, which carries them (its `leader_copies`);
- `draw_text` draws the first copy as WeasyPrint does, recording what it asks of the
  PDF stream, and asks the same of the stream for each other copy, with that copy's
  place in the text matrix. The stream receives the calls WeasyPrint's own drawing makes,
  in the same order, so the content stream is byte for byte the same
  (`tests/exporters/test_leaders.py`).
"""

from __future__ import annotations

from typing import Any

_ORIGINAL: dict[str, Any] = {}
# What drawing one text box asks of the stream (draw/text.py); anything else it asks
# (a font's widths, its glyph extents) is read, not drawn.
RECORDED = frozenset(
    {
        "set_color",
        "begin_text",
        "end_text",
        "set_text_matrix",
        "set_font_size",
        "show_text",
        "set_text_rise",
    }
)


def install() -> None:
    """Put both wrappers in place; cheap enough to call before every render."""
    if _ORIGINAL:
        return
    from weasyprint import draw
    from weasyprint.layout import inline

    if not (hasattr(inline, "handle_leader") and hasattr(draw, "draw_text")):
        return  # a WeasyPrint laid out otherwise: its own leaders, at their own cost
    _ORIGINAL["handle_leader"] = inline.handle_leader
    _ORIGINAL["draw_text"] = draw.draw_text
    inline.handle_leader = handle_leader
    draw.draw_text = draw_text


def uninstall() -> None:
    """WeasyPrint's own functions back (for the tests that compare the two)."""
    if not _ORIGINAL:
        return
    from weasyprint import draw
    from weasyprint.layout import inline

    inline.handle_leader = _ORIGINAL.pop("handle_leader")
    draw.draw_text = _ORIGINAL.pop("draw_text")


def handle_leader(context: Any, line: Any, containing_block: Any) -> None:
    _ORIGINAL["handle_leader"](context, line, containing_block)
    merge(line)


def merge(line: Any) -> None:
    """Put one box carrying the leader's copies in their place in `line`."""
    from weasyprint.layout.leader import leader_index

    index, leader = leader_index(line)
    if index is None or len(leader.children) < 2:
        return
    copies = leader.children  # from the right: the last one is the leftmost
    first = copies[0]
    if first.style["text_decoration_line"] != "none" or not first.text.isascii():
        # Decorations are drawn from each box's offset, and a glyph drawn as an image
        # (an emoji) outside the text: leave such copies be.
        return
    merged = first.copy()
    merged.position_x = copies[-1].position_x
    merged.width = first.position_x + first.width - merged.position_x
    merged.leader_copies = copies
    leader.children = (merged,)


def draw_text(
    stream: Any, textbox: Any, offset_x: float, text_overflow: str, block_ellipsis: str = "none"
) -> None:
    draw = _ORIGINAL["draw_text"]
    copies = getattr(textbox, "leader_copies", None)
    if copies is None:
        draw(stream, textbox, offset_x, text_overflow, block_ellipsis)
        return
    # As WeasyPrint draws the leader's children: only the last one is given the line's
    # ellipsis, which changes its drawing; the others are drawn alike.
    first, last = copies[0], copies[-1]
    recorder = Recorder(stream, first.position_x)
    draw(recorder, first, offset_x, text_overflow, "none")
    for box in copies[1:-1]:
        recorder.replay(box.position_x)
    if block_ellipsis == "none":
        recorder.replay(last.position_x)
    else:
        draw(stream, last, offset_x, text_overflow, block_ellipsis)


class Recorder:
    """A PDF stream that passes every call on and keeps the drawing ones, to ask them
    again of the stream for a copy placed at another `x` (drawing puts a box's place,
    `x`, in the text matrix)."""

    def __init__(self, stream: Any, x: float) -> None:
        self._stream = stream
        self._x = x
        self._calls: list[tuple[bool, Any, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._stream, name)
        if name not in RECORDED:
            return method
        is_matrix = name == "set_text_matrix"

        def recorded(*args: Any) -> Any:
            self._calls.append((is_matrix, method, args))
            return method(*args)

        return recorded

    def replay(self, x: float) -> None:
        for is_matrix, method, args in self._calls:
            if is_matrix:
                a, b, c, d, e, f = args
                args = (a, b, c, d, x if e == self._x else e + x - self._x, f)
            method(*args)
