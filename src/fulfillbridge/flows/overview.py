"""What the dashboard shows: a read-only picture of stores, work, exceptions, the outbox
and recent events, limited to the stores the viewer may see."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.store.models import (
    InboxEventRow,
    OutboxRow,
    StoreRow,
    WorkOrderRow,
    WorkTransitionRow,
)


@dataclass(frozen=True)
class StoreSummary:
    name: str
    shop_domain: str
    mode: str
    shop_name: str | None
    states: dict[str, int]


@dataclass(frozen=True)
class ExceptionItem:
    work_id: int
    store: str
    order_name: str
    problems: list[str]
    updated_at: datetime


@dataclass(frozen=True)
class EventItem:
    at: datetime
    store: str
    order_name: str
    from_state: str | None
    to_state: str
    stage: str | None
    actor: str


@dataclass(frozen=True)
class OutboxProblem:
    id: int
    store: str
    kind: str
    status: str
    attempts: int
    last_error: str | None


@dataclass
class Overview:
    stores: list[StoreSummary] = field(default_factory=list)
    exceptions: list[ExceptionItem] = field(default_factory=list)
    events: list[EventItem] = field(default_factory=list)
    outbox: dict[str, int] = field(default_factory=dict)
    outbox_problems: list[OutboxProblem] = field(default_factory=list)
    inbox_backlog: int = 0


async def overview(
    session: AsyncSession, *, stores: Collection[str] | None = None, limit: int = 25
) -> Overview:
    """The dashboard's data; ``stores`` limits it to those store names (None: all)."""
    query = select(StoreRow).order_by(StoreRow.name)
    if stores is not None:
        query = query.where(StoreRow.name.in_(list(stores)))
    store_rows = list(await session.scalars(query))
    names = {row.id: row.name for row in store_rows}
    ids = list(names)
    result = Overview()
    counts: dict[int, dict[str, int]] = {store_id: {} for store_id in ids}
    for store_id, state, count in await session.execute(
        select(WorkOrderRow.store_id, WorkOrderRow.state, func.count())
        .where(WorkOrderRow.store_id.in_(ids))
        .group_by(WorkOrderRow.store_id, WorkOrderRow.state)
    ):
        counts[store_id][state] = count
    result.stores = [
        StoreSummary(
            row.name,
            row.shop_domain,
            (row.settings or {}).get("mode", "fulfillment_service"),
            row.shop_name,
            counts[row.id],
        )
        for row in store_rows
    ]
    for row in await session.scalars(
        select(WorkOrderRow)
        .where(WorkOrderRow.store_id.in_(ids), WorkOrderRow.state == "exception")
        .order_by(WorkOrderRow.updated_at.desc())
        .limit(limit)
    ):
        result.exceptions.append(
            ExceptionItem(
                row.id,
                names[row.store_id],
                row.order_name,
                list(row.problems or []),
                row.updated_at,
            )
        )
    for transition, work in await session.execute(
        select(WorkTransitionRow, WorkOrderRow)
        .join(WorkOrderRow, WorkOrderRow.id == WorkTransitionRow.work_order_id)
        .where(WorkOrderRow.store_id.in_(ids))
        .order_by(WorkTransitionRow.id.desc())
        .limit(limit)
    ):
        result.events.append(
            EventItem(
                transition.at,
                names[work.store_id],
                work.order_name,
                transition.from_state,
                transition.to_state,
                transition.stage,
                transition.actor,
            )
        )
    for status, count in await session.execute(
        select(OutboxRow.status, func.count())
        .where(OutboxRow.store_id.in_(ids))
        .group_by(OutboxRow.status)
    ):
        result.outbox[status] = count
    for row in await session.scalars(
        select(OutboxRow)
        .where(OutboxRow.store_id.in_(ids), OutboxRow.status.in_(["failed", "unknown"]))
        .order_by(OutboxRow.id.desc())
        .limit(limit)
    ):
        result.outbox_problems.append(
            OutboxProblem(
                row.id, names[row.store_id], row.kind, row.status, row.attempts, row.last_error
            )
        )
    result.inbox_backlog = (
        await session.scalar(
            select(func.count())
            .select_from(InboxEventRow)
            .where(InboxEventRow.store_id.in_(ids), InboxEventRow.processed_at.is_(None))
        )
        or 0
    )
    return result
