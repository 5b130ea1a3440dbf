"""What the last successful build was made from, so an unchanged rebuild does nothing,
and the parsed notes it keeps (the store's `notes` area).

The fingerprint covers every input that can change an output: the notes folder's files,
the styles, the templates, this package's own code, the lock and the build options. The
state lives in the output folder's `.cache/`, never among the notes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import BuildConfig
from .publish import write_atomic
from .store import Digests, Store, cache_root

PACKAGE = Path(__file__).resolve().parent
# Files above this (fonts, big images) are known by size and time rather than re-read on
# every build; notes and styles are read, so a touch alone does not force a rebuild.
LARGE_FILE = 256 * 1024


def files_below(root: Path) -> list[Path]:
    """Every file below root, through symlinked folders (as `sources.find_notes` reads
    the notes), each real folder once."""
    found: list[Path] = []
    seen: set[Path] = set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = Path(folder).resolve()
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        found += [p for p in (Path(folder) / name for name in files) if p.is_file()]
    return found


def _tree_digest(h: hashlib._Hash, root: Path, label: str, digests: Digests) -> None:
    if not root.is_dir():
        h.update(f"{label}:missing\n".encode())
        return
    for path in sorted(files_below(root)):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") or part == "__pycache__" for part in rel.split("/")):
            continue
        h.update(f"{label}:{rel}:".encode())
        try:
            st = path.stat()
            if st.st_size > LARGE_FILE:
                h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
            else:
                h.update(bytes.fromhex(digests.of(path)))
        except OSError:  # reading the notes reports it, at the file
            h.update(b"unreadable")


# The code each kept thing is made by, as parts of this package (folders or modules): a
# change elsewhere (to `sync/`, say) keeps what was kept. The libraries each part calls
# are named beside it, since an upgrade of one can change what it makes.
PARSE_CODE = ("syntax", "model.py", "sources.py", "diagnostics.py", "cache.py")
PARSE_LIBRARIES = ("markdown", "pymdown-extensions", "pygments", "nh3", "pyyaml")


@functools.cache
def code_digest(*parts: str) -> str:
    """This package's own code, or only the named parts of it. It cannot change under a
    running process, so it is read once per process, not once per build."""
    h = hashlib.sha256()
    if not parts:
        _tree_digest(h, PACKAGE, "code", Digests())
    for part in sorted(parts):
        path = PACKAGE / part
        if path.is_dir():
            _tree_digest(h, path, f"code/{part}", Digests())
        else:
            h.update(f"code/{part}:".encode() + path.read_bytes())
    return h.hexdigest()


@functools.cache
def library_versions(*distributions: str) -> str:
    """The installed versions of these libraries (`exporters.versions`) as one string for
    a cache key, read once per process."""
    from .exporters import versions

    return json.dumps(versions(*distributions), sort_keys=True)


def sources_digest(config: BuildConfig, digests: Digests) -> str:
    """What every output is made from, whatever the options: the notes, the styles and
    this package's code. An output recorded with another sources digest is stale. Each
    file's digest comes from `digests`, which the notes' reading then shares."""
    from . import selection  # the rules live in hidden files the tree digest passes by

    h = hashlib.sha256()
    _tree_digest(h, config.notes, "notes", digests)
    h.update(selection.read(config.notes)[0].digest.encode())
    _tree_digest(h, config.styles, "styles", digests)
    h.update(code_digest().encode())
    return h.hexdigest()


def input_digest(config: BuildConfig, content: str, formats: Mapping[str, str]) -> str:
    """Everything a build reads except the lock, which the build itself may rewrite:
    the content, the build's own options and what each chosen format declares its
    outputs depend on (`Exporter.fingerprint`)."""
    options = {
        "formats": dict(sorted(formats.items())),
        "tags": sorted(config.tags),
        "strict": config.strict,
        "name": config.name,
    }
    h = hashlib.sha256(json.dumps(options, sort_keys=True).encode())
    h.update(content.encode())
    return h.hexdigest()


@dataclass(frozen=True)
class LockBytes:
    """The lock file as one build found (or left) it, read once: its bytes, or None when
    there is no regular file to read, with what the fingerprint hashes in its place."""

    data: bytes | None
    marker: bytes

    @property
    def digest(self) -> str | None:
        return hashlib.sha256(self.data).hexdigest() if self.data is not None else None

    @property
    def text(self) -> str | None:
        """As `Path.read_text` would read it (newlines made `\n`)."""
        if self.data is None:
            return None
        return self.data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")

    def same_text(self, written: LockBytes) -> bool:
        """Whether the lock as found reads as the text of `written` (UTF-8, `\n`):
        equal bytes, or, for a lock checked out with `\r\n` line ends, equal text. The
        text of a 35 MB lock is decoded only in that case."""
        if self.data is None or written.data is None:
            return self.data is written.data
        if self.data == written.data:
            return True
        return b"\r" in self.data and self.text == written.data.decode("utf-8")


def read_lock_bytes(path: Path) -> LockBytes:
    try:
        # Never open anything but a regular file: a pipe would block the build.
        if path.is_file():
            data = path.read_bytes()
            return LockBytes(data, data)
        return LockBytes(None, f"not a file: {path.exists()}".encode())
    except OSError:
        return LockBytes(None, b"unreadable")


def written_lock(text: str) -> LockBytes:
    """The lock as this build wrote it (in UTF-8 bytes, `\n` on every system)."""
    data = text.encode("utf-8")
    return LockBytes(data, data)


def fingerprint(inputs: str, lock: LockBytes) -> str:
    """The inputs with the lock as it is now: before a build, and after it wrote the
    lock, from the bytes the build read or wrote, so neither the notes nor the lock are
    read twice."""
    return hashlib.sha256(inputs.encode() + lock.marker).hexdigest()


def _stat(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return [st.st_size, st.st_mtime_ns]


@dataclass(frozen=True)
class State:
    fingerprint: str
    outputs: dict[str, list[int] | None]
    summary: dict[str, Any]

    def still_valid(self, fingerprint: str) -> bool:
        """Same inputs, and every output still as this build left it."""
        return self.fingerprint == fingerprint and all(
            stat is not None and _stat(Path(p)) == stat for p, stat in self.outputs.items()
        )


def state_path(config: BuildConfig) -> Path:
    return cache_root(config.out) / "state.json"


def load_state(config: BuildConfig) -> State | None:
    try:
        data = json.loads(state_path(config).read_text(encoding="utf-8"))
        return State(data["fingerprint"], data["outputs"], data["summary"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_state(config: BuildConfig, fp: str, outputs: list[Path], summary: dict[str, Any]) -> None:
    path = state_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "fingerprint": fp,
        "outputs": {str(p): _stat(p) for p in outputs},
        "summary": summary,
    }
    write_atomic(path, json.dumps(data, indent=1, sort_keys=True).encode())


class ParsedNotes:
    """Parsed notes from earlier builds (the store's `notes` area), keyed by the file's
    bytes, its place and the code that parses it (`PARSE_CODE`, and its libraries). Only
    notes that parsed without any problem are kept, so every problem is found afresh; a
    note is parsed again when an image it uses changed."""

    AREA = "notes"

    def __init__(self, config: BuildConfig, store: Store) -> None:
        self.store = store
        self.area = store.area(self.AREA)
        self.digests = store.digests
        # Each note read without a problem this build → its key (`pipeline.load`).
        self.clean: dict[str, str] = {}
        # Each note read this build (by key) → its images as its parse found them.
        self.stats: dict[str, dict[str, Any]] = {}
        code = f"{code_digest(*PARSE_CODE)}|{library_versions(*PARSE_LIBRARIES)}"
        self.salt = hashlib.sha256(
            f"{code}|{config.root_deck}|{config.notes.resolve()}".encode()
        ).hexdigest()

    def key(self, rel: str, digest: str) -> str:
        return hashlib.sha256(f"{self.salt}|{rel}|{digest}".encode()).hexdigest()

    def get(self, key: str) -> Any | None:
        found = self.area.get(f"{key}.pickle", pickle.loads)
        if found is None:
            return None
        note, media = found
        if not media_unchanged(media):
            return None
        self.stats[key] = media
        return note

    def has(self, key: str) -> bool:
        """Whether the note's parse is kept, without reading it (`kept.KeptNote`): its
        time is refreshed as if it were read, so pruning keeps it."""
        return self.area.keeps(f"{key}.pickle")

    def put(self, key: str, entry: bytes, decoded: tuple[Any, Any]) -> None:
        """Stage a note's `entry` (`note_entry`) and what it decodes to; written when
        the build has succeeded."""
        self.area.put(f"{key}.pickle", entry, decoded)
        self.stats[key] = decoded[1]


def media_unchanged(stats: Mapping[str, Any]) -> bool:
    """Whether each image is as a note's parse found it (`note_entry`)."""
    return all(_stat(Path(p)) == stat for p, stat in stats.items())


def note_entry(note: Any) -> bytes:
    """A parsed note as the cache stores it, with the state of the images it uses. Made
    where the note was parsed (a worker), and sent back as is: one pickling serves both
    the journey to the main process and the cache."""
    media = {m.path: _stat(Path(m.path)) for m in note.media}
    return pickle.dumps((note, media), protocol=pickle.HIGHEST_PROTOCOL)


def read_entry(entry: bytes) -> tuple[Any, Any]:
    """A note entry decoded: the note and the state of its images."""
    return pickle.loads(entry)  # type: ignore[no-any-return,unused-ignore]
