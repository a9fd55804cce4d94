"""Bounds on what a request body may cost before any route sees it (an ASGI middleware).

Every body is capped: a ``Content-Length`` over the route's limit is answered 413 before a
byte of the body is read, and a body sent without one (chunked) is counted while it is read
and answered 413 the moment it passes the limit. What is read is at most the limit, so a
stream of 100 MB posts costs the process no more than one limit's worth of memory.

JSON bodies are also checked for nesting depth before any route parses them: Python's
``json`` recurses once per level, so a body of a few thousand ``[`` would otherwise end in
a RecursionError (a 500). Deeper than :data:`MAX_JSON_DEPTH` is a 400 naming the problem.

A request to the API that carries a body is authenticated before its body is read (the
routes authenticate again, as usual): without a live API key, nothing past the headers is
read, so only key holders can make the bridge hold an API-sized body. Shopify's requests
are signed over the body, so theirs is read first, up to the 2 MB they may be.

Shopify-facing paths answer in Shopify's shape (``{"error": ...}``), the rest like FastAPI
(``{"detail": ...}``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_JSON_DEPTH = 64
SHOPIFY_BODY_BYTES = 2 * 1024 * 1024  # the intake's own limit (flows.intake.MAX_BODY_BYTES)
API_BODY_BYTES = 8 * 1024 * 1024  # PUT /api/v1/inventory: 50,000 rows fit in about 5 MB
FORM_BODY_BYTES = 64 * 1024  # the dashboard's small forms
OTHER_BODY_BYTES = 64 * 1024

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def body_limit(path: str) -> int:
    """How many body bytes a request to ``path`` may send."""
    if path.startswith(("/webhooks/", "/shopify/")):
        return SHOPIFY_BODY_BYTES
    if path.startswith("/api/"):
        return API_BODY_BYTES
    if path.startswith("/dashboard/"):
        return FORM_BODY_BYTES
    return OTHER_BODY_BYTES


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``body``'s arrays and objects nest deeper than ``limit``. Brackets inside
    strings do not count; the scan stops at the first level past the limit."""
    depth = 0
    for match in _BRACKETS.finditer(_STRING.sub(b'""', body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _shopify_shape(path: str) -> bool:
    return path.startswith(("/webhooks/", "/shopify/"))


async def _answer(scope: Scope, send: Send, status: int, message: str) -> None:
    key = "error" if _shopify_shape(str(scope.get("path", ""))) else "detail"
    body = json.dumps({key: message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            kind = value.split(b";")[0].strip().lower()
            return kind == b"application/json" or kind.endswith(b"+json")
    # Shopify always labels its JSON; a body without a type is checked too (FastAPI parses
    # an unlabelled body as JSON).
    return True


Authenticate = Callable[[str], Awaitable[bool]]


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            return credentials.strip() if scheme.lower() == "bearer" else None
    return None


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


class BodyLimitMiddleware:
    """Caps every request body (see the module's docstring) and checks JSON depth;
    ``authenticate`` says whether an API key is live."""

    def __init__(self, app: ASGIApp, authenticate: Authenticate | None = None) -> None:
        self.app = app
        self._authenticate = authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = body_limit(path)
        too_large = f"the request body is larger than {limit} bytes"
        declared: int | None = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                if not value.strip().isdigit():
                    await _answer(scope, send, 400, "the Content-Length header is not a number")
                    return
                declared = int(value)
        if declared is not None and declared > limit:
            await _answer(scope, send, 413, too_large)
            return
        if self._authenticate is not None and path.startswith("/api/") and _has_body(scope):
            key = _bearer(scope)
            if key is None or not await self._authenticate(key):
                # The route's own answer, given before the body is read.
                await self.app(scope, _replay(b"", receive), send)
                return
        # Read the body here, counting, so nothing past the limit is ever held.
        chunks = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away before sending its body: let the app see that.
                await self.app(scope, _replay(b"", receive, first=message), send)
                return
            chunks += message.get("body", b"")
            if len(chunks) > limit:
                del chunks[:]
                await _answer(scope, send, 413, too_large)
                return
            if not message.get("more_body", False):
                break
        body = bytes(chunks)
        del chunks[:]
        if body and _is_json(scope) and json_too_deep(body):
            await _answer(
                scope,
                send,
                400,
                f"the JSON body nests arrays or objects deeper than {MAX_JSON_DEPTH} levels",
            )
            return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive, *, first: Message | None = None) -> Receive:
    """A ``receive`` that hands the app the body already read, then the client's own
    messages (a disconnect)."""
    pending: list[Message] = [first] if first is not None else []
    if first is None:
        pending.append({"type": "http.request", "body": body, "more_body": False})

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
