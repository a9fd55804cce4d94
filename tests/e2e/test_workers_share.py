"""Two `fulfillbridge worker` processes on one store split the work instead of repeating
it: a burst of fulfillment requests (a callback ping and a request webhook each) is
answered by one or two pulls of the assigned fulfillment orders in all, counted in the
sandbox's request log, and every request is accepted exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import func, select

from fulfillbridge.store.models import InboxEventRow
from tests.e2e.harness import Bridge, Merchant, WorkerProcess, eventually, fulfillbridge_command

ORDERS = 12
LATER = 6
# Each pull lists the assigned fulfillment orders twice: requests (ids and times), then
# cancellation requests (flows.pulls.pull_assigned).
READS_PER_PULL = 2


async def _inbox_done(bridge: Bridge) -> bool:
    """Every event taken in is processed: no pull is still half-way through its listings
    (a request can be accepted from its webhook while a ping's pull is still reading)."""
    async with bridge.database.transaction() as session:
        waiting = await session.scalar(
            select(func.count()).where(InboxEventRow.processed_at.is_(None))
        )
    return not waiting


async def _pings(bridge: Bridge) -> int:
    async with bridge.database.transaction() as session:
        return int(
            await session.scalar(select(func.count()).where(InboxEventRow.source == "callback"))
            or 0
        )


def _pull_reads(log: list[dict], since: str, *, same_second: bool) -> int:
    """Listings of assigned work in the log after ``since`` (the sandbox clock's time, to
    the second: the log keeps a bounded number of entries, so positions in it are no
    marker), or from its second on with ``same_second``."""
    listings = ("AssignedFulfillmentOrderChanges", "AssignedFulfillmentOrders")
    return sum(
        1
        for r in log
        if r["operation"] in listings and (r["at"] >= since if same_second else r["at"] > since)
    )


def _last_at(log: list[dict]) -> str:
    return max((r["at"] for r in log), default="")


async def test_two_worker_processes_answer_a_burst_of_pings_with_one_or_two_pulls(
    service_store: Bridge, merchant: Merchant
) -> None:
    bridge = service_store
    variants = await merchant.seed_catalogue("service")
    made = [await merchant.order([(variants[i % 3]["id"], 1)]) for i in range(ORDERS)]
    fo_ids = [o["fulfillment_orders"][0]["id"] for o in made]

    async def all_pinged() -> bool:
        return await _pings(bridge) >= ORDERS

    await eventually(all_pinged, timeout=20, what="every request's callback to be stored")
    before = _last_at(await merchant.requests())

    workers = [
        WorkerProcess(fulfillbridge_command("worker"), bridge.home / f"worker-{n}.log").start()
        for n in (1, 2)
    ]
    try:
        for fo_id in fo_ids:
            await bridge.wait_state(fo_id, "accepted", timeout=40)
        await bridge.wait_sent(timeout=30)
        await eventually(lambda: _inbox_done(bridge), timeout=30, what="the inbox to be worked")
        log = await merchant.requests()
        # No worker ran before: every listing from that second on is theirs.
        first_burst = _pull_reads(log, before, same_second=True)
        assert READS_PER_PULL <= first_burst <= 2 * READS_PER_PULL, first_burst
        between = _last_at(log)

        # More requests while both workers run: still a pull or two, not one per request.
        later = [await merchant.order([(variants[0]["id"], 1)]) for _ in range(LATER)]
        for order in later:
            await bridge.wait_state(order["fulfillment_orders"][0]["id"], "accepted", timeout=40)
        await bridge.wait_sent(timeout=30)
        await eventually(lambda: _inbox_done(bridge), timeout=30, what="the inbox to be worked")
        await asyncio.sleep(1.0)  # pings still on their way would show up here
        # Strictly later seconds: an upper bound is asserted, so missing some is safe.
        later_pulls = _pull_reads(await merchant.requests(), between, same_second=False)
        assert later_pulls <= LATER * READS_PER_PULL // 2, later_pulls
        assert all(w.alive for w in workers), [w.log() for w in workers]
    finally:
        codes = [await w.stop() for w in workers]
        for w in workers:
            w.ensure_stopped()
    assert codes == [0, 0], [w.log() for w in workers]

    accepted = Counter(
        r["operation"]
        for r in await merchant.requests()
        if r["operation"] == "FulfillmentOrderAcceptRequest" and r["status"] == 200
    )
    assert accepted["FulfillmentOrderAcceptRequest"] == ORDERS + LATER
    assert (await merchant.fulfillment_order(fo_ids[0]))["request_status"] == "ACCEPTED"
