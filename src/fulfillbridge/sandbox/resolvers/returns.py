"""GraphQL resolvers of returns: the return lifecycle mutations (returnRequest,
returnApproveRequest, returnDeclineRequest, returnCreate, returnCancel, returnClose,
returnReopen, returnProcess), reverse deliveries and dispositions, and the reads (return,
reverseFulfillmentOrder, reverseDelivery, returnableFulfillments, Order.returns,
Order.returnStatus), and removeFromReturn. Scopes as Shopify documents them: read_returns (or
read_marketplace_returns) to read, write_returns (or write_marketplace_returns) to write."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fulfillbridge.sandbox.domain.orders import OrderUserErrors, orders_of
from fulfillbridge.sandbox.domain.returns import (
    REASON_DEFINITIONS,
    Disposition,
    ExchangeLineItem,
    Return,
    ReturnLineItem,
    Returns,
    ReverseDelivery,
    ReverseDeliveryLineItem,
    ReverseFulfillmentOrder,
    ReverseFulfillmentOrderLineItem,
    returns_of,
)
from fulfillbridge.sandbox.pagination import connection
from fulfillbridge.sandbox.registry import Context, field_resolver, mutation, node_loader, query
from fulfillbridge.sandbox.resolvers._common import page_args
from fulfillbridge.sandbox.resolvers.orders import (
    READ_ORDERS,
    line_item_node,
    money_bag,
    order_node,
    user_errors,
)
from fulfillbridge.sandbox.resolvers.shop import location_node_by_id
from fulfillbridge.sandbox.state import ShopState, gid, parse_gid

READ_RETURNS = ("read_returns", "read_marketplace_returns")
WRITE_RETURNS = ("write_returns", "write_marketplace_returns")


def _returns(ctx: Context) -> Returns:
    return returns_of(ctx.shop)


def _page(nodes: list[dict[str, Any]], args: dict[str, Any]) -> dict[str, Any]:
    return connection(nodes, **page_args(args), cursor_of=lambda n: n["_id"])


# --------------------------------------------------------------------------- nodes
def return_node(shop: ShopState, ret: Return) -> dict[str, Any]:
    currency = orders_of(shop).orders[ret.order_id].currency
    return {
        "__typename": "Return",
        "_id": ret.id,
        "id": ret.gid,
        "name": ret.name,
        "status": ret.status,
        "createdAt": ret.created_at,
        "closedAt": ret.closed_at,
        "requestApprovedAt": ret.request_approved_at,
        "totalQuantity": ret.total_quantity,
        "staffMember": None,
        "decline": {
            "__typename": "ReturnDecline",
            "reason": ret.decline_reason,
            "note": ret.decline_note,
        }
        if ret.decline_reason
        else None,
        "returnShippingFees": [
            {
                "__typename": "ReturnShippingFee",
                "id": gid("ReturnShippingFee", ret.shipping_fee_id or 0),
                "amountSet": money_bag(ret.shipping_fee, currency),
            }
        ]
        if ret.shipping_fee is not None
        else [],
    }


def _return(ctx: Context, parent: dict[str, Any]) -> Return:
    """The return a Return node stands for."""
    return _returns(ctx).returns[parent["_id"]]


def fulfillment_line_node(shop: ShopState, order_id: int, fli_id: int) -> dict[str, Any] | None:
    orders = orders_of(shop)
    order = orders.orders[order_id]
    found = returns_of(shop).fulfillment_line(order, fli_id)
    if found is None:
        return None
    _fulfillment, fli = found
    line = orders.line_item(order, fli.line_item_id)
    total = money_bag(line.price * fli.quantity, order.currency)
    return {
        "__typename": "FulfillmentLineItem",
        "_id": fli.id,
        "id": fli.gid,
        "quantity": fli.quantity,
        "lineItem": line_item_node(shop, order, line),
        "originalTotalSet": total,
        "discountedTotalSet": total,
    }


def return_line_node(shop: ShopState, ret: Return, line: ReturnLineItem) -> dict[str, Any]:
    order = orders_of(shop).orders[ret.order_id]
    order_line = orders_of(shop).line_item(order, line.line_item_id)
    definition = line.return_reason_definition_id
    fee = line.restocking_fee_percentage
    return {
        "__typename": "ReturnLineItem",
        "_id": line.id,
        "_return_id": ret.id,
        "id": line.gid,
        "quantity": line.quantity,
        "processedQuantity": line.processed_quantity,
        "processableQuantity": line.processable,
        "unprocessedQuantity": line.processable,
        "refundableQuantity": line.quantity,
        "refundedQuantity": 0,
        "returnReason": line.return_reason,
        "returnReasonNote": line.return_reason_note,
        "customerNote": line.customer_note,
        "returnReasonDefinition": _reason_definition(definition) if definition else None,
        "restockingFee": {
            "__typename": "RestockingFee",
            "id": gid("RestockingFee", line.id),
            "percentage": fee,
            "amountSet": money_bag(
                (order_line.price * line.quantity * Decimal(str(fee)) / 100).quantize(
                    Decimal("0.01")
                ),
                order.currency,
            ),
        }
        if fee is not None
        else None,
        "totalWeight": None,
        "withCodeDiscountedTotalPriceSet": money_bag(
            order_line.price * line.quantity, order.currency
        ),
    }


def _reason_definition(number: int) -> dict[str, Any] | None:
    found = REASON_DEFINITIONS.get(number)
    if found is None:
        return None
    handle, name = found
    return {
        "__typename": "ReturnReasonDefinition",
        "_id": number,
        "id": gid("ReturnReasonDefinition", number),
        "handle": handle,
        "name": name,
        "deleted": False,
    }


def exchange_line_node(ret: Return, line: ExchangeLineItem) -> dict[str, Any]:
    return {
        "__typename": "ExchangeLineItem",
        "_id": line.id,
        "_return_id": ret.id,
        "id": line.gid,
        "quantity": line.quantity,
        "processedQuantity": line.processed_quantity,
        "processableQuantity": line.processable,
        "unprocessedQuantity": line.processable,
        "variantId": gid("ProductVariant", line.variant_id),
    }


def reverse_order_node(rfo: ReverseFulfillmentOrder) -> dict[str, Any]:
    return {
        "__typename": "ReverseFulfillmentOrder",
        "_id": rfo.id,
        "id": rfo.gid,
        "status": rfo.status,
        "thirdPartyConfirmation": None,
    }


def reverse_line_node(
    shop: ShopState, rfo: ReverseFulfillmentOrder, line: ReverseFulfillmentOrderLineItem
) -> dict[str, Any]:
    return {
        "__typename": "ReverseFulfillmentOrderLineItem",
        "_id": line.id,
        "_rfo_id": rfo.id,
        "id": line.gid,
        "totalQuantity": line.total_quantity,
        "dispositions": [_disposition_node(shop, d) for d in line.dispositions],
    }


def _disposition_node(shop: ShopState, disposition: Disposition) -> dict[str, Any]:
    return {
        "__typename": "ReverseFulfillmentOrderDisposition",
        "id": disposition.gid,
        "createdAt": disposition.created_at,
        "quantity": disposition.quantity,
        "type": disposition.type,
        "location": location_node_by_id(shop, disposition.location_id)
        if disposition.location_id is not None
        else None,
    }


def delivery_node(delivery: ReverseDelivery) -> dict[str, Any]:
    tracking = (
        {
            "__typename": "ReverseDeliveryTrackingV2",
            "carrierName": delivery.carrier_name,
            "number": delivery.tracking_number,
            "url": delivery.tracking_url,
        }
        if delivery.tracking_number or delivery.tracking_url
        else None
    )
    label = (
        {
            "__typename": "ReverseDeliveryLabelV2",
            "createdAt": delivery.label_created_at,
            "updatedAt": delivery.label_updated_at,
            "publicFileUrl": delivery.label_url,
        }
        if delivery.label_url
        else None
    )
    return {
        "__typename": "ReverseDelivery",
        "_id": delivery.id,
        "id": delivery.gid,
        "deliverable": {
            "__typename": "ReverseDeliveryShippingDeliverable",
            "tracking": tracking,
            "label": label,
        },
    }


def _delivery_line_node(delivery: ReverseDelivery, line: ReverseDeliveryLineItem) -> dict[str, Any]:
    return {
        "__typename": "ReverseDeliveryLineItem",
        "_id": line.id,
        "_delivery_id": delivery.id,
        "id": line.gid,
        "quantity": line.quantity,
        # Dispositions are recorded on the reverse fulfillment order's lines.
        "dispositions": [],
    }


# --------------------------------------------------------------------------- Return fields
@field_resolver("Return", "order")
def resolve_return_order(parent: dict[str, Any], ctx: Context) -> dict[str, Any]:
    ret = _return(ctx, parent)
    return order_node(ctx.shop, orders_of(ctx.shop).orders[ret.order_id])


def _processing_filter(processing_status: str | None, processed: int, processable: int) -> bool:
    if processing_status == "PROCESSED":
        return processed > 0
    if processing_status == "PROCESSABLE":
        return processable > 0
    return True


@field_resolver("Return", "returnLineItems")
def resolve_return_lines(
    parent: dict[str, Any], ctx: Context, processingStatus: str | None = None, **page: Any
) -> dict[str, Any]:
    ret = _return(ctx, parent)
    nodes = [
        return_line_node(ctx.shop, ret, line)
        for line in ret.line_items
        if _processing_filter(processingStatus, line.processed_quantity, line.processable)
    ]
    return _page(nodes, page)


@field_resolver("Return", "exchangeLineItems")
def resolve_exchange_lines(
    parent: dict[str, Any],
    ctx: Context,
    includeRemovedItems: bool = False,
    processingStatus: str | None = None,
    **page: Any,
) -> dict[str, Any]:
    ret = _return(ctx, parent)
    nodes = [
        exchange_line_node(ret, line)
        for line in ret.exchange_line_items
        if _processing_filter(processingStatus, line.processed_quantity, line.processable)
    ]
    return _page(nodes, page)


@field_resolver("Return", "reverseFulfillmentOrders")
def resolve_return_reverse_orders(
    parent: dict[str, Any], ctx: Context, **page: Any
) -> dict[str, Any]:
    ret = _return(ctx, parent)
    nodes = [reverse_order_node(rfo) for rfo in _returns(ctx).reverse_orders_of(ret)]
    return _page(nodes, page)


@field_resolver("Return", "refunds")
def resolve_return_refunds(parent: dict[str, Any], ctx: Context, **page: Any) -> dict[str, Any]:
    ret = _return(ctx, parent)
    currency = orders_of(ctx.shop).orders[ret.order_id].currency
    nodes = [
        {
            "__typename": "Refund",
            "_id": refund.id,
            "id": refund.gid,
            "legacyResourceId": str(refund.id),
            "note": refund.note,
            "createdAt": refund.created_at,
            "updatedAt": refund.created_at,
            "totalRefundedSet": money_bag(refund.amount, currency),
        }
        for refund in ret.refunds
    ]
    return _page(nodes, page)


@field_resolver("ReturnLineItem", "fulfillmentLineItem")
def resolve_return_line_fli(parent: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    ret = _returns(ctx).returns[parent["_return_id"]]
    line = ret.line(parent["_id"])
    assert line is not None
    return fulfillment_line_node(ctx.shop, ret.order_id, line.fulfillment_line_item_id)


def _exchange(ctx: Context, parent: dict[str, Any]) -> tuple[Return, ExchangeLineItem]:
    ret = _returns(ctx).returns[parent["_return_id"]]
    line = ret.exchange_line(parent["_id"])
    assert line is not None
    return ret, line


@field_resolver("ExchangeLineItem", "lineItems", scopes=READ_ORDERS)
def resolve_exchange_line_items(parent: dict[str, Any], ctx: Context) -> list[dict[str, Any]]:
    ret, line = _exchange(ctx, parent)
    orders = orders_of(ctx.shop)
    order = orders.orders[ret.order_id]
    return [
        line_item_node(ctx.shop, order, orders.line_item(order, line_id))
        for line_id in line.line_item_ids
    ]


@field_resolver("ExchangeLineItem", "lineItem", scopes=READ_ORDERS)
def resolve_exchange_line_item(parent: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    items = resolve_exchange_line_items(parent, ctx)
    return items[0] if items else None


# --------------------------------------------------------------------------- reverse orders
def _rfo(ctx: Context, parent: dict[str, Any]) -> ReverseFulfillmentOrder:
    return _returns(ctx).reverse_orders[parent["_id"]]


@field_resolver("ReverseFulfillmentOrder", "order")
def resolve_rfo_order(parent: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    order = orders_of(ctx.shop).order(_rfo(ctx, parent).order_id)
    return order_node(ctx.shop, order) if order is not None else None


@field_resolver("ReverseFulfillmentOrder", "lineItems")
def resolve_rfo_lines(parent: dict[str, Any], ctx: Context, **page: Any) -> dict[str, Any]:
    rfo = _rfo(ctx, parent)
    return _page([reverse_line_node(ctx.shop, rfo, line) for line in rfo.line_items], page)


@field_resolver("ReverseFulfillmentOrder", "reverseDeliveries")
def resolve_rfo_deliveries(parent: dict[str, Any], ctx: Context, **page: Any) -> dict[str, Any]:
    rfo = _rfo(ctx, parent)
    part = _returns(ctx)
    return _page([delivery_node(part.deliveries[i]) for i in rfo.delivery_ids], page)


@field_resolver("ReverseFulfillmentOrderLineItem", "fulfillmentLineItem")
def resolve_rfo_line_fli(parent: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    rfo = _returns(ctx).reverse_orders[parent["_rfo_id"]]
    line = rfo.line(parent["_id"])
    assert line is not None
    return fulfillment_line_node(ctx.shop, rfo.order_id, line.fulfillment_line_item_id)


def _delivery(ctx: Context, parent: dict[str, Any]) -> ReverseDelivery:
    return _returns(ctx).deliveries[parent["_id"]]


@field_resolver("ReverseDelivery", "reverseDeliveryLineItems")
def resolve_delivery_lines(parent: dict[str, Any], ctx: Context, **page: Any) -> dict[str, Any]:
    delivery = _delivery(ctx, parent)
    return _page([_delivery_line_node(delivery, x) for x in delivery.line_items], page)


@field_resolver("ReverseDelivery", "reverseFulfillmentOrder")
def resolve_delivery_rfo(parent: dict[str, Any], ctx: Context) -> dict[str, Any]:
    delivery = _delivery(ctx, parent)
    return reverse_order_node(_returns(ctx).reverse_orders[delivery.reverse_order_id])


@field_resolver("ReverseDeliveryLineItem", "reverseFulfillmentOrderLineItem")
def resolve_delivery_line_rfo_line(parent: dict[str, Any], ctx: Context) -> dict[str, Any]:
    part = _returns(ctx)
    delivery = part.deliveries[parent["_delivery_id"]]
    rfo = part.reverse_orders[delivery.reverse_order_id]
    line = next(x for x in delivery.line_items if x.id == parent["_id"])
    rfo_line = rfo.line(line.reverse_line_item_id)
    assert rfo_line is not None
    return reverse_line_node(ctx.shop, rfo, rfo_line)


# --------------------------------------------------------------------------- Order fields
@field_resolver("Order", "returns", scopes=READ_RETURNS)
def resolve_order_returns(
    parent: dict[str, Any], ctx: Context, query: str | None = None, **page: Any
) -> dict[str, Any]:
    rets = _returns(ctx).of_order(parent["_order_id"])
    if query:
        rets = [r for r in rets if _matches(r, query)]
    return _page([return_node(ctx.shop, r) for r in rets], page)


def _matches(ret: Return, text: str) -> bool:
    """The search terms Shopify documents for returns that the sandbox keeps: status and
    name (``status:open``, ``name:#1001-R1``); every term must hold."""
    for term in text.split():
        key, _, value = term.partition(":")
        if not value:
            key, value = "name", key
        value = value.strip("'\"").lower()
        if key == "status" and ret.status.lower() != value:
            return False
        if key == "name" and value not in ret.name.lower():
            return False
    return True


@field_resolver("Order", "returnStatus", scopes=READ_RETURNS)
def resolve_order_return_status(parent: dict[str, Any], ctx: Context) -> str:
    order = orders_of(ctx.shop).orders[parent["_order_id"]]
    return _returns(ctx).order_return_status(order)


# --------------------------------------------------------------------------- reads
@query("return", scopes=READ_RETURNS)
def resolve_return(_parent: Any, ctx: Context, id: str) -> dict[str, Any] | None:
    ret = _returns(ctx).get(id)
    return return_node(ctx.shop, ret) if ret is not None else None


@query("reverseFulfillmentOrder", scopes=READ_RETURNS)
def resolve_reverse_order(_parent: Any, ctx: Context, id: str) -> dict[str, Any] | None:
    number = parse_gid(id, "ReverseFulfillmentOrder")
    rfo = _returns(ctx).reverse_orders.get(number) if number is not None else None
    return reverse_order_node(rfo) if rfo is not None else None


@query("reverseDelivery", scopes=READ_RETURNS)
def resolve_reverse_delivery(_parent: Any, ctx: Context, id: str) -> dict[str, Any] | None:
    number = parse_gid(id, "ReverseDelivery")
    delivery = _returns(ctx).deliveries.get(number) if number is not None else None
    return delivery_node(delivery) if delivery is not None else None


def _returnable_node(ctx: Context, fulfillment_id: int) -> dict[str, Any] | None:
    orders = orders_of(ctx.shop)
    fulfillment = orders.fulfillment(fulfillment_id)
    if fulfillment is None:
        return None
    order = orders.orders[fulfillment.order_id]
    part = _returns(ctx)
    lines = []
    for fli in fulfillment.line_items:
        left = part.returnable_quantity(order, fulfillment, fli.id)
        if left > 0:
            node = fulfillment_line_node(ctx.shop, order.id, fli.id)
            lines.append(
                {
                    "__typename": "ReturnableFulfillmentLineItem",
                    "_id": fli.id,
                    "quantity": left,
                    "fulfillmentLineItem": node,
                }
            )
    if not lines:
        return None
    from fulfillbridge.sandbox.resolvers.fulfillment import fulfillment_node

    return {
        "__typename": "ReturnableFulfillment",
        "_id": fulfillment.id,
        "_lines": lines,
        "id": gid("ReturnableFulfillment", fulfillment.id),
        "fulfillment": fulfillment_node(ctx.shop, fulfillment.id),
    }


@field_resolver("ReturnableFulfillment", "returnableFulfillmentLineItems")
def resolve_returnable_lines(parent: dict[str, Any], ctx: Context, **page: Any) -> dict[str, Any]:
    return _page(list(parent["_lines"]), page)


@query("returnableFulfillments", scopes=READ_RETURNS)
def resolve_returnable_fulfillments(
    _parent: Any, ctx: Context, orderId: str, **page: Any
) -> dict[str, Any]:
    orders = orders_of(ctx.shop)
    number = parse_gid(orderId, "Order")
    order = orders.order(number) if number is not None else None
    nodes = []
    if order is not None:
        for fulfillment in orders.fulfillments_of(order):
            node = _returnable_node(ctx, fulfillment.id)
            if node is not None:
                nodes.append(node)
    return _page(nodes, page)


@query("returnableFulfillment", scopes=READ_RETURNS)
def resolve_returnable_fulfillment(_parent: Any, ctx: Context, id: str) -> dict[str, Any] | None:
    number = parse_gid(id, "ReturnableFulfillment")
    return _returnable_node(ctx, number) if number is not None else None


_REASON_SORT = {"ID": 0, "HANDLE": 1, "NAME": 2}


@query("returnReasonDefinitions", scopes=READ_RETURNS)
def resolve_reason_definitions(
    _parent: Any,
    ctx: Context,
    ids: list[str] | None = None,
    handles: list[str] | None = None,
    sortKey: str = "ID",
    query: str | None = None,
    **page: Any,
) -> dict[str, Any]:
    """The shop's return reasons: the sandbox has one definition per ReturnReason value."""
    wanted_ids = {parse_gid(i, "ReturnReasonDefinition") for i in ids} if ids else None
    nodes = [
        node
        for number in sorted(REASON_DEFINITIONS)
        if (node := _reason_definition(number)) is not None
        and (wanted_ids is None or number in wanted_ids)
        and (not handles or node["handle"] in handles)
        and (not query or query.lower() in f"{node['handle']} {node['name']}".lower())
    ]
    field = ("_id", "handle", "name")[_REASON_SORT.get(sortKey, 0)]
    nodes.sort(key=lambda n: n[field])
    return _page(nodes, page)


# --------------------------------------------------------------------------- mutations
def _return_payload(ctx: Context, action: Callable[[], Return]) -> dict[str, Any]:
    try:
        ret = action()
    except OrderUserErrors as exc:
        return {"return": None, "userErrors": user_errors(exc)}
    return {"return": return_node(ctx.shop, ret), "userErrors": []}


@mutation("returnRequest", scopes=WRITE_RETURNS)
def resolve_return_request(_parent: Any, ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    return _return_payload(ctx, lambda: _returns(ctx).request(input))


@mutation("returnCreate", scopes=WRITE_RETURNS)
def resolve_return_create(
    _parent: Any, ctx: Context, returnInput: dict[str, Any]
) -> dict[str, Any]:
    return _return_payload(ctx, lambda: _returns(ctx).create(returnInput))


@mutation("returnApproveRequest", scopes=WRITE_RETURNS)
def resolve_return_approve(_parent: Any, ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    return _return_payload(ctx, lambda: _returns(ctx).approve(input.get("id")))


@mutation("returnDeclineRequest", scopes=WRITE_RETURNS)
def resolve_return_decline(_parent: Any, ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    return _return_payload(
        ctx,
        lambda: _returns(ctx).decline(
            input.get("id"), input["declineReason"], input.get("declineNote")
        ),
    )


@mutation("returnCancel", scopes=WRITE_RETURNS)
def resolve_return_cancel(
    _parent: Any, ctx: Context, id: str, notifyCustomer: bool | None = None
) -> dict[str, Any]:
    return _return_payload(ctx, lambda: _returns(ctx).cancel(id))


@mutation("returnClose", scopes=WRITE_RETURNS)
def resolve_return_close(_parent: Any, ctx: Context, id: str) -> dict[str, Any]:
    return _return_payload(ctx, lambda: _returns(ctx).close(id))


@mutation("returnReopen", scopes=WRITE_RETURNS)
def resolve_return_reopen(_parent: Any, ctx: Context, id: str) -> dict[str, Any]:
    return _return_payload(ctx, lambda: _returns(ctx).reopen(id))


@mutation("returnProcess", scopes=WRITE_RETURNS)
def resolve_return_process(_parent: Any, ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    return _return_payload(ctx, lambda: _returns(ctx).process(input))


@mutation("removeFromReturn", scopes=WRITE_RETURNS)
def resolve_remove_from_return(
    _parent: Any,
    ctx: Context,
    returnId: str,
    returnLineItems: list[dict[str, Any]] | None = None,
    exchangeLineItems: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return _return_payload(
        ctx,
        lambda: _returns(ctx).remove_items(
            returnId, list(returnLineItems or []), list(exchangeLineItems or [])
        ),
    )


@mutation("reverseDeliveryCreateWithShipping", scopes=WRITE_RETURNS)
def resolve_delivery_create(
    _parent: Any,
    ctx: Context,
    reverseFulfillmentOrderId: str,
    reverseDeliveryLineItems: list[dict[str, Any]],
    trackingInput: dict[str, Any] | None = None,
    labelInput: dict[str, Any] | None = None,
    notifyCustomer: bool = True,
) -> dict[str, Any]:
    try:
        delivery = _returns(ctx).create_delivery(
            reverseFulfillmentOrderId, reverseDeliveryLineItems, trackingInput, labelInput
        )
    except OrderUserErrors as exc:
        return {"reverseDelivery": None, "userErrors": user_errors(exc)}
    return {"reverseDelivery": delivery_node(delivery), "userErrors": []}


@mutation("reverseDeliveryShippingUpdate", scopes=WRITE_RETURNS)
def resolve_delivery_update(
    _parent: Any,
    ctx: Context,
    reverseDeliveryId: str,
    trackingInput: dict[str, Any] | None = None,
    labelInput: dict[str, Any] | None = None,
    notifyCustomer: bool = True,
) -> dict[str, Any]:
    try:
        delivery = _returns(ctx).update_delivery(reverseDeliveryId, trackingInput, labelInput)
    except OrderUserErrors as exc:
        return {"reverseDelivery": None, "userErrors": user_errors(exc)}
    return {"reverseDelivery": delivery_node(delivery), "userErrors": []}


@mutation("reverseFulfillmentOrderDispose", scopes=WRITE_RETURNS)
def resolve_dispose(
    _parent: Any, ctx: Context, dispositionInputs: list[dict[str, Any]]
) -> dict[str, Any]:
    part = _returns(ctx)
    try:
        lines = part.dispose(dispositionInputs)
    except OrderUserErrors as exc:
        return {"reverseFulfillmentOrderLineItems": None, "userErrors": user_errors(exc)}
    nodes = []
    for line in lines:
        found = part.reverse_line(line.id)
        assert found is not None
        nodes.append(reverse_line_node(ctx.shop, found[0], line))
    return {"reverseFulfillmentOrderLineItems": nodes, "userErrors": []}


# --------------------------------------------------------------------------- node(id:)
@node_loader("Return", scopes=READ_RETURNS)
def load_return(ctx: Context, numeric: int) -> dict[str, Any] | None:
    ret = _returns(ctx).returns.get(numeric)
    return return_node(ctx.shop, ret) if ret is not None else None


@node_loader("ReverseFulfillmentOrder", scopes=READ_RETURNS)
def load_reverse_order(ctx: Context, numeric: int) -> dict[str, Any] | None:
    rfo = _returns(ctx).reverse_orders.get(numeric)
    return reverse_order_node(rfo) if rfo is not None else None


@node_loader("ReverseDelivery", scopes=READ_RETURNS)
def load_reverse_delivery(ctx: Context, numeric: int) -> dict[str, Any] | None:
    delivery = _returns(ctx).deliveries.get(numeric)
    return delivery_node(delivery) if delivery is not None else None
