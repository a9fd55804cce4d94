"""Small facts about a store's health that nothing else keeps: reconciliation polls that
failed in a row (and the last error) and webhooks refused as unsigned or forged (how many,
and when the last came). They live in the store's ``checkpoints`` rows (name, a short
value, and the time it was written), so the console's stores page can show them without a
table of their own.

A store whose every poll fails has no failed writes in the outbox; without these it would
look healthy.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.store.database import Database
from fulfillbridge.store.models import CheckpointRow, StoreRow, as_utc

RECONCILE_FAILURES = "reconcile_failures"
REFUSED_WEBHOOKS = "refused_webhooks"
_VALUE_LENGTH = 255  # checkpoints.value

log = logging.getLogger("fulfillbridge.signals")


@dataclass(frozen=True)
class Signal:
    count: int
    last_at: datetime
    error: str | None = None


def _encode(count: int, error: str | None) -> str:
    data: dict[str, Any] = {"n": count}
    if error:
        room = _VALUE_LENGTH - len(json.dumps(data)) - 12
        data["e"] = error[: max(room, 0)]
    text = json.dumps(data)
    while len(text) > _VALUE_LENGTH and data.get("e"):  # escaping made it longer
        data["e"] = data["e"][:-10]
        text = json.dumps(data)
    return text


def _decode(row: CheckpointRow) -> Signal:
    try:
        data = json.loads(row.value)
        count, error = int(data.get("n", 0)), data.get("e")
    except (ValueError, TypeError, AttributeError):
        count, error = 0, None
    return Signal(count, as_utc(row.updated_at), error)


async def _bump(session: AsyncSession, store_id: int, name: str, error: str | None) -> None:
    row = await session.get(CheckpointRow, (store_id, name))
    if row is None:
        session.add(CheckpointRow(store_id=store_id, name=name, value=_encode(1, error)))
    else:
        row.value = _encode(_decode(row).count + 1, error)


async def record_reconcile_failure(database: Database, store_id: int, error: str) -> None:
    """One more failed poll in a row; never raises (the failure is logged already)."""
    try:
        async with database.transaction() as session:
            await _bump(session, store_id, RECONCILE_FAILURES, error)
    except SQLAlchemyError as exc:
        log.warning("could not record the failed poll of store %s: %s", store_id, exc)


async def clear_reconcile_failures(database: Database, store_id: int) -> None:
    """A poll went through: the run of failures is over."""
    try:
        async with database.transaction() as session:
            await session.execute(
                delete(CheckpointRow).where(
                    CheckpointRow.store_id == store_id, CheckpointRow.name == RECONCILE_FAILURES
                )
            )
    except SQLAlchemyError as exc:
        log.warning("could not clear the failed polls of store %s: %s", store_id, exc)


async def record_refused_webhook(database: Database, shop_domain: str | None) -> None:
    """A webhook naming a connected shop was refused (401): counted for that store. A
    shop that is not connected is not recorded (anyone can name any shop)."""
    if not shop_domain or len(shop_domain) > 255:
        return
    try:
        async with database.transaction() as session:
            store_id = await session.scalar(
                select(StoreRow.id).where(StoreRow.shop_domain == shop_domain.strip().lower())
            )
            if store_id is not None:
                await _bump(session, store_id, REFUSED_WEBHOOKS, None)
    except SQLAlchemyError as exc:
        log.warning("could not count a refused webhook: %s", exc)


async def signals(session: AsyncSession, store_ids: list[int]) -> dict[tuple[int, str], Signal]:
    """{(store id, signal name): signal} for the stores given."""
    rows = await session.scalars(
        select(CheckpointRow).where(
            CheckpointRow.store_id.in_(store_ids),
            CheckpointRow.name.in_([RECONCILE_FAILURES, REFUSED_WEBHOOKS]),
        )
    )
    return {(row.store_id, row.name): _decode(row) for row in rows}
