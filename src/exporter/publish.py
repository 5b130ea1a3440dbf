"""Putting one build's outputs into place as a set, and one build at a time.

Every output and the lock are written beside their final names (`.name.XXXX.part`) and
renamed into place only when all of them are complete. Before the first rename, a journal
in the output's `.cache/` lists every rename; it is deleted after the last. A build killed
between two renames leaves the journal behind, and the next build finishes those renames
before anything else, so a deck of one build never stays beside a sheet of another. The
`.part` files of a build killed earlier, while it was still writing, are removed then too.

Two builds of the same notes or into the same output folder would race for the lock and
the outputs: each build holds an exclusive lock (`flock`) on the folder that holds the
notes' lock and on the output folder, and a second build waits, saying so.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

JOURNAL = "publishing.json"


def journal_path(out: Path) -> Path:
    from .store import cache_root  # the store writes through this module

    return cache_root(out) / JOURNAL


class Publication:
    """The files of one build on their way into place, and the folders made for them."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.made: list[Path] = []
        self.staged: list[tuple[Path, Path]] = []

    def folder(self, path: Path) -> None:
        """Create `path` and its missing parents, remembering each, so an abandoned
        build takes away every folder it made."""
        self.made.extend(make_folders(path))

    def stage(self, final: Path) -> Path:
        """A new temporary file beside `final`, so the rename into place is atomic."""
        self.folder(final.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
        os.close(fd)
        self.staged.append((Path(tmp), final))
        return Path(tmp)

    @property
    def targets(self) -> list[Path]:
        return [final for _, final in self.staged]

    def commit(self) -> None:
        """Rename every staged file into place, journalled so that a kill half-way is
        finished by the next build."""
        for tmp, _ in self.staged:
            os.chmod(tmp, 0o644)
        journal = journal_path(self.out)
        self.folder(journal.parent)
        moves = [[str(tmp.resolve()), str(final.resolve())] for tmp, final in self.staged]
        write_atomic(journal, json.dumps({"moves": moves}, indent=1).encode())
        # From here the staged files belong to the journal: an interrupted rename is
        # finished by the next build (`recover`), never undone by `abandon`.
        staged, self.staged, self.made = self.staged, [], []
        for tmp, final in staged:
            os.replace(tmp, final)
        journal.unlink()

    def abandon(self) -> None:
        """Remove what an unfinished build wrote: its temporary files and new folders."""
        for tmp, _ in self.staged:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        for folder in reversed(self.made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        self.staged.clear()
        self.made.clear()


def make_folders(path: Path) -> list[Path]:
    """Create `path` and its missing parents; the folders made, outermost first."""
    missing = []
    for folder in [path, *path.parents]:
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
    return missing[::-1]


def recover(out: Path, lock_path: Path) -> int:
    """Finish the renames of a build killed while publishing, and remove the `.part`
    files of builds killed while writing. Returns how many files it moved or removed."""
    done = 0
    journal = journal_path(out)
    try:
        moves = json.loads(journal.read_text(encoding="utf-8"))["moves"]
    except (OSError, ValueError, KeyError, TypeError):
        moves = []
    for tmp, final in moves:
        with contextlib.suppress(OSError):
            os.replace(tmp, final)
            done += 1
    with contextlib.suppress(FileNotFoundError):
        journal.unlink()
    leftovers = list(out.rglob(".*.part")) if out.is_dir() else []
    leftovers += lock_path.parent.glob(f".{lock_path.name}.*.part")
    for path in leftovers:
        with contextlib.suppress(OSError):
            path.unlink()
            done += 1
    return done


@contextlib.contextmanager
def exclusive(folders: list[Path], on_wait: Callable[[str], None] | None) -> Iterator[None]:
    """Hold an exclusive lock on each folder (the nearest one that exists), in a fixed
    order; tell `on_wait` once when another build holds one."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock on folders; builds there are not serialised
        yield
        return
    held: list[int] = []
    targets = sorted({str(nearest_folder(f).resolve()) for f in folders})
    told = False
    try:
        for target in targets:
            fd = os.open(target, os.O_RDONLY)
            held.append(fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait and not told:
                    on_wait(f"waiting for another build that is using {target} to finish…")
                    told = True
                fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        for fd in held:
            os.close(fd)  # closing releases the lock


def nearest_folder(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.is_dir() and path.parent != path:
        path = path.parent
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file of its own, so a reader never sees half a file and
    two writers never share a temporary name."""
    tmp = write_beside(path, data, ".tmp")
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_beside(path: Path, data: bytes, suffix: str) -> Path:
    """`data` in a new temporary file of its own beside `path` (`.name.XXXX<suffix>`),
    to be renamed into place; nothing is left behind if writing fails."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # as every output is: mkstemp's 0600 hid sheets from others
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return Path(tmp)
