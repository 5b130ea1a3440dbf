"""The sheet's fonts: bundled, never the machine's, so every build draws the same glyphs
and a missing glyph is caught the same way everywhere.

Text fonts come from `fontpkg-*` Python packages (Fira Sans, IBM Plex Mono, and Noto Sans
Devanagari, Tamil, Telugu and Arabic); the scripts no package ships (Bengali, Gurmukhi,
Gujarati, Odia, Kannada, Malayalam, Ol Chiki, Meetei Mayek) and the colour emoji font from
`styles/fonts/`. Together they cover the scripts of all 22 languages of the Eighth
Schedule. During rendering, fontconfig is pointed at a configuration that lists only these
fonts' folders, so Pango cannot quietly fall back to a system font, and which scales bitmap
(colour emoji) glyphs to the text size as desktop fontconfig does.
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
WEIGHTS = ("normal", "bold")


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


@dataclass(frozen=True)
class Script:
    """A script of India's languages and the family that draws it: a `fontpkg` package
    when one exists (`package`, one variable file for both weights), else a static
    Regular/Bold pair in `styles/fonts/` (`stem`). Static files are preferred where we
    copy them: WeasyPrint re-instances a variable font each time it embeds it."""

    family: str
    languages: str
    package: str = ""
    stem: str = ""

    def faces(self, styles: Path) -> list[Face]:
        if self.package:
            import fontpkg

            variable = fontpkg.path(self.package)
            return [Face(self.family, variable, weight) for weight in WEIGHTS]
        folder = styles / "fonts"
        return [
            Face(self.family, folder / f"{self.stem}-Regular.ttf"),
            Face(self.family, folder / f"{self.stem}-Bold.ttf", "bold"),
        ]


# In Unicode block order. Pango takes each character from the first family in the list
# that has it, so a sign two scripts share (the danda, U+0964) always comes from the same
# font.
SCRIPTS = (
    Script(
        "Sheet Devanagari",
        "Hindi, Marathi, Sanskrit, Nepali, Konkani, Bodo, Dogri, Maithili, Sindhi",
        package="Noto Sans Devanagari",
    ),
    Script("Sheet Bengali", "Bengali, Assamese, Manipuri", stem="NotoSansBengali"),
    Script("Sheet Gurmukhi", "Punjabi", stem="NotoSansGurmukhi"),
    Script("Sheet Gujarati", "Gujarati", stem="NotoSansGujarati"),
    Script("Sheet Odia", "Odia", stem="NotoSansOriya"),
    Script("Sheet Tamil", "Tamil", package="Noto Sans Tamil"),
    Script("Sheet Telugu", "Telugu", package="Noto Sans Telugu"),
    Script("Sheet Kannada", "Kannada", stem="NotoSansKannada"),
    Script("Sheet Malayalam", "Malayalam", stem="NotoSansMalayalam"),
    Script("Sheet Ol Chiki", "Santali", stem="NotoSansOlChiki"),
    Script("Sheet Meetei Mayek", "Manipuri", stem="NotoSansMeeteiMayek"),
    Script("Sheet Arabic", "Urdu, Kashmiri, Sindhi", package="Noto Sans Arabic"),
)


def faces(styles: Path) -> list[Face]:
    """Static Latin faces (Fira Sans, IBM Plex Mono): WeasyPrint re-instances a variable
    font in every render, which costs more than laying out a note. The packaged script
    faces are variable, but only the notes written in that script pay for them."""
    import fontpkg

    def face(family: str, name: str, weight: str, style: str = "normal") -> Face:
        return Face(family, fontpkg.path(name, weight=weight, style=style), weight, style)

    out = []
    for weight in WEIGHTS:
        out += [
            face("Sheet Sans", "Fira Sans", weight),
            face("Sheet Sans", "Fira Sans", weight, "italic"),
            face("Sheet Mono", "IBM Plex Mono", weight),
            face("Sheet Mono", "IBM Plex Mono", weight, "italic"),
        ]
    for script in SCRIPTS:
        out += script.faces(styles)
    out.append(Face("Sheet Emoji", styles / "fonts" / EMOJI_FILE))
    return out


def family_list(first: str) -> str:
    """A `font-family` value: `first`, then every script, then the other Latin family
    (Fira Sans has no box-drawing characters, IBM Plex Mono does), then emoji."""
    other = "Sheet Mono" if first == "Sheet Sans" else "Sheet Sans"
    names = [first, *(s.family for s in SCRIPTS), other, "Sheet Emoji"]
    return ", ".join(f'"{name}"' for name in names)


def font_css(styles: Path) -> str:
    """The faces, and the fallback lists as custom properties (`--sheet-sans` for text,
    `--sheet-mono` for code) so the stylesheets name no script: a new script is one line
    in SCRIPTS."""
    families = (
        f":root {{ --sheet-sans: {family_list('Sheet Sans')}; "
        f"--sheet-mono: {family_list('Sheet Mono')}; }}"
    )
    return "\n".join([*(face.css() for face in faces(styles)), families])


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
