"""Work orders in the database: loading them as ``core.work.WorkOrder`` values and storing
an ``Outcome`` (new state, transition row, outbox rows) in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.core.details import Delivery, DeliveryKind, OrderDetails, PaymentState
from fulfillbridge.core.errors import FulfillbridgeError, WorkErrorCode
from fulfillbridge.core.work import (
    Address,
    Effect,
    Mode,
    Outcome,
    WorkLine,
    WorkOrder,
    WorkState,
)
from fulfillbridge.store.models import OutboxRow, WorkOrderRow, WorkTransitionRow, as_utc


class WorkOrderNotFound(FulfillbridgeError, LookupError):
    default_code = WorkErrorCode.NOT_FOUND


def _address(data: dict | None) -> Address | None:
    return Address(**data) if data else None


def _pairs(raw: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v)) for k, v in raw or ())


_LINE_FIELDS = {f.name for f in fields(WorkLine)}


def line_from_json(data: dict[str, Any]) -> WorkLine:
    known = {k: v for k, v in data.items() if k in _LINE_FIELDS}
    known["options"] = _pairs(known.get("options"))
    known["properties"] = _pairs(known.get("properties"))
    known["metafields"] = dict(known.get("metafields") or {})
    return WorkLine(**known)


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def details_to_json(details: OrderDetails) -> dict[str, Any]:
    delivery = details.delivery
    return {
        "note": details.note,
        "note_attributes": [list(pair) for pair in details.note_attributes],
        "tags": list(details.tags),
        "email": details.email,
        "phone": details.phone,
        "customer_read": details.customer_read,
        "currency": details.currency,
        "payment": details.payment.value,
        "financial_status": details.financial_status,
        "delivery": {
            "kind": delivery.kind.value,
            "presented_name": delivery.presented_name,
            "service_code": delivery.service_code,
            "shipping_title": delivery.shipping_title,
            "shipping_code": delivery.shipping_code,
            "min_delivery_at": _iso(delivery.min_delivery_at),
            "max_delivery_at": _iso(delivery.max_delivery_at),
            "carrier": delivery.carrier,
            "carrier_service": delivery.carrier_service,
            "mapping_rule": delivery.mapping_rule,
        },
        "fulfill_by": _iso(details.fulfill_by),
        "fulfill_at": _iso(details.fulfill_at),
        "metafields": details.metafields,
        "warnings": list(details.warnings),
    }


def details_from_json(data: dict[str, Any] | None) -> OrderDetails:
    if not data:
        return OrderDetails()
    raw = data.get("delivery") or {}
    delivery = Delivery(
        kind=DeliveryKind(raw.get("kind") or DeliveryKind.SHIPPING.value),
        presented_name=raw.get("presented_name") or "",
        service_code=raw.get("service_code") or "",
        shipping_title=raw.get("shipping_title") or "",
        shipping_code=raw.get("shipping_code") or "",
        min_delivery_at=_time(raw.get("min_delivery_at")),
        max_delivery_at=_time(raw.get("max_delivery_at")),
        carrier=raw.get("carrier"),
        carrier_service=raw.get("carrier_service"),
        mapping_rule=raw.get("mapping_rule"),
    )
    return OrderDetails(
        note=data.get("note") or "",
        note_attributes=_pairs(data.get("note_attributes")),
        tags=tuple(data.get("tags") or ()),
        email=data.get("email"),
        phone=data.get("phone"),
        customer_read=bool(data.get("customer_read", True)),
        currency=data.get("currency") or "",
        payment=PaymentState(data.get("payment") or PaymentState.UNKNOWN.value),
        financial_status=data.get("financial_status") or "",
        delivery=delivery,
        fulfill_by=_time(data.get("fulfill_by")),
        fulfill_at=_time(data.get("fulfill_at")),
        metafields=dict(data.get("metafields") or {}),
        warnings=tuple(data.get("warnings") or ()),
    )


def to_domain(row: WorkOrderRow, store_name: str) -> WorkOrder:
    return WorkOrder(
        store=store_name,
        remote_id=row.remote_id,
        order_name=row.order_name,
        mode=Mode(row.mode),
        lines=tuple(line_from_json(line) for line in row.lines),
        state=WorkState(row.state),
        stage=row.stage,
        warehouse=row.warehouse,
        shipping_address=_address(row.shipping_address),
        billing_address=_address(row.billing_address),
        held_from=WorkState(row.held_from) if row.held_from else None,
        hold_reason=row.hold_reason,
        held_by=row.held_by,
        problems=tuple(row.problems or ()),
        cancel_requested=row.cancel_requested,
        answered_cancellation=row.answered_cancellation,
        details=details_from_json(row.details),
        flags=tuple(row.flags or ()),
    )


def _write_fields(row: WorkOrderRow, order: WorkOrder) -> None:
    row.order_name = order.order_name
    row.mode = order.mode.value
    row.lines = [asdict(line) for line in order.lines]
    row.state = order.state.value
    row.stage = order.stage
    row.warehouse = order.warehouse
    row.shipping_address = asdict(order.shipping_address) if order.shipping_address else None
    row.billing_address = asdict(order.billing_address) if order.billing_address else None
    row.held_from = order.held_from.value if order.held_from else None
    row.hold_reason = order.hold_reason
    row.held_by = order.held_by
    row.problems = list(order.problems)
    row.cancel_requested = order.cancel_requested
    row.answered_cancellation = order.answered_cancellation
    row.details = details_to_json(order.details)
    row.flags = list(order.flags)
    deadline = order.details.fulfill_by
    stored = as_utc(row.fulfill_by) if row.fulfill_by else None
    if stored != deadline:
        # A new deadline is announced again when it comes near (flows.deadlines).
        row.fulfill_by = deadline
        row.deadline_notified = False


class WorkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def resume_waiting_writes(self, work_order_id: int) -> None:
        """Send the work order's waiting Shopify writes now (e.g. a fulfillment Shopify
        refused while the order was on hold, once the hold is released)."""
        await self._session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.work_order_id == work_order_id,
                OutboxRow.status == "pending",
                OutboxRow.target == "shopify",
            )
            .values(next_attempt_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )

    async def find(self, store_id: int, remote_id: str) -> WorkOrderRow | None:
        return await self._session.scalar(
            select(WorkOrderRow).where(
                WorkOrderRow.store_id == store_id, WorkOrderRow.remote_id == remote_id
            )
        )

    async def get(self, work_id: int) -> WorkOrderRow:
        row = await self._session.get(WorkOrderRow, work_id)
        if row is None:
            raise WorkOrderNotFound(f"no work order {work_id}")
        return row

    async def create(
        self,
        store_id: int,
        order: WorkOrder,
        *,
        order_remote_id: str,
        location_remote_id: str | None,
        actor: str,
        remote_status: str | None = None,
        remote_request_status: str | None = None,
        remote_updated_at: datetime | None = None,
    ) -> WorkOrderRow:
        row = WorkOrderRow(
            store_id=store_id,
            remote_id=order.remote_id,
            order_remote_id=order_remote_id,
            location_remote_id=location_remote_id,
            remote_status=remote_status,
            remote_request_status=remote_request_status,
            remote_updated_at=remote_updated_at,
        )
        _write_fields(row, order)
        self._session.add(row)
        await self._session.flush()
        self._session.add(
            WorkTransitionRow(
                work_order_id=row.id, from_state=None, to_state=row.state, actor=actor
            )
        )
        return row

    async def store_outcome(
        self,
        row: WorkOrderRow,
        outcome: Outcome,
        *,
        actor: str,
        detail: dict[str, Any] | None = None,
    ) -> list[OutboxRow]:
        """Write the outcome's order onto ``row``, record the transition (when the state or
        stage changed), and queue its effects; all in the caller's transaction."""
        before_state, before_stage = row.state, row.stage
        _write_fields(row, outcome.order)
        noted = bool(detail and detail.get("reason"))
        if row.state != before_state or row.stage != before_stage or outcome.effects or noted:
            self._session.add(
                WorkTransitionRow(
                    work_order_id=row.id,
                    from_state=before_state,
                    to_state=row.state,
                    stage=row.stage,
                    actor=actor,
                    detail=detail or {},
                )
            )
        queued = [self.queue(row.store_id, row.id, effect) for effect in outcome.effects]
        await self._session.flush()
        return queued

    def queue(
        self, store_id: int, work_order_id: int | None, effect: Effect, *, target: str = "shopify"
    ) -> OutboxRow:
        entry = OutboxRow(
            store_id=store_id,
            work_order_id=work_order_id,
            target=target,
            kind=effect.kind,
            payload=dict(effect.data),
            idempotency_key=uuid.uuid4().hex,
        )
        self._session.add(entry)
        return entry

    async def transitions(self, work_id: int) -> Sequence[WorkTransitionRow]:
        rows = await self._session.scalars(
            select(WorkTransitionRow)
            .where(WorkTransitionRow.work_order_id == work_id)
            .order_by(WorkTransitionRow.id)
        )
        return list(rows)
