"""The folders the benchmark builds in, and the commands it runs there.

Each scenario gets a folder of its own holding `notes/` (a corpus from bench.corpus) and
`dist/`, and every command runs with that folder as its working directory, as a person
would run `python build.py` in their notes project. The lock (`notes.lock.json`) sits
beside `notes/`, so a cold build is one with neither `dist/` nor the lock.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.corpus import write_corpus

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build.py"


def bench_env() -> dict[str, str]:
    """The environment for `python -m bench.…` run from a scenario folder: the repository
    on the path, so the floors import from this checkout whatever the working directory."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


@dataclass(frozen=True)
class Folder:
    """One scenario's folder: notes/, dist/ and the lock beside notes/."""

    root: Path

    @property
    def notes(self) -> Path:
        return self.root / "notes"

    @property
    def dist(self) -> Path:
        return self.root / "dist"

    @property
    def lock(self) -> Path:
        return self.root / "notes.lock.json"

    def build(self, fmt: str, *extra: str, python: tuple[str, ...] = ()) -> list[str]:
        """Our build as a fresh process (`python [python…] build.py build …`)."""
        return [
            sys.executable,
            *python,
            str(BUILD),
            "build",
            "--notes",
            "notes",
            "--out",
            "dist",
            "--format",
            fmt,
            *extra,
        ]

    def make_cold(self) -> None:
        """Forget every earlier build: no output folder (with its cache) and no lock."""
        shutil.rmtree(self.dist, ignore_errors=True)
        self.lock.unlink(missing_ok=True)

    def edit_one(self, n: int) -> Path:
        """Reword one answer in the note in the middle of the corpus; `n` makes each
        edit different from the last."""
        paths = sorted(self.notes.rglob("*.md"))
        path = paths[len(paths) // 2]
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(" :: ", f" :: edited {n} ", 1), encoding="utf-8")
        return path


def folder(root: Path, files: int, per_file: int) -> Folder:
    """A new scenario folder with a fresh corpus (same seed: the same facts each time)."""
    shutil.rmtree(root, ignore_errors=True)
    write_corpus(root / "notes", files, per_file)
    return Folder(root)


def floor_deck(notes: Path, target: Path, cores: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bench.floor",
        str(notes),
        str(target),
        "--cores",
        str(cores),
    ]


def floor_sheet(notes: Path, target: Path) -> list[str]:
    return [sys.executable, "-m", "bench.sheet_floor", str(notes), str(target)]


def floor_edit(notes: Path, note: Path, target: Path) -> list[str]:
    return [sys.executable, "-m", "bench.edit_floor", str(notes), str(note), str(target)]


def ankdown_corpus(notes: Path, target: Path) -> Path:
    """The same facts in ankdown's format (front, `%`, back, `---`)."""
    target.mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(sorted(notes.rglob("*.md"))):
        cards = []
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.lstrip("- ").strip()
            if "::" in stripped:
                question, _, answer = stripped.partition("::")
                cards.append(f"{question.strip()}\n\n%\n\n{answer.strip(': ')}\n")
            elif "{{" in stripped:
                cards.append(f"{stripped}\n\n%\n\n{stripped}\n")
        (target / f"cards-{i:03d}.md").write_text("\n---\n\n".join(cards), encoding="utf-8")
    return target


def ankdown(command: str, cards: Path, target: Path) -> list[str]:
    return [command, "-r", str(cards), "-p", str(target)]


@dataclass(frozen=True)
class Bench:
    """What every scenario needs to know about this run."""

    root: Path  # a temporary folder holding every scenario's folder
    repeat: int  # runs per timing; the median is reported
    per_file: int  # facts per note file (100; 10 with --quick)
    cores: int  # the floor deck runs on this many
    ankdown: str | None  # the ankdown command, if there is one

    def folder(self, name: str, files: int) -> Folder:
        return folder(self.root / name, files, self.per_file)

    def facts(self, files: int) -> str:
        """How a scenario's size reads in the table: "3,000 facts in 30 files"."""
        return f"{files * self.per_file:,} facts in {files:,} files"

    def log(self, message: str) -> None:
        """Progress, on stderr: stdout is kept for the table."""
        print(f"  … {message}", file=sys.stderr, flush=True)
