"""A reconciliation poll that finds nothing new leaves every work order as it was: no new
``updated_at`` (which ``updated_since`` and the oldest-change-first order rely on), no new
row version. Orders of every shape the sandbox makes: personalised lines, express and
pickup delivery, deadlines, several lines."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from fulfillbridge.flows.reconcile import reconcile_store
from fulfillbridge.sandbox.shops import DEFAULT_SHOP_DOMAIN
from fulfillbridge.store.database import Database
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


def _control(merchant: Merchant, path: str, body: dict) -> dict:
    answer = merchant.http.post(path, json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _stamps(bridge: Bridge) -> dict[int, tuple]:
    return {row.id: (row.updated_at, row.version) for row in await bridge.work_orders()}


async def test_a_poll_with_no_news_changes_no_work_order(bridge, merchant) -> None:
    location = merchant.create_service()
    await bridge.connect(merchant.url, mode="fulfillment_service", location_id=location)
    shop = f"/__sandbox/shops/{DEFAULT_SHOP_DOMAIN}"
    _control(merchant, f"{shop}/settings", {"auto_submit_fulfillment_requests": True})
    _control(
        merchant,
        f"/__sandbox/seed?shop={DEFAULT_SHOP_DOMAIN}",
        {"products": 6, "orders": 6, "seed": 5, "stock_at": "service"},
    )
    for shape in (
        {"personalised": True, "delivery": "express", "fulfill_by": "2030-01-01T12:00:00Z"},
        {"delivery": "pickup"},
    ):
        _control(merchant, f"{shop}/merchant", {"action": "create_orders", "count": 2, **shape})

    await reconcile_store(bridge.database, bridge.settings, STORE)  # the backfill
    await send_outbox(bridge)  # accepts reach Shopify, so its news changes once more
    await reconcile_store(bridge.database, bridge.settings, STORE)
    settled = await _stamps(bridge)
    assert len(settled) >= 8
    rows = await bridge.work_orders()
    assert any(any(line.get("properties") for line in row.lines) for row in rows)

    for _ in range(2):
        await reconcile_store(bridge.database, bridge.settings, STORE)
        assert await _stamps(bridge) == settled


async def test_shipped_and_held_work_is_left_alone_by_a_quiet_poll(bridge, merchant) -> None:
    from fulfillbridge.core.work import Tracking
    from fulfillbridge.flows import actions

    location = merchant.create_service()
    await bridge.connect(merchant.url, mode="fulfillment_service", location_id=location)
    shop = f"/__sandbox/shops/{DEFAULT_SHOP_DOMAIN}"
    _control(merchant, f"{shop}/settings", {"auto_submit_fulfillment_requests": True})
    _control(
        merchant,
        f"/__sandbox/seed?shop={DEFAULT_SHOP_DOMAIN}",
        {"products": 4, "orders": 4, "seed": 9, "stock_at": "service", "variety": "simple"},
    )
    await reconcile_store(bridge.database, bridge.settings, STORE)
    await send_outbox(bridge)
    first, second, *_ = await bridge.work_orders()
    ups = (Tracking("UPS", "1Z1", None),)
    await actions.run_action(
        bridge.database, bridge.settings, str(first.id), actions.Ship(None, ups), actor="t"
    )
    await actions.run_action(
        bridge.database, bridge.settings, str(second.id), actions.Hold("OTHER", "x"), actor="t"
    )
    await send_outbox(bridge)
    await reconcile_store(bridge.database, bridge.settings, STORE)
    await send_outbox(bridge)
    await reconcile_store(bridge.database, bridge.settings, STORE)
    settled = await _stamps(bridge)
    for _ in range(2):
        await reconcile_store(bridge.database, bridge.settings, STORE)
        assert await _stamps(bridge) == settled


async def test_merchant_managed_work_is_left_alone_by_a_quiet_poll(bridge, merchant) -> None:
    location = merchant.merchant_location()
    await bridge.connect(merchant.url, mode="order_management", managed_locations=[location])
    _control(
        merchant,
        f"/__sandbox/seed?shop={DEFAULT_SHOP_DOMAIN}",
        {"products": 5, "orders": 6, "seed": 3, "stock_at": "merchant"},
    )
    shop = f"/__sandbox/shops/{DEFAULT_SHOP_DOMAIN}"
    _control(
        merchant, f"{shop}/merchant", {"action": "create_orders", "count": 2, "personalised": True}
    )
    await reconcile_store(bridge.database, bridge.settings, STORE)
    await send_outbox(bridge)
    await reconcile_store(bridge.database, bridge.settings, STORE)
    settled = await _stamps(bridge)
    assert settled
    for _ in range(2):
        await reconcile_store(bridge.database, bridge.settings, STORE)
        assert await _stamps(bridge) == settled
