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
from .kept import Summary, summary_of
from .model import Deck, Fact, Note
from .sources import display_path
from .store import Store, of_note


def check(deck: Deck, root: Path, store: Store | None = None) -> list[Diagnostic]:
    """Every problem across notes. Each note brings its summary (`kept.Summary`: its
    facts' keys, anchors and names), so an unchanged note is not read for them; with a
    `store` a warm process makes it once per note."""
    shown = {note.path: display_path(root / note.path) for note in deck.notes}
    summaries = [of_note(store, "summary", note, summary_of) for note in deck.notes]
    names = {name for summary in summaries for name in summary.names}
    return [
        *repeats(deck, shown, summaries),
        *case_twins(deck, shown, names),
        *unicode_twins(deck, shown),
    ]


def repeated(notes: tuple[Note, ...], summaries: list[Summary]) -> list[Note]:
    """The notes holding a fact key or an `^id` that is somewhere else too (or twice in
    them), by their summaries. Keys are hashes: two facts that only share one are
    compared in full by `repeats`, which finds nothing for them."""
    first_key: dict[str, int] = {}
    first_anchor: dict[str, int] = {}
    found: set[int] = set()
    for i, summary in enumerate(summaries):
        for seen, values in ((first_key, summary.keys), (first_anchor, summary.anchors)):
            if len(set(values)) != len(values):
                found.add(i)
            for value in values:
                j = seen.setdefault(value, i)
                if j != i:
                    found.update((i, j))
    return [note for i, note in enumerate(notes) if i in found]


def repeats(deck: Deck, shown: dict[str, str], summaries: list[Summary]) -> list[Diagnostic]:
    """An error at an `^id` used twice; a warning at a fact written twice. Only the
    notes that share a key or an `^id` (`repeated`) are read fact by fact: a fact no
    other shares adds nothing here."""
    out: list[Diagnostic] = []
    seen_anchor: dict[str, str] = {}
    seen_fact: dict[tuple[str, str], Fact] = {}
    for note in repeated(deck.notes, summaries):
        for fact in note.facts:
            key = (fact.plain_question, fact.plain_answer)
            first = seen_fact.setdefault(key, fact)
            if first is fact and not fact.anchor:
                continue  # the common case, decided without formatting a place
            where = shown[fact.path]
            here = f"{where}:{fact.line}"
            if fact.anchor:
                anchored = seen_anchor.setdefault(fact.anchor, here)
                if anchored != here:
                    out.append(
                        error(
                            where,
                            fact.line,
                            fact.col,
                            f"^{fact.anchor} is used twice",
                            f"first used at {anchored}; give each fact its own id",
                        )
                    )
            there = f"{shown[first.path]}:{first.line}"
            if there != here:
                out.append(
                    warning(
                        where,
                        fact.line,
                        fact.col,
                        "the same fact is written twice",
                        f"also at {there}; delete one",
                    )
                )
    return out


def case_twins(deck: Deck, shown: dict[str, str], names: set[str]) -> list[Diagnostic]:
    """A warning where a tag or deck is spelled with other capitals than its first use.
    `names`: every deck and tag the facts use."""
    out: list[Diagnostic] = []
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
