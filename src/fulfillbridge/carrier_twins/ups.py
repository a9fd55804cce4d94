"""A local UPS: the parts of the UPS REST APIs (OAuth, Rating, Shipping, Void, Label
Recovery, Tracking by number and by reference) that the bridge's carrier layer calls, so
tests run without the internet.

Behaviour follows UPS's developer documentation: a client-credentials token from
``/security/v1/oauth/token`` (HTTP Basic with the client id and secret), JSON bodies in the
``RateRequest`` / ``ShipmentRequest`` shapes, answers in ``RateResponse`` /
``ShipmentResponse`` / ``VoidShipmentResponse`` / ``trackResponse``, and failures as HTTP
4xx with ``{"response": {"errors": [{"code", "message"}]}}``. Rules it enforces, as UPS
documents them: at most 150 lb (68 kg) per package; a package can be voided until UPS has
received it (a pickup or origin scan), not after. Where UPS documents no code for a refusal
the code is the twin's own and the message says what is wrong.

Controls for tests live under ``/__twin/``: scan a package (move it along), list what was
bought and voided, make the next purchase's answer get lost after UPS recorded it (the
case an idempotent purchase must survive), and make the next lookup by reference fail.
"""

from __future__ import annotations

import base64
import io
import itertools
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fulfillbridge.carrier_twins._controls import controls_index

LABEL_CREATED = "Shipper created a label, UPS has not received the package yet."
MAX_POUNDS = 150.0
POUNDS_PER_KILO = 2.20462
SERVICES = {
    "01": ("UPS Next Day Air", 1, 4200),
    "02": ("UPS 2nd Day Air", 2, 2400),
    "03": ("UPS Ground", 4, 1100),
    "07": ("UPS Worldwide Express", 2, 6800),
    "08": ("UPS Worldwide Expedited", 4, 5200),
    "11": ("UPS Standard", 4, 2600),
    "65": ("UPS Worldwide Saver", 3, 5900),
}
DOMESTIC = ("01", "02", "03")
INTERNATIONAL = ("07", "08", "11", "65")
US_ZIP = re.compile(r"^\d{5}(-?\d{4})?$")
# Scan types a test may apply, with UPS's description (Tracking API status types: M manifest,
# P pickup, I in transit, O out for delivery, X exception, D delivered, RS returned).
SCANS = {
    "P": ("PU", "Pickup Scan"),
    "I": ("DP", "Departed from Facility"),
    "O": ("OT", "Out For Delivery Today"),
    "X": ("X", "The receiver was not available for delivery. We'll make a second attempt."),
    "D": ("KB", "DELIVERED"),
    "RS": ("RS", "Returned to shipper"),
}


@dataclass
class Package:
    tracking_number: str
    shipment_id: str
    reference: str
    label: str  # base64, as UPS returns it
    label_format: str  # GIF or ZPL
    weight_pounds: float
    activity: list[dict[str, Any]] = field(default_factory=list)
    voided: bool = False

    @property
    def received(self) -> bool:
        return any(a["status"]["type"] != "M" for a in self.activity)


@dataclass
class TwinState:
    client_id: str
    client_secret: str
    tokens: set[str] = field(default_factory=set)
    packages: dict[str, Package] = field(default_factory=dict)
    shipments: dict[str, list[str]] = field(default_factory=dict)
    purchases: int = 0
    voids: int = 0
    lose_next_answer: bool = False
    fail_next_lookup: bool = False
    clock: float = field(default_factory=time.time)
    lock: threading.Lock = field(default_factory=threading.Lock)
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"response": {"errors": [{"code": code, "message": message}]}}, status)


def _stamp(at: float) -> tuple[str, str]:
    moment = time.gmtime(at)
    return time.strftime("%Y%m%d", moment), time.strftime("%H%M%S", moment)


def _money(cents: int, currency: str = "USD") -> dict[str, str]:
    return {"CurrencyCode": currency, "MonetaryValue": f"{cents / 100:.2f}"}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _label_gif(tracking_number: str, ship_to: dict[str, Any]) -> str:
    """A 4x6 in label as UPS sends it: a GIF, landscape, base64."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (1200, 800), 255)
    draw = ImageDraw.Draw(image)
    address = ship_to.get("Address") or {}
    lines = [
        "UPS",
        str(ship_to.get("Name") or ""),
        " ".join(_as_list(address.get("AddressLine"))),
        " ".join(str(address.get(k) or "") for k in ("City", "PostalCode", "CountryCode")),
        f"TRACKING #: {tracking_number}",
    ]
    for row, text in enumerate(lines):
        draw.text((40, 40 + row * 60), text, fill=0)
    draw.rectangle((40, 400, 1160, 700), outline=0, width=6)
    # Bars standing in for the barcode (not a readable Code 128), so a label image holds
    # about as much detail as UPS's does.
    left = 80
    for bit in "".join(f"{ord(char):08b}" for char in tracking_number):
        width = 4 if bit == "1" else 2
        draw.rectangle((left, 430, left + width - 1, 670), fill=0)
        left += width + 2
    out = io.BytesIO()
    image.save(out, format="GIF")
    return base64.b64encode(out.getvalue()).decode()


def _label_zpl(tracking_number: str) -> str:
    zpl = f"^XA^PW812^LL1218^FO50,50^A0N,50,50^FDUPS^FS^FO50,150^BCN,200^FD{tracking_number}^FS^XZ"
    return base64.b64encode(zpl.encode()).decode()


def _invoice_pdf(shipment_id: str, products: list[dict[str, Any]]) -> str:
    """The commercial invoice UPS returns for paperless international shipments (a PDF)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (850, 1100), "white")
    draw = ImageDraw.Draw(image)
    draw.text((40, 40), f"COMMERCIAL INVOICE  {shipment_id}", fill="black")
    for row, product in enumerate(products):
        text = (
            f"{product.get('Description', '')}  HS {product.get('CommodityCode', '')}  "
            f"origin {product.get('OriginCountryCode', '')}  "
            f"{(product.get('Unit') or {}).get('Number', '')} x "
            f"{(product.get('Unit') or {}).get('Value', '')}"
        )
        draw.text((40, 100 + row * 30), text, fill="black")
    out = io.BytesIO()
    image.save(out, format="PDF")
    return base64.b64encode(out.getvalue()).decode()


def _pounds(package: dict[str, Any]) -> float:
    weight = package.get("PackageWeight") or {}
    unit = ((weight.get("UnitOfMeasurement") or {}).get("Code") or "LBS").upper()
    value = float(weight.get("Weight") or 0)
    return value * POUNDS_PER_KILO if unit == "KGS" else value


def _check_shipment(shipment: dict[str, Any]) -> JSONResponse | None:
    """UPS's refusals that rating and shipping share: addresses and package weights."""
    ship_to = shipment.get("ShipTo") or {}
    address = ship_to.get("Address") or {}
    country = str(address.get("CountryCode") or "")
    if not _as_list(address.get("AddressLine")) or not address.get("City") or not country:
        return _error(400, "120802", "Address Validation Error on ShipTo address")
    postal = str(address.get("PostalCode") or "")
    if country == "US" and not US_ZIP.match(postal):
        return _error(
            400, "120208", f"The ShipTo postal code {postal or '(none)'} is invalid for US."
        )
    packages = _as_list(shipment.get("Package"))
    if not packages:
        return _error(400, "20007", "Missing Required field, Shipment/Package.")
    for number, package in enumerate(packages, start=1):
        pounds = _pounds(package)
        if pounds <= 0:
            return _error(
                400, "20008", f"The field, Package {number} weight, contains invalid data."
            )
        if pounds > MAX_POUNDS:
            return _error(
                400,
                "120540",
                f"Package {number} weighs {pounds:.1f} lbs; the maximum per package is "
                f"{MAX_POUNDS:.0f} lbs.",
            )
    return None


def _services_for(shipment: dict[str, Any]) -> tuple[str, ...]:
    ship_from = (shipment.get("ShipFrom") or shipment.get("Shipper") or {}).get("Address") or {}
    ship_to = (shipment.get("ShipTo") or {}).get("Address") or {}
    same = ship_from.get("CountryCode") == ship_to.get("CountryCode")
    return DOMESTIC if same else INTERNATIONAL


def _rated(code: str, pounds: float, now: float) -> dict[str, Any]:
    name, days, base = SERVICES[code]
    cents = base + int(pounds * 45)
    arrival_date, _ = _stamp(now + days * 86400)
    return {
        "Service": {"Code": code, "Description": name},
        "BillingWeight": {"UnitOfMeasurement": {"Code": "LBS"}, "Weight": f"{pounds:.1f}"},
        "TransportationCharges": _money(cents),
        "BaseServiceCharge": _money(cents),
        "ServiceOptionsCharges": _money(0),
        "TotalCharges": _money(cents),
        "GuaranteedDelivery": {"BusinessDaysInTransit": str(days)},
        "TimeInTransit": {
            "ServiceSummary": {
                "Service": {"Description": name},
                "EstimatedArrival": {
                    "Arrival": {"Date": arrival_date, "Time": "230000"},
                    "BusinessDaysInTransit": str(days),
                },
            }
        },
    }


def _track_package(package: Package, now: float) -> dict[str, Any]:
    delivery_date, _ = _stamp(now + 3 * 86400)
    # Newest first, as UPS lists activity.
    return {
        "trackingNumber": package.tracking_number,
        "deliveryDate": [] if package.voided else [{"type": "DEL", "date": delivery_date}],
        "activity": list(reversed(package.activity)),
        "referenceNumber": [{"type": "PACKAGE", "number": package.reference}],
    }


CONTROLS = (
    (
        "POST",
        "/__twin/packages/{number}/scan",
        'move a package along: {"type": "P" | "I" | "O" | "X" | "D" | "RS"}',
    ),
    ("GET", "/__twin/summary", "what was bought and voided"),
    ("POST", "/__twin/lose-next-answer", "record the next purchase, then answer 504"),
    ("POST", "/__twin/fail-next-lookup", "fail the next label look-up by reference"),
)


def create_app(*, client_id: str = "twin-client", client_secret: str = "twin-secret") -> Starlette:
    """A UPS twin accepting the given client credentials."""
    state = TwinState(client_id=client_id, client_secret=client_secret)

    def authorised(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and header[7:] in state.tokens

    async def token(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        try:
            pair = base64.b64decode(header.removeprefix("Basic ")).decode()
        except ValueError:
            pair = ""
        if pair != f"{state.client_id}:{state.client_secret}":
            return _error(401, "10401", "ClientId is Invalid")
        form = parse_qs((await request.body()).decode(errors="replace"))
        if form.get("grant_type") != ["client_credentials"]:
            return _error(400, "10400", "Invalid/Missing grant_type")
        issued = secrets.token_urlsafe(24)
        state.tokens.add(issued)
        return JSONResponse(
            {
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
                "client_id": state.client_id,
                "access_token": issued,
                "expires_in": "14399",
                "status": "approved",
            }
        )

    async def rate(request: Request) -> Response:
        if not authorised(request):
            return _error(401, "250002", "Invalid Authentication Information.")
        body = await request.json()
        shipment = (body.get("RateRequest") or {}).get("Shipment") or {}
        refused = _check_shipment(shipment)
        if refused is not None:
            return refused
        pounds = sum(_pounds(p) for p in _as_list(shipment.get("Package")))
        wanted = (shipment.get("Service") or {}).get("Code")
        option = request.path_params["option"].lower()
        codes = _services_for(shipment)
        if option == "rate" and wanted:
            if wanted not in codes:
                return _error(
                    400,
                    "111210",
                    "The requested service is unavailable between the selected locations.",
                )
            codes = (wanted,)
        rated = [_rated(code, pounds, state.clock) for code in codes]
        return JSONResponse(
            {
                "RateResponse": {
                    "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}},
                    "RatedShipment": rated,
                }
            }
        )

    async def ship(request: Request) -> Response:
        if not authorised(request):
            return _error(401, "250002", "Invalid Authentication Information.")
        body = await request.json()
        shipment = (body.get("ShipmentRequest") or {}).get("Shipment") or {}
        refused = _check_shipment(shipment)
        if refused is not None:
            return refused
        code = (shipment.get("Service") or {}).get("Code") or "03"
        if code not in SERVICES:
            return _error(400, "120100", f"Invalid service code {code}.")
        if code not in _services_for(shipment):
            return _error(
                400,
                "111210",
                "The requested service is unavailable between the selected locations.",
            )
        spec = (body.get("ShipmentRequest") or {}).get("LabelSpecification") or {}
        label_format = ((spec.get("LabelImageFormat") or {}).get("Code") or "GIF").upper()
        packages = _as_list(shipment.get("Package"))
        with state.lock:
            serial = next(state.numbers)
            state.purchases += 1
            lose = state.lose_next_answer
            state.lose_next_answer = False
        shipment_id = f"1ZTW{serial:04d}0{serial:09d}"
        results = []
        numbers = []
        for index, package in enumerate(packages, start=1):
            number = shipment_id if len(packages) == 1 else f"{shipment_id[:-2]}{index:02d}"
            references = [r.get("Value") for r in _as_list(package.get("ReferenceNumber"))]
            label = (
                _label_zpl(number)
                if label_format == "ZPL"
                else _label_gif(number, shipment.get("ShipTo") or {})
            )
            date, clock = _stamp(state.clock)
            stored = Package(
                tracking_number=number,
                shipment_id=shipment_id,
                reference=str(next((r for r in references if r), "")),
                label=label,
                label_format="ZPL" if label_format == "ZPL" else "GIF",
                weight_pounds=_pounds(package),
                activity=[
                    {
                        "date": date,
                        "time": clock,
                        "location": {"address": {"countryCode": "US"}},
                        "status": {
                            "type": "M",
                            "code": "MP",
                            "description": LABEL_CREATED,
                        },
                    }
                ],
            )
            state.packages[number] = stored
            numbers.append(number)
            results.append(
                {
                    "TrackingNumber": number,
                    "ShippingLabel": {
                        "ImageFormat": {"Code": stored.label_format},
                        "GraphicImage": label,
                    },
                }
            )
        state.shipments[shipment_id] = numbers
        pounds = sum(_pounds(p) for p in packages)
        answer: dict[str, Any] = {
            "ShipmentIdentificationNumber": shipment_id,
            "ShipmentCharges": {"TotalCharges": _rated(code, pounds, state.clock)["TotalCharges"]},
            "BillingWeight": {"UnitOfMeasurement": {"Code": "LBS"}, "Weight": f"{pounds:.1f}"},
            "PackageResults": results,
        }
        products = _as_list(
            ((shipment.get("ShipmentServiceOptions") or {}).get("InternationalForms") or {}).get(
                "Product"
            )
        )
        if products:
            answer["Form"] = {
                "Code": "01",
                "Description": "Invoice",
                "Image": {
                    "ImageFormat": {"Code": "PDF"},
                    "GraphicImage": _invoice_pdf(shipment_id, products),
                },
            }
        if lose:
            # UPS recorded the shipment, but the answer never reaches the caller.
            return Response(status_code=504, content=b"upstream timed out")
        return JSONResponse(
            {
                "ShipmentResponse": {
                    "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}},
                    "ShipmentResults": answer,
                }
            }
        )

    async def void(request: Request) -> Response:
        if not authorised(request):
            return _error(401, "250002", "Invalid Authentication Information.")
        shipment_id = request.path_params["shipment_id"]
        numbers = state.shipments.get(shipment_id)
        if numbers is None:
            return _error(400, "190102", f"No shipment found for {shipment_id}.")
        packages = [state.packages[n] for n in numbers]
        if any(p.voided for p in packages):
            return _error(400, "190101", "The shipment has already been voided.")
        if any(p.received for p in packages):
            return _error(
                400,
                "190117",
                "The package has been received by UPS and can no longer be voided.",
            )
        for package in packages:
            package.voided = True
            date, clock = _stamp(state.clock)
            package.activity.append(
                {
                    "date": date,
                    "time": clock,
                    "location": {"address": {"countryCode": "US"}},
                    "status": {
                        "type": "MV",
                        "code": "MV",
                        "description": "Voided Information Received",
                    },
                }
            )
        state.voids += 1
        return JSONResponse(
            {
                "VoidShipmentResponse": {
                    "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}},
                    "SummaryResult": {"Status": {"Code": "1", "Description": "Voided"}},
                }
            }
        )

    async def track(request: Request) -> Response:
        if not authorised(request):
            return _error(401, "250002", "Invalid Authentication Information.")
        number = request.path_params["number"]
        package = state.packages.get(number)
        if package is None:
            return _error(404, "TW0001", "Tracking Information Not Found")
        return JSONResponse(
            {
                "trackResponse": {
                    "shipment": [
                        {"inquiryNumber": number, "package": [_track_package(package, state.clock)]}
                    ]
                }
            }
        )

    async def track_reference(request: Request) -> Response:
        if not authorised(request):
            return _error(401, "250002", "Invalid Authentication Information.")
        reference = request.path_params["reference"]
        if state.fail_next_lookup:
            state.fail_next_lookup = False
            return Response(status_code=503, content=b"service unavailable")
        found = [p for p in state.packages.values() if p.reference == reference and not p.voided]
        if not found:
            return _error(404, "TW0001", "Tracking Information Not Found")
        return JSONResponse(
            {
                "trackResponse": {
                    "shipment": [
                        {
                            "inquiryNumber": reference,
                            "package": [_track_package(p, state.clock) for p in found],
                        }
                    ]
                }
            }
        )

    async def recover_label(request: Request) -> Response:
        if not authorised(request):
            return _error(401, "250002", "Invalid Authentication Information.")
        body = await request.json()
        number = ((body.get("LabelRecoveryRequest") or {}).get("TrackingNumber")) or ""
        package = state.packages.get(number)
        if package is None or package.voided:
            return _error(400, "190202", f"No label found for {number}.")
        return JSONResponse(
            {
                "LabelRecoveryResponse": {
                    "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}},
                    "ShipmentIdentificationNumber": package.shipment_id,
                    "LabelResults": {
                        "TrackingNumber": package.tracking_number,
                        "LabelImage": {
                            "LabelImageFormat": {"Code": package.label_format},
                            "GraphicImage": package.label,
                        },
                    },
                }
            }
        )

    # -- test controls ------------------------------------------------------------------
    async def scan(request: Request) -> Response:
        number = request.path_params["number"]
        package = state.packages.get(number)
        if package is None:
            return JSONResponse({"error": f"no package {number}"}, 404)
        body = await request.json()
        kind = str(body.get("type") or "")
        if kind not in SCANS:
            return JSONResponse({"error": f"type must be one of {', '.join(SCANS)}"}, 422)
        state.clock = max(state.clock + 60, float(body.get("at") or 0))
        code, description = SCANS[kind]
        date, clock = _stamp(state.clock)
        package.activity.append(
            {
                "date": date,
                "time": clock,
                "location": {
                    "address": {
                        "city": body.get("city") or "Louisville",
                        "stateProvince": "KY",
                        "countryCode": "US",
                    }
                },
                "status": {
                    "type": kind,
                    "code": code,
                    "description": body.get("description") or description,
                },
            }
        )
        return JSONResponse({"tracking_number": number, "activities": len(package.activity)})

    async def summary(request: Request) -> Response:
        return JSONResponse(
            {
                "purchases": state.purchases,
                "voids": state.voids,
                "packages": {
                    n: {"reference": p.reference, "voided": p.voided, "shipment": p.shipment_id}
                    for n, p in state.packages.items()
                },
            }
        )

    async def lose_next(request: Request) -> Response:
        state.lose_next_answer = True
        return JSONResponse({"lose_next_answer": True})

    async def fail_next_lookup(request: Request) -> Response:
        state.fail_next_lookup = True
        return JSONResponse({"fail_next_lookup": True})

    routes = [
        Route("/security/v1/oauth/token", token, methods=["POST"]),
        Route("/api/rating/{version}/{option}", rate, methods=["POST"]),
        Route("/api/shipments/{version}/ship", ship, methods=["POST"]),
        Route("/api/shipments/{version}/void/cancel/{shipment_id}", void, methods=["DELETE"]),
        Route("/api/labels/{version}/recovery", recover_label, methods=["POST"]),
        Route("/api/track/v1/details/{number}", track, methods=["GET"]),
        Route("/api/track/v1/reference/details/{reference}", track_reference, methods=["GET"]),
        Route("/__twin/packages/{number}/scan", scan, methods=["POST"]),
        Route("/__twin/summary", summary, methods=["GET"]),
        Route("/__twin/lose-next-answer", lose_next, methods=["POST"]),
        Route("/__twin/fail-next-lookup", fail_next_lookup, methods=["POST"]),
        Route(
            "/__twin/",
            controls_index(
                "UPS", CONTROLS, {"client_id": client_id, "client_secret": client_secret}
            ),
            methods=["GET"],
        ),
    ]
    app = Starlette(routes=routes)
    app.state.twin = state
    return app
