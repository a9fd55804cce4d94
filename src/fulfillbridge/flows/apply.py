"""Applying Shopify's news to work orders, in the caller's transaction.

What Shopify says now (a pull, ``flows.pulls``) is handed to ``core.follow.follow`` with
the work order as stored; the steps it returns are stored in order (state, timeline, Shopify
writes and the operation's webhooks), and the row remembers what Shopify said. Used by the
inbox (``flows.processing``) and by reconciliation alike.

Never backwards: a snapshot whose ``updatedAt`` is older than the work order's
``remote_updated_at`` is ignored; equal times are applied (Shopify's times have one-second
resolution) and every rule is idempotent, so a repeat changes nothing. One work order per
(store, fulfillment order) is the database's unique constraint; a lost race on it (or on the
row version) rolls the transaction back and :func:`apply_with_retries` applies it again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from fulfillbridge.config import Settings
from fulfillbridge.core.follow import ACTOR_SHOPIFY, RELEASED, Seen, Step, follow
from fulfillbridge.core.work import (
    ACCEPT_CANCELLATION,
    REJECT_CANCELLATION,
    Effect,
    WorkState,
    cancelled_by_merchant,
)
from fulfillbridge.flows import notify
from fulfillbridge.flows.pulls import PullPlan
from fulfillbridge.flows.work_context import StoreContext
from fulfillbridge.flows.work_views import json_ready, work_view
from fulfillbridge.shopify.mapping import RemoteFulfillmentOrder
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import WorkOrderRow, as_utc
from fulfillbridge.store.work import WorkRepository, to_domain

logger = logging.getLogger("fulfillbridge.processing")

# Conflicts with another worker (unique constraint, row version) are applied again.
APPLY_RETRIES = 4


@dataclass
class ApplyResult:
    """What applying Shopify's news changed (counts), for logs and summaries."""

    created: int = 0
    accepted: int = 0
    refused: int = 0
    exceptions: int = 0
    cancelled: int = 0
    cancellation_answers: int = 0
    updated: int = 0
    stale: int = 0
    ignored: int = 0
    work_order_ids: list[int] = field(default_factory=list)

    def add(self, other: ApplyResult) -> None:
        for name in (
            "created",
            "accepted",
            "refused",
            "exceptions",
            "cancelled",
            "cancellation_answers",
            "updated",
            "stale",
            "ignored",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.work_order_ids.extend(other.work_order_ids)


def announce(
    repo: WorkRepository,
    settings: Settings,
    store_settings: dict[str, Any] | None,
    row: WorkOrderRow,
    store: str,
    event: str,
    *,
    reason: str | None = None,
) -> None:
    """Queue a webhook to the operation (when the store or the installation names one):
    the work as it now is, and why it changed."""
    if not notify.target_url(settings, store_settings):
        return
    data = json_ready(work_view(row, store))
    if reason:
        data["reason"] = reason
    data["event"] = event
    repo.queue(row.store_id, row.id, Effect(event, data), target="operation")


_CANCELLATION_ANSWERS = frozenset({ACCEPT_CANCELLATION, REJECT_CANCELLATION})
_COUNTED = {
    WorkState.ACCEPTED: "accepted",
    WorkState.REJECTED: "refused",
    WorkState.EXCEPTION: "exceptions",
    WorkState.CANCELLED: "cancelled",
}


async def store_steps(
    repo: WorkRepository,
    settings: Settings,
    ctx: StoreContext,
    row: WorkOrderRow,
    steps: Sequence[Step],
    result: ApplyResult,
    detail: dict[str, Any],
) -> None:
    """Store each step in order, count what changed, and tell the operation."""
    for step in steps:
        before = WorkState(row.state)
        step_detail = {**detail, "reason": step.reason} if step.reason else dict(detail)
        await repo.store_outcome(row, step.outcome, actor=step.actor, detail=step_detail)
        after = step.outcome.order.state
        if after is not before and after in _COUNTED:
            name = _COUNTED[after]
            setattr(result, name, getattr(result, name) + 1)
        if any(e.kind in _CANCELLATION_ANSWERS for e in step.outcome.effects):
            result.cancellation_answers += 1
        if step.notify == RELEASED:
            await repo.resume_waiting_writes(row.id)
        if step.notify:
            announce(
                repo,
                settings,
                ctx.store.settings,
                row,
                ctx.store.name,
                step.notify,
                reason=step.reason,
            )


def _record_remote(row: WorkOrderRow, remote: RemoteFulfillmentOrder) -> None:
    """Remember what Shopify said; unchanged news writes nothing (no new row version)."""
    if row.remote_status != remote.status:
        row.remote_status = remote.status
    if row.remote_request_status != remote.request_status:
        row.remote_request_status = remote.request_status
    seen = as_utc(row.remote_updated_at) if row.remote_updated_at else None
    if remote.updated_at is not None and seen != remote.updated_at:
        row.remote_updated_at = remote.updated_at


async def apply_remote(
    session: AsyncSession,
    ctx: StoreContext,
    settings: Settings,
    remote: RemoteFulfillmentOrder,
    *,
    source: str,
) -> ApplyResult:
    """Bring the work order of ``remote`` up to what Shopify says, in the caller's
    transaction. Idempotent; older news than the work order has seen changes nothing."""
    result = ApplyResult()
    repo = WorkRepository(session)
    row = await repo.find(ctx.store_id, remote.remote_id)
    detail = {
        "source": source,
        "shopify_status": remote.status,
        "shopify_request_status": remote.request_status,
    }
    ours = ctx.is_ours(remote.location_id)
    if row is None:
        decision = follow(None, remote, ctx.policy, ours=ours)
        if decision.ignored or decision.initial is None:
            result.ignored += 1
            if decision.note:
                logger.info("%s: %s", ctx.store.name, decision.note)
            return result
        row = await repo.create(
            ctx.store_id,
            decision.initial,
            order_remote_id=remote.order_id,
            location_remote_id=remote.location_id,
            actor=ACTOR_SHOPIFY,
            remote_status=remote.status,
            remote_request_status=remote.request_status,
            remote_updated_at=remote.updated_at,
        )
        result.created += 1
        result.work_order_ids.append(row.id)
        if decision.initial.state is WorkState.SCHEDULED:
            announce(repo, settings, ctx.store.settings, row, ctx.store.name, notify.WORK_SCHEDULED)
        await store_steps(repo, settings, ctx, row, decision.steps, result, detail)
        return result

    result.work_order_ids.append(row.id)
    seen_at = as_utc(row.remote_updated_at) if row.remote_updated_at else None
    seen = Seen(updated_at=seen_at, request_status=row.remote_request_status)
    order = to_domain(row, ctx.store.name)
    decision = follow(order, remote, ctx.policy, ours=ours, seen=seen)
    if decision.stale:
        result.stale += 1
        return result
    _record_remote(row, remote)
    await store_steps(repo, settings, ctx, row, decision.steps, result, detail)
    result.updated += 1
    await session.flush()
    return result


async def apply_order_cancelled(
    session: AsyncSession, ctx: StoreContext, settings: Settings, order_id: str, *, source: str
) -> ApplyResult:
    """The order was cancelled in Shopify: every work order of it stops (cancellation is
    final in Shopify, so no newer news can undo it)."""
    result = ApplyResult()
    repo = WorkRepository(session)
    rows = await session.scalars(
        select(WorkOrderRow)
        .where(WorkOrderRow.store_id == ctx.store_id, WorkOrderRow.order_remote_id == order_id)
        .order_by(WorkOrderRow.id)
    )
    for row in list(rows):
        result.work_order_ids.append(row.id)
        order = to_domain(row, ctx.store.name)
        if order.is_final:
            result.updated += 1
            continue
        step = Step(cancelled_by_merchant(order), ACTOR_SHOPIFY, "order cancelled", "cancelled")
        await store_steps(repo, settings, ctx, row, [step], result, {"source": source})
    await session.flush()
    return result


def latest_per_fulfillment_order(
    remotes: Sequence[RemoteFulfillmentOrder],
) -> list[RemoteFulfillmentOrder]:
    """The newest snapshot of each fulfillment order, in id order: every worker then
    touches work orders in the same order, so two transactions never wait on each other
    in a cycle (PostgreSQL would abort one as a deadlock)."""
    newest: dict[str, RemoteFulfillmentOrder] = {}
    oldest_time = datetime.min.replace(tzinfo=UTC)
    for remote in remotes:
        kept = newest.get(remote.remote_id)
        if kept is None or (remote.updated_at or oldest_time) >= (kept.updated_at or oldest_time):
            newest[remote.remote_id] = remote
    return [newest[key] for key in sorted(newest)]


async def apply_plan(
    session: AsyncSession, ctx: StoreContext, settings: Settings, plan: PullPlan, *, source: str
) -> ApplyResult:
    result = ApplyResult()
    for order_id in plan.cancelled_orders:
        result.add(await apply_order_cancelled(session, ctx, settings, order_id, source=source))
    for remote in latest_per_fulfillment_order(plan.remotes):
        result.add(await apply_remote(session, ctx, settings, remote, source=source))
    return result


async def apply_with_retries(database: Database, run: Any) -> Any:
    """Run ``run(session)`` in a transaction, again when another worker won a race on the
    same rows (unique constraint, row version, SQLite busy). Returns its result."""
    for attempt in range(1, APPLY_RETRIES + 1):
        try:
            async with database.transaction() as session:
                return await run(session)
        except (IntegrityError, StaleDataError, OperationalError) as exc:
            if attempt == APPLY_RETRIES:
                raise
            logger.info("apply conflict (%s), trying again", type(exc).__name__)
    raise AssertionError("unreachable")
