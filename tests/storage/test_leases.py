"""Leases on SQLite and PostgreSQL: claim, renew, release, a crashed holder's lease running
out, and claimers racing for one row."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, update

from fulfillbridge.core.stores import AuthKind
from fulfillbridge.store import db, leases
from fulfillbridge.store.crypto import SecretBox
from fulfillbridge.store.database import Database
from fulfillbridge.store.leases import FEED_POLL, INVENTORY_PUSH, OUTBOX_SEND, RECONCILE_POLL
from fulfillbridge.store.models import CheckpointRow, InventoryLockRow, OutboxRow

LEASE = 120.0


@pytest.fixture
async def database(database_url: str):
    db.upgrade(database_url)
    database = Database(database_url, SecretBox([Fernet.generate_key()]))
    yield database
    await database.close()


@pytest.fixture
async def store_id(database: Database) -> int:
    async with database.stores() as stores:
        added = await stores.add(
            name="acme",
            shop_domain="acme.myshopify.com",
            auth_kind=AuthKind.TOKEN,
            secrets={"access_token": "shpat_x"},
        )
    return added.id


def _now() -> datetime:
    return datetime.now(UTC)


async def _claim_push(
    database: Database, store_id: int, holder: str, now: datetime | None = None
) -> bool:
    async with database.transaction() as session:
        return await leases.claim(
            session,
            INVENTORY_PUSH,
            {"store_id": store_id},
            holder,
            now=now or _now(),
            seconds=LEASE,
            create={},
        )


async def _lock_row(database: Database, store_id: int) -> InventoryLockRow:
    async with database.transaction() as session:
        row = await session.get(InventoryLockRow, store_id)
    assert row is not None
    return row


async def test_a_held_lease_is_refused_to_others_until_released(
    database: Database, store_id: int
) -> None:
    key = {"store_id": store_id}
    assert await _claim_push(database, store_id, "a#1") is True  # creates the row
    assert await _claim_push(database, store_id, "b#1") is False
    row = await _lock_row(database, store_id)
    assert row.claimed_by == "a#1"

    async with database.transaction() as session:
        assert not await leases.renew(
            session, INVENTORY_PUSH, key, "b#1", now=_now(), seconds=LEASE
        )
        assert not await leases.release(session, INVENTORY_PUSH, key, "b#1")
        assert await leases.renew(session, INVENTORY_PUSH, key, "a#1", now=_now(), seconds=LEASE)
    assert (await _lock_row(database, store_id)).claimed_by == "a#1"

    async with database.transaction() as session:
        assert await leases.release(session, INVENTORY_PUSH, key, "a#1")
    row = await _lock_row(database, store_id)
    assert (row.claimed_by, row.claimed_until) == (None, None)
    assert await _claim_push(database, store_id, "b#1") is True


async def test_a_crashed_holders_lease_runs_out(database: Database, store_id: int) -> None:
    key = {"store_id": store_id}
    # A holder that claimed 130 s ago for 120 s and died without releasing.
    assert await _claim_push(database, store_id, "dead#1", _now() - timedelta(seconds=130))
    async with database.transaction() as session:
        assert not await leases.is_free(
            session, INVENTORY_PUSH, key, now=_now() - timedelta(seconds=60), seconds=LEASE
        )
        assert await leases.is_free(session, INVENTORY_PUSH, key, now=_now(), seconds=LEASE)

    assert await _claim_push(database, store_id, "alive#1") is True

    # The dead holder coming back changes nothing: the lease is no longer its own.
    async with database.transaction() as session:
        assert not await leases.renew(
            session, INVENTORY_PUSH, key, "dead#1", now=_now(), seconds=LEASE
        )
        assert not await leases.release(session, INVENTORY_PUSH, key, "dead#1")
    row = await _lock_row(database, store_id)
    assert row.claimed_by == "alive#1"
    until = row.claimed_until
    assert until is not None and until.replace(tzinfo=until.tzinfo or UTC) > _now()


@pytest.mark.parametrize("row_exists", [False, True], ids=["new-row", "expired-row"])
async def test_of_two_racing_claimers_one_wins(
    database: Database, store_id: int, row_exists: bool
) -> None:
    """The first claimer's transaction stays open while the second claims: the second's
    UPDATE (or INSERT) waits for it, then re-checks and loses."""
    if row_exists:
        assert await _claim_push(database, store_id, "old#1", _now() - timedelta(seconds=500))
    now = _now()
    async with database.transaction() as first:
        won = await leases.claim(
            first,
            INVENTORY_PUSH,
            {"store_id": store_id},
            "first#1",
            now=now,
            seconds=LEASE,
            create={},
        )
        assert won
        second = asyncio.create_task(_claim_push(database, store_id, "second#1", now))
        await asyncio.sleep(0.5)
        assert not second.done()  # waiting for the first transaction
    assert await asyncio.wait_for(second, timeout=20) is False
    assert (await _lock_row(database, store_id)).claimed_by == "first#1"


async def test_many_claimers_at_once_one_wins(database: Database, store_id: int) -> None:
    results = await asyncio.gather(*(_claim_push(database, store_id, f"w{n}#1") for n in range(6)))
    assert sorted(results) == [False] * 5 + [True]
    row = await _lock_row(database, store_id)
    assert row.claimed_by == f"w{results.index(True)}#1"


async def test_a_claim_rechecks_the_callers_condition(database: Database, store_id: int) -> None:
    async with database.transaction() as session:
        row = OutboxRow(
            store_id=store_id,
            kind="test",
            payload={},
            status="done",
            idempotency_key="lease-test-1",
        )
        session.add(row)
        await session.flush()
        row_id = row.id
    unsent = [OutboxRow.status.in_(("pending", "unknown", "sending"))]
    async with database.transaction() as session:
        assert not await leases.claim(
            session, OUTBOX_SEND, {"id": row_id}, "w#1", now=_now(), seconds=LEASE, where=unsent
        )
    async with database.transaction() as session:
        await session.execute(update(OutboxRow).values(status="pending"))
    async with database.transaction() as session:
        assert await leases.claim(
            session, OUTBOX_SEND, {"id": row_id}, "w#1", now=_now(), seconds=LEASE, where=unsent
        )
        assert await leases.renew(
            session,
            OUTBOX_SEND,
            {"id": row_id},
            "w#1",
            now=_now(),
            seconds=LEASE,
            values={"status": "sending"},
        )
        assert await leases.release(
            session, OUTBOX_SEND, {"id": row_id}, "w#1", values={"status": "done"}
        )
    async with database.transaction() as session:
        found = await session.get(OutboxRow, row_id)
        assert found is not None
        assert (found.status, found.claimed_by, found.claimed_until) == ("done", None, None)


async def test_a_lease_kept_by_its_start_lasts_the_interval_given_at_each_claim(
    database: Database, store_id: int
) -> None:
    """Polls: one claim per interval, and a shorter interval applies at once."""
    key = {"store_id": store_id, "name": "reconcile_run"}

    async def poll(interval: float) -> bool:
        now = _now()
        async with database.transaction() as session:
            return await leases.claim(
                session,
                RECONCILE_POLL,
                key,
                now=now,
                seconds=interval,
                values={"value": now.isoformat()},
                create={},
            )

    assert await poll(300) is True
    assert await poll(300) is False
    assert await poll(0.0) is True
    async with database.transaction() as session:  # nobody to check: it just runs out
        with pytest.raises(ValueError, match="no holder"):
            await leases.release(session, RECONCILE_POLL, key, "w#1")
    async with database.transaction() as session:
        values = (await session.scalars(select(CheckpointRow.value))).all()
    assert len(values) == 1

    # The same with a holder column: who polls is recorded, and renewing restarts it.
    feed = {"store_id": store_id}
    async with database.transaction() as session:
        create = {"url_hash": "h", "rows": 0, "rejected": 0}
        assert await leases.claim(
            session, FEED_POLL, feed, "w1#1", now=_now(), seconds=60, create=create
        )
        assert not await leases.claim(
            session, FEED_POLL, feed, "w2#1", now=_now(), seconds=60, create=create
        )
        assert not await leases.is_free(session, FEED_POLL, feed, now=_now(), seconds=60)
        later = _now() + timedelta(seconds=61)
        assert await leases.is_free(session, FEED_POLL, feed, now=later, seconds=60)


def test_a_lease_is_kept_by_its_end_or_its_start_not_both() -> None:
    with pytest.raises(ValueError):
        leases.Lease(until=OutboxRow.claimed_until, since=OutboxRow.created_at)
    with pytest.raises(ValueError):
        leases.Lease()


def test_holder_names_differ_per_claim() -> None:
    first, second = leases.new_holder("w1"), leases.new_holder("w1")
    assert first != second and first.startswith("w1#")
    long = leases.new_holder("x" * 300)
    assert len(long) == 128 and long != leases.new_holder("x" * 300)
