"""HTML from notes made safe (nh3) for cards and sheets alike, and HTML as plain text."""

from __future__ import annotations

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
