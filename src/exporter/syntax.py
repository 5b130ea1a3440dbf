"""The fact syntax as a Python-Markdown extension, and `parse_note`, which turns one source
into a model `Note` plus its diagnostics.

Markdown decides what is code, what is escaped and what is a list item; this extension
only reads the tree Markdown builds. The stages, in Markdown's own order:

1. a preprocessor keeps the original lines (so facts can name their line);
2. before inline parsing, a tree pass records each block's line while its text is raw;
3. inline processors turn `{{clozes}}`, `#tags` and `^anchors` into marker elements,
   after code spans and backslash escapes have claimed their text;
4. a tree pass splits each fact at its `::`/`:::` and records what it found;
5. after unescaping, `parse_note` cuts the tree into sections and serialises it.
"""

from __future__ import annotations

import hashlib
import html
import re
import xml.etree.ElementTree as etree
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import markdown
import nh3
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import STX, AtomicString

from . import bounded
from .diagnostics import Diagnostic, error, warning
from .model import Cloze, Fact, Kind, Media, Note, Section, Segment, content_digest
from .sources import Source, deck_problem

HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
BLOCKS = {"p", "ul", "ol", "table", "pre", "blockquote", "div", "hr", "dl"} | HEADINGS
ANSWER_BLOCKS = {"ul", "ol", "table", "pre", "blockquote", "div", "dl"}
POSITIONED = {"p", "li", "td", "th", "dt", "dd"} | HEADINGS

# A cloze holds no `{{`: a nested one is an error, and without the rule an unclosed `{{`
# makes every later `{{` scan to the end of the line (quadratic). Possessive: linear.
CLOZE_RE = r"\{\{(?P<cloze>(?:[^{}]|\{(?!\{)|\}(?!\}))*+)\}\}"
TAG_RE = r"(?<![^\s(])#(?P<tag>[^\W\d_][\w\-/\u0300-\u036f\u0900-\u0dff]*)"
ANCHOR_RE = r"(?<!\S)\^(?P<anchor>[A-Za-z0-9][A-Za-z0-9-]*)(?![^\s])"
# One inline pattern for all three markers: Markdown tries every pattern on every piece
# of text, so one pass serves all three.
MARKER_RE = f"{CLOZE_RE}|{TAG_RE}|{ANCHOR_RE}"
TRAILING_PUNCT = ".,;:!?"
SLOT = "fact:{}"
TOKEN_RE = re.compile("\ue000(\\d+)\ue001")

SAFE_TAGS = set(nh3.ALLOWED_TAGS) | {"span", "div", "sup", "sub", "mark", "figure", "figcaption"}
SAFE_ATTRIBUTES = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"class", "title", "lang", "dir"},
    "img": {"src", "alt", "title", "width", "height"},
    "a": {"href", "title"},
    "code": {"class"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "ol": {"start"},
}
SAFE_SCHEMES = {"http", "https", "mailto"}


def sanitise(fragment: str, image: Callable[[str], str | None] | None = None) -> str:
    """Raw HTML is allowed in notes, but a shared deck or sheet must not run or fetch
    anything: nh3 keeps the text and drops scripts, handlers and unsafe URLs. `image`
    decides each image's source (a packed media name, or None to drop it)."""

    def attribute(tag: str, name: str, value: str) -> str | None:
        if tag == "img" and name == "src" and image is not None:
            return image(value)
        return value

    return nh3.clean(
        fragment,
        tags=SAFE_TAGS,
        attributes=SAFE_ATTRIBUTES,
        url_schemes=SAFE_SCHEMES,
        strip_comments=False,
        link_rel=None,
        attribute_filter=attribute,
    )


def plain_text(fragment: str) -> str:
    text = html.unescape(nh3.clean(fragment, tags=set()) if "<" in fragment else fragment)
    return " ".join(text.split())


def normalise_tag(tag: str) -> str:
    """`upsc/gs2` is written for people; Anki nests tags with `::`, and drops empty
    levels (`a::::b` is `a::b` to it), so they are dropped here too."""
    return "::".join(p for p in re.split(r"/|::", tag.strip()) if p)


# --------------------------------------------------------------------------- state


@dataclass
class Position:
    line: int
    raw: str


@dataclass
class FactSpec:
    """What the fact pass found, before the tree is serialised."""

    kind: Kind
    tags: tuple[str, ...]
    anchor: str
    line: int
    col: int


@dataclass
class ParseState:
    display: str = ""
    lines: list[str] = field(default_factory=list)
    fenced: set[int] = field(default_factory=set)
    positions: dict[etree.Element, Position] = field(default_factory=dict)
    specs: list[FactSpec] = field(default_factory=list)
    heading_tags: dict[etree.Element, tuple[str, ...]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    root: etree.Element | None = None


# ---------------------------------------------------------------- 1. original lines


class LinePreprocessor(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        state: ParseState = self.md.fact_state
        state.lines = [line.expandtabs(self.md.tab_length) for line in lines]
        state.fenced = fenced_lines(state.lines)
        return lines


def fenced_lines(lines: list[str]) -> set[int]:
    """Indices of the lines inside fenced code (the opening fence itself excluded), so no
    block is mapped into code."""
    inside: set[int] = set()
    fence = ""
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if fence:
            inside.add(i)
            if stripped.startswith(fence) and not stripped[len(fence) :].strip():
                fence = ""
            continue
        m = re.match(r"(`{3,}|~{3,})", stripped)
        if m:
            fence = m.group(1)
    return inside


# ------------------------------------------------------------------ 2. block lines


class LineTreeprocessor(Treeprocessor):
    """Map each text-bearing block to its first source line, in document order."""

    def run(self, root: etree.Element) -> None:
        state: ParseState = self.md.fact_state
        cursor = 0
        for el in root.iter():
            if el.tag not in POSITIONED or not el.text or not el.text.strip():
                continue
            raw = el.text
            first = raw.strip("\n").split("\n")[0].strip()
            if first.startswith(STX):
                continue
            same_line = el.tag in ("td", "th")
            for i in range(cursor, len(state.lines)):
                if i in state.fenced:
                    continue
                line = state.lines[i].rstrip()
                if (first in line) if same_line else line.endswith(first):
                    state.positions[el] = Position(i + 1, raw.strip("\n"))
                    cursor = i if same_line else i + 1 + raw.strip("\n").count("\n")
                    break


# ------------------------------------------------------------------ 3. inline markers


# What each of Markdown's inline patterns (and ours) cannot match without: a text that
# holds none of a pattern's characters cannot match it.
NEEDLES = {
    "backtick": ("`",),
    "escape": ("\\",),
    "fact_markers": ("{{", "#", "^"),
    "reference": ("[",),
    "link": ("[",),
    "image_link": ("![",),
    "image_reference": ("![",),
    "short_reference": ("[",),
    "short_image_ref": ("![",),
    "autolink": ("<",),
    "automail": ("<",),
    "linebreak": ("  \n",),
    "html": ("<",),
    "entity": ("&",),
    "not_strong": ("*", "_"),
    "em_strong": ("*", "_"),
    "em_strong2": ("_",),
    "strong": ("*", "_"),
    "emphasis": ("*", "_"),
}


class PlainTextTreeprocessor(Treeprocessor):
    """Python-Markdown tries every inline pattern on every text, in Python. This pass,
    just before, marks the texts no pattern can match as atomic, so the inline stage
    passes them by, and hands that stage only the patterns some remaining text could
    match. The output is the same: a text lacks a character each skipped pattern needs
    (a pattern `NEEDLES` does not know is always kept, and asked with its own regex).
    Most fact lines and most prose are plain words, and most notes use few kinds of
    markup."""

    def __init__(self, md: markdown.Markdown) -> None:
        super().__init__(md)
        self.pruned: dict[frozenset[str], markdown.util.Registry] = {}

    def run(self, root: etree.Element) -> None:
        patterns = self.md.inlinePatterns
        names = {name: NEEDLES[name] for name in NEEDLES if name in patterns}
        known = {id(patterns[name]) for name in names}
        needles = {n for group in names.values() for n in group}
        others = [p.getCompiledRegExp() for p in patterns if id(p) not in known]
        left: list[str] = []
        for el in root.iter():
            for attr in ("text", "tail"):
                text = getattr(el, attr)
                if not text or isinstance(text, AtomicString):
                    continue
                if any(n in text for n in needles) or any(r.search(text) for r in others):
                    left.append(text)
                else:
                    setattr(el, attr, AtomicString(text))
        joined = "\0".join(left)
        unused = frozenset(
            name for name, group in names.items() if not any(n in joined for n in group)
        )
        registry = self.pruned.get(unused)
        if registry is None:
            registry = self.pruned[unused] = patterns[:]
            for name in unused:
                registry.deregister(name)
        self.md.treeprocessors["inline"].inlinePatterns = registry


class MarkerProcessor(InlineProcessor):
    """Clozes, tags and anchors become marker elements the fact pass reads; code spans
    and backslash escapes have already claimed their text."""

    def handleMatch(self, m: re.Match[str], data: str):
        if m.group("cloze") is not None:
            return cloze(m)
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


def cloze(m: re.Match[str]):
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
    if hint.strip():
        el.set("hint", hint.strip())
    return el, m.start(0), m.end(0)


def marker_error(m: re.Match[str], message: str, hint: str):
    el = etree.Element("x-error")
    el.set("message", message)
    el.set("hint", hint)
    el.set("needle", m.group(0))
    el.text = m.group(0)
    return el, m.start(0), m.end(0)


# ---------------------------------------------------------------- 4. facts in the tree


Node = str | etree.Element


def inline_nodes(el: etree.Element) -> tuple[list[Node], list[etree.Element]]:
    """Split an element's children into its inline content and the blocks after it."""
    nodes: list[Node] = [el.text] if el.text else []
    blocks: list[etree.Element] = []
    for child in el:
        if blocks or child.tag in BLOCKS:
            blocks.append(child)
            continue
        tail, child.tail = child.tail, None
        nodes.append(child)
        if tail:
            nodes.append(tail)
    return nodes, blocks


def set_children(el: etree.Element, nodes: list[Node]) -> None:
    for child in list(el):
        el.remove(child)
    el.text = None
    last: etree.Element | None = None
    for node in nodes:
        if isinstance(node, str):
            if last is None:
                el.text = (el.text or "") + node
            else:
                last.tail = (last.tail or "") + node
        else:
            el.append(node)
            last = node


def wrap(tag: str, nodes: list[Node]) -> etree.Element:
    el = etree.Element(tag)
    set_children(el, nodes)
    return el


def strip_nodes(nodes: list[Node]) -> list[Node]:
    nodes = [n for n in nodes if not (isinstance(n, str) and not n.strip())]
    if nodes and isinstance(nodes[0], str):
        nodes[0] = nodes[0].lstrip()
    if nodes and isinstance(nodes[-1], str):
        nodes[-1] = nodes[-1].rstrip()
    return nodes


def find_markers(el: etree.Element, tag: str) -> list[etree.Element]:
    found = []
    for child in el:
        if child.tag == tag:
            found.append(child)
        if child.tag not in ("code", "pre"):
            found.extend(find_markers(child, tag))
    return found


class FactTreeprocessor(Treeprocessor):
    def run(self, root: etree.Element) -> None:
        self.state: ParseState = self.md.fact_state
        self.walk(root)

    def walk(self, parent: etree.Element, skip: tuple[etree.Element, ...] = ()) -> None:
        children = list(parent)
        taken: list[etree.Element] = list(skip)
        for i, el in enumerate(children):
            if any(el is t for t in taken) or el.tag in ("pre", "code", "x-q", "x-a"):
                continue
            if el.tag in HEADINGS:
                self.heading(el)
            elif el.tag == "p":
                used = self.fact(el, children[i + 1 : i + 2])
                for block in used or []:
                    parent.remove(block)
                    taken.append(block)
            elif el.tag == "li":
                self.list_item(el)
            else:
                self.walk(el)

    def list_item(self, li: etree.Element) -> None:
        """A tight item holds its fact line as text; a loose one as a first paragraph.
        Either way the blocks under the line are its long answer, or are walked."""
        loose = len(li) and not (li.text or "").strip() and li[0].tag == "p"
        holder = li[0] if loose else li
        if loose:
            used = self.fact(holder, list(li)[1:])
            for block in used or []:
                li.remove(block)
        else:
            used = self.fact(li, None)
        if used is None:
            self.walk(li)
            return
        li.set("data-fact", holder.attrib.pop("data-fact"))
        self.walk(li, skip=(holder,))

    def heading(self, h: etree.Element) -> None:
        found = find_markers(h, "x-tag")
        tags = [normalise_tag(marker.get("name", "")) for marker in found]
        remove_markers(h, found)
        unwrap_markers(h, find_markers(h, "x-id"))
        self.report_errors(h)
        self.state.heading_tags[h] = tuple(tags)

    def fact(
        self, holder: etree.Element, following: list[etree.Element] | None
    ) -> list[etree.Element] | None:
        """Turn `holder`'s line into a fact if it is one: `x-q` and `x-a` children and a
        `data-fact` index. `following` are the blocks it may take as a long answer (None:
        the blocks inside holder itself). Returns the blocks taken, or None for prose."""
        nodes, blocks = inline_nodes(holder)
        set_children(holder, nodes + blocks)
        candidates = blocks if following is None else following
        self.report_errors(holder)
        markers = [m for n in nodes if not isinstance(n, str) for m in markers_in(n)]
        clozes = [m for m in markers if m.tag == "x-cloze"]
        tags = [m for m in markers if m.tag == "x-tag"]
        anchors = [m for m in markers if m.tag == "x-id"]
        if find_separator(nodes) is None and not clozes:
            unwrap_markers(holder, tags + anchors)
            return None
        line, col = self.locate(holder, None)
        remove_markers(holder, tags + anchors)
        if len(anchors) > 1:
            self.report(holder, anchors[0].text or "^", "a fact can have one ^id only", "keep one")
        nodes, blocks = inline_nodes(holder)
        sep = find_separator(nodes)
        used: list[etree.Element] = []
        if sep is None:
            kind, question, answer = Kind.CLOZE, strip_nodes(nodes), []
        else:
            before, after = split_nodes(nodes, *sep)
            question, answer = strip_nodes(before), strip_nodes(after)
            if find_separator(answer) is not None:
                line, col = self.locate(holder, None)
                self.state.diagnostics.append(
                    warning(
                        self.state.display,
                        line,
                        col,
                        "this fact has more than one '::' (the rest is part of the answer)",
                        "if these are two facts, separate them with a blank line or make each "
                        "a list item; write \\:: for a literal '::'",
                    )
                )
            kind = Kind.REVERSED if sep[2] == 3 else Kind.BASIC
            problem = None
            if clozes:
                problem = (
                    "{{",
                    "a fact is either 'question :: answer' or a cloze",
                    "remove the '::' or the '{{…}}'",
                )
            elif not question:
                problem = ("::", "empty question before '::'", "write the question first")
            elif not answer and kind is Kind.REVERSED:
                problem = (
                    ":::",
                    "empty answer after ':::'",
                    "a reversed fact needs its answer on the same line",
                )
            elif not answer:
                used = [b for b in candidates if self.is_answer_block(b)]
                if not used:
                    problem = (
                        "::",
                        "a line ending in '::' needs a block under it",
                        "indent a list, table or code block under the line, "
                        "or write the answer after '::'",
                    )
                kind, answer = Kind.LONG, list(used)
            elif is_block_placeholder(answer, self.md):
                kind = Kind.LONG
            if problem:
                set_children(holder, nodes + blocks)
                self.report(holder, *problem)
                return None
        rest = [b for b in blocks if b not in used]
        for block in used:
            if block in blocks:
                holder.remove(block)
        set_children(holder, [wrap("x-q", question), wrap("x-a", answer), *rest])
        holder.set("data-fact", str(len(self.state.specs)))
        tag_names = tuple(normalise_tag(m.get("name", "")) for m in tags)
        anchor = anchors[-1].get("name", "") if anchors else ""
        self.state.specs.append(FactSpec(kind, tag_names, anchor, line, col))
        return [b for b in used if b not in blocks]

    def is_answer_block(self, el: etree.Element) -> bool:
        """A list, table, quote or code block; a fenced block in a loose list item arrives
        as a paragraph holding only its placeholder."""
        if el.tag in ANSWER_BLOCKS:
            return True
        return el.tag == "p" and not len(el) and is_block_placeholder([el.text or ""], self.md)

    def report_errors(self, holder: etree.Element) -> None:
        for marker in find_markers(holder, "x-error"):
            self.report(
                holder, marker.get("needle", ""), marker.get("message", ""), marker.get("hint", "")
            )
            unwrap_marker(holder, marker)
        for text in own_texts(holder):
            if "{{" in text:
                start = text.index("{{")
                snippet = text[start : start + 12].split("\n")[0]
                if find_markers(holder, "x-cloze"):
                    # `{{c1::a::{{c2::b}}}}`: the inner cloze matched, the outer did not.
                    self.report(
                        holder,
                        "{{",
                        f"a cloze inside another cloze or its hint at '{snippet}'",
                        "clozes cannot be nested: close the first with '}}' before the next",
                    )
                else:
                    self.report(holder, "{{", f"unclosed cloze '{snippet}'", "close it with '}}'")
                break

    def locate(self, el: etree.Element, needle: str | None) -> tuple[int, int]:
        pos = self.state.positions.get(el)
        if pos is None:
            return 1, 1
        raw_lines = pos.raw.split("\n")
        offset, index = 0, 0
        if needle:
            found = pos.raw.find(needle)
            if found >= 0:
                offset = pos.raw.count("\n", 0, found)
                index = found - (pos.raw.rfind("\n", 0, found) + 1)
        line_no = pos.line + offset
        src = self.state.lines[line_no - 1] if line_no - 1 < len(self.state.lines) else ""
        raw_line = raw_lines[offset].strip() if offset < len(raw_lines) else ""
        lead = len(raw_lines[offset]) - len(raw_lines[offset].lstrip()) if raw_lines else 0
        base = src.rfind(raw_line) if raw_line else -1
        col = (base if base >= 0 else 0) + max(index - lead, 0) + 1
        return line_no, col

    def report(self, el: etree.Element, needle: str, message: str, hint: str) -> None:
        line, col = self.locate(el, needle)
        self.state.diagnostics.append(error(self.state.display, line, col, message, hint))


def markers_in(el: etree.Element) -> list[etree.Element]:
    """Marker elements at or below an inline node, outside code."""
    if el.tag in ("code", "pre"):
        return []
    own = [el] if el.tag in ("x-cloze", "x-tag", "x-id") else []
    return own + [m for child in el for m in markers_in(child)]


def own_texts(el: etree.Element) -> list[str]:
    """Text that Markdown left as text (not code, not inside markers)."""
    texts = [el.text or ""]
    for child in el:
        if child.tag not in ("code", "pre", "x-cloze", "x-error") and child.tag not in BLOCKS:
            texts.extend(own_texts(child))
        texts.append(child.tail or "")
    return texts


def find_separator(nodes: list[Node]) -> tuple[int, int, int] | None:
    for i, node in enumerate(nodes):
        if isinstance(node, str):
            at = node.find("::")
            if at >= 0:
                width = 3 if node[at : at + 3] == ":::" else 2
                return i, at, width
    return None


def split_nodes(
    nodes: list[Node], idx: int, offset: int, width: int
) -> tuple[list[Node], list[Node]]:
    text = nodes[idx]
    assert isinstance(text, str)
    before = [*nodes[:idx], text[:offset]]
    after = [text[offset + width :], *nodes[idx + 1 :]]
    return before, after


def is_block_placeholder(nodes: list[Node], md: markdown.Markdown) -> bool:
    if len(nodes) != 1 or not isinstance(nodes[0], str):
        return False
    m = re.fullmatch(markdown.util.HTML_PLACEHOLDER_RE.pattern, nodes[0].strip())
    return bool(m) and md.htmlStash.rawHtmlBlocks[int(m.group(1))].lstrip().startswith("<pre")


def parent_of(root: etree.Element, target: etree.Element) -> etree.Element | None:
    for el in root.iter():
        for child in el:
            if child is target:
                return el
    return None


def remove_markers(scope: etree.Element, markers: list[etree.Element]) -> None:
    """Drop markers and keep their tail text in place, without leaving a gap before
    punctuation (`A #tag.` reads `A.`). One pass over each parent, however many markers
    it holds: a line of ten thousand tags must not cost ten thousand passes."""
    doomed = set(markers)
    if not doomed:
        return
    for parent in [el for el in scope.iter() if any(c in doomed for c in el)]:
        kept: list[etree.Element] = []
        text = parent.text or ""
        for child in list(parent):
            if child not in doomed:
                if kept:
                    kept[-1].tail = text
                else:
                    parent.text = text
                kept.append(child)
                text = child.tail or ""
                continue
            tail = child.tail or ""
            if text[-1:].isspace() and (not tail or tail[0].isspace() or tail[0] in TRAILING_PUNCT):
                text = text.rstrip()
            text += tail
        if kept:
            kept[-1].tail = text or None
        else:
            parent.text = text or None
        parent[:] = kept


def remove_marker(scope: etree.Element, marker: etree.Element) -> None:
    remove_markers(scope, [marker])


def unwrap_markers(scope: etree.Element, markers: list[etree.Element]) -> None:
    """Turn markers back into the text they were written as."""
    for marker in markers:
        marker.tail = (marker.text or "") + (marker.tail or "")
        marker.text = None
    remove_markers(scope, markers)


def unwrap_marker(scope: etree.Element, marker: etree.Element) -> None:
    unwrap_markers(scope, [marker])


# ----------------------------------------------------------------------- extension


class FactsExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.registerExtension(self)
        self.md = md
        md.fact_state = ParseState()
        if ":" not in md.ESCAPED_CHARS:
            md.ESCAPED_CHARS.append(":")
        md.preprocessors.register(LinePreprocessor(md), "fact_lines", 35)
        bounded.register(md)
        md.treeprocessors.register(LineTreeprocessor(md), "fact_positions", 25)
        md.inlinePatterns.register(MarkerProcessor(MARKER_RE, md), "fact_markers", 175)
        md.treeprocessors.register(PlainTextTreeprocessor(md), "fact_plain_text", 21)
        md.treeprocessors.register(FactTreeprocessor(md), "facts", 15)
        md.treeprocessors.register(KeepTree(md), "fact_keep", -100)

    def reset(self) -> None:
        """Markdown calls this between documents: each note starts with empty state."""
        self.md.fact_state = ParseState()


class KeepTree(Treeprocessor):
    """Take the finished tree, and give Markdown an empty one: `parse_note` serialises
    the tree in pieces, so the whole-document HTML `convert` would make is never used."""

    def run(self, root: etree.Element) -> etree.Element:
        self.md.fact_state.root = root
        return etree.Element(root.tag)


_MARKDOWN: dict[int, markdown.Markdown] = {}


def markdown_for(tab_length: int) -> markdown.Markdown:
    """One parser per indent width, reset between notes: building one costs about as
    much as parsing a short note."""
    md = _MARKDOWN.get(tab_length)
    if md is None:
        md = _MARKDOWN[tab_length] = make_markdown(tab_length)
    md.reset()
    return md


def make_markdown(tab_length: int) -> markdown.Markdown:
    return markdown.Markdown(
        extensions=[
            "tables",
            "sane_lists",
            "pymdownx.superfences",
            "pymdownx.highlight",
            FactsExtension(),
        ],
        extension_configs={"pymdownx.highlight": {"use_pygments": False}},
        tab_length=tab_length,
        output_format="html",
    )


def list_indent(text: str) -> int:
    """Nested blocks indent by 2 (as the contract writes them) or by 4 spaces; Python-
    Markdown needs to be told which, so the file's smallest indent of a list item or a
    code fence (outside code) decides."""
    lines = text.split("\n")
    fenced = fenced_lines(lines)
    indents = []
    for i, line in enumerate(lines):
        m = re.match(r"([ \t]+)(?:[-*+]|\d+[.)]|`{3,}|~{3,})", line)
        if m and i not in fenced:
            indents.append(len(m.group(1).expandtabs(4)))
    return 2 if indents and min(indents) < 4 else 4


# ------------------------------------------------------------------- 5. collection


@dataclass
class _Collector:
    md: markdown.Markdown
    source: Source
    notes_root: Path
    diagnostics: list[Diagnostic]
    state: ParseState
    media: dict[str, Media] = field(default_factory=dict)

    def serialise(self, el: etree.Element, inner: bool = False) -> str:
        out = self.md.serializer(el)
        if inner:
            start = out.find(">") + 1
            end = out.rfind("</")
            out = out[start:end] if end >= start else ""
        # Markdown's own markup is safe except for the URLs in links and images; only
        # raw HTML (a stash placeholder) or a URL needs the sanitiser.
        needs_cleaning = STX in out or "href=" in out or "src=" in out
        for pp in self.md.postprocessors:
            out = pp.run(out)
        return sanitise(out.strip(), self.image_source) if needs_cleaning else out.strip()

    def image_source(self, src: str) -> str | None:
        """Images written as raw HTML get the same checks as Markdown images."""
        if src in self.media:
            return src
        line = next((i + 1 for i, text in enumerate(self.state.lines) if src in text), 1)
        col = self.state.lines[line - 1].find(src) + 1 if self.state.lines else 1
        return self.resolve_image(src, line, max(col, 1))

    def segments(self, q_el: etree.Element) -> tuple[tuple[Segment, ...], str]:
        clozes: list[tuple[etree.Element, int | None]] = []
        for marker in find_markers(q_el, "x-cloze"):
            explicit = marker.get("ord")
            clozes.append((marker, int(explicit) if explicit else None))
        used = {o for _, o in clozes if o is not None}
        next_ord = 1
        parts: list[Cloze] = []
        for marker, explicit in clozes:
            if explicit is None:
                while next_ord in used:
                    next_ord += 1
                explicit = next_ord
                used.add(explicit)
            parts.append(
                Cloze(explicit, self.serialise(marker, inner=True), marker.get("hint", ""))
            )
            marker.tail = f"\ue000{len(parts) - 1}\ue001" + (marker.tail or "")
            marker.text = None
            remove_marker(q_el, marker)
        joined = self.serialise(q_el, inner=True)
        pieces = TOKEN_RE.split(joined)
        result: list[Segment] = []
        for i, piece in enumerate(pieces):
            if i % 2:
                result.append(parts[int(piece)])
            elif piece:
                result.append(piece)
        shown = "".join(s if isinstance(s, str) else s.html for s in result)
        return tuple(result), shown

    def images(self, root: etree.Element, state: ParseState) -> None:
        parents = {c: p for p in root.iter() for c in p}
        for img in list(root.iter("img")):
            src = img.get("src", "")
            line, col = self.img_position(img, parents, state)
            kept = self.resolve_image(src, line, col)
            if kept is None:
                alt = img.get("alt", "")
                parent = parents[img]
                img.tail = alt + (img.tail or "")
                remove_marker(parent, img)
            else:
                img.set("src", kept)

    def img_position(self, img, parents, state) -> tuple[int, int]:
        el = img
        while el in parents and el not in state.positions:
            el = parents[el]
        pos = state.positions.get(el)
        if pos is None:
            return 1, 1
        src = img.get("src", "")
        for offset, raw_line in enumerate(pos.raw.split("\n")):
            if src and src in raw_line:
                line_no = pos.line + offset
                text = state.lines[line_no - 1]
                return line_no, text.find("](" + src) + 3 if "](" + src in text else 1
        return pos.line, 1

    def resolve_image(self, src: str, line: int, col: int) -> str | None:
        display = self.source.display
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", src) or src.startswith("//"):
            if src.startswith(("http:", "https:", "//")):
                self.diagnostics.append(
                    warning(
                        display,
                        line,
                        col,
                        f"remote image '{src}' is not fetched",
                        "download it into the notes folder and link it relatively",
                    )
                )
            else:
                self.diagnostics.append(
                    error(
                        display,
                        line,
                        col,
                        f"image '{src}' is not a file inside the notes folder",
                        "link images by a path relative to the note",
                    )
                )
            return None
        if not src:
            self.diagnostics.append(
                error(display, line, col, "image without a path", "write ![alt](images/file.png)")
            )
            return None
        rel = PurePosixPath(src.split("#")[0].split("?")[0])
        if rel.is_absolute():
            self.diagnostics.append(
                error(
                    display,
                    line,
                    col,
                    f"image path '{src}' is absolute",
                    "link images by a path relative to the note",
                )
            )
            return None
        target = (self.source.path.parent / rel).resolve()
        root = self.notes_root.resolve()
        if root not in target.parents:
            self.diagnostics.append(
                error(
                    display,
                    line,
                    col,
                    f"image '{src}' is outside the notes folder",
                    "copy it into the notes folder",
                )
            )
            return None
        if not target.is_file():
            self.diagnostics.append(
                error(
                    display,
                    line,
                    col,
                    f"image '{src}' does not exist",
                    "check the file name and its folder",
                )
            )
            return None
        problem = unreadable_image(target)
        if problem:
            self.diagnostics.append(
                warning(
                    display,
                    line,
                    col,
                    f"image '{src}' {problem}; it is left out",
                    "open it in an image editor and save it again as PNG or JPEG",
                )
            )
            return None
        digest = hashlib.sha256(target.read_bytes()).hexdigest()[:12]
        name = f"{digest}-{re.sub(r'[^A-Za-z0-9._-]', '_', target.name)}"
        self.media.setdefault(name, Media(name, str(target)))
        return name


def unreadable_image(path: Path) -> str | None:
    """Why an image cannot be shown, if it cannot: not an image Pillow reads, or one so
    large its pixels would not fit in memory (a decompression bomb). Reads the header
    only: a browser shows an image with a damaged checksum, so a check of the data would
    refuse images people can see. SVG is read by the renderer itself."""
    if path.suffix.lower() == ".svg":
        return None
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path):
                pass  # the header is read, the pixels are not decoded
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return "has more pixels than can safely be decoded"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return "is not an image that can be read"
    return None


def deck_for(source: Source, root_name: str) -> str:
    if source.meta.get("deck"):
        return "::".join(p.strip() for p in str(source.meta["deck"]).split("::") if p.strip())
    parts = PurePosixPath(source.rel).parent.parts
    return "::".join(parts) if parts else root_name


def parse_note(
    source: Source, notes_root: Path, root_name: str = "Notes", source_root: str = "notes"
) -> tuple[Note, list[Diagnostic]]:
    md = markdown_for(list_indent(source.text))
    state: ParseState = md.fact_state
    state.display = source.display
    md.convert(source.text)
    # Markdown skips its tree stages for blank input; an empty note is an empty tree.
    root = state.root if state.root is not None else etree.Element("div")
    diagnostics = list(state.diagnostics)
    collector = _Collector(md, source, notes_root, diagnostics, state)
    collector.images(root, state)

    deck = deck_for(source, root_name)
    if "deck" not in source.meta and (problem := deck_problem(deck)):
        diagnostics.append(
            error(
                source.display,
                1,
                1,
                f"{problem} (the deck comes from the folder path)",
                "move the note into a shallower folder, or give it a 'deck:' in its front matter",
            )
        )
    file_tags = tuple(normalise_tag(t) for t in source.meta.get("tags", []))
    title = str(source.meta.get("title") or "")
    if not title:
        first_h1 = next((el for el in root if el.tag == "h1"), None)
        title = (
            plain_text(collector.serialise(first_h1, inner=True))
            if first_h1 is not None
            else PurePosixPath(source.rel).stem.replace("-", " ").replace("_", " ")
        )

    sections: list[Section] = []
    facts: list[Fact] = []
    stack: list[tuple[int, str, tuple[str, ...]]] = []
    level, heading_html, heading, body = 0, "", "", []

    def close() -> None:
        # Under no heading, the note's title is the context: no card is orphaned.
        path = tuple(h for _, h, _ in stack) or (title,)
        tags = tuple(sorted({t for _, _, ts in stack for t in ts}))
        html_parts = []
        for el in body:
            for fact_el in [e for e in el.iter() if e.get("data-fact") is not None]:
                facts.append(make_fact(fact_el, path, tags, len(sections)))
            html_parts.append(collector.serialise(el))
        if body or heading:
            sections.append(
                Section(
                    level,
                    heading,
                    heading_html,
                    path,
                    tags,
                    "\n".join(p for p in html_parts if p),
                )
            )

    def make_fact(el: etree.Element, path, section_tags, section_index) -> Fact:
        spec = state.specs[int(el.attrib.pop("data-fact"))]
        q_el = next(c for c in el.iter() if c.tag == "x-q")
        a_el = next(c for c in el.iter() if c.tag == "x-a")
        if spec.kind is Kind.CLOZE:
            text, question = collector.segments(q_el)
        else:
            text, question = (), collector.serialise(q_el, inner=True)
        answer = collector.serialise(a_el, inner=True) if len(a_el) or a_el.text else ""
        holder = parent_of(el, q_el)
        holder = el if holder is None else holder
        index = len(facts)
        for child in (q_el, a_el):
            holder.remove(child)
        holder.text = None
        holder.insert(0, etree.Comment(SLOT.format(index)))
        if holder.tag == "p":
            holder.tag = "div"
        el.set("class", "fact-item")
        tags = tuple(sorted(set(file_tags) | set(section_tags) | set(spec.tags)))
        digest = content_digest(spec.kind, question, answer, text, path, source.rel, tags, deck)
        return Fact(
            kind=spec.kind,
            question=question,
            answer=answer,
            text=text,
            plain_question=plain_text(question),
            plain_answer=plain_text(answer),
            tags=tags,
            context=path,
            path=source.rel,
            line=spec.line,
            col=spec.col,
            deck=deck,
            section=section_index,
            index=index,
            anchor=spec.anchor,
            source_root=source_root,
            digest=digest,
        )

    for el in list(root):
        if el.tag in HEADINGS:
            close()
            level = int(el.tag[1])
            heading_html = collector.serialise(el, inner=True)
            heading = plain_text(heading_html)
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, heading, state.heading_tags.get(el, ())))
            body = []
        else:
            body.append(el)
    close()

    note = Note(
        path=source.rel,
        title=title,
        deck=deck,
        tags=file_tags,
        sections=tuple(sections),
        facts=tuple(facts),
        media=tuple(collector.media[k] for k in sorted(collector.media)),
    )
    return note, diagnostics
