"""The PDF side of assembling a sheet, with pikepdf (qpdf): pages appended from rendered
parts, overlays drawn over pages, contents links, bookmarks and the document's title.

qpdf copies and writes objects in C++ and never parses a page's drawing here: a
500-page sheet is put together in a fraction of a second, where pure-Python PDF objects
took seconds on every edit. The same parts always give the same bytes
(`deterministic_id`: the file identifier is a digest of the content, not the clock).
"""

from __future__ import annotations

import io
import itertools
from typing import Any

from ... import __version__


class Sheet:
    """A PDF being put together; `bytes()` writes it."""

    def __init__(self) -> None:
        import pikepdf

        self._pikepdf = pikepdf
        self.pdf = pikepdf.Pdf.new()
        self._sources: list[Any] = []  # kept open until written: pages refer into them
        self._outline: list[tuple[str, int, list[tuple[str, int]]]] = []

    def open(self, data: bytes) -> Any:
        source = self._pikepdf.Pdf.open(io.BytesIO(data))
        self._sources.append(source)
        return source

    def append(self, data: bytes) -> None:
        """Every page of a rendered part, after the pages already here."""
        self.pdf.pages.extend(self.open(data).pages)

    def __len__(self) -> int:
        return len(self.pdf.pages)

    def height(self, index: int) -> float:
        return float(self.pdf.pages[index].mediabox[3])

    def stamp(self, index: int, over: Any, down: float = 0.0) -> None:
        """Draw `over` (a page of another part) over page `index`, moved `down` points.

        The overlay becomes a form XObject that the page draws last, and the page's own
        drawing is fenced with q/Q so its coordinate changes stay inside it."""
        pikepdf = self._pikepdf
        form = self.pdf.copy_foreign(over.as_form_xobject())
        if down:
            form.Matrix = pikepdf.Array([1, 0, 0, 1, 0, -down])
        page = self.pdf.pages[index]
        # A name of our own, not pikepdf's random one: the same parts, the same bytes. The
        # page may hold stamps already, or share its resources.
        absent: dict[str, Any] = {}
        resources = page.obj.get("/Resources", absent)
        taken = set(resources.get("/XObject", absent).keys())
        name = next(f"/Stamp{k}" for k in itertools.count() if f"/Stamp{k}" not in taken)
        page.add_resource(form, pikepdf.Name.XObject, pikepdf.Name(name))
        page.contents_add(b"q\n", prepend=True)
        page.contents_add(f"\nQ\nq {name} Do Q\n".encode())

    def link(self, index: int, rect: tuple[float, ...], target: int, top: float | None) -> None:
        """A link from `rect` on page `index` to page `target`, at `top` (points from the
        page's bottom) or the whole page."""
        pikepdf = self._pikepdf
        page = self.pdf.pages[target].obj
        where = (
            [page, pikepdf.Name.XYZ, None, top, None]
            if top is not None
            else [page, pikepdf.Name.Fit]
        )
        annotation = self.pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Annot,
                Subtype=pikepdf.Name.Link,
                Rect=pikepdf.Array(list(rect)),
                Border=pikepdf.Array([0, 0, 0]),
                Dest=pikepdf.Array(where),
            )
        )
        source = self.pdf.pages[index].obj
        if "/Annots" not in source:
            source.Annots = self.pdf.make_indirect(pikepdf.Array())
        source.Annots.append(annotation)

    def bookmark(
        self, title: str, page: int, children: list[tuple[str, int]] | None = None
    ) -> None:
        """A bookmark to page `page`, with bookmarks under it."""
        self._outline.append((title, page, children or []))

    def bytes(self, title: str) -> bytes:
        pikepdf = self._pikepdf
        if self._outline:
            with self.pdf.open_outline() as outline:
                for text, page, children in self._outline:
                    item = pikepdf.OutlineItem(text, page)
                    item.children.extend(pikepdf.OutlineItem(t, p) for t, p in children)
                    outline.root.append(item)
        self.pdf.docinfo[pikepdf.Name.Title] = title
        self.pdf.docinfo[pikepdf.Name.Producer] = f"exporter {__version__}"
        out = io.BytesIO()
        self.pdf.save(
            out,
            deterministic_id=True,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,
        )
        return out.getvalue()
