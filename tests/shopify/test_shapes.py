"""Pure Shopify shapes: global ids and inventorySetQuantities input and answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from fulfillbridge.shopify.gids import (
    GlobalId,
    build_gid,
    gid_from_webhook,
    is_gid_of,
    parse_gid,
    same_resource,
    to_gid,
)
from fulfillbridge.shopify.inventory import (
    level_quantities,
    set_quantities_input,
    sort_set_quantities_errors,
)


def test_global_ids() -> None:
    assert parse_gid("gid://shopify/FulfillmentService/7?id=true") == GlobalId(
        "FulfillmentService", "7"
    )
    assert parse_gid("gid://shopify/Order") is None and parse_gid(7) is None
    assert build_gid("Location", 3) == "gid://shopify/Location/3"
    assert to_gid("Fulfillment", "9") == "gid://shopify/Fulfillment/9"
    assert to_gid("Fulfillment", "gid://shopify/Fulfillment/9") == "gid://shopify/Fulfillment/9"
    assert same_resource(
        "gid://shopify/FulfillmentService/7?id=true", build_gid("FulfillmentService", 7)
    )
    assert not same_resource("gid://shopify/Location/7", "gid://shopify/Location/70")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("gid://shopify/Location/12", True),
        ("gid://shopify/Location/012", False),
        ("gid://shopify/Location/12?id=true", False),
        ("gid://shopify/Order/12", False),
        ("12", False),
    ],
)
def test_a_strict_location_id(value: str, ok: bool) -> None:
    assert is_gid_of(value, "Location") is ok


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"admin_graphql_api_id": "gid://shopify/Product/5?x=1"}, "gid://shopify/Product/5"),
        ({"id": 5}, "gid://shopify/Product/5"),
        ({"id": "5"}, "gid://shopify/Product/5"),
        ({"id": True}, None),
        ({"id": -5}, None),
        ({"admin_graphql_api_id": "gid://shopify/Order/5"}, None),
    ],
)
def test_the_resource_a_webhook_names(payload: dict, expected: str | None) -> None:
    assert gid_from_webhook(payload, "Product") == expected


@dataclass(frozen=True)
class _Write:
    item_id: str
    location_id: str
    quantity: int
    known: int | None


def test_set_quantities_input_always_carries_change_from_quantity() -> None:
    built = set_quantities_input("on_hand", [_Write("I1", "L1", 4, None), _Write("I2", "L1", 5, 2)])
    assert built["name"] == "on_hand"
    assert [q["changeFromQuantity"] for q in built["quantities"]] == [None, 2]


def test_user_errors_sorted_by_entry() -> None:
    errors = [
        {
            "field": ["input", "quantities", "0", "changeFromQuantity"],
            "code": "CHANGE_FROM_QUANTITY_STALE",
            "message": "stale",
        },
        {
            "field": ["input", "quantities", "1", "quantity"],
            "code": "INVALID",
            "message": "too big",
        },
        {
            "field": ["input", "quantities", "1", "changeFromQuantity"],
            "code": "CHANGE_FROM_QUANTITY_STALE",
            "message": "stale",
        },
    ]
    found = sort_set_quantities_errors(errors, 2)
    assert (found.batch, found.refused, found.stale) == (None, {1: "too big"}, {0})
    whole = sort_set_quantities_errors([{"field": ["input", "reason"], "message": "bad reason"}], 2)
    assert whole.batch == "bad reason"
    outside = sort_set_quantities_errors(
        [{"field": ["input", "quantities", "7"], "message": "x"}], 2
    )
    assert outside.batch == "x"


def test_levels_read_again() -> None:
    data = {
        "nodes": [
            None,
            {
                "id": "I1",
                "inventoryLevels": {
                    "nodes": [
                        {
                            "location": {"id": "L1"},
                            "quantities": [
                                {"name": "available", "quantity": 1, "updatedAt": None},
                                {
                                    "name": "on_hand",
                                    "quantity": 4,
                                    "updatedAt": "2026-11-23T12:00:00Z",
                                },
                            ],
                        }
                    ]
                },
            },
        ]
    }
    assert level_quantities(data, "on_hand") == {
        ("I1", "L1"): (4, datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    }


def test_levels_read_again_with_on_hand_time_null_as_shopify_answers() -> None:
    # Shopify leaves on_hand's updatedAt null (capture inventory-quantity-contracts); the
    # level's newest time stands in, so a change made in Shopify still reads as newer.
    level = {
        "location": {"id": "L1"},
        "quantities": [
            {"name": "available", "quantity": 9, "updatedAt": "2026-06-25T01:33:56Z"},
            {"name": "on_hand", "quantity": 9, "updatedAt": None},
        ],
    }
    data = {"nodes": [{"id": "I1", "inventoryLevels": {"nodes": [level]}}]}
    assert level_quantities(data, "on_hand") == {
        ("I1", "L1"): (9, datetime(2026, 6, 25, 1, 33, 56, tzinfo=UTC))
    }
    nothing = {**level, "quantities": [{**q, "updatedAt": None} for q in level["quantities"]]}
    assert level_quantities({"nodes": [{"id": "I1", "inventoryLevels": {"nodes": [nothing]}}]},
                           "on_hand") == {("I1", "L1"): (9, None)}  # fmt: skip
