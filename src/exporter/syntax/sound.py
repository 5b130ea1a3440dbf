"""Sounds: `[sound:file.mp3]` (Anki's own syntax), `![label](file.mp3)`, Obsidian's
`![[file.mp3]]` and raw `<audio src="file.mp3">` become one sound mark,
`<x-mark data-kind="sound" data-name="NAME" data-label="LABEL">file.mp3</x-mark>`: NAME is
the packed media name, LABEL the label written or the file's name. A card plays it
(`exporters/marks/anki_sound.py`); the sheet prints a small "🔊 label"
(`exporters/marks/pdf_sound.py`).

The file is found and checked as an image is (`media.MediaFinder.resolve`: inside the
notes folder, no symlink out, a missing file an error at its line, Obsidian's lookup by
name) and packed into the note's media. Here: the inline pattern for `[sound:…]`, which
leaves a mark holding the path as written (`src`) for `MediaFinder` to resolve, and the
raw-HTML `<audio>` rewrite the sanitiser calls.
"""

from __future__ import annotations

import bisect
import html
import re
import xml.etree.ElementTree as etree
from collections.abc import Callable
from pathlib import PurePosixPath
from urllib.parse import unquote

import markdown
from markdown.inlinepatterns import InlineProcessor
from markdown.util import AtomicString

from ..model import MARK_TAG

KIND = "sound"
# The files a Markdown image, an Obsidian embed or `<audio>` plays as a sound.
AUDIO_SUFFIXES = {".mp3", ".ogg", ".wav", ".m4a", ".opus", ".flac"}
# `[sound:path]`: brackets and new lines end the path; possessive, so linear.
SOUND_RE = r"\[sound:(?P<src>[^\[\]\n]++)\]"


def is_audio(src: str) -> bool:
    """Whether a path names an audio file (by its suffix, ignoring `#…` and `?…`)."""
    path = unquote(src.split("#")[0].split("?")[0])
    return PurePosixPath(path).suffix.lower() in AUDIO_SUFFIXES


def label_for(src: str, label: str = "") -> str:
    return label.strip() or PurePosixPath(unquote(src.split("#")[0])).name or src


def pending(src: str, label: str = "") -> etree.Element:
    """A sound mark still holding its path as written (`src`), for `MediaFinder`."""
    el = etree.Element(MARK_TAG)
    el.set("data-kind", KIND)
    el.set("src", src)
    el.set("data-label", label_for(src, label))
    el.text = AtomicString(src)
    return el


def resolved(el: etree.Element, name: str) -> None:
    """`el` (a pending mark, or an `img` of an audio file) as the finished mark."""
    src = el.get("src", "")
    label = label_for(src, el.get("data-label") or el.get("alt") or "")
    tail = el.tail
    el.clear()
    el.tag = MARK_TAG
    el.set("data-kind", KIND)  # first: the model's mark pattern expects it there
    el.set("data-name", name)
    el.set("data-label", label)
    el.text = AtomicString(src)
    el.tail = tail


def mark_html(name: str, label: str, src: str) -> str:
    a = html.escape
    return (
        f'<{MARK_TAG} data-kind="{KIND}" data-name="{a(name)}" data-label="{a(label)}">'
        f"{a(src, quote=False)}</{MARK_TAG}>"
    )


class SoundProcessor(InlineProcessor):
    """`[sound:file.mp3]`: a pending sound mark (any file Anki plays, by its own rule)."""

    # InlineProcessor changes Pattern's handleMatch signature; its stub ignores it too.
    def handleMatch(self, m: re.Match[str], data: str):  # type: ignore[override]
        src = m.group("src").strip()
        if not src:
            return None, None, None
        return pending(src), m.start(0), m.end(0)


def register(md: markdown.Markdown) -> None:
    # Before Obsidian's links (176) and Markdown's (170): `[sound:…]` is not a link.
    md.inlinePatterns.register(SoundProcessor(SOUND_RE, md), "sound", 177)


# ---------------------------------------------------------------- raw `<audio>`

AUDIO_OPEN_RE = re.compile(r"<audio\b(?P<attrs>[^<>]*+)>", re.I)
AUDIO_CLOSE_RE = re.compile(r"</audio\s*>", re.I)
SOURCE_RE = re.compile(r"<source\b(?P<attrs>[^<>]*+)>", re.I)
ATTR_RE = r"""\b{}\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'=<>`]++))"""


def attribute(attrs: str, name: str) -> str | None:
    m = re.search(ATTR_RE.format(name), attrs, re.I)
    if m is None:
        return None
    return html.unescape(next(v for v in m.group("dq", "sq", "bare") if v is not None))


def audio_marks(fragment: str, resolve: Callable[[str], str | None]) -> str:
    """Raw `<audio src="x.mp3">…</audio>` (or with `<source src>` inside) as a sound
    mark, before the sanitiser would drop the element; `resolve` gives the packed name
    (None: not packed, its problem already reported; the label stays as text). One pass:
    each opening tag finds its closing tag by a search over positions found once."""
    closes = [m.span() for m in AUDIO_CLOSE_RE.finditer(fragment)]
    starts = [s for s, _ in closes]
    out: list[str] = []
    at = 0
    for m in AUDIO_OPEN_RE.finditer(fragment):
        if m.start() < at:
            continue
        i = bisect.bisect_left(starts, m.end())
        end = closes[i][1] if i < len(closes) else m.end()
        inner = fragment[m.end() : closes[i][0]] if i < len(closes) else ""
        src = attribute(m.group("attrs"), "src")
        if src is None:
            source = SOURCE_RE.search(inner)
            src = attribute(source.group("attrs"), "src") if source else None
        out.append(fragment[at : m.start()])
        if src:
            label = label_for(src, attribute(m.group("attrs"), "title") or "")
            name = resolve(src)
            out.append(mark_html(name, label, src) if name else html.escape(label, quote=False))
        at = end
    out.append(fragment[at:])
    return "".join(out)
