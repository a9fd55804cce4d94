"""An order whose webhooks were all lost (order-management mode: nothing else would bring
it) is found by the reconciliation that follows the store's next news once it has been
quiet ``reconcile_quiet_seconds``, long before the interval; and a poll that finds nothing
new costs two small queries."""

from __future__ import annotations

import asyncio
import time

from fulfillbridge.worker import run_worker
from tests.e2e.conftest import connect_store
from tests.e2e.harness import Bridge, Merchant

QUIET = 2.0


async def test_an_order_lost_whole_is_found_soon_after_the_next_news_goes_quiet(
    bridge: Bridge, merchant: Merchant, sandbox_url: str
) -> None:
    await merchant.seed_catalogue("merchant", products=4)
    managed = (await merchant.locations())["Shop location"]
    here = [v for v, where in (await merchant.stocked_at()).items() if where == {managed}]
    await connect_store(bridge, sandbox_url, mode="order_management", locations=[managed])
    settings = bridge.settings.model_copy(
        update={"reconcile_quiet_seconds": QUIET, "reconcile_interval_seconds": 3600.0}
    )
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_worker(settings, stop=stop, worker_id="quiet-test", database=bridge.database)
    )
    try:
        await asyncio.sleep(1.0)  # the worker's first poll (at start) is behind us

        # Every delivery about this order is lost: the callback and each webhook.
        await merchant.faults(webhooks={"drop": 1.0})
        lost = await merchant.order([(here[0], 1)])
        lost_fo = lost["fulfillment_orders"][0]["id"]
        await asyncio.sleep(1.0)
        await merchant.faults()
        assert await bridge.state_of(lost_fo) is None

        seen = len(await merchant.requests())
        news = await merchant.order([(here[1], 1)])
        await bridge.wait_state(news["fulfillment_orders"][0]["id"], "accepted", timeout=20)
        heard_at = time.monotonic()
        await bridge.wait_state(lost_fo, "accepted", timeout=QUIET + 15)
        late_by = time.monotonic() - heard_at
        # Quiet for QUIET seconds after the last delivery (the news' own echoes come in for
        # a moment after its acceptance), then one poll.
        assert late_by < QUIET + 6, late_by
        await bridge.wait_sent(timeout=20)

        # Nothing new since: the next poll (wanted again after the last news) reads ids
        # and times only.
        await asyncio.sleep(QUIET + 2)
        log = (await merchant.requests())[seen:]
        probes = [r for r in log if r["operation"] == "FulfillmentOrderChangesSince"]
        assert probes, [r["operation"] for r in log]
        full_reads = [r for r in log if r["operation"] == "FulfillmentOrdersUpdatedSince"]
        assert full_reads == []
        assert all(r["actual"] is not None and r["actual"] <= 10 for r in probes), probes
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
    works = [w.remote_id for w in await bridge.work_orders()]
    assert sorted(works) == sorted([lost_fo, news["fulfillment_orders"][0]["id"]])
