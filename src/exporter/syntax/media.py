"""Images in notes: found, checked (inside the notes folder, readable, not a bomb) and
packed by a content-addressed name; raw-HTML images get the same checks."""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..diagnostics import Diagnostic, error, warning
from ..model import Media
from ..sources import Source
from .state import ParseState
from .tree import remove_marker


@dataclass
class MediaFinder:
    """The images of one note: each checked where it is written, packed once by name."""

    source: Source
    notes_root: Path
    diagnostics: list[Diagnostic]
    state: ParseState
    media: dict[str, Media] = field(default_factory=dict)

    def image_source(self, src: str) -> str | None:
        """Images written as raw HTML get the same checks as Markdown images."""
        if src in self.media:
            return src
        line = next((i + 1 for i, text in enumerate(self.state.lines) if src in text), 1)
        col = self.state.lines[line - 1].find(src) + 1 if self.state.lines else 1
        return self.resolve_image(src, line, max(col, 1))

    def images(self, root: etree.Element) -> None:
        state = self.state
        parents = {c: p for p in root.iter() for c in p}
        for img in list(root.iter("img")):
            src = img.get("src", "")
            line, col = self.img_position(img, parents, state)
            kept = self.resolve_image(src, line, col)
            if kept is None:
                alt = img.get("alt", "")
                parent = parents[img]
                img.tail = alt + (img.tail or "")
                remove_marker(parent, img)
            else:
                img.set("src", kept)

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
                return line_no, text.find("](" + src) + 3 if "](" + src in text else 1
        return pos.line, 1

    def resolve_image(self, src: str, line: int, col: int) -> str | None:
        display = self.source.display
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", src) or src.startswith("//"):
            if src.startswith(("http:", "https:", "//")):
                self.diagnostics.append(
                    warning(
                        display,
                        line,
                        col,
                        f"remote image '{src}' is not fetched",
                        "download it into the notes folder and link it relatively",
                    )
                )
            else:
                self.diagnostics.append(
                    error(
                        display,
                        line,
                        col,
                        f"image '{src}' is not a file inside the notes folder",
                        "link images by a path relative to the note",
                    )
                )
            return None
        if not src:
            self.diagnostics.append(
                error(display, line, col, "image without a path", "write ![alt](images/file.png)")
            )
            return None
        rel = PurePosixPath(src.split("#")[0].split("?")[0])
        if rel.is_absolute():
            self.diagnostics.append(
                error(
                    display,
                    line,
                    col,
                    f"image path '{src}' is absolute",
                    "link images by a path relative to the note",
                )
            )
            return None
        target = (self.source.path.parent / rel).resolve()
        root = self.notes_root.resolve()
        if root not in target.parents:
            self.diagnostics.append(
                error(
                    display,
                    line,
                    col,
                    f"image '{src}' is outside the notes folder",
                    "copy it into the notes folder",
                )
            )
            return None
        if not target.is_file():
            self.diagnostics.append(
                error(
                    display,
                    line,
                    col,
                    f"image '{src}' does not exist",
                    "check the file name and its folder",
                )
            )
            return None
        problem = unreadable_image(target)
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
