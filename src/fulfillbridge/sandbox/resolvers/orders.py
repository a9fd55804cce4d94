"""GraphQL resolvers of orders: orderCreate, orderCancel, order, orders and the Order and
LineItem fields. Node builders (``order_node``, ``line_item_node``) are public so the
fulfillment resolvers render orders and line items the same way."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fulfillbridge.sandbox.domain.catalog import (
    SearchTerm,
    search_filter,
    term_matches_number,
    term_matches_text,
)
from fulfillbridge.sandbox.domain.orders import (
    LineItem,
    Order,
    OrderUserErrors,
    UserError,
    orders_of,
)
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
from fulfillbridge.sandbox.state import ShopState, gid, parse_gid

READ_ORDERS = ("read_orders", "read_marketplace_orders")
WRITE_ORDERS = ("write_orders",)


# --------------------------------------------------------------------------- helpers
def user_errors(exc: OrderUserErrors, *, with_code: bool = True) -> list[dict[str, Any]]:
    return [user_error_dict(e, with_code=with_code) for e in exc.errors]


def user_error_dict(error: UserError, *, with_code: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"field": error.field, "message": error.message}
    if with_code:
        out["code"] = error.code
    return out


def money_bag(amount: Decimal, currency: str) -> dict[str, Any]:
    # Shopify prints decimals minimally with at least one fraction digit ("10.0", "0.0").
    text = format(amount.normalize(), "f") if amount == amount.to_integral() else str(amount)
    if "." not in text:
        text += ".0"
    money = {"amount": text, "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": money}


def mailing_address(address: dict[str, Any] | None) -> dict[str, Any] | None:
    if address is None:
        return None
    first, last = address.get("firstName"), address.get("lastName")
    city, province, zip_code = address.get("city"), address.get("provinceCode"), address.get("zip")
    formatted = [
        line
        for line in (
            address.get("company"),
            address.get("address1"),
            address.get("address2"),
            " ".join(p for p in (city, province, zip_code) if p) or None,
            address.get("country") or address.get("countryCode"),
        )
        if line
    ]
    return {
        "__typename": "MailingAddress",
        "id": None,
        "firstName": first,
        "lastName": last,
        "name": " ".join(p for p in (first, last) if p) or None,
        "company": address.get("company"),
        "address1": address.get("address1"),
        "address2": address.get("address2"),
        "city": city,
        "province": address.get("province"),
        "provinceCode": province,
        "country": address.get("country"),
        "countryCodeV2": address.get("countryCode"),
        "zip": zip_code,
        "phone": address.get("phone"),
        "formatted": formatted,
        "formattedArea": ", ".join(p for p in (city, province, address.get("countryCode")) if p)
        or None,
        "latitude": None,
        "longitude": None,
    }


# --------------------------------------------------------------------------- nodes
def order_node(shop: ShopState, order: Order) -> dict[str, Any]:
    orders = orders_of(shop)
    cur = order.currency
    quantity_left = sum(li.quantity - li.removed_quantity for li in order.line_items)
    return {
        "__typename": "Order",
        "_order_id": order.id,
        "id": order.gid,
        "legacyResourceId": str(order.id),
        "name": order.name,
        "email": order.email,
        "phone": order.phone,
        "note": order.note,
        "tags": list(order.tags),
        "test": order.test,
        "createdAt": order.created_at,
        "updatedAt": order.updated_at,
        "processedAt": order.processed_at,
        "closed": order.closed,
        "closedAt": order.closed_at,
        "cancelledAt": order.cancelled_at,
        "cancelReason": order.cancel_reason,
        "confirmed": True,
        "displayFinancialStatus": orders.display_financial_status(order),
        "displayFulfillmentStatus": orders.display_fulfillment_status(order),
        "fullyPaid": order.paid >= order.total,
        "unpaid": order.paid == 0,
        "currencyCode": cur,
        "presentmentCurrencyCode": cur,
        "sourceName": order.source_name,
        "customer": None,
        "customAttributes": [],
        "paymentGatewayNames": sorted({t.gateway for t in order.transactions}),
        "shippingAddress": mailing_address(order.shipping_address),
        "billingAddress": mailing_address(order.billing_address),
        "subtotalPriceSet": money_bag(order.subtotal, cur),
        "totalPriceSet": money_bag(order.total, cur),
        "currentTotalPriceSet": money_bag(order.current_total, cur),
        "currentSubtotalPriceSet": money_bag(order.subtotal, cur),
        "totalShippingPriceSet": money_bag(order.shipping_total, cur),
        "totalTaxSet": money_bag(Decimal("0"), cur),
        "totalDiscountsSet": money_bag(Decimal("0"), cur),
        "totalRefundedSet": money_bag(order.refunded, cur),
        "totalReceivedSet": money_bag(order.paid, cur),
        "totalOutstandingSet": money_bag(order.outstanding, cur),
        "currentSubtotalLineItemsQuantity": quantity_left,
        "subtotalLineItemsQuantity": sum(li.quantity for li in order.line_items),
        "requiresShipping": any(li.requires_shipping for li in order.line_items),
        "transactions": [
            {
                "__typename": "OrderTransaction",
                "id": gid("OrderTransaction", t.id),
                "kind": t.kind,
                "status": t.status,
                "gateway": t.gateway,
                "test": t.test,
                "createdAt": t.created_at,
                "processedAt": t.created_at,
                "amountSet": money_bag(t.amount, cur),
            }
            for t in order.transactions
        ],
    }


def line_item_node(shop: ShopState, order: Order, line: LineItem) -> dict[str, Any]:
    orders = orders_of(shop)
    cur = order.currency
    unfulfilled = line.quantity - line.fulfilled_quantity - line.removed_quantity
    return {
        "__typename": "LineItem",
        "_order_id": order.id,
        "_line_id": line.id,
        "id": line.gid,
        "title": line.title,
        "name": orders.line_name(line),
        "sku": line.sku,
        "quantity": line.quantity,
        "currentQuantity": line.quantity - line.removed_quantity,
        "unfulfilledQuantity": max(unfulfilled, 0),
        "fulfillableQuantity": orders.fulfillable_quantity(line, order),
        "nonFulfillableQuantity": line.removed_quantity,
        "refundableQuantity": line.quantity - line.removed_quantity,
        "requiresShipping": line.requires_shipping,
        "taxable": line.taxable,
        "isGiftCard": False,
        "merchantEditable": True,
        "restockable": True,
        "vendor": line.vendor,
        "variantTitle": line.variant_title,
        "customAttributes": [],
        "taxLines": [],
        "discountAllocations": [],
        "originalUnitPriceSet": money_bag(line.price, cur),
        "discountedUnitPriceSet": money_bag(line.price, cur),
        "originalTotalSet": money_bag(line.price * line.quantity, cur),
        "discountedTotalSet": money_bag(line.price * line.quantity, cur),
        "fulfillmentStatus": (
            "fulfilled" if line.fulfilled_quantity >= line.quantity else "unfulfilled"
        ),
    }


def _order(ctx: Context, parent: dict[str, Any]) -> Order:
    return orders_of(ctx.shop).orders[parent["_order_id"]]


def _line_item(ctx: Context, parent: dict[str, Any]) -> LineItem:
    return orders_of(ctx.shop).line_item(_order(ctx, parent), parent["_line_id"])


def find_order(shop: ShopState, global_id: str) -> Order | None:
    oid = parse_gid(global_id, "Order")
    return orders_of(shop).order(oid) if oid is not None else None


# --------------------------------------------------------------------------- Order fields
@field_resolver("Order", "lineItems", scopes=READ_ORDERS)
def resolve_order_line_items(parent: dict[str, Any], ctx: Context, **page: Any) -> dict[str, Any]:
    order = _order(ctx, parent)
    nodes = [line_item_node(ctx.shop, order, li) for li in order.line_items]
    return connection(nodes, **page_args(page), cursor_of=lambda n: n["_line_id"])


@field_resolver("Order", "shippingLines", scopes=READ_ORDERS)
def resolve_order_shipping_lines(
    parent: dict[str, Any], ctx: Context, **page: Any
) -> dict[str, Any]:
    order = _order(ctx, parent)
    nodes = [
        {
            "__typename": "ShippingLine",
            "_id": s.id,
            "id": gid("ShippingLine", s.id),
            "title": s.title,
            "code": s.code,
            "source": s.source,
            "carrierIdentifier": None,
            "custom": True,
            "isRemoved": False,
            "originalPriceSet": money_bag(s.price, order.currency),
            "discountedPriceSet": money_bag(s.price, order.currency),
            "currentDiscountedPriceSet": money_bag(s.price, order.currency),
        }
        for s in order.shipping_lines
    ]
    return connection(nodes, **page_args(page), cursor_of=lambda n: n["_id"])


@field_resolver("Order", "shippingLine", scopes=READ_ORDERS)
def resolve_order_shipping_line(parent: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    lines = resolve_order_shipping_lines(parent, ctx, first=1)["nodes"]
    return lines[0] if lines else None


# --------------------------------------------------------------------------- LineItem fields
@field_resolver("LineItem", "variant", scopes=READ_ORDERS)
def resolve_line_variant(parent: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    from fulfillbridge.sandbox.resolvers.catalog import catalog_of, variant_node

    line = _line_item(ctx, parent)
    if line.variant_id is None:
        return None
    variant = catalog_of(ctx.shop).variant(line.variant_id)
    return variant_node(ctx.shop, variant) if variant is not None else None


@field_resolver("LineItem", "product", scopes=READ_ORDERS)
def resolve_line_product(parent: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    from fulfillbridge.sandbox.resolvers.catalog import catalog_of, product_node

    line = _line_item(ctx, parent)
    if line.product_id is None:
        return None
    product = catalog_of(ctx.shop).product(line.product_id)
    return product_node(ctx.shop, product) if product is not None else None


# --------------------------------------------------------------------------- queries
@query("order", scopes=READ_ORDERS)
def resolve_order(_parent: Any, ctx: Context, id: str) -> dict[str, Any] | None:
    order = find_order(ctx.shop, id)
    return order_node(ctx.shop, order) if order is not None else None


def _time_matches(term: SearchTerm, candidate: str | None) -> bool:
    if candidate is None:
        return False
    try:
        wanted = datetime.fromisoformat(term.value.strip("'\"").replace("Z", "+00:00"))
    except ValueError as exc:
        raise TopLevelError(
            f"Invalid date in search query: {term.field}:{term.value}", "BAD_REQUEST"
        ) from exc
    if wanted.tzinfo is None:
        wanted = wanted.replace(tzinfo=UTC)
    have = datetime.fromisoformat(candidate.replace("Z", "+00:00"))
    return {
        ":": have == wanted,
        ":<": have < wanted,
        ":>": have > wanted,
        ":<=": have <= wanted,
        ":>=": have >= wanted,
    }[term.comparator]


def _order_match(shop: ShopState) -> Any:
    orders = orders_of(shop)

    def match(order: Order, term: SearchTerm) -> bool | None:
        name = (term.field or "").lower()
        value = term.value.strip("'\"")
        if name in {"updated_at", "created_at", "processed_at"}:
            stamp = {
                "updated_at": order.updated_at,
                "created_at": order.created_at,
                "processed_at": order.processed_at,
            }[name]
            return _time_matches(term, stamp)
        if name == "status":
            # Shopify docs: status:open|closed|cancelled|not_closed|any.
            v = value.lower()
            if v == "any":
                return True
            if v == "open":
                return not order.closed and order.cancelled_at is None
            if v == "closed":
                return order.closed
            if v == "cancelled":
                return order.cancelled_at is not None
            if v == "not_closed":
                return not order.closed
            return False
        if name == "financial_status":
            return (order.financial_status or "").lower() == value.lower()
        if name == "fulfillment_status":
            display = orders.display_fulfillment_status(order)
            v = value.lower()
            mapping = {
                "unshipped": {"UNFULFILLED", "IN_PROGRESS", "ON_HOLD", "SCHEDULED"},
                "unfulfilled": {"UNFULFILLED", "IN_PROGRESS", "ON_HOLD", "SCHEDULED"},
                "shipped": {"FULFILLED"},
                "fulfilled": {"FULFILLED"},
                "partial": {"PARTIALLY_FULFILLED"},
                "on_hold": {"ON_HOLD"},
                "in_progress": {"IN_PROGRESS"},
                "scheduled": {"SCHEDULED"},
                "any": None,
            }
            if v not in mapping:
                return False
            allowed = mapping[v]
            return True if allowed is None else display in allowed
        if name == "name":
            wanted = value if value.startswith("#") else f"#{value}"
            return term_matches_text(SearchTerm(term.field, wanted, term.negated), order.name) or (
                term_matches_text(SearchTerm(term.field, value, term.negated), order.name)
            )
        if name == "id":
            number = parse_gid(value, "Order") if value.startswith("gid://") else None
            cleaned = SearchTerm(
                term.field, str(number) if number else value, False, term.comparator
            )
            return term_matches_number(cleaned, order.id)
        if name == "email":
            return term_matches_text(SearchTerm(term.field, value), order.email)
        if name == "tag":
            return any(term_matches_text(SearchTerm(term.field, value), t) for t in order.tags)
        if name == "sku":
            return any(
                term_matches_text(SearchTerm(term.field, value), li.sku) for li in order.line_items
            )
        if name == "test":
            return order.test == (value.lower() == "true")
        if term.field is None:
            # Free text: name, email or a line item title.
            needle = value.lower()
            hay = [order.name, order.email or "", *(li.title for li in order.line_items)]
            return any(needle in h.lower() for h in hay)
        return None  # unknown filter: Shopify ignores it (Shopify docs, search syntax)

    return match


_ORDER_SORT = {
    "ID": lambda o: o.id,
    "CREATED_AT": lambda o: (o.created_at, o.id),
    "UPDATED_AT": lambda o: (o.updated_at, o.id),
    "PROCESSED_AT": lambda o: (o.processed_at, o.id),
    "ORDER_NUMBER": lambda o: o.number,
    "TOTAL_PRICE": lambda o: (o.total, o.id),
    "CURRENT_TOTAL_PRICE": lambda o: (o.current_total, o.id),
    "FINANCIAL_STATUS": lambda o: (o.financial_status or "", o.id),
    "RELEVANCE": lambda o: o.id,
}


@query("orders", scopes=READ_ORDERS)
def resolve_orders(
    _parent: Any,
    ctx: Context,
    query: str | None = None,
    sortKey: str = "PROCESSED_AT",
    **page: Any,
) -> dict[str, Any]:
    orders = orders_of(ctx.shop)
    key = _ORDER_SORT.get(sortKey)
    if key is None:
        raise TopLevelError(f"The sandbox cannot sort orders by {sortKey}.", "BAD_REQUEST")
    matched = search_filter(orders.list_orders(), query, _order_match(ctx.shop))
    matched.sort(key=key)
    nodes = [order_node(ctx.shop, o) for o in matched]
    positions = {n["_order_id"]: i for i, n in enumerate(nodes)}
    # Cursors carry the position in the sorted list, so any sort key pages correctly.
    return connection(nodes, **page_args(page), cursor_of=lambda n: positions[n["_order_id"]])


@query("ordersCount", scopes=READ_ORDERS)
def resolve_orders_count(
    _parent: Any, ctx: Context, query: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    matched = search_filter(orders_of(ctx.shop).list_orders(), query, _order_match(ctx.shop))
    count = len(matched)
    if limit is not None and count > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": count, "precision": "EXACT"}


# --------------------------------------------------------------------------- mutations
@mutation("orderCreate", scopes=WRITE_ORDERS)
def resolve_order_create(
    _parent: Any, ctx: Context, order: dict[str, Any], options: dict[str, Any] | None = None
) -> dict[str, Any]:
    try:
        created = orders_of(ctx.shop).create_order(order, options, app_id=ctx.app_id)
    except OrderUserErrors as exc:
        return {"order": None, "userErrors": user_errors(exc)}
    return {"order": order_node(ctx.shop, created), "userErrors": []}


@mutation("orderCancel", scopes=WRITE_ORDERS)
def resolve_order_cancel(
    _parent: Any,
    ctx: Context,
    orderId: str,
    reason: str,
    restock: bool,
    refund: bool | None = None,
    refundMethod: dict[str, Any] | None = None,
    notifyCustomer: bool | None = None,
    staffNote: str | None = None,
) -> dict[str, Any]:
    try:
        job = orders_of(ctx.shop).cancel_order(
            orderId,
            reason=reason,
            restock=restock,
            refund=refund,
            refund_method=refundMethod,
            notify_customer=bool(notifyCustomer),
            staff_note=staffNote,
        )
    except OrderUserErrors as exc:
        # Capture orderCancel-error-messages: the same errors twice, with and without code.
        return {
            "job": None,
            "orderCancelUserErrors": user_errors(exc),
            "userErrors": user_errors(exc, with_code=False),
        }
    return {"job": {"__typename": "Job", **job}, "orderCancelUserErrors": [], "userErrors": []}


@node_loader("Order", scopes=READ_ORDERS)
def load_order(ctx: Context, numeric: int) -> dict[str, Any] | None:
    order = orders_of(ctx.shop).order(numeric)
    return order_node(ctx.shop, order) if order is not None else None
