"""Who works what: each store's queues (inbox and outbox) worked by one worker at a time,
and every worker's heartbeat.

A worker takes the queues of a few stores with due work (the lease
``store.leases.STORE_QUEUE`` on the store's ``store_queues`` row), the stores waiting
longest first, works them and gives them back at the end of its round, so many workers
share many stores and no two work one store's queues at once. Its heartbeat
(``worker_heartbeats``) says it is alive and renews every claim it holds (store queues and
outbox rows); a worker that stops beating loses them when their short lease runs out.

``store_queues.pulled_through`` coordinates the pulls of a store's assigned fulfillment
orders across processes: every request ping with an inbox id up to it is answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, union, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.store import leases
from fulfillbridge.store.models import (
    InboxEventRow,
    OutboxRow,
    StoreQueueRow,
    StoreRow,
    WorkerHeartbeatRow,
    as_utc,
)

# Outbox statuses a worker may have to act on (flows.outbox names them too).
_WAITING = ("pending", "unknown")
_SENDING = "sending"
# A heartbeat older than this is a worker long gone: its row is forgotten.
FORGET_AFTER = timedelta(days=1)


def _queue_free(now: datetime) -> Any:
    return or_(StoreQueueRow.claimed_until.is_(None), StoreQueueRow.claimed_until <= now)


async def stores_with_work(session: AsyncSession, *, now: datetime, limit: int) -> list[int]:
    """Stores with unprocessed inbox events or due outbox rows whose queues nobody works
    now, the one worked longest ago first."""
    inbox = select(InboxEventRow.store_id).where(InboxEventRow.processed_at.is_(None))
    lease_free = or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now)
    outbox = select(OutboxRow.store_id).where(
        or_(
            and_(OutboxRow.status.in_(_WAITING), OutboxRow.next_attempt_at <= now, lease_free),
            and_(
                OutboxRow.status == _SENDING,
                OutboxRow.claimed_until < now,
                OutboxRow.next_attempt_at <= now,
            ),
        )
    )
    busy = union(inbox, outbox).subquery()
    rows = await session.execute(
        select(busy.c.store_id)
        .join(StoreRow, StoreRow.id == busy.c.store_id)
        .outerjoin(StoreQueueRow, StoreQueueRow.store_id == busy.c.store_id)
        .where(or_(StoreQueueRow.store_id.is_(None), _queue_free(now)))
        .order_by(StoreQueueRow.worked_at.asc().nulls_first(), busy.c.store_id)
        .limit(limit)
    )
    return [int(store_id) for (store_id,) in rows]


async def claim_store(
    session: AsyncSession, store_id: int, holder: str, *, now: datetime, seconds: float
) -> bool:
    """Take the store's queues for ``holder`` (a lease of ``seconds``); False when another
    worker has them."""
    return await leases.claim(
        session,
        leases.STORE_QUEUE,
        {"store_id": store_id},
        holder,
        now=now,
        seconds=seconds,
        values={"worked_at": now},
        create={"pulled_through": 0, "reconcile_wanted": False},
    )


async def release_store(
    session: AsyncSession, store_id: int, holder: str, *, last_event_at: datetime | None = None
) -> bool:
    values: dict[str, Any] = {}
    if last_event_at is not None:
        values["last_event_at"] = last_event_at
    return await leases.release(
        session, leases.STORE_QUEUE, {"store_id": store_id}, holder, values=values
    )


async def holds_store(session: AsyncSession, store_id: int, holder: str, *, now: datetime) -> bool:
    """Whether ``holder`` still holds the store's queues at ``now``."""
    found = await session.scalar(
        select(StoreQueueRow.claimed_until).where(
            StoreQueueRow.store_id == store_id, StoreQueueRow.claimed_by == holder
        )
    )
    return found is not None and as_utc(found) > now


# --------------------------------------------------------------------------- pulls


async def pulled_through(session: AsyncSession, store_id: int) -> int:
    """The highest inbox id a pull of the store's assigned fulfillment orders answered."""
    found = await session.scalar(
        select(StoreQueueRow.pulled_through).where(StoreQueueRow.store_id == store_id)
    )
    return int(found or 0)


async def record_pull(session: AsyncSession, store_id: int, through: int) -> None:
    """A pull that started when ``through`` was the store's highest inbox id is applied."""
    updated = await session.execute(
        update(StoreQueueRow)
        .where(StoreQueueRow.store_id == store_id, StoreQueueRow.pulled_through < through)
        .values(pulled_through=through)
        .execution_options(synchronize_session=False)
    )
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        await session.execute(
            _insert(session, StoreQueueRow)
            .values(store_id=store_id, pulled_through=through, reconcile_wanted=False)
            .on_conflict_do_nothing()
        )


async def note_news(session: AsyncSession, store_id: int, received_at: datetime) -> None:
    """The store's news (a webhook or callback received at ``received_at``) was handled:
    its quiet period starts from the newest such time (reconciliation polls after it)."""
    await session.execute(
        update(StoreQueueRow)
        .where(
            StoreQueueRow.store_id == store_id,
            or_(StoreQueueRow.last_event_at.is_(None), StoreQueueRow.last_event_at < received_at),
        )
        .values(last_event_at=received_at)
        .execution_options(synchronize_session=False)
    )


async def want_reconcile(session: AsyncSession, store_id: int) -> None:
    """Ask for the store to be reconciled soon (an event of it failed)."""
    await session.execute(
        update(StoreQueueRow)
        .where(StoreQueueRow.store_id == store_id)
        .values(reconcile_wanted=True)
        .execution_options(synchronize_session=False)
    )


# --------------------------------------------------------------------------- heartbeats


@dataclass(frozen=True)
class Beat:
    """One worker's sign of life."""

    worker_id: str
    host: str
    pid: int
    started_at: datetime
    current_store: str | None = None
    stores_held: int = 0
    rounds: int = 0


async def beat(session: AsyncSession, worker: Beat, *, now: datetime, lease_seconds: float) -> int:
    """Record ``worker``'s heartbeat and renew every claim it holds (store queues, outbox
    rows) for ``lease_seconds``; returns how many claims were renewed."""
    values = {
        "worker_id": worker.worker_id,
        "host": worker.host[:255],
        "pid": worker.pid,
        "started_at": worker.started_at,
        "beat_at": now,
        "current_store": worker.current_store,
        "stores_held": worker.stores_held,
        "rounds": worker.rounds,
    }
    changing = {k: v for k, v in values.items() if k not in ("worker_id", "started_at")}
    await session.execute(
        _insert(session, WorkerHeartbeatRow)
        .values(values)
        .on_conflict_do_update(index_elements=["worker_id"], set_=changing)
    )
    renewed = 0
    for lease in (leases.STORE_QUEUE, leases.OUTBOX_SEND):
        renewed += await leases.renew_held(
            session, lease, worker.worker_id, now=now, seconds=lease_seconds
        )
    await session.execute(
        delete(WorkerHeartbeatRow).where(WorkerHeartbeatRow.beat_at < now - FORGET_AFTER)
    )
    return renewed


async def forget_worker(session: AsyncSession, worker_id: str) -> None:
    """A worker stopped cleanly: its row goes (its claims were given back)."""
    await session.execute(
        delete(WorkerHeartbeatRow).where(WorkerHeartbeatRow.worker_id == worker_id)
    )


async def list_workers(session: AsyncSession) -> Sequence[WorkerHeartbeatRow]:
    """Every worker with a heartbeat, the most recent beat first."""
    rows = await session.scalars(
        select(WorkerHeartbeatRow).order_by(
            WorkerHeartbeatRow.beat_at.desc(), WorkerHeartbeatRow.worker_id
        )
    )
    return list(rows)


def _insert(session: AsyncSession, model: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


__all__ = [
    "Beat",
    "beat",
    "claim_store",
    "forget_worker",
    "holds_store",
    "list_workers",
    "note_news",
    "pulled_through",
    "record_pull",
    "release_store",
    "stores_with_work",
    "want_reconcile",
]
