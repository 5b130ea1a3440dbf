"""`sync --anki-connect` against a small AnkiConnect stand-in on loopback that answers the
documented actions by calling a real `anki` collection, so the semantics are Anki's own:
adds, updates in place, deletes, reports a note edited in Anki, and then has nothing to do.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from exporter.cli import main

from .conftest import copy_fixture, import_apkg


class FakeAnki:
    """AnkiConnect's actions (version 6) over a real collection, on one thread."""

    def __init__(self, path: Path) -> None:
        from anki.collection import Collection

        self.col = Collection(str(path))

    def version(self) -> int:
        return 6

    def findNotes(self, query: str) -> list[int]:
        return list(self.col.find_notes(query))

    def notesInfo(self, notes: list[int]) -> list[dict]:
        out = []
        for nid in notes:
            note = self.col.get_note(nid)
            names = [f["name"] for f in note.note_type()["flds"]]
            out.append(
                {
                    "noteId": nid,
                    "modelName": note.note_type()["name"],
                    "tags": note.tags,
                    "fields": {
                        n: {"value": v, "order": i}
                        for i, (n, v) in enumerate(zip(names, note.fields, strict=True))
                    },
                    "cards": list(note.card_ids()),
                    "mod": note.mod,
                }
            )
        return out

    def cardsInfo(self, cards: list[int]) -> list[dict]:
        out = []
        for c in cards:
            card = self.col.get_card(c)
            out.append({"cardId": c, "ord": card.ord, "deckName": self.col.decks.name(card.did)})
        return out

    def importPackage(self, path: str) -> bool:
        from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest

        request = ImportAnkiPackageRequest(package_path=path, options=ImportAnkiPackageOptions())
        self.col.import_anki_package(request)
        return True

    def updateNote(self, note: dict) -> None:
        found = self.col.get_note(note["id"])
        for name, value in note.get("fields", {}).items():
            found[name] = value
        if "tags" in note:
            found.tags = note["tags"]
        self.col.update_note(found)

    def changeDeck(self, cards: list[int], deck: str) -> None:
        self.col.set_deck(cards, self.col.decks.id(deck))

    def deleteNotes(self, notes: list[int]) -> None:
        self.col.remove_notes(notes)

    def storeMediaFile(self, filename: str, path: str) -> str:
        return self.col.media.write_data(filename, Path(path).read_bytes())


def reply(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    """Answer a request with `body`, as AnkiConnect answers every request: 200, JSON."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def anki_connect(tmp_path):
    """The stand-in, serving on 127.0.0.1 from a thread that owns the collection."""
    ready = threading.Event()
    box: dict = {}

    def serve() -> None:
        fake = FakeAnki(tmp_path / "collection.anki2")

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                try:
                    result = getattr(fake, body["action"])(**body.get("params", {}))
                    answer = {"result": result, "error": None}
                except Exception as exc:  # AnkiConnect reports every failure this way
                    answer = {"result": None, "error": str(exc)}
                reply(self, json.dumps(answer).encode())

            def log_message(self, *args) -> None:
                pass

        server = HTTPServer(("127.0.0.1", 0), Handler)
        box["server"], box["fake"] = server, fake
        ready.set()
        server.serve_forever(poll_interval=0.05)
        fake.col.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    host, port = box["server"].server_address
    yield f"http://{host}:{port}", box["fake"]
    box["server"].shutdown()
    thread.join(10)


@pytest.fixture
def synced_once(tmp_path, monkeypatch, anki_connect):
    """The kinds fixture synced once through the stand-in: (url, stand-in, notes)."""
    monkeypatch.chdir(tmp_path)
    url, fake = anki_connect
    notes = copy_fixture("kinds", tmp_path)
    assert sync_through(url, notes).exit_code == 0
    return url, fake, notes


def sync_through(url: str, notes: Path, *args: str):
    return CliRunner().invoke(main, ["sync", "--notes", str(notes), "--anki-connect", url, *args])


def test_sync_through_anki_connect_adds_updates_deletes_and_keeps_edits(
    tmp_path, monkeypatch, anki_connect
):
    monkeypatch.chdir(tmp_path)
    url, fake = anki_connect
    notes = copy_fixture("kinds", tmp_path)
    first = sync_through(url, notes)
    assert first.exit_code == 0, first.output
    assert "7 to add" in first.output and f"synced Anki at {url}" in first.output
    nid = next(iter(fake.findNotes('"Front:Capital of France"')))

    general = notes / "general.md"
    text = general.read_text()
    general.write_text(
        text.replace("Capital of France :: Paris", "Capital of France :: Paris, on the Seine")
        .replace("- KABIL ::: Khanij Bidesh India Ltd\n", "")
        .replace("go into {{c2::magnets}}", "go into magnets")
    )
    second = sync_through(url, notes)
    assert second.exit_code == 0, second.output
    assert "0 to add, 2 to update, 1 to delete" in second.output
    assert "Tools › Empty Cards" in second.output
    assert fake.col.get_note(nid)["Back"] == "Paris, on the Seine"
    assert not fake.findNotes('"Front:KABIL"')

    third = sync_through(url, notes)
    assert third.exit_code == 0 and "nothing to do" in third.output


def test_an_edit_made_in_a_running_anki_comes_back_through_pull(synced_once):
    url, fake, notes = synced_once
    (nid,) = fake.findNotes('"Front:Capital of France"')
    fake.updateNote({"id": nid, "fields": {"Back": "Paris, on the <i>Seine</i>"}})
    pulled = CliRunner().invoke(main, ["pull", "--notes", str(notes), "--anki-connect", url])
    assert pulled.exit_code == 0, pulled.output
    assert "Paris → Paris, on the *Seine*" in pulled.output
    applied = CliRunner().invoke(main, ["pull", "--notes", str(notes), "--apply"])
    assert applied.exit_code == 0, applied.output
    assert "- Capital of France :: Paris, on the *Seine* #geo" in (notes / "general.md").read_text()
    again = sync_through(url, notes)
    assert again.exit_code == 0 and "0 to add, 0 to update, 0 to delete" in again.output
    assert fake.col.get_note(nid)["Back"] == "Paris, on the <i>Seine</i>"
    assert "nothing to do" in sync_through(url, notes).output


def test_notes_deleted_through_anki_connect_are_backed_up_first(synced_once, tmp_path):
    url, fake, notes = synced_once
    (nid,) = fake.findNotes('"Front:Capital of France"')
    before = fake.col.get_note(nid)
    guid, fields, tags = before.guid, list(before.fields), list(before.tags)
    general = notes / "general.md"
    general.write_text(general.read_text().replace("- Capital of France :: Paris #geo\n", ""))
    deleted = sync_through(url, notes)
    assert deleted.exit_code == 0, deleted.output
    assert "1 to delete" in deleted.output and "File › Import" in deleted.output
    assert not fake.findNotes('"Front:Capital of France"')
    (backup,) = (tmp_path / "dist" / ".backup").glob("*-deleted.apkg")
    from anki.collection import Collection

    col = Collection(str(tmp_path / "restored.anki2"))
    try:
        import_apkg(col, backup)
        (back,) = col.find_notes('"Front:Capital of France"')
        note = col.get_note(back)
        assert (note.guid, list(note.fields), sorted(note.tags)) == (guid, fields, sorted(tags))
    finally:
        col.close()


def test_no_anki_running_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    notes = copy_fixture("kinds", tmp_path)
    result = sync_through("http://127.0.0.1:9", notes)  # the discard port: nothing listens
    assert result.exit_code == 1
    assert "no answer from AnkiConnect; nothing was changed" in result.output


def test_a_copy_made_in_anki_is_reported_and_never_taken_for_ours(
    synced_once,
):
    url, fake, notes = synced_once
    (nid,) = fake.findNotes('"Front:Capital of France"')
    original = fake.col.get_note(nid)
    copy = fake.col.new_note(original.note_type())  # Anki's "Create Copy": same fields
    for i, value in enumerate(original.fields):
        copy.fields[i] = value
    fake.col.add_note(copy, fake.col.get_card(original.card_ids()[0]).did)

    general = notes / "general.md"
    general.write_text(general.read_text().replace(":: Paris", ":: Paris, France"))
    edited = sync_through(url, notes)
    assert edited.exit_code == 0, edited.output
    assert f"copy     note {copy.id} is a copy made in Anki" in edited.output
    assert "0 edited in Anki" in edited.output
    assert fake.col.get_note(nid)["Back"] == "Paris, France"
    assert fake.col.get_note(copy.id)["Back"] == "Paris"

    general.write_text(
        general.read_text().replace("- Capital of France :: Paris, France #geo\n", "")
    )
    removed = sync_through(url, notes)
    assert removed.exit_code == 0, removed.output
    assert "1 to delete" in removed.output, removed.output
    assert not fake.findNotes(f"nid:{nid}")
    assert fake.findNotes(f"nid:{copy.id}") == [copy.id]  # the copy is the person's


@pytest.mark.slow
@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<html><body>Welcome</body></html>", "not JSON"),
        (b"[1, 2]", "list JSON that is not AnkiConnect's"),
        (b'{"result": null, "error": "collection is not available"}', "AnkiConnect refused"),
    ],
)
def test_a_reply_that_is_not_ankiconnects_answer_is_one_line(tmp_path, monkeypatch, body, says):
    monkeypatch.chdir(tmp_path)
    notes = copy_fixture("kinds", tmp_path)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            reply(self, body)

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address
        result = sync_through(f"http://{host}:{port}", notes)
    finally:
        server.shutdown()
        thread.join(10)
    assert result.exit_code == 1, result.output
    assert says in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


def test_a_change_of_kind_through_ankiconnect_is_refused_before_anything_changes(
    synced_once,
):
    url, fake, notes = synced_once
    general = notes / "general.md"
    general.write_text(
        general.read_text()
        .replace("KABIL ::: Khanij", "KABIL :: Khanij")
        .replace(":: Paris", ":: Paris, France")
    )
    result = sync_through(url, notes)
    assert result.exit_code == 1, result.output
    assert "AnkiConnect cannot change a note's type" in result.output
    assert "--collection" in result.output and "Traceback" not in result.output
    (nid,) = fake.findNotes('"Front:Capital of France"')
    assert fake.col.get_note(nid)["Back"] == "Paris"  # refused before any change
