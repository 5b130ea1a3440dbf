"""The benchmark's table: rows, their targets, whether each is met, and how it prints.

Kept apart from the running so that the verdicts and the formatting can be tested with
made-up numbers in no time (tests/test_bench.py).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

COLUMNS = ("measure", "time", "ratio", "target", "met")


@dataclass(frozen=True)
class Target:
    """A limit on a number: at most `limit` (or at least, with at_least=True).

    `text` is how the target reads in the table, e.g. "≤ 0.8× sheet floor"."""

    limit: float
    text: str
    at_least: bool = False

    def met(self, value: float) -> bool:
        return value >= self.limit if self.at_least else value <= self.limit


@dataclass(frozen=True)
class Row:
    """One line of the table. `met` is None for a reference row (a floor, ankdown) or a
    skipped one; a skipped row says why in `note`, shown in the last column."""

    measure: str
    value: str = ""
    ratio: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.met is None:
            return self.note
        return "met" if self.met else "NOT MET"


def checked(measure: str, value: str, ratio: str, number: float, target: Target) -> Row:
    """A row with a target, judged on `number` (the ratio, seconds or MB it limits)."""
    return Row(measure, value, ratio, target.text, target.met(number))


def skipped(measure: str, why: str, value: str = "", target: str = "") -> Row:
    """A row whose target cannot be judged in this run (`value` may still be measured)."""
    return Row(measure, value, "", target, None, f"skipped: {why}")


def seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"


def megabytes(value: float) -> str:
    return f"{value:.0f} MB"


def times(value: float, of: str) -> str:
    return f"{value:.2f}× {of}"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def failed(rows: Iterable[Row]) -> list[Row]:
    return [row for row in rows if row.met is False]


def _cells(row: Row) -> tuple[str, ...]:
    return (row.measure, row.value, row.ratio, row.target, row.verdict)


def plain(rows: Sequence[Row]) -> str:
    """Columns aligned with spaces, for a terminal."""
    cells = [COLUMNS, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def markdown(rows: Sequence[Row]) -> str:
    """A Markdown table, to paste into the README's Performance section."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    out = [line(COLUMNS), line(["---"] * len(COLUMNS))]
    for row in rows:
        cells = list(_cells(row))
        if row.met is False:
            cells[-1] = "**not met**"
        out.append(line(cells))
    return "\n".join(out)
