"""The fulfillment-order lifecycle as Shopify was measured answering it (API 2026-04 and
2026-07), pinned over the sandbox's real HTTP GraphQL endpoint: cancellation requests,
closing, moves and splits of whole lines, split and merge validation and batches, progress
reports, fulfillments across several fulfillment orders and cancelling an order whose work
a fulfillment service accepted. Each test also sends the broken input Shopify refuses."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tests.sandbox._shop_client import ShopClient, create_service

from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.serving import BackgroundServer

WAIT_SECONDS = 30.0
INVALID_QUANTITY = "Invalid fulfillment order line item quantity requested."
ADDRESS = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "address1": "12 Analytical Row",
    "city": "London",
    "zip": "N1 9GU",
    "countryCode": "GB",
}
FO_FIELDS = """id status requestStatus
  supportedActions { action }
  assignedLocation { location { id } }
  merchantRequests(first: 10) { nodes { kind message } }
  lineItems(first: 10) { nodes { id totalQuantity remainingQuantity lineItem { id } } }"""
FO = "query($id: ID!) { fulfillmentOrder(id: $id) { " + FO_FIELDS + " } }"
ORDER_FOS = (
    "query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 20) { nodes { "
    + FO_FIELDS
    + " } } } }"
)
SIMPLE = (
    "mutation($id: ID!) { %s(id: $id) { fulfillmentOrder { "
    + FO_FIELDS
    + " } userErrors { field message } } }"
)


# ----------------------------------------------------------------------- shop set-up
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


@pytest.fixture
def shop(sandbox_server: SandboxServer) -> ShopClient:
    return ShopClient(sandbox_server.url)


@pytest.fixture
def hooks(shop: ShopClient) -> Iterator[tuple[Hooks, str]]:
    target = Hooks()
    with BackgroundServer(target.app) as server:
        yield target, server.url


def _subscribe(shop: ShopClient, url: str, *topics: str) -> None:
    for topic in topics:
        data = shop(
            """mutation($topic: WebhookSubscriptionTopic!, $uri: String!) {
                 webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri}) {
                   userErrors { field message } } }""",
            {"topic": topic, "uri": url + "/hooks"},
        )
        assert data["webhookSubscriptionCreate"]["userErrors"] == []


def _merchant_locations(shop: ShopClient) -> tuple[str, str]:
    """The shop's two merchant locations (the seed control adds them when missing)."""
    seeded = shop.seed(products=0, orders=0)
    first, second = seeded["locations"]
    return f"gid://shopify/Location/{first}", f"gid://shopify/Location/{second}"


def _variant_at(shop: ShopClient, location: str, title: str) -> str:
    """A tracked variant stocked only at ``location`` (so orders route there)."""
    created = shop(
        """mutation($product: ProductCreateInput!) { productCreate(product: $product) {
             product { variants(first: 1) { nodes { id inventoryItem { id } } } }
             userErrors { field message } } }""",
        {"product": {"title": title}},
    )["productCreate"]
    assert created["userErrors"] == []
    variant = created["product"]["variants"]["nodes"][0]
    item = variant["inventoryItem"]["id"]
    tracked = shop(
        """mutation($id: ID!) { inventoryItemUpdate(id: $id, input: {tracked: true}) {
             userErrors { field message } } }""",
        {"id": item},
    )
    assert tracked["inventoryItemUpdate"]["userErrors"] == []
    activated = shop(
        """mutation($item: ID!, $location: ID!) {
             inventoryActivate(inventoryItemId: $item, locationId: $location, available: 50)
             @idempotent(key: "fidelity-activate") { userErrors { field message } } }""",
        {"item": item, "location": location},
    )
    assert activated["inventoryActivate"]["userErrors"] == []
    variant_id: str = variant["id"]
    return variant_id


def _order(shop: ShopClient, lines: list[tuple[str, int]], *, paid: bool = False) -> str:
    order: dict[str, Any] = {
        "email": "buyer@example.com",
        "shippingAddress": ADDRESS,
        "lineItems": [{"variantId": v, "quantity": q} for v, q in lines],
    }
    if paid:
        order["transactions"] = [
            {
                "kind": "SALE",
                "status": "SUCCESS",
                "amountSet": {"shopMoney": {"amount": "100.00", "currencyCode": "USD"}},
            }
        ]
    created = shop(
        """mutation($order: OrderCreateOrderInput!) { orderCreate(order: $order) {
             order { id } userErrors { field message } } }""",
        {"order": order},
    )["orderCreate"]
    assert created["userErrors"] == [], created
    order_id: str = created["order"]["id"]
    return order_id


def _fos(shop: ShopClient, order_id: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = shop(ORDER_FOS, {"id": order_id})["order"]["fulfillmentOrders"][
        "nodes"
    ]
    return nodes


def _fo(shop: ShopClient, fo_id: str) -> dict[str, Any]:
    node: dict[str, Any] = shop(FO, {"id": fo_id})["fulfillmentOrder"]
    return node


def _actions(fo: dict[str, Any]) -> list[str]:
    return [a["action"] for a in fo["supportedActions"]]


def _lines(fo: dict[str, Any]) -> list[tuple[int, int]]:
    return [(n["totalQuantity"], n["remainingQuantity"]) for n in fo["lineItems"]["nodes"]]


def _simple(shop: ShopClient, mutation: str, fo_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = shop(SIMPLE % mutation, {"id": fo_id})[mutation]
    return answer


def _accepted_service_fo(shop: ShopClient, quantity: int = 2) -> tuple[str, str, str]:
    """-> (order id, fulfillment order id, service location id): an order whose only
    fulfillment order is at a fulfillment service that accepted the request."""
    location = create_service(shop)
    variant = _variant_at(shop, location, "Service mug")
    order_id = _order(shop, [(variant, quantity)])
    (fo,) = _fos(shop, order_id)
    assert fo["assignedLocation"]["location"]["id"] == location
    submitted = shop(
        """mutation($id: ID!) { fulfillmentOrderSubmitFulfillmentRequest(id: $id) {
             submittedFulfillmentOrder { requestStatus } userErrors { field message } } }""",
        {"id": fo["id"]},
    )["fulfillmentOrderSubmitFulfillmentRequest"]
    assert submitted["userErrors"] == []
    accepted = _simple(shop, "fulfillmentOrderAcceptFulfillmentRequest", fo["id"])
    assert accepted["userErrors"] == []
    assert accepted["fulfillmentOrder"]["status"] == "IN_PROGRESS"
    return order_id, fo["id"], location


def _request_cancellation(shop: ShopClient, fo_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = shop(
        """mutation($id: ID!) { fulfillmentOrderSubmitCancellationRequest(id: $id,
             message: "Customer changed their mind") { fulfillmentOrder { """
        + FO_FIELDS
        + " } userErrors { field message } } }",
        {"id": fo_id},
    )["fulfillmentOrderSubmitCancellationRequest"]
    return answer


def _assigned(shop: ShopClient, status: str, location: str) -> list[str]:
    nodes = shop(
        """query($status: FulfillmentOrderAssignmentStatus, $loc: [ID!]) {
             assignedFulfillmentOrders(first: 20, assignmentStatus: $status,
               locationIds: $loc) { nodes { id } } }""",
        {"status": status, "loc": [location]},
    )["assignedFulfillmentOrders"]["nodes"]
    return [n["id"] for n in nodes]


# ------------------------------------------------------------------ cancellation requests
def test_a_cancellation_request_keeps_accepted_and_waits_as_a_merchant_request(
    shop: ShopClient,
) -> None:
    order_id, fo_id, location = _accepted_service_fo(shop)
    # Nothing to answer yet: the service cannot accept or reject a cancellation.
    early = _simple(shop, "fulfillmentOrderAcceptCancellationRequest", fo_id)
    assert early["fulfillmentOrder"] is None
    assert early["userErrors"][0]["field"] is None

    requested = _request_cancellation(shop, fo_id)
    assert requested["userErrors"] == []
    fo = requested["fulfillmentOrder"]
    assert (fo["status"], fo["requestStatus"]) == ("IN_PROGRESS", "ACCEPTED")
    assert [r["kind"] for r in fo["merchantRequests"]["nodes"]] == [
        "FULFILLMENT_REQUEST",
        "CANCELLATION_REQUEST",
    ]
    assert fo["merchantRequests"]["nodes"][-1]["message"] == "Customer changed their mind"
    assert _actions(fo) == ["CREATE_FULFILLMENT"]
    assert _assigned(shop, "CANCELLATION_REQUESTED", location) == [fo_id]
    assert _assigned(shop, "FULFILLMENT_ACCEPTED", location) == []
    again = _request_cancellation(shop, fo_id)
    assert again["fulfillmentOrder"] is None
    assert "pending cancellation request" in again["userErrors"][0]["message"]

    answered = _simple(shop, "fulfillmentOrderAcceptCancellationRequest", fo_id)
    assert answered["userErrors"] == []
    closed = answered["fulfillmentOrder"]
    assert (closed["status"], closed["requestStatus"]) == ("CLOSED", "CANCELLATION_ACCEPTED")
    assert _lines(closed) == [(0, 0)]
    assert _actions(closed) == []
    assert _assigned(shop, "CANCELLATION_REQUESTED", location) == []
    # The work left is the merchant's again, on a replacement at the same location.
    original, replacement = _fos(shop, order_id)
    assert original["id"] == fo_id
    assert (replacement["status"], replacement["requestStatus"]) == ("OPEN", "UNSUBMITTED")
    assert _lines(replacement) == [(2, 2)]
    assert replacement["assignedLocation"]["location"]["id"] == location
    # A second answer finds nothing pending.
    late = _simple(shop, "fulfillmentOrderRejectCancellationRequest", fo_id)
    assert late["fulfillmentOrder"] is None
    assert late["userErrors"][0]["message"] == (
        "Cannot reject cancellation for a fulfillment order with request status "
        "cancellation_accepted."
    )


def test_a_rejected_cancellation_request_leaves_the_work_with_the_service(
    shop: ShopClient,
) -> None:
    _order_id, fo_id, location = _accepted_service_fo(shop, quantity=1)
    assert _request_cancellation(shop, fo_id)["userErrors"] == []
    rejected = _simple(shop, "fulfillmentOrderRejectCancellationRequest", fo_id)
    assert rejected["userErrors"] == []
    fo = rejected["fulfillmentOrder"]
    assert (fo["status"], fo["requestStatus"]) == ("IN_PROGRESS", "CANCELLATION_REJECTED")
    assert _lines(fo) == [(1, 1)]
    assert _actions(fo) == ["CREATE_FULFILLMENT", "REQUEST_CANCELLATION"]
    assert _assigned(shop, "CANCELLATION_REQUESTED", location) == []
    assert _assigned(shop, "FULFILLMENT_ACCEPTED", location) == [fo_id]
    # Answered once: accepting it now is refused and changes nothing.
    late = _simple(shop, "fulfillmentOrderAcceptCancellationRequest", fo_id)
    assert late["fulfillmentOrder"] is None and late["userErrors"]
    assert _fo(shop, fo_id)["requestStatus"] == "CANCELLATION_REJECTED"


def test_the_merchant_may_cancel_while_the_request_waits(shop: ShopClient) -> None:
    # Shopify docs (fulfillmentOrderCancel): it works while a cancellation request is pending.
    order_id, fo_id, _location = _accepted_service_fo(shop, quantity=1)
    assert _request_cancellation(shop, fo_id)["userErrors"] == []
    cancelled = shop(
        """mutation($id: ID!) { fulfillmentOrderCancel(id: $id) {
             fulfillmentOrder { id status } replacementFulfillmentOrder { id status
               requestStatus } userErrors { field message } } }""",
        {"id": fo_id},
    )["fulfillmentOrderCancel"]
    assert cancelled["userErrors"] == []
    assert cancelled["fulfillmentOrder"]["status"] == "CLOSED"
    replacement = cancelled["replacementFulfillmentOrder"]
    assert (replacement["status"], replacement["requestStatus"]) == ("OPEN", "UNSUBMITTED")
    answered = _simple(shop, "fulfillmentOrderAcceptCancellationRequest", fo_id)
    assert answered["fulfillmentOrder"] is None and answered["userErrors"]
    assert len(_fos(shop, order_id)) == 2


# ---------------------------------------------------------------------------- close
def test_a_closed_request_can_be_sent_again(shop: ShopClient) -> None:
    _order_id, fo_id, _location = _accepted_service_fo(shop, quantity=1)
    closed = shop(
        """mutation($id: ID!) { fulfillmentOrderClose(id: $id, message: "Out of blanks") {
             fulfillmentOrder { """
        + FO_FIELDS
        + " } userErrors { field message } } }",
        {"id": fo_id},
    )["fulfillmentOrderClose"]
    assert closed["userErrors"] == []
    fo = closed["fulfillmentOrder"]
    expected = ["REQUEST_FULFILLMENT", "CREATE_FULFILLMENT", "HOLD", "MOVE"]
    assert (fo["status"], fo["requestStatus"]) == ("INCOMPLETE", "CLOSED")
    assert _actions(fo) == expected
    assert _actions(_fo(shop, fo_id)) == expected
    # Closing twice is refused.
    twice = _simple(shop, "fulfillmentOrderClose", fo_id)
    assert twice["fulfillmentOrder"] is None
    assert twice["userErrors"] == [
        {
            "field": None,
            "message": "Fulfillment order must have an accepted fulfillment request to be closed.",
        }
    ]
    again = shop(
        """mutation($id: ID!) { fulfillmentOrderSubmitFulfillmentRequest(id: $id,
             message: "Please try again") { submittedFulfillmentOrder { id status
             requestStatus } userErrors { field message } } }""",
        {"id": fo_id},
    )["fulfillmentOrderSubmitFulfillmentRequest"]
    assert again["userErrors"] == []
    assert again["submittedFulfillmentOrder"] == {
        "id": fo_id,
        "status": "OPEN",
        "requestStatus": "SUBMITTED",
    }
    accepted = _simple(shop, "fulfillmentOrderAcceptFulfillmentRequest", fo_id)
    assert accepted["fulfillmentOrder"]["requestStatus"] == "ACCEPTED"


def test_a_merchant_fulfils_work_its_service_gave_up(shop: ShopClient) -> None:
    _order_id, fo_id, _location = _accepted_service_fo(shop, quantity=2)
    assert _simple(shop, "fulfillmentOrderClose", fo_id)["userErrors"] == []
    created = shop(
        """mutation($fo: ID!) { fulfillmentCreate(fulfillment: {
             lineItemsByFulfillmentOrder: [{fulfillmentOrderId: $fo}]}) {
             fulfillment { fulfillmentLineItems(first: 5) { nodes { quantity } } }
             userErrors { field message } } }""",
        {"fo": fo_id},
    )["fulfillmentCreate"]
    assert created["userErrors"] == []
    assert created["fulfillment"]["fulfillmentLineItems"]["nodes"] == [{"quantity": 2}]
    assert _fo(shop, fo_id)["status"] == "CLOSED"


# ------------------------------------------------------------------- moves and splits
def test_a_line_moved_or_split_off_whole_leaves_the_original(shop: ShopClient) -> None:
    first_location, second_location = _merchant_locations(shop)
    mug = _variant_at(shop, first_location, "Mug")
    cap = _variant_at(shop, first_location, "Cap")
    tee = _variant_at(shop, first_location, "Tee")
    order_id = _order(shop, [(mug, 2), (cap, 1), (tee, 3)])
    (fo,) = _fos(shop, order_id)
    mug_line, cap_line, tee_line = (n["id"] for n in fo["lineItems"]["nodes"])
    moved = shop(
        """mutation($id: ID!, $loc: ID!, $lines: [FulfillmentOrderLineItemInput!]) {
             fulfillmentOrderMove(id: $id, newLocationId: $loc,
               fulfillmentOrderLineItems: $lines) {
               movedFulfillmentOrder { """
        + FO_FIELDS
        + """ } originalFulfillmentOrder { """
        + FO_FIELDS
        + """ } userErrors { field message } } }""",
        {
            "id": fo["id"],
            "loc": second_location,
            "lines": [{"id": mug_line, "quantity": 2}, {"id": tee_line, "quantity": 1}],
        },
    )["fulfillmentOrderMove"]
    assert moved["userErrors"] == []
    original = moved["originalFulfillmentOrder"]
    # The mug moved whole: its line is gone; the tee moved in part: its line stays.
    assert [n["id"] for n in original["lineItems"]["nodes"]] == [cap_line, tee_line]
    assert _lines(original) == [(1, 1), (2, 2)]
    assert _lines(moved["movedFulfillmentOrder"]) == [(2, 2), (1, 1)]
    assert _lines(_fo(shop, fo["id"])) == [(1, 1), (2, 2)]

    split = shop(
        """mutation($splits: [FulfillmentOrderSplitInput!]!) {
             fulfillmentOrderSplit(fulfillmentOrderSplits: $splits) {
               fulfillmentOrderSplits { fulfillmentOrder { id lineItems(first: 5) {
                 nodes { id totalQuantity remainingQuantity } } }
                 remainingFulfillmentOrder { id lineItems(first: 5) {
                 nodes { totalQuantity remainingQuantity } } } }
               userErrors { field message code } } }""",
        {
            "splits": [
                {
                    "fulfillmentOrderId": fo["id"],
                    "fulfillmentOrderLineItems": [{"id": cap_line, "quantity": 1}],
                }
            ]
        },
    )["fulfillmentOrderSplit"]
    assert split["userErrors"] == []
    (result,) = split["fulfillmentOrderSplits"]
    assert [n["id"] for n in result["fulfillmentOrder"]["lineItems"]["nodes"]] == [tee_line]
    assert result["remainingFulfillmentOrder"]["lineItems"]["nodes"] == [
        {"totalQuantity": 1, "remainingQuantity": 1}
    ]


# ------------------------------------------------------------------ split validation
SPLIT = """mutation($splits: [FulfillmentOrderSplitInput!]!) {
  fulfillmentOrderSplit(fulfillmentOrderSplits: $splits) {
    fulfillmentOrderSplits { fulfillmentOrder { id } remainingFulfillmentOrder { id } }
    userErrors { field message code } } }"""


def _split_errors(shop: ShopClient, splits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    body = shop.raw(SPLIT, {"splits": splits})
    assert "errors" not in body, body["errors"]
    answer = body["data"]["fulfillmentOrderSplit"]
    assert answer["fulfillmentOrderSplits"] is None
    errors: list[dict[str, Any]] = answer["userErrors"]
    return errors


def _one_line_fo(shop: ShopClient, quantity: int) -> tuple[str, str, str]:
    """-> (order id, fulfillment order id, its line id) at a merchant location."""
    location, _second = _merchant_locations(shop)
    variant = _variant_at(shop, location, "Poster")
    order_id = _order(shop, [(variant, quantity)])
    (fo,) = _fos(shop, order_id)
    return order_id, fo["id"], fo["lineItems"]["nodes"][0]["id"]


def test_split_refuses_empty_zero_and_unknown_and_makes_nothing(shop: ShopClient) -> None:
    order_id, fo_id, line = _one_line_fo(shop, 3)
    assert _split_errors(
        shop, [{"fulfillmentOrderId": fo_id, "fulfillmentOrderLineItems": []}]
    ) == [
        {
            "field": ["fulfillmentOrderSplits", "0", "fulfillmentOrderLineItems"],
            "message": "There must be at least one item selected in this fulfillment to split it.",
            "code": "NO_LINE_ITEMS_PROVIDED_TO_SPLIT",
        }
    ]
    (zero,) = _split_errors(
        shop,
        [{"fulfillmentOrderId": fo_id, "fulfillmentOrderLineItems": [{"id": line, "quantity": 0}]}],
    )
    assert (zero["code"], zero["message"]) == (
        "GREATER_THAN",
        "You must select at least one item to split into a new fulfillment order.",
    )
    assert _split_errors(
        shop,
        [
            {
                "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/999999999",
                "fulfillmentOrderLineItems": [{"id": line, "quantity": 1}],
            }
        ],
    ) == [
        {
            "field": None,
            "message": "Fulfillment order does not exist.",
            "code": "FULFILLMENT_ORDER_NOT_FOUND",
        }
    ]
    (fo,) = _fos(shop, order_id)
    assert _lines(fo) == [(3, 3)]


def test_a_split_batch_with_one_bad_entry_changes_nothing(shop: ShopClient) -> None:
    order_id, fo_id, line = _one_line_fo(shop, 3)
    _other_order, other_fo, other_line = _one_line_fo(shop, 2)
    errors = _split_errors(
        shop,
        [
            {
                "fulfillmentOrderId": fo_id,
                "fulfillmentOrderLineItems": [{"id": line, "quantity": 1}],
            },
            {
                "fulfillmentOrderId": other_fo,
                "fulfillmentOrderLineItems": [{"id": other_line, "quantity": 5}],
            },
        ],
    )
    assert errors == [{"field": None, "message": INVALID_QUANTITY, "code": None}]
    (fo,) = _fos(shop, order_id)
    assert _lines(fo) == [(3, 3)]
    # Two entries on one fulfillment order count together: 2 + 1 of 3 takes everything.
    errors = _split_errors(
        shop,
        [
            {
                "fulfillmentOrderId": fo_id,
                "fulfillmentOrderLineItems": [{"id": line, "quantity": 2}],
            },
            {
                "fulfillmentOrderId": fo_id,
                "fulfillmentOrderLineItems": [{"id": line, "quantity": 2}],
            },
        ],
    )
    assert errors == [{"field": None, "message": INVALID_QUANTITY, "code": None}]
    assert len(_fos(shop, order_id)) == 1


# ------------------------------------------------------------------------------ merge
MERGE = """mutation($inputs: [FulfillmentOrderMergeInput!]!) {
  fulfillmentOrderMerge(fulfillmentOrderMergeInputs: $inputs) {
    fulfillmentOrderMerges { fulfillmentOrder { id lineItems(first: 5) {
      nodes { totalQuantity remainingQuantity } } } }
    userErrors { field message code } } }"""


def _split_in_two(shop: ShopClient, quantity: int) -> tuple[str, str, str, str]:
    """-> (order id, original fulfillment order, split-off one, the split-off's line)."""
    order_id, fo_id, line = _one_line_fo(shop, quantity)
    split = shop(
        SPLIT,
        {
            "splits": [
                {
                    "fulfillmentOrderId": fo_id,
                    "fulfillmentOrderLineItems": [{"id": line, "quantity": 1}],
                }
            ]
        },
    )["fulfillmentOrderSplit"]
    assert split["userErrors"] == []
    created = split["fulfillmentOrderSplits"][0]["remainingFulfillmentOrder"]["id"]
    created_line = _fo(shop, created)["lineItems"]["nodes"][0]["id"]
    return order_id, fo_id, created, created_line


def test_a_merge_batch_with_one_bad_pair_changes_nothing(shop: ShopClient) -> None:
    first_order, first_a, first_b, _line = _split_in_two(shop, 3)
    second_order, second_a, second_b, second_line = _split_in_two(shop, 2)
    body = shop.raw(
        MERGE,
        {
            "inputs": [
                {
                    "mergeIntents": [
                        {"fulfillmentOrderId": first_a},
                        {"fulfillmentOrderId": first_b},
                    ]
                },
                {
                    "mergeIntents": [
                        {"fulfillmentOrderId": second_a},
                        {
                            "fulfillmentOrderId": second_b,
                            "fulfillmentOrderLineItems": [{"id": second_line, "quantity": 4}],
                        },
                    ]
                },
            ]
        },
    )
    assert "errors" not in body
    answer = body["data"]["fulfillmentOrderMerge"]
    assert answer["fulfillmentOrderMerges"] is None
    assert answer["userErrors"] == [{"field": None, "message": INVALID_QUANTITY, "code": None}]
    assert [fo["status"] for fo in _fos(shop, first_order)] == ["OPEN", "OPEN"]
    assert [_lines(fo) for fo in _fos(shop, second_order)] == [[(1, 1)], [(1, 1)]]

    unknown = shop(
        MERGE,
        {
            "inputs": [
                {
                    "mergeIntents": [
                        {"fulfillmentOrderId": first_a},
                        {"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/999999999"},
                    ]
                }
            ]
        },
    )["fulfillmentOrderMerge"]
    assert unknown["userErrors"] == [
        {
            "field": None,
            "message": "Fulfillment order does not exist.",
            "code": "FULFILLMENT_ORDER_NOT_FOUND",
        }
    ]

    merged = shop(
        MERGE,
        {
            "inputs": [
                {
                    "mergeIntents": [
                        {"fulfillmentOrderId": first_a},
                        {"fulfillmentOrderId": first_b},
                    ]
                },
                {
                    "mergeIntents": [
                        {"fulfillmentOrderId": second_a},
                        {
                            "fulfillmentOrderId": second_b,
                            "fulfillmentOrderLineItems": [{"id": second_line, "quantity": 1}],
                        },
                    ]
                },
            ]
        },
    )["fulfillmentOrderMerge"]
    assert merged["userErrors"] == []
    assert [_lines(m["fulfillmentOrder"]) for m in merged["fulfillmentOrderMerges"]] == [
        [(3, 3)],
        [(2, 2)],
    ]
    assert [fo["status"] for fo in _fos(shop, second_order)] == ["OPEN", "CLOSED"]


# --------------------------------------------------------------------- progress reports
REPORT = """mutation($id: ID!, $report: FulfillmentOrderReportProgressInput) {
  fulfillmentOrderReportProgress(id: $id, progressReport: $report) {
    fulfillmentOrder { id status } userErrors { field message code } } }"""


def test_progress_reports_keep_their_notes_and_refuse_held_work(
    shop: ShopClient, hooks: tuple[Hooks, str]
) -> None:
    received, url = hooks
    _subscribe(shop, url, "FULFILLMENT_ORDERS_PROGRESS_REPORTED")
    _order_id, fo_id, _line = _one_line_fo(shop, 2)
    too_long = shop(REPORT, {"id": fo_id, "report": {"reasonNotes": "x" * 257}})
    assert too_long["fulfillmentOrderReportProgress"]["userErrors"][0]["field"] == [
        "progressReport",
        "reasonNotes",
    ]
    assert _fo(shop, fo_id)["status"] == "OPEN"

    reported = shop(REPORT, {"id": fo_id, "report": {"reasonNotes": "Artwork approved"}})
    assert reported["fulfillmentOrderReportProgress"] == {
        "fulfillmentOrder": {"id": fo_id, "status": "IN_PROGRESS"},
        "userErrors": [],
    }
    (body,) = received.of("fulfillment_orders/progress_reported")
    assert body["fulfillment_order"] == {"id": fo_id, "status": "in_progress"}
    assert body["initial_status"] == "open"
    assert body["progress_report"]["reason_notes"] == "Artwork approved"

    held = shop(
        """mutation($id: ID!) { fulfillmentOrderHold(id: $id, fulfillmentHold: {
             reason: OTHER, reasonNotes: "Check the address"}) {
             fulfillmentOrder { status } userErrors { field message } } }""",
        {"id": fo_id},
    )["fulfillmentOrderHold"]
    assert held["userErrors"] == [] and held["fulfillmentOrder"]["status"] == "ON_HOLD"
    refused = shop(REPORT, {"id": fo_id, "report": None})["fulfillmentOrderReportProgress"]
    assert refused == {
        "fulfillmentOrder": None,
        "userErrors": [
            {
                "field": None,
                "message": "Cannot report progress on a fulfillment order in this state.",
                "code": "FULFILLMENT_ORDER_STATUS_INVALID",
            }
        ],
    }


# ----------------------------------------------------------- fulfillments across orders
CREATE = """mutation($groups: [FulfillmentOrderLineItemsInput!]!) {
  fulfillmentCreate(fulfillment: {lineItemsByFulfillmentOrder: $groups}) {
    fulfillment { id fulfillmentLineItems(first: 5) { nodes { quantity lineItem { id } } } }
    userErrors { field message } } }"""


def _create_errors(shop: ShopClient, groups: list[dict[str, Any]]) -> list[str]:
    answer = shop(CREATE, {"groups": groups})["fulfillmentCreate"]
    assert answer["fulfillment"] is None
    return [e["message"] for e in answer["userErrors"]]


def _number(global_id: str) -> str:
    return global_id.rsplit("/", 1)[1]


def test_one_fulfillment_covers_one_order_at_one_location(shop: ShopClient) -> None:
    first_location, second_location = _merchant_locations(shop)
    here = _variant_at(shop, first_location, "Here")
    there = _variant_at(shop, second_location, "There")
    one = _order(shop, [(here, 1)])
    two = _order(shop, [(here, 1)])
    (fo_one,) = _fos(shop, one)
    (fo_two,) = _fos(shop, two)
    assert _create_errors(
        shop, [{"fulfillmentOrderId": fo_one["id"]}, {"fulfillmentOrderId": fo_two["id"]}]
    ) == [
        "All fulfillment orders must belong to the same order. Multiple orders with ids "
        f"[{_number(one)}, {_number(two)}] were found."
    ]
    split_order = _order(shop, [(here, 1), (there, 1)])
    at_first, at_second = _fos(shop, split_order)
    assert _create_errors(
        shop, [{"fulfillmentOrderId": at_first["id"]}, {"fulfillmentOrderId": at_second["id"]}]
    ) == [
        "All fulfillment orders must be assigned to a single location. Multiple locations "
        f"with ids [{_number(first_location)}, {_number(second_location)}] were found."
    ]
    assert _create_errors(
        shop,
        [
            {
                "fulfillmentOrderId": at_first["id"],
                "fulfillmentOrderLineItems": [
                    {"id": "gid://shopify/FulfillmentOrderLineItem/999999999", "quantity": 1}
                ],
            }
        ],
    ) == ["Fulfillment order line item does not exist."]
    # Nothing was fulfilled by the refused calls.
    assert all(_lines(fo) == [(1, 1)] for fo in _fos(shop, split_order))


def test_units_of_one_line_from_two_fulfillment_orders_make_one_fulfillment_line(
    shop: ShopClient,
) -> None:
    order_id, first, second, _line = _split_in_two(shop, 3)
    created = shop(
        CREATE, {"groups": [{"fulfillmentOrderId": first}, {"fulfillmentOrderId": second}]}
    )["fulfillmentCreate"]
    assert created["userErrors"] == []
    (line,) = created["fulfillment"]["fulfillmentLineItems"]["nodes"]
    assert line["quantity"] == 3
    assert [fo["status"] for fo in _fos(shop, order_id)] == ["CLOSED", "CLOSED"]
    # Cancelling the fulfillment gives each fulfillment order its own units back.
    cancelled = shop(
        """mutation($id: ID!) { fulfillmentCancel(id: $id) { fulfillment { status }
             userErrors { field message } } }""",
        {"id": created["fulfillment"]["id"]},
    )["fulfillmentCancel"]
    assert cancelled["userErrors"] == []
    assert [_lines(fo) for fo in _fos(shop, order_id)] == [[(2, 2)], [(1, 1)]]


# ------------------------------------------------------------ cancelling an order
def test_cancelling_an_order_asks_the_service_to_cancel_accepted_work(
    shop: ShopClient, hooks: tuple[Hooks, str]
) -> None:
    received, url = hooks
    _subscribe(shop, url, "FULFILLMENT_ORDERS_CANCELLATION_REQUEST_SUBMITTED")
    order_id, fo_id, location = _accepted_service_fo(shop, quantity=1)
    cancel = """mutation($id: ID!) { orderCancel(orderId: $id, reason: CUSTOMER,
                  restock: true, refund: false) {
                  job { id } orderCancelUserErrors { field message code } } }"""
    answer = shop(cancel, {"id": order_id})["orderCancel"]
    assert answer["orderCancelUserErrors"] == []
    fo = _fo(shop, fo_id)
    assert (fo["status"], fo["requestStatus"]) == ("IN_PROGRESS", "ACCEPTED")
    assert fo["merchantRequests"]["nodes"][-1]["kind"] == "CANCELLATION_REQUEST"
    assert _assigned(shop, "CANCELLATION_REQUESTED", location) == [fo_id]
    (body,) = received.of("fulfillment_orders/cancellation_request_submitted")
    assert body["fulfillment_order"]["id"] == fo_id
    # Cancelling it again is refused, as for any cancelled order.
    again = shop(cancel, {"id": order_id})["orderCancel"]["orderCancelUserErrors"]
    assert again == [
        {
            "field": ["orderId"],
            "message": "Cannot cancel an order that has already been canceled",
            "code": "INVALID",
        }
    ]
    answered = _simple(shop, "fulfillmentOrderAcceptCancellationRequest", fo_id)
    assert answered["userErrors"] == []
    closed = answered["fulfillmentOrder"]
    assert (closed["status"], closed["requestStatus"]) == ("CLOSED", "CANCELLATION_ACCEPTED")
    assert _lines(closed) == [(0, 0)]
    # The order is cancelled: no replacement takes the work back.
    assert [f["id"] for f in _fos(shop, order_id)] == [fo_id]


def test_an_order_with_a_fulfillment_still_cannot_be_cancelled(shop: ShopClient) -> None:
    order_id, fo_id, _line = _one_line_fo(shop, 1)
    created = shop(CREATE, {"groups": [{"fulfillmentOrderId": fo_id}]})["fulfillmentCreate"]
    assert created["userErrors"] == []
    refused = shop(
        """mutation($id: ID!) { orderCancel(orderId: $id, reason: OTHER, restock: false,
             refund: false) { orderCancelUserErrors { field message code } } }""",
        {"id": order_id},
    )["orderCancel"]["orderCancelUserErrors"]
    assert refused == [
        {
            "field": ["orderId"],
            "message": "Cannot cancel an order that has outstanding fulfillments",
            "code": "INVALID",
        }
    ]


# --------------------------------------------------------- other documented rules
MOVE = """mutation($id: ID!, $loc: ID!) { fulfillmentOrderMove(id: $id, newLocationId: $loc) {
  movedFulfillmentOrder { id status requestStatus assignedLocation { location { id } } }
  userErrors { field message code } } }"""


def test_work_with_reported_progress_moves_only_once_reopened(shop: ShopClient) -> None:
    _first, second_location = _merchant_locations(shop)
    _order_id, fo_id, _line = _one_line_fo(shop, 1)
    assert (
        shop(REPORT, {"id": fo_id, "report": None})["fulfillmentOrderReportProgress"]["userErrors"]
        == []
    )
    refused = shop(MOVE, {"id": fo_id, "loc": second_location})["fulfillmentOrderMove"]
    assert refused == {
        "movedFulfillmentOrder": None,
        "userErrors": [
            {
                "field": None,
                "message": "Cannot move a fulfillment order that has progress reported.",
                "code": "CANNOT_MOVE_FULFILLMENT_ORDER_WITH_REPORTED_PROGRESS",
            }
        ],
    }
    assert _simple(shop, "fulfillmentOrderOpen", fo_id)["userErrors"] == []
    moved = shop(MOVE, {"id": fo_id, "loc": second_location})["fulfillmentOrderMove"]
    assert moved["userErrors"] == []
    assert moved["movedFulfillmentOrder"]["assignedLocation"]["location"]["id"] == second_location


def test_work_a_service_gave_up_moves_to_the_merchant_afresh(
    shop: ShopClient, hooks: tuple[Hooks, str]
) -> None:
    received, url = hooks
    _subscribe(shop, url, "FULFILLMENT_ORDERS_FULFILLMENT_SERVICE_FAILED_TO_COMPLETE")
    first_location, _second = _merchant_locations(shop)
    _order_id, fo_id, _location = _accepted_service_fo(shop, quantity=1)
    closed = shop(
        """mutation($id: ID!) { fulfillmentOrderClose(id: $id, message: "Out of blanks") {
             userErrors { field message } } }""",
        {"id": fo_id},
    )["fulfillmentOrderClose"]
    assert closed["userErrors"] == []
    (body,) = received.of("fulfillment_orders/fulfillment_service_failed_to_complete")
    assert body["fulfillment_order"]["id"] == fo_id
    moved = shop(MOVE, {"id": fo_id, "loc": first_location})["fulfillmentOrderMove"]
    assert moved["userErrors"] == []
    assert moved["movedFulfillmentOrder"] == {
        "id": fo_id,
        "status": "OPEN",
        "requestStatus": "UNSUBMITTED",
        "assignedLocation": {"location": {"id": first_location}},
    }
