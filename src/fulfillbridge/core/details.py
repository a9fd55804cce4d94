"""What the operation needs to make and ship an order, beyond lines and addresses.

A work order carries, per line, the product it is (variant, options, image), how it is to be
personalised (the line's properties: engraving text, artwork URL, a customiser's recipe id),
its price and its customs data; and, per order, the notes, the delivery method the customer
paid for, the deadlines and the payment state. These values are copied from Shopify and
re-read whenever Shopify's news is applied, so the operation always sees the merchant's
latest version. Pure values: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

# (key, value) pairs in Shopify's order; keys starting with "_" are a storefront app's own and
# are kept like any other (a customiser's recipe id often is one).
Pairs = tuple[tuple[str, str], ...]

# Bounds on what one property may hold, so a hostile storefront cannot bloat a work order:
# longer values are cut (and flagged), further properties dropped (and flagged).
MAX_PROPERTY_VALUE = 4000
MAX_PROPERTIES = 100


class PaymentState(StrEnum):
    PAID = "paid"  # paid, authorised (captured on fulfilment) or partly refunded
    PENDING = "pending"  # cash on delivery, net terms, a bank transfer still to come
    NOT_PAYABLE = "not_payable"  # voided, expired or refunded in full
    UNKNOWN = "unknown"  # the store does not say (e.g. the field was not read)


class DeliveryKind(StrEnum):
    SHIPPING = "shipping"
    PICKUP = "pickup"
    LOCAL = "local"
    NONE = "none"  # nothing to deliver (digital goods, services)
    OTHER = "other"


@dataclass(frozen=True)
class Delivery:
    """How the customer asked to receive the order, and what the operation ships it with."""

    kind: DeliveryKind = DeliveryKind.SHIPPING
    presented_name: str = ""  # what the customer chose at checkout ("Express")
    service_code: str = ""
    shipping_title: str = ""
    shipping_code: str = ""
    min_delivery_at: datetime | None = None
    max_delivery_at: datetime | None = None
    # Decided by core.shipping from the store's rules: the operation's carrier and service.
    carrier: str | None = None
    carrier_service: str | None = None
    mapping_rule: str | None = None  # the rule that matched, or "default", or None


@dataclass(frozen=True)
class Hold:
    """A hold on the fulfillment order in Shopify."""

    reason: str  # Shopify's reason code, e.g. HIGH_RISK_OF_FRAUD
    display_reason: str = ""
    notes: str = ""
    held_by: str = "merchant"  # "fulfillbridge" (ours), an app's title, or "merchant"

    @property
    def ours(self) -> bool:
        return self.held_by == HELD_BY_US

    def describe(self) -> str:
        text = self.display_reason or self.reason
        if self.notes:
            text = f"{text}: {self.notes}"
        return f"{text} (held by {self.held_by})"


HELD_BY_US = "fulfillbridge"


@dataclass(frozen=True)
class OrderDetails:
    note: str = ""
    note_attributes: Pairs = ()
    tags: tuple[str, ...] = ()
    email: str | None = None
    phone: str | None = None
    # False when the store did not grant read_customers: email and phone were not read.
    customer_read: bool = True
    currency: str = ""
    payment: PaymentState = PaymentState.UNKNOWN
    financial_status: str = ""  # Shopify's own word, shown as is
    delivery: Delivery = field(default_factory=Delivery)
    fulfill_by: datetime | None = None  # the deadline
    fulfill_at: datetime | None = None  # when scheduled work opens
    # Configured metafields ("namespace.key" -> value, metaobjects as their fields), per owner.
    metafields: dict[str, Any] = field(default_factory=dict)
    # What could not be read as it is, in words (a property cut short, a deleted metaobject).
    warnings: tuple[str, ...] = ()


def _valid_text(value: str) -> str:
    """``value`` with what cannot be encoded as UTF-8 (lone surrogates a storefront let
    through as JSON escapes) replaced by U+FFFD."""
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)


def bounded_pairs(raw: list[tuple[str, str]], what: str) -> tuple[Pairs, list[str]]:
    """``raw`` within the bounds above, and a warning for each thing cut."""
    warnings: list[str] = []
    kept: list[tuple[str, str]] = []
    for key, value in raw[:MAX_PROPERTIES]:
        clean = _valid_text(value)
        if clean != value:
            warnings.append(
                f"{what} {key!r} held characters that are not text; replaced with \ufffd"
            )
            value = clean
        key = _valid_text(key)
        if len(value) > MAX_PROPERTY_VALUE:
            warnings.append(
                f"{what} {key!r} is {len(value)} characters long; the first "
                f"{MAX_PROPERTY_VALUE} are kept"
            )
            value = value[:MAX_PROPERTY_VALUE]
        kept.append((key[:255], value))
    if len(raw) > MAX_PROPERTIES:
        warnings.append(f"{len(raw)} {what} entries; the first {MAX_PROPERTIES} are kept")
    return tuple(kept), warnings
