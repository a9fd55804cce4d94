"""The outbox's writes about fulfillments: creating one (with its tracking), updating its
tracking, adding a delivery event; each with the check ``flows.outbox`` runs before it
sends a row whose outcome is unknown again (the table in ``flows.shopify_writes``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fulfillbridge.flows.write_jobs import CannotSend, WriteJob, gid
from fulfillbridge.shopify import ShopifyClient, operation


def _wanted_lines(job: WriteJob) -> dict[str, int]:
    lines = job.payload.get("lines") or {}
    return {gid("FulfillmentOrderLineItem", k): int(v) for k, v in lines.items() if int(v) > 0}


def _wanted_numbers(tracking: list[dict[str, Any]]) -> list[str]:
    return [str(t["number"]) for t in tracking if t.get("number")]


def tracking_input(tracking: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A FulfillmentTrackingInput for our packages: one package as number/url, several as
    numbers/urls (Shopify docs: one company per fulfillment, so the first one given)."""
    packages = [t for t in tracking if t.get("number") or t.get("url")]
    if not packages:
        company = next((t.get("company") for t in tracking if t.get("company")), None)
        return {"company": company} if company else None
    company = next((t.get("company") for t in packages if t.get("company")), None)
    result: dict[str, Any] = {}
    if company:
        result["company"] = company
    if len(packages) == 1:
        if packages[0].get("number"):
            result["number"] = packages[0]["number"]
        if packages[0].get("url"):
            result["url"] = packages[0]["url"]
        return result
    result["numbers"] = [str(t.get("number") or "") for t in packages]
    if all(t.get("url") for t in packages):
        # urls pair with numbers by position, so they are sent only when every one is known.
        result["urls"] = [t["url"] for t in packages]
    return result


async def fulfillment_send(client: ShopifyClient, job: WriteJob) -> dict[str, Any]:
    group: dict[str, Any] = {"fulfillmentOrderId": job.fulfillment_order_id}
    lines = _wanted_lines(job)
    if lines:
        group["fulfillmentOrderLineItems"] = [{"id": k, "quantity": v} for k, v in lines.items()]
    fulfillment: dict[str, Any] = {
        "lineItemsByFulfillmentOrder": [group],
        "notifyCustomer": bool(job.payload.get("notify_customer", True)),
    }
    tracking = tracking_input(list(job.payload.get("tracking") or []))
    if tracking:
        fulfillment["trackingInfo"] = tracking
    data = await client.execute(operation("FulfillmentCreate"), {"fulfillment": fulfillment})
    created = data["fulfillmentCreate"]["fulfillment"] or {}
    return {"fulfillment_id": created.get("id")}


async def fulfillment_verify(client: ShopifyClient, job: WriteJob) -> dict[str, Any] | None:
    data = await client.execute(
        operation("OutboxFulfillmentOrderFulfillments"), {"id": job.fulfillment_order_id}
    )
    fo = data.get("fulfillmentOrder")
    if fo is None:
        raise CannotSend(f"Shopify has no fulfillment order {job.fulfillment_order_id}")
    order_line_of = {n["id"]: n["lineItem"]["id"] for n in fo["lineItems"]["nodes"]}
    # Kept for the outbox's decision whether a resend could fulfil twice (core.resend).
    job.remaining = {n["id"]: int(n["remainingQuantity"]) for n in fo["lineItems"]["nodes"]}
    wanted: dict[str, int] = {}
    for foli, quantity in _wanted_lines(job).items():
        line = order_line_of.get(foli)
        if line is None:
            return None
        wanted[line] = wanted.get(line, 0) + quantity
    numbers = sorted(_wanted_numbers(list(job.payload.get("tracking") or [])))
    for fulfillment in fo["fulfillments"]["nodes"]:
        if fulfillment["id"] in job.known_fulfillments or fulfillment["status"] == "CANCELLED":
            continue
        got: dict[str, int] = {}
        for item in fulfillment["fulfillmentLineItems"]["nodes"]:
            line = item["lineItem"]["id"]
            got[line] = got.get(line, 0) + int(item["quantity"])
        if wanted and got != wanted:
            continue
        have = sorted(str(t["number"]) for t in fulfillment["trackingInfo"] if t.get("number"))
        if numbers and have != numbers:
            continue
        return {"fulfillment_id": fulfillment["id"]}
    return None


def _fulfillment_ids(job: WriteJob) -> list[str]:
    if not job.fulfillment_ids:
        raise CannotSend(
            f"no Shopify fulfillment is known for {job.kind} (shipment "
            f"{job.payload.get('shipment_id')}): its fulfillment was not created yet"
        )
    return [gid("Fulfillment", f) for f in job.fulfillment_ids]


async def _fulfillment_state(client: ShopifyClient, fulfillment_id: str) -> dict[str, Any]:
    data = await client.execute(operation("OutboxFulfillmentState"), {"id": fulfillment_id})
    fulfillment = data.get("fulfillment")
    if fulfillment is None:
        raise CannotSend(f"Shopify has no fulfillment {fulfillment_id}")
    return fulfillment


async def tracking_send(client: ShopifyClient, job: WriteJob) -> dict[str, Any]:
    tracking = tracking_input(list(job.payload.get("tracking") or []))
    if not tracking:
        raise CannotSend("a tracking update needs at least one package")
    for fulfillment_id in _fulfillment_ids(job):
        await client.execute(
            operation("FulfillmentTrackingInfoUpdate"),
            {
                "fulfillmentId": fulfillment_id,
                "trackingInfoInput": tracking,
                "notifyCustomer": bool(job.payload.get("notify_customer", False)),
            },
        )
    return {"fulfillment_ids": _fulfillment_ids(job)}


async def tracking_verify(client: ShopifyClient, job: WriteJob) -> dict[str, Any] | None:
    numbers = sorted(_wanted_numbers(list(job.payload.get("tracking") or [])))
    for fulfillment_id in _fulfillment_ids(job):
        state = await _fulfillment_state(client, fulfillment_id)
        have = sorted(str(t["number"]) for t in state["trackingInfo"] if t.get("number"))
        if have != numbers:
            return None
    return {"fulfillment_ids": _fulfillment_ids(job)}


def _event_status(job: WriteJob) -> str:
    return str(job.payload.get("status") or "DELIVERED").upper()


def _instant(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _existing_event(job: WriteJob, events: list[dict[str, Any]]) -> str | None:
    """Our event among the fulfillment's: same status and, when the row names the time the
    scan happened, that time (a parcel can be out for delivery on two days)."""
    status = _event_status(job)
    wanted = _instant(job.payload.get("happened_at"))
    for event in events:
        if event["status"] != status:
            continue
        if wanted is None or _instant(event.get("happenedAt")) == wanted:
            return str(event["id"])
    return None


async def event_send(client: ShopifyClient, job: WriteJob) -> dict[str, Any]:
    # Each fulfillment is checked first, so a repeat never adds a second event.
    status = _event_status(job)
    events: dict[str, Any] = {}
    for fulfillment_id in _fulfillment_ids(job):
        state = await _fulfillment_state(client, fulfillment_id)
        existing = _existing_event(job, state["events"]["nodes"])
        if existing:
            events[fulfillment_id] = existing
            continue
        event: dict[str, Any] = {"fulfillmentId": fulfillment_id, "status": status}
        for key, name in (
            ("happened_at", "happenedAt"),
            ("message", "message"),
            ("estimated_delivery_at", "estimatedDeliveryAt"),
        ):
            if job.payload.get(key):
                event[name] = job.payload[key]
        data = await client.execute(
            operation("FulfillmentEventCreate"), {"fulfillmentEvent": event}
        )
        events[fulfillment_id] = (data["fulfillmentEventCreate"]["fulfillmentEvent"] or {}).get(
            "id"
        )
    return {"events": events}


async def event_verify(client: ShopifyClient, job: WriteJob) -> dict[str, Any] | None:
    events: dict[str, Any] = {}
    for fulfillment_id in _fulfillment_ids(job):
        state = await _fulfillment_state(client, fulfillment_id)
        existing = _existing_event(job, state["events"]["nodes"])
        if not existing:
            return None
        events[fulfillment_id] = existing
    return {"events": events}
