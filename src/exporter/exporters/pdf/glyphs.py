"""Characters of the notes that no bundled font can draw, found from the fonts' character
maps (cmaps) without rendering anything.

The build learns of a box (`.notdef`) only from WeasyPrint's log, after rendering; `check`
renders nothing, so it asks the fonts directly. A character counts as drawable when some
bundled face maps it, when shaping shows it without a glyph of its own (spaces, controls,
default-ignorable characters such as ZWJ, ZWNJ and variation selectors: HarfBuzz hides
them), or when HarfBuzz can compose or decompose it into characters a face maps. Pango
falls back through every bundled font, whichever family the stylesheet names, so coverage
is the union of all bundled faces.

Loading every bundled cmap takes about 0.1 s (the colour emoji font, 11 MB, loads its cmap
in 20 ms with a lazy `TTFont`), so coverage is memoised per process and not kept on disk.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from ...config import BuildConfig
from ...diagnostics import Diagnostic, warning
from ...model import Deck, Note, plain
from ...sources import display_path
from ...store import open_store
from . import fonts

# The default-ignorable characters HarfBuzz hides after shaping, so no font needs a glyph
# for them: Unicode's Default_Ignorable_Code_Point less the Hangul fillers (U+115F, U+1160,
# U+3164, U+FFA0), U+180F and U+1BCA0-U+1BCA3, which WeasyPrint draws as boxes. Checked
# character by character against WeasyPrint's `.notdef` log (tests/exporters/test_fonts.py).
HIDDEN = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x17B4, 0x17B5),
    (0x180B, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFF0, 0xFFF8),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
# HarfBuzz makes any space out of U+0020, a paragraph separator ends a paragraph, tabs and
# line ends are layout and NUL never reaches the renderer. Other control characters and
# U+2028 (line separator) print as boxes.
NO_GLYPH_CATEGORIES = frozenset({"Zs", "Zp"})
LAYOUT = frozenset("\t\n\r\x00")
ASCII_BOXES = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")

_COVERAGE: dict[str, frozenset[int]] = {}


def coverage(styles: Path) -> frozenset[int]:
    """Every code point some bundled face maps, memoised on the fonts' signature so an
    edited font folder is read again."""
    key = f"{styles.resolve()}|{fonts.signature(styles)}"
    if key not in _COVERAGE:
        _COVERAGE[key] = read_coverage(sorted({face.path for face in fonts.faces(styles)}))
    return _COVERAGE[key]


def read_coverage(paths: Iterable[Path]) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    out: set[int] = set()
    for path in paths:
        with TTFont(path, lazy=True) as font:
            out.update(font.getBestCmap() or {})
    return frozenset(out)


def needs_no_glyph(char: str) -> bool:
    """Shaping shows this character without a glyph from any font."""
    code = ord(char)
    if char in LAYOUT or any(lo <= code <= hi for lo, hi in HIDDEN):
        return True
    return unicodedata.category(char) in NO_GLYPH_CATEGORIES


def drawable(char: str, covered: frozenset[int]) -> bool:
    """A face maps it, it needs no glyph, or HarfBuzz's normaliser can draw it from its
    canonical decomposition (`é` as `e` + U+0301), all of whose parts are drawable."""
    if ord(char) in covered or needs_no_glyph(char):
        return True
    parts = unicodedata.normalize("NFD", char)
    return parts != char and all(drawable(p, covered) for p in parts)


def composes(previous: str, mark: str, covered: frozenset[int]) -> bool:
    """HarfBuzz composes a base and a combining mark into one character that a face maps
    (`e` + U+0301 into `é`), so the mark itself needs no glyph."""
    if not previous or not unicodedata.category(mark).startswith("M"):
        return False
    composed = unicodedata.normalize("NFC", previous + mark)
    return len(composed) == 1 and ord(composed) in covered


def missing(texts: Iterable[str], covered: frozenset[int]) -> tuple[str, ...]:
    """The characters of `texts` no face can draw, each once, in order of appearance.
    ASCII text is skipped at once unless it holds a control character: Fira Sans has
    every printable ASCII character."""
    seen: set[str] = set()
    out: list[str] = []
    for text in texts:
        if text.isascii() and not ASCII_BOXES.search(text):
            continue
        previous = ""
        for char in text:
            if (
                char not in seen
                and not drawable(char, covered)
                and not composes(previous, char, covered)
            ):
                seen.add(char)
                out.append(char)
            previous = char
    return tuple(out)


def shown(fragment: str) -> str:
    """The text of an HTML fragment, parsed only when it could hold a character to check:
    ASCII markup without entities or control characters holds none, and parsing every
    section's HTML would cost more than the check itself."""
    if fragment.isascii() and "&" not in fragment and not ASCII_BOXES.search(fragment):
        return ""
    return plain(fragment)


def note_texts(note: Note) -> Iterator[str]:
    """What a note's part of the sheet prints: its heading line, and each section's title
    and prose with the facts in between (their questions, answers, cloze text and hints,
    and tags)."""
    yield from (note.title, note.deck, note.path, *note.tags)
    for section in note.sections:
        yield from (section.title, shown(section.title_html), *section.tags)
        yield shown(section.body)
    for fact in note.facts:
        # The HTML, not `plain_question`: that collapses whitespace, U+2028 included.
        yield from (shown(fact.question), shown(fact.answer), *fact.tags)
        for segment in fact.text:
            if isinstance(segment, str):
                yield shown(segment)
            else:
                yield from (shown(segment.html), segment.hint)


def missing_by_note(deck: Deck, config: BuildConfig) -> dict[str, tuple[str, ...]]:
    """For each note with any, the characters its sheet would show as boxes (its heading
    line also names the notes folder)."""
    covered = coverage(config.styles)
    store = open_store(config.out)
    # Kept with each note in a warm process; `covered` is one object per set of fonts.
    kind = f"glyphs|{id(covered)}|{config.source_name}"

    def of(note: Note) -> tuple[str, ...]:
        return missing([config.source_name, *note_texts(note)], covered)

    found = {n.path: store.of_note(kind, n, of) for n in deck.notes}
    return {path: chars for path, chars in found.items() if chars}


def missing_glyph_diagnostics(deck: Deck, config: BuildConfig) -> list[Diagnostic]:
    """A warning per character no bundled font has, from the fonts' cmaps: the same
    warnings the build reports from WeasyPrint's log, without rendering."""
    return glyph_warnings(deck, config, missing_by_note(deck, config))


def glyph_warnings(
    deck: Deck, config: BuildConfig, by_note: Mapping[str, tuple[str, ...]]
) -> list[Diagnostic]:
    """A warning for the characters no bundled font can draw, at the first fact that has
    them (else at the top of the note), all of one place in one warning: a note in a
    script no font has is one warning, not one per letter. Shared by the cmap check and
    by the build, which finds its characters in WeasyPrint's log, so both word and place
    a warning alike."""
    out = []
    for note in deck.notes:
        places: dict[tuple[int, int], list[str]] = {}
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
            places.setdefault((fact.line, fact.col) if fact else (1, 1), []).append(char)
        for (line, col), chars in sorted(places.items()):
            out.append(
                warning(
                    display_path(config.notes / note.path),
                    line,
                    col,
                    missing_message(chars),
                    "use other characters, or add a font that has them to styles/fonts/",
                )
            )
    return out


SHOWN_CHARACTERS = 8


def missing_message(chars: list[str]) -> str:
    """In code point order, so the build (from WeasyPrint's log) and `check` (from the
    fonts' cmaps) word the same characters the same way."""
    chars = sorted(set(chars))
    if len(chars) == 1:
        return f"no bundled font has '{chars[0]}' (U+{ord(chars[0]):04X}); the sheet shows a box"
    shown = ", ".join(f"'{c}' (U+{ord(c):04X})" for c in chars[:SHOWN_CHARACTERS])
    more = f" and {len(chars) - SHOWN_CHARACTERS} more" if len(chars) > SHOWN_CHARACTERS else ""
    return f"no bundled font has {shown}{more} ({len(chars)} characters); the sheet shows boxes"
