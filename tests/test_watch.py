"""`watch` with a real file watcher: rebuilds on save, survives a broken note."""

from __future__ import annotations

import queue
import threading
import time

from exporter.config import BuildConfig
from exporter.watch import watch

from .conftest import copy_fixture


def next_result(results: queue.Queue, wanted, timeout: float = 30):
    """The first build result that `wanted` accepts; one save can reach the watcher as
    more than one burst of events, and the extra builds are skipped here."""
    deadline = time.monotonic() + timeout
    while True:
        result = results.get(timeout=max(deadline - time.monotonic(), 0.01))
        if wanted(result):
            return result


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
