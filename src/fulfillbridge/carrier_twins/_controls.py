"""``GET /__twin/``: the list of a twin's test controls, like the sandbox's ``/__sandbox/``
(JSON; a small page when a browser asks for HTML)."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

# (method, path, what it does)
Control = tuple[str, str, str]


def controls_index(
    carrier: str, controls: Sequence[Control], credentials: dict[str, str]
) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint listing ``controls``. ``credentials`` are the twin's own, local-only
    API credentials (they mean nothing at the real carrier), shown so a person can connect."""
    listed: list[Control] = [("GET", "/__twin/", "this list"), *controls]

    async def index(request: Request) -> Response:
        if "text/html" in request.headers.get("accept", ""):
            rows = "".join(
                f"<tr><td>{html.escape(method)}</td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(what)}</td></tr>"
                for method, path, what in listed
            )
            shown = ", ".join(f"{k} {html.escape(v)}" for k, v in credentials.items())
            return HTMLResponse(
                "<!doctype html><html><head><meta charset='utf-8'>"
                f"<title>{html.escape(carrier)} twin controls</title></head><body>"
                f"<h1>{html.escape(carrier)} twin</h1><p>Local credentials: {shown}.</p>"
                f"<table>{rows}</table></body></html>"
            )
        return JSONResponse(
            {
                "carrier": carrier,
                "credentials": credentials,
                "controls": [
                    {"method": method, "path": path, "what": what} for method, path, what in listed
                ],
            }
        )

    return index
