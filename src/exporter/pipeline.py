"""`build(config)`: the stages in order, and the change report. Knows no output format;
only the exporter registry does.

Outputs and the lock are written beside their final names and renamed into place only when
everything has succeeded, so a failed or interrupted build leaves the previous `dist/` and
lock as they were.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import operator
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import cache, exporters, kept, manifest, publish, resolved
from . import workers as workers_
from .config import BuildConfig
from .diagnostics import Diagnostic, Severity, error, has_errors, sort_unique, warning
from .identity import Report
from .model import Deck
from .reading import Examined, examine, read_lock, select_tags, worker_died
from .reading import load as load  # where scripts and tests have always found it
from .sources import display_path
from .store import Store, cache_root, of_note, open_store

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


CARD_COUNT = operator.attrgetter("card_count")


def counts_of(deck: Deck, store: Store | None = None) -> tuple[int, int, int]:
    """Notes, facts and cards; with a `store`, each note's count of cards is kept."""
    cards = sum(of_note(store, "cards", n, CARD_COUNT) for n in deck.notes)
    return len(deck.notes), sum(n.fact_count for n in deck.notes), cards


def no_match(deck: Deck, config: BuildConfig) -> Diagnostic:
    """`--tag` that selects nothing: name it and list the tags there are."""
    counts: dict[str, int] = {}
    for fact in deck.facts:
        for tag in fact.tags:
            counts[tag] = counts.get(tag, 0) + 1
    asked = ", ".join(f"#{t.lstrip('#')}" for t in config.tags)
    shown = sorted(counts, key=lambda t: (-counts[t], t))[:TAGS_LISTED]
    listing = ", ".join(f"#{t} ({counts[t]})" for t in shown)
    more = len(counts) - len(shown)
    if more:
        listing += f" and {more} more"
    close = difflib.get_close_matches(
        config.tags[0].lstrip("#").replace("/", "::"), list(counts), n=1
    )
    hint = f"did you mean #{close[0]}? " if close else ""
    hint += f"tags in these notes: {listing}" if counts else "no fact in these notes has a tag"
    return error(display_path(config.notes), 1, 1, f"no fact is tagged {asked}", hint)


TAGS_LISTED = 20


def build(
    config: BuildConfig,
    progress: Progress | None = None,
    now: Callable[[], int] = lambda: int(time.time()),
    on_wait: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build the outputs and update the lock, or change nothing: see `publish`. One
    build at a time per notes lock and output folder; `on_wait` hears when another is
    running. A dry run takes no lock: it writes nothing."""
    try:
        if config.dry_run:
            return _build_once(config, progress, now)
        with publish.exclusive([config.lock_path.parent, config.out], on_wait):
            publish.recover(config.out, config.lock_path)
            return _build_once(config, progress, now)
    except workers_.WorkerDied as exc:
        return BuildResult(None, (worker_died(config, exc),), ok=False)


def _build_once(
    config: BuildConfig, progress: Progress | None, now: Callable[[], int]
) -> BuildResult:
    """A build that reads unchanged notes only when asked (`kept`); if one of them
    cannot be read after all, the same build again, reading them at once (a note whose
    parse is lost is then parsed again). Nothing is kept from the first try."""
    try:
        return _build(config, progress, now)
    except kept.Lost:
        return _build(config, progress, now, lazily=False)


class Stop(Exception):
    """A stage that ends the build early, with its result."""

    def __init__(self, result: BuildResult) -> None:
        self.result = result


@dataclass(frozen=True)
class Plan:
    """What a build was asked for and what it reads: the chosen formats, the digests of
    every input (read once), and what the last build recorded."""

    config: BuildConfig
    store: Store
    chosen: tuple[exporters.Exporter, ...]
    content: str
    inputs: str
    state: cache.State | None
    lock: cache.LockBytes  # the lock as this build found it: read once

    @property
    def signatures(self) -> dict[str, str]:
        return {k: v for e in self.chosen for k, v in e.signatures(self.config).items()}


def _build(
    config: BuildConfig,
    progress: Progress | None,
    now: Callable[[], int],
    lazily: bool = True,
) -> BuildResult:
    """The stages in order; any of them may end the build with its result (`Stop`)."""
    store = open_store(config.out)
    store.discard()
    store.spool = not config.dry_run
    done = False
    try:
        plan = planned(config, store)
        up_to_date(plan)
        parsed = cache.ParsedNotes(config, store)
        snapshot = resolved.open_snapshot(config, store, plan.lock.digest, lazily)
        examined = examined_or_stop(plan, progress, parsed, snapshot)
        resolution = resolve(plan, examined, snapshot, now)
        subset = selected(plan, resolution, examined.diagnostics)
        advice = tuple(line for e in plan.chosen for line in e.advice(resolution.report))
        if config.dry_run:
            report, diags, counts = resolution.report, examined.diagnostics, counts_of(subset)
            return BuildResult(subset, diags, report=report, counts=counts, advice=advice)
        diags, outputs, lock = published(
            plan, subset, resolution, examined.diagnostics, progress
        )
        counts = counts_of(subset, store)
        diags, stale = remembered(plan, resolution, parsed, outputs, diags, counts, advice, lock)
        done = True
        return BuildResult(
            subset,
            diags,
            tuple(outputs),
            report=resolution.report,
            counts=counts,
            advice=(*advice, *stale),
        )
    except Stop as stop:
        return stop.result
    finally:
        if not done:
            store.discard()  # a failed, dry or interrupted build leaves the store as it was
        store.spool = False


def planned(config: BuildConfig, store: Store) -> Plan:
    chosen = tuple(exporters.chosen(config))
    names = exporters.asked(config)
    content = cache.sources_digest(config, store.digests)
    formats = {
        f"{name}:{k}": v
        for name, e in zip(names, chosen, strict=True)
        for k, v in e.fingerprint(config).items()
    }
    inputs = cache.input_digest(config, content, formats)
    lock = cache.read_lock_bytes(config.lock_path)
    return Plan(config, store, chosen, content, inputs, cache.load_state(config), lock)


def up_to_date(plan: Plan) -> None:
    """Stop with the last build's result when nothing it was made from has changed."""
    config, state = plan.config, plan.state
    asks_more = config.dry_run or config.forget_removed
    if not state or asks_more or not state.still_valid(cache.fingerprint(plan.inputs, plan.lock)):
        return
    raise Stop(
        BuildResult(
            None,
            tuple(
                Diagnostic(**{**w, "severity": Severity(w["severity"])})
                for w in state.summary.get("warnings", [])
            ),
            tuple(Path(p) for p in state.outputs),
            report=Report(),
            up_to_date=True,
            counts=tuple(state.summary["counts"]),
            advice=tuple(state.summary.get("advice", [])),
        )
    )


def examined_or_stop(
    plan: Plan,
    progress: Progress | None,
    parsed: cache.ParsedNotes,
    snapshot: resolved.Snapshot | None,
) -> Examined:
    examined = examine(plan.config, progress, parsed, snapshot)
    deck, diags = examined.deck, examined.diagnostics
    if (examined.lock is None and snapshot is None) or has_errors(diags, plan.config.strict):
        raise Stop(BuildResult(deck, diags, ok=False, counts=counts_of(deck)))
    return examined


def resolve(
    plan: Plan, examined: Examined, snapshot: resolved.Snapshot | None, now: Callable[[], int]
) -> resolved.Resolution:
    """Identities for every fact: the snapshot's for unchanged notes, else a full match
    against the lock."""
    config, deck, signatures = plan.config, examined.deck, plan.signatures
    if snapshot is not None:
        with contextlib.suppress(resolved.PieceMissing):
            return snapshot.resolve(deck, now, signatures)
    lock = examined.lock
    if lock is None:
        # A piece of the snapshot was lost: read the lock after all and match in full.
        # Notes that came resolved resolve again to the same facts.
        lock, lock_diags = read_lock(config)
        if lock is None:
            diags = (*examined.diagnostics, *lock_diags)
            raise Stop(BuildResult(deck, diags, ok=False, counts=counts_of(deck)))
    return resolved.full(deck, lock, now, signatures, config.scope, config.forget_removed)


def selected(
    plan: Plan, resolution: resolved.Resolution, diags: tuple[Diagnostic, ...]
) -> Deck:
    """The facts `--tag` asks for (every fact without it)."""
    config, deck = plan.config, resolution.deck
    subset = select_tags(deck, config.tags)
    if config.tags and not subset.facts:
        diags = sort_unique([*diags, no_match(deck, config)])
        report = resolution.report
        raise Stop(BuildResult(subset, diags, ok=False, report=report, counts=counts_of(subset)))
    return subset


def published(
    plan: Plan,
    subset: Deck,
    resolution: resolved.Resolution,
    diags: tuple[Diagnostic, ...],
    progress: Progress | None,
) -> tuple[tuple[Diagnostic, ...], list[Path], cache.LockBytes]:
    """Every format written beside its final names, then all renamed into place with the
    lock; or, on an error, nothing at all. Returns the lock as the build leaves it."""
    config = plan.config
    publication = publish.Publication(config.out)
    try:
        publication.folder(config.out)
        for exporter in plan.chosen:
            paths = {final: publication.stage(final) for final in exporter.targets(subset, config)}
            result = exporter.export(subset, config, paths, plan.store, progress)
            diags = sort_unique([*diags, *result.diagnostics])
        if has_errors(diags, config.strict):
            report = resolution.report
            raise Stop(
                BuildResult(subset, diags, ok=False, report=report, counts=counts_of(subset))
            )
        lock = plan.lock
        written = cache.written_lock(resolution.lock_text)
        if not lock.same_text(written) and resolution.has_facts:
            lock = written
            assert lock.data is not None
            publication.stage(config.lock_path).write_bytes(lock.data)
        outputs = [p for p in publication.targets if p != config.lock_path]
        publication.commit()
    finally:
        publication.abandon()
    return diags, outputs, lock


def remembered(
    plan: Plan,
    resolution: resolved.Resolution,
    parsed: cache.ParsedNotes,
    outputs: list[Path],
    diags: tuple[Diagnostic, ...],
    counts: tuple[int, int, int],
    advice: tuple[str, ...],
    lock: cache.LockBytes,
) -> tuple[tuple[Diagnostic, ...], list[str]]:
    """After the outputs are in place: the store's one commit, then the record of what
    was built. Failing here costs the next build time, not this one's outputs."""
    config = plan.config
    try:
        resolved.save(config, plan.store, resolution, parsed, lock.digest)
        plan.store.commit()
        stale = remember(plan, outputs, diags, counts, advice, lock)
    except OSError as exc:
        # The outputs and the lock are in place: say so, rather than "nothing changed".
        plan.store.discard()
        where = exc.filename or cache_root(config.out)
        diags = sort_unique(
            [
                *diags,
                warning(
                    display_path(Path(where)),
                    1,
                    1,
                    f"the outputs were written, but the build's records could not be "
                    f"saved: {exc.strerror or exc}",
                    "the next build redoes the work; check the output folder's free space",
                ),
            ]
        )
        return diags, []
    return diags, stale


def remember(
    plan: Plan,
    outputs: list[Path],
    diags: tuple[Diagnostic, ...],
    counts: tuple[int, int, int],
    advice: tuple[str, ...],
    lock: cache.LockBytes,
) -> list[str]:
    """Tidy the folders the exporters own, record what was built (for the stale-output
    report and the next no-op check), prune the store. Returns the stale-output lines."""
    config, state = plan.config, plan.state
    owned = [folder for e in plan.chosen for folder in e.folders(config)]
    if state:
        remove_orphans(config.out, owned, state, outputs)
    whole = [p for p in outputs if not any(f in p.parents for f in owned)]
    recorded = manifest.load(config.out)
    stale = manifest.stale(recorded, whole, plan.content)
    manifest.update(config.out, recorded, whole, plan.content, config.command())
    # Each format's areas are pruned when that format builds: importing the others to
    # ask would load WeasyPrint's templates into every deck build.
    areas = [cache.ParsedNotes.AREA, *(a for e in plan.chosen for a in e.cache_folders())]
    plan.store.prune(areas)
    # Warnings and advice are kept with the state, so an unchanged rebuild still shows
    # them (removed facts still in Anki, stale outputs).
    warnings = [{**dataclasses.asdict(d), "severity": d.severity.value} for d in diags]
    summary = {"counts": counts, "warnings": warnings, "advice": [*advice, *stale]}
    cache.save_state(config, cache.fingerprint(plan.inputs, lock), outputs, summary)
    return stale


def remove_orphans(out: Path, owned: list[Path], state: cache.State, outputs: list[Path]) -> None:
    """Delete files in the folders an exporter owns (the per-note sheets) that the
    previous build recorded and this one, which wrote into that folder too, did not: the
    sheets of notes that are gone. Whole outputs are never deleted (see `manifest`)."""
    out = out.resolve()
    keep = {p.resolve() for p in outputs}
    for folder in (f.resolve() for f in owned):
        if not any(folder in p.parents for p in keep):
            continue
        for old in map(Path, state.outputs):
            path = old.resolve()
            if path in keep or folder not in path.parents:
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            with contextlib.suppress(OSError):
                for parent in path.parents:
                    if parent in (out, folder):
                        break
                    parent.rmdir()
