"""`pull --apply`: the patch `pull` wrote, put into the notes, and only safely.

A file is written only while it still has the exact bytes the patch was made from (the
digest the patch names); one changed since is reported and left alone. Each write is
atomic, and the hunks are applied to the bytes as they are, so the encoding, the line
endings, the front matter and every other line stay byte for byte. Then the lock records
each pulled fact's new text with its GUID, cloze numbers and modification time kept: the
next build gives Anki the same notes at the same times, and the next sync finds nothing
to do. This is the only command that ever writes under the notes folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import BuildConfig
from ..publish import write_atomic
from .pull import FACT_MARK, FILE_MARK, lines_of

HUNK_RE = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(Exception):
    """The patch is not one `pull` wrote, or no longer fits its file."""


@dataclass(frozen=True)
class FilePatch:
    path: str
    digest: str
    hunks: tuple[tuple[int, tuple[str, ...]], ...]  # (first old line, the hunk's lines)
    guids: tuple[str, ...]


def read_patch(text: str) -> list[FilePatch]:
    digests: dict[str, str] = {}
    guids: dict[str, list[str]] = {}
    hunks: dict[str, list[tuple[int, list[str]]]] = {}
    current: str | None = None
    lines = lines_of(text)
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(FILE_MARK):
            digest, shown = line[len(FILE_MARK) :].strip().split(" ", 1)
            digests[shown] = digest
        elif line.startswith(FACT_MARK):
            guid, shown = line[len(FACT_MARK) :].strip().split(" ", 1)
            guids.setdefault(shown, []).append(guid)
        elif line.startswith("--- a/") and i + 1 < len(lines) and lines[i + 1].startswith("+++ b/"):
            current = lines[i + 1][len("+++ b/") :].rstrip("\n")
            hunks[current] = []
            i += 1
        elif line.startswith("@@"):
            m = HUNK_RE.match(line)
            if m is None or current is None:
                raise PatchError(f"line {i + 1} is not a hunk header")
            hunks[current].append((int(m.group(1)), []))
        elif current is not None and hunks[current] and line[:1] in (" ", "-", "+", "\\"):
            hunks[current][-1][1].append(line)
        i += 1
    if not hunks:
        raise PatchError("it holds no change")
    missing = sorted(set(hunks) - set(digests))
    if missing:
        raise PatchError(f"it does not say which bytes {missing[0]} had; run pull again")
    return [
        FilePatch(p, digests[p], tuple((s, tuple(h)) for s, h in hunks[p]), tuple(guids.get(p, ())))
        for p in sorted(hunks)
    ]


def applied(old: bytes, patch: FilePatch) -> bytes:
    """`old` with the hunks applied; every context and removed line must be as written."""
    bom = b"\xef\xbb\xbf" if old.startswith(b"\xef\xbb\xbf") else b""
    lines = lines_of(old[len(bom) :].decode("utf-8"))
    out: list[str] = []
    at = 0
    for start, hunk in patch.hunks:
        first = max(start - 1, 0) if any(h[:1] in " -" for h in hunk) else start
        out += lines[at:first]
        at = first
        body = strip_no_newline(hunk)
        for kind, text in body:
            if kind in " -":
                if at >= len(lines) or lines[at] != text:
                    raise PatchError(f"{patch.path}: line {at + 1} is not as the patch says")
                at += 1
                if kind == " ":
                    out.append(text)
            else:
                out.append(text)
    out += lines[at:]
    return bom + "".join(out).encode("utf-8")


def strip_no_newline(hunk: tuple[str, ...]) -> list[tuple[str, str]]:
    """The hunk's lines as (kind, text); a line followed by `\\ No newline at end of
    file` loses its ending."""
    body: list[tuple[str, str]] = []
    for line in hunk:
        if line.startswith("\\"):
            kind, text = body[-1]
            body[-1] = (kind, text[:-1] if text.endswith("\n") else text)
        else:
            body.append((line[0], line[1:]))
    return body


def apply(config: BuildConfig, patch_file: Path, now: Callable[[], int]) -> tuple[bool, list[str]]:
    """Write the patch into the notes where safe, then settle the lock. Whether all of
    it was applied, and the lines to print."""
    try:
        # Bytes, not text: reading as text would turn the notes' \r\n into \n.
        patches = read_patch(patch_file.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        return False, [f"no patch at {patch_file}: run `python build.py pull` first"]
    except (OSError, UnicodeDecodeError, PatchError, ValueError) as exc:
        return False, [f"cannot apply {patch_file}: {exc}; nothing was written"]
    lines: list[str] = []
    written: list[str] = []
    guids: set[str] = set()
    for patch in patches:
        path = Path(patch.path)
        try:
            old = path.read_bytes()
        except OSError as exc:
            lines.append(f"  left     {patch.path}: cannot read it ({exc.strerror or exc})")
            continue
        if hashlib.sha256(old).hexdigest() != patch.digest:
            lines.append(f"  left     {patch.path}: changed since the patch was made; pull again")
            continue
        try:
            new = applied(old, patch)
        except (PatchError, UnicodeDecodeError) as exc:
            lines.append(f"  left     {patch.path}: {exc}")
            continue
        write_atomic(path, new)
        written.append(patch.path)
        guids.update(patch.guids)
        lines.append(f"  wrote    {patch.path} ({len(patch.guids)} facts from Anki)")
    if guids:
        lines += settle_lock(config, guids, now)
    done = len(written) == len(patches)
    lines.append(
        f"applied the edits to {len(written)} of {len(patches)} notes"
        + ("" if done else "; the others were left as they are")
    )
    return done, lines


def settle_lock(config: BuildConfig, guids: set[str], now: Callable[[], int]) -> list[str]:
    """Record the pulled facts' new text in the lock: their entries as a build would now
    write them, with the same GUID and the modification time they had, since Anki
    already holds this text. Every other entry stays as it was."""
    from .. import exporters, identity
    from ..pipeline import examine

    examined = examine(config)
    lock = examined.lock
    if lock is None:
        return ["  lock     could not be read; build to update it"]
    signatures = exporters.get("apkg").signatures(config)
    deck, new_lock, _ = identity.resolve(examined.deck, lock, now, signatures, config.scope)
    fresh = {e.guid: e for e in new_lock.entries if not e.removed}
    # A reworded deletion would get a number of its own (`identity.renumber`); one that
    # came from Anki keeps the number Anki has, which the note now writes.
    parsed = {(f.path, f.index): f for f in examined.deck.facts}
    as_written = {f.guid: parsed[(f.path, f.index)] for f in deck.facts}
    entries, lost = [], []
    for entry in lock.entries:
        if entry.guid in guids and entry.guid in fresh:
            raw = as_written[entry.guid]
            marked = raw.marked_text if raw.marked_text != raw.plain_question else ""
            entries.append(
                dataclasses.replace(fresh[entry.guid], mtime=entry.mtime, marked=marked)
            )
        else:
            lost += [entry.guid] if entry.guid in guids else []
            entries.append(entry)
    write_atomic(
        config.lock_path,
        identity.Lock(tuple(entries), lock.stamps, lock.id).dumps().encode("utf-8"),
    )
    lines = [f"  lock     {len(guids) - len(lost)} facts keep their identity and history"]
    lines += [f"  lock     {g} was not found again; build and check it" for g in lost]
    return lines
