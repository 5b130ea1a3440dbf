"""The sheet without the system's font subsetter (issue 19): a cold sheet of 24 notes,
each with an image, built three ways in one run, alternating so a busy spell hits all:

- ours: the wheel's HarfBuzz (exporters/pdf/subset.py), what every machine runs;
- WeasyPrint's own choice with the system's `libharfbuzz-subset` (skipped where the
  machine lacks it: `apt-get install libharfbuzz-subset0` to have the row);
- WeasyPrint's fontTools fallback, what a machine without that package ran before.

The target: ours within 1.2× of the system library's time.
"""

from __future__ import annotations

import ctypes.util
import os
import zlib

from bench import measure
from bench.table import Row, Target, checked, median, seconds, skipped, times
from bench.workspace import Bench, Folder

FILES = 24
WITHIN = Target(1.2, "≤ 1.2× with libharfbuzz-subset")
WAYS = {
    "harfbuzz": "ours (the wheel's HarfBuzz)",
    "weasyprint": "WeasyPrint with the system's libharfbuzz-subset",
    "fonttools": "WeasyPrint's fontTools fallback (no libharfbuzz-subset)",
}


def png(width: int, height: int, shade: int) -> bytes:
    """A small grey PNG: enough for the sheet to lay out and embed an image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    rows = b"".join(b"\0" + bytes([shade]) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def with_images(here: Folder) -> None:
    """One image a note, under its first heading."""
    for i, path in enumerate(sorted(here.notes.rglob("*.md"))):
        (path.parent / f"figure-{i}.png").write_bytes(png(160, 90, 40 + i * 8))
        text = path.read_text(encoding="utf-8")
        path.write_text(text + f"\n\n![Figure {i}](figure-{i}.png)\n", encoding="utf-8")


def rows(bench: Bench) -> list[Row]:
    here = bench.folder("subsetter", FILES)
    with_images(here)
    size = bench.facts(FILES)
    system = ctypes.util.find_library("harfbuzz-subset") is not None
    ways = [w for w in WAYS if system or w != "weasyprint"]
    walls: dict[str, list[float]] = {w: [] for w in ways}
    for i in range(bench.repeat):
        for way in ways:
            bench.log(f"sheet, cold, {size} with images, {way} ({i + 1}/{bench.repeat})")
            here.make_cold()
            env = {**os.environ, "EXPORTER_SUBSETTER": way}
            walls[way].append(measure.run(here.build("pdf"), here.root, env=env).wall)
    took = {w: median(v) for w, v in walls.items()}
    title = f"sheet, {size} with images, cold: "
    out = [Row(title + WAYS["fonttools"], seconds(took["fonttools"]))]
    if not system:
        return [
            *out,
            skipped(
                title + WAYS["harfbuzz"],
                "no libharfbuzz-subset here to compare with (apt-get install libharfbuzz-subset0)",
                seconds(took["harfbuzz"]),
                WITHIN.text,
            ),
        ]
    ratio = took["harfbuzz"] / took["weasyprint"]
    return [
        *out,
        Row(title + WAYS["weasyprint"], seconds(took["weasyprint"]), "1.00×"),
        checked(
            title + WAYS["harfbuzz"],
            seconds(took["harfbuzz"]),
            times(ratio, "with the system library"),
            ratio,
            WITHIN,
        ),
    ]
