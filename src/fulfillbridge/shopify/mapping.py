"""Shopify's fulfillment orders in the operation's terms: a ``FulfillmentOrder`` node (as the
``WorkFulfillmentOrder`` fragment of the reading operations selects it) becomes a
``core.work.WorkOrder`` plus what Shopify said about it (status, request status, updatedAt).

Pure: no I/O. Shopify's vocabulary (statuses, gids, field names) stops here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fulfillbridge.core.details import (
    HELD_BY_US,
    Delivery,
    DeliveryKind,
    Hold,
    OrderDetails,
    PaymentState,
    bounded_pairs,
)
from fulfillbridge.core.news import RemoteFulfillmentOrder, RemoteStatus, RequestStatus
from fulfillbridge.core.work import Address, Mode, WorkLine, WorkOrder

__all__ = ["RemoteFulfillmentOrder"]  # re-exported: flows read it from here as before

# The statuses are the schema's enums, named once in core.news.
CLOSED, CANCELLED, INCOMPLETE = RemoteStatus.CLOSED, RemoteStatus.CANCELLED, RemoteStatus.INCOMPLETE
ACCEPTED = RequestStatus.ACCEPTED
CANCELLATION_REQUESTED = RequestStatus.CANCELLATION_REQUESTED
# FulfillmentOrderMerchantRequestKind.
CANCELLATION_REQUEST = "CANCELLATION_REQUEST"

FULFILLMENT_ORDER_GID = "gid://shopify/FulfillmentOrder/"
ORDER_GID = "gid://shopify/Order/"


class MappingError(ValueError):
    """A node that is not a usable fulfillment order; the message names what is missing."""


@dataclass(frozen=True)
class RemoteOrder:
    """An order's id, cancellation and last change (reconciliation of cancellations)."""

    order_id: str
    name: str
    cancelled: bool
    updated_at: datetime | None


def parse_time(value: Any) -> datetime | None:
    """Shopify's DateTime ("2026-07-10T12:21:55Z") as an aware datetime; None stays None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MappingError(f"expected an ISO 8601 time, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(f"expected an ISO 8601 time, got {value!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _nodes(connection: Any) -> list[dict[str, Any]]:
    """The nodes of a connection selected either as ``nodes`` or as ``edges { node }``."""
    if not isinstance(connection, Mapping):
        return []
    nodes = connection.get("nodes")
    if nodes is None:
        nodes = [edge.get("node") for edge in connection.get("edges") or [] if edge]
    return [node for node in nodes if isinstance(node, Mapping)]  # type: ignore[misc]


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _name(first: Any, last: Any, fallback: Any = None) -> str:
    joined = " ".join(part for part in (_text(first), _text(last)) if part)
    return joined or _text(fallback)


def destination_address(destination: Mapping[str, Any] | None) -> Address | None:
    """A FulfillmentOrderDestination as an Address (None when Shopify has none)."""
    if not destination:
        return None
    return Address(
        name=_name(destination.get("firstName"), destination.get("lastName")),
        address1=_text(destination.get("address1")),
        address2=_text(destination.get("address2")),
        city=_text(destination.get("city")),
        province_code=_text(destination.get("province")),
        zip=_text(destination.get("zip")),
        country_code=_text(destination.get("countryCode")),
        phone=_text(destination.get("phone")),
    )


def mailing_address(address: Mapping[str, Any] | None) -> Address | None:
    """A MailingAddress (e.g. the order's billing address) as an Address."""
    if not address:
        return None
    return Address(
        name=_name(address.get("firstName"), address.get("lastName"), address.get("name")),
        address1=_text(address.get("address1")),
        address2=_text(address.get("address2")),
        city=_text(address.get("city")),
        province_code=_text(address.get("provinceCode") or address.get("province")),
        zip=_text(address.get("zip")),
        country_code=_text(address.get("countryCodeV2") or address.get("countryCode")),
        phone=_text(address.get("phone")),
    )


def _pairs(raw: Any, what: str) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    """Shopify's ``[{key, value}]`` attributes as (key, value) pairs, within bounds."""
    pairs: list[tuple[str, str]] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, Mapping) and item.get("key") is not None:
            value = item.get("value")
            pairs.append((str(item["key"]), "" if value is None else str(value)))
    return bounded_pairs(pairs, what)


def _money(bag: Any) -> tuple[str | None, str]:
    shop = (bag or {}).get("shopMoney") if isinstance(bag, Mapping) else None
    if not isinstance(shop, Mapping) or shop.get("amount") is None:
        return None, ""
    return str(shop["amount"]), _text(shop.get("currencyCode"))


# Grams per unit of Shopify's WeightUnit.
_GRAMS = {"GRAMS": 1.0, "KILOGRAMS": 1000.0, "OUNCES": 28.349523125, "POUNDS": 453.59237}


def _grams(weight: Any) -> float | None:
    if not isinstance(weight, Mapping) or not isinstance(weight.get("value"), int | float):
        return None
    factor = _GRAMS.get(_text(weight.get("unit")).upper())
    return round(float(weight["value"]) * factor, 3) if factor else None


def _line(node: Mapping[str, Any], warnings: list[str]) -> WorkLine:
    line_item = node.get("lineItem") or {}
    line_id = node.get("id")
    if not line_id:
        raise MappingError("a fulfillment order line item has no id")
    total = node.get("totalQuantity")
    remaining = node.get("remainingQuantity")
    if not isinstance(total, int):
        raise MappingError(f"line item {line_id} has no totalQuantity")
    if not isinstance(remaining, int):
        remaining = total
    sku = node.get("sku") or line_item.get("sku") or None
    product_title = _text(node.get("productTitle") or line_item.get("title"))
    title = product_title
    variant_title = _text(node.get("variantTitle"))
    if variant_title and variant_title != "Default Title":
        title = f"{title} - {variant_title}" if title else variant_title
    requires_shipping = node.get("requiresShipping")
    variant = node.get("variant") or {}
    item = variant.get("inventoryItem") or {}
    properties, cut = _pairs(line_item.get("customAttributes"), f"property of {sku or title}")
    warnings += cut
    summaries = [s for s in node.get("financialSummaries") or [] if isinstance(s, Mapping)]
    unit_price, _currency = (
        _money(summaries[0].get("originalUnitPriceSet")) if summaries else (None, "")
    )
    discounted, _ = (
        _money(summaries[0].get("approximateDiscountedUnitPriceSet")) if summaries else (None, "")
    )
    options = tuple(
        (_text(o.get("name")), _text(o.get("value")))
        for o in variant.get("selectedOptions") or []
        if isinstance(o, Mapping)
    )
    return WorkLine(
        line_id=str(line_id),
        sku=str(sku).strip() if sku else None,
        quantity=total,
        # What Shopify no longer expects from this fulfillment order was shipped already.
        shipped=max(total - remaining, 0),
        title=title,
        requires_shipping=True if requires_shipping is None else bool(requires_shipping),
        variant_id=variant.get("id"),
        product_id=(line_item.get("product") or {}).get("id"),
        product_title=product_title,
        variant_title="" if variant_title == "Default Title" else variant_title,
        options=options,
        vendor=_text(node.get("vendor")),
        image_url=(node.get("image") or {}).get("url"),
        properties=properties,
        unit_price=unit_price,
        discounted_unit_price=discounted,
        weight_grams=_grams(node.get("weight")),
        hs_code=item.get("harmonizedSystemCode") or None,
        country_of_origin=item.get("countryCodeOfOrigin") or None,
        inventory_item_id=node.get("inventoryItemId"),
    )


# OrderDisplayFinancialStatus in the operation's terms: authorised payments are captured
# on fulfilment, so they count as paid.
_PAYMENT = {
    "PAID": PaymentState.PAID,
    "AUTHORIZED": PaymentState.PAID,
    "PARTIALLY_REFUNDED": PaymentState.PAID,
    "PENDING": PaymentState.PENDING,
    "PARTIALLY_PAID": PaymentState.PENDING,
    "EXPIRED": PaymentState.NOT_PAYABLE,
    "VOIDED": PaymentState.NOT_PAYABLE,
    "REFUNDED": PaymentState.NOT_PAYABLE,
}

# DeliveryMethodType in the operation's terms.
_DELIVERY = {
    "SHIPPING": DeliveryKind.SHIPPING,
    "PICK_UP": DeliveryKind.PICKUP,
    "PICKUP_POINT": DeliveryKind.SHIPPING,
    "LOCAL": DeliveryKind.LOCAL,
    "NONE": DeliveryKind.NONE,
    "RETAIL": DeliveryKind.OTHER,
}


def _delivery(node: Mapping[str, Any], order: Mapping[str, Any]) -> Delivery:
    method = node.get("deliveryMethod") or {}
    line = order.get("shippingLine") or {}
    kind = _DELIVERY.get(_text(method.get("methodType")).upper(), DeliveryKind.SHIPPING)
    return Delivery(
        kind=kind,
        presented_name=_text(method.get("presentedName")),
        service_code=_text(method.get("serviceCode")),
        shipping_title=_text(line.get("title")),
        shipping_code=_text(line.get("code")),
        min_delivery_at=parse_time(method.get("minDeliveryDateTime")),
        max_delivery_at=parse_time(method.get("maxDeliveryDateTime")),
    )


def _holds(node: Mapping[str, Any]) -> tuple[Hold, ...]:
    holds = []
    for raw in node.get("fulfillmentHolds") or []:
        if not isinstance(raw, Mapping) or not raw.get("reason"):
            continue
        # Whose hold it is beyond "ours or not" would need heldByApp, which Shopify only
        # shows to apps with read_apps: any other hold is the merchant's (or Shopify's).
        held_by = HELD_BY_US if raw.get("heldByRequestingApp") else "merchant"
        holds.append(
            Hold(
                reason=_text(raw.get("reason")),
                display_reason=_text(raw.get("displayReason")),
                notes=_text(raw.get("reasonNotes")),
                held_by=held_by,
            )
        )
    return tuple(holds)


def _details(
    node: Mapping[str, Any], order: Mapping[str, Any], warnings: list[str]
) -> OrderDetails:
    attributes, cut = _pairs(order.get("customAttributes"), "note attribute")
    warnings += cut
    status = _text(order.get("displayFinancialStatus")).upper()
    tags = order.get("tags")
    return OrderDetails(
        note=_text(order.get("note")),
        note_attributes=attributes,
        tags=tuple(_text(t) for t in tags) if isinstance(tags, list) else (),
        email=order.get("email") or None,
        phone=order.get("phone") or None,
        customer_read="email" in order or "phone" in order,
        currency=_text(order.get("currencyCode")),
        payment=_PAYMENT.get(status, PaymentState.UNKNOWN) if status else PaymentState.UNKNOWN,
        financial_status=status,
        delivery=_delivery(node, order),
        fulfill_by=parse_time(node.get("fulfillBy")),
        fulfill_at=parse_time(node.get("fulfillAt")),
        warnings=tuple(warnings),
    )


def _cancellation_pending(node: Mapping[str, Any], status: str, request_status: str) -> bool:
    if request_status == CANCELLATION_REQUESTED:
        return True
    # docs/shopify.md#fulfillment-order-state-machine: after a cancellation request the
    # requestStatus may still read ACCEPTED; the newest merchant request tells.
    if request_status != ACCEPTED or status in {CLOSED, CANCELLED, INCOMPLETE}:
        return False
    requests = _nodes(node.get("merchantRequests"))
    if not requests:
        return False
    return _newest(requests).get("kind") == CANCELLATION_REQUEST


def _newest(requests: list[dict[str, Any]]) -> dict[str, Any]:
    """The latest request: by ``sentAt`` (whole seconds), then by position, since a
    connection lists them oldest first and two requests can share a second."""
    position = {id(r): n for n, r in enumerate(requests)}
    return max(requests, key=lambda r: (_text(r.get("sentAt")), position[id(r)]))


def _newest_cancellation_request(node: Mapping[str, Any]) -> str | None:
    requests = [
        r for r in _nodes(node.get("merchantRequests")) if r.get("kind") == CANCELLATION_REQUEST
    ]
    if not requests:
        return None
    return _text(_newest(requests).get("id")) or None


def to_remote(node: Mapping[str, Any], *, store: str, mode: Mode) -> RemoteFulfillmentOrder:
    """Map one FulfillmentOrder node; raises MappingError when essential fields are missing."""
    fo_id = node.get("id")
    if not isinstance(fo_id, str) or not fo_id.startswith(FULFILLMENT_ORDER_GID):
        raise MappingError(f"not a fulfillment order id: {fo_id!r}")
    order = node.get("order") or {}
    order_id = order.get("id") or node.get("orderId")
    if not order_id:
        raise MappingError(f"fulfillment order {fo_id} does not name its order")
    status = _text(node.get("status")).upper()
    request_status = _text(node.get("requestStatus")).upper()
    if not status:
        raise MappingError(f"fulfillment order {fo_id} has no status")
    assigned = node.get("assignedLocation") or {}
    location = assigned.get("location") or {}
    line_items = node.get("lineItems") or {}
    warnings: list[str] = []
    lines = tuple(_line(item, warnings) for item in _nodes(line_items))
    work = WorkOrder(
        store=store,
        remote_id=fo_id,
        order_name=_text(order.get("name") or node.get("orderName")) or fo_id,
        mode=mode,
        lines=lines,
        shipping_address=destination_address(node.get("destination")),
        billing_address=mailing_address(order.get("billingAddress")),
        details=_details(node, order, warnings),
    )
    return RemoteFulfillmentOrder(
        work=work,
        order_id=str(order_id),
        location_id=location.get("id"),
        status=status,
        request_status=request_status,
        updated_at=parse_time(node.get("updatedAt")),
        order_cancelled=order.get("cancelledAt") is not None,
        cancellation_pending=_cancellation_pending(node, status, request_status),
        cancellation_request_id=_newest_cancellation_request(node),
        lines_truncated=bool((line_items.get("pageInfo") or {}).get("hasNextPage")),
        holds=_holds(node),
    )


def to_remote_order(node: Mapping[str, Any]) -> RemoteOrder:
    order_id = node.get("id")
    if not isinstance(order_id, str) or not order_id.startswith(ORDER_GID):
        raise MappingError(f"not an order id: {order_id!r}")
    return RemoteOrder(
        order_id=order_id,
        name=_text(node.get("name")),
        cancelled=node.get("cancelledAt") is not None,
        updated_at=parse_time(node.get("updatedAt")),
    )


def assemble_bulk_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rebuild nested fulfillment orders from a bulk operation's JSONL rows.

    Shopify docs ("Perform bulk operations"): each node of a nested connection is a row of
    its own with ``__parentId`` naming its parent, after the parent. Children are put back
    under ``lineItems`` / ``merchantRequests`` (as ``nodes``) by the kind of their id."""
    parents: dict[str, dict[str, Any]] = {}
    ordered: list[dict[str, Any]] = []
    for row in rows:
        parent_id = row.get("__parentId")
        if parent_id is None:
            node = dict(row)
            node.setdefault("lineItems", {"nodes": []})
            node.setdefault("merchantRequests", {"nodes": []})
            node["lineItems"] = {"nodes": list(_nodes(node["lineItems"]))}
            node["merchantRequests"] = {"nodes": list(_nodes(node["merchantRequests"]))}
            parents[str(node.get("id"))] = node
            ordered.append(node)
            continue
        parent = parents.get(str(parent_id))
        if parent is None:
            raise MappingError(f"bulk row names an unknown parent {parent_id}")
        child = {k: v for k, v in row.items() if k != "__parentId"}
        child_id = _text(child.get("id"))
        if child_id.startswith("gid://shopify/FulfillmentOrderLineItem/"):
            parent["lineItems"]["nodes"].append(child)
        elif child_id.startswith("gid://shopify/FulfillmentOrderMerchantRequest/"):
            parent["merchantRequests"]["nodes"].append(child)
        else:
            raise MappingError(f"bulk row {child_id or '?'} is of a kind not expected here")
    return ordered


def ids_in_payload(payload: Any) -> tuple[list[str], list[str]]:
    """Fulfillment order and order gids named anywhere in a webhook body, in order of
    appearance: (fulfillment order ids, order ids). fulfillment_orders/* bodies carry
    GraphQL ids; orders/* bodies carry ``admin_graphql_api_id`` (Shopify docs)."""
    fulfillment_orders: list[str] = []
    orders: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            if value.startswith(FULFILLMENT_ORDER_GID) and value not in fulfillment_orders:
                fulfillment_orders.append(value)
            elif value.startswith(ORDER_GID) and value not in orders:
                orders.append(value)

    walk(payload)
    return fulfillment_orders, orders
