"""Sandbox fixtures: one real HTTP server per test session (reset before each test that uses
it) and a fresh in-process ASGI app for httpx.ASGITransport."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from fulfillbridge.sandbox.app import SandboxASGI, create_app
from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.sandbox.shops import DEFAULT_ACCESS_TOKEN, DEFAULT_SHOP_DOMAIN

API_VERSION = "2026-07"
GRAPHQL_PATH = f"/admin/api/{API_VERSION}/graphql.json"
ADMIN_HEADERS = {"X-Shopify-Access-Token": DEFAULT_ACCESS_TOKEN}


@pytest.fixture(scope="session")
def _sandbox_server_session() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox_server(_sandbox_server_session: SandboxServer) -> SandboxServer:
    """The session's sandbox server over real HTTP, reset to its starting state."""
    response = httpx.post(f"{_sandbox_server_session.url}/__sandbox/reset", timeout=10)
    response.raise_for_status()
    return _sandbox_server_session


@pytest.fixture
def sandbox_app() -> SandboxASGI:
    """A fresh sandbox as an ASGI app (use with ``httpx.ASGITransport``)."""
    return create_app()


@pytest.fixture
def sandbox_shop_domain() -> str:
    return DEFAULT_SHOP_DOMAIN
