"""Merchant settings of a sandbox shop: choices a merchant makes in the Shopify admin that
change what happens to new orders. They are sandbox controls, not Admin API fields: set
them with ``POST /__sandbox/shops/{domain}/settings`` (read them with GET).

``auto_submit_fulfillment_requests`` (default ``False``): in Shopify a merchant who uses a
fulfillment-service app can let Shopify send fulfillment requests by itself (Shopify docs
and help centre: Settings > Checkout/General > "Order processing", "After an order has been
paid: automatically fulfill the order's line items"; a Shopify Flow "Send fulfillment
request" action does the same). The service then only learns about the request from the
``fulfillment_order_notification`` callback and pulls
``assignedFulfillmentOrders(assignmentStatus: FULFILLMENT_REQUESTED)``. When the setting is
on, the sandbox submits every new fulfillment order that routing assigns to a
fulfillment-service location right after the order is created, through the same code path
as ``fulfillmentOrderSubmitFulfillmentRequest`` (webhook and callback included).
Difference from Shopify: Shopify waits for the order to be paid; the sandbox submits at
creation whatever the financial status (orders the sandbox makes are paid at creation).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fulfillbridge.sandbox.state import ShopState


class MerchantSettingsError(ValueError):
    """A setting that does not exist or a value of the wrong type (named in the message)."""


@dataclass
class MerchantSettings:
    auto_submit_fulfillment_requests: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def dump(self) -> dict[str, Any]:
        return self.to_dict()

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``changes`` (setting name -> value); all or nothing."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise MerchantSettingsError(
                f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        for name, value in changes.items():
            if not isinstance(value, bool):
                raise MerchantSettingsError(f"{name} must be true or false, got {value!r}")
        for name, value in changes.items():
            setattr(self, name, value)


def merchant_settings_of(shop: ShopState) -> MerchantSettings:
    """The shop's merchant settings (defaults until changed)."""
    return shop.part("merchant_settings", lambda _shop: MerchantSettings())
