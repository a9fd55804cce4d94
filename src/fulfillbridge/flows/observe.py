"""Metrics observed when an outbox row finishes an attempt (``flows.outbox``): latencies of
the writes that matter (request -> accepted, shipment -> fulfillment), verifications of
unknown outcomes, the operation's webhook deliveries (see ``fulfillbridge.metrics``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from fulfillbridge import metrics
from fulfillbridge.flows.write_jobs import WriteJob
from fulfillbridge.store.models import OutboxRow, WorkOrderRow, as_utc


async def write_finished(
    session: Any, job: WriteJob, status: str, result: dict[str, Any] | None
) -> None:
    started = None
    if status == "done" and job.kind == "accept_request" and job.work_order_id is not None:
        # The work order is stored when the bridge takes the request in.
        created = await session.scalar(
            select(WorkOrderRow.created_at).where(WorkOrderRow.id == job.work_order_id)
        )
        started = as_utc(created).timestamp() if created is not None else None
    elif status == "done" and job.kind == "create_fulfillment":
        # The row is written in the transaction that records the shipment.
        created = await session.scalar(select(OutboxRow.created_at).where(OutboxRow.id == job.id))
        started = as_utc(created).timestamp() if created is not None else None
    metrics.observe_write(
        kind=job.kind,
        target=job.target,
        status=status,
        verified=bool((result or {}).get("verified")),
        was_unknown=job.maybe_ran,
        started=started,
        final=status in ("done", "failed", "skipped"),
    )
