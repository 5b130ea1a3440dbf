"""The preview's web application (Starlette): its pages, the live channel, and the files
it may serve, which are only the pages' own assets, the notes' media by name, the
outputs in the output folder and, when installed, MathJax. Anything else, and any path
that would step out (`..`, encoded or not, or a link out of the folder), is 404.

Every response forbids scripts but the page's own (`Content-Security-Policy`), so even a
card whose sanitised HTML still tried could run nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import chart
from .preview import Preview

HERE = Path(__file__).parent
# Debian's libjs-mathjax: Anki draws formulas with MathJax; no wheel carries it.
MATHJAX = Path("/usr/share/javascript/mathjax")
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; media-src 'self'; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PING_SECONDS = 15.0


def application(preview: Preview, mathjax: Path | None = MATHJAX) -> Starlette:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    has_mathjax = mathjax is not None and (mathjax / "MathJax.js").is_file()
    clients: set[asyncio.Queue[str]] = set()
    loop: dict[str, asyncio.AbstractEventLoop] = {}

    def tell(changed: list[str]) -> None:
        running = loop.get("loop")
        if running is None:
            return
        message = json.dumps({"version": preview.version, "changed": changed})
        for queue in list(clients):
            running.call_soon_threadsafe(queue.put_nowait, message)

    preview.listeners.append(tell)

    def page(name: str, **values: Any) -> str:
        with preview.guard:
            return env.get_template(name).render(
                preview=preview,
                notes=sorted(preview.notes.values(), key=lambda n: n.path),
                mathjax=has_mathjax,
                chart=chart,
                **values,
            )

    async def overview(request: Request) -> Response:
        return HTMLResponse(page("overview.html.j2"))

    async def note(request: Request) -> Response:
        path = request.path_params["path"]
        with preview.guard:
            view = preview.notes.get(path)
            known = view is not None or path in preview.problems
        if not known:
            return not_found()
        return HTMLResponse(
            page(
                "note.html.j2",
                view=view,
                path=path,
                problems=preview.problems.get(path, ()),
            )
        )

    async def events(request: Request) -> Response:
        loop["loop"] = asyncio.get_running_loop()
        queue: asyncio.Queue[str] = asyncio.Queue()
        clients.add(queue)

        async def stream() -> AsyncIterator[str]:
            try:
                yield f"data: {json.dumps({'version': preview.version, 'changed': []})}\n\n"
                while not await request.is_disconnected():
                    try:
                        message = await asyncio.wait_for(queue.get(), PING_SECONDS)
                    except TimeoutError:
                        yield ": ping\n\n"
                        continue
                    yield f"data: {message}\n\n"
            finally:
                clients.discard(queue)

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    async def card_css(request: Request) -> Response:
        return Response(preview.css, media_type="text/css")

    async def media(request: Request) -> Response:
        with preview.guard:
            path = preview.media.get(request.path_params["name"])
        root = preview.config.notes.resolve()
        if path is None or not inside(path, root):
            return not_found()
        return FileResponse(path)

    async def output(request: Request) -> Response:
        out = preview.config.out.resolve()
        wanted = request.path_params["path"]
        parts = Path(wanted).parts
        if not parts or any(p in ("..", ".") or p.startswith(".") for p in parts):
            return not_found()
        path = out / wanted
        if not inside(path, out) or not path.is_file():
            return not_found()
        return FileResponse(path)

    routes = [
        Route("/", overview),
        Route("/note/{path:path}", note),
        Route("/events", events),
        Route("/card.css", card_css),
        Route("/media/{name}", media),
        Route("/outputs/{path:path}", output),
        Mount("/static", StaticFiles(directory=HERE / "static")),
    ]
    if has_mathjax and mathjax is not None:
        # Debian links MathJax's fonts in from their own package: followed, inside it.
        routes.append(Mount("/mathjax", StaticFiles(directory=mathjax, follow_symlink=True)))
    app = Starlette(routes=routes)
    app.add_exception_handler(404, lambda request, exc: not_found())
    return Headers(app)  # type: ignore[return-value]


def inside(path: Path, root: Path) -> bool:
    """Whether `path`, its links followed, is a file under `root`."""
    try:
        real = path.resolve(strict=True)
    except OSError:
        return False
    return real.is_file() and root in real.parents


def not_found() -> Response:
    return HTMLResponse("<h1>Not found</h1>", status_code=404)


class Headers:
    """Every response with the policy and the headers that keep a page to itself."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)
