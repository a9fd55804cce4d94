# ruff: noqa: E402  (karrio must be silenced before it is first imported)
"""Carriers: rates, labels, voids and tracking, in the bridge's own values: through karrio
for the carriers it covers (UPS), through adapters of our own for the Indian aggregators it
does not (Shiprocket, Clickpost; httpx, async).

Every call takes an :class:`Account` (credentials already opened) and runs karrio's
blocking HTTP in a worker thread. A carrier's refusal is a :class:`CarrierError` with
code ``REFUSED`` naming the carrier's reason; a carrier that cannot be reached is
``UNAVAILABLE``; a purchase whose answer was lost is :class:`OutcomeUnknown`, and
:func:`find_label` says whether it was bought after all (the carrier keeps our reference).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from loguru import logger

# karrio logs requests and answers (credentials among them): never through us.
logger.disable("karrio")

import karrio.sdk as karrio
from karrio.core import models as km

from fulfillbridge.carriers import _clickpost, _karrio, _shiprocket
from fulfillbridge.carriers._clickpost import Clickpost
from fulfillbridge.carriers._label_pdf import label_pdf
from fulfillbridge.carriers._models import (
    Account,
    CarrierError,
    Item,
    Label,
    OutcomeUnknown,
    Parcel,
    Party,
    Rate,
    Shipment,
    Tracking,
)
from fulfillbridge.carriers._shiprocket import Shiprocket
from fulfillbridge.carriers._ups import Ups, charge_of
from fulfillbridge.core.errors import ShippingErrorCode
from fulfillbridge.core.tracking import ParcelEvent

__all__ = [
    "CARRIERS",
    "WEBHOOK_HEADERS",
    "Account",
    "CarrierError",
    "Item",
    "Label",
    "OutcomeUnknown",
    "Parcel",
    "Party",
    "Rate",
    "Shipment",
    "Tracking",
    "buy_label",
    "find_label",
    "rates",
    "track",
    "void_label",
    "webhook_events",
]

Adapter = Shiprocket | Clickpost  # our own, async; the rest go through karrio
CARRIERS: dict[str, Ups | Adapter] = {
    "ups": Ups(),
    "shiprocket": Shiprocket(),
    "clickpost": Clickpost(),
}
# Carriers that push tracking to a webhook, with the header carrying the account's token.
WEBHOOK_HEADERS = {"shiprocket": "x-api-key", "clickpost": "webhook_key"}


def _profile(account: Account) -> Ups | Adapter:
    profile = CARRIERS.get(account.carrier)
    if profile is None:
        raise CarrierError(
            f"carrier {account.carrier!r} is not supported; supported: {', '.join(CARRIERS)}",
            code=ShippingErrorCode.INVALID,
        )
    return profile


def _errors(messages: Any) -> list[Any]:
    return [m for m in messages or [] if getattr(m, "level", "error") == "error"]


async def rates(account: Account, shipment: Shipment) -> list[Rate]:
    """What each service would cost for ``shipment`` (its ``service`` is ignored)."""
    profile = _profile(account)
    if not isinstance(profile, Ups):
        return await profile.rates(account, shipment)

    def call() -> list[Rate]:
        gateway = profile.gateway(account)
        request = km.RateRequest(
            shipper=_karrio.address(shipment.shipper),
            recipient=_karrio.address(shipment.recipient),
            parcels=[_karrio.parcel(shipment)],
            customs=_karrio.customs(shipment),
            reference=shipment.reference,
        )
        details, messages = karrio.Rating.fetch(request).from_(gateway).parse()
        if not details and _errors(messages):
            raise _karrio.refused(_errors(messages), "rate the parcel", profile.key)
        offered = []
        for rate in _karrio.rates_of(details, profile.services):
            # Only services a label can be bought with, each under our name for it.
            name = profile.canonical(rate.service)
            if name is not None:
                offered.append(replace(rate, service=name, name=profile.services[name]))
        return offered

    return await _karrio.in_thread(call)


async def buy_label(account: Account, shipment: Shipment) -> Label:
    """Buy one label. A lost answer raises :class:`OutcomeUnknown`: call
    :func:`find_label` with the same reference before buying again."""
    profile = _profile(account)
    if not shipment.service:
        raise CarrierError("a label needs a service", code=ShippingErrorCode.INVALID)
    if not shipment.reference:
        raise CarrierError("a label needs our reference", code=ShippingErrorCode.INVALID)
    if not isinstance(profile, Ups):
        return await profile.buy_label(account, shipment)

    def call() -> Label:
        gateway = profile.gateway(account)
        request = gateway.mapper.create_shipment_request(_karrio.shipment_request(shipment))
        profile.mark(request, shipment.reference)
        try:
            response = gateway.proxy.create_shipment(request)
        except OSError as exc:
            raise OutcomeUnknown(f"no answer from the carrier after the purchase: {exc}") from exc
        answer = _karrio.decoded(response.value)  # unreadable: the outcome is unknown
        details, messages = gateway.mapper.parse_shipment_response(response)
        if details is None:
            raise _karrio.refused(_errors(messages) or list(messages), "buy the label", profile.key)
        label = _karrio.label_of(details, shipment.label_format)
        if label.amount is None:
            amount, currency = charge_of(answer)
            label = replace(label, amount=amount, currency=currency or label.currency)
        # karrio's PDF of the carrier's image is megabytes of hexadecimal text; the same
        # page from the same image, compressed, is a few tens of KB.
        image = profile.label_image(answer) if label.label_format == "PDF" else None
        return replace(label, label=label_pdf(image)) if image is not None else label

    return await _karrio.in_thread(call)


async def find_label(account: Account, reference: str) -> Label | None:
    """The label bought with our ``reference``, if the carrier has one (not voided)."""
    profile = _profile(account)
    if not isinstance(profile, Ups):
        return await profile.find_label(account, reference)
    ups = profile
    return await _karrio.in_thread(lambda: ups.find(ups.gateway(account), reference))


async def void_label(account: Account, shipment_id: str, *, tracking_number: str = "") -> None:
    """Void (cancel) a bought label; ``shipment_id`` is the label's, as the purchase gave it."""
    profile = _profile(account)
    if not isinstance(profile, Ups):
        await profile.void_label(account, shipment_id, tracking_number or shipment_id)
        return

    def call() -> None:
        gateway = profile.gateway(account)
        request = km.ShipmentCancelRequest(shipment_identifier=shipment_id)
        confirmation, messages = karrio.Shipment.cancel(request).from_(gateway).parse()
        if confirmation is None or not confirmation.success:
            problems = _errors(messages)
            if problems:
                error = _karrio.refused(problems, "void the label", profile.key)
                error.code = ShippingErrorCode.CONFLICT
                raise error
            raise CarrierError(f"{profile.key.upper()} did not confirm the void")

    await _karrio.in_thread(call)


async def track(
    account: Account, tracking_number: str, *, shipment_id: str | None = None
) -> Tracking:
    profile = _profile(account)
    if isinstance(profile, Clickpost):
        return await profile.track(account, tracking_number, shipment_id)
    if isinstance(profile, Shiprocket):
        return await profile.track(account, tracking_number)

    def call() -> Tracking:
        gateway = profile.gateway(account)
        request = km.TrackingRequest(tracking_numbers=[tracking_number])
        details, messages = karrio.Tracking.fetch(request).from_(gateway).parse()
        if not details:
            problems = _errors(messages)
            if problems:
                raise _karrio.refused(problems, "track the parcel", profile.key)
            raise CarrierError(f"no tracking for {tracking_number}")
        return _karrio.tracking_of(details[0])

    return await _karrio.in_thread(call)


def webhook_events(carrier: str, body: object) -> list[ParcelEvent]:
    """The scans a carrier's tracking webhook reports (its body, parsed JSON). A body that
    is not the carrier's shape is a :class:`CarrierError` with code ``INVALID``."""
    if carrier == "shiprocket":
        return _shiprocket.webhook_events(body)
    if carrier == "clickpost":
        return _clickpost.webhook_events(body)
    raise CarrierError(
        f"carrier {carrier!r} sends no tracking webhooks", code=ShippingErrorCode.INVALID
    )
