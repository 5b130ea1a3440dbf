"""Code blocks: a fenced block with a language Pygments knows is highlighted with CSS
classes (`<span class="k">`), styled by the cards' and the sheet's own CSS; every other
block (no language, `text`, a language Pygments does not know, an indented block) stays
plain monospace, written exactly as before highlighting existed.

pymdownx.highlight does the work with `use_pygments` on. It would also run a block with
no language (or `text`) through Pygments' plain-text lexer, which changes the HTML of
every tree diagram and so the content of facts already in Anki; `CodeHighlight` hands
those blocks to pymdownx's own plain path instead. Code never holds markers: the
highlighted HTML goes to Markdown's stash, which no inline pattern reads.
"""

from __future__ import annotations

import re
from functools import lru_cache

import markdown
from pymdownx.highlight import Highlight, HighlightExtension, HighlightTreeprocessor

# The wrapper's class on a highlighted block: `<div class="language-python highlight">`.
CSS_CLASS = "highlight"
# What Pygments writes for a block: its wrapper `div`, an empty span, the code.
PYGMENTS_RE = re.compile(
    r'<div class="(?P<cls>[^"]*)"><pre>(?:<span></span>)?<code>(?P<code>.*)</code></pre></div>',
    re.S,
)
# Pygments' lexers that highlight nothing: a block in one of these stays plain.
PLAIN_LEXERS = {"text", "output"}
# The first tag of a code block's HTML, and the classes on it.
FIRST_TAG_RE = re.compile(r"\s*<(?P<tag>pre|div)(?=[\s>])(?P<attrs>[^>]*)>")
CLASS_RE = re.compile(r'\sclass="(?P<cls>[^"]*)"')


def is_code_html(html: str) -> bool:
    """Whether a stashed block is code: a `<pre>` (a plain block, a highlighted one
    `pre_block` unwrapped, raw HTML), or the wrapper `div` Pygments keeps around a
    highlighted block with a title (`title="a.py"`), line numbers (`linenums="1"`) or an
    id (`{.python #id}`). The fact and list passes ask this, so every fence prose takes
    is a long answer too."""
    m = FIRST_TAG_RE.match(html)
    if m is None:
        return False
    if m.group("tag") == "pre":
        return True
    cls = CLASS_RE.search(m.group("attrs"))
    return cls is not None and CSS_CLASS in cls.group("cls").split()


@lru_cache(maxsize=256)
def highlights(language: str) -> bool:
    """Whether a block in `language` is highlighted: Pygments knows a lexer by that name
    and it is not plain text."""
    if not language:
        return False
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(language)
    except ClassNotFound:
        return False
    return not PLAIN_LEXERS & set(lexer.aliases)


class CodeHighlight(Highlight):
    """pymdownx's highlighter, with Pygments only for a language it highlights."""

    def highlight(self, src, language, *args, **kwargs):
        if not highlights(language or ""):
            self.use_pygments = False  # a fresh instance per block: nothing else sees it
            return super().highlight(src, language, *args, **kwargs)
        return pre_block(super().highlight(src, language, *args, **kwargs))


def pre_block(html: str) -> str:
    """Pygments' `<div class="…"><pre><span></span><code>…\n</code></pre></div>` as the
    `<pre class="…"><code>…</code></pre>` every other block is, so one selector styles
    both. A block with a title, line numbers or an id keeps its wrapper (`is_code_html`
    knows it for code all the same)."""
    m = PYGMENTS_RE.fullmatch(html)
    if m is None:
        return html
    code = m.group("code")
    code = code[:-1] if code.endswith("\n") else code
    return f'<pre class="{m.group("cls")}"><code>{code}</code></pre>'


class CodeExtension(HighlightExtension):
    """`pymdownx.highlight`, configured here: classes, never inline styles; the language
    as a class on the wrapper. An indented block has no language, so it stays plain."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            use_pygments=True,
            noclasses=False,
            css_class=CSS_CLASS,
            pygments_lang_class=True,
            guess_lang=False,
            **kwargs,
        )

    def get_pymdownx_highlighter(self):
        return CodeHighlight

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        super().extendMarkdown(md)
        indented: HighlightTreeprocessor = md.treeprocessors["indent-highlight"]
        indented.config = {**indented.config, "use_pygments": False}


# The cards' colours for highlighted code: one Pygments style for the day, one for night
# mode (Anki's `.nightMode` on desktop and AnkiMobile, `.night_mode` on AnkiDroid).
DAY_STYLE, NIGHT_STYLE = "default", "github-dark"
CARD_CSS_START = "/* Highlighted code (syntax/code.py: `card_code_css()`"


def card_code_css() -> str:
    """The CSS appended to `styles/card.css` for highlighted code, from two Pygments
    styles: colour, weight and slant per token class, never a background (the card's
    paper stays). Night rules name every class the day does, so no day colour is left on
    the dark paper; a class the night style leaves alone takes the card's ink."""
    from pygments.styles import get_style_by_name
    from pygments.token import STANDARD_TYPES

    classes = sorted((cls, tok) for tok, cls in STANDARD_TYPES.items() if cls)
    lines = [
        f"{CARD_CSS_START}, from Pygments'",
        f"   '{DAY_STYLE}' and '{NIGHT_STYLE}' styles; a test checks it is current). */",
    ]
    day = get_style_by_name(DAY_STYLE)
    night = get_style_by_name(NIGHT_STYLE)
    for cls, tok in classes:
        s = day.style_for_token(tok)
        decls = [f"color: #{s['color']}"] if s["color"] else []
        decls += ["font-weight: bold"] if s["bold"] else []
        decls += ["font-style: italic"] if s["italic"] else []
        if decls:
            lines.append(f".card .highlight .{cls} {{ {'; '.join(decls)} }}")
    for cls, tok in classes:
        s = night.style_for_token(tok)
        decls = [
            f"color: #{s['color']}" if s["color"] else "color: inherit",
            "font-weight: bold" if s["bold"] else "font-weight: normal",
            "font-style: italic" if s["italic"] else "font-style: normal",
        ]
        lines.append(
            f".card.nightMode .highlight .{cls}, .card.night_mode .highlight .{cls} "
            f"{{ {'; '.join(decls)} }}"
        )
    return "\n".join(lines) + "\n"
