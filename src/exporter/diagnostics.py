"""Problems found in notes, collected as data and reported together.

A person fixing notes wants every problem of every file in one run, sorted the way an
editor lists them, so nothing in the pipeline raises for a note's fault: each stage returns
its `Diagnostic`s beside its result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    col: int
    severity: Severity
    message: str
    hint: str = ""

    def format(self) -> str:
        text = f"{self.path}:{self.line}:{self.col}: {self.severity.value}: {self.message}"
        return f"{text} — {self.hint}" if self.hint else text

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def error(path: str, line: int, col: int, message: str, hint: str = "") -> Diagnostic:
    return Diagnostic(path, line, col, Severity.ERROR, message, hint)


def warning(path: str, line: int, col: int, message: str, hint: str = "") -> Diagnostic:
    return Diagnostic(path, line, col, Severity.WARNING, message, hint)


def sort_unique(diagnostics: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    """Sorted by file, line and column, with exact repeats dropped."""
    return tuple(sorted(set(diagnostics)))


def has_errors(diagnostics: Iterable[Diagnostic], strict: bool = False) -> bool:
    return any(d.is_error or strict for d in diagnostics)
