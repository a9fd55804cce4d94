"""Shopify's OAuth endpoints as the sandbox serves them (docs/shopify.md#tokens-and-credentials).

- ``POST /admin/oauth/access_token`` (form or JSON body):
  ``grant_type=client_credentials`` -> ``{"access_token", "scope", "expires_in": 86399}``;
  ``code=...`` (authorization code; ``expiring=1`` asks for an expiring offline token) ->
  ``{"access_token", "scope"}`` or, expiring, ``{..., "expires_in": 3600, "refresh_token",
  "refresh_token_expires_in"}``; ``grant_type=refresh_token`` rotates an expiring token.
- ``GET /admin/oauth/authorize?client_id&scope&redirect_uri&state`` approves at once and
  redirects to ``redirect_uri`` with ``code``, ``hmac``, ``host``, ``shop``, ``state``,
  ``timestamp``; the hmac is HMAC-SHA256 (hex) with the client secret over the other
  parameters sorted by name and joined as ``k=v&k=v`` (Shopify docs, "Verify a request").
- ``GET /admin/oauth/access_scopes.json`` -> ``{"access_scopes": [{"handle": ...}]}``.

Issued tokens expire on the sandbox clock. Errors use OAuth's ``{"error",
"error_description"}`` shape with status 400 (401 for a bad token on access_scopes.json).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from fulfillbridge.sandbox.shops import IssuedToken, SandboxApp, SandboxShop

if TYPE_CHECKING:
    from fulfillbridge.sandbox.app import SandboxASGI

CLIENT_CREDENTIALS_TTL = 86399  # seconds (docs/shopify.md#client-credentials)
EXPIRING_OFFLINE_TTL = 3600  # about one hour (docs/shopify.md#oauth-install)
REFRESH_TOKEN_TTL = 90 * 24 * 3600  # Shopify docs: refresh tokens last 90 days
AUTH_CODE_TTL = 600  # an unused authorization code lapses after ten minutes
_INVALID_TOKEN = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}


def sign_query(params: dict[str, str], secret: str) -> str:
    """Shopify's hmac over a redirect's query parameters (everything but ``hmac``)."""
    message = "&".join(f"{key}={params[key]}" for key in sorted(params) if key != "hmac")
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def _error(description: str, error: str = "invalid_request", status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _shop(request: Request) -> SandboxShop:
    return request.scope["state"]["sandbox_shop"]


async def _params(request: Request) -> dict[str, str] | JSONResponse:
    raw = await request.body()
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == "application/json":
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return _error("the body is not valid JSON")
        if not isinstance(body, dict):
            return _error("the JSON body must be an object")
        return {str(k): str(v) for k, v in body.items() if v is not None}
    pairs = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    pairs.update({k: v for k, v in request.query_params.items() if k not in pairs})
    return pairs


def _client(shop: SandboxShop, params: dict[str, str]) -> SandboxApp | JSONResponse:
    client_id = params.get("client_id", "")
    client_secret = params.get("client_secret", "")
    if not client_id or not client_secret:
        return _error("client_id and client_secret are required")
    app = shop.app_by_client_id(client_id)
    if app is None or not hmac.compare_digest(app.client_secret.encode(), client_secret.encode()):
        return _error(
            "client authentication failed (unknown client_id or wrong secret)", "invalid_client"
        )
    return app


def _issue(
    owner: SandboxASGI,
    shop: SandboxShop,
    app: SandboxApp,
    scopes: frozenset[str],
    ttl: int | None,
    *,
    refreshable: bool = False,
) -> dict[str, Any]:
    now = owner.sandbox.clock.time()
    token = "shpat_" + secrets.token_hex(16)
    refresh = "shprt_" + secrets.token_hex(16) if refreshable else None
    shop.tokens[token] = IssuedToken(
        app_id=app.app_id,
        scopes=scopes,
        expires_at=now + ttl if ttl is not None else None,
        refresh_token=refresh,
        refresh_expires_at=now + REFRESH_TOKEN_TTL if refresh else None,
    )
    answer: dict[str, Any] = {"access_token": token, "scope": ",".join(sorted(scopes))}
    if ttl is not None:
        answer["expires_in"] = ttl
    if refresh is not None:
        answer["refresh_token"] = refresh
        answer["refresh_token_expires_in"] = REFRESH_TOKEN_TTL
    return answer


def build_oauth_app(owner: SandboxASGI) -> Starlette:
    async def access_token(request: Request) -> Response:
        shop = _shop(request)
        params = await _params(request)
        if isinstance(params, JSONResponse):
            return params
        app = _client(shop, params)
        if isinstance(app, JSONResponse):
            return app
        grant = params.get("grant_type") or ("authorization_code" if "code" in params else "")
        now = owner.sandbox.clock.time()
        if grant == "client_credentials":
            return JSONResponse(_issue(owner, shop, app, app.scopes, CLIENT_CREDENTIALS_TTL))
        if grant == "authorization_code":
            code = params.get("code", "")
            found = shop.auth_codes.pop(code, None)
            if found is None or found[0] != app.app_id or found[2] < now:
                return _error(
                    "the authorization code is unknown, expired or already used", "invalid_grant"
                )
            expiring = params.get("expiring") in ("1", "true")
            ttl = EXPIRING_OFFLINE_TTL if expiring else None
            return JSONResponse(_issue(owner, shop, app, found[1], ttl, refreshable=expiring))
        if grant == "refresh_token":
            refresh = params.get("refresh_token", "")
            for token, issued in list(shop.tokens.items()):
                if (
                    issued.refresh_token is not None
                    and hmac.compare_digest(issued.refresh_token.encode(), refresh.encode())
                    and issued.app_id == app.app_id
                ):
                    if issued.refresh_expires_at is not None and issued.refresh_expires_at < now:
                        break
                    # Rotation: the old pair stops working once a new one is issued.
                    del shop.tokens[token]
                    answer = _issue(
                        owner, shop, app, issued.scopes, EXPIRING_OFFLINE_TTL, refreshable=True
                    )
                    return JSONResponse(answer)
            return _error("the refresh token is unknown, expired or already used", "invalid_grant")
        return _error(
            f"unsupported grant_type {grant!r}: use client_credentials, authorization_code "
            "or refresh_token",
            "unsupported_grant_type",
        )

    async def authorize(request: Request) -> Response:
        shop = _shop(request)
        query = request.query_params
        app = shop.app_by_client_id(query.get("client_id", ""))
        if app is None:
            return _error("unknown client_id", "invalid_client")
        redirect_uri = query.get("redirect_uri", "")
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return _error("redirect_uri must be an absolute http(s) URL")
        requested = frozenset(s for s in query.get("scope", "").replace(" ", "").split(",") if s)
        unknown = sorted(s for s in requested if not s.startswith(("read_", "write_")))
        if unknown:
            return _error(f"unknown scope(s): {', '.join(unknown)}", "invalid_scope")
        code = secrets.token_hex(16)
        now = owner.sandbox.clock.time()
        shop.auth_codes[code] = (app.app_id, requested or app.scopes, now + AUTH_CODE_TTL)
        handle = shop.domain.removesuffix(".myshopify.com")
        params = {
            "code": code,
            "host": base64.b64encode(f"admin.shopify.com/store/{handle}".encode())
            .decode()
            .rstrip("="),
            "shop": shop.domain,
            "state": query.get("state", ""),
            "timestamp": str(int(now)),
        }
        params["hmac"] = sign_query(params, app.client_secret)
        separator = "&" if parts.query else "?"
        return RedirectResponse(redirect_uri + separator + urlencode(params), status_code=302)

    async def access_scopes(request: Request) -> Response:
        shop = _shop(request)
        found = owner._authenticate(shop, request.headers.get("x-shopify-access-token"))
        if found is None:
            return JSONResponse(_INVALID_TOKEN, status_code=401)
        _app, scopes = found
        return JSONResponse({"access_scopes": [{"handle": s} for s in sorted(scopes)]})

    async def not_found(_request: Request) -> Response:
        return JSONResponse({"errors": "Not Found"}, status_code=404)

    return Starlette(
        routes=[
            Route("/admin/oauth/access_token", access_token, methods=["POST"]),
            Route("/admin/oauth/authorize", authorize, methods=["GET"]),
            Route("/admin/oauth/access_scopes.json", access_scopes, methods=["GET"]),
            Route("/{rest:path}", not_found),
        ]
    )
