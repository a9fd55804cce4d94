"""The inbox behind intake, on every supported database engine: new deliveries stored,
repeats (across calls and inside one batch) stored once, processing bookkeeping."""

from __future__ import annotations

from datetime import UTC, datetime

from fulfillbridge.config import Settings
from fulfillbridge.core.stores import AuthKind
from fulfillbridge.store.database import Database
from fulfillbridge.store.inbox import InboxEvent, InboxRepository, SqliteInboxWriter


def _event(store_id: int, delivery_id: str, topic: str = "orders/create") -> InboxEvent:
    return InboxEvent(
        store_id=store_id,
        source="webhook",
        topic=topic,
        delivery_id=delivery_id,
        payload={"id": delivery_id},
    )


async def test_inbox_dedupes_on_store_and_delivery_id(database_url, tmp_path) -> None:
    database = Database.from_settings(Settings(home=tmp_path, database_url=database_url))
    try:
        async with database.stores() as stores:
            first = await stores.add(
                name="one",
                shop_domain="one.myshopify.com",
                auth_kind=AuthKind.TOKEN,
                secrets={"access_token": "t"},
            )
            second = await stores.add(
                name="two",
                shop_domain="two.myshopify.com",
                auth_kind=AuthKind.TOKEN,
                secrets={"access_token": "t"},
            )
        async with database.transaction() as session:
            inbox = InboxRepository(session)
            assert await inbox.add(_event(first.id, "a")) is True
            assert await inbox.add(_event(first.id, "a")) is False
            # The same webhook id at another store is another delivery.
            assert await inbox.add(_event(second.id, "a")) is True
        async with database.transaction() as session:
            inbox = InboxRepository(session)
            new = await inbox.add_new(
                [_event(first.id, "a"), _event(first.id, "b"), _event(first.id, "b")]
            )
            assert new == {(first.id, "b")}
            assert await inbox.count(store_id=first.id) == 2
            assert await inbox.count() == 3
            assert await inbox.exists(first.id, "b")
        async with database.transaction() as session:
            inbox = InboxRepository(session)
            pending = await inbox.unprocessed(store_id=first.id)
            assert [row.delivery_id for row in pending] == ["a", "b"]
            await inbox.mark_failed(pending[0].id, "Shopify was down")
            await inbox.mark_processed(pending[1].id)
        async with database.transaction() as session:
            (left,) = await InboxRepository(session).unprocessed(store_id=first.id)
            assert left.delivery_id == "a"
            assert left.attempts == 1 and left.last_error == "Shopify was down"
    finally:
        await database.close()


async def test_sqlite_writer_rows_read_back_like_orm_rows(tmp_path) -> None:
    database = Database.from_settings(Settings(home=tmp_path))
    writer = SqliteInboxWriter(database.engine)
    try:
        async with database.stores() as stores:
            store = await stores.add(
                name="one",
                shop_domain="one.myshopify.com",
                auth_kind=AuthKind.TOKEN,
                secrets={"access_token": "t"},
            )
        at = datetime(2026, 11, 23, 10, 0, 1, 250000, tzinfo=UTC)
        event = InboxEvent(
            store_id=store.id,
            source="webhook",
            topic="orders/create",
            delivery_id="fast",
            payload={"id": 1, "name": "#1001", "lines": [{"sku": "Ä-1"}]},
            event_id="e-1",
            triggered_at=at,
        )
        assert await writer.insert_new([event, _event(store.id, "fast")]) == {(store.id, "fast")}
        assert await writer.insert_new([event]) == set()
        async with database.transaction() as session:
            assert await InboxRepository(session).add(_event(store.id, "orm")) is True
        async with database.transaction() as session:
            fast, orm = await InboxRepository(session).unprocessed(store_id=store.id)
        assert fast.payload == event.payload and fast.event_id == "e-1"
        assert fast.triggered_at is not None
        assert fast.triggered_at.replace(tzinfo=UTC) == at
        assert type(fast.received_at) is type(orm.received_at)
        assert fast.attempts == 0 and fast.processed_at is None
    finally:
        await writer.close()
        await database.close()
