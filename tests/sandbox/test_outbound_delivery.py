"""Outbound webhook and callback delivery to a real local HTTP receiver (127.0.0.1).

The dispatcher runs on the test's event loop; the receiver is a small threaded
``http.server`` that records every request and answers with the status it is told to.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from fulfillbridge.sandbox.domain.catalog import Catalog
from fulfillbridge.sandbox.domain.webhooks import WebhookRegistry
from fulfillbridge.sandbox.faults import FaultSettings
from fulfillbridge.sandbox.outbound import CALLBACK_RETRY_DELAYS, MAX_RETRIES, OutboundDispatcher
from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.sandbox.shops import DEFAULT_CLIENT_SECRET, Sandbox
from fulfillbridge.sandbox.state import ShopState

FAST = 0.00001  # backoff factor: the whole retry schedule takes about 0.13 s


class Receiver:
    """Records POSTs; answers ``status`` (per path, default 200)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status: dict[str, int] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                    )
                    status = receiver.status.get(self.path, 200)
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def at(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    rec.thread.start()
    try:
        yield rec
    finally:
        rec.server.shutdown()
        rec.server.server_close()


def _signature(body: bytes, secret: str = DEFAULT_CLIENT_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _shop(sandbox: Sandbox) -> ShopState:
    return next(iter(sandbox.shops.values())).state


def _stocked_item(shop: ShopState) -> tuple[Catalog, int, int]:
    catalog = shop.part("catalog", Catalog)
    product = catalog.create_product("Tee", default_variant=False)
    variant = catalog.add_variant(product.id, sku="FB-TEE-BLK-M", tracked=True)
    location = min(shop.locations)
    catalog.activate(variant.inventory_item_id, location)
    return catalog, variant.inventory_item_id, location


def _subscribe(shop: ShopState, uri: str, topic: str = "INVENTORY_LEVELS_UPDATE", **kw: Any):
    registry = shop.part("webhooks", WebhookRegistry)
    subscription, errors = registry.create("1", topic, uri=uri, **kw)
    assert errors == [] and subscription is not None
    return registry, subscription


async def _dispatcher(sandbox: Sandbox) -> OutboundDispatcher:
    dispatcher = OutboundDispatcher(sandbox, backoff_factor=FAST)
    await dispatcher.start()
    return dispatcher


async def test_delivery_headers_and_hmac(receiver: Receiver) -> None:
    sandbox = Sandbox()
    shop = _shop(sandbox)
    dispatcher = await _dispatcher(sandbox)
    try:
        catalog, item, location = _stocked_item(shop)
        _, subscription = _subscribe(shop, receiver.url + "/hooks")
        catalog.set_quantity(item, location, "available", 5)
        catalog.set_quantity(item, location, "available", 6)
        assert await dispatcher.idle(5)
    finally:
        await dispatcher.stop()
    first, second = receiver.at("/hooks")
    headers = {k.lower(): v for k, v in first["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert headers["x-shopify-topic"] == "inventory_levels/update"
    assert headers["x-shopify-shop-domain"] == shop.domain
    assert headers["x-shopify-api-version"] == "2026-07"
    assert headers["x-shopify-triggered-at"].endswith("Z")
    assert headers["x-shopify-hmac-sha256"] == _signature(first["body"])
    payload = json.loads(first["body"])
    assert payload["inventory_item_id"] == item and payload["available"] == 5
    second_headers = {k.lower(): v for k, v in second["headers"].items()}
    assert json.loads(second["body"])["available"] == 6
    assert second_headers["x-shopify-webhook-id"] != headers["x-shopify-webhook-id"]
    assert second_headers["x-shopify-event-id"] != headers["x-shopify-event-id"]
    log = dispatcher.deliveries(shop.domain)
    assert [(d["status"], d["attempts"], d["subscription_id"]) for d in log] == [
        ("delivered", 1, subscription.id),
        ("delivered", 1, subscription.id),
    ]
    # The state endpoint sees the log through the shop's parts.
    assert shop.parts["outbound"].dump() == log


async def test_event_id_is_shared_and_include_fields_and_filter(receiver: Receiver) -> None:
    sandbox = Sandbox()
    shop = _shop(sandbox)
    dispatcher = await _dispatcher(sandbox)
    try:
        catalog, item, location = _stocked_item(shop)
        _subscribe(shop, receiver.url + "/a", include_fields=["available"])
        _subscribe(shop, receiver.url + "/b", filter=f"inventory_item_id:{item}")
        _subscribe(shop, receiver.url + "/c", filter="inventory_item_id:1")
        catalog.set_quantity(item, location, "available", 3)
        assert await dispatcher.idle(5)
    finally:
        await dispatcher.stop()
    [a] = receiver.at("/a")
    [b] = receiver.at("/b")
    assert receiver.at("/c") == []  # filtered out
    assert json.loads(a["body"]) == {"available": 3}
    ha = {k.lower(): v for k, v in a["headers"].items()}
    hb = {k.lower(): v for k, v in b["headers"].items()}
    assert ha["x-shopify-event-id"] == hb["x-shopify-event-id"]
    assert ha["x-shopify-webhook-id"] != hb["x-shopify-webhook-id"]


async def test_retries_on_500_then_succeeds(receiver: Receiver) -> None:
    sandbox = Sandbox()
    shop = _shop(sandbox)
    dispatcher = await _dispatcher(sandbox)
    receiver.status["/flaky"] = 500
    try:
        catalog, item, location = _stocked_item(shop)
        _subscribe(shop, receiver.url + "/flaky")
        catalog.set_quantity(item, location, "available", 2)
        for _ in range(200):  # let two attempts fail, then heal the receiver
            if len(receiver.at("/flaky")) >= 2:
                break
            await asyncio.sleep(0.01)
        receiver.status["/flaky"] = 200
        assert await dispatcher.idle(5)
    finally:
        await dispatcher.stop()
    attempts = receiver.at("/flaky")
    assert len(attempts) >= 3
    ids = {r["headers"]["X-Shopify-Webhook-Id"] for r in attempts}
    assert len(ids) == 1  # retries keep the webhook id
    [entry] = dispatcher.deliveries(shop.domain)
    assert entry["status"] == "delivered" and entry["attempts"] == len(attempts)


@pytest.mark.parametrize("status", [500, 302])
async def test_subscription_deleted_after_eight_failed_retries(
    receiver: Receiver, status: int
) -> None:
    sandbox = Sandbox()
    shop = _shop(sandbox)
    dispatcher = await _dispatcher(sandbox)
    receiver.status["/down"] = status  # a redirect is a failure too (not followed)
    try:
        catalog, item, location = _stocked_item(shop)
        registry, subscription = _subscribe(shop, receiver.url + "/down")
        catalog.set_quantity(item, location, "available", 2)
        assert await dispatcher.idle(10)
    finally:
        await dispatcher.stop()
    assert len(receiver.at("/down")) == 1 + MAX_RETRIES
    assert receiver.at("/elsewhere") == []
    assert registry.get(subscription.id) is None
    [entry] = dispatcher.deliveries(shop.domain)
    assert entry["status"] == "failed" and entry["subscription_deleted"] is True
    assert entry["response_status"] == status


async def test_faults_drop_and_duplicate(receiver: Receiver) -> None:
    sandbox = Sandbox()
    shop = _shop(sandbox)
    dispatcher = await _dispatcher(sandbox)
    try:
        catalog, item, location = _stocked_item(shop)
        _subscribe(shop, receiver.url + "/f")
        sandbox.faults = FaultSettings.from_dict({"seed": 1, "webhooks": {"drop": 1.0}})
        catalog.set_quantity(item, location, "available", 1)
        assert await dispatcher.idle(5)
        assert receiver.at("/f") == []
        sandbox.faults = FaultSettings.from_dict({"seed": 1, "webhooks": {"duplicate": 1.0}})
        catalog.set_quantity(item, location, "available", 2)
        assert await dispatcher.idle(5)
    finally:
        await dispatcher.stop()
    first, second = receiver.at("/f")
    assert first["body"] == second["body"]
    assert first["headers"]["X-Shopify-Webhook-Id"] == second["headers"]["X-Shopify-Webhook-Id"]
    statuses = [d["status"] for d in dispatcher.deliveries(shop.domain)]
    assert statuses == ["dropped", "delivered"]


async def test_fault_reorder_swaps_neighbours(receiver: Receiver) -> None:
    sandbox = Sandbox()
    shop = _shop(sandbox)
    dispatcher = await _dispatcher(sandbox)
    try:
        catalog, item, location = _stocked_item(shop)
        _subscribe(shop, receiver.url + "/r")
        # Every delivery is a candidate; a held one is released right after the next.
        sandbox.faults = FaultSettings.from_dict({"seed": 0, "webhooks": {"reorder": 1.0}})
        catalog.set_quantity(item, location, "available", 1)
        catalog.set_quantity(item, location, "available", 2)
        assert await dispatcher.idle(5)
    finally:
        await dispatcher.stop()
    seen = [json.loads(r["body"])["available"] for r in receiver.at("/r")]
    assert sorted(seen) == [1, 2]
    assert seen == [2, 1]


async def test_callback_is_signed_and_posted(receiver: Receiver) -> None:
    sandbox = Sandbox()
    shop = _shop(sandbox)
    dispatcher = await _dispatcher(sandbox)
    try:
        shop.emit(
            "__callback__",
            {"kind": "FULFILLMENT_REQUEST", "callback_url": receiver.url + "/svc", "app_id": "1"},
        )
        assert await dispatcher.idle(5)
    finally:
        await dispatcher.stop()
    [request] = receiver.at("/svc/fulfillment_order_notification")
    assert json.loads(request["body"]) == {"kind": "FULFILLMENT_REQUEST"}
    assert request["headers"]["X-Shopify-Hmac-Sha256"] == _signature(request["body"])
    assert request["headers"]["X-Shopify-Shop-Domain"] == shop.domain


async def test_non_local_address_is_never_contacted() -> None:
    sandbox = Sandbox()
    shop = _shop(sandbox)
    dispatcher = await _dispatcher(sandbox)
    try:
        catalog, item, location = _stocked_item(shop)
        registry, subscription = _subscribe(shop, "https://example.com/hooks")
        catalog.set_quantity(item, location, "available", 1)
        assert await dispatcher.idle(5)
    finally:
        await dispatcher.stop()
    [entry] = dispatcher.deliveries(shop.domain)
    assert entry["status"] == "refused" and entry["attempts"] == 0
    assert registry.get(subscription.id) is not None


async def test_events_from_a_worker_thread_are_delivered(receiver: Receiver) -> None:
    sandbox = Sandbox()
    shop = _shop(sandbox)
    dispatcher = await _dispatcher(sandbox)
    try:
        catalog, item, location = _stocked_item(shop)
        _subscribe(shop, receiver.url + "/t")
        await asyncio.to_thread(catalog.set_quantity, item, location, "available", 4)
        assert await dispatcher.idle(5)
    finally:
        await dispatcher.stop()
    assert len(receiver.at("/t")) == 1


def test_end_to_end_over_http(sandbox_server: SandboxServer, receiver: Receiver) -> None:
    """Subscribe and change stock through the Admin API; the running sandbox delivers."""
    url = sandbox_server.url + "/admin/api/2026-07/graphql.json"
    headers = {"X-Shopify-Access-Token": "shpat_sandbox"}

    def gql(query: str, variables: dict[str, Any] | None = None) -> Any:
        response = httpx.post(
            url, json={"query": query, "variables": variables or {}}, headers=headers, timeout=10
        )
        return response.json()

    created = gql(
        """mutation($uri: String!) { webhookSubscriptionCreate(topic: INVENTORY_LEVELS_UPDATE,
             webhookSubscription: {uri: $uri, format: JSON}) { webhookSubscription { id }
             userErrors { field message } } }""",
        {"uri": receiver.url + "/e2e"},
    )
    assert created["data"]["webhookSubscriptionCreate"]["userErrors"] == []
    product = gql(
        """mutation { productSet(input: {title: "Cap", productOptions: [{name: "Title", values:
             [{name: "Default Title"}]}], variants: [{optionValues: [{optionName: "Title",
             name: "Default Title"}], inventoryItem: {sku: "FB-CAP-BLK", tracked: true}}]}) {
             product { variants(first: 1) { nodes { inventoryItem { id inventoryLevels(first: 1)
             { nodes { location { id } } } } } } } } }"""
    )
    item = product["data"]["productSet"]["product"]["variants"]["nodes"][0]["inventoryItem"]
    location = item["inventoryLevels"]["nodes"][0]["location"]["id"]
    gql(
        """mutation($item: ID!, $loc: ID!) { inventorySetQuantities(input: {name: "available",
             reason: "correction", quantities: [{inventoryItemId: $item, locationId: $loc,
             quantity: 8, changeFromQuantity: 0}]}) @idempotent(key: "e2e") {
             userErrors { message } } }""",
        {"item": item["id"], "loc": location},
    )
    for _ in range(300):
        if receiver.at("/e2e"):
            break
        threading.Event().wait(0.01)
    [request] = receiver.at("/e2e")
    assert json.loads(request["body"])["available"] == 8
    assert request["headers"]["X-Shopify-Hmac-Sha256"] == _signature(request["body"])
    state = httpx.get(sandbox_server.url + "/__sandbox/state", timeout=10).json()
    log = state["parts"]["outbound"]
    assert log[-1]["status"] == "delivered" and log[-1]["url"] == receiver.url + "/e2e"


async def test_fault_delay_holds_each_delivery(receiver: Receiver) -> None:
    sandbox = Sandbox()
    shop = _shop(sandbox)
    dispatcher = await _dispatcher(sandbox)
    loop = asyncio.get_running_loop()
    try:
        catalog, item, location = _stocked_item(shop)
        _subscribe(shop, receiver.url + "/slow")
        sandbox.faults = FaultSettings.from_dict({"webhooks": {"delay_seconds": 0.3}})
        started = loop.time()
        catalog.set_quantity(item, location, "available", 1)
        await asyncio.sleep(0.1)
        assert receiver.at("/slow") == []  # still held back
        assert await dispatcher.idle(5)
        assert loop.time() - started >= 0.3
    finally:
        await dispatcher.stop()
    assert len(receiver.at("/slow")) == 1


async def test_events_before_start_are_delivered_after_start(receiver: Receiver) -> None:
    sandbox = Sandbox()
    shop = _shop(sandbox)
    dispatcher = OutboundDispatcher(sandbox, backoff_factor=FAST)
    dispatcher.attach(shop)
    catalog, item, location = _stocked_item(shop)
    _subscribe(shop, receiver.url + "/early")
    catalog.set_quantity(item, location, "available", 1)
    await dispatcher.start()
    try:
        assert await dispatcher.idle(5)
    finally:
        await dispatcher.stop()
    assert len(receiver.at("/early")) == 1


async def test_a_failed_callback_is_sent_again_until_it_is_answered(receiver: Receiver) -> None:
    path = "/svc/fulfillment_order_notification"
    receiver.status[path] = 503
    sandbox = Sandbox()
    shop = _shop(sandbox)
    dispatcher = await _dispatcher(sandbox)
    try:
        shop.emit(
            "__callback__",
            {"kind": "FULFILLMENT_REQUEST", "callback_url": receiver.url + "/svc", "app_id": "1"},
        )

        async def failed_twice() -> None:
            while len(receiver.at(path)) < 2:
                await asyncio.sleep(0.001)

        await asyncio.wait_for(failed_twice(), 5)
        receiver.status[path] = 200  # the bridge is back
        assert await dispatcher.idle(5)
    finally:
        await dispatcher.stop()
    sent = receiver.at(path)
    assert len(sent) >= 3
    # Every attempt is the same signed ping.
    assert {r["body"] for r in sent} == {b'{"kind": "FULFILLMENT_REQUEST"}'}
    assert all(r["headers"]["X-Shopify-Hmac-Sha256"] == _signature(r["body"]) for r in sent)
    [entry] = dispatcher.deliveries(shop.domain)
    assert entry["status"] == "delivered" and entry["attempts"] == len(sent)


async def test_a_callback_never_answered_gives_up_after_its_schedule(receiver: Receiver) -> None:
    path = "/svc/fulfillment_order_notification"
    receiver.status[path] = 500
    sandbox = Sandbox()
    shop = _shop(sandbox)
    dispatcher = await _dispatcher(sandbox)
    try:
        shop.emit(
            "__callback__",
            {"kind": "CANCELLATION_REQUEST", "callback_url": receiver.url + "/svc", "app_id": "1"},
        )
        assert await dispatcher.idle(10)
    finally:
        await dispatcher.stop()
    [entry] = dispatcher.deliveries(shop.domain)
    assert entry["status"] == "failed"
    assert entry["attempts"] == 1 + len(CALLBACK_RETRY_DELAYS) == len(receiver.at(path))
    assert entry["subscription_deleted"] is False
