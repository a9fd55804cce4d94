"""Shared pieces of the returns tests: the GraphQL documents, a shop seeded with stock at
its merchant location, fulfilled orders, and a webhook receiver subscribed to the return
topics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.sandbox._shop_client import ShopClient
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


def receiver() -> Iterator[tuple[Hooks, str]]:
    """A local webhook receiver and its URL, for a fixture."""
    target = Hooks()
    with BackgroundServer(target.app) as server:
        yield target, server.url


def subscribe(shop: ShopClient, url: str) -> None:
    for topic in TOPICS:
        data = shop(
            """mutation($topic: WebhookSubscriptionTopic!, $uri: String!) {
                 webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri}) {
                   userErrors { field message } } }""",
            {"topic": topic, "uri": url + "/hooks"},
        )
        assert data["webhookSubscriptionCreate"]["userErrors"] == []


def variants_of(shop: ShopClient) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = shop(
        "{ productVariants(first: 10) { nodes { id sku inventoryItem { id } } } }"
    )["productVariants"]["nodes"]
    return nodes


def fulfilled_order(
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


def available(shop: ShopClient, item: str, location: str) -> dict[str, int]:
    level = shop(LEVEL, {"item": item, "loc": location})["inventoryItem"]["inventoryLevel"]
    return {q["name"]: q["quantity"] for q in level["quantities"]}


def seeded(server: SandboxServer) -> tuple[ShopClient, list[dict[str, Any]]]:
    shop = ShopClient(server.url)
    shop.seed(products=3, orders=0, seed=5, stock_at="merchant", variety="simple")
    return shop, variants_of(shop)


def line_input(fli: str, quantity: int, reason: str = "DEFECTIVE", **extra: Any) -> dict[str, Any]:
    return {"fulfillmentLineItemId": fli, "quantity": quantity, "returnReason": reason, **extra}
