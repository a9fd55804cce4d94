"""Replays the recorded order / fulfillment / fulfillment-service captures against the sandbox.

Each scenario recreates its setup with the sandbox's own GraphQL mutations (orderCreate,
productCreate, inventoryActivate, fulfillmentServiceCreate, ...), sends the captured
requests with captured ids mapped to the sandbox's ids, and compares the answers with the
recorded ones: statuses, request statuses, quantities, userErrors (field and message), top-
level errors, and the exact shape (the same keys at every level).

Values that cannot match are compared loosely, on purpose:
- timestamps (createdAt, updatedAt, fulfillAt, ...) are checked for presence, null-ness and
  ISO-8601 form, not value (the captures were recorded at other moments);
- ids are mapped, not compared: the first time a captured id meets a sandbox id they are
  paired, and every later occurrence must agree (so "same object" relations are checked);
- order names ("#1721") are paired the same way; cursors are checked for null-ness only.

Locations: the sandbox has no GraphQL mutation that creates merchant locations, so the
locations a capture names are added to the shop state directly (the only setup done
outside GraphQL). Known, deliberate differences are listed in ``KNOWN_DIFFERENCES`` with
the reason, and asserted as differences.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from fulfillbridge.sandbox.app import SandboxASGI
from fulfillbridge.sandbox.shops import DEFAULT_ACCESS_TOKEN, DEFAULT_SHOP_DOMAIN
from fulfillbridge.sandbox.state import Location

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
GRAPHQL = "/admin/api/2026-07/graphql.json"
TIMESTAMPS = {
    "createdAt",
    "updatedAt",
    "fulfillAt",
    "closedAt",
    "cancelledAt",
    "processedAt",
    "sentAt",
}
CURSORS = {"startCursor", "endCursor"}
_GID = re.compile(r"^gid://shopify/([A-Za-z]+)/([^?]+)(\?.*)?$")
_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _capture(name: str) -> dict[str, Any]:
    return json.loads((CAPTURES / name).read_text())


def _payload(recorded: dict[str, Any]) -> dict[str, Any]:
    """The GraphQL body of a recorded response, whatever envelope the capture used."""
    for key in ("payload", "body"):
        if key in recorded:
            return recorded[key]
    return recorded


class Replayer:
    """Sends captured requests to the sandbox and compares the answers."""

    def __init__(self, client: httpx.AsyncClient, app: SandboxASGI) -> None:
        self.client = client
        self.app = app
        self.ids: dict[str, str] = {}  # captured "Kind/123" -> sandbox "Kind/456"
        self.names: dict[str, str] = {}  # captured order name -> sandbox order name

    @property
    def state(self) -> Any:
        return self.app.sandbox.shops[DEFAULT_SHOP_DOMAIN].state

    # -- setup ----------------------------------------------------------------------------
    def add_location(self, captured_gid: str, name: str) -> str:
        """A merchant location named like the captured one (see module docstring)."""
        state = self.state
        location_id = state.next_id()
        state.locations[location_id] = Location(
            id=location_id, name=name, created_at=state.clock.iso_now()
        )
        sandbox_gid = f"gid://shopify/Location/{location_id}"
        self.pair(captured_gid, sandbox_gid)
        return sandbox_gid

    def pair_default_location(self, captured_gid: str) -> None:
        first = min(self.state.locations)
        self.pair(captured_gid, f"gid://shopify/Location/{first}")

    def pair(self, captured: str, actual: str) -> None:
        key_c, key_a = _key(captured), _key(actual)
        assert key_c and key_a, (captured, actual)
        known = self.ids.get(key_c)
        assert known in (None, key_a), f"{captured} was {known}, now {actual}"
        self.ids[key_c] = key_a

    async def stocked_variant(self, captured_variant: str, location_gid: str) -> str:
        """A tracked variant stocked only at ``location_gid`` (made with GraphQL)."""
        created = await self.send(
            """mutation($product: ProductCreateInput!) {
                 productCreate(product: $product) {
                   product { variants(first: 1) { nodes { id inventoryItem { id } } } }
                   userErrors { field message } } }""",
            {"product": {"title": "Replay item"}},
        )
        variant = created["data"]["productCreate"]["product"]["variants"]["nodes"][0]
        item = variant["inventoryItem"]["id"]
        updated = await self.send(
            """mutation($id: ID!) { inventoryItemUpdate(id: $id, input: {tracked: true}) {
                 userErrors { field message } } }""",
            {"id": item},
        )
        assert updated["data"]["inventoryItemUpdate"]["userErrors"] == []
        activated = await self.send(
            """mutation($item: ID!, $location: ID!) {
                 inventoryActivate(inventoryItemId: $item, locationId: $location, available: 50)
                 @idempotent(key: "replay-activate") { userErrors { field message } } }""",
            {"item": item, "location": location_gid},
        )
        assert activated["data"]["inventoryActivate"]["userErrors"] == []
        self.pair(captured_variant, variant["id"])
        return variant["id"]

    # -- requests -------------------------------------------------------------------------
    async def send(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.client.post(
            GRAPHQL,
            json={"query": query, "variables": self.map_in(variables or {})},
            headers={"X-Shopify-Access-Token": DEFAULT_ACCESS_TOKEN},
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def replay(
        self,
        query: str,
        variables: dict[str, Any] | None,
        recorded: dict[str, Any],
        *,
        ignore: Callable[[list[str]], bool] = lambda _path: False,
    ) -> dict[str, Any]:
        actual = await self.send(query, variables)
        expected = _payload(recorded)
        self.compare_body(expected, actual, ignore)
        return actual

    def map_in(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.map_in(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.map_in(v) for v in value]
        if isinstance(value, str):
            key = _key(value)
            if key and key in self.ids:
                suffix = _GID.match(value).group(3) or ""  # type: ignore[union-attr]
                return f"gid://shopify/{self.ids[key]}{suffix}"
        return value

    # -- comparison -----------------------------------------------------------------------
    def compare_body(
        self, expected: dict[str, Any], actual: dict[str, Any], ignore: Callable[[list[str]], bool]
    ) -> None:
        assert ("errors" in expected) == ("errors" in actual), (expected, actual)
        if "errors" in expected:
            self.compare_errors(expected["errors"], actual["errors"])
        if "data" in expected:
            assert "data" in actual, actual
            self.compare(expected["data"], actual["data"], ["data"], ignore)

    def compare_errors(self, expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> None:
        assert len(expected) == len(actual), (expected, actual)
        for want, got in zip(expected, actual, strict=True):
            assert self.map_text(want["message"]) == got["message"]
            if "path" in want:
                assert want["path"] == got.get("path"), (want, got)
            code = (want.get("extensions") or {}).get("code")
            if code:
                assert (got.get("extensions") or {}).get("code") == code, (want, got)

    def map_text(self, text: str) -> str:
        """Captured numeric ids inside a message, replaced by the sandbox's."""
        numbers = {c.split("/")[1]: a.split("/")[1] for c, a in self.ids.items()}
        return re.sub(r"\d{6,}", lambda m: numbers.get(m.group(0), m.group(0)), text)

    def compare(
        self, want: Any, got: Any, path: list[str], ignore: Callable[[list[str]], bool]
    ) -> None:
        where = ".".join(path)
        if ignore(path):
            return
        if isinstance(want, dict):
            assert isinstance(got, dict), f"{where}: expected an object, got {got!r}"
            assert set(want) == set(got), f"{where}: keys {sorted(want)} != {sorted(got)}"
            for key in want:
                self.compare_field(key, want[key], got[key], [*path, key], ignore)
            return
        if isinstance(want, list):
            assert isinstance(got, list), f"{where}: expected a list, got {got!r}"
            assert len(want) == len(got), f"{where}: {len(want)} items expected, got {got!r}"
            for index, (w, g) in enumerate(zip(want, got, strict=True)):
                self.compare(w, g, [*path, str(index)], ignore)
            return
        if isinstance(want, str) and _key(want):
            assert isinstance(got, str) and _key(got), f"{where}: {got!r} is not an id"
            self.pair(want, got)
            assert _GID.match(want).group(3) == _GID.match(got).group(3), where  # type: ignore[union-attr]
            return
        assert want == got, f"{where}: expected {want!r}, got {got!r}"

    def compare_field(
        self, key: str, want: Any, got: Any, path: list[str], ignore: Callable[[list[str]], bool]
    ) -> None:
        where = ".".join(path)
        if ignore(path):
            return
        if key in TIMESTAMPS:
            assert (want is None) == (got is None), f"{where}: {want!r} vs {got!r}"
            if got is not None:
                assert _ISO.match(got), f"{where}: {got!r} is not ISO-8601"
            if key == "fulfillAt" and got is not None:
                assert got.endswith(":00:00Z"), f"{where}: fulfillAt is not on the hour"
            return
        if key in CURSORS:
            assert (want is None) == (got is None), where
            return
        if key == "name" and isinstance(want, str) and re.fullmatch(r"#\d+(\.\d+)?", want):
            base_want, base_got = want.split(".")[0], got.split(".")[0]
            known = self.names.setdefault(base_want, base_got)
            assert known == base_got, f"{where}: order {want} was {known}, now {got}"
            return
        if key == "id" and isinstance(want, str) and want.startswith("gid://shopify/Job/"):
            assert got.startswith("gid://shopify/Job/"), where
            return
        if key == "message" and isinstance(want, str):
            assert self.map_text(want) == got, f"{where}: {want!r} vs {got!r}"
            return
        self.compare(want, got, path, ignore)


def _key(value: str) -> str | None:
    match = _GID.match(value) if isinstance(value, str) else None
    if not match or match.group(1) == "Job":
        return None
    return f"{match.group(1)}/{match.group(2)}"


@pytest.fixture
async def replayer(sandbox_app: SandboxASGI) -> Any:
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(
        transport=transport, base_url=f"https://{DEFAULT_SHOP_DOMAIN}"
    ) as client:
        yield Replayer(client, sandbox_app)


def _under(*fragments: str) -> Callable[[list[str]], bool]:
    return lambda path: any(f in path for f in fragments)


# =============================================================================== orders
async def test_order_create_assigned_location(replayer: Replayer) -> None:
    capture = _capture("2025-01_orders_order-create-fulfillment-assigned-location.json")
    ops = capture["operations"]
    located = ops["locations"]["response"]["payload"]["data"]
    first = located["locationsAvailableForDeliveryProfilesConnection"]["nodes"][0]
    replayer.pair_default_location(first["id"])
    # The delivery-profile locations read is another area's; it must agree on the shop's
    # single location all the same.
    await replayer.replay(
        ops["locations"]["query"], ops["locations"]["variables"], ops["locations"]["response"]
    )
    await replayer.replay(
        ops["create"]["query"], ops["create"]["variables"], ops["create"]["response"]
    )
    read = ops["downstreamRead"]
    await replayer.replay(read["query"], read["variables"], read["response"])
    for step in capture["cleanup"]:
        await replayer.replay(step["query"], step["variables"], step["response"])


async def test_order_cancel_error_messages(replayer: Replayer) -> None:
    capture = _capture("2026-04_orders_orderCancel-error-messages.json")
    setup = capture["setup"]
    for name in ("freshOrderCreate", "cancelledOrderCreate", "setupCancel", "cancelledOrderRead"):
        step = setup[name]
        await replayer.replay(step["query"], step["variables"], step["response"])
    for step in capture["expected"].values():
        await replayer.replay(step["query"], step["variables"], step["response"])
    step = capture["cleanup"]["freshOrderCancel"]
    await replayer.replay(step["query"], step["variables"], step["response"])


async def test_order_cancel_parity(replayer: Replayer) -> None:
    """The capture holds no orderCreate: the order (14.00, no transactions) is recreated here,
    and the mutation's query text was not recorded, so it is rewritten from the response."""
    capture = _capture("2026-04_orders_orderCancel-parity.json")
    hydrate = capture["upstreamCalls"][0]
    created = await replayer.send(
        """mutation($order: OrderCreateOrderInput!) { orderCreate(order: $order) {
             order { id } userErrors { field message } } }""",
        {
            "order": {
                "lineItems": [
                    {
                        "title": "Parity item",
                        "quantity": 1,
                        "priceSet": {"shopMoney": {"amount": "14.00", "currencyCode": "USD"}},
                    }
                ]
            }
        },
    )
    replayer.pair(capture["variables"]["orderId"], created["data"]["orderCreate"]["order"]["id"])

    def financial_status(path: list[str]) -> bool:
        # KNOWN DIFFERENCE: the recorded order (made by another tool) reads
        # displayFinancialStatus null; an orderCreate without transactions is PENDING in the
        # sandbox, as Shopify documents for unpaid orders. Asserted separately below.
        return path[-1] == "displayFinancialStatus"

    before = await replayer.replay(
        hydrate["query"], hydrate["variables"], hydrate["response"], ignore=financial_status
    )
    assert before["data"]["order"]["displayFinancialStatus"] == "PENDING"
    await replayer.replay(
        """mutation($orderId: ID!, $restock: Boolean!, $reason: OrderCancelReason!,
                     $notifyCustomer: Boolean, $staffNote: String) {
             orderCancel(orderId: $orderId, restock: $restock, reason: $reason,
                         notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
               orderCancelUserErrors { field message code } } }""",
        capture["variables"],
        capture["mutation"]["response"],
    )
    read = capture["downstreamRead"]
    await replayer.replay(
        hydrate["query"], read["variables"], read["response"], ignore=financial_status
    )


# =============================================================================== fulfillment
_FULFILLMENT_CREATE = """
mutation Replay($fulfillment: %s!, $message: String) {
  %s(fulfillment: $fulfillment, message: $message) {
    fulfillment {
      id status displayStatus
      trackingInfo { number url company }
      fulfillmentLineItems(first: 5) { nodes { id quantity lineItem { id title } } }
    }
    userErrors { field message }
  }
}"""


@pytest.mark.parametrize(
    "case",
    [
        "cancelled",
        "nonPositiveQuantity",
        "nonPositiveQuantityV2",
        "overFulfill",
        "missingFulfillmentOrder",
        "missingFulfillmentOrderV2",
        "closed",
        "inProgress",
        "happyPath",
    ],
)
async def test_fulfillment_create_preconditions(replayer: Replayer, case: str) -> None:
    """The capture did not record the text of the final fulfillmentCreate(V2) call, only its
    variables and answer; the query below selects exactly the answer's fields."""
    capture = _capture("2026-04_orders_fulfillment-create-preconditions.json")
    scenario = capture["cases"][case]
    replayer.pair_default_location("gid://shopify/Location/106318430514")
    upstream = {call["variables"]["id"]: call for call in capture["upstreamCalls"]}
    for step in scenario.get("setup", {}).values():
        await replayer.replay(step["query"], step["variables"], step["response"])
    hydrate_of = scenario.get("setup", {}).get("hydrate", {}).get("variables", {}).get("id")
    if case.startswith("missingFulfillmentOrder"):
        # The recorded read of the unknown fulfillment order: null, no error.
        hydrate_of = scenario["variables"]["fulfillment"]["lineItemsByFulfillmentOrder"][0][
            "fulfillmentOrderId"
        ]
    if hydrate_of in upstream:
        call = upstream[hydrate_of]
        await replayer.replay(call["query"], call["variables"], call["response"])
    v2 = case.endswith("V2")
    root = "fulfillmentCreateV2" if v2 else "fulfillmentCreate"
    query = _FULFILLMENT_CREATE % ("FulfillmentV2Input" if v2 else "FulfillmentInput", root)
    if "fulfillmentLineItems" not in json.dumps(scenario["response"]):
        query = query.replace(
            "fulfillmentLineItems(first: 5) { nodes { id quantity lineItem { id title } } }", ""
        )
    await replayer.replay(query, scenario["variables"], scenario["response"])
    # The capture's cleanup cancelled each order: refused while it has a fulfillment
    # ("outstanding fulfillments"), done when it has none, refused again once cancelled.
    created = re.findall(r"gid://shopify/Order/\d+", json.dumps(scenario))
    order = next((gid for gid in created if gid in capture["cleanup"]), None)
    if order is not None:
        step = capture["cleanup"][order]["cancel"]
        await replayer.replay(step["query"], step["variables"], step["response"])


async def test_fulfillment_state_preconditions(replayer: Replayer) -> None:
    capture = _capture("2026-04_orders_fulfillment-state-preconditions.json")
    for step in capture["setup"].values():
        await replayer.replay(step["query"], step["variables"], step["response"])
    for name in (
        "initialCancel",
        "cancelAlreadyCancelled",
        "trackingAlreadyCancelled",
        "eventOnCancelled",
    ):
        step = capture[name]
        await replayer.replay(step["query"], step["variables"], step["response"])
    for step in capture["deliveredSetup"].values():
        await replayer.replay(step["query"], step["variables"], step["response"])
    for name in ("deliveredEventCreate", "cancelDelivered"):
        step = capture[name]
        await replayer.replay(step["query"], step["variables"], step["response"])
    for step in capture["cleanup"].values():
        await replayer.replay(step["query"], step["variables"], step["response"])


async def test_fulfillment_detail_events_lifecycle(replayer: Replayer) -> None:
    capture = _capture("2026-04_shipping-fulfillments_fulfillment-detail-events-lifecycle.json")
    replayer.pair_default_location("gid://shopify/Location/106318430514")
    for step in capture["setup"].values():
        await replayer.replay(step["query"], step["variables"], step["response"])
    for name in (
        "fulfillmentEventCreate",
        "detailRead",
        "fulfillmentTrackingInfoUpdate",
        "fulfillmentCancel",
        "cleanup",
    ):
        step = capture[name]
        await replayer.replay(step["query"], step["variables"], step["response"])


async def test_fulfillment_event_create_validation(replayer: Replayer) -> None:
    capture = _capture("2026-04_shipping-fulfillments_fulfillment-event-create-validation.json")
    for name in ("orderCreate", "fulfillmentCreate"):
        step = capture["setup"][name]
        await replayer.replay(step["query"], step["variables"], step["response"])
    for name in (
        "fulfillmentEventStatusEnum",
        "userErrorCodeSelection",
        "unknownFulfillmentEventCreate",
        "fulfillmentEventCreate",
        "detailRead",
    ):
        step = capture[name]
        await replayer.replay(step["query"], step["variables"], step["response"])
    invalid = capture["invalidStatusVariable"]
    actual = await replayer.send(invalid["query"], invalid["variables"])
    (want,) = _payload(invalid["response"])["errors"]
    (got,) = actual["errors"]
    # The variable is refused before any resolver runs, with Shopify's code; the wording of
    # the explanation is the GraphQL engine's (sandbox/graphql.py), not this area's, and may
    # differ from the recorded one, so only its opening is compared here.
    assert got["extensions"]["code"] == want["extensions"]["code"] == "INVALID_VARIABLE"
    opening = "Variable $fulfillmentEvent of type FulfillmentEventInput! was provided invalid value"
    assert want["message"].startswith(opening) and got["message"].startswith(opening)
    assert "data" not in actual
    for name in (
        "fulfillmentCancel",
        "cancelledFulfillmentEventCreateProbe",
        "cleanup",
    ):
        step = capture[name]
        await replayer.replay(step["query"], step["variables"], step["response"])


# =============================================================================== holds
async def test_fulfillment_order_hold_validation(replayer: Replayer) -> None:
    capture = _capture("2026-04_shipping-fulfillments_fulfillment-order-hold-validation.json")
    create = capture["setup"]["create"]
    location = replayer.add_location("gid://shopify/Location/106318463282", "My Custom Location")
    variant = create["variables"]["order"]["lineItems"][0]["variantId"]
    await replayer.stocked_variant(variant, location)
    await replayer.replay(create["query"], create["variables"], create["response"])
    for step in (capture["setup"]["hydrate"], capture["upstreamCalls"][0]):
        await replayer.replay(step["query"], step["variables"], step["response"])
    workflow = capture["workflows"]["validation"]
    for step in workflow.values():
        steps = step if isinstance(step, list) else [step]
        for one in steps:
            query = one.get("query") or workflow["firstHold"]["query"]
            await replayer.replay(query, one["variables"], one["response"])
    release = capture["cleanup"]["releaseHold"]
    await replayer.replay(release["query"], release["variables"], release["response"])


# =============================================================================== lifecycle
_LIFECYCLE = "2026-04_shipping-fulfillments_fulfillment-order-lifecycle.json"


async def _lifecycle_setup(replayer: Replayer, capture: dict[str, Any]) -> None:
    nodes = capture["locations"]["response"]["payload"]["data"]["locations"]["nodes"]
    for node in sorted(nodes, key=lambda n: int(n["id"].rsplit("/", 1)[1])):
        replayer.add_location(node["id"], node["name"])
        location = replayer.state.locations[int(replayer.ids[_key(node["id"])].split("/")[1])]  # type: ignore[index]
        location.fulfills_online_orders = node["fulfillsOnlineOrders"]
    main = capture["metadata"]["createdOrders"][0]["assignedLocationId"]
    variant = capture["workflows"]["holdRelease"]["create"]["variables"]["order"]["lineItems"][0][
        "variantId"
    ]
    await replayer.stocked_variant(variant, f"gid://shopify/{replayer.ids[_key(main)]}")  # type: ignore[index]


def _top_level_read(path: list[str]) -> bool:
    # topLevelRead lists the store's first ten fulfillment orders, made long before the
    # capture; the sandbox cannot hold those. Its fulfillmentOrder and
    # manualHoldsFulfillmentOrders parts are compared (see _compare_top_level_read).
    return "topLevelRead" in path


async def _replay_reads(replayer: Replayer, reads: dict[str, Any]) -> None:
    order_read = reads["orderRead"]
    await replayer.replay(order_read["query"], order_read["variables"], order_read["response"])
    top = reads["topLevelRead"]
    actual = await replayer.send(top["query"], top["variables"])
    expected = _payload(top["response"])
    for key in ("fulfillmentOrder", "manualHoldsFulfillmentOrders"):

        def merge_quirk(path: list[str]) -> bool:
            return path[-1] == "supportedActions"

        replayer.compare(expected["data"][key], actual["data"][key], [key], merge_quirk)
        want = expected["data"][key]
        got = actual["data"][key]
        if key == "fulfillmentOrder":
            # KNOWN DIFFERENCE: Shopify leaves MERGE out of supportedActions when the
            # fulfillment order is read on its own, but lists it when the same order is
            # read through order.fulfillmentOrders (afterSplit). The sandbox lists MERGE in
            # both places; everything else must match.
            w = [a["action"] for a in want["supportedActions"]]
            g = [a["action"] for a in got["supportedActions"]]
            assert [a for a in g if a != "MERGE"] == w


@pytest.mark.parametrize(
    "workflow",
    ["holdRelease", "move", "scheduleProgressOpenClose", "reroute", "residualSplitDeadlineMerge"],
)
async def test_fulfillment_order_lifecycle(replayer: Replayer, workflow: str) -> None:
    capture = _capture(_LIFECYCLE)
    await _lifecycle_setup(replayer, capture)
    steps = capture["workflows"][workflow]
    index = list(capture["workflows"]).index(workflow)
    created = capture["metadata"]["createdOrders"][index]
    # The fulfillment-order reads recorded right after each order was created (some through
    # node(id:)); the location read among them belongs to the locations area.
    hydrates = [
        call
        for call in capture["upstreamCalls"]
        if call["variables"]["id"] == created["fulfillmentOrderId"]
    ]
    for name, step in steps.items():
        if not isinstance(step, dict):
            continue  # recorded inputs such as attemptedNewLocationId
        if name == "create":
            await replayer.replay(step["query"], step["variables"], step["response"])
            for call in hydrates:
                await replayer.replay(call["query"], call["variables"], call["response"])
            continue
        if "orderRead" in step:
            await _replay_reads(replayer, step)
            continue
        if name == "reroute":
            # KNOWN DIFFERENCE: Shopify answered this fulfillmentOrdersReroute with an
            # internal error. The sandbox follows the documented rules instead: the only
            # allowed location does not stock the item, so it answers with a userError and
            # leaves the fulfillment order where it was (as the recorded read after it shows).
            actual = await replayer.send(step["query"], step["variables"])
            assert "errors" in _payload(step["response"])
            result = actual["data"]["fulfillmentOrdersReroute"]
            assert result["movedFulfillmentOrders"] is None
            assert result["userErrors"] == [
                {
                    "field": ["fulfillmentOrderIds", "0"],
                    "message": "No allowed location can fulfill the fulfillment order.",
                }
            ]
            continue
        await replayer.replay(step["query"], step["variables"], step["response"])
    cleanup = capture["cleanup"][index]
    assert cleanup["variables"]["orderId"] == created["id"]
    await replayer.replay(cleanup["query"], cleanup["variables"], cleanup["response"])


@pytest.mark.parametrize(
    "case",
    [
        "holdUnknownId",
        "releaseHoldUnknownId",
        "moveUnknownId",
        "openUnknownId",
        "closeUnknownId",
        "cancelUnknownId",
        "rescheduleUnknownId",
        "reportProgressUnknownId",
        "rerouteUnknownId",
    ],
)
async def test_fulfillment_order_unknown_ids(replayer: Replayer, case: str) -> None:
    step = _capture(_LIFECYCLE)["validation"][case]
    await replayer.replay(step["query"], step["variables"], step["response"])


# =============================================================================== services
async def test_fulfillment_service_lifecycle(replayer: Replayer) -> None:
    capture = _capture("2026-04_shipping-fulfillments_fulfillment-service-lifecycle.json")
    replayer.pair_default_location("gid://shopify/Location/106318430514")
    interactions = {i["name"]: i for i in capture["interactions"]}
    # The store already had "Snow City Warehouse" (seen in shop-list-after-create).
    existing = await replayer.send(
        """mutation { fulfillmentServiceCreate(name: "Snow City Warehouse",
             callbackUrl: "https://mock.shop/", requiresShippingMethod: false) {
             fulfillmentService { id location { id } } userErrors { field message } } }"""
    )
    service = existing["data"]["fulfillmentServiceCreate"]["fulfillmentService"]
    replayer.pair("gid://shopify/FulfillmentService/70752141618", service["id"])
    replayer.pair("gid://shopify/Location/106318496050", service["location"]["id"])
    for name in (
        "missing-detail",
        "create-blank-name-callback-blocked",
        "create-no-callback",
        "shop-list-after-create",
        "update",
        "delete",
        "update-unknown",
        "delete-unknown",
    ):
        step = interactions[name]
        await replayer.replay(
            step["request"]["query"], step["request"]["variables"], step["response"]
        )
    # location-after-delete queried a location id that appears nowhere else in the capture;
    # here the deleted service's own location must be gone.
    gone = interactions["location-after-delete"]
    deleted_location = replayer.ids["Location/112677159218"]
    actual = await replayer.send(
        gone["request"]["query"], {"id": f"gid://shopify/{deleted_location}"}
    )
    assert actual == {**actual, "data": _payload(gone["response"])["data"]}


_CALLBACK_FIELDS = """
fragment S on FulfillmentService {
  id handle serviceName callbackUrl trackingSupport inventoryManagement requiresShippingMethod
  type location { id name isFulfillmentService fulfillsOnlineOrders shipsInventory }
}"""
# alias -> (variable prefix, requiresShippingMethod given as false?), as the answers show.
_CALLBACK_CASES = {
    "validHttpsCreate": ("validHttps", True),
    "validHttpCreate": ("validHttp", True),
    "originCreate": ("origin", True),
    "ftpCreate": ("ftp", False),
    "exampleCreate": ("example", False),
    "shopifyCreate": ("shopify", False),
}


def _callback_query() -> str:
    declared = ", ".join(
        f"${p}Name: String!, ${p}CallbackUrl: URL" for p, _ in _CALLBACK_CASES.values()
    )
    fields = "\n".join(
        f"  {alias}: fulfillmentServiceCreate(name: ${p}Name, callbackUrl: ${p}CallbackUrl"
        + (", requiresShippingMethod: false" if flag else "")
        + ") { fulfillmentService { ...S } userErrors { field message } }"
        for alias, (p, flag) in _CALLBACK_CASES.items()
    )
    return f"{_CALLBACK_FIELDS}\nmutation Callback({declared}) {{\n{fields}\n}}"


_CALLBACK_UPDATE = """
mutation($id: ID!, $callbackUrl: URL) {
  fulfillmentServiceUpdate(id: $id, callbackUrl: $callbackUrl) {
    fulfillmentService { id callbackUrl } userErrors { field message } } }"""


async def test_fulfillment_service_callback_urls(replayer: Replayer) -> None:
    """The capture names its documents by path only; the queries here are rewritten to
    select what the recorded answers hold. The shop's own origin is allowed, so the sandbox
    shop is given the captured store's domain for this test."""
    capture = _capture(
        "2026-04_shipping-fulfillments_fulfillment-service-callback-url-validation.json"
    )
    variables = dict(capture["primary"]["variables"])
    variables["originCallbackUrl"] = variables["originCallbackUrl"].replace(
        capture["storeDomain"], DEFAULT_SHOP_DOMAIN
    )
    expected = json.loads(
        json.dumps(capture["primary"]["response"]).replace(
            capture["storeDomain"], DEFAULT_SHOP_DOMAIN
        )
    )
    await replayer.replay(_callback_query(), variables, expected)
    for name in ("updateAllowed", "updateDisallowed"):
        step = capture[name]
        await replayer.replay(_CALLBACK_UPDATE, step["variables"], step["response"])
    for step in capture["cleanup"]:
        await replayer.replay(step["query"], step["variables"], step["response"])
    # The sandbox also accepts the local callback hosts its tests use (Shopify would not).
    local = await replayer.send(
        """mutation { fulfillmentServiceCreate(name: "Local", callbackUrl: "http://127.0.0.1:8123/cb")
             { fulfillmentService { callbackUrl } userErrors { field message } } }"""
    )
    assert local["data"]["fulfillmentServiceCreate"]["userErrors"] == []
