"""The floor: the least any tool must do for the same facts, built by the benchmark
itself so that ratios do not depend on the machine. Each question and answer is rendered
once with python-markdown, and genanki writes the deck.

    python -m bench.floor NOTES OUT.apkg [--cores N]

runs it in a fresh process, to compare with other tools run the same way. With more than
one core the files are rendered in worker processes: the least a python-markdown tool
could take on this machine.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

Fields = list[tuple[str, str]]


@functools.cache
def parser() -> Any:
    """One parser a process, reset between texts: the least a tool must build."""
    import markdown

    return markdown.Markdown(extensions=["tables"])


def facts(path: Path) -> Fields:
    """The (question, answer) texts of a note, by the simplest line logic: a `q :: a`
    line, or a cloze line (its answer empty). The sheet floor reads facts the same way."""
    found: Fields = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.lstrip("- ").strip()
        if "::" in stripped:
            question, _, answer = stripped.partition("::")
            found.append((question.strip(), answer.strip(": ")))
        elif "{{" in stripped:
            found.append((stripped, ""))
    return found


def render_file(path: Path) -> Fields:
    md = parser()

    def render(text: str) -> str:
        md.reset()
        return md.convert(text)

    return [(render(q), render(a) if a else "") for q, a in facts(path)]


def floor_deck(notes: Path, target: Path, cores: int = 1) -> int:
    """Write the floor deck; returns its note count."""
    import genanki

    paths = sorted(notes.rglob("*.md"))
    if cores > 1:
        context = multiprocessing.get_context(
            "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        )
        with ProcessPoolExecutor(cores, mp_context=context) as pool:
            per_file = list(pool.map(render_file, paths, chunksize=max(1, len(paths) // cores)))
    else:
        per_file = [render_file(path) for path in paths]

    model = genanki.Model(
        1_600_000_001,
        "Floor",
        fields=[{"name": "Front"}, {"name": "Back"}],
        templates=[{"name": "Card 1", "qfmt": "{{Front}}", "afmt": "{{Back}}"}],
    )
    deck = genanki.Deck(1_600_000_002, "Floor")
    for fields in per_file:
        for front, back in fields:
            deck.add_note(genanki.Note(model=model, fields=[front, back]))
    genanki.Package(deck).write_to_file(str(target), timestamp=1_700_000_000)
    return len(deck.notes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notes", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--cores", type=int, default=1)
    args = parser.parse_args(argv)
    floor_deck(args.notes, args.target, args.cores)


if __name__ == "__main__":
    main()
