"""GraphQL resolvers of fulfillment orders and fulfillments: the FulfillmentOrder state
machine mutations, fulfillmentCreate/V2, tracking, events, cancellation, and the reads
(fulfillmentOrder, fulfillmentOrders, assignedFulfillmentOrders, manualHoldsFulfillmentOrders,
fulfillment, Order.fulfillmentOrders, Order.fulfillments)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fulfillbridge.sandbox.domain.catalog import SearchTerm, search_filter
from fulfillbridge.sandbox.domain.orders import (
    CLOSED,
    FulfillmentOrder,
    NotFound,
    Orders,
    OrderUserErrors,
    orders_of,
)
from fulfillbridge.sandbox.domain.services import services_of
from fulfillbridge.sandbox.pagination import connection
from fulfillbridge.sandbox.registry import (
    Context,
    TopLevelError,
    field_resolver,
    mutation,
    node_loader,
    query,
)
from fulfillbridge.sandbox.resolvers._common import page_args
from fulfillbridge.sandbox.resolvers.orders import (
    line_item_node,
    money_bag,
    order_node,
    user_errors,
)
from fulfillbridge.sandbox.resolvers.shop import location_node_by_id
from fulfillbridge.sandbox.state import ShopState, gid, parse_gid

# Any one of these grants reading fulfillment orders (Shopify docs, access scopes).
READ_FO = (
    "read_merchant_managed_fulfillment_orders",
    "read_assigned_fulfillment_orders",
    "read_third_party_fulfillment_orders",
    "read_marketplace_fulfillment_orders",
    "read_orders",
)
WRITE_FO = (
    "write_merchant_managed_fulfillment_orders",
    "write_assigned_fulfillment_orders",
    "write_third_party_fulfillment_orders",
    "write_marketplace_fulfillment_orders",
    "write_orders",
)
READ_FULFILLMENTS = ("read_fulfillments", "read_orders")
WRITE_FULFILLMENTS = ("write_fulfillments", "write_orders")


def _orders(ctx: Context) -> Orders:
    return orders_of(ctx.shop)


# --------------------------------------------------------------------------- nodes
def fulfillment_order_node(shop: ShopState, fo: FulfillmentOrder) -> dict[str, Any]:
    orders = orders_of(shop)
    order = orders.order_of(fo)
    location = shop.locations.get(fo.location_id)
    shipping = fo.destination if fo.destination is not None else order.shipping_address
    address = shipping or {}
    return {
        "__typename": "FulfillmentOrder",
        "_fo_id": fo.id,
        "id": fo.gid,
        "status": fo.status,
        "requestStatus": fo.request_status,
        "createdAt": fo.created_at,
        "updatedAt": fo.updated_at,
        "fulfillAt": fo.fulfill_at,
        "fulfillBy": fo.fulfill_by,
        "orderId": order.gid,
        "orderName": order.name,
        "orderProcessedAt": order.processed_at,
        "channelId": None,
        "internationalDuties": None,
        "assignedLocation": {
            "__typename": "FulfillmentOrderAssignedLocation",
            "name": location.name if location else "",
            "address1": location.address1 if location else None,
            "address2": None,
            "city": location.city if location else None,
            "province": location.province_code if location else None,
            "countryCode": location.country_code if location else "US",
            "zip": location.zip if location else None,
            "phone": None,
            "location": location_node_by_id(shop, fo.location_id) if location else None,
        },
        "destination": {
            "__typename": "FulfillmentOrderDestination",
            "id": gid("FulfillmentOrderDestination", fo.id),
            "firstName": address.get("firstName"),
            "lastName": address.get("lastName"),
            "company": address.get("company"),
            "address1": address.get("address1"),
            "address2": address.get("address2"),
            "city": address.get("city"),
            "province": address.get("provinceCode") or address.get("province"),
            "countryCode": address.get("countryCode"),
            "zip": address.get("zip"),
            "phone": address.get("phone"),
            "email": order.email,
            "location": None,
        }
        if shipping
        else None,
        "deliveryMethod": {
            "__typename": "DeliveryMethod",
            "id": gid("DeliveryMethod", fo.id),
            "methodType": fo.delivery_method,
            "presentedName": None,
            "serviceCode": None,
            "sourceReference": None,
            "minDeliveryDateTime": None,
            "maxDeliveryDateTime": None,
            "additionalInformation": None,
            "brandedPromise": None,
        },
        "fulfillmentHolds": [
            {
                "__typename": "FulfillmentHold",
                "_app_id": h.app_id,
                "id": h.gid,
                "handle": h.handle,
                "reason": h.reason,
                "reasonNotes": h.reason_notes,
                "displayReason": h.display_reason,
                "heldByRequestingApp": None,  # per caller, see resolver
            }
            for h in fo.holds
        ],
    }


def _fo(ctx: Context, parent: dict[str, Any]) -> FulfillmentOrder:
    return _orders(ctx).fulfillment_orders[parent["_fo_id"]]


def _fo_or_none(shop: ShopState, fo: FulfillmentOrder | None) -> dict[str, Any] | None:
    return fulfillment_order_node(shop, fo) if fo is not None else None


def fulfillment_node(shop: ShopState, fulfillment_id: int) -> dict[str, Any]:
    orders = orders_of(shop)
    f = orders.fulfillments[fulfillment_id]
    service = services_of(shop).by_location(f.location_id)
    origin = f.origin_address
    return {
        "__typename": "Fulfillment",
        "_fulfillment_id": f.id,
        "id": f.gid,
        "legacyResourceId": str(f.id),
        "name": f.name,
        "status": f.status,
        "displayStatus": f.display_status,
        "createdAt": f.created_at,
        "updatedAt": f.updated_at,
        "deliveredAt": f.event_time("DELIVERED"),
        "inTransitAt": f.event_time("IN_TRANSIT"),
        "estimatedDeliveryAt": f.estimated_delivery_at,
        "requiresShipping": True,
        "totalQuantity": sum(x.quantity for x in f.line_items),
        "shippingLabel": None,
        "location": location_node_by_id(shop, f.location_id)
        if f.location_id in shop.locations
        else None,
        "service": _service_view(shop, service, f.location_id),
        "originAddress": {
            "__typename": "FulfillmentOriginAddress",
            "address1": origin.get("address1"),
            "address2": origin.get("address2"),
            "city": origin.get("city"),
            "countryCode": origin.get("countryCode"),
            "provinceCode": origin.get("provinceCode"),
            "zip": origin.get("zip"),
        }
        if origin
        else None,
    }


def _service_view(shop: ShopState, service: Any, location_id: int) -> dict[str, Any]:
    from fulfillbridge.sandbox.resolvers.services import manual_service_node, service_node

    if service is not None:
        return service_node(shop, service)
    return manual_service_node(shop, location_id)


# --------------------------------------------------------------------------- FO fields
@field_resolver("FulfillmentOrder", "lineItems")
def resolve_fo_line_items(parent: dict[str, Any], ctx: Context, **page: Any) -> dict[str, Any]:
    from fulfillbridge.sandbox.resolvers.catalog import catalog_of

    orders = _orders(ctx)
    fo = _fo(ctx, parent)
    order = orders.order_of(fo)
    catalog = catalog_of(ctx.shop)
    nodes = []
    for foli in fo.line_items:
        line = orders.line_item(order, foli.line_item_id)
        line_node = line_item_node(ctx.shop, order, line)
        nodes.append(
            {
                "__typename": "FulfillmentOrderLineItem",
                "_id": foli.id,
                "_order_id": order.id,
                "_line_id": line.id,
                "id": foli.gid,
                "totalQuantity": foli.total_quantity,
                "remainingQuantity": foli.remaining_quantity,
                "lineItem": line_node,
                "sku": line.sku,
                "productTitle": line.title,
                "variantTitle": line.variant_title,
                "vendor": line.vendor,
                "requiresShipping": line.requires_shipping,
                "inventoryItemId": gid("InventoryItem", line.inventory_item_id)
                if line.inventory_item_id and catalog.inventory_item(line.inventory_item_id)
                else None,
                "originalUnitPriceSet": money_bag(line.price, order.currency),
                "image": None,
                "weight": None,
                "shippingLine": None,
                "warnings": [],
                "financialSummaries": [],
            }
        )
    return connection(nodes, **page_args(page), cursor_of=lambda n: n["_id"])


@field_resolver("FulfillmentOrder", "supportedActions")
def resolve_fo_actions(parent: dict[str, Any], ctx: Context) -> list[dict[str, Any]]:
    actions = _orders(ctx).supported_actions(_fo(ctx, parent), ctx.app_id)
    return [
        {"__typename": "FulfillmentOrderSupportedAction", "action": a, "externalUrl": None}
        for a in actions
    ]


@field_resolver("FulfillmentOrderLineItem", "variant")
def resolve_foli_variant(parent: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    from fulfillbridge.sandbox.resolvers.orders import resolve_line_variant

    return resolve_line_variant(parent, ctx)


@field_resolver("FulfillmentOrder", "order")
def resolve_fo_order(parent: dict[str, Any], ctx: Context) -> dict[str, Any]:
    fo = _fo(ctx, parent)
    return order_node(ctx.shop, _orders(ctx).order_of(fo))


@field_resolver("FulfillmentOrder", "merchantRequests")
def resolve_fo_requests(
    parent: dict[str, Any], ctx: Context, kind: str | None = None, **page: Any
) -> dict[str, Any]:
    fo = _fo(ctx, parent)
    nodes = [
        {
            "__typename": "FulfillmentOrderMerchantRequest",
            "_id": r.id,
            "_fo_id": fo.id,
            "id": r.gid,
            "kind": r.kind,
            "message": r.message,
            "requestOptions": r.request_options,
            "responseData": r.response_data,
            "sentAt": r.sent_at,
        }
        for r in fo.merchant_requests
        if kind is None or r.kind == kind
    ]
    return connection(nodes, **page_args(page), cursor_of=lambda n: n["_id"])


@field_resolver("FulfillmentOrderMerchantRequest", "fulfillmentOrder")
def resolve_request_fo(parent: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return fulfillment_order_node(ctx.shop, _orders(ctx).fulfillment_orders[parent["_fo_id"]])


@field_resolver("FulfillmentOrder", "fulfillments", scopes=READ_FULFILLMENTS)
def resolve_fo_fulfillments(parent: dict[str, Any], ctx: Context, **page: Any) -> dict[str, Any]:
    fo = _fo(ctx, parent)
    orders = _orders(ctx)
    order = orders.order_of(fo)
    nodes = [
        fulfillment_node(ctx.shop, f.id)
        for f in orders.fulfillments_of(order)
        if fo.id in f.fulfillment_order_ids
    ]
    return connection(nodes, **page_args(page), cursor_of=lambda n: n["_fulfillment_id"])


@field_resolver("FulfillmentOrder", "fulfillmentOrdersForMerge")
def resolve_fo_for_merge(parent: dict[str, Any], ctx: Context, **page: Any) -> dict[str, Any]:
    fo = _fo(ctx, parent)
    partners = _orders(ctx)._merge_partners(fo)
    nodes = [fulfillment_order_node(ctx.shop, other) for other in partners]
    return connection(nodes, **page_args(page), cursor_of=lambda n: n["_fo_id"])


@field_resolver("FulfillmentHold", "heldByRequestingApp")
def resolve_hold_by_requester(parent: dict[str, Any], ctx: Context) -> bool:
    # A merchant's hold (no app) is never the requesting app's.
    return parent["_app_id"] is not None and parent["_app_id"] == ctx.app_id


# Capture fulfillment-order-lifecycle: reading heldByApp needs read_apps.
@field_resolver("FulfillmentHold", "heldByApp", scopes=("read_apps",))
def resolve_hold_app(parent: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    app_id = parent["_app_id"]
    if app_id is None:
        return None  # placed by the merchant in the admin
    sandbox_shop = ctx.extra.get("sandbox_shop")
    app = sandbox_shop.apps.get(app_id) if sandbox_shop is not None else None
    return {
        "__typename": "App",
        "id": f"gid://shopify/App/{app_id}",
        "title": app.title if app is not None else str(app_id),
    }


# --------------------------------------------------------------------------- Order fields
@field_resolver("Order", "fulfillmentOrders", scopes=READ_FO)
def resolve_order_fos(
    parent: dict[str, Any],
    ctx: Context,
    displayable: bool = False,
    query: str | None = None,
    **page: Any,
) -> dict[str, Any]:
    orders = _orders(ctx)
    order = orders.orders[parent["_order_id"]]
    fos = orders.fos_of(order)
    if displayable:
        fos = [
            fo
            for fo in fos
            if fo.status != CLOSED or fo.remaining() < sum(x.total_quantity for x in fo.line_items)
        ]
    fos = search_filter(fos, query, _fo_match(ctx.shop))
    nodes = [fulfillment_order_node(ctx.shop, fo) for fo in fos]
    return connection(nodes, **page_args(page), cursor_of=lambda n: n["_fo_id"])


@field_resolver("Order", "fulfillments", scopes=READ_FULFILLMENTS)
def resolve_order_fulfillments(
    parent: dict[str, Any], ctx: Context, first: int | None = None, query: str | None = None
) -> list[dict[str, Any]]:
    orders = _orders(ctx)
    order = orders.orders[parent["_order_id"]]
    nodes = [fulfillment_node(ctx.shop, f.id) for f in orders.fulfillments_of(order)]
    return nodes[:first] if first is not None else nodes


# --------------------------------------------------------------------------- Fulfillment fields
def _fulfillment(ctx: Context, parent: dict[str, Any]) -> Any:
    return _orders(ctx).fulfillments[parent["_fulfillment_id"]]


@field_resolver("Fulfillment", "trackingInfo")
def resolve_tracking(
    parent: dict[str, Any], ctx: Context, first: int | None = None
) -> list[dict[str, Any]]:
    f = _fulfillment(ctx, parent)
    infos = [
        {
            "__typename": "FulfillmentTrackingInfo",
            "number": t.number,
            "url": t.url,
            "company": t.company,
        }
        for t in f.tracking
    ]
    return infos[:first] if first is not None else infos


@field_resolver("Fulfillment", "events")
def resolve_events(
    parent: dict[str, Any], ctx: Context, sortKey: str = "HAPPENED_AT", **page: Any
) -> dict[str, Any]:
    f = _fulfillment(ctx, parent)
    events = sorted(
        f.events,
        key=(lambda e: (e.happened_at, e.id)) if sortKey == "HAPPENED_AT" else (lambda e: e.id),
    )
    nodes = [
        {
            "__typename": "FulfillmentEvent",
            "_id": e.id,
            "id": e.gid,
            "status": e.status,
            "message": e.message,
            "happenedAt": e.happened_at,
            "createdAt": e.created_at,
            "estimatedDeliveryAt": e.estimated_delivery_at,
            "city": e.city,
            "province": e.province,
            "country": e.country,
            "zip": e.zip,
            "address1": e.address1,
            "latitude": e.latitude,
            "longitude": e.longitude,
        }
        for e in events
    ]
    return connection(nodes, **page_args(page), cursor_of=lambda n: n["_id"])


@field_resolver("Fulfillment", "fulfillmentLineItems")
def resolve_fulfillment_lines(parent: dict[str, Any], ctx: Context, **page: Any) -> dict[str, Any]:
    f = _fulfillment(ctx, parent)
    orders = _orders(ctx)
    order = orders.orders[f.order_id]
    nodes = []
    for fli in f.line_items:
        line = orders.line_item(order, fli.line_item_id)
        total = money_bag(line.price * fli.quantity, order.currency)
        nodes.append(
            {
                "__typename": "FulfillmentLineItem",
                "_id": fli.id,
                "id": fli.gid,
                "quantity": fli.quantity,
                "lineItem": line_item_node(ctx.shop, order, line),
                "originalTotalSet": total,
                "discountedTotalSet": total,
            }
        )
    return connection(nodes, **page_args(page), cursor_of=lambda n: n["_id"])


@field_resolver("Fulfillment", "order")
def resolve_fulfillment_parent_order(parent: dict[str, Any], ctx: Context) -> dict[str, Any]:
    f = _fulfillment(ctx, parent)
    return order_node(ctx.shop, _orders(ctx).orders[f.order_id])


@field_resolver("Fulfillment", "fulfillmentOrders")
def resolve_fulfillment_fos(parent: dict[str, Any], ctx: Context, **page: Any) -> dict[str, Any]:
    f = _fulfillment(ctx, parent)
    orders = _orders(ctx)
    nodes = [
        fulfillment_order_node(ctx.shop, orders.fulfillment_orders[i])
        for i in f.fulfillment_order_ids
    ]
    return connection(nodes, **page_args(page), cursor_of=lambda n: n["_fo_id"])


# --------------------------------------------------------------------------- reads
@query("fulfillmentOrder", scopes=READ_FO)
def resolve_fulfillment_order(_parent: Any, ctx: Context, id: str) -> dict[str, Any] | None:
    # Capture fulfillment-create-preconditions: an unknown id reads as null.
    fo_id = parse_gid(id, "FulfillmentOrder")
    fo = _orders(ctx).fulfillment_order(fo_id) if fo_id is not None else None
    return _fo_or_none(ctx.shop, fo)


@query("fulfillment", scopes=READ_FULFILLMENTS)
def resolve_fulfillment(_parent: Any, ctx: Context, id: str) -> dict[str, Any] | None:
    fid = parse_gid(id, "Fulfillment")
    if fid is None or fid not in _orders(ctx).fulfillments:
        return None
    return fulfillment_node(ctx.shop, fid)


def _fo_match(shop: ShopState) -> Callable[[FulfillmentOrder, SearchTerm], bool | None]:
    orders = orders_of(shop)

    def match(fo: FulfillmentOrder, term: SearchTerm) -> bool | None:
        name = (term.field or "").lower()
        value = term.value.strip("'\"").lower()
        if name == "status":
            return fo.status.lower() == value
        if name == "request_status":
            return fo.request_status.lower() == value
        if name == "assigned_location_id":
            return str(fo.location_id) == value or gid("Location", fo.location_id).lower() == value
        if name == "order_id":
            return str(fo.order_id) == value
        if name == "id":
            return str(fo.id) == value
        if name == "updated_at":
            from fulfillbridge.sandbox.resolvers.orders import _time_matches

            return _time_matches(term, fo.updated_at)
        if name == "order_name":
            return orders.order_of(fo).name.lower() in {value, f"#{value}"}
        return None

    return match


_FO_SORT = {"ID": lambda fo: fo.id, "UPDATED_AT": lambda fo: (fo.updated_at, fo.id)}


def _sorted_fos(fos: list[FulfillmentOrder], sort_key: str) -> list[FulfillmentOrder]:
    key = _FO_SORT.get(sort_key, _FO_SORT["ID"])
    return sorted(fos, key=key)


def _fo_connection(
    ctx: Context, fos: list[FulfillmentOrder], sort_key: str, page: dict[str, Any]
) -> dict[str, Any]:
    ordered = _sorted_fos(fos, sort_key)
    nodes = [fulfillment_order_node(ctx.shop, fo) for fo in ordered]
    position = {n["_fo_id"]: i for i, n in enumerate(nodes)}
    return connection(nodes, **page_args(page), cursor_of=lambda n: position[n["_fo_id"]])


@query("fulfillmentOrders", scopes=READ_FO)
def resolve_fulfillment_orders(
    _parent: Any,
    ctx: Context,
    includeClosed: bool = False,
    sortKey: str = "ID",
    query: str | None = None,
    **page: Any,
) -> dict[str, Any]:
    fos = list(_orders(ctx).fulfillment_orders.values())
    if not includeClosed:
        fos = [fo for fo in fos if fo.status not in {CLOSED, "CANCELLED", "INCOMPLETE"}]
    fos = search_filter(fos, query, _fo_match(ctx.shop))
    return _fo_connection(ctx, fos, sortKey, page)


@query("manualHoldsFulfillmentOrders", scopes=READ_FO)
def resolve_manual_holds(
    _parent: Any, ctx: Context, query: str | None = None, **page: Any
) -> dict[str, Any]:
    fos = [fo for fo in _orders(ctx).fulfillment_orders.values() if fo.holds]
    fos = search_filter(fos, query, _fo_match(ctx.shop))
    return _fo_connection(ctx, fos, "ID", page)


@query("assignedFulfillmentOrders", scopes=READ_FO)
def resolve_assigned(
    _parent: Any,
    ctx: Context,
    assignmentStatus: str | None = None,
    locationIds: list[str] | None = None,
    sortKey: str = "ID",
    **page: Any,
) -> dict[str, Any]:
    """Fulfillment orders at the calling app's fulfillment-service locations (Shopify docs)."""
    orders = _orders(ctx)
    own_locations = {s.location_id for s in services_of(ctx.shop).of_app(ctx.app_id)}
    if locationIds:
        wanted = {parse_gid(v, "Location") for v in locationIds}
        own_locations &= {w for w in wanted if w is not None}
    fos = []
    for fo in orders.fulfillment_orders.values():
        if fo.location_id not in own_locations:
            continue
        status = orders.assignment_status(fo)
        if status is None:
            continue
        if assignmentStatus is None or status == assignmentStatus:
            fos.append(fo)
    return _fo_connection(ctx, fos, sortKey, page)


# --------------------------------------------------------------------------- mutations
def _run(
    ctx: Context, build: Callable[[], dict[str, Any]], empty: dict[str, Any], *, with_code: bool
) -> dict[str, Any]:
    try:
        result = build()
    except NotFound as exc:
        raise TopLevelError(str(exc), "RESOURCE_NOT_FOUND") from exc
    except OrderUserErrors as exc:
        return {**empty, "userErrors": user_errors(exc, with_code=with_code)}
    return {**result, "userErrors": []}


def _fo_payload(
    ctx: Context,
    action: Callable[[FulfillmentOrder], FulfillmentOrder],
    id: str,
    *,
    with_code: bool = False,
):
    orders = _orders(ctx)

    def build() -> dict[str, Any]:
        fo = action(orders.require_fo(id))
        return {"fulfillmentOrder": fulfillment_order_node(ctx.shop, fo)}

    return _run(ctx, build, {"fulfillmentOrder": None}, with_code=with_code)


@mutation("fulfillmentOrderHold", scopes=WRITE_FO)
def resolve_hold(_parent: Any, ctx: Context, id: str, fulfillmentHold: dict[str, Any]):
    orders = _orders(ctx)

    def build() -> dict[str, Any]:
        hold, fo, remainder = orders.hold(orders.require_fo(id), fulfillmentHold, ctx.app_id)
        held = fulfillment_order_node(ctx.shop, fo)
        hold_node = next(h for h in held["fulfillmentHolds"] if h["id"] == hold.gid)
        return {
            "fulfillmentHold": hold_node,
            "fulfillmentOrder": held,
            "remainingFulfillmentOrder": _fo_or_none(ctx.shop, remainder),
        }

    empty = {"fulfillmentHold": None, "fulfillmentOrder": None, "remainingFulfillmentOrder": None}
    return _run(ctx, build, empty, with_code=True)


@mutation("fulfillmentOrderReleaseHold", scopes=WRITE_FO)
def resolve_release_hold(
    _parent: Any,
    ctx: Context,
    id: str,
    holdIds: list[str] | None = None,
    externalId: str | None = None,
):
    orders = _orders(ctx)
    return _fo_payload(
        ctx, lambda fo: orders.release_hold(fo, holdIds, ctx.app_id), id, with_code=True
    )


@mutation("fulfillmentOrderReportProgress", scopes=WRITE_FO)
def resolve_report_progress(
    _parent: Any, ctx: Context, id: str, progressReport: dict[str, Any] | None = None
):
    notes = (progressReport or {}).get("reasonNotes")
    return _fo_payload(ctx, lambda fo: _orders(ctx).report_progress(fo, notes), id, with_code=True)


@mutation("fulfillmentOrderOpen", scopes=WRITE_FO)
def resolve_open(_parent: Any, ctx: Context, id: str):
    return _fo_payload(ctx, _orders(ctx).mark_open, id)


@mutation("fulfillmentOrderClose", scopes=WRITE_FO)
def resolve_close(_parent: Any, ctx: Context, id: str, message: str | None = None):
    return _fo_payload(ctx, lambda fo: _orders(ctx).close(fo, message), id)


@mutation("fulfillmentOrderReschedule", scopes=WRITE_FO)
def resolve_reschedule(_parent: Any, ctx: Context, id: str, fulfillAt: str):
    return _fo_payload(ctx, lambda fo: _orders(ctx).reschedule(fo, fulfillAt), id)


@mutation("fulfillmentOrderCancel", scopes=WRITE_FO)
def resolve_fo_cancel(_parent: Any, ctx: Context, id: str):
    orders = _orders(ctx)

    def build() -> dict[str, Any]:
        fo, replacement = orders.cancel_fo(orders.require_fo(id))
        return {
            "fulfillmentOrder": fulfillment_order_node(ctx.shop, fo),
            "replacementFulfillmentOrder": _fo_or_none(ctx.shop, replacement),
        }

    return _run(
        ctx, build, {"fulfillmentOrder": None, "replacementFulfillmentOrder": None}, with_code=True
    )


@mutation("fulfillmentOrderMove", scopes=WRITE_FO)
def resolve_move(
    _parent: Any,
    ctx: Context,
    id: str,
    newLocationId: str,
    fulfillmentOrderLineItems: list[dict[str, Any]] | None = None,
):
    orders = _orders(ctx)

    def build() -> dict[str, Any]:
        moved, original, remaining = orders.move(
            orders.require_fo(id), newLocationId, fulfillmentOrderLineItems
        )
        return {
            "movedFulfillmentOrder": fulfillment_order_node(ctx.shop, moved),
            "originalFulfillmentOrder": fulfillment_order_node(ctx.shop, original),
            "remainingFulfillmentOrder": _fo_or_none(ctx.shop, remaining),
        }

    empty = {
        "movedFulfillmentOrder": None,
        "originalFulfillmentOrder": None,
        "remainingFulfillmentOrder": None,
    }
    return _run(ctx, build, empty, with_code=True)


@mutation("fulfillmentOrderSplit", scopes=WRITE_FO)
def resolve_split(_parent: Any, ctx: Context, fulfillmentOrderSplits: list[dict[str, Any]]):
    orders = _orders(ctx)

    def build() -> dict[str, Any]:
        results = orders.split_many(fulfillmentOrderSplits)
        return {
            "fulfillmentOrderSplits": [
                {
                    "fulfillmentOrder": fulfillment_order_node(ctx.shop, original),
                    "remainingFulfillmentOrder": fulfillment_order_node(ctx.shop, created),
                    "replacementFulfillmentOrder": None,
                }
                for original, created in results
            ]
        }

    return _run(ctx, build, {"fulfillmentOrderSplits": None}, with_code=True)


@mutation("fulfillmentOrderMerge", scopes=WRITE_FO)
def resolve_merge(_parent: Any, ctx: Context, fulfillmentOrderMergeInputs: list[dict[str, Any]]):
    orders = _orders(ctx)

    def build() -> dict[str, Any]:
        merged = orders.merge_many(fulfillmentOrderMergeInputs)
        return {
            "fulfillmentOrderMerges": [
                {"fulfillmentOrder": fulfillment_order_node(ctx.shop, fo)} for fo in merged
            ]
        }

    return _run(ctx, build, {"fulfillmentOrderMerges": None}, with_code=True)


@mutation("fulfillmentOrdersReroute", scopes=WRITE_FO)
def resolve_reroute(
    _parent: Any,
    ctx: Context,
    fulfillmentOrderIds: list[str],
    includedLocationIds: list[str] | None = None,
    excludedLocationIds: list[str] | None = None,
):
    orders = _orders(ctx)

    def ids(values: list[str] | None) -> list[int] | None:
        if values is None:
            return None
        return [n for n in (parse_gid(v, "Location") for v in values) if n is not None]

    def build() -> dict[str, Any]:
        fos = [orders.require_fo(i) for i in fulfillmentOrderIds]
        moved = orders.reroute(fos, ids(includedLocationIds), ids(excludedLocationIds))
        return {"movedFulfillmentOrders": [fulfillment_order_node(ctx.shop, fo) for fo in moved]}

    return _run(ctx, build, {"movedFulfillmentOrders": None}, with_code=True)


@mutation("fulfillmentOrdersSetFulfillmentDeadline", scopes=WRITE_FO)
def resolve_set_deadline(
    _parent: Any, ctx: Context, fulfillmentOrderIds: list[str], fulfillmentDeadline: str
):
    orders = _orders(ctx)

    def build() -> dict[str, Any]:
        fos = [orders.require_fo(i) for i in fulfillmentOrderIds]
        orders.set_deadline(fos, fulfillmentDeadline)
        return {"success": True}

    return _run(ctx, build, {"success": False}, with_code=True)


@mutation("fulfillmentOrderLineItemsPreparedForPickup", scopes=WRITE_FO)
def resolve_prepared_for_pickup(_parent: Any, ctx: Context, input: dict[str, Any]):
    from fulfillbridge.sandbox.domain.orders.details import prepare_for_pickup

    entries = input.get("lineItemsByFulfillmentOrder") or []
    return {"userErrors": prepare_for_pickup(_orders(ctx), entries)}


# ---- fulfillment-service requests (docs/shopify.md#fulfillment-order-state-machine)
@mutation("fulfillmentOrderSubmitFulfillmentRequest", scopes=WRITE_FO)
def resolve_submit_request(
    _parent: Any,
    ctx: Context,
    id: str,
    message: str | None = None,
    notifyCustomer: bool | None = None,
    fulfillmentOrderLineItems: list[dict[str, Any]] | None = None,
    shippingMethod: str | None = None,
):
    orders = _orders(ctx)

    def build() -> dict[str, Any]:
        original, submitted, unsubmitted = orders.submit_fulfillment_request(
            orders.require_fo(id),
            message=message,
            notify_customer=notifyCustomer,
            lines=fulfillmentOrderLineItems,
            shipping_method=shippingMethod,
        )
        return {
            "originalFulfillmentOrder": fulfillment_order_node(ctx.shop, original),
            "submittedFulfillmentOrder": fulfillment_order_node(ctx.shop, submitted),
            "unsubmittedFulfillmentOrder": _fo_or_none(ctx.shop, unsubmitted),
        }

    empty = {
        "originalFulfillmentOrder": None,
        "submittedFulfillmentOrder": None,
        "unsubmittedFulfillmentOrder": None,
    }
    return _run(ctx, build, empty, with_code=False)


@mutation("fulfillmentOrderAcceptFulfillmentRequest", scopes=WRITE_FO)
def resolve_accept_request(
    _parent: Any,
    ctx: Context,
    id: str,
    message: str | None = None,
    estimatedShippedAt: str | None = None,
):
    return _fo_payload(ctx, lambda fo: _orders(ctx).accept_fulfillment_request(fo, message), id)


@mutation("fulfillmentOrderRejectFulfillmentRequest", scopes=WRITE_FO)
def resolve_reject_request(
    _parent: Any,
    ctx: Context,
    id: str,
    reason: str | None = None,
    message: str | None = None,
    lineItems: list[dict[str, Any]] | None = None,
):
    return _fo_payload(
        ctx, lambda fo: _orders(ctx).reject_fulfillment_request(fo, message, reason), id
    )


@mutation("fulfillmentOrderSubmitCancellationRequest", scopes=WRITE_FO)
def resolve_submit_cancellation(_parent: Any, ctx: Context, id: str, message: str | None = None):
    return _fo_payload(ctx, lambda fo: _orders(ctx).submit_cancellation_request(fo, message), id)


@mutation("fulfillmentOrderAcceptCancellationRequest", scopes=WRITE_FO)
def resolve_accept_cancellation(_parent: Any, ctx: Context, id: str, message: str | None = None):
    return _fo_payload(ctx, lambda fo: _orders(ctx).accept_cancellation_request(fo, message), id)


@mutation("fulfillmentOrderRejectCancellationRequest", scopes=WRITE_FO)
def resolve_reject_cancellation(_parent: Any, ctx: Context, id: str, message: str | None = None):
    return _fo_payload(ctx, lambda fo: _orders(ctx).reject_cancellation_request(fo, message), id)


# ---- fulfillments
def _fulfillment_payload(ctx: Context, build: Callable[[], int]) -> dict[str, Any]:
    try:
        fid = build()
    except OrderUserErrors as exc:
        return {"fulfillment": None, "userErrors": user_errors(exc, with_code=False)}
    return {"fulfillment": fulfillment_node(ctx.shop, fid), "userErrors": []}


@mutation("fulfillmentCreate", scopes=WRITE_FULFILLMENTS)
def resolve_fulfillment_create(
    _parent: Any, ctx: Context, fulfillment: dict[str, Any], message: str | None = None
) -> dict[str, Any]:
    return _fulfillment_payload(
        ctx, lambda: _orders(ctx).create_fulfillment(fulfillment, message).id
    )


@mutation("fulfillmentCreateV2", scopes=WRITE_FULFILLMENTS)
def resolve_fulfillment_create_v2(
    _parent: Any, ctx: Context, fulfillment: dict[str, Any], message: str | None = None
) -> dict[str, Any]:
    # Deprecated twin of fulfillmentCreate with the same rules (capture
    # fulfillment-create-preconditions: nonPositiveQuantityV2, missingFulfillmentOrderV2).
    return resolve_fulfillment_create(_parent, ctx, fulfillment, message)


@mutation("fulfillmentTrackingInfoUpdate", scopes=WRITE_FULFILLMENTS)
def resolve_tracking_update(
    _parent: Any,
    ctx: Context,
    fulfillmentId: str,
    trackingInfoInput: dict[str, Any],
    notifyCustomer: bool | None = None,
) -> dict[str, Any]:
    return _fulfillment_payload(
        ctx,
        lambda: (
            _orders(ctx).update_tracking(fulfillmentId, trackingInfoInput, bool(notifyCustomer)).id
        ),
    )


@mutation("fulfillmentCancel", scopes=WRITE_FULFILLMENTS)
def resolve_fulfillment_cancel(_parent: Any, ctx: Context, id: str) -> dict[str, Any]:
    return _fulfillment_payload(ctx, lambda: _orders(ctx).cancel_fulfillment(id).id)


@mutation("fulfillmentEventCreate", scopes=WRITE_FULFILLMENTS)
def resolve_event_create(
    _parent: Any, ctx: Context, fulfillmentEvent: dict[str, Any]
) -> dict[str, Any]:
    try:
        event = _orders(ctx).create_event(fulfillmentEvent)
    except OrderUserErrors as exc:
        return {"fulfillmentEvent": None, "userErrors": user_errors(exc, with_code=False)}
    f = _orders(ctx).fulfillments[event.fulfillment_id]
    node = fulfillment_node(ctx.shop, f.id)
    events = resolve_events(node, ctx, first=250)["nodes"]
    return {"fulfillmentEvent": next(e for e in events if e["_id"] == event.id), "userErrors": []}


# --------------------------------------------------------------------------- node(id:)
@node_loader("FulfillmentOrder", scopes=READ_FO)
def load_fulfillment_order(ctx: Context, numeric: int) -> dict[str, Any] | None:
    return _fo_or_none(ctx.shop, _orders(ctx).fulfillment_order(numeric))


@node_loader("Fulfillment", scopes=READ_FULFILLMENTS)
def load_fulfillment(ctx: Context, numeric: int) -> dict[str, Any] | None:
    if numeric not in _orders(ctx).fulfillments:
        return None
    return fulfillment_node(ctx.shop, numeric)
