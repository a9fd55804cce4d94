"""Work orders in the database: loading them as ``core.work.WorkOrder`` values and storing
an ``Outcome`` (new state, transition row, outbox rows) in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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
from fulfillbridge.store.models import OutboxRow, WorkOrderRow, WorkTransitionRow


class WorkOrderNotFound(FulfillbridgeError, LookupError):
    default_code = WorkErrorCode.NOT_FOUND


def _address(data: dict | None) -> Address | None:
    return Address(**data) if data else None


def to_domain(row: WorkOrderRow, store_name: str) -> WorkOrder:
    return WorkOrder(
        store=store_name,
        remote_id=row.remote_id,
        order_name=row.order_name,
        mode=Mode(row.mode),
        lines=tuple(WorkLine(**line) for line in row.lines),
        state=WorkState(row.state),
        stage=row.stage,
        warehouse=row.warehouse,
        shipping_address=_address(row.shipping_address),
        billing_address=_address(row.billing_address),
        held_from=WorkState(row.held_from) if row.held_from else None,
        hold_reason=row.hold_reason,
        problems=tuple(row.problems or ()),
        cancel_requested=row.cancel_requested,
        answered_cancellation=row.answered_cancellation,
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
    row.problems = list(order.problems)
    row.cancel_requested = order.cancel_requested
    row.answered_cancellation = order.answered_cancellation


class WorkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

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
        if row.state != before_state or row.stage != before_stage or outcome.effects:
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
