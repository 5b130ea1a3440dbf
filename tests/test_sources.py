"""Reading notes: encodings, line endings, front matter, each problem at its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.sources import find_notes, read_source
from exporter.syntax import parse_note

from .conftest import write_note


def read(tmp_path, data: bytes, rel: str = "n.md"):
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return read_source(tmp_path, path)


def test_not_utf8_names_line_and_column(tmp_path):
    source, diags = read(tmp_path, b"# T\n\n- ok :: yes\n- caf" + b"\xe9 :: no\n")
    assert source is None
    (d,) = diags
    assert (d.line, d.col, d.is_error) == (4, 6, True)
    assert "not UTF-8" in d.message and "0xe9" in d.message and "UTF-8" in d.hint


def test_bom_and_crlf_keep_line_numbers(tmp_path):
    source, diags = read(tmp_path, b"\xef\xbb\xbf# T\r\n\r\n- a :: b\r\n- c :: d\r\n")
    assert source is not None and not diags
    note, more = parse_note(source, tmp_path)
    assert not more
    assert [(f.line, f.plain_answer) for f in note.facts] == [(3, "b"), (4, "d")]


def test_nul_bytes_are_removed_with_a_warning(tmp_path):
    source, diags = read(tmp_path, b"# T\n\n- a :: b\x00c\n")
    (d,) = diags
    assert (d.line, d.is_error) == (3, False) and "NUL" in d.message
    note, _ = parse_note(source, tmp_path)
    assert note.facts[0].plain_answer == "bc"


def test_broken_front_matter_is_reported_and_the_body_still_checked(tmp_path):
    source, diags = read(tmp_path, b"---\ntitle: [unclosed\n---\n# T\n\n- {{open :: x\n")
    assert source is not None
    (yaml_error,) = diags
    assert yaml_error.is_error and yaml_error.line in (2, 3)
    assert "front matter is not valid YAML" in yaml_error.message
    _, body = parse_note(source, tmp_path)
    assert any(d.line == 6 and "cloze" in d.message for d in body)


def test_other_front_matter_keys_are_the_notes_own_and_not_reported(tmp_path):
    # Obsidian keeps its properties (aliases, cssclasses, dates…) in the front matter.
    source, diags = read(tmp_path, b"---\ntitle: T\ncolour: blue\naliases: [x]\n---\n- a :: b\n")
    assert diags == []
    assert source.meta == {"title": "T"}


def test_tag_anki_cannot_hold_is_fitted_with_a_warning_at_its_line(tmp_path):
    """Properties written for Obsidian need not fit Anki: the note still builds."""
    text = "---\ntags:\n  - upsc\n  - \"company's powers\"\n---\n"
    source, diags = read(tmp_path, text.encode())
    (d,) = diags
    assert not d.is_error and d.line == 4
    assert "'company's powers' cannot be an Anki tag" in d.message
    assert "used as 'company-s-powers'" in d.message
    assert source.meta["tags"] == ["upsc", "company-s-powers"]


def test_front_matter_of_the_wrong_shape(tmp_path):
    _, diags = read(tmp_path, b"---\n- a\n- b\n---\ntext\n")
    assert diags[0].is_error and "mapping" in diags[0].message
    _, diags = read(tmp_path, b"---\ntitle: T\n")
    assert "not closed" in diags[0].message
    _, diags = read(tmp_path, b"---\ntags: {a: b}\n---\n")
    assert "wrong type" in diags[0].message and diags[0].line == 2
    _, diags = read(tmp_path, b"---\ntitle: [a, b]\n---\n")
    assert "wrong type" in diags[0].message and diags[0].line == 2


def test_finding_notes_skips_hidden_and_sorts(tmp_path):
    for rel in ["b.md", "a/z.md", "a/c.md", ".git/x.md", "a/.hidden.md", "x.txt"]:
        write_note(tmp_path, rel, "text\n")
    assert [p.relative_to(tmp_path).as_posix() for p in find_notes(tmp_path)[0]] == [
        "a/c.md",
        "a/z.md",
        "b.md",
    ]


def unprivileged(work, *args):
    """Run `work(*args)` as a user without root's power to read anything: in a forked
    child that drops to `nobody` when the tests run as root. Returns its result."""
    import os
    import pickle

    if os.geteuid() != 0:
        return work(*args)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, work, send the result, leave
        try:
            os.setgid(65534)
            os.setuid(65534)
            data = pickle.dumps(work(*args))
        except BaseException as exc:
            data = pickle.dumps(exc)
        with os.fdopen(write, "wb") as pipe:
            pipe.write(data)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    result = pickle.loads(data)
    if isinstance(result, BaseException):
        raise result
    return result


def open_folder(tmp_path):
    """A folder the unprivileged user can reach. pytest's own is root's alone, and the
    system's temporary folder may be too (a mode-0700 TMPDIR), so the first of the usual
    places whose every parent others may pass through is used; with none, the test skips
    and says why."""
    import os
    import stat
    import tempfile

    def reachable(folder: Path) -> bool:
        return all(
            p.stat().st_mode & stat.S_IXOTH for p in (folder, *folder.parents) if p.exists()
        )

    if os.geteuid() != 0:
        return Path(tempfile.mkdtemp(prefix="exporter-test-", dir=tmp_path))
    for place in (tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"):
        if Path(place).is_dir() and reachable(Path(place).resolve()):
            folder = Path(tempfile.mkdtemp(prefix="exporter-test-", dir=place))
            os.chmod(folder, 0o755)
            return folder
    pytest.skip("run as root, and no temporary folder that another user can reach")


def test_a_folder_that_cannot_be_read_is_an_error(tmp_path):
    import os
    import shutil

    from exporter.config import BuildConfig
    from exporter.reading import examine

    base = open_folder(tmp_path)
    try:
        notes = base / "notes"
        write_note(notes, "a.md", "- Capital of India :: New Delhi\n")
        write_note(notes, "closed/b.md", "- Capital of Nepal :: Kathmandu\n")
        write_note(notes, "open/c.md", "- Capital of Bhutan :: Thimphu\n")
        write_note(notes, "open/secret.md", "- Capital of Tibet :: Lhasa\n")
        for folder in (base, notes, notes / "open"):
            os.chmod(folder, 0o755)
        for path in notes.rglob("*.md"):
            os.chmod(path, 0o644)
        os.chmod(notes / "closed", 0o700)
        os.chmod(notes / "open/secret.md", 0o600)

        def problems():
            found = examine(BuildConfig(notes=notes, formats=("apkg",)))
            return [(d.path, d.message) for d in found.diagnostics]

        # Root reads everything (and loads every module the child will need).
        assert os.geteuid() != 0 or problems() == []
        seen = unprivileged(problems)
        assert any(
            path.endswith("notes/closed") and "cannot read this folder" in message
            for path, message in seen
        ), seen
        assert any(
            path.endswith("open/secret.md") and "cannot read the file" in message
            for path, message in seen
        ), seen
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_git_conflict_markers_are_errors_at_their_lines(tmp_path):
    text = (
        "# Rivers\n\nSetext heading\n=======\n\n"
        "<<<<<<< HEAD\n- Longest river :: Ganga\n=======\n- Longest river :: the Ganga\n"
        ">>>>>>> feature\n"
    )
    path = write_note(tmp_path, "rivers.md", text)
    _, diags = read_source(tmp_path, path)
    assert [(d.line, d.message) for d in diags] == [
        (6, "a git conflict marker (<<<<<<<)"),
        (8, "a git conflict marker (=======)"),
        (10, "a git conflict marker (>>>>>>>)"),
    ]
    assert all(d.is_error for d in diags)
