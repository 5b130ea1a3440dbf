"""The least a sheet rebuild after an edit can cost with this design: a fresh process that
imports the parser and WeasyPrint, reads the one edited note and renders its pages with
the sheet's templates, styles and fonts, and does nothing else (no other note, no
assembly, no cache). Any build that re-renders the edited note pays at least this.

    python -m bench.edit_floor NOTES NOTE.md OUT.pdf
    python -m bench.edit_floor NOTES NOTE.md OUT.pdf --warm

With `--warm`, the floor of a process that stays alive (`watch`): the note is rendered
once to load everything, then again, and the second render's seconds are printed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path


def render_one(notes: Path, note: Path, target: Path, warm: bool = False) -> int:
    """Render `note` alone; returns its page count. `warm`: render it twice, and print
    the seconds of the second render."""
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
            html = renderer.note_html(parsed, False)
            part = renderer.engine.render(html)
            if warm:
                start = time.perf_counter()
                part = renderer.engine.render(html)
                print(f"{time.perf_counter() - start:.4f}")
    target.write_bytes(part.pdf)
    return part.pages


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notes", type=Path)
    parser.add_argument("note", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--warm", action="store_true", help="time a second render")
    args = parser.parse_args(argv)
    render_one(args.notes, args.note, args.target, args.warm)


if __name__ == "__main__":
    main()
