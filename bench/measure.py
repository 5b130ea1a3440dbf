"""Timing, CPU use and peak memory of a fresh process and everything it starts.

Every row of the benchmark runs a command as a person would: a new process. What a row
needs from that run is measured here, the same way for our build, the floors and ankdown:

- wall time, from just before the process starts until it has exited;
- CPU time of the whole tree (user + sys), from `getrusage(RUSAGE_CHILDREN)` before and
  after. The kernel adds a process's time to its parent's children total when the parent
  waits for it, so render workers the build joins are counted, orphans are not;
- the peak resident memory of the largest single process in the tree, when asked for:
  `/proc/PID/status` VmHWM (the kernel's own high-water mark, so a peak between two
  samples is not missed) of every process in the tree, read every ~20 ms, and the
  `ru_maxrss` that `wait4` reports for the tree (the largest process reaped within it),
  which covers processes that lived less than one sample.

Only Linux has /proc; elsewhere the memory falls back to `ru_maxrss` alone.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SAMPLE_EVERY = 0.02  # seconds between memory samples
# ru_maxrss is in kilobytes on Linux, in bytes on macOS.
MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024


class CommandFailed(RuntimeError):
    """A measured command exited with an error: its numbers would mean nothing."""


@dataclass(frozen=True)
class Run:
    """One finished process tree."""

    wall: float  # seconds
    cpu: float  # user + sys seconds of the whole tree
    peak_mb: float  # largest single process, MB (0.0 when not sampled)
    stderr: str

    @property
    def cpu_share(self) -> float:
        """CPU time over wall time: 2.0 is two cores busy for the whole run."""
        return self.cpu / self.wall if self.wall else 0.0


def children_of(pid: int) -> list[int]:
    """Direct children of a process, from /proc/PID/task/*/children (every thread can
    start processes); a full scan of /proc where the kernel lacks that file."""
    tasks = Path(f"/proc/{pid}/task")
    found: list[int] = []
    try:
        for task in tasks.iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
        return found
    except FileNotFoundError:
        if not tasks.exists():
            return []
    except OSError:
        return found
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return found


def tree(root: int) -> list[int]:
    """A process and all its descendants."""
    pids, stack = [], [root]
    while stack:
        pid = stack.pop()
        pids.append(pid)
        stack.extend(children_of(pid))
    return pids


def high_water_kb(pid: int) -> int:
    """The peak resident memory of one process so far (VmHWM), in kB; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def largest_in_tree_kb(root: int) -> int:
    return max((high_water_kb(pid) for pid in tree(root)), default=0)


def run(
    args: Sequence[str],
    cwd: Path,
    *,
    memory: bool = False,
    env: Mapping[str, str] | None = None,
) -> Run:
    """Run a command to the end and measure it; raise CommandFailed on a non-zero exit.

    stdout is discarded, stderr kept (for error messages and `-X importtime`)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(os.devnull, "wb") as devnull, tempfile.TemporaryFile() as err:
        # stderr goes to a file: a pipe could fill up and stall the child while we sample.
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd, stdout=devnull, stderr=err, env=env)
        try:
            peak_kb, status, usage = _wait(proc.pid, memory)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise CommandFailed(
            f"{' '.join(map(str, args))} exited with {proc.returncode}:\n{stderr[-4000:]}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if memory:
        peak_kb = max(peak_kb, usage.ru_maxrss * MAXRSS_UNIT // 1024)
    return Run(wall=wall, cpu=cpu, peak_mb=peak_kb / 1024, stderr=stderr)


def _wait(pid: int, memory: bool) -> tuple[int, int, resource.struct_rusage]:
    """Wait for the process with wait4, which also reports the tree's ru_maxrss; while
    it runs, sample its tree's memory if asked. Returns (peak kB sampled, status, usage)."""
    if not memory:
        _, status, usage = os.wait4(pid, 0)
        return 0, status, usage
    peak_kb = 0
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return peak_kb, status, usage
        peak_kb = max(peak_kb, largest_in_tree_kb(pid))
        time.sleep(SAMPLE_EVERY)
