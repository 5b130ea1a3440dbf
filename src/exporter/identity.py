"""Which Anki note each fact is: a stable GUID per fact.

First version: a pinned `^id` names the fact; otherwise its file and question do. Anki
matches notes on import by GUID, so answer edits keep the note.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib

from .model import Deck, Fact

BASE_MTIME = 1_700_000_000


def guid_for(fact: Fact) -> str:
    key = f"anchor:{fact.anchor}" if fact.anchor else f"fact:{fact.path}:{fact.plain_question}"
    digest = hashlib.sha256(key.encode()).digest()[:9]
    return base64.b32encode(digest).decode().rstrip("=").lower()


def assign(deck: Deck) -> Deck:
    notes = []
    for note in deck.notes:
        facts = tuple(
            dataclasses.replace(f, guid=guid_for(f), mtime=BASE_MTIME) for f in note.facts
        )
        notes.append(dataclasses.replace(note, facts=facts))
    return dataclasses.replace(deck, notes=tuple(notes))
