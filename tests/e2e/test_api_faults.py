"""Shopify's Admin API failing under the bridge while it takes work in and reports back:
5xx answers, dropped connections and throttling on a share of all requests (the sandbox's
API faults, seeded). Every order still ends right, with each write made exactly once."""

from __future__ import annotations

from collections import Counter

from fulfillbridge.store.database import Database
from tests.e2e.harness import STAGES, Bridge, Merchant, Operation, ups, worker

FAULTS = {"api": {"server_error": 0.15, "drop": 0.1, "throttle": 0.1}, "seed": 7}


async def test_every_order_ends_right_with_each_write_made_once(
    service_store: Bridge, merchant: Merchant
) -> None:
    bridge = service_store
    first, second, third = (await merchant.seed_catalogue("service"))[:3]
    in_parts = await merchant.order([(first["id"], 3)])
    held = await merchant.order([(second["id"], 1)])
    plain = [await merchant.order([(third["id"], n)]) for n in (1, 2, 1)]
    withdrawn = await merchant.order([(second["id"], 2)])
    unaddressed = await merchant.order([(first["id"], 1)], address=None)
    fo = {o["name"]: o["fulfillment_orders"][0]["id"] for o in [in_parts, held, *plain]}
    fo_withdrawn = withdrawn["fulfillment_orders"][0]["id"]
    fo_unaddressed = unaddressed["fulfillment_orders"][0]["id"]

    # From here on the bridge's requests fail often (the merchant's part is done: the
    # requests went out with the orders, and the bridge stored them before the worker ran).
    await merchant.faults(**FAULTS)
    operation = Operation(bridge, await bridge.api_key())
    try:
        async with worker(bridge, fast=True):
            for fo_id in [*fo.values(), fo_withdrawn]:
                await bridge.wait_state(fo_id, "accepted", timeout=60)
            await bridge.wait_state(fo_unaddressed, "rejected", timeout=60)
            await bridge.wait_sent(timeout=60)
            await merchant.request_cancellation(fo_withdrawn, "Wrong size")

            fo_parts, fo_held = fo[in_parts["name"]], fo[held["name"]]
            await operation.stages(fo_parts, *STAGES)
            await operation.ship(
                fo_parts, [ups("1ZFLT00001")], [{"sku": first["sku"], "quantity": 1}]
            )
            await operation.ship(fo_parts, [ups("1ZFLT00002"), ups("1ZFLT00003")])
            await operation.stages(fo_held, "picking")
            await operation.act(fo_held, "hold", {"reason": "INCORRECT_ADDRESS"})
            await operation.act(fo_held, "release")
            await operation.ship(fo_held, [ups("1ZFLT00004")])
            for n, order in enumerate(plain, start=5):
                await operation.ship(fo[order["name"]], [ups(f"1ZFLT{n:05d}")])
            await bridge.wait_state(fo_withdrawn, "cancelled", timeout=60)
            await bridge.wait_sent(timeout=90)
    finally:
        await operation.aclose()
    await merchant.faults()

    requests = await merchant.requests()
    faulted = Counter(r["fault"] for r in requests if r["fault"])
    assert faulted["server_error"] and faulted["drop"] and faulted["throttle"], faulted
    # Only requests that reached Shopify's API ran (a faulted one never does): each write
    # the bridge decided on ran exactly once.
    ran = Counter(r["operation"] for r in requests if r["status"] == 200 and not r["fault"])
    assert ran["FulfillmentOrderAcceptRequest"] == 6
    assert ran["FulfillmentOrderRejectRequest"] == 1
    assert ran["FulfillmentOrderHold"] == 1
    assert ran["FulfillmentOrderReleaseHold"] == 1
    assert ran["FulfillmentOrderAcceptCancellation"] == 1
    assert ran["FulfillmentCreate"] == 6

    shopify = await merchant.shopify_orders()

    def state(order: dict) -> dict:
        # The order's first fulfillment order; an accepted cancellation request adds a
        # replacement holding the work left, after it.
        first, *replacements = shopify[order["name"]]["fulfillment_orders"]
        assert all(r["request_status"] == "UNSUBMITTED" for r in replacements), replacements
        return first

    parts = state(in_parts)
    assert (parts["status"], parts["lines"]) == ("CLOSED", {first["sku"]: (3, 0)})
    assert sorted((f["numbers"], f["quantities"]) for f in parts["fulfillments"]) == [
        (["1ZFLT00001"], {first["sku"]: 1}),
        (["1ZFLT00002", "1ZFLT00003"], {first["sku"]: 2}),
    ]
    was_held = state(held)
    assert (was_held["status"], was_held["holds"]) == ("CLOSED", [])
    assert [f["numbers"] for f in was_held["fulfillments"]] == [["1ZFLT00004"]]
    for n, order in enumerate(plain, start=5):
        done = state(order)
        assert (done["status"], done["request_status"]) == ("CLOSED", "ACCEPTED")
        assert [f["numbers"] for f in done["fulfillments"]] == [[f"1ZFLT{n:05d}"]]
    assert (state(withdrawn)["status"], state(withdrawn)["request_status"]) == (
        "CLOSED",
        "CANCELLATION_ACCEPTED",
    )
    assert (state(unaddressed)["status"], state(unaddressed)["request_status"]) == (
        "OPEN",
        "REJECTED",
    )
    assert {r.status for r in await bridge.outbox()} == {"done"}


async def test_two_workers_sharing_the_database_still_write_once(
    service_store: Bridge, merchant: Merchant
) -> None:
    """Two workers, each with its own database connections, race for the same inbox and
    outbox while the API fails under them: each request is answered and each shipment
    becomes a fulfillment exactly once."""
    bridge = service_store
    variants = (await merchant.seed_catalogue("service"))[:3]
    orders = [await merchant.order([(v["id"], 2)]) for v in variants * 2]
    fos = [o["fulfillment_orders"][0]["id"] for o in orders]
    await merchant.faults(api={"server_error": 0.15, "drop": 0.1, "throttle": 0.1}, seed=9)
    other = Bridge(
        settings=bridge.settings,
        database=Database.from_settings(bridge.settings),
        url=bridge.url,
        home=bridge.home,
    )
    operation = Operation(bridge, await bridge.api_key())
    try:
        async with (
            worker(bridge, fast=True, worker_id="one"),
            worker(other, fast=True, worker_id="two"),
        ):
            for fo in fos:
                await bridge.wait_state(fo, "accepted", timeout=60)
            for n, (fo, variant) in enumerate(zip(fos, variants * 2, strict=True)):
                await operation.ship(
                    fo, [ups(f"1ZPAIR{n:04d}")], [{"sku": variant["sku"], "quantity": 1}]
                )
                await operation.ship(fo, [ups(f"1ZPAIR{n + 10:04d}")])
            await bridge.wait_sent(timeout=90)
    finally:
        await operation.aclose()
        await other.database.close()
    await merchant.faults()

    ran = Counter(
        r["operation"] for r in await merchant.requests() if r["status"] == 200 and not r["fault"]
    )
    assert ran["FulfillmentOrderAcceptRequest"] == 6
    assert ran["FulfillmentCreate"] == 12
    shopify = await merchant.shopify_orders()
    for n, (order, variant) in enumerate(zip(orders, variants * 2, strict=True)):
        (fo,) = shopify[order["name"]]["fulfillment_orders"]
        assert fo["status"] == "CLOSED"
        assert sorted((f["numbers"], f["quantities"]) for f in fo["fulfillments"]) == [
            ([f"1ZPAIR{n:04d}"], {variant["sku"]: 1}),
            ([f"1ZPAIR{n + 10:04d}"], {variant["sku"]: 1}),
        ]
