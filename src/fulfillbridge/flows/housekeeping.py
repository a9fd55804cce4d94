"""Forgetting what no longer serves: answers kept for ``Idempotency-Key`` replays past the
window they are honoured for, and inbox events processed long ago (kept meanwhile so a
late repeat of a webhook is still recognised as one).

Several workers may run it at once: each DELETE only removes what is past its cutoff.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from fulfillbridge.config import Settings
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import IdempotencyRecordRow, InboxEventRow

log = logging.getLogger("fulfillbridge.housekeeping")

INTERVAL_SECONDS = 3600.0  # per process; the work is cheap but needs no hurry
_last_run: dict[str, float] = {}


@dataclass(frozen=True)
class Forgotten:
    idempotency_records: int = 0
    inbox_events: int = 0


async def forget_old_records(
    database: Database, settings: Settings, *, now: datetime | None = None
) -> Forgotten:
    """Delete idempotency records older than ``idempotency_key_days`` and inbox events
    processed more than ``inbox_retention_days`` ago."""
    now = now or datetime.now(UTC)
    keys_before = now - timedelta(days=settings.idempotency_key_days)
    inbox_before = now - timedelta(days=settings.inbox_retention_days)
    async with database.transaction() as session:
        records = await session.execute(
            delete(IdempotencyRecordRow).where(IdempotencyRecordRow.created_at < keys_before)
        )
        # The newest event always stays: SQLite gives a new row the highest id plus one,
        # and inbox ids must never be handed out twice (processing compares them).
        newest = await session.scalar(select(func.max(InboxEventRow.id)))
        events = await session.execute(
            delete(InboxEventRow).where(
                InboxEventRow.processed_at.is_not(None),
                InboxEventRow.processed_at < inbox_before,
                InboxEventRow.id < (newest or 0),
            )
        )
    forgotten = Forgotten(records.rowcount or 0, events.rowcount or 0)
    if forgotten.idempotency_records or forgotten.inbox_events:
        log.info(
            "forgot %d idempotency records and %d processed inbox events",
            forgotten.idempotency_records,
            forgotten.inbox_events,
        )
    return forgotten


async def housekeeping_due(database: Database, settings: Settings) -> Forgotten | None:
    """``forget_old_records`` at most once per ``INTERVAL_SECONDS`` in this process."""
    last = _last_run.get(database.url)
    if last is not None and time.monotonic() - last < INTERVAL_SECONDS:
        return None
    _last_run[database.url] = time.monotonic()
    return await forget_old_records(database, settings)
