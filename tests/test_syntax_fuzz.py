"""Generated and mutated notes: parsing either succeeds or returns positioned diagnostics,
never an uncaught exception. Bounded example counts keep it a CI test."""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporter.sources import read_source
from exporter.syntax import parse_note
from exporter.syntax.shortcut import PlainTextTreeprocessor

from .conftest import FIXTURES, REPO

# Function-scoped fixtures are fine here: each example restores what it patches.
HEALTH = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]

PIECES = [
    "::",
    ":::",
    "{{",
    "}}",
    "{{c1::",
    "{{c0::",
    "{{c2::x::hint}}",
    "::hint}}",
    "#tag",
    "#a/b",
    "#",
    "^id",
    "^",
    "\\",
    "\\::",
    "\\{{",
    "\\#",
    "`",
    "``",
    "```",
    "```text\n",
    "~~~\n",
    "- ",
    "* ",
    "1. ",
    "  ",
    "    ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    "# ",
    "## ",
    "> ",
    "| a | b |\n|---|---|\n",
    "<b>",
    "</b>",
    "<script>",
    "<img src=x.png>",
    "![i](a.png)",
    "[l](http://x)",
    "**",
    "*",
    "_",
    "&amp;",
    "&#35;",
    "<http://a.b>",
    "<me@x.org>",
    "  \n",
    "[r]",
    "\n[r]: http://x\n",
    "---\n",
    "\u200d",
    "\u0301",
    "\u202e",
    "\ufeff",
    "\x00",
    "🛡️",
    "👨‍🎓",
    "हम",
    "𓀀",
    "text",
    "Q",
    "A",
    " ",
]

fragments = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=40).map(
    "".join
)


def check(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "dir" / "note.md"
        path.parent.mkdir()
        path.write_bytes(data)
        source, diags = read_source(root, path)
        # A lone CR ends a line too, as editors show it.
        lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 2
        if source is not None:
            note, more = parse_note(source, root)
            diags = diags + more
            for fact in note.facts:
                assert 1 <= fact.line <= lines
        for d in diags:
            assert d.path.endswith("note.md")
            assert 1 <= d.line <= lines, d.format()
            assert d.col >= 1, d.format()
            assert d.message


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=fragments,
    front=st.sampled_from(
        ["", "---\ntitle: T\n---\n", "---\ntags: [a, b c]\n---\n", "---\n: [\n---\n", "---\n"]
    ),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]),
    crlf=st.booleans(),
)
def test_generated_notes_never_raise(body, front, encoding, crlf):
    text = front + body
    if crlf:
        text = text.replace("\n", "\r\n")
    check(text.encode(encoding, errors="replace"))


SEED = next((REPO / "notes").rglob("*.md")).read_bytes()


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(
            st.floats(0, 1),
            st.integers(0, 12),
            st.one_of(st.sampled_from(PIECES), st.text(max_size=4)),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_mutated_seed_note_never_raises(edits):
    data = SEED
    for where, cut, insert in edits:
        at = int(where * len(data))
        data = data[:at] + insert.encode("utf-8", errors="replace") + data[at + cut :]
    check(data)


def every_pattern(self: PlainTextTreeprocessor, root) -> None:
    """The shortcut switched off: no text atomic, every inline pattern tried."""
    self.md.treeprocessors["inline"].inlinePatterns = self.md.inlinePatterns


def parse_both(data: bytes, monkeypatch) -> None:
    """Parse with and without the plain-text shortcut: notes and diagnostics must agree."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "note.md"
        path.write_bytes(data)
        source, _ = read_source(root, path)
        if source is None:
            return
        fast = parse_note(source, root)
        with monkeypatch.context() as patch:
            patch.setattr(PlainTextTreeprocessor, "run", every_pattern)
            slow = parse_note(source, root)
        assert fast == slow
        # Atomic markers stay inside the parse: the model (and its cache) holds plain str.
        assert b"AtomicString" not in pickle.dumps(fast)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=HEALTH)
@given(body=fragments)
def test_plain_text_shortcut_changes_nothing(body, monkeypatch):
    parse_both(body.encode("utf-8", errors="replace"), monkeypatch)


@pytest.mark.parametrize(
    "path", [*sorted((REPO / "notes").rglob("*.md")), *sorted(FIXTURES.rglob("*.md"))]
)
def test_plain_text_shortcut_changes_nothing_in_real_notes(path, monkeypatch):
    parse_both(path.read_bytes(), monkeypatch)
