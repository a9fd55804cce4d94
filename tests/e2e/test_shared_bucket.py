"""Two OS processes on one store, both busy: a worker taking in fulfillment requests and a
process pushing inventory. Shopify keeps one leaky bucket per app and store; every call the
bridge makes for a stored store goes through the store's shared estimate
(``flows.connect.store_client``, ``store.throttle``), so even with a small bucket Shopify
never has to answer THROTTLED: a request waits for points the other process may be
spending, and a read the process never sent reserves Shopify's ceiling for one query (its
cost is not known until the first answer)."""

from __future__ import annotations

import json
import sys
from typing import Any

from fulfillbridge.flows import connect, inventory
from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.sandbox.throttle import LeakyBucket
from tests.e2e.harness import SHOP, STORE, Bridge, Merchant, WorkerProcess, eventually

# A quarter of a Standard plan's bucket (2,000 points at 100 a second), just above the
# largest request here (the backfill's OpenFulfillmentOrders, 466 points), and nearly empty
# when the processes start: each request must wait for points the other may be spending.
SMALL_BUCKET = 500
RESTORE_RATE = 60
START_WITH = 20
ORDERS = 8
PUSH_ROUNDS = 40


def _shrink_bucket(sandbox: SandboxServer) -> None:
    shop = sandbox.sandbox.shops[SHOP]
    for app_id in shop.apps:
        shop.buckets[app_id] = LeakyBucket(SMALL_BUCKET, RESTORE_RATE, shop.state.clock.monotonic)


def _throttled(log: list[dict[str, Any]]) -> list[str]:
    return [f"{entry['operation']} at {entry['at']}" for entry in log if entry["throttled"]]


async def test_an_inventory_push_and_a_worker_share_the_store_bucket(
    service_store: Bridge, merchant: Merchant, sandbox: SandboxServer
) -> None:
    bridge = service_store
    variants = await merchant.seed_catalogue("service", products=12)
    skus = sorted({v["sku"] for v in variants if v["sku"]})
    # The SKU mapping is read first (a push reads it when a store has none): what the
    # pusher then spends is its pushes.
    await inventory.refresh_mapping(bridge.database, bridge.settings, STORE)
    _shrink_bucket(sandbox)
    await merchant.control(f"/__sandbox/shops/{SHOP}/bucket", {"available": START_WITH})
    # `store check`: the store's shared estimate reads the small, nearly empty bucket.
    await connect.check_store(bridge.settings, STORE)
    seen = len(await merchant.requests())
    sku_file = bridge.home / "skus.txt"
    sku_file.write_text("\n".join(skus))

    worker = WorkerProcess(
        [sys.executable, "-m", "tests.e2e.worker_process"], bridge.home / "worker.log"
    ).start()
    pusher = WorkerProcess(
        [sys.executable, "-m", "tests.e2e.inventory_pusher", str(sku_file), str(PUSH_ROUNDS)],
        bridge.home / "pusher.log",
    )
    try:
        created = await merchant.control(
            f"/__sandbox/shops/{SHOP}/merchant",
            {"action": "create_orders", "count": ORDERS, "seed": 7, "variety": "simple"},
        )
        requested = created["service_fulfillment_order_ids"]
        assert requested, created
        pusher.start()

        async def all_taken_in() -> bool:
            return len(await bridge.work_orders()) >= len(requested)

        await eventually(all_taken_in, timeout=120, what="every request taken in")
        await bridge.wait_sent(timeout=120)
        pushed_cleanly = await _finished(pusher)
    finally:
        pusher.ensure_stopped()
        await worker.stop()
        worker.ensure_stopped()

    log = (await merchant.requests())[seen:]
    operations = {r["operation"] for r in log}
    # Both processes really were at Shopify while the other was.
    assert "InventorySetQuantities" in operations and "FulfillmentOrderAcceptRequest" in operations
    throttled = _throttled(log)
    assert throttled == [], f"THROTTLED: {throttled}\n{worker.log()[-3000:]}"
    assert pushed_cleanly, pusher.log()
    rounds = [json.loads(line) for line in pusher.log().splitlines() if line.startswith("{")]
    assert len(rounds) == PUSH_ROUNDS, pusher.log()
    # Every round wrote every level (new quantities each time) and refused none.
    assert all(r["applied"] == len(skus) and r["rejected"] == [] for r in rounds), rounds


async def _finished(process: WorkerProcess, timeout: float = 180.0) -> bool:
    async def done() -> bool:
        return not process.alive

    await eventually(done, timeout=timeout, what="the inventory pushes to finish")
    assert process.process is not None
    return process.process.returncode == 0
