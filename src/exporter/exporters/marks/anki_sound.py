"""A sound on a card: Anki's own `[sound:NAME]`, which Anki plays (and shows as a play
button); NAME is the packed media file, in the package beside the deck."""

from __future__ import annotations

import html

from ...model import Mark


def render(mark: Mark, **context) -> str:
    # The field is HTML: a name with `&` or `<` stays a name once Anki reads the field.
    return f"[sound:{html.escape(mark.attrs.get('name', ''), quote=False)}]"
