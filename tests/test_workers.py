"""Worker processes: a dead one is a one-line error with nothing changed, none outlives a
killed build, and the sheet is the same bytes whichever worker rendered which note."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from exporter.config import BuildConfig
from exporter.pipeline import build

from .conftest import FIXTURES, REPO, snapshot


def parents() -> dict[int, int]:
    """Every process's parent, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(entry.name)] = int(fields[1])
    return found


def command(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def threads(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


def workers_of(pid: int) -> list[int]:
    """The build's render workers: spawned by it, or forked by its fork server (a child
    of the build whose command runs multiprocessing's forkserver). A forked worker keeps
    that command and runs a thread that watches the build; the server's other children
    (the programs WeasyPrint's import runs to find libraries, before they exec) have the
    command for a moment but one thread."""
    parent_of = parents()
    servers = {
        p for p, parent in parent_of.items() if parent == pid and b"forkserver" in command(p)
    }
    return [
        p
        for p, parent in parent_of.items()
        if (parent in servers and b"forkserver" in command(p) and threads(p) >= 2)
        or (parent == pid and b"spawn_main" in command(p))
    ]


def alive(pid: int) -> bool:
    """Running or sleeping: not gone, and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def start_build(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """A build of the nine everyday notes and one long one, whose render keeps a worker
    busy for seconds: a worker found by its process is still at work when it is killed
    (the small notes alone can all be rendered before a loaded machine gets to the kill)."""
    shutil.copytree(FIXTURES / "everyday", tmp_path / "notes")
    facts = "\n".join(f"- Question number {i} of the long note :: answer {i}" for i in range(400))
    (tmp_path / "notes" / "long.md").write_text(f"# Long\n\n{facts}\n", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "build.py")],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, tmp_path / "dist"


def wait_for_workers(proc: subprocess.Popen[str], timeout: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        found = workers_of(proc.pid)
        if found:
            return found
        time.sleep(0.02)
    pytest.fail("the build started no render workers")


@pytest.mark.slow
def test_a_killed_worker_is_a_one_line_error_and_nothing_is_written(tmp_path):
    proc, out = start_build(tmp_path)
    (worker, *_) = wait_for_workers(proc)
    os.kill(worker, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1, stdout + stderr
    assert "Traceback" not in stdout + stderr
    errors = [line for line in stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1
    assert "a worker process ended before finishing (killed, or out of memory)" in errors[0]
    assert "nothing was changed" in errors[0]
    assert not (tmp_path / "notes.lock.json").exists()
    assert not [p for p in out.rglob("*") if p.suffix in (".apkg", ".pdf", ".part")]


@pytest.mark.slow
def test_killing_the_build_ends_its_workers(tmp_path):
    proc, _ = start_build(tmp_path)
    workers = wait_for_workers(proc)
    workers += [p for p, parent in parents().items() if parent == proc.pid]  # and the server
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not [pid for pid in workers if alive(pid)]


@pytest.mark.slow
def test_the_sheet_is_the_same_whichever_worker_rendered_which_note(tmp_path):
    """Clean and serial; clean in two workers; and from a cache filled by an earlier
    build of half the notes (other processes, another order): one set of bytes."""
    notes = tmp_path / "notes"
    shutil.copytree(FIXTURES / "everyday", notes)
    lock = BuildConfig(notes=notes).lock_path

    def sheet(out: Path, workers: int) -> bytes:
        assert build(BuildConfig(notes=notes, out=out, formats=("pdf",), workers=workers)).ok
        return (out / "notes.pdf").read_bytes()

    serial = sheet(tmp_path / "serial", 1)
    parallel = sheet(tmp_path / "parallel", 2)

    half = tmp_path / "half"
    moved = sorted(notes.rglob("*.md"))[::2]
    aside = tmp_path / "aside"
    for path in moved:
        target = aside / path.relative_to(notes)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    lock_text = lock.read_text()
    assert build(BuildConfig(notes=notes, out=half, formats=("pdf",), workers=2)).ok
    for path in moved:
        (aside / path.relative_to(notes)).rename(path)
    lock.write_text(lock_text)  # the same identities as the other two builds
    before = snapshot(half / ".cache" / "sheets")
    mixed = sheet(half, 2)
    assert set(before) < set(snapshot(half / ".cache" / "sheets"))  # parts were reused

    assert serial == parallel == mixed


BURN = """
import time
from exporter import workers

def burn(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
    return seconds

if __name__ == "__main__":
    with workers.Pool(2, workers.start_method()) as pool:
        print(sum(pool.map(burn, [0.6, 0.6])))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork server is Linux's")
def test_the_workers_cpu_time_is_counted_to_the_build(tmp_path):
    """The fork server is waited for at exit, and with it the workers it reaped: their
    CPU time reaches whoever waits for the build (`time`, the benchmark)."""
    import resource

    script = tmp_path / "burn.py"
    script.write_text(BURN, encoding="utf-8")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1.2"
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    assert cpu >= 1.1  # reading the CPU clock is a system call: count both
