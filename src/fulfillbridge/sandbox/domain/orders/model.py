"""The records of the orders part: orders, line items, fulfillment orders, holds, merchant
requests, fulfillments, tracking and events (plain dataclasses, no behaviour beyond derived
values), with the status names and limits the rest of the package checks against."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fulfillbridge.sandbox.state import gid

# Statuses (schema enums FulfillmentOrderStatus / FulfillmentOrderRequestStatus).
OPEN, IN_PROGRESS, CLOSED, CANCELLED = "OPEN", "IN_PROGRESS", "CLOSED", "CANCELLED"
ON_HOLD, INCOMPLETE, SCHEDULED = "ON_HOLD", "INCOMPLETE", "SCHEDULED"
UNSUBMITTED, SUBMITTED, ACCEPTED, REJECTED = "UNSUBMITTED", "SUBMITTED", "ACCEPTED", "REJECTED"
CANCELLATION_REQUESTED = "CANCELLATION_REQUESTED"
CANCELLATION_ACCEPTED = "CANCELLATION_ACCEPTED"
CANCELLATION_REJECTED = "CANCELLATION_REJECTED"

# Capture 2026-04_shipping-fulfillments_fulfillment-order-hold-validation.json.
MAX_HOLDS_PER_APP = 10
# Capture 2026-04_orders_orderCancel-error-messages.json.
MAX_STAFF_NOTE = 255
# Shopify changelog for fulfillmentOrderReportProgress (2026-04): notes up to 256 characters.
MAX_PROGRESS_NOTES = 256

_DISPLAY_REASONS = {
    "AWAITING_PAYMENT": "Awaiting payment",
    "HIGH_RISK_OF_FRAUD": "High risk of fraud",
    "INCORRECT_ADDRESS": "Incorrect address",
    "INVENTORY_OUT_OF_STOCK": "Inventory out of stock",
    "UNKNOWN_DELIVERY_DATE": "Unknown delivery date",
    "ONLINE_STORE_POST_PURCHASE_CROSS_SELL": "Post-purchase cross-sell",
    # The admin's wording for exchanges, not the enum's name.
    "AWAITING_RETURN_ITEMS": "Exchange items awaiting return delivery",
    "OTHER": "Other",
}

# Fulfillment event statuses that also name a FulfillmentDisplayStatus (schema enums).
_EVENT_DISPLAY = {
    "LABEL_PURCHASED",
    "LABEL_PRINTED",
    "READY_FOR_PICKUP",
    "CONFIRMED",
    "IN_TRANSIT",
    "OUT_FOR_DELIVERY",
    "ATTEMPTED_DELIVERY",
    "DELAYED",
    "DELIVERED",
    "FAILURE",
    "CARRIER_PICKED_UP",
}


@dataclass
class LineItem:
    id: int
    title: str
    quantity: int
    price: Decimal
    sku: str | None = None
    variant_id: int | None = None
    product_id: int | None = None
    inventory_item_id: int | None = None
    variant_title: str | None = None
    vendor: str | None = None
    requires_shipping: bool = False
    taxable: bool = True
    fulfilled_quantity: int = 0
    # Units removed by cancellation (currentQuantity = quantity - removed).
    removed_quantity: int = 0
    # Location -> units committed there by this line (inventory behaviour not BYPASS).
    committed: dict[int, int] = field(default_factory=dict)
    # The buyer's line properties, (name, value) in input order (LineItem.customAttributes).
    properties: list[tuple[str, str]] = field(default_factory=list)
    # Weight of one unit as ordered (variant's measurement or the input's weight), or None.
    weight: tuple[float, str] | None = None

    @property
    def gid(self) -> str:
        return gid("LineItem", self.id)


@dataclass
class ShippingLine:
    id: int
    title: str
    price: Decimal
    code: str | None = None
    source: str | None = None


@dataclass
class Transaction:
    id: int
    kind: str
    status: str
    gateway: str
    amount: Decimal
    test: bool
    created_at: str


@dataclass
class Order:
    id: int
    number: int
    name: str
    created_at: str
    updated_at: str
    processed_at: str
    currency: str
    email: str | None = None
    phone: str | None = None
    note: str | None = None
    tags: list[str] = field(default_factory=list)
    test: bool = False
    shipping_address: dict[str, Any] | None = None
    billing_address: dict[str, Any] | None = None
    line_items: list[LineItem] = field(default_factory=list)
    shipping_lines: list[ShippingLine] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    financial_status: str | None = "PENDING"
    cancelled_at: str | None = None
    cancel_reason: str | None = None
    closed_at: str | None = None
    refunded: Decimal = Decimal("0")
    source_name: str | None = None
    inventory_behaviour: str = "BYPASS"
    fulfillment_order_ids: list[int] = field(default_factory=list)
    fulfillment_ids: list[int] = field(default_factory=list)
    app_id: str | None = None
    # Note attributes, (key, value) in input order (Order.customAttributes).
    custom_attributes: list[tuple[str, str]] = field(default_factory=list)
    # Promised delivery window (DeliveryMethod.min/maxDeliveryDateTime); no orderCreate
    # input carries it, so only the sandbox's seed controls set it.
    min_delivery_at: str | None = None
    max_delivery_at: str | None = None

    @property
    def gid(self) -> str:
        return gid("Order", self.id)

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @property
    def subtotal(self) -> Decimal:
        return sum((li.price * li.quantity for li in self.line_items), Decimal("0"))

    @property
    def shipping_total(self) -> Decimal:
        return sum((s.price for s in self.shipping_lines), Decimal("0"))

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.shipping_total

    @property
    def paid(self) -> Decimal:
        return sum(
            (
                t.amount
                for t in self.transactions
                if t.status == "SUCCESS" and t.kind in {"SALE", "CAPTURE"}
            ),
            Decimal("0"),
        )

    @property
    def current_total(self) -> Decimal:
        # A cancelled, unpaid order owes nothing (capture 2026-04_orders_orderCancel-parity).
        if self.cancelled_at is not None and self.paid == 0:
            return Decimal("0")
        return self.total - self.refunded

    @property
    def outstanding(self) -> Decimal:
        if self.cancelled_at is not None:
            return Decimal("0")
        return max(self.total - self.paid, Decimal("0"))


@dataclass
class FulfillmentOrderLineItem:
    id: int
    line_item_id: int
    total_quantity: int
    remaining_quantity: int

    @property
    def gid(self) -> str:
        return gid("FulfillmentOrderLineItem", self.id)


@dataclass
class FulfillmentHold:
    id: int
    reason: str
    reason_notes: str | None
    handle: str
    # The app that placed the hold; None for a hold the merchant placed in the admin.
    app_id: str | None
    external_id: str | None = None
    notify_merchant: bool = False

    @property
    def gid(self) -> str:
        return gid("FulfillmentHold", self.id)

    @property
    def display_reason(self) -> str:
        return _DISPLAY_REASONS.get(self.reason, self.reason.replace("_", " ").capitalize())


@dataclass
class MerchantRequest:
    id: int
    kind: str  # FULFILLMENT_REQUEST | CANCELLATION_REQUEST
    message: str | None
    request_options: dict[str, Any]
    sent_at: str
    response_data: dict[str, Any] | None = None

    @property
    def gid(self) -> str:
        return gid("FulfillmentOrderMerchantRequest", self.id)


@dataclass
class FulfillmentOrder:
    id: int
    order_id: int
    location_id: int
    created_at: str
    updated_at: str
    fulfill_at: str | None
    status: str = OPEN
    request_status: str = UNSUBMITTED
    line_items: list[FulfillmentOrderLineItem] = field(default_factory=list)
    holds: list[FulfillmentHold] = field(default_factory=list)
    merchant_requests: list[MerchantRequest] = field(default_factory=list)
    fulfill_by: str | None = None
    progress_reported: bool = False
    # The notes of the latest progress report (FulfillmentOrderReportProgressInput).
    progress_notes: str | None = None
    # The merchant's cancellation request the service has not answered yet. Shopify leaves
    # requestStatus as it was (ACCEPTED) and shows the request only in merchantRequests.
    pending_cancellation_id: int | None = None
    delivery_method: str = "SHIPPING"
    # The fulfillment order split off by a partial hold (merged back on release).
    hold_remainder_id: int | None = None
    # Status to restore when the last hold is released.
    status_before_hold: str | None = None
    # Where it shipped to, kept once it is done and the order's address changes later
    # (None: the order's shipping address).
    destination: dict[str, Any] | None = None

    @property
    def gid(self) -> str:
        return gid("FulfillmentOrder", self.id)

    def remaining(self) -> int:
        return sum(li.remaining_quantity for li in self.line_items)

    def remaining_by_line(self) -> dict[int, int]:
        """Line item id -> units still to fulfil (every line, zeros included)."""
        return {li.id: li.remaining_quantity for li in self.line_items}

    def untouched(self) -> bool:
        """No unit of any line was fulfilled or moved away yet."""
        return all(li.remaining_quantity == li.total_quantity for li in self.line_items)

    def line(self, foli_id: int) -> FulfillmentOrderLineItem | None:
        return next((li for li in self.line_items if li.id == foli_id), None)

    @property
    def cancellation_pending(self) -> bool:
        return self.pending_cancellation_id is not None


@dataclass
class FulfillmentEvent:
    id: int
    fulfillment_id: int
    status: str
    created_at: str
    happened_at: str
    message: str | None = None
    estimated_delivery_at: str | None = None
    city: str | None = None
    province: str | None = None
    country: str | None = None
    zip: str | None = None
    address1: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    @property
    def gid(self) -> str:
        return gid("FulfillmentEvent", self.id)


@dataclass
class TrackingInfo:
    number: str | None
    url: str | None
    company: str | None


@dataclass
class FulfillmentLineItem:
    """One order line in a fulfillment: Shopify makes one per order line even when several
    fulfillment orders of the call hold units of it; ``parts`` says where the units came
    from, as (fulfillment order id, its line item id, units)."""

    id: int
    line_item_id: int
    quantity: int
    parts: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def gid(self) -> str:
        return gid("FulfillmentLineItem", self.id)


@dataclass
class Fulfillment:
    id: int
    order_id: int
    location_id: int
    name: str
    created_at: str
    updated_at: str
    status: str = "SUCCESS"
    tracking: list[TrackingInfo] = field(default_factory=list)
    events: list[FulfillmentEvent] = field(default_factory=list)
    line_items: list[FulfillmentLineItem] = field(default_factory=list)
    fulfillment_order_ids: list[int] = field(default_factory=list)
    origin_address: dict[str, Any] | None = None
    notify_customer: bool = False
    message: str | None = None

    @property
    def gid(self) -> str:
        return gid("Fulfillment", self.id)

    @property
    def display_status(self) -> str:
        if self.status == "CANCELLED":
            return "CANCELED"
        latest = self.latest_event()
        if latest is not None and latest.status in _EVENT_DISPLAY:
            return latest.status
        return "FULFILLED"

    def latest_event(self) -> FulfillmentEvent | None:
        if not self.events:
            return None
        return max(self.events, key=lambda e: (e.happened_at, e.id))

    def event_time(self, status: str) -> str | None:
        times = [e.happened_at for e in self.events if e.status == status]
        return max(times) if times else None

    @property
    def estimated_delivery_at(self) -> str | None:
        for event in sorted(self.events, key=lambda e: (e.happened_at, e.id), reverse=True):
            if event.estimated_delivery_at:
                return event.estimated_delivery_at
        return None
