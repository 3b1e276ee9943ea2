"""The reviewers' console at /console: a static page (HTML, CSS, JS) over the GraphQL API.

The files are served as they are in ``api/static/console`` (no build step), each under a
content policy that lets the page load and connect to this origin only: no inline script or
style, nothing from another host, no framing. The page holds no data of its own; it reads
through /graphql with the token the user pastes, so every read is checked and logged as any
client's.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

STATIC = Path(__file__).parent / "static" / "console"

# default-src 'self' covers scripts, styles, images and connections (fetch and WebSocket to
# this origin); the others close what default-src does not cover.
POLICY = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".md": "text/markdown; charset=utf-8",
}


def served_files(root: Path = STATIC) -> dict[str, Path]:
    """Each file the console serves, by its path under /console/ (read once, at start)."""
    return {
        path.relative_to(root).as_posix(): path
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.suffix in MEDIA_TYPES
    }


def routes() -> list[Route]:
    files = served_files()

    def send(path: Path) -> Response:
        return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=HEADERS)

    async def page(_: Request) -> Response:
        return send(files["index.html"])

    async def asset(request: Request) -> Response:
        path = files.get(request.path_params["name"])
        if path is None:
            return Response("not found", status_code=404, headers=HEADERS)
        return send(path)

    return [
        Route("/console", page, methods=["GET", "HEAD"]),
        Route("/console/{name:path}", asset, methods=["GET", "HEAD"]),
    ]
