"""The README's commands, run exactly as a person runs them, on a folder of real size.

Every entry point starts the sheet's worker processes: `python build.py`, the installed
`exporter` command, `python -m exporter`, and `watch`. A one-note folder never starts a
pool, so these build a folder of nine notes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import FIXTURES, REPO, import_apkg

EVERYDAY_NOTES = 9
EVERYDAY_FACTS = 46


def everyday(tmp_path: Path) -> Path:
    """The nine-note fixture as a user's project: `notes/` in the working folder."""
    shutil.copytree(FIXTURES / "everyday", tmp_path / "notes")
    return tmp_path


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, env=environment(), timeout=300
    )


def assert_built(proc: subprocess.CompletedProcess[str], out: Path, collection) -> None:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert f"built {EVERYDAY_NOTES} notes, {EVERYDAY_FACTS} facts" in proc.stdout
    from pypdf import PdfReader

    sheet = PdfReader(out / "notes.pdf")
    text = "".join(page.extract_text() for page in sheet.pages)
    assert "Habeas corpus" in text and "Talakaveri" in text
    assert len(list((out / "sheets").rglob("*.pdf"))) == EVERYDAY_NOTES
    import_apkg(collection, out / "notes.apkg")
    assert collection.note_count() == EVERYDAY_FACTS
    assert not list(out.rglob("*.part"))


@pytest.mark.slow
def test_build_py_on_a_folder_of_notes(tmp_path, collection):
    cwd = everyday(tmp_path)
    proc = run([sys.executable, str(REPO / "build.py")], cwd)
    assert_built(proc, cwd / "dist", collection)


@pytest.mark.slow
def test_python_m_exporter_on_a_folder_of_notes(tmp_path, collection):
    cwd = everyday(tmp_path)
    proc = run([sys.executable, "-m", "exporter", "build", "--out", "out"], cwd)
    assert_built(proc, cwd / "out", collection)


@pytest.mark.slow
def test_installed_command_on_a_folder_of_notes(tmp_path, collection):
    command = shutil.which("exporter", path=str(Path(sys.executable).parent))
    if command is None:
        pytest.fail("the `exporter` command is not installed beside this Python")
    cwd = everyday(tmp_path)
    proc = run([command, "build"], cwd)
    assert_built(proc, cwd / "dist", collection)


def read_until(proc: subprocess.Popen[str], wanted: str, seen: list[str], timeout: float) -> None:
    """Read the watcher's output line by line until a line holds `wanted`."""
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if wanted in line:
            return
    pytest.fail(f"no line with {wanted!r} in:\n{''.join(seen)}")


@pytest.mark.slow
def test_watch_from_build_py_rebuilds_after_an_edit_and_stops(tmp_path):
    cwd = everyday(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "build.py"), "watch"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment(),
    )
    seen: list[str] = []
    try:
        read_until(proc, f"built {EVERYDAY_NOTES} notes", seen, 120)
        note = cwd / "notes/geography/rivers.md"
        note.write_text(
            note.read_text(encoding="utf-8") + "- Source of the Narmada :: Amarkantak\n",
            encoding="utf-8",
        )
        read_until(proc, f"{EVERYDAY_FACTS + 1} facts", seen, 120)
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
        seen.append(rest)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = "".join(seen)
    assert proc.returncode == 0, output
    assert "stopped" in output
    assert "Traceback" not in output
    assert "Source of the Narmada" in output
