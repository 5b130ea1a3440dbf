"""A fact's own source text, found and replaced in its note: the way an edit made in Anki
goes back into the Markdown line it came from (`pull`).

Only the parts a field owns change: the question and the answer of `question :: answer`
(and of `:::`), the cloze text of a cloze line, the block under a `question ::` line. The
list marker, leading and trailing tags, the `^id`, the indentation, every other line,
the encoding and the line endings stay byte for byte. What cannot be found as expected
raises `Unmappable` with the reason, never a guess: `pull` then lists the fact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..model import Fact, Kind

# Tags and an `^id` closing a fact's line, and tags opening it (`#mains Who … :: …`).
TAIL_RE = re.compile(r"(?:[ \t]+(?:#[^\s#]+|\^[A-Za-z0-9][A-Za-z0-9-]*))*[ \t]*$")
LEAD_RE = re.compile(r"(?:#[^\s#]+[ \t]+)*")


class Unmappable(Exception):
    """The fact's source is not where, or not what, the model says."""


@dataclass(frozen=True)
class NewText:
    """What comes back for one fact, as Markdown: None where a part is unchanged."""

    fact: Fact
    question: str | None = None
    answer: str | None = None
    cloze: str | None = None


def rewrite(lines: list[str], change: NewText) -> tuple[list[str], int]:
    """`lines` (each with its ending) with the fact's text replaced, and how many lines
    were added (negative: removed) after its first line."""
    fact = change.fact
    at = fact.line - 1
    if not 0 <= at < len(lines):
        raise Unmappable("its line is no longer in the note")
    line = lines[at]
    body_end = len(line.rstrip("\r\n"))
    ending = line[body_end:] or "\n"
    start = fact.col - 1
    head, body = line[:start], line[start:body_end]
    lead = LEAD_RE.match(body)
    assert lead is not None  # it matches nothing at worst
    lead_text, body = body[: lead.end()], body[lead.end() :]
    tail = TAIL_RE.search(body)
    assert tail is not None
    core, tail_text = body[: tail.start()], body[tail.start() :]
    if fact.kind is Kind.CLOZE:
        if change.cloze is None:
            return lines, 0
        if "{{" not in core:
            raise Unmappable("its deletions are not on its first line")
        one_line(change.cloze, "the cloze")
        return [
            *lines[:at],
            head + lead_text + change.cloze + tail_text + line[body_end:],
            *lines[at + 1 :],
        ], 0
    if fact.kind is Kind.LONG:
        return long_answer(lines, at, head, lead_text, core, tail_text, ending, change)
    separator = " ::: " if fact.kind is Kind.REVERSED else " :: "
    split = outside_code(core, separator)
    if split is None:
        raise Unmappable(f"'{separator.strip()}' is not on its line")
    question, answer = core[:split], core[split + len(separator) :]
    if change.question is not None:
        question = one_line(change.question, "the question")
    if change.answer is not None:
        answer = one_line(change.answer, "the answer")
    new = head + lead_text + question + separator + answer + tail_text + line[body_end:]
    return [*lines[:at], new, *lines[at + 1 :]], 0


def long_answer(
    lines: list[str],
    at: int,
    head: str,
    lead_text: str,
    core: str,
    tail_text: str,
    ending: str,
    change: NewText,
) -> tuple[list[str], int]:
    """`question ::` and the block under it: the question on the line, the answer as
    the block, indented as the block was."""
    stripped = core.rstrip()
    if not stripped.endswith("::"):
        raise Unmappable("its line does not end in '::'")
    question = stripped[:-2].rstrip()
    if change.question is not None:
        question = one_line(change.question, "the question")
    first = lines[at]
    new_first = head + lead_text + question + " ::" + core[len(stripped) :] + tail_text
    new_first += first[len(first.rstrip("\r\n")) :]
    block = block_lines(lines, at)
    if not block:
        raise Unmappable("no block stands under its line")
    delta = 0
    answer_lines = lines[at + 1 : at + 1 + block]
    if change.answer is not None:
        indent = min(indent_of(x) for x in answer_lines if x.strip())
        answer_lines = [
            (" " * indent + x if x.strip() else "") + ending for x in change.answer.split("\n")
        ]
        delta = len(answer_lines) - block
    return [*lines[:at], new_first, *answer_lines, *lines[at + 1 + block :]], delta


def block_lines(lines: list[str], at: int) -> int:
    """How many lines under line `at` are its block: those indented deeper than it, with
    the blank lines between them (not after them)."""
    base = indent_of(lines[at])
    count = last = 0
    for line in lines[at + 1 :]:
        count += 1
        if not line.strip():
            continue
        if indent_of(line) <= base:
            break
        last = count
    return last


def indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def one_line(text: str, what: str) -> str:
    if "\n" in text:
        raise Unmappable(f"{what} now holds a line break, which a one-line fact cannot")
    return text


def outside_code(text: str, separator: str) -> int | None:
    """Where `separator` first stands outside a code span, or None."""
    at = text.find(separator)
    while at >= 0:
        if text.count("`", 0, at) % 2 == 0 and not text[:at].endswith("\\"):
            return at
        at = text.find(separator, at + 1)
    return None
