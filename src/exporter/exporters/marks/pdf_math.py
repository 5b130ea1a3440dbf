"""A formula on the sheet: typeset at build time to SVG with ziamath (pure Python, its
own OpenType math font, STIX Two Math), embedded as an `<img>` with a `data:` URI. Inline
formulas sit on the text baseline (the drawing's depth below it becomes its
`vertical-align`), sized in `em` so they follow the text around them; display formulas
are centred on a line of their own.

A formula ziamath cannot read prints as its source in monospace; `problems` finds those
for the PDF exporter's `check`, so `build` and `check` both warn at its line. So does one
that would take ziamath too long: it lays out each row of a formula twice (once to learn
how tall its brackets must stretch), so its time doubles with every level of nesting
(`\\frac` in `\\frac`…); `work` counts the layouts before any is done. Drawings are kept
by their source: in this process, and in the store's `math` area, staged only by a build
that writes the sheet (never by `check` or a dry run).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import warnings
import xml.etree.ElementTree as etree
from collections.abc import Iterator
from typing import Any

from ...config import BuildConfig
from ...diagnostics import Diagnostic, warning
from ...model import Deck, Mark, Note, render_marks
from ...sources import display_path
from ...store import Area, open_store

# The size ziamath draws at; the drawing is then scaled to the text by `em`.
SIZE = 20.0
VIEWBOX_RE = re.compile(r'viewBox="([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+)"')
# latex2mathml keeps a command it does not know as an identifier: `<mi>\foo</mi>`.
UNKNOWN_RE = re.compile(r">(\\[A-Za-z]+)<")
# A deletion, its hint and a self-test's blank, as the sheet's cloze macro writes them
# inside a formula: drawn in TeX instead.
CLOZE_RE = re.compile(r'<span class="cloze">(.*?)</span>', re.S)
HINT_RE = re.compile(r'<span class="hint">\((.*?)\)</span>', re.S)
BLANK_RE = re.compile(r'<span class="blank"[^>]*></span>')
VERSION = "1"
# The store's area for drawings (the sheet's `Renderer` hands it to `render`).
AREA = "math"
# The node layouts ziamath may do for one formula (a few tenths of a millisecond each):
# about a second. `\frac` nested 7 deep takes some 3,000, 8 deep over 6,000.
MAX_WORK = 5_000
# MathML elements ziamath lays out once each; a row (`mrow`, and the elements it treats as
# one) lays out what is in it twice; `mfenced` lays out its row twice. `mstyle` is merged
# into its children first.
ONCE = frozenset(
    {"mi", "mn", "mo", "mtext", "ms", "mspace", "mglyph", "mfrac", "msub", "msup", "msubsup"}
    | {"munder", "mover", "munderover", "mroot", "mtable", "mtr", "mmultiscripts", "mprescripts"}
)

_DRAWN: dict[str, dict[str, Any] | str] = {}


def tex(source: str) -> str:
    """The TeX of a mark's source on the sheet: a deletion inside a formula is drawn
    boxed, its hint after it as text, a self-test's blank as an empty box."""
    if "<span" not in source:
        return source
    source = CLOZE_RE.sub(lambda m: f"\\boxed{{{m.group(1)}}}", source)
    source = HINT_RE.sub(lambda m: f"\\text{{ ({m.group(1)})}}", source)
    return BLANK_RE.sub(r"\\boxed{\\phantom{MM}}", source)


def draw(
    source: str, display: str = "inline", cache: Area | None = None, keep: bool = True
) -> dict[str, Any] | str:
    """The drawing of one formula (SVG and its size in em), or why it cannot be drawn.
    A drawing is read from the store's `cache` area when there, and staged in it only
    with `keep`."""
    key = hashlib.sha256(f"{VERSION}|{display}|{source}".encode()).hexdigest()
    name = f"{key}.json"
    found = _DRAWN.get(key)
    if found is None and cache is not None:
        found = cache.get(name, json.loads)
    if found is None:
        found = _typeset(source, display)
    _DRAWN[key] = found
    if keep and cache is not None and isinstance(found, dict) and not cache.exists(name):
        cache.put(name, json.dumps(found).encode(), found)
    return found


def work(mathml: str) -> tuple[int, int]:
    """How many node layouts ziamath would do to draw this MathML, and how many elements
    it has: counted without recursion, so any depth is safe to ask about."""
    layouts = elements = 0
    stack = [(etree.fromstring(mathml), 1)]
    while stack:
        el, times = stack.pop()
        tag = el.tag.rpartition("}")[2]
        if tag == "mstyle":
            stack.extend((child, times) for child in el)
            continue
        layouts += times
        elements += 1
        if tag in ("msqrt", "menclose"):  # more than one child: laid out as a row
            each = 1 if len(el) == 1 else 2
        elif tag == "mfenced":
            each = 4
        else:
            each = 1 if tag in ONCE else 2
        stack.extend((child, times * each) for child in el)
    return layouts, elements


def _typeset(source: str, display: str) -> dict[str, Any] | str:
    import latex2mathml.converter
    import ziamath
    from ziamath.tex import tex2mml

    if not source.strip():
        return "the formula is empty"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mathml = latex2mathml.converter.convert(source)
            unknown = UNKNOWN_RE.search(mathml)
            if unknown:
                return f"unknown command {unknown.group(1)}"
            layouts, elements = work(tex2mml(source, inline=display != "block"))
            if layouts > MAX_WORK:
                return "too deeply nested" if layouts > 8 * elements else "too long"
            svg = ziamath.Latex(source, size=SIZE, inline=display != "block").svg()
    except Exception as exc:  # latex2mathml and ziamath raise many kinds
        detail = str(exc).strip()
        return f"cannot typeset ({type(exc).__name__}{': ' + detail if detail else ''})"
    m = VIEWBOX_RE.search(svg)
    if m is None:
        return "cannot typeset (no size)"
    _, top, width, height = (float(v) for v in m.groups())
    return {
        "svg": base64.b64encode(svg.encode()).decode("ascii"),
        "width": round(width / SIZE, 3),
        "height": round(height / SIZE, 3),
        "depth": round((top + height) / SIZE, 3),
    }


def render(mark: Mark, cache: Area | None = None, **context: Any) -> str:
    display = "block" if mark.attrs.get("display") == "block" else "inline"
    source = tex(mark.source)
    drawn = draw(source, display, cache)
    if isinstance(drawn, str):
        return f'<code class="math-source">{html.escape(mark.source)}</code>'
    style = f"width: {drawn['width']}em; height: {drawn['height']}em"
    if display == "inline":
        style += f"; vertical-align: {-drawn['depth']}em"
    img = (
        f'<img class="math math-{display}" alt="{html.escape(source)}" style="{style}" '
        f'src="data:image/svg+xml;base64,{drawn["svg"]}">'
    )
    return f'<span class="math-display">{img}</span>' if display == "block" else img


def formulas(note: Note) -> Iterator[tuple[str, str]]:
    """Every formula of a note as the sheet prints it: (source, display), each once."""
    fragments = [s.body for s in note.sections] + [s.title_html for s in note.sections]
    for fact in note.facts:
        fragments += [fact.question, fact.answer]
        fragments.append("".join(s if isinstance(s, str) else s.html for s in fact.text))
    found: dict[tuple[str, str], None] = {}

    def collect(mark: Mark) -> str:
        if mark.kind == "math":
            display = "block" if mark.attrs.get("display") == "block" else "inline"
            found.setdefault((mark.source, display))
        return ""

    for fragment in fragments:
        render_marks(fragment, collect)
    yield from found


def problems(note: Note, cache: Area | None = None) -> Iterator[tuple[str, str]]:
    """Each formula of a note the sheet cannot draw: (its source, why). Drawings are read
    from `cache` but not written: this runs for `check` and dry runs too."""
    for source, display in formulas(note):
        drawn = draw(source, display, cache, keep=False)
        if isinstance(drawn, str):
            yield source, drawn


def diagnostics(deck: Deck, config: BuildConfig) -> list[Diagnostic]:
    """A warning at each formula the sheet prints as its source. The model keeps no
    position for a formula, so its place is found in the note's text: the first place
    that source stands after a math delimiter (else the fact holding it, else line 1)."""
    store = open_store(config.out)
    cache = store.area(AREA)
    out = []
    for note in deck.notes:
        # Kept with the note in a warm process: finding its formulas reads all its HTML.
        bad = store.of_note("math problems", note, lambda n: list(problems(n, cache)))
        if not bad:
            continue
        path = config.notes / note.path
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeError):
            text = ""
        for source, why in bad:
            line, col = locate(text, source, note)
            out.append(
                warning(
                    display_path(path),
                    line,
                    col,
                    f"the formula '{shorten(source)}' cannot be drawn ({why}); "
                    "the sheet prints its source",
                    "check its TeX; cards show it with MathJax, which may still read it",
                )
            )
    return out


def locate(text: str, source: str, note: Note) -> tuple[int, int]:
    at = text.find(source) if source else -1
    if at < 0:
        fact = next((f for f in note.facts if source in f.question + f.answer), None)
        return (fact.line, fact.col) if fact else (1, 1)
    for opening in ("$$", "\\(", "\\[", "$"):
        if text.startswith(opening, at - len(opening)):
            at -= len(opening)
            break
    line_start = text.rfind("\n", 0, at) + 1
    return text.count("\n", 0, at) + 1, at - line_start + 1


def shorten(source: str, limit: int = 40) -> str:
    flat = " ".join(source.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
