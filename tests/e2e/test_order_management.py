"""Order-management mode end to end, driven through the command line: the store is added,
configured for one merchant location and set up with the `fulfillbridge` CLI, a separate
`fulfillbridge worker` process does the work, and the operation reports its stages through
the API and ships with `fulfillbridge orders ship`."""

from __future__ import annotations

import asyncio

from tests.e2e.harness import (
    SHOP,
    STORE,
    TOKEN,
    WEBHOOK_SECRET,
    Bridge,
    Merchant,
    Operation,
    WorkerProcess,
    eventually,
    fulfillbridge_command,
)


async def test_orders_at_a_managed_location_are_pulled_worked_and_shipped(
    bridge: Bridge, merchant: Merchant, sandbox_url: str, cli
) -> None:
    await merchant.seed_catalogue("merchant", products=4)
    locations = await merchant.locations()
    managed, other = locations["Shop location"], locations["Warehouse East"]
    stocked = await merchant.stocked_at()
    here = [v for v, where in stocked.items() if where == {managed}]
    there = [v for v, where in stocked.items() if where == {other}]
    assert len(here) >= 2 and there, stocked

    async def run(*args: str) -> str:
        result = await asyncio.to_thread(cli, *args)
        assert result.exit_code == 0, result.output
        return result.output

    await run(
        "store", "add", STORE, "--shop", SHOP, "--token", TOKEN,
        "--webhook-secret", WEBHOOK_SECRET, "--api-url", sandbox_url,
    )  # fmt: skip
    await run("store", "configure", STORE, "--mode", "order_management", "--location", managed)
    report = await run("store", "setup", STORE)
    assert "set-up verified" in report
    assert TOKEN not in report and WEBHOOK_SECRET not in report

    worker = WorkerProcess(fulfillbridge_command("worker"), bridge.home / "worker.log").start()
    operation = Operation(bridge, await bridge.api_key())
    try:
        ours = await merchant.order([(here[0], 2), (here[1], 1)])
        elsewhere = await merchant.order([(there[0], 1)])
        (fo,) = ours["fulfillment_orders"]
        assert fo["location"] == managed
        assert {f["location"] for f in elsewhere["fulfillment_orders"]} == {other}

        await bridge.wait_state(fo["id"], "accepted")
        # Shopify said so (orders/create reached the bridge, signed and stored). A worker
        # that has just started also reconciles at once, so the poll may find the order a
        # moment before the webhook is worked: either way it is taken in once.
        taken_in = (await operation.detail(fo["id"]))["transitions"]
        sources = {t["detail"].get("source") for t in taken_in} - {None}
        assert len(sources) == 1 and sources <= {"webhook", "backfill"}, taken_in

        async def webhook_stored() -> bool:
            return "orders/create" in await bridge.webhook_topics()

        await eventually(webhook_stored, timeout=15, what="the orders/create webhook")
        assert [t["to_state"] for t in taken_in][:2] == ["received", "accepted"]
        await operation.stages(fo["id"], "picking", "printing")
        await bridge.wait_sent(fo["id"])
        assert (await merchant.fulfillment_order(fo["id"]))["status"] == "IN_PROGRESS"

        shipped = await run(
            "orders", "ship", ours["name"], "--carrier", "DHL", "--tracking", "JD0140001",
            "--url", "https://www.dhl.com/track?id=JD0140001",
        )  # fmt: skip
        assert ours["name"] in shipped
        await bridge.wait_state(fo["id"], "shipped")
        await bridge.wait_sent()
        assert worker.alive, worker.log()
    finally:
        await operation.aclose()
        code = await worker.stop()
        worker.ensure_stopped()
    assert code == 0, worker.log()

    shopify = await merchant.shopify_orders()
    (done,) = shopify[ours["name"]]["fulfillment_orders"]
    assert done["status"] == "CLOSED"
    assert all(remaining == 0 for _total, remaining in done["lines"].values())
    (fulfillment,) = done["fulfillments"]
    assert fulfillment["numbers"] == ["JD0140001"]
    assert fulfillment["companies"] == ["DHL"]
    assert sum(fulfillment["quantities"].values()) == 3
    # Work at a location the store does not manage is left to the merchant.
    for untouched in shopify[elsewhere["name"]]["fulfillment_orders"]:
        assert (untouched["status"], untouched["fulfillments"]) == ("OPEN", [])
    assert {w.remote_id for w in await bridge.work_orders()} == {fo["id"]}
