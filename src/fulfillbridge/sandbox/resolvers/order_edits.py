"""GraphQL resolvers of changes to a placed order: orderEditBegin, orderEditAddVariant,
orderEditSetQuantity, orderEditCommit (the CalculatedOrder and CalculatedLineItem they
answer with) and orderUpdate. The rules live in ``domain.orders.edits``."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fulfillbridge.sandbox.domain.orders import OrderUserErrors, orders_of
from fulfillbridge.sandbox.domain.orders import edits as order_edits
from fulfillbridge.sandbox.domain.orders.edits import EditLine, OrderEdit
from fulfillbridge.sandbox.pagination import connection
from fulfillbridge.sandbox.registry import Context, TopLevelError, field_resolver, mutation
from fulfillbridge.sandbox.resolvers._common import page_args
from fulfillbridge.sandbox.resolvers.orders import (
    WRITE_ORDERS,
    money_bag,
    order_node,
    user_errors,
)
from fulfillbridge.sandbox.state import ShopState

WRITE_ORDER_EDITS = ("write_order_edits",)

# OrderInput fields orderUpdate applies; the others are refused by name, never ignored.
_UPDATABLE = {"id", "shippingAddress", "note", "email", "phone", "tags"}


# --------------------------------------------------------------------------- nodes
def calculated_line_node(shop: ShopState, edit: OrderEdit, line: EditLine) -> dict[str, Any]:
    currency = orders_of(shop).orders[edit.order_id].currency
    return {
        "__typename": "CalculatedLineItem",
        "_edit_id": edit.id,
        "_line_id": line.id,
        "id": line.gid,
        "title": line.title,
        "sku": line.sku,
        "variantTitle": line.variant_title,
        "quantity": line.quantity,
        "editableQuantity": line.editable,
        "editableQuantityBeforeChanges": line.before - line.fulfilled,
        "restockable": line.line_item_id is not None,
        "restocking": False,
        "hasStagedLineItemDiscount": False,
        "customAttributes": [],
        "calculatedDiscountAllocations": [],
        "discountAllocations": [],
        "image": None,
        "originalUnitPriceSet": money_bag(line.price, currency),
        "discountedUnitPriceSet": money_bag(line.price, currency),
        "editableSubtotalSet": money_bag(line.price * line.editable, currency),
        "uneditableSubtotalSet": money_bag(line.price * line.fulfilled, currency),
    }


def calculated_order_node(shop: ShopState, edit: OrderEdit) -> dict[str, Any]:
    order = orders_of(shop).orders[edit.order_id]
    currency = order.currency
    total = edit.subtotal + order.shipping_total
    return {
        "__typename": "CalculatedOrder",
        "_edit_id": edit.id,
        "id": edit.gid,
        "committed": edit.committed,
        "originalOrder": order_node(shop, order),
        "subtotalLineItemsQuantity": edit.quantity,
        "subtotalPriceSet": money_bag(edit.subtotal, currency),
        "totalPriceSet": money_bag(total, currency),
        "totalOutstandingSet": money_bag(max(total - order.paid, Decimal("0")), currency),
        "cartDiscountAmountSet": None,
        "notificationPreviewTitle": f"Order {order.name} has been updated",
        "notificationPreviewHtml": None,
        "shippingLines": [],
        "taxLines": [],
    }


def _session(edit: OrderEdit) -> dict[str, Any]:
    return {"__typename": "OrderEditSession", "id": edit.session_gid}


def _edit(ctx: Context, parent: dict[str, Any]) -> OrderEdit:
    return order_edits.edits_of(ctx.shop).sessions[parent["_edit_id"]]


@field_resolver("CalculatedOrder", "lineItems")
def resolve_calculated_lines(
    parent: dict[str, Any], ctx: Context, query: str | None = None, **page: Any
) -> dict[str, Any]:
    edit = _edit(ctx, parent)
    nodes = [calculated_line_node(ctx.shop, edit, x) for x in edit.lines]
    return connection(nodes, **page_args(page), cursor_of=lambda n: n["_line_id"])


@field_resolver("CalculatedOrder", "addedLineItems")
def resolve_added_lines(parent: dict[str, Any], ctx: Context, **page: Any) -> dict[str, Any]:
    edit = _edit(ctx, parent)
    nodes = [calculated_line_node(ctx.shop, edit, x) for x in edit.added]
    return connection(nodes, **page_args(page), cursor_of=lambda n: n["_line_id"])


@field_resolver("CalculatedLineItem", "variant")
def resolve_calculated_variant(parent: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    from fulfillbridge.sandbox.resolvers.catalog import catalog_of, variant_node

    line = _edit(ctx, parent).line(parent["_line_id"])
    if line is None or line.variant_id is None:
        return None
    variant = catalog_of(ctx.shop).variant(line.variant_id)
    return variant_node(ctx.shop, variant) if variant is not None else None


# --------------------------------------------------------------------------- mutations
def _staged(
    ctx: Context, build: Callable[[], tuple[OrderEdit, EditLine | None]], *, with_line: bool
) -> dict[str, Any]:
    empty: dict[str, Any] = {"calculatedOrder": None, "orderEditSession": None}
    if with_line:
        empty["calculatedLineItem"] = None
    try:
        edit, line = build()
    except OrderUserErrors as exc:
        return {**empty, "userErrors": user_errors(exc, with_code=False)}
    out = {
        "calculatedOrder": calculated_order_node(ctx.shop, edit),
        "orderEditSession": _session(edit),
        "userErrors": [],
    }
    if with_line and line is not None:
        out["calculatedLineItem"] = calculated_line_node(ctx.shop, edit, line)
    return out


@mutation("orderEditBegin", scopes=WRITE_ORDER_EDITS)
def resolve_order_edit_begin(_parent: Any, ctx: Context, id: str) -> dict[str, Any]:
    return _staged(
        ctx, lambda: (order_edits.begin(ctx.shop, id, ctx.app_id), None), with_line=False
    )


@mutation("orderEditAddVariant", scopes=WRITE_ORDER_EDITS)
def resolve_order_edit_add_variant(
    _parent: Any,
    ctx: Context,
    id: str,
    variantId: str,
    quantity: int,
    locationId: str | None = None,
    allowDuplicates: bool = False,
) -> dict[str, Any]:
    return _staged(
        ctx,
        lambda: order_edits.add_variant(
            ctx.shop,
            id,
            variantId,
            quantity,
            location_gid=locationId,
            allow_duplicates=bool(allowDuplicates),
        ),
        with_line=True,
    )


@mutation("orderEditSetQuantity", scopes=WRITE_ORDER_EDITS)
def resolve_order_edit_set_quantity(
    _parent: Any,
    ctx: Context,
    id: str,
    lineItemId: str,
    quantity: int,
    restock: bool | None = None,
    locationId: str | None = None,
) -> dict[str, Any]:
    return _staged(
        ctx,
        lambda: order_edits.set_quantity(ctx.shop, id, lineItemId, quantity),
        with_line=True,
    )


@mutation("orderEditCommit", scopes=WRITE_ORDER_EDITS)
def resolve_order_edit_commit(
    _parent: Any,
    ctx: Context,
    id: str,
    notifyCustomer: bool | None = None,
    staffNote: str | None = None,
) -> dict[str, Any]:
    try:
        order, _edit_done = order_edits.commit(
            ctx.shop, id, notify_customer=bool(notifyCustomer), staff_note=staffNote
        )
    except OrderUserErrors as exc:
        return {
            "order": None,
            "successMessages": None,
            "userErrors": user_errors(exc, with_code=False),
        }
    return {
        "order": order_node(ctx.shop, order),
        "successMessages": ["Order updated"],
        "userErrors": [],
    }


@mutation("orderUpdate", scopes=WRITE_ORDERS)
def resolve_order_update(_parent: Any, ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    unsupported = sorted(set(input) - _UPDATABLE)
    if unsupported:
        raise TopLevelError(
            f"The sandbox's orderUpdate does not apply {', '.join(unsupported)}.", "BAD_REQUEST"
        )
    try:
        order = order_edits.update_order(ctx.shop, input)
    except OrderUserErrors as exc:
        return {"order": None, "userErrors": user_errors(exc, with_code=False)}
    return {"order": order_node(ctx.shop, order), "userErrors": []}
