"""Putting a sheet together from its rendered parts: the cover and contents (only for
several notes, with links to the pages), the notes, then the tag index or the answer key;
running heads and page numbers stamped over every page; bookmarks. The PDF work itself is
`merge`'s.

Running heads name the section in force at the top of each page: the last section whose
heading stands above the first line of the page's content area, found from the positions
WeasyPrint gives each part's anchors (`Part.boxes`, `Part.top`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...model import Deck, Note
from .merge import Sheet
from .page import sheet_date

if TYPE_CHECKING:
    from .render import Part
    from .renderer import Renderer

# Drawings of the contents before its length is taken as it comes out.
FRONT_TRIES = 3
# A heading within this many points of the top of the content area starts the page.
AT_TOP = 2.0
# Space between a note's last line and a tag index drawn below it on the same page.
INDEX_GAP = 12 * 72 / 25.4


def page_ranges(pages: list[int]) -> str:
    """`[3, 4, 5, 9]` → `3–5, 9`."""
    out: list[str] = []
    for p in sorted(set(pages)):
        if out and out[-1].split("–")[-1] == str(p - 1):
            out[-1] = f"{out[-1].split('–')[0]}–{p}"
        else:
            out.append(str(p))
    return ", ".join(out)


def in_force(part: Part, marks: list[tuple[str, str]]) -> list[str]:
    """For each page of `part`, the text of the last mark (anchor name, text), in
    document order, that starts above the page's first line of content, or at it."""
    starts = [
        (part.anchors[name], part.boxes[name][1], text)
        for name, text in marks
        if name in part.anchors and name in part.boxes
    ]
    heads, current, k = [], "", 0
    for page in range(part.pages):
        while k < len(starts) and (starts[k][0], starts[k][1]) <= (page, part.top + AT_TOP):
            current = starts[k][2]
            k += 1
        heads.append(current)
    return heads


def section_heads(note: Note, part: Part) -> list[str]:
    """The note's top section (H1 or H2) in force at the top of each of its pages."""
    from .page import shows_title

    marks = [
        (f"s-{i}", section.title if shows_title(note, section) else "")
        for i, section in enumerate(note.sections)
        if section.level <= 2
    ]
    return in_force(part, marks)


def contents(deck: Deck, parts: list[Part], first: int) -> list[dict[str, Any]]:
    """Each note and its H2 sections, with the page (from 1) it starts on and where: the
    page's index in the sheet and the top of the heading, for links."""
    entries, start = [], first
    for note, part in zip(deck.notes, parts, strict=True):
        entries.append(
            {"kind": "note", "title": note.title, "page": start + 1, "at": start, "y": 0.0}
        )
        for i, section in enumerate(note.sections):
            anchor = f"s-{i}"
            if section.level == 2 and anchor in part.anchors:
                at = start + part.anchors[anchor]
                y = part.boxes.get(anchor, (0.0, 0.0))[1]
                entries.append(
                    {"kind": "section", "title": section.title, "page": at + 1, "at": at, "y": y}
                )
        start += part.pages
    return entries


def tag_index(deck: Deck, parts: list[Part], starts: list[int]) -> list[tuple[str, str]]:
    """Tag → pages of its facts (a file's tags: all its pages). A tag found on every page
    of the notes tells nothing and is left out."""
    every: set[int] = set()
    pages_by_tag: dict[str, set[int]] = {}
    for note, part, start in zip(deck.notes, parts, starts, strict=True):
        span = set(range(start + 1, start + part.pages + 1))
        every |= span
        for tag in note.tags:
            pages_by_tag.setdefault(tag, set()).update(span)
        for fact in note.facts:
            at = part.anchors.get(f"f-{fact.index}")
            if at is not None:
                for tag in fact.tags:
                    pages_by_tag.setdefault(tag, set()).add(start + at + 1)
    return [
        (tag, page_ranges(list(pages)))
        for tag, pages in sorted(pages_by_tag.items())
        if not pages >= every
    ]


def assemble(
    renderer: Renderer,
    deck: Deck,
    parts: list[Part],
    self_test: bool,
    front_guess: int | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> bytes:
    """Cover and contents (several notes only), the notes, then the answer key (self-test)
    or the tag index (when it has anything to say); stamped, linked and merged.

    `meanwhile` is handed to the workers' queue once the contents is: work the sheet does
    not wait for (the note sheets' heads), which the workers take up while this process
    draws the tag index, ahead of the running heads that must wait for the index."""
    from .page import sheet_title

    date = sheet_date(deck.facts)
    several = len(deck.notes) > 1
    front_pages = 0
    if several:
        front_pages = (
            front_guess
            if front_guess is not None
            else renderer.front(deck, contents(deck, parts, 1), date, self_test).pages
        )
    # The contents can be drawn only once the pages it names are known, and they follow
    # from its own length: a worker draws it for the expected length while this process
    # lays out the rest for the same length and hands the running heads to another
    # worker; a wrong guess is drawn again.
    front: Part | None = None
    for _ in range(FRONT_TRIES):
        later = (
            renderer.front_later(deck, contents(deck, parts, front_pages), date, self_test)
            if several
            else None
        )
        if meanwhile is not None:
            meanwhile()
            meanwhile = None
        tails, tail_name, below, running, page = lay_out(
            renderer, deck, parts, self_test, front_pages, date
        )
        overlay_later = renderer.overlay_later(running)
        front = later() if later else None
        if front is None or front.pages == front_pages:
            break
        front_pages = front.pages
    else:  # never agreed: lay out for the contents as last drawn
        tails, tail_name, below, running, page = lay_out(
            renderer, deck, parts, self_test, front_pages, date
        )
        overlay_later = renderer.overlay_later(running)
    starts = list(itertools.accumulate([front_pages, *(p.pages for p in parts)]))[:-1]
    overlays = overlay_later()

    sheet = Sheet()
    for part in [p for p in (front, *parts, *(tails if below is None else ())) if p is not None]:
        sheet.append(part.pdf)
    stamps = [page for overlay in overlays for page in sheet.open(overlay.pdf).pages]
    for i, entry in enumerate(running):
        if entry["stamp"]:
            sheet.stamp(i, stamps[i])
    if tails and below is not None:
        page -= 1
        sheet.stamp(page, sheet.open(tails[0].pdf).pages[0], below)
    if front is not None:
        link_contents(sheet, front, contents(deck, parts, front_pages))
        sheet.bookmark("Contents", 0)
    for note, part, start in zip(deck.notes, parts, starts, strict=True):
        sections = [
            (section.title, start + part.anchors[f"s-{i}"])
            for i, section in enumerate(note.sections)
            if section.level == 2 and f"s-{i}" in part.anchors
        ]
        sheet.bookmark(note.title, start, sections)
    if tails:
        sheet.bookmark(tail_name, page)
    return sheet.bytes(sheet_title(deck, renderer.config, self_test))


def lay_out(
    renderer: Renderer, deck: Deck, parts: list[Part], self_test: bool, front_pages: int, date: str
) -> tuple[list[Part], str, float | None, list[dict[str, Any]], int]:
    """Everything after the contents, for a contents of `front_pages` pages: the tail
    (answer key or tag index) and its name, how far down an index under the last note is
    drawn (or None), the running head of every page, and the first page of the tail."""
    starts, page = [], front_pages
    for part in parts:
        starts.append(page)
        page += part.pages
    tails: list[Part]
    below: float | None = None  # the index fits under the last note: drawn this far down
    if self_test:
        tails, tail_name = renderer.answer_key(deck), "Answer key"
    else:
        entries = tag_index(deck, parts, starts)
        tails, tail_name = ([renderer.index(entries)] if entries else []), "Tag index"
        if tails and parts:
            below = room_below(parts[-1], tails[0])

    prefix = "Self-test · " if self_test else ""
    running: list[dict[str, Any]] = [{"stamp": False}] * front_pages
    for note, part in zip(deck.notes, parts, strict=True):
        running += [
            {"stamp": True, "left": prefix + note.title, "right": head}
            for head in section_heads(note, part)
        ]
    if below is None:
        for tail in tails:
            heads = (
                in_force(tail, [(f"k-{i}", n.title) for i, n in enumerate(deck.notes)])
                if self_test
                else [""] * tail.pages
            )
            running += [{"stamp": True, "left": tail_name, "right": head} for head in heads]
    running = [{**entry, "number": i + 1, "date": date} for i, entry in enumerate(running)]
    return tails, tail_name, below, running, page


def room_below(last: Part, index: Part) -> float | None:
    """How far down to draw a one-page index so that it sits under the last note's last
    line, or None when it does not fit there."""
    if index.pages != 1 or "end" not in index.boxes or last.anchors.get("end") != last.pages - 1:
        return None
    start = last.boxes["end"][1] + INDEX_GAP
    height = index.boxes["end"][1] - index.top
    return round(start - index.top, 2) if start + height <= last.bottom else None


def link_contents(sheet: Sheet, front: Part, entries: list[dict[str, Any]]) -> None:
    """A link from each contents line (its box in the front's render) to the top of the
    note or section it names."""
    for i, entry in enumerate(entries):
        name = f"toc-{i}"
        if name not in front.anchors or name not in front.boxes:
            continue
        source = front.anchors[name]
        height = sheet.height(source)
        x0, y0, x1, y1 = front.boxes[name]
        top = round(sheet.height(entry["at"]) - entry["y"], 2) if entry["y"] else None
        rect = (x0, round(height - y1, 2), x1, round(height - y0, 2))
        sheet.link(source, rect, entry["at"], top)


def single_notes(
    renderer: Renderer, notes: tuple[Note, ...], parts: list[Part]
) -> Callable[[], list[bytes]]:
    """Each note's own sheet: its pages with their own running heads and numbering,
    assembled once per version of the note. The overlays the new ones need start
    rendering now, in parallel workers when there are several, while this process
    assembles the whole sheet; the returned call finishes the note sheets."""
    sheets: list[bytes] = []
    todo: dict[int, tuple[list[dict[str, Any]], str]] = {}
    for i, (note, part) in enumerate(zip(notes, parts, strict=True)):
        date = sheet_date(note.facts)
        running = [
            {"stamp": True, "left": note.title, "right": head, "number": n + 1, "date": date}
            for n, head in enumerate(section_heads(note, part))
        ]
        key = hashlib.sha256(
            f"{renderer.key_base}|single|{json.dumps(running, sort_keys=True)}|".encode() + part.pdf
        ).hexdigest()
        done = f"{key}.single.pdf"
        found = renderer.area.read(done)
        sheets.append(found or b"")
        if found is None:
            todo[i] = (running, done)
    overlays = renderer.parts_later(
        [renderer.overlay_job(running) for running, _ in todo.values()],
        [f"note sheet {{n}}/{{total}}: {notes[i].path}" for i in todo],
    )

    def finish() -> list[bytes]:
        for (i, (_, done)), overlay in zip(todo.items(), overlays(), strict=True):
            sheets[i] = one_note(notes[i], parts[i], overlay)
            renderer.area.put(done, sheets[i])
        return sheets

    return finish


def one_note(note: Note, part: Part, overlay: Part) -> bytes:
    sheet = Sheet()
    sheet.append(part.pdf)
    for i, over in enumerate(sheet.open(overlay.pdf).pages):
        sheet.stamp(i, over)
    return sheet.bytes(note.title)
