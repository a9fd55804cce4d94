"""Cross-site request forgery protection for the dashboard's forms, kept apart from how a
person signed in so a session cookie can use it as HTTP Basic does now.

A state-changing request is accepted only when both hold:

- **Same origin.** Its ``Origin`` header (or, when a browser sends none, its ``Referer``)
  names this bridge: the host the request was sent to, or the origin of ``public_url``.
  A request with neither header is refused: every browser sends one of them on a form
  POST, and the API (which takes no ambient credentials) does not come through here.
- **The session's token.** The form carries ``csrf_token`` (or the ``X-CSRF-Token``
  header) equal to :func:`session_token` of the signed-in session: an HMAC of the
  session's id under a key derived from the bridge's secret key, so it needs no storage,
  is the same in every process, and changes when the session (the API key) does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def session_token(secret: bytes, session_id: str) -> str:
    """The token a session's forms carry."""
    digest = hmac.new(secret, b"csrf:" + session_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _origin_of(url: str) -> tuple[str, str] | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return parts.scheme, parts.netloc.rpartition("@")[2].lower()


def same_origin(headers: Mapping[str, str], *, host: str | None, public_url: str) -> bool:
    """True when the request's Origin (else Referer) is this bridge."""
    claimed = headers.get("origin")
    if claimed is None or claimed == "null":
        claimed = headers.get("referer") if claimed is None else None
    if not claimed:
        return False
    origin = _origin_of(claimed)
    if origin is None:
        return False
    ours = _origin_of(public_url)
    if ours is not None and origin == ours:
        return True
    return host is not None and origin[1] == host.strip().lower()


def form_token(body: bytes, headers: Mapping[str, str]) -> str | None:
    """The token a request carries: the header, else the urlencoded form field."""
    given = headers.get(CSRF_HEADER)
    if given:
        return given
    try:
        fields = parse_qs(body.decode("ascii"), max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return None
    values = fields.get(CSRF_FIELD)
    return values[0] if values else None


def refusal(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: bytes,
    session_id: str,
    host: str | None,
    public_url: str,
) -> str | None:
    """Why a state-changing request is refused, or None when it may go ahead."""
    if not same_origin(headers, host=host, public_url=public_url):
        return "refused: the request did not come from this bridge's own pages (Origin)"
    given = form_token(body, headers)
    expected = session_token(secret, session_id)
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        return "refused: the form's csrf_token is missing or stale; reload the page"
    return None
