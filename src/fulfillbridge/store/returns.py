"""Return work in the database: rows to ``core.returns.ReturnWork`` and back, and the one
write that stores a return's new state with its history and outbox rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.core.returns import (
    ReturnEffect,
    ReturnLine,
    ReturnNotFound,
    ReturnOutcome,
    ReturnState,
    ReturnTracking,
    ReturnWork,
)
from fulfillbridge.store.models import (
    InventoryLevelRow,
    OutboxRow,
    ReturnTransitionRow,
    ReturnWorkRow,
)


def _counts(raw: Any) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((str(k), int(v)) for k, v in (raw or {}).items() if int(v)))


def line_to_json(line: ReturnLine) -> dict[str, Any]:
    data = asdict(line)
    data["conditions"] = dict(line.conditions)
    data["disposed"] = dict(line.disposed)
    return data


def line_from_json(data: dict[str, Any]) -> ReturnLine:
    return ReturnLine(
        line_id=data["line_id"],
        reverse_order_id=data["reverse_order_id"],
        sku=data.get("sku"),
        expected=int(data["expected"]),
        title=data.get("title") or "",
        reason=data.get("reason") or "",
        customer_note=data.get("customer_note") or "",
        work_order_id=data.get("work_order_id"),
        warehouse=data.get("warehouse"),
        inventory_item_id=data.get("inventory_item_id"),
        received=int(data.get("received") or 0),
        conditions=_counts(data.get("conditions")),
        disposed=_counts(data.get("disposed")),
    )


def to_domain(row: ReturnWorkRow, store_name: str) -> ReturnWork:
    return ReturnWork(
        store=store_name,
        remote_id=row.remote_id,
        name=row.name,
        order_remote_id=row.order_remote_id,
        order_name=row.order_name,
        lines=tuple(line_from_json(line) for line in row.lines or []),
        state=ReturnState(row.state),
        decline_reason=row.decline_reason,
        decline_note=row.decline_note,
        tracking=tuple(ReturnTracking(**t) for t in row.tracking or []),
        exchange_items=row.exchange_items or 0,
    )


def _write_fields(row: ReturnWorkRow, work: ReturnWork) -> None:
    now = datetime.now(UTC)
    row.name = work.name
    row.order_remote_id = work.order_remote_id
    row.order_name = work.order_name
    row.state = work.state.value
    row.lines = [line_to_json(line) for line in work.lines]
    row.tracking = [asdict(t) for t in work.tracking]
    row.decline_reason = work.decline_reason
    row.decline_note = work.decline_note
    row.exchange_items = work.exchange_items
    if row.expected_at is None and work.state is not ReturnState.REQUESTED:
        row.expected_at = now
    if row.received_at is None and any(line.received for line in work.lines):
        row.received_at = now


class ReturnRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def find(self, store_id: int, remote_id: str) -> ReturnWorkRow | None:
        return await self._session.scalar(
            select(ReturnWorkRow).where(
                ReturnWorkRow.store_id == store_id, ReturnWorkRow.remote_id == remote_id
            )
        )

    async def get(self, return_id: int) -> ReturnWorkRow:
        row = await self._session.get(ReturnWorkRow, return_id)
        if row is None:
            raise ReturnNotFound(f"no return {return_id}")
        return row

    async def listing(
        self,
        *,
        store_ids: Sequence[int] | None = None,
        states: Sequence[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[ReturnWorkRow]:
        query = select(ReturnWorkRow).order_by(ReturnWorkRow.id)
        if store_ids is not None:
            query = query.where(ReturnWorkRow.store_id.in_(store_ids))
        if states:
            query = query.where(ReturnWorkRow.state.in_(states))
        return list(await self._session.scalars(query.limit(limit).offset(offset)))

    async def open_remote_ids(self, store_id: int) -> list[str]:
        """Returns not yet final, whose news reconciliation reads again."""
        rows = await self._session.scalars(
            select(ReturnWorkRow.remote_id).where(
                ReturnWorkRow.store_id == store_id,
                ReturnWorkRow.state.in_(
                    (
                        ReturnState.REQUESTED.value,
                        ReturnState.EXPECTED.value,
                        ReturnState.RECEIVED.value,
                    )
                ),
            )
        )
        return list(rows)

    async def store_outcome(
        self,
        store_id: int,
        row: ReturnWorkRow | None,
        outcome: ReturnOutcome,
        *,
        actor: str,
        detail: dict[str, Any] | None = None,
    ) -> tuple[ReturnWorkRow, list[OutboxRow]]:
        """Write the outcome's return (a new row when ``row`` is None), record the change
        and queue its effects to Shopify; all in the caller's transaction."""
        before = row.state if row is not None else None
        before_lines = list(row.lines) if row is not None else None
        if row is None:
            row = ReturnWorkRow(store_id=store_id, remote_id=outcome.work.remote_id)
            self._session.add(row)
        _write_fields(row, outcome.work)
        await self._session.flush()
        if before != row.state or before_lines != row.lines or outcome.effects or detail:
            self._session.add(
                ReturnTransitionRow(
                    return_id=row.id,
                    from_state=before,
                    to_state=row.state,
                    actor=actor,
                    detail=detail or {},
                )
            )
        queued = [self.queue(store_id, row.id, effect) for effect in outcome.effects]
        await self._session.flush()
        return row, queued

    def queue(
        self, store_id: int, return_id: int, effect: ReturnEffect, *, target: str = "shopify"
    ) -> OutboxRow:
        entry = OutboxRow(
            store_id=store_id,
            work_order_id=None,
            target=target,
            kind=effect.kind,
            payload={**effect.data, "return_id": return_id},
            idempotency_key=uuid.uuid4().hex,
        )
        self._session.add(entry)
        return entry

    async def transitions(self, return_id: int) -> list[ReturnTransitionRow]:
        rows = await self._session.scalars(
            select(ReturnTransitionRow)
            .where(ReturnTransitionRow.return_id == return_id)
            .order_by(ReturnTransitionRow.id)
        )
        return list(rows)

    async def restocked(self, store_id: int, item_id: str, location_id: str, quantity: int) -> bool:
        """Units restocked at Shopify (a disposition it accepted): the level the bridge knows
        for that item and location goes up with it, and so does the level the operation
        asked for, so that the next push neither undoes the restock nor finds it stale.
        False when the bridge holds no level there."""
        result = await self._session.execute(
            update(InventoryLevelRow)
            .where(
                InventoryLevelRow.store_id == store_id,
                InventoryLevelRow.item_id == item_id,
                InventoryLevelRow.location_id == location_id,
            )
            .values(
                known=InventoryLevelRow.known + quantity,
                wanted=InventoryLevelRow.wanted + quantity,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
