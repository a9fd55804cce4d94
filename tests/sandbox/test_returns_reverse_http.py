"""The way back over real HTTP: reverse deliveries, dispositions (more than received is
refused, restocking adds to available), removing units from a return, and processing with
a refund."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.sandbox._returns import (
    CREATE,
    DISPOSE,
    ERRORS,
    PROCESS,
    RETURN,
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


def test_disposing_more_than_received_and_other_bad_dispositions(
    sandbox_server: SandboxServer,
) -> None:
    shop, variants = seeded(sandbox_server)
    a, b = variants[0]["id"], variants[1]["id"]
    item = variants[0]["inventoryItem"]["id"]
    order = fulfilled_order(shop, [(a, 2), (b, 1)])
    first = shop(
        CREATE,
        {"input": {"orderId": order["id"], "returnLineItems": [line_input(order["fli"][a], 2)]}},
    )
    second = shop(
        CREATE,
        {"input": {"orderId": order["id"], "returnLineItems": [line_input(order["fli"][b], 1)]}},
    )
    [rfo_a] = first["returnCreate"]["return"]["reverseFulfillmentOrders"]["nodes"]
    [rfo_b] = second["returnCreate"]["return"]["reverseFulfillmentOrders"]["nodes"]
    line_a = rfo_a["lineItems"]["nodes"][0]["id"]
    line_b = rfo_b["lineItems"]["nodes"][0]["id"]
    location = order["location"]
    before = available(shop, item, location)

    def dispose(*inputs: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = shop(DISPOSE, {"inputs": list(inputs)})[
            "reverseFulfillmentOrderDispose"
        ]
        return answer

    def one(line: str, quantity: int, kind: str = "RESTOCKED", **extra: Any) -> dict[str, Any]:
        return {
            "reverseFulfillmentOrderLineItemId": line,
            "quantity": quantity,
            "dispositionType": kind,
            **extra,
        }

    invalid = {
        "reverseFulfillmentOrderLineItems": None,
        "userErrors": [
            {
                "field": ["dispositionInputs", "0", "quantity"],
                "message": "Quantity is invalid.",
                "code": "INVALID",
            }
        ],
    }
    assert dispose(one(line_a, 3, locationId=location)) == invalid
    assert dispose(one(line_a, 0, locationId=location)) == invalid
    assert dispose() == {
        "reverseFulfillmentOrderLineItems": None,
        "userErrors": [
            {
                "field": ["dispositionInputs"],
                "message": "The array cannot be empty.",
                "code": "BLANK",
            }
        ],
    }
    assert dispose(one("gid://shopify/ReverseFulfillmentOrderLineItem/1", 1))["userErrors"] == [
        {
            "field": ["dispositionInputs", "0", "reverseFulfillmentOrderLineItemId"],
            "message": "Reverse fulfillment order line item was not found.",
            "code": "NOT_FOUND",
        }
    ]
    unknown_location = dispose(one(line_a, 1, locationId="gid://shopify/Location/987654"))
    assert unknown_location["userErrors"] == [
        {
            "field": ["dispositionInputs", "0", "locationId"],
            "message": "Location does not exist.",
            "code": "NOT_FOUND",
        }
    ]
    no_location = dispose(one(line_a, 1))
    assert no_location["userErrors"][0]["field"] == ["dispositionInputs", "0", "locationId"]
    assert no_location["userErrors"][0]["code"] == "BLANK"
    both = dispose(one(line_a, 1, "MISSING"), one(line_b, 1, "NOT_RESTOCKED"))
    assert both["userErrors"] == [
        {
            "field": ["dispositionInputs"],
            "message": "Cannot dispose items from more than one reverse fulfillment order.",
            "code": "INVALID",
        }
    ]
    # Nothing was applied by the refused calls.
    assert available(shop, item, location) == before

    # One unit restocked, one missing; then nothing remains to dispose.
    done = dispose(one(line_a, 1, locationId=location), one(line_a, 1, "MISSING"))
    assert done["userErrors"] == []
    assert done["reverseFulfillmentOrderLineItems"][0]["dispositions"] == [
        {"type": "RESTOCKED", "quantity": 1},
        {"type": "MISSING", "quantity": 1},
    ]
    assert available(shop, item, location)["available"] == before["available"] + 1
    assert dispose(one(line_a, 1, "NOT_RESTOCKED"))["userErrors"][0]["code"] in {
        "INVALID",
        "INVALID_STATE",
    }
    # A return with work done on it cannot be cancelled.
    cancel = shop(
        "mutation($id: ID!) { returnCancel(id: $id) { return { status } " + ERRORS + " } }",
        {"id": first["returnCreate"]["return"]["id"]},
    )["returnCancel"]
    assert cancel["userErrors"] == [
        {"field": ["id"], "message": "Return is not cancelable.", "code": "INVALID_STATE"}
    ]


def test_remove_from_return(sandbox_server: SandboxServer, hooks: tuple[Hooks, str]) -> None:
    received, url = hooks
    shop, variants = seeded(sandbox_server)
    subscribe(shop, url)
    old, new = variants[0], variants[1]
    order = fulfilled_order(shop, [(old["id"], 3)])
    ret = shop(
        CREATE,
        {
            "input": {
                "orderId": order["id"],
                "returnLineItems": [line_input(order["fli"][old["id"]], 3)],
                "exchangeLineItems": [{"variantId": new["id"], "quantity": 1}],
            }
        },
    )["returnCreate"]["return"]
    line = ret["returnLineItems"]["nodes"][0]["id"]
    exchange = ret["exchangeLineItems"]["nodes"][0]["id"]
    rfo_line = ret["reverseFulfillmentOrders"]["nodes"][0]["lineItems"]["nodes"][0]["id"]
    remove = (
        "mutation($id: ID!, $lines: [ReturnLineItemRemoveFromReturnInput!], "
        "$exchanges: [ExchangeLineItemRemoveFromReturnInput!]) { removeFromReturn(returnId: $id, "
        "returnLineItems: $lines, exchangeLineItems: $exchanges) { return { totalQuantity "
        "returnLineItems(first: 5) { nodes { quantity } } "
        "exchangeLineItems(first: 5) { nodes { quantity } } "
        "reverseFulfillmentOrders(first: 5) { nodes { lineItems(first: 5) { nodes { "
        "totalQuantity } } } } } " + ERRORS + " } }"
    )

    def run(lines: Any = None, exchanges: Any = None, return_id: str = ret["id"]) -> Any:
        return shop(remove, {"id": return_id, "lines": lines, "exchanges": exchanges})[
            "removeFromReturn"
        ]

    one = run([{"returnLineItemId": line, "quantity": 1}])
    assert one["userErrors"] == []
    assert one["return"]["totalQuantity"] == 2
    assert one["return"]["returnLineItems"]["nodes"] == [{"quantity": 2}]
    rfo_lines = one["return"]["reverseFulfillmentOrders"]["nodes"][0]["lineItems"]["nodes"]
    assert rfo_lines == [{"totalQuantity": 2}]
    assert received.of("returns/update")[0]["return_line_items"][0]["quantity"] == 2
    assert run([{"returnLineItemId": line, "quantity": 3}])["userErrors"] == [
        {
            "field": ["returnLineItems", "0", "quantity"],
            "message": "Return line item has an invalid quantity.",
            "code": "INVALID",
        }
    ]
    assert run([{"returnLineItemId": line, "quantity": 0}])["userErrors"] == [
        {"field": None, "message": "Quantity must be greater than 0", "code": "GREATER_THAN"}
    ]
    unknown = run([{"returnLineItemId": "gid://shopify/ReturnLineItem/1", "quantity": 1}])
    assert unknown["userErrors"] == [
        {
            "field": ["returnLineItems", "0", "returnLineItemId"],
            "message": "Return line item does not exist.",
            "code": "INVALID",
        }
    ]
    # Every returned unit gone would leave an empty return: refused.
    assert run([{"returnLineItemId": line, "quantity": 2}])["userErrors"][0]["code"] == "INVALID"
    # A disposed unit stays on the return.
    shop(
        DISPOSE,
        {
            "inputs": [
                {
                    "reverseFulfillmentOrderLineItemId": rfo_line,
                    "quantity": 1,
                    "dispositionType": "NOT_RESTOCKED",
                }
            ]
        },
    )
    assert run([{"returnLineItemId": line, "quantity": 2}])["userErrors"][0]["field"] == [
        "returnLineItems",
        "0",
        "quantity",
    ]
    dropped = run(exchanges=[{"exchangeLineItemId": exchange, "quantity": 1}])
    assert dropped["userErrors"] == [] and dropped["return"]["exchangeLineItems"]["nodes"] == []
    ghost = run([{"returnLineItemId": line, "quantity": 1}], return_id="gid://shopify/Return/1")
    assert ghost["userErrors"] == [
        {"field": ["returnId"], "message": "Return not found.", "code": "NOT_FOUND"}
    ]
    shop("mutation($id: ID!) { returnClose(id: $id) { return { id } } }", {"id": ret["id"]})
    assert run([{"returnLineItemId": line, "quantity": 1}])["userErrors"] == [
        {"field": ["returnId"], "message": "Return status is invalid.", "code": "INVALID_STATE"}
    ]


def test_reverse_delivery_refusals(sandbox_server: SandboxServer) -> None:
    shop, variants = seeded(sandbox_server)
    variant = variants[0]["id"]
    order = fulfilled_order(shop, [(variant, 2)])
    ret = shop(
        CREATE,
        {
            "input": {
                "orderId": order["id"],
                "returnLineItems": [line_input(order["fli"][variant], 2)],
            }
        },
    )
    [rfo] = ret["returnCreate"]["return"]["reverseFulfillmentOrders"]["nodes"]
    line = rfo["lineItems"]["nodes"][0]["id"]
    create = (
        "mutation($rfo: ID!, $lines: [ReverseDeliveryLineItemInput!]!) { "
        "reverseDeliveryCreateWithShipping(reverseFulfillmentOrderId: $rfo, "
        'reverseDeliveryLineItems: $lines, trackingInput: {number: "T1"}) { '
        "reverseDelivery { id reverseDeliveryLineItems(first: 5) { nodes { quantity } } } "
        + ERRORS
        + " } }"
    )

    def run(rfo_id: str, *lines: tuple[str, int]) -> Any:
        entries = [{"reverseFulfillmentOrderLineItemId": i, "quantity": q} for i, q in lines]
        return shop(create, {"rfo": rfo_id, "lines": entries})["reverseDeliveryCreateWithShipping"]

    assert run("gid://shopify/ReverseFulfillmentOrder/1", (line, 1))["userErrors"] == [
        {
            "field": ["reverseFulfillmentOrderId"],
            "message": "Reverse fulfillment order does not exist.",
            "code": "NOT_FOUND",
        }
    ]
    assert run(rfo["id"], (line, 3))["userErrors"] == [
        {
            "field": ["reverseDeliveryLineItems", "0", "quantity"],
            "message": "Quantity is invalid.",
            "code": "INVALID",
        }
    ]
    assert (
        run(rfo["id"], ("gid://shopify/ReverseFulfillmentOrderLineItem/1", 1))["userErrors"][0][
            "code"
        ]
        == "NOT_FOUND"
    )
    # One unit on a first parcel; an empty list sends what is left; then nothing is left.
    assert run(rfo["id"], (line, 1))["userErrors"] == []
    rest = run(rfo["id"])
    assert rest["userErrors"] == []
    assert rest["reverseDelivery"]["reverseDeliveryLineItems"]["nodes"] == [{"quantity": 1}]
    assert run(rfo["id"], (line, 1))["userErrors"][0]["message"] == "Quantity is invalid."
    assert run(rfo["id"])["userErrors"][0]["field"] == ["reverseDeliveryLineItems"]
    update = shop(
        """mutation { reverseDeliveryShippingUpdate(reverseDeliveryId: "gid://shopify/ReverseDelivery/1",
             trackingInput: {number: "X"}) { reverseDelivery { id } """
        + ERRORS
        + " } }"
    )["reverseDeliveryShippingUpdate"]
    assert update == {
        "reverseDelivery": None,
        "userErrors": [
            {
                "field": ["reverseDeliveryId"],
                "message": "Reverse delivery does not exist",
                "code": "NOT_FOUND",
            }
        ],
    }
    for root in ("reverseFulfillmentOrder", "reverseDelivery"):
        kind = root[0].upper() + root[1:]
        answer = shop(
            "query($id: ID!) { " + root + "(id: $id) { id } }", {"id": f"gid://shopify/{kind}/1"}
        )
        assert answer == {root: None}
    # Parcels are no work done on the return: it may still be cancelled, and its reverse
    # fulfillment order then takes no parcel.
    cancelled = shop(
        "mutation($id: ID!) { returnCancel(id: $id) { return { status } " + ERRORS + " } }",
        {"id": ret["returnCreate"]["return"]["id"]},
    )["returnCancel"]
    assert cancelled == {"return": {"status": "CANCELED"}, "userErrors": []}
    assert run(rfo["id"])["userErrors"] == [
        {
            "field": ["reverseFulfillmentOrderId"],
            "message": "Reverse fulfillment order is not open.",
            "code": "INVALID_STATE",
        }
    ]


def test_process_with_a_refund_and_its_refusals(sandbox_server: SandboxServer) -> None:
    shop, variants = seeded(sandbox_server)
    variant = variants[0]["id"]
    order = fulfilled_order(shop, [(variant, 2)], paid="38.00")
    [sale] = order["transactions"]
    ret = shop(
        CREATE,
        {
            "input": {
                "orderId": order["id"],
                "returnLineItems": [line_input(order["fli"][variant], 2)],
            }
        },
    )
    ret_id = ret["returnCreate"]["return"]["id"]
    line = ret["returnCreate"]["return"]["returnLineItems"]["nodes"][0]["id"]

    def process(**input_fields: Any) -> Any:
        return shop(PROCESS, {"input": {"returnId": ret_id, **input_fields}})["returnProcess"]

    def refund(amount: str, parent: str = sale["id"]) -> dict[str, Any]:
        money = {"amount": amount, "currencyCode": "USD"}
        return {
            "issueRefund": {"orderTransactions": [{"transactionAmount": money, "parentId": parent}]}
        }

    one = [{"id": line, "quantity": 1}]
    assert process(returnLineItems=[{"id": line, "quantity": 3}])["userErrors"] == [
        {
            "field": ["input", "returnLineItems", "0", "quantity"],
            "message": "Return line item has an invalid quantity.",
            "code": "INVALID",
        }
    ]
    assert (
        process(returnLineItems=[{"id": "gid://shopify/ReturnLineItem/1", "quantity": 1}])[
            "userErrors"
        ][0]["code"]
        == "NOT_FOUND"
    )
    assert process()["userErrors"][0]["code"] == "BLANK"
    bad_parent = process(
        returnLineItems=one, financialTransfer=refund("19.00", "gid://shopify/OrderTransaction/1")
    )
    assert bad_parent["userErrors"][0]["field"][-1] == "parentId"
    too_much = process(returnLineItems=one, financialTransfer=refund("50.00"))
    assert too_much["userErrors"][0]["field"] == ["input", "financialTransfer", "issueRefund"]
    ghost = shop(PROCESS, {"input": {"returnId": "gid://shopify/Return/1", "returnLineItems": one}})
    assert ghost["returnProcess"]["userErrors"] == [
        {"field": ["input", "returnId"], "message": "Return not found.", "code": "NOT_FOUND"}
    ]
    # Nothing was processed by the refusals.
    read = shop(RETURN, {"id": ret_id})["return"]["returnLineItems"]["nodes"][0]
    assert read["processedQuantity"] == 0

    done = process(returnLineItems=one, financialTransfer=refund("19.00"), note="One back")
    assert done["userErrors"] == []
    assert done["return"]["status"] == "OPEN"
    assert done["return"]["returnLineItems"]["nodes"][0]["processedQuantity"] == 1
    refunds = shop(
        """query($id: ID!, $order: ID!) { return(id: $id) { refunds(first: 5) { nodes {
             note totalRefundedSet { shopMoney { amount } } } } }
             order(id: $order) { totalRefundedSet { shopMoney { amount } } } }""",
        {"id": ret_id, "order": order["id"]},
    )
    assert refunds["return"]["refunds"]["nodes"] == [
        {"note": "One back", "totalRefundedSet": {"shopMoney": {"amount": "19.0"}}}
    ]
    assert refunds["order"]["totalRefundedSet"]["shopMoney"]["amount"] == "19.0"
    processed_only = shop(
        """query($id: ID!) { return(id: $id) {
             processed: returnLineItems(first: 5, processingStatus: PROCESSED) { nodes { id } }
             open: returnLineItems(first: 5, processingStatus: PROCESSABLE) { nodes { id } } } }""",
        {"id": ret_id},
    )["return"]
    assert processed_only == {
        "processed": {"nodes": [{"id": line}]},
        "open": {"nodes": [{"id": line}]},
    }
