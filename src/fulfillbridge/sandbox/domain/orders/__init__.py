"""Orders, fulfillment orders and fulfillments of the sandbox (pure Python, no GraphQL).

Obtain the part as ``orders_of(shop)`` (``shop.part("orders", Orders)``). Public entry points
for the rest of the project (seeding, demos): ``create_order(shop, order_input, options)``
and the ``Orders`` methods. Inputs are dicts shaped like the GraphQL inputs (camelCase keys).

Rules come from the recorded captures (file names cited next to each rule) and from
docs/shopify.md#fulfillment-order-state-machine; where neither says, the sandbox follows
Shopify's documentation and the report of the module lists what is invented.

Failures the caller should show as ``userErrors`` raise ``OrderUserErrors``; an unknown id
that Shopify reports as a top-level ``RESOURCE_NOT_FOUND`` raises ``NotFound``.

Modules: ``model`` (records, statuses), ``errors``, ``inputs`` (reading input values),
``inventory`` (stock a line commits), ``store`` (state, lookups, bookkeeping), ``payloads``
(webhook bodies), ``routing``, ``fulfillment_orders`` (state machine and merchant
operations), ``merchant_requests`` (fulfillment-service requests), ``fulfillments``,
``settings`` (sandbox-only merchant settings such as automatic fulfillment requests), and
``part`` (the ``Orders`` class, order creation and cancellation).
"""

from fulfillbridge.sandbox.domain.orders.errors import NotFound, OrderUserErrors, UserError
from fulfillbridge.sandbox.domain.orders.model import (
    ACCEPTED,
    CANCELLATION_ACCEPTED,
    CANCELLATION_REJECTED,
    CANCELLATION_REQUESTED,
    CANCELLED,
    CLOSED,
    IN_PROGRESS,
    INCOMPLETE,
    MAX_HOLDS_PER_APP,
    MAX_STAFF_NOTE,
    ON_HOLD,
    OPEN,
    REJECTED,
    SCHEDULED,
    SUBMITTED,
    UNSUBMITTED,
    Fulfillment,
    FulfillmentEvent,
    FulfillmentHold,
    FulfillmentLineItem,
    FulfillmentOrder,
    FulfillmentOrderLineItem,
    LineItem,
    MerchantRequest,
    Order,
    ShippingLine,
    TrackingInfo,
    Transaction,
)
from fulfillbridge.sandbox.domain.orders.part import (
    Orders,
    create_order,
    fulfill_order,
    orders_of,
)
from fulfillbridge.sandbox.domain.orders.payloads import rest_address
from fulfillbridge.sandbox.domain.orders.settings import (
    MerchantSettings,
    MerchantSettingsError,
    merchant_settings_of,
)

__all__ = [
    "ACCEPTED",
    "CANCELLATION_ACCEPTED",
    "CANCELLATION_REJECTED",
    "CANCELLATION_REQUESTED",
    "CANCELLED",
    "CLOSED",
    "INCOMPLETE",
    "IN_PROGRESS",
    "MAX_HOLDS_PER_APP",
    "MAX_STAFF_NOTE",
    "ON_HOLD",
    "OPEN",
    "REJECTED",
    "SCHEDULED",
    "SUBMITTED",
    "UNSUBMITTED",
    "Fulfillment",
    "FulfillmentEvent",
    "FulfillmentHold",
    "FulfillmentLineItem",
    "FulfillmentOrder",
    "FulfillmentOrderLineItem",
    "LineItem",
    "MerchantRequest",
    "MerchantSettings",
    "MerchantSettingsError",
    "NotFound",
    "Order",
    "OrderUserErrors",
    "Orders",
    "ShippingLine",
    "TrackingInfo",
    "Transaction",
    "UserError",
    "create_order",
    "fulfill_order",
    "merchant_settings_of",
    "orders_of",
    "rest_address",
]
