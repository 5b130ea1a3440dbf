"""Where Anki keeps a profile's collection: `$ANKI_BASE`, else the platform's default."""

from __future__ import annotations

import os
import sys
from pathlib import Path


class ProfileError(Exception):
    """No collection could be chosen: none, several, or the named one is missing."""


def anki_base() -> Path:
    if os.environ.get("ANKI_BASE"):
        return Path(os.environ["ANKI_BASE"])
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library/Application Support/Anki2"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", home)) / "Anki2"
    return home / ".local/share/Anki2"


def find_collection(profile: str | None) -> Path:
    base = anki_base()
    profiles = sorted(
        p.parent.name for p in base.glob("*/collection.anki2") if not p.parent.name.startswith(".")
    )
    if profile is None:
        if len(profiles) == 1:
            return base / profiles[0] / "collection.anki2"
        found = ", ".join(profiles) if profiles else "none"
        raise ProfileError(
            f"choose a collection: --collection FILE or --profile NAME (profiles in {base}: "
            f"{found})"
        )
    path = base / profile / "collection.anki2"
    if not path.is_file():
        raise ProfileError(f"no profile '{profile}' in {base} (profiles: {', '.join(profiles)})")
    return path
