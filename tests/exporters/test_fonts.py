"""The bundled fonts for India's scripts, and the cmap-based glyph check.

Sheets are read with poppler's `pdffonts` (which font each page embeds); the cmap check is
held against WeasyPrint's own `.notdef` reports for the same notes, character for
character, since the two must give the same warnings."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from exporter.config import BuildConfig
from exporter.exporters.pdf import fonts, glyphs
from exporter.reading import load

from ..conftest import REPO, copy_fixture, run_build, write_note

# Fixture note (tests/fixtures/scripts/<name>.md) → the family that must draw it.
NOTES = {
    "bengali": "Sheet Bengali",
    "gujarati": "Sheet Gujarati",
    "gurmukhi": "Sheet Gurmukhi",
    "kannada": "Sheet Kannada",
    "malayalam": "Sheet Malayalam",
    "odia": "Sheet Odia",
    "tamil": "Sheet Tamil",
    "telugu": "Sheet Telugu",
    "urdu": "Sheet Arabic",
    "santali": "Sheet Ol Chiki",
    "manipuri": "Sheet Meetei Mayek",
}
ALL_SCRIPTS = """# ভারতের ভাষা

- **বাংলা** :: ਪੰਜਾਬੀ ગુજરાતી ଓଡ଼ିଆ
- **தமிழ்** :: తెలుగు ಕನ್ನಡ മലയാളം
- **اردو** :: ᱚᱞ ᱪᱤᱠᱤ ꯃꯤꯇꯩ ꯃꯌꯦꯛ हिन्दी
"""
# Characters where shaping and the fonts' cmaps could disagree: joiners, variation
# selectors, soft hyphen, odd spaces, combining marks with and without a precomposed form,
# Hangul fillers and U+2028 (which WeasyPrint draws as boxes), a control character, and
# scripts no bundled font has.
EDGES = (
    "# Edges\n\n"
    "Joined 👨\u200d🎓 a\u200cb \u263a\ufe0f soft\u00adhyphen a\u00a0b a\u2003b a\u1680b.\n\n"
    "- Marks cafe\u0301 x\u0301 q\u0323\u0302 :: filler \u3164 and a\u2028b\n"
    "- Control a\x01b :: Hebrew אב and Thai ก\n"
)


def pdffonts(path: Path) -> dict[str, tuple[bool, bool]]:
    """Each embedded font's name without its subset tag → (embedded, subset)."""
    out = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True)
    found: dict[str, tuple[bool, bool]] = {}
    for line in out.stdout.splitlines()[2:]:
        m = re.match(r"(?:[A-Z]{6}\+)?(\S+)\s.*\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+$", line)
        if m:
            found[m.group(1)] = (m.group(2) == "yes", m.group(3) == "yes")
    return found


def pdf_name(family: str) -> str:
    return family.replace(" ", "-")


@pytest.fixture(scope="module")
def scripts_build(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("scripts")
    notes = copy_fixture("scripts", tmp)
    result = run_build(notes, tmp / "dist", formats=("pdf",), strict=True)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert not result.diagnostics, [d.format() for d in result.diagnostics]
    return tmp / "dist"


def test_every_fixture_script_has_a_family():
    assert set(NOTES.values()) == {s.family for s in fonts.SCRIPTS} - {"Sheet Devanagari"}
    assert sorted(p.stem for p in (REPO / "tests/fixtures/scripts").glob("*.md")) == sorted(NOTES)


@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="needs poppler-utils")
@pytest.mark.parametrize("name", sorted(NOTES))
def test_each_script_prints_in_its_own_font_regular_and_bold(scripts_build, name):
    """The note's own sheet embeds a subset of its script's family in both weights (the
    question is bold), so the text was drawn with that font, not boxes."""
    embedded = pdffonts(scripts_build / "sheets" / f"{name}.pdf")
    family = pdf_name(NOTES[name])
    for font in (family, f"{family}-Bold"):
        assert embedded.get(font) == (True, True), (font, embedded)


@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="needs poppler-utils")
def test_the_whole_sheet_embeds_only_bundled_subsets(scripts_build):
    embedded = pdffonts(scripts_build / "scripts.pdf")
    assert all(e and s for e, s in embedded.values()), embedded
    assert all(name.startswith("Sheet-") for name in embedded), embedded
    assert {pdf_name(f) for f in NOTES.values()} <= set(embedded)


def test_script_sheets_stay_small(scripts_build):
    """Only the glyphs used are embedded: a one-note sheet is tens of kilobytes, although
    its script's font file alone is hundreds."""
    for name in NOTES:
        assert (scripts_build / "sheets" / f"{name}.pdf").stat().st_size < 60_000, name


def test_copied_faces_are_static_and_licensed():
    from fontTools.ttLib import TTFont

    styles = REPO / "styles"
    copied = [f for f in fonts.faces(styles) if f.path.parent == styles / "fonts"]
    assert len(copied) == 2 * sum(1 for s in fonts.SCRIPTS if s.stem) + 1
    for face in copied:
        assert face.path.is_file(), face.path
        with TTFont(face.path, lazy=True) as font:
            assert "fvar" not in font, f"{face.path.name} is a variable font"
    licence = (styles / "fonts" / "NotoSans-LICENSE.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence


def test_every_script_family_has_both_weights_and_is_in_both_fallback_lists():
    styles = REPO / "styles"
    css = fonts.font_css(styles)
    declared = {(f.family, f.weight) for f in fonts.faces(styles)}
    for script in fonts.SCRIPTS:
        assert {(script.family, "normal"), (script.family, "bold")} <= declared
        for prop in ("--sheet-sans", "--sheet-mono"):
            value = re.search(rf"{prop}: ([^;]+);", css)
            assert value and f'"{script.family}"' in value.group(1), prop
    sheet = (styles / "sheet.css").read_text(encoding="utf-8")
    assert "var(--sheet-sans)" in sheet and "var(--sheet-mono)" in sheet


def test_fontconfig_lists_only_the_bundled_folders(tmp_path):
    styles = REPO / "styles"
    conf = fonts.write_fontconfig(styles, tmp_path).read_text(encoding="utf-8")
    dirs = set(re.findall(r"<dir>(.*?)</dir>", conf))
    assert dirs == {str(f.parent.resolve()) for f in (face.path for face in fonts.faces(styles))}
    assert str((styles / "fonts").resolve()) in dirs
    assert not any(d.startswith("/usr/share/fonts") for d in dirs)


def test_signature_covers_the_script_faces(tmp_path):
    styles = tmp_path / "styles"
    shutil.copytree(REPO / "styles", styles)
    before = fonts.signature(styles)
    with (styles / "fonts" / "NotoSansOriya-Bold.ttf").open("ab") as f:
        f.write(b"\0\0\0\0")
    assert fonts.signature(styles) != before


# ------------------------------------------------------------------ the cmap check


def cmap_check(notes: Path, out: Path) -> list[str]:
    config = BuildConfig(notes=notes, out=out, formats=("pdf",))
    deck = load(config).deck
    return sorted(d.format() for d in glyphs.missing_glyph_diagnostics(deck, config))


def test_cmap_check_finds_a_character_no_font_has_without_rendering(tmp_path):
    notes = copy_fixture("tofu", tmp_path)
    out = tmp_path / "dist"
    config = BuildConfig(notes=notes, out=out, formats=("pdf",))
    deck = load(config).deck
    (warning,) = glyphs.missing_glyph_diagnostics(deck, config)
    assert warning.path.endswith("tofu/hieroglyph.md") and (warning.line, warning.col) == (4, 3)
    assert warning.message == "no bundled font has '𓀀' (U+13000); the sheet shows a box"
    assert not out.exists()  # nothing was rendered or written


def test_cmap_check_passes_every_script(tmp_path):
    notes = tmp_path / "notes"
    write_note(notes, "all.md", ALL_SCRIPTS)
    assert cmap_check(notes, tmp_path / "dist") == []


def test_cmap_check_places_a_character_outside_facts_at_the_top(tmp_path):
    notes = tmp_path / "notes"
    write_note(notes, "a.md", "# Signs\n\nThe sign 𓀀 is prose.\n\n- A fact :: plain\n")
    (line,) = cmap_check(notes, tmp_path / "dist")
    assert "a.md:1:1: warning: no bundled font has '𓀀' (U+13000)" in line


@pytest.mark.parametrize(
    ("char", "drawable"),
    [
        ("ச", True),
        ("\u200d", True),  # ZWJ: shaping hides it
        ("\ufe0f", True),  # variation selector
        ("\u00ad", True),  # soft hyphen
        ("\u2003", True),  # em space: made from U+0020
        ("é", True),
        ("\u3164", False),  # Hangul filler: WeasyPrint draws a box
        ("\u2028", False),
        ("\x01", False),
        ("𓀀", False),
    ],
)
def test_drawable(char, drawable):
    assert glyphs.drawable(char, glyphs.coverage(REPO / "styles")) is drawable


def test_a_mark_that_composes_needs_no_glyph_of_its_own():
    covered = frozenset(map(ord, "eé"))
    assert glyphs.missing(["cafe\u0301"], covered | frozenset(map(ord, "caf"))) == ()
    assert glyphs.missing(["x\u0301"], covered | {ord("x")}) == ("\u0301",)


def test_coverage_is_read_once():
    styles = REPO / "styles"
    assert glyphs.coverage(styles) is glyphs.coverage(styles)


@pytest.mark.slow
@pytest.mark.parametrize("fixture", ["tofu", "glyphs", "edges"])
def test_cmap_check_agrees_with_weasyprint(tmp_path, fixture):
    """The same warnings as the build reports from WeasyPrint's `.notdef` log."""
    if fixture == "edges":
        notes = tmp_path / "edges"
        write_note(notes, "edges.md", EDGES)
    else:
        notes = copy_fixture(fixture, tmp_path)
    built = run_build(notes, tmp_path / "dist", formats=("pdf",))
    from_log = sorted(d.format() for d in built.diagnostics if "no bundled font" in d.message)
    assert cmap_check(notes, tmp_path / "check") == from_log
    if fixture == "edges":  # the test means something only if some characters are missing
        assert {"U+3164", "U+2028", "U+0001", "U+05D0", "U+0E01"} <= set(
            re.findall(r"U\+[0-9A-F]{4,5}", " ".join(from_log))
        )


def test_a_script_no_font_has_is_one_warning_not_one_per_letter(tmp_path):
    from exporter.config import BuildConfig
    from exporter.reading import examine

    from ..conftest import write_note

    notes = tmp_path / "notes"
    write_note(notes, "kana.md", "# Kana\n\n- Hiragana for a i u e o :: あいうえおかきくけこ\n")
    found = examine(BuildConfig(notes=notes, formats=("pdf",))).diagnostics
    (warned,) = [d for d in found if "no bundled font" in d.message]
    assert warned.line == 3
    assert "(10 characters); the sheet shows boxes" in warned.message
    assert "'あ' (U+3042), 'い' (U+3044)" in warned.message and "and 2 more" in warned.message
