"""The command line as people and scripts use it: exit codes, messages, the shipped notes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from exporter.cli import main, summary
from exporter.config import BuildConfig
from exporter.pipeline import BuildResult

from .conftest import FIXTURES, REPO, copy_fixture, import_apkg, snapshot


@pytest.mark.slow
def test_build_py_builds_the_shipped_notes(tmp_path, collection):
    shutil.copytree(REPO / "notes", tmp_path / "notes")
    proc = subprocess.run(
        [sys.executable, str(REPO / "build.py")], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "built 1 note, " in proc.stdout
    deck, sheet = tmp_path / "dist/notes.apkg", tmp_path / "dist/notes.pdf"
    assert sheet.stat().st_size > 10_000
    import_apkg(collection, deck)
    assert collection.note_count() >= 40
    names = {d.name for d in collection.decks.all_names_and_ids()}
    assert "UPSC::GS2::International Relations" in names


def test_check_names_file_and_line_and_exits_1(tmp_path):
    notes = copy_fixture("broken", tmp_path)
    result = CliRunner().invoke(main, ["check", "--notes", str(notes)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(
        line.endswith("bad.md:4:27: error: unclosed cloze '{{2023.' — close it with '}}'")
        for line in lines
    ), result.output
    assert any("bad.md:5:3: error: empty question" in line for line in lines)
    assert any("also-bad.md:1:11: error: a line ending in '::'" in line for line in lines)
    assert "3 errors" in lines[-1]


def test_check_passes_on_good_notes(tmp_path):
    result = CliRunner().invoke(main, ["check", "--notes", str(FIXTURES / "kinds")])
    assert result.exit_code == 0, result.output
    assert "7 facts: 0 errors, 0 warnings" in result.output


@pytest.mark.slow
def test_failed_build_writes_nothing_and_keeps_dist(tmp_path):
    good = copy_fixture("kinds", tmp_path)
    out = tmp_path / "dist"
    assert (
        CliRunner().invoke(main, ["build", "--notes", str(good), "--out", str(out)]).exit_code == 0
    )
    before = snapshot(tmp_path)
    (good / "general.md").write_text("- broken {{cloze\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["build", "--notes", str(good), "--out", str(out)])
    assert result.exit_code == 1
    assert "nothing written" in result.output
    after = snapshot(tmp_path)
    assert after.pop("kinds/general.md") != before.pop("kinds/general.md")
    assert after == before


def test_format_option_and_summary(tmp_path):
    notes = copy_fixture("kinds", tmp_path)
    out = tmp_path / "dist"
    result = CliRunner().invoke(
        main, ["build", "--notes", str(notes), "--out", str(out), "--format", "apkg"]
    )
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir() if not p.name.startswith(".")] == ["kinds.apkg"]
    assert "2 notes, 7 facts, 9 cards" in result.output


def test_usage_errors_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["build", "--format", "docx"])
    assert result.exit_code == 2


def test_version_and_help():
    runner = CliRunner()
    assert runner.invoke(main, ["--version"]).output.startswith("exporter, version ")
    help_text = runner.invoke(main, ["--help"]).output
    for command in ("build", "check"):
        assert command in help_text


def run_in_terminal(args: list[str], cwd, env: dict[str, str]) -> str:
    """Run a command with a pseudo-terminal as its output, as a person's shell does."""
    import os
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: become the command
        os.chdir(cwd)
        os.execve(args[0], args, env)
    chunks = []
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.slow
def test_progress_shows_on_a_terminal_and_not_in_pipes_or_ci(tmp_path):
    import os

    notes = copy_fixture("kinds", tmp_path)
    base = {k: v for k, v in os.environ.items() if k != "CI"}
    command = [sys.executable, "-m", "exporter", "build", "--notes", str(notes)]

    shown = run_in_terminal([*command, "--out", str(tmp_path / "tty")], tmp_path, base)
    assert "\r\x1b[K" in shown and "sheet 1/2: general.md" in shown
    assert "built 2 notes" in shown

    piped = subprocess.run(
        [*command, "--out", str(tmp_path / "pipe")],
        cwd=tmp_path,
        env=base,
        capture_output=True,
        text=True,
    )
    assert piped.returncode == 0 and "\r" not in piped.stdout + piped.stderr

    in_ci = run_in_terminal(
        [*command, "--out", str(tmp_path / "ci")], tmp_path, {**base, "CI": "true"}
    )
    assert "\r\x1b[K" not in in_ci and "built 2 notes" in in_ci


def test_an_unwritable_output_folder_is_a_clear_error(tmp_path):
    notes = copy_fixture("kinds", tmp_path)
    blocker = tmp_path / "dist"
    blocker.write_text("a file where the output folder should be")
    out = blocker / "dist"  # a folder inside a file cannot be made
    result = CliRunner().invoke(main, ["build", "--notes", str(notes), "--out", str(out)])
    assert result.exit_code == 1
    assert "cannot write the outputs" in result.output
    assert "Traceback" not in result.output
    assert blocker.read_text() == "a file where the output folder should be"


def test_summary_names_few_note_sheets_and_counts_many(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = Path("dist")
    whole = (out / "notes.apkg", out / "notes.pdf")
    config = BuildConfig(out=out)

    def shown(n: int) -> str:
        sheets = tuple(out / "sheets" / "gs2" / f"note-{i}.pdf" for i in range(n))
        return summary(BuildResult(None, (), whole + sheets, counts=(n, 9, 12)), config)

    assert shown(2) == (
        "built 2 notes, 9 facts, 12 cards → dist/notes.apkg, dist/notes.pdf, "
        "dist/sheets/gs2/note-0.pdf, dist/sheets/gs2/note-1.pdf"
    )
    assert shown(100) == (
        "built 100 notes, 9 facts, 12 cards → dist/notes.apkg, dist/notes.pdf, "
        "100 note sheets in dist/sheets/"
    )


def test_terminal_escapes_from_notes_never_reach_the_terminal(tmp_path):
    from .conftest import write_note

    notes = tmp_path / "notes"
    write_note(
        notes,
        "n.md",
        "- Red \x1b[31malert\x1b]0;pwned\x07 here :: yes\n- Rev \u202eerse :: two\n- q :: a\n"
        "- q :: a\n",
    )
    result = CliRunner().invoke(
        main, ["build", "--notes", str(notes), "--out", str(tmp_path / "d"), "--format", "apkg"]
    )
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "\u202e" not in result.output
    assert "Red \\x1b[31malert" in result.output and "\\u202e" in result.output


def test_check_reports_a_character_no_font_has_as_build_does(tmp_path):
    notes = copy_fixture("tofu", tmp_path)
    checked = CliRunner().invoke(main, ["check", "--notes", str(notes)])
    built = CliRunner().invoke(
        main, ["build", "--notes", str(notes), "--out", str(tmp_path / "dist")]
    )
    assert checked.exit_code == 0 and built.exit_code == 0, checked.output + built.output
    warned = [line for line in checked.output.splitlines() if ": warning: no bundled font" in line]
    assert len(warned) == 1
    assert warned[0] in built.output.splitlines()
    assert "0 errors, 1 warning" in checked.output
    strict = CliRunner().invoke(main, ["check", "--notes", str(notes), "--strict"])
    assert strict.exit_code == 1


@pytest.mark.slow
def test_check_and_dry_run_write_nothing_under_the_output_folder(tmp_path, monkeypatch):
    """Both draw the formulas (to warn about one the sheet cannot draw), and kept the
    drawings under the output's `.cache/`: now nothing at all is written."""
    monkeypatch.chdir(tmp_path)  # `check` has no --out: it reads ./dist
    notes = copy_fixture("math", tmp_path)
    checked = CliRunner().invoke(main, ["check", "--notes", str(notes)])
    dry = CliRunner().invoke(main, ["build", "--dry-run", "--notes", str(notes)])
    assert checked.exit_code == 0 and dry.exit_code == 0, checked.output + dry.output
    assert not (tmp_path / "dist").exists()
    built = CliRunner().invoke(main, ["build", "--notes", str(notes)])
    assert built.exit_code == 0, built.output
    assert list((tmp_path / "dist" / ".cache" / "math").glob("*.json"))
    note = notes / "physics" / "mech.md"
    note.write_text(note.read_text() + "\n- Energy of a spring :: $U = \\tfrac{1}{2}kx^2$\n")
    before = snapshot(tmp_path)
    for args in (["check"], ["build", "--dry-run"]):
        result = CliRunner().invoke(main, [*args, "--notes", str(notes)])
        assert result.exit_code == 0, result.output
    assert snapshot(tmp_path) == before
