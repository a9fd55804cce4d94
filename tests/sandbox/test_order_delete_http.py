"""orderDelete over real HTTP: only cancelled or archived orders go, with their fulfillment
orders and metafields; the refusals; and the orders/delete webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from tests.sandbox._shop_client import ShopClient
from tests.sandbox.test_outbound_delivery import Receiver

from fulfillbridge.sandbox.server import SandboxServer

DELETE = """mutation($id: ID!) { orderDelete(orderId: $id) { deletedId
  userErrors { field message code } } }"""
CREATE = """mutation($order: OrderCreateOrderInput!) { orderCreate(order: $order) {
  order { id fulfillmentOrders(first: 5) { nodes { id } } } userErrors { field message } } }"""
CANCEL = """mutation($id: ID!) { orderCancel(orderId: $id, reason: OTHER, restock: true,
  notifyCustomer: false) { orderCancelUserErrors { field message } } }"""


@pytest.fixture
def shop(sandbox_server: SandboxServer) -> ShopClient:
    return ShopClient(sandbox_server.url)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    rec.thread.start()
    try:
        yield rec
    finally:
        rec.server.shutdown()
        rec.server.server_close()


def _order(shop: ShopClient, **extra: Any) -> dict[str, Any]:
    line = {"title": "Poster", "quantity": 1, "priceSet": {"shopMoney": {"amount": "10.00",
            "currencyCode": "USD"}}}  # fmt: skip
    created = shop(CREATE, {"order": {"lineItems": [line], **extra}})["orderCreate"]
    assert created["userErrors"] == []
    order: dict[str, Any] = created["order"]
    return order


def test_cancelled_order_is_deleted_with_what_it_owned(
    shop: ShopClient, receiver: Receiver
) -> None:
    shop(
        """mutation($uri: String!) { webhookSubscriptionCreate(topic: ORDERS_DELETE,
             webhookSubscription: {uri: $uri}) { userErrors { message } } }""",
        {"uri": receiver.url + "/deleted"},
    )
    order = _order(shop)
    set_metafield = shop(
        """mutation($id: ID!) { metafieldsSet(metafields: [{ownerId: $id, namespace: "ops",
             key: "batch", type: "single_line_text_field", value: "B-7"}]) {
             userErrors { message } } }""",
        {"id": order["id"]},
    )
    assert set_metafield["metafieldsSet"]["userErrors"] == []
    assert shop(CANCEL, {"id": order["id"]})["orderCancel"]["orderCancelUserErrors"] == []
    answer = shop(DELETE, {"id": order["id"]})["orderDelete"]
    assert answer == {"deletedId": order["id"], "userErrors": []}
    assert shop("query($id: ID!) { order(id: $id) { id } }", {"id": order["id"]})["order"] is None
    fo = order["fulfillmentOrders"]["nodes"][0]["id"]
    read = shop.raw("query($id: ID!) { fulfillmentOrder(id: $id) { id } }", {"id": fo})
    assert read["data"]["fulfillmentOrder"] is None
    listed = shop("{ orders(first: 10) { nodes { id } } }")["orders"]["nodes"]
    assert order["id"] not in [n["id"] for n in listed]
    # Deleting again: the order is gone.
    again = shop(DELETE, {"id": order["id"]})["orderDelete"]
    assert again == {
        "deletedId": None,
        "userErrors": [{"field": ["orderId"], "message": "Order does not exist",
                        "code": "NOT_FOUND"}],
    }  # fmt: skip
    for _ in range(300):
        if receiver.at("/deleted"):
            break
        threading.Event().wait(0.01)
    [delivery] = receiver.at("/deleted")
    assert json.loads(delivery["body"]) == {"id": int(order["id"].rsplit("/", 1)[1])}
    assert delivery["headers"]["X-Shopify-Topic"] == "orders/delete"


def test_open_order_is_refused_and_archived_one_is_deleted(shop: ShopClient) -> None:
    order = _order(shop)
    refused = shop(DELETE, {"id": order["id"]})["orderDelete"]
    assert refused == {
        "deletedId": None,
        "userErrors": [
            {
                "field": ["orderId"],
                "message": "Only cancelled or archived orders can be deleted.",
                "code": "INVALID",
            }
        ],
    }
    assert shop("query($id: ID!) { order(id: $id) { id } }", {"id": order["id"]})["order"]
    archived = _order(shop, closedAt="2026-01-02T00:00:00Z")
    deleted = shop(DELETE, {"id": archived["id"]})["orderDelete"]
    assert deleted == {"deletedId": archived["id"], "userErrors": []}
    # Not an order id at all, and a malformed one: NOT_FOUND, never a 500.
    for bad in ("gid://shopify/Product/1", "nonsense"):
        answer = shop(DELETE, {"id": bad})["orderDelete"]
        assert answer["userErrors"][0]["code"] == "NOT_FOUND"
