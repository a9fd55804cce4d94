"""Bad input at the system's edges: forged Shopify deliveries change nothing, and the
operation's API refuses what Shopify's state no longer allows, naming the problem."""

from __future__ import annotations

import json
import uuid

import httpx

from fulfillbridge.shopify import sign_webhook
from tests.e2e.harness import (
    SHOP,
    STORE,
    WEBHOOK_SECRET,
    Bridge,
    Merchant,
    Operation,
    ups,
    worker,
)


def _headers(body: bytes, secret: str | None, topic: str) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-API-Version": "2026-07",
    }
    if secret is not None:
        headers["X-Shopify-Hmac-Sha256"] = sign_webhook(body, secret)
    return headers


async def test_forged_deliveries_change_nothing(service_store: Bridge, merchant: Merchant) -> None:
    bridge = service_store
    (first, *_rest) = await merchant.seed_catalogue("service")
    order = await merchant.order([(first["id"], 1)])
    fo = order["fulfillment_orders"][0]["id"]
    number = int(order["id"].rsplit("/", 1)[1])
    cancelled = json.dumps(
        {
            "id": number,
            "admin_graphql_api_id": order["id"],
            "cancelled_at": "2026-01-01T00:00:00Z",
            "cancel_reason": "fraud",
        }
    ).encode()
    ping = json.dumps({"kind": "CANCELLATION_REQUEST"}).encode()
    async with worker(bridge):
        await bridge.wait_state(fo, "accepted")
        await bridge.wait_sent()
        inbox_before = await bridge.inbox_copies()
        async with bridge.database.stores() as stores:  # the callback URL set-up registered
            token = (await stores.secrets(STORE))["callback_token"]
        async with httpx.AsyncClient(base_url=bridge.url, timeout=10) as http:
            forged = await http.post(
                "/webhooks/shopify",
                content=cancelled,
                headers=_headers(cancelled, "not-the-app-secret", "orders/cancelled"),
            )
            unsigned = await http.post(
                "/webhooks/shopify",
                content=cancelled,
                headers=_headers(cancelled, None, "orders/cancelled"),
            )
            forged_ping = await http.post(
                f"/shopify/{STORE}/{token}/fulfillment_order_notification",
                content=ping,
                headers=_headers(ping, "not-the-app-secret", "x"),
            )
            # The same body, signed as Shopify signs it, is taken (so the refusals above
            # were for the signature, not for the body).
            genuine_ping = await http.post(
                f"/shopify/{STORE}/{token}/fulfillment_order_notification",
                content=ping,
                headers=_headers(ping, WEBHOOK_SECRET, "x"),
            )
        assert [r.status_code for r in (forged, unsigned, forged_ping)] == [401, 401, 401]
        assert "signature" in forged.json()["error"]
        assert genuine_ping.status_code == 200
        inbox_after = await bridge.inbox_copies()
        assert len(inbox_after) == len(inbox_before) + 1  # only the genuine ping
        await bridge.wait_sent()

    assert await bridge.state_of(fo) == "accepted"
    shopify = await merchant.shopify_orders()
    assert not shopify[order["name"]]["cancelled"]
    (now,) = shopify[order["name"]]["fulfillment_orders"]
    assert (now["status"], now["request_status"]) == ("IN_PROGRESS", "ACCEPTED")


async def test_the_api_refuses_to_ship_cancelled_or_impossible_work(
    service_store: Bridge, merchant: Merchant
) -> None:
    bridge = service_store
    first, second = (await merchant.seed_catalogue("service"))[:2]
    doomed = await merchant.order([(first["id"], 1)])
    open_order = await merchant.order([(second["id"], 2)])
    fo_doomed = doomed["fulfillment_orders"][0]["id"]
    fo_open = open_order["fulfillment_orders"][0]["id"]
    operation = Operation(bridge, await bridge.api_key())
    try:
        async with worker(bridge):
            await bridge.wait_state(fo_doomed, "accepted")
            await bridge.wait_state(fo_open, "accepted")
            await merchant.cancel_order(doomed["id"])
            await bridge.wait_state(fo_doomed, "cancelled")
            await bridge.wait_sent()
            writes_before = len(await bridge.outbox())

            refused = await operation.ship(fo_doomed, [ups("1ZNOPE0001")], expect=409)
            assert "cancelled" in refused["detail"]
            too_many = await operation.ship(
                fo_open, [ups("1ZNOPE0002")], [{"sku": second["sku"], "quantity": 3}], expect=422
            )
            assert "2 left to ship" in too_many["detail"]
            unknown_sku = await operation.ship(
                fo_open, [ups("1ZNOPE0003")], [{"sku": "NO-SUCH-SKU", "quantity": 1}], expect=422
            )
            assert "NO-SUCH-SKU" in json.dumps(unknown_sku)
            missing = await operation.http.post(
                "/work/999999/shipments", json={"no_tracking": True}
            )
            assert missing.status_code == 404

            assert len(await bridge.outbox()) == writes_before
            work_doomed = (await operation.find(fo_doomed))["id"]
            work_open = (await operation.find(fo_open))["id"]
            assert await bridge.shipments(work_doomed) == []
            assert await bridge.shipments(work_open) == []
    finally:
        await operation.aclose()

    shopify = await merchant.shopify_orders()
    assert shopify[doomed["name"]]["cancelled"]
    for name in (doomed["name"], open_order["name"]):
        assert [fo["fulfillments"] for fo in shopify[name]["fulfillment_orders"]] == [[]]
