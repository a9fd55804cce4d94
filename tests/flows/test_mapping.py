"""shopify.mapping: Shopify FulfillmentOrder nodes (real captures, and the shape our
operations select from the sandbox) become work orders; bulk JSONL rows are reassembled."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fulfillbridge.core.work import Address, Mode, WorkState
from fulfillbridge.shopify.mapping import (
    MappingError,
    assemble_bulk_rows,
    ids_in_payload,
    parse_time,
    to_remote,
    to_remote_order,
)

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"


def _capture(name: str) -> Any:
    return json.loads((CAPTURES / name).read_text(encoding="utf-8"))


def _find_node(data: Any, wanted: str) -> dict[str, Any]:
    """The first fulfillment order in a capture with status, line items and ``wanted``."""
    if isinstance(data, dict):
        if {wanted, "status", "lineItems"} <= data.keys() and str(data.get("id", "")).startswith(
            "gid://shopify/FulfillmentOrder/"
        ):
            return data
        values = data.values()
    elif isinstance(data, list):
        values = data
    else:
        return {}
    for value in values:
        found = _find_node(value, wanted)
        if found:
            return found
    return {}


# A node as the WorkFulfillmentOrder fragment reads it from the sandbox.
SANDBOX_NODE: dict[str, Any] = {
    "id": "gid://shopify/FulfillmentOrder/41",
    "status": "IN_PROGRESS",
    "requestStatus": "ACCEPTED",
    "updatedAt": "2026-11-23T10:15:02Z",
    "orderId": "gid://shopify/Order/40",
    "orderName": "#1003",
    "assignedLocation": {"name": "fulfillbridge", "location": {"id": "gid://shopify/Location/7"}},
    "destination": {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "company": None,
        "address1": "1 Main St",
        "address2": None,
        "city": "Ottawa",
        "province": "ON",
        "countryCode": "CA",
        "zip": "K1A 0A1",
        "phone": None,
        "email": "ada@example.com",
    },
    "order": {
        "id": "gid://shopify/Order/40",
        "name": "#1003",
        "cancelledAt": None,
        "updatedAt": "2026-11-23T10:15:02Z",
        "billingAddress": {
            "name": "Ada Lovelace",
            "firstName": "Ada",
            "lastName": "Lovelace",
            "address1": "2 Bank St",
            "address2": "Suite 4",
            "city": "Ottawa",
            "provinceCode": "ON",
            "countryCodeV2": "CA",
            "zip": "K1P 5N2",
            "phone": "+1 613 555 0100",
        },
    },
    "merchantRequests": {
        "nodes": [
            {"kind": "FULFILLMENT_REQUEST", "message": "please", "sentAt": "2026-11-23T10:00:00Z"},
            {"kind": "CANCELLATION_REQUEST", "message": "stop", "sentAt": "2026-11-23T10:15:02Z"},
        ]
    },
    "lineItems": {
        "nodes": [
            {
                "id": "gid://shopify/FulfillmentOrderLineItem/42",
                "sku": "TEE-BLK-M",
                "productTitle": "Classic Tee",
                "variantTitle": "Black / M",
                "totalQuantity": 3,
                "remainingQuantity": 1,
                "requiresShipping": True,
                "lineItem": {
                    "id": "gid://shopify/LineItem/39",
                    "sku": "TEE-BLK-M",
                    "title": "Classic Tee",
                },
            },
            {
                "id": "gid://shopify/FulfillmentOrderLineItem/43",
                "sku": None,
                "productTitle": "Gift card",
                "variantTitle": "Default Title",
                "totalQuantity": 1,
                "remainingQuantity": 1,
                "requiresShipping": False,
                "lineItem": {"id": "gid://shopify/LineItem/38", "sku": None, "title": "Gift card"},
            },
        ],
        "pageInfo": {"hasNextPage": False},
    },
}


def test_sandbox_shaped_node_maps_to_a_received_work_order() -> None:
    remote = to_remote(SANDBOX_NODE, store="demo", mode=Mode.FULFILLMENT_SERVICE)

    work = remote.work
    assert work.state is WorkState.RECEIVED and work.mode is Mode.FULFILLMENT_SERVICE
    assert (work.store, work.remote_id, work.order_name) == ("demo", SANDBOX_NODE["id"], "#1003")
    tee, card = work.lines
    assert (tee.line_id, tee.sku, tee.quantity, tee.shipped) == (
        "gid://shopify/FulfillmentOrderLineItem/42",
        "TEE-BLK-M",
        3,
        2,
    )
    assert tee.title == "Classic Tee - Black / M" and tee.requires_shipping is True
    assert (card.sku, card.title, card.requires_shipping) == (None, "Gift card", False)
    assert work.shipping_address == Address(
        name="Ada Lovelace",
        address1="1 Main St",
        city="Ottawa",
        province_code="ON",
        zip="K1A 0A1",
        country_code="CA",
    )
    assert work.billing_address == Address(
        name="Ada Lovelace",
        address1="2 Bank St",
        address2="Suite 4",
        city="Ottawa",
        province_code="ON",
        zip="K1P 5N2",
        country_code="CA",
        phone="+1 613 555 0100",
    )
    assert remote.order_id == "gid://shopify/Order/40"
    assert remote.location_id == "gid://shopify/Location/7"
    assert (remote.status, remote.request_status) == ("IN_PROGRESS", "ACCEPTED")
    assert remote.updated_at == datetime(2026, 11, 23, 10, 15, 2, tzinfo=UTC)
    assert remote.order_cancelled is False and remote.lines_truncated is False
    # docs/shopify.md#fulfillment-order-state-machine: requestStatus may still read ACCEPTED
    # after a cancellation request.
    assert remote.cancellation_pending is True


def test_answered_cancellation_is_not_pending() -> None:
    node = {**SANDBOX_NODE, "requestStatus": "CANCELLATION_REJECTED"}
    assert (
        to_remote(node, store="demo", mode=Mode.FULFILLMENT_SERVICE).cancellation_pending is False
    )
    node = {**SANDBOX_NODE, "merchantRequests": {"nodes": []}}
    assert (
        to_remote(node, store="demo", mode=Mode.FULFILLMENT_SERVICE).cancellation_pending is False
    )
    node = {
        **SANDBOX_NODE,
        "requestStatus": "CANCELLATION_REQUESTED",
        "merchantRequests": {"nodes": []},
    }
    assert to_remote(node, store="demo", mode=Mode.FULFILLMENT_SERVICE).cancellation_pending is True


def test_newest_cancellation_request_is_named_by_id_even_within_one_second() -> None:
    def request(n: int, kind: str, sent: str) -> dict[str, str]:
        return {
            "id": f"gid://shopify/FulfillmentOrderMerchantRequest/{n}",
            "kind": kind,
            "message": "m",
            "sentAt": sent,
        }

    node = {
        **SANDBOX_NODE,
        "requestStatus": "CANCELLATION_REQUESTED",
        "merchantRequests": {
            "nodes": [
                request(1, "FULFILLMENT_REQUEST", "2026-11-23T10:00:00Z"),
                request(2, "CANCELLATION_REQUEST", "2026-11-23T10:15:02Z"),
                request(3, "CANCELLATION_REQUEST", "2026-11-23T10:15:02Z"),
            ]
        },
    }
    remote = to_remote(node, store="demo", mode=Mode.FULFILLMENT_SERVICE)
    assert remote.cancellation_request_id == "gid://shopify/FulfillmentOrderMerchantRequest/3"
    none = {**SANDBOX_NODE, "merchantRequests": {"nodes": [request(1, "FULFILLMENT_REQUEST", "x")]}}
    assert (
        to_remote(none, store="demo", mode=Mode.FULFILLMENT_SERVICE).cancellation_request_id is None
    )


def test_cancelled_order_and_truncated_lines_are_flagged() -> None:
    node = {
        **SANDBOX_NODE,
        "order": {**SANDBOX_NODE["order"], "cancelledAt": "2026-11-23T11:00:00Z"},
        "lineItems": {**SANDBOX_NODE["lineItems"], "pageInfo": {"hasNextPage": True}},
    }
    remote = to_remote(node, store="demo", mode=Mode.ORDER_MANAGEMENT)
    assert remote.order_cancelled is True and remote.lines_truncated is True
    assert remote.work.mode is Mode.ORDER_MANAGEMENT


def test_recorded_shopify_node_maps() -> None:
    """A fulfillment order exactly as Shopify answered it (capture
    2026-04_orders_fulfillment-create-preconditions.json): no destination, no SKU fields."""
    node = _find_node(_capture("2026-04_orders_fulfillment-create-preconditions.json"), "order")
    remote = to_remote(node, store="shop", mode=Mode.ORDER_MANAGEMENT)
    assert remote.remote_id == node["id"]
    assert remote.order_id == node["order"]["id"]
    assert remote.work.order_name == node["order"]["name"]
    assert remote.status == node["status"] and remote.is_closed == (node["status"] == "CLOSED")
    assert remote.location_id == node["assignedLocation"]["location"]["id"]
    assert remote.work.shipping_address is None
    (line,) = remote.work.lines
    assert line.sku is None and line.quantity == node["lineItems"]["nodes"][0]["totalQuantity"]
    assert line.title == node["lineItems"]["nodes"][0]["lineItem"]["title"]
    assert remote.updated_at == parse_time(node["updatedAt"])


def test_recorded_lifecycle_nodes_map() -> None:
    """Every fulfillment order with line items in the lifecycle capture maps."""
    capture = _capture("2026-04_shipping-fulfillments_fulfillment-order-lifecycle.json")
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if str(value.get("id", "")).startswith("gid://shopify/FulfillmentOrder/") and (
                "lineItems" in value and "status" in value
            ):
                found.append(value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(capture)
    assert len(found) > 10
    for node in found:
        if not (node.get("order") or node.get("orderId")):
            # A selection without the order: the mapping says so clearly.
            with pytest.raises(MappingError, match="does not name its order"):
                to_remote(node, store="shop", mode=Mode.ORDER_MANAGEMENT)
            node = {**node, "orderId": "gid://shopify/Order/1"}
        remote = to_remote(node, store="shop", mode=Mode.ORDER_MANAGEMENT)
        assert remote.status == node["status"]
        assert [line.quantity for line in remote.work.lines] == [
            n["totalQuantity"] for n in node["lineItems"]["nodes"]
        ]


def test_bad_nodes_are_refused_with_a_reason() -> None:
    with pytest.raises(MappingError, match="not a fulfillment order id"):
        to_remote({"id": "gid://shopify/Order/1"}, store="s", mode=Mode.ORDER_MANAGEMENT)
    with pytest.raises(MappingError, match="no totalQuantity"):
        to_remote(
            {
                **SANDBOX_NODE,
                "lineItems": {"nodes": [{"id": "gid://shopify/FulfillmentOrderLineItem/1"}]},
            },
            store="s",
            mode=Mode.ORDER_MANAGEMENT,
        )
    with pytest.raises(MappingError, match="ISO 8601"):
        parse_time("yesterday")


def test_bulk_rows_are_reassembled_under_their_parents() -> None:
    lines = SANDBOX_NODE["lineItems"]["nodes"]
    parent = {k: v for k, v in SANDBOX_NODE.items() if k not in {"lineItems", "merchantRequests"}}
    rows = [
        parent,
        {**lines[0], "__parentId": parent["id"]},
        {
            "id": "gid://shopify/FulfillmentOrderMerchantRequest/9",
            "kind": "FULFILLMENT_REQUEST",
            "message": None,
            "sentAt": "2026-11-23T10:00:00Z",
            "__parentId": parent["id"],
        },
        {**lines[1], "__parentId": parent["id"]},
        {**parent, "id": "gid://shopify/FulfillmentOrder/50"},
    ]
    first, second = assemble_bulk_rows(rows)
    assert [n["id"] for n in first["lineItems"]["nodes"]] == [lines[0]["id"], lines[1]["id"]]
    assert [n["kind"] for n in first["merchantRequests"]["nodes"]] == ["FULFILLMENT_REQUEST"]
    assert second["lineItems"]["nodes"] == []
    remote = to_remote(first, store="demo", mode=Mode.FULFILLMENT_SERVICE)
    assert len(remote.work.lines) == 2 and remote.cancellation_pending is False
    with pytest.raises(MappingError, match="unknown parent"):
        assemble_bulk_rows([{**lines[0], "__parentId": "gid://shopify/FulfillmentOrder/404"}])


def test_ids_in_webhook_bodies() -> None:
    body = {
        "original_fulfillment_order": {
            "id": "gid://shopify/FulfillmentOrder/1",
            "order_id": "gid://shopify/Order/5",
            "line_items": [{"id": "gid://shopify/FulfillmentOrderLineItem/3"}],
        },
        "submitted_fulfillment_order": {"id": "gid://shopify/FulfillmentOrder/1"},
        "unsubmitted_fulfillment_order": {"id": "gid://shopify/FulfillmentOrder/2"},
        "fulfillment_order_merchant_request": {
            "id": "gid://shopify/FulfillmentOrderMerchantRequest/4"
        },
    }
    assert ids_in_payload(body) == (
        ["gid://shopify/FulfillmentOrder/1", "gid://shopify/FulfillmentOrder/2"],
        ["gid://shopify/Order/5"],
    )


def test_orders_map_for_reconciliation() -> None:
    order = to_remote_order(
        {
            "id": "gid://shopify/Order/5",
            "name": "#1001",
            "cancelledAt": "2026-11-23T09:00:00Z",
            "updatedAt": "2026-11-23T09:00:01Z",
        }
    )
    assert order.cancelled is True and order.updated_at == datetime(
        2026, 11, 23, 9, 0, 1, tzinfo=UTC
    )
    with pytest.raises(MappingError):
        to_remote_order({"id": "gid://shopify/FulfillmentOrder/5"})


def _personalised_node() -> dict[str, Any]:
    node = json.loads(json.dumps(SANDBOX_NODE))
    node.update(
        {
            "fulfillBy": "2026-11-25T17:00:00Z",
            "fulfillAt": None,
            "deliveryMethod": {
                "methodType": "SHIPPING",
                "presentedName": "Express",
                "serviceCode": "EXPRESS",
                "minDeliveryDateTime": "2026-11-26T00:00:00Z",
                "maxDeliveryDateTime": None,
            },
            "fulfillmentHolds": [
                {
                    "id": "gid://shopify/FulfillmentHold/1",
                    "reason": "HIGH_RISK_OF_FRAUD",
                    "reasonNotes": "card check",
                    "displayReason": "High risk of fraud",
                    "heldByRequestingApp": False,
                },
                {
                    "id": "gid://shopify/FulfillmentHold/2",
                    "reason": "OTHER",
                    "reasonNotes": None,
                    "displayReason": "Other",
                    "heldByRequestingApp": True,
                },
            ],
        }
    )
    node["order"].update(
        {
            "note": "Gift wrap please",
            "tags": ["vip"],
            "currencyCode": "CAD",
            "displayFinancialStatus": "PENDING",
            "customAttributes": [{"key": "gift_message", "value": "Happy birthday"}],
            "shippingLine": {"title": "Express", "code": "EXPRESS", "source": "shopify"},
        }
    )
    line = node["lineItems"]["nodes"][0]
    line.update(
        {
            "vendor": "Acme Prints",
            "inventoryItemId": "gid://shopify/InventoryItem/9",
            "image": {"url": "https://cdn.example.invalid/tee.png"},
            "weight": {"unit": "KILOGRAMS", "value": 0.25},
            "financialSummaries": [
                {
                    "quantity": 3,
                    "originalUnitPriceSet": {
                        "shopMoney": {"amount": "25.0", "currencyCode": "CAD"}
                    },
                    "approximateDiscountedUnitPriceSet": {
                        "shopMoney": {"amount": "20.0", "currencyCode": "CAD"}
                    },
                }
            ],
            "variant": {
                "id": "gid://shopify/ProductVariant/5",
                "title": "Black / M",
                "selectedOptions": [
                    {"name": "Colour", "value": "Black"},
                    {"name": "Size", "value": "M"},
                ],
                "inventoryItem": {"harmonizedSystemCode": "610910", "countryCodeOfOrigin": "PT"},
            },
        }
    )
    line["lineItem"].update(
        {
            "customAttributes": [
                {"key": "Engraving", "value": "For Ada"},
                {"key": "_artwork_url", "value": "https://files.example.invalid/a.png"},
                {"key": "Notes", "value": "x" * 5000},
            ],
            "product": {"id": "gid://shopify/Product/4"},
        }
    )
    return node


def test_personalised_node_maps_every_detail_the_operation_needs() -> None:
    from fulfillbridge.core.details import DeliveryKind, PaymentState

    remote = to_remote(_personalised_node(), store="demo", mode=Mode.FULFILLMENT_SERVICE)
    line = remote.work.lines[0]
    assert line.properties[:2] == (
        ("Engraving", "For Ada"),
        ("_artwork_url", "https://files.example.invalid/a.png"),
    )
    assert len(line.properties[2][1]) == 4000  # cut to the bound, and said so
    assert any("5000 characters" in w for w in remote.work.details.warnings)
    assert line.options == (("Colour", "Black"), ("Size", "M"))
    assert (line.variant_id, line.product_id) == (
        "gid://shopify/ProductVariant/5",
        "gid://shopify/Product/4",
    )
    assert line.image_url == "https://cdn.example.invalid/tee.png"
    assert (line.unit_price, line.discounted_unit_price, line.line_total) == (
        "25.0",
        "20.0",
        "75.0",
    )
    assert line.weight_grams == 250.0
    assert (line.hs_code, line.country_of_origin, line.vendor) == ("610910", "PT", "Acme Prints")
    details = remote.work.details
    assert details.note == "Gift wrap please"
    assert details.note_attributes == (("gift_message", "Happy birthday"),)
    assert details.tags == ("vip",) and details.currency == "CAD"
    assert details.payment is PaymentState.PENDING and details.financial_status == "PENDING"
    assert details.delivery.kind is DeliveryKind.SHIPPING
    assert (details.delivery.presented_name, details.delivery.service_code) == (
        "Express",
        "EXPRESS",
    )
    assert details.fulfill_by == datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
    assert not details.customer_read  # email and phone were not selected
    assert [h.held_by for h in remote.holds] == ["merchant", "fulfillbridge"]
    assert [h.reason for h in remote.foreign_holds] == ["HIGH_RISK_OF_FRAUD"]
