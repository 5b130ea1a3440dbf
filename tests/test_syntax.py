"""The fact syntax, kind by kind, through the real Python-Markdown extension."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.model import Cloze, Kind
from exporter.sources import read_source
from exporter.syntax import list_indent, normalise_tag, parse_note

from .conftest import FIXTURES, write_note
from .conftest import parse_text as parse


def only_fact(tmp_path: Path, text: str):
    note, diags = parse(tmp_path, text)
    assert not diags, [d.format() for d in diags]
    assert len(note.facts) == 1, note.facts
    return note.facts[0]


def test_basic_fact(tmp_path):
    fact = only_fact(tmp_path, "TRUST stands for :: Transforming Relationship\n")
    assert fact.kind is Kind.BASIC
    assert fact.question == "TRUST stands for"
    assert fact.answer == "Transforming Relationship"
    assert fact.card_count == 1


def test_reversed_fact(tmp_path):
    fact = only_fact(tmp_path, "- KABIL ::: Khanij Bidesh India Ltd\n")
    assert fact.kind is Kind.REVERSED
    assert (fact.question, fact.answer) == ("KABIL", "Khanij Bidesh India Ltd")
    assert fact.card_count == 2


def test_cloze_auto_numbering(tmp_path):
    fact = only_fact(tmp_path, "{{Lithium}} and {{cobalt}} in {{2023}}.\n")
    assert fact.kind is Kind.CLOZE
    assert fact.card_numbers == (1, 2, 3)
    assert fact.text[0] == Cloze(1, "Lithium")
    assert fact.plain_question == "Lithium and cobalt in 2023."


def test_grouped_cloze_keeps_anki_numbering(tmp_path):
    fact = only_fact(tmp_path, "{{c1::Neodymium}} and {{c1::samarium}} go into {{c2::magnets}}\n")
    assert [s.number for s in fact.text if isinstance(s, Cloze)] == [1, 1, 2]
    assert fact.card_count == 2


def test_auto_clozes_skip_explicit_numbers(tmp_path):
    fact = only_fact(tmp_path, "{{a}} {{c1::b}} {{c}}\n")
    assert [s.number for s in fact.text if isinstance(s, Cloze)] == [2, 1, 3]


def test_cloze_hint(tmp_path):
    fact = only_fact(tmp_path, "{{Lithium::an alkali metal}} powers batteries\n")
    assert fact.text[0] == Cloze(1, "Lithium", "an alkali metal")


def test_cloze_with_inline_markup(tmp_path):
    fact = only_fact(tmp_path, "India joined in {{**2023**}}.\n")
    assert fact.text[1] == Cloze(1, "<strong>2023</strong>")


def test_long_answer_takes_the_indented_list(tmp_path):
    fact = only_fact(tmp_path, "- Pillars ::\n  - Strategic\n  - Technology\n")
    assert fact.kind is Kind.LONG
    assert fact.question == "Pillars"
    assert fact.answer == "<ul><li>Strategic</li><li>Technology</li></ul>"


def test_long_answer_with_four_space_indent(tmp_path):
    fact = only_fact(tmp_path, "- Pillars ::\n    - Strategic\n    - Technology\n")
    assert fact.kind is Kind.LONG
    assert "<li>Technology</li>" in fact.answer


def test_long_answer_takes_a_code_tree(tmp_path):
    text = "- Tree ::\n\n  ```text\n  ├── a\n  └── b\n  ```\n"
    fact = only_fact(tmp_path, text)
    assert fact.kind is Kind.LONG
    assert "<pre" in fact.answer and "├── a\n└── b" in fact.answer


def test_long_answer_after_a_paragraph_takes_the_next_block(tmp_path):
    note, diags = parse(tmp_path, "Members ::\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nAfter.\n")
    assert not diags
    assert note.facts[0].kind is Kind.LONG
    assert "<table>" in note.facts[0].answer
    assert "After." in note.sections[0].body
    assert "<table>" not in note.sections[0].body


def test_prose_is_not_a_fact(tmp_path):
    note, diags = parse(tmp_path, "Just prose with a #hashtag? and text.\n")
    assert not diags and not note.facts
    assert "#hashtag? and text." in note.sections[0].body


def test_code_and_escapes_are_literal(tmp_path):
    text = (
        "- `a :: b` and `{{x}}` in code\n"
        "- escaped \\:: and \\{{y}} and \\#z\n\n"
        "```\nfenced :: {{no}}\n```\n"
    )
    note, diags = parse(tmp_path, text)
    assert not diags and not note.facts
    body = note.sections[0].body
    assert "<code>a :: b</code>" in body
    assert "escaped :: and {{y}} and #z" in body
    assert "fenced :: {{no}}" in body


def test_tags_from_line_heading_and_front_matter(tmp_path):
    text = (
        "---\ntags: [upsc, gs2/ir]\n---\n"
        "# Title\n\n## Challenges #mains\n\n### Sub\n\n- Q :: A #upsc/gs2 #prelims.\n"
    )
    fact = only_fact(tmp_path, text)
    assert fact.tags == ("gs2::ir", "mains", "prelims", "upsc", "upsc::gs2")
    assert fact.answer == "A."
    assert fact.context == ("Title", "Challenges", "Sub")


def test_heading_is_never_a_tag_and_numbers_are_not_tags(tmp_path):
    note, diags = parse(tmp_path, "# Title\n\n- Rank #1 in :: the list\n")
    assert not diags
    assert note.facts[0].tags == ()
    assert note.facts[0].question == "Rank #1 in"
    assert note.sections[0].title == "Title"


def test_pinned_anchor_is_removed_from_text(tmp_path):
    fact = only_fact(tmp_path, "- KABIL ::: Khanij Bidesh India Ltd ^kabil-1\n")
    assert fact.anchor == "kabil-1"
    assert fact.answer == "Khanij Bidesh India Ltd"


def test_source_line_and_column(tmp_path):
    text = "---\ntitle: T\n---\n# T\n\nIntro.\n\n- one :: 1\n\n  more prose\n\n- two :: 2\n"
    note, diags = parse(tmp_path, text)
    assert not diags
    assert [(f.line, f.col) for f in note.facts] == [(8, 3), (12, 3)]
    assert note.facts[1].source == "notes/topic/note.md:12"


def test_deck_from_folder_and_front_matter(tmp_path):
    note, _ = parse(tmp_path, "- q :: a\n", rel="upsc/gs2/x.md")
    assert note.deck == "upsc::gs2"
    note, _ = parse(tmp_path, "---\ndeck: UPSC::GS2\n---\n- q :: a\n", rel="y.md")
    assert note.deck == "UPSC::GS2"
    note, _ = parse(tmp_path, "- q :: a\n", rel="z.md")
    assert note.deck == "Notes"


def test_title_from_front_matter_then_heading_then_file(tmp_path):
    assert parse(tmp_path, "---\ntitle: Given\n---\n# H\n")[0].title == "Given"
    assert parse(tmp_path, "# Heading *one*\n")[0].title == "Heading one"
    assert parse(tmp_path, "text\n", rel="my-topic.md")[0].title == "my topic"


def test_fixture_set_parses_without_problems():
    root = FIXTURES / "kinds"
    kinds = []
    for rel in ("general.md", "ir/minerals.md"):
        source, diags = read_source(root, root / rel)
        assert source is not None and not diags
        note, more = parse_note(source, root)
        assert not more
        kinds += [f.kind.value for f in note.facts]
    assert kinds == ["basic", "reversed", "cloze", "cloze", "cloze", "long", "basic"]


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        ("- ok :: fine\n- joined in {{2023.\n", 2, 13, "unclosed cloze '{{2023.'"),
        ("- :: no question\n", 1, 3, "empty question"),
        ("# T\n\n- Pillars ::\n- next\n", 3, 11, "needs a block under it"),
        ("- KABIL ::: \n", 1, 9, "empty answer"),
        ("- {{c0::x}} y\n", 1, 3, "cloze number must start at c1"),
        ("- {{}} y\n", 1, 3, "empty cloze"),
        ("- {{x}} :: y\n", 1, 3, "a cloze belongs in the answer"),
        ("- x ::: {{y}}\n", 1, 9, "a cloze belongs in the answer"),
        ("text {{open\n", 1, 6, "unclosed cloze"),
    ],
)
def test_malformed_facts_are_positioned_errors(tmp_path, text, line, col, message):
    _, diags = parse(tmp_path, text)
    assert diags, "expected an error"
    first = diags[0]
    assert first.is_error
    assert (first.line, first.col) == (line, col), first.format()
    assert message in first.message


def test_normalise_tag_and_list_indent():
    assert normalise_tag("upsc/gs2/") == "upsc::gs2"
    # Lists nest by each item's own content column now (syntax/lists.py), so the parser
    # always runs at one indent, whatever the file's smallest indent.
    assert list_indent("- a\n  - b\n") == 4
    assert list_indent("- a\n    - b\n") == 4
    assert list_indent("no lists\n") == 4


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


@pytest.fixture
def with_images(tmp_path):
    (tmp_path / "topic/images").mkdir(parents=True)
    (tmp_path / "topic/images/ok.png").write_bytes(PNG)
    outside = tmp_path.parent / f"{tmp_path.name}-outside.png"
    outside.write_bytes(PNG)
    (tmp_path / "topic/images/link.png").symlink_to(outside)
    return tmp_path


@pytest.mark.parametrize(
    ("line", "message", "severity"),
    [
        ("- Map :: ![m](images/missing.png)", "does not exist", "error"),
        ("- Map :: ![m](../../etc/passwd)", "outside the notes folder", "error"),
        ("- Map :: ![m](/etc/hosts)", "is absolute", "error"),
        ("- Map :: ![m](images/link.png)", "outside the notes folder", "error"),
        ("- Map :: ![m](file:///etc/hosts)", "not a file inside the notes folder", "error"),
        ("- Map :: ![m](http://example.org/x.png)", "remote image", "warning"),
        ('- Map :: <img src="http://example.org/y.png">', "remote image", "warning"),
        ('- Map :: <img src="../../../secret.png">', "outside the notes folder", "error"),
    ],
)
def test_image_problems_at_their_line(with_images, line, message, severity):
    note, diags = parse(with_images, f"# T\n\n{line}\n")
    (d,) = diags
    assert d.line == 3 and d.col > 3, d.format()
    assert message in d.message and d.severity.value == severity
    assert "src=" not in note.facts[0].answer


def test_local_images_become_media_in_markdown_and_raw_html(with_images):
    note, diags = parse(
        with_images, '- A :: ![a](images/ok.png)\n- B :: <img src="images/ok.png" alt="b">\n'
    )
    assert not diags
    (media,) = note.media
    assert media.name.endswith("-ok.png")
    assert all(f'src="{media.name}"' in f.answer for f in note.facts)


HOSTILE = """# Hostile <script>alert('h1')</script>

Prose <b onclick="steal()">kept</b><script>document.cookie</script> text.

<iframe src="https://evil.example/"></iframe>
<style>@import url(http://127.0.0.1:9/x.css); body { display: none }</style>

- Link :: <a href="javascript:alert(1)">click</a> and <a href="file:///etc/passwd">file</a>
- Image :: <img src="x.png" onerror="alert(2)"> survives as text
- Svg :: <svg onload="alert(3)"><circle r="3"/></svg> kept
"""


def test_hostile_html_is_sanitised_and_text_survives(tmp_path):
    note, _ = parse(tmp_path, HOSTILE)
    html = " ".join(
        [s.body + s.title_html for s in note.sections] + [f.question + f.answer for f in note.facts]
    ).lower()
    for payload in [
        "<script",
        "onclick",
        "onerror",
        "onload",
        "<iframe",
        "<style",
        "@import",
        "javascript:",
        "file:",
        "<svg",
        "steal()",
        "document.cookie",
    ]:
        assert payload not in html, payload
    for kept in ["kept", "text.", "click", "file", "survives as text", "svg kept"]:
        assert kept in html, kept


def test_two_facts_on_one_line_are_warned_about(tmp_path):
    # One fact a line: two lines are two facts (tests/syntax/test_facts.py); two
    # separators on one line are still one fact and a warning.
    note, diags = parse(tmp_path, "# T\n\nOne :: first :: second\n")
    (d,) = diags
    assert (d.line, d.col, d.is_error) == (3, 1, False)
    assert "more than one '::'" in d.message
    assert len(note.facts) == 1


def test_context_falls_back_to_the_title(tmp_path):
    note, _ = parse(tmp_path, "---\ntitle: Topic\n---\n- q :: a\n")
    assert note.facts[0].context == ("Topic",)


@pytest.mark.slow
def test_broken_and_oversized_images_are_warnings_and_left_out(tmp_path):
    from PIL import Image

    from exporter.sources import read_source
    from exporter.syntax import parse_note

    images = tmp_path / "images"
    images.mkdir()
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    Image.new("1", (12_000, 12_000)).save(images / "huge.png")  # small file, 144 MP
    Image.new("RGB", (4, 4), "red").save(images / "fine.png")
    path = write_note(
        tmp_path,
        "n.md",
        "- Broken :: ![b](images/broken.png)\n- Huge :: ![h](images/huge.png)\n"
        "- Fine :: ![f](images/fine.png)\n",
    )
    source, _ = read_source(tmp_path, path)
    note, diags = parse_note(source, tmp_path)
    assert [(d.line, d.severity.value, d.message) for d in diags] == [
        (
            1,
            "warning",
            "image 'images/broken.png' is not an image that can be read; it is left out",
        ),
        (
            2,
            "warning",
            "image 'images/huge.png' has more pixels than can safely be decoded; it is left out",
        ),
    ]
    assert [m.path.rsplit("/", 1)[-1] for m in note.media] == ["fine.png"]
    assert "<img" not in note.facts[0].answer and "<img" not in note.facts[1].answer
