"""`watch --sync`: each save that builds cleanly also syncs, so the collection follows the
notes as they are written. A failed build never syncs. The deletion guard still guards:
a sync that would delete studied cards or many notes stops, says what it would delete and
asks once (at a terminal; elsewhere it only says so); until the answer is yes, or the
notes no longer ask for those deletions, it waits and syncs nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..config import BuildConfig
from ..pipeline import BuildResult
from . import SyncOptions, SyncResult, Target, sync


@dataclass
class Following:
    """The `after` of a watch: a sync after each build that succeeded."""

    config: BuildConfig
    target: Target
    echo: Callable[[str], None]
    confirm: Callable[[str], bool] | None = None  # None: nobody to ask
    waiting: Any = None  # the deletions last asked about, while the answer is no

    def __call__(self, result: BuildResult) -> None:
        if not result.ok:
            return
        done = sync(self.config, SyncOptions(self.target))
        if done.ok or done.plan is None or not stopped(done):
            self.waiting = None
            self.show(done)
            return
        asked = (done.plan.delete, done.plan.empty_cards)
        if asked == self.waiting:
            self.echo("not synced: still waiting for your answer about the deletions above")
            return
        self.show(done)
        if self.confirm is not None and self.confirm("Delete them and sync?"):
            self.waiting = None
            self.show(sync(self.config, SyncOptions(self.target, yes=True)))
            return
        self.waiting = asked
        self.echo(
            "not synced: the next saves sync nothing until the notes no longer delete "
            "these, or you sync once with `sync --yes`"
        )

    def show(self, done: SyncResult) -> None:
        for d in done.diagnostics:
            self.echo(d.format())
        for line in done.lines:
            self.echo(line)


def stopped(done: SyncResult) -> bool:
    """Whether the deletion guard (or a change of note type) stopped the sync."""
    return any(line.startswith("stopped:") for line in done.lines)
