"""The command line. Commands call the pipeline and print; they hold no build logic.

Exit codes: 0 success, 1 problems in the notes (or warnings under --strict), 2 usage.
"""

from __future__ import annotations

import contextlib
import os
import sys
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import __version__, exporters, identity
from .config import CARD_SIZES, DUPLEX, BuildConfig
from .diagnostics import Diagnostic, has_errors
from .identity import Report
from .pipeline import BuildResult, build, examine
from .sources import display_path
from .store import cache_root

if TYPE_CHECKING:
    from .sync import Target


def print_diagnostics(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> None:
    for d in diagnostics:
        click.echo(printable(d.format()), err=True)


# Bidirectional overrides reorder what the terminal shows; C0/C1 controls (ESC) drive it.
BIDI_CONTROLS = set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))


def printable(line: str) -> str:
    """A line for the terminal with every control character from a note written as an
    escape (`\\x1b`), so a note cannot move the cursor, recolour or retitle the terminal."""
    if line.isprintable():
        return line
    return "".join(
        f"\\x{ord(c):02x}"
        if unicodedata.category(c) == "Cc" and c != "\t"
        else f"\\u{ord(c):04x}"
        if ord(c) in BIDI_CONTROLS
        else c
        for c in line
    )


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(result: BuildResult, config: BuildConfig | None = None) -> str:
    notes, facts, cards = result.counts
    counts = f"{plural(notes, 'note')}, {plural(facts, 'fact')}, {plural(cards, 'card')}"
    errors = sum(d.is_error for d in result.diagnostics)
    warnings = len(result.diagnostics) - errors
    problems = (
        f"; {plural(errors, 'error')}, {plural(warnings, 'warning')}" if result.diagnostics else ""
    )
    if not result.ok:
        return f"build failed: {counts}{problems}; nothing written"
    if result.up_to_date:
        return f"up to date: {counts}; nothing to do"
    if not result.outputs:
        return f"dry run: {counts}{problems}; nothing written"
    return f"built {counts}{problems} → {written(result.outputs, config)}"


FILES_LISTED = 3


def written(outputs: tuple[Path, ...], config: BuildConfig | None) -> str:
    """The whole outputs by name; the files in a folder an exporter owns (one sheet per
    note) by name only while they are few, so a hundred notes do not make a hundred-path
    line."""
    owned = (
        {
            folder: kind
            for name in exporters.asked(config)
            for folder, kind in exporters.get(name).folders(config).items()
        }
        if config is not None
        else {}
    )
    names = []
    inside: dict[Path, list[Path]] = {}
    for path in outputs:
        folder = next((f for f in owned if f in path.parents), None)
        if folder is None:
            names.append(display_path(path))
        else:
            inside.setdefault(folder, []).append(path)
    for folder, paths in inside.items():
        if len(paths) > FILES_LISTED:
            names.append(f"{plural(len(paths), owned[folder])} in {display_path(folder)}/")
        else:
            names += [display_path(p) for p in paths]
    return ", ".join(names)


REPORT_ORDER = ("new", "edited", "moved", "moved+edited", "restored", "removed")
REPORT_LIMIT = 15


def report_lines(report: Report | None, notes: Path) -> list[str]:
    """What changed since the lock, fact by fact, with paths written as in errors."""
    if report is None:
        return []
    if report.is_empty:
        return ["no changes since the lock"]
    counts = [f"{len(report.of(s))} {s}" for s in REPORT_ORDER if report.of(s)]
    lines = ["changes since the lock: " + ", ".join(counts)] if counts else []
    for status in REPORT_ORDER:
        changes = report.of(status)
        shown = changes if status == "removed" else changes[:REPORT_LIMIT]
        for change in shown:
            where = display_path(notes / change.where)
            lines.append(f"  {status:<12} {where}  {shorten(change.question)}")
        if len(shown) < len(changes):
            lines.append(f"  … and {len(changes) - len(shown)} more {status}")
    return lines


def shorten(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def print_result(result: BuildResult, config: BuildConfig) -> None:
    print_diagnostics(result.diagnostics)
    if result.ok and not result.up_to_date:
        for line in report_lines(result.report, config.notes):
            click.echo(printable(line))
    if result.ok:
        for line in result.advice:
            click.echo(printable(line))
    click.echo(summary(result, config))


@contextlib.contextmanager
def progress_line() -> Iterator[Callable[[str], None] | None]:
    """One updating line on a terminal; nothing in pipes, logs and CI."""
    stream = sys.stderr
    if not stream.isatty() or os.environ.get("CI"):
        yield None
        return
    shown = [False]

    def show(message: str) -> None:
        shown[0] = True
        stream.write("\r\x1b[K" + shorten(message, 78))
        stream.flush()

    try:
        yield show
    finally:
        if shown[0]:
            stream.write("\r\x1b[K")
            stream.flush()


notes_option = click.option(
    "--notes",
    "notes",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("notes"),
    show_default=True,
    help="Folder of Markdown notes (read; only `pull --apply` writes in it).",
)


out_option = click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("dist"),
    show_default=True,
    help="Output folder.",
)
formats_option = click.option(
    "--format",
    "formats",
    type=click.Choice(exporters.NAMES),
    multiple=True,
    help="Output to write; repeat for several. Default: apkg and pdf.",
)
strict_option = click.option("--strict", is_flag=True, help="Treat warnings as errors.")
ANKI_CONNECT = "http://127.0.0.1:8765"


def anki_options(
    lead: str, file_note: str, must_exist: bool = False
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """`--collection`, `--profile` and `--anki-connect`: where a command finds Anki."""

    def said(text: str) -> str:
        return (lead + text)[:1].upper() + (lead + text)[1:]

    def apply(command: Callable[..., None]) -> Callable[..., None]:
        for option in (
            click.option(
                "--anki-connect",
                "anki_connect",
                is_flag=False,
                flag_value=ANKI_CONNECT,
                default=None,
                help=said(f"a running Anki, through AnkiConnect (default {ANKI_CONNECT})."),
            ),
            click.option(
                "--profile",
                help=said("an Anki profile's name: its collection in Anki's data folder."),
            ),
            click.option(
                "--collection",
                "collection_path",
                type=click.Path(path_type=Path, dir_okay=False, exists=must_exist),
                help=said(f"an Anki collection file (collection.anki2); {file_note}."),
            ),
        ):
            command = option(command)
        return command

    return apply


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="exporter")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Build Anki decks and PDF revision sheets from Markdown notes.

    With no command, builds notes/ into dist/ (the same as `build`).
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(build_command)


@contextlib.contextmanager
def unwritable_outputs() -> Iterator[None]:
    """An output folder that cannot be written is one line with what to do, not a
    traceback; the command's own guarantees leave everything as it was."""
    try:
        yield
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        raise click.ClickException(
            f"cannot write the outputs:{where}: {exc.strerror or exc}; nothing was "
            "changed — check the output folder's permissions and free space"
        ) from exc


@main.command("build")
@notes_option
@out_option
@formats_option
@strict_option
@click.option("--tag", "tags", multiple=True, help="Only facts with this tag; repeatable.")
@click.option("--self-test", is_flag=True, help="Also write a sheet with answers blanked.")
@click.option("--dry-run", is_flag=True, help="Parse and report; write nothing.")
@click.option(
    "--forget-removed",
    is_flag=True,
    help="You deleted the removed facts' notes in Anki yourself: stop reminding.",
)
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter"]),
    default="a4",
    show_default=True,
    help="Paper size of the sheets and the printed cards.",
)
@click.option(
    "--card-size",
    type=click.Choice(CARD_SIZES),
    default="8-up",
    show_default=True,
    help="Printed cards (--format cards): eight to a sheet with cut marks, or one to a "
    "page of 3x5 in or A7 index cards.",
)
@click.option(
    "--duplex",
    type=click.Choice(DUPLEX),
    default="long-edge",
    show_default=True,
    help="Printed cards: the edge your printer turns the paper on for the backs.",
)
def build_command(
    notes: Path = Path("notes"),
    out: Path = Path("dist"),
    formats: tuple[str, ...] = (),
    strict: bool = False,
    tags: tuple[str, ...] = (),
    self_test: bool = False,
    dry_run: bool = False,
    forget_removed: bool = False,
    paper: str = "a4",
    card_size: str = "8-up",
    duplex: str = "long-edge",
) -> None:
    """Build the deck and the sheet."""
    config = BuildConfig(
        notes=notes,
        out=out,
        formats=formats,
        strict=strict,
        tags=tags,
        self_test=self_test,
        dry_run=dry_run,
        forget_removed=forget_removed,
        paper=paper,
        card_size=card_size,
        duplex=duplex,
    )
    with progress_line() as progress, unwritable_outputs():
        result = build(config, progress, on_wait=lambda m: click.echo(m, err=True))
    print_result(result, config)
    if not result.ok:
        sys.exit(1)


@main.command("check")
@notes_option
@strict_option
@click.option("--removed", is_flag=True, help="List removed facts that may still be in Anki.")
def check_command(notes: Path, strict: bool, removed: bool) -> None:
    """Parse the notes and report every problem a build would; write nothing."""
    config = BuildConfig(notes=notes, strict=strict)
    examined = examine(config)
    diags = examined.diagnostics
    print_diagnostics(diags)
    if examined.lock is not None:
        *_, report = identity.resolve(examined.deck, examined.lock, lambda: 0, None, config.scope)
        for line in pending_lines(report.pending, config, listed=removed):
            click.echo(printable(line))
    errors = sum(d.is_error for d in diags)
    deck = examined.deck
    left = (
        f" ({examined.left_out} left out: .exporterignore, templates, exporter: false)"
        if examined.left_out
        else ""
    )
    click.echo(
        f"checked {plural(len(deck.notes), 'note')}{left}, "
        f"{plural(len(deck.facts), 'fact')}: "
        f"{plural(errors, 'error')}, {plural(len(diags) - errors, 'warning')}"
    )
    if has_errors(diags, strict):
        sys.exit(1)


def pending_lines(pending, config: BuildConfig, listed: bool) -> list[str]:
    """How many removed facts may still be in Anki; with `listed`, which."""
    if not pending:
        return ["no removed facts are waiting to be deleted from Anki"] if listed else []
    lines = [
        f"{plural(len(pending), 'removed fact')} may still be in Anki: "
        "`python build.py sync` deletes them"
        + ("" if listed else "; `python build.py check --removed` lists them")
    ]
    if listed:
        lines += [
            f"  {display_path(config.notes / e.path)}  {shorten(e.question)}" for e in pending
        ]
    return lines


@main.command("watch")
@notes_option
@out_option
@formats_option
@strict_option
@click.option(
    "--sync",
    "and_sync",
    is_flag=True,
    help="Also sync Anki after each save that builds (with --collection, --profile or "
    "--anki-connect).",
)
@anki_options("With --sync: ", "Anki must be closed")
def watch_command(
    notes: Path,
    out: Path,
    formats: tuple[str, ...],
    strict: bool,
    and_sync: bool = False,
    collection_path: Path | None = None,
    profile: str | None = None,
    anki_connect: str | None = None,
) -> None:
    """Rebuild whenever a note or style is saved; Ctrl-C stops."""
    from .watch import watch

    config = BuildConfig(notes=notes, out=out, formats=formats, strict=strict)
    named = collection_path or profile or anki_connect
    if bool(named) != and_sync:
        raise click.UsageError(
            "--sync needs --collection, --profile or --anki-connect"
            if and_sync
            else "add --sync to sync on each save (--collection, --profile and "
            "--anki-connect name where)"
        )
    after = None
    if and_sync:
        from .sync.live import Following

        target = sync_target(config, collection_path, profile, anki_connect)
        ask = (lambda q: click.confirm(q, default=False)) if sys.stdin.isatty() else None
        after = Following(config, target, lambda line: click.echo(printable(line)), ask)
    def on_result(result: BuildResult) -> None:
        print_result(result, config)
        if after is not None:
            after(result)  # `--sync`: once the build's result is printed

    click.echo(f"watching {display_path(notes)} (Ctrl-C to stop)")
    try:
        watch(config, on_result)
    except KeyboardInterrupt:
        click.echo("stopped")


@main.command("serve")
@notes_option
@out_option
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on; only this computer by default.",
)
def serve_command(notes: Path, out: Path, port: int, host: str) -> None:
    """Preview every card as Anki shows it, live in the browser; writes nothing."""
    from .serve import Unavailable, serve

    config = BuildConfig(notes=notes, out=out)
    click.echo(f"reading {display_path(notes)} …")
    try:
        with contextlib.suppress(KeyboardInterrupt):
            serve(config, host, port, lambda url: click.echo(f"serving {url} (Ctrl-C to stop)"))
    except Unavailable as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("stopped")


def collection_file(path: Path | None, profile: str | None, command: str) -> Path:
    """The collection a command opens with the anki library: the file given, else the
    profile's in Anki's data folder; a clear error when the library or the file is not
    to be had."""
    try:
        import anki  # noqa: F401
    except ImportError:
        raise click.ClickException(
            f"{command} needs the anki library: pip install -e '.[anki]'"
            + (" (or use --anki-connect)" if command in ("sync", "pull") else "")
        ) from None
    from .sync.profiles import ProfileError, find_collection

    try:
        return path or find_collection(profile)
    except ProfileError as exc:
        raise click.UsageError(str(exc)) from exc


def sync_target(
    config: BuildConfig,
    collection_path: Path | None,
    profile: str | None,
    anki_connect: str | None,
    dry_run: bool = False,
    create: bool = False,
) -> Target:
    """Where `sync` (and `watch --sync`) writes: a running Anki, else a collection file."""
    from .sync.collection import LocalCollection
    from .sync.journal import Journal

    if anki_connect:
        from .sync.ankiconnect import AnkiConnect

        return AnkiConnect(anki_connect, cache_root(config.out) / "anki-connect.json")
    path = collection_file(collection_path, profile, "sync")
    if not path.exists() and not (create and not dry_run):
        raise click.UsageError(
            f"{display_path(path)} does not exist — check the path, or add --create "
            "to make a new collection there" + (" (a dry run never makes one)" if create else "")
        )
    journal = Journal(
        config.lock_path.with_name(config.lock_path.name + ".sync-journal"),
        config.out / ".backup",
    )
    return LocalCollection(path, journal, read_only=dry_run)


@main.command("sync")
@notes_option
@strict_option
@anki_options("", "Anki must be closed")
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@click.option("--overwrite", is_flag=True, help="Replace notes edited in Anki since the last sync.")
@click.option("--yes", is_flag=True, help="Delete even when many notes would go.")
@click.option("--create", is_flag=True, help="Make the --collection file if it does not exist.")
def sync_command(
    notes: Path,
    strict: bool,
    collection_path: Path | None,
    profile: str | None,
    anki_connect: str | None,
    dry_run: bool,
    overwrite: bool,
    yes: bool,
    create: bool,
) -> None:
    """Make an Anki collection match the notes: add, update, delete; reviews stay."""
    from .sync import SyncOptions, sync

    config = BuildConfig(notes=notes, strict=strict)
    target = sync_target(config, collection_path, profile, anki_connect, dry_run, create)
    options = SyncOptions(target, dry_run=dry_run, overwrite=overwrite, yes=yes)
    with unwritable_outputs():
        result = sync(config, options)
    print_diagnostics(result.diagnostics)
    for line in result.lines:
        click.echo(printable(line))
    if not result.ok:
        sys.exit(1)


@main.command("pull")
@notes_option
@out_option
@anki_options("", "it is only read", must_exist=True)
@click.option(
    "--apply",
    "apply_patch",
    is_flag=True,
    help="Write the last pull's patch into the notes (only files unchanged since).",
)
def pull_command(
    notes: Path,
    out: Path,
    collection_path: Path | None,
    profile: str | None,
    anki_connect: str | None,
    apply_patch: bool,
) -> None:
    """Bring edits made in Anki back to the notes: a patch to read, then --apply."""
    import time

    from .sync.pull import PATCH_NAME

    config = BuildConfig(notes=notes, out=out)
    patch_file = out / PATCH_NAME
    if apply_patch:
        from .sync.patch import apply

        with unwritable_outputs():
            done, lines = apply(config, patch_file, lambda: int(time.time()))
        for line in lines:
            click.echo(printable(line))
        if not done:
            sys.exit(1)
        return
    from .publish import write_atomic
    from .sync import Refused
    from .sync.collection import CollectionBusy, LocalCollection
    from .sync.journal import Journal
    from .sync.pull import Readable, pull

    target: Readable
    if anki_connect:
        from .sync.ankiconnect import AnkiConnect

        target = AnkiConnect(anki_connect, cache_root(config.out) / "anki-connect.json")
    else:
        path = collection_file(collection_path, profile, "pull")
        journal = Journal(config.lock_path.with_name(config.lock_path.name + ".sync-journal"), out)
        target = LocalCollection(path, journal, read_only=True)
    try:
        result = pull(config, target, lambda: int(time.time()))
    except (CollectionBusy, Refused) as exc:
        raise click.ClickException(f"cannot read {target.label}: {exc}") from exc
    if result.refused:
        raise click.ClickException(f"nothing was pulled: {result.refused}")
    for line in result.lines:
        click.echo(printable(line))
    with unwritable_outputs():
        if result.patch:
            out.mkdir(parents=True, exist_ok=True)
            write_atomic(patch_file, result.patch.encode("utf-8"))
        elif patch_file.exists():
            patch_file.unlink()  # an old patch must not be applied over newer notes
    if result.patch:
        click.echo(
            f"wrote {display_path(patch_file)}: {plural(result.facts, 'fact')} from Anki; "
            "read it, then apply it with `python build.py pull --apply`"
        )
    else:
        click.echo("no patch written: nothing comes back to the notes")


@main.command("weak")
@notes_option
@out_option
@click.option(
    "--collection",
    "collection_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="An Anki collection file (collection.anki2); it is only read.",
)
@click.option("--profile", help="An Anki profile's name: its collection in Anki's data folder.")
@click.option(
    "--count",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many facts (1 or more).",
)
@click.option(
    "--format",
    "form",
    type=click.Choice(["pdf", "cards"]),
    default="pdf",
    show_default=True,
    help="A sheet, or cards to print and cut (with --paper, --card-size, --duplex).",
)
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True)
@click.option("--card-size", type=click.Choice(CARD_SIZES), default="8-up", show_default=True)
@click.option("--duplex", type=click.Choice(DUPLEX), default="long-edge", show_default=True)
def weak_command(
    notes: Path,
    out: Path,
    collection_path: Path | None,
    profile: str | None,
    count: int,
    form: str,
    paper: str,
    card_size: str,
    duplex: str,
) -> None:
    """Print the facts you forget most, from your Anki reviews, as a sheet or as cards."""
    from .sync.collection import CollectionBusy, CollectionUnreadable
    from .sync.weak import weak_sheet

    target = collection_file(collection_path, profile, "weak")
    config = BuildConfig(notes=notes, out=out, paper=paper, card_size=card_size, duplex=duplex)
    try:
        path, found = weak_sheet(config, target, count, out, form)
    except (CollectionBusy, CollectionUnreadable) as exc:
        raise click.ClickException(f"cannot read {display_path(target)}: {exc}") from exc
    if not found:
        click.echo("no fact of these notes has been reviewed and forgotten yet; no sheet written")
        return
    click.echo(f"wrote {display_path(path)}: the {plural(found, 'fact')} you forget most")
