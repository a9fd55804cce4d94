"""Work orders as plain data: the one shape the API, the CLI (``--json``, CSV), the dashboard
and the operation's webhooks all show. Everything the operation needs to make and ship the
order is in it: lines with personalisation, options, image, price and customs data; notes;
the delivery method and the carrier it maps to; deadlines; payment state; holds and flags.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.core.details import OrderDetails
from fulfillbridge.core.work import WorkLine, WorkOrder
from fulfillbridge.store.models import ShipmentRow, WorkOrderRow, WorkTransitionRow
from fulfillbridge.store.models import as_utc as utc
from fulfillbridge.store.work import WorkRepository, to_domain


def _pairs(pairs: tuple[tuple[str, str], ...], first: str, second: str) -> list[dict[str, str]]:
    return [{first: a, second: b} for a, b in pairs]


def line_view(line: WorkLine, currency: str) -> dict[str, Any]:
    return {
        "line_id": line.line_id,
        "sku": line.sku,
        "title": line.title,
        "quantity": line.quantity,
        "shipped": line.shipped,
        "remaining": line.remaining,
        "requires_shipping": line.requires_shipping,
        "product_id": line.product_id,
        "variant_id": line.variant_id,
        "product_title": line.product_title,
        "variant_title": line.variant_title,
        "options": _pairs(line.options, "name", "value"),
        "vendor": line.vendor,
        "image_url": line.image_url,
        "properties": _pairs(line.properties, "key", "value"),
        "unit_price": line.unit_price,
        "discounted_unit_price": line.discounted_unit_price,
        "line_total": line.line_total,
        "currency": currency or None,
        "weight_grams": line.weight_grams,
        "hs_code": line.hs_code,
        "country_of_origin": line.country_of_origin,
        "metafields": line.metafields,
    }


def details_view(details: OrderDetails) -> dict[str, Any]:
    delivery = details.delivery
    return {
        "note": details.note,
        "note_attributes": _pairs(details.note_attributes, "key", "value"),
        "tags": list(details.tags),
        "customer": {
            "email": details.email,
            "phone": details.phone,
            "read": details.customer_read,
        },
        "currency": details.currency or None,
        "payment": {"state": details.payment.value, "financial_status": details.financial_status},
        "delivery": {
            "kind": delivery.kind.value,
            "presented_name": delivery.presented_name,
            "service_code": delivery.service_code,
            "shipping_title": delivery.shipping_title,
            "shipping_code": delivery.shipping_code,
            "min_delivery_at": delivery.min_delivery_at,
            "max_delivery_at": delivery.max_delivery_at,
            "carrier": delivery.carrier,
            "carrier_service": delivery.carrier_service,
            "mapping_rule": delivery.mapping_rule,
        },
        "fulfill_by": details.fulfill_by,
        "fulfill_at": details.fulfill_at,
        "metafields": details.metafields,
        "warnings": list(details.warnings),
    }


def is_overdue(order: WorkOrder, now: datetime) -> bool:
    deadline = order.details.fulfill_by
    return (
        deadline is not None
        and not order.is_final
        and deadline < now
        and any(line.remaining for line in order.lines)
    )


def work_view(row: WorkOrderRow, store: str, *, now: datetime | None = None) -> dict[str, Any]:
    """A work order as plain data (the API's, the webhooks' and ``orders list --json``'s)."""
    order = to_domain(row, store)
    details = order.details
    return {
        "id": row.id,
        "store": store,
        "order_name": row.order_name,
        "order_id": row.order_remote_id,
        "fulfillment_order_id": row.remote_id,
        "mode": row.mode,
        "state": row.state,
        "stage": row.stage,
        "warehouse": row.warehouse,
        "location_id": row.location_remote_id,
        "hold_reason": row.hold_reason,
        "held_by": row.held_by,
        "problems": list(row.problems or []),
        "flags": list(order.flags),
        "cancel_requested": bool(row.cancel_requested),
        "overdue": is_overdue(order, now or datetime.now(UTC)),
        "lines": [line_view(line, details.currency) for line in order.lines],
        "shipping_address": row.shipping_address,
        "billing_address": row.billing_address,
        **details_view(details),
        "created_at": utc(row.created_at),
        "updated_at": utc(row.updated_at),
    }


def json_ready(value: Any) -> Any:
    """``value`` with datetimes as ISO 8601 text (for webhook bodies and CSV)."""
    if isinstance(value, datetime):
        return utc(value).isoformat()
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


async def shipments_of(session: AsyncSession, work_id: int) -> list[ShipmentRow]:
    rows = await session.scalars(
        select(ShipmentRow).where(ShipmentRow.work_order_id == work_id).order_by(ShipmentRow.id)
    )
    return list(rows)


def shipment_view(shipment: ShipmentRow, row: WorkOrderRow) -> dict[str, Any]:
    skus = {line["line_id"]: line.get("sku") for line in row.lines}
    return {
        "id": shipment.id,
        "work_id": shipment.work_order_id,
        "lines": [
            {"line_id": line_id, "sku": skus.get(line_id), "quantity": quantity}
            for line_id, quantity in shipment.lines.items()
        ],
        "packages": list(shipment.tracking),
        "status": shipment.status,
        "fulfillment_id": shipment.remote_fulfillment_id,
        "delivered_at": utc(shipment.delivered_at) if shipment.delivered_at else None,
        "created_at": utc(shipment.created_at),
    }


def transition_view(transition: WorkTransitionRow) -> dict[str, Any]:
    return {
        "at": utc(transition.at),
        "from_state": transition.from_state,
        "to_state": transition.to_state,
        "stage": transition.stage,
        "actor": transition.actor,
        "detail": transition.detail or {},
    }


async def work_detail(session: AsyncSession, row: WorkOrderRow, store: str) -> dict[str, Any]:
    """The work view with its timeline and shipments (API and ``orders show``)."""
    view = work_view(row, store)
    view["transitions"] = [
        transition_view(t) for t in await WorkRepository(session).transitions(row.id)
    ]
    view["shipments"] = [shipment_view(s, row) for s in await shipments_of(session, row.id)]
    return view
