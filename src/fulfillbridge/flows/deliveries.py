"""The operation's webhook deliveries as a list to look at and act on: each is an outbox row
with target ``operation`` (its event, status, attempts and last error), shown by the API,
the CLI and the dashboard; a delivery can be sent again (the same ``webhook-id``, so a
receiver that has it already drops the repeat)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.flows.actions import INVALID, NOT_FOUND, ActionError, store_names
from fulfillbridge.flows.work_views import utc
from fulfillbridge.store.models import OutboxRow

OPERATION = "operation"
STATUSES = ("pending", "sending", "done", "failed", "skipped")


def delivery_view(row: OutboxRow, store: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "store": store,
        "work_id": row.work_order_id,
        "event": row.kind,
        "webhook_id": row.idempotency_key,
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "response_status": (row.result or {}).get("status_code"),
        "next_attempt_at": utc(row.next_attempt_at) if row.status == "pending" else None,
        "created_at": utc(row.created_at),
        "done_at": utc(row.done_at) if row.done_at else None,
    }


async def list_deliveries(
    session: AsyncSession,
    *,
    stores: Collection[str] | None,
    store: str | None = None,
    status: str | None = None,
    work_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], int | None]:
    """Newest first; returns the page and the id to continue before (None at the end)."""
    if status is not None and status not in STATUSES:
        raise ActionError(f"status {status!r} is not one of {', '.join(STATUSES)}", status=INVALID)
    names = await store_names(session)
    visible = {k: v for k, v in names.items() if stores is None or v in stores}
    if store is not None:
        visible = {k: v for k, v in visible.items() if v == store}
    query = select(OutboxRow).where(
        OutboxRow.target == OPERATION, OutboxRow.store_id.in_(list(visible))
    )
    if status is not None:
        query = query.where(OutboxRow.status == status)
    if work_id is not None:
        query = query.where(OutboxRow.work_order_id == work_id)
    if before_id is not None:
        query = query.where(OutboxRow.id < before_id)
    rows = list(await session.scalars(query.order_by(OutboxRow.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return [delivery_view(row, visible[row.store_id]) for row in rows], (
        rows[-1].id if more and rows else None
    )


async def redeliver(
    session: AsyncSession, delivery_id: int, *, stores: Collection[str] | None
) -> dict[str, Any]:
    """Queue the delivery to be sent again now (whatever became of it before)."""
    row = await session.get(OutboxRow, delivery_id)
    names = await store_names(session)
    if (
        row is None
        or row.target != OPERATION
        or (stores is not None and names.get(row.store_id) not in stores)
    ):
        raise ActionError(f"no delivery {delivery_id}", status=NOT_FOUND)
    if row.status == "sending":
        raise ActionError(f"delivery {delivery_id} is being sent right now")
    row.status = "pending"
    row.next_attempt_at = datetime.now(UTC)
    row.claimed_by = row.claimed_until = None
    row.done_at = None
    await session.flush()
    return delivery_view(row, names[row.store_id])
