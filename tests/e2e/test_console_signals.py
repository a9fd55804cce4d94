"""What the console's stores page learns that no other table keeps: reconciliation polls
failing in a row (a store whose token stopped working has no failed writes to show), and
webhooks refused for a connected shop. Against the sandbox over real HTTP."""

from __future__ import annotations

import httpx
from sqlalchemy import delete

from fulfillbridge.flows import store_signals
from fulfillbridge.flows.reconcile import reconcile_due_stores
from fulfillbridge.store.models import CheckpointRow
from tests.e2e.conftest import connect_store
from tests.e2e.harness import SHOP, STORE, TOKEN, Bridge


async def _signals(bridge: Bridge) -> dict[str, store_signals.Signal]:
    async with bridge.database.transaction() as session:
        found = await store_signals.signals(session, [1])
    return {name: signal for (_, name), signal in found.items()}


async def _poll_now(bridge: Bridge) -> None:
    async with bridge.database.transaction() as session:  # the poll is due again at once
        await session.execute(delete(CheckpointRow).where(CheckpointRow.name == "reconcile_run"))
    await reconcile_due_stores(bridge.database, bridge.settings)


async def test_failed_polls_and_refused_webhooks_are_recorded(
    bridge: Bridge, sandbox_url: str
) -> None:
    await connect_store(bridge, sandbox_url)
    await _poll_now(bridge)
    assert await _signals(bridge) == {}
    async with bridge.database.stores() as stores:
        await stores.add_secrets(STORE, {"access_token": "shpat_revoked_by_the_merchant"})
    await _poll_now(bridge)
    await _poll_now(bridge)
    failed = (await _signals(bridge))[store_signals.RECONCILE_FAILURES]
    assert failed.count == 2, failed
    assert (failed.error or "").startswith("AuthenticationError: Shopify answered HTTP 401")
    async with bridge.database.stores() as stores:
        await stores.add_secrets(STORE, {"access_token": TOKEN})
    await _poll_now(bridge)
    assert store_signals.RECONCILE_FAILURES not in await _signals(bridge)

    async with httpx.AsyncClient(base_url=bridge.url, timeout=20) as http:
        for shop in (SHOP, "someone-else.myshopify.com", "x" * 300):
            forged = await http.post(
                "/webhooks/shopify",
                content=b"{}",
                headers={
                    "X-Shopify-Shop-Domain": shop,
                    "X-Shopify-Hmac-Sha256": "Zm9yZ2Vk",
                    "X-Shopify-Topic": "orders/create",
                    "X-Shopify-Webhook-Id": f"forged-{len(shop)}",
                },
            )
            assert forged.status_code == 401
    refused = (await _signals(bridge))[store_signals.REFUSED_WEBHOOKS]
    assert refused.count == 1  # only the connected shop's is counted


def test_a_long_error_fits_its_row() -> None:
    value = store_signals._encode(3, "é" * 400 + '"\\')
    assert len(value) <= 255 and '"n": 3' in value
