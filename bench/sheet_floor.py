"""The sheet's floor: the least any WeasyPrint tool must do to print the same facts.

    python -m bench.sheet_floor NOTES OUT.pdf

The questions and answers of every note (read with the floor deck's line logic,
`bench.floor.facts`) go into one plain HTML document: an <h1> per file and a list of
`<b>question</b> — answer`, no stylesheet, no Markdown rendering; WeasyPrint lays it out
and writes it in one process. A sheet with a design, running heads, page numbers and
per-note PDFs is asked to beat a fraction of this, so the ratio says how much of the
time is WeasyPrint's and how much is ours, on whatever machine it runs.
"""

from __future__ import annotations

import argparse
import html
from pathlib import Path

from bench.floor import facts


def document(notes: Path) -> str:
    """The whole sheet as one HTML string."""
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>Floor</title></head><body>"]
    for path in sorted(notes.rglob("*.md")):
        parts.append(f"<h1>{html.escape(path.relative_to(notes).as_posix())}</h1><ul>")
        for question, answer in facts(path):
            item = f"<b>{html.escape(question)}</b>"
            if answer:
                item += f" — {html.escape(answer)}"
            parts.append(f"<li>{item}</li>")
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def sheet_floor(notes: Path, target: Path) -> None:
    import weasyprint

    weasyprint.HTML(string=document(notes)).write_pdf(target)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notes", type=Path)
    parser.add_argument("target", type=Path)
    args = parser.parse_args(argv)
    sheet_floor(args.notes, args.target)


if __name__ == "__main__":
    main()
