"""Problems that only show across notes: what one note cannot know about the others.

Repeated `^id`s and facts; and names Anki would quietly merge or rename, which would
move cards between decks or tags without a word: tags or decks that differ only in case
(Anki compares both without case), and file names that differ only in their Unicode form
(NFC and NFD, as macOS and Linux write them), which are one file to some systems.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from .diagnostics import Diagnostic, error, warning
from .model import Deck
from .sources import display_path


def check(deck: Deck, root: Path) -> list[Diagnostic]:
    shown = {note.path: display_path(root / note.path) for note in deck.notes}
    return [*repeats(deck, shown), *case_twins(deck, shown), *unicode_twins(deck, shown)]


def repeats(deck: Deck, shown: dict[str, str]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    seen_anchor: dict[str, str] = {}
    seen_fact: dict[tuple[str, str], str] = {}
    for fact in deck.facts:
        where = shown[fact.path]
        here = f"{where}:{fact.line}"
        if fact.anchor:
            first = seen_anchor.setdefault(fact.anchor, here)
            if first != here:
                out.append(
                    error(
                        where,
                        fact.line,
                        fact.col,
                        f"^{fact.anchor} is used twice",
                        f"first used at {first}; give each fact its own id",
                    )
                )
        first = seen_fact.setdefault((fact.plain_question, fact.plain_answer), here)
        if first != here:
            out.append(
                warning(
                    where,
                    fact.line,
                    fact.col,
                    "the same fact is written twice",
                    f"also at {first}; delete one",
                )
            )
    return out


def case_twins(deck: Deck, shown: dict[str, str]) -> list[Diagnostic]:
    """A warning where a tag or deck is spelled with other capitals than its first use."""
    out: list[Diagnostic] = []
    names = {f.deck for n in deck.notes for f in n.facts}
    names.update(t for n in deck.notes for f in n.facts for t in f.tags)
    if len({n.casefold() for n in names}) == len(names):
        return out  # no two spellings of one name: nothing to find fact by fact
    first: dict[tuple[str, str], tuple[str, str]] = {}
    for fact in deck.facts:
        where = shown[fact.path]
        for kind, name in [("deck", fact.deck), *(("tag", t) for t in fact.tags)]:
            key = (kind, name.casefold())
            spelled, at = first.setdefault(key, (name, f"{where}:{fact.line}"))
            if spelled != name:
                first[key] = (name, at)  # one warning per spelling change
                out.append(
                    warning(
                        where,
                        fact.line,
                        fact.col,
                        f"{kind} '{name}' differs from '{spelled}' only in capitals; "
                        f"Anki merges them into one {kind}",
                        f"write it as at {at}",
                    )
                )
    return out


def unicode_twins(deck: Deck, shown: dict[str, str]) -> list[Diagnostic]:
    """A warning for a note whose path is another note's path in another Unicode form."""
    out: list[Diagnostic] = []
    seen: dict[str, str] = {}
    for note in deck.notes:
        key = unicodedata.normalize("NFC", note.path)
        other = seen.setdefault(key, note.path)
        if other != note.path:
            out.append(
                warning(
                    shown[note.path],
                    1,
                    1,
                    f"this file's name is the same as {shown[other]} in another Unicode form",
                    "rename one of them: some systems keep only one of the two",
                )
            )
    return out
