"""The markers of the fact syntax, written once: clozes, tags and anchors, and the
inline processor that turns them into marker elements for the fact pass."""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree
from collections.abc import Callable

from markdown import treeprocessors, util
from markdown.inlinepatterns import InlineProcessor

# A cloze holds no `{{`: a nested one is an error, and without the rule an unclosed `{{`
# makes every later `{{` scan to the end of the line (quadratic). Possessive: linear.
# A cloze's text neither starts nor ends with a space: `{{ name }}` is a template
# (Jinja, Ansible, Vue, Anki's own) written about in a note, never a cloze.
CLOZE_RE = r"\{\{(?P<cloze>(?!\s)(?:[^{}]|\{(?!\{)|\}(?!\}))*+(?<!\s))\}\}"
TAG_RE = r"(?<![^\s(])#(?P<tag>[^\W\d_][\w\-/\u0300-\u036f\u0900-\u0dff]*)"
# An anchor follows a space; or, as Obsidian reads it, ends its block right after an
# embedded image (`![[map.png]]^id`: the image is an inline placeholder by now).
ANCHOR_RE = (
    r"(?:(?<!\S)|(?<=\x03)(?=\^[A-Za-z0-9-]+\s*$))\^(?P<anchor>[A-Za-z0-9][A-Za-z0-9-]*)(?![^\s])"
)
# One inline pattern for all three markers: Markdown tries every pattern on every piece
# of text, so one pass serves all three.
MARKER_RE = f"{CLOZE_RE}|{TAG_RE}|{ANCHOR_RE}"
TRAILING_PUNCT = ".,;:!?"
TOKEN_RE = re.compile("\ue000(\\d+)\ue001")
# A backslash escape in the inline stage: the character's code point between STX and ETX.
ESCAPED_RE = re.compile(f"{util.STX}(\\d+){util.ETX}")


def normalise_tag(tag: str) -> str:
    """`upsc/gs2` is written for people; Anki nests tags with `::`, and drops empty
    levels (`a::::b` is `a::b` to it), so they are dropped here too."""
    return "::".join(p for p in re.split(r"/|::", tag.strip()) if p)


class MarkerProcessor(InlineProcessor):
    """Clozes, tags and anchors become marker elements the fact pass reads; code spans
    and backslash escapes have already claimed their text."""

    # InlineProcessor changes Pattern's handleMatch signature; its stub ignores it too.
    def handleMatch(self, m: re.Match[str], data: str):  # type: ignore[override]
        if m.group("cloze") is not None:
            return cloze(m, self.hint_text)
        if m.group("tag") is not None:
            tag = m.group("tag").rstrip(TRAILING_PUNCT + "/")
            el = etree.Element("x-tag")
            el.set("name", tag)
            el.text = "#" + tag
            return el, m.start(0), m.start(0) + 1 + len(tag)
        el = etree.Element("x-id")
        el.set("name", m.group("anchor"))
        el.text = m.group(0)
        return el, m.start(0), m.end(0)

    def hint_text(self, raw: str) -> str:
        """A hint is plain text from the note: an attribute, which Markdown never
        resolves. Code spans and escapes claimed their text before this pattern ran, so
        their placeholders are put back as the characters written (a code span as its
        text); nothing of Markdown's own (`klzzwxh:`) may reach a card or the sheet."""
        inline = self.md.treeprocessors["inline"]
        assert isinstance(inline, treeprocessors.InlineProcessor)  # Markdown's own
        stash = inline.stashed_nodes

        def stashed(m: re.Match[str]) -> str:
            value = stash.get(m.group(1))
            if value is None:
                return ""
            return value if isinstance(value, str) else "".join(value.itertext())

        text = util.INLINE_PLACEHOLDER_RE.sub(stashed, raw)
        text = ESCAPED_RE.sub(lambda e: chr(int(e.group(1))), text)
        return " ".join(text.replace(util.STX, "").replace(util.ETX, "").split())


def cloze(m: re.Match[str], hint_text: Callable[[str], str] = str.strip):
    inner = m.group("cloze")
    el = etree.Element("x-cloze")
    explicit = re.fullmatch(r"c(\d+)::(.*)", inner, re.S)
    if explicit:
        ordinal, inner = explicit.group(1), explicit.group(2)
        if int(ordinal) == 0:
            return marker_error(m, "cloze number must start at c1", "write {{c1::…}}")
        el.set("ord", str(int(ordinal)))
    elif re.match(r"c\d*:(?!:)|c\d+:", inner):
        return marker_error(m, f"malformed cloze '{m.group(0)}'", "write {{c1::answer}}")
    text, _, hint = inner.partition("::")
    if not text.strip():
        return marker_error(m, f"empty cloze '{m.group(0)}'", "put the hidden text inside")
    el.text = text
    hint = hint_text(hint)
    if hint:
        el.set("hint", hint)
    return el, m.start(0), m.end(0)


def marker_error(m: re.Match[str], message: str, hint: str):
    el = etree.Element("x-error")
    el.set("message", message)
    el.set("hint", hint)
    el.set("needle", m.group(0))
    el.text = m.group(0)
    return el, m.start(0), m.end(0)
