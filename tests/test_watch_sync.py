"""`watch --sync`: every save that builds cleanly also syncs a real collection; a failed
build never syncs; the deletion guard asks once, then waits."""

from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from exporter.config import BuildConfig
from exporter.sync.collection import LocalCollection
from exporter.sync.journal import Journal
from exporter.sync.live import Following
from exporter.watch import watch

from .conftest import FIXTURES, REPO
from .test_sync import open_collection

pytest.importorskip("anki")


def backs(target: Path) -> dict[str, str]:
    col = open_collection(target)
    try:
        return {
            col.get_note(n)["Front"]: col.get_note(n)["Back"] for n in col.find_notes("Front:_*")
        }
    finally:
        col.close()


def wait_for(lines: queue.Queue, wanted: str, timeout: float = 60) -> list[str]:
    """Every line up to the first that holds `wanted`."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            raise AssertionError(f"no {wanted!r} after: {seen}") from None
        seen.append(line)
        if wanted in line:
            return seen


@pytest.mark.slow
def test_each_clean_save_syncs_and_a_broken_one_does_not(tmp_path):
    """As a user runs it: `python build.py watch --sync --collection FILE`."""
    shutil.copytree(FIXTURES / "everyday", tmp_path / "notes")
    target = tmp_path / "collection.anki2"
    open_collection(target).close()
    process = subprocess.Popen(
        [
            *(sys.executable, str(REPO / "build.py"), "watch", "--format", "apkg"),
            *("--sync", "--collection", str(target)),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in process.stdout], daemon=True).start()
    try:
        assert any("46 to add" in x for x in wait_for(lines, "synced "))
        rivers = tmp_path / "notes/geography/rivers.md"
        budget = tmp_path / "notes/economy/budget.md"
        time.sleep(0.2)
        budget.write_text(budget.read_text().replace(":: total expenditure", ":: total spending"))
        rivers.write_text(rivers.read_text() + "\n- broken {{cloze\n")
        assert any("build failed" in x for x in wait_for(lines, "build failed"))
        time.sleep(1.0)
        assert lines.empty() or not any("synced" in x for x in list(lines.queue))
        rivers.write_text(rivers.read_text().replace("\n- broken {{cloze\n", "\n"))
        seen = wait_for(lines, "synced ")
        assert any("1 to update" in x for x in seen)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert backs(target)["Fiscal deficit"].startswith("total spending")


def test_the_deletion_guard_asks_once_then_waits(tmp_path):
    shutil.copytree(FIXTURES / "everyday", tmp_path / "notes")
    target = tmp_path / "collection.anki2"
    open_collection(target).close()
    config = BuildConfig(notes=tmp_path / "notes", out=tmp_path / "dist", formats=("apkg",))
    journal = Journal(tmp_path / "notes.lock.json.sync-journal", tmp_path / "dist/.backup")
    said: queue.Queue = queue.Queue()
    asked: list[str] = []

    def no(question: str) -> bool:
        asked.append(question)
        return False

    follow = Following(config, LocalCollection(target, journal), said.put, no)
    results: queue.Queue = queue.Queue()
    stop = threading.Event()
    def built(result) -> None:
        results.put(result)
        follow(result)

    thread = threading.Thread(target=watch, args=(config, built, stop), daemon=True)
    thread.start()
    try:
        wait_for(said, "synced ")
        economy = tmp_path / "notes/economy"
        saved = {p: p.read_text() for p in economy.glob("*.md")}
        for path in saved:  # twelve facts go at once: the guard stops the sync
            path.write_text("# Emptied\n\nNothing here yet.\n")
        first = wait_for(said, "not synced")
        assert any("stopped: this sync would delete" in x for x in first)
        assert len(asked) == 1
        overview = tmp_path / "notes/overview.md"
        overview.write_text(overview.read_text() + "\n- One more :: fact\n")
        again = wait_for(said, "not synced")
        assert again == ["not synced: still waiting for your answer about the deletions above"]
        assert len(asked) == 1  # asked once
        assert "One more" not in backs(target)  # and synced nothing meanwhile
        for path, text in saved.items():
            path.write_text(text)
        back = wait_for(said, "synced ")
        assert any("1 to add" in x for x in back)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert backs(target)["One more"] == "fact"
