"""Credentials for the Admin API and the OAuth steps that produce them.

- :class:`StaticToken`: a non-expiring ``shpat_`` token of a custom app, sent raw in
  ``X-Shopify-Access-Token`` (as a Bearer token Shopify answers 401;
  docs/shopify.md#custom-apps-static-tokens).
- :class:`ClientCredentials`: apps made in the Dev Dashboard, on stores their organisation
  owns: ``POST {base}/admin/oauth/access_token`` with ``grant_type=client_credentials``
  returns a token valid 24 h (``expires_in`` 86399) without refresh token; it is cached and
  fetched again shortly before expiry or after a 401.
- :class:`OAuthInstall`: the authorization-code flow for merchants' stores (install link,
  callback check, code exchange, refresh of expiring offline tokens), and
  :class:`ExpiringOfflineToken`, credentials that refresh such a token and hand every new
  one to a :class:`TokenSaver` so the store layer can persist it.

No repr, message or log line shows a token or secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets as _secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlencode

import httpx

from fulfillbridge.shopify._domains import normalize_shop_domain
from fulfillbridge.shopify._errors import OAuthError, redact

# Fetch a new token this long before the current one expires.
DEFAULT_REFRESH_MARGIN = 300.0
_ACCESS_TOKEN_PATH = "/admin/oauth/access_token"


def shop_base_url(shop: str, base_url: str | None = None) -> str:
    """Where ``shop`` is served: ``https://{shop}`` unless a base URL points elsewhere
    (the sandbox or another compatible server)."""
    return (base_url or f"https://{shop}").rstrip("/")


def _mask(secret: str) -> str:
    # Enough to tell tokens apart in a repr, never enough to use one.
    return f"{secret[:6]}…" if len(secret) > 12 else "…"


@dataclass(frozen=True, repr=False)
class AccessToken:
    """An access token with what Shopify said about it (times are epoch seconds)."""

    access_token: str
    scopes: tuple[str, ...] = ()
    expires_at: float | None = None
    refresh_token: str | None = None
    refresh_token_expires_at: float | None = None

    def expires_within(self, seconds: float, now: float) -> bool:
        return self.expires_at is not None and self.expires_at - now <= seconds

    @classmethod
    def from_response(cls, body: Mapping[str, Any], now: float) -> AccessToken:
        """Read a token endpoint answer (``access_token``, ``scope``, ``expires_in``,
        ``refresh_token``, ``refresh_token_expires_in``)."""
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise OAuthError("Shopify's token answer carries no access_token")
        scope = body.get("scope") or ""
        expires_in = body.get("expires_in")
        refresh_in = body.get("refresh_token_expires_in")
        refresh_token = body.get("refresh_token")
        return cls(
            access_token=token,
            scopes=tuple(s for s in str(scope).split(",") if s),
            expires_at=now + float(expires_in) if isinstance(expires_in, int | float) else None,
            refresh_token=refresh_token if isinstance(refresh_token, str) else None,
            refresh_token_expires_at=(
                now + float(refresh_in) if isinstance(refresh_in, int | float) else None
            ),
        )

    def __repr__(self) -> str:
        return (
            f"AccessToken(access_token={_mask(self.access_token)!r}, scopes={self.scopes!r}, "
            f"expires_at={self.expires_at!r}, has_refresh_token={self.refresh_token is not None})"
        )


@runtime_checkable
class Credentials(Protocol):
    """How the client authenticates: headers per request, and what to do after a 401."""

    async def auth_headers(self, http: httpx.AsyncClient, base_url: str) -> dict[str, str]: ...

    async def renew_after_unauthorized(
        self, http: httpx.AsyncClient, base_url: str, refused: Mapping[str, str]
    ) -> bool:
        """Drop the token sent in ``refused`` (the headers of the 401'd request) unless it
        was already replaced; True when fresh headers are worth one more attempt."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """Every secret value these credentials hold (removed from any message)."""
        ...


def _sent_token(headers: Mapping[str, str]) -> str | None:
    return headers.get("X-Shopify-Access-Token")


class StaticToken:
    """A fixed Admin API access token (custom apps' ``shpat_`` tokens)."""

    def __init__(self, token: str) -> None:
        if not token or not isinstance(token, str):
            raise ValueError("an access token is required")
        self._token = token

    async def auth_headers(self, http: httpx.AsyncClient, base_url: str) -> dict[str, str]:
        return {"X-Shopify-Access-Token": self._token}

    async def renew_after_unauthorized(
        self, http: httpx.AsyncClient, base_url: str, refused: Mapping[str, str]
    ) -> bool:
        return False  # nothing to renew: a refused static token stays refused

    def secrets(self) -> tuple[str, ...]:
        return (self._token,)

    def __repr__(self) -> str:
        return f"StaticToken({_mask(self._token)!r})"


async def _token_request(
    http: httpx.AsyncClient, url: str, form: Mapping[str, str], secrets: Iterable[str]
) -> dict[str, Any]:
    """POST a token request (form-encoded) and return the JSON answer, or raise OAuthError."""
    try:
        response = await http.post(url, data=dict(form), headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise OAuthError(
            redact(f"token request to {url} failed: {type(exc).__name__}", secrets)
        ) from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        detail = ""
        if isinstance(body, dict):
            detail = str(body.get("error_description") or body.get("error") or body.get("errors"))
        elif response.text:
            detail = response.text[:200]
        raise OAuthError(
            redact(
                f"token request to {url} refused with HTTP {response.status_code}"
                + (f": {detail}" if detail else ""),
                secrets,
            )
        )
    return body


class ClientCredentials:
    """Client-credentials grant for apps the store's organisation owns (24 h tokens)."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("client id and client secret are required")
        self.client_id = client_id
        self._client_secret = client_secret
        self._margin = refresh_margin
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    @property
    def token(self) -> AccessToken | None:
        return self._token

    async def _fetch(self, http: httpx.AsyncClient, base_url: str) -> AccessToken:
        body = await _token_request(
            http,
            base_url + _ACCESS_TOKEN_PATH,
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self._client_secret,
            },
            self.secrets(),
        )
        self.fetch_count += 1
        return AccessToken.from_response(body, self._clock())

    async def current_token(self, http: httpx.AsyncClient, base_url: str) -> AccessToken:
        async with self._lock:
            token = self._token
            if token is None or token.expires_within(self._margin, self._clock()):
                token = self._token = await self._fetch(http, base_url)
            return token

    async def auth_headers(self, http: httpx.AsyncClient, base_url: str) -> dict[str, str]:
        token = await self.current_token(http, base_url)
        return {"X-Shopify-Access-Token": token.access_token}

    async def renew_after_unauthorized(
        self, http: httpx.AsyncClient, base_url: str, refused: Mapping[str, str]
    ) -> bool:
        async with self._lock:
            # Concurrent requests refused with the same token drop it only once.
            if self._token is not None and _sent_token(refused) == self._token.access_token:
                self._token = None
        return True

    def secrets(self) -> tuple[str, ...]:
        found = [self._client_secret]
        if self._token is not None:
            found.append(self._token.access_token)
        return tuple(found)

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self.client_id!r}, client_secret='…')"


class TokenSaver(Protocol):
    """Called with every token obtained by a refresh, so it can be stored."""

    async def __call__(self, shop: str, token: AccessToken) -> None: ...


@dataclass(frozen=True)
class InstallLink:
    url: str
    state: str


@dataclass(frozen=True)
class CallbackParams:
    """A verified OAuth callback."""

    shop: str
    code: str
    state: str
    host: str | None = None
    timestamp: str | None = None


def callback_hmac(params: Mapping[str, str], client_secret: str) -> str:
    """Hex HMAC-SHA256 Shopify puts in ``hmac``: over ``k=v`` pairs of every other
    parameter, sorted by key and joined with ``&`` (Shopify docs, OAuth callback)."""
    message = "&".join(
        f"{key}={value}"
        for key, value in sorted(params.items())
        if key not in ("hmac", "signature")
    )
    return hmac.new(client_secret.encode(), message.encode(), hashlib.sha256).hexdigest()


@dataclass(repr=False)
class OAuthInstall:
    """The authorization-code install flow for one app."""

    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    redirect_uri: str
    clock: Callable[[], float] = field(default=time.time)

    def __repr__(self) -> str:
        return (
            f"OAuthInstall(client_id={self.client_id!r}, client_secret='…', "
            f"scopes={self.scopes!r}, redirect_uri={self.redirect_uri!r})"
        )

    def authorize_url(
        self, shop: str, *, base_url: str | None = None, state: str | None = None
    ) -> InstallLink:
        """The link that asks the merchant to install the app, with a fresh random state
        (keep it, e.g. in a signed cookie, to check the callback)."""
        shop = normalize_shop_domain(shop)
        state = state or _secrets.token_urlsafe(24)
        query = urlencode(
            {
                "client_id": self.client_id,
                "scope": ",".join(self.scopes),
                "redirect_uri": self.redirect_uri,
                "state": state,
            }
        )
        return InstallLink(f"{shop_base_url(shop, base_url)}/admin/oauth/authorize?{query}", state)

    def verify_callback(self, query: Mapping[str, str], *, expected_state: str) -> CallbackParams:
        """Check a callback's query parameters: hmac (constant time), state, shop domain
        and code. Raises :class:`OAuthError` naming what is wrong."""
        params = {str(k): str(v) for k, v in query.items()}
        given = params.get("hmac", "")
        if not given:
            raise OAuthError("OAuth callback has no hmac parameter")
        expected = callback_hmac(params, self.client_secret)
        if not hmac.compare_digest(expected.encode(), given.lower().encode()):
            raise OAuthError("OAuth callback hmac does not match: not signed by Shopify")
        state = params.get("state", "")
        if not expected_state or not hmac.compare_digest(state.encode(), expected_state.encode()):
            raise OAuthError("OAuth callback state does not match the install request")
        try:
            shop = normalize_shop_domain(params.get("shop", ""))
        except ValueError as exc:
            raise OAuthError(f"OAuth callback shop is invalid: {exc}") from exc
        code = params.get("code", "")
        if not code:
            raise OAuthError("OAuth callback has no code parameter")
        return CallbackParams(
            shop=shop,
            code=code,
            state=state,
            host=params.get("host"),
            timestamp=params.get("timestamp"),
        )

    async def exchange_code(
        self,
        shop: str,
        code: str,
        *,
        http: httpx.AsyncClient,
        base_url: str | None = None,
        expiring: bool = True,
    ) -> AccessToken:
        """Trade a callback's code for an offline token (expiring, with a refresh token,
        unless ``expiring`` is False)."""
        form = {"client_id": self.client_id, "client_secret": self.client_secret, "code": code}
        if expiring:
            form["expiring"] = "1"
        url = shop_base_url(normalize_shop_domain(shop), base_url) + _ACCESS_TOKEN_PATH
        body = await _token_request(http, url, form, (self.client_secret, code))
        return AccessToken.from_response(body, self.clock())

    async def refresh(
        self,
        shop: str,
        token: AccessToken,
        *,
        http: httpx.AsyncClient,
        base_url: str | None = None,
    ) -> AccessToken:
        """A new access token (and refresh token) for an expiring offline token."""
        if not token.refresh_token:
            raise OAuthError("this token has no refresh token; install the app again")
        url = shop_base_url(normalize_shop_domain(shop), base_url) + _ACCESS_TOKEN_PATH
        body = await _token_request(
            http,
            url,
            {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "grant_type": "refresh_token",
                "refresh_token": token.refresh_token,
            },
            (self.client_secret, token.refresh_token, token.access_token),
        )
        return AccessToken.from_response(body, self.clock())


class ExpiringOfflineToken:
    """Credentials from an expiring offline token: refreshed before expiry or after a 401,
    each new token handed to ``on_refresh`` (persisting it is the caller's job)."""

    def __init__(
        self,
        shop: str,
        token: AccessToken,
        install: OAuthInstall,
        *,
        on_refresh: TokenSaver | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
    ) -> None:
        self.shop = normalize_shop_domain(shop)
        self._token = token
        self._install = install
        self._on_refresh = on_refresh
        self._margin = refresh_margin
        self._lock = asyncio.Lock()

    @property
    def token(self) -> AccessToken:
        return self._token

    async def _refresh(self, http: httpx.AsyncClient, base_url: str) -> None:
        self._token = await self._install.refresh(
            self.shop, self._token, http=http, base_url=base_url
        )
        if self._on_refresh is not None:
            await self._on_refresh(self.shop, self._token)

    async def auth_headers(self, http: httpx.AsyncClient, base_url: str) -> dict[str, str]:
        async with self._lock:
            if self._token.expires_within(self._margin, self._install.clock()):
                await self._refresh(http, base_url)
            return {"X-Shopify-Access-Token": self._token.access_token}

    async def renew_after_unauthorized(
        self, http: httpx.AsyncClient, base_url: str, refused: Mapping[str, str]
    ) -> bool:
        async with self._lock:
            if _sent_token(refused) != self._token.access_token:
                return True  # another request already refreshed it
            if not self._token.refresh_token:
                return False
            # Refresh tokens rotate: exactly one refresh per refused token.
            await self._refresh(http, base_url)
        return True

    def secrets(self) -> tuple[str, ...]:
        values = [self._install.client_secret, self._token.access_token]
        if self._token.refresh_token:
            values.append(self._token.refresh_token)
        return tuple(values)

    def __repr__(self) -> str:
        return f"ExpiringOfflineToken(shop={self.shop!r}, token={self._token!r})"
