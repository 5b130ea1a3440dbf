"""Pathological notes parse, and build into a sheet, in time linear in their size.

    python -m bench.pathological          # every input at the issue's size and twice it
    python -m bench.pathological parse    # only the parse inputs (seconds)
    python -m bench.pathological sheet    # only the sheet inputs (a minute or two)

Each parse input is one long run of a character sequence that once made the parser scan
to the end of the line from every start (quadratic). For each, a note of N characters and
one of 2N are parsed; the growth must be linear (the time at 2N at most `MAX_GROWTH` times
the time at N; quadratic would be 4), and the note at N should parse in under a second.

Each sheet input once cost more than its size in building the sheet: `\\frac` nested in
`\\frac` (ziamath lays out each row twice: exponential), many tags on one fact (chips
with no break between them: WeasyPrint's line breaking went quadratic), and blockquotes or
HTML nested a few hundred deep (a RecursionError in WeasyPrint). Each is built, sheet
only, at size N and 2N in this process; its time less that of a one-fact note must grow
linearly too, and a build that fails counts as a failure.

The exit status is 1 when any input grows faster than linearly. Run it on a quiet machine.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from exporter.sources import read_source
from exporter.syntax import parse_note

# (name, the repeated text, characters at N)
INPUTS = [
    ("open braces", "{", 100_000),
    ("unclosed clozes", "{{x ", 120_000),
    ("empty links", "[](", 150_000),
    ("open brackets", "[", 100_000),
    ("open images", "![", 100_000),
    ("titled links", '[](" ', 100_000),
    ("nested brackets", "[[[[[[]]]]]]", 60_000),
    ("links and brackets", "[a](b)[", 70_000),
    ("unclosed tags", "<a ", 60_000),
    ("hints in clozes", "{{a::{{b::", 100_000),
    ("tags", "#a ", 60_000),
    ("dollars", "$a ", 60_000),
    ("formulas", "$a$ ", 40_000),
    ("open parens", "\\(a ", 60_000),
]
MAX_GROWTH = 2.6


def nested_fractions(depth: int) -> str:
    tex = "a"
    for _ in range(depth):
        tex = f"\\frac{{{tex}}}{{b}}"
    return f"# Fractions\n\n- ${tex}$ :: nested\n"


def many_tags(count: int) -> str:
    """Long tags, so that the chips of 500 take more than a page: from then on every tag
    is also a line of the tag index, whose cost dominates."""
    tags = " ".join(f"#topic-number-{i}-of-many" for i in range(count))
    return f"# Tags\n\n- A fact :: its answer {tags}\n"


def nested_quotes(depth: int) -> str:
    return "# Quotes\n\n" + "> " * depth + "text\n\n- A fact :: its answer\n"


def nested_divs(depth: int) -> str:
    return "# Divs\n\n" + "<div>" * depth + "text" + "</div>" * depth + "\n\n- A fact :: b\n"


# (name, the note at size N, N): built into a sheet at N and 2N.
SHEET_INPUTS: list[tuple[str, Callable[[int], str], int]] = [
    ("nested fractions", nested_fractions, 20),
    ("tags on one fact", many_tags, 500),
    ("nested quotes", nested_quotes, 150),
    ("nested divs", nested_divs, 250),
]
# A build's time less the floor's, below which growth is noise.
MIN_SECONDS = 0.25


def parse_seconds(folder: Path, text: str, repeat: int = 3) -> float:
    path = folder / "note.md"
    path.write_text(f"- {text}\n\n{text}\n", encoding="utf-8")
    source, _ = read_source(folder, path)
    assert source is not None
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        parse_note(source, folder)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def build_seconds(folder: Path, text: str) -> float:
    """One sheet-only build of a one-note folder, from nothing: a new notes folder and
    output folder, and no formula drawn before in this process. Raises if it fails."""
    from exporter.config import BuildConfig
    from exporter.exporters.marks import pdf_math
    from exporter.pipeline import build

    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        notes = Path(tmp) / "notes"
        notes.mkdir()
        (notes / "note.md").write_text(text, encoding="utf-8")
        pdf_math._DRAWN.clear()  # as in a new process: each formula is typeset again
        config = BuildConfig(notes=notes, out=Path(tmp) / "dist", formats=("pdf",), workers=1)
        start = time.perf_counter()
        result = build(config)
        seconds = time.perf_counter() - start
    if not result.ok:
        problems = "; ".join(d.format() for d in result.diagnostics if d.is_error)
        raise RuntimeError(problems or "the build failed")
    return seconds


def parse_rows() -> int:
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        parse_seconds(folder, "warm up")
        print(f"{'input':<20} {'chars':>8} {'at N':>8} {'at 2N':>8} {'growth':>7}")
        for name, unit, chars in INPUTS:
            once = parse_seconds(folder, unit * (chars // len(unit)))
            twice = parse_seconds(folder, unit * (2 * chars // len(unit)))
            growth = twice / max(once, 1e-4)
            verdict = "" if growth <= MAX_GROWTH else "  NOT LINEAR"
            slow = "" if once < 1 else "  over a second"
            failed += growth > MAX_GROWTH
            row = f"{name:<20} {chars:>8} {once:>7.2f}s {twice:>7.2f}s {growth:>6.1f}×"
            print(row + verdict + slow)
    return failed


def sheet_rows() -> int:
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build_seconds(folder, nested_fractions(1))  # warm up: WeasyPrint, fonts, ziamath
        floor = build_seconds(folder, many_tags(1))
        print(f"\n{'sheet input':<20} {'N':>8} {'at N':>8} {'at 2N':>8} {'growth':>7}")
        print(f"{'one fact (floor)':<20} {'':>8} {floor:>7.2f}s")
        for name, note, size in SHEET_INPUTS:
            try:
                once = build_seconds(folder, note(size))
                twice = build_seconds(folder, note(2 * size))
            except Exception as exc:  # a RecursionError, a failed build: not linear
                failed += 1
                print(f"{name:<20} {size:>8}   FAILED: {type(exc).__name__}: {exc}"[:160])
                continue
            growth = max(twice - floor, 0) / max(once - floor, MIN_SECONDS)
            verdict = "" if growth <= MAX_GROWTH else "  NOT LINEAR"
            failed += growth > MAX_GROWTH
            row = f"{name:<20} {size:>8} {once:>7.2f}s {twice:>7.2f}s {growth:>6.1f}×"
            print(row + verdict)
    return failed


def main(argv: list[str] | None = None) -> int:
    which = set(argv if argv is not None else sys.argv[1:]) or {"parse", "sheet"}
    failed = 0
    if "parse" in which:
        failed += parse_rows()
    if "sheet" in which:
        failed += sheet_rows()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
