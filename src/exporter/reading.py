"""Reading the notes for a build or a check: finding them (`selection` leaves some out),
parsing the changed ones (in worker processes when there are many), the problems across
notes, and the lock. Never raises for a note's fault.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from . import across, cache, embeds, exporters, identity, resolved, selection
from . import workers as workers_
from .config import BuildConfig
from .diagnostics import Diagnostic, error, sort_unique
from .identity import Lock
from .model import Deck, Fact, Note
from .sources import Source, display_path, find_notes, read_source
from .store import open_store

Progress = Callable[[str], None]


class Loaded(NamedTuple):
    deck: Deck
    diagnostics: list[Diagnostic]
    left_out: int = 0  # notes the person left out (`selection`)


def load(
    config: BuildConfig,
    progress: Progress | None = None,
    parsed: cache.ParsedNotes | None = None,
    snapshot: resolved.Snapshot | None = None,
) -> Loaded:
    """Read and parse every note; never raises for a note's fault. Notes come from
    `parsed` when unchanged, and new parses are handed to it; it writes them only when
    told (`build` after success; `check` and dry runs never). With a `snapshot` an
    unchanged note comes already resolved, and the snapshot keeps its piece."""
    root = config.notes
    diagnostics: list[Diagnostic] = []
    if not config.read_from.is_dir():
        diagnostics.append(
            error(
                display_path(config.read_from),
                1,
                1,
                "notes folder not found",
                "pass --notes DIR or create notes/",
            )
        )
        return Loaded(Deck(config.name), diagnostics)
    rules, rule_diags = selection.read(config.notes)
    paths, unreadable, left_out = find_notes(config.read_from, rules.leaves_out, config.notes)
    diagnostics.extend([*rule_diags, *unreadable])
    if not paths and not unreadable and not rule_diags:
        diagnostics.append(
            error(
                display_path(config.read_from),
                1,
                1,
                f"no notes found (no *.md files{left_out_text(left_out)})",
                "add a Markdown note, e.g. notes/topic.md",
            )
        )
    parsed = parsed or cache.ParsedNotes(config, open_store(config.out))
    notes: list[Note | None] = []
    sources: dict[int, tuple[Source, str, bool]] = {}
    for path in paths:
        note, read = known_note(root, path, parsed, snapshot)
        notes.append(note)
        if note is not None:
            continue
        source, diags = read_source(root, path, read)
        if source is not None and source.meta.get("exporter") is False:
            notes.pop()  # `exporter: false` in its front matter
            left_out += 1
            continue
        diagnostics.extend(diags)
        if source is not None:
            sources[len(notes) - 1] = (source, parsed.key(source.rel, source.digest), not diags)
    todo = list(sources)
    args = (root, config.root_deck, root.resolve().name)
    for i, (entry, diags) in zip(todo, parse_all([sources[i][0] for i in todo], args), strict=True):
        source, key, clean = sources[i]
        if progress:
            progress(f"read {source.rel}")
        diagnostics.extend(diags)
        if entry is not None:
            decoded = cache.read_entry(entry)
            notes[i] = decoded[0]
            if clean and not diags:
                parsed.put(key, entry, decoded)
                parsed.clean[source.rel] = key
    deck_notes = tuple(n for n in notes if n is not None)
    deck, embed_diags = embeds.expand(Deck(config.name, deck_notes), root)
    diagnostics.extend(embed_diags)
    diagnostics.extend(across.check(deck, root, parsed.store))
    return Loaded(deck, diagnostics, left_out)


def left_out_text(count: int) -> str:
    """", 3 left out" for the messages that count notes; nothing when none was."""
    return f", {count} left out" if count else ""


def known_note(
    root: Path, path: Path, parsed: cache.ParsedNotes, snapshot: resolved.Snapshot | None
) -> tuple[Note | None, tuple[bytes, str] | None]:
    """A note read before, known by its bytes alone, so its text is not decoded nor its
    front matter read again: the same bytes read the same way, and only notes that read
    without a problem are kept. With a `snapshot` it comes resolved. Else None, with the
    bytes and digest when they were read here, so the note is not read twice."""
    try:
        digest, data = parsed.digests.read(path)
    except OSError:
        return None, None  # reading it again reports why
    rel = path.relative_to(root).as_posix()
    key = parsed.key(rel, digest)
    note = (snapshot and snapshot.note(rel, key, parsed)) or parsed.get(key)
    if note is not None:
        parsed.clean[rel] = key
    return note, (data, digest) if data is not None else None


# Parsing in worker processes pays for their start-up (about a fifth of a second each)
# only with many notes to parse.
PARALLEL_PARSE_FROM = 24


def parse_all(
    sources: list[Source], args: tuple[Path, str, str]
) -> list[tuple[bytes | None, list[Diagnostic]]]:
    workers = min(os.cpu_count() or 1, len(sources) // (PARALLEL_PARSE_FROM // 2) or 1)
    if workers > 1 and len(sources) >= PARALLEL_PARSE_FROM:
        from . import syntax  # noqa: F401  loaded once here, so forked workers have it

        # Forking is nearly free, but only safe while this is the only thread (watch
        # runs a file-watcher thread): then start clean processes instead.
        alone = threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
        chunk = max(1, len(sources) // (workers * 4))
        work = functools.partial(parse_safely, args=args)
        method = "fork" if alone else "spawn"
        return list(workers_.pool_map(work, sources, workers, method, chunksize=chunk))
    return [parse_safely(source, args) for source in sources]


def parse_safely(
    source: Source, args: tuple[Path, str, str]
) -> tuple[bytes | None, list[Diagnostic]]:
    """The note as a cache entry (see `cache.note_entry`), and its problems. A parser bug
    must not cost the user the other notes, nor show a traceback."""
    from .syntax import parse_note  # here: a build with nothing to parse never loads Markdown

    try:
        note, diags = parse_note(source, *args)
        return cache.note_entry(note), diags
    except Exception as exc:
        return None, [
            error(
                source.display,
                1,
                1,
                f"internal error while reading this note: {exc!r}",
                "please report it with the note attached; the other notes were read",
            )
        ]


def select_tags(deck: Deck, tags: tuple[str, ...]) -> Deck:
    """Keep the facts carrying any of `tags` (a parent tag selects its children)."""
    if not tags:
        return deck
    wanted = {t.lstrip("#").replace("/", "::") for t in tags}

    def keep(fact: Fact) -> bool:
        return any(t == w or t.startswith(w + "::") for t in fact.tags for w in wanted)

    return deck.keeping(keep)


def read_lock(config: BuildConfig) -> tuple[Lock | None, list[Diagnostic]]:
    path = config.lock_path
    try:
        return identity.read_lock(path), []
    except (ValueError, TypeError, KeyError) as exc:
        return None, [
            error(
                display_path(path),
                1,
                1,
                f"the lock file cannot be used: {exc}",
                "nothing was built and the lock is untouched; restore it from version "
                f"control (git checkout -- {display_path(path)}) or a backup. Only if it "
                "is lost for good, move it away and build again: every card then gets a "
                "new identity and Anki duplicates them",
            )
        ]


@dataclass(frozen=True)
class Examined:
    """The notes as read, every problem a build would meet before writing, and the lock."""

    deck: Deck
    diagnostics: tuple[Diagnostic, ...]
    lock: Lock | None
    left_out: int = 0


def examine(
    config: BuildConfig,
    progress: Progress | None = None,
    parsed: cache.ParsedNotes | None = None,
    snapshot: resolved.Snapshot | None = None,
) -> Examined:
    """Everything `check` reports and `build` checks before it writes: the notes, each
    chosen format's own problems, and the lock. One function, so the two never differ.
    With a `snapshot` the lock is not read: the snapshot was made with this very lock."""
    try:
        deck, diagnostics, left_out = load(config, progress, parsed, snapshot)
    except workers_.WorkerDied as exc:
        return Examined(Deck(config.name), (worker_died(config, exc),), None)
    for exporter in exporters.chosen(config):
        diagnostics.extend(exporter.check(deck, config))
    lock, lock_diags = (None, []) if snapshot else read_lock(config)
    return Examined(deck, sort_unique([*diagnostics, *lock_diags]), lock, left_out)


def worker_died(config: BuildConfig, exc: workers_.WorkerDied) -> Diagnostic:
    return error(
        display_path(config.read_from),
        1,
        1,
        f"{exc}; nothing was changed",
        "build again; if it happens again, close other programs or build a part of the "
        "notes at a time (--notes notes/part)",
    )
