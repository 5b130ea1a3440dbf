"""The deck, checked by importing it with the official `anki` library into a fresh
collection, as a person's Anki would."""

from __future__ import annotations

import re

import pytest

from exporter.exporters.anki import BASIC_ID, CLOZE_ID, REVERSED_ID

from ..conftest import copy_fixture, import_apkg, run_build


@pytest.fixture
def kinds_deck(tmp_path):
    notes = copy_fixture("kinds", tmp_path)
    result = run_build(notes, tmp_path / "dist", formats=("apkg",))
    assert result.ok, [d.format() for d in result.diagnostics]
    return tmp_path / "dist" / "kinds.apkg"


def cards_by_sort(col) -> dict[str, list]:
    found: dict[str, list] = {}
    for cid in col.find_cards(""):
        card = col.get_card(cid)
        found.setdefault(card.note().fields[0], []).append(card)
    for cards in found.values():
        cards.sort(key=lambda c: c.ord)
    return found


def card_for(col, needle: str) -> list:
    matches = [cards for front, cards in cards_by_sort(col).items() if needle in front]
    assert len(matches) == 1, f"{needle!r}: {len(matches)} notes"
    return matches[0]


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_exact_counts_decks_and_note_types(collection, kinds_deck):
    result = import_apkg(collection, kinds_deck)
    assert len(result.log.new) == 7
    assert collection.note_count() == 7
    assert collection.card_count() == 9
    names = {d.name for d in collection.decks.all_names_and_ids()}
    assert {"Kinds", "ir"} <= names
    types = {m["name"]: int(m["id"]) for m in collection.models.all()}
    assert types["Exporter Basic"] == BASIC_ID
    assert types["Exporter Basic (and reversed card)"] == REVERSED_ID
    assert types["Exporter Cloze"] == CLOZE_ID


def test_decks_hold_their_notes(collection, kinds_deck):
    import_apkg(collection, kinds_deck)
    assert len(collection.find_cards('deck:"Kinds"')) == 8
    assert len(collection.find_cards('"deck:ir"')) == 1


def test_tags_are_anki_tags(collection, kinds_deck):
    import_apkg(collection, kinds_deck)
    (card,) = card_for(collection, "Capital of France")
    assert sorted(card.note().tags) == ["fixture", "geo"]
    (card,) = card_for(collection, "Lithium is used in")
    assert sorted(card.note().tags) == ["prelims", "upsc::gs3"]
    assert set(collection.tags.all()) == {"fixture", "geo", "prelims", "upsc::gs3"}


def test_basic_card_renders_question_answer_context_source(collection, kinds_deck):
    import_apkg(collection, kinds_deck)
    (card,) = card_for(collection, "Capital of France")
    question, answer = card.question(), card.answer()
    assert "Capital of France" in question and "Paris" not in text(question)
    assert "Paris" in answer
    # The note's one H1, "Kinds", is its title heading: the card shows no context line.
    assert 'class="context"' not in question
    assert "kinds/general.md:9" in answer
    assert "#geo" not in answer


def test_reversed_note_has_two_directions(collection, kinds_deck):
    import_apkg(collection, kinds_deck)
    forward, backward = card_for(collection, "KABIL")
    assert "KABIL" in text(forward.question()) and "Khanij" not in text(forward.question())
    assert "Khanij Bidesh India Ltd" in text(backward.question())
    assert "KABIL" not in text(backward.question())


def test_cloze_cards_hide_their_deletion(collection, kinds_deck):
    import_apkg(collection, kinds_deck)
    (card,) = card_for(collection, "India joined the MSP")
    assert "2023" not in text(card.question()) and "[...]" in card.question()
    assert "2023" in text(card.answer())


def test_grouped_cloze_hides_the_group_together(collection, kinds_deck):
    import_apkg(collection, kinds_deck)
    first, second = card_for(collection, "Neodymium")
    q1 = text(first.question())
    assert "Neodymium" not in q1 and "samarium" not in q1 and "magnets" in q1
    q2 = text(second.question())
    assert "Neodymium" in q2 and "magnets" not in q2


def test_cloze_hint_shows_on_the_front(collection, kinds_deck):
    import_apkg(collection, kinds_deck)
    (card,) = card_for(collection, "alkali")
    assert "[an alkali metal]" in text(card.question())
    assert "Lithium" not in text(card.question())


def test_long_answer_is_the_block(collection, kinds_deck):
    import_apkg(collection, kinds_deck)
    (card,) = card_for(collection, "Pillars of TRUST")
    assert "<li>Strategic</li>" in card.answer()
    assert "Strategic" not in card.question()


def test_escaped_and_code_lines_make_no_cards(collection, kinds_deck):
    import_apkg(collection, kinds_deck)
    fronts = " ".join(cards_by_sort(collection))
    assert "Not a fact" not in fronts and "stay literal" not in fronts


def test_css_and_sort_field(collection, kinds_deck):
    import_apkg(collection, kinds_deck)
    model = collection.models.get(BASIC_ID)
    assert ".nightMode" in model["css"] and "--accent" in model["css"]
    (card,) = card_for(collection, "Capital of France")
    assert collection.db.scalar("select sfld from notes where id = ?", card.nid) == (
        "Capital of France"
    )


def test_guid_is_not_genanki_field_hash(kinds_deck, tmp_path):
    import genanki

    from exporter.config import BuildConfig
    from exporter.reading import load

    deck = load(BuildConfig(notes=tmp_path / "kinds")).deck
    from exporter import identity

    facts = identity.resolve(deck, identity.Lock(), lambda: 1_800_000_000)[0].facts
    assert all(f.guid for f in facts)
    assert len({f.guid for f in facts}) == len(facts)
    fact = facts[0]
    assert fact.guid != genanki.guid_for(fact.question, fact.answer)


def test_two_builds_are_byte_identical(tmp_path):
    notes = copy_fixture("kinds", tmp_path)
    run_build(notes, tmp_path / "a", formats=("apkg",))
    run_build(notes, tmp_path / "b", formats=("apkg",))
    assert (tmp_path / "a/kinds.apkg").read_bytes() == (tmp_path / "b/kinds.apkg").read_bytes()


def test_media_is_packed(collection, tmp_path):
    from ..conftest import write_note

    notes = tmp_path / "notes"
    img = notes / "images" / "dot.png"
    img.parent.mkdir(parents=True)
    img.write_bytes(PNG_1PX)
    write_note(notes, "map.md", "- Where :: here ![a map](images/dot.png)\n")
    result = run_build(notes, tmp_path / "dist", formats=("apkg",))
    assert result.ok, [d.format() for d in result.diagnostics]
    import_apkg(collection, tmp_path / "dist/notes.apkg")
    (card,) = card_for(collection, "Where")
    name = re.search(r'src="([^"]+)"', card.answer()).group(1)
    assert name.endswith("-dot.png")
    media_file = collection.media.dir() + "/" + name
    with open(media_file, "rb") as fh:
        assert fh.read() == PNG_1PX


PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


def test_advice_finds_removed_basic_cloze_and_reversed_notes(tmp_path, collection):
    from ..conftest import write_note

    notes = tmp_path / "notes"
    write_note(
        notes,
        "a.md",
        '- Keep :: me\n- With "quotes" and *stars* :: gone\n'
        "- India joined the MSP in {{2023}} with {{c2::hint::a clue}}.\n"
        "- KABIL ::: Khanij Bidesh India Ltd\n",
    )
    assert run_build(notes, tmp_path / "dist", formats=("apkg",)).ok
    import_apkg(collection, tmp_path / "dist/notes.apkg")
    write_note(notes, "a.md", "- Keep :: me\n")
    result = run_build(notes, tmp_path / "dist", formats=("apkg",))
    assert len(result.report.of("removed")) == 3
    found = collection.find_notes(result.advice[-1].strip())
    firsts = sorted(collection.get_note(n).fields[0] for n in found)
    assert firsts == [
        "India joined the MSP in {{c1::2023}} with {{c2::hint::a clue}}.",
        "KABIL",
        'With "quotes" and <em>stars</em>',
    ]


# ----------------------------------------------------------------- cards a student trusts
# `tests/fixtures/cards/`: a note shaped like the seed (a long H1 that is not the title, the
# MSP section, tree diagrams, a table), hostile front-matter tag and heading, and a note
# whose two H1s are chapters.

NOTE_H1 = "India – U.S. TRUST Initiative 2025"


@pytest.fixture
def cards_col(collection, tmp_path):
    notes = copy_fixture("cards", tmp_path)
    result = run_build(notes, tmp_path / "dist", formats=("apkg",))
    assert result.ok, [d.format() for d in result.diagnostics]
    import_apkg(collection, tmp_path / "dist" / "cards.apkg")
    return collection


def context_of(html: str) -> str | None:
    """The context line's text as the card shows it, or None when there is none."""
    found = re.search(r'<div class="context">(.*?)</div>', html)
    return found and found.group(1)


def test_no_card_opens_with_the_notes_own_h1(cards_col):
    questions = [c.question() for cards in cards_by_sort(cards_col).values() for c in cards]
    assert len(questions) == 13
    assert not any(NOTE_H1 in q for q in questions)
    (card,) = card_for(cards_col, "Purpose of the MSP")
    assert context_of(card.question()) == "Mineral Security Partnership (MSP)"


def test_a_fact_under_only_the_title_has_no_context_line(cards_col):
    for front in ("Asked under the title alone", "Asked before any heading"):
        (card,) = card_for(cards_col, front)
        assert 'class="context"' not in card.question() + card.answer()


def test_several_h1s_are_chapters_and_stay(cards_col):
    (card,) = card_for(cards_col, "Longest river of India")
    assert context_of(card.question()) == "Part one › Rivers"
    (card,) = card_for(cards_col, "Highest peak in India")
    assert context_of(card.question()) == "Part two"


def test_context_holding_the_answer_is_left_off(cards_col):
    # "Mineral Security Partnership (MSP)" over `MSP ::: Minerals Security Partnership`:
    # the heading answers the backward card, so neither direction shows it.
    forward, backward = cards_by_sort(cards_col)["MSP"]
    for card in (forward, backward):
        assert context_of(card.question()) is None and context_of(card.answer()) is None
    # A cloze whose deletion is in the heading ("… War of 2025" over `{{2025}}`)…
    (card,) = card_for(cards_col, "The war broke out in")
    assert context_of(card.question()) is None
    # …but a deletion that is only part of a word of it (`12`, not in "2025") keeps it.
    (card,) = card_for(cards_col, "ceasefire came after")
    assert context_of(card.question()) == "Iran–Israel War of 2025"


def test_tags_are_separate_escaped_chips(cards_col):
    (card,) = card_for(cards_col, "Purpose of the MSP")
    answer = card.answer()
    chips = re.findall(r'<span class="tag">(.*?)</span>', answer)
    assert chips == ["&lt;b&gt;bold", "fixture", "prelims", "upsc::gs2"]
    # The front-matter tag `<b>bold` is text on the card, never a live element.
    assert "<b>" not in answer
    assert "cards/trust.md:12" in text(answer)


def test_a_hostile_heading_is_text(cards_col):
    (card,) = card_for(cards_col, "A hostile heading")
    question = card.question()
    assert context_of(question) == "&lt;img src=x onerror=alert(1)&gt; in a heading"
    assert "<img" not in question


def test_night_mode_rules_match_the_card_body(collection, kinds_deck):
    """Anki puts `.card` and `.nightMode` (AnkiDroid: `.night_mode`) on the same body."""
    import_apkg(collection, kinds_deck)
    css = collection.models.get(BASIC_ID)["css"]
    selectors = [
        sel.strip()
        for head, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css)
        if "--paper" in body
        for sel in head.split(",")
    ]

    def matches_body(selector: str, night: str) -> bool:
        # One compound selector (no descendant combinator) of classes the body has.
        classes = selector.split(".")[1:]
        return (
            selector.startswith(".")
            and " " not in selector
            and night in classes
            and set(classes) <= {"card", night}
        )

    for night in ("nightMode", "night_mode"):
        assert any(matches_body(s, night) for s in selectors), (night, selectors)


def test_older_notes_are_updated_once_to_the_new_field_layout(tmp_path, collection):
    """A collection imported before a change of what the fields hold has notes with an
    older mtime: the next import must update them, though no fact changed."""
    from exporter.config import BuildConfig
    from exporter.pipeline import build

    notes = copy_fixture("cards", tmp_path)
    config = BuildConfig(notes=notes, out=tmp_path / "dist", formats=("apkg",))
    old = 1_700_000_100
    assert build(config, now=lambda: old).ok
    import_apkg(collection, tmp_path / "dist/cards.apkg")
    (card,) = card_for(collection, "Purpose of the MSP")
    note = card.note()
    # As an earlier build left it: the H1 in the context, and written at the lock's time.
    stale = [*note.fields[:2], f"{NOTE_H1} › MSP", "cards/trust.md:12"]
    collection.db.execute(
        "update notes set flds = ?, mod = ? where id = ?", "\x1f".join(stale), old, note.id
    )
    assert build(config, now=lambda: old + 10).ok
    result = import_apkg(collection, tmp_path / "dist/cards.apkg")
    assert "Purpose of the MSP" in [n.fields[0] for n in result.log.updated]
    assert collection.get_note(note.id)["Context"] == "Mineral Security Partnership (MSP)"
    # Once updated, a rebuild with nothing changed leaves the collection alone.
    assert build(config, now=lambda: old + 20).ok
    again = import_apkg(collection, tmp_path / "dist/cards.apkg")
    assert not again.log.updated and not again.log.new


# ------------------------------------------------------------ nothing from a note runs
HOSTILE_HINTS = """---
tags: ["<script>alert(1)<!--", "&lt;img/src=x/onerror=alert(2)&gt;", "<svg/onload=alert(3)>"]
---
# Hostile

- Alkali {{alkali metal::<img src=x onerror=alert(4)>}} powers batteries
- It is {{c1::reactive::<script>alert(5)</script>}} in water
- A {{c1::svg::<svg onload=alert(6)>}} hint
- Heading tag :: answer <b onclick="alert(7)">bold</b>
"""

def live_markup(html: str) -> list[str]:
    """Elements and attributes in card HTML that a webview would run or load: what a
    browser parses, not what merely reads like markup in escaped text."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag in ("script", "svg", "img", "iframe", "object", "embed"):
                found.append(tag)
            for name, value in attrs:
                if name.startswith("on") or "javascript:" in (value or "").lower():
                    found.append(f"{tag}[{name}]")

    parser = Parser()
    parser.feed(html)
    parser.close()
    return found


def test_hostile_hints_tags_and_html_never_reach_a_card_as_markup(tmp_path, collection):
    from ..conftest import write_note

    notes = tmp_path / "notes"
    write_note(notes, "hostile.md", HOSTILE_HINTS)
    result = run_build(notes, tmp_path / "dist", formats=("apkg",))
    assert result.ok, [d.format() for d in result.diagnostics]
    import_apkg(collection, tmp_path / "dist/notes.apkg")
    cards = [collection.get_card(c) for c in collection.find_cards("")]
    assert len(cards) == 4
    for card in cards:
        for html in (card.question(), card.answer()):
            assert live_markup(html) == [], html
    hinted = next(c for c in cards if "Alkali" in c.question())
    assert "&lt;img src=x onerror=alert(4)&gt;" in hinted.question()


def test_a_deck_name_anki_would_refuse_is_an_error_at_its_line(tmp_path):
    from ..conftest import write_note

    notes = tmp_path / "notes"
    write_note(notes, "html.md", '---\ndeck: "Chem::<img src=x onerror=alert(1)>"\n---\n- q :: a\n')
    deep = "::".join(f"L{i}" for i in range(12))
    write_note(notes, "deep.md", f"---\ntitle: Deep\ndeck: {deep}\n---\n- q2 :: a\n")
    write_note(notes, "/".join(f"f{i}" for i in range(12)) + "/n.md", "- q3 :: a\n")
    result = run_build(notes, tmp_path / "dist", formats=("apkg",))
    assert not result.ok
    found = sorted((d.path.rsplit("/", 1)[-1], d.line, d.message) for d in result.diagnostics)
    assert found == [
        ("deep.md", 3, f"deck '{deep}' is 12 levels deep; Anki allows 11"),
        ("html.md", 2, "deck 'Chem::<img src=x onerror=alert(1)>' holds '<' or '>'"),
        (
            "n.md",
            1,
            "deck '" + "::".join(f"f{i}" for i in range(12)) + "' is 12 levels deep; Anki allows"
            " 11 (the deck comes from the folder path)",
        ),
    ]
    assert not (tmp_path / "dist").exists()


def test_the_removal_search_finds_the_removed_note_and_no_live_twin(tmp_path, collection):
    from ..conftest import write_note

    notes = tmp_path / "notes"
    write_note(notes, "alpha.md", "# Alpha\n\n- Significance :: ended the war\n")
    write_note(notes, "beta.md", "# Beta\n\n- Significance :: opened the ports\n")
    assert run_build(notes, tmp_path / "dist", formats=("apkg",)).ok
    import_apkg(collection, tmp_path / "dist/notes.apkg")
    write_note(notes, "alpha.md", "# Alpha\n\nThe treaty is gone from the syllabus.\n")
    result = run_build(notes, tmp_path / "dist", formats=("apkg",))
    assert len(result.report.of("removed")) == 1
    (found,) = collection.find_notes(result.advice[-1].strip())
    assert collection.get_note(found)["Back"] == "ended the war"
