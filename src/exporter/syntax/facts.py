"""The fact pass: each paragraph or list item with `::`, `:::` or a cloze becomes a fact
(question, answer, kind, tags, anchor) in the tree, and everything else stays prose."""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree
from itertools import pairwise

import markdown
from markdown.treeprocessors import Treeprocessor

from ..diagnostics import error, warning
from ..model import Kind
from .code import is_code_html
from .markers import normalise_tag
from .state import FactSpec, ParseState, Position, state_of
from .tree import (
    ANSWER_BLOCKS,
    HEADINGS,
    MARKERS,
    Node,
    find_markers,
    inline_nodes,
    is_br,
    join_lines,
    markers_in,
    newlines_in,
    own_texts,
    parent_of,
    remove_markers,
    set_children,
    split_lines,
    strip_nodes,
    unwrap_marker,
    unwrap_markers,
    wrap,
)

# A run of exactly two or three colons; whether it separates depends on its neighbours.
COLONS_RE = re.compile(r"(?<!:):{2,3}(?!:)")
TABLE_ROWS = {"table", "thead", "tbody", "tr"}
TABLE_PARTS = TABLE_ROWS | {"th", "td"}


# Where a prose block carries an Obsidian block id, and whether the id stood on a line of
# its own (then it names the block above it, or the list or quote it continues).
BLOCK_ATTRIBUTE = "data-block"
BLOCK_UNDER_ATTRIBUTE = "data-block-under"


def on_own_line(holder: etree.Element, marker: etree.Element) -> bool:
    parent = parent_of(holder, marker)
    parent = holder if parent is None else parent
    at = list(parent).index(marker)
    before = (parent.text if at == 0 else parent[at - 1].tail) or ""
    return before.endswith("\n") or (at == 0 and parent is holder and not before.strip())


class FactTreeprocessor(Treeprocessor):
    def run(self, root: etree.Element) -> None:
        self.state: ParseState = state_of(self.md)
        # The cloze markers that made a cloze fact; every other marker left in the tree
        # at the end is turned back into text, so no `<x-cloze>` reaches a card or sheet.
        self.kept: set[int] = set()
        self.walk(root)
        stray = [el for el in root.iter() if el.tag in MARKERS and id(el) not in self.kept]
        unwrap_markers(root, stray)

    def walk(self, parent: etree.Element, skip: tuple[etree.Element, ...] = ()) -> None:
        for el in list(parent):
            if el.tag == "p" and not any(el is t for t in skip):
                self.split_paragraph(parent, el)
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
            elif el.tag == "table":
                self.table(parent, el)
            else:
                self.walk(el)

    def split_paragraph(self, parent: etree.Element, p: etree.Element) -> None:
        """One fact a line: a paragraph whose lines hold several facts (no blank line
        between them) becomes one paragraph a fact, each starting at its fact line; the
        lines after a fact line that hold no fact continue it (a wrapped answer), and
        prose lines above the first fact line stay a paragraph of prose."""
        nodes, _ = inline_nodes(p)
        set_children(p, nodes)
        if not any(is_br(n) or (isinstance(n, str) and "\n" in n) for n in nodes):
            return
        lines = split_lines(nodes)
        # A line that starts with its separator takes its question from the line above.
        starts = sorted(
            {
                i - 1 if i and leads(line) else i
                for i, line in enumerate(lines)
                if self.holds_fact(line)
            }
        )
        if not starts or starts == [0]:
            return
        for node in nodes:
            if not isinstance(node, str):
                node.tail = None  # the pieces below set each tail again
        bounds = ([0] if starts[0] else []) + starts + [len(lines)]
        pos = self.state.positions.get(p)
        raw = pos.raw.split("\n") if pos else []
        at = parent_index(parent, p)
        parent.remove(p)
        offset = 0
        for n, (start, end) in enumerate(pairwise(bounds)):
            group = lines[start:end]
            if group and group[-1] and is_br(group[-1][-1]):
                group[-1] = group[-1][:-1]
            piece = etree.Element("p", dict(p.attrib))
            set_children(piece, join_lines(group))
            piece.tail = p.tail
            parent.insert(at + n, piece)
            span = len(group) + sum(newlines_in(line) for line in group)
            if pos is not None:
                first = min(offset, max(len(raw) - 1, 0))
                self.state.positions[piece] = Position(
                    pos.line + first, "\n".join(raw[first : first + span])
                )
            offset += span

    @staticmethod
    def holds_fact(nodes: list[Node]) -> bool:
        if find_separator(nodes) is not None:
            return True
        elements = [n for n in nodes if not isinstance(n, str)]
        return any(m.tag == "x-cloze" for n in elements for m in markers_in(n))

    def table(self, parent: etree.Element, table: etree.Element) -> None:
        """A table with a cloze in a cell is one cloze fact: the table with those cells
        blanked, as Anki users make them. Its tags and `^id` may sit in any cell. A
        `question :: answer` in a cell makes no card, and says so."""
        cells = [c for c in table.iter() if c.tag in ("td", "th")]
        for cell in cells:
            self.report_errors(cell)
        clozes = find_markers(table, "x-cloze")
        if not clozes:
            for cell in cells:
                nodes, _ = inline_nodes(cell)
                set_children(cell, nodes)
                if find_separator(nodes) is not None:
                    self.warn(
                        cell,
                        "::",
                        "'::' in a table cell makes no card",
                        "write the fact on its own line, or blank a cell with {{…}} "
                        "to make the table a cloze",
                    )
            return
        tags = find_markers(table, "x-tag")
        anchors = find_markers(table, "x-id")
        first = next((c for c in cells if c in self.state.positions), table)
        line, col = self.locate(first, None)
        remove_markers(table, tags + anchors)
        for el in table.iter():
            # Markdown's prettifier (run later) never reaches inside a fact: one row a
            # line, as in the sheet, and cells that read apart as plain text.
            if el.tag in TABLE_PARTS and el is not table:
                el.tail = "\n"
            if el.tag in TABLE_ROWS and not (el.text or "").strip():
                el.text = "\n"
        holder = etree.Element("div")
        holder.tail, table.tail = table.tail, None
        parent.insert(parent_index(parent, table), holder)
        parent.remove(table)
        set_children(holder, [wrap("x-q", [table]), wrap("x-a", [])])
        self.add_spec(holder, Kind.CLOZE, clozes, tags, anchors, line, col)

    def add_spec(
        self,
        holder: etree.Element,
        kind: Kind,
        clozes: list[etree.Element],
        tags: list[etree.Element],
        anchors: list[etree.Element],
        line: int,
        col: int,
    ) -> None:
        holder.set("data-fact", str(len(self.state.specs)))
        self.kept.update(id(c) for c in clozes)
        tag_names = tuple(normalise_tag(m.get("name", "")) for m in tags)
        anchor = anchors[-1].get("name", "") if anchors else ""
        self.state.specs.append(FactSpec(kind, tag_names, anchor, line, col))

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
        clozes = find_markers(h, "x-cloze")
        if clozes:
            self.warn(
                h,
                "{{",
                "clozes in headings make no card",
                "move the cloze to a line under the heading",
            )
            unwrap_markers(h, clozes)
        else:
            nodes, _ = inline_nodes(h)
            set_children(h, nodes)
            if find_separator(nodes) is not None:
                self.warn(
                    h,
                    "::",
                    "'::' in a heading makes no card",
                    "write the fact on a line under the heading; write \\:: for a literal '::'",
                )
        self.state.heading_tags[h] = tuple(tags)

    def fact(
        self, holder: etree.Element, following: list[etree.Element] | None
    ) -> list[etree.Element] | None:
        """Turn `holder`'s line into a fact if it is one: `x-q` and `x-a` children and a
        `data-fact` index. `following` are the blocks it may take as a long answer (None:
        the blocks inside holder itself). Returns the blocks taken, or None for prose."""
        nodes, blocks = inline_nodes(holder)
        set_children(holder, [*nodes, *blocks])
        candidates = blocks if following is None else following
        markers = [m for n in nodes if not isinstance(n, str) for m in markers_in(n)]
        clozes = [m for m in markers if m.tag == "x-cloze"]
        tags = [m for m in markers if m.tag == "x-tag"]
        anchors = [m for m in markers if m.tag == "x-id"]
        is_fact = find_separator(nodes) is not None or bool(clozes)
        self.report_errors(holder, is_fact)
        if not is_fact:
            # Prose: a tag is text; a `^id` is an Obsidian block id, which Obsidian hides
            # and another note may embed (`note.block_target`).
            unwrap_markers(holder, tags)
            if anchors:
                holder.set(BLOCK_ATTRIBUTE, anchors[-1].get("name", ""))
                if on_own_line(holder, anchors[-1]):
                    holder.set(BLOCK_UNDER_ATTRIBUTE, "1")
            remove_markers(holder, anchors)
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
            asked = [m for n in before if not isinstance(n, str) for m in markers_in(n)]
            in_question = any(m.tag == "x-cloze" for m in asked)
            if clozes and question and kind is Kind.BASIC and not in_question:
                # `Eleventh Schedule :: {{29}} subjects`: one cloze, the question its lead-in.
                kind, question, answer = Kind.CLOZE, lead_in(question, answer), []
            elif clozes:
                problem = (
                    "{{",
                    "a cloze belongs in the answer of a 'question :: answer' line",
                    "move the '{{…}}' after '::' (one cloze card, the question its lead-in), "
                    "or remove the '::'",
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
                set_children(holder, [*nodes, *blocks])
                self.report(holder, *problem)
                return None
        rest = [b for b in blocks if b not in used]
        for block in used:
            if block in blocks:
                holder.remove(block)
        for block in used:
            if find_markers(block, "x-cloze"):
                self.warn(
                    holder,
                    "::",
                    "a cloze inside a long answer makes no card",
                    "give the cloze a line of its own",
                )
                break
        set_children(holder, [wrap("x-q", question), wrap("x-a", answer), *rest])
        self.add_spec(holder, kind, clozes, tags, anchors, line, col)
        return [b for b in used if b not in blocks]

    def is_answer_block(self, el: etree.Element) -> bool:
        """A list, table, quote or code block; a fenced block in a loose list item arrives
        as a paragraph holding only its placeholder."""
        if el.tag in ANSWER_BLOCKS:
            return True
        return el.tag == "p" and not len(el) and is_block_placeholder([el.text or ""], self.md)

    def report_errors(self, holder: etree.Element, is_fact: bool = False) -> None:
        """Malformed clozes are errors. An unclosed `{{` is an error where a cloze was
        surely meant (in a fact, or before a letter or digit); elsewhere (copied text,
        `{{*[…`) it is a warning, and the text stays as written."""
        for marker in find_markers(holder, "x-error"):
            self.report(
                holder, marker.get("needle", ""), marker.get("message", ""), marker.get("hint", "")
            )
            unwrap_marker(holder, marker)
        for text in own_texts(holder):
            m = UNCLOSED_RE.search(text)
            if m:
                start = m.start()
                snippet = text[start : start + 12].split("\n")[0]
                # `{{2023.` was meant as a cloze; `{{*[Repealed]` in copied text was not.
                meant = is_fact or text[m.end() : m.end() + 1].isalnum()
                if not meant and not find_markers(holder, "x-cloze"):
                    self.warn(
                        holder,
                        "{{",
                        f"'{snippet}' opens a cloze that is never closed; it is shown as text",
                        "close it with '}}' if it is a cloze, or write \\{{",
                    )
                    break
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

    def warn(self, el: etree.Element, needle: str, message: str, hint: str) -> None:
        line, col = self.locate(el, needle)
        self.state.diagnostics.append(warning(self.state.display, line, col, message, hint))


# `{{` that starts a cloze and is never closed: not one followed by a space (`{{ name }}`
# is a template) nor one closed later on the line.
UNCLOSED_RE = re.compile(r"\{\{(?!\s)(?![^{}\n]*\}\})")


def find_separator(nodes: list[Node]) -> tuple[int, int, int] | None:
    """The first `::` or `:::` with white space on both sides, where the start and the
    end of the line count as white space (`:: answer` has an empty question; `Pillars ::`
    ends a line and takes the block under it). Colons touching text are text: an IPv6
    address (`fe80::/10`, `::1`), a C++ name (`std::plus`), a URL, a word."""
    last = len(nodes) - 1
    for i, node in enumerate(nodes):
        if not isinstance(node, str) or "::" not in node:
            continue
        for m in COLONS_RE.finditer(node):
            at, end = m.span()
            if at:
                before = node[at - 1].isspace()
            else:
                prev = nodes[i - 1] if i else None
                before = i == 0 or (isinstance(prev, str) and prev[-1:].isspace())
            after = node[end].isspace() if end < len(node) else i == last
            if before and after:
                return i, at, end - at
    return None


def leads(line: list[Node]) -> bool:
    """Whether a line starts with its separator (`::: Khanij Bidesh`): the question is
    the line above, so the line continues that one instead of starting a fact."""
    sep = find_separator(line)
    if sep is None:
        return False
    i, at, _ = sep
    first = line[0]
    return i == 0 and isinstance(first, str) and not first[:at].strip()


def parent_index(parent: etree.Element, child: etree.Element) -> int:
    return next(i for i, c in enumerate(parent) if c is child)


def lead_in(question: list[Node], answer: list[Node]) -> list[Node]:
    """A question and its cloze answer as one cloze's text: `Eleventh Schedule: {{29}}
    subjects`. A question that ends in its own mark (`:`, `?`, `—`) keeps it."""
    shown = "".join(n if isinstance(n, str) else "".join(n.itertext()) for n in question)
    joint = " " if shown.rstrip()[-1:] in (":", "?", "—", "-") else ": "
    return [*question, joint, *answer]


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
    if not m:
        return False
    block = md.htmlStash.rawHtmlBlocks[int(m.group(1))]
    assert isinstance(block, str)  # only md_in_html, not used here, stashes an element
    return is_code_html(block)
