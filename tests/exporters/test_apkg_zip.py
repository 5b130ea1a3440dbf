"""The package's archive: deflated in slices on every core, read back as one stream by
any unzip, the same bytes on one core or many."""

from __future__ import annotations

import random
import subprocess
import zipfile
import zlib

import pytest

from exporter.exporters import apkg_zip


def sample(size: int) -> bytes:
    """Compressible but not trivial: words in a seeded order."""
    rng = random.Random(5)
    words = [b"lithium", b"cobalt", b"TRUST", b"initiative", b"\x00\x01", b"1947"]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words)
    return bytes(out[:size])


@pytest.mark.parametrize("size", [0, 1, 999, 1000, 1001, 4321])
def test_slices_join_into_one_stream_whatever_the_cores(monkeypatch, size):
    monkeypatch.setattr(apkg_zip, "SLICE", 1000)
    data = sample(size)
    one = apkg_zip.deflate(data, 1)
    assert zlib.decompress(one, -15) == data
    assert apkg_zip.deflate(data, 2) == one == apkg_zip.deflate(data, 8)


def test_an_archive_reads_back_with_zipfile_and_unzip(tmp_path, monkeypatch):
    monkeypatch.setattr(apkg_zip, "SLICE", 1 << 12)
    image = tmp_path / "map.png"
    image.write_bytes(sample(10_000))
    target = tmp_path / "deck.apkg"
    collection = sample(50_000)
    apkg_zip.write_zip(target, collection, [("map.png", image), ("naïve.png", image)])
    with zipfile.ZipFile(target) as zf:
        assert zf.testzip() is None
        assert zf.namelist() == ["collection.anki2", "media", "0", "1"]
        assert zf.read("collection.anki2") == collection
        assert zf.read("media") == b'{"0": "map.png", "1": "na\\u00efve.png"}'
        assert zf.read("1") == image.read_bytes()
        for info in zf.infolist():
            assert info.date_time == apkg_zip.DATE and info.external_attr == apkg_zip.ATTRIBUTES
            assert info.compress_type == zipfile.ZIP_DEFLATED
    tested = subprocess.run(["unzip", "-t", str(target)], capture_output=True, text=True)
    assert tested.returncode == 0 and "No errors detected" in tested.stdout


def test_past_the_limits_zipfile_writes_the_same_bytes(tmp_path, monkeypatch):
    """Up to one slice an entry, the archive is byte for byte the one `zipfile` writes:
    the same headers, and one deflate stream at the same level."""
    image = tmp_path / "map.png"
    image.write_bytes(sample(3000))
    media = [("map.png", image)]
    ours, theirs = tmp_path / "ours.apkg", tmp_path / "theirs.apkg"
    apkg_zip.write_zip(ours, sample(20_000), media)
    monkeypatch.setattr(apkg_zip, "MOST_ENTRIES", 2)
    calls = []
    real = apkg_zip.write_with_zipfile
    monkeypatch.setattr(apkg_zip, "write_with_zipfile", lambda *a: (calls.append(a), real(*a))[1])
    apkg_zip.write_zip(theirs, sample(20_000), media)
    assert len(calls) == 1
    assert ours.read_bytes() == theirs.read_bytes()
