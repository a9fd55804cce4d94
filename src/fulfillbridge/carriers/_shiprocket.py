"""Shiprocket (apiv2.shiprocket.in/v1/external), an adapter of our own: karrio has no
Shiprocket extension.

A label at Shiprocket is four calls: an adhoc order carrying our reference as its
``order_id``, an AWB assigned to the order's shipment (the step that is charged), a pickup
request, and the label (a link to a PDF). Shiprocket has no idempotency key and a second
adhoc order with the same ``order_id`` is a second order, so a purchase first looks for an
order with our reference and continues it (updated to this try's parcel when an earlier try
was refused before its AWB); a purchase whose answer was lost is found the same way
(:meth:`Shiprocket.find_label`). Tokens come from ``/auth/login`` with the API
user's email and password and are kept per server and user for nine of their ten days.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from fulfillbridge.carriers import _http
from fulfillbridge.carriers._models import (
    Account,
    CarrierError,
    Label,
    OutcomeUnknown,
    Rate,
    Shipment,
    Tracking,
)
from fulfillbridge.core.errors import ShippingErrorCode
from fulfillbridge.core.tracking import ParcelEvent, ParcelStatus

NAME = "Shiprocket"
SERVER = "https://apiv2.shiprocket.in"
API = "/v1/external"
TOKEN_SECONDS = 9 * 86400
AUTO = "shiprocket_auto"
_SERVICE = re.compile(r"^sr_(\d{1,9})$")

# Shiprocket's shipment status codes ("sr-status" on scans, "shipment_status_id" on
# webhooks) in our words. From the codes its tracking examples show; the rest of its table
# as read, and anything not here is UNKNOWN (not passed on).
_STATUS = {
    1: ParcelStatus.LABEL_CREATED,  # AWB assigned
    3: ParcelStatus.LABEL_CREATED,  # pickup requested
    4: ParcelStatus.LABEL_CREATED,  # pickup queued
    5: ParcelStatus.LABEL_CREATED,  # manifest made
    19: ParcelStatus.LABEL_CREATED,  # out for pickup
    42: ParcelStatus.PICKED_UP,
    6: ParcelStatus.IN_TRANSIT,  # shipped
    18: ParcelStatus.IN_TRANSIT,
    38: ParcelStatus.IN_TRANSIT,  # reached destination hub
    48: ParcelStatus.IN_TRANSIT,  # reached warehouse
    17: ParcelStatus.OUT_FOR_DELIVERY,
    21: ParcelStatus.ATTEMPTED_DELIVERY,  # undelivered (an NDR: the courier tried)
    22: ParcelStatus.DELAYED,
    39: ParcelStatus.DELAYED,  # misrouted
    7: ParcelStatus.DELIVERED,
    9: ParcelStatus.FAILURE,  # RTO initiated: going back to the seller
    10: ParcelStatus.FAILURE,  # RTO delivered
    12: ParcelStatus.FAILURE,  # lost
    24: ParcelStatus.FAILURE,  # destroyed
    25: ParcelStatus.FAILURE,  # damaged
    8: ParcelStatus.VOIDED,  # cancelled
    45: ParcelStatus.VOIDED,  # cancelled before dispatch
}


def parcel_status(code: Any) -> ParcelStatus:
    try:
        return _STATUS.get(int(code), ParcelStatus.UNKNOWN)
    except (TypeError, ValueError):
        return ParcelStatus.UNKNOWN


def scans(number: str, rows: Sequence[Mapping[str, Any]], eta: Any) -> list[ParcelEvent]:
    """Scans (tracking activities or a webhook's ``scans``) as our events, oldest first."""
    estimated = _http.local_time(eta)
    out = []
    for row in rows:
        happened = _http.local_time(row.get("date"))
        if happened is None:
            continue
        out.append(
            ParcelEvent(
                tracking_number=number,
                status=parcel_status(row.get("sr-status")),
                happened_at=happened,
                message=str(row.get("activity") or row.get("sr-status-label") or ""),
                city=str(row.get("location") or ""),
                country="IN",
                estimated_delivery_at=estimated,
            )
        )
    return sorted(out, key=lambda e: e.happened_at)


def webhook_events(body: Any) -> list[ParcelEvent]:
    """The scans of one tracking webhook (Shiprocket posts the whole scan list each time)."""
    if not isinstance(body, Mapping):
        raise CarrierError("the webhook body must be a JSON object", code=ShippingErrorCode.INVALID)
    number = body.get("awb")
    rows = body.get("scans")
    if not isinstance(number, str | int) or not str(number).strip():
        raise CarrierError("the webhook names no awb", code=ShippingErrorCode.INVALID)
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise CarrierError(
            "the webhook's scans must be a list of objects", code=ShippingErrorCode.INVALID
        )
    return scans(str(number), rows, body.get("etd"))


def _message(answer: Any, fallback: str) -> str:
    if isinstance(answer, Mapping):
        errors = answer.get("errors")
        if isinstance(errors, Mapping) and errors:
            return "; ".join(
                f"{field}: {' '.join(str(m) for m in (msgs if isinstance(msgs, list) else [msgs]))}"
                for field, msgs in errors.items()
            )
        if answer.get("message"):
            return str(answer["message"])
    return fallback


def _refused(doing: str, answer: Any, code: ShippingErrorCode | None = None) -> CarrierError:
    return CarrierError(
        f"{NAME} refused to {doing}: {_message(answer, 'no reason given')}", code=code
    )


class Shiprocket:
    key = "shiprocket"
    company = NAME  # until an AWB names the courier
    credential_names = ("email", "password")
    services = {AUTO: "the courier Shiprocket recommends", "sr_<courier id>": "that courier"}
    label_formats = ("PDF",)
    default_service = AUTO
    # Shiprocket's own tracking page, for couriers Shopify does not list.
    track_page = "https://shiprocket.co/tracking/{number}"
    _tokens: dict[tuple[str, str], tuple[str, float]] = {}

    def accepts(self, service: str) -> bool:
        return service == AUTO or _SERVICE.match(service) is not None

    def tracking_url(self, number: str) -> str:
        return self.track_page.replace("{number}", quote(number, safe=""))

    # -- plumbing --------------------------------------------------------------------------

    def _server(self, account: Account) -> str:
        return account.base_url or SERVER

    async def _login(self, http: httpx.AsyncClient, account: Account, *, fresh: bool) -> str:
        key = (self._server(account), account.credentials.get("email", ""))
        cached = self._tokens.get(key)
        if cached and not fresh and cached[1] > time.monotonic():
            return cached[0]
        response = await _http.send(
            http,
            "POST",
            f"{API}/auth/login",
            carrier=NAME,
            json={
                "email": account.credentials.get("email", ""),
                "password": account.credentials.get("password", ""),
            },
        )
        answer = _http.body(response, carrier=NAME)
        token = answer.get("token") if isinstance(answer, Mapping) else None
        if response.status_code != 200 or not token:
            raise CarrierError(
                f"{NAME} refused the API user's login: {_message(answer, 'no token')}",
                code=ShippingErrorCode.REFUSED,
            )
        self._tokens[key] = (str(token), time.monotonic() + TOKEN_SECONDS)
        return str(token)

    async def _call(
        self,
        http: httpx.AsyncClient,
        account: Account,
        method: str,
        path: str,
        *,
        purchase: bool = False,
        **kwargs: Any,
    ) -> tuple[int, Any]:
        for fresh in (False, True):
            token = await self._login(http, account, fresh=fresh)
            response = await _http.send(
                http,
                method,
                f"{API}{path}",
                carrier=NAME,
                purchase=purchase,
                headers={"Authorization": f"Bearer {token}"},
                **kwargs,
            )
            if response.status_code != 401:  # a 401 was not processed: log in again once
                break
        if purchase:
            try:
                return response.status_code, _http.body(response, carrier=NAME)
            except CarrierError as exc:  # an unreadable answer to a purchase: maybe bought
                raise OutcomeUnknown(exc.message) from None
        return response.status_code, _http.body(response, carrier=NAME)

    # -- what the carrier layer asks ------------------------------------------------------

    async def rates(self, account: Account, shipment: Shipment) -> list[Rate]:
        parcel = shipment.parcel
        params: dict[str, Any] = {
            "pickup_postcode": shipment.shipper.zip,
            "delivery_postcode": shipment.recipient.zip,
            "weight": round(parcel.weight_grams / 1000, 3),
            "cod": 0,
        }
        if parcel.length_cm and parcel.width_cm and parcel.height_cm:
            params |= {
                "length": parcel.length_cm,
                "breadth": parcel.width_cm,
                "height": parcel.height_cm,
            }
        async with _http.client(self._server(account)) as http:
            status, answer = await self._call(
                http, account, "GET", "/courier/serviceability/", params=params
            )
        couriers = ((answer.get("data") or {}) if isinstance(answer, Mapping) else {}).get(
            "available_courier_companies"
        )
        if status != 200 or answer.get("status") not in (200, None) or not couriers:
            raise _refused("rate the parcel", answer)
        out = []
        for courier in couriers:
            days = str(courier.get("estimated_delivery_days") or "")
            out.append(
                Rate(
                    service=f"sr_{courier['courier_company_id']}",
                    name=str(courier.get("courier_name") or ""),
                    amount=f"{float(courier.get('rate') or 0):.2f}",
                    currency=str(answer.get("currency") or "INR"),
                    transit_days=int(days) if days.isdigit() else None,
                    estimated_delivery=_http.local_time(courier.get("etd")),
                )
            )
        return out

    def _order(self, shipment: Shipment) -> dict[str, Any]:
        to, parcel = shipment.recipient, shipment.parcel
        first, _, last = to.name.partition(" ")
        items: list[dict[str, Any]] = [
            {
                "name": item.title[:255],
                "sku": item.sku or item.title[:50],
                "units": item.quantity,
                "selling_price": item.value,
                "hsn": item.hs_code,
            }
            for item in parcel.items
        ] or [{"name": "Parcel", "sku": "parcel", "units": 1, "selling_price": "0"}]
        total = sum(float(i["selling_price"] or 0) * int(i["units"]) for i in items)
        return {
            "order_id": shipment.reference,
            "order_date": time.strftime("%Y-%m-%d %H:%M"),
            "pickup_location": "",  # filled from the account
            "billing_customer_name": first or to.name,
            "billing_last_name": last,
            "billing_address": to.address1,
            "billing_address_2": to.address2,
            "billing_city": to.city,
            "billing_pincode": to.zip,
            "billing_state": to.province_code,
            "billing_country": "India" if to.country_code.upper() == "IN" else to.country_code,
            "billing_email": to.email,
            "billing_phone": to.phone,
            "shipping_is_billing": True,
            "order_items": items,
            "payment_method": "Prepaid",
            "sub_total": round(total, 2),
            "length": parcel.length_cm or 10,
            "breadth": parcel.width_cm or 10,
            "height": parcel.height_cm or 10,
            "weight": round(parcel.weight_grams / 1000, 3),
        }

    async def _find_order(
        self, http: httpx.AsyncClient, account: Account, reference: str
    ) -> Mapping[str, Any] | None:
        status, answer = await self._call(
            http, account, "GET", "/orders", params={"search": reference}
        )
        if status != 200 or not isinstance(answer, Mapping):
            raise CarrierError(
                f"{NAME} could not list orders: {_message(answer, f'HTTP {status}')}",
                code=ShippingErrorCode.UNAVAILABLE,
            )
        for order in answer.get("data") or []:
            if str(order.get("channel_order_id")) == reference and order.get("status") not in (
                "CANCELED",
                "CANCELLED",
            ):
                return order  # type: ignore[no-any-return]
        return None

    async def _label(
        self,
        http: httpx.AsyncClient,
        account: Account,
        shipment_id: int,
        awb: str,
        courier: str | None,
        amount: Any = None,
    ) -> Label:
        status, answer = await self._call(
            http, account, "POST", "/courier/generate/label", json={"shipment_id": [shipment_id]}
        )
        url = answer.get("label_url") if isinstance(answer, Mapping) else None
        if status != 200 or not answer.get("label_created") or not url:
            raise CarrierError(
                f"{NAME} bought AWB {awb} but made no label: {_message(answer, 'no label_url')}",
                code=ShippingErrorCode.UNAVAILABLE,
            )
        return Label(
            tracking_number=awb,
            shipment_id=str(shipment_id),
            label=await _http.document(http, str(url), carrier=NAME),
            label_format="PDF",
            amount=f"{float(amount):.2f}" if amount not in (None, "") else None,
            currency="INR" if amount not in (None, "") else None,
            company=courier,
        )

    async def buy_label(self, account: Account, shipment: Shipment) -> Label:
        match = _SERVICE.match(shipment.service)
        async with _http.client(self._server(account)) as http:
            order = await self._find_order(http, account, shipment.reference)
            done = ((order or {}).get("shipments") or [{}])[0]
            if order is not None and done.get("awb"):  # bought before: only the label is missing
                return await self._label(
                    http, account, int(done["id"]), str(done["awb"]), done.get("courier")
                )
            # A new order, or the one an earlier refused try left, updated to this parcel.
            body = self._order(shipment)
            body["pickup_location"] = account.account_number or "Primary"
            path = "/orders/create/adhoc" if order is None else "/orders/update/adhoc"
            status, answer = await self._call(http, account, "POST", path, json=body)
            if status != 200 or not answer.get("shipment_id"):
                raise _refused("take the order", answer)
            shipment_id = int(answer["shipment_id"])
            wanted: dict[str, Any] = {"shipment_id": shipment_id}
            if match:
                wanted["courier_id"] = int(match.group(1))
            status, answer = await self._call(
                http, account, "POST", "/courier/assign/awb", purchase=True, json=wanted
            )
            data = (
                ((answer.get("response") or {}).get("data") or {})
                if isinstance(answer, Mapping)
                else {}
            )
            if status != 200 or answer.get("awb_assign_status") != 1 or not data.get("awb_code"):
                reason = data.get("awb_assign_error") or _message(answer, "no AWB assigned")
                raise CarrierError(f"{NAME} refused to assign an AWB: {reason}")
            # The courier is asked to collect; a failed request does not undo the label
            # and can be made again from Shiprocket's panel.
            await self._call(
                http,
                account,
                "POST",
                "/courier/generate/pickup",
                json={"shipment_id": [shipment_id]},
            )
            return await self._label(
                http,
                account,
                shipment_id,
                str(data["awb_code"]),
                data.get("courier_name"),
                data.get("freight_charges") or data.get("applied_rate"),
            )

    async def find_label(self, account: Account, reference: str) -> Label | None:
        async with _http.client(self._server(account)) as http:
            order = await self._find_order(http, account, reference)
            shipments = (order or {}).get("shipments") or []
            if not shipments or not shipments[0].get("awb"):
                return None
            first = shipments[0]
            return await self._label(
                http, account, int(first["id"]), str(first["awb"]), first.get("courier")
            )

    async def void_label(self, account: Account, shipment_id: str, tracking_number: str) -> None:
        async with _http.client(self._server(account)) as http:
            status, answer = await self._call(
                http,
                account,
                "POST",
                "/orders/cancel/shipment/awbs",
                json={"awbs": [tracking_number]},
            )
        if status != 200:
            raise _refused("cancel the shipment", answer, ShippingErrorCode.CONFLICT)

    async def track(self, account: Account, tracking_number: str) -> Tracking:
        async with _http.client(self._server(account)) as http:
            status, answer = await self._call(
                http, account, "GET", f"/courier/track/awb/{quote(tracking_number, safe='')}"
            )
        data = answer.get("tracking_data") if isinstance(answer, Mapping) else None
        if status != 200 or not isinstance(data, Mapping):
            raise _refused("track the parcel", answer)
        if data.get("track_status") != 1:  # no scans yet ("no activities found")
            return Tracking(tracking_number, ParcelStatus.LABEL_CREATED)
        events = scans(
            tracking_number, data.get("shipment_track_activities") or [], data.get("etd")
        )
        latest = events[-1].status if events else ParcelStatus.LABEL_CREATED
        return Tracking(
            tracking_number,
            latest,
            tuple(events),
            _http.local_time(data.get("etd")),
        )
