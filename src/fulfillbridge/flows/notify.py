"""Signed webhooks to the operation (outbox rows with target ``operation``).

Each delivery is a JSON POST to ``settings.operation_webhook_url``::

    {"event": "new_work", "delivery": "<idempotency key>", "store": "shop-a",
     "work_order_id": 12, "fulfillment_order_id": "gid://...", "data": {...}}

with headers ``X-Fulfillbridge-Event`` (the event), ``X-Fulfillbridge-Delivery`` (the row's
idempotency key: the same on every retry, so the receiver can drop repeats) and
``X-Fulfillbridge-Signature``: base64 of HMAC-SHA256 over the raw body with
``settings.operation_webhook_secret``, the scheme Shopify uses for its own webhooks. A 2xx
answer is success; anything else, or no answer, is retried by the outbox with backoff.

Rows are queued by whoever decides (``WorkRepository.queue(store_id, work_id,
Effect(WORK_NEW, data), target="operation")``) and sent by ``flows.outbox.send_due``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import httpx

from fulfillbridge.config import Settings

# Event names (the outbox row's ``kind``) the bridge announces; flows.processing queues them.
WORK_NEW = "new_work"
WORK_CANCELLED = "cancelled"

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


async def deliver(
    settings: Settings,
    *,
    event: str,
    delivery_id: str,
    body: bytes,
    http: httpx.AsyncClient | None = None,
) -> Delivery:
    """POST one signed delivery; never raises for HTTP or network trouble."""
    url = settings.operation_webhook_url
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
