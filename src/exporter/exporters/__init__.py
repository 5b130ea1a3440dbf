"""The output formats: each is one module with an `Exporter`; `--format` reads the registry.

Exporters are looked up by name and imported only when asked for, so a deck-only build
never imports WeasyPrint.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..config import BuildConfig
from ..diagnostics import Diagnostic
from ..identity import Report
from ..model import Deck


@dataclass(frozen=True)
class Output:
    diagnostics: tuple[Diagnostic, ...] = ()


class Exporter(Protocol):
    def targets(self, deck: Deck, config: BuildConfig) -> list[Path]:
        """The files this format writes, by their final names."""
        ...

    def signatures(self, config: BuildConfig) -> dict[str, str]:
        """Named hashes of what the output looks like apart from the notes (note types,
        templates); a changed one gets a newer timestamp in the lock."""
        ...

    def advice(self, report: Report) -> list[str]:
        """What the person should do about this build's changes in this output (Anki
        cannot delete notes on import, for one)."""
        ...

    def export(
        self,
        deck: Deck,
        config: BuildConfig,
        paths: Mapping[Path, Path],
        progress: Callable[[str], None] | None = None,
    ) -> Output:
        """Write each target to `paths[target]`, a temporary file the pipeline renames
        into place once every format has succeeded; report long work to `progress`."""
        ...


REGISTRY = {"apkg": "exporter.exporters.anki", "pdf": "exporter.exporters.pdf"}


def get(name: str) -> Exporter:
    return importlib.import_module(REGISTRY[name]).EXPORTER
