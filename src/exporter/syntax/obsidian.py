"""Obsidian's Markdown, as Obsidian users write it: callouts, `%%` comments, wikilinks and
embeds, highlights, strikethrough, task lists and footnotes.

Python-Markdown stays the parser. Highlights (`pymdownx.mark`), strikethrough
(`pymdownx.tilde`, its `~sub~` off: Obsidian has none) and footnotes (Python-Markdown's
own) are well-kept extensions; Obsidian's own forms, which no extension reads the way
Obsidian does, are the small processors below:

- `CommentPreprocessor`: `%% … %%` never reaches a card or the sheet; the lines stay, so
  every later line number is still the file's;
- `CalloutProcessor`: `> [!type]± Title` becomes a titled box; its body is parsed like any
  other, so a fact inside is a card and the title never joins a fact;
- `WikilinkProcessor`: `[[note|alias]]` is text, `![[image.png|200]]` an image that
  `media.MediaFinder` finds the way Obsidian finds attachments, `![[note#heading]]` an
  embed mark that `embeds.py` fills with the other note's part;
- `TaskTreeprocessor`: `- [ ]` and `- [x]` become a drawn box (the bundled fonts have no
  ☐), never part of a fact's question;
- `FootnoteTreeprocessor`: footnotes are never facts, print at the note's end, and a fact
  that cites one carries its text under the answer.
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as etree
from pathlib import PurePosixPath

import markdown
from markdown.blockprocessors import BlockProcessor
from markdown.extensions import Extension
from markdown.extensions.footnotes import NBSP_PLACEHOLDER
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import ETX, STX, AtomicString

from ..diagnostics import warning
from ..model import EMBED_KIND, MARK_TAG
from .sound import AUDIO_SUFFIXES
from .state import STATE_ATTRIBUTE
from .tree import find_markers, unwrap_markers

# The image types Obsidian embeds as images; any other embed is a link to a note or file.
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".svg", ".webp", ".avif"}
# An embedded audio file is an image element too, until `media.MediaFinder` makes it a
# sound mark (syntax/sound.py).
EMBEDDED_SUFFIXES = IMAGE_SUFFIXES | AUDIO_SUFFIXES
# `|200` or `|200x100` after an embedded image's name, or after a Markdown image's alt.
SIZE_RE = re.compile(r"(?P<width>\d{1,5})(?:x(?P<height>\d{1,5}))?")
MARKERS = ("x-cloze", "x-tag", "x-id", "x-error")


class ObsidianExtension(Extension):
    """Everything Obsidian adds to Markdown, registered in Markdown's own stage order."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.registerExtension(self)
        md.registerExtensions(
            ["pymdownx.mark", "pymdownx.tilde", "footnotes"],
            {"pymdownx.tilde": {"subscript": False}},
        )
        # Before `fact_lines` (35) keeps the lines: the kept lines are the ones parsed.
        md.preprocessors.register(CommentPreprocessor(md), "obsidian_comments", 40)
        # Before the block quote (20) would take the callout as a plain quote.
        md.parser.blockprocessors.register(CalloutProcessor(md.parser), "obsidian_callout", 21)
        # Before the fact markers (175) and links (170): a `#heading` or `[` inside a
        # wikilink belongs to the wikilink.
        md.inlinePatterns.register(WikilinkProcessor(WIKILINK_RE, md), "obsidian_links", 176)
        # After `fact_positions` (25) has read each item's first line, before inline (20).
        md.treeprocessors.register(TaskTreeprocessor(md), "obsidian_tasks", 22)
        # After inline (20) made the marks, before the fact pass (15) reads paragraphs.
        md.treeprocessors.register(EmbedTreeprocessor(md), "obsidian_embeds", 19)
        # Around the fact pass (15): footnotes out before it, back (and onto facts) after.
        footnotes = FootnoteTreeprocessor(md)
        md.treeprocessors.register(footnotes.Aside(md, footnotes), "obsidian_footnotes_out", 16)
        md.treeprocessors.register(footnotes, "obsidian_footnotes_in", 14)
        md.treeprocessors.register(CalloutTitleTreeprocessor(md), "obsidian_callout_titles", 17)


# ---------------------------------------------------------------- comments


class CommentPreprocessor(Preprocessor):
    """`%% … %%`, on one line or over many, is blanked: the text goes, the lines stay.
    `%%` inside code (a fenced block or a code span) is code, as in Obsidian. A comment
    that is never closed hides the rest of the note, as in Obsidian, with a warning."""

    def run(self, lines: list[str]) -> list[str]:
        if not any("%%" in line for line in lines):
            return lines
        out: list[str] = []
        opened: int | None = None  # the line a still-open comment started on
        fence = ""
        for number, line in enumerate(lines, 1):
            if opened is None and (fence or FENCE_RE.match(line)):
                fence = fence_state(line, fence)
                out.append(line)
                continue
            kept, still_open = strip_comments(line, opened is not None)
            if still_open and opened is None:
                opened = number
            elif not still_open:
                opened = None
            out.append(kept.rstrip() if kept != line else line)
        if opened is not None:
            state = getattr(self.md, STATE_ATTRIBUTE, None)
            if state is not None:
                state.diagnostics.append(
                    warning(
                        state.display,
                        opened,
                        lines[opened - 1].find("%%") + 1,
                        "'%%' comment is never closed: the rest of the note is hidden",
                        "close the comment with '%%'",
                    )
                )
        return out


# A fence, also inside a quote or a callout (`> ```…`).
FENCE_RE = re.compile(r"[ \t]*(?:>[ \t]?)*+[ \t]*(`{3,}|~{3,})")
QUOTED_RE = re.compile(r"[ \t]*(?:>[ \t]?)*+")
# A run of backticks or a `%%`: the tokens a comment line is read by.
TOKEN_RE = re.compile(r"`++|%%")


def fence_state(line: str, fence: str) -> str:
    """The fence open after `line`: a fence closes on a line of its own characters."""
    quoted = QUOTED_RE.match(line)
    assert quoted is not None  # it matches an empty prefix too
    stripped = line[quoted.end() :].strip()
    if fence:
        closes = stripped.startswith(fence) and not stripped[len(fence) :].strip()
        return "" if closes else fence
    m = FENCE_RE.match(line)
    return m.group(1) if m else ""


def strip_comments(line: str, inside: bool) -> tuple[str, bool]:
    """The line without its comments, and whether a comment is still open at its end.
    Each token is visited once, and each backtick run finds its closing run through a
    table built in one pass from the end: linear however many runs a line holds."""
    tokens = [(m.start(), m.group(0)) for m in TOKEN_RE.finditer(line)]
    closing: dict[int, int] = {}  # token index -> index of the next run of the same length
    later: dict[int, int] = {}
    for i in range(len(tokens) - 1, -1, -1):
        text = tokens[i][1]
        if text[0] == "`":
            if len(text) in later:
                closing[i] = later[len(text)]
            later[len(text)] = i
    kept: list[str] = []
    start = 0  # where the kept text (outside) or the comment (inside) began
    i = 0
    while i < len(tokens):
        at, text = tokens[i]
        if inside:
            if text == "%%":
                inside = False
                start = at + 2
        elif text == "%%":
            kept.append(line[start:at])
            inside = True
        elif i in closing:
            i = closing[i]  # a code span: its `%%` is code
        i += 1
    if not inside:
        kept.append(line[start:])
    return "".join(kept), inside


# ---------------------------------------------------------------- callouts

# The first line of a callout: `> [!type]`, a fold sign, the title. Two spaces or a
# tab before `>` are allowed, as for any quote.
CALLOUT_RE = re.compile(r"(?:^|\n)[ ]{0,3}>[ ]?\[!(?P<type>[^\]\n]+)\](?P<fold>[+-]?)(?P<title>.*)")
QUOTE_LINE_RE = re.compile(r"[ ]{0,3}>[ ]?(.*)")


class CalloutProcessor(BlockProcessor):
    """`> [!note] Title` becomes `<div class="callout callout-note">` holding a
    `<div class="callout-title">` and the body, parsed as any blocks are. A `[!…]` line in
    the middle of a quote is quote text, as Obsidian reads it."""

    def test(self, parent: etree.Element, block: str) -> bool:
        m = CALLOUT_RE.search(block)
        if m is None:
            return False
        before = block[: m.start()].split("\n")[-1] if m.start() else ""
        return not QUOTE_LINE_RE.match(before)

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        block = blocks.pop(0)
        m = CALLOUT_RE.search(block)
        assert m is not None
        before = block[: m.start()]
        if before.strip():
            self.parser.parseBlocks(parent, [before])
        kind = re.sub(r"[^a-z0-9_-]+", "-", m.group("type").strip().lower()).strip("-")
        kind = kind or "note"
        box = etree.SubElement(parent, "div")
        classes = ["callout", f"callout-{kind}"]
        if m.group("fold"):
            classes.append("callout-foldable")
        box.set("class", " ".join(classes))
        title = etree.SubElement(box, "div")
        title.set("class", "callout-title")
        written = m.group("type").strip()
        title.text = m.group("title").strip() or written[:1].upper() + written[1:].lower()
        rest = block[m.end() :].lstrip("\n").split("\n") if block[m.end() :].strip() else []
        body = "\n".join(unquote(line) for line in rest)
        self.parser.state.set("blockquote")
        self.parser.parseChunk(box, body)
        self.parser.state.reset()


def unquote(line: str) -> str:
    """A quote line without its `>`; a lazy continuation line stays as it is."""
    m = QUOTE_LINE_RE.match(line)
    return m.group(1) if m else line


class CalloutTitleTreeprocessor(Treeprocessor):
    """A callout's title is a label, never a fact: a `#tag`, `^id` or `{{…}}` in it is
    shown as the text it was written as (after inline (20), before the fact pass)."""

    def run(self, root: etree.Element) -> None:
        for el in root.iter("div"):
            if el.get("class") == "callout-title":
                unwrap_markers(el, [m for tag in MARKERS for m in find_markers(el, tag)])


# ---------------------------------------------------------------- wikilinks and embeds

# `[[target#heading|label]]`, `![[…]]` to embed. Brackets and new lines end every part,
# and every quantifier is possessive: a scan stops at the next bracket, so no text is
# scanned twice however many `[[` a line holds.
WIKILINK_RE = r"(?P<embed>!?)\[\[(?P<target>[^\[\]|\n]++)(?:\|(?P<label>[^\[\]\n]*+))?\]\]"


# A character escaped with a backslash, as Markdown's escape pattern stashes it.
ESCAPED_RE = re.compile(f"{STX}(\\d+){ETX}")


class WikilinkProcessor(InlineProcessor):
    """`[[note]]`, `[[note|alias]]`, `[[note#heading]]`: the alias, else the note's name
    (and ` › heading`), as text: each note is rendered alone, so the sheet cannot link
    across notes. `![[image.png|200]]`: an image, 200 px wide, its name resolved like any
    image by `media.MediaFinder`. `![[note]]`, `![[note#heading]]`, `![[note#^block]]`:
    an embed mark, the link's text inside it, for `embeds.expand` to fill across notes."""

    # InlineProcessor changes Pattern's handleMatch signature; its stub ignores it too.
    def handleMatch(self, m: re.Match[str], data: str):  # type: ignore[override]
        target = ESCAPED_RE.sub(lambda e: chr(int(e.group(1))), self.unescape(m.group("target")))
        label = (m.group("label") or "").strip()
        if "|" in target:  # `\|`: a table cell's way to write the bar
            target, _, inner = target.partition("|")
            label = label or inner.strip()
        target = target.strip()
        path, _, heading = target.partition("#")
        path = path.strip()
        suffix = PurePosixPath(path).suffix.lower()
        if m.group("embed") and suffix in EMBEDDED_SUFFIXES:
            sound = suffix in AUDIO_SUFFIXES
            el = image(path, label or (PurePosixPath(path).name if sound else ""))
            return el, m.start(0), m.end(0)
        shown = label or link_text(path, heading.strip())
        if not shown:
            return None, None, None
        if m.group("embed") and (path or heading.strip()):
            fragment = heading.strip()
            state = getattr(self.md, STATE_ATTRIBUTE, None)
            if state is not None:
                state.embeds.append((path, fragment, m.group(0)))
            mark = etree.Element(MARK_TAG)
            mark.set("data-kind", EMBED_KIND)
            mark.set("data-name", path)
            mark.set("data-label", fragment)
            mark.text = AtomicString(link_text(path, fragment))
            return mark, m.start(0), m.end(0)
        el = etree.Element("span")
        el.set("class", "wikilink")
        el.text = AtomicString(shown)
        return el, m.start(0), m.end(0)


class EmbedTreeprocessor(Treeprocessor):
    """A paragraph that holds an embed alone becomes a `div`: the embed is filled with
    blocks (headings, lists), which a paragraph cannot hold."""

    def run(self, root: etree.Element) -> None:
        for p in root.iter("p"):
            if (
                len(p) == 1
                and p[0].tag == MARK_TAG
                and p[0].get("data-kind") == EMBED_KIND
                and not (p.text or "").strip()
                and not (p[0].tail or "").strip()
            ):
                p.tag = "div"


def image(path: str, label: str) -> etree.Element:
    el = etree.Element("img")
    el.set("src", path)
    size = SIZE_RE.fullmatch(label)
    if size:
        el.set("alt", PurePosixPath(path).stem)
        set_size(el, size)
    else:
        el.set("alt", label or PurePosixPath(path).stem)
    return el


def set_size(img: etree.Element, size: re.Match[str]) -> None:
    img.set("width", size.group("width"))
    if size.group("height"):
        img.set("height", size.group("height"))


def link_text(path: str, heading: str) -> str:
    """What Obsidian shows for a link without an alias: the note's name, and the heading
    it points to (a block reference, `#^id`, shows the name alone)."""
    name = PurePosixPath(path).name if path else ""
    if name.lower().endswith(".md"):
        name = name[:-3]
    if heading.startswith("^"):
        heading = ""
    heading = " › ".join(h.strip() for h in heading.split("#") if h.strip())
    if name and heading:
        return f"{name} › {heading}"
    return name or heading


def sized_alt(img: etree.Element) -> None:
    """`![alt|200](x.png)`, Obsidian's size in a Markdown image's alt: the size becomes
    the image's width (and height), the alt keeps the words."""
    alt, bar, size = (img.get("alt") or "").rpartition("|")
    m = SIZE_RE.fullmatch(size.strip()) if bar else None
    if m:
        img.set("alt", alt.strip())
        set_size(img, m)


# ---------------------------------------------------------------- task lists

TASK_RE = re.compile(r"\[(?P<state>[ xX])\][ \t]+")


class TaskTreeprocessor(Treeprocessor):
    """`- [ ] to do` and `- [x] done`: the item gets a drawn box (a `span`, so it needs
    no glyph and survives the sanitiser) and the class `task`. The box sits before the
    item's text; the fact pass would read it as part of a question, so after that pass
    `FootnoteTreeprocessor` moves it out of any fact."""

    def run(self, root: etree.Element) -> None:
        for li in root.iter("li"):
            holder = li
            if not (li.text or "").strip() and len(li) and li[0].tag == "p":
                holder = li[0]
            text = holder.text or ""
            m = TASK_RE.match(text)
            if m is None:
                continue
            box = etree.Element("span")
            done = m.group("state") != " "
            box.set("class", "task-box task-done" if done else "task-box")
            box.text = AtomicString("✓") if done else None
            box.tail = text[m.end() :]
            holder.text = None
            holder.insert(0, box)
            li.set("class", (li.get("class", "") + " task").strip())


def task_box_out_of_fact(root: etree.Element) -> None:
    """A task that is also a fact: the box is not part of its question."""
    for q in root.iter("x-q"):
        if len(q) and q[0].get("class", "").startswith("task-box") and not (q.text or "").strip():
            box = q[0]
            q.text = (box.tail or "").lstrip() or None
            q.remove(box)


# ---------------------------------------------------------------- footnotes


class FootnoteTreeprocessor(Treeprocessor):
    """Python-Markdown's footnotes, made to fit notes: the list at the note's end (it
    sits in the last section of the sheet), without back-links or ids (a card has no
    page to jump in; the sheet joins many notes, whose ids would clash); a reference is a
    plain superscript number. A fact citing footnotes gets their text under its answer,
    in `<div class="footnotes">`, so the card shows it after the answer; the sheet hides
    that copy (it prints the list at the note's end)."""

    class Aside(Treeprocessor):
        """Before the fact pass: the footnote list leaves the tree, so no footnote
        becomes a fact."""

        def __init__(self, md: markdown.Markdown, owner: FootnoteTreeprocessor) -> None:
            super().__init__(md)
            self.owner = owner

        def run(self, root: etree.Element) -> None:
            self.owner.aside = None
            for el in list(root):
                if el.tag == "div" and el.get("class") == "footnote":
                    root.remove(el)
                    self.owner.aside = el

    aside: etree.Element | None = None

    def run(self, root: etree.Element) -> None:
        task_box_out_of_fact(root)
        div, self.aside = self.aside, None
        if div is None:
            return
        texts = footnote_texts(div)
        for sup in root.iter("sup"):
            plain_reference(sup)
        for holder in [el for el in root.iter() if el.get("data-fact") is not None]:
            self.cite(holder, texts)
        for sup in root.iter("sup"):
            sup.attrib.pop("data-ref", None)
        div.set("class", "footnotes")
        for hr in div.findall("hr"):
            div.remove(hr)
        root.append(div)

    def cite(self, holder: etree.Element, texts: dict[str, tuple[int, etree.Element]]) -> None:
        question = next(holder.iter("x-q"), None)
        answer = next(holder.iter("x-a"), None)
        if question is None or answer is None:
            return
        cited = [
            sup.get("data-ref", "")
            for part in (question, answer)
            for sup in part.iter("sup")
            if sup.get("data-ref")
        ]
        notes = [texts[ref] for ref in dict.fromkeys(cited) if ref in texts]
        if not notes:
            return
        box = etree.SubElement(answer, "div")
        box.set("class", "footnotes")
        for number, content in notes:
            for i, block in enumerate(list(content)):
                block = copy.deepcopy(block)
                if i == 0:
                    mark = etree.Element("sup")
                    mark.text = str(number)
                    mark.tail = " " + (block.text or "")
                    block.text = None
                    block.insert(0, mark)
                box.append(block)


def plain_reference(sup: etree.Element) -> None:
    """`<sup id><a class="footnote-ref" href="#fn:1">1</a></sup>` → `<sup>1</sup>`, the
    footnote's name kept (until the fact pass is done) to find its text."""
    if len(sup) != 1 or sup[0].tag != "a" or sup[0].get("class") != "footnote-ref":
        return
    link = sup[0]
    sup.attrib.clear()
    sup.set("class", "footnote-ref")
    sup.set("data-ref", link.get("href", "").partition(":")[2])
    sup.text = link.text
    sup.remove(link)


def footnote_texts(div: etree.Element) -> dict[str, tuple[int, etree.Element]]:
    """Each footnote by name: its number and its content, back-links and ids removed."""
    found: dict[str, tuple[int, etree.Element]] = {}
    for number, li in enumerate(div.iter("li"), 1):
        name = li.attrib.pop("id", "").partition(":")[2]
        for parent in list(li.iter()):
            for link in [c for c in parent if c.get("class") == "footnote-backref"]:
                parent.remove(link)
            for attr in ("text", "tail"):
                text = getattr(parent, attr)
                if text and NBSP_PLACEHOLDER in text:
                    setattr(parent, attr, text.replace(NBSP_PLACEHOLDER, "") or None)
        found[name] = (number, li)
    return found
