"""Deleting an order (``orderDelete``), kept apart from the orders package, which it only reads
and prunes.

Shopify's reference says only some orders can be deleted and points to its help centre: an
order must be cancelled or archived (closed) first, and only orders of some origins (API,
test, manual payment, draft) qualify. Every sandbox order was made through the API or the
seed controls, so the origin rule always holds here; what decides is whether the order is
cancelled or closed. Anything else is refused with OrderDeleteUserErrorCode INVALID (the
message is the sandbox's: Shopify's wording is not recorded). An unknown id is NOT_FOUND with
orderCancel's captured wording.

Deleting drops the order with its fulfillment orders, fulfillments and metafields, gives
back any stock the order still held, and sends ``orders/delete`` (body: the order's id).
"""

from __future__ import annotations

from fulfillbridge.sandbox.domain.catalog import Catalog
from fulfillbridge.sandbox.domain.orders import orders_of
from fulfillbridge.sandbox.domain.orders.inventory import release_all
from fulfillbridge.sandbox.state import ShopState, gid, parse_gid

NOT_DELETABLE = "Only cancelled or archived orders can be deleted."


class OrderDeleteRefused(Exception):
    def __init__(self, field: list[str], message: str, code: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


def delete_order(shop: ShopState, order_gid: str) -> str:
    """Delete the order; returns its global id."""
    orders = orders_of(shop)
    number = parse_gid(order_gid, "Order")
    order = orders.order(number) if number is not None else None
    if order is None:
        raise OrderDeleteRefused(["orderId"], "Order does not exist", "NOT_FOUND")
    if order.cancelled_at is None and order.closed_at is None:
        raise OrderDeleteRefused(["orderId"], NOT_DELETABLE, "INVALID")
    catalog: Catalog = shop.part("catalog", Catalog)
    for line in order.line_items:
        release_all(catalog, line)
    for fo_id in order.fulfillment_order_ids:
        orders.fulfillment_orders.pop(fo_id, None)
    for fulfillment_id in order.fulfillment_ids:
        orders.fulfillments.pop(fulfillment_id, None)
    del orders.orders[order.id]
    metafields = shop.parts.get("metafields")
    if metafields is not None:
        metafields.drop_owner(order.gid)
    shop.emit("orders/delete", {"id": order.id})
    return gid("Order", order.id)
