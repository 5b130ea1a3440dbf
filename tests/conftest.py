"""Shared helpers: fixture note sets copied to a temporary folder (the originals are never
written), builds through the real pipeline, and a fresh Anki collection to import into."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Keep compiled bytecode even where the environment asks Python not to
# (PYTHONDONTWRITEBYTECODE, set on this project's CI machines): otherwise every test
# process and every `python build.py` a test starts compiles the test modules (with
# pytest's assertion rewriting) and the package from source again, about 3 s of each
# test process's start. The files go to `__pycache__/`, which git ignores.
sys.dont_write_bytecode = False

from exporter.config import BuildConfig  # noqa: E402
from exporter.pipeline import BuildResult, build  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[1]


def copy_fixture(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(FIXTURES / name, target)
    return target


def write_note(folder: Path, rel: str, text: str) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` with its bytes: for asserting that nothing was written."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def run_build(notes: Path, out: Path, **kwargs) -> BuildResult:
    return build(BuildConfig(notes=notes, out=out, **kwargs))


@pytest.fixture
def collection(tmp_path: Path) -> Iterator:
    """A fresh, empty Anki collection, closed after the test."""
    from anki.collection import Collection

    col = Collection(str(tmp_path / "collection.anki2"))
    yield col
    col.close()


def import_apkg(col, path: Path):
    """Import with Anki's default options, as a person clicking File › Import does."""
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest

    request = ImportAnkiPackageRequest(package_path=str(path), options=ImportAnkiPackageOptions())
    return col.import_anki_package(request)


def parse_text(folder: Path, text: str, rel: str = "topic/note.md"):
    """One note through sources and syntax: the note and every diagnostic."""
    from exporter.sources import read_source
    from exporter.syntax import parse_note

    path = write_note(folder, rel, text)
    source, diags = read_source(folder, path)
    assert source is not None
    note, more = parse_note(source, folder)
    return note, diags + more


def parse_clean(folder: Path, text: str, rel: str = "topic/note.md"):
    """One note that must parse without a problem."""
    note, diags = parse_text(folder, text, rel)
    assert not diags, [d.format() for d in diags]
    return note


def build_py(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python build.py …` as a user runs it, from `cwd`."""
    return subprocess.run(
        [sys.executable, str(REPO / "build.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def exporter_here(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The same command line as `build_py`, run in this process by click's test runner
    from `cwd`. For tests whose subject is a command's behaviour rather than how Python
    starts it: no new interpreter, imports and WeasyPrint start-up (about 2.5 s of CPU a
    build with a sheet). Any exception fails the test, as a traceback would."""
    from click.testing import CliRunner

    from exporter.cli import main

    with contextlib.chdir(cwd):
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


def pdf_text(path: Path) -> str:
    """A sheet's text as pypdf reads it, white space folded to single spaces."""
    from pypdf import PdfReader

    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(path).pages))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`slow` marks a test that builds notes once for its whole module (a fixture of
    module or session scope made in `tmp_path_factory`), besides those marked by hand:
    `pytest -m "not slow"` is the quick tier for the inner loop."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        for defs in info.name2fixturedefs.values():
            fixture = defs[-1]
            if fixture.scope in ("module", "session") and "tmp_path_factory" in fixture.argnames:
                item.add_marker(pytest.mark.slow)
                break


def rows_made(monkeypatch) -> list[str]:
    """The paths of the notes whose deck rows a build makes (not kept), as it makes them."""
    from exporter.exporters import anki

    made: list[str] = []
    real = anki.note_rows

    def counting(note, types):
        made.append(note.path)
        return real(note, types)

    monkeypatch.setattr(anki, "note_rows", counting)
    return made
