"""A local Clickpost: the parts of its API the bridge's adapter calls, so tests and the demo
run without the internet.

Shapes follow Clickpost's published documentation: ``username`` and ``key`` as query
parameters; every answer a ``meta`` object (``status``, ``message``, ``success``) beside a
``result``; serviceability (``/api/v1/serviceability_api/``) per courier account with
``serviceable`` and ``shipping_charge``; order creation (``/api/v3/create-order/``) answering
the courier's ``waybill`` and a ``label`` link; tracking (``/api/v2/track-order/``) with
``scans`` carrying ``clickpost_status_code``; cancellation (``/api/v1/cancel-order/``); and
status webhooks posted with the ``webhook_key`` header. Service error codes are Clickpost's:
301 bad credentials, 323 an order already placed under the reference, 328 invalid data, 350
the courier refused the cancellation, 600 already cancelled. Two things the documentation
does not show are the twin's own (and written down as inferred in docs/shipping.md): the
answer to a duplicate reference repeats the waybill and label already placed, and the
wording of the refusals (an unserved pincode, a parcel heavier than the courier takes, a
cancellation after pickup).

Controls under ``/__twin/``: scan a waybill along (``{"code": <clickpost_status_code>}``),
where to post status webhooks, lose the next order's answer after placing it, and a summary.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fulfillbridge.carrier_twins._controls import controls_index
from fulfillbridge.carrier_twins._labels import label_pdf

IST = timezone(timedelta(hours=5, minutes=30))
PINCODE = re.compile(r"^[1-9]\d{5}$")
CODE39 = re.compile(r"^[A-Z0-9 .$/+%-]{1,50}$")
# Courier partner accounts: cp_id -> account code, heaviest parcel (grams), charge (INR).
ACCOUNTS = {
    4: ("Delhivery Surface", 25_000, 65.0),
    6: ("Xpressbees Surface", 10_000, 58.0),
}
UNSERVED = frozenset({"999999", "744301"})
STATUS = {
    1: "OrderPlaced",
    4: "PickedUp",
    5: "InTransit",
    6: "OutForDelivery",
    8: "Delivered",
    9: "FailedDelivery",
    12: "RTO",
    18: "ShipmentDelayed",
}


@dataclass
class Placed:
    waybill: str
    cp_id: int
    reference: str
    pincode: str
    city: str
    grams: int
    cancelled: bool = False
    scans: list[dict[str, Any]] = field(default_factory=list)

    @property
    def picked_up(self) -> bool:
        return any(s["clickpost_status_code"] != 1 for s in self.scans)


@dataclass
class TwinState:
    username: str
    key: str
    placed: dict[str, Placed] = field(default_factory=dict)  # by waybill
    purchases: int = 0
    cancellations: int = 0
    lose_next_answer: bool = False
    webhook_url: str | None = None
    webhook_key: str | None = None
    webhooks_sent: int = 0
    clock: float = field(default_factory=time.time)
    lock: threading.Lock = field(default_factory=threading.Lock)
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


def _meta(status: int, message: str, success: bool, **extra: Any) -> dict[str, Any]:
    return {"meta": {"status": status, "message": message, "success": success}, **extra}


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).astimezone(IST).strftime("%Y-%m-%d %H:%M:%S")


CONTROLS = (
    ("GET", "/__twin/labels/{waybill}.pdf", "a label as the carrier's file server serves it"),
    (
        "POST",
        "/__twin/packages/{waybill}/scan",
        'move a parcel along: {"code": <Clickpost status code>} (and post the webhook, if set)',
    ),
    ("POST", "/__twin/webhook", "where to post tracking webhooks: {url, key}"),
    ("GET", "/__twin/summary", "what was bought and cancelled"),
    ("POST", "/__twin/lose-next-answer", "record the next purchase, then answer 504"),
)


def create_app(*, username: str = "twin-user", key: str = "twin-key") -> Starlette:
    """A Clickpost twin accepting ``username`` and API ``key``."""
    state = TwinState(username=username, key=key)

    def refused_auth(request: Request) -> JSONResponse | None:
        query = request.query_params
        if query.get("username") == state.username and query.get("key") == state.key:
            return None
        return JSONResponse(
            _meta(301, "Authentication Failed: Invalid Token or API Key", False), 401
        )

    async def json_body(request: Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            return None

    def check(pickup: str, drop: str, grams: float, cp_id: int | None) -> tuple[list[int], str]:
        if not PINCODE.match(pickup) or not PINCODE.match(drop):
            return (
                [],
                f"Invalid pincode: {drop if PINCODE.match(pickup) else pickup} must be 6 digits",
            )
        if drop in UNSERVED:
            return [], f"Drop pincode {drop} is not serviceable"
        ids = [cp_id] if cp_id is not None else list(ACCOUNTS)
        fits = [i for i in ids if i in ACCOUNTS and grams <= ACCOUNTS[i][1]]
        if cp_id is not None and cp_id in ACCOUNTS and not fits:
            code, heaviest, _ = ACCOUNTS[cp_id]
            return [], f"{code} takes at most {heaviest} grams; the shipment weighs {grams:g} grams"
        return fits, ""

    async def serviceability(request: Request) -> Response:
        if (refusal := refused_auth(request)) is not None:
            return refusal
        body = await json_body(request)
        if not isinstance(body, list) or not body or not isinstance(body[0], dict):
            return JSONResponse(_meta(328, "Invalid POST data", False), 400)
        results = []
        for row in body:
            optional = row.get("optional") or {}
            cp_id = optional.get("cp_id")
            fits, _ = check(
                str(row.get("pickup_pincode") or ""),
                str(row.get("drop_pincode") or ""),
                float(optional.get("weight") or 0),
                int(cp_id) if cp_id is not None else None,
            )
            for i in ACCOUNTS if cp_id is None else [int(cp_id)]:
                code, _, charge = ACCOUNTS.get(i, (f"courier {i}", 0, 0.0))
                served = i in fits
                results.append(
                    {
                        "cp_id": i,
                        "account_code": code,
                        "serviceable": {"PREPAID": served, "COD": served, "EXCHANGE": False},
                        "comitted_sla": 4 if i == 4 else 5,
                        "shipping_charge": {
                            "PREPAID": round(
                                charge + float(optional.get("weight") or 0) / 1000 * 24, 2
                            )
                            if served
                            else None,
                            "COD": None,
                        },
                    }
                )
        return JSONResponse(_meta(200, "SUCCESS", True, result=results))

    async def create_order(request: Request) -> Response:
        if (refusal := refused_auth(request)) is not None:
            return refusal
        body = await json_body(request)
        if not isinstance(body, dict):
            return JSONResponse(_meta(328, "Invalid POST data", False), 400)
        pickup, drop = body.get("pickup_info") or {}, body.get("drop_info") or {}
        details = body.get("shipment_details") or {}
        missing = [
            f"{part}.{name}"
            for part, values, names in (
                (
                    "pickup_info",
                    pickup,
                    (
                        "pickup_name",
                        "pickup_phone",
                        "pickup_address",
                        "pickup_city",
                        "pickup_pincode",
                        "pickup_time",
                    ),
                ),
                (
                    "drop_info",
                    drop,
                    ("drop_name", "drop_phone", "drop_address", "drop_city", "drop_pincode"),
                ),
                (
                    "shipment_details",
                    details,
                    (
                        "reference_number",
                        "order_type",
                        "invoice_value",
                        "weight",
                        "items",
                        "courier_partner",
                    ),
                ),
            )
            for name in names
            if values.get(name) in (None, "", [])
        ]
        if missing:
            return JSONResponse(
                _meta(328, f"Invalid POST data: missing {', '.join(missing)}", False), 400
            )
        reference = str(details["reference_number"])
        if not CODE39.match(reference):
            return JSONResponse(
                _meta(
                    314,
                    f"Invalid Format Of Order Data: reference_number {reference!r} is not Code 39",
                    False,
                ),
                400,
            )
        earlier = next((p for p in state.placed.values() if p.reference == reference), None)
        base = str(request.base_url).rstrip("/")
        if earlier is not None:
            return JSONResponse(
                _meta(
                    323,
                    "You have Already placed this order",
                    False,
                    result={
                        "reference_number": reference,
                        "waybill": earlier.waybill,
                        "label": f"{base}/__twin/labels/{earlier.waybill}.pdf",
                    },
                ),
                400,
            )
        cp_id = int(details["courier_partner"])
        if cp_id not in ACCOUNTS:
            return JSONResponse(
                _meta(316, "You Dont Have Credentials For The Courier Partner", False), 400
            )
        fits, reason = check(
            str(pickup["pickup_pincode"]),
            str(drop["drop_pincode"]),
            float(details["weight"]),
            cp_id,
        )
        if not fits:
            return JSONResponse(
                _meta(319, f"Error In Order Placing To Courier Partner: {reason}", False), 400
            )
        with state.lock:
            serial = next(state.numbers)
            state.purchases += 1
            lose = state.lose_next_answer
            state.lose_next_answer = False
        placed = Placed(
            waybill=f"CP{cp_id}{serial:09d}",
            cp_id=cp_id,
            reference=reference,
            pincode=str(drop["drop_pincode"]),
            city=str(drop.get("drop_city") or ""),
            grams=int(float(details["weight"])),
        )
        placed.scans.append(
            {
                "clickpost_status_code": 1,
                "clickpost_status_description": "OrderPlaced",
                "status": "Manifested",
                "remark": "Order placed with courier partner",
                "location": "",
                "timestamp": _stamp(state.clock),
            }
        )
        state.placed[placed.waybill] = placed
        if lose:
            return Response(status_code=504, content=b"<html>504 Gateway Time-out</html>")
        return JSONResponse(
            _meta(
                200,
                "Order Placed Successfully",
                True,
                result={
                    "reference_number": reference,
                    "waybill": placed.waybill,
                    "label": f"{base}/__twin/labels/{placed.waybill}.pdf",
                },
            )
        )

    async def label_file(request: Request) -> Response:
        placed = state.placed.get(request.path_params["waybill"])
        if placed is None:
            return Response(status_code=404, content=b"NoSuchKey")
        pdf = label_pdf(
            "Clickpost", ACCOUNTS[placed.cp_id][0], placed.waybill, [placed.city, placed.pincode]
        )
        return Response(pdf, media_type="application/pdf")

    def located(request: Request) -> Placed | JSONResponse:
        query = request.query_params
        placed = state.placed.get(query.get("waybill", ""))
        if placed is None:
            return JSONResponse(_meta(330, "waybill does not exist", False), 400)
        if query.get("cp_id") != str(placed.cp_id):
            return JSONResponse(
                _meta(302, "Invalid Courier Partner Id with Field cp_id", False), 400
            )
        return placed

    async def track(request: Request) -> Response:
        if (refusal := refused_auth(request)) is not None:
            return refusal
        placed = located(request)
        if isinstance(placed, JSONResponse):
            return placed
        scans = list(reversed(placed.scans))
        eta = datetime.fromtimestamp(state.clock, IST) + timedelta(days=4)
        return JSONResponse(
            _meta(
                200,
                "SUCCESS",
                True,
                result={
                    placed.waybill: {
                        "latest_status": scans[0],
                        "scans": scans,
                        "additional": {"edd": eta.strftime("%Y-%m-%d %H:%M:%S")},
                        "valid": True,
                    }
                },
            )
        )

    async def cancel(request: Request) -> Response:
        if (refusal := refused_auth(request)) is not None:
            return refusal
        placed = located(request)
        if isinstance(placed, JSONResponse):
            return placed
        if placed.cancelled:
            return JSONResponse(_meta(600, "Order already cancelled", False), 400)
        if placed.picked_up:
            return JSONResponse(
                _meta(
                    350,
                    "Order Cancellation Error from Courier Partner Server: shipment "
                    "already picked up",
                    False,
                ),
                400,
            )
        placed.cancelled = True
        state.cancellations += 1
        return JSONResponse(_meta(200, "SUCCESS", True))

    # -- test controls ------------------------------------------------------------------
    async def scan(request: Request) -> Response:
        placed = state.placed.get(request.path_params["waybill"])
        if placed is None:
            return JSONResponse({"error": f"no waybill {request.path_params['waybill']}"}, 404)
        body = await json_body(request) or {}
        try:
            code = int(str(body.get("code")))
        except (TypeError, ValueError):
            code = -1
        if code not in STATUS:
            return JSONResponse({"error": f"code must be one of {sorted(STATUS)}"}, 422)
        state.clock = max(state.clock + 60, float(body.get("at") or 0))
        entry = {
            "clickpost_status_code": code,
            "clickpost_status_description": STATUS[code],
            "status": STATUS[code].upper(),
            "remark": body.get("remark") or STATUS[code],
            "location": body.get("location") or f"{placed.city} Hub",
            "timestamp": _stamp(state.clock),
        }
        placed.scans.append(entry)
        sent = None
        if state.webhook_url:
            eta = datetime.fromtimestamp(state.clock, IST) + timedelta(days=2)
            payload = {
                "waybill": placed.waybill,
                "cp_id": placed.cp_id,
                **entry,
                "additional": {"latest_status": entry, "edd": eta.strftime("%Y-%m-%d %H:%M:%S")},
            }
            headers = {"webhook_key": state.webhook_key} if state.webhook_key else {}
            async with httpx.AsyncClient(timeout=30) as http:
                answer = await http.post(state.webhook_url, json=payload, headers=headers)
            state.webhooks_sent += 1
            sent = answer.status_code
        return JSONResponse(
            {"waybill": placed.waybill, "scans": len(placed.scans), "webhook_status": sent}
        )

    async def set_webhook(request: Request) -> Response:
        body = await json_body(request) or {}
        state.webhook_url = body.get("url") or None
        state.webhook_key = body.get("key") or None
        return JSONResponse({"url": state.webhook_url})

    async def summary(request: Request) -> Response:
        return JSONResponse(
            {
                "purchases": state.purchases,
                "cancellations": state.cancellations,
                "webhooks_sent": state.webhooks_sent,
                "waybills": {
                    w: {"reference": p.reference, "cp_id": p.cp_id, "cancelled": p.cancelled}
                    for w, p in state.placed.items()
                },
            }
        )

    async def lose_next(request: Request) -> Response:
        state.lose_next_answer = True
        return JSONResponse({"lose_next_answer": True})

    routes = [
        Route("/api/v1/serviceability_api/", serviceability, methods=["POST"]),
        Route("/api/v3/create-order/", create_order, methods=["POST"]),
        Route("/api/v2/track-order/", track, methods=["GET"]),
        Route("/api/v1/cancel-order/", cancel, methods=["GET"]),
        Route("/__twin/labels/{waybill}.pdf", label_file, methods=["GET"]),
        Route("/__twin/packages/{waybill}/scan", scan, methods=["POST"]),
        Route("/__twin/webhook", set_webhook, methods=["POST"]),
        Route("/__twin/summary", summary, methods=["GET"]),
        Route("/__twin/lose-next-answer", lose_next, methods=["POST"]),
        Route(
            "/__twin/",
            controls_index("Clickpost", CONTROLS, {"username": username, "key": key}),
            methods=["GET"],
        ),
    ]
    app = Starlette(routes=routes)
    app.state.twin = state
    return app
