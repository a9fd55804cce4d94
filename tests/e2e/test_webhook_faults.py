"""Shopify's deliveries going wrong: webhooks and fulfillment-service callbacks dropped,
sent twice, and out of order (the sandbox's webhook faults). Lost news is recovered by
reconciliation; repeated or late news changes nothing twice."""

from __future__ import annotations

from collections import Counter

from fulfillbridge.flows.reconcile import reconcile_store
from tests.e2e.harness import STORE, Bridge, Merchant, Operation, eventually, ups, worker


async def _deliveries_settled(merchant: Merchant, at_least: int) -> list[dict]:
    log = await merchant.deliveries()
    busy = [d for d in log if d["status"] in ("pending", "retrying")]
    return log if len(log) >= at_least and not busy else []


async def test_lost_webhooks_are_recovered_and_repeated_ones_change_nothing(
    service_store: Bridge, merchant: Merchant
) -> None:
    bridge = service_store
    first, second, third = (await merchant.seed_catalogue("service"))[:3]
    operation = Operation(bridge, await bridge.api_key())
    try:
        async with worker(bridge):
            # The worker's first round starts the reconciliation checkpoint (the backfill);
            # the next poll is an hour away, so only webhooks could tell it of new work.
            await eventually(bridge.reconcile_checkpoint, what="the backfill at the first round")

            # 1. Every delivery lost: fulfillment_request_submitted and the callback.
            await merchant.faults(webhooks={"drop": 1.0}, seed=3)
            lost = [
                await merchant.order([(first["id"], 2)]),
                await merchant.order([(second["id"], 1)]),
            ]
            log = await eventually(
                lambda: _deliveries_settled(merchant, 4), what="the dropped deliveries"
            )
            assert {d["topic"] for d in log} >= {
                "fulfillment_orders/fulfillment_request_submitted",
                "__callback__",
            }
            assert {d["status"] for d in log} == {"dropped"}
            assert await bridge.work_orders() == []  # nothing told, nothing known

            summary = await reconcile_store(bridge.database, bridge.settings, STORE)
            assert summary.kind == "poll" and summary.result.created == 2
            lost_fos = [o["fulfillment_orders"][0]["id"] for o in lost]
            for fo in lost_fos:
                await bridge.wait_state(fo, "accepted")

            # 2. Every delivery sent twice, and each held back behind the next one.
            await merchant.faults(webhooks={"duplicate": 1.0, "reorder": 1.0}, seed=4)
            two_parts = await merchant.order([(first["id"], 2)])
            whole = await merchant.order([(third["id"], 1)])
            withdrawn = await merchant.order([(second["id"], 1)])
            fo_two, fo_whole, fo_withdrawn = (
                o["fulfillment_orders"][0]["id"] for o in (two_parts, whole, withdrawn)
            )
            for fo in (fo_two, fo_whole, fo_withdrawn):
                await bridge.wait_state(fo, "accepted")
            await bridge.wait_sent()
            await merchant.request_cancellation(fo_withdrawn, "Ordered by mistake")
            await bridge.wait_state(fo_withdrawn, "cancelled")

            await operation.ship(
                fo_two, [ups("1ZTWO00001")], [{"sku": first["sku"], "quantity": 1}]
            )
            await operation.ship(fo_two, [ups("1ZTWO00002")])
            await operation.ship(fo_whole, [ups("1ZWHOLE001")])
            await operation.ship(lost_fos[0], [ups("1ZLOST0001")])
            await bridge.wait_sent()
            log = await eventually(
                lambda: _deliveries_settled(merchant, 12), what="the doubled deliveries"
            )

            # Reconciling again reads the same news once more: nothing changes.
            writes_before = len(await bridge.outbox())
            again = await reconcile_store(bridge.database, bridge.settings, STORE)
            assert again.result.created == 0
            await bridge.wait_sent()
            assert len(await bridge.outbox()) == writes_before
    finally:
        await operation.aclose()

    # Each doubled delivery was answered both times; a doubled webhook was stored once
    # (by its X-Shopify-Webhook-Id). A callback carries no id: a second copy is a second,
    # harmless pull, and the counts below show it changed nothing twice.
    doubled = [d for d in log if d["duplicated"]]
    # A callback and webhooks among them (which topics depends on the order of deliveries).
    topics = {d["topic"] for d in doubled}
    assert "__callback__" in topics and topics - {"__callback__"}
    assert all(d["response_status"] == 200 for d in doubled)
    stored = await bridge.inbox_copies()
    webhooks = [d for d in doubled if d["topic"] != "__callback__"]
    assert all(stored.get(d["webhook_id"]) == 1 for d in webhooks), (webhooks, stored)

    # One answer per request, one fulfillment per shipment, at Shopify and locally.
    writes = Counter((row.work_order_id, row.kind) for row in await bridge.outbox())
    assert all(count == 1 for (_, kind), count in writes.items() if kind != "create_fulfillment")
    calls = Counter(
        r["operation"] for r in await merchant.requests() if r["status"] == 200 and not r["fault"]
    )
    assert calls["FulfillmentOrderAcceptRequest"] == 5
    assert calls["FulfillmentOrderAcceptCancellation"] == 1
    assert calls["FulfillmentCreate"] == 4

    shopify = await merchant.shopify_orders()

    def state(order: dict) -> dict:
        # The order's first fulfillment order; an accepted cancellation request adds a
        # replacement holding the work left, after it.
        first, *replacements = shopify[order["name"]]["fulfillment_orders"]
        assert all(r["request_status"] == "UNSUBMITTED" for r in replacements), replacements
        return first

    assert [(state(o)["status"], state(o)["request_status"]) for o in lost] == [
        ("CLOSED", "ACCEPTED"),
        ("IN_PROGRESS", "ACCEPTED"),
    ]
    assert [f["numbers"] for f in state(lost[0])["fulfillments"]] == [["1ZLOST0001"]]
    assert sorted((f["numbers"], f["quantities"]) for f in state(two_parts)["fulfillments"]) == [
        (["1ZTWO00001"], {first["sku"]: 1}),
        (["1ZTWO00002"], {first["sku"]: 1}),
    ]
    assert [f["numbers"] for f in state(whole)["fulfillments"]] == [["1ZWHOLE001"]]
    assert (state(withdrawn)["status"], state(withdrawn)["request_status"]) == (
        "CLOSED",
        "CANCELLATION_ACCEPTED",
    )
    assert state(withdrawn)["fulfillments"] == []
