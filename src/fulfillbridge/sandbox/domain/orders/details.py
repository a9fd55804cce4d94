"""What an order carries besides its lines and totals, and the rules that follow from it:
the buyer's line properties and note attributes, the delivery method its shipping line
implies, the dates no ``orderCreate`` input carries (a scheduled fulfil-at, a deadline, a
promised delivery window: the sandbox's seed controls set them through ``OrderExtras``),
scheduled fulfillment orders opening when their time comes, and pickup orders made ready.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fulfillbridge.sandbox.domain.orders.inputs import iso
from fulfillbridge.sandbox.domain.orders.model import (
    CANCELLED,
    CLOSED,
    IN_PROGRESS,
    INCOMPLETE,
    OPEN,
    SCHEDULED,
    FulfillmentOrder,
    Order,
)
from fulfillbridge.sandbox.state import ShopState, parse_gid

if TYPE_CHECKING:
    from fulfillbridge.sandbox.domain.catalog import InventoryItem
    from fulfillbridge.sandbox.domain.orders.part import Orders

SCHEDULED_READY_TOPIC = "fulfillment_orders/scheduled_fulfillment_order_ready"
# Schema enum DeliveryMethodType. A shipping line names its kind only through its free-form
# code and source, so the sandbox reads these words there (case-insensitive).
_PICKUP_WORDS = ("pickup", "pick-up", "pick_up", "pick up")
_LOCAL_WORDS = ("local_delivery", "local-delivery", "local delivery")


@dataclass(frozen=True)
class OrderExtras:
    """Dates of a new order that no ``OrderCreateOrderInput`` field carries (ISO 8601)."""

    fulfill_at: str | None = None
    fulfill_by: str | None = None
    min_delivery_at: str | None = None
    max_delivery_at: str | None = None


# ------------------------------------------------------------------------------ input
def line_properties(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """``OrderCreateLineItemInput.properties`` as (name, value), in input order. Keys that
    start with ``_`` (hidden from the buyer at checkout) are kept like any other."""
    return [(str(p["name"]), str(p["value"])) for p in raw.get("properties") or []]


def note_attributes(order_input: dict[str, Any]) -> list[tuple[str, str]]:
    """``OrderCreateOrderInput.customAttributes`` as (key, value), in input order."""
    return [(str(a["key"]), str(a["value"])) for a in order_input.get("customAttributes") or []]


def line_weight(raw: dict[str, Any], item: InventoryItem | None) -> tuple[float, str] | None:
    """The weight of one unit: the input's ``weight`` first, else the variant's inventory
    item measurement (copied at order time, like Shopify's line item grams)."""
    given = raw.get("weight")
    if given:
        return float(given["value"]), str(given["unit"])
    if item is not None:
        return float(item.weight_value), item.weight_unit
    return None


# ----------------------------------------------------------------------- delivery method
def delivery_method_type(order: Order) -> str:
    """DeliveryMethodType of the order's fulfillment orders, from its first shipping line:
    PICK_UP or LOCAL when its code or source says so, SHIPPING otherwise."""
    if not order.shipping_lines:
        return "SHIPPING"
    line = order.shipping_lines[0]
    words = " ".join(w for w in (line.code, line.source, line.title) if w).lower()
    if any(word in words for word in _PICKUP_WORDS):
        return "PICK_UP"
    if any(word in words for word in _LOCAL_WORDS):
        return "LOCAL"
    return "SHIPPING"


def settle_new_order(orders: Orders, order: Order, extras: OrderExtras | None) -> None:
    """After routing, before any webhook: delivery method, dates and scheduling of the new
    order's fulfillment orders. A fulfil-at in the future makes them SCHEDULED (Shopify's
    prepaid-subscription orders look like this until their date)."""
    extras = extras or OrderExtras()
    order.min_delivery_at = iso(extras.min_delivery_at)
    order.max_delivery_at = iso(extras.max_delivery_at)
    method = delivery_method_type(order)
    fulfill_at = iso(extras.fulfill_at)
    fulfill_by = iso(extras.fulfill_by)
    now = orders.shop.clock.iso_now()
    for fo in orders.fos_of(order):
        fo.delivery_method = method
        if fulfill_by is not None:
            fo.fulfill_by = fulfill_by
        if fulfill_at is not None:
            fo.fulfill_at = fulfill_at
            if fulfill_at > now and fo.status == OPEN:
                fo.status = SCHEDULED
                _watched(orders).add(fo.id)


# ---------------------------------------------------------------------------- scheduling
def _watched(orders: Orders) -> set[int]:
    """Ids of fulfillment orders made SCHEDULED here, so that checking for due ones (on
    every request) costs nothing in a shop without any."""
    watched: set[int] = orders.shop.part("scheduled_fulfillment_orders", lambda _shop: set())
    return watched


def due_scheduled(orders: Orders) -> list[FulfillmentOrder]:
    """Scheduled fulfillment orders whose fulfil-at has passed on the sandbox clock."""
    watched = _watched(orders)
    if not watched:
        return []
    now = orders.shop.clock.iso_now()
    due = []
    for fo_id in sorted(watched):
        fo = orders.fulfillment_orders.get(fo_id)
        if fo is None or fo.status in {OPEN, IN_PROGRESS, CLOSED, CANCELLED, INCOMPLETE}:
            watched.discard(fo_id)  # opened or ended; a held one may still come back
        elif fo.status == SCHEDULED and fo.fulfill_at is not None and fo.fulfill_at <= now:
            due.append(fo)
    return due


def open_due_scheduled(orders: Orders) -> list[FulfillmentOrder]:
    """Open every due scheduled fulfillment order, as Shopify does when the date comes,
    each with its ``fulfillment_orders/scheduled_fulfillment_order_ready`` webhook."""
    opened = sorted(due_scheduled(orders), key=lambda fo: (fo.fulfill_at or "", fo.id))
    for fo in opened:
        fo.status = OPEN
        orders._touch_fo(fo)
        orders._emit_fo_event(SCHEDULED_READY_TOPIC, fo)
    return opened


# -------------------------------------------------------------------------------- pickup
def prepare_for_pickup(orders: Orders, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """fulfillmentOrderLineItemsPreparedForPickup: every listed fulfillment order must be a
    pickup order with units left, else nothing happens and each refusal is a userError
    (capture fulfillment-order-lifecycle "residualSplitDeadlineMerge": shipping orders are
    refused one by one, FULFILLMENT_ORDER_INVALID). When all are valid, each one's remaining
    units are fulfilled and the fulfillment gets a READY_FOR_PICKUP event: Shopify tells the
    customer and shows the fulfillment as ready for pickup until it is picked up."""
    errors: list[dict[str, Any]] = []
    ready: list[FulfillmentOrder] = []
    for index, entry in enumerate(entries):
        field = ["input", "lineItemsByFulfillmentOrder", str(index), "fulfillmentOrderId"]
        raw_id = entry.get("fulfillmentOrderId", "")
        number = parse_gid(raw_id, "FulfillmentOrder")
        fo = orders.fulfillment_order(number) if number is not None else None
        if fo is None or fo.delivery_method != "PICK_UP":
            shown = number if number is not None else raw_id
            errors.append(
                {
                    "field": field,
                    "message": f"Invalid fulfillment_order_id provided {shown}",
                    "code": "FULFILLMENT_ORDER_INVALID",
                }
            )
        elif fo.status not in {OPEN, IN_PROGRESS} or fo.remaining() == 0:
            errors.append(
                {
                    "field": field,
                    "message": "The fulfillment order has no line items that can be prepared "
                    f"for pickup (status: {fo.status.lower()}).",
                    "code": "NO_LINE_ITEMS_TO_PREPARE_FOR_FULFILLMENT_ORDER",
                }
            )
        else:
            ready.append(fo)
    if errors:
        return errors
    for fo in ready:
        fulfillment = orders.fulfil_everything([fo], {"notifyCustomer": True})
        orders.create_event({"fulfillmentId": fulfillment.gid, "status": "READY_FOR_PICKUP"})
    return []


def has_watched_schedules(shop: ShopState) -> bool:
    """Whether the shop has scheduled fulfillment orders to check (without creating parts)."""
    return bool(shop.parts.get("scheduled_fulfillment_orders"))


def open_due_in_shop(shop: ShopState) -> list[FulfillmentOrder]:
    """``open_due_scheduled`` for a shop: run before each API request and after the sandbox
    clock moves, so that a scheduled order opens once its time has come."""
    from fulfillbridge.sandbox.domain.orders.part import orders_of

    if not has_watched_schedules(shop):
        return []
    return open_due_scheduled(orders_of(shop))
