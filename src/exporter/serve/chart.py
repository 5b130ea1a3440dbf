"""The overview's counts as a picture: horizontal bars drawn as SVG on the server, so the
page needs no chart library. Every label is escaped text from the notes."""

from __future__ import annotations

from html import escape

BAR = 18  # height of one row, px
LABEL = 220  # width of the label column, px
WIDTH = 640
MAX_ROWS = 30


def bars(title: str, counts: dict[str, int], unit: str = "cards") -> str:
    """An SVG of `counts`, largest first (the first `MAX_ROWS`), each bar labelled."""
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_ROWS]
    top = max((n for _, n in rows), default=1) or 1
    span = WIDTH - LABEL - 60
    height = BAR * len(rows) + 30
    out = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<text class="chart-title" x="0" y="14">{escape(title)}</text>',
    ]
    for i, (name, n) in enumerate(rows):
        y = 24 + i * BAR
        width = max(round(span * n / top), 1)
        shown = name if len(name) <= 34 else name[:33] + "…"
        out += [
            f'<text class="chart-label" x="{LABEL - 8}" y="{y + 12}" text-anchor="end">'
            f"<title>{escape(name)}</title>{escape(shown)}</text>",
            f'<rect class="chart-bar" x="{LABEL}" y="{y + 2}" width="{width}" height="{BAR - 5}"/>',
            f'<text class="chart-count" x="{LABEL + width + 6}" y="{y + 12}">{n} {unit}</text>',
        ]
    out.append("</svg>")
    return "".join(out)
