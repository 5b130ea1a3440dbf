"""Note embeds: `![[Other note]]`, `![[Other note#Heading]]` and `![[Other note#^block]]`
show the other note's part where the embed stands, as Obsidian's reading view does.

Each note is parsed alone (and cached by its own bytes), so the parser leaves an `embed`
mark (`syntax/obsidian.py`); this stage, once every note is read, fills each mark from
the note it names, on cards and sheet alike. An embedded fact stays one card, in its own
note: here it is printed, never counted again. A note that embeds gets a digest made of
its own and of every note it shows, so its cached outputs, and its facts' identities and
modification times, follow an edit of the note it embeds. A target, heading or block that
cannot be found, and a cycle of embeds, are warnings at the embed's line; the embed then
shows its link text, as Obsidian shows a placeholder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .diagnostics import Diagnostic, warning
from .model import (
    EMBED_KIND,
    FACT_SLOT_RE,
    MARK_ATTR_RE,
    MARK_RE,
    Cloze,
    Deck,
    Embed,
    Fact,
    Kind,
    Note,
    plain,
)
from .sources import display_path

# Embeds inside embeds are followed this deep; Obsidian stops too.
MAX_DEPTH = 8
# And no more than this much shown in one note (some 30,000 words): six embeds of a note
# that embeds six more, nine deep, would print ten million copies.
MAX_SHOWN = 200_000
# A target with a suffix other than `.md` that names no note (`File.base`, `a.canvas`)
# is another kind of file, shown by its name without a warning.
OTHER_FILE_RE = re.compile(r"\.(?!md$)(?=[a-z0-9]*[a-z])[a-z0-9]{1,6}")


def expand(deck: Deck, root: Path) -> tuple[Deck, list[Diagnostic]]:
    """The deck with every embed filled, and the problems met. Notes without an embed
    are handed back as the same objects, so what is kept with them stays kept."""
    if not any(note.embeds for note in deck.notes):
        return deck, []
    filler = Filler(Library(deck.notes), root)
    notes = tuple(filler.note(n) if n.embeds else n for n in deck.notes)
    return dataclasses.replace(deck, notes=notes), filler.diagnostics


class Library:
    """The notes by the names an embed may use: the file's name without `.md`, as
    Obsidian resolves it, or a path from the notes folder (`Folder/Note`)."""

    def __init__(self, notes: Iterable[Note]) -> None:
        self.by_stem: dict[str, list[Note]] = {}
        self.by_path: dict[str, Note] = {}
        for note in notes:
            key = without_md(note.path).casefold()
            self.by_path[key] = note
            self.by_stem.setdefault(PurePosixPath(key).name, []).append(note)

    def find(self, target: str, host: Note) -> Note | None:
        """The note `target` names from `host`: a whole path first, else among the notes
        of that name the one nearest the host (sharing most of its folders), then the
        shallowest, then the first by path."""
        key = without_md(target.strip().strip("/")).casefold()
        if not key:
            return host  # `![[#Heading]]`: a part of the same note
        exact = self.by_path.get(key)
        if exact is not None:
            return exact
        named = [
            n
            for n in self.by_stem.get(PurePosixPath(key).name, [])
            if "/" not in key or without_md(n.path).casefold().endswith("/" + key)
        ]
        if not named:
            return None
        folders = PurePosixPath(host.path).parent.parts

        def shared(note: Note) -> int:
            count = 0
            for a, b in zip(PurePosixPath(note.path).parent.parts, folders, strict=False):
                if a != b:
                    break
                count += 1
            return count

        return min(named, key=lambda n: (-shared(n), n.path.count("/"), n.path))


def without_md(name: str) -> str:
    return name[:-3] if name.lower().endswith(".md") else name


@dataclass
class Filler:
    library: Library
    root: Path
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # The note being filled, what it has shown so far in characters (`MAX_SHOWN`), and
    # whether it has been warned of that.
    top: Note | None = None
    shown: int = 0
    told: bool = False

    def note(self, note: Note) -> Note:
        """`note` with its embeds filled, its digest and media made to cover them."""
        self.top, self.shown, self.told = note, 0, False
        reached: dict[str, Note] = {}
        stack = ((note.path, ""),)
        sections = tuple(
            dataclasses.replace(s, body=self.fill(s.body, note, stack, reached))
            if EMBED_KIND in s.body
            else s
            for s in note.sections
        )
        facts = tuple(self.fact(f, note, stack, reached) for f in note.facts)
        if not reached:
            return dataclasses.replace(note, sections=sections, facts=facts)
        shown = [s.body for s in sections] + [f.question + f.answer for f in facts]
        text = "\n".join(shown)
        media = {m.name: m for m in note.media}
        for other in reached.values():
            media.update({m.name: m for m in other.media if m.name in text})
        made_of = [note.digest, *sorted(f"{n.path}:{n.digest}" for n in reached.values())]
        return dataclasses.replace(
            note,
            sections=sections,
            facts=facts,
            media=tuple(media[k] for k in sorted(media)),
            digest=hashlib.sha256("\x1f".join(made_of).encode()).hexdigest()[:32],
        )

    def fact(
        self, fact: Fact, host: Note, stack: tuple[tuple[str, str], ...], reached: dict[str, Note]
    ) -> Fact:
        """A fact whose question or answer embeds: the card shows the embedded text, and
        its digest follows it, so Anki hears of an edit to the note it embeds."""
        if not any(EMBED_KIND in s for s in (fact.question, fact.answer)):
            return fact
        question = self.fill(fact.question, host, stack, reached)
        answer = self.fill(fact.answer, host, stack, reached)
        text = tuple(
            self.fill(s, host, stack, reached) if isinstance(s, str) else s for s in fact.text
        )
        if (question, answer) == (fact.question, fact.answer):
            return fact
        digest = hashlib.sha256(f"{fact.digest}\x1f{question}\x1f{answer}".encode()).hexdigest()
        return dataclasses.replace(
            fact,
            question=question,
            answer=answer,
            text=text,
            plain_question=plain(question) if question != fact.question else fact.plain_question,
            plain_answer=plain(answer),
            digest=digest[:16],
        )

    def fill(
        self,
        fragment: str,
        host: Note,
        stack: tuple[tuple[str, str], ...],
        reached: dict[str, Note],
    ) -> str:
        """`fragment` (HTML of `host`) with each embed mark replaced by what it shows."""
        if EMBED_KIND not in fragment:
            return fragment

        def one(m: re.Match[str]) -> str:
            attrs = {k: html.unescape(v) for k, v in MARK_ATTR_RE.findall(m.group(1))}
            if attrs.get("kind") != EMBED_KIND:
                return m.group(0)
            target, part = attrs.get("name", ""), attrs.get("label", "")
            shown = self.part(host, target, part, stack, reached)
            if shown is None:
                return f'<span class="embed-missing">{m.group(2)}</span>'
            return shown

        return MARK_RE.sub(one, fragment)

    def part(
        self,
        host: Note,
        target: str,
        part: str,
        stack: tuple[tuple[str, str], ...],
        reached: dict[str, Note],
    ) -> str | None:
        """The HTML an embed shows, or None (with a warning, where one is due)."""
        other = self.library.find(target, host)
        if other is None:
            if not OTHER_FILE_RE.fullmatch(PurePosixPath(target).suffix.lower()):
                self.warn(
                    host,
                    target,
                    part,
                    f"no note named '{target}' to embed",
                    "check the note's name, or write a [[link]] instead of an embed",
                )
            return None
        here = (other.path, part)
        if here in stack:
            circle = stack[stack.index(here) :]
            chain = " → ".join(PurePosixPath(p).stem for p in (host.path, *(p for p, _ in circle)))
            self.warn(
                host,
                target,
                part,
                f"embeds go round in a circle: {chain}",
                "embed a part of a note that does not embed this one",
            )
            return None
        if len(stack) > MAX_DEPTH:
            self.warn(
                host,
                target,
                part,
                f"embeds within embeds go more than {MAX_DEPTH} deep here; the deeper "
                "ones show as their names",
                "embed the note you want directly",
            )
            return None
        if self.shown > MAX_SHOWN:
            top = self.top or host
            if not self.told:  # once a note, at its first embed
                first = top.embeds[0] if top.embeds else Embed(target, part, 1, 1)
                self.warn(
                    top,
                    first.target,
                    first.fragment,
                    f"its embeds, and theirs, would print more than {MAX_SHOWN:,} "
                    "characters; the rest show as their names",
                    "embed fewer notes within the embedded ones",
                )
                self.told = True
            return None
        body = self.content(other, part)
        if body is None:
            what = f"block ^{part[1:]}" if part.startswith("^") else f"heading '{part}'"
            self.warn(
                host,
                target,
                part,
                f"'{target or PurePosixPath(other.path).stem}' has no {what} to embed",
                f"check the {what.split()[0]} in {other.path}",
            )
            return None
        reached[other.path] = other
        self.shown += len(body)
        body = FACT_SLOT_RE.sub(lambda m: fact_html(other, int(m.group(1))), body)
        body = self.fill(body, other, (*stack, here), reached)
        if part.startswith("^"):
            return f'<div class="embed embed-block">{body}</div>'
        names = [PurePosixPath(without_md(target)).name] if target else []
        names += [h.strip() for h in part.split("#") if h.strip()]
        caption = html.escape(" › ".join(names))
        return f'<div class="embed"><div class="embed-source">{caption}</div>{body}</div>'

    def content(self, note: Note, part: str) -> str | None:
        """A note's part as HTML, its fact slots still in place: the whole note, a
        heading with what stands under it, or a block (a fact's `^id` or prose's)."""
        if part.startswith("^"):
            name = part[1:].strip()
            fact = next((f for f in note.facts if f.anchor == name), None)
            if fact is not None:
                return fact_html(note, fact.index)
            return dict(note.blocks).get(name)
        if not part:
            return "\n".join(section_html(note, i) for i in range(len(note.sections)))
        wanted = [h.strip().casefold() for h in part.split("#") if h.strip()]
        for i, section in enumerate(note.sections):
            path = [h.casefold() for h in section.path]
            if section.title and path[-len(wanted) :] == wanted:
                end = next(
                    (
                        j
                        for j in range(i + 1, len(note.sections))
                        if note.sections[j].level <= section.level
                    ),
                    len(note.sections),
                )
                return "\n".join(section_html(note, j) for j in range(i, end))
        return None

    def warn(self, host: Note, target: str, part: str, message: str, hint: str) -> None:
        place = next(
            (e for e in host.embeds if (e.target, e.fragment) == (target, part)),
            Embed(target, part, 1, 1),
        )
        where = display_path(self.root / host.path)
        self.diagnostics.append(warning(where, place.line, place.col, message, hint))


def section_html(note: Note, i: int) -> str:
    section = note.sections[i]
    shown = section.title and not (section.level == 1 and section.title == note.title)
    head = f"<h{section.level}>{section.title_html}</h{section.level}>\n" if shown else ""
    return head + section.body


def fact_html(note: Note, index: int) -> str:
    """An embedded fact as the sheet prints a fact: question, then answer."""
    fact = next((f for f in note.facts if f.index == index), None)
    if fact is None:
        return ""
    kind = fact.kind.value
    if fact.kind is Kind.CLOZE:
        shown = "".join(seg if isinstance(seg, str) else cloze_html(seg) for seg in fact.text)
        extra = f'<div class="a extra">{fact.answer}</div>' if fact.answer else ""
        return (
            f'<div class="fact fact-{kind} embedded-fact"><div class="q">{shown}</div>{extra}</div>'
        )
    if fact.kind is Kind.LONG:
        return (
            f'<div class="fact fact-{kind} embedded-fact"><div class="q">{fact.question}</div>'
            f'<div class="a">{fact.answer}</div></div>'
        )
    sep = "↔" if fact.kind is Kind.REVERSED else "—"
    return (
        f'<div class="fact fact-{kind} embedded-fact"><span class="q">{fact.question}</span>'
        f'<span class="sep">{sep}</span><span class="a">{fact.answer}</span></div>'
    )


def cloze_html(cloze: Cloze) -> str:
    hint = f'<span class="hint">({html.escape(cloze.hint)})</span>' if cloze.hint else ""
    return f'<span class="cloze">{cloze.html}</span>{hint}'
