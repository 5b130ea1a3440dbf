"""Rebuild on save. A note that is momentarily broken is reported and the watch goes on;
the previous outputs stay until the notes build again."""

from __future__ import annotations

import threading
from collections.abc import Callable

from .config import BuildConfig
from .pipeline import BuildResult, build

DEBOUNCE_SECONDS = 0.3


def watch(
    config: BuildConfig,
    on_result: Callable[[BuildResult], None],
    stop: threading.Event | None = None,
) -> None:
    """Build once, then again after each burst of changes, until `stop` is set."""
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    stop = stop or threading.Event()
    changed = threading.Event()
    out = config.out.resolve()

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            if event.event_type in ("opened", "closed_no_write"):
                return
            path = str(event.src_path)
            if path.startswith(str(out)) or "/." in path:
                return
            changed.set()

    observer = Observer()
    for folder in (config.notes, config.styles):
        if folder.is_dir():
            observer.schedule(Handler(), str(folder), recursive=True)
    observer.start()
    try:
        on_result(build(config))
        while not stop.is_set():
            if not changed.wait(0.1):
                continue
            while changed.is_set():
                changed.clear()
                if stop.wait(DEBOUNCE_SECONDS):
                    return
            on_result(build(config))
    finally:
        observer.stop()
        observer.join()
