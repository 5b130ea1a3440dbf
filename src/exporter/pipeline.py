"""`build(config)`: the stages in order, and the change report. Knows no output format;
only the exporter registry does.

Outputs and the lock are written beside their final names and renamed into place only when
everything has succeeded, so a failed or interrupted build leaves the previous `dist/` and
lock as they were.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import cache, exporters, identity
from .config import BuildConfig
from .diagnostics import Diagnostic, Severity, error, has_errors, sort_unique, warning
from .identity import Lock, Report
from .model import Deck, Note
from .sources import Source, display_path, find_notes, read_source
from .syntax import parse_note

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildResult:
    deck: Deck | None
    diagnostics: tuple[Diagnostic, ...]
    outputs: tuple[Path, ...] = ()
    ok: bool = True
    report: Report | None = None
    up_to_date: bool = False
    counts: tuple[int, int, int] = (0, 0, 0)
    advice: tuple[str, ...] = ()


def counts_of(deck: Deck) -> tuple[int, int, int]:
    return len(deck.notes), len(deck.facts), deck.card_count


def load(
    config: BuildConfig,
    progress: Progress | None = None,
    parsed: cache.ParsedNotes | None = None,
) -> tuple[Deck, list[Diagnostic]]:
    """Read and parse every note; never raises for a note's fault. Notes come from
    `parsed` when unchanged, and new parses are handed to it; it writes them only when
    told (`build` after success; `check` and dry runs never)."""
    root = config.notes
    diagnostics: list[Diagnostic] = []
    if not root.is_dir():
        diagnostics.append(
            error(
                display_path(root),
                1,
                1,
                "notes folder not found",
                "pass --notes DIR or create notes/",
            )
        )
        return Deck(config.name), diagnostics
    paths = find_notes(root)
    if not paths:
        diagnostics.append(
            error(
                display_path(root),
                1,
                1,
                "no notes found (no *.md files)",
                "add a Markdown note, e.g. notes/topic.md",
            )
        )
    parsed = parsed or cache.ParsedNotes(config)
    sources = []
    for path in paths:
        source, diags = read_source(root, path)
        diagnostics.extend(diags)
        if source is not None:
            sources.append((source, parsed.key(source.rel, source.digest), not diags))
    notes: list[Note | None] = [parsed.get(key) for _, key, _ in sources]
    todo = [i for i, note in enumerate(notes) if note is None]
    args = (root, config.root_deck, root.resolve().name)
    for i, (entry, diags) in zip(todo, parse_all([sources[i][0] for i in todo], args), strict=True):
        source, key, clean = sources[i]
        if progress:
            progress(f"read {source.rel}")
        diagnostics.extend(diags)
        if entry is not None:
            notes[i] = cache.read_entry(entry)
            if clean and not diags:
                parsed.put(key, entry)
    deck_notes = tuple(n for n in notes if n is not None)
    deck = Deck(config.name, deck_notes)
    diagnostics.extend(check_deck(deck, root))
    return deck, diagnostics


# Parsing in worker processes pays for their start-up (about a fifth of a second each)
# only with many notes to parse.
PARALLEL_PARSE_FROM = 24


def parse_all(
    sources: list[Source], args: tuple[Path, str, str]
) -> list[tuple[bytes | None, list[Diagnostic]]]:
    workers = min(os.cpu_count() or 1, len(sources) // (PARALLEL_PARSE_FROM // 2) or 1)
    if workers > 1 and len(sources) >= PARALLEL_PARSE_FROM:
        # Forking is nearly free, but only safe while this is the only thread (watch
        # runs a file-watcher thread): then start clean processes instead.
        alone = threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if alone else "spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            chunk = max(1, len(sources) // (workers * 4))
            return list(pool.map(parse_safely, sources, [args] * len(sources), chunksize=chunk))
    return [parse_safely(source, args) for source in sources]


def parse_safely(
    source: Source, args: tuple[Path, str, str]
) -> tuple[bytes | None, list[Diagnostic]]:
    """The note as a cache entry (see `cache.note_entry`), and its problems. A parser bug
    must not cost the user the other notes, nor show a traceback."""
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


def check_deck(deck: Deck, root: Path) -> list[Diagnostic]:
    """Problems that only show across notes: repeated anchors and repeated facts."""
    out: list[Diagnostic] = []
    seen_anchor: dict[str, str] = {}
    seen_fact: dict[tuple[str, str], str] = {}
    shown = {note.path: display_path(root / note.path) for note in deck.notes}
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


def select_tags(deck: Deck, tags: tuple[str, ...]) -> Deck:
    """Keep the facts carrying any of `tags` (a parent tag selects its children)."""
    if not tags:
        return deck
    wanted = {t.lstrip("#").replace("/", "::") for t in tags}

    def keep(fact_tags: tuple[str, ...]) -> bool:
        return any(t == w or t.startswith(w + "::") for t in fact_tags for w in wanted)

    notes = []
    for note in deck.notes:
        facts = tuple(f for f in note.facts if keep(f.tags))
        if facts:
            notes.append(dataclasses.replace(note, facts=facts))
    return dataclasses.replace(deck, notes=tuple(notes))


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
                f"lock file is unreadable: {exc}",
                "restore it from version control; deleting it gives every card a new "
                "identity (duplicates in Anki)",
            )
        ]


def build(
    config: BuildConfig,
    progress: Progress | None = None,
    now: Callable[[], int] = lambda: int(time.time()),
) -> BuildResult:
    inputs = cache.input_digest(config)
    fingerprint = cache.fingerprint(config, inputs)
    state = cache.load_state(config)
    if state and not config.dry_run and state.still_valid(fingerprint):
        return BuildResult(
            None,
            tuple(
                Diagnostic(**{**w, "severity": Severity(w["severity"])})
                for w in state.summary.get("warnings", [])
            ),
            tuple(Path(p) for p in state.outputs),
            report=Report(),
            up_to_date=True,
            counts=tuple(state.summary["counts"]),
        )

    parsed = cache.ParsedNotes(config)
    deck, diagnostics = load(config, progress, parsed)
    if not (config.styles / "sheet.css").is_file():
        diagnostics.append(
            error(
                display_path(config.styles),
                1,
                1,
                "the styles folder is missing",
                "restore styles/ in the clone (git checkout styles), or reinstall the package",
            )
        )
    lock, lock_diags = read_lock(config)
    diags = sort_unique([*diagnostics, *lock_diags])
    if lock is None or has_errors(diags, config.strict):
        return BuildResult(deck, diags, ok=False, counts=counts_of(deck))

    chosen = [exporters.get(name) for name in config.formats]
    stamps = {k: v for e in chosen for k, v in e.signatures(config).items()}
    deck, new_lock, report = identity.resolve(deck, lock, now, stamps)
    subset = select_tags(deck, config.tags)
    advice = tuple(line for e in chosen for line in e.advice(report))
    if config.dry_run:
        return BuildResult(subset, diags, report=report, counts=counts_of(subset), advice=advice)

    config.out.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for exporter in chosen:
            for final in exporter.targets(subset, config):
                staged.append((stage(final), final))
            result = exporter.export(subset, config, {f: t for t, f in staged}, progress)
            diags = sort_unique([*diags, *result.diagnostics])
        if has_errors(diags, config.strict):
            return BuildResult(subset, diags, ok=False, report=report, counts=counts_of(subset))
        lock_text = new_lock.dumps()
        old_text = config.lock_path.read_text("utf-8") if config.lock_path.exists() else None
        if lock_text != old_text:
            tmp = stage(config.lock_path)
            tmp.write_text(lock_text, encoding="utf-8")
            staged.append((tmp, config.lock_path))
        for tmp, final in staged:
            os.chmod(tmp, 0o644)
            os.replace(tmp, final)
    finally:
        for tmp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    outputs = [final for _, final in staged if final != config.lock_path]
    if state:
        remove_stale(config, state, outputs)
    counts = counts_of(subset)
    parsed.flush()
    cache.prune(config.out / ".cache", time.time())
    # Warnings are kept with the state, so an unchanged rebuild still shows them.
    warnings = [{**dataclasses.asdict(d), "severity": d.severity.value} for d in diags]
    summary = {"counts": counts, "warnings": warnings}
    cache.save_state(config, cache.fingerprint(config, inputs), outputs, summary)
    return BuildResult(subset, diags, tuple(outputs), report=report, counts=counts, advice=advice)


def remove_stale(config: BuildConfig, state: cache.State, outputs: list[Path]) -> None:
    """Delete the per-note sheets of notes that are gone: files under `sheets/` that the
    previous build recorded and this one, which wrote sheets too, did not. Whole outputs
    of formats not built this time are left alone."""
    out = config.out.resolve()
    sheets = out / "sheets"
    keep = {p.resolve() for p in outputs}
    if not any(sheets in p.parents for p in keep):
        return
    for old in map(Path, state.outputs):
        path = old.resolve()
        if path in keep or sheets not in path.parents:
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        with contextlib.suppress(OSError):
            for parent in path.parents:
                if parent == out:
                    break
                parent.rmdir()


def stage(final: Path) -> Path:
    """A temporary file beside `final`, so the rename into place is atomic."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    os.close(fd)
    return Path(tmp)
