"""The carrier layer on karrio: our values to karrio's unified models and back, and the
calls, run in a worker thread (karrio's HTTP is blocking).

Each carrier karrio supports differs in a few places this module cannot hide: how its
gateway is pointed at a server of our choosing, how a purchase is marked with our
reference and found again, how a lost label is fetched. Those live in the carrier's
profile (``_ups.py``); everything else is shared here.

OAuth tokens are kept in a karrio cache per carrier server for the process, so calls do
not ask for a new token each time.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from karrio.core import models as km
from karrio.core.utils.caching import Cache
from loguru import logger

from fulfillbridge.carriers._models import (
    CarrierError,
    Label,
    OutcomeUnknown,
    Party,
    Rate,
    Shipment,
    Tracking,
)
from fulfillbridge.core.errors import ShippingErrorCode
from fulfillbridge.core.tracking import ParcelEvent, ParcelStatus

# karrio logs requests and answers (credentials among them) at debug level: never ours.
logger.disable("karrio")

T = TypeVar("T")
_TOKENS: dict[str, Cache] = {}


def token_cache(server: str) -> Cache:
    """The token cache for one carrier server (karrio keys tokens by credentials only)."""
    return _TOKENS.setdefault(server, Cache())


# karrio's unified tracking statuses (TrackerStatus names) in our words.
_STATUS = {
    "pending": ParcelStatus.LABEL_CREATED,
    "picked_up": ParcelStatus.PICKED_UP,
    "in_transit": ParcelStatus.IN_TRANSIT,
    "out_for_delivery": ParcelStatus.OUT_FOR_DELIVERY,
    "ready_for_pickup": ParcelStatus.OUT_FOR_DELIVERY,
    "on_hold": ParcelStatus.DELAYED,
    "delivery_delayed": ParcelStatus.DELAYED,
    "delivered": ParcelStatus.DELIVERED,
    "delivery_failed": ParcelStatus.FAILURE,
    "return_to_sender": ParcelStatus.FAILURE,
    "cancelled": ParcelStatus.VOIDED,
}


def parcel_status(karrio_status: str | None, description: str = "") -> ParcelStatus:
    """Our status for karrio's; an exception that says the driver tried is an attempt."""
    status = _STATUS.get(karrio_status or "", ParcelStatus.UNKNOWN)
    if status is ParcelStatus.DELAYED and "attempt" in description.lower():
        return ParcelStatus.ATTEMPTED_DELIVERY
    return status


def address(party: Party) -> km.Address:
    return km.Address(
        person_name=party.name or None,
        company_name=party.company or None,
        address_line1=party.address1,
        address_line2=party.address2 or None,
        city=party.city,
        state_code=party.province_code or None,
        postal_code=party.zip or None,
        country_code=party.country_code.upper(),
        phone_number=party.phone or None,
        email=party.email or None,
    )


def parcel(shipment: Shipment) -> km.Parcel:
    p = shipment.parcel
    dims = {}
    if p.length_cm and p.width_cm and p.height_cm:
        dims = {
            "length": p.length_cm,
            "width": p.width_cm,
            "height": p.height_cm,
            "dimension_unit": "CM",
        }
    return km.Parcel(
        weight=round(p.weight_grams / 1000, 3),
        weight_unit="KG",
        **dims,  # type: ignore[arg-type]
    )


def customs(shipment: Shipment) -> km.Customs | None:
    if not shipment.international or not shipment.parcel.items:
        return None
    return km.Customs(
        commodities=[
            km.Commodity(
                sku=item.sku or None,
                title=item.title[:35],
                description=item.title[:35],
                quantity=item.quantity,
                weight=round(item.weight_grams / 1000, 3),
                weight_unit="KG",
                value_amount=float(item.value),
                value_currency=item.currency,
                hs_code=item.hs_code or None,
                origin_country=item.origin_country or None,
            )
            for item in shipment.parcel.items
        ],
        content_type="merchandise",
        incoterm="DDU",
        commercial_invoice=True,
        certify=True,
        signer=shipment.shipper.name or shipment.shipper.company,
    )


def shipment_request(shipment: Shipment) -> km.ShipmentRequest:
    return km.ShipmentRequest(
        service=shipment.service,
        shipper=address(shipment.shipper),
        recipient=address(shipment.recipient),
        parcels=[parcel(shipment)],
        customs=customs(shipment),
        reference=shipment.reference,
        label_type=shipment.label_format,
        options={"paperless_trade": True} if customs(shipment) is not None else {},
    )


def refused(messages: list[Any], doing: str, carrier: str) -> CarrierError:
    first = messages[0]
    text = "; ".join(str(m.message) for m in messages if m.message) or "no reason given"
    return CarrierError(
        f"{carrier.upper()} refused to {doing}: {text}", carrier_code=str(first.code or "")
    )


def _when(date: str | None) -> datetime | None:
    if not date:
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(date, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def rates_of(details: list[Any], names: dict[str, str]) -> list[Rate]:
    out = []
    for rate in details:
        out.append(
            Rate(
                service=str(rate.service),
                name=names.get(str(rate.service), str(rate.service)),
                amount=f"{float(rate.total_charge or 0):.2f}",
                currency=str(rate.currency or ""),
                transit_days=rate.transit_days,
                estimated_delivery=_when(rate.estimated_delivery),
            )
        )
    return out


def label_of(details: Any, wanted_format: str) -> Label:
    docs = details.docs
    raw = docs.label or ""
    extra = [d for d in (docs.extra_documents or []) if getattr(d, "category", "") == "invoice"]
    invoice = docs.invoice or (extra[0].base64 if extra else None)
    return Label(
        tracking_number=str(details.tracking_number),
        shipment_id=str(details.shipment_identifier or details.tracking_number),
        label=base64.b64decode(raw),
        label_format=details.label_type or wanted_format,
        customs_form=base64.b64decode(invoice) if invoice else None,
        amount=(
            f"{float(details.selected_rate.total_charge):.2f}" if details.selected_rate else None
        ),
        currency=details.selected_rate.currency if details.selected_rate else None,
    )


def tracking_of(details: Any) -> Tracking:
    events = []
    eta = _when(details.estimated_delivery)
    for event in details.events or []:
        happened = _when(event.timestamp) or _when(f"{event.date} {event.time or '00:00'}:00")
        if happened is None:
            continue
        events.append(
            ParcelEvent(
                tracking_number=str(details.tracking_number),
                status=parcel_status(event.status, event.description or ""),
                happened_at=happened,
                message=str(event.description or ""),
                city=str(event.location or ""),
                estimated_delivery_at=eta,
            )
        )
    latest = max(events, key=lambda e: e.happened_at) if events else None
    return Tracking(
        tracking_number=str(details.tracking_number),
        status=latest.status if latest else parcel_status(details.status),
        events=tuple(sorted(events, key=lambda e: e.happened_at)),
        estimated_delivery_at=eta,
    )


async def in_thread(call: Callable[[], T]) -> T:
    try:
        return await asyncio.to_thread(call)
    except CarrierError:
        raise
    except OSError as exc:  # connection refused, reset, timed out
        raise CarrierError(
            f"the carrier could not be reached: {exc}", code=ShippingErrorCode.UNAVAILABLE
        ) from exc


def decoded(body: Any) -> Any:
    """A carrier's answer body as JSON; a body that is not (a proxy's error page) means the
    answer was lost on the way."""
    if isinstance(body, dict | list):
        return body
    try:
        return json.loads(body)
    except (TypeError, ValueError):
        raise OutcomeUnknown(
            "the carrier's answer was lost on the way (no readable answer came back)"
        ) from None
