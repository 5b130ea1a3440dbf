"""The inline shortcut: only the texts and patterns that could match reach Python-
Markdown's inline stage."""

from __future__ import annotations

import xml.etree.ElementTree as etree

import markdown
from markdown.treeprocessors import InlineProcessor, Treeprocessor
from markdown.util import AtomicString

# What each of Markdown's inline patterns (and ours) cannot match without: a text that
# holds none of a pattern's characters cannot match it.
NEEDLES = {
    "backtick": ("`",),
    "escape": ("\\",),
    "fact_markers": ("{{", "#", "^"),
    "reference": ("[",),
    "link": ("[",),
    "image_link": ("![",),
    "image_reference": ("![",),
    "short_reference": ("[",),
    "short_image_ref": ("![",),
    "autolink": ("<",),
    "automail": ("<",),
    "linebreak": ("  \n",),
    "html": ("<",),
    "entity": ("&",),
    "not_strong": ("*", "_"),
    "em_strong": ("*", "_"),
    "em_strong2": ("_",),
    "strong": ("*", "_"),
    "emphasis": ("*", "_"),
    # Obsidian (syntax/obsidian.py): pymdownx's shared `delimiter` processor (`==mark==`,
    # `~~del~~`) is asked about any `=` or `~`, as its own regex is; footnote references;
    # wikilinks and embeds.
    "delimiter": ("=", "~"),
    "footnote": ("[^",),
    "obsidian_links": ("[[",),
    "sound": ("[sound:",),  # syntax/sound.py
    # Math (syntax/math.py).
    "math": ("$", "\\(", "\\["),
}


class PlainTextTreeprocessor(Treeprocessor):
    """Python-Markdown tries every inline pattern on every text, in Python. This pass,
    just before, marks the texts no pattern can match as atomic, so the inline stage
    passes them by, and hands that stage only the patterns some remaining text could
    match. The output is the same: a text lacks a character each skipped pattern needs
    (a pattern `NEEDLES` does not know is always kept, and asked with its own regex).
    Most fact lines and most prose are plain words, and most notes use few kinds of
    markup."""

    def __init__(self, md: markdown.Markdown) -> None:
        super().__init__(md)
        self.pruned: dict[frozenset[str], markdown.util.Registry] = {}

    def run(self, root: etree.Element) -> None:
        patterns = self.md.inlinePatterns
        names = {name: NEEDLES[name] for name in NEEDLES if name in patterns}
        known = {id(patterns[name]) for name in names}
        needles = {n for group in names.values() for n in group}
        others = [p.getCompiledRegExp() for p in patterns if id(p) not in known]
        left: list[str] = []
        for el in root.iter():
            for attr in ("text", "tail"):
                text = getattr(el, attr)
                if not text or isinstance(text, AtomicString):
                    continue
                if any(n in text for n in needles) or any(r.search(text) for r in others):
                    left.append(text)
                else:
                    setattr(el, attr, AtomicString(text))
        joined = "\0".join(left)
        unused = frozenset(
            name for name, group in names.items() if not any(n in joined for n in group)
        )
        registry = self.pruned.get(unused)
        if registry is None:
            registry = self.pruned[unused] = patterns[:]
            for name in unused:
                registry.deregister(name)
        inline = self.md.treeprocessors["inline"]
        assert isinstance(inline, InlineProcessor)  # Markdown's own
        # The stub types this Registry[treeprocessors.InlineProcessor]; Markdown fills it
        # with md.inlinePatterns, a Registry[Pattern], as here.
        inline.inlinePatterns = registry  # type: ignore[assignment]
