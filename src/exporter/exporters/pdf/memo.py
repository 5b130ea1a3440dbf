"""Which render a note's sheet part is, known without writing the note's HTML.

A part is cached by its HTML (`Renderer.key`), which is exact but costs writing every
note's HTML on every build: half a second for a hundred notes, most of a one-note edit.
So each part's HTML key is also remembered under a key made of everything that HTML is
made from: the templates, styles and fonts (`Renderer.key_base`), this package's code and
the libraries that draw marks, the build's options, and the note itself (its bytes and
place, `Note.digest`; its facts' identities and deletion numbers; remarks; where its
images are). A note whose key is remembered and whose part is cached is not written out.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import TYPE_CHECKING

from ...cache import code_digest, touch
from ...model import Note
from ...publish import write_atomic
from .. import versions

if TYPE_CHECKING:
    from .renderer import Renderer


@cache
def libraries() -> str:
    return json.dumps(versions("weasyprint", "jinja2", "ziamath", "pygments"), sort_keys=True)


def note_key(renderer: Renderer, note: Note, self_test: bool) -> str | None:
    """The key of everything the note's HTML is made from; None for a note made by hand
    (no digest), whose HTML is always written."""
    if not note.digest:
        return None
    config = renderer.config
    made_of = [
        renderer.key_base,
        code_digest(),
        libraries(),
        self_test,
        sorted(config.tags),
        config.source_name,
        note.digest,
        note.path,
        [[f.guid, f.mtime, f.numbers, renderer.remarks.get(f.guid, "")] for f in note.facts],
        [[m.name, renderer.media.get(m.name, "")] for m in note.media],
    ]
    return hashlib.sha256(json.dumps(made_of).encode()).hexdigest()


def recall(renderer: Renderer, key: str | None) -> str | None:
    """The HTML key remembered for `key`, if any."""
    if key is None:
        return None
    path = renderer.cache / f"{key}.memo"
    try:
        found = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return None
    touch(path)
    return found


def remember(renderer: Renderer, key: str | None, html_key: str) -> None:
    if key is not None:
        renderer.cache.mkdir(parents=True, exist_ok=True)
        write_atomic(renderer.cache / f"{key}.memo", html_key.encode("ascii"))
