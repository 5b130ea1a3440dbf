"""What one build is asked to do, independent of how it was asked (Click, tests, watch)."""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


def default_styles() -> Path:
    """The clone's own `styles/` (an editable install: edits show at once), else the copy
    a wheel carries inside the package."""
    here = Path(__file__).resolve().parent
    clone = here.parents[1] / "styles"
    return clone if (clone / "sheet.css").is_file() else here / "styles"


# The printed cards' sizes and the printer's turning edges (`exporters/cards/layout.py`).
CARD_SIZES = ("8-up", "3x5", "a7")
DUPLEX = ("long-edge", "short-edge")


@dataclass(frozen=True)
class BuildConfig:
    notes: Path = Path("notes")
    out: Path = Path("dist")
    # The formats asked for; none named means the default ones (`exporters.asked`).
    formats: tuple[str, ...] = ()
    strict: bool = False
    tags: tuple[str, ...] = ()
    self_test: bool = False
    dry_run: bool = False
    forget_removed: bool = False
    paper: str = "a4"
    # The printed cards (`--format cards`): eight to a sheet or index-card stock, and
    # which edge the printer turns the paper on for the backs.
    card_size: str = "8-up"
    duplex: str = "long-edge"
    workers: int | None = None
    styles: Path = field(default_factory=default_styles)
    # The part of `notes` this build reads ("upsc/gs2/"), when it was asked for a folder
    # inside a notes folder that has a lock: see `__post_init__`.
    scope: str = ""

    def __post_init__(self) -> None:
        """`--notes notes/upsc` inside a notes folder that already has a lock builds that
        part of it: the same identities and decks as the whole, one lock beside the
        whole, nothing written among the notes. `notes` then names the whole folder."""
        if self.scope:
            return
        asked = Path(os.path.abspath(self.notes))
        for folder in asked.parents:
            if folder.parent == folder:
                break
            if lock_beside(folder).exists() or lock_beside(folder).is_symlink():
                scope = asked.relative_to(folder).as_posix() + "/"
                up = os.path.join(self.notes, *[".."] * scope.count("/"))
                object.__setattr__(self, "notes", Path(os.path.normpath(up)))
                object.__setattr__(self, "scope", scope)
                return

    @property
    def worker_count(self) -> int:
        """Processes that render sheets in parallel: one per core unless told."""
        return max(1, self.workers if self.workers is not None else os.cpu_count() or 1)

    @property
    def source_name(self) -> str:
        return Path(os.path.abspath(self.notes)).name or "notes"

    @property
    def name(self) -> str:
        """Output file stem: the notes folder's name (`notes` → `dist/notes.apkg`), with
        the folder of a part build (`notes-upsc-gs2`) and the tags of a subset build
        (`notes--mains`), so neither overwrites the whole deck."""
        stem = self.source_name
        if self.scope:
            stem += "-" + "-".join(safe_words(self.scope.strip("/").split("/")))
        if not self.tags:
            return stem
        return f"{stem}--{'-'.join(safe_words(sorted({t.lstrip('#') for t in self.tags})))}"

    @property
    def root_deck(self) -> str:
        return self.source_name.replace("_", " ").replace("-", " ").title()

    def command(self) -> str:
        """The command line that asks for this build, for messages that say how to
        repeat it (a stale `--tag` deck, say)."""
        words = ["python build.py build"]
        notes = self.notes / self.scope if self.scope else self.notes
        if notes != Path("notes"):
            words.append(f"--notes {shlex.quote(str(notes))}")
        if self.out != Path("dist"):
            words.append(f"--out {shlex.quote(str(self.out))}")
        words += [f"--format {f}" for f in self.formats]
        words += [f"--tag {shlex.quote(t)}" for t in self.tags]
        if self.self_test:
            words.append("--self-test")
        if self.paper != "a4":
            words.append(f"--paper {self.paper}")
        if self.card_size != "8-up":
            words.append(f"--card-size {self.card_size}")
        if self.duplex != "long-edge":
            words.append(f"--duplex {self.duplex}")
        return " ".join(words)

    @property
    def lock_path(self) -> Path:
        """The lock sits beside the notes folder, not in it: the notes are only read. A
        notes folder that is a link keeps its lock beside the link, where it was made."""
        return lock_beside(Path(os.path.abspath(self.notes)))

    @property
    def read_from(self) -> Path:
        """The folder whose notes this build reads: the notes folder, or its part."""
        return self.notes / self.scope if self.scope else self.notes


def lock_beside(folder: Path) -> Path:
    return folder.parent / f"{folder.name}.lock.json"


def safe_words(words: list[str]) -> list[str]:
    return [re.sub(r"[^\w-]+", "_", w) for w in words]
