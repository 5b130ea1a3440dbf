"""The sheet's fonts: bundled, never the machine's, so every build draws the same glyphs
and a missing glyph is caught the same way everywhere.

Text fonts come from `fontpkg-*` Python packages (Fira Sans, IBM Plex Mono, Noto Sans
Devanagari); the colour emoji font (no package ships
it) from `styles/fonts/`. During rendering, fontconfig is pointed at a configuration that
lists only these fonts' folders, so Pango cannot quietly fall back to a system font, and
which scales bitmap (colour emoji) glyphs to the text size as desktop fontconfig does.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from pathlib import Path

EMOJI_FILE = "NotoColorEmoji.ttf"
NOTDEF_RE = re.compile(r'\.notdef glyph rendered for Unicode string unsupported by fonts: "(.*)"')


@dataclass(frozen=True)
class Face:
    family: str
    path: Path
    weight: str = "normal"
    style: str = "normal"

    def css(self) -> str:
        return (
            f'@font-face {{ font-family: "{self.family}"; src: url("{self.path.as_uri()}"); '
            f"font-weight: {self.weight}; font-style: {self.style}; }}"
        )


def faces(styles: Path) -> list[Face]:
    """Static text faces (Fira Sans, IBM Plex Mono): WeasyPrint re-instances a variable
    font in every render, which costs more than laying out a note. Devanagari's only
    packaged face is variable; it is used only where Devanagari text is."""
    import fontpkg

    def face(family: str, name: str, weight: str, style: str = "normal") -> Face:
        return Face(family, fontpkg.path(name, weight=weight, style=style), weight, style)

    deva = fontpkg.path("Noto Sans Devanagari")
    out = []
    for weight in ("normal", "bold"):
        out += [
            face("Sheet Sans", "Fira Sans", weight),
            face("Sheet Sans", "Fira Sans", weight, "italic"),
            face("Sheet Mono", "IBM Plex Mono", weight),
            face("Sheet Mono", "IBM Plex Mono", weight, "italic"),
            Face("Sheet Devanagari", deva, weight),
        ]
    out.append(Face("Sheet Emoji", styles / "fonts" / EMOJI_FILE))
    return out


def font_css(styles: Path) -> str:
    return "\n".join(face.css() for face in faces(styles))


def folders(styles: Path) -> list[Path]:
    return sorted({face.path.parent.resolve() for face in faces(styles)})


def signature(styles: Path) -> str:
    """Changes when a bundled font file changes, so cached renders are redone."""
    h = hashlib.sha256()
    for face in faces(styles):
        st = face.path.stat()
        h.update(f"{face.family}|{face.path.name}|{st.st_size}|{face.weight}|{face.style}".encode())
    return h.hexdigest()[:16]


FONTS_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
{dirs}
  <cachedir>{cache}</cachedir>
  <!-- A bitmap font has one pixel size; scale it to the size asked for. -->
  <match target="font">
    <test name="outline" compare="eq"><bool>false</bool></test>
    <edit name="pixelsizefixupfactor" mode="assign">
      <divide>
        <name target="pattern">pixelsize</name>
        <name target="font">pixelsize</name>
      </divide>
    </edit>
  </match>
  <match target="font">
    <test name="outline" compare="eq"><bool>false</bool></test>
    <test name="pixelsizefixupfactor" compare="not_eq"><double>1.0</double></test>
    <edit name="matrix" mode="assign">
      <times>
        <name>matrix</name>
        <matrix>
          <name>pixelsizefixupfactor</name> <double>0</double>
          <double>0</double> <name>pixelsizefixupfactor</name>
        </matrix>
      </times>
    </edit>
    <edit name="size" mode="assign">
      <divide><name>size</name><name>pixelsizefixupfactor</name></divide>
    </edit>
  </match>
</fontconfig>
"""


def write_fontconfig(styles: Path, cache: Path) -> Path:
    """Fontconfig reads a relative FONTCONFIG_FILE from its own folder: keep it absolute."""
    cache = cache.resolve()
    (cache / "fontconfig").mkdir(parents=True, exist_ok=True)
    dirs = "\n".join(f"  <dir>{escape(str(d))}</dir>" for d in folders(styles))
    text = FONTS_CONF.format(dirs=dirs, cache=escape(str(cache / "fontconfig")))
    path = cache / "fonts.conf"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


@contextlib.contextmanager
def bundled_fonts_only(styles: Path, cache: Path) -> Iterator[None]:
    """Within this block, fontconfig (and so WeasyPrint) sees only the bundled fonts."""
    conf = write_fontconfig(styles, cache)
    previous = os.environ.get("FONTCONFIG_FILE")
    os.environ["FONTCONFIG_FILE"] = str(conf)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("FONTCONFIG_FILE", None)
        else:
            os.environ["FONTCONFIG_FILE"] = previous


class MissingGlyphs(logging.Handler):
    """Collects the characters WeasyPrint had to draw as `.notdef` (tofu): text extraction
    cannot tell a box from a glyph, only this log can."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.characters: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        m = NOTDEF_RE.match(record.getMessage())
        if m and m.group(1) not in self.characters:
            self.characters.append(m.group(1))


@contextlib.contextmanager
def catching_missing_glyphs() -> Iterator[MissingGlyphs]:
    handler = MissingGlyphs()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
