"""The merchant changing an order after the fulfilment operation accepted it, over real HTTP:
holds placed and released in the admin (and what an app may do about them), order edits,
a new shipping address, moves, splits, merges, reschedules and cancelling, each through the
Admin API and the merchant-actions control, with the webhooks delivered to a local
receiver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tests.sandbox._shop_client import ShopClient, add_shop

from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.serving import BackgroundServer

# Long enough for Shopify's first retry (10 s) should a first attempt fail on a busy machine.
WAIT_SECONDS = 30.0
TOPICS = (
    "FULFILLMENT_ORDERS_PLACED_ON_HOLD",
    "FULFILLMENT_ORDERS_HOLD_RELEASED",
    "FULFILLMENT_ORDERS_MOVED",
    "FULFILLMENT_ORDERS_SPLIT",
    "FULFILLMENT_ORDERS_MERGED",
    "FULFILLMENT_ORDERS_RESCHEDULED",
    "ORDERS_EDITED",
    "ORDERS_UPDATED",
)
ADDRESS = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "address1": "12 Analytical Row",
    "city": "London",
    "zip": "N1 9GU",
    "countryCode": "GB",
}
FO_FIELDS = """id status requestStatus updatedAt
  destination { address1 city countryCode }
  assignedLocation { location { id } }
  fulfillmentHolds { id reason reasonNotes displayReason heldByRequestingApp }
  lineItems(first: 10) { nodes { id totalQuantity remainingQuantity lineItem { id sku } } }"""
FO = "query($id: ID!) { fulfillmentOrder(id: $id) { " + FO_FIELDS + " } }"
ORDER = (
    """query($id: ID!) { order(id: $id) { id updatedAt
  shippingAddress { address1 city countryCodeV2 }
  lineItems(first: 10) { nodes { id sku quantity currentQuantity } }
  fulfillmentOrders(first: 10) { nodes { """
    + FO_FIELDS
    + """ } } } }"""
)


class Hooks:
    """A local endpoint recording the webhooks it receives, by topic."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[tuple[str, dict[str, Any]]] = []
        self.app = Starlette(routes=[Route("/{path:path}", self._record, methods=["POST"])])

    async def _record(self, request: Request) -> Response:
        topic = request.headers.get("x-shopify-topic", "")
        body = json.loads(await request.body())
        with self._lock:
            self._received.append((topic, body))
        return JSONResponse({"ok": True})

    def of(self, topic: str, count: int = 1) -> list[dict[str, Any]]:
        """At least ``count`` bodies of ``topic`` (bounded wait), in arrival order."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            with self._lock:
                found = [body for t, body in self._received if t == topic]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)


def _outbound(server: SandboxServer) -> Any:
    """The sandbox's delivery log, to say why a webhook did not arrive."""
    return httpx.get(server.url + "/__sandbox/state", timeout=10).json()["parts"].get("outbound")


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


def _service(shop: ShopClient, url: str) -> str:
    created = shop(
        """mutation($url: URL) { fulfillmentServiceCreate(name: "Print Partner",
             callbackUrl: $url, inventoryManagement: true) {
             fulfillmentService { location { id } } userErrors { field message } } }""",
        {"url": url + "/fs"},
    )["fulfillmentServiceCreate"]
    assert created["userErrors"] == []
    location: str = created["fulfillmentService"]["location"]["id"]
    return location


def _variants(shop: ShopClient) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = shop(
        "{ productVariants(first: 10) { nodes { id sku inventoryItem { tracked } } } }"
    )["productVariants"]["nodes"]
    return nodes


def _create_order(shop: ShopClient, lines: list[dict[str, Any]]) -> dict[str, Any]:
    created = shop(
        """mutation($order: OrderCreateOrderInput!) { orderCreate(order: $order) {
             order { id fulfillmentOrders(first: 5) { nodes { id } } }
             userErrors { field message } } }""",
        {"order": {"lineItems": lines, "shippingAddress": ADDRESS}},
    )["orderCreate"]
    assert created["userErrors"] == []
    order: dict[str, Any] = created["order"]
    return order


def _accepted_at_service(shop: ShopClient, url: str) -> tuple[dict[str, Any], list[str]]:
    """An order of two variants stocked at the service, requested and accepted."""
    _service(shop, url)
    shop.seed(products=4, orders=0, seed=3, stock_at="service", variety="simple")
    variants = [v["id"] for v in _variants(shop)]
    order = _create_order(
        shop,
        [{"variantId": variants[0], "quantity": 3}, {"variantId": variants[1], "quantity": 1}],
    )
    [fo] = [n["id"] for n in order["fulfillmentOrders"]["nodes"]]
    shop.merchant(action="submit_fulfillment_request", order_id=order["id"])
    accepted = shop(
        """mutation($id: ID!) { fulfillmentOrderAcceptFulfillmentRequest(id: $id) {
             fulfillmentOrder { status requestStatus } userErrors { message } } }""",
        {"id": fo},
    )["fulfillmentOrderAcceptFulfillmentRequest"]
    assert accepted["fulfillmentOrder"] == {"status": "IN_PROGRESS", "requestStatus": "ACCEPTED"}
    order["fo"] = fo
    return order, variants


# --------------------------------------------------------------------------- holds
def test_merchant_hold_on_accepted_work_and_what_an_app_may_do(
    sandbox_server: SandboxServer, hooks: tuple[Hooks, str]
) -> None:
    received, url = hooks
    shop = ShopClient(sandbox_server.url)
    _subscribe(shop, url)
    order, _ = _accepted_at_service(shop, url)
    fo = order["fo"]

    held = shop.merchant(
        action="hold_fulfillment_order",
        fulfillment_order_id=fo,
        reason="AWAITING_RETURN_ITEMS",
        reason_notes="Exchange: waiting for the old shirt",
    )
    assert held["hold"]["display_reason"] == "Exchange items awaiting return delivery"
    read = shop(FO, {"id": fo})["fulfillmentOrder"]
    assert read["status"] == "ON_HOLD" and read["requestStatus"] == "ACCEPTED"
    [hold] = read["fulfillmentHolds"]
    assert hold == {
        "id": held["hold"]["id"],
        "reason": "AWAITING_RETURN_ITEMS",
        "reasonNotes": "Exchange: waiting for the old shirt",
        "displayReason": "Exchange items awaiting return delivery",
        "heldByRequestingApp": False,
    }
    [placed] = received.of("fulfillment_orders/placed_on_hold")
    assert placed["fulfillment_order"]["id"] == fo
    assert placed["fulfillment_order"]["status"] == "on_hold"
    assert placed["fulfillment_hold"] == {
        "id": hold["id"],
        "reason": "awaiting_return_items",
        "reason_notes": "Exchange: waiting for the old shirt",
    }

    # The app may not release the merchant's hold, named or not.
    release = """mutation($id: ID!, $holds: [ID!]) { fulfillmentOrderReleaseHold(id: $id,
      holdIds: $holds) { fulfillmentOrder { status } userErrors { field message code } } }"""
    for holds, field in ((None, ["id"]), ([hold["id"]], ["holdIds", "0"])):
        refused = shop(release, {"id": fo, "holds": holds})["fulfillmentOrderReleaseHold"]
        assert refused == {
            "fulfillmentOrder": None,
            "userErrors": [
                {
                    "field": field,
                    "message": "The app doesn't have access to release the fulfillment hold.",
                    "code": "INVALID_ACCESS",
                }
            ],
        }
    progress = shop(
        """mutation($id: ID!) { fulfillmentOrderReportProgress(id: $id) {
             fulfillmentOrder { id } userErrors { field message } } }""",
        {"id": fo},
    )["fulfillmentOrderReportProgress"]
    assert progress == {
        "fulfillmentOrder": None,
        "userErrors": [
            {
                "field": None,
                "message": "Cannot report progress on a fulfillment order in this state.",
            }
        ],
    }
    shipped = shop(
        """mutation($id: ID!) { fulfillmentCreate(fulfillment: {lineItemsByFulfillmentOrder:
             [{fulfillmentOrderId: $id}]}) { fulfillment { id } userErrors { field message } } }""",
        {"id": fo},
    )["fulfillmentCreate"]
    assert shipped["fulfillment"] is None
    number = fo.rsplit("/", 1)[1]
    assert shipped["userErrors"] == [
        {
            "field": ["fulfillment"],
            "message": f"Fulfillment order {number} has an unfulfillable status= on_hold.",
        }
    ]

    # The merchant releases it: back to the accepted, in-progress work it was.
    released = shop.merchant(action="release_hold", fulfillment_order_id=fo)
    assert released["fulfillment_order"]["status"] == "IN_PROGRESS"
    assert released["fulfillment_order"]["request_status"] == "ACCEPTED"
    assert shop(FO, {"id": fo})["fulfillmentOrder"]["fulfillmentHolds"] == []
    [freed] = received.of("fulfillment_orders/hold_released")
    assert freed["fulfillment_order"]["id"] == fo
    assert freed["fulfillment_order"]["status"] == "in_progress"

    # Bad merchant input: 400, unknown ids 404, a state that does not allow it 409.
    bad = shop.merchant(400, action="hold_fulfillment_order", fulfillment_order_id=fo)
    assert "reason" in bad["error"]
    shop.merchant(
        404, action="release_hold", fulfillment_order_id="gid://shopify/FulfillmentOrder/9"
    )
    not_held = shop.merchant(409, action="release_hold", fulfillment_order_id=fo)
    assert not_held["userErrors"][0]["message"] == "The fulfillment order is not on hold."


def test_app_holds_name_their_app_and_the_merchant_holds_stay(
    sandbox_server: SandboxServer,
) -> None:
    shop = add_shop(
        sandbox_server.url,
        "reader-shop.myshopify.com",
        ["read_apps", "write_orders", "write_merchant_managed_fulfillment_orders"],
    )
    created = shop(
        """mutation { orderCreate(order: {lineItems: [{title: "Mug", quantity: 2,
             priceSet: {shopMoney: {amount: "9.00", currencyCode: USD}},
             requiresShipping: true}]}) {
             order { fulfillmentOrders(first: 1) { nodes { id } } } } }"""
    )
    fo = created["orderCreate"]["order"]["fulfillmentOrders"]["nodes"][0]["id"]
    app_hold = shop(
        """mutation($id: ID!) { fulfillmentOrderHold(id: $id, fulfillmentHold: {reason: OTHER,
             handle: "qc"}) { fulfillmentHold { id heldByRequestingApp heldByApp { title } }
             userErrors { message } } }""",
        {"id": fo},
    )["fulfillmentOrderHold"]
    assert app_hold["fulfillmentHold"]["heldByRequestingApp"] is True
    assert app_hold["fulfillmentHold"]["heldByApp"] == {"title": "fulfillbridge"}
    shop.merchant(
        action="hold_fulfillment_order", fulfillment_order_id=fo, reason="INCORRECT_ADDRESS"
    )
    holds = shop(
        """query($id: ID!) { fulfillmentOrder(id: $id) { status fulfillmentHolds {
             reason displayReason heldByRequestingApp heldByApp { title } } } }""",
        {"id": fo},
    )["fulfillmentOrder"]["fulfillmentHolds"]
    assert holds == [
        {
            "reason": "OTHER",
            "displayReason": "Other",
            "heldByRequestingApp": True,
            "heldByApp": {"title": "fulfillbridge"},
        },
        {
            "reason": "INCORRECT_ADDRESS",
            "displayReason": "Incorrect address",
            "heldByRequestingApp": False,
            "heldByApp": None,
        },
    ]
    # Releasing without ids takes the app's hold away and leaves the merchant's.
    released = shop(
        """mutation($id: ID!) { fulfillmentOrderReleaseHold(id: $id) {
             fulfillmentOrder { status fulfillmentHolds { reason } } userErrors { message } } }""",
        {"id": fo},
    )["fulfillmentOrderReleaseHold"]
    assert released == {
        "fulfillmentOrder": {
            "status": "ON_HOLD",
            "fulfillmentHolds": [{"reason": "INCORRECT_ADDRESS"}],
        },
        "userErrors": [],
    }
    assert (
        shop.merchant(action="release_hold", fulfillment_order_id=fo)["fulfillment_order"]["status"]
        == "OPEN"
    )


# --------------------------------------------------------------------------- order edits
BEGIN = """mutation($id: ID!) { orderEditBegin(id: $id) {
  calculatedOrder { id subtotalLineItemsQuantity originalOrder { id }
    lineItems(first: 10) { nodes { id sku quantity editableQuantity } } }
  orderEditSession { id } userErrors { field message } } }"""
SET_QUANTITY = """mutation($id: ID!, $line: ID!, $q: Int!) { orderEditSetQuantity(id: $id,
  lineItemId: $line, quantity: $q) { calculatedLineItem { id quantity editableQuantity }
  calculatedOrder { id } userErrors { field message } } }"""
ADD_VARIANT = """mutation($id: ID!, $variant: ID!, $q: Int!) { orderEditAddVariant(id: $id,
  variantId: $variant, quantity: $q) { calculatedLineItem { id sku quantity }
  calculatedOrder { subtotalLineItemsQuantity addedLineItems(first: 5) { nodes { sku } } }
  userErrors { field message } } }"""
COMMIT = """mutation($id: ID!) { orderEditCommit(id: $id, notifyCustomer: false,
  staffNote: "customer asked") { order { id lineItems(first: 10) { nodes { sku quantity
  currentQuantity } } } successMessages userErrors { field message } } }"""


def test_an_edit_of_accepted_work_changes_its_fulfillment_orders(
    sandbox_server: SandboxServer, hooks: tuple[Hooks, str]
) -> None:
    received, url = hooks
    shop = ShopClient(sandbox_server.url)
    _subscribe(shop, url)
    order, variants = _accepted_at_service(shop, url)
    before = shop(FO, {"id": order["fo"]})["fulfillmentOrder"]
    shop.advance_clock(60)

    begun = shop(BEGIN, {"id": order["id"]})["orderEditBegin"]
    assert begun["userErrors"] == []
    calculated = begun["calculatedOrder"]
    assert calculated["originalOrder"]["id"] == order["id"]
    assert begun["orderEditSession"]["id"].startswith("gid://shopify/OrderEditSession/")
    assert calculated["subtotalLineItemsQuantity"] == 4
    first, second = calculated["lineItems"]["nodes"]
    assert (first["quantity"], first["editableQuantity"], second["quantity"]) == (3, 3, 1)

    lowered = shop(SET_QUANTITY, {"id": calculated["id"], "line": first["id"], "q": 1})
    assert lowered["orderEditSetQuantity"]["calculatedLineItem"]["editableQuantity"] == 1
    removed = shop(SET_QUANTITY, {"id": calculated["id"], "line": second["id"], "q": 0})
    assert removed["orderEditSetQuantity"]["userErrors"] == []
    added = shop(ADD_VARIANT, {"id": calculated["id"], "variant": variants[2], "q": 2})
    added = added["orderEditAddVariant"]
    assert added["userErrors"] == []
    assert added["calculatedOrder"]["subtotalLineItemsQuantity"] == 3
    assert [n["sku"] for n in added["calculatedOrder"]["addedLineItems"]["nodes"]] == [
        added["calculatedLineItem"]["sku"]
    ]
    # Nothing changes before the commit.
    assert shop(FO, {"id": order["fo"]})["fulfillmentOrder"] == before

    committed = shop(COMMIT, {"id": calculated["id"]})["orderEditCommit"]
    assert committed["userErrors"] == []
    lines = committed["order"]["lineItems"]["nodes"]
    assert [(n["quantity"], n["currentQuantity"]) for n in lines] == [(3, 1), (1, 0), (2, 2)]

    after = shop(ORDER, {"id": order["id"]})["order"]
    accepted, new = after["fulfillmentOrders"]["nodes"]
    assert accepted["id"] == order["fo"]
    assert (accepted["status"], accepted["requestStatus"]) == ("IN_PROGRESS", "ACCEPTED")
    assert [
        (n["totalQuantity"], n["remainingQuantity"]) for n in accepted["lineItems"]["nodes"]
    ] == [
        (1, 1),
        (0, 0),
    ]
    assert accepted["updatedAt"] > before["updatedAt"]
    # The added variant is new work at the service that stocks it, not yet requested.
    assert (new["status"], new["requestStatus"]) == ("OPEN", "UNSUBMITTED")
    assert new["assignedLocation"] == accepted["assignedLocation"]
    added_line = after["lineItems"]["nodes"][2]["id"]
    assert [(n["lineItem"]["id"], n["totalQuantity"]) for n in new["lineItems"]["nodes"]] == [
        (added_line, 2)
    ]

    [edited] = received.of("orders/edited")
    line_ids = [int(n["id"].rsplit("/", 1)[1]) for n in after["lineItems"]["nodes"]]
    assert edited["order_edit"]["order_id"] == int(order["id"].rsplit("/", 1)[1])
    assert edited["order_edit"]["staff_note"] == "customer asked"
    assert edited["order_edit"]["notify_customer"] is False
    assert edited["order_edit"]["line_items"] == {
        "additions": [{"id": line_ids[2], "delta": 2}],
        "removals": [{"id": line_ids[0], "delta": 2}, {"id": line_ids[1], "delta": 1}],
    }
    updated = received.of("orders/updated")
    assert updated and updated[-1]["id"] == int(order["id"].rsplit("/", 1)[1])
    assert [li["current_quantity"] for li in updated[-1]["line_items"]] == [1, 0, 2]

    state = httpx.get(sandbox_server.url + "/__sandbox/state", timeout=10).json()
    [session] = state["parts"]["order_edits"]
    assert session["id"] == calculated["id"] and session["committed"] is True

    # A committed edit cannot be committed again.
    again = shop(COMMIT, {"id": calculated["id"]})["orderEditCommit"]
    assert again["order"] is None
    assert again["userErrors"] == [
        {"field": ["id"], "message": "The calculated order has already been committed"}
    ]


def test_edit_user_errors_and_the_merchant_action(sandbox_server: SandboxServer) -> None:
    shop = ShopClient(sandbox_server.url)
    created = shop(
        """mutation { orderCreate(order: {lineItems: [{title: "Print", quantity: 2,
             priceSet: {shopMoney: {amount: "5.00", currencyCode: USD}},
             requiresShipping: true}]}) {
             order { id fulfillmentOrders(first: 1) { nodes { id } } } } }"""
    )["orderCreate"]["order"]
    fo = created["fulfillmentOrders"]["nodes"][0]["id"]
    shipped = shop(
        """mutation($id: ID!) { fulfillmentCreate(fulfillment: {lineItemsByFulfillmentOrder:
             [{fulfillmentOrderId: $id, fulfillmentOrderLineItems: [{id: $line, quantity: 1}]}]})
             { userErrors { message } } }""".replace("$id: ID!", "$id: ID!, $line: ID!"),
        {
            "id": fo,
            "line": shop(FO, {"id": fo})["fulfillmentOrder"]["lineItems"]["nodes"][0]["id"],
        },
    )
    assert shipped["fulfillmentCreate"]["userErrors"] == []

    unknown = shop(BEGIN, {"id": "gid://shopify/Order/999999"})["orderEditBegin"]
    assert unknown == {
        "calculatedOrder": None,
        "orderEditSession": None,
        "userErrors": [{"field": ["id"], "message": "Order does not exist"}],
    }
    calculated = shop(BEGIN, {"id": created["id"]})["orderEditBegin"]["calculatedOrder"]
    line = calculated["lineItems"]["nodes"][0]["id"]
    cases = [
        ({"line": line, "q": -1}, ["quantity"], "Quantity must be greater than or equal to 0"),
        (
            {"line": "gid://shopify/CalculatedLineItem/1"},
            ["lineItemId"],
            "Line item does not exist on the calculated order",
        ),
        (
            {"line": line, "q": 0},
            ["quantity"],
            "Quantity can't be lower than the 1 unit(s) already fulfilled",
        ),
    ]
    for variables, field, message in cases:
        answer = shop(SET_QUANTITY, {"id": calculated["id"], "q": 1, **variables})
        assert answer["orderEditSetQuantity"]["userErrors"] == [
            {"field": field, "message": message}
        ]
    bad_variant = shop(
        ADD_VARIANT, {"id": calculated["id"], "variant": "gid://shopify/ProductVariant/1", "q": 1}
    )["orderEditAddVariant"]["userErrors"]
    assert bad_variant == [{"field": ["variantId"], "message": "Variant does not exist"}]
    no_session = shop(COMMIT, {"id": "gid://shopify/CalculatedOrder/1"})["orderEditCommit"]
    assert no_session["userErrors"] == [
        {"field": ["id"], "message": "The calculated order does not exist"}
    ]

    # The merchant action runs the same code: 400 bad input, 404 unknown order, 409 refused.
    assert "add" in shop.merchant(400, action="edit_order", order_id=created["id"])["error"]
    shop.merchant(
        404, action="edit_order", order_id=999999, set_quantity=[{"line_item_id": 1, "quantity": 1}]
    )
    line_item = calculated["lineItems"]["nodes"][0]["id"].rsplit("/", 1)[1]
    refused = shop.merchant(
        409,
        action="edit_order",
        order_id=created["id"],
        set_quantity=[{"line_item_id": int(line_item), "quantity": 0}],
    )
    assert refused["userErrors"][0]["field"] == ["quantity"]
    # More units: the partly shipped fulfillment order is in progress, so they get a new one
    # at the same location.
    more = shop.merchant(
        action="edit_order",
        order_id=created["id"],
        set_quantity=[{"line_item_id": int(line_item), "quantity": 3}],
    )
    assert more["order"]["line_items"][0] == {
        "id": f"gid://shopify/LineItem/{line_item}",
        "sku": None,
        "quantity": 3,
        "current_quantity": 3,
    }
    shipping, extra = more["order"]["fulfillment_orders"]
    assert shipping["id"] == fo and shipping["status"] == "IN_PROGRESS"
    assert extra["status"] == "OPEN" and extra["location_id"] == shipping["location_id"]
    [grown] = shop(FO, {"id": extra["id"]})["fulfillmentOrder"]["lineItems"]["nodes"]
    assert (grown["totalQuantity"], grown["remainingQuantity"]) == (1, 1)
    done = shop.merchant(
        action="edit_order",
        order_id=created["id"],
        set_quantity=[{"line_item_id": int(line_item), "quantity": 1}],
    )
    assert done["order"]["line_items"][0]["current_quantity"] == 1
    # Two units went: nothing is left to do but the one already shipped.
    assert [x["status"] for x in done["order"]["fulfillment_orders"]] == ["CLOSED", "CLOSED"]

    # A cancelled order cannot be edited.
    other = shop(
        """mutation { orderCreate(order: {lineItems: [{title: "Card", quantity: 1,
             priceSet: {shopMoney: {amount: "2.00", currencyCode: USD}}}]}) {
             order { id } } }"""
    )["orderCreate"]["order"]["id"]
    shop.merchant(action="cancel_order", order_id=other, reason="CUSTOMER")
    cancelled = shop(BEGIN, {"id": other})["orderEditBegin"]["userErrors"]
    assert cancelled == [
        {"field": ["id"], "message": "Cannot edit an order that has been canceled"}
    ]


# --------------------------------------------------------------------------- address
def test_a_new_shipping_address_follows_to_open_fulfillment_orders(
    sandbox_server: SandboxServer, hooks: tuple[Hooks, str]
) -> None:
    received, url = hooks
    shop = ShopClient(sandbox_server.url)
    _subscribe(shop, url)
    order, _ = _accepted_at_service(shop, url)
    update = """mutation($input: OrderInput!) { orderUpdate(input: $input) {
      order { id shippingAddress { address1 city countryCodeV2 } }
      userErrors { field message } } }"""
    answer = shop(
        update,
        {
            "input": {
                "id": order["id"],
                "shippingAddress": {
                    "address1": "3 Quay St",
                    "city": "Cork",
                    "countryCode": "IE",
                    "zip": "T12",
                },
            }
        },
    )["orderUpdate"]
    assert answer["userErrors"] == []
    assert answer["order"]["shippingAddress"] == {
        "address1": "3 Quay St",
        "city": "Cork",
        "countryCodeV2": "IE",
    }
    destination = shop(FO, {"id": order["fo"]})["fulfillmentOrder"]["destination"]
    assert destination == {"address1": "3 Quay St", "city": "Cork", "countryCode": "IE"}
    updated = received.of("orders/updated")
    assert updated, _outbound(sandbox_server)
    assert updated[-1]["shipping_address"]["city"] == "Cork"
    assert updated[-1]["shipping_address"]["first_name"] == "Ada"  # left out: kept

    unknown = shop(update, {"input": {"id": "gid://shopify/Order/1", "shippingAddress": {}}})
    assert unknown["orderUpdate"] == {
        "order": None,
        "userErrors": [{"field": ["id"], "message": "Order does not exist"}],
    }
    moved = shop.merchant(
        action="update_shipping_address", order_id=order["id"], address={"city": "Galway"}
    )
    assert moved["order"]["shipping_address"]["city"] == "Galway"
    assert shop(FO, {"id": order["fo"]})["fulfillmentOrder"]["destination"]["city"] == "Galway"
    bad = shop.merchant(
        400, action="update_shipping_address", order_id=order["id"], address={"town": "Galway"}
    )
    assert "town" in bad["error"]
    shop.merchant(404, action="update_shipping_address", order_id=5, address={"city": "Cork"})


# --------------------------------------------------------------------------- moves and more
def test_moves_splits_merges_and_reschedules_send_their_webhooks(
    sandbox_server: SandboxServer, hooks: tuple[Hooks, str]
) -> None:
    received, url = hooks
    shop = ShopClient(sandbox_server.url)
    _subscribe(shop, url)
    seeded = shop.seed(products=2, orders=0, seed=1)
    first_location, second_location = seeded["locations"]
    created = shop(
        """mutation { orderCreate(order: {lineItems: [{title: "Poster", quantity: 4,
             priceSet: {shopMoney: {amount: "8.00", currencyCode: USD}},
             requiresShipping: true}]}) {
             order { id fulfillmentOrders(first: 1) { nodes { id } } } } }"""
    )["orderCreate"]["order"]
    fo = created["fulfillmentOrders"]["nodes"][0]["id"]
    line = shop(FO, {"id": fo})["fulfillmentOrder"]["lineItems"]["nodes"][0]["id"]

    split = shop.merchant(
        action="split_fulfillment_order",
        fulfillment_order_id=fo,
        line_items=[{"id": line, "quantity": 1}],
    )
    split_off = split["remaining"]["id"]
    [split_hook] = received.of("fulfillment_orders/split")
    assert split_hook["split_line_items"] == [{"id": line, "quantity": 1}]
    assert split_hook["fulfillment_order"]["id"] == fo
    assert split_hook["remaining_fulfillment_order"]["id"] == split_off

    merged = shop(
        """mutation($a: ID!, $b: ID!) { fulfillmentOrderMerge(fulfillmentOrderMergeInputs:
             [{mergeIntents: [{fulfillmentOrderId: $a}, {fulfillmentOrderId: $b}]}]) {
             fulfillmentOrderMerges { fulfillmentOrder { id } } userErrors { message } } }""",
        {"a": fo, "b": split_off},
    )["fulfillmentOrderMerge"]
    assert merged["userErrors"] == []
    [merge_hook] = received.of("fulfillment_orders/merged")
    assert merge_hook["fulfillment_order_merges"][0]["fulfillment_order"]["id"] == fo

    target = f"gid://shopify/Location/{second_location}"
    moved = shop.merchant(
        action="move_fulfillment_order",
        fulfillment_order_id=fo,
        location_id=second_location,
        line_items=[{"id": line, "quantity": 2}],
    )
    [move_hook] = received.of("fulfillment_orders/moved")
    assert move_hook["original_fulfillment_order"]["id"] == fo
    assert move_hook["moved_fulfillment_order"]["id"] == moved["moved"]["id"]
    assert move_hook["moved_fulfillment_order"]["assigned_location_id"] == target
    assert move_hook["destination_location_id"] == target
    assert move_hook["source_location"] == {"id": f"gid://shopify/Location/{first_location}"}
    assert move_hook["fulfillment_order_line_items_requested"] == [{"id": line, "quantity": 2}]
    bad = shop.merchant(400, action="move_fulfillment_order", fulfillment_order_id=fo)
    assert "location_id" in bad["error"]
    same = shop.merchant(
        409, action="move_fulfillment_order", fulfillment_order_id=fo, location_id=first_location
    )
    assert "already assigned" in same["error"]

    later = shop.merchant(action="create_orders", count=1, fulfill_at="2099-01-01T00:00:00Z")
    scheduled = later["created_orders"][0]["fulfillment_orders"][0]["id"]
    rescheduled = shop(
        """mutation($id: ID!) { fulfillmentOrderReschedule(id: $id,
             fulfillAt: "2099-02-01T00:00:00Z") { fulfillmentOrder { status fulfillAt }
             userErrors { message } } }""",
        {"id": scheduled},
    )["fulfillmentOrderReschedule"]
    assert rescheduled["fulfillmentOrder"] == {
        "status": "SCHEDULED",
        "fulfillAt": "2099-02-01T00:00:00Z",
    }
    [reschedule_hook] = received.of("fulfillment_orders/rescheduled")
    assert reschedule_hook["fulfillment_order"]["id"] == scheduled
    assert reschedule_hook["fulfillment_order"]["fulfill_at"] == "2099-02-01T00:00:00Z"


def test_an_order_with_a_fulfillment_cannot_be_cancelled(sandbox_server: SandboxServer) -> None:
    shop = ShopClient(sandbox_server.url)
    created = shop(
        """mutation { orderCreate(order: {lineItems: [{title: "Tote", quantity: 1,
             priceSet: {shopMoney: {amount: "12.00", currencyCode: USD}}}]}) {
             order { id fulfillmentOrders(first: 1) { nodes { id } } } } }"""
    )["orderCreate"]["order"]
    fo = created["fulfillmentOrders"]["nodes"][0]["id"]
    shop(
        """mutation($id: ID!) { fulfillmentCreate(fulfillment: {lineItemsByFulfillmentOrder:
             [{fulfillmentOrderId: $id}]}) { userErrors { message } } }""",
        {"id": fo},
    )
    refused = shop(
        """mutation($id: ID!) { orderCancel(orderId: $id, reason: CUSTOMER, restock: true) {
             job { id } orderCancelUserErrors { field message code } } }""",
        {"id": created["id"]},
    )["orderCancel"]
    assert refused == {
        "job": None,
        "orderCancelUserErrors": [
            {
                "field": ["orderId"],
                "message": "Cannot cancel an order that has outstanding fulfillments",
                "code": "INVALID",
            }
        ],
    }
    by_merchant = shop.merchant(409, action="cancel_order", order_id=created["id"], reason="OTHER")
    assert "outstanding fulfillments" in by_merchant["error"]
    assert httpx.get(sandbox_server.url + "/__sandbox/state", timeout=10).status_code == 200
