"""What one build is asked to do, independent of how it was asked (Click, tests, watch)."""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from .exporters import NAMES


def default_styles() -> Path:
    """The clone's own `styles/` (an editable install: edits show at once), else the copy
    a wheel carries inside the package."""
    here = Path(__file__).resolve().parent
    clone = here.parents[1] / "styles"
    return clone if (clone / "sheet.css").is_file() else here / "styles"


@dataclass(frozen=True)
class BuildConfig:
    notes: Path = Path("notes")
    out: Path = Path("dist")
    formats: tuple[str, ...] = NAMES
    strict: bool = False
    tags: tuple[str, ...] = ()
    self_test: bool = False
    dry_run: bool = False
    paper: str = "a4"
    workers: int | None = None
    styles: Path = field(default_factory=default_styles)

    @property
    def worker_count(self) -> int:
        """Processes that render sheets in parallel: one per core unless told."""
        return max(1, self.workers if self.workers is not None else os.cpu_count() or 1)

    @property
    def source_name(self) -> str:
        return self.notes.resolve().name or "notes"

    @property
    def name(self) -> str:
        """Output file stem: the notes folder's name (`notes` → `dist/notes.apkg`), with
        the tags of a subset build, so a subset never overwrites the whole deck."""
        if not self.tags:
            return self.source_name
        words = sorted({t.lstrip("#") for t in self.tags})
        suffix = "-".join(re.sub(r"[^\w-]+", "_", t) for t in words)
        return f"{self.source_name}--{suffix}"

    @property
    def root_deck(self) -> str:
        return self.source_name.replace("_", " ").replace("-", " ").title()

    def command(self) -> str:
        """The command line that asks for this build, for messages that say how to
        repeat it (a stale `--tag` deck, say)."""
        words = ["python build.py build"]
        if self.notes != Path("notes"):
            words.append(f"--notes {shlex.quote(str(self.notes))}")
        if self.out != Path("dist"):
            words.append(f"--out {shlex.quote(str(self.out))}")
        if set(self.formats) != set(NAMES):
            words += [f"--format {f}" for f in self.formats]
        words += [f"--tag {shlex.quote(t)}" for t in self.tags]
        if self.self_test:
            words.append("--self-test")
        if self.paper != "a4":
            words.append(f"--paper {self.paper}")
        return " ".join(words)

    @property
    def lock_path(self) -> Path:
        """The lock sits beside the notes folder, not in it: the notes are only read."""
        folder = self.notes.resolve()
        return folder.parent / f"{self.source_name}.lock.json"
