"""Pathological notes parse in time linear in their size.

    python -m bench.pathological          # every input at the issue's size and twice it

Each input is one long run of a character sequence that once made the parser scan to the
end of the line from every start (quadratic). For each, a note of N characters and one of
2N are parsed; the growth must be linear (the time at 2N at most `MAX_GROWTH` times the
time at N; quadratic would be 4), and the note at N should parse in under a second. The
exit status is 1 when any input grows faster than linearly. Run it on a quiet machine.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
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


def main() -> int:
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
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
