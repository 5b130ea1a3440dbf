"""Every target of the performance table (issue 15), measured in one run.

    python -m bench                   # the full run: several minutes
    python -m bench --quick           # 10× fewer facts everywhere: does the script work?
    python -m bench --only deck       # or sheet, subsetter, watch, vault
    python -m bench --vault DIR       # the vault row: a real vault's cold sheet
    python -m bench --markdown        # the table in Markdown, for README's Performance
    python -m bench --ankdown PATH    # the ankdown to compare with (else ankdown on PATH)

Every row is `python build.py build …` run as a fresh process in a folder of its own
holding notes/ and dist/, as a person runs it. Times are judged as ratios against floors
built in the same run on the same facts, so a target means the same on any machine:

- the floor deck, python-markdown + genanki on every core (bench/floor.py);
- the floor sheet, one plain HTML document through WeasyPrint (bench/sheet_floor.py);
- ankdown, a Markdown-to-Anki tool built on a C Markdown library.

Each timing is the median of --repeat runs; the cold deck is judged on its worst run.
The table goes to stdout (progress to stderr); the exit status is 1 when any target is
not met. Other work on the machine slows our build and the floors alike, but not always
at the same moment: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench import deck, sheet, subsetter, table, vault, watch
from bench.workspace import Bench

PER_FILE = 100


def header(bench: Bench) -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return "\n".join(
        [
            f"exporter benchmark — {os.cpu_count()} cores ({platform.machine()}), "
            f"{platform.python_implementation()} {platform.python_version()}, "
            f"{platform.system()} {platform.release()}",
            f"load average at start {load}; {bench.repeat} runs per timing (median); "
            f"ankdown: {bench.ankdown or 'not found'}",
            "Every row is a fresh process (python build.py build …) in a folder of its own,",
            "but the watch rows: one watching process, timed from a save to its outputs.",
            "Run on a quiet machine: other work slows the builds and the floors unevenly.",
        ]
    )


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="10× fewer facts everywhere")
    parser.add_argument(
        "--only",
        choices=("deck", "sheet", "subsetter", "watch", "vault"),
        help="only these rows",
    )
    parser.add_argument("--vault", type=Path, help="a vault to build cold (the vault row)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (default 3)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--ankdown", help="the ankdown command (default: ankdown on PATH)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    # People's Pythons keep compiled bytecode; a machine set not to write it would charge
    # every fresh process for compiling this package (a tenth of a second here).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    ankdown = args.ankdown or shutil.which("ankdown")
    if ankdown and not shutil.which(ankdown):
        print(f"--ankdown {ankdown}: not an executable; ankdown rows skipped", file=sys.stderr)
        ankdown = None
    with tempfile.TemporaryDirectory(prefix="exporter-bench-") as tmp:
        bench = Bench(
            root=Path(tmp),
            repeat=args.repeat,
            per_file=PER_FILE // 10 if args.quick else PER_FILE,
            cores=os.cpu_count() or 1,
            ankdown=ankdown,
        )
        print(header(bench), flush=True)
        rows: list[table.Row] = []
        if args.only in (None, "sheet"):
            rows += sheet.rows(bench)
        if args.only in (None, "subsetter"):
            rows += subsetter.rows(bench)
        if args.only in (None, "deck"):
            rows += deck.rows(bench)
        if args.only in (None, "watch"):
            rows += watch.rows(bench)
        if args.only in (None, "vault"):
            rows += vault.rows(bench, args.vault)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at end {load}")
    print()
    print(table.markdown(rows) if args.markdown else table.plain(rows))
    missed = table.failed(rows)
    print()
    print(f"{len(missed)} of {sum(r.met is not None for r in rows)} targets not met")
    return 1 if missed else 0
