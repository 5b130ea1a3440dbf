"""Choosing what gets built (`selection`): `.exporterignore` in gitignore syntax, the
Obsidian templates folder, and `exporter: false` in a note's front matter. The fixture
(tests/fixtures/vault-rules) holds four notes to build and four to leave out; each one
left out would be an error or a stray card if it were read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from exporter import selection
from exporter.config import BuildConfig
from exporter.pipeline import build
from exporter.reading import load
from exporter.watch import relevant

from .conftest import FIXTURES, import_apkg, write_note
from .conftest import exporter_here as run


def copy(tmp_path: Path) -> Path:
    return shutil.copytree(FIXTURES / "vault-rules", tmp_path / "notes")


def test_check_says_how_many_notes_were_left_out(tmp_path):
    copy(tmp_path)
    done = run(tmp_path, "check", "--strict")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "checked 4 notes (4 left out: .exporterignore, templates, exporter: false)" in (
        done.stdout
    )


@pytest.mark.slow
def test_left_out_notes_make_no_card_and_templates_no_cloze(tmp_path, collection):
    copy(tmp_path)
    done = run(tmp_path, "build", "--strict")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "built 4 notes, 7 facts" in done.stdout
    import_apkg(collection, tmp_path / "dist" / "notes.apkg")
    fields = " ".join(" ".join(collection.get_note(n).fields) for n in collection.find_notes(""))
    for never in ("title", "date", "Question of the day", "Throwaway", "PIN", "Not yet"):
        assert never not in fields, never
    assert "Eleventh Schedule" in fields and "Council of States" in fields
    sheets = sorted(
        p.relative_to(tmp_path / "dist" / "sheets").as_posix()
        for p in (tmp_path / "dist" / "sheets").rglob("*.pdf")
    )
    assert sheets == [
        "economy/budget.pdf",
        "economy/trade.pdf",
        "polity/panchayats.pdf",
        "polity/parliament.pdf",
    ]


def test_a_note_left_out_is_never_read(tmp_path):
    """The left-out draft has broken front matter: read, it would be an error."""
    notes = copy(tmp_path)
    config = BuildConfig(notes=notes, out=tmp_path / "dist", formats=("apkg",))
    loaded = load(config)
    assert not loaded.diagnostics and loaded.left_out == 4
    assert sorted(n.path for n in loaded.deck.notes) == [
        "economy/budget.md",
        "economy/trade.md",
        "polity/panchayats.md",
        "polity/parliament.md",
    ]
    (notes / ".exporterignore").write_text("scratch-*.md\n", encoding="utf-8")
    loaded = load(config)
    assert [d.message.split(":")[0] for d in loaded.diagnostics] == [
        "front matter is not valid YAML"
    ]


def test_changing_the_rules_rebuilds(tmp_path):
    notes = copy(tmp_path)
    config = BuildConfig(notes=notes, out=tmp_path / "dist", formats=("apkg",))
    assert build(config).counts[0] == 4
    assert build(config).up_to_date
    (notes / ".obsidian" / "templates.json").write_text('{"folder": "Elsewhere"}')
    again = build(config)
    assert not again.up_to_date
    assert again.counts[0] == 5  # the template is a note now, its {{title}} a cloze


def test_front_matter_switch_must_be_true_or_false(tmp_path):
    notes = tmp_path / "notes"
    write_note(notes, "a.md", "---\nexporter: no thanks\n---\n- q :: a\n")
    loaded = load(BuildConfig(notes=notes, out=tmp_path / "dist"))
    assert [d.message for d in loaded.diagnostics] == [
        "front matter 'exporter' must be true or false"
    ]
    write_note(notes, "a.md", "---\nexporter: true\n---\n- q :: a\n")
    assert len(load(BuildConfig(notes=notes, out=tmp_path / "dist")).deck.facts) == 1


def test_gitignore_rules_as_git_reads_them(tmp_path):
    (tmp_path / ".exporterignore").write_text(
        "# a comment\n*.excalidraw.md\nprivate/\n/top.md\nlogs/**/*.md\n!logs/keep/**\n"
    )
    (tmp_path / ".obsidian" / "plugins" / "templater-obsidian").mkdir(parents=True)
    (tmp_path / ".obsidian" / "plugins" / "templater-obsidian" / "data.json").write_text(
        json.dumps({"templates_folder": "Meta/Templater/"})
    )
    rules, diags = selection.read(tmp_path)
    assert not diags
    left = {
        "drawing.excalidraw.md": True,
        "a/b/drawing.excalidraw.md": True,
        "private": True,  # as a folder
        "top.md": True,
        "sub/top.md": False,
        "logs/2026/jan.md": True,
        "Meta/Templater/daily.md": True,
        "Meta/notes.md": False,
        "notes.md": False,
    }
    for rel, out in left.items():
        assert rules.leaves_out(rel, folder=rel == "private") is out, rel


def test_watch_sees_the_rules_though_they_are_hidden(tmp_path):
    out = tmp_path / "dist"
    for rel in (".exporterignore", ".obsidian/templates.json"):
        assert relevant(str(tmp_path / rel), tmp_path, out)
    assert not relevant(str(tmp_path / ".obsidian" / "workspace.json"), tmp_path, out)
