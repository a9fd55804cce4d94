"""Security headers on every answer (an ASGI middleware).

No page of the bridge may be framed (clickjacking of the dashboard's buttons), no answer
is to be sniffed into another type, and no URL of ours leaks through a Referer. An answer
that sets its own ``Content-Security-Policy`` (the dashboard's stricter one) keeps it.
"""

from __future__ import annotations

from fulfillbridge.web.limits import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    # same-origin rather than no-referrer: under no-referrer a browser sends `Origin: null`
    # on the dashboard's own form posts, which the CSRF check (web.csrf) must refuse.
    # Nothing of ours leaks to other sites either way.
    (b"referrer-policy", b"same-origin"),
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
