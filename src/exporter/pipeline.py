"""`build(config)`: the stages in order. Knows no output format; only the registry does.

Outputs are written beside their final names and renamed into place only when every
format has succeeded, so a failed or interrupted build leaves the previous `dist/` as it
was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import exporters, identity
from .config import BuildConfig
from .diagnostics import Diagnostic, error, has_errors, sort_unique, warning
from .model import Deck, Note
from .sources import display_path, find_notes, read_source
from .syntax import parse_note

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildResult:
    deck: Deck | None
    diagnostics: tuple[Diagnostic, ...]
    outputs: tuple[Path, ...] = ()
    ok: bool = True
    notes_read: int = 0
    messages: tuple[str, ...] = field(default_factory=tuple)


def load(config: BuildConfig, progress: Progress | None = None) -> tuple[Deck, list[Diagnostic]]:
    """Read and parse every note; never raises for a note's fault."""
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
    notes: list[Note] = []
    for path in paths:
        if progress:
            progress(path.relative_to(root).as_posix())
        source, diags = read_source(root, path)
        diagnostics.extend(diags)
        if source is None:
            continue
        note, diags = parse_note(source, root, config.root_deck, root.resolve().name)
        diagnostics.extend(diags)
        notes.append(note)
    deck = Deck(config.name, tuple(notes))
    diagnostics.extend(check_deck(deck, root))
    return deck, diagnostics


def check_deck(deck: Deck, root: Path) -> list[Diagnostic]:
    """Problems that only show across notes: repeated anchors and repeated facts."""
    out: list[Diagnostic] = []
    seen_anchor: dict[str, str] = {}
    seen_fact: dict[tuple[str, str], str] = {}
    for fact in deck.facts:
        where = display_path(root / fact.path)
        if fact.anchor:
            first = seen_anchor.setdefault(fact.anchor, f"{where}:{fact.line}")
            if first != f"{where}:{fact.line}":
                out.append(
                    error(
                        where,
                        fact.line,
                        fact.col,
                        f"^{fact.anchor} is used twice",
                        f"first used at {first}; give each fact its own id",
                    )
                )
        key = (fact.plain_question, fact.plain_answer)
        first = seen_fact.setdefault(key, f"{where}:{fact.line}")
        if first != f"{where}:{fact.line}":
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
    wanted = {t.replace("/", "::") for t in tags}

    def keep(fact_tags: tuple[str, ...]) -> bool:
        return any(t == w or t.startswith(w + "::") for t in fact_tags for w in wanted)

    notes = []
    for note in deck.notes:
        facts = tuple(f for f in note.facts if keep(f.tags))
        if facts:
            notes.append(dataclasses.replace(note, facts=facts))
    return dataclasses.replace(deck, notes=tuple(notes))


def build(config: BuildConfig, progress: Progress | None = None) -> BuildResult:
    deck, diagnostics = load(config, progress)
    diags = sort_unique(diagnostics)
    if has_errors(diags, config.strict):
        return BuildResult(deck, diags, ok=False, notes_read=len(deck.notes))
    deck = select_tags(identity.assign(deck), config.tags)
    if config.dry_run:
        return BuildResult(deck, diags, notes_read=len(deck.notes))
    outputs: list[tuple[Path, Path]] = []
    config.out.mkdir(parents=True, exist_ok=True)
    try:
        for name in config.formats:
            exporter = exporters.get(name)
            final = config.out / f"{config.name}{exporter.suffix}"
            fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=config.out)
            os.close(fd)
            outputs.append((Path(tmp), final))
            result = exporter.export(deck, config, Path(tmp))
            diags = sort_unique([*diags, *result.diagnostics])
        if has_errors(diags, config.strict):
            return BuildResult(deck, diags, ok=False, notes_read=len(deck.notes))
        for tmp, final in outputs:
            os.chmod(tmp, 0o644)
            os.replace(tmp, final)
    finally:
        for tmp, _ in outputs:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    return BuildResult(
        deck, diags, tuple(final for _, final in outputs), notes_read=len(deck.notes)
    )
