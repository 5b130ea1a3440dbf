"""The `.apkg` archive: its entries in a fixed order with fixed dates, so the same deck
gives the same bytes, each deflated in fixed slices on every core.

A 100,000-fact collection is 64 MB, and deflating it in one stream was a seventh of a
build after an edit. zlib works on a slice without holding the GIL, so slices compress
side by side. Each slice but the last ends on a sync flush, as pigz's do: the stream is
then byte-aligned and unfinished, so the slices joined are one deflate stream that any
unzip reads. The slices are of fixed size, so the bytes do not depend on the cores.

Python's `zipfile` cannot take data already deflated, so the archive is written here:
local headers, data, central directory, end record, with no ZIP64 (Anki's own packages
stay far below its limits). A package beyond them (over 65,534 media files, or an entry
of 4 GiB) is written by `zipfile` instead, one stream an entry.
"""

from __future__ import annotations

import json
import os
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DATE = (2020, 1, 1, 0, 0, 0)
LEVEL = 1  # the collection compresses three-fold at level 1 too, in half the time
SLICE = 1 << 22
VERSION = 20  # 2.0: deflate
UNIX = 3
ATTRIBUTES = 0o644 << 16
# What an archive without ZIP64 can hold.
MOST_ENTRIES = 0xFFFF - 1
MOST_BYTES = 0xFFFFFFFF - 1


def dos_time(date: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date
    return hour << 11 | minute << 5 | second // 2, (year - 1980) << 9 | month << 5 | day


TIME, DAY = dos_time(DATE)


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def deflate(data: bytes, workers: int) -> bytes:
    """Raw deflate of `data` in `SLICE`-sized slices joined into one stream."""
    view = memoryview(data)
    slices = [view[i : i + SLICE] for i in range(0, len(data), SLICE)] or [view]
    last = len(slices) - 1

    def one(i: int) -> bytes:
        stream = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
        end = zlib.Z_FINISH if i == last else zlib.Z_SYNC_FLUSH
        return stream.compress(slices[i]) + stream.flush(end)

    if workers > 1 and last > 0:
        with ThreadPoolExecutor(min(workers, len(slices))) as pool:
            return b"".join(pool.map(one, range(len(slices))))
    return b"".join(one(i) for i in range(len(slices)))


def entries_of(collection: bytes, media: list[tuple[str, Path]]) -> Iterator[tuple[str, bytes]]:
    """The package's entries in order: the collection, the media map (`"0"` → the
    media file's name), then each media file under its number, read when written."""
    yield "collection.anki2", collection
    mapping = {str(i): name for i, (name, _) in enumerate(media)}
    yield "media", json.dumps(mapping, sort_keys=True).encode()
    for i, (_, path) in enumerate(media):
        yield str(i), path.read_bytes()


def write_zip(target: Path, collection: bytes, media: list[tuple[str, Path]]) -> None:
    if len(media) + 2 > MOST_ENTRIES or len(collection) > MOST_BYTES:
        write_with_zipfile(target, entries_of(collection, media))
        return
    write(target, entries_of(collection, media), cores())


def write(target: Path, entries: Iterable[tuple[str, bytes]], workers: int) -> None:
    central: list[bytes] = []
    offset = 0
    with open(target, "wb") as out:
        for name, data in entries:
            if len(data) > MOST_BYTES:
                raise ValueError(f"{name} is too large for an archive without ZIP64")
            raw = name.encode("utf-8")
            flags = 0 if raw.isascii() else 0x800  # the name is UTF-8
            packed = deflate(data, workers)
            fields = (flags, 8, TIME, DAY, zlib.crc32(data), len(packed), len(data), len(raw))
            local = struct.pack("<IH4H3IHH", 0x04034B50, VERSION, *fields, 0) + raw
            out.write(local)
            out.write(packed)
            central.append(
                struct.pack(
                    "<I2H4H3I5HII",
                    0x02014B50,
                    UNIX << 8 | VERSION,
                    VERSION,
                    *fields,
                    0,  # extra field
                    0,  # comment
                    0,  # disk
                    0,  # internal attributes
                    ATTRIBUTES,
                    offset,
                )
                + raw
            )
            offset += len(local) + len(packed)
        directory = b"".join(central)
        count = len(central)
        out.write(directory)
        out.write(struct.pack("<I4H2IH", 0x06054B50, 0, 0, count, count, len(directory), offset, 0))


def write_with_zipfile(target: Path, entries: Iterable[tuple[str, bytes]]) -> None:
    """The same entries through `zipfile`, which writes ZIP64 where it must."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = ATTRIBUTES
            zf.writestr(info, data, compresslevel=LEVEL)
