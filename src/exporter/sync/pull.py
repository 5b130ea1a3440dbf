"""`pull`: edits made in Anki come back to the notes, as a patch to read before applying.

A note edited in Anki is known by its content (`plan.edited_in_anki`: its fields and tags
against what the last sync wrote). Each field it changed goes back to the fact's own
source text (`rewrite`), as Markdown (`markdown_back`), and only if the note, parsed
again, gives back exactly the fields Anki holds: whatever cannot come back losslessly
(an image or table added in Anki, a line break in a one-line fact, tags, a deck, a field
we do not own) is listed with the reason, never dropped silently. A fact edited in the
notes too since the last sync is shown both ways, with no patch.

`pull` writes `dist/anki-edits.patch`, a unified diff `git apply` takes; it names the
digest each file had, and the facts it brings back. `pull --apply` (`patch.apply`)
writes a file only while it still has those bytes, then records the new text in the lock
with each fact's GUID, cloze numbers and modification time kept, so the next sync finds
the notes and Anki agreeing and has nothing to do.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..config import BuildConfig
from ..diagnostics import has_errors
from ..model import Fact, Kind, Note
from ..pipeline import examine
from .markdown_back import cloze_markdown, normal, to_markdown
from .plan import Held, InCollection, Synced, edited_in_anki
from .rewrite import NewText, Unmappable, rewrite

PATCH_NAME = "anki-edits.patch"
FILE_MARK = "# exporter-file:"
FACT_MARK = "# exporter-fact:"


class Readable(Protocol):
    """A sync target that can be read for `pull`."""

    @property
    def label(self) -> str: ...

    def read(
        self, guids: list[str], owner: str
    ) -> tuple[dict[str, InCollection], dict[str, Synced]]: ...

    def contents(self, guids: list[str]) -> dict[str, Held]: ...


@dataclass
class Pulled:
    """What came back: the patch (empty when nothing did) and the lines to print."""

    patch: str = ""
    lines: list[str] = field(default_factory=list)
    facts: int = 0
    refused: str = ""


def pull(config: BuildConfig, target: Readable, now: Callable[[], int]) -> Pulled:
    from ..exporters.anki import named_fields, written_mtime
    from . import resolved

    examined = examine(config)
    if has_errors(examined.diagnostics, config.strict) or examined.lock is None:
        return Pulled(refused="the notes have errors; fix them (see `check`) and pull again")
    deck, lock = resolved(config, now)
    notes = {n.path: n for n in deck.notes}
    facts = {f.guid: f for f in deck.facts}
    held, synced = target.read(sorted(facts), lock.id)
    edited = [
        g
        for g in sorted(facts)
        if g in held and g in synced and not held[g].foreign and edited_in_anki(held[g], synced[g])
    ]
    result = Pulled()
    present = sorted(g for g in facts if g in held and not held[g].foreign)
    now_held = target.contents(present)
    for guid in present:
        fact, anki = facts[guid], now_held.get(guid)
        if anki is not None and anki.deck and anki.deck != fact.deck:
            result.lines.append(
                f"  not back  {place(config, fact)}: moved to the deck '{anki.deck}' in "
                "Anki; a fact's deck comes from its folder or front matter"
            )
    if not edited:
        result.lines.append(f"nothing was edited in {target.label} since the last sync")
        return result
    changes: dict[str, list[tuple[NewText, dict[str, str]]]] = {}
    for guid in edited:
        fact, anki = facts[guid], now_held.get(guid)
        if anki is None:
            continue
        ours = named_fields(fact, notes[fact.path])
        names = list(ours)
        where = place(config, fact)
        if set(anki.fields) != set(names):
            result.lines.append(f"  not back  {where}: its note type was changed in Anki")
            continue
        # The Source field names the fact's line, which moves with edits above it.
        changed = [n for n in names if n != "Source" and normal(ours[n]) != normal(anki.fields[n])]
        if written_mtime(fact) != synced[guid].written:
            result.lines += both_edited(where, ours, anki.fields, changed)
            continue
        result.lines += not_ours(where, fact, anki, changed)
        text = new_text(fact, anki.fields, changed)
        if text is not None:
            changes.setdefault(fact.path, []).append((text, {n: anki.fields[n] for n in changed}))
    diffs, declared = [], []
    for path in sorted(changes):
        done = rewrite_note(config, notes[path], changes[path], result)
        if done is None:
            continue
        old, new, pulled = done
        shown = patch_path(config, path)
        declared.append(f"{FILE_MARK} {hashlib.sha256(old).hexdigest()} {shown}")
        declared += [f"{FACT_MARK} {g} {shown}" for g in pulled]
        diffs.append(unified(old, new, shown))
        result.facts += len(pulled)
    if diffs:
        head = [
            "# Edits made in Anki, as a patch to the notes. Read it, then apply it with",
            "# `python build.py pull --apply` (or `git apply`, then build).",
            *declared,
        ]
        result.patch = "\n".join(head) + "\n" + "".join(diffs)
    return result


def place(config: BuildConfig, fact: Fact) -> str:
    return f"{patch_path(config, fact.path)}:{fact.line}"


def patch_path(config: BuildConfig, rel: str) -> str:
    """A note's path as the patch names it: from where the command runs, as `git apply`
    reads it there."""
    return Path(os.path.relpath(config.notes / rel)).as_posix()


def new_text(fact: Fact, anki: Mapping[str, str], changed: list[str]) -> NewText | None:
    """The Markdown that comes back for the fields Anki changed that go back to the
    source: the question and answer, or the cloze's text."""
    if fact.kind is Kind.CLOZE:
        if "Text" not in changed:
            return None
        explicit = {s.number for s in fact.text if not isinstance(s, str) and s.numbered}
        text, _ = cloze_markdown(anki["Text"], explicit)
        return NewText(fact, cloze=text)
    question = to_markdown(anki["Front"]) if "Front" in changed else None
    answer = to_markdown(anki["Back"]) if "Back" in changed else None
    if question is None and answer is None:
        return None
    return NewText(fact, question=question, answer=answer)


def not_ours(where: str, fact: Fact, anki: Held, changed: list[str]) -> list[str]:
    """What was changed in Anki that the notes do not hold as fields: listed, kept."""
    lines = []
    for name in changed:
        if name == "Context":
            lines.append(
                f"  not back  {where}: the Context field is made from the note's headings; "
                "edit them instead"
            )
        elif name == "Back Extra":
            lines.append(
                f"  not back  {where}: the cloze's extra text was edited in Anki; copy it "
                "into the note by hand"
            )
    if sorted(anki.tags) != sorted(fact.tags):
        lines.append(
            f"  not back  {where}: tags changed in Anki ({' '.join(sorted(anki.tags))}); "
            "tags come from the note's front matter, headings and line: edit them there"
        )
    return lines


def both_edited(
    where: str, ours: Mapping[str, str], anki: Mapping[str, str], changed: list[str]
) -> list[str]:
    lines = [f"  both      {where}: edited in the notes and in Anki since the last sync; no patch"]
    for name in changed or list(ours):
        lines.append(f"              notes {name}: {shorten(to_markdown(ours[name]))}")
        lines.append(f"              Anki  {name}: {shorten(to_markdown(anki[name]))}")
    return lines


def shorten(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def rewrite_note(
    config: BuildConfig,
    note: Note,
    changes: list[tuple[NewText, dict[str, str]]],
    result: Pulled,
) -> tuple[bytes, bytes, list[str]] | None:
    """The note's bytes before and after the facts' new text, and the GUIDs that came
    back: each one checked by parsing the new note, where it must give Anki's fields."""
    path = config.notes / note.path
    try:
        old = path.read_bytes()
    except OSError as exc:
        result.lines.append(f"  not back  {patch_path(config, note.path)}: cannot read it ({exc})")
        return None
    bom = b"\xef\xbb\xbf" if old.startswith(b"\xef\xbb\xbf") else b""
    text = old[len(bom) :].decode("utf-8")
    todo = list(changes)
    while todo:
        lines, refused = lines_of(text), []
        moved: dict[str, int] = {}
        for change, _ in sorted(todo, key=lambda c: -c[0].fact.line):
            try:
                lines, delta = rewrite(lines, change)
            except Unmappable as exc:
                refused.append((change, str(exc)))
                continue
            for guid in moved:
                moved[guid] += delta
            moved[change.fact.guid] = 0
        if not refused:
            new = bom + "".join(lines).encode("utf-8")
            refused = wrong_after(config, note, new, todo, moved)
        if not refused:
            for change, _ in sorted(todo, key=lambda c: c[0].fact.line):
                result.lines += summary(config, change)
            return old, new, [c.fact.guid for c, _ in todo]
        for change, why in refused:
            result.lines.append(f"  not back  {place(config, change.fact)}: {why}")
        gone = {id(c) for c, _ in refused}
        todo = [t for t in todo if id(t[0]) not in gone]
    return None


def lines_of(text: str) -> list[str]:
    """The lines of a note, each with its own ending (only `\\n` ends a line)."""
    return re.findall(r"[^\n]*\n|[^\n]+\Z", text)


def wrong_after(
    config: BuildConfig,
    note: Note,
    new: bytes,
    todo: list[tuple[NewText, dict[str, str]]],
    moved: dict[str, int],
) -> list[tuple[NewText, str]]:
    """The changes whose fact, in the rewritten note, does not give Anki's fields."""
    from ..exporters.anki import named_fields
    from ..sources import read_source
    from ..syntax import parse_note

    path = config.notes / note.path
    source, diags = read_source(config.notes, path, (new, hashlib.sha256(new).hexdigest()))
    if source is None:
        return [(c, "the note would not read back") for c, _ in todo]
    parsed, more = parse_note(source, config.notes, config.root_deck, config.source_name)
    problems = [d for d in [*diags, *more] if d.is_error]
    wrong = []
    for change, anki in todo:
        fact = change.fact
        line = fact.line + moved.get(fact.guid, 0)
        again = next((f for f in parsed.facts if f.line == line), None)
        if problems and any(d.line >= line for d in problems):
            wrong.append((change, f"the new text is not valid: {problems[0].message}"))
        elif again is None or again.kind is not fact.kind:
            wrong.append((change, "the new text no longer reads as the same kind of fact"))
        else:
            fields = named_fields(again, parsed)
            off = [n for n, v in anki.items() if normal(fields[n]) != normal(v)]
            if off:
                wrong.append(
                    (
                        change,
                        f"its {', '.join(off)} would not read back as Anki has it "
                        "(an image, table or markup Markdown here cannot hold)",
                    )
                )
    return wrong


def summary(config: BuildConfig, change: NewText) -> list[str]:
    fact = change.fact
    where = place(config, fact)
    if change.cloze is not None:
        return [
            f"  back      {where}: {shorten(fact.marked_text, 60)} → {shorten(change.cloze, 60)}"
        ]
    out = []
    for old, new in ((fact.question, change.question), (fact.answer, change.answer)):
        if new is not None:
            out.append(f"  back      {where}: {shorten(to_markdown(old), 60)} → {shorten(new, 60)}")
    return out


def unified(old: bytes, new: bytes, shown: str) -> str:
    """A unified diff `git apply` takes: a last line without an ending is marked so."""
    import difflib

    a = lines_of(old.decode("utf-8"))
    b = lines_of(new.decode("utf-8"))
    out = []
    for line in difflib.unified_diff(a, b, f"a/{shown}", f"b/{shown}", n=3):
        if line.startswith(("---", "+++")):
            line = line.rstrip("\n") + "\n"
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
