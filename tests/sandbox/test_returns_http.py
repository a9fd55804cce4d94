"""Returns in the sandbox over real HTTP: a customer's request approved, shipped back with
tracking and restocked; declines and the status rules; over-returning and over-disposing
refused; an exchange held until the returned items are processed; the webhooks of each
step; the return scopes; the customer and merchant controls with broken input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.sandbox._shop_client import ShopClient, add_shop, scopes_without
from tests.sandbox.test_order_changes_http import Hooks

from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.serving import BackgroundServer

TOPICS = (
    "RETURNS_REQUEST",
    "RETURNS_APPROVE",
    "RETURNS_DECLINE",
    "RETURNS_CANCEL",
    "RETURNS_CLOSE",
    "RETURNS_REOPEN",
    "RETURNS_PROCESS",
    "RETURNS_UPDATE",
    "REVERSE_DELIVERIES_ATTACH_DELIVERABLE",
    "REVERSE_FULFILLMENT_ORDERS_DISPOSE",
    "INVENTORY_LEVELS_UPDATE",
    "FULFILLMENT_ORDERS_PLACED_ON_HOLD",
    "FULFILLMENT_ORDERS_HOLD_RELEASED",
)
ADDRESS = {"firstName": "Ada", "address1": "1 Rue", "city": "Paris", "countryCode": "FR"}
RETURN_FIELDS = """id name status totalQuantity requestApprovedAt closedAt
  decline { reason note }
  order { id name }
  returnLineItems(first: 10) { nodes { id quantity processedQuantity unprocessedQuantity
    ... on ReturnLineItem { returnReason returnReasonNote customerNote
      fulfillmentLineItem { id quantity lineItem { id sku } } } } }
  exchangeLineItems(first: 10) { nodes { id quantity processedQuantity variantId
    lineItems { id sku quantity } } }
  reverseFulfillmentOrders(first: 5) { nodes { id status
    lineItems(first: 10) { nodes { id totalQuantity fulfillmentLineItem { id }
      dispositions { type quantity location { id } } } }
    reverseDeliveries(first: 5) { nodes { id
      deliverable { ... on ReverseDeliveryShippingDeliverable {
        tracking { number url carrierName } label { publicFileUrl } } }
      reverseDeliveryLineItems(first: 5) { nodes { quantity
        reverseFulfillmentOrderLineItem { id } } } } } } }"""
RETURN = "query($id: ID!) { return(id: $id) { " + RETURN_FIELDS + " } }"
ERRORS = "userErrors { field message code }"
CREATE = (
    "mutation($input: ReturnInput!) { returnCreate(returnInput: $input) { return { "
    + RETURN_FIELDS
    + " } "
    + ERRORS
    + " } }"
)
REQUEST = (
    "mutation($input: ReturnRequestInput!) { returnRequest(input: $input) { return { id name "
    "status } " + ERRORS + " } }"
)
APPROVE = (
    "mutation($id: ID!) { returnApproveRequest(input: {id: $id}) { return { "
    + RETURN_FIELDS
    + " } "
    + ERRORS
    + " } }"
)
DECLINE = (
    "mutation($input: ReturnDeclineRequestInput!) { returnDeclineRequest(input: $input) { "
    "return { id status decline { reason note } } " + ERRORS + " } }"
)
DISPOSE = (
    "mutation($inputs: [ReverseFulfillmentOrderDisposeInput!]!) { "
    "reverseFulfillmentOrderDispose(dispositionInputs: $inputs) { "
    "reverseFulfillmentOrderLineItems { id totalQuantity dispositions { type quantity } } "
    + ERRORS
    + " } }"
)
PROCESS = (
    "mutation($input: ReturnProcessInput!) { returnProcess(input: $input) { return { "
    + RETURN_FIELDS
    + " } "
    + ERRORS
    + " } }"
)
LEVEL = """query($item: ID!, $loc: ID!) { inventoryItem(id: $item) {
  inventoryLevel(locationId: $loc) { quantities(names: ["available", "on_hand"]) {
    name quantity } } } }"""
FO = """query($id: ID!) { fulfillmentOrder(id: $id) { id status
  fulfillmentHolds { reason heldByRequestingApp }
  lineItems(first: 5) { nodes { totalQuantity lineItem { id sku } } } } }"""


@pytest.fixture
def hooks() -> Iterator[tuple[Hooks, str]]:
    target = Hooks()
    with BackgroundServer(target.app) as server:
        yield target, server.url


def _subscribe(shop: ShopClient, url: str) -> None:
    for topic in TOPICS:
        data = shop(
            """mutation($topic: WebhookSubscriptionTopic!, $uri: String!) {
                 webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri}) {
                   userErrors { field message } } }""",
            {"topic": topic, "uri": url + "/hooks"},
        )
        assert data["webhookSubscriptionCreate"]["userErrors"] == []


def _variants(shop: ShopClient) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = shop(
        "{ productVariants(first: 10) { nodes { id sku inventoryItem { id } } } }"
    )["productVariants"]["nodes"]
    return nodes


def _fulfilled_order(
    shop: ShopClient, lines: list[tuple[str, int]], *, ship: bool = True, paid: str | None = None
) -> dict[str, Any]:
    """An order of ``lines`` (variant id, quantity), fulfilled in full when ``ship``; with
    its fulfillment line items by variant id and its location."""
    created = shop(
        """mutation($order: OrderCreateOrderInput!) { orderCreate(order: $order) {
             order { id name transactions { id } fulfillmentOrders(first: 5) { nodes { id
               assignedLocation { location { id } } } } }
             userErrors { field message } } }""",
        {
            "order": {
                "lineItems": [{"variantId": v, "quantity": q} for v, q in lines],
                "shippingAddress": ADDRESS,
                "transactions": [
                    {
                        "kind": "SALE",
                        "amountSet": {"shopMoney": {"amount": paid, "currencyCode": "USD"}},
                    }
                ]
                if paid
                else [],
            }
        },
    )["orderCreate"]
    assert created["userErrors"] == []
    order: dict[str, Any] = created["order"]
    [fo] = order["fulfillmentOrders"]["nodes"]
    order["location"] = fo["assignedLocation"]["location"]["id"]
    if ship:
        shipped = shop(
            """mutation($id: ID!) { fulfillmentCreate(fulfillment: {lineItemsByFulfillmentOrder:
                 [{fulfillmentOrderId: $id}]}) { fulfillment { id fulfillmentLineItems(first: 5)
                 { nodes { id quantity lineItem { variant { id } } } } }
                 userErrors { field message } } }""",
            {"id": fo["id"]},
        )["fulfillmentCreate"]
        assert shipped["userErrors"] == []
        order["fli"] = {
            n["lineItem"]["variant"]["id"]: n["id"]
            for n in shipped["fulfillment"]["fulfillmentLineItems"]["nodes"]
        }
    return order


def _available(shop: ShopClient, item: str, location: str) -> dict[str, int]:
    level = shop(LEVEL, {"item": item, "loc": location})["inventoryItem"]["inventoryLevel"]
    return {q["name"]: q["quantity"] for q in level["quantities"]}


def _seeded(server: SandboxServer) -> tuple[ShopClient, list[dict[str, Any]]]:
    shop = ShopClient(server.url)
    shop.seed(products=3, orders=0, seed=5, stock_at="merchant", variety="simple")
    return shop, _variants(shop)


def _line(fli: str, quantity: int, reason: str = "DEFECTIVE", **extra: Any) -> dict[str, Any]:
    return {"fulfillmentLineItemId": fli, "quantity": quantity, "returnReason": reason, **extra}


# --------------------------------------------------------------------------- the happy path
def test_request_approve_ship_back_and_restock(
    sandbox_server: SandboxServer, hooks: tuple[Hooks, str]
) -> None:
    received, url = hooks
    shop, variants = _seeded(sandbox_server)
    _subscribe(shop, url)
    variant, item = variants[0]["id"], variants[0]["inventoryItem"]["id"]
    order = _fulfilled_order(shop, [(variant, 3)])
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
    before = _available(shop, item, order["location"])
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
    after = _available(shop, item, order["location"])
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


# --------------------------------------------------------------------------- decline and states
def test_decline_and_the_status_rules(
    sandbox_server: SandboxServer, hooks: tuple[Hooks, str]
) -> None:
    received, url = hooks
    shop, variants = _seeded(sandbox_server)
    _subscribe(shop, url)
    variant = variants[0]["id"]
    order = _fulfilled_order(shop, [(variant, 2)])
    fli = order["fli"][variant]

    asked = shop(REQUEST, {"input": {"orderId": order["id"], "returnLineItems": [_line(fli, 2)]}})
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
    created = shop(CREATE, {"input": {"orderId": order["id"], "returnLineItems": [_line(fli, 2)]}})
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


# --------------------------------------------------------------------------- over-returning
def test_over_returning_is_refused_across_returns(sandbox_server: SandboxServer) -> None:
    shop, variants = _seeded(sandbox_server)
    variant = variants[0]["id"]
    order = _fulfilled_order(shop, [(variant, 3)])
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
    assert create(_line(fli, 4)) == {"return": None, "userErrors": too_many}
    assert create(_line(fli, 2))["userErrors"] == []
    assert create(_line(fli, 2)) == {"return": None, "userErrors": too_many}
    # A request counts too, and two lines of one call add up.
    asked = shop(REQUEST, {"input": {"orderId": order["id"], "returnLineItems": [_line(fli, 2)]}})
    assert asked["returnRequest"]["userErrors"] == [
        {
            "field": ["input", "returnLineItems", "0", "quantity"],
            "message": "Return line item has an invalid quantity.",
            "code": "INVALID",
        }
    ]
    split = create(_line(fli, 1), _line(fli, 1))
    assert split["userErrors"] == [
        {
            "field": ["returnInput", "returnLineItems", "1", "quantity"],
            "message": "Return line item has an invalid quantity.",
            "code": "INVALID",
        }
    ]
    assert create(_line(fli, 1))["userErrors"] == []
    assert create(_line(fli, 1))["userErrors"] == too_many
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
    assert create(_line("gid://shopify/FulfillmentLineItem/1", 1))["userErrors"] == [
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
    other = create(_line(fli, 1, "OTHER"))
    assert other["userErrors"][0]["code"] == "BLANK"
    assert other["userErrors"][0]["field"] == [
        "returnInput",
        "returnLineItems",
        "0",
        "returnReasonNote",
    ]
    assert create(_line(fli, 0))["userErrors"] == too_many
    unknown_order = shop(
        CREATE,
        {"input": {"orderId": "gid://shopify/Order/424242", "returnLineItems": [_line(fli, 1)]}},
    )["returnCreate"]
    assert unknown_order["userErrors"] == [
        {
            "field": ["returnInput", "orderId"],
            "message": "Order does not exist.",
            "code": "NOT_FOUND",
        }
    ]


def test_only_fulfilled_units_can_be_returned(sandbox_server: SandboxServer) -> None:
    shop, variants = _seeded(sandbox_server)
    order = _fulfilled_order(shop, [(variants[0]["id"], 1)], ship=False)
    returnable = shop(
        "query($id: ID!) { returnableFulfillments(orderId: $id, first: 5) { nodes { id } } }",
        {"id": order["id"]},
    )
    assert returnable["returnableFulfillments"]["nodes"] == []
    refused = shop.merchant(status=409, action="request_return", order_id=order["id"])
    assert "nothing left to return" in refused["error"]


# --------------------------------------------------------------------------- dispositions
def test_disposing_more_than_received_and_other_bad_dispositions(
    sandbox_server: SandboxServer,
) -> None:
    shop, variants = _seeded(sandbox_server)
    a, b = variants[0]["id"], variants[1]["id"]
    item = variants[0]["inventoryItem"]["id"]
    order = _fulfilled_order(shop, [(a, 2), (b, 1)])
    first = shop(
        CREATE, {"input": {"orderId": order["id"], "returnLineItems": [_line(order["fli"][a], 2)]}}
    )
    second = shop(
        CREATE, {"input": {"orderId": order["id"], "returnLineItems": [_line(order["fli"][b], 1)]}}
    )
    [rfo_a] = first["returnCreate"]["return"]["reverseFulfillmentOrders"]["nodes"]
    [rfo_b] = second["returnCreate"]["return"]["reverseFulfillmentOrders"]["nodes"]
    line_a = rfo_a["lineItems"]["nodes"][0]["id"]
    line_b = rfo_b["lineItems"]["nodes"][0]["id"]
    location = order["location"]
    before = _available(shop, item, location)

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
    assert _available(shop, item, location) == before

    # One unit restocked, one missing; then nothing remains to dispose.
    done = dispose(one(line_a, 1, locationId=location), one(line_a, 1, "MISSING"))
    assert done["userErrors"] == []
    assert done["reverseFulfillmentOrderLineItems"][0]["dispositions"] == [
        {"type": "RESTOCKED", "quantity": 1},
        {"type": "MISSING", "quantity": 1},
    ]
    assert _available(shop, item, location)["available"] == before["available"] + 1
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
    shop, variants = _seeded(sandbox_server)
    _subscribe(shop, url)
    old, new = variants[0], variants[1]
    order = _fulfilled_order(shop, [(old["id"], 3)])
    ret = shop(
        CREATE,
        {
            "input": {
                "orderId": order["id"],
                "returnLineItems": [_line(order["fli"][old["id"]], 3)],
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
    shop, variants = _seeded(sandbox_server)
    variant = variants[0]["id"]
    order = _fulfilled_order(shop, [(variant, 2)])
    ret = shop(
        CREATE,
        {"input": {"orderId": order["id"], "returnLineItems": [_line(order["fli"][variant], 2)]}},
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
    shop, variants = _seeded(sandbox_server)
    variant = variants[0]["id"]
    order = _fulfilled_order(shop, [(variant, 2)], paid="38.00")
    [sale] = order["transactions"]
    ret = shop(
        CREATE,
        {"input": {"orderId": order["id"], "returnLineItems": [_line(order["fli"][variant], 2)]}},
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


# --------------------------------------------------------------------------- exchanges
def test_exchange_is_held_until_the_returned_items_are_processed(
    sandbox_server: SandboxServer, hooks: tuple[Hooks, str]
) -> None:
    received, url = hooks
    shop, variants = _seeded(sandbox_server)
    _subscribe(shop, url)
    old, new = variants[0], variants[1]
    order = _fulfilled_order(shop, [(old["id"], 1)])
    created = shop(
        CREATE,
        {
            "input": {
                "orderId": order["id"],
                "returnLineItems": [_line(order["fli"][old["id"]], 1, "SIZE_TOO_LARGE")],
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
    before = _available(shop, old["inventoryItem"]["id"], order["location"])
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
    after = _available(shop, old["inventoryItem"]["id"], order["location"])
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
    shop, variants = _seeded(sandbox_server)
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
    order = _fulfilled_order(shop, [(old["id"], 1)])
    ret = shop(
        CREATE,
        {
            "input": {
                "orderId": order["id"],
                "returnLineItems": [_line(order["fli"][old["id"]], 1)],
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
    shop, variants = _seeded(sandbox_server)
    old, new = variants[0], variants[1]
    order = _fulfilled_order(shop, [(old["id"], 1)])
    ret = shop(
        CREATE,
        {
            "input": {
                "orderId": order["id"],
                "returnLineItems": [_line(order["fli"][old["id"]], 1)],
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
    shop, variants = _seeded(sandbox_server)
    old, new = variants[0], variants[1]
    order = _fulfilled_order(shop, [(old["id"], 1)])
    ret = shop(
        CREATE,
        {
            "input": {
                "orderId": order["id"],
                "returnLineItems": [_line(order["fli"][old["id"]], 1)],
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


# --------------------------------------------------------------------------- scopes
def test_return_scopes(sandbox_server: SandboxServer) -> None:
    shop, variants = _seeded(sandbox_server)
    order = _fulfilled_order(shop, [(variants[0]["id"], 1)])
    created = shop(
        CREATE,
        {
            "input": {
                "orderId": order["id"],
                "returnLineItems": [_line(order["fli"][variants[0]["id"]], 1)],
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
    blind_order = _fulfilled_order(blind, [(_variants(blind)[0]["id"], 1)], ship=False)
    for field in ("returns(first: 1) { nodes { id } }", "returnStatus"):
        denied = blind.raw(
            "query($id: ID!) { order(id: $id) { id " + field + " } }", {"id": blind_order["id"]}
        )
        assert denied["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
        assert denied["errors"][0]["path"][0] == "order"


# --------------------------------------------------------------------------- controls
def test_return_controls_refuse_broken_input(sandbox_server: SandboxServer) -> None:
    shop, variants = _seeded(sandbox_server)
    order = _fulfilled_order(shop, [(variants[0]["id"], 1)])
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
