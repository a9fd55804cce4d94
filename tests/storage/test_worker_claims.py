"""Workers' claims on SQLite and PostgreSQL: a store's queues and outbox rows held by a
worker that beats, and lost within the lease (seconds) once its heartbeat stops."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet

from fulfillbridge.commands.workers import worker_views
from fulfillbridge.core.stores import AuthKind
from fulfillbridge.store import db, leases, queues
from fulfillbridge.store.crypto import SecretBox
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import InboxEventRow, OutboxRow

LEASE = 2.0
BEAT = 0.4


@pytest.fixture
async def database(database_url: str):
    db.upgrade(database_url)
    database = Database(database_url, SecretBox([Fernet.generate_key()]))
    yield database
    await database.close()


async def _store(database: Database, name: str) -> int:
    async with database.stores() as stores:
        added = await stores.add(
            name=name,
            shop_domain=f"{name}.myshopify.com",
            auth_kind=AuthKind.TOKEN,
            secrets={"access_token": "shpat_x"},
        )
    return added.id


async def _outbox_row(database: Database, store_id: int, key: str) -> int:
    async with database.transaction() as session:
        row = OutboxRow(store_id=store_id, kind="accept_request", payload={}, idempotency_key=key)
        session.add(row)
        await session.flush()
        return row.id


def _now() -> datetime:
    return datetime.now(UTC)


async def _take(database: Database, store_id: int, row_id: int, holder: str) -> tuple[bool, bool]:
    """Try to take the store's queues and the row for ``holder``: (store, row)."""
    async with database.transaction() as session:
        store = await queues.claim_store(session, store_id, holder, now=_now(), seconds=LEASE)
    async with database.transaction() as session:
        row = await leases.claim(
            session, leases.OUTBOX_SEND, {"id": row_id}, holder, now=_now(), seconds=LEASE
        )
    return store, row


async def _beat(database: Database, worker: queues.Beat) -> int:
    async with database.transaction() as session:
        return await queues.beat(session, worker, now=_now(), lease_seconds=LEASE)


async def test_claims_last_while_the_worker_beats_and_are_lost_seconds_after_it_stops(
    database: Database,
) -> None:
    store_id = await _store(database, "acme")
    row_id = await _outbox_row(database, store_id, "k1")
    started = _now()
    alive = queues.Beat(worker_id="w-alive", host="host-a", pid=11, started_at=started)
    holder = leases.new_holder(alive.worker_id)
    assert await _take(database, store_id, row_id, holder) == (True, True)

    # Beating for three lease lengths keeps both claims: the other worker gets nothing.
    other = leases.new_holder("w-other")
    until = time.monotonic() + 3 * LEASE
    while time.monotonic() < until:
        assert await _beat(database, alive) == 2  # the store's queues and the row
        assert await _take(database, store_id, row_id, other) == (False, False)
        await asyncio.sleep(BEAT)

    # The heartbeat freezes (a killed or hung process): within the lease, both are free.
    frozen_at = time.monotonic()
    while await _take(database, store_id, row_id, other) != (True, True):
        assert time.monotonic() - frozen_at < LEASE + 1.0, "claims outlived the lease"
        await asyncio.sleep(0.1)
    lost_after = time.monotonic() - frozen_at
    assert 0.5 < lost_after < LEASE + 1.0

    # The frozen worker's late beat renews nothing of what it lost, and its owner keeps it.
    assert await _beat(database, alive) == 0
    async with database.transaction() as session:
        assert await queues.holds_store(session, store_id, other, now=_now())
        assert not await queues.holds_store(session, store_id, holder, now=_now())

    async with database.transaction() as session:
        rows = await queues.list_workers(session)
    (view,) = worker_views(rows, now=_now(), stale_after=LEASE)
    assert (view["worker_id"], view["host"], view["pid"], view["alive"]) == (
        "w-alive",
        "host-a",
        11,
        True,
    )
    (later,) = worker_views(rows, now=_now().replace(year=2100), stale_after=LEASE)
    assert later["alive"] is False


async def test_stores_with_work_leave_out_stores_another_worker_holds(database: Database) -> None:
    first = await _store(database, "one")
    second = await _store(database, "two")
    await _store(database, "idle")  # no work: never listed
    await _outbox_row(database, first, "k-one")
    async with database.transaction() as session:
        session.add(
            InboxEventRow(
                store_id=second, source="callback", topic="fulfillment_request",
                delivery_id="d1", payload={}, attempts=0,
            )
        )  # fmt: skip
    async with database.transaction() as session:
        assert sorted(await queues.stores_with_work(session, now=_now(), limit=10)) == sorted(
            [first, second]
        )
        assert await queues.claim_store(session, first, "w1#a", now=_now(), seconds=LEASE)
    async with database.transaction() as session:
        assert await queues.stores_with_work(session, now=_now(), limit=10) == [second]
        assert not await queues.claim_store(session, first, "w2#b", now=_now(), seconds=LEASE)
        # Given back, it comes after the store that waited longer.
        assert await queues.release_store(session, first, "w1#a")
    async with database.transaction() as session:
        assert await queues.stores_with_work(session, now=_now(), limit=10) == [second, first]
