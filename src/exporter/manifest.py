"""Which outputs earlier builds wrote, and from what: how a plain build knows that the
`--self-test` sheet or a `--tag` deck of last week no longer matches the notes.

Every successful build records each whole output it wrote with the digest of the notes,
styles and code it was made from, and the command that made it. A later build that did
not write that output, and finds it made from other notes, reports it as stale with the
command that rebuilds it. Nothing is deleted: the file is the user's to keep or remove.
The record lives in the output folder's `.cache/`, never among the notes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .publish import write_atomic
from .sources import display_path
from .store import cache_root


@dataclass(frozen=True)
class Recorded:
    content: str
    command: str


def manifest_path(out: Path) -> Path:
    return cache_root(out) / "outputs.json"


def load(out: Path) -> dict[str, Recorded]:
    try:
        data = json.loads(manifest_path(out).read_text(encoding="utf-8"))
        return {
            path: Recorded(str(entry["content"]), str(entry["command"]))
            for path, entry in data.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def stale(recorded: dict[str, Recorded], written: list[Path], content: str) -> list[str]:
    """A line per recorded output that still exists, was not written now, and was made
    from other notes than the current ones."""
    now = {str(p.resolve()) for p in written}
    lines = []
    for path, entry in sorted(recorded.items()):
        if path in now or entry.content == content or not Path(path).is_file():
            continue
        lines.append(
            f"stale: {display_path(Path(path))} was built from earlier notes — "
            f"rebuild it with `{entry.command}`, or delete it"
        )
    return lines


def update(
    out: Path, recorded: dict[str, Recorded], written: list[Path], content: str, command: str
) -> None:
    """Record this build's outputs; forget outputs that no longer exist."""
    entries = {p: r for p, r in recorded.items() if Path(p).is_file()}
    for path in written:
        entries[str(path.resolve())] = Recorded(content, command)
    data = {p: {"content": r.content, "command": r.command} for p, r in sorted(entries.items())}
    target = manifest_path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, json.dumps(data, indent=1, sort_keys=True).encode())
