"""What every console route does first: find the viewer (or send them to sign in), and
for a form post, refuse it when it is cross-site or carries no valid token."""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qs, quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fulfillbridge.store.database import Database
from fulfillbridge.web.console import auth

MAX_FIELDS = 1000


def challenge() -> Response:
    return Response(
        "sign in with an API key as the password (create one: fulfillbridge apikey create), "
        "or use the sign-in form at /signin",
        status_code=401,
        headers={"WWW-Authenticate": 'Basic realm="fulfillbridge"'},
    )


async def viewer_or_signin(request: Request, database: Database) -> auth.Viewer | Response:
    """The viewer of a page; else a redirect to the sign-in form (a browser without
    credentials) or a 401 (credentials that do not work)."""
    viewer = await auth.viewer(request, database)
    if viewer is not None:
        return viewer
    if auth.basic_password(request) is not None:
        return challenge()
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)
    if request.cookies.get(auth.SESSION_COOKIE):
        auth.end_session(response, request)  # expired or revoked: say so on the form
        auth.flash(response, "error", "your session ended (expired, or its key was revoked)")
    return response


def refused(reason: str, status: int = 403) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><title>refused</title><p>{escape(reason)}</p><a href='/'>back</a>",
        status,
    )


async def form_viewer(
    request: Request, database: Database
) -> tuple[auth.Viewer, dict[str, list[str]]] | Response:
    """The viewer and the fields of a form post that passed the CSRF check."""
    viewer = await auth.viewer(request, database)
    if viewer is None:
        return challenge()
    body = await request.body()
    if (reason := auth.forgery(request, body, database, viewer)) is not None:
        return refused(reason)
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        return refused(f"the form could not be read: {exc}", 400)
    return viewer, fields


def field(fields: dict[str, list[str]], name: str, default: str = "") -> str:
    values = fields.get(name)
    return values[0].strip() if values else default


def back_to(request: Request, fallback: str) -> str:
    """Where a form post returns: the page it came from when that is ours."""
    referer = request.headers.get("referer", "")
    host = request.headers.get("host", "")
    for prefix in (f"http://{host}", f"https://{host}"):
        if host and referer.startswith(prefix + "/"):
            return referer[len(prefix) :]
    return fallback


def redirect(location: str, kind: str, message: str) -> Response:
    response = RedirectResponse(location, status_code=303)
    auth.flash(response, kind, message)
    return response
