"""The note syntax: a Python-Markdown extension, and `parse_note`, which turns one source
into a model `Note` plus its diagnostics. One module a concern:

- `extension`: registers every construct, in Markdown's own stage order;
- `positions`: the original lines, and each block's line (Markdown keeps none);
- `markers`: clozes, tags and anchors, written once, as inline marker elements;
- `shortcut`: only texts and patterns that could match reach the inline stage;
- `bounded`: Python-Markdown's quadratic corners, made linear;
- `facts`: paragraphs and list items with `::`, `:::` or a cloze become facts;
- `tree`: element-tree helpers; `sanitise`: nh3 rules and HTML as text;
- `media`: images, found and checked; `note`: sections, facts, deck and title.

Markdown decides what is code, what is escaped and what is a list item; the extension
only reads the tree Markdown builds.
"""

from .extension import list_indent, markdown_for
from .markers import normalise_tag
from .note import parse_note

__all__ = ["list_indent", "markdown_for", "normalise_tag", "parse_note"]
