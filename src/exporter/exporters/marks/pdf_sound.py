"""A sound on the sheet: paper cannot play it, so a small "🔊 label" stands in its place
(the emoji font is bundled)."""

from __future__ import annotations

import html

from ...model import Mark


def render(mark: Mark, **context) -> str:
    label = mark.attrs.get("label") or mark.source
    return (
        f'<span class="sound">\N{SPEAKER WITH THREE SOUND WAVES}\u00a0{html.escape(label)}</span>'
    )
