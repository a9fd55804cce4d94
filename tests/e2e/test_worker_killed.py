"""A worker process killed in the middle of a write to Shopify (SIGKILL while its request
is still running there), then a new `fulfillbridge worker` started: nothing is lost and
nothing is done twice."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter

from tests.e2e.harness import (
    Bridge,
    Merchant,
    Operation,
    WorkerProcess,
    eventually,
    fulfillbridge_command,
    ups,
)

SLOW_SECONDS = 4.0  # below FAST_OUTBOX.lease_seconds: see there


async def test_a_worker_killed_mid_write_loses_nothing_and_doubles_nothing(
    service_store: Bridge, merchant: Merchant
) -> None:
    bridge = service_store
    first, second, third = (await merchant.seed_catalogue("service"))[:3]
    in_parts = await merchant.order([(first["id"], 3)])
    held = await merchant.order([(second["id"], 1)])
    fo_parts = in_parts["fulfillment_orders"][0]["id"]
    fo_held = held["fulfillment_orders"][0]["id"]
    doomed = WorkerProcess(
        [sys.executable, "-m", "tests.e2e.worker_process"], bridge.home / "doomed.log"
    ).start()
    successor: WorkerProcess | None = None
    code: int | None = None
    operation = Operation(bridge, await bridge.api_key())
    try:
        await bridge.wait_state(fo_parts, "accepted")
        await bridge.wait_state(fo_held, "accepted")
        await bridge.wait_sent()

        # Every Shopify request now takes 4 s: the worker is surely inside one when killed.
        await merchant.faults(api={"slow": 1.0, "slow_seconds": SLOW_SECONDS})
        await operation.ship(fo_parts, [ups("1ZCRASH001")], [{"sku": first["sku"], "quantity": 1}])
        await operation.act(fo_held, "hold", {"reason": "AWAITING_PAYMENT"})
        work_id = (await operation.find(fo_parts))["id"]

        async def sending() -> bool:
            rows = await bridge.outbox(work_id)
            return any(r.kind == "create_fulfillment" and r.status == "sending" for r in rows)

        await eventually(sending, timeout=20, what="the fulfillment to be on its way")
        await asyncio.sleep(1.0)  # the request is at Shopify, its answer 3 s away
        assert doomed.alive, doomed.log()
        await doomed.kill()
        await merchant.faults()
        (in_flight,) = [r for r in await bridge.outbox(work_id) if r.kind == "create_fulfillment"]
        assert in_flight.status == "sending"  # killed before it could record the answer

        # While no worker runs, Shopify's news is still taken in by the bridge's app.
        late = await merchant.order([(third["id"], 2)])
        fo_late = late["fulfillment_orders"][0]["id"]
        assert await bridge.state_of(fo_late) is None

        successor = WorkerProcess(fulfillbridge_command("worker"), bridge.home / "next.log")
        successor.start()
        await bridge.wait_state(fo_late, "accepted", timeout=30)
        await bridge.wait_sent(timeout=40)
        await operation.act(fo_held, "release")
        await operation.ship(fo_held, [ups("1ZCRASH002")])
        await operation.ship(fo_parts, [ups("1ZCRASH003")])
        await operation.ship(fo_late, [ups("1ZCRASH004")])
        await bridge.wait_sent(timeout=30)
        assert successor.alive, successor.log()
    finally:
        await operation.aclose()
        doomed.ensure_stopped()
        if successor is not None:
            code = await successor.stop()
            successor.ensure_stopped()
    assert successor is not None and code == 0, successor and successor.log()

    # The new worker found the dead one's fulfillment at Shopify instead of making another.
    (recovered,) = [
        r
        for r in await bridge.outbox()
        if r.kind == "create_fulfillment" and r.payload["tracking"][0]["number"] == "1ZCRASH001"
    ]
    assert recovered.status == "done" and recovered.result.get("verified") is True

    ran = Counter(
        r["operation"]
        for r in await merchant.requests()
        if r["status"] == 200 and r["fault"] in (None, "slow")
    )
    assert ran["FulfillmentCreate"] == 4
    assert ran["FulfillmentOrderHold"] == 1
    assert ran["FulfillmentOrderAcceptRequest"] == 3

    shopify = await merchant.shopify_orders()
    (parts,) = shopify[in_parts["name"]]["fulfillment_orders"]
    assert parts["status"] == "CLOSED"
    assert sorted((f["numbers"], f["quantities"]) for f in parts["fulfillments"]) == [
        (["1ZCRASH001"], {first["sku"]: 1}),
        (["1ZCRASH003"], {first["sku"]: 2}),
    ]
    (was_held,) = shopify[held["name"]]["fulfillment_orders"]
    assert (was_held["status"], was_held["holds"]) == ("CLOSED", [])
    assert [f["numbers"] for f in was_held["fulfillments"]] == [["1ZCRASH002"]]
    (late_fo,) = shopify[late["name"]]["fulfillment_orders"]
    assert (late_fo["request_status"], late_fo["status"]) == ("ACCEPTED", "CLOSED")
    assert [f["quantities"] for f in late_fo["fulfillments"]] == [{third["sku"]: 2}]
