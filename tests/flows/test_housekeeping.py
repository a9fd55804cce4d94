"""Housekeeping on each storage engine: old idempotency records and long-processed inbox
events are forgotten; recent ones, unprocessed ones and the newest event stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from fulfillbridge.config import Settings
from fulfillbridge.core.stores import AuthKind
from fulfillbridge.flows.housekeeping import forget_old_records
from fulfillbridge.store.api_keys import ApiKeyRepository
from fulfillbridge.store.database import Database
from fulfillbridge.store.inbox import InboxEvent, InboxRepository
from fulfillbridge.store.models import IdempotencyRecordRow, InboxEventRow

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


async def _events(database: Database) -> dict[str, InboxEventRow]:
    async with database.transaction() as session:
        return {row.delivery_id: row for row in await session.scalars(select(InboxEventRow))}


async def test_old_records_are_forgotten_and_the_rest_kept(database_url, tmp_path) -> None:
    settings = Settings(home=tmp_path, database_url=database_url)
    database = Database.from_settings(settings)
    try:
        async with database.stores() as stores:
            store = await stores.add(
                name="one",
                shop_domain="one.myshopify.com",
                auth_kind=AuthKind.TOKEN,
                secrets={"access_token": "t"},
            )
        async with database.transaction() as session:
            key = await ApiKeyRepository(session).create("ops")
            for name, age in (("old", 8), ("recent", 1)):
                session.add(
                    IdempotencyRecordRow(
                        api_key_id=key.key.id,
                        key=name,
                        method="POST",
                        path="/api/v1/work/1/stage",
                        request_hash="h",
                        status_code=200,
                        response={},
                        created_at=NOW - timedelta(days=age),
                    )
                )
            inbox = InboxRepository(session)
            # (delivery, days since processed or None when still waiting), oldest id first;
            # the last one is the newest event and is old too.
            plan = [("done-long-ago", 30), ("waiting", None), ("done-lately", 2), ("last", 30)]
            for delivery, _ in plan:
                await inbox.add(InboxEvent(store.id, "webhook", "orders/create", delivery, {}))
        async with database.transaction() as session:
            for delivery, age in plan:
                processed = None if age is None else NOW - timedelta(days=age)
                await session.execute(
                    update(InboxEventRow)
                    .where(InboxEventRow.delivery_id == delivery)
                    .values(processed_at=processed, received_at=NOW - timedelta(days=40))
                )

        forgotten = await forget_old_records(database, settings, now=NOW)

        assert (forgotten.idempotency_records, forgotten.inbox_events) == (1, 1)
        async with database.transaction() as session:
            keys = [r.key for r in await session.scalars(select(IdempotencyRecordRow))]
        assert keys == ["recent"]
        assert sorted(await _events(database)) == ["done-lately", "last", "waiting"]
        again = await forget_old_records(database, settings, now=NOW)
        assert (again.idempotency_records, again.inbox_events) == (0, 0)
    finally:
        await database.close()


@pytest.mark.parametrize(
    ("field", "value"), [("idempotency_key_days", 0), ("inbox_retention_days", 1)]
)
def test_retention_below_what_replays_need_is_refused(tmp_path, field, value) -> None:
    with pytest.raises(ValueError, match=field):
        Settings(home=tmp_path, **{field: value})
