"""What the carrier layer takes and gives: plain values, no carrier's shapes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from fulfillbridge.core.errors import FulfillbridgeError, ShippingErrorCode
from fulfillbridge.core.tracking import ParcelEvent, ParcelStatus


class CarrierError(FulfillbridgeError):
    """The carrier said no (``REFUSED``: a weight, an address, a void too late) or could not
    be asked (``UNAVAILABLE``). ``carrier_code`` is the carrier's own error code."""

    default_code = ShippingErrorCode.REFUSED

    def __init__(
        self,
        message: str,
        *,
        code: ShippingErrorCode | None = None,
        carrier_code: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.carrier_code = carrier_code


class OutcomeUnknown(CarrierError):
    """A purchase was sent but no answer came back: the carrier may have bought the label.
    Look it up (:func:`find_label`) before buying again."""

    default_code = ShippingErrorCode.UNAVAILABLE


@dataclass(frozen=True)
class Account:
    """One carrier account: which carrier, its credentials (opened from their seal only
    for the call), the account number, and where its API is (None: the carrier's own
    production or test server, by ``test_mode``)."""

    carrier: str  # the carrier layer's key ("ups")
    credentials: Mapping[str, str]
    account_number: str = ""
    base_url: str | None = None
    test_mode: bool = False

    def __repr__(self) -> str:
        return (
            f"Account(carrier={self.carrier!r}, base_url={self.base_url!r}, <credentials hidden>)"
        )


@dataclass(frozen=True)
class Party:
    name: str
    address1: str
    city: str
    country_code: str
    zip: str = ""
    province_code: str = ""
    address2: str = ""
    company: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class Item:
    """One line of a parcel, for customs."""

    title: str
    quantity: int
    weight_grams: float
    value: str  # a decimal, per unit
    currency: str
    hs_code: str = ""
    origin_country: str = ""
    sku: str = ""


@dataclass(frozen=True)
class Parcel:
    weight_grams: float
    length_cm: float | None = None
    width_cm: float | None = None
    height_cm: float | None = None
    items: tuple[Item, ...] = ()


@dataclass(frozen=True)
class Shipment:
    """A label to rate or buy: from, to, one parcel, the service, and our reference (which
    the carrier keeps, so a purchase can be found again)."""

    shipper: Party
    recipient: Party
    parcel: Parcel
    service: str = ""  # the carrier layer's service code; empty: every service (rates)
    reference: str = ""
    label_format: str = "PDF"  # PDF or ZPL, 4x6 in

    @property
    def international(self) -> bool:
        return self.shipper.country_code.upper() != self.recipient.country_code.upper()


@dataclass(frozen=True)
class Rate:
    service: str
    name: str
    amount: str  # a decimal
    currency: str
    transit_days: int | None = None
    estimated_delivery: datetime | None = None


@dataclass(frozen=True)
class Label:
    tracking_number: str
    shipment_id: str  # what voiding names
    label: bytes
    label_format: str  # PDF or ZPL
    customs_form: bytes | None = None
    amount: str | None = None
    currency: str | None = None
    # The courier that carries the parcel, when the carrier is an aggregator that assigns
    # one (Shiprocket: "Delhivery Surface"); None: the carrier itself.
    company: str | None = None


@dataclass(frozen=True)
class Tracking:
    tracking_number: str
    status: ParcelStatus
    events: tuple[ParcelEvent, ...] = field(default_factory=tuple)
    estimated_delivery_at: datetime | None = None
