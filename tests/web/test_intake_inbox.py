"""The inbox behind intake, on every supported database engine: new deliveries stored,
repeats (across calls and inside one batch) stored once, processing bookkeeping."""

from __future__ import annotations

from fulfillbridge.config import Settings
from fulfillbridge.core.stores import AuthKind
from fulfillbridge.store.database import Database
from fulfillbridge.store.inbox import InboxEvent, InboxRepository


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
