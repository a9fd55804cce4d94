"""Fulfillment-service mode end to end: the merchant's orders reach our location, Shopify
sends fulfillment requests by itself, the bridge takes them in from its callbacks and
webhooks, validates, accepts or rejects, and the operation works the orders through the
REST API. What is asserted is what Shopify shows afterwards."""

from __future__ import annotations

from collections import Counter

from tests.e2e.harness import (
    STAGES,
    Bridge,
    Merchant,
    Operation,
    WebhookListener,
    eventually,
    ups,
    worker,
)


def _only(items: list) -> dict:
    assert len(items) == 1, items
    return items[0]


async def test_requests_are_accepted_worked_held_shipped_in_parts_or_rejected(
    service_store: Bridge, merchant: Merchant
) -> None:
    bridge = service_store
    listener = WebhookListener()
    async with listener.server:
        await merchant.subscribe("FULFILLMENT_ORDERS_FULFILLMENT_REQUEST_REJECTED", listener.url)
        first, second, third = (await merchant.seed_catalogue("service"))[:3]
        two_parts = await merchant.order([(first["id"], 3), (second["id"], 1)])
        held = await merchant.order([(third["id"], 2)])
        no_address = await merchant.order([(first["id"], 1)], address=None)
        split_fo, held_fo, bad_fo = (
            _only(o["fulfillment_orders"])["id"] for o in (two_parts, held, no_address)
        )
        operation = Operation(bridge, await bridge.api_key())
        try:
            async with worker(bridge):
                await bridge.wait_state(split_fo, "accepted")
                await bridge.wait_state(held_fo, "accepted")
                await bridge.wait_state(bad_fo, "rejected")
                await bridge.wait_sent()
                assert (await merchant.fulfillment_order(split_fo))["request_status"] == "ACCEPTED"

                # Two packages now, the rest later.
                await operation.stages(split_fo, *STAGES)
                await operation.ship(
                    split_fo,
                    [ups("1ZPART0001"), ups("1ZPART0002")],
                    [{"sku": first["sku"], "quantity": 2}],
                )
                await bridge.wait_sent(split_fo)
                halfway = await merchant.fulfillment_order(split_fo)
                assert halfway["status"] == "IN_PROGRESS"
                assert halfway["lines"] == {first["sku"]: (3, 1), second["sku"]: (1, 1)}
                part_one = _only(halfway["fulfillments"])
                assert part_one["quantities"] == {first["sku"]: 2}
                assert part_one["numbers"] == ["1ZPART0001", "1ZPART0002"]
                await operation.ship(split_fo, [ups("1ZPART0003")])

                # On hold while stock is missing, then released and shipped.
                await operation.stages(held_fo, "picking")
                await operation.act(
                    held_fo, "hold", {"reason": "INVENTORY_OUT_OF_STOCK", "notes": "blanks late"}
                )
                await bridge.wait_sent(held_fo)
                on_hold = await merchant.fulfillment_order(held_fo)
                assert on_hold["status"] == "ON_HOLD"
                assert _only(on_hold["holds"])["reason"] == "INVENTORY_OUT_OF_STOCK"
                await operation.act(held_fo, "release")
                await bridge.wait_sent(held_fo)
                released = await merchant.fulfillment_order(held_fo)
                assert (released["status"], released["holds"]) == ("IN_PROGRESS", [])
                await operation.stages(held_fo, "printing", "packing")
                await operation.ship(held_fo, [ups("1ZHELD0001")])
                await bridge.wait_sent()
                rejected_view = await operation.find(bad_fo)
        finally:
            await operation.aclose()

    shopify = await merchant.shopify_orders()
    split = _only(shopify[two_parts["name"]]["fulfillment_orders"])
    assert (split["status"], split["request_status"]) == ("CLOSED", "ACCEPTED")
    assert split["lines"] == {first["sku"]: (3, 0), second["sku"]: (1, 0)}
    assert sorted((f["numbers"], f["quantities"]) for f in split["fulfillments"]) == [
        (["1ZPART0001", "1ZPART0002"], {first["sku"]: 2}),
        (["1ZPART0003"], {first["sku"]: 1, second["sku"]: 1}),
    ]
    assert {f["status"] for f in split["fulfillments"]} == {"SUCCESS"}

    shipped = _only(shopify[held["name"]]["fulfillment_orders"])
    assert (shipped["status"], shipped["holds"]) == ("CLOSED", [])
    only = _only(shipped["fulfillments"])
    assert (only["numbers"], only["quantities"]) == (["1ZHELD0001"], {third["sku"]: 2})
    assert only["urls"] == ["https://www.ups.com/track?num=1ZHELD0001"]

    refused = _only(shopify[no_address["name"]]["fulfillment_orders"])
    assert (refused["status"], refused["request_status"]) == ("OPEN", "REJECTED")
    assert refused["fulfillments"] == []
    # The merchant is told why, in words and as Shopify's reason code.
    told = _only(
        [
            body
            for body in listener.bodies("fulfillment_orders/fulfillment_request_rejected")
            if body["fulfillment_order"]["id"] == bad_fo
        ]
    )
    assert "shipping address is missing" in told["message"]
    assert told["reason"] == "INCORRECT_ADDRESS"
    assert rejected_view["problems"] == ["shipping address is missing"]

    # Every stage the operation reported reached Shopify once: 3 + 3 progress reports.
    calls = Counter(
        r["operation"] for r in await merchant.requests() if r["status"] == 200 and not r["fault"]
    )
    assert calls["FulfillmentOrderReportProgress"] == 6
    assert calls["FulfillmentOrderHold"] == 1
    assert calls["FulfillmentCreate"] == 3


async def test_cancellation_requests_before_and_after_the_cutoff_and_a_cancelled_order(
    service_store: Bridge, merchant: Merchant
) -> None:
    bridge = service_store
    listener = WebhookListener()
    async with listener.server:
        await merchant.subscribe("FULFILLMENT_ORDERS_CANCELLATION_REQUEST_REJECTED", listener.url)
        first, second, third = (await merchant.seed_catalogue("service"))[:3]
        early = await merchant.order([(first["id"], 1)])
        late = await merchant.order([(second["id"], 2)])
        cancelled = await merchant.order([(third["id"], 1)])
        early_fo, late_fo, cancelled_fo = (
            _only(o["fulfillment_orders"])["id"] for o in (early, late, cancelled)
        )
        operation = Operation(bridge, await bridge.api_key())
        try:
            async with worker(bridge):
                for fo in (early_fo, late_fo, cancelled_fo):
                    await bridge.wait_state(fo, "accepted")
                await operation.stages(early_fo, "picking")  # before the cut-off stage
                await operation.stages(late_fo, "picking", "printing")  # at the cut-off
                await operation.stages(cancelled_fo, "picking")
                await bridge.wait_sent()

                await merchant.request_cancellation(early_fo, "Customer changed their mind")
                await merchant.request_cancellation(late_fo, "Customer changed their mind")
                await merchant.cancel_order(cancelled["id"])
                await bridge.wait_state(early_fo, "cancelled")
                await bridge.wait_state(cancelled_fo, "cancelled")
                await bridge.wait_sent()
                answered = await merchant.fulfillment_order(late_fo)
                assert answered["request_status"] == "CANCELLATION_REJECTED"
                # Too late to cancel: the work goes on and ships.
                await operation.stages(late_fo, "packing")
                await operation.ship(late_fo, [ups("1ZLATE0001")])
                await bridge.wait_sent()
                # Cancelled work is closed locally: the operation cannot go on with it.
                await operation.act(early_fo, "stage", {"stage": "printing"}, expect=409)
                await operation.act(cancelled_fo, "stage", {"stage": "printing"}, expect=409)
                closed = (await operation.detail(cancelled_fo))["transitions"][-1]
                assert (closed["to_state"], closed["actor"]) == ("cancelled", "shopify")
        finally:
            await operation.aclose()

    shopify = await merchant.shopify_orders()
    # The accepted cancellation closes the fulfillment order and leaves the work to a
    # replacement the merchant may request again.
    withdrawn, replacement = shopify[early["name"]]["fulfillment_orders"]
    assert (withdrawn["status"], withdrawn["request_status"]) == ("CLOSED", "CANCELLATION_ACCEPTED")
    assert withdrawn["fulfillments"] == []
    assert (replacement["status"], replacement["request_status"]) == ("OPEN", "UNSUBMITTED")

    kept = _only(shopify[late["name"]]["fulfillment_orders"])
    assert (kept["status"], kept["request_status"]) == ("CLOSED", "CANCELLATION_REJECTED")
    shipment = _only(kept["fulfillments"])
    assert (shipment["numbers"], shipment["quantities"]) == (["1ZLATE0001"], {second["sku"]: 2})
    refusal = _only(
        [
            body
            for body in listener.bodies("fulfillment_orders/cancellation_request_rejected")
            if body["fulfillment_order"]["id"] == late_fo
        ]
    )
    assert "reached printing" in refusal["message"]

    gone = shopify[cancelled["name"]]
    assert gone["cancelled"]
    assert [fo["fulfillments"] for fo in gone["fulfillment_orders"]] == [[]]


async def test_a_cancellation_request_made_again_is_answered_again(
    service_store: Bridge, merchant: Merchant
) -> None:
    bridge = service_store
    (first, *_rest) = await merchant.seed_catalogue("service")
    order = await merchant.order([(first["id"], 1)])
    fo = _only(order["fulfillment_orders"])["id"]
    operation = Operation(bridge, await bridge.api_key())

    # Shopify leaves the request status alone when a cancellation is requested (the request
    # shows in merchantRequests), so after the first refusal it reads CANCELLATION_REJECTED
    # until the next answer: count the refusals sent instead.
    refused = 0

    async def answered() -> bool:
        state = await merchant.fulfillment_order(fo)
        sent = [
            r
            for r in await bridge.outbox()
            if r.kind == "reject_cancellation" and r.status == "done"
        ]
        return state["request_status"] == "CANCELLATION_REJECTED" and len(sent) > refused

    try:
        async with worker(bridge):
            await bridge.wait_state(fo, "accepted")
            await operation.stages(fo, "picking", "printing")
            await bridge.wait_sent()
            await merchant.request_cancellation(fo, "Customer changed their mind")
            await eventually(answered, timeout=15, what="the first refusal")
            refused = 1
            await merchant.request_cancellation(fo, "Customer insists")
            await eventually(answered, timeout=15, what="the second refusal")
            await operation.stages(fo, "packing")
            await operation.ship(fo, [ups("1ZAGAIN001")])
            await bridge.wait_sent()
    finally:
        await operation.aclose()
    refusals = [r for r in await bridge.outbox() if r.kind == "reject_cancellation"]
    assert len(refusals) == 2
    shipped = await merchant.fulfillment_order(fo)
    assert shipped["status"] == "CLOSED"
    assert [f["numbers"] for f in shipped["fulfillments"]] == [["1ZAGAIN001"]]


async def test_tracking_corrected_delivery_reported_and_work_given_up(
    service_store: Bridge, merchant: Merchant
) -> None:
    bridge = service_store
    first, second = (await merchant.seed_catalogue("service"))[:2]
    delivered = await merchant.order([(first["id"], 1)])
    abandoned = await merchant.order([(second["id"], 1)])
    fo_delivered = _only(delivered["fulfillment_orders"])["id"]
    fo_abandoned = _only(abandoned["fulfillment_orders"])["id"]
    operation = Operation(bridge, await bridge.api_key())
    try:
        async with worker(bridge):
            await bridge.wait_state(fo_delivered, "accepted")
            await bridge.wait_state(fo_abandoned, "accepted")
            shipped = await operation.ship(fo_delivered, [ups("1ZTYPO0001")])
            shipment_id = shipped["shipment"]["id"]
            await bridge.wait_sent(fo_delivered)
            await operation.act(
                fo_delivered,
                f"shipments/{shipment_id}/tracking",
                {"packages": [ups("1ZRIGHT001")]},
            )
            await operation.act(fo_delivered, "delivered")
            await operation.stages(fo_abandoned, "picking")
            await operation.act(fo_abandoned, "give-up", {"reason": "The print head broke"})
            await bridge.wait_sent()
    finally:
        await operation.aclose()

    shopify = await merchant.shopify_orders()
    (done,) = shopify[delivered["name"]]["fulfillment_orders"]
    (fulfillment,) = done["fulfillments"]
    assert fulfillment["numbers"] == ["1ZRIGHT001"]
    events = await merchant.graphql(
        """query($id: ID!) { fulfillment(id: $id) {
             events(first: 10) { nodes { status } } } }""",
        {"id": fulfillment["id"]},
    )
    assert [e["status"] for e in events["fulfillment"]["events"]["nodes"]] == ["DELIVERED"]
    (given_up,) = shopify[abandoned["name"]]["fulfillment_orders"]
    assert (given_up["status"], given_up["request_status"]) == ("INCOMPLETE", "CLOSED")
    assert given_up["fulfillments"] == []
