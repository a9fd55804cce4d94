"""A fulfillment service's whole round trip through GraphQL: the service and its location,
routing of a stocked variant to it, the fulfillment request (callback ping, webhook,
assignedFulfillmentOrders), acceptance, a cancellation request, fulfilment with tracking and
events, and the inventory it moves."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fulfillbridge.sandbox.app import SandboxASGI
from fulfillbridge.sandbox.shops import DEFAULT_ACCESS_TOKEN, DEFAULT_SHOP_DOMAIN

GRAPHQL = "/admin/api/2026-07/graphql.json"
HEADERS = {"X-Shopify-Access-Token": DEFAULT_ACCESS_TOKEN}
CALLBACK = "http://127.0.0.1:8999/shopify"

FO_FIELDS = """id status requestStatus
  assignedLocation { location { id isFulfillmentService } }
  supportedActions { action }
  merchantRequests(first: 5) { nodes { kind message requestOptions } }
  lineItems(first: 5) { nodes { id totalQuantity remainingQuantity sku inventoryItemId
                                variant { id } lineItem { id fulfillableQuantity } } }"""


class Api:
    def __init__(self, client: httpx.AsyncClient, app: SandboxASGI) -> None:
        self.client = client
        self.events: list[tuple[str, dict[str, Any]]] = []
        state = app.sandbox.shops[DEFAULT_SHOP_DOMAIN].state
        state.listeners.append(lambda topic, payload: self.events.append((topic, payload)))

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = await self.client.post(
            GRAPHQL, json={"query": query, "variables": variables or {}}, headers=HEADERS
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def topics(self) -> list[str]:
        return [t for t, _ in self.events]


@pytest.fixture
async def api(sandbox_app: SandboxASGI) -> Any:
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(
        transport=transport, base_url=f"https://{DEFAULT_SHOP_DOMAIN}"
    ) as client:
        yield Api(client, sandbox_app)


async def _service_order(api: Api, quantity: int) -> tuple[dict[str, Any], str, str, str]:
    """A service with a tracked, stocked variant and an order for it; returns
    (service, location id, inventory item id, fulfillment order id)."""
    created = await api(
        """mutation($url: URL) { fulfillmentServiceCreate(name: "Print Partner",
             callbackUrl: $url, trackingSupport: true, inventoryManagement: true) {
             fulfillmentService { id handle serviceName callbackUrl type
               location { id name isFulfillmentService fulfillmentService { handle } } }
             userErrors { field message } } }""",
        {"url": CALLBACK},
    )
    service = created["fulfillmentServiceCreate"]["fulfillmentService"]
    assert service["id"].endswith("?id=true") and service["handle"] == "print-partner"
    assert service["location"]["isFulfillmentService"] is True
    assert service["location"]["fulfillmentService"]["handle"] == "print-partner"
    location = service["location"]["id"]
    product = await api(
        """mutation { productCreate(product: {title: "Tote"}) {
             product { variants(first: 1) { nodes { id inventoryItem { id } } } } } }"""
    )
    variant = product["productCreate"]["product"]["variants"]["nodes"][0]
    item = variant["inventoryItem"]["id"]
    await api(
        """mutation($id: ID!) { inventoryItemUpdate(id: $id, input: {tracked: true, sku: "TOTE-1"})
             { userErrors { message } } }""",
        {"id": item},
    )
    activated = await api(
        """mutation($item: ID!, $loc: ID!) { inventoryActivate(inventoryItemId: $item,
             locationId: $loc, available: 20) @idempotent(key: "tote-at-partner") {
             userErrors { field message } } }""",
        {"item": item, "loc": location},
    )
    assert activated["inventoryActivate"]["userErrors"] == []
    order = await api(
        """mutation($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
             orderCreate(order: $order, options: $options) {
               order { fulfillmentOrders(first: 5) { nodes { id assignedLocation {
                 location { id } } } } }
               userErrors { field message } } }""",
        {
            "order": {"lineItems": [{"variantId": variant["id"], "quantity": quantity}]},
            "options": {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"},
        },
    )
    (fo,) = order["orderCreate"]["order"]["fulfillmentOrders"]["nodes"]
    # The only location that stocks the variant is the service's: the order goes there.
    assert fo["assignedLocation"]["location"]["id"] == location
    return service, location, item, fo["id"]


async def _levels(api: Api, item: str, location: str) -> dict[str, int]:
    data = await api(
        """query($item: ID!, $loc: ID!) { inventoryItem(id: $item) {
             inventoryLevel(locationId: $loc) {
             quantities(names: ["available", "on_hand", "committed"]) { name quantity } } } }""",
        {"item": item, "loc": location},
    )
    quantities = data["inventoryItem"]["inventoryLevel"]["quantities"]
    return {q["name"]: q["quantity"] for q in quantities}


async def _assigned(api: Api, status: str, location: str) -> list[str]:
    data = await api(
        """query($status: FulfillmentOrderAssignmentStatus, $locs: [ID!]) {
             assignedFulfillmentOrders(first: 10, assignmentStatus: $status, locationIds: $locs) {
               nodes { id } } }""",
        {"status": status, "locs": [location]},
    )
    return [n["id"] for n in data["assignedFulfillmentOrders"]["nodes"]]


async def test_fulfillment_request_round_trip(api: Api) -> None:
    _service, location, item, fo_id = await _service_order(api, quantity=3)
    assert await _levels(api, item, location) == {"available": 17, "on_hand": 20, "committed": 3}
    assert await _assigned(api, "FULFILLMENT_UNSUBMITTED", location) == [fo_id]
    foli = (
        await api(
            f"query($id: ID!) {{ fulfillmentOrder(id: $id) {{ {FO_FIELDS} }} }}", {"id": fo_id}
        )
    )["fulfillmentOrder"]["lineItems"]["nodes"][0]
    assert foli["sku"] == "TOTE-1" and foli["inventoryItemId"] == item
    submitted = await api(
        f"""mutation($id: ID!, $lines: [FulfillmentOrderLineItemInput!]) {{
             fulfillmentOrderSubmitFulfillmentRequest(id: $id, message: "rush",
               notifyCustomer: false, fulfillmentOrderLineItems: $lines) {{
               originalFulfillmentOrder {{ id }}
               submittedFulfillmentOrder {{ {FO_FIELDS} }}
               unsubmittedFulfillmentOrder {{ {FO_FIELDS} }}
               userErrors {{ field message }} }} }}""",
        {"id": fo_id, "lines": [{"id": foli["id"], "quantity": 2}]},
    )
    result = submitted["fulfillmentOrderSubmitFulfillmentRequest"]
    sent = result["submittedFulfillmentOrder"]
    rest = result["unsubmittedFulfillmentOrder"]
    assert result["originalFulfillmentOrder"]["id"] == sent["id"] == fo_id
    assert (sent["status"], sent["requestStatus"]) == ("OPEN", "SUBMITTED")
    assert sent["lineItems"]["nodes"][0]["totalQuantity"] == 2
    assert sent["merchantRequests"]["nodes"] == [
        {
            "kind": "FULFILLMENT_REQUEST",
            "message": "rush",
            "requestOptions": {"notify_customer": False},
        }
    ]
    assert (rest["status"], rest["requestStatus"]) == ("OPEN", "UNSUBMITTED")
    assert rest["lineItems"]["nodes"][0]["totalQuantity"] == 1
    callbacks = [p for t, p in api.events if t == "__callback__"]
    assert callbacks == [{"kind": "FULFILLMENT_REQUEST", "callback_url": CALLBACK, "app_id": "1"}]
    webhook = next(
        p for t, p in api.events if t == "fulfillment_orders/fulfillment_request_submitted"
    )
    assert webhook["submitted_fulfillment_order"]["request_status"] == "submitted"
    assert webhook["unsubmitted_fulfillment_order"]["id"] == rest["id"]
    assert await _assigned(api, "FULFILLMENT_REQUESTED", location) == [fo_id]

    accepted = await api(
        """mutation($id: ID!) { fulfillmentOrderAcceptFulfillmentRequest(id: $id, message: "ok") {
             fulfillmentOrder { status requestStatus supportedActions { action } }
             userErrors { field message } } }""",
        {"id": fo_id},
    )
    fo = accepted["fulfillmentOrderAcceptFulfillmentRequest"]["fulfillmentOrder"]
    assert (fo["status"], fo["requestStatus"]) == ("IN_PROGRESS", "ACCEPTED")
    assert await _assigned(api, "FULFILLMENT_ACCEPTED", location) == [fo_id]

    created = await api(
        """mutation($f: FulfillmentInput!) {
             fulfillmentCreate(fulfillment: $f, message: "shipped") {
             fulfillment { id name status displayStatus
               trackingInfo { number url company }
               location { id } service { handle type }
               fulfillmentLineItems(first: 5) { nodes { quantity } } }
             userErrors { field message } } }""",
        {
            "f": {
                "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo_id}],
                "trackingInfo": {
                    "company": "Canada Post",
                    "numbers": ["CP1", "CP2"],
                    "urls": ["https://track.example/CP1", "https://track.example/CP2"],
                },
            }
        },
    )
    fulfillment = created["fulfillmentCreate"]["fulfillment"]
    assert fulfillment["name"] == "#1001.1" and fulfillment["service"]["handle"] == "print-partner"
    assert fulfillment["trackingInfo"] == [
        {"number": "CP1", "url": "https://track.example/CP1", "company": "Canada Post"},
        {"number": "CP2", "url": "https://track.example/CP2", "company": "Canada Post"},
    ]
    assert fulfillment["fulfillmentLineItems"]["nodes"] == [{"quantity": 2}]
    # Two units shipped: on_hand and committed both drop, available does not move.
    assert await _levels(api, item, location) == {"available": 17, "on_hand": 18, "committed": 1}
    order = await api(
        """query($id: ID!) { fulfillmentOrder(id: $id) { status
             order { displayFulfillmentStatus } } }""",
        {"id": fo_id},
    )
    assert order["fulfillmentOrder"] == {
        "status": "CLOSED",
        "order": {"displayFulfillmentStatus": "PARTIALLY_FULFILLED"},
    }
    assert "fulfillments/create" in api.topics()
    event = await api(
        """mutation($e: FulfillmentEventInput!) { fulfillmentEventCreate(fulfillmentEvent: $e) {
             fulfillmentEvent { status happenedAt } userErrors { field message } } }""",
        {"e": {"fulfillmentId": fulfillment["id"], "status": "OUT_FOR_DELIVERY"}},
    )
    assert event["fulfillmentEventCreate"]["fulfillmentEvent"]["status"] == "OUT_FOR_DELIVERY"
    updated = await api(
        """mutation($id: ID!) { fulfillmentTrackingInfoUpdate(fulfillmentId: $id,
             trackingInfoInput: {number: "CP9", company: "Canada Post"}) {
             fulfillment { displayStatus trackingInfo { number } } userErrors { message } } }""",
        {"id": fulfillment["id"]},
    )
    assert updated["fulfillmentTrackingInfoUpdate"]["fulfillment"] == {
        "displayStatus": "OUT_FOR_DELIVERY",
        "trackingInfo": [{"number": "CP9"}],
    }
    assert api.topics().count("fulfillments/update") >= 2


async def test_cancellation_request_and_rejection(api: Api) -> None:
    _service, location, _item, fo_id = await _service_order(api, quantity=1)
    simple = """mutation($id: ID!) { %s(id: $id) { fulfillmentOrder { status requestStatus }
                  userErrors { field message } } }"""
    submit = """mutation($id: ID!) { fulfillmentOrderSubmitFulfillmentRequest(id: $id) {
                  submittedFulfillmentOrder { requestStatus } userErrors { field message } } }"""
    early = await api(simple % "fulfillmentOrderSubmitCancellationRequest", {"id": fo_id})
    assert early["fulfillmentOrderSubmitCancellationRequest"]["fulfillmentOrder"] is None
    assert early["fulfillmentOrderSubmitCancellationRequest"]["userErrors"][0]["field"] is None
    await api(submit, {"id": fo_id})
    rejected = await api(
        """mutation($id: ID!) { fulfillmentOrderRejectFulfillmentRequest(id: $id,
             reason: INVENTORY_OUT_OF_STOCK, message: "none left") {
             fulfillmentOrder { status requestStatus } userErrors { message } } }""",
        {"id": fo_id},
    )
    assert rejected["fulfillmentOrderRejectFulfillmentRequest"]["fulfillmentOrder"] == {
        "status": "OPEN",
        "requestStatus": "REJECTED",
    }
    await api(submit, {"id": fo_id})
    await api(simple % "fulfillmentOrderAcceptFulfillmentRequest", {"id": fo_id})
    requested = await api(simple % "fulfillmentOrderSubmitCancellationRequest", {"id": fo_id})
    assert requested["fulfillmentOrderSubmitCancellationRequest"]["fulfillmentOrder"] == {
        "status": "IN_PROGRESS",
        "requestStatus": "ACCEPTED",
    }
    assert await _assigned(api, "CANCELLATION_REQUESTED", location) == [fo_id]
    kinds = [p["kind"] for t, p in api.events if t == "__callback__"]
    assert kinds == ["FULFILLMENT_REQUEST", "FULFILLMENT_REQUEST", "CANCELLATION_REQUEST"]
    assert "fulfillment_orders/cancellation_request_submitted" in api.topics()
    accepted = await api(simple % "fulfillmentOrderAcceptCancellationRequest", {"id": fo_id})
    assert accepted["fulfillmentOrderAcceptCancellationRequest"]["fulfillmentOrder"] == {
        "status": "CLOSED",
        "requestStatus": "CANCELLATION_ACCEPTED",
    }
    assert await _assigned(api, "CANCELLATION_REQUESTED", location) == []
    listing = await api(
        """{ open: fulfillmentOrders(first: 10) { nodes { id } }
             all: fulfillmentOrders(first: 10, includeClosed: true) { nodes { id } } }"""
    )
    assert fo_id not in [n["id"] for n in listing["open"]["nodes"]]
    assert fo_id in [n["id"] for n in listing["all"]["nodes"]]


async def test_other_apps_do_not_see_assigned_orders(api: Api, sandbox_app: SandboxASGI) -> None:
    _service, location, _item, fo_id = await _service_order(api, quantity=1)
    await api(
        """mutation($id: ID!) { fulfillmentOrderSubmitFulfillmentRequest(id: $id) {
             userErrors { message } } }""",
        {"id": fo_id},
    )
    assert await _assigned(api, "FULFILLMENT_REQUESTED", location) == [fo_id]
    shop = sandbox_app.sandbox.shops[DEFAULT_SHOP_DOMAIN]
    from fulfillbridge.sandbox.domain.services import services_of

    services_of(shop.state).services[
        next(iter(services_of(shop.state).services))
    ].app_id = "someone-else"
    assert await _assigned(api, "FULFILLMENT_REQUESTED", location) == []
