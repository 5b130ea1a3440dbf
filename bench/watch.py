"""The warm `watch` rows: a save of one note in a 10,000-fact library, timed from the
file's write to the new outputs being in place, as the person who saved it waits.

`python build.py watch` runs as a subprocess in a folder of its own. After its first
build, one note is saved (an answer reworded, each time differently) and the outputs
are polled until each has been replaced: the deck alone for the deck row; the whole
sheet and that note's own sheet for the sheet row. Any debounce counts. Each row is the
median of --repeat saves, a pause apart, in one watching process.

The deck's floor is what any build that must give a clean build's bytes does after any
edit: write the package from rows already made (`bench.package_floor`), and wait out the
debounce.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.table import Row, Target, checked, median, seconds, times
from bench.workspace import BUILD, Bench, Folder, bench_env, floor_edit
from exporter.watch import DEBOUNCE_SECONDS

FILES = 100
DECK = Target(0.25, "≤ 0.25 s")
SHEET = Target(1.0, "≤ 1.0 s")
# The longest a save may take to show before the row gives up on it.
GIVE_UP = 300.0
# Between saves: the watcher must see each as its own.
PAUSE = 1.0


def rows(bench: Bench) -> list[Row]:
    size = bench.facts(FILES)
    here = bench.folder("watch-deck", FILES)
    deck = saves(bench, here, "apkg", f"deck, {size}")
    bench.log(f"floor: the package write alone, {size}")
    cmd = [sys.executable, "-m", "bench.package_floor", str(here.dist / "notes.apkg")]
    done = subprocess.run(cmd, cwd=here.root, env=bench_env(), capture_output=True, text=True)
    floor = float(done.stdout.strip())
    floor += DEBOUNCE_SECONDS
    here = bench.folder("watch-sheet", FILES)
    sheet = saves(bench, here, "pdf", f"sheet, {size}")
    bench.log(f"floor: the saved note's render alone, warm, {size}")
    cmd = [*floor_edit(here.notes, saved_note(here), here.root / "alone.pdf"), "--warm"]
    done = subprocess.run(cmd, cwd=here.root, env=bench_env(), capture_output=True, text=True)
    render = float(done.stdout.strip()) + DEBOUNCE_SECONDS
    return [
        Row(
            f"floor: the package write alone (rows made), {size}, and the debounce",
            seconds(floor),
            "1.00×",
        ),
        checked(
            f"watch: deck, {size}, one file saved",
            seconds(deck),
            times(deck / floor, "floor"),
            deck,
            DECK,
        ),
        Row(
            f"floor: the saved note's render alone in a warm process, {size}, and the debounce",
            seconds(render),
            "1.00×",
        ),
        checked(
            f"watch: sheet and note sheet, {size}, one file saved",
            seconds(sheet),
            times(sheet / render, "floor"),
            sheet,
            SHEET,
        ),
    ]


def signature(path: Path) -> tuple[int, int] | None:
    """What changes when a file is replaced: its inode and modification time."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def saves(bench: Bench, here: Folder, fmt: str, what: str) -> float:
    """The median time from a save to its outputs in place, in one watching process."""
    cmd = [sys.executable, str(BUILD), "watch", "--notes", "notes", "--out", "dist"]
    process = subprocess.Popen(
        [*cmd, "--format", fmt],
        cwd=here.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    built = threading.Event()
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith(("built ", "up to date")):
                built.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        bench.log(f"watch: first build, {what}")
        if not built.wait(GIVE_UP):
            raise RuntimeError(f"watch did not build: {''.join(lines[-20:])}")
        runs = []
        for i in range(bench.repeat):
            time.sleep(PAUSE)
            bench.log(f"watch: one file saved, {what} ({i + 1}/{bench.repeat})")
            runs.append(one_save(here, fmt, i))
        return median(runs)
    finally:
        process.terminate()
        process.wait(timeout=60)


def saved_note(here: Folder) -> Path:
    paths = sorted(here.notes.rglob("*.md"))
    return paths[len(paths) // 2]


def one_save(here: Folder, fmt: str, n: int) -> float:
    note = saved_note(here)
    outputs = [here.dist / "notes.apkg"]
    if fmt == "pdf":
        rel = note.relative_to(here.notes).with_suffix(".pdf")
        outputs = [here.dist / "notes.pdf", here.dist / "sheets" / rel]
    before = [signature(p) for p in outputs]
    text = note.read_text(encoding="utf-8").replace(" :: ", f" :: saved {n} ", 1)
    start = time.perf_counter()
    note.write_text(text, encoding="utf-8")
    while time.perf_counter() - start < GIVE_UP:
        if all(signature(p) != b for p, b in zip(outputs, before, strict=True)):
            return time.perf_counter() - start
        time.sleep(0.002)
    raise RuntimeError(f"the outputs did not change within {GIVE_UP:.0f} s of a save")
