"""Two pushes for one store at the same time: through the HTTP API of one process, and from
two Database objects on one database (two processes, as far as the database can tell).
The outcome must be that of one push after the other: no error, every row reported, each
level written with the ``changeFromQuantity`` of the level the other push left."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from fulfillbridge.config import Settings
from fulfillbridge.core.inventory import RawRow
from fulfillbridge.flows import inventory
from fulfillbridge.flows.connect import store_client
from fulfillbridge.flows.inventory import lock as inventory_lock
from fulfillbridge.serving import BackgroundServer
from fulfillbridge.store import leases
from fulfillbridge.store.api_keys import ApiKeyRepository
from fulfillbridge.store.database import Database
from fulfillbridge.store.inventory import InventoryRepository
from fulfillbridge.store.models import InventoryLockRow
from fulfillbridge.web.app import create_app
from fulfillbridge.web.inventory_routes import router
from tests.inventory.conftest import DOMAIN, Shop, add_store

SKUS = [f"RACE-{n}" for n in range(6)]


def _rows(quantity: int) -> list[RawRow]:
    return [RawRow(i + 2, "acme", sku, "main", quantity + i) for i, sku in enumerate(SKUS)]


def _operations(sandbox_url: str) -> list[str]:
    log = httpx.get(f"{sandbox_url}/__sandbox/shops/{DOMAIN}/requests").json()["requests"]
    return [e["operation"] for e in log]


def _stock(shop: Shop) -> None:
    for sku in SKUS:
        shop.add(sku, available=1)


@pytest.fixture
def engine_settings(fb_home: Path, shop: Shop, database_url: str) -> Settings:
    """The inventory tests' settings on each storage engine."""
    return Settings(
        home=fb_home,
        database_url=database_url,
        warehouses=[{"name": "main", "priority": 1}],
    )


@pytest.fixture
async def two_databases(engine_settings: Settings) -> AsyncIterator[tuple[Database, Database]]:
    first = Database.from_settings(engine_settings)
    second = Database.from_settings(engine_settings)
    yield first, second
    await first.close()
    await second.close()


async def _levels(database: Database) -> dict[str, tuple[int | None, int | None, str, int]]:
    async with database.stores() as stores:
        store = await stores.get("acme")
    async with database.transaction() as session:
        levels = await InventoryRepository(session).levels(store.id)
    return {lv.sku: (lv.wanted, lv.known, lv.status, lv.revision) for lv in levels.values()}


async def test_two_databases_pushing_one_store_at_once_run_one_after_the_other(
    two_databases: tuple[Database, Database],
    engine_settings: Settings,
    shop: Shop,
    sandbox_url: str,
) -> None:
    first, second = two_databases
    _stock(shop)
    await add_store(first, sandbox_url, shop)

    reports = await asyncio.gather(
        inventory.push(first, engine_settings, _rows(10)),
        inventory.push(second, engine_settings, _rows(50)),
        return_exceptions=True,
    )

    for report in reports:
        assert not isinstance(report, BaseException), repr(report)
        assert report.rejected == []
        assert [a["result"] for a in report.accepted] == ["applied"] * len(SKUS)
    # One of them went last: Shopify and our records hold its values, nothing in between.
    finals = {shop.on_hand(sku) for sku in SKUS[:1]}
    last = 10 if finals == {10} else 50
    assert [shop.on_hand(sku) for sku in SKUS] == [last + i for i in range(len(SKUS))]
    levels = await _levels(first)
    assert levels == {sku: (last + i, last + i, "in_sync", 2) for i, sku in enumerate(SKUS)}
    # The second write compared against the first one's value: Shopify found no stale
    # changeFromQuantity (a stale one is read again with InventoryLevelsReread).
    operations = _operations(sandbox_url)
    assert operations.count("InventorySetQuantities") == 2
    assert "InventoryLevelsReread" not in operations


@pytest.fixture
def bridge(settings: Settings) -> Iterator[str]:
    app = create_app(settings)
    app.include_router(router)
    with BackgroundServer(app) as running:
        yield running.url


async def test_two_puts_for_one_store_at_once_both_answer_every_row(
    bridge: str, database: Database, shop: Shop, sandbox_url: str
) -> None:
    _stock(shop)
    await add_store(database, sandbox_url, shop)
    async with database.transaction() as session:
        key = (await ApiKeyRepository(session).create("ops", ["acme"])).plain

    def body(quantity: int) -> dict:
        return {
            "rows": [
                {"sku": sku, "warehouse": "main", "quantity": quantity + i}
                for i, sku in enumerate(SKUS)
            ]
            + [{"sku": "NOPE", "quantity": 1}]
        }

    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=bridge, headers=headers, timeout=60) as http:
        answers = await asyncio.gather(
            http.put("/api/v1/inventory", json=body(20)),
            http.put("/api/v1/inventory", json=body(70)),
        )
    for answer in answers:
        assert answer.status_code == 200, answer.text
        data = answer.json()
        assert [a["result"] for a in data["accepted"]] == ["applied"] * len(SKUS), data
        assert [r["line"] for r in data["rejected"]] == [len(SKUS) + 1]
    values = [shop.on_hand(sku) for sku in SKUS]
    assert values in ([20 + i for i in range(len(SKUS))], [70 + i for i in range(len(SKUS))])
    levels = await _levels(database)
    assert [levels[sku][:3] for sku in SKUS] == [(v, v, "in_sync") for v in values]


async def test_a_push_that_cannot_get_the_store_reports_every_row(
    database: Database,
    settings: Settings,
    shop: Shop,
    sandbox_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _stock(shop)
    await add_store(database, sandbox_url, shop)
    async with database.stores() as stores:
        store = await stores.get("acme")
    monkeypatch.setattr(inventory_lock, "LOCK_WAIT_SECONDS", 0.3)

    async with inventory.store_lock(database, store):
        report = await inventory.push(database, settings, _rows(5))

    assert report.accepted == []
    assert [r.line for r in report.rejected] == [i + 2 for i in range(len(SKUS))]
    assert all("still running; send these rows again" in r.reason for r in report.rejected)
    assert report.stores["acme"].rejected == len(SKUS)
    assert [shop.on_hand(sku) for sku in SKUS] == [1] * len(SKUS)


async def test_a_lock_whose_holder_died_is_taken_after_its_lease(
    database: Database, settings: Settings, shop: Shop, sandbox_url: str
) -> None:
    _stock(shop)
    await add_store(database, sandbox_url, shop)
    async with database.stores() as stores:
        store = await stores.get("acme")
    # A holder that claimed the lock a lease and a second ago, and crashed.
    claimed_at = datetime.now(UTC) - timedelta(seconds=inventory_lock.LOCK_LEASE_SECONDS + 1)
    async with database.transaction() as session:
        taken = await leases.claim(
            session,
            leases.INVENTORY_PUSH,
            {"store_id": store.id},
            "crashed-worker",
            now=claimed_at,
            seconds=inventory_lock.LOCK_LEASE_SECONDS,
            create={},
        )
    assert taken

    report = await inventory.push(database, settings, _rows(5))

    assert report.rejected == []
    assert [shop.on_hand(sku) for sku in SKUS] == [5 + i for i in range(len(SKUS))]
    async with database.transaction() as session:
        row = await session.get(InventoryLockRow, store.id)
        assert row is not None and row.claimed_by is None  # released after the push


async def test_a_catalogue_event_waits_for_a_running_push(
    database: Database, settings: Settings, shop: Shop, sandbox_url: str
) -> None:
    """A mapping change from a webhook lands between pushes, never inside one."""
    _stock(shop)
    await add_store(database, sandbox_url, shop)
    await inventory.refresh_mapping(database, settings, "acme")
    async with database.stores() as stores:
        store = await stores.get("acme")
        secrets = await stores.secrets("acme")
    item = shop.add("RACE-NEW", available=1)
    payload = {"id": item, "admin_graphql_api_id": f"gid://shopify/InventoryItem/{item}"}
    async with store_client(database, settings, store, secrets) as client:
        async with inventory.store_lock(database, store):
            event = asyncio.create_task(
                inventory.apply_catalogue_event(
                    database, client, store, "inventory_items/create", payload
                )
            )
            await asyncio.sleep(1.0)
            assert not event.done()  # held back while the "push" holds the store
        note = await asyncio.wait_for(event, timeout=30)
    assert note
    report = await inventory.push(database, settings, [RawRow(2, "acme", "RACE-NEW", "main", 4)])
    assert report.rejected == [] and shop.on_hand("RACE-NEW") == 4
