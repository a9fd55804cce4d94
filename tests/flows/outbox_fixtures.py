"""The fixtures the outbox tests share: the sandbox's Admin API with faults cleared after
each test, the bridge's settings (two stages, production timings) and database, a store
connected to the sandbox, and a fulfillment service set up there. A module overrides
``settings`` when it needs other rules."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from fulfillbridge.config import Settings
from fulfillbridge.store.database import Database
from tests.flows.outbox_helpers import (
    Admin,
    ServiceSetup,
    bridge_settings,
    connect_store,
    create_service,
)


@pytest.fixture
def admin(sandbox_url: str) -> Iterator[Admin]:
    client = Admin(sandbox_url)
    yield client
    client.faults({})
    client.close()


@pytest.fixture
def settings(fb_home: Path) -> Settings:
    return bridge_settings(fb_home, stages=["printing", "packing"])


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = Database.from_settings(settings)
    yield db
    await db.close()


@pytest.fixture
async def store_id(database: Database, sandbox_url: str) -> int:
    return await connect_store(database, sandbox_url)


@pytest.fixture
def service(admin: Admin) -> ServiceSetup:
    return create_service(admin)
