"""The sandbox playing the merchant for a fulfillment service, over real HTTP: a service
created through GraphQL with its callback on a local receiver, automatic fulfillment
requests, seeding with stock at the service, and the merchant-actions control. The
receiver checks what a real service would: the signed callbacks and webhooks, then what
assignedFulfillmentOrders answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.sandbox.shops import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_SHOP_DOMAIN,
)
from fulfillbridge.serving import BackgroundServer

GRAPHQL = "/admin/api/2026-07/graphql.json"
SHOP_CONTROLS = f"/__sandbox/shops/{DEFAULT_SHOP_DOMAIN}"
WAIT_SECONDS = 10.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def signed_by(self, secret: str) -> bool:
        digest = hmac.new(secret.encode(), self.body, hashlib.sha256).digest()
        expected = base64.b64encode(digest).decode()
        return hmac.compare_digest(expected, self.headers.get("x-shopify-hmac-sha256", ""))


class Receiver:
    """A fulfillment service's endpoint: records every POST it gets."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self.app = Starlette(routes=[Route("/{path:path}", self._record, methods=["POST"])])

    async def _record(self, request: Request) -> Response:
        entry = Received(request.url.path, dict(request.headers), await request.body())
        with self._lock:
            self._received.append(entry)
        return JSONResponse({"ok": True})

    def at(self, suffix: str) -> list[Received]:
        with self._lock:
            return [r for r in self._received if r.path.endswith(suffix)]

    def wait_for(self, suffix: str, count: int) -> list[Received]:
        """At least ``count`` requests to a path ending in ``suffix`` (bounded wait)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            found = self.at(suffix)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        return self.at(suffix)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    target = Receiver()
    with BackgroundServer(target.app) as server:
        yield target, server.url


def gql(server: SandboxServer, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = httpx.post(
        server.url + GRAPHQL,
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": DEFAULT_ACCESS_TOKEN},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def control(server: SandboxServer, path: str, body: Any = None) -> httpx.Response:
    if body is None:
        return httpx.get(server.url + path, timeout=10)
    return httpx.post(server.url + path, json=body, timeout=30)


def create_service(server: SandboxServer, callback_url: str, name: str = "Print Partner") -> str:
    """A fulfillment service through GraphQL; returns its location's global id."""
    data = gql(
        server,
        """mutation($name: String!, $url: URL) { fulfillmentServiceCreate(name: $name,
             callbackUrl: $url, trackingSupport: true, inventoryManagement: true) {
             fulfillmentService { id location { id isFulfillmentService } }
             userErrors { field message } } }""",
        {"name": name, "url": callback_url},
    )["fulfillmentServiceCreate"]
    assert data["userErrors"] == []
    assert data["fulfillmentService"]["location"]["isFulfillmentService"] is True
    return data["fulfillmentService"]["location"]["id"]


def assigned(server: SandboxServer, status: str, location: str) -> set[str]:
    data = gql(
        server,
        """query($status: FulfillmentOrderAssignmentStatus, $locs: [ID!]) {
             assignedFulfillmentOrders(first: 100, assignmentStatus: $status,
               locationIds: $locs) { nodes { id } } }""",
        {"status": status, "locs": [location]},
    )
    return {n["id"] for n in data["assignedFulfillmentOrders"]["nodes"]}


def numeric(global_id: str) -> int:
    return int(global_id.rsplit("/", 1)[1])


def subscribe(server: SandboxServer, topic: str, uri: str) -> None:
    data = gql(
        server,
        """mutation($topic: WebhookSubscriptionTopic!, $uri: String!) {
             webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri}) {
               userErrors { field message } } }""",
        {"topic": topic, "uri": uri},
    )
    assert data["webhookSubscriptionCreate"]["userErrors"] == []


def test_auto_submit_sends_seeded_service_orders_to_the_service(
    sandbox_server: SandboxServer, receiver: tuple[Receiver, str]
) -> None:
    target, url = receiver
    location = create_service(sandbox_server, url + "/fs")
    subscribe(sandbox_server, "FULFILLMENT_ORDERS_FULFILLMENT_REQUEST_SUBMITTED", url + "/hooks")
    assert control(sandbox_server, SHOP_CONTROLS + "/settings").json() == {
        "settings": {"auto_submit_fulfillment_requests": False}
    }
    turned_on = control(
        sandbox_server, SHOP_CONTROLS + "/settings", {"auto_submit_fulfillment_requests": True}
    )
    assert turned_on.status_code == 200, turned_on.text
    assert control(sandbox_server, SHOP_CONTROLS + "/settings").json() == {
        "settings": {"auto_submit_fulfillment_requests": True}
    }

    seeded = control(
        sandbox_server,
        "/__sandbox/seed",
        {"products": 5, "orders": 12, "seed": 11, "stock_at": "service"},
    )
    assert seeded.status_code == 200, seeded.text
    result = seeded.json()["result"]
    assert result["stock_at"] == "service"
    assert result["service_location_id"] == numeric(location)
    assert result["orders"] == 12 and result["order_errors"] == []
    assert len(result["created_orders"]) == 12
    assert [o["name"] for o in result["created_orders"]] == [f"#{1001 + n}" for n in range(12)]
    service_fos = result["service_fulfillment_order_ids"]
    # Every order has catalogue lines, all stocked at the service only: each gets one
    # fulfillment order there, submitted as it was created.
    assert len(service_fos) == 12
    for order in result["created_orders"]:
        at_service = [fo for fo in order["fulfillment_orders"] if fo["at_fulfillment_service"]]
        assert [fo["request_status"] for fo in at_service] == ["SUBMITTED"], order
        # Custom lines (unknown or no SKU) stay with the merchant, unsubmitted.
        for fo in order["fulfillment_orders"]:
            if not fo["at_fulfillment_service"]:
                assert fo["location_id"] != numeric(location)
                assert fo["request_status"] == "UNSUBMITTED"

    callbacks = target.wait_for("/fs/fulfillment_order_notification", len(service_fos))
    assert len(callbacks) == len(service_fos)
    for callback in callbacks:
        assert callback.json() == {"kind": "FULFILLMENT_REQUEST"}
        assert callback.signed_by(DEFAULT_CLIENT_SECRET)
        assert callback.headers["x-shopify-shop-domain"] == DEFAULT_SHOP_DOMAIN
    hooks = target.wait_for("/hooks", len(service_fos))
    assert {h.headers["x-shopify-topic"] for h in hooks} == {
        "fulfillment_orders/fulfillment_request_submitted"
    }
    assert all(h.signed_by(DEFAULT_CLIENT_SECRET) for h in hooks)
    submitted_ids = {h.json()["submitted_fulfillment_order"]["id"] for h in hooks}
    assert submitted_ids == set(service_fos)

    # What the service pulls after the ping.
    assert assigned(sandbox_server, "FULFILLMENT_REQUESTED", location) == set(service_fos)
    assert assigned(sandbox_server, "FULFILLMENT_UNSUBMITTED", location) == set()

    # New orders from the merchant-actions control are submitted the same way.
    more = control(
        sandbox_server, SHOP_CONTROLS + "/merchant", {"action": "create_orders", "count": 3}
    )
    assert more.status_code == 200, more.text
    created = more.json()
    assert created["action"] == "create_orders" and created["orders"] == 3
    new_fos = created["service_fulfillment_order_ids"]
    assert len(new_fos) == 3
    assert len(target.wait_for("/fs/fulfillment_order_notification", 15)) == 15
    assert assigned(sandbox_server, "FULFILLMENT_REQUESTED", location) == set(service_fos) | set(
        new_fos
    )


def test_without_auto_submit_orders_wait_for_the_merchant(
    sandbox_server: SandboxServer, receiver: tuple[Receiver, str]
) -> None:
    target, url = receiver
    location = create_service(sandbox_server, url + "/fs")
    seeded = control(
        sandbox_server,
        "/__sandbox/seed",
        {"products": 3, "orders": 4, "seed": 2, "stock_at": "service", "variety": "simple"},
    ).json()["result"]
    service_fos = seeded["service_fulfillment_order_ids"]
    assert len(service_fos) == 4
    assert assigned(sandbox_server, "FULFILLMENT_UNSUBMITTED", location) == set(service_fos)
    assert assigned(sandbox_server, "FULFILLMENT_REQUESTED", location) == set()

    # The merchant submits one order's requests by order id, another by fulfillment order
    # id with a message.
    first, second, third, _fourth = seeded["created_orders"]
    by_order = control(
        sandbox_server,
        SHOP_CONTROLS + "/merchant",
        {"action": "submit_fulfillment_request", "order_id": first["id"]},
    )
    assert by_order.status_code == 200, by_order.text
    assert [fo["request_status"] for fo in by_order.json()["submitted"]] == ["SUBMITTED"]
    second_fo = second["fulfillment_orders"][0]["id"]
    by_fo = control(
        sandbox_server,
        SHOP_CONTROLS + "/merchant",
        {
            "action": "submit_fulfillment_request",
            "fulfillment_order_id": second_fo,
            "message": "gift, please wrap",
            "notify_customer": True,
        },
    )
    assert by_fo.status_code == 200, by_fo.text
    callbacks = target.wait_for("/fs/fulfillment_order_notification", 2)
    assert [c.json() for c in callbacks] == [{"kind": "FULFILLMENT_REQUEST"}] * 2
    assert all(c.signed_by(DEFAULT_CLIENT_SECRET) for c in callbacks)
    first_fo = first["fulfillment_orders"][0]["id"]
    assert assigned(sandbox_server, "FULFILLMENT_REQUESTED", location) == {first_fo, second_fo}
    request = gql(
        sandbox_server,
        """query($id: ID!) { fulfillmentOrder(id: $id) {
             merchantRequests(first: 5) { nodes { kind message requestOptions } } } }""",
        {"id": second_fo},
    )["fulfillmentOrder"]["merchantRequests"]["nodes"]
    assert request == [
        {
            "kind": "FULFILLMENT_REQUEST",
            "message": "gift, please wrap",
            "requestOptions": {"notify_customer": True},
        }
    ]

    # The service accepts; the merchant then asks to cancel, with a message.
    accepted = gql(
        sandbox_server,
        """mutation($id: ID!) { fulfillmentOrderAcceptFulfillmentRequest(id: $id) {
             fulfillmentOrder { status requestStatus } userErrors { message } } }""",
        {"id": first_fo},
    )["fulfillmentOrderAcceptFulfillmentRequest"]
    assert accepted["fulfillmentOrder"] == {"status": "IN_PROGRESS", "requestStatus": "ACCEPTED"}
    cancel_request = control(
        sandbox_server,
        SHOP_CONTROLS + "/merchant",
        {
            "action": "submit_cancellation_request",
            "fulfillment_order_id": numeric(first_fo),
            "message": "customer changed their mind",
        },
    )
    assert cancel_request.status_code == 200, cancel_request.text
    # Shopify keeps ACCEPTED; the pending request is a CANCELLATION_REQUEST merchant request.
    assert cancel_request.json()["fulfillment_order"]["request_status"] == "ACCEPTED"
    callbacks = target.wait_for("/fs/fulfillment_order_notification", 3)
    assert callbacks[-1].json() == {"kind": "CANCELLATION_REQUEST"}
    assert assigned(sandbox_server, "CANCELLATION_REQUESTED", location) == {first_fo}
    kinds = gql(
        sandbox_server,
        """query($id: ID!) { fulfillmentOrder(id: $id) {
             merchantRequests(first: 5) { nodes { kind message } } } }""",
        {"id": first_fo},
    )["fulfillmentOrder"]["merchantRequests"]["nodes"]
    assert kinds[-1] == {"kind": "CANCELLATION_REQUEST", "message": "customer changed their mind"}

    # The merchant cancels an order that was never submitted.
    cancelled = control(
        sandbox_server,
        SHOP_CONTROLS + "/merchant",
        {"action": "cancel_order", "order_id": third["id"], "reason": "CUSTOMER"},
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["order"]["cancel_reason"] == "CUSTOMER"
    order = gql(
        sandbox_server,
        """query($id: ID!) { order(id: $id) { cancelledAt cancelReason
             fulfillmentOrders(first: 5) { nodes { status } } } }""",
        {"id": third["id"]},
    )["order"]
    assert order["cancelledAt"] is not None and order["cancelReason"] == "CUSTOMER"
    assert [n["status"] for n in order["fulfillmentOrders"]["nodes"]] == ["CLOSED"]
    assert third["fulfillment_orders"][0]["id"] not in assigned(
        sandbox_server, "FULFILLMENT_UNSUBMITTED", location
    )
    # Nothing else reached the service: 2 requests and 1 cancellation request.
    assert len(target.at("/fs/fulfillment_order_notification")) == 3
