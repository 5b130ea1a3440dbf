"""Obsidian's Markdown as Obsidian users write it: callouts, highlights, strikethrough,
tasks, footnotes, wikilinks, embeds found by name, `%%` comments and free-form
properties; and a small vault (`tests/fixtures/real/obsidian/`) built under `--strict`,
imported into real Anki and read back from the sheet."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from exporter.model import Kind
from exporter.sources import read_source
from exporter.syntax import parse_note

from ..conftest import copy_fixture, import_apkg, parse_text, run_build, write_note


def parse(folder: Path, text: str, rel: str = "n.md"):
    return parse_text(folder, text, rel)


def body(note) -> str:
    return "\n".join(s.body for s in note.sections)


def png(path: Path, size: tuple[int, int] = (4, 3)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, "white").save(path)
    return path


# ---------------------------------------------------------------- callouts


def test_callout_is_a_titled_box_and_a_fact_inside_is_a_card(tmp_path):
    note, diags = parse(
        tmp_path,
        "# T\n\n> [!tip] Remember this\n> Some prose.\n> - Capital of France :: Paris\n",
    )
    assert diags == []
    html = body(note)
    assert '<div class="callout callout-tip">' in html
    assert '<div class="callout-title">Remember this</div>' in html
    assert "[!tip]" not in html
    (fact,) = note.facts
    assert (fact.plain_question, fact.plain_answer, fact.line) == ("Capital of France", "Paris", 5)


def test_callout_title_never_joins_a_fact(tmp_path):
    note, _ = parse(tmp_path, "> [!note] A title #mains\n> Question :: answer\n")
    (fact,) = note.facts
    assert (fact.plain_question, fact.plain_answer, fact.tags) == ("Question", "answer", ())
    assert '<div class="callout-title">A title #mains</div>' in body(note)


def test_foldable_callouts_any_type_and_the_default_title(tmp_path):
    note, _ = parse(tmp_path, "> [!FAQ]- Folded\n> hidden in Obsidian\n\n> [!my-type]+\n> open\n")
    html = body(note)
    assert '<div class="callout callout-faq callout-foldable">' in html
    assert "Folded" in html and "hidden in Obsidian" in html
    assert '<div class="callout-title">My-type</div>' in html


def test_a_bracket_line_inside_a_quote_is_quote_text(tmp_path):
    note, _ = parse(tmp_path, "> a quote\n> [!note] not a callout\n")
    assert 'class="callout' not in body(note) and "<blockquote>" in body(note)


# ---------------------------------------------------------------- inline marks


def test_highlight_and_strikethrough(tmp_path):
    note, _ = parse(tmp_path, "Q :: the ==key== word, ~~not~~ this, ~5 km ~ away\n")
    (fact,) = note.facts
    assert fact.answer == "the <mark>key</mark> word, <del>not</del> this, ~5 km ~ away"
    assert fact.plain_answer == "the key word, not this, ~5 km ~ away"


# ---------------------------------------------------------------- tasks


def test_task_items_are_boxes_in_one_list_and_not_facts(tmp_path):
    note, diags = parse(tmp_path, "- [ ] read Article 110\n- [x] compare with 117\n- plain\n")
    assert diags == [] and note.facts == ()
    html = body(note)
    assert html.count("<ul>") == 1 and html.count("<li") == 3
    assert '<span class="task-box"></span>read Article 110' in html
    assert '<span class="task-box task-done">✓</span>compare with 117' in html
    assert "[ ]" not in html and "[x]" not in html


def test_a_task_holding_a_fact_asks_without_its_box(tmp_path):
    note, _ = parse(tmp_path, "- [x] Who certifies a Money Bill :: the Speaker\n")
    (fact,) = note.facts
    assert fact.question == "Who certifies a Money Bill"
    assert fact.answer == "the Speaker"


# ---------------------------------------------------------------- footnotes


def test_footnotes_print_at_the_notes_end_and_under_a_facts_answer(tmp_path):
    note, diags = parse(
        tmp_path,
        "# T\n\nProse cites this.[^a]\n\n- Q[^a] :: A[^b]\n\n## Later\n\nmore\n\n"
        "[^a]: First *note*.\n[^b]: Second :: not a fact.\n",
    )
    assert diags == []
    (fact,) = note.facts
    assert fact.question == 'Q<sup class="footnote-ref">1</sup>'
    assert fact.answer == (
        'A<sup class="footnote-ref">2</sup><div class="footnotes">'
        "<p><sup>1</sup> First <em>note</em>.</p><p><sup>2</sup> Second :: not a fact.</p></div>"
    )
    last = note.sections[-1].body
    assert last.index("more") < last.index('<div class="footnotes">')
    assert "<li>\n<p>First <em>note</em>.</p>" in last
    html = body(note)
    assert "[^" not in html and "href" not in html and "id=" not in html


# ---------------------------------------------------------------- wikilinks


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("[[Money Bills]]", "Money Bills"),
        ("[[Money Bills|the bills note]]", "the bills note"),
        ("[[Money Bills#Joint sitting]]", "Money Bills › Joint sitting"),
        ("[[Polity/Money Bills.md#^block1]]", "Money Bills"),
        ("[[#Local heading]]", "Local heading"),
    ],
)
def test_wikilinks_are_their_alias_or_the_notes_name(tmp_path, written, shown):
    note, diags = parse(tmp_path, f"Q :: see {written} here\n")
    assert diags == []
    (fact,) = note.facts
    assert fact.answer == f'see <span class="wikilink">{shown}</span> here'
    assert "[[" not in fact.answer and fact.tags == ()


def test_wikilink_text_is_never_a_marker(tmp_path):
    note, _ = parse(tmp_path, "Q :: [[a {{b}} #c|x {{y}} #z]]\n")
    (fact,) = note.facts
    assert fact.kind is Kind.BASIC and fact.tags == ()
    assert fact.plain_answer == "x {{y}} #z"


def test_a_note_embed_is_a_mark_with_its_link_text_and_its_place(tmp_path):
    """`embeds.expand` fills it across notes (tests/test_embeds.py); the parse alone
    keeps the target, the fragment, the link text and the line it stands on."""
    note, diags = parse(
        tmp_path, "Intro\n\n![[Parliament Sessions#Budget]]\n\nQ :: ![[Other#^b1]]\n"
    )
    assert diags == []
    body = note.sections[0].body
    assert (
        '<div><x-mark data-kind="embed" data-label="Budget" data-name="Parliament Sessions">'
        "Parliament Sessions › Budget</x-mark></div>"
    ) in body
    assert note.facts[0].answer.startswith('<x-mark data-kind="embed" data-label="^b1"')
    assert [(e.target, e.fragment, e.line, e.col) for e in note.embeds] == [
        ("Parliament Sessions", "Budget", 3, 1),
        ("Other", "^b1", 5, 6),
    ]


# ---------------------------------------------------------------- embeds and images


def test_embed_is_found_in_the_attachment_folder_and_sized(tmp_path):
    png(tmp_path / "attachments" / "diagram.png")
    note, diags = parse(tmp_path, "# T\n\n- Shape :: ![[diagram.png|200]]\n", rel="topics/geo/n.md")
    assert diags == []
    (media,) = note.media
    assert media.name.endswith("-diagram.png")
    assert Path(media.path) == (tmp_path / "attachments" / "diagram.png").resolve()
    assert note.facts[0].answer == f'<img alt="diagram" src="{media.name}" width="200">'


def test_markdown_image_by_name_with_a_display_suffix_and_size_in_the_alt(tmp_path):
    png(tmp_path / "attachments" / "map of india.png")
    note, diags = parse(
        tmp_path,
        "![A map|300x200](map%20of%20india.png#interface)\n\n![[map of india.png#x|a caption]]\n",
        rel="sub/n.md",
    )
    assert diags == []
    (media,) = note.media
    html = body(note)
    assert f'<img alt="A map" height="200" src="{media.name}" width="300">' in html
    assert f'<img alt="a caption" src="{media.name}">' in html


def test_a_path_from_the_notes_folder_and_the_note_beside_wins(tmp_path):
    png(tmp_path / "attachments" / "x.png", (5, 5))
    png(tmp_path / "sub" / "x.png", (6, 6))
    note, diags = parse(tmp_path, "![[x.png]]\n![[attachments/x.png]]\n", rel="sub/n.md")
    assert diags == []
    paths = sorted(Path(m.path).parent.name for m in note.media)
    assert paths == ["attachments", "sub"]


def test_an_ambiguous_name_takes_the_shortest_path_then_the_first_by_name(tmp_path):
    png(tmp_path / "b" / "deep" / "x.png", (5, 5))
    png(tmp_path / "z" / "x.png", (6, 6))
    png(tmp_path / "a" / "x.png", (7, 7))
    png(tmp_path / ".trash" / "y.png")
    note, diags = parse(tmp_path, "![[x.png]]\n", rel="notes/n.md")
    assert diags == []
    (media,) = note.media
    assert Path(media.path) == (tmp_path / "a" / "x.png").resolve()
    _, diags = parse(tmp_path, "# T\n\n![[y.png]]\n", rel="notes/m.md")
    (d,) = diags
    assert not d.is_error and d.line == 3 and "'y.png' does not exist" in d.message


def test_missing_embed_is_a_warning_in_prose_and_a_symlink_out_is_refused(tmp_path):
    """In prose a missing attachment is a warning (the sheet shows its name, as Obsidian's
    reading view shows a placeholder); a link out of the notes stays an error."""
    notes = tmp_path / "notes"
    outside = png(tmp_path / "secret.png")
    (notes / "attachments").mkdir(parents=True)
    os.symlink(outside, notes / "attachments" / "leak.png")
    note, diags = parse(notes, "# T\n\ntext\n\n![[nowhere.png]] ![[leak.png]]\n")
    assert [(d.line, d.is_error) for d in diags] == [(5, False), (5, True)]
    assert "'nowhere.png' does not exist; the sheet shows its name" in diags[0].message
    assert diags[0].col == 4
    assert "outside the notes folder" in diags[1].message
    assert "<p>nowhere leak</p>" in note.sections[0].body  # their names, as text


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("- The map :: ![[nowhere.png]]\n", 3),
        ("- ![[nowhere.png]] shows :: the map\n", 3),
        ("- Where was it signed? ::\n  - ![[nowhere.png]]\n", 4),
        ("- Signed in {{1947}} ![[nowhere.png]]\n", 3),
        ("- Listen ::: ![[nowhere.ogg]]\n", 3),
    ],
)
def test_a_missing_attachment_in_a_fact_stays_an_error(tmp_path, text, line):
    _, diags = parse(tmp_path / "notes", f"# T\n\n{text}")
    (d,) = diags
    assert d.is_error and d.line == line and "does not exist" in d.message


def test_images_found_by_name_are_reread_when_the_folder_changes(tmp_path):
    _, diags = parse(tmp_path, "![[late.png]]\n", rel="a/n.md")
    assert diags
    png(tmp_path / "b" / "late.png")
    note, diags = parse(tmp_path, "![[late.png]]\n", rel="a/n.md")
    assert diags == [] and len(note.media) == 1


# ---------------------------------------------------------------- comments


def test_comments_never_reach_a_card_or_the_sheet_and_lines_stay_right(tmp_path):
    note, diags = parse(
        tmp_path,
        "# T\n\nKept %% inline :: secret %% prose.\n\n%%\n- hidden :: card\n"
        "still hidden\n%%\n\n- Real :: fact %%with a note%%\n\n`%%code%%` stays\n\n"
        "```\n%% in a fence %%\n```\n\n> [!example]\n> ```\n> a %% quoted fence %%\n> ```\n",
    )
    assert diags == []
    (fact,) = note.facts
    assert (fact.plain_question, fact.plain_answer, fact.line) == ("Real", "fact", 10)
    html = body(note)
    assert "secret" not in html and "hidden" not in html and "with a note" not in html
    assert "Kept" in html and "prose." in html
    assert "<code>%%code%%</code>" in html and "%% in a fence %%" in html
    assert "a %% quoted fence %%" in html


def test_an_unclosed_comment_hides_the_rest_with_a_warning(tmp_path):
    note, diags = parse(tmp_path, "- a :: b\n\ntext %% open\n- c :: d\n")
    assert [f.plain_question for f in note.facts] == ["a"]
    (d,) = diags
    assert (d.line, d.col, d.is_error) == (3, 6, False) and "never closed" in d.message


# ---------------------------------------------------------------- front matter


def read(tmp_path: Path, front: str):
    path = write_note(tmp_path, "n.md", f"---\n{front}\n---\n# Body\n")
    return read_source(tmp_path, path)


@pytest.mark.parametrize(
    ("front", "tags"),
    [
        ("tags: [upsc, gs2]", ["upsc", "gs2"]),
        ("tags:\n  - upsc\n  - gs2/ir", ["upsc", "gs2/ir"]),
        ("tags: upsc, gs2", ["upsc", "gs2"]),
        ("tags: upsc gs2", ["upsc", "gs2"]),
        ('tags: "#upsc"', ["upsc"]),
        ("tags: mains", ["mains"]),
        ("tag: mains", ["mains"]),
        ("tags:\n  -\n  - mains", ["mains"]),
    ],
)
def test_tags_as_obsidian_accepts_them(tmp_path, front, tags):
    source, diags = read(tmp_path, front)
    assert diags == [] and source.meta["tags"] == tags


def test_obsidian_properties_and_empty_values_are_no_problem(tmp_path):
    source, diags = read(
        tmp_path,
        "tags:\naliases:\n  - Article 110\ncreated: 2024-03-11\ncssclasses: [wide]\n"
        "publish: false\ndeck:\ntitle:",
    )
    assert diags == [] and source.meta == {}


@pytest.mark.parametrize(
    ("front", "title"),
    [("title: 1857", "1857"), ("title: 2024-03-11", "2024-03-11"), ("title: 1.10", "1.10")],
)
def test_a_title_may_be_any_scalar(tmp_path, front, title):
    source, diags = read(tmp_path, front)
    assert diags == [] and source.meta["title"] == title
    note, _ = parse_note(source, tmp_path)
    assert note.title == title


# ---------------------------------------------------------------- the vault

VAULT_FACTS = {
    ("Who certifies a Money Bill", "the Speaker of the Lok Sabha"),
    ("Days the Rajya Sabha may hold a Money Bill", "14"),
    ("Money Bills may be introduced only in the {{c1::Lok Sabha}}.", ""),
    (
        "Can the President return a Money Bill?",
        "No: he assents or withholds assent 1 "
        "1 The proviso to Article 111 does not apply to Money Bills.",
    ),
    ("Route of a Money Bill", "<img>"),
    ("The cycle in one picture", "<img>"),
    ("Normal onset date over Kerala", "1 June"),
    ("IMD", "India Meteorological Department"),
    ("Maximum gap between two sessions", "six months"),
    ("Who summons Parliament", "the President"),
}
# Raw syntax, and the text of the two comments (one holds `::`).
RAW = ["[!", "%%", "[[", "]]", "==", "~~", "[^", "[ ]", "[x]", "Finance Bill", "El Niño"]


def text(html: str) -> str:
    """The words of a field; an image is `<img>`."""
    html = re.sub(r"<img [^>]*>", "&lt;img&gt;", html)
    words = " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" .", ".")
    return words.replace("&lt;", "<").replace("&gt;", ">")


@pytest.fixture(scope="module")
def vault(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("vault")
    notes = copy_fixture("real/obsidian", work)
    result = run_build(notes, work / "dist", strict=True)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    return work / "dist"


def test_the_vault_makes_exactly_the_cards_its_author_marked(vault, collection):
    import_apkg(collection, vault / "obsidian.apkg")
    found = set()
    for nid in collection.find_notes(""):
        note = collection.get_note(nid)
        found.add((text(note.fields[0]), text(note.fields[1])))
    assert found == VAULT_FACTS
    assert collection.card_count() == 11
    assert {d.name for d in collection.decks.all_names_and_ids()} >= {"Polity", "Geography"}
    assert set(collection.tags.all()) == {"climate", "geography", "gs2", "polity"}


def test_vault_images_are_in_the_media_and_no_card_shows_raw_syntax(vault, collection):
    import_apkg(collection, vault / "obsidian.apkg")
    media = sorted(re.sub(r"^[0-9a-f]+-", "", n) for n in os.listdir(collection.media.dir()))
    assert media == ["diagram.png", "monsoon-cycle.png"]
    for cid in collection.find_cards(""):
        card = collection.get_card(cid)
        for html in (card.question(), card.answer()):
            shown = html.split("</style>")[-1]
            assert not [raw for raw in RAW if raw in shown], shown


def test_the_vault_sheet_shows_callouts_and_no_raw_syntax(vault):
    pages = PdfReader(vault / "obsidian.pdf").pages
    joined = " ".join(" ".join(page.extract_text() for page in pages).split())
    for shown in [
        "What makes a Money Bill",
        "A Money Bill deals only with the matters listed in Article 110.",
        "Exam trap",
        "Why does the monsoon break?",
        "sessions of Parliament",
        "Indian Monsoon › Onset",
        "The proviso to Article 111 does not apply to Money Bills.",
        "A classical explanation; later work stresses the ITCZ.",
    ]:
        assert shown in joined, shown
    for raw in RAW:
        assert raw not in joined, raw
    assert joined.count("The proviso to Article 111") == 1
    for sheet in ["Polity/Money Bills.pdf", "Geography/Indian Monsoon.pdf"]:
        assert any(page.images for page in PdfReader(vault / "sheets" / sheet).pages), sheet


def test_an_embed_whose_name_holds_a_question_mark_is_found(tmp_path):
    png(tmp_path / "files" / "why? a trace.png")
    note, diags = parse(tmp_path, "- Ray tracing :: ![[why? a trace.png]]\n", rel="n.md")
    assert diags == []
    (media,) = note.media
    assert Path(media.path).name == "why? a trace.png"
