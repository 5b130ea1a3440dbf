"""Dotted leaders as one box a line (exporters/pdf/leaders.py): the same PDF bytes as
WeasyPrint's own box a copy, for the contents and the two-column tag index, and the
copies really are carried by one box."""

from __future__ import annotations

import pytest

from exporter.exporters.pdf import fonts, leaders
from exporter.exporters.pdf.render import Engine

from ..conftest import REPO

TITLES = [
    "India–U.S. TRUST Initiative",
    "Critical minerals: lithium, cobalt & rare earths <supply chains>",
    "A title long enough to wrap onto a second line of the contents, so that its leader"
    " begins on the line the title ends on and not on the first one",
    "iCET",
    "",
    "सेमीकंडक्टर मिशन",
]


def contents_html() -> str:
    """Contents lines and a tag index, in the shape the templates give them."""
    from html import escape

    toc = "".join(
        f'<li class="toc-{"note" if i % 3 == 0 else "section"}" id="toc-{i}">'
        f'<span class="toc-title">{escape(t)}</span><span class="toc-page">{i * 7 + 1}</span></li>'
        for i, t in enumerate(TITLES * 4)
    )
    pages = [", ".join(str(p) for p in range(i, 40 * i + 2, i + 1)) for i in range(1, 9)]
    tags = "".join(
        f'<li><span class="tag-name"><span class="chip">gs{i}</span></span>'
        f'<span class="tag-pages">{listed}</span></li>'
        for i, listed in enumerate(pages, 1)
    )
    return (
        '<html lang="en"><body><nav class="toc"><h2>Contents</h2><ol>'
        f"{toc}</ol></nav>"
        '<section class="tag-index"><h1>Tag index</h1>'
        f'<ul class="tag-entries">{tags}</ul></section>'
        '<p dir="rtl"><span class="toc-title">עברית</span><span class="toc-page">3</span></p>'
        "</body></html>"
    )


@pytest.fixture
def engine(tmp_path):
    """The sheet's own stylesheet and fonts, as `Renderer` puts them together."""
    styles = REPO / "styles"
    css = "\n".join(
        [fonts.font_css(styles), "@page { size: 210mm 297mm; }"]
        + [(styles / n).read_text(encoding="utf-8") for n in ("palette.css", "sheet.css")]
    )
    return Engine(styles, tmp_path / "cache", css, (styles, *fonts.folders(styles)))


@pytest.mark.slow
def test_merged_leaders_give_weasyprints_own_bytes(engine, monkeypatch):
    html = contents_html()
    with engine.session():
        ours = engine.render(html)
        assert leaders._ORIGINAL, "a render puts the leaders in place"
        leaders.uninstall()
        monkeypatch.setattr(leaders, "install", lambda: None)
        theirs = engine.render(html)
    assert ours.pages == theirs.pages >= 2
    assert ours.boxes == theirs.boxes
    assert ours.pdf == theirs.pdf


@pytest.mark.slow
def test_each_line_draws_its_copies_from_one_box(engine):
    """The render lays the copies out as one box a line, which carries them all."""
    import weasyprint
    from weasyprint.formatting_structure import boxes

    leaders.install()
    html = contents_html()
    with engine.session():
        document = weasyprint.HTML(string=html, base_url=str(REPO / "styles") + "/").render(
            stylesheets=[engine.stylesheet("")]
        )

    carried, lone = [], 0

    def walk(box) -> None:
        nonlocal lone
        if getattr(box, "is_leader", False):
            texts = [c for c in box.children if isinstance(c, boxes.TextBox)]
            if len(texts) == 1 and hasattr(texts[0], "leader_copies"):
                carried.append(len(texts[0].leader_copies))
            elif len(texts) > 1:
                lone += 1
        for child in getattr(box, "children", ()):
            walk(child)

    for page in document.pages:
        walk(page._page_box)
    assert lone == 0
    # Every contents line has room for many copies; a tag whose pages fill its first line
    # may have room for one or none, which stays WeasyPrint's own box.
    assert len(carried) >= len(TITLES) * 4
    assert max(carried) > 20
