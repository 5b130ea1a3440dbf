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
import pickle
from collections.abc import Callable
from dataclasses import dataclass

from ..cache import PARSE_CODE, code_digest, library_versions
from ..kept import identities
from ..model import Note
from ..store import Store

AREA = "apkg"
# The code a note's rows are made by: the parse, and the deck's own modules.
CODE = (
    *PARSE_CODE,
    "kept.py",
    "exporters/anki.py",
    "exporters/anki_rows.py",
    "exporters/marks",
)


@dataclass(frozen=True)
class NoteRows:
    """A note's rows in genanki's layout, and the (deck, note type) pairs its facts use."""

    notes: tuple[tuple, ...]
    cards: tuple[tuple, ...]
    uses: tuple[tuple[str, str], ...]


def key_of(note: Note) -> str:
    ids = identities(note)  # an unchanged note's, without reading it (`kept`)
    media = "\x1e".join(m.name for m in note.media)
    code = f"{code_digest(*CODE)}|{library_versions('genanki')}"
    text = "\x1f".join((code, note.digest, note.path, media, ids))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def decode(data: bytes) -> NoteRows:
    found = pickle.loads(data)
    if not isinstance(found, NoteRows):
        raise TypeError("not a note's rows")
    return found


class RowCache:
    """Rows per note (the store's `apkg` area), read back when the note and its
    identities are unchanged. A note without a digest (made by hand, not parsed) is never
    kept."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.area = store.area(AREA)

    def rows(self, note: Note, make: Callable[[Note], NoteRows]) -> NoteRows:
        if not note.digest:
            return make(note)
        name = f"{self.store.of_note('rows key', note, key_of)}.pickle"
        found = self.area.get(name, decode)
        if found is None:
            found = make(note)
            self.area.put(name, pickle.dumps(found, protocol=pickle.HIGHEST_PROTOCOL), found)
        return found
