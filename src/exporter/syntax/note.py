"""`parse_note`: one source through the extension, cut into sections and facts, into a
model `Note` with its diagnostics."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import markdown
from markdown.util import STX

from ..diagnostics import Diagnostic, error, warning
from ..model import (
    SLOT_NAME,
    Cloze,
    Embed,
    Fact,
    Kind,
    Note,
    Section,
    Segment,
    content_digest,
)
from ..sources import Source, deck_problem
from .extension import list_indent, markdown_for
from .facts import BLOCK_ATTRIBUTE, BLOCK_UNDER_ATTRIBUTE
from .markers import TOKEN_RE, normalise_tag
from .media import MediaFinder
from .sanitise import MAX_NESTING, limit_nesting, plain_text, sanitise
from .state import ParseState, state_of
from .tree import HEADINGS, find_markers, parent_of, remove_marker


@dataclass
class _Collector:
    md: markdown.Markdown
    source: Source
    notes_root: Path
    diagnostics: list[Diagnostic]
    state: ParseState
    finder: MediaFinder
    # The places warned of nesting too deep: a place is warned once.
    too_deep_at: set[tuple[int, int]] = field(default_factory=set)

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
        out = sanitise(out.strip(), self.finder.image_source) if needs_cleaning else out.strip()
        flat, deep = limit_nesting(out)
        if deep is not None:
            self.too_deep(el, deep, len(out))
        return flat

    def too_deep(self, el: etree.Element, text: str, size: int) -> None:
        """Warn, once a place, where blockquotes, lists or HTML nest too deeply: at the
        first block Markdown nested that deep, else (raw HTML) at the first line from the
        block's own that holds the first text flattened, looked for no further than the
        block's `size` could reach (so many deep blocks cost no more than their length)."""
        positions, lines = self.state.positions, self.state.lines
        line = col = 0
        stack = [(el, 0)]
        while stack:  # in document order, without recursion
            node, depth = stack.pop()
            pos = positions.get(node)
            if pos is not None and depth >= MAX_NESTING:
                line = pos.line
                first = pos.raw.strip().split("\n")[0].strip()
                col = max(lines[line - 1].find(first), 0) + 1 if line <= len(lines) else 1
                break
            stack.extend((child, depth + 1) for child in reversed(node))
        if not line:
            start = next((positions[e].line for e in el.iter() if e in positions), 1)
            word = (text.split() or [""])[0]
            line, col = start, 1
            for i in range(start - 1, len(lines)) if word else ():
                at = lines[i].find(word)
                if at >= 0:
                    line, col = i + 1, at + 1
                    break
                size -= len(lines[i]) + 1
                if size < 0:
                    break
        if (line, col) in self.too_deep_at:
            return
        self.too_deep_at.add((line, col))
        self.diagnostics.append(
            warning(
                self.source.display,
                line,
                col,
                f"nested more than {MAX_NESTING} levels deep; the deeper levels are printed flat",
                "nest fewer blockquotes, lists or HTML elements inside one another",
            )
        )

    def segments(self, q_el: etree.Element) -> tuple[tuple[Segment, ...], str]:
        clozes: list[tuple[etree.Element, int | None]] = []
        for marker in find_markers(q_el, "x-cloze"):
            written = marker.get("ord")
            clozes.append((marker, int(written) if written else None))
        used = {o for _, o in clozes if o is not None}
        next_ord = 1
        parts: list[Cloze] = []
        for marker, explicit in clozes:
            if explicit is None:
                while next_ord in used:
                    next_ord += 1
                explicit = next_ord
                used.add(explicit)
            numbered = marker.get("ord") is not None
            html = self.serialise(marker, inner=True)
            parts.append(Cloze(explicit, html, marker.get("hint", ""), numbered))
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


def block_target(
    top: etree.Element, holder: etree.Element, above: etree.Element | None, under: bool
) -> etree.Element | None:
    """The block an Obsidian block id names: the paragraph or item it ends; or, standing
    on its own line, the block above it (a list, table or quote), or the whole quote or
    list its line continues."""
    if not under:
        return holder
    if "".join(holder.itertext()).strip():
        return top
    if holder is top:
        return above
    parent = parent_of(top, holder)
    if parent is None:
        return None
    at = list(parent).index(holder)
    return parent[at - 1] if at else parent


def embed_places(state: ParseState) -> tuple[Embed, ...]:
    """Each embed the parse met, on the line it is written on: the nth embed of the same
    text on the nth line that holds it outside fenced code."""
    found: dict[str, list[tuple[int, int]]] = {}
    out = []
    for target, fragment, raw in state.embeds:
        if raw not in found:
            found[raw] = [
                (i + 1, col + 1)
                for i, line in enumerate(state.lines)
                if i not in state.fenced
                for col in occurrences(line, raw)
            ]
        places = found[raw]
        line, col = places.pop(0) if places else (1, 1)
        out.append(Embed(target, fragment, line, col))
    return tuple(out)


def occurrences(line: str, text: str) -> list[int]:
    out, at = [], line.find(text)
    while at >= 0:
        out.append(at)
        at = line.find(text, at + len(text))
    return out


def deck_for(source: Source, root_name: str) -> str:
    if source.meta.get("deck"):
        return "::".join(p.strip() for p in str(source.meta["deck"]).split("::") if p.strip())
    parts = PurePosixPath(source.rel).parent.parts
    return "::".join(parts) if parts else root_name


def parse_note(
    source: Source, notes_root: Path, root_name: str = "Notes", source_root: str = "notes"
) -> tuple[Note, list[Diagnostic]]:
    md = markdown_for(list_indent(source.text))
    state: ParseState = state_of(md)
    state.display = source.display
    md.convert(source.text)
    # Markdown skips its tree stages for blank input; an empty note is an empty tree.
    root = state.root if state.root is not None else etree.Element("div")
    diagnostics = list(state.diagnostics)
    finder = MediaFinder(source, notes_root, diagnostics, state)
    finder.images(root)
    collector = _Collector(md, source, notes_root, diagnostics, state, finder)

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
    level, heading_html, heading = 0, "", ""
    body: list[etree.Element] = []

    blocks: list[tuple[str, str]] = []

    def close() -> None:
        # Under no heading, the note's title is the context: no card is orphaned.
        path = tuple(h for _, h, _ in stack) or (title,)
        tags = tuple(sorted({t for _, _, ts in stack for t in ts}))
        html_parts = []
        named: list[tuple[str, etree.Element]] = []
        for i, el in enumerate(body):
            for fact_el in [e for e in el.iter() if e.get("data-fact") is not None]:
                facts.append(make_fact(fact_el, path, tags, len(sections)))
            for block_el in [e for e in el.iter() if e.get(BLOCK_ATTRIBUTE) is not None]:
                name = block_el.attrib.pop(BLOCK_ATTRIBUTE)
                under = block_el.attrib.pop(BLOCK_UNDER_ATTRIBUTE, None)
                target = block_target(el, block_el, body[i - 1] if i else None, bool(under))
                if target is not None:
                    named.append((name, target))
            if el.tag == "p" and not len(el) and not (el.text or "").strip():
                continue  # a paragraph that held a block id alone
            html_parts.append(collector.serialise(el))
        for name, target in named:
            html = collector.serialise(target)
            if target.tag == "li":
                html = f"<ul>{html}</ul>"
            blocks.append((name, html))
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
        holder.insert(0, etree.Comment(SLOT_NAME.format(index)))
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
        media=tuple(finder.media[k] for k in sorted(finder.media)),
        embeds=embed_places(state),
        blocks=tuple(blocks),
        digest=hashlib.sha256(
            "\x1f".join((source.digest, source.rel, root_name, source_root)).encode()
        ).hexdigest()[:32],
    )
    return note, diagnostics
