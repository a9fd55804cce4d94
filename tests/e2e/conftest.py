"""Fixtures of the end-to-end tests: the sandbox over real HTTP (session-wide, reset for each
test by ``sandbox_url``), the bridge's app under uvicorn with its config file in a temporary
home, and a store connected and set up through the bridge's own flows."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from fulfillbridge.config import load_settings
from fulfillbridge.core.stores import AuthKind
from fulfillbridge.flows import configure, connect, setup
from fulfillbridge.serving import BackgroundServer
from fulfillbridge.store.database import Database
from fulfillbridge.web.app import create_app
from tests.e2e.harness import (
    SHOP,
    STORE,
    TOKEN,
    WEBHOOK_SECRET,
    Bridge,
    Merchant,
    free_port,
    write_config,
)


def _close_in_thread(database: Database | None) -> None:
    # The server's event loop is gone once it stopped: dispose its engine on a fresh loop.
    if database is None:
        return
    thread = threading.Thread(target=lambda: asyncio.run(database.close()))
    thread.start()
    thread.join(timeout=10)


@pytest.fixture
async def merchant(sandbox_url: str) -> AsyncIterator[Merchant]:
    merchant = Merchant(sandbox_url)
    yield merchant
    await merchant.aclose()


@pytest.fixture
async def bridge(fb_home: Path, sandbox_url: str) -> AsyncIterator[Bridge]:
    """The bridge's HTTP app on a free port; its public URL (where Shopify sends webhooks
    and callbacks) is that port."""
    port = free_port()
    write_config(fb_home, f"http://127.0.0.1:{port}")
    settings = load_settings()
    database = Database.from_settings(settings)
    app = create_app(settings)
    server = BackgroundServer(app, port=port)
    await server.__aenter__()
    try:
        yield Bridge(settings=settings, database=database, url=server.url, home=fb_home)
    finally:
        await server.__aexit__()
        _close_in_thread(getattr(app.state, "database", None))
        await database.close()


async def connect_store(
    bridge: Bridge,
    sandbox_url: str,
    *,
    mode: str = "fulfillment_service",
    locations: Sequence[str] | None = None,
) -> setup.SetupReport:
    """`store add` + `store configure` + `store setup`, through the flows the CLI calls."""
    await connect.add_store(
        bridge.settings,
        name=STORE,
        shop=SHOP,
        kind=AuthKind.TOKEN,
        token=TOKEN,
        webhook_secret=WEBHOOK_SECRET,
        api_url=sandbox_url,
    )
    await configure.configure_store(bridge.settings, STORE, mode=mode, locations=locations)
    return await setup.setup_store(bridge.settings, STORE)


@pytest.fixture
async def service_store(bridge: Bridge, merchant: Merchant, sandbox_url: str) -> Bridge:
    """A store set up as a fulfillment service, whose merchant lets Shopify send requests
    automatically and stocks the catalogue at the service's location."""
    report = await connect_store(bridge, sandbox_url)
    assert report.fulfillment_service_id and report.location_id
    await merchant.auto_submit_requests()
    return bridge
