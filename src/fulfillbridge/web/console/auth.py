"""Who is looking at the console: a session cookie from the sign-in form, or HTTP Basic with
an API key as the password (for scripts). Either way the viewer is an API key and sees
only its stores.

The session cookie carries the key's id and prefix, when it was issued, and an HMAC of
those under a key derived from the bridge's secret key; nothing is stored. Each request
reads the key again, so revoking it (or rotating the secret key) ends every session made
with it. The cookie is HttpOnly, SameSite=Strict, Secure when ``public_url`` is https.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import Response

from fulfillbridge.store.api_keys import ApiKey, ApiKeyRepository
from fulfillbridge.store.database import Database
from fulfillbridge.web import csrf

SESSION_COOKIE = "fb_session"
FLASH_COOKIE = "fb_flash"
SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Viewer:
    key: ApiKey
    session_id: str  # what the CSRF token is bound to
    via: str  # "session" or "basic"

    @property
    def stores(self) -> frozenset[str] | None:
        return self.key.allowed()

    @property
    def actor(self) -> str:
        return f"dashboard:{self.key.name}"


def _secret(database: Database, purpose: str) -> bytes:
    return database.box.derive(purpose)


def _mac(database: Database, payload: str) -> str:
    digest = hmac.new(_secret(database, "console-session"), payload.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def session_cookie(database: Database, key: ApiKey, *, now: float | None = None) -> str:
    payload = f"{key.id}.{key.prefix}.{int(now if now is not None else time.time())}"
    return f"{payload}.{_mac(database, payload)}"


def _secure(request: Request) -> bool:
    return str(request.app.state.settings.public_url).startswith("https://")


def set_session(response: Response, request: Request, database: Database, key: ApiKey) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_cookie(database, key),
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def end_session(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request)
    )


async def _from_cookie(request: Request, database: Database) -> Viewer | None:
    value = request.cookies.get(SESSION_COOKIE)
    if not value or len(value) > 200:
        return None
    payload, _, mac = value.rpartition(".")
    parts = payload.split(".")
    if len(parts) != 3 or not hmac.compare_digest(mac.encode(), _mac(database, payload).encode()):
        return None
    key_id, prefix, issued = parts
    if not (key_id.isdigit() and issued.isdigit()):
        return None
    if not 0 <= time.time() - int(issued) <= SESSION_SECONDS:
        return None
    async with database.transaction() as session:
        key = await ApiKeyRepository(session).live(int(key_id), prefix)
    if key is None:
        return None
    return Viewer(key, f"session:{payload}", "session")


def basic_password(request: Request) -> str | None:
    """The password of an HTTP Basic header; "" for a header that cannot be read."""
    header = request.headers.get("authorization", "")
    if not header:
        return None
    if not header.lower().startswith("basic "):
        return ""
    try:
        _, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return ""
    return password


async def viewer(request: Request, database: Database) -> Viewer | None:
    """The signed-in viewer, or None. An Authorization header wins over the cookie."""
    password = basic_password(request)
    if password is not None:
        if not password:
            return None
        async with database.transaction() as session:
            key = await ApiKeyRepository(session).authenticate(password)
        # With HTTP Basic the API key itself is the session (the dashboard's earlier rule).
        return Viewer(key, f"apikey:{key.id}:{key.prefix}", "basic") if key else None
    return await _from_cookie(request, database)


def csrf_secret(database: Database) -> bytes:
    return _secret(database, "dashboard-csrf")


def csrf_token(database: Database, viewer: Viewer) -> str:
    return csrf.session_token(csrf_secret(database), viewer.session_id)


def forgery(request: Request, body: bytes, database: Database, viewer: Viewer) -> str | None:
    """Why a form post is refused as cross-site or token-less, else None."""
    return csrf.refusal(
        request.headers,
        body,
        secret=csrf_secret(database),
        session_id=viewer.session_id,
        host=request.headers.get("host"),
        public_url=request.app.state.settings.public_url,
    )


# --- flash messages: one line shown on the page a form post redirects to ---------------------


def flash(response: Response, kind: str, message: str) -> None:
    response.set_cookie(
        FLASH_COOKIE,
        quote(f"{kind}|{message[:500]}", safe=""),
        max_age=120,
        path="/",
        httponly=True,
        samesite="strict",
    )


def take_flash(request: Request, response: Response) -> tuple[str, str] | None:
    value = request.cookies.get(FLASH_COOKIE)
    if not value:
        return None
    response.delete_cookie(FLASH_COOKIE, path="/", httponly=True, samesite="strict")
    kind, _, message = unquote(value).partition("|")
    return ("error" if kind == "error" else "ok"), message
