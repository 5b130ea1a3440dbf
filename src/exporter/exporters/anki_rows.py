"""The rows of the deck's collection, note by note, kept between builds.

Rendering a fact's fields (marks, context, chips) is most of what writing a deck costs,
and one edited note changes the rows of that note only. So each note's rows are kept in
`dist/.cache/apkg/`, keyed by what they are made from: the note's bytes and place
(`Note.digest`), its media, each fact's identity (GUID, modification time, deletion numbers
in order) and this package's code. A ten-thousand-fact deck then renders one note's worth
of rows after an edit, and the same rows whether they were kept or made afresh.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..cache import code_digest, touch
from ..model import Note

FOLDER = "apkg"


@dataclass(frozen=True)
class NoteRows:
    """A note's rows in genanki's layout, and the (deck, note type) pairs its facts use."""

    notes: tuple[tuple, ...]
    cards: tuple[tuple, ...]
    uses: tuple[tuple[str, str], ...]


def key_of(note: Note) -> str:
    ids = "\x1e".join(f"{f.guid}:{f.mtime}:{f.numbers}" for f in note.facts)
    media = "\x1e".join(m.name for m in note.media)
    text = "\x1f".join((code_digest(), note.digest, note.path, media, ids))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class RowCache:
    """Rows per note, read back when the note and its identities are unchanged. A note
    without a digest (made by hand, not parsed) is never kept."""

    def __init__(self, out: Path) -> None:
        self.folder = out / ".cache" / FOLDER
        self.pending: dict[Path, NoteRows] = {}

    def rows(self, note: Note, make: Callable[[Note], NoteRows]) -> NoteRows:
        if not note.digest:
            return make(note)
        path = self.folder / f"{key_of(note)}.pickle"
        try:
            found = pickle.loads(path.read_bytes())
            if isinstance(found, NoteRows):
                touch(path)
                return found
        except (OSError, pickle.PickleError, EOFError, AttributeError, ValueError, TypeError):
            pass
        made = self.pending[path] = make(note)
        return made

    def flush(self) -> None:
        """Write the rows made this build: run once the build has succeeded."""
        if self.pending:
            self.folder.mkdir(parents=True, exist_ok=True)
        for path, rows in self.pending.items():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(tmp, path)
        self.pending.clear()
