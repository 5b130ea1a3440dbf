"""The Anki deck: note types with fixed ids, one genanki deck per deck name, media, and a
byte-reproducible `.apkg`.

genanki stamps every note with one clock time and numbers ids from the clock. Anki matches
notes by GUID and updates an existing note on import only when the incoming modification
time is newer; so each note hands genanki its own ids and mtime from the fact's identity
when written, and the result is zipped with fixed dates.
"""

from __future__ import annotations

import hashlib
import html
import json
import sqlite3
import tempfile
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..config import BuildConfig
from ..diagnostics import Diagnostic
from ..identity import LockEntry, Report
from ..model import (
    Cloze,
    Deck,
    Fact,
    Kind,
    Note,
    cloze_text,
    context_text,
    plain,
    render_marks,
)
from ..store import Store
from . import Output, anki_rows, marks, missing_styles, versions
from .anki_rows import NoteRows, RowCache, insert
from .apkg_zip import write_zip

EPOCH = 1_700_000_000

# Ids are part of the contract with every collection that imported a deck: never change
# them. A change of fields needs a new id (and a new name), said in the build output.
BASIC_ID = 1_761_425_001
REVERSED_ID = 1_761_425_002
CLOZE_ID = 1_761_425_003

FRONT_BACK_FIELDS = ["Front", "Back", "Context", "Source"]
CLOZE_FIELDS = ["Text", "Back Extra", "Context", "Source"]

# A card shows its context line only when there is one: a fact under no heading but the
# note's own has none.
CONTEXT = '{{#Context}}<div class="context">{{Context}}</div>{{/Context}}'
# No `{{Tags}}` here: Anki inserts it as raw HTML (a front-matter tag like `<b>x` would be
# live markup) and as one space-separated string (one chip). The exporter writes the
# source and escaped tag chips into the Source field instead; see `meta_field`.
META = '<div class="meta">{{Source}}</div>'

# Anki's default import updates a note only when the incoming mtime is newer, and a fact's
# mtime (from the lock) changes only when its content does. When `fields_for` changes what
# it writes for unchanged facts, raise this to the time of that change: every note is then
# written at least this new, so Anki updates each one once; later edits are newer still.
FIELDS_SINCE = 1_796_133_700


def written_mtime(fact: Fact) -> int:
    """The modification time the deck gives this fact's note."""
    return max(fact.mtime or EPOCH, FIELDS_SINCE)


def _front_back(front: str, back: str) -> dict[str, str]:
    return {
        "qfmt": f'{CONTEXT}<div class="question">{{{{{front}}}}}</div>',
        "afmt": f'{{{{FrontSide}}}}<hr id="answer"><div class="answer">{{{{{back}}}}}</div>{META}',
    }


def stable_int(text: str, bits: int) -> int:
    """A positive number from a name, the same on every machine and every build."""
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % (1 << bits) + (1 << 40)


def note_id(guid: str) -> int:
    """The id a fact's note has in the package. Anki gives imported notes ids of its own,
    so this only keeps the package reproducible; notes are matched by GUID."""
    return stable_int("note:" + guid, 46)


def card_id(guid: str, ordinal: int) -> int:
    return stable_int(f"card:{guid}:{ordinal}", 46)


def card_css(styles: Path) -> str:
    """The sheet's palette and the card rules: one design language for both."""
    return "\n".join(
        (styles / name).read_text(encoding="utf-8") for name in ("palette.css", "card.css")
    )


# Each kind's note type in the collection: its id and the fields it owns, in order.
NOTE_TYPES: dict[Kind, tuple[int, tuple[str, ...]]] = {
    Kind.BASIC: (BASIC_ID, tuple(FRONT_BACK_FIELDS)),
    Kind.LONG: (BASIC_ID, tuple(FRONT_BACK_FIELDS)),
    Kind.REVERSED: (REVERSED_ID, tuple(FRONT_BACK_FIELDS)),
    Kind.CLOZE: (CLOZE_ID, tuple(CLOZE_FIELDS)),
}
NOTE_TYPE_NAMES = {
    BASIC_ID: "Exporter Basic",
    REVERSED_ID: "Exporter Basic (and reversed card)",
    CLOZE_ID: "Exporter Cloze",
}


def note_types(css: str):
    import genanki

    basic = genanki.Model(
        BASIC_ID,
        NOTE_TYPE_NAMES[BASIC_ID],
        fields=[{"name": n} for n in FRONT_BACK_FIELDS],
        templates=[{"name": "Card 1", **_front_back("Front", "Back")}],
        css=css,
    )
    reversed_ = genanki.Model(
        REVERSED_ID,
        NOTE_TYPE_NAMES[REVERSED_ID],
        fields=[{"name": n} for n in FRONT_BACK_FIELDS],
        templates=[
            {"name": "Card 1", **_front_back("Front", "Back")},
            {"name": "Card 2", **_front_back("Back", "Front")},
        ],
        css=css,
    )
    cloze = genanki.Model(
        CLOZE_ID,
        NOTE_TYPE_NAMES[CLOZE_ID],
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


# Anki's cloze parser reads the raw field: `::` inside a deletion would start its hint,
# `}}` end it, `{{` open another. Written as character references, the browser shows the
# same characters and the parser sees none of them.
CLOZE_LITERALS = str.maketrans({":": "&#58;", "{": "&#123;", "}": "&#125;"})


def cloze_field(fact: Fact) -> str:
    """The model's cloze parts in Anki's own `{{cN::text::hint}}` syntax. The hint is text
    from the note: Anki puts it into the card as HTML, so it is escaped here. A deletion
    or hint holding `::` (`std::plus` in code, `\\::`) keeps it, as references; so does a
    `{{` in the sentence around them (a code span showing the syntax)."""
    out = []
    for seg in fact.text:
        if isinstance(seg, Cloze):
            text = seg.html.translate(CLOZE_LITERALS)
            hint = html.escape(seg.hint).translate(CLOZE_LITERALS)
            out.append(cloze_text(seg.number, text, hint))
        else:
            out.append(seg.replace("{{", "&#123;&#123;"))
    return "".join(out)


def fields_for(fact: Fact, note: Note) -> list[str]:
    context = card_context(fact, note)
    shown = "" if gives_away(context, answers_of(fact)) else html.escape(context)
    meta = meta_field(fact)
    front = cloze_field(fact) if fact.kind is Kind.CLOZE else fact.question
    render = marks.renderer("apkg")
    return [render_marks(front, render), render_marks(fact.answer, render), shown, meta]


def named_fields(fact: Fact, note: Note) -> dict[str, str]:
    """`fields_for` by the names of the fact's note type's fields: how a sync writes a
    note and how `pull` and `serve` read one."""
    return dict(zip(NOTE_TYPES[fact.kind][1], fields_for(fact, note), strict=True))


def title_heading(note: Note) -> str | None:
    """The heading that names the whole note: its H1 when it has exactly one. A note with
    several H1s uses them as chapters, and a chapter is worth showing."""
    h1s = [s.title for s in note.sections if s.level == 1]
    return h1s[0] if len(h1s) == 1 else None


def card_context(fact: Fact, note: Note) -> str:
    """The heading path a card shows, without the note's title heading: the deck and the
    source already name the note, and on a phone a long H1 costs two lines on every
    card. A fact under no heading (whose model path is the note's title) shows none."""
    if under_no_heading(fact, note):
        return ""
    path = fact.context
    if path and path[0] == title_heading(note):
        path = path[1:]
    return context_text(tuple(p for p in path if p))


def under_no_heading(fact: Fact, note: Note) -> bool:
    """Whether the fact stands before the note's first heading: its section is the
    preamble, the only one at level 0."""
    sections = note.sections
    return 0 <= fact.section < len(sections) and sections[fact.section].level == 0


def answers_of(fact: Fact) -> tuple[str, ...]:
    """Every text some card of the fact asks for: the answer; both sides of a reversed
    fact (each is the other card's answer); each deletion of a cloze."""
    if fact.kind is Kind.CLOZE:
        return tuple(plain(s.html) for s in fact.text if isinstance(s, Cloze))
    if fact.kind is Kind.REVERSED:
        return (fact.plain_question, fact.plain_answer)
    return (fact.plain_answer,)


def _folded(text: str) -> str:
    """Text as a reader compares it: no case, width or spacing differences."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def gives_away(context: str, answers: tuple[str, ...]) -> bool:
    """Whether the context line holds an answer as whole words (`MSP` in "Mineral
    Security Partnership (MSP)"), so showing it would answer the card. Whole words keep
    a deletion like `14` from hiding a context that only mentions 2014."""
    if not context:
        return False
    haystack = _folded(context)
    for answer in answers:
        needle = _folded(answer).strip(" .,;:!?()[]\"'")
        if needle and contains_word(haystack, needle):
            return True
    return False


def contains_word(haystack: str, needle: str) -> bool:
    """Whether `needle` occurs in `haystack` with no word character touching either end.
    A scan with `str.find`, not a regex: a pattern a fact would be compiled afresh for
    each of 10,000 facts (Python's regex cache holds 512)."""
    start = haystack.find(needle)
    while start >= 0:
        end = start + len(needle)
        before = haystack[start - 1] if start else " "
        after = haystack[end] if end < len(haystack) else " "
        if not _is_word(before) and not _is_word(after):
            return True
        start = haystack.find(needle, start + 1)
    return False


def _is_word(char: str) -> bool:
    """`\\w` of Python's `re`: letters, digits (any script), underscore."""
    return char.isalnum() or char == "_"


def meta_field(fact: Fact) -> str:
    """The Source field: the source, then one chip a tag. It starts with the plain source
    text, which Anki's browser and searches show. Everything is escaped: tags and paths
    come from notes and must reach a card as text, never as markup."""
    out = html.escape(fact.source)
    if fact.tags:
        chips = "".join(f'<span class="tag">{html.escape(t)}</span>' for t in fact.tags)
        out += f' <span class="tags">{chips}</span>'
    return out + identity_mark(fact.guid)


def identity_mark(guid: str) -> str:
    """The fact's GUID in an HTML comment: invisible on the card, but found by a search
    of the Source field, the one way to name this note alone after an import (Anki gives
    imported notes new ids and has no search by GUID)."""
    return f"<!--exporter:{guid}-->"


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

    def folders(self, config: BuildConfig) -> dict[Path, str]:
        return {}

    def cache_folders(self) -> list[str]:
        return [anki_rows.AREA]

    def fingerprint(self, config: BuildConfig) -> dict[str, str]:
        return versions("genanki")

    def check(self, deck: Deck, config: BuildConfig) -> list[Diagnostic]:
        return missing_styles(config, "palette.css", "card.css")

    def advice(self, report: Report) -> list[str]:
        lines = []
        for key in report.stamps_changed:
            kind, _, model_id = key.partition(":")
            if kind == "anki-fields":
                lines.append(
                    f"  note type {model_id} changed its fields: Anki will import it as a "
                    "copy; give it a new id and name instead"
                )
            elif kind == "anki":
                lines.append(f"  note type {model_id} has new templates or CSS")
        return lines + pending_advice(report.pending)

    def export(
        self,
        deck: Deck,
        config: BuildConfig,
        paths: Mapping[Path, Path],
        store: Store,
        progress: Callable[[str], None] | None = None,
    ) -> Output:
        (target,) = (paths[t] for t in self.targets(deck, config))

        types = note_types(card_css(config.styles))
        import genanki  # here, not at the top: a no-op build never loads it

        cache = RowCache(store)
        keys = [cache.key(note) for note in deck.notes]
        known = cache.known(k for k in keys if k)
        kept: list[str] = []
        made: list[tuple[str, NoteRows]] = []
        uses: list[tuple[tuple[str, str], ...]] = []
        for note, key in zip(deck.notes, keys, strict=True):
            if key is not None and key in known:
                kept.append(key)
                uses.append(known[key])
            else:
                rows = note_rows(note, types)
                made.append((key or "", rows))
                uses.append(rows.uses)
        cache.keep(made)
        decks: dict[str, genanki.Deck] = {}
        for name, kind in dict.fromkeys(use for each in uses for use in each):
            gdeck = decks.get(name)
            if gdeck is None:
                gdeck = decks[name] = genanki.Deck(stable_int("deck:" + name, 52), name)
            gdeck.add_model(types[Kind(kind)])
        package = genanki.Package([decks[k] for k in sorted(decks)])
        media = deck.media
        with tempfile.TemporaryDirectory() as tmp:
            # A scratch file, not memory: at 100,000 facts the database is 60 MB, and
            # a serialised copy of one in memory would double that.
            db_path = Path(tmp) / "collection.anki2"
            conn = sqlite3.connect(db_path)
            try:
                cursor = conn.cursor()
                # Zipped or thrown away: no journal, no waiting for the disk. The
                # database's bytes are the same either way.
                cursor.execute("PRAGMA main.journal_mode=OFF")
                cursor.execute("PRAGMA main.synchronous=OFF")
                attached = cache.attach(conn)
                package.write_to_db(cursor, EPOCH, iter(()))
                insert(cursor, kept, (rows for _, rows in made), attached)
                stamp_note_types(cursor, deck.type_mtimes)
                conn.commit()
            finally:
                conn.close()
            write_zip(target, db_path.read_bytes(), [(m.name, Path(m.path)) for m in media])
        return Output()


def note_rows(note: Note, types: Mapping[Kind, Any]) -> NoteRows:
    """The note's rows in genanki's layout.

    genanki writes each note with one clock time, clock-numbered ids, a statement a row
    and a regex over the fields to find cloze cards. The facts already know their ids,
    times and cards, so their rows are made here, and genanki writes the rest of the
    collection: schema, decks and note types."""
    notes, cards = [], []
    uses: dict[tuple[str, str], None] = {}  # ordered set
    for fact in note.facts:
        model_id = types[fact.kind].model_id
        deck_id = stable_int("deck:" + fact.deck, 52)
        uses[(fact.deck, fact.kind.value)] = None
        nid, mtime = note_id(fact.guid), written_mtime(fact)
        tags = " " + " ".join(fact.tags) + " "
        fields = "\x1f".join(fields_for(fact, note))
        notes.append(
            (nid, fact.guid, model_id, mtime, -1, tags, fields, fact.plain_question, 0, 0, "")
        )
        for ordinal in card_ords(fact):
            card = (card_id(fact.guid, ordinal), nid, deck_id, ordinal, mtime, -1)
            cards.append((*card, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ""))
    return NoteRows(tuple(notes), tuple(cards), tuple(uses))


def card_ords(fact: Fact) -> tuple[int, ...]:
    """Anki's card ordinals: one per template, or one per cloze number."""
    if fact.kind is Kind.CLOZE:
        return tuple(o - 1 for o in fact.card_numbers)
    return (0, 1) if fact.kind is Kind.REVERSED else (0,)


def pending_advice(pending: tuple[LockEntry, ...]) -> list[str]:
    """Said by every build until the notes of removed facts are gone from Anki: an
    import cannot delete them."""
    if not pending:
        return []
    count = len(pending)
    return [
        f"{count} removed fact{'s' if count != 1 else ''} may still be in Anki (an import "
        "cannot delete notes): `python build.py sync` deletes them; or search the Anki "
        "browser for the line below, delete what it finds, then run "
        "`python build.py build --forget-removed`",
        "  " + " OR ".join(removed_search(e) for e in pending),
    ]


def removed_search(entry: LockEntry) -> str:
    """A search that finds the removed fact's note and nothing else: its GUID, marked in
    its Source field (`identity_mark`). Another note with the same question, in another
    file, is never found by it."""
    return f'"Source:*{identity_mark(entry.guid)}*"'


def stamp_note_types(cursor: sqlite3.Cursor, stamps: Mapping[str, int]) -> None:
    """Each note type's mtime from the lock, so a template or CSS change reaches Anki."""
    (models_json,) = cursor.execute("SELECT models FROM col").fetchone()
    models = json.loads(models_json)
    for key, model in models.items():
        model["mod"] = stamps.get(f"anki:{key}", EPOCH)
    cursor.execute("UPDATE col SET models = ?", (json.dumps(models, sort_keys=True),))


EXPORTER = AnkiExporter()
