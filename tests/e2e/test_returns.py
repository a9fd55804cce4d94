"""Returns end to end, fulfillment-service mode: the customer asks to send back what the
operation shipped, the merchant approves or declines in Shopify, the bridge hears of it by
webhook and makes return work of it, and the operation records what arrived and decides
what becomes of it through the REST API. What is asserted is what Shopify shows afterwards
(dispositions, inventory, reverse deliveries, holds) and what the operation was told."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from fulfillbridge.flows import setup
from fulfillbridge.flows.outbox import OutboxPolicy, send_due
from fulfillbridge.flows.reconcile import reconcile_store
from fulfillbridge.flows.work_settings import work_setting_changes
from fulfillbridge.store.models import InventoryLevelRow
from tests.e2e.harness import (
    SHOP,
    STORE,
    Bridge,
    Merchant,
    Operation,
    eventually,
    ups,
    worker,
)
from tests.e2e.test_merchant_changes import _managed
from tests.e2e.test_work_order_details import SECRET, OperationEndpoint

MERCHANT = f"/__sandbox/shops/{SHOP}/merchant"


def _only(items: list) -> Any:
    assert len(items) == 1, items
    return items[0]


async def _with_returns(bridge: Bridge, endpoint: OperationEndpoint) -> None:
    """`store configure --returns --operation-webhook-url …` then `store setup` again, which
    subscribes the return topics."""
    bridge.settings = bridge.settings.model_copy(
        update={"operation_webhook_secret": SecretStr(SECRET)}
    )
    changes = work_setting_changes(returns=True, operation_webhook_url=endpoint.url)
    await setup.configure_store(bridge.settings, STORE, work_changes=changes)
    report = await setup.setup_store(bridge.settings, STORE)
    subscribed = {s.target for s in report.steps if s.item == "webhook" and s.result == "created"}
    assert {"returns/approve", "reverse_fulfillment_orders/dispose"} <= subscribed


async def _shipped_order(
    bridge: Bridge, merchant: Merchant, operation: Operation, lines: list[tuple[str, int]]
) -> dict[str, Any]:
    order = await merchant.order(lines)
    fo = _only(order["fulfillment_orders"])["id"]
    await bridge.wait_state(fo, "accepted")
    await operation.ship(fo, [ups(f"1ZOUT{order['name'].strip('#')}")])
    await bridge.wait_sent(fo)
    return order


async def _fulfillment_lines(merchant: Merchant, order_id: str) -> dict[str, str]:
    """SKU -> fulfillment line item id of the order's fulfillments."""
    data = await merchant.graphql(
        """query($id: ID!) { order(id: $id) { fulfillments { fulfillmentLineItems(first: 20) {
             nodes { id lineItem { sku } } } } } }""",
        {"id": order_id},
    )
    return {
        node["lineItem"]["sku"]: node["id"]
        for f in data["order"]["fulfillments"]
        for node in f["fulfillmentLineItems"]["nodes"]
    }


async def _return_of(operation: Operation, name_prefix: str, *states: str) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        answer = await operation.http.get("/returns")
        assert answer.status_code == 200, answer.text
        for view in answer.json()["returns"]:
            if view["order_name"] == name_prefix and (not states or view["state"] in states):
                return view
        return None

    return await eventually(found, what=f"a return of {name_prefix} in {states}")


async def _available(merchant: Merchant, variant_id: str, location_id: str) -> int:
    data = await merchant.graphql(
        """query($id: ID!) { productVariant(id: $id) { inventoryItem {
             inventoryLevels(first: 10) { nodes { location { id }
               quantities(names: ["available"]) { name quantity } } } } } }""",
        {"id": variant_id},
    )
    for level in data["productVariant"]["inventoryItem"]["inventoryLevels"]["nodes"]:
        if level["location"]["id"] == location_id:
            return int(level["quantities"][0]["quantity"])
    raise AssertionError(f"no level of {variant_id} at {location_id}")


async def _reverse_order(merchant: Merchant, return_id: str) -> dict[str, Any]:
    data = await merchant.graphql(
        """query($id: ID!) { return(id: $id) { status reverseFulfillmentOrders(first: 5) {
             nodes { id status lineItems(first: 20) { nodes { id totalQuantity
               fulfillmentLineItem { lineItem { sku } }
               dispositions { quantity type location { id } } } }
             reverseDeliveries(first: 5) { nodes { id deliverable {
               ... on ReverseDeliveryShippingDeliverable {
                 tracking { carrierName number url } label { publicFileUrl } } } } } } } } }""",
        {"id": return_id},
    )
    return data["return"]


async def test_request_approve_receive_restock_and_a_missing_line(
    service_store: Bridge, merchant: Merchant, cli: Any
) -> None:
    bridge = service_store
    endpoint = OperationEndpoint()
    operation = Operation(bridge, await bridge.api_key())
    async with endpoint.server:
        await _with_returns(bridge, endpoint)
        first, second = (await merchant.seed_catalogue("service"))[:2]
        location = await _store_location(bridge)
        try:
            async with worker(bridge, fast=True):
                # The operation's count of the first SKU: the bridge now knows that level.
                pushed = await operation.http.put(
                    "/inventory",
                    json={"store": STORE, "rows": [{"sku": first["sku"], "quantity": 10}]},
                )
                assert pushed.status_code == 200, pushed.text
                order = await _shipped_order(
                    bridge, merchant, operation, [(first["id"], 2), (second["id"], 1)]
                )
                before = await _available(merchant, first["id"], location)

                requested = await merchant.control(
                    MERCHANT, {"action": "request_return", "order_id": order["id"]}
                )
                return_id = requested["return"]["id"]
                waiting = await _return_of(operation, order["name"], "requested")
                assert {line["sku"]: line["expected"] for line in waiting["lines"]} == {
                    first["sku"]: 2,
                    second["sku"]: 1,
                }
                # The sandbox's merchant gives only the older returnReason (UNWANTED).
                assert {line["reason"] for line in waiting["lines"]} == {"Unwanted"}
                await merchant.control(
                    MERCHANT, {"action": "approve_return", "return_id": return_id}
                )
                expected = await _return_of(operation, order["name"], "expected")
                ret = expected["id"]
                assert expected["return_id"] == return_id
                assert {line["warehouse"] for line in expected["lines"]} == {"main"}

                # Two tees arrive, the mug never does.
                received = await operation.http.post(
                    f"/returns/{ret}/receive",
                    json={"lines": [{"line": first["sku"], "quantity": 2}]},
                    headers={"Idempotency-Key": "box-1"},
                )
                assert received.status_code == 200, received.text
                again = await operation.http.post(
                    f"/returns/{ret}/receive",
                    json={"lines": [{"line": first["sku"], "quantity": 2}]},
                    headers={"Idempotency-Key": "box-1"},
                )
                assert again.headers.get("Idempotent-Replayed") == "true"
                too_many = await operation.http.post(
                    f"/returns/{ret}/receive",
                    json={"lines": [{"line": second["sku"], "quantity": 2}]},
                )
                assert too_many.status_code == 422
                decided = await operation.http.post(
                    f"/returns/{ret}/dispose",
                    json={
                        "lines": [
                            {"line": first["sku"], "disposition": "restocked", "quantity": 2},
                            {"line": second["sku"], "disposition": "missing", "quantity": 1},
                        ]
                    },
                )
                assert decided.status_code == 200, decided.text
                await bridge.wait_sent()
                # The disposition webhook comes back: nothing changes, nothing is doubled.
                await eventually(
                    lambda: _settled(operation, ret), what="the return to stay disposed"
                )
        finally:
            await operation.aclose()

        shopify = await _reverse_order(merchant, return_id)
        reverse = _only(shopify["reverseFulfillmentOrders"]["nodes"])
        dispositions = {
            line["fulfillmentLineItem"]["lineItem"]["sku"]: [
                (d["type"], d["quantity"], (d["location"] or {}).get("id"))
                for d in line["dispositions"]
            ]
            for line in reverse["lineItems"]["nodes"]
        }
        assert dispositions == {
            first["sku"]: [("RESTOCKED", 2, location)],
            second["sku"]: [("MISSING", 1, None)],
        }
        # Shopify's stock went up by what was restocked, and so did the level the bridge
        # knows: the operation's next count of 12 is already in sync, nothing is sent.
        assert await _available(merchant, first["id"], location) == before + 2
        async with bridge.database.transaction() as session:
            level = await session.scalar(
                select(InventoryLevelRow).where(InventoryLevelRow.sku == first["sku"])
            )
        assert level is not None and (level.known, level.wanted) == (12, 12)
        shown = await asyncio.to_thread(
            cli, "inventory", "status", "--store", STORE, "--sku", first["sku"], "--json"
        )
        assert shown.exit_code == 0, shown.output
        (status,) = json.loads(shown.output)
        assert [(lv["sku"], lv["known"], lv["wanted"]) for lv in status["levels"]] == [
            (first["sku"], 12, 12)
        ]
        calls_before = Counter(r["operation"] for r in await merchant.requests())
        async with worker(bridge, fast=True):
            pushed = await operation_put(bridge, first["sku"], 12)
        assert [row["result"] for row in pushed["accepted"]] == ["unchanged"], pushed
        calls_after = Counter(r["operation"] for r in await merchant.requests())
        assert calls_after["InventorySetQuantities"] == calls_before["InventorySetQuantities"]
        requests = Counter(r["operation"] for r in await merchant.requests() if r["status"] == 200)
        assert requests["ReverseFulfillmentOrderDispose"] == 1
        events = [d["event"] for d in endpoint.received if d["event"].startswith("return_")]
        assert events == ["return_expected", "return_received", "return_disposed"]
        assert endpoint.refused == 0


async def _settled(operation: Operation, ret: int) -> bool:
    view = (await operation.http.get(f"/returns/{ret}")).json()
    disposed = [line["disposed"] for line in view["lines"]]
    return view["state"] == "disposed" and disposed == [{"restocked": 2}, {"missing": 1}]


async def _store_location(bridge: Bridge) -> str:
    async with bridge.database.stores() as stores:
        store = await stores.get(STORE)
    return str(store.settings["location_id"])


async def operation_put(bridge: Bridge, sku: str, quantity: int) -> dict[str, Any]:
    operation = Operation(bridge, await bridge.api_key("counts"))
    try:
        answer = await operation.http.put(
            "/inventory", json={"store": STORE, "rows": [{"sku": sku, "quantity": quantity}]}
        )
        assert answer.status_code == 200, answer.text
        return dict(answer.json())
    finally:
        await operation.aclose()


async def test_a_declined_return_and_one_with_a_label(
    service_store: Bridge, merchant: Merchant
) -> None:
    bridge = service_store
    endpoint = OperationEndpoint()
    operation = Operation(bridge, await bridge.api_key())
    async with endpoint.server:
        await _with_returns(bridge, endpoint)
        first, second = (await merchant.seed_catalogue("service"))[:2]
        try:
            async with worker(bridge, fast=True):
                kept = await _shipped_order(bridge, merchant, operation, [(first["id"], 1)])
                labelled = await _shipped_order(bridge, merchant, operation, [(second["id"], 2)])

                declined = await merchant.control(
                    MERCHANT, {"action": "request_return", "order_id": kept["id"]}
                )
                await _return_of(operation, kept["name"], "requested")
                await merchant.control(
                    MERCHANT,
                    {
                        "action": "decline_return",
                        "return_id": declined["return"]["id"],
                        "reason": "FINAL_SALE",
                        "note": "Sale items are final",
                    },
                )
                view = await _return_of(operation, kept["name"], "declined")
                assert view["decline"] == {"reason": "FINAL_SALE", "note": "Sale items are final"}
                refused = await operation.http.post(
                    f"/returns/{view['id']}/receive",
                    json={"lines": [{"line": first["sku"], "quantity": 1}]},
                )
                assert refused.status_code == 409

                asked = await merchant.control(
                    MERCHANT, {"action": "request_return", "order_id": labelled["id"]}
                )
                await merchant.control(
                    MERCHANT, {"action": "approve_return", "return_id": asked["return"]["id"]}
                )
                coming = await _return_of(operation, labelled["name"], "expected")
                bad = await operation.http.post(
                    f"/returns/{coming['id']}/label", json={"carrier": "UPS"}
                )
                assert bad.status_code == 422
                label = {
                    "carrier": "UPS",
                    "tracking_number": "1ZBACK0001",
                    "tracking_url": "https://www.ups.com/track?num=1ZBACK0001",
                    "label_url": "https://labels.example.com/1ZBACK0001.pdf",
                }
                sent = await operation.http.post(
                    f"/returns/{coming['id']}/label",
                    json=label,
                    headers={"Idempotency-Key": "label-1"},
                )
                assert sent.status_code == 200, sent.text
                replay = await operation.http.post(
                    f"/returns/{coming['id']}/label",
                    json=label,
                    headers={"Idempotency-Key": "label-1"},
                )
                assert replay.headers.get("Idempotent-Replayed") == "true"
                await bridge.wait_sent()

                async def tracked_once() -> bool:
                    view = (await operation.http.get(f"/returns/{coming['id']}")).json()
                    numbers = [t["number"] for t in view["tracking"]]
                    return numbers == ["1ZBACK0001"]

                await eventually(tracked_once, what="the label's tracking on the return")
        finally:
            await operation.aclose()

        shopify = await _reverse_order(merchant, asked["return"]["id"])
        reverse = _only(shopify["reverseFulfillmentOrders"]["nodes"])
        delivery = _only(reverse["reverseDeliveries"]["nodes"])["deliverable"]
        assert delivery["tracking"]["number"] == "1ZBACK0001"
        assert delivery["label"]["publicFileUrl"]
        requests = Counter(r["operation"] for r in await merchant.requests() if r["status"] == 200)
        assert requests["ReverseDeliveryCreateWithShipping"] == 1
        events = [d["event"] for d in endpoint.received if d["event"].startswith("return_")]
        assert Counter(events)["return_declined"] == 1
        assert "return_expected" in events


RETURN_CREATE = """mutation($input: ReturnInput!) { returnCreate(returnInput: $input) {
  return { id name status exchangeLineItems(first: 5) { nodes { id } } }
  userErrors { field message code } } }"""
RETURN_PROCESS = """mutation($input: ReturnProcessInput!) { returnProcess(input: $input) {
  return { id status } userErrors { field message code } } }"""


async def test_an_exchange_is_held_until_the_returned_item_is_processed(
    bridge: Bridge, merchant: Merchant, sandbox_url: str
) -> None:
    """Order management: the new item of an exchange arrives as normal work, held in Shopify
    (AWAITING_RETURN_ITEMS) while the old one is on its way; the operation receives and
    restocks the old one, the merchant processes the return, the hold goes and the new
    item ships."""
    _managed_location, here = await _managed(bridge, merchant, sandbox_url)
    endpoint = OperationEndpoint()
    operation = Operation(bridge, await bridge.api_key())
    async with endpoint.server:
        await _with_returns(bridge, endpoint)
        try:
            async with worker(bridge, fast=True):
                order = await merchant.order([(here[0], 1)])
                (fo,) = order["fulfillment_orders"]
                await bridge.wait_state(fo["id"], "accepted")
                await operation.ship(fo["id"], [ups("1ZOUTX001")])
                await bridge.wait_sent(fo["id"])
                sold = await _fulfillment_lines(merchant, order["id"])
                created = (
                    await merchant.graphql(
                        RETURN_CREATE,
                        {
                            "input": {
                                "orderId": order["id"],
                                "returnLineItems": [
                                    {
                                        "fulfillmentLineItemId": _only(list(sold.values())),
                                        "quantity": 1,
                                        "returnReason": "SIZE_TOO_LARGE",
                                    }
                                ],
                                "exchangeLineItems": [{"variantId": here[1], "quantity": 1}],
                            }
                        },
                    )
                )["returnCreate"]
                assert created["userErrors"] == []
                ret_id = created["return"]["id"]
                view = await _return_of(operation, order["name"], "expected")
                assert view["exchange_items"] == 1
                exchange = _only(created["return"]["exchangeLineItems"]["nodes"])["id"]
                processed = (
                    await merchant.graphql(
                        RETURN_PROCESS,
                        {
                            "input": {
                                "returnId": ret_id,
                                "exchangeLineItems": [{"id": exchange, "quantity": 1}],
                            }
                        },
                    )
                )["returnProcess"]
                assert processed["userErrors"] == []

                async def held_exchange() -> Any:
                    for row in await bridge.work_orders():
                        if row.remote_id != fo["id"] and row.order_remote_id == order["id"]:
                            return row if row.state == "on_hold" else None
                    return None

                new_work = await eventually(held_exchange, what="the exchange's held work")
                assert new_work.hold_reason == "AWAITING_RETURN_ITEMS"
                refused = await operation.ship(new_work.remote_id, [ups("1ZNEW001")], expect=409)
                assert "AWAITING_RETURN_ITEMS" in refused["detail"]

                # The old item is back: received and restocked by the operation.
                for path, body in (
                    ("receive", {"lines": [{"line": view["lines"][0]["sku"], "quantity": 1}]}),
                    (
                        "dispose",
                        {
                            "lines": [
                                {
                                    "line": view["lines"][0]["sku"],
                                    "disposition": "restocked",
                                    "quantity": 1,
                                }
                            ]
                        },
                    ),
                ):
                    answer = await operation.http.post(f"/returns/{view['id']}/{path}", json=body)
                    assert answer.status_code == 200, answer.text
                await bridge.wait_sent()
                # The merchant processes the return (the money side is theirs).
                return_line = await _return_line(merchant, ret_id)
                done = (
                    await merchant.graphql(
                        RETURN_PROCESS,
                        {
                            "input": {
                                "returnId": ret_id,
                                "returnLineItems": [{"id": return_line, "quantity": 1}],
                            }
                        },
                    )
                )["returnProcess"]
                assert done["userErrors"] == [], done
                await bridge.wait_state(new_work.remote_id, "accepted")
                await operation.ship(new_work.remote_id, [ups("1ZNEW001")])
                await bridge.wait_sent(new_work.remote_id)
                await _return_of(operation, order["name"], "disposed")
        finally:
            await operation.aclose()
    exchanged = await merchant.fulfillment_order(new_work.remote_id)
    assert exchanged["status"] == "CLOSED" and exchanged["holds"] == []
    assert [f["numbers"] for f in exchanged["fulfillments"]] == [["1ZNEW001"]]
    events = [d["event"] for d in endpoint.received]
    assert "on_hold" in events and "released" in events and "return_disposed" in events


async def _return_line(merchant: Merchant, return_id: str) -> str:
    data = await merchant.graphql(
        "query($id: ID!) { return(id: $id) { returnLineItems(first: 5) { nodes { id } } } }",
        {"id": return_id},
    )
    return str(_only(data["return"]["returnLineItems"]["nodes"])["id"])


async def test_a_lost_return_webhook_and_a_disposition_whose_outcome_is_unknown(
    service_store: Bridge, merchant: Merchant
) -> None:
    """Reconciliation finds a return whose webhooks were lost; a disposition that timed out
    at Shopify (it ran there, the answer never came) is verified, not sent again."""
    bridge = service_store
    endpoint = OperationEndpoint()
    operation = Operation(bridge, await bridge.api_key())
    async with endpoint.server:
        await _with_returns(bridge, endpoint)
        (first,) = (await merchant.seed_catalogue("service"))[:1]
        try:
            async with worker(bridge, fast=True):
                order = await _shipped_order(bridge, merchant, operation, [(first["id"], 2)])
                await bridge.wait_sent()
            await merchant.faults(webhooks={"drop": 1.0}, seed=5)
            asked = await merchant.control(
                MERCHANT, {"action": "request_return", "order_id": order["id"]}
            )
            return_id = asked["return"]["id"]
            await merchant.control(MERCHANT, {"action": "approve_return", "return_id": return_id})
            await merchant.faults()
            assert (await operation.http.get("/returns")).json() == {"returns": []}
            summary = await reconcile_store(bridge.database, bridge.settings, STORE)
            assert summary.returns == 1
            view = await _return_of(operation, order["name"], "expected")
            received = await operation.http.post(
                f"/returns/{view['id']}/receive",
                json={"lines": [{"line": first["sku"], "quantity": 2}]},
            )
            assert received.status_code == 200, received.text

            # Every Shopify answer now takes 1.5 s; the sender gives up after 0.5 s.
            await merchant.faults(api={"slow": 1.0, "slow_seconds": 1.5})
            decided = await operation.http.post(
                f"/returns/{view['id']}/dispose",
                json={"lines": [{"line": first["sku"], "disposition": "restocked", "quantity": 2}]},
            )
            assert decided.status_code == 200, decided.text
            impatient = OutboxPolicy(
                request_timeout=0.5, unknown_settle_seconds=2.0, base_delay=0.05, max_delay=0.5
            )
            await send_due(bridge.database, bridge.settings, worker_id="t1", policy=impatient)
            (row,) = [r for r in await bridge.outbox() if r.kind == "return_dispose"]
            assert row.status == "unknown", (row.status, row.last_error)
            await merchant.faults()
            await asyncio.sleep(2.5)  # the settle time: Shopify has long finished
            await send_due(bridge.database, bridge.settings, worker_id="t2", policy=impatient)
            (row,) = [r for r in await bridge.outbox() if r.kind == "return_dispose"]
            assert row.status == "done" and row.result and row.result.get("verified") is True
        finally:
            await operation.aclose()
    shopify = await _reverse_order(merchant, return_id)
    line = _only(_only(shopify["reverseFulfillmentOrders"]["nodes"])["lineItems"]["nodes"])
    assert [(d["type"], d["quantity"]) for d in line["dispositions"]] == [("RESTOCKED", 2)]
    disposals = [
        r for r in await merchant.requests() if r["operation"] == "ReverseFulfillmentOrderDispose"
    ]
    assert len(disposals) == 1  # sent once: the retry was a read
