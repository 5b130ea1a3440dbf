"""ATX headings need a space after their `#`s, as in CommonMark: a line that starts with
a tag (`#prelims KABIL ::: …`) is a fact line, not a heading that swallows the fact."""

from __future__ import annotations

import re

import markdown
from markdown.blockprocessors import HashHeaderProcessor


class SpacedHashHeaderProcessor(HashHeaderProcessor):
    """Python-Markdown's own heading processor with one change: one to six `#`s are a
    heading only when a space, a tab or the end of the line follows them. `#tag` at the
    start of a line stays text (and so a tag); `## Challenges #mains` is a heading."""

    RE = re.compile(
        r"(?:^|\n)(?P<level>#{1,6})(?=[ \t]|\n|$)"
        r"(?P<header>(?:\\.|[^\\#]|#+(?=[^#\n]))*?)#*(?:\n|$)"
    )


# Python-Markdown's own priority for `hashheader` (markdown/blockprocessors.py).
HASHHEADER_PRIORITY = 70


def register(md: markdown.Markdown) -> None:
    """Replace `hashheader` under its own name and priority, so nothing else moves."""
    md.parser.blockprocessors.register(
        SpacedHashHeaderProcessor(md.parser), "hashheader", HASHHEADER_PRIORITY
    )
