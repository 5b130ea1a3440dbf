"""The output formats: each is one module with an `Exporter`; `--format` reads the registry.

Each exporter owns everything about its format: the files and folders it writes, the
cache folders it keeps, the options and library versions its outputs depend on, and the
problems only it can see (a character no sheet font has). The pipeline, the cache and the
command line ask the exporters and name no format, so adding a format is one module and
one registry line.

Exporters are looked up by name and imported only when asked for, so a deck-only build
never imports WeasyPrint.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..config import BuildConfig
    from ..diagnostics import Diagnostic
    from ..identity import Report
    from ..model import Deck
    from ..store import Store


@dataclass(frozen=True)
class Output:
    diagnostics: tuple[Diagnostic, ...] = ()


class Exporter(Protocol):
    def targets(self, deck: Deck, config: BuildConfig) -> list[Path]:
        """The files this format writes, by their final names."""
        ...

    def folders(self, config: BuildConfig) -> dict[Path, str]:
        """Output folders this format owns whole (one file per note, say), with what one
        of their files is called: a file in one that an earlier build wrote and this
        one did not is stale and removed, and the command line counts their files
        ("100 note sheets in dist/sheets/") once they are many."""
        ...

    def cache_folders(self) -> list[str]:
        """The store's areas this format keeps (see `store`), pruned when it builds."""
        ...

    def fingerprint(self, config: BuildConfig) -> dict[str, str]:
        """Everything besides the notes, styles and lock that this format's outputs
        depend on (options, bundled fonts, library versions): a change rebuilds."""
        ...

    def check(self, deck: Deck, config: BuildConfig) -> list[Diagnostic]:
        """Problems this format would meet, found without writing anything, so `check`
        reports everything `build` would."""
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
        store: Store,
        progress: Callable[[str], None] | None = None,
    ) -> Output:
        """Write each target to `paths[target]`, a temporary file the pipeline renames
        into place once every format has succeeded; report long work to `progress`. What
        the format keeps between builds goes in its areas of `store`, staged: the
        pipeline writes them once the build has succeeded."""
        ...


REGISTRY = {
    "apkg": "exporter.exporters.anki",
    "pdf": "exporter.exporters.pdf",
    "cards": "exporter.exporters.cards",
}
NAMES = tuple(REGISTRY)
# What a build writes when no `--format` is named: the printed cards are asked for.
DEFAULT = ("apkg", "pdf")


def get(name: str) -> Exporter:
    return importlib.import_module(REGISTRY[name]).EXPORTER


def chosen(config: BuildConfig) -> list[Exporter]:
    """The exporters a build writes: those asked for, else the default ones."""
    return [get(name) for name in asked(config)]


def asked(config: BuildConfig) -> tuple[str, ...]:
    """The names of the formats a build writes."""
    return config.formats or DEFAULT


def versions(*distributions: str) -> dict[str, str]:
    """Installed versions of the libraries an output is made with, for `fingerprint`:
    an upgrade of one can change the output's bytes. Read from the package metadata, so
    a rebuild with nothing to do imports none of them."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in distributions:
        try:
            out[f"version:{name}"] = version(name)
        except PackageNotFoundError:
            out[f"version:{name}"] = "missing"
    return out


def missing_styles(config: BuildConfig, *names: str) -> list[Diagnostic]:
    """An error when a style file an exporter reads is not in the styles folder."""
    from ..diagnostics import error
    from ..sources import display_path

    missing = [n for n in names if not (config.styles / n).is_file()]
    if not missing:
        return []
    return [
        error(
            display_path(config.styles),
            1,
            1,
            f"the styles folder is missing {', '.join(missing)}",
            "restore styles/ in the clone (git checkout styles), or reinstall the package",
        )
    ]
