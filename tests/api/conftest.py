"""The bridge's app with the operation's API, under uvicorn on a free port, on a SQLite
database the tests seed directly."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from fulfillbridge.config import Settings
from fulfillbridge.serving import BackgroundServer
from fulfillbridge.store.database import Database
from fulfillbridge.web.app import create_app
from tests.api.seeding import add_key, add_store, api_settings


@pytest.fixture
def settings(fb_home, database_url: str) -> Settings:
    """On SQLite, and on PostgreSQL when a server is available (see tests/conftest.py)."""
    return api_settings(fb_home, database_url)


def _close_in_thread(database: Database) -> None:
    # The server's loop is gone once it stopped; dispose its engine on a fresh one.
    thread = threading.Thread(target=lambda: asyncio.run(database.close()))
    thread.start()
    thread.join(timeout=10)


@pytest.fixture
def server(settings: Settings) -> Iterator[BackgroundServer]:
    app = create_app(settings)
    with BackgroundServer(app) as running:
        yield running
    database = getattr(app.state, "database", None)
    if database is not None:
        _close_in_thread(database)


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    database = Database.from_settings(settings)
    yield database
    await database.close()


@dataclass
class World:
    """Two stores, a key for each, and one for both."""

    database: Database
    url: str
    acme_id: int
    globex_id: int
    acme_key: str
    globex_key: str
    all_key: str

    def client(self, key: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key or self.acme_key}"}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=20)


@pytest.fixture
async def world(server: BackgroundServer, database: Database) -> World:
    acme = await add_store(database, "acme")
    globex = await add_store(
        database,
        "globex",
        mode="order_management",
        managed_locations=["gid://shopify/Location/1", "gid://shopify/Location/2"],
    )
    return World(
        database=database,
        url=server.url,
        acme_id=acme,
        globex_id=globex,
        acme_key=await add_key(database, "acme-ops", ["acme"]),
        globex_key=await add_key(database, "globex-ops", ["globex"]),
        all_key=await add_key(database, "everything"),
    )
