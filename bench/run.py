"""Speed at scale, measured as ratios against a floor built in the same run.

    python -m bench                 # 10,000 facts in 100 files; sheet at 1,000 facts
    python -m bench --facts 2000    # a quicker look
    python -m bench --full-sheet    # also the full sheet at the deck size (slow), with memory
    python -m bench --ankdown PATH  # also ankdown over the same facts (or: ankdown on PATH)

The floor is what any tool must at least do for the same facts: render each question and
answer once with python-markdown and write them with genanki. It is built here, so the
ratios do not depend on the machine. Timings are wall-clock medians of in-process runs;
the no-op rebuild is also timed as a fresh process, as a person running it would. Beside
ankdown, which can only be run as a process, the floor and our build run as fresh
processes too, the floor also on every core: the least a python-markdown tool could take.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.corpus import write_corpus
from bench.floor import floor_deck

HERE = Path(__file__).resolve().parent


def timed(fn, repeat: int = 1) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def ankdown_corpus(notes: Path, target: Path) -> Path:
    """The same facts in ankdown's format (front, `%`, back, `---`)."""
    target.mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(sorted(notes.rglob("*.md"))):
        cards = []
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.lstrip("- ").strip()
            if "::" in stripped:
                question, _, answer = stripped.partition("::")
                cards.append(f"{question.strip()}\n\n%\n\n{answer.strip(': ')}\n")
            elif "{{" in stripped:
                cards.append(f"{stripped}\n\n%\n\n{stripped}\n")
        (target / f"cards-{i:03d}.md").write_text("\n---\n\n".join(cards), encoding="utf-8")
    return target


def build(notes: Path, out: Path, formats: tuple[str, ...], workers: int | None = None):
    from exporter.config import BuildConfig
    from exporter.pipeline import build as run

    config = BuildConfig(notes=notes, out=out, formats=formats)
    if workers is not None:
        config = BuildConfig(notes=notes, out=out, formats=formats, workers=workers)
    with contextlib.redirect_stdout(io.StringIO()):
        result = run(config)
    assert result.ok, [d.format() for d in result.diagnostics]
    return result


def cli_build(notes: Path, out: Path, fmt: str) -> list[str]:
    """The build as a person runs it: a fresh Python process."""
    return [
        sys.executable,
        "-m",
        "exporter",
        "build",
        "--format",
        fmt,
        "--notes",
        str(notes),
        "--out",
        str(out),
    ]


def edit_one(notes: Path, n: int) -> None:
    path = sorted(notes.rglob("*.md"))[len(list(notes.rglob("*.md"))) // 2]
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(" :: ", f" :: edited {n} ", 1), encoding="utf-8")


def fresh(root: Path, files: int, per_file: int) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    return write_corpus(root / "notes", files, per_file)


def tree_rss_mb(root_pid: int) -> float:
    """Resident memory of a process and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                parents[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        rss[int(entry)] = int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(child for child, parent in parents.items() if parent == pid)
    return total / 1024


def child_peak_mb(args: list[str], cwd: Path) -> tuple[float, float, float]:
    """Wall time, the largest single process, and the largest whole process tree (the
    build and its render workers together), sampled every 50 ms."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tree_peak = 0.0
    while proc.poll() is None:
        tree_peak = max(tree_peak, tree_rss_mb(proc.pid))
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "build failed")
    single = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, single, tree_peak


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=10_000, help="deck size (default 10000)")
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--sheet-facts", type=int, default=1_000)
    parser.add_argument("--full-sheet", action="store_true", help="also the full-size sheet")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ankdown", help="an ankdown command to compare with (else PATH)")
    args = parser.parse_args(argv)

    rows: list[tuple[str, str, str]] = []
    per_file = max(args.facts // args.files, 1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)

        # Deck, against the floor.
        notes = fresh(root / "deck", args.files, per_file)
        floor = timed(lambda: floor_deck(notes, root / "floor.apkg"), args.repeat)

        def full_deck() -> None:
            shutil.rmtree(root / "deck/dist", ignore_errors=True)
            (root / "deck/notes.lock.json").unlink(missing_ok=True)
            build(notes, root / "deck/dist", ("apkg",))

        deck = timed(full_deck, args.repeat)
        rows.append(("floor: python-markdown + genanki", f"{floor:.2f} s", "1.00×"))
        rows.append(("deck, full build", f"{deck:.2f} s", f"{deck / floor:.2f}× floor"))
        noop = timed(lambda: build(notes, root / "deck/dist", ("apkg",)), args.repeat)
        rows.append(("deck, no-op rebuild (in process)", f"{noop:.3f} s", f"{noop / floor:.2f}×"))
        cli = cli_build(notes, root / "deck/dist", "apkg")
        noop_cli = timed(lambda: subprocess.run(cli, check=True, capture_output=True), 3)
        rows.append(
            ("deck, no-op rebuild (fresh process)", f"{noop_cli:.3f} s", f"{noop_cli / floor:.2f}×")
        )
        ankdown = args.ankdown or shutil.which("ankdown")
        if ankdown:
            cards = ankdown_corpus(notes, root / "ankdown")
            theirs = timed(
                lambda: subprocess.run(
                    [ankdown, "-r", str(cards), "-p", str(root / "ankdown.apkg")],
                    check=True,
                    capture_output=True,
                ),
                args.repeat,
            )

            def ours_fresh() -> None:
                shutil.rmtree(root / "fresh", ignore_errors=True)
                (root / "deck" / "notes.lock.json").unlink(missing_ok=True)
                subprocess.run(
                    cli_build(notes, root / "fresh", "apkg"),
                    check=True,
                    capture_output=True,
                )

            ours = timed(ours_fresh, args.repeat)
            cores = os.cpu_count() or 1
            floor_cmd = [sys.executable, "-m", "bench.floor", str(notes), str(root / "f.apkg")]
            floors = {
                n: timed(
                    lambda n=n: subprocess.run(
                        [*floor_cmd, "--cores", str(n)],
                        check=True,
                        capture_output=True,
                        cwd=HERE.parent,
                    ),
                    args.repeat,
                )
                for n in sorted({1, cores})
            }
            rows.append(
                (
                    "ankdown, same facts (fresh process)",
                    f"{theirs:.2f} s",
                    f"{theirs / floor:.2f}× floor",
                )
            )
            for n, took in floors.items():
                rows.append(
                    (
                        f"floor on {n} core{'s' if n > 1 else ''} (fresh process)",
                        f"{took:.2f} s",
                        f"{took / theirs:.2f}× ankdown",
                    )
                )
            rows.append(
                (
                    "deck, full build (fresh process)",
                    f"{ours:.2f} s",
                    f"{ours / theirs:.2f}× ankdown",
                )
            )
        counter = iter(range(1000))
        one = timed(
            lambda: (edit_one(notes, next(counter)), build(notes, root / "deck/dist", ("apkg",))),
            args.repeat,
        )
        rows.append(("deck, one file edited", f"{one:.2f} s", f"{one / floor:.2f}×"))

        # Sheet, at a size WeasyPrint can do quickly.
        sheet_files = max(args.sheet_facts // per_file, 1)
        sheet_notes = fresh(root / "sheet", sheet_files, per_file)

        def full_sheet() -> None:
            shutil.rmtree(root / "sheet/dist", ignore_errors=True)
            build(sheet_notes, root / "sheet/dist", ("pdf",))

        full = timed(full_sheet, 1)
        rows.append((f"sheet, full ({args.sheet_facts} facts)", f"{full:.2f} s", "1.00×"))
        edited = timed(
            lambda: (
                edit_one(sheet_notes, next(counter)),
                build(sheet_notes, root / "sheet/dist", ("pdf",)),
            ),
            args.repeat,
        )
        rows.append(
            ("sheet, one file edited", f"{edited:.2f} s", f"{edited / full:.2f}× full sheet")
        )
        serial = timed(
            lambda: (
                shutil.rmtree(root / "sheet/dist", ignore_errors=True),
                build(sheet_notes, root / "sheet/dist", ("pdf",), workers=1),
            ),
            1,
        )
        rows.append(
            (
                "sheet, full, one worker",
                f"{serial:.2f} s",
                f"{full / serial:.2f}× time of the parallel build",
            )
        )

        if args.full_sheet:
            cmd = cli_build(notes, root / "deck/pdf", "pdf")
            wall, single, tree = child_peak_mb(cmd, root)
            rows.append(
                (
                    f"sheet, full ({args.facts} facts), fresh process",
                    f"{wall:.1f} s",
                    f"peak {single:.0f} MB per process, {tree:.0f} MB all processes",
                )
            )
            edit_one(notes, next(counter))
            again = timed(lambda: subprocess.run(cmd, check=True, capture_output=True), 1)
            rows.append(
                (
                    f"sheet, one file edited ({args.facts} facts), fresh process",
                    f"{again:.1f} s",
                    f"{again / wall:.2f}× full sheet",
                )
            )

    width = max(len(r[0]) for r in rows)
    print(
        f"exporter benchmark — {args.facts} facts in {args.files} files; "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores, {platform.machine()}"
    )
    print(f"{'measure'.ljust(width)}  {'time':>9}  ratio")
    for name, value, ratio in rows:
        print(f"{name.ljust(width)}  {value:>9}  {ratio}")


if __name__ == "__main__":
    main()
