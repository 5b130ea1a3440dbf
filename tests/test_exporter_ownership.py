"""Each exporter owns its outputs: a new format is one module and one registry line, and
the pipeline, cache and command line handle it without naming it. Outputs an earlier
build wrote that the notes no longer match are reported, with the command that rebuilds
them."""

from __future__ import annotations

import os
import time

import pytest
from click.testing import CliRunner

from exporter import exporters
from exporter.cli import main
from exporter.config import BuildConfig
from exporter.pipeline import build
from exporter.reading import examine

from .conftest import copy_fixture, write_note


def with_text_format(monkeypatch) -> None:
    """What adding the line to `REGISTRY` does at import time, done in a running test."""
    names = (*exporters.NAMES, "txt")
    monkeypatch.setitem(exporters.REGISTRY, "txt", "tests.exporters.plain_text")
    monkeypatch.setattr(exporters, "NAMES", names)
    option = next(p for p in main.commands["build"].params if p.name == "formats")
    monkeypatch.setattr(option.type, "choices", names)


def test_a_registered_format_is_built_listed_checked_and_cleaned(tmp_path, monkeypatch):
    with_text_format(monkeypatch)
    notes = copy_fixture("everyday", tmp_path)
    out = tmp_path / "dist"
    first = build(BuildConfig(notes=notes, out=out, formats=("txt",)))
    assert first.ok, [d.format() for d in first.diagnostics]
    assert (out / "everyday.txt").is_file()
    per_note = sorted(p.relative_to(out).as_posix() for p in (out / "text").rglob("*.txt"))
    assert len(per_note) == 9 and "text/polity/parliament.txt" in per_note
    assert any(line.startswith("text: ") for line in first.advice)

    # The command line counts the files of the folder the format owns.
    result = CliRunner().invoke(
        main, ["build", "--notes", str(notes), "--out", str(tmp_path / "cli"), "--format", "txt"]
    )
    assert result.exit_code == 0, result.output
    assert "9 note texts in" in result.output

    # A removed note's file in the owned folder goes; a changed option rebuilds.
    (notes / "overview.md").unlink()
    assert build(BuildConfig(notes=notes, out=out, formats=("txt",))).ok
    assert not (out / "text/overview.txt").exists()
    assert build(BuildConfig(notes=notes, out=out, formats=("txt",))).up_to_date
    monkeypatch.setattr(
        "tests.exporters.plain_text.PlainTextExporter.fingerprint", lambda self, c: {"width": "80"}
    )
    assert not build(BuildConfig(notes=notes, out=out, formats=("txt",))).up_to_date

    # Its check is part of `check` and of `build`, in the same words.
    write_note(notes, "long.md", "- " + "a very long question " * 5 + ":: answer\n")
    checked = examine(BuildConfig(notes=notes, formats=("txt",))).diagnostics
    built = build(BuildConfig(notes=notes, out=out, formats=("txt",))).diagnostics
    assert [d.message for d in checked] == ["too long for text"] == [d.message for d in built]

    # Its cache folder is pruned like the others.
    stale = out / ".cache" / "text" / "old"
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    month_ago = time.time() - 30 * 24 * 3600
    os.utime(stale, (month_ago, month_ago))
    write_note(notes, "new.md", "- one more :: fact\n")
    assert build(BuildConfig(notes=notes, out=out, formats=("txt",))).ok
    assert not stale.exists()


def test_a_tag_that_matches_nothing_is_an_error_listing_the_tags(tmp_path):
    notes = copy_fixture("everyday", tmp_path)
    out = tmp_path / "dist"
    result = CliRunner().invoke(
        main, ["build", "--notes", str(notes), "--out", str(out), "--tag", "prelim"]
    )
    assert result.exit_code == 1
    line = next(x for x in result.output.splitlines() if "error:" in x)
    assert "no fact is tagged #prelim" in line
    assert "did you mean #prelims?" in line
    assert "#upsc (44)" in line and "#gs3 (" in line
    assert not out.exists()


def test_outputs_the_notes_no_longer_match_are_reported_stale(tmp_path):
    notes = copy_fixture("everyday", tmp_path)
    out = tmp_path / "dist"
    assert build(BuildConfig(notes=notes, out=out, formats=("apkg",), tags=("prelims",))).ok
    plain = BuildConfig(notes=notes, out=out, formats=("apkg",))
    first = build(plain)
    assert first.ok and not [a for a in first.advice if a.startswith("stale:")]

    note = notes / "overview.md"
    note.write_text(note.read_text() + "- Optional papers in Mains :: one, of two papers\n")
    edited = build(plain)
    stale = [a for a in edited.advice if a.startswith("stale:")]
    assert len(stale) == 1
    assert "everyday--prelims.apkg was built from earlier notes" in stale[0]
    assert (
        f"python build.py build --notes {notes} --out {out} --format apkg --tag prelims"
        in (stale[0])
    )
    # An unchanged rebuild says it again; rebuilding the subset clears it.
    assert build(plain).up_to_date and build(plain).advice == edited.advice
    assert build(BuildConfig(notes=notes, out=out, formats=("apkg",), tags=("prelims",))).ok
    assert not [a for a in build(plain).advice if a.startswith("stale:")]


def test_a_failed_build_leaves_no_new_folders(tmp_path, monkeypatch):
    notes = copy_fixture("everyday", tmp_path)
    out = tmp_path / "new" / "dist"

    def broken(*args, **kwargs):
        raise RuntimeError("the disk is gone")

    monkeypatch.setattr("exporter.exporters.anki.AnkiExporter.export", broken)
    with pytest.raises(RuntimeError):
        build(BuildConfig(notes=notes, out=out, formats=("apkg",)))
    assert not (tmp_path / "new").exists()


def test_check_reports_what_build_reports(tmp_path):
    notes = copy_fixture("everyday", tmp_path)
    styles = tmp_path / "styles"
    styles.mkdir()
    checked = examine(BuildConfig(notes=notes, styles=styles)).diagnostics
    built = build(BuildConfig(notes=notes, out=tmp_path / "dist", styles=styles))
    assert not built.ok
    assert checked == built.diagnostics
    assert "the styles folder is missing" in checked[0].message


def test_change_report_paths_are_written_like_error_paths(tmp_path, monkeypatch):
    notes = copy_fixture("everyday", tmp_path)
    monkeypatch.chdir(tmp_path)
    write_note(notes, "dup.md", "- Members of the MPC :: six\n")
    result = CliRunner().invoke(main, ["build", "--notes", "everyday", "--format", "apkg"])
    assert result.exit_code == 0, result.output
    warning = next(x for x in result.output.splitlines() if ": warning:" in x)
    new = next(x for x in result.output.splitlines() if x.strip().startswith("new") and "dup" in x)
    assert warning.startswith("everyday/economy/monetary-policy.md:13:3: warning:")
    assert "also at everyday/dup.md:1;" in warning
    assert "everyday/dup.md:1 " in new
