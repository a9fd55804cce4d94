"""One push per store at a time, whichever process it comes from.

Two pushes to one store would both read the same last known levels, and the second's
``changeFromQuantity`` would take our own first write for a change made in Shopify. So a
push (and a mapping refresh or a catalogue event, which replace what a push reads) holds
the store's lock: a row in ``inventory_locks`` with a lease, renewed while the holder runs,
so that a crashed holder frees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError, OperationalError

from fulfillbridge.core.stores import Store
from fulfillbridge.flows.inventory.base import StoreBusy, log
from fulfillbridge.store import leases
from fulfillbridge.store.database import Database

LOCK_LEASE_SECONDS = 120.0  # renewed every third of it while the push runs
LOCK_WAIT_SECONDS = 300.0  # how long a push waits for the one before it
_LOCK_POLL = (0.05, 1.0)  # first and longest pause between two claims


async def _try_lock(database: Database, store_id: int, holder: str) -> bool:
    try:
        async with database.transaction() as session:
            return await leases.claim(
                session,
                leases.INVENTORY_PUSH,
                {"store_id": store_id},
                holder,
                now=datetime.now(UTC),
                seconds=LOCK_LEASE_SECONDS,
                create={},
            )
    except (IntegrityError, OperationalError):
        return False  # another claimer got in first, or SQLite was busy: try again


async def _keep_lock(database: Database, store: Store, holder: str) -> None:
    while True:
        await asyncio.sleep(LOCK_LEASE_SECONDS / 3)
        try:
            async with database.transaction() as session:
                kept = await leases.renew(
                    session,
                    leases.INVENTORY_PUSH,
                    {"store_id": store.id},
                    holder,
                    now=datetime.now(UTC),
                    seconds=LOCK_LEASE_SECONDS,
                )
        except OperationalError as exc:
            log.warning("store %s: push lock not renewed this time (%s)", store.name, exc)
            continue
        if not kept:
            log.warning("store %s: the push lock's lease ran out under this push", store.name)
            return


@asynccontextmanager
async def store_lock(
    database: Database, store: Store, *, wait: float | None = None
) -> AsyncIterator[None]:
    """Hold the store's push lock (a row in ``inventory_locks`` with a lease, so that
    pushes from several processes on one database queue up, and a crashed holder frees it
    after the lease). Raises ``StoreBusy`` after ``wait`` seconds without it."""
    holder = leases.new_holder()
    deadline = time.monotonic() + (LOCK_WAIT_SECONDS if wait is None else wait)
    pause = _LOCK_POLL[0]
    while not await _try_lock(database, store.id, holder):
        if time.monotonic() + pause > deadline:
            raise StoreBusy(
                f"another inventory push to store {store.name} is still running; "
                "send these rows again"
            )
        await asyncio.sleep(pause)
        pause = min(pause * 2, _LOCK_POLL[1])
    keeper = asyncio.create_task(_keep_lock(database, store, holder))
    try:
        yield
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        try:
            async with database.transaction() as session:
                await leases.release(session, leases.INVENTORY_PUSH, {"store_id": store.id}, holder)
        except Exception:  # the lease frees it anyway
            log.warning("store %s: push lock not released; its lease frees it", store.name)
