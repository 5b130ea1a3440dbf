"""What builds remember, in one place: the output folder's `.cache/`.

The store is split into areas, one per stage or format that keeps something (`notes` for
parsed notes, `resolved` for identities, `apkg` for deck rows, `sheets` for rendered
parts, `math` for formula drawings). An entry is named by a key of everything it is made
from, so an entry that exists is right by its name alone and is never updated in place.

- Reads go through memory: an entry read or written once in this process is not read
  and decoded again. A one-shot build keeps that memory for itself; a process that
  builds again and again (`watch`) keeps it between builds (`warm`), with the digests of
  the files it has read.
- Writes are staged: each entry goes at once to a temporary file beside its name (so a
  build does not hold them all in memory), and `commit` renames them all into place once
  the build has succeeded. A build that fails removes them; one that is killed leaves
  `.part` files that the next build removes (`publish.recover`).
- Entries unused for `KEEP_UNUSED` are pruned after a successful build. Using an entry
  refreshes its file's time (at most once a day per process).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from .publish import make_folders, write_atomic, write_beside

T = TypeVar("T")
N = TypeVar("N")

# Entries unused for this long are deleted after a successful build.
KEEP_UNUSED = 14 * 24 * 3600
# How often one process refreshes an entry's time when it keeps using it.
TOUCH_EVERY = 24 * 3600
# A file whose modification time is this close to when it was hashed may change again
# within the file system's clock tick without its time changing: hash it again next time.
RACY_NS = 2_000_000_000


class Area:
    """One part of the store: a folder of entries named by their keys."""

    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.name = name
        self.folder = store.root / name
        # Each staged entry: its temporary file (a build, `Store.spool`), else its bytes.
        self.staged: dict[str, Path | bytes] = {}
        # Records (not named by what they hold) staged to replace what is there, and the
        # entries to keep when the area is tidied after them (`retain`).
        self.records: dict[str, bytes] = {}
        self.retained: set[str] | None = None
        # Staged work that is not a file (`on_commit`).
        self.work: list[Callable[[], None]] = []
        self.memory: dict[str, Any] = {}
        # What this build asked for from memory or put in it (`Store.forget_unused`).
        self.used: set[str] = set()
        self.touched: dict[str, float] = {}

    def path(self, name: str) -> Path:
        return self.folder / name

    def exists(self, name: str) -> bool:
        return name in self.staged or self.path(name).is_file()

    def read(self, name: str) -> bytes | None:
        """The entry's bytes, or None when there is none (or it cannot be read)."""
        if name in self.records:
            return self.records[name]
        staged = self.staged.get(name)
        if isinstance(staged, bytes):
            return staged
        try:
            with open(staged or self.path(name), "rb") as file:
                data = file.read()
                changed = os.fstat(file.fileno()).st_mtime
        except OSError:
            return None
        self.touch(name, changed)
        return data

    def get(self, name: str, decode: Callable[[bytes], T]) -> T | None:
        """The entry decoded, from memory when this process has it (and its file is still
        there), else read and decoded; None when it is missing or does not decode. Large
        entries cheap to read again (rendered PDFs) are read with `read`, not kept."""
        self.used.add(name)
        if name in self.memory and (name in self.staged or self.path(name).is_file()):
            self.touch(name)
            return self.memory[name]  # type: ignore[no-any-return,unused-ignore]
        data = self.read(name)
        if data is None:
            return None
        try:
            value = decode(data)
        except Exception:  # a damaged or outdated entry is made again, never an error
            return None
        self.memory[name] = value
        return value

    def put(self, name: str, data: bytes, value: Any = None) -> None:
        """Stage an entry, put in place by `Store.commit`; `value` is what `get` would
        decode from `data`, remembered so that nothing decodes it again."""
        self.used.add(name)
        if value is not None:
            self.memory[name] = value
        if name in self.staged or self.path(name).is_file():
            return  # named by what it holds: already there
        if self.store.spool:
            with contextlib.suppress(OSError):  # a full disk: the commit then says so
                self.staged[name] = self.spooled(name, data)
                return
        self.staged[name] = data

    def spooled(self, name: str, data: bytes) -> Path:
        """`data` in a temporary file beside the entry's name."""
        self.store.make_folder(self.folder)
        return write_beside(self.path(name), data, ".part")

    def record(self, name: str, data: bytes) -> None:
        """Stage a record: a file that says where things stand (an index), not named by
        what it holds, so it replaces what is there; written after the entries."""
        self.records[name] = data

    def on_commit(self, work: Callable[[], None]) -> None:
        """Stage work that is not a file, such as one transaction on a database the
        area holds: run by `commit` after the entries, dropped if the build fails. It
        raises OSError when it cannot be done."""
        self.work.append(work)

    def retain(self, names: set[str]) -> None:
        """After this build's writes, delete the area's files not in `names`."""
        self.retained = set(names)

    def keeps(self, name: str) -> bool:
        """Whether the entry is there (`exists`), its time refreshed as when it is read:
        for an entry used without being read."""
        if name in self.staged:
            return True
        try:
            st = self.path(name).stat()
        except OSError:
            return False
        if not stat.S_ISREG(st.st_mode):
            return False
        self.touch(name, st.st_mtime)
        return True

    def touch(self, name: str, changed: float = 0.0) -> None:
        """Refresh the entry's time, so pruning keeps what builds still use; not when
        its time (`changed`, if known) is within a day already."""
        now = time.time()
        if now - max(changed, self.touched.get(name, 0.0)) < TOUCH_EVERY:
            return
        self.touched[name] = now
        with contextlib.suppress(OSError):
            os.utime(self.path(name))

    def commit(self) -> None:
        """Entries first, then records, then the tidying: a record never names an entry
        that is not there."""
        if self.records or self.staged:
            self.folder.mkdir(parents=True, exist_ok=True)
        for name, staged in list(self.staged.items()):
            if isinstance(staged, bytes):
                write_atomic(self.path(name), staged)
            else:
                os.replace(staged, self.path(name))
            del self.staged[name]
        for name, data in self.records.items():
            write_atomic(self.path(name), data)
        if self.retained is not None and self.folder.is_dir():
            for path in self.folder.iterdir():
                if path.name not in self.retained:
                    with contextlib.suppress(OSError):
                        path.unlink()
                        self.memory.pop(path.name, None)
        for work in self.work:
            work()
        self.discard()

    def discard(self) -> None:
        for name, staged in self.staged.items():
            if isinstance(staged, Path):
                with contextlib.suppress(OSError):
                    staged.unlink()
            if not self.path(name).is_file():
                self.memory.pop(name, None)
        self.staged.clear()
        self.records.clear()
        self.retained = None
        self.work.clear()

    def prune(self, now: float, keep: float = KEEP_UNUSED) -> int:
        gone = 0
        if not self.folder.is_dir():
            return 0
        for path in self.folder.iterdir():
            with contextlib.suppress(OSError):
                if path.is_file() and now - path.stat().st_mtime > keep:
                    path.unlink()
                    self.memory.pop(path.name, None)
                    self.touched.pop(path.name, None)
                    gone += 1
        return gone


class Store:
    """The `.cache/` of one output folder: its areas, the digests of files read, and a
    memory of values made from them."""

    def __init__(self, out: Path) -> None:
        self.root = cache_root(out)
        self.areas: dict[str, Area] = {}
        self.digests = Digests()
        self.memos: dict[Any, Any] = {}
        self.memos_used: set[Any] = set()
        self.pruned: dict[str, float] = {}
        # Whether staged entries go to temporary files at once (a build that will write:
        # it need not hold them all in memory) or wait in memory (`check`, a dry run,
        # which must write nothing at all).
        self.spool = False
        # Folders a spooling build made, removed again if it fails: a failed build
        # leaves no new folder behind.
        self.made: list[Path] = []

    def make_folder(self, folder: Path) -> None:
        self.made.extend(make_folders(folder))

    def area(self, name: str) -> Area:
        if name not in self.areas:
            self.areas[name] = Area(self, name)
        return self.areas[name]

    def memo(self, key: Any, make: Callable[[], T | None]) -> T | None:
        """A value made from entries of the store, kept while the store is (None, for
        "cannot be made", is not kept): `key` must name everything it is made from."""
        self.memos_used.add(key)
        found = self.memos.get(key)
        if found is None:
            found = make()
            if found is not None:
                self.memos[key] = found
        return found

    def of_note(self, kind: str, note: N, make: Callable[[N], T]) -> T:
        """`make(note)`, a value made from one note object alone, kept with it: a warm
        process hands the same object out for an unchanged note, so it is made once."""
        key = (kind, id(note))
        self.memos_used.add(key)
        held = self.memos.get(key)
        if held is not None and held[0] is note:
            return held[1]  # type: ignore[no-any-return,unused-ignore]
        value = make(note)
        self.memos[key] = (note, value)  # the note is held, so its id is not reused
        return value

    def commit(self) -> None:
        """Write every staged entry: once, after the build has succeeded. Then forget
        what this build did not use: a process that keeps the store (`watch`) holds the
        working set of the notes as they are, not every version of every note saved
        since it started."""
        for area in self.areas.values():
            area.commit()
        self.made.clear()
        self.digests.fresh.clear()
        self.forget_unused()

    def forget_unused(self) -> None:
        for area in self.areas.values():
            area.memory = {k: v for k, v in area.memory.items() if k in area.used}
            area.used.clear()
        self.memos = {k: v for k, v in self.memos.items() if k in self.memos_used}
        self.memos_used.clear()

    def discard(self) -> None:
        for area in self.areas.values():
            area.discard()
            area.used.clear()
        self.memos_used.clear()
        self.digests.fresh.clear()
        for folder in reversed(self.made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        self.made.clear()

    def prune(self, names: list[str], now: float | None = None) -> int:
        """Delete the entries of these areas unused for `KEEP_UNUSED`; how many went.
        A store kept warm prunes each area at most once a day: looking costs a stat of
        every entry, and nothing it keeps using can go."""
        now = time.time() if now is None else now
        names = [n for n in names if now - self.pruned.get(n, 0.0) >= TOUCH_EVERY]
        gone = 0
        for name in names:
            self.pruned[name] = now
            gone += self.area(name).prune(now)
        if gone:
            self.memos.clear()  # made from entries that may have gone
        return gone


class Digests:
    """The SHA-256 of files read, kept with each file's size, time and inode, so an
    unchanged file is not read again by a process that builds again. A file changed
    within the clock tick of its hashing is hashed again."""

    def __init__(self) -> None:
        self.known: dict[Path, tuple[tuple[int, int, int], str, int]] = {}
        # Notes' bytes read for a digest this build, until their reader takes them.
        self.fresh: dict[Path, bytes] = {}

    def of(self, path: Path) -> str:
        """The file's digest (hex). Raises OSError when the file cannot be read. A note's
        bytes read for it are kept for `read` to hand on, until the build ends."""
        digest, data = self.read(path)
        if data is not None and path.suffix == ".md":
            self.fresh[path] = data
        return digest

    def read(self, path: Path) -> tuple[str, bytes | None]:
        """The file's digest, and its bytes when they were read for it in this build
        (None when the digest was known): whoever reads the file next takes them."""
        st = path.stat()
        sig = (st.st_size, st.st_mtime_ns, st.st_ino)
        held = self.known.get(path)
        # Read in this build, or long enough after its last change to trust its time.
        trusted = path in self.fresh or sig[1] < (held[2] if held else 0) - RACY_NS
        if held is not None and held[0] == sig and trusted:
            return held[1], self.fresh.pop(path, None)
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        self.known[path] = (sig, digest, time.time_ns())
        return digest, data


def of_note(store: Store | None, kind: str, note: N, make: Callable[[N], T]) -> T:
    """`Store.of_note`, or simply `make(note)` without a store."""
    return make(note) if store is None else store.of_note(kind, note, make)


def cache_root(out: Path) -> Path:
    """The store's folder in the output folder `out`: every record a build keeps (the
    areas, and beside them the build state, the outputs manifest and the publishing
    journal) lives below it, never among the notes."""
    return out / ".cache"


_warm: dict[Path, Store] | None = None


def open_store(out: Path) -> Store:
    """The store of `out`: the one this process keeps warm, else a new one."""
    if _warm is None:
        return Store(out)
    key = Path(os.path.abspath(out))
    store = _warm.get(key)
    if store is None:
        store = _warm[key] = Store(out)
    return store


@contextlib.contextmanager
def warm() -> Iterator[None]:
    """Keep each output folder's store between builds in this process (`watch`)."""
    global _warm
    before, _warm = _warm, {}
    try:
        yield
    finally:
        _warm = before
