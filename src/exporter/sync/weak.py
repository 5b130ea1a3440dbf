"""`weak`: the facts a person keeps forgetting, from the collection's review data, as a
sheet laid out like the revision sheet.

The collection is never written: it is copied and the copy is read. Our notes are found
by the lock's GUIDs. A fact's weakness adds up, over its cards: lapses (a review card
forgotten), "again" answers (those of the last `RECENT_DAYS` count twice), and, where
FSRS has a memory state, how likely the card is forgotten today. Facts never reviewed
are left out.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import BuildConfig
from ..model import Deck
from . import collection, resolved, subset

RECENT_DAYS = 30
DAY = 86_400


@dataclass(frozen=True)
class Weakness:
    score: float
    forgotten: int


def weaknesses(col: Any, guids: set[str], now: float) -> dict[str, Weakness]:
    held = collection.our_notes(col, guids)
    by_note = {note.note_id: guid for guid, note in held.items()}
    scores: dict[str, float] = {}
    forgotten: dict[str, int] = {}
    recent = (now - RECENT_DAYS * DAY) * 1000
    reviewed: set[str] = set()
    for cid, nid, lapses, data, ivl in col.db.all(
        "select id, nid, lapses, data, ivl from cards where nid in "
        f"({','.join(str(n) for n in by_note) or '0'})"
    ):
        guid = by_note[nid]
        answers = col.db.all("select id, ease from revlog where cid = ? and type < 4", cid)
        if answers:
            reviewed.add(guid)
        again = [when for when, ease in answers if ease == 1]
        score = 3 * lapses + sum(2 if when >= recent else 1 for when in again)
        score += 5 * (1 - retrievability(col, cid, data, ivl, now))
        scores[guid] = scores.get(guid, 0.0) + score
        forgotten[guid] = forgotten.get(guid, 0) + len(again)
    return {g: Weakness(scores[g], forgotten[g]) for g in reviewed if scores[g] > 0}


def retrievability(col: Any, cid: int, data: str, ivl: int, now: float) -> float:
    """FSRS's chance the card is remembered today, 1 when FSRS keeps no memory state.
    R = (1 + 19/81 · t/S)^-0.5, t the days since the last review, S the stability."""
    try:
        stability = float(json.loads(data or "{}").get("s") or 0)
    except (ValueError, TypeError, AttributeError):
        stability = 0
    if stability <= 0:
        return 1.0
    last = col.db.scalar("select max(id) from revlog where cid = ?", cid)
    if not last:
        return 1.0
    days = max(0.0, (now - last / 1000) / DAY)
    return (1 + 19 / 81 * days / stability) ** -0.5


def weak_sheet(
    config: BuildConfig, target: Path, count: int, out: Path, form: str = "pdf"
) -> tuple[Path, int]:
    """Write `out/<name>-weak.pdf` with the `count` weakest facts (or, with `form`
    "cards", `<name>-weak-cards.pdf`, those facts' cards to print and cut); how many
    facts it holds."""
    from ..publish import write_atomic

    deck, _ = resolved(config, lambda: int(time.time()))
    guids = {f.guid for f in deck.facts}
    with collection.copied(target) as copy, collection.opened(copy) as col:
        found = weaknesses(col, guids, time.time())
    chosen = sorted(found, key=lambda g: (-found[g].score, -found[g].forgotten, g))[:count]
    weak = subset(deck, set(chosen))
    remarks = {
        g: f"forgotten {found[g].forgotten}×" if found[g].forgotten else "due to be forgotten"
        for g in chosen
    }
    suffix = "-weak-cards.pdf" if form == "cards" else "-weak.pdf"
    path = out / f"{config.name}{suffix}"
    if weak.facts:
        out.mkdir(parents=True, exist_ok=True)
        config = dataclasses.replace(config, out=out)
        write_atomic(path, render(config, weak, remarks, form))
    return path, len(weak.facts)


def render(config: BuildConfig, weak: Deck, remarks: dict[str, str], form: str) -> bytes:
    if form != "cards":
        from ..exporters.pdf import weak_sheet as sheet

        return sheet(config, weak, remarks)
    from ..exporters.cards import cards_pdf
    from ..store import open_store

    store = open_store(config.out)
    pdf = cards_pdf(weak, config, store, remarks=remarks)
    store.commit()
    return pdf
