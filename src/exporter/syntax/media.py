"""Images in notes: found, checked (inside the notes folder, readable, not a bomb) and
packed by a content-addressed name; raw-HTML images get the same checks.

An image is looked for beside the note first. Obsidian keeps attachments in a folder of
its own and links them by name (`![[diagram.png]]`, `![](diagram.png)`), so a path that
is not beside the note is then looked for from the notes folder itself, and then by name
(or by the end of its path) anywhere in it; of several files that match, the one with
the fewest folders above it wins, then the first in alphabetical order (Obsidian prefers
the shortest path too). Hidden folders (`.obsidian`, `.trash`) are not searched.
"""

from __future__ import annotations

import hashlib
import os
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from ..diagnostics import Diagnostic, error, warning
from ..model import MARK_TAG, Media
from ..sources import Source
from .obsidian import sized_alt
from .sound import is_audio, label_for, resolved
from .state import ParseState
from .tree import remove_marker

# What a missing path's hint shows, per kind of file.
EXAMPLES = {"image": "write ![alt](images/file.png)", "sound": "write [sound:audio/file.mp3]"}


@dataclass
class MediaFinder:
    """The images and sounds of one note: each checked where it is written, packed once
    by name."""

    source: Source
    notes_root: Path
    diagnostics: list[Diagnostic]
    state: ParseState
    media: dict[str, Media] = field(default_factory=dict)

    def image_source(self, src: str) -> str | None:
        """Images (and `<audio>` sounds) written as raw HTML get the same checks as
        Markdown images."""
        if src in self.media:
            return src
        line = next((i + 1 for i, text in enumerate(self.state.lines) if src in text), 1)
        col = self.state.lines[line - 1].find(src) + 1 if self.state.lines else 1
        return self.resolve(src, line, max(col, 1), "sound" if is_audio(src) else "image")

    def images(self, root: etree.Element) -> None:
        state = self.state
        parents = {c: p for p in root.iter() for c in p}
        for el in [e for e in root.iter(MARK_TAG) if e.get("data-kind") == "sound"]:
            if el.get("src") is not None:
                self.sound(el, parents, state)
        for img in list(root.iter("img")):
            src = img.get("src", "")
            if is_audio(src):
                self.sound(img, parents, state)
                continue
            sized_alt(img)
            line, col = self.img_position(img, parents, state)
            kept = self.resolve(src, line, col, "image", in_fact(img, parents))
            if kept is None:
                alt = img.get("alt", "")
                parent = parents[img]
                img.tail = alt + (img.tail or "")
                remove_marker(parent, img)
            else:
                img.set("src", kept)

    def sound(self, el: etree.Element, parents, state) -> None:
        """A sound (`[sound:…]`, or an image or embed of an audio file): the finished
        mark, or its label as text when the file cannot be packed."""
        line, col = self.img_position(el, parents, state)
        name = self.resolve(el.get("src", ""), line, col, "sound", in_fact(el, parents))
        if name is None:
            label = label_for(el.get("src", ""), el.get("data-label") or el.get("alt") or "")
            el.tail = label + (el.tail or "")
            el.text = None
            remove_marker(parents[el], el)
        else:
            resolved(el, name)

    def img_position(self, img, parents, state) -> tuple[int, int]:
        el = img
        while el in parents and el not in state.positions:
            el = parents[el]
        pos = state.positions.get(el)
        if pos is None:
            return 1, 1
        src = img.get("src", "")
        for offset, raw_line in enumerate(pos.raw.split("\n")):
            if src and src in raw_line:
                line_no = pos.line + offset
                text = state.lines[line_no - 1]
                if "](" + src in text:
                    return line_no, text.find("](" + src) + 3
                return line_no, max(text.find(src) + 1, 1)
        return pos.line, 1

    def resolve(
        self, src: str, line: int, col: int, kind: str = "image", fact: bool = True
    ) -> str | None:
        """The packed name of the file `src` means, or None with a problem at `line` and
        `col`: the same checks for an image and a sound (`kind`, named in messages); an
        image must also be one Pillow can read. A file that is missing is an error in a
        fact (its card would lose it) and a warning in prose (`fact` False), where the
        sheet shows its name instead, as Obsidian's reading view shows a placeholder."""
        display = self.source.display
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", src) or src.startswith("//"):
            if src.startswith(("http:", "https:", "//")):
                self.diagnostics.append(
                    warning(
                        display,
                        line,
                        col,
                        f"remote {kind} '{src}' is not fetched",
                        "download it into the notes folder and link it relatively",
                    )
                )
            else:
                self.diagnostics.append(
                    error(
                        display,
                        line,
                        col,
                        f"{kind} '{src}' is not a file inside the notes folder",
                        f"link {kind}s by a path relative to the note",
                    )
                )
            return None
        if not src:
            self.diagnostics.append(
                error(display, line, col, f"{kind} without a path", EXAMPLES[kind])
            )
            return None
        # A `?query` is part of a URL, but also a character Obsidian allows in a file name
        # ("why? a.png"): the name as written wins when such a file exists.
        path_part = src.split("#")[0]
        rel = PurePosixPath(path_part)
        if "?" in path_part and not os.path.lexists(self.locate(rel)):
            rel = PurePosixPath(path_part.split("?")[0])
        if rel.is_absolute():
            self.diagnostics.append(
                error(
                    display,
                    line,
                    col,
                    f"{kind} path '{src}' is absolute",
                    f"link {kind}s by a path relative to the note",
                )
            )
            return None
        target = self.locate(rel).resolve()
        root = self.notes_root.resolve()
        if root not in target.parents:
            self.diagnostics.append(
                error(
                    display,
                    line,
                    col,
                    f"{kind} '{src}' is outside the notes folder",
                    "copy it into the notes folder",
                )
            )
            return None
        if not target.is_file():
            self.diagnostics.append(
                (error if fact else warning)(
                    display,
                    line,
                    col,
                    f"{kind} '{src}' does not exist"
                    + ("" if fact else "; the sheet shows its name"),
                    "check the file name: it was looked for beside the note and by name "
                    "in the notes folder",
                )
            )
            return None
        problem = unreadable_image(target) if kind == "image" else None
        if problem:
            self.diagnostics.append(
                warning(
                    display,
                    line,
                    col,
                    f"image '{src}' {problem}; it is left out",
                    "open it in an image editor and save it again as PNG or JPEG",
                )
            )
            return None
        digest = hashlib.sha256(target.read_bytes()).hexdigest()[:12]
        name = f"{digest}-{re.sub(r'[^A-Za-z0-9._-]', '_', target.name)}"
        self.media.setdefault(name, Media(name, str(target)))
        return name

    def locate(self, rel: PurePosixPath) -> Path:
        """The file an image path means: beside the note, else as Obsidian finds it (from
        the notes folder, then by the end of its path). A path with `..` is only ever
        read beside the note. A `%20` in a path is a space (Markdown links need it)."""
        beside = self.source.path.parent / rel
        if os.path.lexists(beside) or ".." in rel.parts:
            return beside
        spellings = dict.fromkeys([rel, PurePosixPath(unquote(str(rel)))])
        for spelling in spellings:
            if os.path.lexists(self.source.path.parent / spelling):
                return self.source.path.parent / spelling
        for spelling in spellings:
            found = find_by_name(self.notes_root, spelling)
            if found is not None:
                return found
        return beside


# The files of each notes folder by name, and the folders' modification times they were
# read at: a folder's time changes when a file is added, removed or renamed in it, so the
# index is read again only then (`watch` keeps one process for many builds).
_INDEXES: dict[Path, tuple[dict[str, int], dict[str, list[PurePosixPath]]]] = {}


def find_by_name(notes_root: Path, rel: PurePosixPath) -> Path | None:
    """The file whose path inside the notes folder is `rel`, or ends with it; of several,
    the one with the fewest folders above it, then the first alphabetically."""
    if not rel.parts or ".." in rel.parts:
        return None
    if os.path.lexists(notes_root / rel):
        return notes_root / rel
    names = file_index(notes_root).get(rel.name, [])
    matches = [p for p in names if p.parts[-len(rel.parts) :] == rel.parts]
    if not matches:
        return None
    best = min(matches, key=lambda p: (len(p.parts), p.as_posix()))
    return notes_root / best


def file_index(notes_root: Path) -> dict[str, list[PurePosixPath]]:
    key = notes_root.resolve()
    cached = _INDEXES.get(key)
    if cached is not None and all(_mtime(key / d) == t for d, t in cached[0].items()):
        return cached[1]
    times: dict[str, int] = {}
    names: dict[str, list[PurePosixPath]] = {}
    for folder, dirs, files in os.walk(key):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = PurePosixPath(Path(folder).relative_to(key).as_posix())
        times[rel.as_posix()] = _mtime(Path(folder))
        for name in files:
            if not name.startswith("."):
                names.setdefault(name, []).append(rel / name)
    _INDEXES[key] = (times, names)
    return names


def _mtime(folder: Path) -> int:
    try:
        return folder.stat().st_mtime_ns
    except OSError:
        return -1


def unreadable_image(path: Path) -> str | None:
    """Why an image cannot be shown, if it cannot: not an image Pillow reads, or one so
    large its pixels would not fit in memory (a decompression bomb). Reads the header
    only: a browser shows an image with a damaged checksum, so a check of the data would
    refuse images people can see. SVG is read by the renderer itself."""
    if path.suffix.lower() == ".svg":
        return None
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path):
                pass  # the header is read, the pixels are not decoded
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return "has more pixels than can safely be decoded"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return "is not an image that can be read"
    return None


def in_fact(el: etree.Element, parents: dict[etree.Element, etree.Element]) -> bool:
    """Whether `el` stands in a fact (its question, answer, cloze line or long answer),
    where a missing file would cost a card its media."""
    while el in parents:
        el = parents[el]
        if el.tag in ("x-q", "x-a") or el.get("data-fact") is not None:
            return True
    return False
