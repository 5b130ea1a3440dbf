"""A third output format that exists only in the tests: one module, registered with one
line, that the pipeline, cache and command line must handle without naming it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from exporter.config import BuildConfig
from exporter.diagnostics import Diagnostic, warning
from exporter.exporters import Output
from exporter.identity import Report
from exporter.model import Deck
from exporter.store import Store


class PlainTextExporter:
    def targets(self, deck: Deck, config: BuildConfig) -> list[Path]:
        folder = config.out / "text"
        return [config.out / f"{config.name}.txt"] + [
            folder / Path(note.path).with_suffix(".txt") for note in deck.notes
        ]

    def folders(self, config: BuildConfig) -> dict[Path, str]:
        return {config.out / "text": "note text"}

    def cache_folders(self) -> list[str]:
        return ["text"]

    def fingerprint(self, config: BuildConfig) -> dict[str, str]:
        return {"width": "72"}

    def check(self, deck: Deck, config: BuildConfig) -> list[Diagnostic]:
        return [
            warning(f"{config.notes}/{f.path}", f.line, f.col, "too long for text", "shorten it")
            for f in deck.facts
            if len(f.plain_question) > 100
        ]

    def signatures(self, config: BuildConfig) -> dict[str, str]:
        return {}

    def advice(self, report: Report) -> list[str]:
        return [f"text: {len(report.of('new'))} new"] if report.of("new") else []

    def export(
        self,
        deck: Deck,
        config: BuildConfig,
        paths: Mapping[Path, Path],
        store: Store,
        progress: Callable[[str], None] | None = None,
    ) -> Output:
        whole, *per_note = self.targets(deck, config)
        paths[whole].write_text("\n".join(f.plain_question for f in deck.facts))
        for note, target in zip(deck.notes, per_note, strict=True):
            paths[target].write_text("\n".join(f.plain_question for f in note.facts))
        return Output()


EXPORTER = PlainTextExporter()
