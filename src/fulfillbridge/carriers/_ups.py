"""UPS through karrio's ``ups`` extension.

karrio's UPS settings choose the server from ``test_mode`` only; the account's base URL
(a local UPS in tests and the demo, or a corporate proxy) is honoured by a settings class
of ours whose ``server_url`` returns it, the one property every UPS call of karrio builds
its URL from. karrio sends our reference as the request's customer context only, so each
package also gets it as a UPS reference number, which UPS's Tracking API finds by
(``/api/track/v1/reference/details/{reference}``); a label found that way is fetched again
with UPS's Label Recovery API.
"""

from __future__ import annotations

import base64
from typing import Any

import attr
import karrio.lib as lib
import karrio.sdk as karrio
from karrio.mappers.ups.settings import Settings as KarrioUpsSettings
from karrio.providers.ups.units import ServiceCode
from karrio.schemas.ups import shipping_request as ups

from fulfillbridge.carriers._karrio import decoded, token_cache
from fulfillbridge.carriers._label_pdf import label_pdf
from fulfillbridge.carriers._models import Account, Label


def charge_of(answer: Any) -> tuple[str | None, str | None]:
    """What UPS charged for a shipment, from its Shipping API answer: the account's
    negotiated total when UPS gives one (what is billed), else the published total.
    (karrio fills no rate from a shipment answer, so the label would have no cost.)"""
    results = ((answer or {}).get("ShipmentResponse") or {}).get("ShipmentResults") or {}
    negotiated = (results.get("NegotiatedRateCharges") or {}).get("TotalCharge") or {}
    published = (results.get("ShipmentCharges") or {}).get("TotalCharges") or {}
    for charge in (negotiated, published):
        value = charge.get("MonetaryValue") if isinstance(charge, dict) else None
        try:
            amount = f"{float(value):.2f}" if value not in (None, "") else None
        except (TypeError, ValueError):
            amount = None
        if amount is not None:
            return amount, str(charge.get("CurrencyCode") or "") or None
    return None, None


@attr.s(auto_attribs=True)
class _Settings(KarrioUpsSettings):
    base_url: str | None = None

    @property
    def server_url(self) -> str:  # type: ignore[override]
        return (self.base_url or "").rstrip("/") or super().server_url


class Ups:
    key = "ups"
    company = "UPS"  # as Shopify names the carrier
    # The services offered, by UPS's own service codes, under karrio's names. karrio names a
    # code by the shipper's country (07 is ups_worldwide_express from the US,
    # ups_worldwide_express_ca from Canada, ups_express in its code table), so rates and
    # purchases go through the code: any of its names is the same service.
    codes = {
        "03": "ups_ground",
        "01": "ups_next_day_air",
        "02": "ups_2nd_day_air",
        "11": "ups_standard",
        "07": "ups_worldwide_express",
        "08": "ups_worldwide_expedited",
        "65": "ups_worldwide_saver",
    }
    services = {
        "ups_ground": "UPS Ground",
        "ups_next_day_air": "UPS Next Day Air",
        "ups_2nd_day_air": "UPS 2nd Day Air",
        "ups_standard": "UPS Standard",
        "ups_worldwide_express": "UPS Worldwide Express",
        "ups_worldwide_expedited": "UPS Worldwide Expedited",
        "ups_worldwide_saver": "UPS Worldwide Saver",
    }
    credential_names = ("client_id", "client_secret")
    label_formats = ("PDF", "ZPL")
    default_service: str | None = None

    def canonical(self, service: str) -> str | None:
        """Our name for ``service`` (any of karrio's names for the code, or the code), or
        None for a service not offered."""
        try:
            code = str(ServiceCode.map(service.strip()).value_or_key)
        except (KeyError, ValueError, AttributeError):
            return None
        return self.codes.get(code)

    def accepts(self, service: str) -> bool:
        return self.canonical(service) is not None

    def tracking_url(self, number: str) -> str | None:
        return None  # Shopify links UPS numbers itself

    def gateway(self, account: Account) -> Any:
        settings = _Settings(
            client_id=account.credentials.get("client_id", ""),
            client_secret=account.credentials.get("client_secret", ""),
            account_number=account.account_number or None,
            test_mode=account.test_mode,
            base_url=account.base_url,
        )
        return karrio.gateway["ups"].create(settings, cache=token_cache(settings.server_url))

    def mark(self, request: Any, reference: str) -> None:
        """Put our reference on every package (UPS keeps it and tracks by it)."""
        shipment = request.value.ShipmentRequest.Shipment
        packages = shipment.Package if isinstance(shipment.Package, list) else [shipment.Package]
        for package in packages:
            package.ReferenceNumber = ups.ReferenceNumberType(Code="02", Value=reference[:35])

    def label_image(self, answer: Any) -> bytes | None:
        """The label image UPS sent for a one-package shipment (a GIF), or None when it
        sent a printer language (ZPL) or several packages (karrio's PDF is kept then)."""
        results = ((answer or {}).get("ShipmentResponse") or {}).get("ShipmentResults") or {}
        packages = results.get("PackageResults") or []
        packages = packages if isinstance(packages, list) else [packages]
        if len(packages) != 1:
            return None
        label = packages[0].get("ShippingLabel") or {}
        kind = str((label.get("ImageFormat") or {}).get("Code") or "").upper()
        if kind not in ("GIF", "PNG") or not label.get("GraphicImage"):
            return None
        return base64.b64decode(str(label["GraphicImage"]))

    def find(self, gateway: Any, reference: str) -> Label | None:
        server = gateway.settings.server_url
        token = gateway.proxy.get_token()
        headers = {"authorization": f"Bearer {token}", "content-Type": "application/json"}
        answer = decoded(
            lib.request(
                url=f"{server}/api/track/v1/reference/details/{reference}",
                method="GET",
                headers={**headers, "transId": reference[:32], "transactionSrc": "fulfillbridge"},
            )
        )
        shipments = (answer.get("trackResponse") or {}).get("shipment") or []
        packages = [p for s in shipments for p in s.get("package") or []]
        if not packages:
            return None
        number = str(packages[0]["trackingNumber"])
        recovered = decoded(
            lib.request(
                url=f"{server}/api/labels/v1/recovery",
                method="POST",
                headers=headers,
                data=lib.to_json({"LabelRecoveryRequest": {"TrackingNumber": number}}),
            )
        )
        result = recovered.get("LabelRecoveryResponse") or {}
        image = (result.get("LabelResults") or {}).get("LabelImage") or {}
        fmt = str((image.get("LabelImageFormat") or {}).get("Code") or "GIF").upper()
        raw = str(image.get("GraphicImage") or "")
        label = base64.b64decode(raw) if fmt == "ZPL" else label_pdf(base64.b64decode(raw))
        return Label(
            tracking_number=number,
            shipment_id=str(result.get("ShipmentIdentificationNumber") or number),
            label=label,
            label_format="ZPL" if fmt == "ZPL" else "PDF",
        )
