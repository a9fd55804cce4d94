"""Inventory over real HTTP: idempotency keys, compare-and-set, limits, activation, reads."""

from __future__ import annotations

from typing import Any

import httpx

from fulfillbridge.sandbox.server import SandboxServer

GRAPHQL = "/admin/api/2026-07/graphql.json"
TOKEN = {"X-Shopify-Access-Token": "shpat_sandbox"}
SET = """mutation($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id reason changes { name delta } }
    userErrors { field message code }
  }
}"""
LEVEL = """query($item: ID!, $location: ID!) { inventoryItem(id: $item) {
  inventoryLevel(locationId: $location) {
    quantities(names: ["available", "on_hand", "committed", "reserved"]) { name quantity } } } }"""


def gql(server: SandboxServer, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = httpx.post(
        server.url + GRAPHQL,
        json={"query": query, "variables": variables or {}},
        headers=TOKEN,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _item_and_location(server: SandboxServer) -> tuple[str, str]:
    created = gql(
        server,
        """mutation { productSet(input: {title: "Hoodie", productOptions: [{name: "Title",
             values: [{name: "Default Title"}]}], variants: [{optionValues: [{optionName:
             "Title", name: "Default Title"}], inventoryItem: {sku: "FB-HOOD-BLK-L",
             tracked: true}}]}) { product { variants(first: 1) { nodes { inventoryItem { id
             inventoryLevels(first: 1) { nodes { location { id } } } } } } } } }""",
    )
    item = created["data"]["productSet"]["product"]["variants"]["nodes"][0]["inventoryItem"]
    return item["id"], item["inventoryLevels"]["nodes"][0]["location"]["id"]


def _quantities(server: SandboxServer, item: str, location: str) -> dict[str, int]:
    body = gql(server, LEVEL, {"item": item, "location": location})
    level = body["data"]["inventoryItem"]["inventoryLevel"]
    return {q["name"]: q["quantity"] for q in level["quantities"]}


def _set_input(item: str, location: str, quantity: int, change_from: int | None) -> Any:
    return {
        "name": "available",
        "reason": "correction",
        "referenceDocumentUri": "logistics://fulfillbridge/test",
        "quantities": [
            {
                "inventoryItemId": item,
                "locationId": location,
                "quantity": quantity,
                "changeFromQuantity": change_from,
            }
        ],
    }


def test_same_key_same_input_applies_once(sandbox_server: SandboxServer) -> None:
    item, location = _item_and_location(sandbox_server)
    variables = {"input": _set_input(item, location, 10, 0), "key": "k-1"}
    first = gql(sandbox_server, SET, variables)["data"]["inventorySetQuantities"]
    again = gql(sandbox_server, SET, variables)["data"]["inventorySetQuantities"]
    assert first["userErrors"] == [] and again == first  # the stored answer, same group id
    assert _quantities(sandbox_server, item, location)["available"] == 10


def test_same_key_other_input_is_refused(sandbox_server: SandboxServer) -> None:
    item, location = _item_and_location(sandbox_server)
    gql(sandbox_server, SET, {"input": _set_input(item, location, 10, 0), "key": "k-2"})
    other = gql(sandbox_server, SET, {"input": _set_input(item, location, 12, 10), "key": "k-2"})
    assert other["data"]["inventorySetQuantities"] == {
        "inventoryAdjustmentGroup": None,
        "userErrors": [
            {
                "field": None,
                "message": "The same idempotency key cannot be used with different operation "
                "parameters.",
                "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
            }
        ],
    }
    assert _quantities(sandbox_server, item, location)["available"] == 10


def test_literal_key_and_stale_change_from(sandbox_server: SandboxServer) -> None:
    item, location = _item_and_location(sandbox_server)
    literal = SET.replace("@idempotent(key: $key)", '@idempotent(key: "literal-key")').replace(
        ", $key: String!", ""
    )
    gql(sandbox_server, literal, {"input": _set_input(item, location, 4, 0)})
    stale = gql(sandbox_server, SET, {"input": _set_input(item, location, 9, 0), "key": "k-3"})
    assert stale["data"]["inventorySetQuantities"]["userErrors"] == [
        {
            "field": ["input", "quantities", "0", "changeFromQuantity"],
            "message": "The changeFromQuantity value does not match persisted value.",
            "code": "CHANGE_FROM_QUANTITY_STALE",
        }
    ]
    # null opts out of the check (Shopify docs, 2026-04).
    forced = gql(sandbox_server, SET, {"input": _set_input(item, location, 9, None), "key": "k-4"})
    assert forced["data"]["inventorySetQuantities"]["userErrors"] == []
    assert _quantities(sandbox_server, item, location)["available"] == 9


def test_more_than_250_quantities_is_refused(sandbox_server: SandboxServer) -> None:
    item, location = _item_and_location(sandbox_server)
    data = _set_input(item, location, 1, 0)
    data["quantities"] = data["quantities"] * 251
    body = gql(sandbox_server, SET, {"input": data, "key": "k-5"})
    assert body["data"] == {"inventorySetQuantities": None}
    assert body["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    assert "251" in body["errors"][0]["message"]


def test_not_stocked_location_and_activation(sandbox_server: SandboxServer) -> None:
    item, _ = _item_and_location(sandbox_server)
    added = httpx.post(
        sandbox_server.url + "/__sandbox/seed",
        json={"products": 1, "orders": 0},
        timeout=10,
    )
    assert added.status_code == 200, added.text
    second = added.json()["result"]["locations"][1]
    second_gid = f"gid://shopify/Location/{second}"
    body = gql(sandbox_server, SET, {"input": _set_input(item, second_gid, 3, 0), "key": "k-6"})
    assert body["data"]["inventorySetQuantities"]["userErrors"][0]["code"] == (
        "ITEM_NOT_STOCKED_AT_LOCATION"
    )
    activated = gql(
        sandbox_server,
        """mutation($item: ID!, $loc: ID!) { inventoryActivate(inventoryItemId: $item,
             locationId: $loc, available: 3) { inventoryLevel { location { id }
             quantities(names: ["available"]) { quantity } } userErrors { field message } } }""",
        {"item": item, "loc": second_gid},
    )["data"]["inventoryActivate"]
    assert activated["userErrors"] == []
    assert activated["inventoryLevel"]["quantities"] == [{"quantity": 3}]
    levels = gql(
        sandbox_server,
        "query($loc: ID!) { location(id: $loc) { inventoryLevels(first: 50) { nodes "
        "{ item { id } } } } }",
        {"loc": second_gid},
    )["data"]["location"]["inventoryLevels"]["nodes"]
    assert {"item": {"id": item}} in levels


def test_adjust_reserved_moves_available_not_on_hand(sandbox_server: SandboxServer) -> None:
    item, location = _item_and_location(sandbox_server)
    gql(sandbox_server, SET, {"input": _set_input(item, location, 10, 0), "key": "k-7"})
    body = gql(
        sandbox_server,
        """mutation($item: ID!, $loc: ID!) { inventoryAdjustQuantities(input: {name: "reserved",
             reason: "reservation_created", changes: [{inventoryItemId: $item, locationId: $loc,
             delta: 4, changeFromQuantity: 0}]}) @idempotent(key: "adjust-1") {
             inventoryAdjustmentGroup { changes { name delta } } userErrors { code } } }""",
        {"item": item, "loc": location},
    )["data"]["inventoryAdjustQuantities"]
    assert body["userErrors"] == []
    assert body["inventoryAdjustmentGroup"]["changes"] == [
        {"name": "reserved", "delta": 4},
        {"name": "available", "delta": -4},
    ]
    assert _quantities(sandbox_server, item, location) == {
        "available": 6,
        "on_hand": 10,
        "committed": 0,
        "reserved": 4,
    }


def test_inventory_items_by_sku(sandbox_server: SandboxServer) -> None:
    item, _ = _item_and_location(sandbox_server)
    body = gql(
        sandbox_server,
        '{ inventoryItems(first: 5, query: "sku:FB-HOOD-BLK-L") '
        "{ nodes { id sku variant { sku } } } }",
    )
    assert body["data"]["inventoryItems"]["nodes"] == [
        {"id": item, "sku": "FB-HOOD-BLK-L", "variant": {"sku": "FB-HOOD-BLK-L"}}
    ]


def test_adjust_same_pair_twice_adds_both_deltas(sandbox_server: SandboxServer) -> None:
    item, location = _item_and_location(sandbox_server)
    body = gql(
        sandbox_server,
        """mutation($item: ID!, $loc: ID!) { inventoryAdjustQuantities(input: {name: "available",
             reason: "received", changes: [
               {inventoryItemId: $item, locationId: $loc, delta: 2, changeFromQuantity: null},
               {inventoryItemId: $item, locationId: $loc, delta: 3, changeFromQuantity: null}]})
             @idempotent(key: "adjust-twice") { userErrors { field message code } } }""",
        {"item": item, "loc": location},
    )
    assert body["data"]["inventoryAdjustQuantities"]["userErrors"] == []
    assert _quantities(sandbox_server, item, location)["available"] == 5
