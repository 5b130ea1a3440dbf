"""`watch` with a real file watcher: rebuilds on save, survives a broken note and an
output folder it cannot write, sees saves below a hidden folder, and watches a notes
folder again after it was deleted and made again."""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from exporter.config import BuildConfig
from exporter.watch import relevant, unwritable, watch

from .conftest import FIXTURES, REPO, copy_fixture, write_note


def next_result(results: queue.Queue, wanted, timeout: float = 30):
    """The first build result that `wanted` accepts; one save can reach the watcher as
    more than one burst of events, and the extra builds are skipped here."""
    deadline = time.monotonic() + timeout
    while True:
        result = results.get(timeout=max(deadline - time.monotonic(), 0.01))
        if wanted(result):
            return result


@pytest.mark.slow
def test_watch_rebuilds_and_survives_a_broken_note(tmp_path):
    notes = copy_fixture("identity", tmp_path)
    config = BuildConfig(notes=notes, out=tmp_path / "dist", formats=("apkg",))
    results: queue.Queue = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=(config, results.put, stop), daemon=True)
    thread.start()
    try:
        first = results.get(timeout=30)
        assert first.ok and first.counts[1] == 7

        (notes / "b.md").write_text("# M\n\n- broken {{cloze\n", encoding="utf-8")
        broken = next_result(results, lambda r: not r.ok)
        assert any("unclosed cloze" in d.message for d in broken.diagnostics)
        assert (tmp_path / "dist/identity.apkg").exists()

        (notes / "b.md").write_text("# M\n\n- fixed :: yes\n", encoding="utf-8")
        fixed = next_result(results, lambda r: r.ok)
        assert fixed.counts[1] == 7
        assert [c.question for c in fixed.report.of("new")] == ["fixed"]
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_only_hidden_paths_below_the_folder_and_the_out_folder_are_ignored(tmp_path):
    base = tmp_path / ".study" / "notes"
    out = tmp_path / ".study" / "no"
    assert relevant(str(base / "b.md"), base, out)  # a hidden folder above is no matter
    assert relevant(str(base / "upsc" / "gs2.md"), base, out)
    assert relevant(str(base), base, out)
    assert not relevant(str(base / ".b.md.swp"), base, out)
    assert not relevant(str(base / ".git" / "index"), base, out)
    assert not relevant(str(base / "upsc" / ".hidden" / "x.md"), base, out)
    assert not relevant(str(out / "notes.apkg"), base, out)
    assert not relevant(str(tmp_path / "elsewhere.md"), base, out)
    assert not relevant("", base, out)
    inside = base / "dist"
    assert not relevant(str(inside / "notes.apkg"), base, inside)
    assert relevant(str(base / "distant.md"), base, inside)  # a prefix is not a folder
    assert relevant(os.fsencode(base / "b.md"), base, out)


@pytest.mark.slow
def test_a_build_that_cannot_write_is_one_message_and_the_watch_goes_on(tmp_path, monkeypatch):
    """A read-only output folder, as a user who is not root meets it (tests run as root,
    who writes anyway): the first build is refused; the next save builds."""
    import exporter.watch

    notes = copy_fixture("identity", tmp_path)
    config = BuildConfig(notes=notes, out=tmp_path / "dist", formats=("apkg",))
    real_build, refused = exporter.watch.build, [True]

    def build(config):
        if refused:
            refused.clear()
            raise PermissionError(13, "Permission denied", str(config.out / ".x.apkg.part"))
        return real_build(config)

    monkeypatch.setattr(exporter.watch, "build", build)
    results: queue.Queue = queue.Queue()
    errors: queue.Queue = queue.Queue()
    stop = threading.Event()
    args = (config, results.put, stop, errors.put)
    thread = threading.Thread(target=watch, args=args, daemon=True)
    thread.start()
    try:
        message = errors.get(timeout=30)
        assert "\n" not in message
        assert message.startswith("cannot write the outputs: ")
        assert "Permission denied; nothing was changed" in message
        assert message.endswith("then save a note to build again; still watching")
        assert results.empty()

        (notes / "b.md").write_text("# M\n\n- one :: 1\n- two :: 2\n", encoding="utf-8")
        built = next_result(results, lambda r: r.ok)
        assert built.counts[1] == 8
        assert thread.is_alive() and errors.empty()
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_the_message_names_the_folder_to_fix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = BuildConfig(notes=Path("notes"), out=Path("dist"))
    in_out = unwritable(config, PermissionError(13, "Permission denied", "dist/.a.part"))
    assert in_out == (
        "cannot write the outputs: dist/.a.part: Permission denied; nothing was changed — "
        "make dist a folder you can write to (or watch with another --out), then save a "
        "note to build again; still watching"
    )
    lock = unwritable(config, PermissionError(13, "Permission denied", "shared/notes.lock.json"))
    assert "make shared a folder you can write to, then save" in lock
    nameless = unwritable(config, OSError(28, "No space left on device"))
    assert nameless.startswith("cannot write the outputs: No space left on device;")
    assert "make dist a folder" in nameless


# ------------------------------------------------ `python build.py watch`, as people run it

TIMEOUT = 60  # a build on two shared cores, with the interpreter's start-up


class Watching:
    """`python build.py watch …` in `cwd`, its output (stdout and stderr) read line by
    line as it comes, stopped with Ctrl-C at the end."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("CI", None)
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "build.py"), "watch", "--format", "apkg", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self.read, daemon=True).start()

    def read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, wanted: str, timeout: float = TIMEOUT) -> str:
        """The next line holding `wanted`; fails with everything printed so far."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                alive = "running" if self.proc.poll() is None else f"exit {self.proc.returncode}"
                message = f"no {wanted!r} in {timeout}s ({alive}): {self.seen}"
                raise AssertionError(message) from None
            self.seen.append(line)
            if wanted in line:
                return line

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)


@contextlib.contextmanager
def watching(cwd: Path, *args: str) -> Iterator[Watching]:
    watcher = Watching(cwd, *args)
    try:
        yield watcher
    finally:
        watcher.stop()


def save(notes: Path, text: str) -> None:
    write_note(notes, "b.md", text)


@pytest.mark.slow
def test_a_notes_folder_deleted_and_made_again_is_watched_again(tmp_path):
    notes = copy_fixture("identity", tmp_path)
    with watching(tmp_path, "--notes", "identity") as watcher:
        assert "built 2 notes, 7 facts" in watcher.wait_for("built ")
        shutil.rmtree(notes)
        watcher.wait_for("notes folder not found")
        shutil.copytree(FIXTURES / "identity", notes)
        save(notes, "# M\n\n- back :: yes\n- again :: yes\n")
        assert "built 2 notes, 8 facts" in watcher.wait_for("built ")
        # And the folder made again is watched: a save there builds.
        save(notes, "# M\n\n- back :: yes\n")
        assert "built 2 notes, 7 facts" in watcher.wait_for("built ")
        assert watcher.proc.poll() is None


def assert_a_save_is_built(cwd: Path, notes: Path, out: Path) -> None:
    """`watch` with whole paths (as the shell passes `~/…`) builds, then builds a save."""
    with watching(cwd, "--notes", str(notes), "--out", str(out)) as watcher:
        assert "built 2 notes, 7 facts" in watcher.wait_for("built ")
        save(notes, "# M\n\n- one :: 1\n- two :: 2\n")
        assert "built 2 notes, 8 facts" in watcher.wait_for("built ")
    assert (out / f"{notes.name}.apkg").is_file()


@pytest.mark.slow
def test_saves_are_seen_below_a_hidden_folder(tmp_path):
    study = tmp_path / ".study"
    study.mkdir()
    assert_a_save_is_built(tmp_path, copy_fixture("identity", study), study / "dist")


@pytest.mark.slow
def test_saves_are_seen_when_the_out_folder_name_is_a_prefix_of_the_notes(tmp_path):
    notes = tmp_path / "notes"
    shutil.copytree(FIXTURES / "identity", notes)
    assert_a_save_is_built(tmp_path, notes, tmp_path / "no")


@pytest.mark.slow
def test_an_unwritable_out_folder_is_one_line_and_the_watch_goes_on(tmp_path):
    """A file where a folder of the output path should be: nothing can be written there,
    even as root (where a read-only folder is still written)."""
    copy_fixture("identity", tmp_path)
    (tmp_path / "blocker").write_text("not a folder\n", encoding="utf-8")
    with watching(tmp_path, "--notes", "identity", "--out", "blocker/dist") as watcher:
        line = watcher.wait_for("cannot write the outputs")
        assert "blocker" in line and "still watching" in line
        assert "make blocker/dist a folder you can write to" in line
        (tmp_path / "blocker").unlink()
        save(tmp_path / "identity", "# M\n\n- one :: 1\n- two :: 2\n")
        assert "built 2 notes, 8 facts" in watcher.wait_for("built ")
        assert not any("Traceback" in line for line in watcher.seen)
        assert watcher.proc.poll() is None
    assert (tmp_path / "blocker" / "dist" / "identity.apkg").is_file()


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root writes into a read-only folder: chmod cannot make it unwritable",
)
def test_a_read_only_out_folder_is_one_line_and_the_watch_goes_on(tmp_path):
    notes = copy_fixture("identity", tmp_path)
    dist = tmp_path / "dist"
    dist.mkdir()
    dist.chmod(0o555)
    try:
        with watching(tmp_path, "--notes", "identity") as watcher:
            line = watcher.wait_for("cannot write the outputs")
            assert "Permission denied" in line and "still watching" in line
            dist.chmod(0o755)
            save(notes, "# M\n\n- one :: 1\n- two :: 2\n")
            assert "built 2 notes, 8 facts" in watcher.wait_for("built ")
    finally:
        dist.chmod(0o755)
