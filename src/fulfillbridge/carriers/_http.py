"""HTTP for the adapters of our own (carriers karrio does not cover): an async client per
call, and a carrier's failures turned into the carrier layer's errors in one place.

A purchase is the one call whose failure is not simply "no": when the request may have
reached the carrier (a timeout after sending, a gateway error page, an unreadable answer)
the outcome is unknown and the caller must look the label up before buying again.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx

from fulfillbridge.carriers._models import CarrierError, OutcomeUnknown
from fulfillbridge.core.errors import ShippingErrorCode

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# India Standard Time: the Indian aggregators write local times without a zone.
IST = timezone(timedelta(hours=5, minutes=30))


@asynccontextmanager
async def client(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=TIMEOUT) as http:
        yield http


async def send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    carrier: str,
    purchase: bool = False,
    **kwargs: Any,
) -> httpx.Response:
    try:
        response = await http.request(method, url, **kwargs)
    except httpx.ConnectError as exc:  # never reached the carrier: nothing was bought
        raise CarrierError(
            f"{carrier} could not be reached: {exc}", code=ShippingErrorCode.UNAVAILABLE
        ) from exc
    except httpx.TransportError as exc:
        if purchase:
            raise OutcomeUnknown(
                f"no answer from {carrier} after the purchase was sent: {exc}"
            ) from exc
        raise CarrierError(
            f"{carrier} did not answer: {exc}", code=ShippingErrorCode.UNAVAILABLE
        ) from exc
    if purchase and response.status_code >= 500:
        raise OutcomeUnknown(
            f"{carrier} answered the purchase with HTTP {response.status_code}: it may have "
            "bought the label"
        )
    return response


def body(response: httpx.Response, *, carrier: str) -> Any:
    """The answer as JSON; anything else (a proxy's error page) is the carrier failing."""
    try:
        return json.loads(response.content)
    except ValueError:
        raise CarrierError(
            f"{carrier} answered HTTP {response.status_code} without JSON",
            code=ShippingErrorCode.UNAVAILABLE,
        ) from None


async def document(http: httpx.AsyncClient, url: str, *, carrier: str) -> bytes:
    """A label the carrier links to (a PDF on its file server)."""
    response = await send(http, "GET", url, carrier=carrier)
    if response.status_code != 200 or not response.content.startswith(b"%PDF"):
        raise CarrierError(
            f"{carrier}'s label at {url} could not be fetched (HTTP {response.status_code})",
            code=ShippingErrorCode.UNAVAILABLE,
        )
    return response.content


def local_time(text: Any) -> datetime | None:
    """A carrier's time: ISO 8601 with a zone as given, a zoneless one as Indian time."""
    if not text or not isinstance(text, str):
        return None
    value = text.strip().replace("Z", "+00:00")
    for pattern in ("%Y-%m-%d %H:%M:%S", "%d %m %Y %H:%M:%S", "%b %d, %Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=IST).astimezone(UTC)
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=IST)).astimezone(UTC)
