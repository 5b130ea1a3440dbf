"""A running Anki as a sync target, through the AnkiConnect add-on's HTTP API (version 6),
for people who keep Anki open.

The same plan as for a collection file, with AnkiConnect's documented actions: new notes
through `importPackage` (Anki's own import: note types, decks, media), then
`updateNote`, `changeDeck` and `deleteNotes`. Our notes are found by the GUID each
card's Source field carries (AnkiConnect does not show GUIDs). AnkiConnect cannot
delete single cards, so removed cloze deletions' cards are left to Anki's Tools › Empty
Cards, and cannot store data in the collection, so what each sync left is kept in the
output folder's `.cache/`. Its changes are made live: a failure half-way is reported,
and the next sync finishes the work.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exporters.anki import NOTE_TYPE_NAMES
from ..publish import write_atomic
from .collection import CollectionBusy
from .plan import (
    Edit,
    Held,
    InCollection,
    NoteTypeProblem,
    Refused,
    Synced,
    fields_digest,
    state_after,
)

VERSION = 6
OUR_NOTES = '"Source:*<!--exporter:*"'
GUID_MARK = re.compile(r"<!--exporter:([A-Za-z0-9]+)-->")
TIMEOUT = 60


class AnkiConnectError(Refused):
    """AnkiConnect answered with an error, or with something that is not its answer."""


@dataclass(frozen=True)
class AnkiConnect:
    url: str
    state_file: Path
    # Where the notes a sync deletes are kept first (default: the output's `.backup/`).
    backups: Path | None = None

    @property
    def label(self) -> str:
        return f"Anki at {self.url}"

    @property
    def busy_hint(self) -> str:
        return (
            "no answer from AnkiConnect; nothing was changed — start Anki with the "
            "AnkiConnect add-on, or sync the closed collection with --collection"
        )

    def invoke(self, action: str, **params: Any) -> Any:
        body = json.dumps({"action": action, "version": VERSION, "params": params}).encode()
        request = urllib.request.Request(
            self.url, body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            raise AnkiConnectError(
                f"{self.url} answered {action} with HTTP {exc.code} {exc.reason} — is it "
                "AnkiConnect? (its default is http://127.0.0.1:8765)"
            ) from exc
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            raise CollectionBusy(str(exc)) from exc
        try:
            answer = json.loads(body.decode("utf-8"))
        except ValueError as exc:
            raise AnkiConnectError(
                f"{self.url} answered {action} with something that is not JSON "
                f"({body[:40]!r}) — is it AnkiConnect? (its default is http://127.0.0.1:8765)"
            ) from exc
        if not isinstance(answer, dict) or not {"result", "error"} <= answer.keys():
            raise AnkiConnectError(
                f"{self.url} answered {action} with {type(answer).__name__} JSON that is not "
                f"AnkiConnect's {{result, error}} — update AnkiConnect (API version {VERSION})"
            )
        if answer["error"]:
            raise AnkiConnectError(
                f"AnkiConnect refused {action}: {answer['error']} — what was done before it "
                "stays; fix the cause in Anki and sync again to finish"
            )
        return answer["result"]

    def read(
        self, guids: Iterable[str], owner: str
    ) -> tuple[dict[str, InCollection], dict[str, Synced]]:
        """`owner` is not needed: the record lives in this notes folder's out folder."""
        synced = self.synced_state()
        return self.our_notes(guids, synced), synced

    def our_notes(
        self, guids: Iterable[str], synced: Mapping[str, Synced]
    ) -> dict[str, InCollection]:
        """Our notes by the GUID in their Source field's mark. "Create Copy" in Anki
        copies the mark, so among notes sharing one, ours is the note the last sync
        wrote (its id is recorded), else the oldest; the others are copies, reported and
        never changed or deleted."""
        wanted = set(guids)
        infos = self.invoke("notesInfo", notes=self.invoke("findNotes", query=OUR_NOTES))
        cards = [c for info in infos for c in info.get("cards", [])]
        about = {c["cardId"]: c for c in self.invoke("cardsInfo", cards=cards)}
        marked: dict[str, list[dict]] = {}
        for info in infos:
            m = GUID_MARK.search(info["fields"].get("Source", {}).get("value", ""))
            if m and m.group(1) in wanted:
                marked.setdefault(m.group(1), []).append(info)
        held = {}
        for guid, found in marked.items():
            recorded = synced[guid].note_id if guid in synced else 0
            found.sort(key=lambda i: (i["noteId"] != recorded, i["noteId"]))
            info, copies = found[0], tuple(sorted(i["noteId"] for i in found[1:]))
            mine = sorted((about[c] for c in info.get("cards", [])), key=lambda c: c["ord"])
            held[guid] = InCollection(
                info["noteId"],
                int(info["mod"]),
                tuple(c["ord"] for c in mine),
                fields_digest(
                    {k: f["value"] for k, f in info["fields"].items()}, info.get("tags", [])
                ),
                tuple(c["ord"] for c in mine if c.get("reps") or c.get("type")),
                copies=copies,
            )
        return held

    def contents(self, guids: Iterable[str]) -> dict[str, Held]:
        """Our notes' fields, tags and deck now, by GUID (the note the last sync wrote,
        or the oldest, as `our_notes` chooses)."""
        wanted = set(guids)
        synced = self.synced_state()
        infos = self.invoke("notesInfo", notes=self.invoke("findNotes", query=OUR_NOTES))
        found: dict[str, list[dict]] = {}
        for info in infos:
            m = GUID_MARK.search(info["fields"].get("Source", {}).get("value", ""))
            if m and m.group(1) in wanted:
                found.setdefault(m.group(1), []).append(info)
        firsts = {}
        for guid, notes in found.items():
            recorded = synced[guid].note_id if guid in synced else 0
            notes.sort(key=lambda i: (i["noteId"] != recorded, i["noteId"]))
            firsts[guid] = notes[0]
        cards = [i["cards"][0] for i in firsts.values() if i.get("cards")]
        decks = {c["cardId"]: c.get("deckName", "") for c in self.invoke("cardsInfo", cards=cards)}
        return {
            guid: Held(
                {k: f["value"] for k, f in info["fields"].items()},
                tuple(info.get("tags", [])),
                decks.get(info["cards"][0], "") if info.get("cards") else "",
            )
            for guid, info in firsts.items()
        }

    def synced_state(self) -> dict[str, Synced]:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            return {
                str(g): Synced(
                    int(v[0]),
                    int(v[1]),
                    str(v[2]) if len(v) > 2 else "",
                    int(v[3]) if len(v) > 3 else 0,
                    str(v[4]) if len(v) > 4 else "",
                )
                for g, v in data.items()
            }
        except (OSError, ValueError, TypeError, IndexError, AttributeError):
            return {}

    def change(
        self,
        edit: Edit,
        guids: Iterable[str],
        synced: dict[str, Synced],
        written: dict[str, int],
        wrote: set[str],
        owner: str,
    ) -> list[str]:
        infos = self.invoke("notesInfo", notes=[u.note_id for u in edit.updates])
        for u, info in zip(edit.updates, infos, strict=True):
            wanted = NOTE_TYPE_NAMES.get(u.notetype)
            if wanted and info.get("modelName") in set(NOTE_TYPE_NAMES.values()) - {wanted}:
                raise Refused(
                    f"a fact's kind changed (note {u.note_id} is '{info.get('modelName')}', "
                    f"the fact now needs '{wanted}'); AnkiConnect cannot change a note's "
                    "type, so nothing was changed — close Anki and sync the collection "
                    "file with --collection, which changes it in place"
                )
            lacking = [n for n in u.names if n not in info["fields"]]
            if lacking:  # before anything is changed
                raise NoteTypeProblem(
                    f"the note type '{info.get('modelName')}' has no field "
                    f"{', '.join(repr(n) for n in lacking)}; nothing was changed — in Anki, "
                    "Tools › Manage Note Types › Fields: add or rename the field back, "
                    "then sync again"
                )
        if edit.package is not None:
            self.invoke("importPackage", path=str(edit.package.resolve()))
        for name, path in edit.media:
            self.invoke("storeMediaFile", filename=name, path=str(Path(path).resolve()))
        if edit.updates:
            for u, info in zip(edit.updates, infos, strict=True):
                fields = dict(zip(u.names, u.fields, strict=True))  # by name, not position
                note = {"id": u.note_id, "fields": fields, "tags": list(u.tags)}
                self.invoke("updateNote", note=note)
                if u.move is not False:
                    self.invoke("changeDeck", cards=info.get("cards", []), deck=u.deck)
        lines = []
        if edit.delete:
            saved = self.backup(list(edit.delete))
            self.invoke("deleteNotes", notes=list(edit.delete))
            from ..sources import display_path

            lines.append(
                f"the {len(edit.delete)} deleted notes as they were: {display_path(saved)} "
                "(File › Import in Anki brings them back)"
            )
        state = state_after(self.our_notes(guids, synced), synced, written, wrote, edit.decks)
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        data = {
            g: [s.mod, s.written, s.digest, s.note_id, s.deck] for g, s in sorted(state.items())
        }
        write_atomic(self.state_file, json.dumps(data, indent=1).encode())
        return lines

    def backup(self, note_ids: list[int]) -> Path:
        """The notes about to be deleted, as a package Anki imports back: their fields,
        tags, deck and GUID as Anki holds them now, in our note types. A live sync has no
        collection file to copy, so this is its backup."""
        import time

        import genanki

        from ..config import default_styles
        from ..exporters.anki import card_css, note_types

        models = {m.name: m for m in note_types(card_css(default_styles())).values()}
        infos = self.invoke("notesInfo", notes=note_ids)
        firsts = [i["cards"][0] for i in infos if i.get("cards")]
        decks = {c["cardId"]: c.get("deckName", "") for c in self.invoke("cardsInfo", cards=firsts)}
        package: dict[str, genanki.Deck] = {}
        for info in infos:
            model = models.get(info.get("modelName", ""))
            mark = GUID_MARK.search(info["fields"].get("Source", {}).get("value", ""))
            if model is None or mark is None:
                continue
            values = [info["fields"].get(f["name"], {}).get("value", "") for f in model.fields]
            name = decks.get(info["cards"][0], "") if info.get("cards") else ""
            deck = package.setdefault(
                name, genanki.Deck(deck_id(name or "Default"), name or "Default")
            )
            deck.add_note(
                genanki.Note(
                    model=model, fields=values, guid=mark.group(1), tags=info.get("tags", [])
                )
            )
        folder = self.backups or self.state_file.parent.parent / ".backup"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-deleted.apkg"
        genanki.Package(list(package.values())).write_to_file(str(path))
        return path

    def recover(self) -> list[str]:
        """Changes through AnkiConnect are made live, one call at a time: there is no
        file to roll back, and the next sync finishes what a killed one left."""
        return []

    deletes_cards = False

    def afterwards(self, leftover: tuple[tuple[int, int], ...]) -> list[str]:
        if not leftover:
            return []
        return [
            f"{len(leftover)} cards of removed cloze deletions are empty: "
            "Tools › Empty Cards in Anki deletes them (AnkiConnect cannot)"
        ]


def deck_id(name: str) -> int:
    """A deck's id in a backup package, the same for the same name."""
    from ..exporters.anki import stable_int

    return stable_int(f"deck:{name}", 40)
