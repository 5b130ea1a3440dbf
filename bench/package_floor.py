"""The package floor: writing an `.apkg` whose rows are already made, and nothing else.

    python -m bench.package_floor dist/notes.apkg [--repeat 3]

Reads the collection out of a built package, then times, in this process, what any build
that must give the same bytes does after an edit however little it changed: a new SQLite
database with the collection's tables, every row inserted in id order, the indexes built
after, and the whole deflated at level 1 on every core, as the package's archive is
(`exporters/apkg_zip.py`). Prints the median seconds.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
import zipfile
from pathlib import Path

from exporter.exporters.apkg_zip import cores, deflate


def rows_of(package: Path) -> tuple[list[str], list[str], dict[str, list[tuple]]]:
    with zipfile.ZipFile(package) as zf:
        data = zf.read("collection.anki2")
    source = sqlite3.connect(":memory:")
    source.deserialize(data)
    tables = source.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL"
    ).fetchall()
    indexes = [
        sql
        for (sql,) in source.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
    ]
    rows = {name: source.execute(f'SELECT * FROM "{name}"').fetchall() for name, _ in tables}
    return [sql for _, sql in tables], indexes, rows


def write(tables: list[str], indexes: list[str], rows: dict[str, list[tuple]]) -> bytes:
    conn = sqlite3.connect(":memory:")
    for sql in tables:
        conn.execute(sql)
    for name, table_rows in rows.items():
        if table_rows:
            marks = ",".join("?" * len(table_rows[0]))
            conn.executemany(f'INSERT INTO "{name}" VALUES ({marks})', table_rows)
    for sql in indexes:
        conn.execute(sql)
    conn.commit()
    data = conn.serialize()
    conn.close()
    return deflate(data, cores())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.package_floor")
    parser.add_argument("package", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    tables, indexes, rows = rows_of(args.package)
    runs = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        write(tables, indexes, rows)
        runs.append(time.perf_counter() - start)
    print(f"{statistics.median(runs):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
