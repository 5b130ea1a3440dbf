"""The output formats: each is one module with an `Exporter`; `--format` reads the registry.

Exporters are looked up by name and imported only when asked for, so a deck-only build
never imports WeasyPrint.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..config import BuildConfig
from ..diagnostics import Diagnostic
from ..model import Deck


@dataclass(frozen=True)
class Output:
    path: Path
    diagnostics: tuple[Diagnostic, ...] = ()


class Exporter(Protocol):
    suffix: str

    def export(self, deck: Deck, config: BuildConfig, target: Path) -> Output:
        """Write one output to `target` (a temporary path the pipeline renames into place)."""
        ...


REGISTRY = {"apkg": "exporter.exporters.anki", "pdf": "exporter.exporters.pdf"}


def get(name: str) -> Exporter:
    return importlib.import_module(REGISTRY[name]).EXPORTER
