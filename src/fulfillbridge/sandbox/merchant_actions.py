"""The merchant's side of a shop, for tests and demos: what a merchant does in the Shopify
admin, run through the same domain code as the Admin API mutations (so the same webhooks
and fulfillment-service callbacks follow). Served as ``POST
/__sandbox/shops/{domain}/merchant`` (a sandbox control, not part of Shopify's API).

``run_merchant_action(shop, body)`` takes ``{"action": ..., ...}``:

- ``submit_fulfillment_request`` (``fulfillmentOrderSubmitFulfillmentRequest``): either
  ``fulfillment_order_id`` (optionally ``line_items: [{"id", "quantity"}]`` for a partial
  request) or ``order_id`` (every fulfillment order of the order that a fulfillment service
  can be asked for); optional ``message``, ``notify_customer`` (default false),
  ``shipping_method``.
- ``submit_cancellation_request`` (``fulfillmentOrderSubmitCancellationRequest``):
  ``fulfillment_order_id``, optional ``message``.
- ``cancel_order`` (``orderCancel``): ``order_id``, ``reason`` (an OrderCancelReason:
  CUSTOMER, DECLINED, FRAUD, INVENTORY, STAFF, OTHER), optional ``restock`` (default true),
  ``refund``, ``notify_customer``, ``staff_note``.
- ``create_orders``: ``count`` orders drawn by the seeding generator over the current
  catalogue (``sandbox.seed.create_orders``), optional ``seed`` and ``variety``, and the
  order shape: ``personalised``, ``delivery`` (standard, express, local, pickup),
  ``payment_pending``, ``fulfill_by``, ``fulfill_at``, ``min_delivery_at``,
  ``max_delivery_at``.
- Changes after the order was placed (``sandbox.merchant_changes``): ``hold_fulfillment_order``,
  ``release_hold``, ``move_fulfillment_order``, ``split_fulfillment_order``, ``edit_order``,
  ``update_shipping_address``.
- Returns (``sandbox.return_actions``): ``request_return`` (as the customer),
  ``approve_return``, ``decline_return``, ``close_return``.

Ids are global ids (``gid://shopify/FulfillmentOrder/1``) or plain integers. Malformed
input raises ``MerchantActionError`` with status 400, unknown ids 404, and a request the
resource's state does not allow (what the mutation reports as ``userErrors``) 409.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fulfillbridge.sandbox.domain.orders import (
    OPEN,
    REJECTED,
    UNSUBMITTED,
    FulfillmentOrder,
    NotFound,
    Order,
    Orders,
    OrderUserErrors,
    orders_of,
)
from fulfillbridge.sandbox.seed import SeedOptionError, create_orders, fulfillment_order_summary
from fulfillbridge.sandbox.state import ShopState, parse_gid

# create_orders options that shape each order (``sandbox.seed.order_options``).
ORDER_SHAPE_KEYS = (
    "personalised",
    "delivery",
    "payment_pending",
    "fulfill_by",
    "fulfill_at",
    "min_delivery_at",
    "max_delivery_at",
)

# OrderCancelReason in the vendored Admin schema (2026-07).
CANCEL_REASONS = ("CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "STAFF", "OTHER")


class MerchantActionError(Exception):
    """A merchant action that cannot run; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400, *, user_errors: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.user_errors = user_errors


# ----------------------------------------------------------------------------- input
def _only_keys(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed - {"action"})
    if unknown:
        raise MerchantActionError(
            f"{body['action']}: unknown field(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def _numeric_id(body: dict[str, Any], key: str, kind: str) -> int:
    value = body.get(key)
    if value is None:
        raise MerchantActionError(f"{body['action']} needs {key}")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    number = parse_gid(value, kind) if isinstance(value, str) else None
    if number is None:
        raise MerchantActionError(
            f"{key} must be a {kind} id (gid://shopify/{kind}/<n> or a positive integer), "
            f"got {value!r}"
        )
    return number


def _optional(body: dict[str, Any], key: str, kind: type, default: Any = None) -> Any:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MerchantActionError(f"{key} must be a {_type_name(kind)}, got {value!r}")
    return value


def _type_name(kind: type) -> str:
    return {str: "string", bool: "boolean (true or false)", int: "integer"}.get(kind, kind.__name__)


def _line_items(value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise MerchantActionError('line_items must be a non-empty list of {"id", "quantity"}')
    lines = []
    for index, entry in enumerate(value):
        if (
            not isinstance(entry, dict)
            or set(entry) != {"id", "quantity"}
            or not isinstance(entry["id"], str)
            or isinstance(entry["quantity"], bool)
            or not isinstance(entry["quantity"], int)
            or entry["quantity"] <= 0
        ):
            raise MerchantActionError(
                f"line_items[{index}] must be {{'id': fulfillment order line item gid, "
                f"'quantity': positive integer}}, got {entry!r}"
            )
        lines.append({"id": entry["id"], "quantity": entry["quantity"]})
    return lines


def _fulfillment_order(orders: Orders, body: dict[str, Any]) -> FulfillmentOrder:
    number = _numeric_id(body, "fulfillment_order_id", "FulfillmentOrder")
    fo = orders.fulfillment_order(number)
    if fo is None:
        raise MerchantActionError(f"no fulfillment order {number} in the shop", 404)
    return fo


def _order(orders: Orders, body: dict[str, Any]) -> Order:
    number = _numeric_id(body, "order_id", "Order")
    order = orders.order(number)
    if order is None:
        raise MerchantActionError(f"no order {number} in the shop", 404)
    return order


def _domain_call(call: Callable[[], Any]) -> Any:
    """Run a domain operation; its refusals become 409 (userErrors) or 404 (unknown id)."""
    try:
        return call()
    except OrderUserErrors as exc:
        raise MerchantActionError(
            str(exc),
            409,
            user_errors=[{"field": e.field, "message": e.message} for e in exc.errors],
        ) from exc
    except NotFound as exc:
        raise MerchantActionError(str(exc), 404) from exc


# --------------------------------------------------------------------------- actions
def _submit_fulfillment_request(shop: ShopState, body: dict[str, Any]) -> dict[str, Any]:
    _only_keys(
        body,
        {
            "fulfillment_order_id",
            "order_id",
            "line_items",
            "message",
            "notify_customer",
            "shipping_method",
        },
    )
    orders = orders_of(shop)
    message = _optional(body, "message", str)
    notify = _optional(body, "notify_customer", bool, False)
    shipping_method = _optional(body, "shipping_method", str)
    lines = _line_items(body.get("line_items"))
    if ("fulfillment_order_id" in body) == ("order_id" in body):
        raise MerchantActionError(
            "submit_fulfillment_request needs exactly one of fulfillment_order_id or order_id"
        )
    if "order_id" in body:
        if lines is not None:
            raise MerchantActionError("line_items only applies with fulfillment_order_id")
        order = _order(orders, body)
        targets = [
            fo
            for fo in orders.fos_of(order)
            if orders.is_service_location(fo.location_id)
            and fo.status == OPEN
            and fo.request_status in {UNSUBMITTED, REJECTED}
        ]
        if not targets:
            raise MerchantActionError(
                f"order {order.name} has no fulfillment order that a fulfillment service can "
                "be asked to fulfil (none open and unsubmitted at a service location)",
                409,
            )
    else:
        targets = [_fulfillment_order(orders, body)]
    submitted, unsubmitted = [], []
    for fo in targets:
        _original, sent, rest = _domain_call(
            lambda fo=fo: orders.submit_fulfillment_request(
                fo,
                message=message,
                notify_customer=notify,
                lines=lines,
                shipping_method=shipping_method,
            )
        )
        submitted.append(fulfillment_order_summary(shop, sent))
        if rest is not None:
            unsubmitted.append(fulfillment_order_summary(shop, rest))
    return {"submitted": submitted, "unsubmitted": unsubmitted}


def _submit_cancellation_request(shop: ShopState, body: dict[str, Any]) -> dict[str, Any]:
    _only_keys(body, {"fulfillment_order_id", "message"})
    orders = orders_of(shop)
    message = _optional(body, "message", str)
    fo = _fulfillment_order(orders, body)
    _domain_call(lambda: orders.submit_cancellation_request(fo, message))
    return {"fulfillment_order": fulfillment_order_summary(shop, fo)}


def _cancel_order(shop: ShopState, body: dict[str, Any]) -> dict[str, Any]:
    _only_keys(body, {"order_id", "reason", "restock", "refund", "notify_customer", "staff_note"})
    orders = orders_of(shop)
    reason = body.get("reason")
    if reason not in CANCEL_REASONS:
        raise MerchantActionError(
            f"cancel_order needs reason, one of {', '.join(CANCEL_REASONS)}; got {reason!r}"
        )
    restock = _optional(body, "restock", bool, True)
    refund = _optional(body, "refund", bool)
    notify = _optional(body, "notify_customer", bool, False)
    staff_note = _optional(body, "staff_note", str)
    order = _order(orders, body)
    job = _domain_call(
        lambda: orders.cancel_order(
            order.gid,
            reason=reason,
            restock=restock,
            refund=refund,
            notify_customer=notify,
            staff_note=staff_note,
        )
    )
    return {
        "order": {
            "id": order.gid,
            "name": order.name,
            "cancelled_at": order.cancelled_at,
            "cancel_reason": order.cancel_reason,
            "fulfillment_orders": [
                fulfillment_order_summary(shop, fo) for fo in orders.fos_of(order)
            ],
        },
        "job": job,
    }


def _create_orders(shop: ShopState, body: dict[str, Any]) -> dict[str, Any]:
    _only_keys(body, {"count", "seed", "variety", *ORDER_SHAPE_KEYS})
    if "count" not in body:
        raise MerchantActionError("create_orders needs count")
    options = {k: body[k] for k in ("seed", "variety", *ORDER_SHAPE_KEYS) if k in body}
    try:
        return create_orders(shop, body["count"], **options)
    except SeedOptionError as exc:
        raise MerchantActionError(str(exc)) from exc


ACTIONS: dict[str, Callable[[ShopState, dict[str, Any]], dict[str, Any]]] = {
    "submit_fulfillment_request": _submit_fulfillment_request,
    "submit_cancellation_request": _submit_cancellation_request,
    "cancel_order": _cancel_order,
    "create_orders": _create_orders,
}


def all_actions() -> dict[str, Callable[[ShopState, dict[str, Any]], dict[str, Any]]]:
    """``ACTIONS`` and the changes of ``merchant_changes`` (imported here: that module
    builds on this one's input helpers)."""
    from fulfillbridge.sandbox.merchant_changes import CHANGE_ACTIONS
    from fulfillbridge.sandbox.return_actions import RETURN_ACTIONS

    return {**ACTIONS, **CHANGE_ACTIONS, **RETURN_ACTIONS}


def run_merchant_action(shop: ShopState, body: Any) -> dict[str, Any]:
    """Run ``body["action"]`` on ``shop``; returns ``{"action", ...result}``."""
    if not isinstance(body, dict):
        raise MerchantActionError("the body must be a JSON object")
    action = body.get("action")
    actions = all_actions()
    handler = actions.get(action) if isinstance(action, str) else None
    if handler is None:
        raise MerchantActionError(f"action must be one of {', '.join(actions)}; got {action!r}")
    return {"action": action, **handler(shop, body)}
