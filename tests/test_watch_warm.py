"""`watch` keeps its state warm between saves, and that state is never stale: after each
kind of change (a save, a broken note then fixed, a hand edit of the lock, a change of
style, a note deleted or renamed) the watched outputs are byte for byte those of a
clean build, in a fresh output folder, of the same notes and lock."""

from __future__ import annotations

import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from exporter import store, workers
from exporter.config import BuildConfig, default_styles
from exporter.pipeline import BuildResult, build
from exporter.watch import watch

from .conftest import copy_fixture, rows_made, write_note

pytestmark = pytest.mark.slow


def outputs(out: Path) -> dict[str, bytes]:
    """Every output file under `out`, by its path there (the store left out)."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and ".cache" not in p.relative_to(out).parts
    }


def clean_build(config: BuildConfig, tmp_path: Path) -> dict[str, bytes]:
    """The same notes and lock built afresh, into an output folder of their own."""
    root = tmp_path / f"clean-{time.monotonic_ns()}"
    notes = root / config.notes.name
    shutil.copytree(config.notes, notes)
    shutil.copy2(config.lock_path, root / config.lock_path.name)
    clean = BuildConfig(
        notes=notes, out=root / "dist", formats=config.formats, styles=config.styles
    )
    result = build(clean)
    assert result.ok, result.diagnostics
    return outputs(clean.out)


class Watched:
    def __init__(self, config: BuildConfig) -> None:
        self.config = config
        self.results: queue.Queue[BuildResult] = queue.Queue()

    def next(self, wanted: Callable[[BuildResult], bool], timeout: float = 120) -> BuildResult:
        """The first build result `wanted` accepts (a save may come as two bursts)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.results.get(timeout=max(deadline - time.monotonic(), 0.01))
            if wanted(result):
                return result

    def settle(self) -> None:
        """Let a second burst of the same save build, so the outputs are final."""
        time.sleep(0.5)
        while not self.results.empty():
            self.results.get()


@contextmanager
def watching(config: BuildConfig) -> Iterator[Watched]:
    watched = Watched(config)
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=(config, watched.results.put, stop), daemon=True)
    thread.start()
    try:
        yield watched
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()


def same_as_clean(watched: Watched, tmp_path: Path) -> None:
    watched.settle()
    assert outputs(watched.config.out) == clean_build(watched.config, tmp_path)


def test_every_kind_of_change_leaves_the_outputs_of_a_clean_build(tmp_path):
    notes = copy_fixture("identity", tmp_path)
    styles = tmp_path / "styles"
    shutil.copytree(default_styles(), styles)
    config = BuildConfig(notes=notes, out=tmp_path / "dist", styles=styles)
    with watching(config) as watched:
        assert watched.next(lambda r: True).ok
        same_as_clean(watched, tmp_path)

        write_note(notes, "b.md", "# M\n\n- Edited :: answer\n- Second :: two\n")
        assert watched.next(lambda r: r.ok and not r.up_to_date).ok
        same_as_clean(watched, tmp_path)

        write_note(notes, "b.md", "# M\n\n- broken {{cloze\n")
        watched.next(lambda r: not r.ok)
        write_note(notes, "b.md", "# M\n\n- Edited :: answer again\n- Second :: two\n")
        watched.next(lambda r: r.ok)
        same_as_clean(watched, tmp_path)

        # A hand edit of the lock (a checkout of an older one, say) is built at once.
        before = config.lock_path.read_text(encoding="utf-8")
        config.lock_path.write_text(before.replace("\n", "\n", 1) + "\n", encoding="utf-8")
        watched.next(lambda r: r.ok)
        same_as_clean(watched, tmp_path)

        css = styles / "sheet.css"
        css.write_text(css.read_text(encoding="utf-8") + "\nh1 { letter-spacing: 1pt; }\n")
        watched.next(lambda r: r.ok)
        same_as_clean(watched, tmp_path)

        (notes / "b.md").rename(notes / "renamed.md")
        watched.next(lambda r: r.ok and r.counts[0] == 2)
        same_as_clean(watched, tmp_path)
        assert not (config.out / "sheets" / "b.pdf").exists()

        (notes / "renamed.md").unlink()
        watched.next(lambda r: r.ok and r.counts[0] == 1)
        same_as_clean(watched, tmp_path)
        assert sorted(p.name for p in (config.out / "sheets").iterdir()) == ["a.pdf"]


def test_a_warm_store_serves_kept_entries_from_memory(tmp_path, monkeypatch):
    """A save in a warm process reads the saved note only (the sheet's checks open the
    store too, and must not drop what the build has staged), and makes the deck's rows
    of that note only: the others' are kept."""
    notes = copy_fixture("identity", tmp_path)
    config = BuildConfig(notes=notes, out=tmp_path / "dist")
    made = rows_made(monkeypatch)
    with store.warm(), workers.warm():
        assert build(config).ok
        kept = store.open_store(config.out)
        assert sorted(made) == ["a.md", "b.md"]
        for n in range(2):
            made.clear()
            write_note(notes, "b.md", f"# M\n\n- One more :: fact {n}\n")
            read: list[str] = []
            assert build(config, progress=read.append).ok
            assert [m for m in read if m.startswith("read ")] == ["read b.md"]
            assert made == ["b.md"], "the unchanged note's rows were made again"
        # Only the notes as they are now: no version saved earlier stays in memory. The
        # unchanged note's parse is not there either: its kept note holds what it read.
        assert len(kept.area("notes").memory) == 1
        # The unchanged note, and the saved one as read and as resolved (the checks see
        # it before its identities are known): not the versions of the earlier save.
        held = {id(v[0]) for v in kept.memos.values() if isinstance(v, tuple)}
        assert len(held) == 3
    assert store.open_store(config.out) is not kept  # a cold process keeps nothing


def test_a_file_changed_within_the_clock_tick_of_its_hashing_is_read_again(tmp_path):
    path = tmp_path / "note.md"
    path.write_text("one")
    digests = store.Digests()
    first = digests.of(path)
    path.write_text("two")  # same size, and perhaps the same time
    assert digests.of(path) != first
