"""The pipeline's own promises: subsets by tag, the seed note under --strict, and the
lock covering every fact whatever subset is built."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from pypdf import PdfReader

from exporter.config import BuildConfig
from exporter.pipeline import build
from exporter.reading import select_tags

from .conftest import REPO, copy_fixture, import_apkg, snapshot, write_note


@pytest.mark.slow
def test_tag_subset_builds_only_those_facts(tmp_path, collection):
    notes = copy_fixture("kinds", tmp_path)
    out = tmp_path / "dist"
    result = build(BuildConfig(notes=notes, out=out, tags=("geo", "#upsc")))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.counts == (2, 2, 2)
    assert {p.name for p in result.outputs} == {"kinds--geo-upsc.apkg", "kinds--geo-upsc.pdf"}
    import_apkg(collection, out / "kinds--geo-upsc.apkg")
    fronts = sorted(collection.get_note(n).fields[0] for n in collection.find_notes(""))
    assert fronts == ["Capital of France", "Lithium is used in"]
    text = " ".join(p.extract_text() for p in PdfReader(out / "kinds--geo-upsc.pdf").pages)
    assert "Capital of France" in text and "Lithium is used in" in text
    assert "KABIL" not in text and "Prose stays prose" not in text
    assert "Only facts tagged #geo, #upsc" in text
    lock = json.loads((tmp_path / "kinds.lock.json").read_text())
    assert len(lock["facts"]) == 7


def test_parent_tag_selects_children(tmp_path):
    from exporter.reading import load

    deck = load(BuildConfig(notes=copy_fixture("kinds", tmp_path))).deck
    assert [f.plain_question for f in select_tags(deck, ("upsc",)).facts] == ["Lithium is used in"]
    assert select_tags(deck, ("ups",)).facts == ()


@pytest.mark.slow
def test_seed_note_builds_strict(tmp_path, collection):
    shutil.copytree(REPO / "notes", tmp_path / "notes")
    out = tmp_path / "dist"
    result = build(BuildConfig(notes=tmp_path / "notes", out=out, strict=True, self_test=True))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert not result.diagnostics
    notes, facts, cards = result.counts
    assert notes == 1 and facts >= 40 and cards > facts
    import_apkg(collection, out / "notes.apkg")
    assert collection.note_count() == facts
    assert collection.card_count() == cards
    text = " ".join(p.extract_text() for p in PdfReader(out / "notes.pdf").pages)
    for section in [
        "About TRUST Initiative",
        "Pillars / Focus Areas",
        "Key Features",
        "Challenges for TRUST",
        "About Critical Minerals",
        "Mineral Security Partnership",
        "India’s Initiative",
        "USCEUAJSI",
    ]:
        assert section in text, section


def test_every_problem_of_every_file_in_one_sorted_run(tmp_path):
    from click.testing import CliRunner

    from exporter.cli import main

    notes = copy_fixture("multi", tmp_path)
    result = CliRunner().invoke(main, ["check", "--notes", str(notes)])
    assert result.exit_code == 1
    lines = [
        line for line in result.output.splitlines() if ": error: " in line or ": warning: " in line
    ]
    where = [re.match(r".*/multi/(.+?):(\d+):(\d+): (\w+)", line).groups() for line in lines]
    assert where == [
        ("a.md", "2", "17", "error"),  # front matter YAML, where the list should close
        ("a.md", "7", "19", "error"),  # unclosed cloze
        ("c.md", "3", "6", "error"),  # not UTF-8
        ("sub/b.md", "3", "3", "error"),  # ^dup again
        ("sub/b.md", "4", "11", "error"),  # long answer without block
        ("sub/b.md", "5", "3", "warning"),  # same fact twice
    ], result.output
    assert "first used at" in lines[3] and "a.md:6" in lines[3]
    assert "5 errors, 1 warning" in result.output.splitlines()[-1]


def test_empty_notes_folder_is_an_error(tmp_path):
    (tmp_path / "notes").mkdir()
    result = build(BuildConfig(notes=tmp_path / "notes", out=tmp_path / "dist"))
    assert not result.ok
    assert "no notes found" in result.diagnostics[0].message


def test_a_lock_checked_out_with_crlf_line_ends_is_not_rewritten(tmp_path):
    """git on Windows may check the lock out with `\r\n`: the same text, so a build
    leaves it as it is; an edit then writes it with `\n`."""
    notes = copy_fixture("kinds", tmp_path)
    config = BuildConfig(notes=notes, out=tmp_path / "dist", formats=("apkg",))
    assert build(config).ok
    crlf = config.lock_path.read_bytes().replace(b"\n", b"\r\n")
    config.lock_path.write_bytes(crlf)
    assert build(config).ok
    assert config.lock_path.read_bytes() == crlf
    (notes / "general.md").write_text("- a new fact :: its answer\n", encoding="utf-8")
    assert build(config).ok
    assert b"\r" not in config.lock_path.read_bytes()


@pytest.mark.slow
def test_failed_build_leaves_outputs_and_lock_byte_identical(tmp_path):
    notes = copy_fixture("kinds", tmp_path)
    out = tmp_path / "dist"
    assert build(BuildConfig(notes=notes, out=out)).ok
    (notes / "general.md").write_text("- edited :: answer\n- broken {{cloze\n")
    before = snapshot(tmp_path)
    assert not build(BuildConfig(notes=notes, out=out)).ok
    assert snapshot(tmp_path) == before


@pytest.mark.slow
def test_interrupted_build_leaves_everything_as_it_was(tmp_path, monkeypatch):
    notes = copy_fixture("kinds", tmp_path)
    out = tmp_path / "dist"
    assert build(BuildConfig(notes=notes, out=out)).ok
    (notes / "general.md").write_text((notes / "general.md").read_text() + "- new :: fact\n")
    before = snapshot(tmp_path)

    from exporter.exporters import pdf

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pdf.PdfExporter, "export", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(BuildConfig(notes=notes, out=out))
    assert snapshot(tmp_path) == before
    assert not [p for p in out.rglob("*.part")]


@pytest.mark.slow
def test_notes_are_only_ever_read(tmp_path):
    notes = copy_fixture("kinds", tmp_path)
    files = [p for p in notes.rglob("*") if p.is_file()]
    stamps = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}
    for _ in range(2):
        assert build(BuildConfig(notes=notes, out=tmp_path / "dist", self_test=True)).ok
    assert [p for p in notes.rglob("*") if p.is_file()] == files
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files} == stamps


HOSTILE = """# Field notes <script>alert(1)</script>

Intro <b onclick="steal()">bold</b> prose.<script>document.write('x')</script>

<style>@import url(http://127.0.0.1:{port}/style.css); body {{ display: none }}</style>
<link rel="stylesheet" href="http://127.0.0.1:{port}/link.css">
<iframe src="http://127.0.0.1:{port}/frame"></iframe>

- Capital of France :: <a href="javascript:alert(1)">Paris</a> ![map](http://127.0.0.1:{port}/map.png)
- Raw image :: <img src="http://127.0.0.1:{port}/raw.png" onerror="alert(2)"> kept
- Local file :: <img src="file:///etc/hosts"> and <a href="file:///etc/passwd">passwd</a>
- India joined the MSP in {{{{2023}}}}. <svg onload="alert(3)"></svg>
"""


@pytest.fixture
def listener():
    """A local HTTP server that records every request it gets."""
    import http.server
    import threading

    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_hostile_note_builds_clean_outputs_and_fetches_nothing(tmp_path, listener, collection):
    port, seen = listener
    notes = tmp_path / "notes"
    write_note(notes, "hostile.md", HOSTILE.format(port=port))
    out = tmp_path / "dist"
    result = build(BuildConfig(notes=notes, out=out, self_test=True))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert sum("remote image" in d.message for d in result.diagnostics) == 2
    assert seen == []

    import_apkg(collection, out / "notes.apkg")
    cards = ""
    for cid in collection.find_cards(""):
        card = collection.get_card(cid)
        cards += card.question() + card.answer()
    sheet = " ".join(page.extract_text() for page in PdfReader(out / "notes.pdf").pages)
    lowered = cards.lower()
    for payload in [
        "<script",
        "onclick",
        "onerror",
        "onload",
        "<iframe",
        "<link",
        "@import",
        "javascript:",
        "file:",
        "127.0.0.1",
        "steal()",
        "<svg",
    ]:
        assert payload not in lowered, payload
        assert payload not in sheet.lower(), payload
    for text in ["Capital of France", "Paris", "kept", "passwd", "2023"]:
        assert text in cards and text in sheet, text
    assert "Intro bold prose." in sheet


def test_remote_image_fails_strict(tmp_path, listener):
    port, seen = listener
    notes = tmp_path / "notes"
    write_note(notes, "n.md", f"- Map :: ![m](http://127.0.0.1:{port}/m.png)\n")
    result = build(BuildConfig(notes=notes, out=tmp_path / "dist", strict=True))
    assert not result.ok and seen == []
    (d,) = result.diagnostics
    assert (d.line, d.col) == (1, 15) and "remote image" in d.message


@pytest.mark.slow
def test_deck_only_build_never_imports_weasyprint(tmp_path):
    import subprocess
    import sys

    notes = copy_fixture("kinds", tmp_path)
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from exporter.config import BuildConfig\n"
        "from exporter.pipeline import build\n"
        f"assert build(BuildConfig(notes=Path({str(notes)!r}), out=Path({str(tmp_path / 'd')!r}),"
        " formats=('apkg',))).ok\n"
        "print('weasyprint' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_incremental_sheet_equals_a_clean_build(tmp_path):
    from bench.corpus import write_corpus

    notes = write_corpus(tmp_path / "notes", 4, 12)
    out = tmp_path / "dist"
    assert build(BuildConfig(notes=notes, out=out, formats=("pdf",)), now=lambda: 1).ok
    target = sorted(notes.rglob("*.md"))[1]
    target.write_text(target.read_text().replace(" :: ", " :: changed ", 1))
    assert build(BuildConfig(notes=notes, out=out, formats=("pdf",)), now=lambda: 2).ok
    incremental = {
        k: v for k, v in snapshot(out).items() if k.endswith(".pdf") and not k.startswith(".cache/")
    }
    shutil.rmtree(out)
    assert build(BuildConfig(notes=notes, out=out, formats=("pdf",)), now=lambda: 3).ok
    clean = {
        k: v for k, v in snapshot(out).items() if k.endswith(".pdf") and not k.startswith(".cache/")
    }
    assert incremental == clean and len(clean) == 5


@pytest.mark.slow
def test_cache_keeps_what_is_used_and_prunes_the_stale(tmp_path):
    import os
    import time

    from exporter.store import Store

    notes = copy_fixture("kinds", tmp_path)
    out = tmp_path / "dist"
    assert build(BuildConfig(notes=notes, out=out)).ok
    used = sorted((out / ".cache").rglob("*.pickle")) + sorted((out / ".cache").rglob("*.pdf"))
    assert used
    stale = out / ".cache" / "sheets" / "old-render.pdf"
    stale.write_bytes(b"%PDF old")
    month_ago = time.time() - 30 * 24 * 3600
    for path in [stale, *used]:
        os.utime(path, (month_ago, month_ago))
    (notes / "general.md").write_text((notes / "general.md").read_text() + "- new :: one\n")
    assert build(BuildConfig(notes=notes, out=out)).ok
    assert not stale.exists()
    unchanged_note = [p for p in used if p.suffix == ".pickle"]
    assert any(p.exists() for p in unchanged_note), "a still-used parse was pruned"
    assert Store(out).prune(["notes", "sheets"]) == 0


def test_an_unchanged_rebuild_still_shows_the_warnings(tmp_path):
    notes = tmp_path / "notes"
    write_note(notes, "n.md", "- Map :: ![m](https://example.org/m.png)\n- q :: a\n- q :: a\n")
    first = build(BuildConfig(notes=notes, out=tmp_path / "dist", formats=("apkg",)))
    assert first.ok and len(first.diagnostics) == 2
    again = build(BuildConfig(notes=notes, out=tmp_path / "dist", formats=("apkg",)))
    assert again.up_to_date
    assert again.diagnostics == first.diagnostics
