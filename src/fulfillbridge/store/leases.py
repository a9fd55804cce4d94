"""Leases: a row held by one claimer for a while, across every process on the database.

A lease lives in the table of the thing it guards (an outbox row, a store's queues, a
store's push lock, a store's feed poll, a store's reconciliation poll), in a time column
and, when the holder must prove it is still the holder, a holder column. ``Lease`` names
those columns; the functions here read and write them, inside the caller's transaction, so
a claim can go with the caller's own reads and writes (the outbox selects its due rows and
claims them in one transaction). The time column records the lease one of two ways:

- ``until``: when the lease ends. The length is chosen at the claim; a holder that works
  longer renews it, and a holder that crashed stops renewing, so the lease runs out.
- ``since``: when the lease began. It ends ``seconds`` later, ``seconds`` being given at
  each claim: a poll interval read from the settings applies at once when it changes.

A claim is one UPDATE whose WHERE re-checks that the lease is free (the time column NULL
or past its end), so of two claimers only one matches, on SQLite (one writer at a time)
and on PostgreSQL (the second UPDATE waits for the first and re-evaluates its WHERE on
the committed row) alike. A missing row is created with ``INSERT ... ON CONFLICT DO
NOTHING``, so a racing creator loses quietly instead of failing the transaction. Renewing
and releasing are UPDATEs that re-check the holder: a holder whose lease ran out and was
taken by another changes nothing, and is told so.

There is no table of its own: each lease stays where its row is, no join, no second
write. The bridge's leases are listed at the end of this module.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from fulfillbridge.store.models import (
    CheckpointRow,
    InventoryFeedRow,
    InventoryLockRow,
    OutboxRow,
    StoreQueueRow,
    as_utc,
)


@dataclass(frozen=True)
class Lease:
    """The columns that hold one kind of lease: ``until`` (when it ends) or ``since`` (when
    it began), exactly one; and ``holder`` (who holds it), when the holder renews or
    releases it."""

    until: InstrumentedAttribute[Any] | None = None
    since: InstrumentedAttribute[Any] | None = None
    holder: InstrumentedAttribute[Any] | None = None

    def __post_init__(self) -> None:
        if (self.until is None) == (self.since is None):
            raise ValueError("a lease is recorded by its end (until) or its start (since)")

    @property
    def time(self) -> InstrumentedAttribute[Any]:
        column = self.until if self.until is not None else self.since
        assert column is not None  # __post_init__
        return column

    @property
    def model(self) -> Any:
        return self.time.class_

    def stamp(self, now: datetime, seconds: float) -> datetime:
        """What a claim or a renewal at ``now`` writes in the time column."""
        return now + timedelta(seconds=seconds) if self.until is not None else now

    def bound(self, now: datetime, seconds: float) -> datetime:
        """A lease whose time column is at or before this is over at ``now``."""
        return now if self.until is not None else now - timedelta(seconds=seconds)

    def _key(self, key: Mapping[str, Any]) -> list[ColumnElement[bool]]:
        return [getattr(self.model, name) == value for name, value in key.items()]

    def _held_by(self, holder: str) -> ColumnElement[bool]:
        if self.holder is None:
            raise ValueError(f"{self.model.__tablename__} leases have no holder to check")
        return self.holder == holder


def new_holder(name: str | None = None) -> str:
    """A holder name no other claim uses: ``name`` (this host and process by default) and a
    nonce, so two claims of one process are told apart too."""
    base = name or f"{socket.gethostname()}-{os.getpid()}"
    return f"{base[:119]}#{uuid.uuid4().hex[:8]}"  # holder columns hold 128 characters


async def is_free(
    session: AsyncSession, lease: Lease, key: Mapping[str, Any], *, now: datetime, seconds: float
) -> bool:
    """A read-only look (a claim that would lose then writes nothing: on SQLite every write
    waits for the one writer). True when there is no row yet; only ``claim`` decides."""
    found = (await session.execute(select(lease.time).where(*lease._key(key)))).first()
    if found is None or found[0] is None:
        return True
    return as_utc(found[0]) <= lease.bound(now, seconds)


async def claim(
    session: AsyncSession,
    lease: Lease,
    key: Mapping[str, Any],
    holder: str | None = None,
    *,
    now: datetime,
    seconds: float,
    where: Sequence[ColumnElement[bool]] = (),
    values: Mapping[str, Any] | None = None,
    create: Mapping[str, Any] | None = None,
) -> bool:
    """Take the lease of the row ``key`` names when it is free at ``now`` (and ``where``
    holds), for ``seconds``; ``values`` are written with it. With ``create`` (the other
    columns of a new row), a missing row is inserted already claimed. True when taken."""
    written: dict[str, Any] = {lease.time.key: lease.stamp(now, seconds), **(values or {})}
    if lease.holder is not None:
        written[lease.holder.key] = holder
    free = or_(lease.time.is_(None), lease.time <= lease.bound(now, seconds))
    taken = await session.execute(
        update(lease.model)
        .where(*lease._key(key), free, *where)
        .values(written)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount == 1:  # type: ignore[attr-defined]
        return True
    if create is None:
        return False
    inserted = await session.execute(
        _insert(session, lease.model)
        .values({**key, **create, **written})
        .on_conflict_do_nothing()
        # SQLAlchemy counts an INSERT's rows only when asked to.
        .execution_options(preserve_rowcount=True)
    )
    return bool(inserted.rowcount == 1)  # type: ignore[attr-defined]


async def renew(
    session: AsyncSession,
    lease: Lease,
    key: Mapping[str, Any],
    holder: str,
    *,
    now: datetime,
    seconds: float,
    values: Mapping[str, Any] | None = None,
) -> bool:
    """Extend our lease by ``seconds`` from ``now`` (writing ``values`` with it); False
    when it is no longer ours."""
    renewed = await session.execute(
        update(lease.model)
        .where(*lease._key(key), lease._held_by(holder))
        .values({lease.time.key: lease.stamp(now, seconds), **(values or {})})
        .execution_options(synchronize_session=False)
    )
    return bool(renewed.rowcount == 1)  # type: ignore[attr-defined]


async def release(
    session: AsyncSession,
    lease: Lease,
    key: Mapping[str, Any],
    holder: str,
    *,
    values: Mapping[str, Any] | None = None,
) -> bool:
    """Give our lease back (writing ``values`` with it); False when it was no longer ours,
    and then nothing is written."""
    held = lease._held_by(holder)
    assert lease.holder is not None  # _held_by refuses a lease without one
    released = await session.execute(
        update(lease.model)
        .where(*lease._key(key), held)
        .values({lease.time.key: None, lease.holder.key: None, **(values or {})})
        .execution_options(synchronize_session=False)
    )
    return bool(released.rowcount == 1)  # type: ignore[attr-defined]


async def renew_held(
    session: AsyncSession, lease: Lease, worker: str, *, now: datetime, seconds: float
) -> int:
    """Extend every live lease of kind ``lease`` whose holder is one of ``worker``'s claims
    (a holder made by ``new_holder(worker)``) to ``seconds`` from ``now``: the worker's
    heartbeat. A lease already run out is left alone (another worker may own it now).
    Returns how many were renewed."""
    if lease.holder is None or lease.until is None:
        raise ValueError(f"{lease.model.__tablename__} leases are not renewed by a heartbeat")
    renewed = await session.execute(
        update(lease.model)
        .where(lease.holder.startswith(f"{worker[:119]}#", autoescape=True), lease.until > now)
        .values({lease.until.key: now + timedelta(seconds=seconds)})
        .execution_options(synchronize_session=False)
    )
    return int(renewed.rowcount or 0)  # type: ignore[attr-defined]


def _insert(session: AsyncSession, model: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ON CONFLICT DO NOTHING in this session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


# --- the bridge's leases ---------------------------------------------------------------------

# An outbox row being sent (``flows.outbox``): renewed at each step of the send, released
# with the row's outcome; a worker that died mid-send loses it when it runs out.
OUTBOX_SEND = Lease(until=OutboxRow.claimed_until, holder=OutboxRow.claimed_by)
# One worker works a store's queues (inbox and outbox) at a time (``worker``), key
# ``store_id``: renewed by the worker's heartbeat, released at the end of its round.
STORE_QUEUE = Lease(until=StoreQueueRow.claimed_until, holder=StoreQueueRow.claimed_by)
# One inventory push per store at a time (``flows.inventory.store_lock``), key ``store_id``.
INVENTORY_PUSH = Lease(until=InventoryLockRow.claimed_until, holder=InventoryLockRow.claimed_by)
# One worker polls a store's inventory feed per interval (``flows.inventory_feed``).
FEED_POLL = Lease(since=InventoryFeedRow.started_at, holder=InventoryFeedRow.claimed_by)
# One worker reconciles a store per interval (``flows.reconcile``): the ``reconcile_run``
# checkpoint row, whose ``updated_at`` is when the last poll started.
RECONCILE_POLL = Lease(since=CheckpointRow.updated_at)

__all__ = [
    "FEED_POLL",
    "INVENTORY_PUSH",
    "OUTBOX_SEND",
    "RECONCILE_POLL",
    "STORE_QUEUE",
    "Lease",
    "claim",
    "is_free",
    "new_holder",
    "release",
    "renew",
    "renew_held",
]
