"""Font subsetting with the HarfBuzz that the `uharfbuzz` wheel carries, in every process
that renders a sheet.

WeasyPrint subsets each embedded font with the system's `libharfbuzz-subset` when the
machine has it, and otherwise with fontTools, which reads every layout table of a font
it is about to drop: on a machine without that apt package (a fresh Debian, most
containers) a sheet took four times as long (issue 19). WeasyPrint has no setting for the
subsetter, so `install()` puts this one in place of `Font.subset`, with the same
HarfBuzz calls and flags as WeasyPrint's own HarfBuzz path. Because the subsetter comes
from a wheel, not from the machine, the same notes give the same sheet bytes on every
machine, with the apt package or without.

`EXPORTER_SUBSETTER` is for measuring only (bench/): `weasyprint` leaves WeasyPrint's
own choice in place (the system library, else fontTools) and `fonttools` forces the
fallback, so the benchmark can time all three in one run.
"""

from __future__ import annotations

import logging
import os
from typing import Any

LOGGER = logging.getLogger("weasyprint")
CHOICE = "EXPORTER_SUBSETTER"
# The tables WeasyPrint drops from an embedded font: a PDF viewer never reads them.
DROP_TABLES = (
    b"BASE", b"DSIG", b"EBDT", b"EBLC", b"EBSC", b"GPOS", b"GSUB", b"JSTF", b"LTSH", b"PCLT",
    b"SVG ",
)  # fmt: skip


def install(choice: str | None = None) -> None:
    """Make WeasyPrint subset fonts with `choice` (default: `EXPORTER_SUBSETTER`, else
    `harfbuzz`, this module's). Cheap enough to call before every render."""
    from weasyprint.pdf import fonts

    global _WEASYPRINT
    if _WEASYPRINT is None:
        _WEASYPRINT = fonts.Font.subset
    choice = choice or os.environ.get(CHOICE, "harfbuzz")
    fonts.Font.subset = {"weasyprint": _WEASYPRINT, "fonttools": _fonttools_subset}.get(
        choice, subset
    )


_WEASYPRINT: Any = None


def _tag(name: bytes) -> int:
    return int.from_bytes(name, "big")


def subset(font: Any, to_unicode: dict[int, str], hinting: bool) -> None:
    """Keep the glyphs `to_unicode` names (at their own ids, as WeasyPrint's PDF refers
    to them), then drop the empty glyphs after the last one: WeasyPrint's two-pass
    HarfBuzz subset, with the wheel's HarfBuzz."""
    if not to_unicode:
        return
    import uharfbuzz as hb

    face = hb.Face(hb.Blob(font.file_content), font.index)
    notdef = hb.SubsetFlags.NOTDEF_OUTLINE if font.missing else hb.SubsetFlags.DEFAULT
    first = hb.SubsetInput()
    first.glyph_set.update(sorted(to_unicode))
    first.flags = (
        hb.SubsetFlags.RETAIN_GIDS
        | hb.SubsetFlags.PASSTHROUGH_UNRECOGNIZED
        | hb.SubsetFlags.DESUBROUTINIZE
        | notdef
    )
    first.sets(hb.SubsetInputSets.DROP_TABLE_TAG).update(_tag(t) for t in DROP_TABLES)
    second = hb.SubsetInput()
    second.glyph_set.update(range(max(to_unicode) + 1))
    second.flags = (
        hb.SubsetFlags.PASSTHROUGH_UNRECOGNIZED
        | hb.SubsetFlags.DESUBROUTINIZE
        | (hb.SubsetFlags.DEFAULT if hinting else hb.SubsetFlags.NO_HINTING)
        | notdef
    )
    try:
        data = hb.subset(hb.subset(face, first), second).blob.data
    except RuntimeError:
        data = b""
    if data:
        font.file_content = bytes(data)
    else:
        LOGGER.warning('Unable to subset "%s" with HarfBuzz', font.family)


def _fonttools_subset(font: Any, to_unicode: dict[int, str], hinting: bool) -> None:
    """WeasyPrint's fallback, as a machine without `libharfbuzz-subset` runs it."""
    if to_unicode:
        font._fonttools_subset(to_unicode, hinting)
