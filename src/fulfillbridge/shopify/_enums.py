"""Values of Shopify enums the bridge sends (vendored admin-2026-07 schema)."""

from __future__ import annotations

# FulfillmentHoldReason, in the schema's order.
HOLD_REASONS: tuple[str, ...] = (
    "AWAITING_PAYMENT",
    "HIGH_RISK_OF_FRAUD",
    "INCORRECT_ADDRESS",
    "INVENTORY_OUT_OF_STOCK",
    "UNKNOWN_DELIVERY_DATE",
    "ONLINE_STORE_POST_PURCHASE_CROSS_SELL",
    "AWAITING_RETURN_ITEMS",
    "OTHER",
)
