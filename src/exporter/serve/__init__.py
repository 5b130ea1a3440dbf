"""`serve`: every card as Anki will show it, live, in the browser.

`python build.py serve` builds (as a dry run: nothing is written), watches the notes with
the same warm, incremental build as `watch`, and serves a local page of each note's
cards (`preview`, rendered from the deck's own templates, fields and CSS), an overview of
the library, and each note's problems at their lines. A save updates the open pages
through server-sent events (`app`). Starlette and uvicorn serve it; it binds to
127.0.0.1 unless told otherwise, and serves nothing outside the pages, the notes' media
and the output folder.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Callable

from ..config import BuildConfig


def serve(
    config: BuildConfig,
    host: str = "127.0.0.1",
    port: int = 8000,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C). `Unavailable` when the address is taken."""
    import uvicorn

    listening(host, port)

    from ..watch import watch
    from .app import application
    from .preview import Preview

    dry = dataclasses.replace(config, formats=config.formats or ("apkg",), dry_run=True)
    preview = Preview(dry)
    stop = threading.Event()
    builder = threading.Thread(
        target=watch, args=(dry, preview.update, stop), name="serve-watch", daemon=True
    )
    builder.start()
    preview.built.wait()
    server = uvicorn.Server(
        uvicorn.Config(application(preview), host=host, port=port, log_level="warning")
    )
    if ready is not None:

        def announce() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.02)
            if server.started:
                ready(f"http://{host}:{port}/")

        threading.Thread(target=announce, name="serve-ready", daemon=True).start()
    try:
        server.run()
    finally:
        stop.set()
        builder.join(timeout=10)


class Unavailable(Exception):
    """The address cannot be listened on; the message says why and what to do."""


def listening(host: str, port: int) -> None:
    """Check the address is free before the notes are read, so a port in use is one
    clear line, not the server's traceback."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise Unavailable(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} — pass --port with "
            "another number, or stop what is using it"
        ) from exc
