"""Replays the recorded inventory captures against the sandbox over real HTTP and compares
userErrors (field, message, code) and results with what Shopify answered.

Captured ids are mapped onto the sandbox's own (same roles: the product's inventory item,
the shop's location). Top-level error ``locations`` are not compared: they depend on the
document text, which the captures do not contain (only the variables).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from fulfillbridge.sandbox.server import SandboxServer

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
GRAPHQL = "/admin/api/2026-07/graphql.json"
TOKEN = {"X-Shopify-Access-Token": "shpat_sandbox"}

SET = """mutation InventorySet($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup { reason referenceDocumentUri
      changes { name delta quantityAfterChange item { id } location { id name } } }
    userErrors { field message code }
  }
}"""
SET_NO_DIRECTIVE = SET.replace(" @idempotent(key: $idempotencyKey)", "").replace(
    ", $idempotencyKey: String!", ""
)
ADJUST = """mutation InventoryAdjust($input: InventoryAdjustQuantitiesInput!,
    $idempotencyKey: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup { reason referenceDocumentUri
      changes { name delta quantityAfterChange item { id } location { id name } } }
    userErrors { field message code }
  }
}"""
ADJUST_NO_DIRECTIVE = ADJUST.replace(" @idempotent(key: $idempotencyKey)", "").replace(
    ",\n    $idempotencyKey: String!", ""
)
ON_HAND = """mutation InventoryOnHand($input: InventorySetOnHandQuantitiesInput!,
    $idempotencyKey: String!) {
  inventorySetOnHandQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup { reason referenceDocumentUri
      changes { name delta quantityAfterChange item { id } location { id name } } }
    userErrors { field message code }
  }
}"""
MOVE = """mutation InventoryMove($input: InventoryMoveQuantitiesInput!,
    $idempotencyKey: String!) {
  inventoryMoveQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup { reason referenceDocumentUri
      changes { name delta quantityAfterChange item { id } location { id name } } }
    userErrors { field message code }
  }
}"""
ON_HAND_NO_DIRECTIVE = ON_HAND.replace(" @idempotent(key: $idempotencyKey)", "").replace(
    ",\n    $idempotencyKey: String!", ""
)


def _load(name: str) -> dict[str, Any]:
    return json.loads((CAPTURES / name).read_text(encoding="utf-8"))


def gql(server: SandboxServer, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = httpx.post(
        server.url + GRAPHQL,
        json={"query": query, "variables": variables or {}},
        headers=TOKEN,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _setup_tracked_product(server: SandboxServer, title: str) -> dict[str, str]:
    """productCreate then productVariantsBulkUpdate(tracked: true), as the captures do."""
    created = gql(
        server,
        """mutation($title: String!) { productCreate(product: {title: $title}) { product { id
             variants(first: 1) { nodes { id inventoryItem { id tracked } } } } } }""",
        {"title": title},
    )["data"]["productCreate"]["product"]
    variant = created["variants"]["nodes"][0]
    assert variant["inventoryItem"]["tracked"] is False  # as recorded
    tracked = gql(
        server,
        """mutation($p: ID!, $v: ID!) { productVariantsBulkUpdate(productId: $p, variants:
             [{id: $v, inventoryItem: {tracked: true}}]) { product { tracksInventory
             totalInventory } userErrors { field message } } }""",
        {"p": created["id"], "v": variant["id"]},
    )["data"]["productVariantsBulkUpdate"]
    assert tracked == {"product": {"tracksInventory": True, "totalInventory": 0}, "userErrors": []}
    location = gql(server, "{ location { id name } }")["data"]["location"]
    assert location["name"] == "Shop location"
    return {
        "product": created["id"],
        "variant": variant["id"],
        "item": variant["inventoryItem"]["id"],
        "location": location["id"],
    }


def _remap(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _remap(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_remap(v, ids) for v in value]
    if isinstance(value, str):
        return ids.get(value, value)
    return value


def _comparable(payload: dict[str, Any] | None, ids: dict[str, str]) -> Any:
    """A payload with captured ids mapped and unselected keys dropped."""
    return _remap(payload, ids)


def _project(actual: Any, expected: Any) -> Any:
    """``actual`` restricted to the keys ``expected`` has (the capture selected fewer)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return {k: _project(actual.get(k), v) for k, v in expected.items()}
    if isinstance(expected, list) and isinstance(actual, list):
        return [_project(a, e) for a, e in zip(actual, expected, strict=False)] + actual[
            len(expected) :
        ]
    return actual


# --------------------------------------------------------------------- name / bounds
def _cases() -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for file in (
        "2026-04_products_inventorySetQuantities-name-validation.json",
        "2026-04_products_inventorySetQuantities-quantity-bounds.json",
    ):
        for name, case in _load(file)["cases"].items():
            out.append((file, name, case))
    return out


@pytest.mark.parametrize(("file", "name", "case"), _cases(), ids=lambda v: str(v)[:40])
def test_set_quantities_case_matches_capture(
    sandbox_server: SandboxServer, file: str, name: str, case: dict[str, Any]
) -> None:
    setup = case["setup"]
    ids = _setup_tracked_product(sandbox_server, f"replay {name}")
    mapping = {setup["inventoryItemId"]: ids["item"], setup["locationId"]: ids["location"]}
    variables = _remap(case["variables"], {v: k for k, v in {}.items()} | mapping)
    body = gql(sandbox_server, case["query"], variables)
    assert "errors" not in body, body
    expected = _comparable(case["response"]["data"]["inventorySetQuantities"], mapping)
    actual = body["data"]["inventorySetQuantities"]
    assert _project(actual, expected) == expected


# ------------------------------------------------------------------ contracts capture
def test_quantity_contracts_sequence_matches_capture(sandbox_server: SandboxServer) -> None:
    capture = _load("2026-04_products_inventory-quantity-contracts-2026-04.json")
    recorded = capture["setup"]["product"]
    ids = _setup_tracked_product(sandbox_server, "replay contracts")
    mapping = {
        recorded["productId"]: ids["product"],
        recorded["variantId"]: ids["variant"],
        recorded["inventoryItemId"]: ids["item"],
        capture["setup"]["location"]["id"]: ids["location"],
    }

    def run(query: str, section: dict[str, Any]) -> dict[str, Any]:
        return gql(sandbox_server, query, _remap(section["variables"], mapping))

    def same_payload(body: dict[str, Any], section: dict[str, Any], field: str) -> None:
        assert "errors" not in body, body
        expected = _remap(section["response"]["data"][field], mapping)
        expected["inventoryAdjustmentGroup"].pop("id")
        expected["inventoryAdjustmentGroup"].pop("createdAt")
        assert _project(body["data"][field], expected) == expected

    def same_top_level_error(body: dict[str, Any], section: dict[str, Any], field: str) -> None:
        [expected] = section["response"]["errors"]
        [actual] = body["errors"]
        assert actual["message"] == expected["message"]
        assert actual["extensions"]["code"] == expected["extensions"]["code"]
        assert actual.get("path") == expected.get("path")
        assert body["data"] == section["response"]["data"] == {field: None}

    same_payload(
        run(SET, capture["inventorySetQuantities"]),
        capture["inventorySetQuantities"],
        "inventorySetQuantities",
    )
    same_top_level_error(
        run(SET_NO_DIRECTIVE, capture["missingSetIdempotency"]),
        capture["missingSetIdempotency"],
        "inventorySetQuantities",
    )
    same_top_level_error(
        run(SET, capture["missingSetChangeFromQuantity"]),
        capture["missingSetChangeFromQuantity"],
        "inventorySetQuantities",
    )
    legacy = run(SET, capture["legacySetShape"])
    assert legacy["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"
    assert "data" not in legacy

    same_payload(
        run(ADJUST, capture["inventoryAdjustQuantities"]),
        capture["inventoryAdjustQuantities"],
        "inventoryAdjustQuantities",
    )
    same_payload(
        run(ON_HAND, capture["inventorySetOnHandQuantities"]),
        capture["inventorySetOnHandQuantities"],
        "inventorySetOnHandQuantities",
    )
    same_top_level_error(
        run(ON_HAND_NO_DIRECTIVE, capture["missingSetOnHandIdempotency"]),
        capture["missingSetOnHandIdempotency"],
        "inventorySetOnHandQuantities",
    )
    same_top_level_error(
        run(ON_HAND, capture["missingSetOnHandChangeFromQuantity"]),
        capture["missingSetOnHandChangeFromQuantity"],
        "inventorySetOnHandQuantities",
    )
    same_top_level_error(
        run(ADJUST_NO_DIRECTIVE, capture["missingAdjustIdempotency"]),
        capture["missingAdjustIdempotency"],
        "inventoryAdjustQuantities",
    )
    same_top_level_error(
        run(ADJUST_NO_DIRECTIVE, capture["missingAdjustChangeFromQuantity"]),
        capture["missingAdjustChangeFromQuantity"],
        "inventoryAdjustQuantities",
    )

    unknown = capture["unknownIdValidation"]
    for key, query, field in (
        ("setUnknownInventoryItem", SET, "inventorySetQuantities"),
        ("setUnknownLocation", SET, "inventorySetQuantities"),
        ("setOnHandUnknownInventoryItem", ON_HAND, "inventorySetOnHandQuantities"),
        ("setOnHandUnknownLocation", ON_HAND, "inventorySetOnHandQuantities"),
        ("setOnHandNegativeQuantity", ON_HAND, "inventorySetOnHandQuantities"),
        ("setOnHandTooHighQuantity", ON_HAND, "inventorySetOnHandQuantities"),
        ("setOnHandInvalidReason", ON_HAND, "inventorySetOnHandQuantities"),
        ("adjustUnknownInventoryItem", ADJUST, "inventoryAdjustQuantities"),
        ("adjustUnknownLocation", ADJUST, "inventoryAdjustQuantities"),
        ("moveUnknownInventoryItem", MOVE, "inventoryMoveQuantities"),
        ("moveUnknownLocation", MOVE, "inventoryMoveQuantities"),
    ):
        body = run(query, unknown[key])
        assert "errors" not in body, (key, body)
        expected = unknown[key]["response"]["data"][field]
        assert _project(body["data"][field], expected) == expected, key

    # The state after set (5), adjust (+2) and on_hand (9), read as recorded.
    read = capture["upstreamCalls"][1]
    body = gql(sandbox_server, read["query"], _remap(read["variables"], mapping))
    expected = _remap(capture["downstreamRead"]["data"], mapping)
    for level in expected["inventoryItem"]["inventoryLevels"]["nodes"]:
        level.pop("id")  # the level's own id is the sandbox's
        for quantity in level["quantities"]:
            quantity.pop("updatedAt")  # times differ; presence is checked below
    actual = body["data"]
    assert _project(actual, expected) == expected
    level = actual["inventoryItem"]["inventoryLevels"]["nodes"][0]
    assert level["id"].endswith(f"?inventory_item_id={ids['item'].rsplit('/', 1)[1]}")
    assert level["quantities"][0]["updatedAt"] is not None


def test_legacy_set_shape_error_matches_capture(sandbox_server: SandboxServer) -> None:
    capture = _load("2026-04_products_inventory-quantity-contracts-2026-04.json")
    ids = _setup_tracked_product(sandbox_server, "replay legacy")
    mapping = {
        capture["setup"]["product"]["inventoryItemId"]: ids["item"],
        capture["setup"]["location"]["id"]: ids["location"],
    }
    section = capture["legacySetShape"]
    body = gql(sandbox_server, SET, _remap(section["variables"], mapping))
    [expected] = section["response"]["errors"]
    assert body["errors"][0]["message"] == expected["message"]
    assert body["errors"][0]["extensions"]["problems"] == expected["extensions"]["problems"]
