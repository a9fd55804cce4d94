"""Returns in the sandbox over real HTTP: a customer's request approved, shipped back with
tracking and restocked; declines and the status rules; over-returning refused; the return
scopes; the customer and merchant controls with broken input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.sandbox._returns import (
    APPROVE,
    CREATE,
    DECLINE,
    DISPOSE,
    ERRORS,
    REQUEST,
    RETURN,
    Hooks,
    available,
    fulfilled_order,
    line_input,
    receiver,
    seeded,
    subscribe,
    variants_of,
)
from tests.sandbox._shop_client import add_shop, scopes_without

from fulfillbridge.sandbox.server import SandboxServer


@pytest.fixture
def hooks() -> Iterator[tuple[Hooks, str]]:
    yield from receiver()


def test_request_approve_ship_back_and_restock(
    sandbox_server: SandboxServer, hooks: tuple[Hooks, str]
) -> None:
    received, url = hooks
    shop, variants = seeded(sandbox_server)
    subscribe(shop, url)
    variant, item = variants[0]["id"], variants[0]["inventoryItem"]["id"]
    order = fulfilled_order(shop, [(variant, 3)])
    fli = order["fli"][variant]

    # The customer asks to return two of the three units.
    asked = shop.merchant(
        action="request_return",
        order_id=order["id"],
        line_items=[
            {
                "fulfillment_line_item_id": fli,
                "quantity": 2,
                "reason": "SIZE_TOO_SMALL",
                "customer_note": "Too tight",
            }
        ],
    )["return"]
    assert asked["status"] == "REQUESTED" and asked["name"] == order["name"] + "-R1"
    requested = shop(RETURN, {"id": asked["id"]})["return"]
    assert requested["status"] == "REQUESTED"
    assert requested["reverseFulfillmentOrders"]["nodes"] == []
    [line] = requested["returnLineItems"]["nodes"]
    assert line["quantity"] == 2 and line["returnReason"] == "SIZE_TOO_SMALL"
    assert line["customerNote"] == "Too tight"
    assert line["fulfillmentLineItem"]["id"] == fli
    [hook] = received.of("returns/request")
    assert hook["admin_graphql_api_id"] == asked["id"] and hook["status"] == "requested"
    assert hook["order"]["admin_graphql_api_id"] == order["id"]
    assert hook["return_line_items"][0]["quantity"] == 2
    assert hook["return_line_items"][0]["return_reason"] == "size_too_small"
    assert hook["return_line_items"][0]["fulfillment_line_item"]["admin_graphql_api_id"] == fli

    # The merchant's app approves: OPEN, with a reverse fulfillment order for the two units.
    approved = shop(APPROVE, {"id": asked["id"]})["returnApproveRequest"]
    assert approved["userErrors"] == []
    ret = approved["return"]
    assert ret["status"] == "OPEN" and ret["requestApprovedAt"] is not None
    [rfo] = ret["reverseFulfillmentOrders"]["nodes"]
    assert rfo["status"] == "OPEN"
    [rfo_line] = rfo["lineItems"]["nodes"]
    assert rfo_line["totalQuantity"] == 2 and rfo_line["fulfillmentLineItem"]["id"] == fli
    assert received.of("returns/approve")[0]["status"] == "open"
    again = shop(APPROVE, {"id": asked["id"]})["returnApproveRequest"]
    assert again == {
        "return": None,
        "userErrors": [
            {
                "field": ["input", "id"],
                "message": "Return is not approvable. Only returns with status REQUESTED can "
                "be approved.",
                "code": "INVALID_STATE",
            }
        ],
    }

    # A label and tracking for the parcel coming back.
    created = shop(
        """mutation($rfo: ID!, $lines: [ReverseDeliveryLineItemInput!]!) {
             reverseDeliveryCreateWithShipping(reverseFulfillmentOrderId: $rfo,
               reverseDeliveryLineItems: $lines,
               trackingInput: {number: "1Z999AA10123456784",
                 url: "https://www.ups.com/track?tracknum=1Z999AA10123456784"},
               labelInput: {fileUrl: "https://labels.example.com/r1.pdf"}) {
             reverseDelivery { id deliverable { ... on ReverseDeliveryShippingDeliverable {
               tracking { number url carrierName } label { publicFileUrl } } }
               reverseDeliveryLineItems(first: 5) { nodes { quantity } } }
             """
        + ERRORS
        + " } }",
        {
            "rfo": rfo["id"],
            "lines": [{"reverseFulfillmentOrderLineItemId": rfo_line["id"], "quantity": 2}],
        },
    )["reverseDeliveryCreateWithShipping"]
    assert created["userErrors"] == []
    delivery = created["reverseDelivery"]
    assert delivery["deliverable"]["tracking"] == {
        "number": "1Z999AA10123456784",
        "url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
        "carrierName": "UPS",
    }
    assert delivery["deliverable"]["label"] == {
        "publicFileUrl": "https://labels.example.com/r1.pdf"
    }
    assert delivery["reverseDeliveryLineItems"]["nodes"] == [{"quantity": 2}]
    [attached] = received.of("reverse_deliveries/attach_deliverable")
    assert attached["admin_graphql_api_id"] == delivery["id"]
    assert attached["shipping_deliverable"]["tracking"]["tracking_number"] == "1Z999AA10123456784"
    updated = shop(
        """mutation($id: ID!) { reverseDeliveryShippingUpdate(reverseDeliveryId: $id,
             trackingInput: {number: "1Z999AA10123456785"}) {
             reverseDelivery { deliverable { ... on ReverseDeliveryShippingDeliverable {
               tracking { number carrierName } } } } """
        + ERRORS
        + " } }",
        {"id": delivery["id"]},
    )["reverseDeliveryShippingUpdate"]
    assert updated["userErrors"] == []
    assert updated["reverseDelivery"]["deliverable"]["tracking"]["number"] == "1Z999AA10123456785"
    assert len(received.of("reverse_deliveries/attach_deliverable", 2)) == 2

    # Received and restocked: available at the location goes up by the two units.
    before = available(shop, item, order["location"])
    disposed = shop(
        DISPOSE,
        {
            "inputs": [
                {
                    "reverseFulfillmentOrderLineItemId": rfo_line["id"],
                    "quantity": 2,
                    "dispositionType": "RESTOCKED",
                    "locationId": order["location"],
                }
            ]
        },
    )["reverseFulfillmentOrderDispose"]
    assert disposed == {
        "reverseFulfillmentOrderLineItems": [
            {
                "id": rfo_line["id"],
                "totalQuantity": 2,
                "dispositions": [{"type": "RESTOCKED", "quantity": 2}],
            }
        ],
        "userErrors": [],
    }
    after = available(shop, item, order["location"])
    assert after == {"available": before["available"] + 2, "on_hand": before["on_hand"] + 2}
    [dispose_hook] = received.of("reverse_fulfillment_orders/dispose")
    assert dispose_hook["admin_graphql_api_id"] == rfo["id"]
    assert dispose_hook["dispositions"][0]["type"] == "restocked"
    assert dispose_hook["dispositions"][0]["quantity"] == 2
    level_hooks = [
        h for h in received.of("inventory_levels/update") if h["available"] == after["available"]
    ]
    assert level_hooks, received.of("inventory_levels/update")

    read = shop(RETURN, {"id": asked["id"]})["return"]
    [rfo_read] = read["reverseFulfillmentOrders"]["nodes"]
    assert rfo_read["status"] == "CLOSED"
    assert rfo_read["lineItems"]["nodes"][0]["dispositions"] == [
        {"type": "RESTOCKED", "quantity": 2, "location": {"id": order["location"]}}
    ]
    [read_delivery] = rfo_read["reverseDeliveries"]["nodes"]
    assert read_delivery["id"] == delivery["id"]

    # Closed, reopened, closed again; the order lists it.
    close = (
        "mutation($id: ID!) { returnClose(id: $id) { return { status closedAt } " + ERRORS + " } }"
    )
    reopen = (
        "mutation($id: ID!) { returnReopen(id: $id) { return { status closedAt } " + ERRORS + " } }"
    )
    closed = shop(close, {"id": asked["id"]})["returnClose"]
    assert closed["userErrors"] == [] and closed["return"]["status"] == "CLOSED"
    assert closed["return"]["closedAt"] is not None
    assert shop(reopen, {"id": asked["id"]})["returnReopen"]["return"] == {
        "status": "OPEN",
        "closedAt": None,
    }
    assert shop(close, {"id": asked["id"]})["returnClose"]["return"]["status"] == "CLOSED"
    assert len(received.of("returns/close", 2)) == 2
    assert received.of("returns/reopen")[0]["status"] == "open"
    listed = shop(
        """query($id: ID!) { order(id: $id) { returnStatus
             returns(first: 5) { nodes { id name status } } } }""",
        {"id": order["id"]},
    )["order"]
    assert listed == {
        "returnStatus": "RETURNED",
        "returns": {"nodes": [{"id": asked["id"], "name": asked["name"], "status": "CLOSED"}]},
    }
    # The same reads through node(id:).
    node = shop(
        "query($id: ID!) { node(id: $id) { ... on Return { id status } } }", {"id": asked["id"]}
    )
    assert node["node"] == {"id": asked["id"], "status": "CLOSED"}


def test_decline_and_the_status_rules(
    sandbox_server: SandboxServer, hooks: tuple[Hooks, str]
) -> None:
    received, url = hooks
    shop, variants = seeded(sandbox_server)
    subscribe(shop, url)
    variant = variants[0]["id"]
    order = fulfilled_order(shop, [(variant, 2)])
    fli = order["fli"][variant]

    asked = shop(
        REQUEST, {"input": {"orderId": order["id"], "returnLineItems": [line_input(fli, 2)]}}
    )
    requested = asked["returnRequest"]["return"]
    assert requested["status"] == "REQUESTED"
    declined = shop(
        DECLINE,
        {
            "input": {
                "id": requested["id"],
                "declineReason": "FINAL_SALE",
                "declineNote": "Sale item",
            }
        },
    )["returnDeclineRequest"]
    assert declined == {
        "return": {
            "id": requested["id"],
            "status": "DECLINED",
            "decline": {"reason": "FINAL_SALE", "note": "Sale item"},
        },
        "userErrors": [],
    }
    [hook] = received.of("returns/decline")
    assert hook["status"] == "declined" and hook["decline"] == {
        "reason": "final_sale",
        "note": "Sale item",
    }
    again = shop(DECLINE, {"input": {"id": requested["id"], "declineReason": "OTHER"}})
    assert again["returnDeclineRequest"]["userErrors"] == [
        {
            "field": ["input", "id"],
            "message": "The return is already declined.",
            "code": "INVALID_STATE",
        }
    ]
    approve_declined = shop(APPROVE, {"id": requested["id"]})["returnApproveRequest"]
    assert approve_declined["userErrors"][0]["code"] == "INVALID_STATE"

    # The declined units may be returned again; an OPEN return cannot be declined.
    created = shop(
        CREATE, {"input": {"orderId": order["id"], "returnLineItems": [line_input(fli, 2)]}}
    )
    opened = created["returnCreate"]
    assert opened["userErrors"] == [] and opened["return"]["status"] == "OPEN"
    assert opened["return"]["name"] == order["name"] + "-R2"
    assert len(opened["return"]["reverseFulfillmentOrders"]["nodes"]) == 1
    not_declinable = shop(
        DECLINE, {"input": {"id": opened["return"]["id"], "declineReason": "OTHER"}}
    )
    assert not_declinable["returnDeclineRequest"]["userErrors"] == [
        {
            "field": ["input", "id"],
            "message": "Return is not declinable. Only non-refunded returns with status "
            "REQUESTED can be declined.",
            "code": "INVALID_STATE",
        }
    ]

    # Cancelled before any work; a cancelled return cannot be closed or reopened.
    cancel = "mutation($id: ID!) { returnCancel(id: $id) { return { status } " + ERRORS + " } }"
    cancelled = shop(cancel, {"id": opened["return"]["id"]})["returnCancel"]
    assert cancelled == {"return": {"status": "CANCELED"}, "userErrors": []}
    assert received.of("returns/cancel")[0]["status"] == "canceled"
    rfo = shop(RETURN, {"id": opened["return"]["id"]})["return"]["reverseFulfillmentOrders"]
    assert rfo["nodes"][0]["status"] == "CANCELED"
    for mutation in ("returnClose", "returnReopen"):
        refused = shop(
            "mutation($id: ID!) { " + mutation + "(id: $id) { return { status } " + ERRORS + " } }",
            {"id": opened["return"]["id"]},
        )[mutation]
        assert refused == {
            "return": None,
            "userErrors": [
                {"field": ["id"], "message": "Return status is invalid.", "code": "INVALID_STATE"}
            ],
        }

    # Unknown ids.
    ghost = "gid://shopify/Return/999999"
    assert shop(RETURN, {"id": ghost})["return"] is None
    assert shop(APPROVE, {"id": ghost})["returnApproveRequest"]["userErrors"] == [
        {"field": ["input", "id"], "message": "Return not found.", "code": "NOT_FOUND"}
    ]
    assert shop(cancel, {"id": ghost})["returnCancel"]["userErrors"] == [
        {"field": ["id"], "message": "Return not found.", "code": "NOT_FOUND"}
    ]


def test_reason_definitions_and_requested_at(sandbox_server: SandboxServer) -> None:
    shop, variants = seeded(sandbox_server)
    variant = variants[0]["id"]
    order = fulfilled_order(shop, [(variant, 1)])
    listed = shop(
        """{ returnReasonDefinitions(first: 3, sortKey: HANDLE, handles: ["defective", "color"])
             { nodes { id handle name deleted } } }"""
    )["returnReasonDefinitions"]["nodes"]
    assert [n["handle"] for n in listed] == ["color", "defective"]
    defective = listed[1]
    line = {"fulfillmentLineItemId": order["fli"][variant], "quantity": 1}

    def create(**extra: Any) -> Any:
        return shop.raw(CREATE, {"input": {"orderId": order["id"], **extra}})

    created = create(
        requestedAt="2026-11-30T10:00:00Z",
        returnLineItems=[{**line, "returnReasonDefinitionId": defective["id"]}],
    )["data"]["returnCreate"]
    assert created["userErrors"] == []
    read = shop(
        """query($id: ID!) { return(id: $id) { createdAt returnLineItems(first: 1) { nodes {
             returnReason returnReasonDefinition { id handle } } } } }""",
        {"id": created["return"]["id"]},
    )["return"]
    assert read["createdAt"] == "2026-11-30T10:00:00Z"
    assert read["returnLineItems"]["nodes"] == [
        {
            "returnReason": "DEFECTIVE",
            "returnReasonDefinition": {"id": defective["id"], "handle": "defective"},
        }
    ]
    created_id = created["return"]["id"]
    shop("mutation($id: ID!) { returnCancel(id: $id) { return { id } } }", {"id": created_id})
    ghost = "gid://shopify/ReturnReasonDefinition/999"
    unknown = create(returnLineItems=[{**line, "returnReasonDefinitionId": ghost}])
    assert unknown["data"]["returnCreate"]["userErrors"] == [
        {
            "field": ["returnInput", "returnLineItems", "0", "returnReasonDefinitionId"],
            "message": "Return reason definition does not exist.",
            "code": "NOT_FOUND",
        }
    ]
    bad_date = create(
        requestedAt="yesterday", returnLineItems=[line_input(line["fulfillmentLineItemId"], 1)]
    )
    assert bad_date["data"]["returnCreate"] == {
        "return": None,
        "userErrors": [
            {
                "field": ["returnInput", "requestedAt"],
                "message": "Invalid date/time: 'yesterday'",
                "code": "INVALID",
            }
        ],
    }


def test_over_returning_is_refused_across_returns(sandbox_server: SandboxServer) -> None:
    shop, variants = seeded(sandbox_server)
    variant = variants[0]["id"]
    order = fulfilled_order(shop, [(variant, 3)])
    fli = order["fli"][variant]

    def create(*lines: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = shop(
            CREATE, {"input": {"orderId": order["id"], "returnLineItems": list(lines)}}
        )["returnCreate"]
        return answer

    too_many = [
        {
            "field": ["returnInput", "returnLineItems", "0", "quantity"],
            "message": "Return line item has an invalid quantity.",
            "code": "INVALID",
        }
    ]
    assert create(line_input(fli, 4)) == {"return": None, "userErrors": too_many}
    assert create(line_input(fli, 2))["userErrors"] == []
    assert create(line_input(fli, 2)) == {"return": None, "userErrors": too_many}
    # A request counts too, and two lines of one call add up.
    asked = shop(
        REQUEST, {"input": {"orderId": order["id"], "returnLineItems": [line_input(fli, 2)]}}
    )
    assert asked["returnRequest"]["userErrors"] == [
        {
            "field": ["input", "returnLineItems", "0", "quantity"],
            "message": "Return line item has an invalid quantity.",
            "code": "INVALID",
        }
    ]
    split = create(line_input(fli, 1), line_input(fli, 1))
    assert split["userErrors"] == [
        {
            "field": ["returnInput", "returnLineItems", "1", "quantity"],
            "message": "Return line item has an invalid quantity.",
            "code": "INVALID",
        }
    ]
    assert create(line_input(fli, 1))["userErrors"] == []
    assert create(line_input(fli, 1))["userErrors"] == too_many
    returnable = shop(
        """query($id: ID!) { returnableFulfillments(orderId: $id, first: 5) { nodes { id } } }""",
        {"id": order["id"]},
    )
    assert returnable["returnableFulfillments"]["nodes"] == []

    # Broken input: no lines, an unknown fulfillment line, no reason, OTHER without a note,
    # a zero quantity, an unknown order.
    assert create() == {
        "return": None,
        "userErrors": [
            {
                "field": ["returnLineItems"],
                "message": "Return must include at least one line item.",
                "code": "INVALID",
            }
        ],
    }
    assert create(line_input("gid://shopify/FulfillmentLineItem/1", 1))["userErrors"] == [
        {
            "field": ["returnLineItems", "0", "fulfillmentLineItemId"],
            "message": "Fulfillment line item does not exist.",
            "code": "INVALID",
        }
    ]
    no_reason = create({"fulfillmentLineItemId": fli, "quantity": 1})
    assert no_reason["userErrors"] == [
        {
            "field": ["returnInput", "returnLineItems", "0"],
            "message": "Return line items Either return reason or return reason definition "
            "must be provided",
            "code": "NOT_FOUND",
        }
    ]
    other = create(line_input(fli, 1, "OTHER"))
    assert other["userErrors"][0]["code"] == "BLANK"
    assert other["userErrors"][0]["field"] == [
        "returnInput",
        "returnLineItems",
        "0",
        "returnReasonNote",
    ]
    assert create(line_input(fli, 0))["userErrors"] == too_many
    unknown_order = shop(
        CREATE,
        {
            "input": {
                "orderId": "gid://shopify/Order/424242",
                "returnLineItems": [line_input(fli, 1)],
            }
        },
    )["returnCreate"]
    assert unknown_order["userErrors"] == [
        {
            "field": ["returnInput", "orderId"],
            "message": "Order does not exist.",
            "code": "NOT_FOUND",
        }
    ]


def test_only_fulfilled_units_can_be_returned(sandbox_server: SandboxServer) -> None:
    shop, variants = seeded(sandbox_server)
    order = fulfilled_order(shop, [(variants[0]["id"], 1)], ship=False)
    returnable = shop(
        "query($id: ID!) { returnableFulfillments(orderId: $id, first: 5) { nodes { id } } }",
        {"id": order["id"]},
    )
    assert returnable["returnableFulfillments"]["nodes"] == []
    refused = shop.merchant(status=409, action="request_return", order_id=order["id"])
    assert "nothing left to return" in refused["error"]


def test_return_scopes(sandbox_server: SandboxServer) -> None:
    shop, variants = seeded(sandbox_server)
    order = fulfilled_order(shop, [(variants[0]["id"], 1)])
    created = shop(
        CREATE,
        {
            "input": {
                "orderId": order["id"],
                "returnLineItems": [line_input(order["fli"][variants[0]["id"]], 1)],
            }
        },
    )["returnCreate"]["return"]

    reader = add_shop(
        sandbox_server.url, "returns-reader.myshopify.com", scopes_without("write_returns")
    )
    blind = add_shop(
        sandbox_server.url,
        "returns-blind.myshopify.com",
        scopes_without("write_returns", "read_returns"),
    )
    for other in (reader, blind):
        other.seed(products=1, orders=0, seed=5, stock_at="merchant", variety="simple")
    # A shop's token reads only its own shop, so the refusals are checked on each one's data.
    answer = reader.raw(REQUEST, {"input": {"orderId": order["id"], "returnLineItems": []}})
    assert answer["data"]["returnRequest"] is None
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "ACCESS_DENIED"
    assert "`write_returns` access scope" in error["message"]
    read_ok = reader.raw(RETURN, {"id": created["id"]})
    assert "errors" not in read_ok and read_ok["data"]["return"] is None
    blind_read = blind.raw(RETURN, {"id": created["id"]})
    assert blind_read["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert "`read_returns` access scope" in blind_read["errors"][0]["message"]
    blind_order = fulfilled_order(blind, [(variants_of(blind)[0]["id"], 1)], ship=False)
    for field in ("returns(first: 1) { nodes { id } }", "returnStatus"):
        denied = blind.raw(
            "query($id: ID!) { order(id: $id) { id " + field + " } }", {"id": blind_order["id"]}
        )
        assert denied["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
        assert denied["errors"][0]["path"][0] == "order"


def test_return_controls_refuse_broken_input(sandbox_server: SandboxServer) -> None:
    shop, variants = seeded(sandbox_server)
    order = fulfilled_order(shop, [(variants[0]["id"], 1)])
    fli = order["fli"][variants[0]["id"]]
    bad_line = shop.merchant(
        status=400, action="request_return", order_id=order["id"], line_items=[{"quantity": 1}]
    )
    assert "line_items[0]" in bad_line["error"]
    bad_reason = shop.merchant(
        status=400,
        action="request_return",
        order_id=order["id"],
        line_items=[{"fulfillment_line_item_id": fli, "quantity": 1, "reason": "BORED"}],
    )
    assert "reason must be one of" in bad_reason["error"]
    assert (
        "unknown field"
        in shop.merchant(status=400, action="request_return", order_id=order["id"], x=1)["error"]
    )
    assert shop.merchant(status=404, action="request_return", order_id=987654)["error"]
    too_many = shop.merchant(
        status=409,
        action="request_return",
        order_id=order["id"],
        line_items=[{"fulfillment_line_item_id": fli, "quantity": 5}],
    )
    assert too_many["userErrors"][0]["message"] == "Return line item has an invalid quantity."
    # The whole order by default, then the merchant's answers.
    asked = shop.merchant(action="request_return", order_id=order["id"])["return"]
    assert asked["return_line_items"][0]["quantity"] == 1
    assert shop.merchant(status=400, action="decline_return", return_id=asked["id"], reason="NOPE")
    assert shop.merchant(status=404, action="approve_return", return_id=123456789)
    assert shop.merchant(status=400, action="approve_return", return_id="gid://shopify/Order/1")
    approved = shop.merchant(action="approve_return", return_id=asked["id"])["return"]
    assert approved["status"] == "OPEN" and len(approved["reverse_fulfillment_order_ids"]) == 1
    refused = shop.merchant(
        status=409, action="decline_return", return_id=asked["id"], reason="OTHER"
    )
    assert refused["userErrors"][0]["message"].startswith("Return is not declinable.")
    assert (
        shop.merchant(action="close_return", return_id=asked["id"])["return"]["status"] == "CLOSED"
    )
