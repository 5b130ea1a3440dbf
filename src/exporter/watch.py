"""Rebuild on save. A note that is momentarily broken is reported and the watch goes on;
the previous outputs stay until the notes build again. So does an output folder that
cannot be written: one line says what to do, and the next save builds again.

A watched folder that is deleted (or moved away) and made again is watched again: the
file watcher follows a folder, not its name, so each folder is looked at a few times a
second and scheduled anew when it is back, and the notes are built then."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import selection, store, workers
from .config import BuildConfig
from .pipeline import BuildResult, build
from .sources import display_path

if TYPE_CHECKING:
    from watchdog.observers.api import BaseObserver, ObservedWatch

# A save is built once the folders have been quiet this long: enough for an editor's
# write-and-rename, short beside the build it starts.
DEBOUNCE_SECONDS = 0.05
# The hidden files that choose which notes a build reads.
RULES = frozenset({selection.IGNORE_FILE, *(path for path, _ in selection.TEMPLATE_SETTINGS)})
# How often the watched folders are looked at, to watch again one that was made again.
POLL_SECONDS = 0.25


def print_error(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def watch(
    config: BuildConfig,
    on_result: Callable[[BuildResult], None],
    stop: threading.Event | None = None,
    on_error: Callable[[str], None] = print_error,
) -> None:
    """Build once, then again after each burst of changes, until `stop` is set. A build
    that cannot write its outputs is one line to `on_error`, and the watch goes on.

    The process stays warm between builds: the store's entries and file digests, the
    parser, WeasyPrint with its fonts, and the render workers are kept, so a save costs
    what the saved note changes. Nothing kept can go stale: store entries are named by
    what they hold, a file's digest is checked against its size, time and inode, and
    workers are kept only for the same styles and fonts."""
    stop = stop or threading.Event()
    changed = threading.Event()
    folders = Folders(config, changed)
    folders.start()
    try:
        with store.warm(), workers.warm():
            while True:
                run(config, on_result, on_error)
                # The lock sits beside the notes, where no folder is watched: a checkout
                # or a hand edit of it is seen against the lock as this build left it.
                lock = signature(config.lock_path)
                if not next_burst(folders, changed, stop, config.lock_path, lock):
                    return
    finally:
        folders.stop()


def next_burst(
    folders: Folders,
    changed: threading.Event,
    stop: threading.Event,
    lock_path: Path,
    lock: tuple[int, int, int] | None,
) -> bool:
    """Wait for changes, then for the folders to be quiet for the debounce; False once
    `stop` is set. The folders and the lock are looked at every `POLL_SECONDS`."""
    while not stop.is_set():
        if folders.refresh():
            changed.set()  # a folder made again: its notes are new to the watch
        if signature(lock_path) != lock:
            changed.set()
        if not changed.wait(POLL_SECONDS):
            continue
        while changed.is_set():
            changed.clear()
            if stop.wait(DEBOUNCE_SECONDS):
                return False
        return True
    return False


def signature(path: Path) -> tuple[int, int, int] | None:
    """A file's inode, size and time: what changes when it is written or replaced."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def run(
    config: BuildConfig, on_result: Callable[[BuildResult], None], on_error: Callable[[str], None]
) -> None:
    try:
        result = build(config)
    except OSError as exc:
        on_error(unwritable(config, exc))
        return
    on_result(result)


def unwritable(config: BuildConfig, exc: OSError) -> str:
    """One line: what could not be written, why, and which folder to fix (the output
    folder, or the one beside the notes that holds their lock)."""
    failed = Path(os.fsdecode(exc.filename)) if exc.filename else None
    where = f" {display_path(failed)}:" if failed else ""
    out = Path(os.path.abspath(config.out))
    inside = failed is None or Path(os.path.abspath(failed)).is_relative_to(out)
    folder = display_path(config.out if inside or failed is None else failed.parent)
    return (
        f"cannot write the outputs:{where} {exc.strerror or exc}; nothing was changed — "
        f"make {folder} a folder you can write to"
        + (" (or watch with another --out)" if inside else "")
        + ", then save a note to build again; still watching"
    )


def relevant(path: str | bytes, base: Path, out: Path) -> bool:
    """Whether a change at `path`, in the folder watched at `base`, can change a build:
    not a hidden file or folder below `base` (the notes skip them; an editor's swap file
    and `.git/` live there), and nothing inside the output folder. Paths, not strings:
    the watched folder may itself be below a hidden folder (`~/.study/notes`), and an
    output folder `no` is no prefix of `notes`."""
    if not path:
        return False
    where = Path(os.fsdecode(path))
    try:
        inside = where.relative_to(base)
    except ValueError:
        return False
    if inside.as_posix() in RULES:
        return True  # hidden, but they choose which notes are built (`selection`)
    if any(part.startswith(".") for part in inside.parts):
        return False
    return not where.is_relative_to(out)


def identity(folder: Path) -> tuple[int, int] | None:
    """The folder's device and inode, or None while no folder is there."""
    try:
        st = folder.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


@dataclass
class Watched:
    """One folder under watch: where the watcher follows it, the folder it was then,
    whether it has gone since (deleted, so the watcher stopped), and the watch."""

    base: Path
    identity: tuple[int, int]
    gone: bool = False
    watch: ObservedWatch | None = None


class Folders:
    """The notes and the styles folders under one file watcher, each watched again when
    it is made again."""

    def __init__(self, config: BuildConfig, changed: threading.Event) -> None:
        from watchdog.observers import Observer

        self.observer: BaseObserver = Observer()
        self.changed = changed
        self.out = Path(os.path.abspath(config.out)).resolve()
        asked = [Path(os.path.abspath(f)) for f in (config.notes, config.styles)]
        self.folders = list(dict.fromkeys(asked))
        self.watched: dict[Path, Watched] = {}

    def start(self) -> None:
        self.refresh()
        self.observer.start()

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join()

    def refresh(self) -> bool:
        """Let go of the watch of each folder that has gone or is another folder now,
        and watch each folder that is there and not watched. True when either happened:
        what the build reads has changed."""
        moved = False
        for folder in self.folders:
            now = identity(folder)
            held = self.watched.get(folder)
            if held is not None and (held.gone or now != held.identity):
                if held.watch is not None:
                    with contextlib.suppress(KeyError):
                        self.observer.unschedule(held.watch)
                del self.watched[folder]
                moved = True
            if now is not None and folder not in self.watched:
                self.watched[folder] = self.schedule(folder, now)
                moved = True
        return moved

    def schedule(self, folder: Path, now: tuple[int, int]) -> Watched:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler

        held = Watched(folder.resolve(), now)
        changed, out = self.changed, self.out

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return
                if event.is_directory and event.event_type == "modified":
                    return  # comes with the change of an entry in it, judged on its own
                src = Path(os.fsdecode(event.src_path))
                if event.is_directory and event.event_type == "deleted" and src == held.base:
                    held.gone = True  # and the watcher has stopped: see `refresh`
                    changed.set()
                    return
                paths = (event.src_path, getattr(event, "dest_path", ""))
                if any(relevant(p, held.base, out) for p in paths):
                    changed.set()

        held.watch = self.observer.schedule(Handler(), str(held.base), recursive=True)
        return held
