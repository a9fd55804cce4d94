"""The merchant's changes after the operation accepted the work, end to end in order
management mode: a hold placed in Shopify stops the work (the operation's ship is refused
and nothing is queued) until it is released; an order edit adds and reduces lines; a new
shipping address reaches the work and is flagged once packing began. The operation hears of
each through its signed webhook."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import SecretStr

from fulfillbridge.flows import setup
from fulfillbridge.flows.work_settings import work_setting_changes
from tests.e2e.conftest import connect_store
from tests.e2e.harness import SHOP, STORE, Bridge, Merchant, Operation, eventually, ups, worker
from tests.e2e.test_work_order_details import SECRET, OperationEndpoint

MERCHANT = f"/__sandbox/shops/{SHOP}/merchant"


async def _managed(bridge: Bridge, merchant: Merchant, sandbox_url: str) -> tuple[str, list[str]]:
    await merchant.seed_catalogue("merchant", products=4)
    managed = (await merchant.locations())["Shop location"]
    stocked = await merchant.stocked_at()
    here = [v for v, where in stocked.items() if where == {managed}]
    assert len(here) >= 3, stocked
    await connect_store(bridge, sandbox_url, mode="order_management", locations=[managed])
    bridge.settings = bridge.settings.model_copy(
        update={"operation_webhook_secret": SecretStr(SECRET)}
    )
    return managed, here


async def _line_items(merchant: Merchant, order_id: str) -> list[dict[str, Any]]:
    data = await merchant.graphql(
        """query($id: ID!) { order(id: $id) { lineItems(first: 20) { nodes { id sku
             quantity variant { id } } } } }""",
        {"id": order_id},
    )
    return data["order"]["lineItems"]["nodes"]


async def test_a_merchant_hold_stops_shipping_until_released(
    bridge: Bridge, merchant: Merchant, sandbox_url: str, cli
) -> None:
    _, here = await _managed(bridge, merchant, sandbox_url)
    endpoint = OperationEndpoint()
    operation = Operation(bridge, await bridge.api_key())
    async with endpoint.server:
        changes = work_setting_changes(operation_webhook_url=endpoint.url)
        await setup.configure_store(bridge.settings, STORE, work_changes=changes)
        order = await merchant.order([(here[0], 1)])
        (fo,) = order["fulfillment_orders"]
        try:
            async with worker(bridge, fast=True):
                await bridge.wait_state(fo["id"], "accepted")
                await bridge.wait_sent()
                await merchant.control(
                    MERCHANT,
                    {
                        "action": "hold_fulfillment_order",
                        "fulfillment_order_id": fo["id"],
                        "reason": "HIGH_RISK_OF_FRAUD",
                        "reason_notes": "card flagged by the bank",
                    },
                )
                row = await bridge.wait_state(fo["id"], "on_hold")
                assert (row.held_by, row.hold_reason) == ("merchant", "HIGH_RISK_OF_FRAUD")
                queued_before = len(await bridge.outbox(row.id))

                refused = await operation.ship(fo["id"], [ups("1Z0001")], expect=409)
                assert "on hold in Shopify by merchant" in refused["detail"]
                assert "HIGH_RISK_OF_FRAUD" in refused["detail"]
                staged = await operation.act(fo["id"], "stage", {"stage": "picking"}, expect=409)
                assert "on hold" in staged["detail"]
                released = await operation.act(fo["id"], "release", expect=409)
                assert "only they can release it" in released["detail"]
                by_cli = await asyncio.to_thread(
                    cli, "orders", "ship", order["name"], "--carrier", "UPS", "--tracking", "1Z2"
                )
                assert by_cli.exit_code != 0 and "on hold" in by_cli.output
                assert len(await bridge.outbox(row.id)) == queued_before  # nothing queued
                assert (await bridge.work_for(fo["id"])).state == "on_hold"

                await merchant.control(
                    MERCHANT, {"action": "release_hold", "fulfillment_order_id": fo["id"]}
                )
                await bridge.wait_state(fo["id"], "accepted")
                await operation.ship(fo["id"], [ups("1Z0003")])
                await bridge.wait_state(fo["id"], "shipped")
                await bridge.wait_sent()
                await eventually(lambda: _has(endpoint, "shipped"))
        finally:
            await operation.aclose()

    shopify = await merchant.fulfillment_order(fo["id"])
    assert shopify["status"] == "CLOSED"
    events = [d["event"] for d in endpoint.received if d["fulfillment_order_id"] == fo["id"]]
    assert events == ["new_work", "on_hold", "released", "shipped"]
    (held,) = endpoint.events("on_hold")
    assert held["data"]["held_by"] == "merchant"
    assert "card flagged by the bank" in held["data"]["reason"]
    detail_reasons = [t["detail"].get("reason") for t in (await _detail(bridge, fo["id"]))]
    assert any(r and r.startswith("held: High risk of fraud") for r in detail_reasons)


async def _has(endpoint: OperationEndpoint, event: str) -> bool:
    return bool(endpoint.events(event))


async def _detail(bridge: Bridge, fo_id: str) -> list[dict[str, Any]]:
    operation = Operation(bridge, await bridge.api_key("timeline"))
    try:
        return (await operation.detail(fo_id))["transitions"]
    finally:
        await operation.aclose()


async def test_an_order_edit_adds_and_reduces_lines(
    bridge: Bridge, merchant: Merchant, sandbox_url: str
) -> None:
    _, here = await _managed(bridge, merchant, sandbox_url)
    endpoint = OperationEndpoint()
    operation = Operation(bridge, await bridge.api_key())
    async with endpoint.server:
        changes = work_setting_changes(operation_webhook_url=endpoint.url)
        await setup.configure_store(bridge.settings, STORE, work_changes=changes)
        order = await merchant.order([(here[0], 3), (here[1], 1)])
        (fo,) = order["fulfillment_orders"]
        items = {i["variant"]["id"]: i for i in await _line_items(merchant, order["id"])}
        try:
            async with worker(bridge, fast=True):
                await bridge.wait_state(fo["id"], "accepted")
                await bridge.wait_sent()
                await merchant.control(
                    MERCHANT,
                    {
                        "action": "edit_order",
                        "order_id": order["id"],
                        "add": [{"variant_id": here[2], "quantity": 2}],
                        "set_quantity": [{"line_item_id": items[here[0]]["id"], "quantity": 1}],
                    },
                )

                async def edited() -> bool:
                    work = await operation.work()
                    lines = [
                        (line["sku"], line["quantity"])
                        for w in work
                        if w["order_id"] == order["id"] and w["state"] == "accepted"
                        for line in w["lines"]
                    ]
                    wanted = {
                        (items[here[0]]["sku"], 1),
                        (items[here[1]]["sku"], 1),
                    }
                    return wanted <= set(lines) and len(lines) == 3

                await eventually(edited)
                await bridge.wait_sent()
                await eventually(lambda: _has(endpoint, "updated"))
        finally:
            await operation.aclose()
    detail = await _detail(bridge, fo["id"])
    reasons = " ".join(t["detail"].get("reason") or "" for t in detail)
    assert f"{items[here[0]]['sku']}: quantity 3 -> 1" in reasons
    (update,) = [d for d in endpoint.events("updated") if d["fulfillment_order_id"] == fo["id"]]
    assert "quantity 3 -> 1" in update["data"]["reason"]


async def test_a_new_shipping_address_reaches_the_work_and_is_flagged_after_packing(
    bridge: Bridge, merchant: Merchant, sandbox_url: str
) -> None:
    _, here = await _managed(bridge, merchant, sandbox_url)
    early = await merchant.order([(here[0], 1)])
    packed = await merchant.order([(here[1], 1)])
    (fo_early,), (fo_packed,) = early["fulfillment_orders"], packed["fulfillment_orders"]
    new_address = {"address1": "99 Queen St", "city": "Toronto", "zip": "M5H 2N2"}
    operation = Operation(bridge, await bridge.api_key())
    try:
        async with worker(bridge, fast=True):
            await bridge.wait_state(fo_early["id"], "accepted")
            await bridge.wait_state(fo_packed["id"], "accepted")
            await operation.stages(fo_packed["id"], "picking", "printing", "packing")
            await bridge.wait_sent()
            for order in (early, packed):
                await merchant.control(
                    MERCHANT,
                    {
                        "action": "update_shipping_address",
                        "order_id": order["id"],
                        "address": new_address,
                    },
                )

            async def moved(fo_id: str) -> bool:
                work = await operation.find(fo_id)
                return (work["shipping_address"] or {}).get("address1") == "99 Queen St"

            await eventually(lambda: moved(fo_early["id"]))
            await eventually(lambda: moved(fo_packed["id"]))
            first = await operation.find(fo_early["id"])
            second = await operation.find(fo_packed["id"])
    finally:
        await operation.aclose()
    assert first["shipping_address"]["city"] == "Toronto" and first["flags"] == []
    assert second["flags"] == ["shipping address changed after packing began"]
    assert second["state"] == "in_progress"


async def test_a_shipment_made_before_the_hold_was_heard_of_waits_for_the_release(
    bridge: Bridge, merchant: Merchant, sandbox_url: str
) -> None:
    """The merchant holds the order in Shopify just as the operation ships it, before the
    bridge has read the hold: Shopify refuses the fulfillment, the write waits instead of
    failing, the work is flagged, and the release lets the fulfillment through."""
    _, here = await _managed(bridge, merchant, sandbox_url)
    order = await merchant.order([(here[0], 1)])
    (fo,) = order["fulfillment_orders"]
    operation = Operation(bridge, await bridge.api_key())
    try:
        async with worker(bridge, fast=True):
            await bridge.wait_state(fo["id"], "accepted")
            await bridge.wait_sent()
        # No worker: the hold's webhook waits in the inbox while the operation ships.
        await merchant.control(
            MERCHANT,
            {
                "action": "hold_fulfillment_order",
                "fulfillment_order_id": fo["id"],
                "reason": "INCORRECT_ADDRESS",
            },
        )
        await operation.ship(fo["id"], [ups("1Z0009")])
        async with worker(bridge, fast=True):

            async def flagged() -> bool:
                work = await operation.find(fo["id"])
                return any(f.startswith("shipped while held in Shopify") for f in work["flags"])

            await eventually(flagged, what="the work flagged as shipped while held")

            async def waiting() -> bool:
                rows = await bridge.outbox((await bridge.work_for(fo["id"])).id)
                fulfil = [r for r in rows if r.kind == "create_fulfillment"]
                return (
                    bool(fulfil)
                    and fulfil[0].status == "pending"
                    and bool(fulfil[0].last_error and "hold" in fulfil[0].last_error)
                )

            await eventually(waiting, what="the fulfillment waiting for the release")
            assert (await merchant.fulfillment_order(fo["id"]))["status"] == "ON_HOLD"
            await merchant.control(
                MERCHANT, {"action": "release_hold", "fulfillment_order_id": fo["id"]}
            )
            await bridge.wait_sent(fo["id"])
            work = await operation.find(fo["id"])
    finally:
        await operation.aclose()
    assert work["state"] == "shipped" and work["flags"] == []
    assert (await merchant.fulfillment_order(fo["id"]))["status"] == "CLOSED"
