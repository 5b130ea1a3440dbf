"""Which Anki note each fact is, across edits: matching facts to the lock file.

Anki matches an imported note to one it has by GUID, and updates it only when the incoming
modification time is newer. So each fact keeps the GUID it was first given, recorded in a
lock file beside the notes (never in them), and its mtime changes exactly when what Anki
shows of it changes.

Matching runs in passes, most certain first; each lock entry is claimed at most once:

1. the same pinned `^id`;
2. the same question and answer (moved, reordered, or untouched);
3. the same question (the answer was edited);
4. the same answer and a similar question (the question was reworded);
5. the same file and section, and similar text (edited in place);
6. similar text anywhere (moved and lightly edited).

A fact matching nothing is new. A lock entry matching nothing is a removed fact: it stays in
the lock as a tombstone, so restoring the line brings back the same note and its history.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from .model import Deck, Fact, content_digest

LOCK_VERSION = 1
LOCK_ABOUT = "Anki identities of the facts in the notes. Commit it; do not edit it."
FIRST_MTIME = 1_700_000_000
SIMILAR_IN_PLACE = 0.5
SIMILAR_ANYWHERE = 0.8
SIMILAR_QUESTION = 0.6
# Pairs compared in the last, anywhere pass; beyond it (a mass rename and rewrite) the
# leftovers are new facts rather than a minutes-long build.
ANYWHERE_BUDGET = 250_000


@dataclass(frozen=True)
class LockEntry:
    guid: str
    path: str
    context: str
    kind: str
    question: str
    answer: str
    hash: str
    mtime: int
    anchor: str = ""
    removed: bool = False
    marked: str = ""

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "guid": self.guid,
            "path": self.path,
            "context": self.context,
            "kind": self.kind,
            "question": self.question,
            "answer": self.answer,
            "hash": self.hash,
            "mtime": self.mtime,
        }
        if self.anchor:
            data["anchor"] = self.anchor
        if self.marked:
            data["marked"] = self.marked
        if self.removed:
            data["removed"] = True
        return data


@dataclass(frozen=True)
class Lock:
    entries: tuple[LockEntry, ...] = ()
    stamps: Mapping[str, tuple[str, int]] = field(default_factory=dict)

    def dumps(self) -> str:
        """Sorted by file and GUID, one fact a line: a note edit changes few lines."""
        facts = sorted(self.entries, key=lambda e: (e.removed, e.path, e.guid))
        stamps = {k: {"hash": h, "mtime": m} for k, (h, m) in sorted(self.stamps.items())}
        head = json.dumps(
            {"about": LOCK_ABOUT, "version": LOCK_VERSION, "stamps": stamps},
            indent=2,
            ensure_ascii=False,
        )
        lines = ",\n".join("    " + json.dumps(e.as_json(), ensure_ascii=False) for e in facts)
        body = f'  "facts": [\n{lines}\n  ]' if facts else '  "facts": []'
        return f"{head[:-2]},\n{body}\n}}\n"

    @classmethod
    def loads(cls, text: str) -> Lock:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != LOCK_VERSION:
            raise ValueError(f"unsupported lock file version {data.get('version')!r}")
        entries = tuple(LockEntry(**e) for e in data.get("facts", []))
        stamps = {k: (v["hash"], int(v["mtime"])) for k, v in data.get("stamps", {}).items()}
        return cls(entries, stamps)


def read_lock(path: Path) -> Lock:
    if not path.exists():
        return Lock()
    return Lock.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Change:
    """One line of the change report."""

    status: str
    fact: Fact | None
    entry: LockEntry | None

    @property
    def guid(self) -> str:
        return self.fact.guid if self.fact else self.entry.guid if self.entry else ""

    @property
    def question(self) -> str:
        return self.fact.plain_question if self.fact else self.entry.question if self.entry else ""

    @property
    def where(self) -> str:
        if self.fact:
            return f"{self.fact.path}:{self.fact.line}"
        return self.entry.path if self.entry else ""


@dataclass(frozen=True)
class Report:
    changes: tuple[Change, ...] = ()
    stamps_changed: tuple[str, ...] = ()

    def of(self, status: str) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.status == status)

    @property
    def is_empty(self) -> bool:
        return not any(c.status != "unchanged" for c in self.changes) and not self.stamps_changed


def content_hash(fact: Fact) -> str:
    """Computed while parsing (in parallel, and cached with the note) when possible."""
    return fact.digest or content_digest(
        fact.kind,
        fact.question,
        fact.answer,
        fact.text,
        fact.context,
        fact.path,
        fact.tags,
        fact.deck,
    )


def new_guid(fact: Fact, taken: set[str]) -> str:
    """Deterministic, so two first builds of the same notes agree."""
    key = (
        f"anchor:{fact.anchor}"
        if fact.anchor
        else (f"fact:{fact.path}:{fact.plain_question}:{fact.plain_answer}")
    )
    salt = 0
    while True:
        raw = hashlib.sha256(f"{key}#{salt}".encode()).digest()[:10]
        guid = base64.b32encode(raw).decode().rstrip("=").lower()
        if guid not in taken:
            return guid
        salt += 1


def _similarity(a: str, b: str) -> float:
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < SIMILAR_IN_PLACE or matcher.quick_ratio() < SIMILAR_IN_PLACE:
        return 0.0
    return matcher.ratio()


def _text(fact_or_entry: Fact | LockEntry) -> str:
    if isinstance(fact_or_entry, Fact):
        return f"{fact_or_entry.plain_question} {fact_or_entry.plain_answer}"
    return f"{fact_or_entry.question} {fact_or_entry.answer}"


def match(facts: list[Fact], entries: Iterable[LockEntry]) -> dict[int, LockEntry]:
    """Index of each fact that is an earlier fact → the lock entry it is.

    Each pass looks candidates up in an index (by anchor, content, question, answer, or
    place), so a rebuild costs about one dictionary look-up per fact; only the last pass,
    similarity anywhere, compares what is left over pair by pair, within a budget."""
    entries = list(entries)
    live = [e for e in entries if not e.removed]
    dead = [e for e in entries if e.removed]
    found: dict[int, LockEntry] = {}
    claimed: set[str] = set()

    def index(pool: list[LockEntry], key: Callable[[LockEntry], Any]) -> dict[Any, list]:
        out: dict[Any, list[LockEntry]] = {}
        for entry in pool:
            k = key(entry)
            if k is not None:
                out.setdefault(k, []).append(entry)
        return out

    def run(
        candidates: Callable[[Fact], Iterable[LockEntry]],
        score: Callable[[Fact, LockEntry], float],
    ) -> None:
        scored = []
        for i, fact in enumerate(facts):
            if i in found:
                continue
            for entry in candidates(fact):
                if entry.guid not in claimed:
                    s = score(fact, entry)
                    if s > 0:
                        scored.append((-s, i, entry.guid, entry))
        for _, i, guid, entry in sorted(scored, key=lambda c: c[:3]):
            if i not in found and guid not in claimed:
                found[i] = entry
                claimed.add(guid)

    def near(fact: Fact, entry: LockEntry) -> float:
        """A small bonus for staying in the same file and section, to break ties."""
        return (0.02 if fact.path == entry.path else 0) + (
            0.01 if " › ".join(fact.context) == entry.context else 0
        )

    def same_answer(f: Fact, e: LockEntry) -> float:
        s = _similarity(f.plain_question, e.question)
        return s + near(f, e) if s >= SIMILAR_QUESTION else 0

    def in_place(f: Fact, e: LockEntry) -> float:
        s = _similarity(_text(f), _text(e))
        return s if s >= SIMILAR_IN_PLACE else 0

    def anywhere(f: Fact, e: LockEntry) -> float:
        s = _similarity(_text(f), _text(e))
        return s + near(f, e) if s >= SIMILAR_ANYWHERE else 0

    for pool in (live, dead):
        anchors = index(pool, lambda e: e.anchor or None)
        exact = index(pool, lambda e: (e.question, e.answer))
        questions = index(pool, lambda e: None if e.anchor else e.question)
        run(lambda f, ix=anchors: ix.get(f.anchor, []) if f.anchor else [], lambda f, e: 1.0)
        run(
            lambda f, ix=exact: ix.get((f.plain_question, f.plain_answer), []),
            lambda f, e: 1 + near(f, e),
        )
        run(lambda f, ix=questions: ix.get(f.plain_question, []), lambda f, e: 1 + near(f, e))
    unpinned = [e for e in live if not e.anchor]
    answers = index(unpinned, lambda e: e.answer or None)
    places = index(unpinned, lambda e: (e.path, e.context))
    run(lambda f: answers.get(f.plain_answer, []) if f.plain_answer else [], same_answer)
    run(lambda f: places.get((f.path, " › ".join(f.context)), []), in_place)
    left_facts = [i for i in range(len(facts)) if i not in found]
    left = [e for e in unpinned if e.guid not in claimed]
    if left_facts and left and len(left_facts) * len(left) <= ANYWHERE_BUDGET:
        run(lambda f: left, anywhere)
    return found


def resolve(
    deck: Deck,
    lock: Lock,
    now: Callable[[], int],
    stamps: Mapping[str, str] | None = None,
) -> tuple[Deck, Lock, Report]:
    """Give every fact its GUID and mtime; return the updated lock and what changed.

    The clock is read only when something changed, and every new mtime is later than the
    one it replaces, so Anki's default import applies exactly the edits."""
    facts = list(deck.facts)
    matched = match(facts, lock.entries)
    taken = {e.guid for e in lock.entries}
    clock: list[int] = []

    def tick(after: int = 0) -> int:
        if not clock:
            clock.append(now())
        return max(clock[0], after + 1)

    assigned: dict[tuple[str, int], Fact] = {}
    entries: list[LockEntry] = []
    changes: list[Change] = []
    for i, fact in enumerate(facts):
        entry = matched.get(i)
        digest = content_hash(fact)
        if entry is None:
            guid = new_guid(fact, taken)
            taken.add(guid)
            mtime, status = tick(), "new"
        else:
            guid = entry.guid
            same = entry.hash == digest
            mtime = entry.mtime if same else tick(entry.mtime)
            status = _status(fact, entry, same)
        done = fact.with_identity(guid, mtime)
        marked = fact.marked_text
        assigned[(fact.path, fact.index)] = done
        changes.append(Change(status, done, entry))
        entries.append(
            LockEntry(
                guid=guid,
                path=fact.path,
                context=" › ".join(fact.context),
                kind=fact.kind.value,
                question=fact.plain_question,
                answer=fact.plain_answer,
                hash=digest,
                mtime=mtime,
                anchor=fact.anchor,
                marked=marked if marked != fact.plain_question else "",
            )
        )
    claimed = {e.guid for e in matched.values()}
    for entry in lock.entries:
        if entry.guid in claimed:
            continue
        if not entry.removed:
            changes.append(Change("removed", None, entry))
        entries.append(dataclasses.replace(entry, removed=True))

    new_stamps: dict[str, tuple[str, int]] = dict(lock.stamps)
    stamps_changed = []
    for key, digest in sorted((stamps or {}).items()):
        old = lock.stamps.get(key)
        if old and old[0] == digest:
            continue
        new_stamps[key] = (digest, tick(old[1]) if old else FIRST_MTIME)
        if old:
            stamps_changed.append(key)

    notes = tuple(
        dataclasses.replace(n, facts=tuple(assigned[(f.path, f.index)] for f in n.facts))
        for n in deck.notes
    )
    stamped = {k: m for k, (_, m) in new_stamps.items()}
    new_deck = dataclasses.replace(deck, notes=notes, stamps=stamped)
    return new_deck, Lock(tuple(entries), new_stamps), Report(tuple(changes), tuple(stamps_changed))


def _status(fact: Fact, entry: LockEntry, same: bool) -> str:
    if entry.removed:
        return "restored"
    if same:
        return "unchanged"
    same_text = (fact.plain_question, fact.plain_answer) == (entry.question, entry.answer)
    same_place = fact.path == entry.path and " › ".join(fact.context) == entry.context
    if same_place:
        return "edited"
    return "moved" if same_text else "moved+edited"
