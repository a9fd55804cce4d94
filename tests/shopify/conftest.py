"""Fixtures for the Shopify client tests: a real sandbox server over HTTP (one per
session, reset before each test) and helpers to reach its control API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.sandbox.shops import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_SHOP_DOMAIN,
)
from fulfillbridge.shopify import RetryPolicy, ShopifyClient, StaticToken

SHOP = DEFAULT_SHOP_DOMAIN
TOKEN = DEFAULT_ACCESS_TOKEN
CLIENT_ID = DEFAULT_CLIENT_ID
CLIENT_SECRET = DEFAULT_CLIENT_SECRET
# Short delays keep retry tests fast; the bounds are what is under test, not the sizes.
FAST_RETRIES = RetryPolicy(max_attempts=6, max_retry_seconds=20, base_delay=0.01, max_delay=0.05)


class SandboxControl:
    """The sandbox's ``/__sandbox`` control API (test-only, never Shopify's)."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.url = server.url

    def base_url(self, shop: str = SHOP) -> str:
        """Where a client reaches ``shop`` on the sandbox (path-prefix addressing)."""
        return f"{self.url}/shops/{shop}"

    def _post(self, path: str, body: Any = None) -> Any:
        response = httpx.post(f"{self.url}/__sandbox{path}", json=body, timeout=10)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def reset(self) -> None:
        self._post("/reset")

    def add_shop(self, **spec: Any) -> Any:
        return self._post("/shops", spec)

    def set_bucket(self, available: float, shop: str = SHOP) -> Any:
        return self._post(f"/shops/{shop}/bucket", {"available": available})

    def faults(self, settings: dict[str, Any]) -> Any:
        return self._post("/faults", settings)

    def clock(self, **change: Any) -> Any:
        return self._post("/clock", change)

    def requests(self, shop: str = SHOP) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/__sandbox/shops/{shop}/requests", timeout=10)
        response.raise_for_status()
        body = response.json()
        return body["requests"] if isinstance(body, dict) else body


@pytest.fixture(scope="session")
def _shopify_sandbox_session() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(_shopify_sandbox_session: SandboxServer) -> Iterator[SandboxControl]:
    control = SandboxControl(_shopify_sandbox_session)
    control.reset()
    yield control
    control.reset()


@pytest.fixture
async def make_client(sandbox: SandboxControl) -> AsyncIterator[Callable[..., ShopifyClient]]:
    """Build clients against the sandbox; all are closed after the test."""
    made: list[ShopifyClient] = []

    def _make(shop: str = SHOP, credentials: Any = None, **kwargs: Any) -> ShopifyClient:
        kwargs.setdefault("api_base_url", sandbox.base_url(shop))
        kwargs.setdefault("retry_policy", FAST_RETRIES)
        client = ShopifyClient(shop, credentials or StaticToken(TOKEN), **kwargs)
        made.append(client)
        return client

    yield _make
    for made_client in made:
        await made_client.aclose()


@pytest.fixture
def client(make_client: Callable[..., ShopifyClient]) -> ShopifyClient:
    return make_client()
