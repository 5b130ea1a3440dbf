"""Where a build finds its styles: the clone's own folder, or the copy a wheel carries."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from exporter.config import BuildConfig

from .conftest import REPO, copy_fixture


def copy_into(folder: Path, path: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, folder / path.name)


def test_a_clone_uses_its_own_styles():
    assert BuildConfig().styles == REPO / "styles"


@pytest.mark.slow
def test_a_wheel_carries_the_styles_and_builds_a_sheet_outside_the_clone(tmp_path):
    # setuptools builds in the source folder: a copy keeps the clone untouched.
    source = tmp_path / "source"
    for name in ("pyproject.toml", "README.md"):
        copy_into(source, REPO / name)
    for name in ("src", "styles"):
        shutil.copytree(
            REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*pip, "--wheel-dir", str(wheels), "--quiet"], check=True, capture_output=True, cwd=source
    )
    (wheel,) = wheels.glob("exporter-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(site)
    for name in ("sheet.css", "card.css", "palette.css", "fonts/NotoColorEmoji.ttf"):
        assert f"exporter/styles/{name}" in names
    assert "exporter/exporters/pdf/templates/note.html.j2" in names

    work = tmp_path / "elsewhere"
    notes = copy_fixture("kinds", work)
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import exporter; print(exporter.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
    )
    assert Path(where.stdout.strip()).is_relative_to(site)
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "exporter",
            "build",
            "--notes",
            str(notes),
            "--out",
            "dist",
            "--strict",
        ],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
    )
    assert built.returncode == 0, built.stderr
    text = "".join(page.extract_text() for page in PdfReader(work / "dist/kinds.pdf").pages)
    assert "Tag index" in text
