"""The parsed notes: what every exporter reads, and nothing an exporter needs to re-parse.

HTML fragments here are already sanitised. Section bodies keep a `<!--fact:N-->` slot
where fact N of the note stood, so each exporter decides how a fact looks in its output
while prose stays exactly where the author put it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from html.parser import HTMLParser

# The place of fact N in a section body: an HTML comment the parser writes and each
# exporter finds again to render the fact its own way.
SLOT_NAME = "fact:{}"
FACT_SLOT_RE = re.compile(r"<!--fact:(\d+)-->")
# Between the headings of a context path, on cards and in the lock.
CONTEXT_SEPARATOR = " › "


def fact_slot(index: int) -> str:
    return f"<!--{SLOT_NAME.format(index)}-->"


def context_text(context: tuple[str, ...]) -> str:
    return CONTEXT_SEPARATOR.join(context)


def cloze_text(ord_: int, text: str, hint: str = "") -> str:
    """One deletion in Anki's own syntax, `{{c1::text::hint}}`: the one place it is
    spelled (cards, the lock's marked text, the content digest)."""
    return f"{{{{c{ord_}::{text}{'::' + hint if hint else ''}}}}}"


# Marks: the pieces of a note that each output renders its own way (a formula is MathJax
# source on a card and a drawing on the sheet; a sound plays on a card and is a label on
# the sheet). In the model's HTML a mark is `<x-mark data-kind="math" data-…>source</x-mark>`,
# its source as escaped text; `render_marks` hands each to the exporter's renderer.
MARK_TAG = "x-mark"
# Attributes in any order: Markdown's serialiser writes them sorted, nh3 as it finds them.
MARK_RE = re.compile(r'<x-mark((?: data-[a-z-]+="[^"]*")+)>(.*?)</x-mark>', re.S)
MARK_ATTR_RE = re.compile(r' data-([a-z-]+)="([^"]*)"')


@dataclass(frozen=True)
class Mark:
    kind: str
    source: str
    attrs: Mapping[str, str] = field(default_factory=dict)


def render_marks(fragment: str, render: Callable[[Mark], str]) -> str:
    """`fragment` with each mark replaced by what `render` makes of it."""
    if MARK_TAG not in fragment:
        return fragment

    def one(m: re.Match[str]) -> str:
        attrs = {k: html.unescape(v) for k, v in MARK_ATTR_RE.findall(m.group(1))}
        kind = attrs.pop("kind", "")
        return render(Mark(kind, html.unescape(m.group(2)), attrs))

    return MARK_RE.sub(one, fragment)


class Kind(str, Enum):
    BASIC = "basic"
    REVERSED = "reversed"
    CLOZE = "cloze"
    LONG = "long"


@dataclass(frozen=True)
class Cloze:
    """One deletion: `number` is its card's number (c1, c2…), shared by grouped deletions.
    `numbered`: the author wrote the number (`{{c2::…}}`); otherwise the build chose it,
    and keeps it across edits (`identity.renumber`)."""

    number: int
    html: str
    hint: str = ""
    numbered: bool = False


Segment = str | Cloze


@dataclass(frozen=True)
class Media:
    """A file the notes reference: `name` is its flat, content-addressed name in outputs."""

    name: str
    path: str


@dataclass(frozen=True)
class Fact:
    kind: Kind
    question: str
    answer: str
    text: tuple[Segment, ...]
    plain_question: str
    plain_answer: str
    tags: tuple[str, ...]
    context: tuple[str, ...]
    path: str
    line: int
    col: int
    deck: str
    section: int
    index: int
    anchor: str = ""
    source_root: str = "notes"
    guid: str = ""
    mtime: int = 0
    digest: str = ""

    def with_text(self, text: tuple[Segment, ...]) -> Fact:
        """This fact with its deletions renumbered (a shallow copy, as `with_identity`)."""
        return self._copy(text=text)

    def with_identity(self, guid: str, mtime: int) -> Fact:
        """This fact as a given Anki note. A shallow copy: `dataclasses.replace` would
        re-run `__init__` for every field, ten thousand times a build."""
        return self._copy(guid=guid, mtime=mtime)

    def _copy(self, **changes: object) -> Fact:
        new = object.__new__(Fact)
        new.__dict__.update(self.__dict__, **changes)
        return new

    @property
    def source(self) -> str:
        return f"{self.source_root}/{self.path}:{self.line}"

    @property
    def marked_text(self) -> str:
        """A cloze as plain text with its deletions marked in our (and Anki's) syntax,
        `India joined the MSP in {{c1::2023}}.`; other facts' plain question."""
        if self.kind is not Kind.CLOZE:
            return self.plain_question
        out = []
        for seg in self.text:
            if isinstance(seg, str):
                out.append(plain(seg))
            else:
                out.append(cloze_text(seg.number, plain(seg.html), seg.hint))
        return " ".join("".join(out).split())

    @property
    def card_numbers(self) -> tuple[int, ...]:
        """The numbers of a cloze's cards (c1, c2…), each once, in order. Anki's card
        ordinals (`anki.card_ords`) count from 0: a number is an ordinal plus one."""
        return tuple(sorted(set(self.numbers)))

    @property
    def numbers(self) -> list[int]:
        """Each deletion's number, in the order the deletions stand (none for a fact that
        is not a cloze): what the build may have renumbered, so part of what a card is."""
        return [s.number for s in self.text if isinstance(s, Cloze)]

    @property
    def card_count(self) -> int:
        if self.kind is Kind.CLOZE:
            return len(self.card_numbers)
        return 2 if self.kind is Kind.REVERSED else 1


@dataclass(frozen=True)
class Section:
    """A heading and what stands under it up to the next heading of any level."""

    level: int
    title: str
    title_html: str
    path: tuple[str, ...]
    tags: tuple[str, ...]
    body: str


@dataclass(frozen=True)
class Embed:
    """`![[target#fragment]]`: where a note shows part of another note (`embeds.py`).
    `fragment` is a heading path (`Heading`, `Heading#Sub`), a block (`^id`) or empty
    (the whole note). In the model's HTML it stands as an `embed` mark."""

    target: str
    fragment: str
    line: int
    col: int


EMBED_KIND = "embed"


@dataclass(frozen=True)
class Note:
    path: str
    title: str
    deck: str
    tags: tuple[str, ...]
    sections: tuple[Section, ...]
    facts: tuple[Fact, ...]
    media: tuple[Media, ...] = ()
    # What the note was made from (its bytes and where it stands): outputs cached per
    # note are keyed by it with the identities of its facts.
    digest: str = ""
    # The notes it shows parts of, and its own parts others may show: prose blocks with
    # an Obsidian block id, as (id, HTML). A fact's `^id` is its `anchor`.
    embeds: tuple[Embed, ...] = ()
    blocks: tuple[tuple[str, str], ...] = ()

    @property
    def card_count(self) -> int:
        return sum(f.card_count for f in self.facts)

    @property
    def fact_count(self) -> int:
        return len(self.facts)


@dataclass(frozen=True)
class Deck:
    """Everything one build holds: every note, in path order."""

    name: str
    notes: tuple[Note, ...] = field(default_factory=tuple)
    # Each note type's modification time, by its signature's name (`anki:<id>`): from
    # the lock's stamps, so a changed template or CSS reaches Anki.
    type_mtimes: Mapping[str, int] = field(default_factory=dict)

    @property
    def facts(self) -> tuple[Fact, ...]:
        return tuple(f for n in self.notes for f in n.facts)

    @property
    def card_count(self) -> int:
        return sum(f.card_count for f in self.facts)

    def keeping(self, keep: Callable[[Fact], bool]) -> Deck:
        """The deck with only the facts `keep` accepts, and only the notes holding one:
        a `--tag` subset, the notes a sync writes, the weak sheet's facts."""
        notes = []
        for note in self.notes:
            facts = tuple(f for f in note.facts if keep(f))
            if facts:
                notes.append(dataclasses.replace(note, facts=facts))
        return dataclasses.replace(self, notes=tuple(notes))

    @property
    def media(self) -> tuple[Media, ...]:
        seen: dict[str, Media] = {}
        for note in self.notes:
            for m in note.media:
                seen.setdefault(m.name, m)
        return tuple(seen[k] for k in sorted(seen))


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain(fragment: str) -> str:
    """The text of an HTML fragment."""
    if "<" not in fragment and "&" not in fragment:
        return fragment
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.parts)


def content_digest(
    kind: Kind,
    question: str,
    answer: str,
    text: tuple[Segment, ...],
    context: tuple[str, ...],
    path: str,
    tags: tuple[str, ...],
    deck: str,
) -> str:
    """What Anki shows of a fact, except its line number: lines shift whenever anything
    above is edited, and that alone must not mark a card as changed."""
    parts = "".join(
        # The hint's `::` always written, empty or not: the digest's bytes must not change.
        s if isinstance(s, str) else cloze_text(s.number, f"{s.html}::{s.hint}")
        for s in text
    )
    context_line = context_text(context)
    fields = [kind.value, question, answer, parts, context_line, path, " ".join(tags), deck]
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()[:16]
