"""Shopify-facing endpoints: webhooks, fulfillment-service callbacks, tracking numbers.

Thin: read the raw request, hand it to ``flows.intake``, answer. The answer to a webhook
is sent only after its event is committed (``Intake`` waits for the commit). Refusals are
4xx with ``{"error": reason}`` and a log line; secrets and bodies are never logged.

Include with ``app.include_router(router)``; the router's lifespan opens the intake on
``app.state.intake`` over the app's database (``web.dependencies``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from fulfillbridge.config import ConfigError
from fulfillbridge.flows.intake import Accepted, Intake, IntakeRefused, IntakeUnavailable
from fulfillbridge.web.errors import http_status

log = logging.getLogger("fulfillbridge.web.shopify")

# Failures of storage rather than of the request (a 503 makes Shopify deliver again).
_UNAVAILABLE = (IntakeUnavailable, SQLAlchemyError, ConfigError, OSError)
TRACKING_MESSAGE = "Successfully received the tracking numbers"


def _open(app: Any) -> Intake:
    """The app's intake, over the app's database."""
    settings = getattr(app.state, "settings", None)
    hours = settings.webhook_max_age_hours if settings is not None else 72.0
    intake = Intake(app.state.database, max_age=timedelta(hours=hours))
    app.state.intake = intake
    app.state.intake_counter = _counter(app)
    return intake


def _counter(app: Any) -> Counter | None:
    registry = getattr(app.state, "metrics", None)
    if not isinstance(registry, CollectorRegistry):
        return None
    existing = getattr(app.state, "intake_counter", None)
    if existing is not None:
        return existing
    return Counter(
        "fulfillbridge_shopify_intake",
        "Webhooks and callbacks from Shopify by kind and outcome.",
        ["kind", "outcome"],
        registry=registry,
    )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    intake = _open(app)
    try:
        yield
    finally:
        await intake.close()
        app.state.intake = None


router = APIRouter(tags=["shopify"], lifespan=_lifespan)


async def _intake(request: Request) -> Intake:
    intake = getattr(request.app.state, "intake", None)
    if intake is None:  # served without lifespan events: open on first use
        intake = _open(request.app)
    return intake


def _count(request: Request, kind: str, outcome: str) -> None:
    counter = getattr(request.app.state, "intake_counter", None)
    if counter is not None:
        counter.labels(kind, outcome).inc()


def _refused(request: Request, kind: str, exc: IntakeRefused) -> JSONResponse:
    status = http_status(exc)
    _count(request, kind, f"refused_{status}")
    shop = request.headers.get("x-shopify-shop-domain", "-")
    log.warning("%s refused (%d) from shop %s: %s", kind, status, shop, exc.reason)
    return JSONResponse({"error": exc.reason}, status_code=status)


async def verified_fetch(request: Request, store: str, token: str) -> int | JSONResponse:
    """For ``fetch_stock``: the store id once the caller is verified like
    ``fetch_tracking_numbers``, else the refusal to answer."""
    params = request.query_params
    try:
        return await (await _intake(request)).fetch_caller(
            store,
            token,
            shop=params.get("shop"),
            signature=request.headers.get("x-shopify-hmac-sha256"),
            body=await request.body(),
        )
    except IntakeRefused as exc:
        return _refused(request, "fetch_stock", exc)
    except _UNAVAILABLE as exc:
        return _unavailable(request, "fetch_stock", exc)


def _unavailable(request: Request, kind: str, exc: Exception) -> JSONResponse:
    """The database could not be reached: 503, so Shopify retries; nothing was stored."""
    _count(request, kind, "unavailable")
    log.error("%s not stored: %s", kind, type(exc).__name__)
    return JSONResponse(
        {"error": "the bridge cannot store events right now; deliver again later"},
        status_code=503,
    )


def _accepted(request: Request, kind: str, accepted: Accepted) -> JSONResponse:
    _count(request, kind, "stored" if accepted.stored else "duplicate")
    return JSONResponse({"ok": True, "duplicate": not accepted.stored})


class ShopifyError(BaseModel):
    error: str


def shopify_answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "The body is not what Shopify sends (missing header, not JSON, nested deeper "
        "than 64 levels), or the Content-Length header is not a number.",
        401: "Not verified: the HMAC signature does not match (an unknown shop is answered "
        "the same), the shop is not the store's, or X-Shopify-Triggered-At is too old.",
        404: "No fulfillment service answers at this address: an unknown store and a wrong "
        "callback token are answered the same.",
        413: "The body is larger than 2 MB.",
        503: "The event could not be stored; Shopify delivers it again.",
    }
    return {code: {"model": ShopifyError, "description": described[code]} for code in codes}


@router.post(
    "/webhooks/shopify",
    summary="Receive a Shopify webhook",
    responses=shopify_answers(400, 401, 413, 503),
)
async def receive_webhook(request: Request) -> JSONResponse:
    """Verified (HMAC over the raw body), stored once per webhook id, then answered 200."""
    body = await request.body()  # bounded by web.limits before it is read
    try:
        accepted = await (await _intake(request)).webhook(request.headers, body)
    except IntakeRefused as exc:
        return _refused(request, "webhook", exc)
    except _UNAVAILABLE as exc:
        return _unavailable(request, "webhook", exc)
    return _accepted(request, "webhook", accepted)


async def _notification(store: str, token: str | None, request: Request) -> JSONResponse:
    body = await request.body()
    try:
        intake = await _intake(request)
        accepted = await intake.callback(store, request.headers, body, token=token)
    except IntakeRefused as exc:
        return _refused(request, "callback", exc)
    except _UNAVAILABLE as exc:
        return _unavailable(request, "callback", exc)
    return _accepted(request, "callback", accepted)


@router.post(
    "/shopify/{store}/{token}/fulfillment_order_notification",
    summary="Receive a fulfillment-service notification",
    responses=shopify_answers(400, 401, 404, 413, 503),
)
async def receive_fulfillment_notification(
    store: str, token: str, request: Request
) -> JSONResponse:
    """Shopify's ping that fulfillment or cancellation requests wait for the service; the
    address is the callback URL `store setup` registered (with the store's token)."""
    return await _notification(store, token, request)


@router.post(
    "/shopify/{store}/fulfillment_order_notification",
    summary="Receive a fulfillment-service notification at the store's plain address",
    responses=shopify_answers(400, 401, 413, 503),
)
async def receive_fulfillment_notification_untokened(store: str, request: Request) -> JSONResponse:
    """The same notification at the address without the callback token. Notifications are
    signed, so the signature alone lets them in; an unknown store is refused like a bad
    signature (401)."""
    return await _notification(store, None, request)


@router.get(
    "/shopify/{store}/{token}/fetch_tracking_numbers",
    summary="Tracking numbers for fulfillments (Shopify's fulfillment-service call)",
    responses=shopify_answers(400, 401, 404, 413),
)
async def fetch_tracking_numbers(store: str, token: str, request: Request) -> JSONResponse:
    """``?order_names[]=#1001.1&order_names[]=...`` -> ``{"tracking_numbers": {...}}``."""
    params = request.query_params
    names = params.getlist("order_names[]") + params.getlist("order_names")
    body = await request.body()
    try:
        numbers = await (await _intake(request)).tracking_numbers(
            store,
            names,
            token=token,
            shop=params.get("shop"),
            signature=request.headers.get("x-shopify-hmac-sha256"),
            body=body,
        )
    except IntakeRefused as exc:
        return _refused(request, "fetch_tracking_numbers", exc)
    except _UNAVAILABLE as exc:
        return _unavailable(request, "fetch_tracking_numbers", exc)
    return JSONResponse({"tracking_numbers": numbers, "message": TRACKING_MESSAGE, "success": True})
