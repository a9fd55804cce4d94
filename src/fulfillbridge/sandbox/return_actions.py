"""Returns from the customer's and the merchant's side (served with
``merchant_actions.all_actions`` at ``POST /__sandbox/shops/{domain}/merchant``), each running
the same domain code as its Admin API mutation, so the same webhooks follow:

- ``request_return`` {``order_id``, optional ``line_items: [{"fulfillment_line_item_id",
  "quantity", optional "reason" (a ReturnReason), "customer_note"}]``}: the customer asks to
  return items from the store's returns page (``returnRequest``). Without ``line_items``,
  every unit of the order that can still be returned, with reason UNWANTED.
- ``approve_return`` {``return_id``} (``returnApproveRequest``).
- ``decline_return`` {``return_id``, ``reason`` (a ReturnDeclineReason), optional ``note``}
  (``returnDeclineRequest``).
- ``close_return`` {``return_id``} (``returnClose``).

Ids are global ids or plain integers; bad input answers 400, unknown ids 404, and what the
mutation refuses as userErrors 409 (with the userErrors).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fulfillbridge.sandbox.domain.orders import orders_of
from fulfillbridge.sandbox.domain.returns import RETURN_REASONS, Return, returns_of
from fulfillbridge.sandbox.merchant_actions import (
    MerchantActionError,
    _domain_call,
    _numeric_id,
    _only_keys,
    _optional,
    _order,
)
from fulfillbridge.sandbox.state import ShopState, gid

# ReturnDeclineReason in the vendored Admin schema (2026-07).
DECLINE_REASONS = ("RETURN_PERIOD_ENDED", "FINAL_SALE", "OTHER")


def _summary(ret: Return) -> dict[str, Any]:
    return {
        "id": ret.gid,
        "name": ret.name,
        "status": ret.status,
        "order_id": gid("Order", ret.order_id),
        "return_line_items": [
            {
                "id": line.gid,
                "fulfillment_line_item_id": gid(
                    "FulfillmentLineItem", line.fulfillment_line_item_id
                ),
                "quantity": line.quantity,
                "return_reason": line.return_reason,
            }
            for line in ret.line_items
        ],
        "reverse_fulfillment_order_ids": [
            gid("ReverseFulfillmentOrder", i) for i in ret.reverse_order_ids
        ],
    }


def _request_lines(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise MerchantActionError(
            'line_items must be a non-empty list of {"fulfillment_line_item_id", "quantity", '
            '"reason"?, "customer_note"?}'
        )
    lines = []
    allowed = {"fulfillment_line_item_id", "quantity", "reason", "customer_note"}
    for index, entry in enumerate(value):
        if (
            not isinstance(entry, dict)
            or not {"fulfillment_line_item_id", "quantity"} <= set(entry) <= allowed
            or isinstance(entry["quantity"], bool)
            or not isinstance(entry["quantity"], int)
            or entry["quantity"] <= 0
        ):
            raise MerchantActionError(
                f"line_items[{index}] must be {{'fulfillment_line_item_id': id, 'quantity': "
                f"positive integer, 'reason'?: ReturnReason, 'customer_note'?: text}}, "
                f"got {entry!r}"
            )
        reason = entry.get("reason", "UNWANTED")
        if reason not in RETURN_REASONS:
            raise MerchantActionError(
                f"line_items[{index}].reason must be one of {', '.join(RETURN_REASONS)}; "
                f"got {reason!r}"
            )
        note = entry.get("customer_note")
        if note is not None and not isinstance(note, str):
            raise MerchantActionError(f"line_items[{index}].customer_note must be a string")
        number = _numeric_id(
            {"action": "request_return", "id": entry["fulfillment_line_item_id"]},
            "id",
            "FulfillmentLineItem",
        )
        lines.append(
            {
                "fulfillmentLineItemId": gid("FulfillmentLineItem", number),
                "quantity": entry["quantity"],
                "returnReason": reason,
                "customerNote": note,
            }
        )
    return lines


def _request_return(shop: ShopState, body: dict[str, Any]) -> dict[str, Any]:
    _only_keys(body, {"order_id", "line_items"})
    orders = orders_of(shop)
    order = _order(orders, body)
    part = returns_of(shop)
    if "line_items" in body:
        lines = _request_lines(body["line_items"])
    else:
        lines = [
            {
                "fulfillmentLineItemId": fli.gid,
                "quantity": left,
                "returnReason": "UNWANTED",
            }
            for fulfillment in orders.fulfillments_of(order)
            for fli in fulfillment.line_items
            if (left := part.returnable_quantity(order, fulfillment, fli.id)) > 0
        ]
        if not lines:
            raise MerchantActionError(
                f"order {order.name} has nothing left to return (no fulfilled unit that is "
                "not already on a return)",
                409,
            )
    ret = _domain_call(lambda: part.request({"orderId": order.gid, "returnLineItems": lines}))
    return {"return": _summary(ret)}


def _return_id(shop: ShopState, body: dict[str, Any]) -> str:
    number = _numeric_id(body, "return_id", "Return")
    if number not in returns_of(shop).returns:
        raise MerchantActionError(f"no return {number} in the shop", 404)
    return gid("Return", number)


def _approve_return(shop: ShopState, body: dict[str, Any]) -> dict[str, Any]:
    _only_keys(body, {"return_id"})
    return_gid = _return_id(shop, body)
    ret = _domain_call(lambda: returns_of(shop).approve(return_gid))
    return {"return": _summary(ret)}


def _decline_return(shop: ShopState, body: dict[str, Any]) -> dict[str, Any]:
    _only_keys(body, {"return_id", "reason", "note"})
    reason = body.get("reason")
    if reason not in DECLINE_REASONS:
        raise MerchantActionError(
            f"decline_return needs reason, one of {', '.join(DECLINE_REASONS)}; got {reason!r}"
        )
    note = _optional(body, "note", str)
    return_gid = _return_id(shop, body)
    ret = _domain_call(lambda: returns_of(shop).decline(return_gid, reason, note))
    return {"return": _summary(ret)}


def _close_return(shop: ShopState, body: dict[str, Any]) -> dict[str, Any]:
    _only_keys(body, {"return_id"})
    return_gid = _return_id(shop, body)
    ret = _domain_call(lambda: returns_of(shop).close(return_gid))
    return {"return": _summary(ret)}


RETURN_ACTIONS: dict[str, Callable[[ShopState, dict[str, Any]], dict[str, Any]]] = {
    "request_return": _request_return,
    "approve_return": _approve_return,
    "decline_return": _decline_return,
    "close_return": _close_return,
}
