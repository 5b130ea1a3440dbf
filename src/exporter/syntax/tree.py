"""Element-tree helpers and the block sets the fact pass reads the tree by."""

from __future__ import annotations

import xml.etree.ElementTree as etree

from .markers import TRAILING_PUNCT

HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
BLOCKS = {"p", "ul", "ol", "table", "pre", "blockquote", "div", "hr", "dl"} | HEADINGS
ANSWER_BLOCKS = {"ul", "ol", "table", "pre", "blockquote", "div", "dl"}
POSITIONED = {"p", "li", "td", "th", "dt", "dd"} | HEADINGS
# The marker elements the inline stage makes and the fact pass consumes.
MARKERS = {"x-cloze", "x-tag", "x-id", "x-error"}


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
    del el[:]  # at once: removing children one by one searches the list each time
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
    """Trim white space at both ends only: the space between two spans inside
    (`**Khanij** **Bidesh**`, `{{a}} {{b}}`) is part of the text."""

    def blank(node: Node) -> bool:
        return isinstance(node, str) and not node.strip()

    start, end = 0, len(nodes)
    while start < end and blank(nodes[start]):
        start += 1
    while end > start and blank(nodes[end - 1]):
        end -= 1
    nodes = nodes[start:end]
    if nodes and isinstance(nodes[0], str):
        nodes[0] = nodes[0].lstrip()
    if nodes and isinstance(nodes[-1], str):
        nodes[-1] = nodes[-1].rstrip()
    return nodes


def split_lines(nodes: list[Node]) -> list[list[Node]]:
    """Inline content cut at its line breaks: the newlines in its own text, and hard
    breaks (`<br>`, which end their line). A newline inside a span stays in that span's
    line. `join_lines` puts the lines back together exactly."""
    lines: list[list[Node]] = [[]]
    for node in nodes:
        if not isinstance(node, str):
            lines[-1].append(node)
            if node.tag == "br":
                lines.append([])
            continue
        first, *rest = node.split("\n")
        if first:
            lines[-1].append(first)
        for piece in rest:
            lines.append([piece] if piece else [])
    return lines


def join_lines(lines: list[list[Node]]) -> list[Node]:
    """The inverse of `split_lines`: the lines joined by newlines."""
    out: list[Node] = []
    for i, line in enumerate(lines):
        if i and not (lines[i - 1] and is_br(lines[i - 1][-1])):
            out.append("\n")
        out.extend(line)
    return out


def is_br(node: Node) -> bool:
    return not isinstance(node, str) and node.tag == "br"


def newlines_in(nodes: list[Node]) -> int:
    """Source lines a run of nodes spans beyond its first (newlines inside spans too)."""
    return sum(
        n.count("\n") if isinstance(n, str) else "".join(n.itertext()).count("\n") for n in nodes
    )


def find_markers(el: etree.Element, tag: str) -> list[etree.Element]:
    found = []
    for child in el:
        if child.tag == tag:
            found.append(child)
        if child.tag not in ("code", "pre"):
            found.extend(find_markers(child, tag))
    return found


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
