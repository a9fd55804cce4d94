"""Clickpost (www.clickpost.in), an adapter of our own: karrio has no Clickpost extension.

Clickpost places the order with a courier partner (``cp_id``) and answers with the
courier's waybill and a link to its label, in one call (``/api/v3/create-order/``). The
username and API key travel as query parameters. Clickpost refuses a second order with the
same ``reference_number`` (its error 323), so buying again with our reference is itself the
look-up after a lost answer: the refusal names the waybill already placed. The reference
must be Code 39 (capitals, digits, ``-``), so ours is sent upper-cased.

Services are ``cp_<courier partner id>``; the serviceability API is asked first, which
refuses pincodes no courier serves and names the courier account (its ``account_code``,
for example "Delhivery Surface") that the shipment goes to Shopify under.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

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

NAME = "Clickpost"
SERVER = "https://www.clickpost.in"
ALREADY_PLACED = 323
ALREADY_CANCELLED = 600
_SERVICE = re.compile(r"^cp_(\d{1,9})$")

# Clickpost's unified status codes (clickpost_status_code), as its documentation lists them.
_STATUS = {
    1: ParcelStatus.LABEL_CREATED,  # order placed / manifested
    2: ParcelStatus.LABEL_CREATED,  # pickup pending
    25: ParcelStatus.LABEL_CREATED,  # out for pickup
    28: ParcelStatus.LABEL_CREATED,  # AWB registered
    4: ParcelStatus.PICKED_UP,
    5: ParcelStatus.IN_TRANSIT,
    6: ParcelStatus.OUT_FOR_DELIVERY,
    9: ParcelStatus.ATTEMPTED_DELIVERY,  # failed delivery: the courier tried
    18: ParcelStatus.DELAYED,  # delayed or misrouted
    19: ParcelStatus.DELAYED,  # contact customer care
    20: ParcelStatus.DELAYED,  # held
    8: ParcelStatus.DELIVERED,
    7: ParcelStatus.FAILURE,  # not serviceable
    11: ParcelStatus.FAILURE,  # RTO requested
    12: ParcelStatus.FAILURE,  # RTO
    13: ParcelStatus.FAILURE,
    14: ParcelStatus.FAILURE,
    15: ParcelStatus.FAILURE,
    16: ParcelStatus.FAILURE,  # lost
    17: ParcelStatus.FAILURE,  # damaged
    21: ParcelStatus.FAILURE,  # RTO in transit
    26: ParcelStatus.FAILURE,
    27: ParcelStatus.FAILURE,
    10: ParcelStatus.VOIDED,  # order cancelled
}


def parcel_status(code: Any) -> ParcelStatus:
    try:
        return _STATUS.get(int(code), ParcelStatus.UNKNOWN)
    except (TypeError, ValueError):
        return ParcelStatus.UNKNOWN


def _event(number: str, scan: Mapping[str, Any], eta: datetime | None) -> ParcelEvent | None:
    happened = _http.local_time(scan.get("timestamp"))
    if happened is None:
        return None
    return ParcelEvent(
        tracking_number=number,
        status=parcel_status(scan.get("clickpost_status_code")),
        happened_at=happened,
        message=str(scan.get("remark") or scan.get("status") or ""),
        city=str(scan.get("location") or ""),
        country="IN",
        estimated_delivery_at=eta,
    )


def webhook_events(body: Any) -> list[ParcelEvent]:
    """The scan one status webhook reports (Clickpost posts one per courier update)."""
    if not isinstance(body, Mapping):
        raise CarrierError("the webhook body must be a JSON object", code=ShippingErrorCode.INVALID)
    number = body.get("waybill")
    if not isinstance(number, str | int) or not str(number).strip():
        raise CarrierError("the webhook names no waybill", code=ShippingErrorCode.INVALID)
    if body.get("clickpost_status_code") is None or not body.get("timestamp"):
        raise CarrierError(
            "the webhook needs clickpost_status_code and timestamp",
            code=ShippingErrorCode.INVALID,
        )
    additional = body.get("additional") if isinstance(body.get("additional"), Mapping) else {}
    event = _event(str(number), body, _http.local_time((additional or {}).get("edd")))
    if event is None:
        raise CarrierError(
            f"the webhook's timestamp {body.get('timestamp')!r} is not a time",
            code=ShippingErrorCode.INVALID,
        )
    return [event]


def _meta(answer: Any) -> Mapping[str, Any]:
    meta = answer.get("meta") if isinstance(answer, Mapping) else None
    return meta if isinstance(meta, Mapping) else {}


def _refused(doing: str, answer: Any, code: ShippingErrorCode | None = None) -> CarrierError:
    meta = _meta(answer)
    return CarrierError(
        f"{NAME} refused to {doing}: {meta.get('message') or 'no reason given'}",
        code=code,
        carrier_code=str(meta.get("status") or ""),
    )


def courier_partner(shipment_id: str | None) -> tuple[str, str]:
    """The courier partner and waybill a label keeps as its shipment id (``4:WAYBILL``)."""
    cp_id, _, waybill = (shipment_id or "").partition(":")
    return cp_id, waybill


class Clickpost:
    key = "clickpost"
    company = NAME  # until the serviceability answer names the courier
    credential_names = ("username", "key")
    services = {"cp_<courier partner id>": "that courier partner"}
    label_formats = ("PDF",)
    default_service: str | None = None
    track_page: str | None = None  # Clickpost's tracking pages are each merchant's own

    def accepts(self, service: str) -> bool:
        return _SERVICE.match(service) is not None

    def tracking_url(self, number: str) -> str | None:
        return None

    def _server(self, account: Account) -> str:
        return account.base_url or SERVER

    def _auth(self, account: Account) -> dict[str, str]:
        return {
            "username": account.credentials.get("username", ""),
            "key": account.credentials.get("key", ""),
        }

    async def _call(
        self,
        http: httpx.AsyncClient,
        account: Account,
        method: str,
        path: str,
        *,
        purchase: bool = False,
        params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        response = await _http.send(
            http,
            method,
            path,
            carrier=NAME,
            purchase=purchase,
            params={**self._auth(account), **(params or {})},
            **kwargs,
        )
        try:
            answer = _http.body(response, carrier=NAME)
        except CarrierError as exc:
            if purchase:
                raise OutcomeUnknown(exc.message) from None
            raise
        if response.status_code in (401, 403) or _meta(answer).get("status") == 301:
            raise CarrierError(
                f"{NAME} refused the account's username and key: "
                f"{_meta(answer).get('message') or 'authentication failed'}",
                code=ShippingErrorCode.REFUSED,
            )
        return answer

    async def _serviceable(
        self, http: httpx.AsyncClient, account: Account, shipment: Shipment, cp_id: int | None
    ) -> list[Mapping[str, Any]]:
        parcel = shipment.parcel
        optional: dict[str, Any] = {
            "weight": round(parcel.weight_grams),
            "invoice_value": sum(float(i.value) * i.quantity for i in parcel.items) or 1,
            "order_type": "PREPAID",
        }
        if parcel.length_cm and parcel.width_cm and parcel.height_cm:
            optional |= {
                "length": round(parcel.length_cm),
                "breadth": round(parcel.width_cm),
                "height": round(parcel.height_cm),
            }
        if cp_id is not None:
            optional["cp_id"] = cp_id
        answer = await self._call(
            http,
            account,
            "POST",
            "/api/v1/serviceability_api/",
            json=[
                {
                    "pickup_pincode": shipment.shipper.zip,
                    "drop_pincode": shipment.recipient.zip,
                    "optional": optional,
                }
            ],
        )
        if not _meta(answer).get("success"):
            raise _refused("check the pincodes", answer)
        usable = [
            row
            for row in answer.get("result") or []
            if (row.get("serviceable") or {}).get("PREPAID")
        ]
        if not usable:
            raise CarrierError(
                f"{NAME}: no courier partner delivers from pincode {shipment.shipper.zip} to "
                f"pincode {shipment.recipient.zip}"
                + (f" with courier partner {cp_id}" if cp_id is not None else ""),
            )
        return usable

    async def rates(self, account: Account, shipment: Shipment) -> list[Rate]:
        async with _http.client(self._server(account)) as http:
            rows = await self._serviceable(http, account, shipment, None)
        out = []
        for row in rows:
            charge = (row.get("shipping_charge") or {}).get("PREPAID")
            sla = row.get("comitted_sla")
            out.append(
                Rate(
                    service=f"cp_{row['cp_id']}",
                    name=str(row.get("account_code") or f"courier partner {row['cp_id']}"),
                    amount=f"{float(charge):.2f}" if charge is not None else "",
                    currency="INR",
                    transit_days=int(sla) if isinstance(sla, int | float) else None,
                )
            )
        return out

    def _order(self, shipment: Shipment, cp_id: int, account_code: str | None) -> dict[str, Any]:
        start, to, parcel = shipment.shipper, shipment.recipient, shipment.parcel
        items: list[dict[str, Any]] = [
            {
                "price": float(i.value),
                "description": i.title[:100],
                "sku": i.sku or i.title[:50],
                "quantity": i.quantity,
            }
            for i in parcel.items
        ] or [{"price": 1, "description": "Parcel", "sku": "PARCEL", "quantity": 1}]
        value = round(sum(i["price"] * i["quantity"] for i in items), 2)
        additional: dict[str, Any] = {"label": True, "delivery_type": "FORWARD", "async": False}
        if account_code:
            additional["account_code"] = account_code
        return {
            "pickup_info": {
                "pickup_name": start.name or start.company,
                "pickup_phone": start.phone,
                "pickup_address": " ".join(p for p in (start.address1, start.address2) if p),
                "pickup_city": start.city,
                "pickup_state": start.province_code,
                "pickup_country": start.country_code.upper(),
                "pickup_pincode": start.zip,
                "pickup_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "email": start.email,
            },
            "drop_info": {
                "drop_name": to.name,
                "drop_phone": to.phone,
                "drop_address": " ".join(p for p in (to.address1, to.address2) if p),
                "drop_city": to.city,
                "drop_state": to.province_code,
                "drop_country": to.country_code.upper(),
                "drop_pincode": to.zip,
                "drop_email": to.email,
            },
            "shipment_details": {
                "reference_number": shipment.reference.upper(),
                "order_type": "PREPAID",
                "cod_value": 0,
                "invoice_value": value,
                "invoice_number": shipment.reference.upper(),
                "invoice_date": datetime.now(UTC).strftime("%Y-%m-%d"),
                "weight": round(parcel.weight_grams),
                "length": round(parcel.length_cm or 10),
                "breadth": round(parcel.width_cm or 10),
                "height": round(parcel.height_cm or 10),
                "items": items,
                "courier_partner": cp_id,
            },
            "additional": additional,
        }

    async def buy_label(self, account: Account, shipment: Shipment) -> Label:
        match = _SERVICE.match(shipment.service)
        if match is None:
            raise CarrierError(
                f"{NAME} needs a courier partner: service cp_<id>, not {shipment.service!r}",
                code=ShippingErrorCode.INVALID,
            )
        cp_id = int(match.group(1))
        async with _http.client(self._server(account)) as http:
            (row,) = (await self._serviceable(http, account, shipment, cp_id))[:1]
            courier = str(row.get("account_code") or "") or None
            answer = await self._call(
                http,
                account,
                "POST",
                "/api/v3/create-order/",
                purchase=True,
                json=self._order(shipment, cp_id, account.account_number or None),
            )
            meta, result = _meta(answer), answer.get("result") or {}
            if not meta.get("success") and meta.get("status") != ALREADY_PLACED:
                raise _refused("place the order", answer)
            waybill, link = result.get("waybill"), result.get("label")
            if not waybill or not link:
                # Placed (now or before) but the answer does not say where: it cannot be
                # fetched from here, and buying again would be refused as a duplicate.
                raise CarrierError(
                    f"{NAME} has an order with reference {shipment.reference.upper()} but did "
                    "not return its waybill and label: find it in Clickpost's dashboard",
                    code=ShippingErrorCode.UNAVAILABLE,
                )
            return Label(
                tracking_number=str(waybill),
                shipment_id=f"{cp_id}:{waybill}",
                label=await _http.document(http, str(link), carrier=NAME),
                label_format="PDF",
                company=courier,
            )

    async def find_label(self, account: Account, reference: str) -> Label | None:
        # Buying again is the look-up: Clickpost answers a repeated reference with the
        # order already placed (see the module's docstring).
        return None

    async def void_label(self, account: Account, shipment_id: str, tracking_number: str) -> None:
        cp_id, waybill = courier_partner(shipment_id)
        async with _http.client(self._server(account)) as http:
            answer = await self._call(
                http,
                account,
                "GET",
                "/api/v1/cancel-order/",
                params={"waybill": waybill or tracking_number, "cp_id": cp_id},
            )
        meta = _meta(answer)
        if not meta.get("success") and meta.get("status") != ALREADY_CANCELLED:
            raise _refused("cancel the shipment", answer, ShippingErrorCode.CONFLICT)

    async def track(
        self, account: Account, tracking_number: str, shipment_id: str | None
    ) -> Tracking:
        cp_id, _ = courier_partner(shipment_id)
        async with _http.client(self._server(account)) as http:
            answer = await self._call(
                http,
                account,
                "GET",
                "/api/v2/track-order/",
                params={"waybill": tracking_number, "cp_id": cp_id},
            )
        record = (
            (answer.get("result") or {}).get(tracking_number)
            if isinstance(answer, Mapping)
            else None
        )
        if not _meta(answer).get("success") or not isinstance(record, Mapping):
            raise _refused("track the parcel", answer)
        if not record.get("valid", True):
            raise CarrierError(f"{NAME} does not know waybill {tracking_number}")
        additional = (
            record.get("additional") if isinstance(record.get("additional"), Mapping) else {}
        )
        eta = _http.local_time((additional or {}).get("edd"))
        events = sorted(
            (e for s in record.get("scans") or [] if (e := _event(tracking_number, s, eta))),
            key=lambda e: e.happened_at,
        )
        latest = events[-1].status if events else ParcelStatus.LABEL_CREATED
        return Tracking(tracking_number, latest, tuple(events), eta)
