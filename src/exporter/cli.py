"""The command line. Commands call the pipeline and print; they hold no build logic.

Exit codes: 0 success, 1 problems in the notes (or warnings under --strict), 2 usage.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .config import FORMATS, BuildConfig
from .diagnostics import Diagnostic, has_errors, sort_unique
from .pipeline import BuildResult, build, load
from .sources import display_path


def print_diagnostics(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> None:
    for d in diagnostics:
        click.echo(d.format(), err=True)


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(result: BuildResult) -> str:
    deck = result.deck
    assert deck is not None
    counts = (
        f"{plural(len(deck.notes), 'note')}, {plural(len(deck.facts), 'fact')}, "
        f"{plural(deck.card_count, 'card')}"
    )
    errors = sum(d.is_error for d in result.diagnostics)
    warnings = len(result.diagnostics) - errors
    problems = (
        f"; {plural(errors, 'error')}, {plural(warnings, 'warning')}"
        if (errors or warnings)
        else ""
    )
    if not result.ok:
        return f"build failed: {counts}{problems}; nothing written"
    if not result.outputs:
        return f"dry run: {counts}{problems}; nothing written"
    written = ", ".join(display_path(p) for p in result.outputs)
    return f"built {counts}{problems} → {written}"


notes_option = click.option(
    "--notes",
    "notes",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("notes"),
    show_default=True,
    help="Folder of Markdown notes (only ever read).",
)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="exporter")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Build Anki decks and PDF revision sheets from Markdown notes.

    With no command, builds notes/ into dist/ (the same as `build`).
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(build_command)


@main.command("build")
@notes_option
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("dist"),
    show_default=True,
    help="Output folder.",
)
@click.option(
    "--format",
    "formats",
    type=click.Choice(FORMATS),
    multiple=True,
    help="Output to write; repeat for several. Default: all.",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--tag", "tags", multiple=True, help="Only facts with this tag; repeatable.")
@click.option("--self-test", is_flag=True, help="Also write a sheet with answers blanked.")
@click.option("--dry-run", is_flag=True, help="Parse and report; write nothing.")
def build_command(
    notes: Path = Path("notes"),
    out: Path = Path("dist"),
    formats: tuple[str, ...] = (),
    strict: bool = False,
    tags: tuple[str, ...] = (),
    self_test: bool = False,
    dry_run: bool = False,
) -> None:
    """Build the deck and the sheet."""
    config = BuildConfig(
        notes=notes,
        out=out,
        formats=formats or FORMATS,
        strict=strict,
        tags=tags,
        self_test=self_test,
        dry_run=dry_run,
    )
    result = build(config)
    print_diagnostics(result.diagnostics)
    click.echo(summary(result))
    if not result.ok:
        sys.exit(1)


@main.command("check")
@notes_option
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def check_command(notes: Path, strict: bool) -> None:
    """Parse the notes and report every problem; write nothing."""
    deck, diagnostics = load(BuildConfig(notes=notes, strict=strict))
    diags = sort_unique(diagnostics)
    print_diagnostics(diags)
    errors = sum(d.is_error for d in diags)
    click.echo(
        f"checked {plural(len(deck.notes), 'note')}, {plural(len(deck.facts), 'fact')}: "
        f"{plural(errors, 'error')}, {plural(len(diags) - errors, 'warning')}"
    )
    if has_errors(diags, strict):
        sys.exit(1)
