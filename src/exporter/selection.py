"""Which notes a build reads: every `*.md` below the notes folder, but those the person
has left out.

- `.exporterignore` in the notes folder, in gitignore syntax (read by `pathspec`, the
  matcher git's own rules are written against): `drafts/`, `*.excalidraw.md`, `!keep.md`.
- The folder of Obsidian templates: the one Obsidian's Templates plugin names
  (`.obsidian/templates.json`, its `folder`) and the one the Templater plugin names
  (`.obsidian/plugins/templater-obsidian/data.json`, its `templates_folder`). A template's
  `{{title}}` and `{{date}}` would read as clozes: a template is never a note.
- A note whose front matter says `exporter: false` (read by `sources`, since only the
  note itself can say it).

Notes left out by the first two are never opened. The rules are part of what a build is
made from (`digest`), so changing them rebuilds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .diagnostics import Diagnostic, error
from .sources import display_path

IGNORE_FILE = ".exporterignore"
# Obsidian's own settings that name a templates folder: (file below the vault, key).
TEMPLATE_SETTINGS = (
    (".obsidian/templates.json", "folder"),
    (".obsidian/plugins/templater-obsidian/data.json", "templates_folder"),
)


@dataclass(frozen=True)
class Selection:
    """The rules of one notes folder."""

    patterns: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    _spec: object = field(default=None, compare=False, repr=False)

    def leaves_out(self, rel: str, folder: bool = False) -> bool:
        """Whether the note (or, with `folder`, the folder) at `rel`, a path relative to
        the notes folder with `/`, is left out."""
        if any(rel == t or rel.startswith(t + "/") for t in self.templates):
            return True
        if self._spec is None:
            return False
        return bool(self._spec.match_file(rel + "/" if folder else rel))  # type: ignore[attr-defined]

    @property
    def digest(self) -> str:
        """What the rules are, for the fingerprint of a build."""
        rules = {"ignore": list(self.patterns), "templates": list(self.templates)}
        return hashlib.sha256(json.dumps(rules).encode()).hexdigest()


def read(root: Path) -> tuple[Selection, list[Diagnostic]]:
    """The rules of the notes folder `root`, and any problem reading them (an ignore file
    that cannot be read is an error: building notes the person left out would make cards
    of them)."""
    diagnostics: list[Diagnostic] = []
    patterns: tuple[str, ...] = ()
    spec = None
    ignore = root / IGNORE_FILE
    if ignore.is_file():
        try:
            lines = ignore.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeError) as exc:
            diagnostics.append(
                error(
                    display_path(ignore),
                    1,
                    1,
                    f"cannot read the ignore file: {exc}",
                    "save it as UTF-8 text, one gitignore pattern a line",
                )
            )
            lines = []
        import pathspec

        patterns = tuple(lines)
        spec = pathspec.GitIgnoreSpec.from_lines(lines)
    return Selection(patterns, templates_of(root), spec), diagnostics


def templates_of(root: Path) -> tuple[str, ...]:
    """The templates folders Obsidian's settings name, relative to `root`."""
    found = []
    for setting, key in TEMPLATE_SETTINGS:
        try:
            data = json.loads((root / setting).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        folder = data.get(key) if isinstance(data, dict) else None
        if isinstance(folder, str) and folder.strip("/ "):
            found.append(folder.strip("/ "))
    return tuple(dict.fromkeys(found))
