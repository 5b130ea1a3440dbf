"""A sync of a collection file is all or nothing, even when the process is killed.

Before the collection is changed, a copy of it goes to `<out>/.backup/` and a journal
naming the collection, the copy and the time is written beside the lock. A sync that
ends, well or with an exception, removes the journal (an exception first puts the copy
back). A journal found at the start of the next sync means the last one was killed half
way (SIGKILL, a power cut): that sync is rolled back by putting the copy back, so the
collection is exactly as it was before it, and the new sync runs on that.

Rolling back would also undo what the person did in Anki after the kill, so it is done
only while the collection shows no review newer than the interrupted sync; otherwise
nothing is touched and the person is told where the copy is and what each choice means.
Media files an interrupted sync already added stay in the media folder, unused until a
later sync uses them (Anki's Tools › Check Media lists them).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..publish import write_atomic
from ..sources import display_path
from .plan import Refused

SUFFIXES = ("", "-wal")


class Interrupted(Refused):
    """An interrupted sync that cannot be rolled back without losing later work."""


@dataclass(frozen=True)
class Journal:
    """`path`: the journal file, beside the lock; `backups`: the folder for the copy."""

    path: Path
    backups: Path

    @contextlib.contextmanager
    def around(self, collection: Path) -> Iterator[Path]:
        """Back up `collection`, journal the change, run the block; the backup's path."""
        self.backups.mkdir(parents=True, exist_ok=True)
        backup = self.backups / collection.name
        copy_collection(collection, backup)
        record = {
            "collection": str(collection.resolve()),
            "backup": str(backup.resolve()),
            "started_ms": int(time.time() * 1000),
        }
        write_atomic(self.path, json.dumps(record, indent=1).encode())
        try:
            yield backup
        except BaseException:
            restore(backup, collection)
            self.path.unlink(missing_ok=True)
            raise
        self.path.unlink(missing_ok=True)

    def recover(self, collection: Path) -> list[str]:
        """Roll back a sync of `collection` that was killed half way; what was done, as
        lines to print. `Interrupted` when it cannot be done safely."""
        try:
            record = json.loads(self.path.read_text(encoding="utf-8"))
            backup = Path(record["backup"])
            started = int(record["started_ms"])
            journalled = Path(record["collection"])
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise Interrupted(
                f"{display_path(self.path)} records an interrupted sync but cannot be read "
                f"({exc}); nothing was changed — delete it once the collection is as you "
                "want it, then sync again"
            ) from exc
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started / 1000))
        if journalled != collection.resolve():
            return [
                f"note: a sync of {display_path(journalled)} was interrupted at {when}; "
                f"sync that collection to roll it back ({display_path(self.path)})"
            ]
        if not backup.exists():
            raise Interrupted(
                f"a sync was interrupted at {when}, and its backup {display_path(backup)} "
                f"is gone; nothing was changed — delete {display_path(self.path)} to sync "
                "anyway (notes it half-wrote will show as edited in Anki)"
            )
        if reviewed_since(collection, started):
            raise Interrupted(
                f"a sync was interrupted at {when} and the collection has been reviewed "
                f"since, so it was not rolled back; nothing was changed. To keep those "
                f"reviews, delete {display_path(self.path)} and sync again (notes the "
                "interrupted sync wrote show as edited in Anki: --overwrite takes the "
                f"notes' version); to go back to before it, copy {display_path(backup)} "
                f"over {display_path(collection)}"
            )
        restore(backup, collection)
        self.path.unlink(missing_ok=True)
        return [
            f"rolled back a sync interrupted at {when}: the collection is as it was before "
            f"it (the copy is {display_path(backup)})"
        ]


def restore(backup: Path, collection: Path) -> None:
    """Put the copy back."""
    copy_collection(backup, collection)


def copy_collection(source: Path, target: Path) -> None:
    """A collection file and its write-ahead log over another's, each renamed into place
    whole, with no log of the other left behind."""
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    for suffix in SUFFIXES:
        original = Path(f"{source}{suffix}")
        if original.exists():
            part = Path(f"{target}{suffix}.part")
            shutil.copy2(original, part)
            part.replace(Path(f"{target}{suffix}"))


def reviewed_since(collection: Path, started_ms: int) -> bool:
    """Whether the collection holds a review made after `started_ms` (revlog ids are
    the review's time in milliseconds)."""
    uri = f"{collection.resolve().as_uri()}?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True)
        try:
            latest = db.execute("select max(id) from revlog").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return True  # unreadable: do not guess
    return bool(latest and latest > started_ms)
