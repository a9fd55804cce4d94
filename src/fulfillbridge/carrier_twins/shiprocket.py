"""A local Shiprocket: the parts of its external API (``/v1/external``) the bridge's
adapter calls, so tests and the demo run without the internet.

Shapes follow Shiprocket's published API collection: a bearer token from ``/auth/login``
(email and password of an API user), adhoc orders carrying the seller's ``order_id``, AWB
assignment answering ``awb_assign_status`` with ``response.data``, pickup requests, labels
as a ``label_url`` to a PDF, cancellation of shipments by AWB, tracking by AWB
(``tracking_data`` with ``shipment_track_activities`` and Shiprocket's status codes) and the
tracking webhook (posted with the account's token in ``x-api-key``); an order is updated
(``/orders/update/adhoc``) until its AWB is assigned. Refusals: a 422 with a
per-field ``errors`` map for invalid input (a pincode that is not six digits, a missing
phone), no courier for a pincode it does not serve, a parcel heavier than the courier
takes, and a cancellation once the courier has picked the parcel up. Where the published
collection shows no example (the texts of those refusals) the twin's wording is its own.

Controls under ``/__twin/``: scan a parcel along (``{"status": <Shiprocket status code>}``),
where to post tracking webhooks, lose the next AWB assignment's answer after recording it,
and a summary of what was bought and cancelled.
"""

from __future__ import annotations

import itertools
import re
import secrets
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
PHONE = re.compile(r"^\d{10}$")
# Couriers this account has: id, name, heaviest parcel (kg), base rate and per kg (INR), days.
COURIERS = {
    43: ("Delhivery Surface", 20.0, 70.0, 30.0, 4),
    51: ("Xpressbees Surface", 10.0, 60.0, 28.0, 5),
    95: ("Shadowfax Surface", 5.0, 55.0, 25.0, 3),
}
RECOMMENDED = 43
# Pincodes no courier of this account serves.
UNSERVED = frozenset({"999999", "744301"})
# Status codes a test may scan, with Shiprocket's label for each.
LABELS = {
    6: "SHIPPED",
    7: "DELIVERED",
    9: "RTO INITIATED",
    17: "OUT FOR DELIVERY",
    18: "IN TRANSIT",
    19: "OUT FOR PICKUP",
    21: "UNDELIVERED",
    22: "DELAYED",
    38: "REACHED AT DESTINATION HUB",
    42: "PICKED UP",
}
PICKED = {42, 6, 18, 38, 17, 21, 22, 7, 9}  # from here on the courier has the parcel


@dataclass
class Order:
    id: int
    channel_order_id: str
    shipment_id: int
    pincode: str
    weight_kg: float
    city: str
    awb: str | None = None
    courier_id: int | None = None
    cancelled: bool = False
    pickup_requested: bool = False
    scans: list[dict[str, Any]] = field(default_factory=list)

    @property
    def picked_up(self) -> bool:
        return any(int(s["sr-status"]) in PICKED for s in self.scans)


@dataclass
class TwinState:
    email: str
    password: str
    tokens: set[str] = field(default_factory=set)
    orders: dict[int, Order] = field(default_factory=dict)
    awbs: dict[str, Order] = field(default_factory=dict)
    purchases: int = 0
    cancellations: int = 0
    lose_next_answer: bool = False
    webhook_url: str | None = None
    webhook_token: str | None = None
    webhooks_sent: int = 0
    clock: float = field(default_factory=time.time)
    lock: threading.Lock = field(default_factory=threading.Lock)
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).astimezone(IST).strftime("%Y-%m-%d %H:%M:%S")


def _invalid(errors: dict[str, list[str]]) -> JSONResponse:
    return JSONResponse(
        {"message": "Oops! Invalid Data.", "errors": errors, "status_code": 422}, 422
    )


def _rate(courier_id: int, kg: float) -> float:
    _, _, base, per_kg, _ = COURIERS[courier_id]
    return round(base + per_kg * max(0.5, kg), 2)


def _serving(pincode: str, kg: float) -> list[int]:
    if pincode in UNSERVED:
        return []
    return [cid for cid, (_, heaviest, *_rest) in COURIERS.items() if kg <= heaviest]


CONTROLS = (
    ("GET", "/__twin/labels/{awb}.pdf", "a label as the carrier's file server serves it"),
    (
        "POST",
        "/__twin/packages/{awb}/scan",
        'move a parcel along: {"status": <Shiprocket status code>} (and post the webhook, if set)',
    ),
    ("POST", "/__twin/webhook", "where to post tracking webhooks: {url, token}"),
    ("GET", "/__twin/summary", "what was bought and cancelled"),
    ("POST", "/__twin/lose-next-answer", "record the next purchase, then answer 504"),
)


def create_app(*, email: str = "api@twin.example", password: str = "twin-password") -> Starlette:
    """A Shiprocket twin whose API user is ``email`` / ``password``."""
    state = TwinState(email=email, password=password)

    def authorised(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and header[7:] in state.tokens

    def unauthenticated() -> JSONResponse:
        return JSONResponse({"message": "Unauthenticated.", "status_code": 401}, 401)

    async def json_body(request: Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            return None

    async def login(request: Request) -> Response:
        body = await json_body(request) or {}
        if body.get("email") != state.email or body.get("password") != state.password:
            return JSONResponse(
                {"message": "Invalid email and password combination", "status_code": 400}, 400
            )
        token = secrets.token_urlsafe(24)
        state.tokens.add(token)
        return JSONResponse(
            {
                "id": 1,
                "first_name": "API",
                "last_name": "User",
                "email": state.email,
                "company_id": 25149,
                "created_at": _stamp(state.clock),
                "token": token,
            }
        )

    async def serviceability(request: Request) -> Response:
        if not authorised(request):
            return unauthenticated()
        query = request.query_params
        missing = [
            k for k in ("pickup_postcode", "delivery_postcode", "weight", "cod") if k not in query
        ]
        if missing:
            return JSONResponse(
                {
                    "message": "Required field missing",
                    "errors": {
                        k: [f"The {k.replace('_', ' ')} field is required."] for k in missing
                    },
                    "status_code": 422,
                },
                422,
            )
        pincode = query["delivery_postcode"]
        if not PINCODE.match(pincode) or not PINCODE.match(query["pickup_postcode"]):
            return _invalid({"delivery_postcode": ["The delivery postcode must be 6 digits."]})
        try:
            kg = float(query["weight"])
        except ValueError:
            return _invalid({"weight": ["The weight must be a number."]})
        serving = _serving(pincode, kg)
        if not serving:
            reason = (
                f"Delivery postcode {pincode} is not serviceable"
                if pincode in UNSERVED
                else f"No courier takes {kg:g} kg; the heaviest any courier takes is "
                f"{max(c[1] for c in COURIERS.values()):g} kg"
            )
            return JSONResponse({"status": 404, "message": reason})
        eta_base = datetime.fromtimestamp(state.clock, IST)
        return JSONResponse(
            {
                "currency": "INR",
                "status": 200,
                "data": {
                    "available_courier_companies": [
                        {
                            "courier_company_id": cid,
                            "courier_name": COURIERS[cid][0],
                            "rate": _rate(cid, kg),
                            "freight_charge": _rate(cid, kg),
                            "estimated_delivery_days": str(COURIERS[cid][4]),
                            "etd": (eta_base + timedelta(days=COURIERS[cid][4])).strftime(
                                "%b %d, %Y"
                            ),
                            "surface_max_weight": f"{COURIERS[cid][1]:.2f}",
                            "postcode": pincode,
                        }
                        for cid in serving
                    ],
                    "recommended_courier_company_id": RECOMMENDED
                    if RECOMMENDED in serving
                    else serving[0],
                },
            }
        )

    async def create_order(request: Request) -> Response:
        if not authorised(request):
            return unauthenticated()
        body = await json_body(request)
        if not isinstance(body, dict):
            return _invalid({"order": ["The request body must be a JSON object."]})
        errors: dict[str, list[str]] = {}
        for name in (
            "order_id",
            "order_date",
            "pickup_location",
            "billing_customer_name",
            "billing_address",
            "billing_city",
            "billing_pincode",
            "billing_state",
            "billing_country",
            "billing_phone",
            "payment_method",
            "sub_total",
            "length",
            "breadth",
            "height",
            "weight",
        ):
            if body.get(name) in (None, ""):
                errors[name] = [f"The {name.replace('_', ' ')} field is required."]
        if not body.get("order_items"):
            errors["order_items"] = ["The order items field is required."]
        pincode = str(body.get("billing_pincode") or "")
        if pincode and not PINCODE.match(pincode):
            errors["billing_pincode"] = ["The billing pincode must be 6 digits."]
        phone = str(body.get("billing_phone") or "")
        if phone and not PHONE.match(re.sub(r"\D", "", phone)[-10:]):
            errors["billing_phone"] = ["The billing phone must be 10 digits."]
        if errors:
            return _invalid(errors)
        try:
            kg = float(body["weight"])
        except (TypeError, ValueError):
            return _invalid({"weight": ["The weight must be a number."]})
        with state.lock:
            serial = next(state.numbers)
        order = Order(
            id=300000000 + serial,
            channel_order_id=str(body["order_id"]),
            shipment_id=200000000 + serial,
            pincode=pincode,
            weight_kg=kg,
            city=str(body.get("billing_city") or ""),
        )
        state.orders[order.id] = order
        return JSONResponse(
            {
                "order_id": order.id,
                "shipment_id": order.shipment_id,
                "status": "NEW",
                "status_code": 1,
                "onboarding_completed_now": 0,
                "awb_code": None,
                "courier_company_id": None,
                "courier_name": None,
            }
        )

    async def update_order(request: Request) -> Response:
        if not authorised(request):
            return unauthenticated()
        body = await json_body(request)
        if not isinstance(body, dict):
            return _invalid({"order": ["The request body must be a JSON object."]})
        order = next(
            (
                o
                for o in state.orders.values()
                if o.channel_order_id == str(body.get("order_id")) and not o.cancelled
            ),
            None,
        )
        if order is None:
            return JSONResponse({"message": "Order Id does not exists", "status_code": 400}, 400)
        if order.awb:
            return JSONResponse(
                {"message": "Order cannot be updated once an AWB is assigned", "status_code": 400},
                400,
            )
        pincode = str(body.get("billing_pincode") or order.pincode)
        if not PINCODE.match(pincode):
            return _invalid({"billing_pincode": ["The billing pincode must be 6 digits."]})
        try:
            order.weight_kg = float(body.get("weight") or order.weight_kg)
        except (TypeError, ValueError):
            return _invalid({"weight": ["The weight must be a number."]})
        order.pincode = pincode
        order.city = str(body.get("billing_city") or order.city)
        return JSONResponse(
            {
                "order_id": order.id,
                "shipment_id": order.shipment_id,
                "status": "NEW",
                "status_code": 1,
            }
        )

    def by_shipment(shipment_id: Any) -> Order | None:
        return next((o for o in state.orders.values() if o.shipment_id == shipment_id), None)

    async def list_orders(request: Request) -> Response:
        if not authorised(request):
            return unauthenticated()
        search = request.query_params.get("search", "")
        found = [o for o in state.orders.values() if not search or o.channel_order_id == search]
        return JSONResponse(
            {
                "data": [
                    {
                        "id": o.id,
                        "channel_order_id": o.channel_order_id,
                        "status": "CANCELED"
                        if o.cancelled
                        else ("READY TO SHIP" if o.awb else "NEW"),
                        "shipments": [
                            {
                                "id": o.shipment_id,
                                "awb": o.awb or "",
                                "courier": COURIERS[o.courier_id][0] if o.courier_id else "",
                            }
                        ],
                    }
                    for o in found
                ]
            }
        )

    async def assign_awb(request: Request) -> Response:
        if not authorised(request):
            return unauthenticated()
        body = await json_body(request) or {}
        if not body.get("shipment_id"):
            return JSONResponse(
                {
                    "message": "Required field missing",
                    "errors": {"shipment_id": ["The shipment id field is required."]},
                    "status_code": 422,
                },
                422,
            )
        order = by_shipment(body["shipment_id"])
        if order is None:
            return JSONResponse({"message": "Invalid shipment id", "status_code": 400}, 400)
        if order.awb:
            return JSONResponse(
                {"message": "Oops! Cannot reassign courier for this shipment.", "status_code": 400},
                400,
            )
        serving = _serving(order.pincode, order.weight_kg)
        wanted = body.get("courier_id")
        refusal = None
        if order.pincode in UNSERVED:
            refusal = f"Delivery postcode {order.pincode} is not serviceable"
        elif wanted is not None and int(wanted) not in COURIERS:
            refusal = f"Courier {wanted} is not active on this account"
        elif wanted is not None and int(wanted) not in serving:
            name, heaviest, *_ = COURIERS[int(wanted)]
            refusal = (
                f"{name} takes at most {heaviest:g} kg; the shipment weighs {order.weight_kg:g} kg"
            )
        elif not serving:
            refusal = f"No courier takes a shipment of {order.weight_kg:g} kg"
        if refusal:
            return JSONResponse(
                {"awb_assign_status": 0, "response": {"data": {"awb_assign_error": refusal}}}
            )
        courier = (
            int(wanted)
            if wanted is not None
            else (RECOMMENDED if RECOMMENDED in serving else serving[0])
        )
        with state.lock:
            serial = next(state.numbers)
            state.purchases += 1
            lose = state.lose_next_answer
            state.lose_next_answer = False
        order.awb = f"1904{serial:010d}"
        order.courier_id = courier
        state.awbs[order.awb] = order
        order.scans.append(
            {
                "date": _stamp(state.clock),
                "status": "AWB",
                "activity": "AWB Assigned",
                "location": "NA",
                "sr-status": "1",
                "sr-status-label": "AWB ASSIGNED",
            }
        )
        if lose:
            # Shiprocket assigned (and charged) the AWB, but the answer never arrives.
            return Response(status_code=504, content=b"<html>504 Gateway Time-out</html>")
        return JSONResponse(
            {
                "awb_assign_status": 1,
                "response": {
                    "data": {
                        "courier_company_id": courier,
                        "awb_code": order.awb,
                        "cod": 0,
                        "order_id": order.id,
                        "shipment_id": order.shipment_id,
                        "awb_code_status": 1,
                        "assigned_date_time": {
                            "date": _stamp(state.clock),
                            "timezone_type": 3,
                            "timezone": "Asia/Kolkata",
                        },
                        "applied_weight": order.weight_kg,
                        "courier_name": COURIERS[courier][0],
                        "freight_charges": _rate(courier, order.weight_kg),
                        "pickup_scheduled_date": None,
                    }
                },
            }
        )

    async def pickup(request: Request) -> Response:
        if not authorised(request):
            return unauthenticated()
        body = await json_body(request) or {}
        ids = body.get("shipment_id") or []
        orders = [by_shipment(i) for i in ids]
        if not ids or any(o is None or not o.awb for o in orders):
            return JSONResponse({"message": "Invalid shipment id", "status_code": 400}, 400)
        for order in orders:
            assert order is not None
            order.pickup_requested = True
        day = datetime.fromtimestamp(state.clock, IST) + timedelta(days=1)
        return JSONResponse(
            {
                "pickup_status": 1,
                "response": {
                    "pickup_scheduled_date": day.strftime("%Y-%m-%d 10:00:00"),
                    "pickup_token_number": f"Reference No: {secrets.token_hex(4)}",
                    "status": 3,
                    "data": f"Pickup is confirmed for {day.strftime('%d %b %Y')}",
                },
            }
        )

    async def label(request: Request) -> Response:
        if not authorised(request):
            return unauthenticated()
        body = await json_body(request) or {}
        ids = body.get("shipment_id") or []
        orders = [by_shipment(i) for i in ids]
        if not ids or any(o is None or not o.awb for o in orders):
            return _invalid({"shipment_id": ["The shipment must have an AWB before its label."]})
        first = orders[0]
        assert first is not None
        return JSONResponse(
            {
                "label_created": 1,
                "label_url": f"{str(request.base_url).rstrip('/')}/__twin/labels/{first.awb}.pdf",
                "response": "Label has been created and uploaded successfully!",
                "not_created": [],
            }
        )

    async def label_file(request: Request) -> Response:
        order = state.awbs.get(request.path_params["awb"])
        if order is None:
            return Response(status_code=404, content=b"NoSuchKey")
        courier = COURIERS[order.courier_id or RECOMMENDED][0]
        pdf = label_pdf("Shiprocket", courier, order.awb or "", [order.city, order.pincode])
        return Response(pdf, media_type="application/pdf")

    async def cancel(request: Request) -> Response:
        if not authorised(request):
            return unauthenticated()
        body = await json_body(request) or {}
        awbs = body.get("awbs")
        if not isinstance(awbs, list) or not awbs:
            return JSONResponse(
                {
                    "message": "Required field missing",
                    "errors": {"awbs": ["The awbs field is required."]},
                    "status_code": 422,
                },
                422,
            )
        orders = [state.awbs.get(str(a)) for a in awbs]
        if any(o is None for o in orders):
            return JSONResponse({"message": "Invalid AWB", "status_code": 400}, 400)
        late = [o.awb for o in orders if o is not None and o.picked_up]
        if late:
            return JSONResponse(
                {
                    "message": f"Shipment {', '.join(str(a) for a in late)} has been picked up by "
                    "the courier and cannot be cancelled",
                    "status_code": 400,
                },
                400,
            )
        for order in orders:
            assert order is not None
            if not order.cancelled:
                order.cancelled = True
                state.cancellations += 1
        return JSONResponse(
            {"message": "Bulk Shipment cancellation is in progress. Please wait for 24 hours."}
        )

    def tracking(order: Order) -> dict[str, Any]:
        activities = [s for s in order.scans if s["sr-status"] != "1"]
        latest = activities[-1] if activities else None
        eta = datetime.fromtimestamp(state.clock, IST) + timedelta(
            days=COURIERS[order.courier_id or RECOMMENDED][4]
        )
        if latest is None:
            return {
                "tracking_data": {
                    "track_status": 0,
                    "error": "No activities found for this AWB yet.",
                }
            }
        return {
            "tracking_data": {
                "track_status": 1,
                "shipment_status": int(latest["sr-status"]),
                "shipment_track": [
                    {
                        "id": order.shipment_id,
                        "awb_code": order.awb,
                        "courier_company_id": order.courier_id,
                        "shipment_id": order.shipment_id,
                        "order_id": order.id,
                        "current_status": latest["sr-status-label"].title(),
                        "destination": order.city,
                        "courier_name": COURIERS[order.courier_id or RECOMMENDED][0],
                    }
                ],
                "shipment_track_activities": list(reversed(activities)),
                "track_url": f"https://shiprocket.co//tracking/{order.awb}",
                "etd": eta.strftime("%Y-%m-%d %H:%M:%S"),
            }
        }

    async def track(request: Request) -> Response:
        if not authorised(request):
            return unauthenticated()
        order = state.awbs.get(request.path_params["awb"])
        if order is None:
            return JSONResponse({"message": "404 Not Found", "status_code": 404}, 404)
        return JSONResponse(tracking(order))

    # -- test controls ------------------------------------------------------------------
    async def scan(request: Request) -> Response:
        order = state.awbs.get(request.path_params["awb"])
        if order is None:
            return JSONResponse({"error": f"no AWB {request.path_params['awb']}"}, 404)
        body = await json_body(request) or {}
        try:
            code = int(str(body.get("status")))
        except (TypeError, ValueError):
            code = -1
        if code not in LABELS:
            return JSONResponse({"error": f"status must be one of {sorted(LABELS)}"}, 422)
        state.clock = max(state.clock + 60, float(body.get("at") or 0))
        order.scans.append(
            {
                "date": _stamp(state.clock),
                "status": LABELS[code][:3],
                "activity": body.get("activity") or LABELS[code].title(),
                "location": body.get("location") or f"{order.city} Hub",
                "sr-status": str(code),
                "sr-status-label": LABELS[code],
            }
        )
        sent = None
        if state.webhook_url:
            # As Shiprocket does: the whole scan list, with the token in x-api-key.
            payload = {
                "awb": order.awb,
                "courier_name": COURIERS[order.courier_id or RECOMMENDED][0],
                "current_status": LABELS[code],
                "current_status_id": code,
                "shipment_status": LABELS[code],
                "shipment_status_id": code,
                "current_timestamp": datetime.fromtimestamp(state.clock, IST).strftime(
                    "%d %m %Y %H:%M:%S"
                ),
                "order_id": order.channel_order_id,
                "sr_order_id": order.id,
                "etd": tracking(order)["tracking_data"].get("etd"),
                "scans": [s for s in order.scans if s["sr-status"] != "1"],
                "is_return": 0,
            }
            headers = {"x-api-key": state.webhook_token} if state.webhook_token else {}
            async with httpx.AsyncClient(timeout=30) as http:
                answer = await http.post(state.webhook_url, json=payload, headers=headers)
            state.webhooks_sent += 1
            sent = answer.status_code
        return JSONResponse({"awb": order.awb, "scans": len(order.scans), "webhook_status": sent})

    async def set_webhook(request: Request) -> Response:
        body = await json_body(request) or {}
        state.webhook_url = body.get("url") or None
        state.webhook_token = body.get("token") or None
        return JSONResponse({"url": state.webhook_url})

    async def summary(request: Request) -> Response:
        return JSONResponse(
            {
                "purchases": state.purchases,
                "cancellations": state.cancellations,
                "orders": len(state.orders),
                "webhooks_sent": state.webhooks_sent,
                "awbs": {
                    awb: {
                        "reference": o.channel_order_id,
                        "courier": COURIERS[o.courier_id or RECOMMENDED][0],
                        "cancelled": o.cancelled,
                        "pickup_requested": o.pickup_requested,
                    }
                    for awb, o in state.awbs.items()
                },
            }
        )

    async def lose_next(request: Request) -> Response:
        state.lose_next_answer = True
        return JSONResponse({"lose_next_answer": True})

    api = "/v1/external"
    routes = [
        Route(f"{api}/auth/login", login, methods=["POST"]),
        Route(f"{api}/courier/serviceability/", serviceability, methods=["GET"]),
        Route(f"{api}/orders/create/adhoc", create_order, methods=["POST"]),
        Route(f"{api}/orders/update/adhoc", update_order, methods=["POST"]),
        Route(f"{api}/orders", list_orders, methods=["GET"]),
        Route(f"{api}/courier/assign/awb", assign_awb, methods=["POST"]),
        Route(f"{api}/courier/generate/pickup", pickup, methods=["POST"]),
        Route(f"{api}/courier/generate/label", label, methods=["POST"]),
        Route(f"{api}/orders/cancel/shipment/awbs", cancel, methods=["POST"]),
        Route(f"{api}/courier/track/awb/{{awb}}", track, methods=["GET"]),
        Route("/__twin/labels/{awb}.pdf", label_file, methods=["GET"]),
        Route("/__twin/packages/{awb}/scan", scan, methods=["POST"]),
        Route("/__twin/webhook", set_webhook, methods=["POST"]),
        Route("/__twin/summary", summary, methods=["GET"]),
        Route("/__twin/lose-next-answer", lose_next, methods=["POST"]),
        Route(
            "/__twin/",
            controls_index("Shiprocket", CONTROLS, {"email": email, "password": password}),
            methods=["GET"],
        ),
    ]
    app = Starlette(routes=routes)
    app.state.twin = state
    return app
