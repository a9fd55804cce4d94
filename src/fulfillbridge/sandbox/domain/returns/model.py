"""The records of returns (returns, their lines, exchange lines, reverse fulfillment
orders and deliveries, dispositions, refunds), the enum values and the messages the
rules answer with."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from fulfillbridge.sandbox.domain.orders import (
    OrderUserErrors,
    UserError,
)
from fulfillbridge.sandbox.state import gid, parse_gid

# ReturnStatus (schema enum).
REQUESTED, OPEN, DECLINED, CANCELED, CLOSED = "REQUESTED", "OPEN", "DECLINED", "CANCELED", "CLOSED"
# ReverseFulfillmentOrderDispositionType (schema enum).
RESTOCKED = "RESTOCKED"
DISPOSITION_TYPES = ("RESTOCKED", "PROCESSING_REQUIRED", "NOT_RESTOCKED", "MISSING")
# ReturnReason (schema enum, deprecated in favour of return reason definitions).
RETURN_REASONS = (
    "SIZE_TOO_SMALL",
    "SIZE_TOO_LARGE",
    "UNWANTED",
    "NOT_AS_DESCRIBED",
    "WRONG_ITEM",
    "DEFECTIVE",
    "STYLE",
    "COLOR",
    "OTHER",
    "UNKNOWN",
)
EXCHANGE_HOLD_REASON = "AWAITING_RETURN_ITEMS"

# Shopify's own words (its reference examples, or recorded answers).
NOT_FOUND = "Return not found."
NOT_APPROVABLE = "Return is not approvable. Only returns with status REQUESTED can be approved."
NOT_DECLINABLE = (
    "Return is not declinable. Only non-refunded returns with status REQUESTED can be declined."
)
ALREADY_DECLINED = "The return is already declined."
STATUS_INVALID = "Return status is invalid."
NOT_CANCELABLE = "Return is not cancelable."
NO_LINES = "Return must include at least one line item."
NO_FULFILLMENT_LINE = "Fulfillment line item does not exist."
INVALID_RETURN_QUANTITY = "Return line item has an invalid quantity."
NO_REVERSE_LINE = "Reverse fulfillment order line item was not found."
INVALID_DISPOSE_QUANTITY = "Quantity is invalid."
EMPTY_DISPOSITIONS = "The array cannot be empty."
SEVERAL_REVERSE_ORDERS = "Cannot dispose items from more than one reverse fulfillment order."
CUSTOM_LINE_RESTOCK = "RESTOCKED is an invalid disposition type for a custom line item."
NO_REVERSE_DELIVERY = "Reverse delivery does not exist"
NO_RETURN_LINE = "Return line item does not exist."
REASON_REQUIRED = "Either return reason or return reason definition must be provided"
OTHER_NEEDS_NOTE = 'The note is required when the return reason is "Other"'

# The sandbox's own wording: no Shopify source shows these messages.
SANDBOX_WORDING = {
    "no_order": "Order does not exist.",
    "no_reverse_order": "Reverse fulfillment order does not exist.",
    "reverse_order_not_open": "Reverse fulfillment order is not open.",
    "location_required": "A location is required to restock returned items.",
    "no_location": "Location does not exist.",
    "no_exchange_line": "Exchange line item does not exist.",
    "invalid_exchange_quantity": "Exchange line item has an invalid quantity.",
    "no_variant": "Variant does not exist.",
    "nothing_to_process": "Return line items or exchange line items must be provided.",
    "disposition_elsewhere": "The disposition's reverse fulfillment order line item does not "
    "belong to the return line item.",
    "disposition_exceeds": "Dispositions cannot exceed the quantity processed.",
    "no_parent_transaction": "Parent transaction does not exist.",
    "over_refund": "Refund amount exceeds the amount that can be refunded.",
    "no_reason_definition": "Return reason definition does not exist.",
    "no_exchange_location": "The shop has no location to fulfil the exchange items.",
}

# Built-in return reason definitions, one per ReturnReason value (id = position + 1); a
# shop's own definitions are not modelled.
REASON_DEFINITIONS: dict[int, tuple[str, str]] = {
    i + 1: (reason.lower().replace("_", "-"), reason.replace("_", " ").capitalize())
    for i, reason in enumerate(RETURN_REASONS)
}
# Carriers recognised from a tracking URL's host (reverse delivery tracking carries only a
# number and a URL; Shopify names the carrier itself).
_CARRIERS = (
    ("ups.com", "UPS"),
    ("fedex.com", "FedEx"),
    ("usps.com", "USPS"),
    ("dhl.", "DHL Express"),
    ("canadapost", "Canada Post"),
    ("royalmail", "Royal Mail"),
)


def user_error(path: list[str] | None, message: str, code: str | None) -> UserError:
    return UserError(path, message, code)


def refusal(path: list[str] | None, message: str, code: str | None) -> OrderUserErrors:
    return OrderUserErrors(user_error(path, message, code))


# ----------------------------------------------------------------------------- records
@dataclass
class ReturnLineItem:
    id: int
    fulfillment_id: int
    fulfillment_line_item_id: int
    line_item_id: int
    quantity: int
    return_reason: str
    return_reason_definition_id: int | None
    return_reason_note: str
    customer_note: str | None
    restocking_fee_percentage: float | None = None
    processed_quantity: int = 0

    @property
    def gid(self) -> str:
        return gid("ReturnLineItem", self.id)

    @property
    def processable(self) -> int:
        return self.quantity - self.processed_quantity


@dataclass
class ExchangeLineItem:
    id: int
    variant_id: int
    quantity: int
    processed_quantity: int = 0
    # Order line items made when it was processed.
    line_item_ids: list[int] = field(default_factory=list)

    @property
    def gid(self) -> str:
        return gid("ExchangeLineItem", self.id)

    @property
    def processable(self) -> int:
        return self.quantity - self.processed_quantity


@dataclass
class Disposition:
    id: int
    type: str
    quantity: int
    location_id: int | None
    created_at: str

    @property
    def gid(self) -> str:
        return gid("ReverseFulfillmentOrderDisposition", self.id)


@dataclass
class ReverseFulfillmentOrderLineItem:
    id: int
    return_line_item_id: int
    fulfillment_line_item_id: int
    total_quantity: int
    dispositions: list[Disposition] = field(default_factory=list)

    @property
    def gid(self) -> str:
        return gid("ReverseFulfillmentOrderLineItem", self.id)

    @property
    def disposed(self) -> int:
        return sum(d.quantity for d in self.dispositions)

    @property
    def remaining(self) -> int:
        return self.total_quantity - self.disposed


@dataclass
class ReverseDeliveryLineItem:
    id: int
    reverse_line_item_id: int
    quantity: int

    @property
    def gid(self) -> str:
        return gid("ReverseDeliveryLineItem", self.id)


@dataclass
class ReverseDelivery:
    id: int
    reverse_order_id: int
    created_at: str
    line_items: list[ReverseDeliveryLineItem] = field(default_factory=list)
    tracking_number: str | None = None
    tracking_url: str | None = None
    label_url: str | None = None
    label_created_at: str | None = None
    label_updated_at: str | None = None

    @property
    def gid(self) -> str:
        return gid("ReverseDelivery", self.id)

    @property
    def carrier_name(self) -> str | None:
        host = (urlsplit(self.tracking_url).hostname or "").lower() if self.tracking_url else ""
        return next((name for part, name in _CARRIERS if part in host), None)


@dataclass
class ReverseFulfillmentOrder:
    id: int
    return_id: int
    order_id: int
    status: str = OPEN
    line_items: list[ReverseFulfillmentOrderLineItem] = field(default_factory=list)
    delivery_ids: list[int] = field(default_factory=list)

    @property
    def gid(self) -> str:
        return gid("ReverseFulfillmentOrder", self.id)

    def line(self, line_id: int) -> ReverseFulfillmentOrderLineItem | None:
        return next((x for x in self.line_items if x.id == line_id), None)


@dataclass
class Refund:
    id: int
    amount: Decimal
    note: str | None
    created_at: str

    @property
    def gid(self) -> str:
        return gid("Refund", self.id)


@dataclass
class Return:
    id: int
    order_id: int
    name: str
    status: str
    created_at: str
    updated_at: str
    line_items: list[ReturnLineItem] = field(default_factory=list)
    exchange_line_items: list[ExchangeLineItem] = field(default_factory=list)
    reverse_order_ids: list[int] = field(default_factory=list)
    request_approved_at: str | None = None
    closed_at: str | None = None
    decline_reason: str | None = None
    decline_note: str | None = None
    shipping_fee: Decimal | None = None
    shipping_fee_id: int | None = None
    refunds: list[Refund] = field(default_factory=list)
    # Fulfillment orders of processed exchange items with the hold this return placed.
    exchange_holds: list[tuple[int, int]] = field(default_factory=list)

    @property
    def gid(self) -> str:
        return gid("Return", self.id)

    @property
    def total_quantity(self) -> int:
        return sum(x.quantity for x in self.line_items)

    def line(self, line_id: int) -> ReturnLineItem | None:
        return next((x for x in self.line_items if x.id == line_id), None)

    def exchange_line(self, line_id: int) -> ExchangeLineItem | None:
        return next((x for x in self.exchange_line_items if x.id == line_id), None)

    @property
    def awaiting_items(self) -> bool:
        """Some returned units were not processed yet (not received)."""
        return any(x.processable > 0 for x in self.line_items)

    @property
    def fully_processed(self) -> bool:
        return not self.awaiting_items and all(x.processable == 0 for x in self.exchange_line_items)


# ----------------------------------------------------------------------------- input
def number_of(value: Any, kind: str) -> int | None:
    return parse_gid(value, kind) if isinstance(value, str) else None


def money_of(value: Any) -> Decimal | None:
    if not isinstance(value, dict):
        return None
    try:
        return Decimal(str(value.get("amount")))
    except (InvalidOperation, ValueError):
        return None


def by_id(ret: Return) -> int:
    return ret.id
