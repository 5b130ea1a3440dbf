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
import re
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from .model import Cloze, Deck, Fact, Kind, content_digest, context_text, plain

LOCK_VERSION = 1
LOCK_ABOUT = "Anki identities of the facts in the notes. Commit it; do not edit it."
FIRST_MTIME = 1_700_000_000
SIMILAR_IN_PLACE = 0.5
SIMILAR_ANYWHERE = 0.8
SIMILAR_QUESTION = 0.6
# Pairs compared in the last, anywhere pass; beyond it (a mass rename and rewrite) the
# leftovers are new facts rather than a minutes-long build.
ANYWHERE_BUDGET = 250_000
# Below the same-file and same-section bonuses (0.02, 0.01): closeness only breaks ties.
TIE_WEIGHT = 0.004


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
    # A removed fact whose note is known to be gone from Anki (a sync deleted it, or the
    # person said they did): no longer pending.
    gone: bool = False

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
        if self.gone:
            data["gone"] = True
        return data


@dataclass(frozen=True)
class Lock:
    """`id` names this lock among every lock whose notes meet in one Anki collection:
    new GUIDs are salted with it, so two notes folders never make the same GUID, and a
    sync knows which notes are this lock's. Empty in a lock written before ids were."""

    entries: tuple[LockEntry, ...] = ()
    stamps: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    id: str = ""

    def dumps(self) -> str:
        """Sorted by file and GUID, one fact a line: a note edit changes few lines."""
        facts = sorted(self.entries, key=lambda e: (e.removed, e.path, e.guid))
        return compose(self.stamps, [entry_line(e) for e in facts], self.id)

    @classmethod
    def loads(cls, text: str) -> Lock:
        """The lock, checked field by field: a lock read wrongly gives every card a new
        identity, so anything but the shape this module writes is refused (`LockError`)."""
        try:
            data = json.loads(text, parse_constant=_no_constant)
        except ValueError as exc:
            raise LockError(f"not valid JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise LockError(f"the top level is a {type(data).__name__}, not an object")
        if data.get("version") != LOCK_VERSION:
            raise LockError(f"unsupported lock file version {data.get('version')!r}")
        facts = data.get("facts")
        if not isinstance(facts, list):
            raise LockError("it has no list of facts")
        if not facts:
            raise LockError("its list of facts is empty (a build never writes one so)")
        entries = tuple(entry_from_json(e, i) for i, e in enumerate(facts))
        stamps_data = data.get("stamps", {})
        if not isinstance(stamps_data, dict):
            raise LockError("'stamps' is not an object")
        stamps = {}
        for key, value in stamps_data.items():
            where = f"stamps.{key}"
            if not isinstance(value, dict):
                raise LockError(f"{where} is not an object")
            stamps[key] = (_field(value, "hash", str, where), _field(value, "mtime", int, where))
        lock_id = data.get("id", "")
        if not isinstance(lock_id, str) or not re.fullmatch(r"[0-9a-f]{0,32}", lock_id):
            raise LockError("'id' is not a lock id (hex digits)")
        return cls(entries, stamps, lock_id)


def entry_line(entry: LockEntry) -> str:
    """One fact's line of the lock file."""
    return "    " + json.dumps(entry.as_json(), ensure_ascii=False)


def compose(stamps: Mapping[str, tuple[str, int]], lines: list[str], lock_id: str = "") -> str:
    """The lock file's text from its stamps and its fact lines, already in order (live
    facts by file and GUID, then removed ones the same way): `Lock.dumps`, and the
    incremental build that keeps the lines of unchanged notes (`resolved`)."""
    shown = {k: {"hash": h, "mtime": m} for k, (h, m) in sorted(stamps.items())}
    named = {"id": lock_id} if lock_id else {}
    head = json.dumps(
        {"about": LOCK_ABOUT, "version": LOCK_VERSION, **named, "stamps": shown},
        indent=2,
        ensure_ascii=False,
    )
    joined = ",\n".join(lines)
    body = f'  "facts": [\n{joined}\n  ]' if lines else '  "facts": []'
    return f"{head[:-2]},\n{body}\n}}\n"


class LockError(ValueError):
    """The lock file is not one this build can trust."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a lock holds")


FIELDS: dict[str, type] = {
    "guid": str,
    "path": str,
    "context": str,
    "kind": str,
    "question": str,
    "answer": str,
    "hash": str,
    "mtime": int,
}
OPTIONAL_FIELDS: dict[str, type] = {
    "anchor": str,
    "removed": bool,
    "marked": str,
    "gone": bool,
}


def _field(data: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = data.get(name)
    # bool is an int to Python, never to the lock.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        shown = "missing" if name not in data else f"a {type(value).__name__}"
        raise LockError(f"{where}.{name} is {shown}, not a {kind.__name__}")
    return value


def entry_from_json(data: Any, i: int) -> LockEntry:
    """Entry `i` of the lock's facts, checked field by field."""
    where = f"facts[{i}]"
    if not isinstance(data, dict):
        raise LockError(f"{where} is not an object")
    unknown = sorted(set(data) - set(FIELDS) - set(OPTIONAL_FIELDS))
    if unknown:
        raise LockError(f"{where} has unknown fields {', '.join(unknown)}")
    values = {name: _field(data, name, kind, where) for name, kind in FIELDS.items()}
    for name, kind in OPTIONAL_FIELDS.items():
        if name in data:
            values[name] = _field(data, name, kind, where)
    if not values["guid"]:
        raise LockError(f"{where}.guid is empty")
    return LockEntry(**values)


def read_lock(path: Path) -> Lock:
    """The lock at `path`, or an empty one when there is none yet. Anything else that
    stands there (a dangling link, a folder, a pipe, unreadable bytes) is a `LockError`,
    never "no lock": that would give every card a new identity."""
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise LockError("it is a link to a file that does not exist") from None
        return Lock()
    except OSError as exc:
        raise LockError(f"it cannot be read ({exc.strerror})") from exc
    if not stat.S_ISREG(info.st_mode):
        raise LockError("it is not a regular file")
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise LockError(f"it cannot be read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise LockError(f"it is not UTF-8 text ({exc.reason})") from exc
    return Lock.loads(text)


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
    # Removed facts whose notes may still be in Anki: every build says so until a sync
    # deletes them or the person says they did.
    pending: tuple[LockEntry, ...] = ()

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


def guid_key(fact: Fact) -> str:
    """What a new GUID is made from: the pinned `^id`, else where the fact is and what
    it says."""
    if fact.anchor:
        return f"anchor:{fact.anchor}"
    return f"fact:{fact.path}:{fact.plain_question}:{fact.plain_answer}"


def lock_id_for(lock: Lock, facts: Iterable[Fact]) -> str:
    """The lock's id: its own, else one made from what it holds (its GUIDs, or for a
    first build the facts), so it is the same on every machine and for every
    build until it is written down, and differs between notes folders."""
    if lock.id:
        return lock.id
    basis = sorted(e.guid for e in lock.entries) or sorted(
        f"{f.path}:{f.plain_question}:{f.plain_answer}:{f.anchor}" for f in facts
    )
    return hashlib.sha256("\n".join(basis).encode()).hexdigest()[:16]


def new_guid(fact: Fact, taken: set[str], salt: str = "") -> str:
    """Deterministic, so two first builds of the same notes agree; salted with the
    lock's id, so the same `^id` or fact in two notes folders gets two GUIDs."""
    key = f"{salt}:{guid_key(fact)}" if salt else guid_key(fact)
    attempt = 0
    while True:
        raw = hashlib.sha256(f"{key}#{attempt}".encode()).digest()[:10]
        guid = base64.b32encode(raw).decode().rstrip("=").lower()
        if guid not in taken:
            return guid
        attempt += 1


def _similarity(a: str, b: str) -> float:
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < SIMILAR_IN_PLACE or matcher.quick_ratio() < SIMILAR_IN_PLACE:
        return 0.0
    return matcher.ratio()


def _closeness(a: str, b: str) -> float:
    """How alike two texts are, 0 to 1, without the cut-offs of `_similarity`: used only
    to choose among candidates that already match."""
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


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

    def index(pool: list[LockEntry], key: Callable[[LockEntry], Any]) -> dict[Any, list[LockEntry]]:
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

    def look_up(
        ix: dict[Any, list[LockEntry]], key: Callable[[Fact], Any]
    ) -> Callable[[Fact], list[LockEntry]]:
        """A pass's candidates: the entries `ix` files under the fact's key. Bound here,
        not by a lambda in the loop, so each pass reads its own pool's index."""
        return lambda f: ix.get(key(f), [])

    def near(fact: Fact, entry: LockEntry) -> float:
        """A small bonus for staying in the same file and section, to break ties."""
        return (0.02 if fact.path == entry.path else 0) + (
            0.01 if context_text(fact.context) == entry.context else 0
        )

    def same_question(f: Fact, e: LockEntry) -> float:
        """Questions repeat across sections ("Significance" under each treaty): among
        several, the one whose answer and heading path are closest is this fact's, so
        renaming both headings and editing both answers cannot swap their cards."""
        return (
            1
            + near(f, e)
            + TIE_WEIGHT * _closeness(f.plain_answer, e.answer)
            + TIE_WEIGHT * _closeness(context_text(f.context), e.context)
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
        # `index` files nothing under None or "" (anchors go in `or None`): a fact with
        # no anchor finds no candidate by anchor.
        run(look_up(anchors, lambda f: f.anchor), lambda f, e: 1.0)
        run(
            look_up(exact, lambda f: (f.plain_question, f.plain_answer)),
            lambda f, e: 1 + near(f, e),
        )
        run(look_up(questions, lambda f: f.plain_question), same_question)
    unpinned = [e for e in live if not e.anchor]
    answers = index(unpinned, lambda e: e.answer or None)
    places = index(unpinned, lambda e: (e.path, e.context))
    run(lambda f: answers.get(f.plain_answer, []) if f.plain_answer else [], same_answer)
    run(lambda f: places.get((f.path, context_text(f.context)), []), in_place)
    left_facts = [i for i in range(len(facts)) if i not in found]
    left = [e for e in unpinned if e.guid not in claimed]
    if left_facts and left and len(left_facts) * len(left) <= ANYWHERE_BUDGET:
        run(lambda f: left, anywhere)
    return found


def resolve(
    deck: Deck,
    lock: Lock,
    now: Callable[[], int],
    signatures: Mapping[str, str] | None = None,
    scope: str = "",
    taken: Iterable[str] = (),
) -> tuple[Deck, Lock, Report]:
    """Give every fact its GUID and mtime; return the updated lock and what changed.

    The clock is read only when something changed, and every new mtime is later than the
    one it replaces, so Anki's default import applies exactly the edits. A build of one
    folder of the notes (`scope`, "upsc/") matches only the lock's facts in it and keeps
    the others exactly as they were: they are not removed, only not read. `taken`: GUIDs
    in use beyond the lock's, which no new fact may be given (the unchanged notes an
    incremental build leaves out)."""
    facts = list(deck.facts)
    lock_id = lock_id_for(lock, facts)
    outside = [e for e in lock.entries if not e.path.startswith(scope)]
    inside = [e for e in lock.entries if e.path.startswith(scope)]
    matched = match(facts, inside)
    # Every GUID in use, gathered only when a fact needs a new one: a reworded fact
    # keeps its own, and gathering costs a look at every fact of the library.
    in_use: set[str] = set()
    gathered = False

    def claim(fact: Fact) -> str:
        nonlocal gathered
        if not gathered:
            in_use.update(e.guid for e in lock.entries)
            in_use.update(taken)
            gathered = True
        guid = new_guid(fact, in_use, lock_id)
        in_use.add(guid)
        return guid

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
            guid = claim(fact)
            mtime, status = tick(), "new"
        else:
            guid = entry.guid
            same = entry.hash == digest
            mtime = entry.mtime if same else tick(entry.mtime)
            status = _status(fact, entry, same)
        if entry is not None and entry.marked and fact.kind is Kind.CLOZE:
            fact = renumber(fact, entry.marked)
        done = fact.with_identity(guid, mtime)
        marked = fact.marked_text
        assigned[(fact.path, fact.index)] = done
        changes.append(Change(status, done, entry))
        entries.append(
            LockEntry(
                guid=guid,
                path=fact.path,
                context=context_text(fact.context),
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
    entries += outside
    for entry in inside:
        if entry.guid in claimed:
            continue
        if not entry.removed:
            changes.append(Change("removed", None, entry))
        entries.append(dataclasses.replace(entry, removed=True))

    new_stamps: dict[str, tuple[str, int]] = dict(lock.stamps)
    stamps_changed = []
    for key, digest in sorted((signatures or {}).items()):
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
    new_deck = dataclasses.replace(deck, notes=notes, type_mtimes=stamped)
    lock_after = Lock(tuple(entries), new_stamps, lock_id)
    report = Report(tuple(changes), tuple(stamps_changed), pending_removals(lock_after, scope))
    return new_deck, lock_after, report


def pending_removals(lock: Lock, scope: str = "") -> tuple[LockEntry, ...]:
    return tuple(e for e in lock.entries if e.removed and not e.gone and e.path.startswith(scope))


def forget(lock: Lock, guids: set[str]) -> Lock:
    """The lock with these removed facts marked gone from Anki."""
    entries = tuple(
        dataclasses.replace(e, gone=True) if e.removed and e.guid in guids else e
        for e in lock.entries
    )
    return Lock(entries, lock.stamps, lock.id)


MARKED_CLOZE = re.compile(r"\{\{c(\d+)::(.*?)(?:::[^{}]*)?\}\}")


def renumber(fact: Fact, marked: str) -> Fact:
    """Keep each deletion the build numbered on the number it had, so a card's review
    history stays with its blank: `marked` (the lock's text of the fact, `{{c1::…}}`)
    says which text had which number. A new deletion takes the next number never used
    in this fact; numbers the author wrote (`{{c2::…}}`) are kept as written."""
    before: dict[str, int] = {}
    for m in MARKED_CLOZE.finditer(marked):
        before.setdefault(" ".join(m.group(2).split()), int(m.group(1)))
    segments = [s for s in fact.text if isinstance(s, Cloze)]
    taken = {s.number for s in segments if s.numbered}
    highest = max([*before.values(), *taken, 0])
    chosen: dict[int, int] = {}  # index in fact.text → number
    for i, seg in enumerate(fact.text):
        if not isinstance(seg, Cloze) or seg.numbered:
            continue
        old = before.get(" ".join(plain(seg.html).split()))
        if old is not None and old not in taken:
            chosen[i] = old
            taken.add(old)
    for i, seg in enumerate(fact.text):
        if isinstance(seg, Cloze) and not seg.numbered and i not in chosen:
            highest = max(highest, *taken) + 1 if taken else highest + 1
            chosen[i] = highest
            taken.add(highest)
    text = tuple(
        dataclasses.replace(seg, number=chosen[i])
        if isinstance(seg, Cloze) and i in chosen
        else seg
        for i, seg in enumerate(fact.text)
    )
    return fact if text == fact.text else fact.with_text(text)


def _status(fact: Fact, entry: LockEntry, same: bool) -> str:
    if entry.removed:
        return "restored"
    if same:
        return "unchanged"
    same_text = (fact.plain_question, fact.plain_answer) == (entry.question, entry.answer)
    same_place = fact.path == entry.path and context_text(fact.context) == entry.context
    if same_place:
        return "edited"
    return "moved" if same_text else "moved+edited"
