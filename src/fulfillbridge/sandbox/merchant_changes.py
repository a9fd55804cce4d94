"""Merchant actions that change an order after it was placed (served with
``merchant_actions.all_actions``), each running the same domain code as its Admin API mutation:

- ``hold_fulfillment_order`` {``fulfillment_order_id``, ``reason`` (a FulfillmentHoldReason),
  optional ``reason_notes``}: a hold placed in the admin (no app: ``heldByApp`` null).
- ``release_hold`` {``fulfillment_order_id``}: the merchant releases every hold.
- ``move_fulfillment_order`` {``fulfillment_order_id``, ``location_id``, optional
  ``line_items: [{"id", "quantity"}]``} (``fulfillmentOrderMove``).
- ``split_fulfillment_order`` {``fulfillment_order_id``, ``line_items``}
  (``fulfillmentOrderSplit``).
- ``edit_order`` {``order_id``, optional ``add: [{"variant_id", "quantity"}]``,
  ``set_quantity: [{"line_item_id", "quantity"}]``, ``notify_customer``, ``staff_note``}:
  one order edit, begun, staged and committed.
- ``update_shipping_address`` {``order_id``, ``address``} (MailingAddressInput keys).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fulfillbridge.sandbox.domain.orders import edits, orders_of
from fulfillbridge.sandbox.merchant_actions import (
    MerchantActionError,
    _domain_call,
    _fulfillment_order,
    _line_items,
    _numeric_id,
    _only_keys,
    _optional,
    _order,
)
from fulfillbridge.sandbox.seed import fulfillment_order_summary
from fulfillbridge.sandbox.state import ShopState, gid

# FulfillmentHoldReason in the vendored Admin schema (2026-07).
HOLD_REASONS = (
    "AWAITING_PAYMENT",
    "AWAITING_RETURN_ITEMS",
    "HIGH_RISK_OF_FRAUD",
    "INCORRECT_ADDRESS",
    "INVENTORY_OUT_OF_STOCK",
    "ONLINE_STORE_POST_PURCHASE_CROSS_SELL",
    "OTHER",
    "UNKNOWN_DELIVERY_DATE",
)


def _hold(shop: ShopState, body: dict[str, Any]) -> dict[str, Any]:
    _only_keys(body, {"fulfillment_order_id", "reason", "reason_notes"})
    reason = body.get("reason")
    if reason not in HOLD_REASONS:
        raise MerchantActionError(
            f"hold_fulfillment_order needs reason, one of {', '.join(HOLD_REASONS)}; got {reason!r}"
        )
    notes = _optional(body, "reason_notes", str)
    orders = orders_of(shop)
    fo = _fulfillment_order(orders, body)
    hold, held, _rest = _domain_call(
        lambda: orders.hold(fo, {"reason": reason, "reasonNotes": notes}, None)
    )
    return {
        "hold": {
            "id": hold.gid,
            "reason": hold.reason,
            "reason_notes": hold.reason_notes,
            "display_reason": hold.display_reason,
        },
        "fulfillment_order": fulfillment_order_summary(shop, held),
    }


def _release(shop: ShopState, body: dict[str, Any]) -> dict[str, Any]:
    _only_keys(body, {"fulfillment_order_id"})
    orders = orders_of(shop)
    fo = _fulfillment_order(orders, body)
    released = _domain_call(lambda: orders.release_hold(fo, None, None))
    return {"fulfillment_order": fulfillment_order_summary(shop, released)}


def _move(shop: ShopState, body: dict[str, Any]) -> dict[str, Any]:
    _only_keys(body, {"fulfillment_order_id", "location_id", "line_items"})
    orders = orders_of(shop)
    location = gid("Location", _numeric_id(body, "location_id", "Location"))
    lines = _line_items(body.get("line_items"))
    fo = _fulfillment_order(orders, body)
    moved, original, remaining = _domain_call(lambda: orders.move(fo, location, lines))
    return {
        "moved": fulfillment_order_summary(shop, moved),
        "original": fulfillment_order_summary(shop, original),
        "remaining": fulfillment_order_summary(shop, remaining) if remaining else None,
    }


def _split(shop: ShopState, body: dict[str, Any]) -> dict[str, Any]:
    _only_keys(body, {"fulfillment_order_id", "line_items"})
    orders = orders_of(shop)
    lines = _line_items(body.get("line_items"))
    if lines is None:
        raise MerchantActionError("split_fulfillment_order needs line_items")
    fo = _fulfillment_order(orders, body)
    original, created = _domain_call(lambda: orders.split(fo, lines, 0))
    return {
        "fulfillment_order": fulfillment_order_summary(shop, original),
        "remaining": fulfillment_order_summary(shop, created),
    }


def _entries(body: dict[str, Any], key: str, id_key: str) -> list[tuple[Any, int]]:
    value = body.get(key, [])
    if not isinstance(value, list):
        raise MerchantActionError(f"{key} must be a list of {{{id_key!r}, 'quantity'}}")
    out = []
    for index, entry in enumerate(value):
        if (
            not isinstance(entry, dict)
            or set(entry) != {id_key, "quantity"}
            or isinstance(entry["quantity"], bool)
            or not isinstance(entry["quantity"], int)
        ):
            raise MerchantActionError(
                f"{key}[{index}] must be {{{id_key!r}: id, 'quantity': integer}}, got {entry!r}"
            )
        out.append((entry[id_key], entry["quantity"]))
    return out


def _id_in(value: Any, where: str, kind: str) -> int:
    return _numeric_id({"action": "edit_order", where: value}, where, kind)


def _edit_order(shop: ShopState, body: dict[str, Any]) -> dict[str, Any]:
    _only_keys(body, {"order_id", "add", "set_quantity", "notify_customer", "staff_note"})
    orders = orders_of(shop)
    adds = _entries(body, "add", "variant_id")
    sets = _entries(body, "set_quantity", "line_item_id")
    if not adds and not sets:
        raise MerchantActionError("edit_order needs at least one entry in add or set_quantity")
    notify = _optional(body, "notify_customer", bool, False)
    staff_note = _optional(body, "staff_note", str)
    order = _order(orders, body)
    variants = [
        (gid("ProductVariant", _id_in(v, f"add[{i}].variant_id", "ProductVariant")), q)
        for i, (v, q) in enumerate(adds)
    ]
    # A calculated line item of an existing line carries the line item's number.
    lines = [
        (gid("CalculatedLineItem", _id_in(li, f"set_quantity[{i}].line_item_id", "LineItem")), q)
        for i, (li, q) in enumerate(sets)
    ]

    def run() -> Any:
        edit = edits.begin(shop, order.gid, None)
        for line_gid, quantity in lines:
            edits.set_quantity(shop, edit.gid, line_gid, quantity)
        for variant_gid, quantity in variants:
            edits.add_variant(shop, edit.gid, variant_gid, quantity)
        return edits.commit(shop, edit.gid, notify_customer=notify, staff_note=staff_note)

    edited, _edit = _domain_call(run)
    return {
        "order": {
            "id": edited.gid,
            "name": edited.name,
            "line_items": [
                {
                    "id": line.gid,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "current_quantity": line.quantity - line.removed_quantity,
                }
                for line in edited.line_items
            ],
            "fulfillment_orders": [
                fulfillment_order_summary(shop, fo) for fo in orders.fos_of(edited)
            ],
        }
    }


def _update_shipping_address(shop: ShopState, body: dict[str, Any]) -> dict[str, Any]:
    _only_keys(body, {"order_id", "address"})
    address = body.get("address")
    if not isinstance(address, dict) or not address:
        raise MerchantActionError("update_shipping_address needs address, a non-empty object")
    unknown = sorted(set(address) - set(edits.ADDRESS_FIELDS))
    if unknown:
        raise MerchantActionError(
            f"address: unknown field(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(edits.ADDRESS_FIELDS)}"
        )
    if not all(value is None or isinstance(value, str) for value in address.values()):
        raise MerchantActionError("address values must be strings or null")
    orders = orders_of(shop)
    order = _order(orders, body)
    updated = _domain_call(lambda: edits.update_shipping_address(shop, order.gid, address))
    return {"order": {"id": updated.gid, "shipping_address": updated.shipping_address}}


CHANGE_ACTIONS: dict[str, Callable[[ShopState, dict[str, Any]], dict[str, Any]]] = {
    "hold_fulfillment_order": _hold,
    "release_hold": _release,
    "move_fulfillment_order": _move,
    "split_fulfillment_order": _split,
    "edit_order": _edit_order,
    "update_shipping_address": _update_shipping_address,
}
