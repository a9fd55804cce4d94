"""What the return rows of the outbox write to Shopify, and how a write whose outcome is
unknown is checked before it is sent again (``flows.outbox`` claims, retries, records).

==============  ======================================================================
kind            taken effect when (read from Shopify)
==============  ======================================================================
return_dispose  every line's disposed units (all dispositions) reach what the line had
                before the row plus the row's units for it
return_label    the reverse fulfillment order has a reverse delivery with the row's
                tracking number (without one: with a label)
==============  ======================================================================

A disposition is the physical fate of returned units (restocked at a location, not
restocked, missing): the operation's business. ``returnProcess``, which also refunds, is
the merchant's and never sent from here.
"""

from __future__ import annotations

from typing import Any

from fulfillbridge.core.returns import RETURN_DISPOSE, RETURN_LABEL
from fulfillbridge.flows.write_jobs import CannotSend, Sender, WriteJob
from fulfillbridge.shopify import ShopifyClient, operation
from fulfillbridge.shopify.returns import (
    dispose_inputs,
    dispose_took_effect,
    label_present,
    label_variables,
    line_disposed_totals,
)


def _items(job: WriteJob) -> list[dict[str, Any]]:
    items = job.payload.get("items")
    if not items:
        raise CannotSend(f"outbox row {job.id} names no return lines to dispose of")
    return list(items)


async def _dispose_send(client: ShopifyClient, job: WriteJob) -> dict[str, Any]:
    data = await client.execute(
        operation("ReverseFulfillmentOrderDispose"),
        {"dispositionInputs": dispose_inputs(_items(job))},
    )
    lines = (data.get("reverseFulfillmentOrderDispose") or {}).get(
        "reverseFulfillmentOrderLineItems"
    ) or []
    return {"lines": [line["id"] for line in lines]}


async def _dispose_verify(client: ShopifyClient, job: WriteJob) -> dict[str, Any] | None:
    items = _items(job)
    totals: dict[str, int] = {}
    for reverse_order_id in dict.fromkeys(str(item["reverse_order_id"]) for item in items):
        data = await client.execute(
            operation("ReverseFulfillmentOrderDispositions"), {"id": reverse_order_id}
        )
        totals |= line_disposed_totals(data.get("reverseFulfillmentOrder"))
    if dispose_took_effect(items, totals):
        return {"lines": sorted({str(item["line_id"]) for item in items})}
    return None


async def _label_send(client: ShopifyClient, job: WriteJob) -> dict[str, Any]:
    data = await client.execute(
        operation("ReverseDeliveryCreateWithShipping"), label_variables(job.payload)
    )
    delivery = (data.get("reverseDeliveryCreateWithShipping") or {}).get("reverseDelivery") or {}
    return {"reverse_delivery_id": delivery.get("id")}


async def _label_verify(client: ShopifyClient, job: WriteJob) -> dict[str, Any] | None:
    data = await client.execute(
        operation("ReverseFulfillmentOrderDeliveries"), {"id": job.payload["reverse_order_id"]}
    )
    found = label_present(data.get("reverseFulfillmentOrder"), job.payload)
    return {"reverse_delivery_id": found} if found else None


SENDERS: dict[str, Sender] = {
    RETURN_DISPOSE: Sender(_dispose_send, _dispose_verify),
    RETURN_LABEL: Sender(_label_send, _label_verify),
}
RETURN_KINDS = frozenset(SENDERS)
