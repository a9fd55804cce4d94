"""Reconciliation and backfill against the sandbox over real HTTP: work whose webhook was
lost is found by the next poll, polls are idempotent, the checkpoint only moves after
success, and a large backfill goes through a bulk operation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import update

from fulfillbridge.flows.reconcile import (
    CHECKPOINT,
    backfill_store,
    claim_reconcile_run,
    read_checkpoint,
    reconcile_store,
)
from fulfillbridge.shopify import ConnectError
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import StoreRow
from tests.flows.processing_helpers import STORE, Bridge, Merchant, bridge_settings, send_outbox


@pytest.fixture
def merchant(sandbox_url: str) -> Iterator[Merchant]:
    merchant = Merchant(sandbox_url)
    yield merchant
    merchant.close()


@pytest.fixture
async def bridge(fb_home) -> AsyncIterator[Bridge]:
    database = Database.from_settings(bridge_settings(fb_home))
    yield Bridge(bridge_settings(fb_home), database)
    await database.close()


def _requests(merchant: Merchant, location: str, count: int) -> list[str]:
    """``count`` orders routed to our service, each with its fulfillment request."""
    fo_ids = []
    for n in range(count):
        variant = merchant.product(f"SKU-{n}", location)
        order = merchant.order([{"variantId": variant, "quantity": 1, "requiresShipping": True}])
        (fo,) = order["fulfillment_orders"]
        merchant.request_fulfillment(fo["id"])
        fo_ids.append(fo["id"])
    return fo_ids


async def _checkpoint(bridge: Bridge):
    async with bridge.database.transaction() as session:
        return await read_checkpoint(session, bridge.store_id, CHECKPOINT)


async def test_a_poll_recovers_a_lost_fulfillment_request(bridge, merchant) -> None:
    location = merchant.create_service()
    await bridge.connect(merchant.url, mode="fulfillment_service", location_id=location)
    first = await reconcile_store(bridge.database, bridge.settings, STORE)
    assert first.kind == "backfill" and first.result.created == 0
    assert await _checkpoint(bridge) is not None

    # A request arrives and its callback and webhook are lost: nothing in the inbox.
    (fo_id,) = _requests(merchant, location, 1)
    summary = await reconcile_store(bridge.database, bridge.settings, STORE)

    assert summary.kind == "poll" and summary.result.created == 1
    work = await bridge.work_order(fo_id)
    assert work.state == "accepted"
    assert [row.kind for row in await bridge.outbox()] == ["accept_request"]

    again = await reconcile_store(bridge.database, bridge.settings, STORE)
    assert again.result.created == 0 and again.fulfillment_orders >= 1
    assert [row.kind for row in await bridge.outbox()] == ["accept_request"]
    assert (await bridge.work_order(fo_id)).version == work.version


async def test_a_poll_recovers_a_lost_cancellation(bridge, merchant) -> None:
    location = merchant.merchant_location()
    await bridge.connect(merchant.url, mode="order_management", managed_locations=[location])
    await backfill_store(bridge.database, bridge.settings, STORE)
    order = merchant.order(
        [
            {
                "title": "Poster",
                "sku": "POSTER-A3",
                "quantity": 1,
                "requiresShipping": True,
                "priceSet": {"shopMoney": {"amount": "10.00", "currencyCode": "USD"}},
            }
        ]
    )
    await reconcile_store(bridge.database, bridge.settings, STORE)
    (work,) = await bridge.work_orders()
    assert work.state == "accepted"

    merchant.cancel_order(order["id"])  # and orders/cancelled is lost
    summary = await reconcile_store(bridge.database, bridge.settings, STORE)

    assert summary.result.cancelled == 1
    (work,) = await bridge.work_orders()
    assert work.state == "cancelled"


async def test_the_checkpoint_moves_only_after_success(bridge, merchant) -> None:
    location = merchant.create_service()
    await bridge.connect(merchant.url, mode="fulfillment_service", location_id=location)
    await backfill_store(bridge.database, bridge.settings, STORE)
    before = await _checkpoint(bridge)
    _requests(merchant, location, 1)
    async with bridge.database.transaction() as session:  # Shopify becomes unreachable
        await session.execute(update(StoreRow).values(api_base_url="http://127.0.0.1:9"))

    with pytest.raises(ConnectError):
        await reconcile_store(bridge.database, bridge.settings, STORE)

    assert await _checkpoint(bridge) == before
    assert await bridge.work_orders() == []


async def test_a_large_backfill_uses_a_bulk_operation(bridge, merchant) -> None:
    location = merchant.create_service()
    await bridge.connect(merchant.url, mode="fulfillment_service", location_id=location)
    fo_ids = _requests(merchant, location, 5)
    merchant.order(  # open work elsewhere: read, and left alone
        [
            {
                "title": "Mug",
                "sku": "MUG",
                "quantity": 1,
                "priceSet": {"shopMoney": {"amount": "5.00", "currencyCode": "USD"}},
            }
        ]
    )

    summary = await backfill_store(
        bridge.database, bridge.settings, STORE, bulk_threshold=2, poll_seconds=0.05
    )

    assert summary.used_bulk is True
    assert summary.fulfillment_orders == 6
    assert summary.result.created == 5 and summary.result.ignored == 1
    works = await bridge.work_orders()
    assert sorted(w.remote_id for w in works) == sorted(fo_ids)
    assert {w.state for w in works} == {"accepted"}
    assert {w.lines[0]["sku"] for w in works} == {f"SKU-{n}" for n in range(5)}
    log = merchant.http.get("/__sandbox/shops/demo-shop.myshopify.com/requests").json()
    operations = [entry["operation"] for entry in log["requests"]]
    assert "BulkQueryRun" in operations and "BulkOperationById" in operations
    await send_outbox(bridge)
    assert {merchant.fulfillment_order(f)["requestStatus"] for f in fo_ids} == {"ACCEPTED"}


async def test_a_small_backfill_reads_pages(bridge, merchant) -> None:
    location = merchant.create_service()
    await bridge.connect(merchant.url, mode="fulfillment_service", location_id=location)
    fo_ids = _requests(merchant, location, 2)
    summary = await backfill_store(bridge.database, bridge.settings, STORE)
    assert summary.used_bulk is False and summary.result.created == 2
    assert sorted(w.remote_id for w in await bridge.work_orders()) == sorted(fo_ids)


async def test_one_worker_polls_a_store_per_interval(bridge, merchant) -> None:
    await bridge.connect(merchant.url, mode="fulfillment_service", location_id="x")
    assert await claim_reconcile_run(bridge.database, bridge.store_id, 300) is True
    assert await claim_reconcile_run(bridge.database, bridge.store_id, 300) is False
    assert await claim_reconcile_run(bridge.database, bridge.store_id, 0.0) is True
