"""What one build is asked to do, independent of how it was asked (Click, tests, watch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

FORMATS = ("apkg", "pdf")


@dataclass(frozen=True)
class BuildConfig:
    notes: Path = Path("notes")
    out: Path = Path("dist")
    formats: tuple[str, ...] = FORMATS
    strict: bool = False
    tags: tuple[str, ...] = ()
    self_test: bool = False
    dry_run: bool = False
    styles: Path = field(default_factory=lambda: Path(__file__).resolve().parents[2] / "styles")

    @property
    def name(self) -> str:
        """Output file stem: the notes folder's name (`notes` → `dist/notes.apkg`)."""
        return self.notes.resolve().name or "notes"

    @property
    def root_deck(self) -> str:
        return self.name.replace("_", " ").replace("-", " ").title()

    @property
    def lock_path(self) -> Path:
        """The lock sits beside the notes folder, not in it: the notes are only read."""
        folder = self.notes.resolve()
        return folder.parent / f"{folder.name}.lock.json"
