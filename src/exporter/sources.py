"""Finding notes and reading them: bytes to text, front matter, line positions.

Front matter lines are blanked rather than cut, so a line number in the body is the line
number in the file: every later stage can report positions without an offset.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from .diagnostics import Diagnostic, error, warning

# libyaml's loader when PyYAML was built with it: the same safe subset, much faster.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# The keys read; any other is the note's own business (Obsidian keeps aliases, cssclasses,
# dates… there) and is passed by. Like Obsidian, `tag` and `Tags` are read as `tags`.
FRONT_MATTER_KEYS = {"title", "deck", "tags", "exporter"}


@dataclass(frozen=True)
class Source:
    path: Path
    rel: str
    display: str
    text: str
    meta: Mapping[str, Any] = field(default_factory=dict)
    digest: str = ""


def display_path(path: Path) -> str:
    """The path as a person typed it: relative to the working folder where possible."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


class Found(NamedTuple):
    paths: list[Path]
    diagnostics: list[Diagnostic]
    left_out: int = 0  # notes the person left out (`selection`)


def find_notes(
    root: Path,
    leaves_out: Callable[[str, bool], bool] | None = None,
    base: Path | None = None,
) -> Found:
    """Every `*.md` below root in a stable order, skipping hidden files and folders.
    Symlinked folders are followed (a shared folder linked into the notes is part of
    them), each real folder once, so a link back up is no loop. A folder that cannot be
    read and a link that cannot be followed are errors, never a silent skip: their facts
    would be reported removed, and a sync would delete their cards.

    `leaves_out(rel, is_folder)`, with paths relative to `base` (the notes folder, of
    which `root` may be a part), names what the person left out (`selection`): a folder
    left out is not even listed, and its notes are counted in `left_out` unread."""
    found: list[Path] = []
    diagnostics: list[Diagnostic] = []
    base = base or root
    left_out = 0

    def rel(path: Path) -> str:
        return path.relative_to(base).as_posix()

    def count(folder: Path) -> int:
        return sum(1 for _, _, files in os.walk(folder) for n in files if n.endswith(".md"))

    def problem(where: Path, message: str, hint: str) -> None:
        diagnostics.append(error(display_path(where), 1, 1, message, hint))

    def unreadable(exc: OSError) -> None:
        problem(
            Path(exc.filename) if exc.filename else root,
            f"cannot read this folder: {exc.strerror or exc}",
            "make it readable (chmod u+rx), or move it out of the notes folder",
        )

    seen: set[Path] = set()
    for folder, dirs, files in os.walk(root, onerror=unreadable, followlinks=True):
        real = Path(folder).resolve()
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if leaves_out is not None:
            kept = [d for d in dirs if not leaves_out(rel(Path(folder) / d), True)]
            left_out += sum(count(Path(folder) / d) for d in dirs if d not in kept)
            dirs[:] = kept
        for name in files:
            path = Path(folder) / name
            if name.startswith("."):
                continue
            if path.is_symlink() and not path.exists():
                problem(
                    path,
                    f"cannot follow this link: {os.readlink(path)} does not exist",
                    "point it at the folder or note it stood for, or delete the link",
                )
                continue
            if not name.endswith(".md") or not path.is_file():
                continue
            if leaves_out is not None and leaves_out(rel(path), False):
                left_out += 1
                continue
            found.append(path)
    found.sort(key=lambda p: p.relative_to(root).as_posix())
    return Found(found, sorted(diagnostics), left_out)


def decode(data: bytes, display: str) -> tuple[str | None, list[Diagnostic]]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [
            error(
                display,
                line,
                col,
                f"not UTF-8: byte 0x{data[exc.start]:02x} cannot be decoded",
                "save the file as UTF-8 (most editors: 'Save with encoding')",
            )
        ]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    diags = []
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        diags.append(
            warning(display, line, 1, "NUL character removed", "delete the stray control character")
        )
        text = text.replace("\x00", "")
    return text, diags


def split_front_matter(text: str, display: str) -> tuple[dict[str, Any], str, list[Diagnostic]]:
    """Parse a leading `---` YAML block; the body keeps its line numbers."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return {}, text, []
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if end is None:
        return (
            {},
            text,
            [error(display, 1, 1, "front matter is not closed", "end it with a line '---'")],
        )
    body = "\n" * end + "\n" + "\n".join(lines[end + 1 :])
    raw = "\n".join(lines[1:end])
    diags: list[Diagnostic] = []
    try:
        meta = yaml.load(raw, Loader=YAML_LOADER) if raw.strip() else {}
    except yaml.YAMLError:
        exc = yaml_problem(raw)
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        col = mark.column + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        diags.append(
            error(
                display,
                line,
                col,
                f"front matter is not valid YAML: {problem}",
                "fix the YAML; the body was still checked",
            )
        )
        return {}, body, diags
    if not isinstance(meta, dict):
        diags.append(
            error(
                display,
                2,
                1,
                "front matter must be a mapping of keys to values",
                "write lines like 'title: My note'",
            )
        )
        return {}, body, diags
    clean: dict[str, Any] = {}
    for key, value in meta.items():
        line = _key_line(lines[1:end], str(key))
        key = "tags" if str(key).lower() in ("tags", "tag") else key
        if key not in FRONT_MATTER_KEYS or value is None:
            # Any other property is the note's own (Obsidian's aliases, cssclasses,
            # created…), and an empty one (`tags:`) says nothing: neither is a problem.
            continue
        if key == "exporter":
            # `exporter: false` leaves the note out of every build (`selection`).
            if isinstance(value, bool):
                clean[key] = value
            else:
                diags.append(
                    error(
                        display,
                        line,
                        1,
                        "front matter 'exporter' must be true or false",
                        "write 'exporter: false' to leave this note out, or remove the line",
                    )
                )
            continue
        if key in ("title", "deck"):
            if not is_scalar(value):
                diags.append(
                    error(
                        display,
                        line,
                        1,
                        f"front matter '{key}' has the wrong type",
                        f"write {key} as text, like '{key}: My note'",
                    )
                )
                continue
            written = lines[line - 1] if lines[line - 1].startswith(f"{key}:") else ""
            value = scalar_text(value, written)
            if not value:
                continue
            if key == "deck" and (problem := deck_problem(value)):
                diags.append(error(display, line, 1, problem, DECK_HINT))
                continue
            clean[key] = value
            continue
        tags, problem = tag_list(value)
        if problem:
            diags.append(error(display, line, 1, problem, "write tags: [upsc, gs2]"))
            continue
        kept = []
        for tag in tags:
            if valid_tag(tag):
                kept.append(tag)
                continue
            # A property written for Obsidian need not fit Anki: the tag is made to fit,
            # said at its own line, and the note builds.
            fitted = fit_tag(tag)
            at = next(
                (line + i for i, text in enumerate(lines[line - 1 : end]) if tag in text), line
            )
            diags.append(
                warning(
                    display,
                    at,
                    1,
                    f"tag '{tag}' cannot be an Anki tag (a space or a quote)"
                    + (f"; it is used as '{fitted}'" if fitted else "; it is left out"),
                    f"write it as '{fitted}' to keep it" if fitted else "write a word",
                )
            )
            if fitted:
                kept.append(fitted)
        tags = kept
        clean["tags"] = list(dict.fromkeys(clean.get("tags", []) + tags))
    return clean, body, diags


def is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, datetime.date))


def scalar_text(value: Any, raw_line: str) -> str:
    """A scalar as its author wrote it: `title: 2024-05-01` or `title: 1.10` is that
    text, not YAML's date or number; a quoted or plain string is the string."""
    if isinstance(value, str):
        return value.strip()
    _, _, written = raw_line.partition(":")
    written = re.sub(r"\s+#.*$", "", written).strip()
    return written or str(value)


def tag_list(value: Any) -> tuple[list[str], str | None]:
    """Tags as Obsidian reads them: a list of tags, or one string of tags separated by
    commas or spaces (`tags: upsc, gs2`, `tags: upsc gs2`); a leading `#` is dropped
    (`"#upsc"`), empty entries are skipped. A list entry is one tag (a space in it is
    reported, not split); a mapping or a nested list is a problem."""
    if isinstance(value, str):
        words = re.split(r"[,\s]+", value)
    elif isinstance(value, list):
        words = [item for item in value if item is not None]
    else:
        words = [value]
    if any(isinstance(w, bool) or not isinstance(w, (str, int, float)) for w in words):
        return [], "front matter 'tags' has the wrong type: it must be a list of words"
    tags = [str(w).strip().lstrip("#") for w in words]
    return [t for t in tags if t], None


CONFLICT_START = re.compile(r"^<{7}(?: |$)")
CONFLICT_MIDDLE = re.compile(r"^(?:={7}|\|{7}(?: .*)?)$")
CONFLICT_END = re.compile(r"^>{7}(?: |$)")


def conflict_markers(text: str, display: str) -> list[Diagnostic]:
    """Git's merge-conflict lines: a merged note holding both sides of a conflict would
    otherwise build, with both versions of each fact. `=======` alone is also a heading
    underline in Markdown, so it counts only between `<<<<<<<` and `>>>>>>>`."""
    out = []
    inside = False
    for number, line in enumerate(text.split("\n"), 1):
        if CONFLICT_START.match(line):
            inside = True
        elif not (CONFLICT_END.match(line) or (inside and CONFLICT_MIDDLE.match(line))):
            continue
        elif CONFLICT_END.match(line):
            inside = False
        out.append(
            error(
                display,
                number,
                1,
                f"a git conflict marker ({line[:7]})",
                "resolve the merge conflict: keep one side, delete the marker lines",
            )
        )
    return out


def yaml_problem(raw: str) -> yaml.YAMLError:
    """The pure-Python loader's account of a YAML error: it points at the line and column
    a person must fix, where libyaml often points past them."""
    try:
        yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        return exc
    return yaml.YAMLError("front matter could not be read")


# Anki refuses a whole package holding a deck nested deeper than this (measured with the
# anki library: 11 levels import, 12 do not).
MAX_DECK_LEVELS = 11
DECK_HINT = "write a deck like UPSC::GS2::Polity: words, at most 11 levels"


def deck_problem(name: str) -> str | None:
    """Why Anki would refuse or rewrite this deck name, if it would. `<` and `>` are
    refused too: Anki shows deck names in its own HTML screens."""
    levels = [p.strip() for p in name.split("::")]
    if any(c in name for c in "<>"):
        return f"deck '{name}' holds '<' or '>'"
    if not all(levels):
        return f"deck '{name}' has an empty level (Anki would rename it)"
    if len(levels) > MAX_DECK_LEVELS:
        return f"deck '{name}' is {len(levels)} levels deep; Anki allows {MAX_DECK_LEVELS}"
    return None


def fit_tag(tag: str) -> str:
    """`tag` with every run of spaces and quotes made one `-`: the tag Anki can hold."""
    fitted = re.sub(r"[\s\"']+", "-", "".join(c for c in tag if ord(c) >= 32)).strip("-")
    return fitted if valid_tag(fitted) else ""


def valid_tag(tag: str) -> bool:
    """Anki splits tags on white space and quotes them in searches; a tag of separators
    alone (`::`, `/`) would be no tag at all."""
    has_word = bool(re.sub(r"/|::", "", tag).strip(":"))
    return has_word and not any(c.isspace() or c in "\"'" or ord(c) < 32 for c in tag)


def _key_line(meta_lines: list[str], key: str) -> int:
    for i, line in enumerate(meta_lines):
        if line.startswith(f"{key}:"):
            return i + 2
    return 2


def read_source(
    root: Path, path: Path, read: tuple[bytes, str] | None = None
) -> tuple[Source | None, list[Diagnostic]]:
    """The note at `path`: its text, front matter and digest. `read`: its bytes and their
    digest when the caller has them already (`store.Digests`)."""
    display = display_path(path)
    try:
        data, digest = read or (path.read_bytes(), "")
    except OSError as exc:
        return None, [
            error(
                display,
                1,
                1,
                f"cannot read the file: {exc.strerror or exc}",
                "check that it is a readable file",
            )
        ]
    text, diags = decode(data, display)
    if text is None:
        return None, diags
    diags += conflict_markers(text, display)
    meta, body, fm_diags = split_front_matter(text, display)
    return (
        Source(
            path=path,
            rel=path.relative_to(root).as_posix(),
            display=display,
            text=body,
            meta=meta,
            digest=digest or hashlib.sha256(data).hexdigest(),
        ),
        diags + fm_diags,
    )
