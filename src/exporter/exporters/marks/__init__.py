"""How each output renders each kind of mark (see `model.Mark`): one module per output
and kind, listed here by one registry line, so a new kind (math, sound) or a new output
(an HTML site) never touches the parser or another output.

A module in the registry has `render(mark: Mark, **context) -> str` returning the HTML
that takes the mark's place in that output; `context` is what the output hands all its
renderers (the sheet: where the cache is, which media files there are). A kind with no
module for an output shows its source as escaped code, so nothing is ever lost.
"""

from __future__ import annotations

import html
import importlib
from collections.abc import Callable
from typing import Any

from ...model import Mark

# (output, kind) → the module that renders that kind of mark in that output.
REGISTRY: dict[tuple[str, str], str] = {}
REGISTRY[("apkg", "sound")] = "exporter.exporters.marks.anki_sound"
REGISTRY[("pdf", "sound")] = "exporter.exporters.marks.pdf_sound"
REGISTRY[("apkg", "math")] = "exporter.exporters.marks.anki_math"
REGISTRY[("pdf", "math")] = "exporter.exporters.marks.pdf_math"


def renderer(output: str, **context: Any) -> Callable[[Mark], str]:
    """The function `model.render_marks` calls for every mark in this output."""

    def render(mark: Mark) -> str:
        module = REGISTRY.get((output, mark.kind))
        if module is None:
            return f'<code class="mark-{html.escape(mark.kind)}">{html.escape(mark.source)}</code>'
        return importlib.import_module(module).render(mark, **context)

    return render
