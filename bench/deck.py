"""The deck's rows (`--format apkg`), each our build as a fresh process.

At 100 files (10,000 facts):
- cold (no dist, no lock) against the floor deck (bench/floor.py on every core) run the
  same way, the two alternating; judged on the worst ratio of the runs, since the target
  holds "in every run";
- one file edited, and nothing changed, against ankdown's full build of the same facts;
- the no-op build must not import WeasyPrint or genanki: run once more under
  `python -X importtime`, whose report on stderr names every module imported.

At 1,000 files (100,000 facts):
- cold, the largest process's peak memory against the floor's (both sampled);
- one file edited, against ankdown's full build.

Without ankdown its rows still show our time, with the comparison skipped.
"""

from __future__ import annotations

from bench import measure
from bench.table import Row, Target, checked, median, megabytes, seconds, skipped, times
from bench.workspace import Bench, Folder, ankdown, ankdown_corpus, bench_env, floor_deck

FILES = 100
BIG_FILES = 1_000
HEAVY = frozenset({"weasyprint", "genanki"})
NO_ANKDOWN = "ankdown not found (pip install ankdown)"

COLD = Target(1.2, "≤ 1.2× floor, every run")
EDITED = Target(0.55, "≤ 0.55× ankdown")
NOOP = Target(0.3, "≤ 0.3× ankdown")
NOOP_IMPORTS = Target(0, "imports neither weasyprint nor genanki")
BIG_EDITED = Target(0.2, "≤ 0.2× ankdown")
BIG_MEMORY = Target(2.5, "≤ 2.5× floor's largest process")


def heavy_imports(importtime: str) -> set[str]:
    """The heavy packages named in a `python -X importtime` report: its lines read
    `import time: self | cumulative | <indent>package.module`."""
    found = set()
    for line in importtime.splitlines():
        if line.startswith("import time:") and "|" in line:
            top = line.rsplit("|", 1)[1].strip().split(".")[0]
            if top in HEAVY:
                found.add(top)
    return found


def rows(bench: Bench) -> list[Row]:
    return ten_thousand(bench) + hundred_thousand(bench)


def ankdown_time(bench: Bench, here: Folder, size: str) -> float | None:
    """Median of ankdown's full builds of the folder's facts, or None without ankdown."""
    if not bench.ankdown:
        return None
    cards = ankdown_corpus(here.notes, here.root / "ankdown")
    runs = []
    for i in range(bench.repeat):
        bench.log(f"ankdown, {size} ({i + 1}/{bench.repeat})")
        cmd = ankdown(bench.ankdown, cards, here.root / "ankdown.apkg")
        runs.append(measure.run(cmd, here.root).wall)
    return median(runs)


def against_ankdown(measure_name: str, ours: float, theirs: float | None, target: Target) -> Row:
    if theirs is None:
        return skipped(measure_name, NO_ANKDOWN, seconds(ours), target.text)
    return checked(
        measure_name, seconds(ours), times(ours / theirs, "ankdown"), ours / theirs, target
    )


def edited_runs(bench: Bench, here: Folder, what: str) -> float:
    """Median time of a rebuild after rewording one answer (a build must precede)."""
    runs = []
    for i in range(bench.repeat):
        bench.log(f"deck, one file edited, {what} ({i + 1}/{bench.repeat})")
        here.edit_one(i)
        runs.append(measure.run(here.build("apkg"), here.root).wall)
    return median(runs)


def ten_thousand(bench: Bench) -> list[Row]:
    here = bench.folder("deck", FILES)
    size = bench.facts(FILES)
    theirs = ankdown_time(bench, here, size)  # before any edit: the corpus as generated

    floors, ours = [], []
    for i in range(bench.repeat):
        bench.log(f"floor deck, {size}, {bench.cores} cores ({i + 1}/{bench.repeat})")
        cmd = floor_deck(here.notes, here.root / "floor.apkg", bench.cores)
        floors.append(measure.run(cmd, here.root, env=bench_env()).wall)
        bench.log(f"deck, cold, {size} ({i + 1}/{bench.repeat})")
        here.make_cold()
        ours.append(measure.run(here.build("apkg"), here.root).wall)
    ratios = [o / f for o, f in zip(ours, floors, strict=True)]
    worst = max(ratios)
    edited = edited_runs(bench, here, size)

    noops = []
    for i in range(bench.repeat):
        bench.log(f"deck, nothing changed, {size} ({i + 1}/{bench.repeat})")
        noops.append(measure.run(here.build("apkg"), here.root).wall)
    bench.log(f"deck, nothing changed, {size}, under -X importtime")
    report = measure.run(here.build("apkg", python=("-X", "importtime")), here.root).stderr
    heavy = sorted(heavy_imports(report))

    return [
        Row(
            f"floor: python-markdown + genanki, {size}, {bench.cores} cores",
            seconds(median(floors)),
            "1.00×",
        ),
        ankdown_row(size, theirs),
        checked(
            f"deck, {size}, cold",
            seconds(median(ours)),
            f"{times(median(ratios), 'floor')}, worst {worst:.2f}×",
            worst,
            COLD,
        ),
        against_ankdown(f"deck, {size}, one file edited", edited, theirs, EDITED),
        against_ankdown(f"deck, {size}, nothing changed", median(noops), theirs, NOOP),
        checked(
            "…its imports (python -X importtime)",
            ", ".join(heavy) or "neither",
            "",
            len(heavy),
            NOOP_IMPORTS,
        ),
    ]


def ankdown_row(size: str, theirs: float | None) -> Row:
    if theirs is None:
        return skipped(f"ankdown, {size}, full build", NO_ANKDOWN)
    return Row(f"ankdown, {size}, full build", seconds(theirs))


def hundred_thousand(bench: Bench) -> list[Row]:
    here = bench.folder("deck-big", BIG_FILES)
    size = bench.facts(BIG_FILES)
    theirs = ankdown_time(bench, here, size)

    bench.log(f"floor deck, {size}, {bench.cores} cores, with memory")
    cmd = floor_deck(here.notes, here.root / "floor.apkg", bench.cores)
    floor = measure.run(cmd, here.root, env=bench_env(), memory=True)
    bench.log(f"deck, cold, {size}, with memory")
    cold = measure.run(here.build("apkg"), here.root, memory=True)
    edited = edited_runs(bench, here, size)

    ratio = cold.peak_mb / floor.peak_mb
    return [
        Row(
            f"floor: python-markdown + genanki, {size}, {bench.cores} cores",
            seconds(floor.wall),
            "1.00×",
        ),
        Row("…its largest process", megabytes(floor.peak_mb)),
        ankdown_row(size, theirs),
        Row(
            f"deck, {size}, cold (once)", seconds(cold.wall), times(cold.wall / floor.wall, "floor")
        ),
        checked(
            "…its largest process",
            megabytes(cold.peak_mb),
            times(ratio, "floor's"),
            ratio,
            BIG_MEMORY,
        ),
        against_ankdown(f"deck, {size}, one file edited", edited, theirs, BIG_EDITED),
    ]
