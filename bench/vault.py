"""The vault row (`--vault DIR`): the cold sheet of a real vault, against plain WeasyPrint
over the same Markdown in one process (bench/vault_floor.py).

The vault is copied into a folder of its own as `notes/` and built as a fresh process
(`python build.py build --format pdf`), cold, once; the floor runs once too. Without
`--vault` the row is skipped, saying so. The issue's vault is the English Obsidian help
(`obsidianmd/obsidian-help`, its `en/` folder).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from bench import measure
from bench.table import Row, Target, checked, seconds, skipped, times
from bench.workspace import Bench, Folder, bench_env

COLD = Target(1.0, "≤ 1.0× plain WeasyPrint")
MEASURE = "vault, cold sheet"


def rows(bench: Bench, vault: Path | None) -> list[Row]:
    if vault is None:
        return [skipped(MEASURE, "no --vault DIR given", target=COLD.text)]
    here = Folder(bench.root / "vault")
    shutil.rmtree(here.root, ignore_errors=True)
    shutil.copytree(vault, here.notes, ignore=shutil.ignore_patterns(".*"))
    count = sum(1 for _ in here.notes.rglob("*.md"))
    what = f"{vault.name}, {count} notes"
    bench.log(f"vault floor: plain WeasyPrint, {what}")
    cmd = [sys.executable, "-m", "bench.vault_floor", str(here.notes), str(here.root / "f.pdf")]
    floor = measure.run(cmd, here.root, env=bench_env())
    bench.log(f"vault, cold sheet, {what}")
    ours = measure.run(here.build("pdf"), here.root)
    ratio = ours.wall / floor.wall
    return [
        Row(
            f"floor: plain WeasyPrint over the same Markdown, {what}",
            seconds(floor.wall),
            "1.00×",
        ),
        checked(
            f"{MEASURE}, {what}",
            seconds(ours.wall),
            f"{times(ratio, 'floor')} at {ours.cpu_share:.0%} CPU",
            ratio,
            COLD,
        ),
    ]
