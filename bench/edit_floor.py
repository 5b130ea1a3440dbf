"""The least a sheet rebuild after an edit can cost with this design: a fresh process that
imports the parser and WeasyPrint, reads the one edited note and renders its pages with
the sheet's templates, styles and fonts, and does nothing else (no other note, no
assembly, no cache). Any build that re-renders the edited note pays at least this.

    python -m bench.edit_floor NOTES NOTE.md OUT.pdf
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path


def render_one(notes: Path, note: Path, target: Path) -> int:
    """Render `note` alone; returns its page count."""
    from exporter.config import BuildConfig
    from exporter.exporters.pdf.renderer import Renderer
    from exporter.model import Deck
    from exporter.sources import read_source
    from exporter.syntax import parse_note

    source, _ = read_source(notes, note)
    assert source is not None, f"{note} cannot be read"
    parsed, _ = parse_note(source, notes)
    with tempfile.TemporaryDirectory() as out:
        config = BuildConfig(notes=notes, out=Path(out))
        renderer = Renderer(config, Deck(config.name, (parsed,)))
        with renderer.session():
            part = renderer.engine.render(renderer.note_html(parsed, False))
    target.write_bytes(part.pdf)
    return part.pages


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notes", type=Path)
    parser.add_argument("note", type=Path)
    parser.add_argument("target", type=Path)
    args = parser.parse_args(argv)
    render_one(args.notes, args.note, args.target)


if __name__ == "__main__":
    main()
