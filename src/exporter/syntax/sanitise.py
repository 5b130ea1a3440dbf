"""HTML from notes made safe (nh3) for cards and sheets alike, its nesting bounded, and
HTML as plain text."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import nh3

from ..model import MARK_TAG, plain
from .sound import audio_marks

SAFE_TAGS = set(nh3.ALLOWED_TAGS) | {
    "span",
    "div",
    "sup",
    "sub",
    "mark",
    "figure",
    "figcaption",
    MARK_TAG,
}
SAFE_ATTRIBUTES = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"class", "title", "lang", "dir"},
    MARK_TAG: {"data-kind", "data-display", "data-name", "data-label", "data-lang"},
    "img": {"src", "alt", "title", "width", "height"},
    "a": {"href", "title"},
    "code": {"class"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "ol": {"start"},
}
SAFE_SCHEMES = {"http", "https", "mailto"}


def sanitise(fragment: str, image: Callable[[str], str | None] | None = None) -> str:
    """Raw HTML is allowed in notes, but a shared deck or sheet must not run or fetch
    anything: nh3 keeps the text and drops scripts, handlers and unsafe URLs. `image`
    decides each image's source (a packed media name, or None to drop it), and each raw
    `<audio>`'s: with it, `<audio src>` becomes a sound mark (`sound.audio_marks`)."""

    if image is not None and "udio" in fragment:
        fragment = audio_marks(fragment, image)

    def attribute(tag: str, name: str, value: str) -> str | None:
        if tag == "img" and name == "src" and image is not None:
            return image(value)
        return value

    return nh3.clean(
        fragment,
        tags=SAFE_TAGS,
        attributes=SAFE_ATTRIBUTES,
        url_schemes=SAFE_SCHEMES,
        strip_comments=False,
        link_rel=None,
        attribute_filter=attribute,
    )


def plain_text(fragment: str) -> str:
    """The text of a sanitised fragment, its white space folded: the model's `plain`."""
    return " ".join(plain(fragment).split())


# Elements nested deeper than this in one fragment (a question, an answer, a section's
# prose) are unwrapped: WeasyPrint styles and lays out the sheet recursively and fails
# near 140 levels, and a fact's fragments sit inside its section's prose and the page
# (twice this and some ten levels more). Real notes nest a few levels deep.
MAX_NESTING = 50
# A comment, a tag, text, or a stray `<`, in the well-formed HTML that Markdown's
# serialiser and nh3 write (`<` in text is escaped; attribute values are quoted).
_TOKEN_RE = re.compile(
    r"<!--(?:[^-]|-(?!->))*+-->"
    r"|<(?P<close>/?)(?P<tag>[A-Za-z][\w:-]*+)(?:[^>\"']|\"[^\"]*+\"|'[^']*+')*+>"
    r"|[^<]++|<"
)
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta"}
    | {"param", "source", "track", "wbr"}
)
_BLOCK = frozenset(
    {"address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt"}
    | {"figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr"}
    | {"li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td"}
    | {"tfoot", "th", "thead", "tr", "ul"}
)


def limit_nesting(fragment: str, limit: int = MAX_NESTING) -> tuple[str, str | None]:
    """`fragment` with each element nested more than `limit` deep unwrapped (its content
    kept, a block's set apart by a space), and the start of the first text that was in
    one: None when nothing was that deep. One pass and no recursion, however deep the
    input. A mark (`x-mark`, a formula) is kept whole, with what is inside it."""
    if fragment.count("<") <= limit:  # too few tags to nest that deep
        return fragment, None
    out: list[str] = []
    written: list[bool] = []  # each open element: are its tags written?
    depth = dropped = marks = 0
    flattened = False
    first: str | None = None
    for m in _TOKEN_RE.finditer(fragment):
        token, tag = m.group(0), m.group("tag")
        if tag is None:  # text, a comment or a stray `<`
            if dropped and first is None and token[0] != "<" and token.strip():
                first = " ".join(html.unescape(token).split())[:40]
            out.append(token)
            continue
        name = tag.lower()
        if not m.group("close"):
            if name in _VOID or token.endswith("/>"):
                out.append(token)
                continue
            keep = depth < limit or marks > 0 or name == MARK_TAG
            marks += name == MARK_TAG
            written.append(keep)
        elif written:
            marks -= name == MARK_TAG and marks > 0
            keep = written.pop()
        else:  # a close tag with nothing open: left as it is
            out.append(token)
            continue
        opening = not m.group("close")
        if keep:
            depth += 1 if opening else -1
            out.append(token)
        else:
            dropped += 1 if opening else -1
            flattened = True
            out.append(" " if name in _BLOCK else "")
    if not flattened:
        return fragment, None
    return "".join(out), first or ""
