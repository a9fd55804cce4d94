"""Signed webhooks to the operation (outbox rows with target ``operation``).

Each delivery is a JSON POST to the store's ``operation_webhook_url`` (``store configure
--operation-webhook-url``), else ``settings.operation_webhook_url``::

    {"event": "new_work", "delivery": "<idempotency key>", "store": "shop-a",
     "work_order_id": 12, "fulfillment_order_id": "gid://...", "data": {<the work view>}}

Events: ``new_work``, ``updated``, ``on_hold``, ``released``, ``cancellation_requested``,
``cancelled``, ``deadline_approaching``, ``shipped``, ``ready_for_pickup``, ``scheduled``;
for returns (``flows.returns``) ``return_expected``, ``return_received``, ``return_disposed``,
``return_declined``, ``return_cancelled``, ``return_closed``, ``return_updated``, whose
``data`` is the return as the API shows it. For work, ``data`` is the whole work order as
the API shows it (``flows.work_views.work_view``) at the time of the event, plus ``reason``
when a change in Shopify caused it.

Signed by the Standard Webhooks convention, so receivers can verify with its libraries:
``webhook-id`` (the row's idempotency key, the same on every retry: drop repeats on it),
``webhook-timestamp`` (Unix seconds of the attempt) and ``webhook-signature``
(``v1,`` + base64 HMAC-SHA256 of ``"{id}.{timestamp}.{body}"``). The key is the UTF-8 bytes
of ``operation_webhook_secret`` (a receiver's library takes it as ``whsec_`` + base64 of those
bytes; :func:`standard_secret` prints it). ``X-Fulfillbridge-Event`` names the event, and
``X-Fulfillbridge-Signature`` (base64 HMAC-SHA256 of the body alone) stays for receivers
written before. A 2xx answer is success; anything else, or no answer, is retried by the
outbox with backoff, and every delivery is listed with its attempts and last error
(``GET /api/v1/deliveries``) and can be sent again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from fulfillbridge.config import Settings
from fulfillbridge.flows.write_jobs import WriteJob

# Event names (the outbox row's ``kind``) the bridge announces.
WORK_NEW = "new_work"
WORK_UPDATED = "updated"
WORK_ON_HOLD = "on_hold"
WORK_RELEASED = "released"
WORK_CANCELLATION_REQUESTED = "cancellation_requested"
WORK_CANCELLED = "cancelled"
WORK_DEADLINE = "deadline_approaching"
WORK_SHIPPED = "shipped"
WORK_READY_FOR_PICKUP = "ready_for_pickup"
WORK_SCHEDULED = "scheduled"
EVENTS = (
    WORK_NEW,
    WORK_UPDATED,
    WORK_ON_HOLD,
    WORK_RELEASED,
    WORK_CANCELLATION_REQUESTED,
    WORK_CANCELLED,
    WORK_DEADLINE,
    WORK_SHIPPED,
    WORK_READY_FOR_PICKUP,
    WORK_SCHEDULED,
)

SIGNATURE_HEADER = "X-Fulfillbridge-Signature"
EVENT_HEADER = "X-Fulfillbridge-Event"
DELIVERY_HEADER = "X-Fulfillbridge-Delivery"
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Delivery:
    """What became of one attempt: ``delivered``, or not with ``error`` saying why;
    ``retry`` False when sending again cannot help (nothing configured)."""

    delivered: bool
    error: str | None = None
    retry: bool = True
    status_code: int | None = None


def sign(raw_body: bytes, secret: str) -> str:
    """The ``X-Fulfillbridge-Signature`` value for ``raw_body``."""
    digest = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def standard_secret(secret: str) -> str:
    """The secret as Standard Webhooks libraries take it (``whsec_`` + base64)."""
    return "whsec_" + base64.b64encode(secret.encode("utf-8")).decode("ascii")


def standard_headers(raw_body: bytes, secret: str, delivery_id: str, at: int) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` for one attempt."""
    signed = Webhook(secret.encode("utf-8")).sign(
        delivery_id, datetime.fromtimestamp(at, UTC), raw_body.decode("utf-8")
    )
    return {"webhook-id": delivery_id, "webhook-timestamp": str(at), "webhook-signature": signed}


def verify(raw_body: bytes, signature: str | None, secret: str) -> bool:
    """For receivers (and tests): constant-time check of a delivery's signature."""
    if not signature or not secret:
        return False
    return hmac.compare_digest(sign(raw_body, secret).encode(), signature.strip().encode())


def body_for(
    *,
    event: str,
    delivery_id: str,
    store: str | None,
    work_order_id: int | None,
    fulfillment_order_id: str | None,
    data: dict[str, Any],
) -> bytes:
    document = {
        "event": event,
        "delivery": delivery_id,
        "store": store,
        "work_order_id": work_order_id,
        "fulfillment_order_id": fulfillment_order_id,
        "data": data,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str).encode()


def target_url(settings: Settings, store_settings: dict[str, Any] | None) -> str | None:
    """Where a store's deliveries go: its own URL, else the global one."""
    own = (store_settings or {}).get("operation_webhook_url")
    return own or settings.operation_webhook_url


async def deliver(
    settings: Settings,
    *,
    event: str,
    delivery_id: str,
    body: bytes,
    url: str | None = None,
    http: httpx.AsyncClient | None = None,
) -> Delivery:
    """POST one signed delivery; never raises for HTTP or network trouble."""
    url = url or settings.operation_webhook_url
    if not url:
        return Delivery(False, "no operation_webhook_url is configured", retry=False)
    secret = (
        settings.operation_webhook_secret.get_secret_value()
        if settings.operation_webhook_secret
        else ""
    )
    if not secret:
        return Delivery(
            False, "operation_webhook_secret is not set: deliveries must be signed", retry=False
        )
    headers = {
        "Content-Type": "application/json",
        **standard_headers(body, secret, delivery_id, int(time.time())),
        SIGNATURE_HEADER: sign(body, secret),
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery_id,
        "User-Agent": "fulfillbridge",
    }
    owned = http is None
    client = http or httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False)
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return Delivery(
            False, f"could not deliver to the operation's webhook: {type(exc).__name__}"
        )
    finally:
        if owned:
            await client.aclose()
    if 200 <= response.status_code < 300:
        return Delivery(True, status_code=response.status_code)
    return Delivery(
        False,
        f"the operation's webhook answered HTTP {response.status_code}",
        status_code=response.status_code,
    )


@dataclass(frozen=True)
class SendOutcome:
    """An outbox row's new status after one delivery attempt, and what to record."""

    status: str  # done, pending (send again) or failed / skipped (do not)
    error: str | None = None
    result: dict[str, Any] | None = None


async def send_job(settings: Settings, job: WriteJob) -> SendOutcome:
    """Deliver one claimed outbox row with target ``operation``."""
    url = job.operation_url or settings.operation_webhook_url
    if not url:
        return SendOutcome("skipped", "no operation_webhook_url is configured")
    body = body_for(
        event=job.kind,
        delivery_id=job.idempotency_key,
        store=job.store_name,
        work_order_id=job.work_order_id,
        fulfillment_order_id=job.fulfillment_order_id,
        data=job.payload,
    )
    delivery = await deliver(
        settings, event=job.kind, delivery_id=job.idempotency_key, body=body, url=url
    )
    if delivery.delivered:
        return SendOutcome("done", result={"status_code": delivery.status_code})
    return SendOutcome("pending" if delivery.retry else "failed", delivery.error)
