"""Location mutations over real HTTP: add, edit, activate, deactivate (with and without a
destination) and delete, their userErrors, the Location fields they move, and the
locations/* webhooks a subscriber receives."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from tests.sandbox._shop_client import ShopClient, create_service
from tests.sandbox.test_outbound_delivery import Receiver

from fulfillbridge.sandbox.server import SandboxServer

LOCATION_FIELDS = """id name isActive deactivatedAt activatable deactivatable deletable
  hasActiveInventory hasUnfulfilledOrders fulfillsOnlineOrders
  address { address1 city zip countryCode provinceCode phone }"""
ADD = f"""mutation($input: LocationAddInput!) {{ locationAdd(input: $input) {{
  location {{ {LOCATION_FIELDS} }} userErrors {{ field message code }} }} }}"""
EDIT = f"""mutation($id: ID!, $input: LocationEditInput!) {{ locationEdit(id: $id, input: $input) {{
  location {{ {LOCATION_FIELDS} }} userErrors {{ field message code }} }} }}"""
ACTIVATE = f"""mutation($id: ID!, $key: String!) {{ locationActivate(locationId: $id)
  @idempotent(key: $key) {{ location {{ {LOCATION_FIELDS} }}
  locationActivateUserErrors {{ field message code }} }} }}"""
DEACTIVATE = f"""mutation($id: ID!, $to: ID, $key: String!) {{
  locationDeactivate(locationId: $id, destinationLocationId: $to) @idempotent(key: $key) {{
  location {{ {LOCATION_FIELDS} }} locationDeactivateUserErrors {{ field message code }} }} }}"""
DELETE = """mutation($id: ID!) { locationDelete(locationId: $id) { deletedLocationId
  locationDeleteUserErrors { field message code } } }"""
READ = f"""query($id: ID!) {{ location(id: $id) {{ {LOCATION_FIELDS} }} }}"""


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


def _add(shop: ShopClient, name: str, **extra: Any) -> dict[str, Any]:
    address = {"address1": "5 Dock Road", "city": "Hamilton", "countryCode": "CA", "zip": "L8P 4R5"}
    answer = shop(ADD, {"input": {"name": name, "address": address, **extra}})["locationAdd"]
    assert answer["userErrors"] == [], answer
    location: dict[str, Any] = answer["location"]
    return location


def _deactivate(shop: ShopClient, location: str, to: str | None, key: str) -> dict[str, Any]:
    answer: dict[str, Any] = shop(DEACTIVATE, {"id": location, "to": to, "key": key})[
        "locationDeactivate"
    ]
    return answer


def _primary(shop: ShopClient) -> str:
    primary: str = shop("{ location { id } }")["location"]["id"]
    return primary


def _stocked_item(shop: ShopClient, location: str, available: int) -> str:
    created = shop(
        """mutation { productCreate(product: {title: "Crate"}) { product { variants(first: 1) {
             nodes { inventoryItem { id } } } } } }"""
    )
    item: str = created["productCreate"]["product"]["variants"]["nodes"][0]["inventoryItem"]["id"]
    shop(
        """mutation($id: ID!) { inventoryItemUpdate(id: $id, input: {tracked: true}) {
             userErrors { message } } }""",
        {"id": item},
    )
    activated = shop(
        """mutation($item: ID!, $loc: ID!, $n: Int) { inventoryActivate(inventoryItemId: $item,
             locationId: $loc, available: $n) @idempotent(key: "stock") {
             userErrors { field message } } }""",
        {"item": item, "loc": location, "n": available},
    )
    assert activated["inventoryActivate"]["userErrors"] == []
    return item


def _available(shop: ShopClient, item: str) -> dict[str, int]:
    data = shop(
        """query($id: ID!) { inventoryItem(id: $id) { inventoryLevels(first: 10) { nodes {
             location { id } quantities(names: ["available"]) { quantity } } } } }""",
        {"id": item},
    )
    return {
        n["location"]["id"]: n["quantities"][0]["quantity"]
        for n in data["inventoryItem"]["inventoryLevels"]["nodes"]
    }


def test_add_edit_deactivate_activate_delete_lifecycle(shop: ShopClient) -> None:
    added = _add(shop, "Overflow Warehouse")
    assert added["isActive"] is True and added["deactivatedAt"] is None
    assert (added["activatable"], added["deactivatable"], added["deletable"]) == (
        False,
        True,
        False,
    )
    assert added["address"]["city"] == "Hamilton"

    edited = shop(
        EDIT,
        {"id": added["id"], "input": {"name": "Overflow", "address": {"phone": "555-0100"}}},
    )["locationEdit"]
    assert edited["userErrors"] == []
    assert edited["location"]["name"] == "Overflow"
    assert edited["location"]["address"]["phone"] == "555-0100"
    assert edited["location"]["address"]["city"] == "Hamilton"  # untouched keys stay

    off = _deactivate(shop, added["id"], None, "off-1")
    assert off["locationDeactivateUserErrors"] == []
    location = off["location"]
    assert location["isActive"] is False and location["deactivatedAt"] is not None
    assert (location["activatable"], location["deactivatable"], location["deletable"]) == (
        True,
        False,
        True,
    )
    listed = shop("{ locations(first: 10) { nodes { id } } }")["locations"]["nodes"]
    assert added["id"] not in [n["id"] for n in listed]  # inactive ones only with includeInactive

    on = shop(ACTIVATE, {"id": added["id"], "key": "on-1"})["locationActivate"]
    assert on["locationActivateUserErrors"] == []
    assert on["location"]["isActive"] is True and on["location"]["deactivatedAt"] is None

    refused = shop(DELETE, {"id": added["id"]})["locationDelete"]
    assert refused == {
        "deletedLocationId": None,
        "locationDeleteUserErrors": [
            {
                "field": ["locationId"],
                "message": "The location cannot be deleted while it is active.",
                "code": "LOCATION_IS_ACTIVE",
            }
        ],
    }
    assert _deactivate(shop, added["id"], None, "off-2")["locationDeactivateUserErrors"] == []
    deleted = shop(DELETE, {"id": added["id"]})["locationDelete"]
    assert deleted == {"deletedLocationId": added["id"], "locationDeleteUserErrors": []}
    assert shop(READ, {"id": added["id"]})["location"] is None


def test_add_and_edit_refusals(shop: ShopClient) -> None:
    _add(shop, "Annex")
    address = {"countryCode": "US", "zip": "ABCDE", "city": "Reno"}
    answer = shop(ADD, {"input": {"name": " annex ", "address": address}})["locationAdd"]
    assert answer["location"] is None
    assert [(e["field"], e["code"]) for e in answer["userErrors"]] == [
        (["input", "name"], "TAKEN"),
        (["input", "address", "zip"], "INVALID_US_ZIPCODE"),
    ]
    blank = shop(ADD, {"input": {"name": "  ", "address": {"countryCode": "CA"}}})["locationAdd"]
    assert blank["userErrors"] == [
        {"field": ["input", "name"], "message": "Name can't be blank", "code": "BLANK"}
    ]
    long = shop(ADD, {"input": {"name": "x" * 101, "address": {"countryCode": "CA"}}})
    assert long["locationAdd"]["userErrors"][0]["code"] == "TOO_LONG"

    missing = shop(EDIT, {"id": "gid://shopify/Location/1", "input": {"name": "X"}})
    assert missing["locationEdit"] == {
        "location": None,
        "userErrors": [{"field": ["id"], "message": "Location not found.", "code": "NOT_FOUND"}],
    }
    # Turning off online orders at every location is refused.
    for node in shop("{ locations(first: 10) { nodes { id name } } }")["locations"]["nodes"]:
        if node["name"] != "Annex":
            changed = shop(EDIT, {"id": node["id"], "input": {"fulfillsOnlineOrders": False}})
            assert changed["locationEdit"]["userErrors"] == []
    annex = next(
        n["id"]
        for n in shop("{ locations(first: 10) { nodes { id name } } }")["locations"]["nodes"]
        if n["name"] == "Annex"
    )
    last = shop(EDIT, {"id": annex, "input": {"fulfillsOnlineOrders": False}})["locationEdit"]
    assert last["userErrors"][0]["code"] == "CANNOT_DISABLE_ONLINE_ORDER_FULFILLMENT"
    # A query Shopify's schema refuses (name missing) is a GraphQL error, not a 500.
    body = shop.raw(
        "mutation { locationAdd(input: {address: {countryCode: CA}}) { userErrors { code } } }"
    )
    assert body["errors"] and "name" in body["errors"][0]["message"]


def test_deactivate_refusals(shop: ShopClient) -> None:
    primary = _primary(shop)
    spare = _add(shop, "Spare", fulfillsOnlineOrders=False)["id"]

    def codes(location: str, to: str | None, key: str) -> list[tuple[Any, str]]:
        answer = _deactivate(shop, location, to, key)
        assert answer["location"] is None
        return [(e["field"], e["code"]) for e in answer["locationDeactivateUserErrors"]]

    online = [
        n["id"]
        for n in shop("{ locations(first: 10) { nodes { id fulfillsOnlineOrders } } }")[
            "locations"
        ]["nodes"]
        if n["fulfillsOnlineOrders"]
    ]
    assert online == [primary]  # the seeded shop has one location
    # The last active location that takes online orders stays on.
    assert codes(primary, spare, "g") == [
        (["locationId"], "CANNOT_DISABLE_ONLINE_ORDER_FULFILLMENT")
    ]
    service = create_service(shop)
    assert codes("gid://shopify/Location/1", None, "a") == [(["locationId"], "LOCATION_NOT_FOUND")]
    assert codes(spare, spare, "b") == [
        (["destinationLocationId"], "DESTINATION_LOCATION_IS_THE_SAME_LOCATION")
    ]
    assert codes(spare, "gid://shopify/Location/1", "c") == [
        (["destinationLocationId"], "DESTINATION_LOCATION_NOT_FOUND_OR_INACTIVE")
    ]
    assert codes(spare, service, "d") == [
        (["destinationLocationId"], "DESTINATION_LOCATION_NOT_SHOPIFY_MANAGED")
    ]
    assert codes(service, None, "e") == [
        (["locationId"], "PERMANENTLY_BLOCKED_FROM_DEACTIVATION_ERROR")
    ]
    _stocked_item(shop, spare, 4)
    assert codes(spare, None, "f") == [(["locationId"], "HAS_ACTIVE_INVENTORY_ERROR")]
    # No idempotency key: Shopify's top-level error.
    body = shop.raw(
        "mutation($id: ID!) { locationDeactivate(locationId: $id) { location { id } } }",
        {"id": spare},
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    # The same key with other arguments is refused.
    assert codes(spare, primary, "f") == [(None, "IDEMPOTENCY_KEY_PARAMETER_MISMATCH")]
    # Deleting: unknown, then an inactive location that still holds stock.
    missing = shop(DELETE, {"id": "gid://shopify/Location/1"})["locationDelete"]
    assert missing["locationDeleteUserErrors"][0]["code"] == "LOCATION_NOT_FOUND"
    unknown = shop(ACTIVATE, {"id": "gid://shopify/Location/1", "key": "x"})
    assert unknown["locationActivate"]["locationActivateUserErrors"] == [
        {"field": ["locationId"], "message": "Location not found.", "code": "LOCATION_NOT_FOUND"}
    ]


def test_deactivate_with_destination_moves_inventory_and_open_orders(shop: ShopClient) -> None:
    primary = _primary(shop)
    store = _add(shop, "Back Store")["id"]
    item = _stocked_item(shop, store, 7)
    variant = shop(
        """query($id: ID!) { inventoryItem(id: $id) { variant { id } } }""", {"id": item}
    )["inventoryItem"]["variant"]["id"]
    order = shop(
        """mutation($order: OrderCreateOrderInput!) { orderCreate(order: $order) { order {
             fulfillmentOrders(first: 5) { nodes { id assignedLocation { location { id } } } } }
             userErrors { field message } } }""",
        {"order": {"lineItems": [{"variantId": variant, "quantity": 2}]}},
    )["orderCreate"]["order"]
    [fo] = order["fulfillmentOrders"]["nodes"]
    assert fo["assignedLocation"]["location"]["id"] == store
    # productCreate stocked the item at the primary location too (at 0).
    assert _available(shop, item) == {primary: 0, store: 7}
    assert shop(READ, {"id": store})["location"]["hasUnfulfilledOrders"] is True
    refused = _deactivate(shop, store, None, "move-0")["locationDeactivateUserErrors"]
    assert [e["code"] for e in refused] == ["HAS_FULFILLMENT_ORDERS_ERROR"]

    moved = _deactivate(shop, store, primary, "move-1")
    assert moved["locationDeactivateUserErrors"] == []
    location = moved["location"]
    assert location["hasActiveInventory"] is False and location["hasUnfulfilledOrders"] is False
    assert _available(shop, item) == {primary: 7}  # the levels were added together
    read = shop(
        """query($id: ID!) { fulfillmentOrder(id: $id) { status
             assignedLocation { location { id } } } }""",
        {"id": fo["id"]},
    )["fulfillmentOrder"]
    assert read == {"status": "OPEN", "assignedLocation": {"location": {"id": primary}}}
    again = _deactivate(shop, store, primary, "move-1")  # same key: the stored answer
    assert again == moved


def test_locations_webhooks(shop: ShopClient, receiver: Receiver) -> None:
    for topic in ("CREATE", "UPDATE", "DEACTIVATE", "ACTIVATE", "DELETE"):
        created = shop(
            """mutation($topic: WebhookSubscriptionTopic!, $uri: String!) {
                 webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri}) {
                 userErrors { message } } }""",
            {"topic": f"LOCATIONS_{topic}", "uri": f"{receiver.url}/{topic.lower()}"},
        )
        assert created["webhookSubscriptionCreate"]["userErrors"] == []
    location = _add(shop, "Pop-up")["id"]
    shop(EDIT, {"id": location, "input": {"name": "Pop-up shop"}})
    shop(EDIT, {"id": location, "input": {"name": "Pop-up shop"}})  # no change: no webhook
    _deactivate(shop, location, None, "w-off")
    shop(ACTIVATE, {"id": location, "key": "w-on"})
    _deactivate(shop, location, None, "w-off-2")
    shop(DELETE, {"id": location})
    number = int(location.rsplit("/", 1)[1])
    expected = {"create": 1, "update": 1, "deactivate": 2, "activate": 1, "delete": 1}
    for _ in range(500):
        if all(len(receiver.at(f"/{p}")) >= n for p, n in expected.items()):
            break
        threading.Event().wait(0.01)
    bodies = {p: [json.loads(r["body"]) for r in receiver.at(f"/{p}")] for p in expected}
    assert {p: len(b) for p, b in bodies.items()} == expected
    assert bodies["create"][0]["name"] == "Pop-up" and bodies["create"][0]["active"] is True
    assert bodies["update"][0]["name"] == "Pop-up shop"
    assert bodies["deactivate"][0]["active"] is False
    assert bodies["activate"][0]["active"] is True
    assert bodies["delete"][0] == {"id": number}
    assert receiver.at("/create")[0]["headers"]["X-Shopify-Topic"] == "locations/create"


SET_METAFIELDS = """mutation($m: [MetafieldsSetInput!]!) { metafieldsSet(metafields: $m) {
  metafields { key namespace value type ownerType } userErrors { field message code } } }"""
LOCATION_METAFIELDS = """query($id: ID!) { location(id: $id) {
  dock: metafield(namespace: "ops", key: "dock") { value type }
  missing: metafield(namespace: "ops", key: "nope") { value }
  metafields(first: 10, namespace: "ops") { nodes { key value ownerType } } } }"""


def test_location_metafields(shop: ShopClient) -> None:
    location = _add(shop, "Cold Store")["id"]
    written = shop(
        SET_METAFIELDS,
        {
            "m": [
                {"ownerId": location, "namespace": "ops", "key": "dock", "type":
                 "single_line_text_field", "value": "B4"},
                {"ownerId": location, "namespace": "ops", "key": "bays", "type":
                 "number_integer", "value": "12"},
            ]
        },
    )["metafieldsSet"]  # fmt: skip
    assert written["userErrors"] == []
    assert {m["ownerType"] for m in written["metafields"]} == {"LOCATION"}
    read = shop(LOCATION_METAFIELDS, {"id": location})["location"]
    assert read["dock"] == {"value": "B4", "type": "single_line_text_field"}
    assert read["missing"] is None
    assert [(n["key"], n["value"]) for n in read["metafields"]["nodes"]] == [
        ("dock", "B4"),
        ("bays", "12"),
    ]
    # A bad value or an unknown location: refused, nothing written.
    refused = shop(
        SET_METAFIELDS,
        {
            "m": [
                {"ownerId": location, "namespace": "ops", "key": "bays", "type":
                 "number_integer", "value": "many"},
                {"ownerId": "gid://shopify/Location/1", "namespace": "ops", "key": "dock",
                 "type": "single_line_text_field", "value": "A1"},
            ]
        },
    )["metafieldsSet"]  # fmt: skip
    assert refused["metafields"] is None
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["metafields", "0", "value"], "INVALID_VALUE"),
        (["metafields", "1", "ownerId"], "INVALID"),
    ]
    assert (
        shop(LOCATION_METAFIELDS, {"id": location})["location"]["metafields"]["nodes"][1]["value"]
        == "12"
    )


def test_location_add_and_edit_with_metafields(shop: ShopClient) -> None:
    metafield = {"namespace": "ops", "key": "dock", "type": "single_line_text_field"}
    added = shop(
        ADD,
        {
            "input": {
                "name": "Depot",
                "address": {"countryCode": "CA"},
                "metafields": [{**metafield, "value": "C1"}],
            }
        },
    )["locationAdd"]
    assert added["userErrors"] == []
    location = added["location"]["id"]
    assert shop(LOCATION_METAFIELDS, {"id": location})["location"]["dock"]["value"] == "C1"
    edited = shop(EDIT, {"id": location, "input": {"metafields": [{**metafield, "value": "C2"}]}})[
        "locationEdit"
    ]
    assert edited["userErrors"] == []
    assert shop(LOCATION_METAFIELDS, {"id": location})["location"]["dock"]["value"] == "C2"
    # A bad metafield refuses the whole addition: no location is left behind.
    bad = shop(
        ADD,
        {
            "input": {
                "name": "Depot 2",
                "address": {"countryCode": "CA"},
                "metafields": [
                    {**metafield, "type": "number_integer", "value": "x"},
                    {"namespace": "ops", "type": "number_integer", "value": "1"},
                ],
            }
        },
    )["locationAdd"]
    assert bad["location"] is None
    assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [
        (["input", "metafields", "1", "key"], "BLANK")
    ]
    bad = shop(
        ADD,
        {
            "input": {
                "name": "Depot 2",
                "address": {"countryCode": "CA"},
                "metafields": [{**metafield, "type": "number_integer", "value": "x"}],
            }
        },
    )["locationAdd"]
    assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [
        (["input", "metafields", "0", "value"], "INVALID_VALUE")
    ]
    names = [n["name"] for n in shop("{ locations(first: 10) { nodes { name } } }")["locations"][
        "nodes"
    ]]  # fmt: skip
    assert "Depot 2" not in names
