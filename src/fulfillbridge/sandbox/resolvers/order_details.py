"""GraphQL fields of what an order carries to be made and shipped: note attributes and
line properties, the customer's contact (behind ``read_customers``), a fulfillment order's
delivery method, and per fulfillment-order line its image, weight and prices.

These resolvers take precedence over the values the node builders in ``orders.py`` and
``fulfillment.py`` put in their dicts, so those modules stay as they are."""

from __future__ import annotations

from typing import Any

from fulfillbridge.sandbox.domain.catalog import Catalog
from fulfillbridge.sandbox.domain.orders import LineItem, Order, orders_of
from fulfillbridge.sandbox.registry import Context, field_resolver
from fulfillbridge.sandbox.resolvers.orders import money_bag
from fulfillbridge.sandbox.state import ShopState, gid

# Shopify's protected customer data rule: an order's contact details (email, phone) are
# served only to apps allowed to read customer data; without that, selecting them gives an
# ACCESS_DENIED field error while the rest of the order still comes back. The sandbox
# stands for that permission with the ``read_customers`` scope (write implies read).
CUSTOMER_SCOPES = ("read_customers",)


def _order(ctx: Context, parent: dict[str, Any]) -> Order:
    return orders_of(ctx.shop).orders[parent["_order_id"]]


def _line(ctx: Context, parent: dict[str, Any]) -> tuple[Order, LineItem]:
    order = _order(ctx, parent)
    return order, orders_of(ctx.shop).line_item(order, parent["_line_id"])


def _attributes(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"__typename": "Attribute", "key": key, "value": value} for key, value in pairs]


def image_node(url: str) -> dict[str, Any]:
    return {
        "__typename": "Image",
        "id": None,
        "url": url,
        "src": url,
        "originalSrc": url,
        "transformedSrc": url,
        "altText": None,
        "width": None,
        "height": None,
    }


def line_image_url(shop: ShopState, line: LineItem) -> str | None:
    """The variant's own image, else the product's first image (Shopify docs,
    FulfillmentOrderLineItem.image and LineItem.image)."""
    catalog: Catalog = shop.part("catalog", Catalog)
    variant = catalog.variant(line.variant_id) if line.variant_id is not None else None
    if variant is not None and variant.image_url:
        return variant.image_url
    product = catalog.product(line.product_id) if line.product_id is not None else None
    return product.image_url if product is not None else None


# --------------------------------------------------------------------------------- Order
@field_resolver("Order", "customAttributes")
def resolve_order_attributes(parent: dict[str, Any], ctx: Context) -> list[dict[str, Any]]:
    return _attributes(_order(ctx, parent).custom_attributes)


@field_resolver("Order", "email", scopes=CUSTOMER_SCOPES)
def resolve_order_email(parent: dict[str, Any], ctx: Context) -> str | None:
    return _order(ctx, parent).email


@field_resolver("Order", "phone", scopes=CUSTOMER_SCOPES)
def resolve_order_phone(parent: dict[str, Any], ctx: Context) -> str | None:
    return _order(ctx, parent).phone


# ------------------------------------------------------------------------------ LineItem
@field_resolver("LineItem", "customAttributes")
def resolve_line_attributes(parent: dict[str, Any], ctx: Context) -> list[dict[str, Any]]:
    return _attributes(_line(ctx, parent)[1].properties)


@field_resolver("LineItem", "image")
def resolve_line_image(parent: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    url = line_image_url(ctx.shop, _line(ctx, parent)[1])
    return image_node(url) if url else None


# ---------------------------------------------------------------------- FulfillmentOrder
@field_resolver("FulfillmentOrder", "deliveryMethod")
def resolve_delivery_method(parent: dict[str, Any], ctx: Context) -> dict[str, Any]:
    orders = orders_of(ctx.shop)
    fo = orders.fulfillment_orders[parent["_fo_id"]]
    order = orders.order_of(fo)
    shipping = order.shipping_lines[0] if order.shipping_lines else None
    return {
        "__typename": "DeliveryMethod",
        "id": gid("DeliveryMethod", fo.id),
        "methodType": fo.delivery_method,
        # The name the buyer chose at checkout and the carrier's service code.
        "presentedName": shipping.title if shipping else None,
        "serviceCode": shipping.code if shipping else None,
        "sourceReference": None,
        "minDeliveryDateTime": order.min_delivery_at,
        "maxDeliveryDateTime": order.max_delivery_at,
        "additionalInformation": None,
        "brandedPromise": None,
    }


# -------------------------------------------------------------- FulfillmentOrderLineItem
@field_resolver("FulfillmentOrderLineItem", "image")
def resolve_foli_image(parent: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    return resolve_line_image(parent, ctx)


@field_resolver("FulfillmentOrderLineItem", "weight")
def resolve_foli_weight(parent: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    weight = _line(ctx, parent)[1].weight
    if weight is None:
        return None
    value, unit = weight
    return {"__typename": "Weight", "value": value, "unit": unit}


@field_resolver("FulfillmentOrderLineItem", "financialSummaries")
def resolve_foli_financials(parent: dict[str, Any], ctx: Context) -> list[dict[str, Any]]:
    # One summary for the line's units here; the sandbox has no discounts, so the
    # discounted unit price is the original one.
    order, line = _line(ctx, parent)
    return [
        {
            "__typename": "FulfillmentOrderLineItemFinancialSummary",
            "quantity": parent["totalQuantity"],
            "originalUnitPriceSet": money_bag(line.price, order.currency),
            "approximateDiscountedUnitPriceSet": money_bag(line.price, order.currency),
            "discountAllocations": [],
        }
    ]
