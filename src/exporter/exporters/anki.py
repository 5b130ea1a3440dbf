"""The Anki deck: note types with fixed ids, one genanki deck per deck name, media, and a
byte-reproducible `.apkg`.

genanki stamps every note with one clock time and numbers ids from the clock. Anki updates
an existing note on import only when the incoming modification time is newer, and matches
notes by GUID; so after genanki writes the collection we set each note's id, card ids and
mtime from the fact's identity, and zip the result with fixed dates.
"""

from __future__ import annotations

import hashlib
import html
import json
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

from ..config import BuildConfig
from ..identity import card_id, note_id, stable_int
from ..model import Cloze, Deck, Fact, Kind
from . import Output

EPOCH = 1_700_000_000
ZIP_DATE = (2020, 1, 1, 0, 0, 0)

# Ids are part of the contract with every collection that imported a deck: never change
# them. A change of fields needs a new id (and a new name), said in the build output.
BASIC_ID = 1_761_425_001
REVERSED_ID = 1_761_425_002
CLOZE_ID = 1_761_425_003

FRONT_BACK_FIELDS = ["Front", "Back", "Context", "Source"]
CLOZE_FIELDS = ["Text", "Back Extra", "Context", "Source"]

CONTEXT = '<div class="context">{{Context}}</div>'
META = (
    '<div class="meta"><span class="source">{{Source}}</span>'
    '{{#Tags}}<span class="tags">{{Tags}}</span>{{/Tags}}</div>'
)


def _front_back(front: str, back: str) -> dict[str, str]:
    return {
        "qfmt": f'{CONTEXT}<div class="question">{{{{{front}}}}}</div>',
        "afmt": f'{{{{FrontSide}}}}<hr id="answer"><div class="answer">{{{{{back}}}}}</div>{META}',
    }


def card_css(styles: Path) -> str:
    """The sheet's palette and the card rules: one design language for both."""
    return "\n".join(
        (styles / name).read_text(encoding="utf-8") for name in ("palette.css", "card.css")
    )


def note_types(css: str):
    import genanki

    basic = genanki.Model(
        BASIC_ID,
        "Exporter Basic",
        fields=[{"name": n} for n in FRONT_BACK_FIELDS],
        templates=[{"name": "Card 1", **_front_back("Front", "Back")}],
        css=css,
    )
    reversed_ = genanki.Model(
        REVERSED_ID,
        "Exporter Basic (and reversed card)",
        fields=[{"name": n} for n in FRONT_BACK_FIELDS],
        templates=[
            {"name": "Card 1", **_front_back("Front", "Back")},
            {"name": "Card 2", **_front_back("Back", "Front")},
        ],
        css=css,
    )
    cloze = genanki.Model(
        CLOZE_ID,
        "Exporter Cloze",
        fields=[{"name": n} for n in CLOZE_FIELDS],
        templates=[
            {
                "name": "Cloze",
                "qfmt": f'{CONTEXT}<div class="question cloze-text">{{{{cloze:Text}}}}</div>',
                "afmt": f'{CONTEXT}<div class="question cloze-text">{{{{cloze:Text}}}}</div>'
                '{{#Back Extra}}<div class="answer extra">{{Back Extra}}</div>{{/Back Extra}}'
                f"{META}",
            }
        ],
        css=css,
        model_type=genanki.Model.CLOZE,
    )
    return {Kind.BASIC: basic, Kind.LONG: basic, Kind.REVERSED: reversed_, Kind.CLOZE: cloze}


def cloze_field(fact: Fact) -> str:
    """The model's cloze parts in Anki's own `{{cN::text::hint}}` syntax."""
    out = []
    for seg in fact.text:
        if isinstance(seg, Cloze):
            hint = f"::{seg.hint}" if seg.hint else ""
            out.append(f"{{{{c{seg.ord}::{seg.html}{hint}}}}}")
        else:
            out.append(seg)
    return "".join(out)


def fields_for(fact: Fact) -> list[str]:
    context = html.escape(" › ".join(fact.context))
    source = html.escape(fact.source)
    if fact.kind is Kind.CLOZE:
        return [cloze_field(fact), fact.answer, context, source]
    return [fact.question, fact.answer, context, source]


def signatures(css: str) -> dict[str, str]:
    """What each note type looks like; a change gives it a newer mtime, so Anki's default
    import updates templates and CSS. A change of fields (`anki-fields:`) is reported."""
    out = {}
    for model in {id(m): m for m in note_types(css).values()}.values():
        fields = [f["name"] for f in model.fields]
        look = json.dumps([fields, model.templates, model.css], sort_keys=True)
        out[f"anki:{model.model_id}"] = hashlib.sha256(look.encode()).hexdigest()[:16]
        out[f"anki-fields:{model.model_id}"] = hashlib.sha256(
            json.dumps(fields).encode()
        ).hexdigest()[:16]
    return out


class AnkiExporter:
    def signatures(self, config: BuildConfig) -> dict[str, str]:
        return signatures(card_css(config.styles))

    def targets(self, deck: Deck, config: BuildConfig) -> list[Path]:
        return [config.out / f"{config.name}.apkg"]

    def export(
        self,
        deck: Deck,
        config: BuildConfig,
        paths: Mapping[Path, Path],
        progress: Callable[[str], None] | None = None,
    ) -> Output:
        (target,) = (paths[t] for t in self.targets(deck, config))
        import genanki

        types = note_types(card_css(config.styles))
        decks: dict[str, genanki.Deck] = {}
        rows: dict[str, Fact] = {}
        for fact in deck.facts:
            gdeck = decks.get(fact.deck)
            if gdeck is None:
                gdeck = decks[fact.deck] = genanki.Deck(
                    stable_int("deck:" + fact.deck, 52), fact.deck
                )
            gdeck.add_note(
                genanki.Note(
                    model=types[fact.kind],
                    fields=fields_for(fact),
                    sort_field=fact.plain_question,
                    tags=list(fact.tags),
                    guid=fact.guid,
                )
            )
            rows[fact.guid] = fact
        package = genanki.Package([decks[k] for k in sorted(decks)])
        media = deck.media
        with tempfile.TemporaryDirectory() as tmp:
            db_path = Path(tmp) / "collection.anki2"
            conn = sqlite3.connect(db_path)
            cursor = conn.cursor()
            package.write_to_db(cursor, EPOCH, iter(range(1, 1 << 30)))
            stamp_identities(cursor, rows, deck.stamps)
            conn.commit()
            cursor.execute("VACUUM")
            conn.close()
            write_zip(target, db_path, [(m.name, Path(m.path)) for m in media])
        return Output()


def stamp_identities(
    cursor: sqlite3.Cursor, facts: dict[str, Fact], stamps: Mapping[str, int]
) -> None:
    """Give notes and cards ids and mtimes that follow the fact, not the clock."""
    cursor.execute("CREATE TEMP TABLE fact_ids (guid TEXT PRIMARY KEY, nid INT, mod INT)")
    cursor.executemany(
        "INSERT INTO fact_ids VALUES (?, ?, ?)",
        ((guid, note_id(guid), fact.mtime or EPOCH) for guid, fact in facts.items()),
    )
    cards = cursor.execute(
        "SELECT cards.id, notes.guid, cards.ord FROM cards JOIN notes ON notes.id = cards.nid"
    ).fetchall()
    cursor.execute("CREATE TEMP TABLE card_ids (old INT PRIMARY KEY, new INT)")
    cursor.executemany(
        "INSERT INTO card_ids VALUES (?, ?)",
        ((old, card_id(guid, ordinal)) for old, guid, ordinal in cards),
    )
    cursor.executescript(
        """
        UPDATE cards SET
            nid = (SELECT f.nid FROM fact_ids f JOIN notes n ON n.guid = f.guid
                   WHERE n.id = cards.nid),
            mod = (SELECT f.mod FROM fact_ids f JOIN notes n ON n.guid = f.guid
                   WHERE n.id = cards.nid),
            id = (SELECT new FROM card_ids WHERE old = cards.id);
        UPDATE notes SET
            id = (SELECT nid FROM fact_ids WHERE guid = notes.guid),
            mod = (SELECT mod FROM fact_ids WHERE guid = notes.guid);
        DROP TABLE fact_ids;
        DROP TABLE card_ids;
        """
    )
    (models_json,) = cursor.execute("SELECT models FROM col").fetchone()
    models = json.loads(models_json)
    for key, model in models.items():
        model["mod"] = stamps.get(f"anki:{key}", EPOCH)
    cursor.execute("UPDATE col SET models = ?", (json.dumps(models, sort_keys=True),))


def write_zip(target: Path, db_path: Path, media: list[tuple[str, Path]]) -> None:
    """Fixed entry order and dates: the same deck gives the same bytes."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:

        def add(name: str, data: bytes) -> None:
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)

        add("collection.anki2", db_path.read_bytes())
        mapping = {str(i): name for i, (name, _) in enumerate(media)}
        add("media", json.dumps(mapping, sort_keys=True).encode())
        for i, (_, path) in enumerate(media):
            add(str(i), path.read_bytes())


EXPORTER = AnkiExporter()
