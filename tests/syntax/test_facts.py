"""Facts where a reader expects them and nowhere else: separators need white space, one
fact a line, `#tag` lines, spaces between spans, clozes in tables and headings, hints as
text; and the cards they make, imported into a real Anki collection."""

from __future__ import annotations

import re
import shutil

import pytest

from exporter.config import BuildConfig
from exporter.model import Cloze, Kind

from ..conftest import FIXTURES, import_apkg, run_build, write_note
from ..conftest import parse_clean as clean
from ..conftest import parse_text as parse


def deletion(segment) -> tuple[int, str, str]:
    assert isinstance(segment, Cloze), segment
    return segment.number, segment.html, segment.hint


def shown(html: str) -> str:
    """Card HTML as a reader sees it: tags gone, references decoded, white space folded."""
    from html import unescape

    body = html.split("</style>")[-1]
    body = re.sub(r"</?(?:div|p|br|table|thead|tbody|tr|th|td|ul|ol|li)\b[^>]*>", " ", body)
    return " ".join(unescape(re.sub(r"<[^>]+>", "", body)).split())


# ------------------------------------------------------------------ no card from prose


@pytest.mark.parametrize(
    "prose",
    [
        "Link-local addresses sit in fe80::/10.",
        "The loopback address is ::1 in IPv6.",
        "Use std::plus for addition.",
        "std::vector::push_back may reallocate.",
        "See https://example.org/a::b for more.",
        "A ratio like 3::1 or a::b is text.",
        "A run of colons a :::: b is text too.",
    ],
)
def test_colons_touching_text_are_text(tmp_path, prose):
    note = clean(tmp_path, f"# T\n\n{prose}\n\n- {prose}\n")
    assert note.facts == ()
    body = "".join(s.body for s in note.sections)
    assert body.count(prose) == 2  # once in the paragraph, once in the item
    assert "—" not in body


def test_spaced_separators_still_make_every_kind(tmp_path):
    text = (
        "- Prefix of link-local :: fe80::/10\n"
        "- IPv6 loopback ::: ::1\n"
        "- Parts of the sum ::\n"
        "  - std::plus\n"
        "  - std::minus\n"
    )
    note = clean(tmp_path, text)
    assert [(f.kind, f.question, f.answer) for f in note.facts] == [
        (Kind.BASIC, "Prefix of link-local", "fe80::/10"),
        (Kind.REVERSED, "IPv6 loopback", "::1"),
        (Kind.LONG, "Parts of the sum", "<ul><li>std::plus</li><li>std::minus</li></ul>"),
    ]


def test_a_separator_at_the_start_of_a_line_is_still_an_empty_question(tmp_path):
    _, diags = parse(tmp_path, "- :: no question\n")
    assert [(d.line, d.col, d.message) for d in diags] == [(1, 3, "empty question before '::'")]


# ------------------------------------------------------------------ one fact a line


def test_consecutive_fact_lines_are_separate_facts_with_their_lines(tmp_path):
    text = "# T\n\nIntro prose.\nq1 :: a1\nq2 ::: a2\n{{c1}} one\n{{c2}} two\n"
    note = clean(tmp_path, text)
    assert [(f.kind, f.line, f.plain_question, f.plain_answer) for f in note.facts] == [
        (Kind.BASIC, 4, "q1", "a1"),
        (Kind.REVERSED, 5, "q2", "a2"),
        (Kind.CLOZE, 6, "c1 one", ""),
        (Kind.CLOZE, 7, "c2 two", ""),
    ]
    assert "<p>Intro prose.</p>" in note.sections[0].body


def test_a_line_without_a_fact_continues_the_fact_above(tmp_path):
    note = clean(tmp_path, "Q one :: a wrapped\nanswer\nQ two :: b\n")
    assert [(f.line, f.plain_answer) for f in note.facts] == [(1, "a wrapped answer"), (3, "b")]


def test_a_line_starting_with_its_separator_continues_the_line_above(tmp_path):
    note = clean(tmp_path, "Prose first.\nKABIL\n:: Khanij Bidesh India Ltd\nNext :: fact\n")
    assert [(f.kind, f.line, f.question, f.answer) for f in note.facts] == [
        (Kind.BASIC, 2, "KABIL", "Khanij Bidesh India Ltd"),
        (Kind.BASIC, 4, "Next", "fact"),
    ]


def test_a_wrapped_fact_still_takes_the_block_under_it(tmp_path):
    note = clean(tmp_path, "Lead-in line\nMembers ::\n\n- a\n- b\n")
    (fact,) = note.facts
    assert (fact.kind, fact.line, fact.question) == (Kind.LONG, 2, "Members")
    assert "<p>Lead-in line</p>" in note.sections[0].body


# ------------------------------------------------------------------ `#tag` lines


def test_a_line_starting_with_a_tag_is_a_fact_not_a_heading(tmp_path):
    text = "# Title\n\n## Challenges #mains\n\n#prelims KABIL ::: Khanij Bidesh\n\n#1 rank\n"
    note = clean(tmp_path, text)
    (fact,) = note.facts
    assert (fact.kind, fact.question, fact.answer) == (Kind.REVERSED, "KABIL", "Khanij Bidesh")
    assert fact.tags == ("mains", "prelims")
    assert [s.title for s in note.sections] == ["Title", "Challenges"]
    assert "#1 rank" in note.sections[1].body


def test_headings_still_need_only_a_space(tmp_path):
    note = clean(tmp_path, "#\n\n# One\n\n###### Six #deep\n\n####### seven\n")
    assert [(s.level, s.title, s.tags) for s in note.sections] == [
        (1, "One", ()),
        (6, "Six", ("deep",)),
    ]
    assert "####### seven" in note.sections[-1].body


# ------------------------------------------------------------------ spaces between spans


@pytest.mark.parametrize(
    ("line", "question", "plain"),
    [
        (
            "**Khanij** **Bidesh** ::: KABIL",
            "<strong>Khanij</strong> <strong>Bidesh</strong>",
            "Khanij Bidesh",
        ),
        ("`a` `b` :: two spans", "<code>a</code> <code>b</code>", "a b"),
        (
            "*one* **two** `three` :: x",
            "<em>one</em> <strong>two</strong> <code>three</code>",
            "one two three",
        ),
    ],
)
def test_the_space_between_spans_is_kept(tmp_path, line, question, plain):
    (fact,) = clean(tmp_path, f"- {line}\n").facts
    assert (fact.question, fact.plain_question) == (question, plain)


def test_the_space_between_clozes_is_kept(tmp_path):
    (fact,) = clean(tmp_path, "- {{Lithium}} {{cobalt}} and **nickel** **ores**\n").facts
    assert deletion(fact.text[0]) == (1, "Lithium", "")
    assert fact.text[1] == " "
    assert deletion(fact.text[2]) == (2, "cobalt", "")
    assert fact.plain_question == "Lithium cobalt and nickel ores"


# ------------------------------------------------------------------ clozes: `::` and hints


def test_colons_inside_a_cloze_stay_in_the_deletion(tmp_path):
    text = "- {{c1::`std::plus`}} adds\n- the {{the \\:: sign::scope}} joins\n"
    code, escaped = clean(tmp_path, text).facts
    assert deletion(code.text[0]) == (1, "<code>std::plus</code>", "")
    assert deletion(escaped.text[1]) == (1, "the :: sign", "scope")


def test_anki_hint_syntax_is_kept(tmp_path):
    # `{{c1::std::plus}}` is Anki's own `{{c1::text::hint}}`: a literal `::` in a
    # deletion is written `\::` or inside a code span (test above).
    (fact,) = clean(tmp_path, "- {{c1::std::plus}} adds\n").facts
    assert deletion(fact.text[0]) == (1, "std", "plus")


def test_hints_are_text_without_markdown_placeholders(tmp_path):
    text = "- {{Lithium::an `alkali`  metal \\:: *soft*}} powers batteries\n"
    (fact,) = clean(tmp_path, text).facts
    assert deletion(fact.text[0]) == (1, "Lithium", "an alkali metal :: *soft*")
    assert "klzzwxh" not in fact.marked_text and "\x02" not in fact.marked_text


# ------------------------------------------------------------------ tables and headings


def test_a_table_with_cloze_cells_is_one_cloze_fact(tmp_path):
    text = (
        "# T\n\nBefore.\n\n"
        "| Protocol | Port |\n| --- | --- |\n| SSH | {{22}} |\n| DNS | {{53}} #ports |\n\n"
        "After.\n"
    )
    note = clean(tmp_path, text)
    (fact,) = note.facts
    assert (fact.kind, fact.line, fact.tags) == (Kind.CLOZE, 5, ("ports",))
    assert fact.card_numbers == (1, 2)
    html = "".join(s if isinstance(s, str) else f"[{s.html}]" for s in fact.text)
    assert html.startswith("<table>") and html.endswith("</table>")
    assert "<td>SSH</td>\n<td>[22]</td>" in html and "<td>[53]</td>" in html
    body = note.sections[0].body
    assert "<table>" not in body and "<!--fact:0-->" in body
    assert "Before." in body and "After." in body


def test_a_table_without_clozes_stays_prose_and_leaks_no_markers(tmp_path):
    note = clean(tmp_path, "| a | b |\n| --- | --- |\n| #tag | ^anchor-1 |\n")
    assert note.facts == ()
    body = note.sections[0].body
    assert "<x-" not in body and "#tag" in body and "^anchor-1" in body


def test_a_fact_in_a_table_cell_is_a_warning(tmp_path):
    note, diags = parse(tmp_path, "| a | b |\n| --- | --- |\n| Q :: A | x |\n")
    assert note.facts == ()
    assert [(d.line, d.severity.value, d.message) for d in diags] == [
        (3, "warning", "'::' in a table cell makes no card")
    ]


def test_a_cloze_in_a_heading_is_a_warning_at_its_line(tmp_path):
    note, diags = parse(tmp_path, "# T\n\n## Joined in {{2023}}\n\n- q :: a\n")
    assert [(d.line, d.col, d.severity.value, d.message) for d in diags] == [
        (3, 14, "warning", "clozes in headings make no card")
    ]
    assert note.sections[1].title == "Joined in 2023"
    assert "<x-" not in note.sections[1].title_html
    assert len(note.facts) == 1


def test_a_cloze_inside_a_long_answer_is_a_warning_and_leaks_no_marker(tmp_path):
    note, diags = parse(tmp_path, "- Pillars ::\n  - {{a}} #x\n  - b\n")
    assert [d.message for d in diags] == ["a cloze inside a long answer makes no card"]
    assert "<x-" not in note.facts[0].answer and "#x" in note.facts[0].answer


@pytest.mark.parametrize(
    ("line", "text"),
    [
        ("- Eleventh Schedule :: {{29}} subjects for Panchayats", "Eleventh Schedule: {{c1::29}}"),
        ("- Which article? :: {{243G}}", "Which article? {{c1::243G}}"),
        ("- Lists: :: {{c2::a}} and {{c1::b::hint}}", "Lists: {{c2::a}} and {{c1::b::hint}}"),
        ("- **Bold** lead :: in {{1992}}", "Bold lead: in {{c1::1992}}"),
    ],
)
def test_a_question_whose_answer_holds_a_cloze_is_one_cloze(tmp_path, line, text):
    note = clean(tmp_path, f"# T\n\n{line}\n")
    (fact,) = note.facts
    assert fact.kind is Kind.CLOZE
    assert fact.marked_text.startswith(text)


def test_a_cloze_in_the_question_of_a_separator_line_stays_an_error(tmp_path):
    note, diags = parse(tmp_path, "- In {{1992}} :: the amendment\n- Reversed ::: {{x}}\n")
    assert [(d.line, d.is_error) for d in diags] == [(1, True), (2, True)]
    assert not note.facts


# ------------------------------------------------------------------ cards in real Anki


CARDS_NOTE = """# Cards

- The function object that adds is {{c1::`std::plus`}}.
- Scope is resolved by {{the \\:: sign::two colons}}.
- Literal `{{c9::x}}` in a {{cloze}} sentence.
- DRAM ::: **Dynamic** **Random-Access** Memory
- {{TCP}} {{UDP}} are transport protocols.
- Eleventh Schedule :: {{29}} subjects for Panchayats

| Protocol | Port |
| --- | --- |
| SSH | {{22}} |
| DNS | {{53}} |
"""


@pytest.fixture
def cards(tmp_path, collection):
    notes = tmp_path / "notes"
    write_note(notes, "cards.md", CARDS_NOTE)
    result = run_build(notes, tmp_path / "dist", formats=("apkg",))
    assert result.ok, [d.format() for d in result.diagnostics]
    import_apkg(collection, tmp_path / "dist" / "notes.apkg")
    found: dict[str, list] = {}
    for cid in collection.find_cards(""):
        card = collection.get_card(cid)
        found.setdefault(shown(card.note().fields[0]), []).append(card)
    for group in found.values():
        group.sort(key=lambda c: c.ord)
    return found


def only(cards: dict[str, list], start: str) -> list:
    (group,) = [g for front, g in cards.items() if front.startswith(start)]
    return group


def test_colons_in_a_cloze_reach_anki_unsplit(cards):
    (card,) = only(cards, "The function object")
    assert "{{c1::<code>std&#58;&#58;plus</code>}}" in card.note().fields[0]
    assert shown(card.question()).endswith("The function object that adds is [...].")
    assert "The function object that adds is std::plus. notes/" in shown(card.answer())
    (card,) = only(cards, "Scope is resolved")
    assert shown(card.question()).endswith("Scope is resolved by [two colons].")
    assert "Scope is resolved by the :: sign. notes/" in shown(card.answer())


def test_a_cloze_answer_is_one_card_led_in_by_its_question(cards):
    (card,) = only(cards, "Eleventh Schedule")
    assert shown(card.question()).endswith("Eleventh Schedule: [...] subjects for Panchayats")
    assert "Eleventh Schedule: 29 subjects for Panchayats notes/" in shown(card.answer())


def test_a_literal_cloze_in_code_is_no_card(cards):
    (card,) = only(cards, "Literal")
    assert "Literal {{c9::x}} in a cloze sentence. notes/" in shown(card.answer())


def test_spaces_between_spans_reach_the_cards(cards):
    front, back = only(cards, "DRAM")
    assert shown(front.question()).endswith("DRAM")
    assert "DRAM Dynamic Random-Access Memory notes/" in shown(front.answer())
    assert "<strong>Dynamic</strong> <strong>Random-Access</strong>" in back.question()
    first, second = only(cards, "{{c1::TCP}} {{c2::UDP}}")
    assert shown(first.question()).endswith("[...] UDP are transport protocols.")
    assert "TCP UDP are transport protocols. notes/" in shown(second.answer())


def test_a_table_cloze_blanks_one_cell_a_card(cards):
    ssh, dns = only(cards, "Protocol Port SSH")
    assert ssh.note().fields[0].startswith("<table>")
    assert "<td>{{c1::22}}</td>" in ssh.note().fields[0]
    assert shown(ssh.question()).endswith("Protocol Port SSH [...] DNS 53")
    assert shown(dns.question()).endswith("Protocol Port SSH 22 DNS [...]")
    assert "Protocol Port SSH 22 DNS 53 notes/" in shown(dns.answer())


# ------------------------------------------------------------------ the fixture note


REAL = FIXTURES / "real" / "prose-and-containers.md"
# Every card the fixture makes, by kind: (front, back) for basic and reversed notes (one
# note each), the Text field for clozes with their card count.
EXPECTED_BASIC = {
    ("Link-local prefix", "fe80::/10"),
    ("Header that declares std::plus", "<functional>"),
    ("git add stages", "a change"),
    ("The main reason NAT spread", "too few IPv4 addresses"),
    ("FTP control port", "21"),
    ("Telnet port", "23"),
}
EXPECTED_REVERSED = {
    ("IPv6 loopback", "::1"),
    ("DRAM", "Dynamic Random-Access Memory"),
    ("HTTPS", "port 443"),
    ("DNS", "Domain Name System"),
}
EXPECTED_CLOZE = {
    "The function object that adds two values is {{c1::std::plus}}.": 1,
    "Qualified names are joined by {{c1::the :: sign::scope}}.": 1,
    "{{c1::TCP}} {{c2::UDP}} are transport protocols.": 2,
    "An IPv4 address has {{c1::32}} bits.": 1,
    "An IPv6 address has {{c1::128}} bits.": 1,
    "Protocol Port SSH {{c1::22}} SMTP 25 DNS {{c2::53}}": 2,
    "{{c1::BGP}} runs over TCP.": 1,
    "{{c1::RIP}} runs over UDP.": 1,
}


def test_the_fixture_note_makes_exactly_its_cards(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    shutil.copy(REAL, notes / REAL.name)
    result = run_build(notes, tmp_path / "dist", formats=("apkg",), strict=True)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert not result.diagnostics
    from exporter.reading import load

    deck, diags, _ = load(BuildConfig(notes=notes))
    assert not diags
    facts = deck.facts
    by_kind = {
        kind: {(f.plain_question, f.plain_answer) for f in facts if f.kind is kind} for kind in Kind
    }
    assert by_kind[Kind.BASIC] == EXPECTED_BASIC
    assert by_kind[Kind.REVERSED] == EXPECTED_REVERSED
    assert by_kind[Kind.LONG] == set()
    clozes = {f.marked_text: f.card_count for f in facts if f.kind is Kind.CLOZE}
    assert clozes == EXPECTED_CLOZE
    assert deck.card_count == 6 + 2 * 4 + 10
    tagged = {f.plain_question: f.tags for f in facts if "prelims" in f.tags}
    assert tagged == {
        "An IPv4 address has 32 bits.": ("cs", "prelims"),
        "HTTPS": ("cs", "ports", "prelims"),
    }
    lines = {f.plain_question: f.line for f in facts}
    assert (lines["FTP control port"], lines["Telnet port"]) == (59, 60)
    assert (lines["BGP runs over TCP."], lines["RIP runs over UDP."]) == (61, 62)
    (note,) = deck.notes
    body = "".join(s.body for s in note.sections)
    for prose in ["fe80::/10", "::1;", "2001:db8::/32", "https://example.org/rfc::index"]:
        assert prose in body, prose
    assert "std::plus and std::minus" in body and "std::vector::push_back" in body
    assert "<p>Ports below 1024 are well known.</p>" in body


def test_hints_show_in_the_full_sheet(tmp_path):
    from exporter.exporters.pdf.renderer import Renderer
    from exporter.reading import load

    notes = tmp_path / "notes"
    write_note(notes, "h.md", "# H\n\n- {{Lithium::an alkali metal}} powers {{EVs}}.\n")
    config = BuildConfig(notes=notes, out=tmp_path / "dist")
    deck = load(config).deck
    html = Renderer(config, deck).note_html(deck.notes[0], self_test=False)
    assert '<span class="cloze">Lithium</span><span class="hint">(an alkali metal)</span>' in html
    assert html.count('class="hint"') == 1


# ------------------------------------------------------- text copied from elsewhere


def test_an_unclosed_brace_pair_in_copied_prose_is_a_warning_and_text(tmp_path):
    note, diags = parse(
        tmp_path, "# Article 301\n\ntrade or commerce.{{*[Editorial comment] was added.\n"
    )
    assert [(d.severity.value, d.line) for d in diags] == [("warning", 3)]
    assert "never closed; it is shown as text" in diags[0].message
    assert "{{*[Editorial comment]" in note.sections[-1].body
    assert note.facts == ()


def test_a_cloze_meant_but_not_closed_is_still_an_error(tmp_path):
    _, diags = parse(tmp_path, "- India joined the MSP in {{2023.\n")
    assert [(d.severity.value, d.message) for d in diags] == [("error", "unclosed cloze '{{2023.'")]


def test_a_template_in_prose_is_text_not_a_cloze(tmp_path):
    note, diags = parse(
        tmp_path, "Ansible renders {{ inventory_hostname }} and {{ item.name }} in templates.\n"
    )
    assert diags == [] and note.facts == ()
    assert "{{ inventory_hostname }}" in note.sections[0].body


def test_an_obsidian_block_id_in_prose_is_hidden_and_a_tag_stays(tmp_path):
    note, diags = parse(tmp_path, "A paragraph Obsidian can link to. #idea ^0d76f8\n")
    assert diags == [] and note.facts == ()
    body = note.sections[0].body
    assert "^0d76f8" not in body and "#idea" in body
