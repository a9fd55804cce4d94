"""Deadlines: open work whose fulfill-by time comes within ``deadline_warning_hours`` is
announced to the operation once (``deadline_approaching``); a later change of the deadline
in Shopify arms the announcement again (``store.work`` clears the mark)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from fulfillbridge.config import Settings
from fulfillbridge.flows import notify
from fulfillbridge.flows.actions import OPEN_WORK
from fulfillbridge.flows.apply import announce
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import StoreRow, WorkOrderRow
from fulfillbridge.store.work import WorkRepository

BATCH = 200


async def announce_deadlines(
    database: Database, settings: Settings, *, now: datetime | None = None
) -> int:
    """Announce approaching deadlines; returns how many work orders were announced."""
    now = now or datetime.now(UTC)
    horizon = now + timedelta(hours=settings.deadline_warning_hours)
    async with database.transaction() as session:
        rows = list(
            await session.scalars(
                select(WorkOrderRow)
                .where(
                    WorkOrderRow.fulfill_by.is_not(None),
                    WorkOrderRow.fulfill_by < horizon,
                    WorkOrderRow.deadline_notified.is_(False),
                    WorkOrderRow.state.in_([s.value for s in OPEN_WORK]),
                )
                .order_by(WorkOrderRow.fulfill_by, WorkOrderRow.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        )
        repo = WorkRepository(session)
        stores: dict[int, StoreRow | None] = {}
        for row in rows:
            if row.store_id not in stores:
                stores[row.store_id] = await session.get(StoreRow, row.store_id)
            store = stores[row.store_id]
            if store is None:
                continue
            row.deadline_notified = True
            announce(repo, settings, store.settings, row, store.name, notify.WORK_DEADLINE)
    return len(rows)
