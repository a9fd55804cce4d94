"""inventoryMoveQuantities and the all-zero inventoryAdjustQuantities over real HTTP: moves
between quantity states, ledger documents, compare-and-set, every documented refusal, and
the inventory_levels/update webhook when available moves."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from tests.sandbox._shop_client import ShopClient
from tests.sandbox.test_outbound_delivery import Receiver

from fulfillbridge.sandbox.server import SandboxServer

MOVE = """mutation($input: InventoryMoveQuantitiesInput!, $key: String!) {
  inventoryMoveQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id reason referenceDocumentUri
      changes { name delta ledgerDocumentUri item { id } location { id } } }
    userErrors { field message code } } }"""
ADJUST = """mutation($input: InventoryAdjustQuantitiesInput!, $key: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id changes { name delta } }
    userErrors { field message code } } }"""
NAMES = ["available", "on_hand", "damaged", "reserved", "incoming", "quality_control"]
LEDGER = "ledger://warehouse/moves/1"


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


def _stock(shop: ShopClient, available: int) -> tuple[str, str]:
    created = shop(
        """mutation { productCreate(product: {title: "Bolt"}) { product { variants(first: 1) {
             nodes { inventoryItem { id } } } } } }"""
    )
    item: str = created["productCreate"]["product"]["variants"]["nodes"][0]["inventoryItem"]["id"]
    location: str = shop("{ location { id } }")["location"]["id"]
    shop(
        """mutation($id: ID!) { inventoryItemUpdate(id: $id, input: {tracked: true}) {
             userErrors { message } } }""",
        {"id": item},
    )
    answer = shop(
        """mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input)
             @idempotent(key: "seed") { userErrors { message } } }""",
        {
            "input": {
                "name": "available",
                "reason": "correction",
                "quantities": [
                    {
                        "inventoryItemId": item,
                        "locationId": location,
                        "quantity": available,
                        "changeFromQuantity": None,
                    }
                ],
            }
        },
    )
    assert answer["inventorySetQuantities"]["userErrors"] == []
    return item, location


def _quantities(shop: ShopClient, item: str, location: str) -> dict[str, int]:
    data = shop(
        """query($item: ID!, $loc: ID!, $names: [String!]!) { inventoryItem(id: $item) {
             inventoryLevel(locationId: $loc) { quantities(names: $names) { name quantity } }
             } }""",
        {"item": item, "loc": location, "names": NAMES},
    )
    level = data["inventoryItem"]["inventoryLevel"]
    return {q["name"]: q["quantity"] for q in level["quantities"]}


def _change(
    item: str,
    location: str,
    quantity: int,
    source: tuple[str, int | None, str | None],
    target: tuple[str, int | None, str | None],
    target_location: str | None = None,
) -> dict[str, Any]:
    def terminal(side: tuple[str, int | None, str | None], loc: str) -> dict[str, Any]:
        name, change_from, ledger = side
        out: dict[str, Any] = {"locationId": loc, "name": name, "changeFromQuantity": change_from}
        if ledger is not None:
            out["ledgerDocumentUri"] = ledger
        return out

    return {
        "inventoryItemId": item,
        "quantity": quantity,
        "from": terminal(source, location),
        "to": terminal(target, target_location or location),
    }


def _move(shop: ShopClient, key: str, *changes: dict[str, Any], **extra: Any) -> Any:
    body = {
        "reason": "damaged",
        "referenceDocumentUri": "logistics://receiving/42",
        "changes": list(changes),
        **extra,
    }
    return shop(MOVE, {"input": body, "key": key})["inventoryMoveQuantities"]


def test_moves_between_states_and_back(shop: ShopClient) -> None:
    item, location = _stock(shop, 10)
    answer = _move(
        shop,
        "m1",
        _change(item, location, 3, ("available", 10, None), ("damaged", 0, LEDGER)),
    )
    assert answer["userErrors"] == []
    group = answer["inventoryAdjustmentGroup"]
    assert group["reason"] == "damaged"
    assert group["referenceDocumentUri"] == "logistics://receiving/42"
    assert [(c["name"], c["delta"], c["ledgerDocumentUri"]) for c in group["changes"]] == [
        ("available", -3, None),
        ("damaged", 3, LEDGER),
    ]
    assert _quantities(shop, item, location) == {
        "available": 7,
        "on_hand": 10,  # damaged units are still on hand
        "damaged": 3,
        "reserved": 0,
        "incoming": 0,
        "quality_control": 0,
    }
    # damaged -> reserved (both need ledger documents), then incoming -> available.
    second = _move(
        shop,
        "m2",
        _change(item, location, 2, ("damaged", 3, LEDGER), ("reserved", None, "ledger://r/1")),
    )
    assert second["userErrors"] == []
    assert _quantities(shop, item, location)["reserved"] == 2
    shop(
        ADJUST,
        {
            "key": "incoming",
            "input": {
                "name": "incoming",
                "reason": "received",
                "referenceDocumentUri": "logistics://po/7",
                "changes": [
                    {
                        "inventoryItemId": item,
                        "locationId": location,
                        "delta": 5,
                        "changeFromQuantity": None,
                        "ledgerDocumentUri": "ledger://po/7",
                    }
                ],
            },
        },
    )
    received = _move(
        shop,
        "m3",
        _change(item, location, 5, ("incoming", 5, "ledger://po/7"), ("available", 7, None)),
    )
    assert [(c["name"], c["delta"]) for c in received["inventoryAdjustmentGroup"]["changes"]] == [
        ("incoming", -5),
        ("available", 5),
        ("on_hand", 5),  # received units become on hand
    ]
    assert _quantities(shop, item, location) == {
        "available": 12,
        "on_hand": 15,
        "damaged": 1,
        "reserved": 2,
        "incoming": 0,
        "quality_control": 0,
    }
    # The same key and input answers the stored group and moves nothing again.
    again = _move(
        shop,
        "m3",
        _change(item, location, 5, ("incoming", 5, "ledger://po/7"), ("available", 7, None)),
    )
    assert again == received
    assert _quantities(shop, item, location)["available"] == 12


def test_move_refusals(shop: ShopClient, sandbox_server: SandboxServer) -> None:
    item, location = _stock(shop, 4)
    other = shop(
        """mutation { locationAdd(input: {name: "Yard", address: {countryCode: CA}}) {
             location { id } } }"""
    )["locationAdd"]["location"]["id"]

    def codes(*changes: dict[str, Any], **extra: Any) -> list[tuple[list[str], str]]:
        answer = _move(shop, f"bad-{len(seen)}", *changes, **extra)
        seen.append(1)
        assert answer["inventoryAdjustmentGroup"] is None
        return [(e["field"], e["code"]) for e in answer["userErrors"]]

    seen: list[int] = []
    path = ["input", "changes", "0"]
    assert codes(
        _change(item, location, 1, ("available", None, None), ("damaged", None, LEDGER), other)
    ) == [([*path, "to", "locationId"], "DIFFERENT_LOCATIONS")]
    assert codes(
        _change(item, location, 1, ("available", None, None), ("available", None, None))
    ) == [([*path, "to", "name"], "SAME_QUANTITY_NAME")]
    assert codes(
        _change(item, location, 1, ("committed", None, LEDGER), ("damaged", None, LEDGER))
    ) == [([*path, "from", "name"], "INVALID_QUANTITY_NAME")]
    assert codes(
        _change(item, location, -1, ("available", None, None), ("damaged", None, LEDGER))
    ) == [([*path, "quantity"], "INVALID_QUANTITY_NEGATIVE")]
    assert codes(
        _change(item, location, 2_000_000_001, ("available", None, None), ("damaged", None, LEDGER))
    ) == [([*path, "quantity"], "INVALID_QUANTITY_TOO_HIGH")]
    assert codes(
        _change(item, location, 1, ("available", None, LEDGER), ("damaged", None, None))
    ) == [
        ([*path, "from", "ledgerDocumentUri"], "INVALID_AVAILABLE_DOCUMENT"),
        ([*path, "to", "ledgerDocumentUri"], "INVALID_QUANTITY_DOCUMENT"),
    ]
    assert codes(
        _change(
            item, location, 1, ("available", None, None), ("damaged", None, "gid://shopify/X/1")
        )
    ) == [([*path, "to", "ledgerDocumentUri"], "INTERNAL_LEDGER_DOCUMENT")]
    assert codes(
        _change(item, location, 1, ("available", None, None), ("damaged", None, "not a uri"))
    ) == [([*path, "to", "ledgerDocumentUri"], "INVALID_LEDGER_DOCUMENT")]
    assert codes(
        _change(item, location, 1, ("available", None, None), ("damaged", None, LEDGER)),
        reason="because",
        referenceDocumentUri="nope",
    ) == [
        (["input", "reason"], "INVALID_REASON"),
        (["input", "referenceDocumentUri"], "INVALID_REFERENCE_DOCUMENT"),
    ]
    assert codes(_change(item, other, 1, ("available", None, None), ("damaged", None, LEDGER))) == [
        ([*path, "from", "locationId"], "ITEM_NOT_STOCKED_AT_LOCATION")
    ]
    assert codes(_change(item, location, 1, ("available", 3, None), ("damaged", 1, LEDGER))) == [
        ([*path, "from", "changeFromQuantity"], "CHANGE_FROM_QUANTITY_STALE"),
        ([*path, "to", "changeFromQuantity"], "CHANGE_FROM_QUANTITY_STALE"),
    ]
    assert _quantities(shop, item, location)["available"] == 4  # nothing moved
    # changeFromQuantity must be given on both sides (null allowed): a top-level error.
    missing = _change(item, location, 1, ("available", None, None), ("damaged", None, LEDGER))
    del missing["to"]["changeFromQuantity"]
    body = shop.raw(MOVE, {"key": "missing", "input": {"reason": "damaged",
        "referenceDocumentUri": "logistics://x/1", "changes": [missing]}})  # fmt: skip
    assert body["errors"][0]["message"] == (
        "InventoryMoveQuantityTerminalInput must include the following argument: "
        "changeFromQuantity."
    )
    # Without @idempotent: Shopify's top-level error.
    no_key = MOVE.replace(" @idempotent(key: $key)", "").replace(", $key: String!", "")
    body = shop.raw(no_key, {"input": {"reason": "damaged", "referenceDocumentUri": "a://b",
        "changes": []}})  # fmt: skip
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_move_sends_inventory_levels_update(shop: ShopClient, receiver: Receiver) -> None:
    item, location = _stock(shop, 6)
    shop(
        """mutation($uri: String!) { webhookSubscriptionCreate(topic: INVENTORY_LEVELS_UPDATE,
             webhookSubscription: {uri: $uri}) { userErrors { message } } }""",
        {"uri": receiver.url + "/levels"},
    )
    _move(shop, "w1", _change(item, location, 2, ("available", 6, None), ("reserved", 0, LEDGER)))
    # reserved -> damaged leaves available as it is: no webhook for it.
    _move(
        shop,
        "w2",
        _change(item, location, 1, ("reserved", 2, LEDGER), ("damaged", 0, "ledger://d/1")),
    )
    for _ in range(300):
        if receiver.at("/levels"):
            break
        threading.Event().wait(0.01)
    threading.Event().wait(0.2)
    bodies = [json.loads(r["body"]) for r in receiver.at("/levels")]
    assert [b["available"] for b in bodies] == [4]


def test_adjust_with_only_zero_deltas_answers_no_group(shop: ShopClient) -> None:
    item, location = _stock(shop, 5)
    change = {
        "inventoryItemId": item,
        "locationId": location,
        "delta": 0,
        "changeFromQuantity": 5,
    }
    answer = shop(
        ADJUST,
        {
            "key": "zero",
            "input": {
                "name": "available",
                "reason": "correction",
                "referenceDocumentUri": "logistics://count/1",
                "changes": [change, {**change}],
            },
        },
    )["inventoryAdjustQuantities"]
    assert answer == {"inventoryAdjustmentGroup": None, "userErrors": []}
    assert _quantities(shop, item, location)["available"] == 5
    # Checks still run first: a stale changeFromQuantity is refused even with delta 0.
    stale = shop(
        ADJUST,
        {
            "key": "zero-stale",
            "input": {
                "name": "available",
                "reason": "correction",
                "changes": [{**change, "changeFromQuantity": 9}],
            },
        },
    )["inventoryAdjustQuantities"]
    assert [e["code"] for e in stale["userErrors"]] == ["CHANGE_FROM_QUANTITY_STALE"]
    # One real change among zeros gives a group with that change only.
    mixed = shop(
        ADJUST,
        {
            "key": "mixed",
            "input": {
                "name": "available",
                "reason": "correction",
                "changes": [change, {**change, "delta": 2}],
            },
        },
    )["inventoryAdjustQuantities"]
    assert [(c["name"], c["delta"]) for c in mixed["inventoryAdjustmentGroup"]["changes"]] == [
        ("available", 2),
        ("on_hand", 2),
    ]
