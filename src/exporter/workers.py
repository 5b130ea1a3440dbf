"""Worker processes that never outlive the build and never end it with a traceback.

Parsing and rendering run in process pools. Two things go wrong with plain pools: a worker
that dies (out of memory, killed) ends the build with a `BrokenProcessPool` traceback, and
a build that is killed outright (`kill -9`, a closed terminal) leaves its workers running,
re-parented, holding the terminal's pipes. Every pool is made here: its workers ask the
kernel to end them when the build's process ends, and a dead worker becomes `WorkerDied`,
which the pipeline reports in one line.

A process that builds again and again (`watch`) keeps its pools between builds (`warm`):
starting a worker costs about as much as rendering a note, and a kept worker has its
fonts loaded already.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

PR_SET_PDEATHSIG = 1


class WorkerDied(RuntimeError):
    """A worker process ended before finishing its task."""


def die_with(build: int) -> None:
    """End this process when the build `build` ends: at once on Linux when the build is
    the parent (the kernel's parent-death signal), and within a second otherwise (a
    thread that watches). A forked worker's parent is the fork server, which outlives the
    build while any worker lives, so that thread watches the build itself."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    parent = os.getppid()
    forked = parent != build

    def build_lives() -> bool:
        return os.getppid() == parent and (not forked or _running(build))

    if not build_lives():  # the build ended before the signal was asked for
        os._exit(1)

    def watch() -> None:
        while build_lives():
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _running(pid: int) -> bool:
    if sys.platform == "win32":  # os.kill would end it; spawned workers are the build's own
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _start(build: int, initializer: Callable[..., None] | None, args: tuple[Any, ...]) -> None:
    die_with(build)
    if initializer is not None:
        initializer(*args)


def start_method(preload: tuple[str, ...] = ()) -> str:
    """How render workers start: on Linux, forked from a server that has imported
    `preload` once (a worker is ready in milliseconds instead of importing WeasyPrint
    again); elsewhere spawned, as macOS's system libraries are not safe to fork once
    loaded. The server is started on first use and serves every later pool of this
    process; it ends with the process."""
    if not sys.platform.startswith("linux"):
        return "spawn"
    multiprocessing.get_context("forkserver").set_forkserver_preload(list(preload))
    return "forkserver"


@atexit.register
def _stop_fork_server() -> None:
    """Ask this process's fork server to end, and wait for it. Left to end by itself it
    is never waited for, and neither is the CPU time of the workers it reaped: `time` or
    the benchmark then counted a sheet build's render workers as nothing."""
    if not sys.platform.startswith("linux"):
        return  # no fork server: workers are spawned, and waited for, by this process
    from multiprocessing import forkserver

    server: Any = forkserver._forkserver  # its pid and `_stop` are private: no stubs
    if server._forkserver_pid is not None and server._forkserver_pid != os.getpid():
        with contextlib.suppress(OSError, ChildProcessError):
            server._stop()


def pool_map(
    function: Callable[[T], R],
    items: Iterable[T],
    workers: int,
    start_method: str,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    chunksize: int = 1,
) -> Iterator[R]:
    """`function` over `items` in `workers` processes, results in order, as they come."""
    with Pool(workers, start_method, initializer, initargs) as pool:
        yield from pool.map(function, items, chunksize)


DIED = "a worker process ended before finishing (killed, or out of memory)"


class Pool:
    """Worker processes kept for a whole stage: several batches, and work handed out
    while this process does its own (`submit`), pay for starting the workers once.
    Started on first use; ended with the `with` block."""

    def __init__(
        self,
        workers: int,
        start_method: str,
        initializer: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        self.workers = workers
        self._context = multiprocessing.get_context(start_method)
        self._init = (os.getpid(), initializer, initargs)
        self._pool: ProcessPoolExecutor | None = None
        self._making = threading.Lock()  # this process and the handing thread both ask
        self._handing: queue.SimpleQueue[tuple[Any, ...] | None] | None = None
        self._hand: threading.Thread | None = None
        self.kept = False
        self.broken = False

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.kept and not self.broken and exc[0] is None:
            return  # kept for the next build (`shared`)
        self.close()

    def close(self) -> None:
        if self._handing is not None and self._hand is not None:
            self._handing.put(None)
            self._hand.join()
            self._handing = self._hand = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    @property
    def started(self) -> bool:
        return self._pool is not None

    def start(self) -> None:
        """Start the workers now, so work handed out later finds them ready. A fork
        server is started at once and imports what the workers need while this process
        goes on."""
        self._executor()
        if self._context.get_start_method() == "forkserver":
            from multiprocessing import forkserver

            forkserver.ensure_running()

    def _executor(self) -> ProcessPoolExecutor:
        with self._making:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self.workers, mp_context=self._context, initializer=_start, initargs=self._init
                )
                # Every worker starts with the first task, as under "fork". Started one by
                # one as tasks come, a worker that dies while another is being started
                # leaves the executor waiting forever for the newcomer: it ends only the
                # workers it knew.
                self._pool._safe_to_dynamically_spawn_children = False  # type: ignore[attr-defined]
            return self._pool

    def submit(self, function: Callable[[T], R], item: T) -> Callable[[], R]:
        """Start `function(item)` in a worker; the returned call waits for its result.
        Handing out never waits here: starting a worker waits for the fork server's
        imports, so a thread of this pool's hands the work to the workers."""
        future: Future[R] = Future()
        if self._handing is None:
            self._handing = queue.SimpleQueue()
            self._hand = threading.Thread(target=self._hand_out, daemon=True)
            self._hand.start()
        self._handing.put((function, item, future))

        def result() -> R:
            try:
                return future.result()
            except BrokenProcessPool as exc:
                self.broken = True
                raise WorkerDied(DIED) from exc

        return result

    def _hand_out(self) -> None:
        assert self._handing is not None
        while (job := self._handing.get()) is not None:
            function, item, future = job
            try:
                inner = self._executor().submit(function, item)
            except BaseException as exc:  # a pool broken already: the caller hears of it
                future.set_exception(exc)
                continue
            inner.add_done_callback(partial(_settle, future))

    def map(
        self, function: Callable[[T], R], items: Iterable[T], chunksize: int = 1
    ) -> Iterator[R]:
        """`function` over `items`, results in order, as they come."""
        try:
            yield from self._executor().map(function, items, chunksize=chunksize)
        except BrokenProcessPool as exc:
            self.broken = True
            raise WorkerDied(DIED) from exc


def _settle(outer: Future[Any], inner: Future[Any]) -> None:
    """Give `outer` what the worker gave `inner`."""
    if inner.cancelled():
        outer.cancel()
    elif (exc := inner.exception()) is not None:
        outer.set_exception(exc)
    else:
        outer.set_result(inner.result())


_warm: dict[tuple[Any, ...], Pool] | None = None


def shared(
    workers: int,
    start_method: str,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
) -> Pool:
    """A pool for one build; while `warm`, the pool the last build used when it was made
    the same way (a changed style or font is another engine, so other workers)."""
    if _warm is None:
        return Pool(workers, start_method, initializer, initargs)
    key = (workers, start_method, initializer, initargs)
    pool = _warm.get(key)
    if pool is None or pool.broken:
        for old in _warm.values():
            old.close()
        _warm.clear()
        pool = _warm[key] = Pool(workers, start_method, initializer, initargs)
        pool.kept = True
    return pool


@contextlib.contextmanager
def warm() -> Iterator[None]:
    """Keep pools between builds in this process, and end them all on leaving."""
    global _warm
    before, _warm = _warm, {}
    try:
        yield
    finally:
        for pool in _warm.values():
            pool.close()
        _warm = before
