"""Exchanges over real HTTP: processed exchange items join the order in a fulfillment order
held (AWAITING_RETURN_ITEMS) while the buyer owes for them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.sandbox._returns import (
    CREATE,
    ERRORS,
    FO,
    PROCESS,
    Hooks,
    available,
    fulfilled_order,
    line_input,
    receiver,
    seeded,
    subscribe,
)

from fulfillbridge.sandbox.server import SandboxServer


@pytest.fixture
def hooks() -> Iterator[tuple[Hooks, str]]:
    yield from receiver()


def test_exchange_is_held_until_the_returned_items_are_processed(
    sandbox_server: SandboxServer, hooks: tuple[Hooks, str]
) -> None:
    received, url = hooks
    shop, variants = seeded(sandbox_server)
    subscribe(shop, url)
    old, new = variants[0], variants[1]
    order = fulfilled_order(shop, [(old["id"], 1)])
    created = shop(
        CREATE,
        {
            "input": {
                "orderId": order["id"],
                "returnLineItems": [line_input(order["fli"][old["id"]], 1, "SIZE_TOO_LARGE")],
                "exchangeLineItems": [{"variantId": new["id"], "quantity": 1}],
            }
        },
    )["returnCreate"]
    assert created["userErrors"] == []
    ret = created["return"]
    [exchange] = ret["exchangeLineItems"]["nodes"]
    assert exchange["variantId"] == new["id"] and exchange["lineItems"] == []
    [return_line] = ret["returnLineItems"]["nodes"]
    [rfo] = ret["reverseFulfillmentOrders"]["nodes"]
    rfo_line = rfo["lineItems"]["nodes"][0]["id"]

    # Processing the exchange before the old item is back: a held fulfillment order.
    bad = shop(
        PROCESS,
        {
            "input": {
                "returnId": ret["id"],
                "exchangeLineItems": [{"id": exchange["id"], "quantity": 2}],
            }
        },
    )["returnProcess"]
    assert bad == {
        "return": None,
        "userErrors": [
            {
                "field": ["input", "exchangeLineItems", "0", "quantity"],
                "message": "Exchange line item has an invalid quantity.",
                "code": "INVALID",
            }
        ],
    }
    first = shop(
        PROCESS,
        {
            "input": {
                "returnId": ret["id"],
                "exchangeLineItems": [{"id": exchange["id"], "quantity": 1}],
            }
        },
    )["returnProcess"]
    assert first["userErrors"] == []
    assert first["return"]["status"] == "OPEN"
    [added] = first["return"]["exchangeLineItems"]["nodes"][0]["lineItems"]
    assert added["sku"] == new["sku"] and added["quantity"] == 1
    fos = shop(
        """query($id: ID!) { order(id: $id) { lineItems(first: 5) { nodes { id sku } }
             fulfillmentOrders(first: 5) { nodes { id status } } } }""",
        {"id": order["id"]},
    )["order"]
    assert [n["sku"] for n in fos["lineItems"]["nodes"]] == [old["sku"], new["sku"]]
    held_id = next(n["id"] for n in fos["fulfillmentOrders"]["nodes"] if n["status"] == "ON_HOLD")
    held = shop(FO, {"id": held_id})["fulfillmentOrder"]
    assert held["fulfillmentHolds"] == [
        {"reason": "AWAITING_RETURN_ITEMS", "heldByRequestingApp": False}
    ]
    assert held["lineItems"]["nodes"] == [
        {"totalQuantity": 1, "lineItem": {"id": added["id"], "sku": new["sku"]}}
    ]
    placed = received.of("fulfillment_orders/placed_on_hold")
    assert placed and placed[0]["fulfillment_hold"]["reason"] == "awaiting_return_items"

    # The old item arrives and is processed with its disposition: the hold goes, the
    # return is complete and closes.
    before = available(shop, old["inventoryItem"]["id"], order["location"])
    second = shop(
        PROCESS,
        {
            "input": {
                "returnId": ret["id"],
                "returnLineItems": [
                    {
                        "id": return_line["id"],
                        "quantity": 1,
                        "dispositions": [
                            {
                                "reverseFulfillmentOrderLineItemId": rfo_line,
                                "quantity": 1,
                                "dispositionType": "RESTOCKED",
                                "locationId": order["location"],
                            }
                        ],
                    }
                ],
            }
        },
    )["returnProcess"]
    assert second["userErrors"] == []
    assert second["return"]["status"] == "CLOSED"
    assert second["return"]["returnLineItems"]["nodes"][0]["processedQuantity"] == 1
    assert shop(FO, {"id": held_id})["fulfillmentOrder"]["status"] == "OPEN"
    assert shop(FO, {"id": held_id})["fulfillmentOrder"]["fulfillmentHolds"] == []
    after = available(shop, old["inventoryItem"]["id"], order["location"])
    assert after["available"] == before["available"] + 1
    assert received.of("fulfillment_orders/hold_released")[0]["fulfillment_order"]["id"] == held_id
    processed = received.of("returns/process", 2)
    assert [h["status"] for h in processed] == ["open", "open"]
    assert received.of("returns/close")[0]["admin_graphql_api_id"] == ret["id"]
    again = shop(
        PROCESS,
        {
            "input": {
                "returnId": ret["id"],
                "returnLineItems": [{"id": return_line["id"], "quantity": 1}],
            }
        },
    )["returnProcess"]
    assert again["userErrors"] == [
        {
            "field": ["input", "returnId"],
            "message": "Return status is invalid.",
            "code": "INVALID_STATE",
        }
    ]


def test_a_dearer_exchange_stays_held_until_the_merchant_releases_it(
    sandbox_server: SandboxServer,
) -> None:
    shop, variants = seeded(sandbox_server)
    old, new = variants[0], variants[1]
    product = shop(
        "query($id: ID!) { productVariant(id: $id) { product { id } } }", {"id": new["id"]}
    )["productVariant"]["product"]["id"]
    repriced = shop(
        """mutation($product: ID!, $variants: [ProductVariantsBulkInput!]!) {
             productVariantsBulkUpdate(productId: $product, variants: $variants) {
             productVariants { price } userErrors { field message } } }""",
        {"product": product, "variants": [{"id": new["id"], "price": "45.00"}]},
    )["productVariantsBulkUpdate"]
    assert repriced["userErrors"] == [] and repriced["productVariants"] == [{"price": "45.00"}]
    order = fulfilled_order(shop, [(old["id"], 1)])
    ret = shop(
        CREATE,
        {
            "input": {
                "orderId": order["id"],
                "returnLineItems": [line_input(order["fli"][old["id"]], 1)],
                "exchangeLineItems": [{"variantId": new["id"], "quantity": 1}],
            }
        },
    )["returnCreate"]["return"]
    exchange = ret["exchangeLineItems"]["nodes"][0]["id"]
    line = ret["returnLineItems"]["nodes"][0]["id"]
    # Everything processed at once, but the buyer owes the difference: held, return open.
    processed = shop(
        PROCESS,
        {
            "input": {
                "returnId": ret["id"],
                "exchangeLineItems": [{"id": exchange, "quantity": 1}],
                "returnLineItems": [{"id": line, "quantity": 1}],
            }
        },
    )["returnProcess"]
    assert processed["userErrors"] == []
    fos = shop(
        "query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 5) { nodes { id status } "
        "} } }",
        {"id": order["id"]},
    )["order"]["fulfillmentOrders"]["nodes"]
    held = next(n["id"] for n in fos if n["status"] == "ON_HOLD")
    assert shop(FO, {"id": held})["fulfillmentOrder"]["fulfillmentHolds"][0]["reason"] == (
        "AWAITING_RETURN_ITEMS"
    )
    # Every item processed: the return closes, but the difference is still owed.
    assert processed["return"]["status"] == "CLOSED"
    # The app may not release it; the merchant does once the buyer paid.
    refused = shop(
        """mutation($id: ID!) { fulfillmentOrderReleaseHold(id: $id) {
             fulfillmentOrder { status } userErrors { code } } }""",
        {"id": held},
    )["fulfillmentOrderReleaseHold"]
    assert refused == {"fulfillmentOrder": None, "userErrors": [{"code": "INVALID_ACCESS"}]}
    shop.merchant(action="release_hold", fulfillment_order_id=held)
    assert shop(FO, {"id": held})["fulfillmentOrder"]["status"] == "OPEN"


def test_closing_a_return_counts_its_items_as_returned(sandbox_server: SandboxServer) -> None:
    shop, variants = seeded(sandbox_server)
    old, new = variants[0], variants[1]
    order = fulfilled_order(shop, [(old["id"], 1)])
    ret = shop(
        CREATE,
        {
            "input": {
                "orderId": order["id"],
                "returnLineItems": [line_input(order["fli"][old["id"]], 1)],
                "exchangeLineItems": [{"variantId": new["id"], "quantity": 1}],
            }
        },
    )["returnCreate"]["return"]
    exchange = ret["exchangeLineItems"]["nodes"][0]["id"]
    first = shop(
        PROCESS,
        {"input": {"returnId": ret["id"], "exchangeLineItems": [{"id": exchange, "quantity": 1}]}},
    )["returnProcess"]
    assert first["userErrors"] == [] and first["return"]["status"] == "OPEN"
    fos = shop(
        "query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 5) { nodes { id status } "
        "} } }",
        {"id": order["id"]},
    )["order"]["fulfillmentOrders"]["nodes"]
    held = next(n["id"] for n in fos if n["status"] == "ON_HOLD")
    closed = shop(
        "mutation($id: ID!) { returnClose(id: $id) { return { status } " + ERRORS + " } }",
        {"id": ret["id"]},
    )["returnClose"]
    assert closed == {"return": {"status": "CLOSED"}, "userErrors": []}
    assert shop(FO, {"id": held})["fulfillmentOrder"]["status"] == "OPEN"


def test_an_even_exchange_processed_with_its_items_is_not_held(
    sandbox_server: SandboxServer,
) -> None:
    shop, variants = seeded(sandbox_server)
    old, new = variants[0], variants[1]
    order = fulfilled_order(shop, [(old["id"], 1)])
    ret = shop(
        CREATE,
        {
            "input": {
                "orderId": order["id"],
                "returnLineItems": [line_input(order["fli"][old["id"]], 1)],
                "exchangeLineItems": [{"variantId": new["id"], "quantity": 1}],
            }
        },
    )["returnCreate"]["return"]
    processed = shop(
        PROCESS,
        {
            "input": {
                "returnId": ret["id"],
                "exchangeLineItems": [
                    {"id": ret["exchangeLineItems"]["nodes"][0]["id"], "quantity": 1}
                ],
                "returnLineItems": [
                    {"id": ret["returnLineItems"]["nodes"][0]["id"], "quantity": 1}
                ],
            }
        },
    )["returnProcess"]
    assert processed["userErrors"] == [] and processed["return"]["status"] == "CLOSED"
    statuses = shop(
        "query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 5) { nodes { status } } } }",
        {"id": order["id"]},
    )["order"]["fulfillmentOrders"]["nodes"]
    assert sorted(n["status"] for n in statuses) == ["CLOSED", "OPEN"]
