"""Processing: from what Shopify told us (inbox events) to work orders.

Each due inbox event is planned (``flows.pulls``: which fulfillment orders it concerns,
read from Shopify) and applied (``flows.apply``: ``core.follow`` decides, the steps are
stored). Reconciliation (``flows.reconcile``) applies its pulls through the same code.

Claims without a claim column: pulls are reads and run outside any transaction; the event is
then applied and marked processed in ONE short transaction that starts with
``UPDATE inbox_events SET processed_at=... WHERE id=... AND processed_at IS NULL``. Two
workers racing on one event may both read Shopify, but only the first to commit applies it;
the other's update matches no row and it rolls back.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.config import Settings
from fulfillbridge.core.work import FINAL_STATES, WorkState
from fulfillbridge.flows import returns as return_flows
from fulfillbridge.flows import seen
from fulfillbridge.flows.apply import (
    APPLY_RETRIES,
    ApplyResult,
    apply_order_cancelled,
    apply_plan,
    apply_remote,
    apply_with_retries,
    latest_per_fulfillment_order,
)
from fulfillbridge.flows.inventory import CATALOGUE_TOPICS, StoreBusy, apply_catalogue_event
from fulfillbridge.flows.pulls import (
    FULFILLMENT_SERVICE_TOPICS_PULLING_ASSIGNED,
    IDS_PER_READ,
    MAX_PAGES,
    PAGE_SIZE,
    PullPlan,
    map_nodes,
    plan_event,
    pull_assigned,
    pull_by_ids,
    pull_order,
    read_all,
    read_variables,
)
from fulfillbridge.flows.work_context import (
    StoreContext,
    StoreNotReady,
    load_store,
    open_client,
    store_context,
)
from fulfillbridge.shopify import (
    BadRequest,
    MaxCostExceeded,
    QueryInvalid,
    ShopifyClient,
    ShopifyError,
)
from fulfillbridge.store import queues
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import InboxEventRow, WorkOrderRow, as_utc, utcnow

# Re-exported: reconciliation and tests import these from here.
__all__ = [
    "APPLY_RETRIES",
    "FULFILLMENT_SERVICE_TOPICS_PULLING_ASSIGNED",
    "IDS_PER_READ",
    "MAX_PAGES",
    "PAGE_SIZE",
    "ApplyResult",
    "PullPlan",
    "StoreContext",
    "StoreNotReady",
    "apply_order_cancelled",
    "apply_plan",
    "apply_remote",
    "apply_with_retries",
    "latest_per_fulfillment_order",
    "load_store",
    "map_nodes",
    "open_client",
    "plan_event",
    "process_event",
    "process_inbox",
    "pull_assigned",
    "pull_by_ids",
    "pull_order",
    "read_all",
    "read_variables",
    "store_context",
]

logger = logging.getLogger("fulfillbridge.processing")

# A failing event is retried after 5 s, 10 s, 20 s ... at most 10 min apart.
RETRY_BASE_SECONDS = 5.0
RETRY_MAX_SECONDS = 600.0
# An event failing on our side (a bug, a query Shopify refuses) is given up after this many
# attempts; one failing because Shopify is unreachable, throttling or refusing our
# credentials keeps trying for longer (about 6 h). Either way reconciliation still covers it.
MAX_ATTEMPTS = 8
MAX_TRANSIENT_ATTEMPTS = 40

# Work whose order news can teach nothing: shipped in full (delivery is ours to report) or
# final. Not rejected work: the merchant may fix the order and ask again, and seeing the
# rejection in Shopify is what lets that new request be told apart. Reconciliation still
# reads every fulfillment order that changes, whatever its state.
_SETTLED = frozenset(
    state.value for state in (FINAL_STATES | {WorkState.SHIPPED}) - {WorkState.REJECTED}
)


# --------------------------------------------------------------------------- the inbox


def retry_delay(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failure."""
    from fulfillbridge.shopify import backoff_delay

    if attempts <= 0:
        return 0.0
    return backoff_delay(attempts, base=RETRY_BASE_SECONDS, cap=RETRY_MAX_SECONDS, jitter=0.0)


@dataclass
class InboxMemory:
    """What this process remembers of the inbox between rounds, per database handle."""

    # Failures seen here (event id -> monotonic time), so that retries back off from the
    # last failure; other processes fall back on the schedule counted from reception.
    last_failure: dict[int, float] = field(default_factory=dict)
    # A callback (or request webhook) is only a ping: a pull of every assigned fulfillment
    # order that started after it arrived answers it, so a burst of N pings costs a few
    # pulls, not N. Per store: the highest inbox id that existed when an applied pull
    # started. Ids, not clocks: an id is allocated after its event was received, and
    # allocation order holds across processes whatever order transactions commit in. The
    # truth is ``store_queues.pulled_through`` (every process's pulls count); this copy is
    # refreshed from it at each pass and raised by this process's own pulls.
    assigned_pulled: dict[int, int] = field(default_factory=dict)


def _memory(database: Database) -> InboxMemory:
    memory = database.memory.setdefault("inbox", InboxMemory())
    assert isinstance(memory, InboxMemory)
    return memory


def _due(database: Database, row: InboxEventRow, now: datetime) -> bool:
    if not row.attempts:
        return True
    failed_at = _memory(database).last_failure.get(row.id)
    if failed_at is not None and time.monotonic() - failed_at < retry_delay(row.attempts):
        return False
    waited = sum(retry_delay(n) for n in range(1, row.attempts + 1))
    received = as_utc(row.received_at) if row.received_at else now
    return now >= received + timedelta(seconds=waited)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, QueryInvalid | MaxCostExceeded | BadRequest):
        return False  # our query is wrong: trying again will not help
    return isinstance(exc, ShopifyError | StoreNotReady | StoreBusy | OperationalError | OSError)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:1800]


async def _record_failure(database: Database, event: InboxEventRow, exc: BaseException) -> bool:
    """Count the failed attempt; give the event up when it failed too often. True when
    given up."""
    attempts = (event.attempts or 0) + 1
    limit = MAX_TRANSIENT_ATTEMPTS if _is_transient(exc) else MAX_ATTEMPTS
    give_up = attempts >= limit
    message = _describe(exc)
    if give_up:
        message = f"gave up after {attempts} attempts: {message}"
    values: dict[str, Any] = {"attempts": InboxEventRow.attempts + 1, "last_error": message}
    if give_up:
        values["processed_at"] = utcnow()
    async with database.transaction() as session:
        await session.execute(
            update(InboxEventRow)
            .where(InboxEventRow.id == event.id, InboxEventRow.processed_at.is_(None))
            .values(**values)
        )
        # What the event was about may be lost with it: reconcile the store soon.
        await queues.want_reconcile(session, event.store_id)
    _memory(database).last_failure[event.id] = time.monotonic()
    log = logger.error if give_up else logger.warning
    log(
        "inbox event %s (%s, store %s) failed, attempt %d%s: %s",
        event.id,
        event.topic,
        event.store_id,
        attempts,
        " (given up)" if give_up else "",
        message,
    )
    if give_up:
        _memory(database).last_failure.pop(event.id, None)
    return give_up


async def _claim_and_apply(
    database: Database, ctx: StoreContext, settings: Settings, event: InboxEventRow, plan: PullPlan
) -> ApplyResult | None:
    async def run(session: AsyncSession) -> ApplyResult | None:
        claimed = await session.execute(
            update(InboxEventRow)
            .where(InboxEventRow.id == event.id, InboxEventRow.processed_at.is_(None))
            .values(processed_at=utcnow(), last_error=None)
        )
        if claimed.rowcount != 1:
            return None  # another worker processed it meanwhile
        result = await apply_plan(session, ctx, settings, plan, source=event.source)
        mark = plan.assigned_pull_watermark
        if mark is not None:
            # The pull answers every request ping received before it started, whoever
            # holds them: they are done with it, in the same transaction.
            await session.execute(
                update(InboxEventRow)
                .where(
                    InboxEventRow.store_id == event.store_id,
                    InboxEventRow.id <= mark,
                    InboxEventRow.processed_at.is_(None),
                    or_(
                        InboxEventRow.source == "callback",
                        InboxEventRow.topic.in_(FULFILLMENT_SERVICE_TOPICS_PULLING_ASSIGNED),
                    ),
                )
                .values(processed_at=utcnow(), last_error=None)
                .execution_options(synchronize_session=False)
            )
            await queues.record_pull(session, event.store_id, mark)
        return result

    return await apply_with_retries(database, run)


class _Clients:
    """One Shopify client per store for one pass over the inbox."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self._database = database
        self._settings = settings
        self._open: dict[int, tuple[StoreContext, ShopifyClient]] = {}

    async def get(self, store_id: int) -> tuple[StoreContext, ShopifyClient]:
        if store_id not in self._open:
            store, secrets = await load_store(self._database, store_id)
            client = open_client(self._database, self._settings, store, secrets)
            self._open[store_id] = (store_context(store, self._settings), client)
        return self._open[store_id]

    async def close(self) -> None:
        for _ctx, client in self._open.values():
            await client.aclose()
        self._open.clear()


async def _due_events(
    database: Database, limit: int, store_id: int | None = None
) -> list[InboxEventRow]:
    now = datetime.now(UTC)
    due: list[InboxEventRow] = []
    after = 0
    # Look past events that are waiting for their retry, a bounded number of rows.
    for _ in range(20):
        async with database.transaction() as session:
            rows = list(
                await session.scalars(
                    select(InboxEventRow)
                    .where(
                        InboxEventRow.processed_at.is_(None),
                        InboxEventRow.id > after,
                        *([InboxEventRow.store_id == store_id] if store_id is not None else []),
                    )
                    .order_by(InboxEventRow.id)
                    .limit(max(limit, 50))
                )
            )
        if not rows:
            break
        due += [row for row in rows if _due(database, row, now)]
        if len(due) >= limit:
            break
        after = rows[-1].id
    return due[:limit]


_FAILED_TRANSIENT = ApplyResult()  # marker: the event failed because Shopify did


async def _follow_returns(
    database: Database,
    settings: Settings,
    ctx: StoreContext,
    client: ShopifyClient,
    event: InboxEventRow,
) -> str | None:
    """A return webhook: read the returns it names from Shopify (outside any transaction),
    then follow them in the transaction that claims the event. A store with returns off
    (``store configure --returns``) is not read: its event is only marked processed."""
    pulled = []
    if return_flows.returns_enabled(ctx.store):
        pulled = await return_flows.pull_for_event(client, event.payload or {})

    async def run(session: AsyncSession) -> str | None:
        claimed = await session.execute(
            update(InboxEventRow)
            .where(InboxEventRow.id == event.id, InboxEventRow.processed_at.is_(None))
            .values(processed_at=utcnow(), last_error=None)
        )
        if claimed.rowcount != 1:
            return None  # another worker processed it meanwhile
        if not return_flows.returns_enabled(ctx.store):
            return f"{event.topic}: returns are off for store {ctx.store.name}"
        applied = await return_flows.apply_returns(session, settings, ctx.store, pulled)
        return f"{event.topic}: {applied.note}"

    note: str | None = await apply_with_retries(database, run)
    return note


async def process_event(
    database: Database, settings: Settings, event: InboxEventRow, clients: _Clients
) -> ApplyResult | None:
    """Pull and apply one inbox event; a failure is recorded on the event, never raised."""
    pulled = _memory(database).assigned_pulled

    async def settled(order_id: str) -> bool:
        async with database.transaction() as session:
            states = set(
                await session.scalars(
                    select(WorkOrderRow.state).where(
                        WorkOrderRow.store_id == event.store_id,
                        WorkOrderRow.order_remote_id == order_id,
                    )
                )
            )
        return bool(states) and states <= _SETTLED

    async def fresh(found: dict[str, datetime | None]) -> list[str]:
        return await seen.changed_since_read(database, event.store_id, found)

    async def watermark() -> int:
        async with database.transaction() as session:
            highest = await session.scalar(
                select(func.max(InboxEventRow.id)).where(InboxEventRow.store_id == event.store_id)
            )
        return int(highest or 0)

    try:
        ctx, client = await clients.get(event.store_id)
        if event.topic in return_flows.RETURN_TOPICS:
            note = await _follow_returns(database, settings, ctx, client, event)
            if note:
                logger.info("inbox event %s: %s", event.id, note)
            _memory(database).last_failure.pop(event.id, None)
            return None
        if event.topic in CATALOGUE_TOPICS:
            # The SKU mapping, not work orders: refreshed from Shopify in its own
            # transaction (idempotent), then the event is claimed like any other.
            note = await apply_catalogue_event(
                database, client, ctx.store, event.topic, event.payload or {}
            )
            plan = PullPlan(note=note)
        else:
            plan = await plan_event(
                client,
                ctx,
                event.source,
                event.topic,
                event.payload or {},
                answered=event.id <= pulled.get(event.store_id, 0),
                watermark=watermark,
                settled=settled,
                fresh=fresh,
            )
        result = await _claim_and_apply(database, ctx, settings, event, plan)
        seen.remember_read(database, event.store_id, plan.remotes)
        if plan.assigned_pull_watermark is not None:
            # Only now, with the pull's results stored, may it answer other events.
            mark = plan.assigned_pull_watermark
            pulled[event.store_id] = max(pulled.get(event.store_id, 0), mark)
    except Exception as exc:  # any failure must leave the event for a later attempt
        await _record_failure(database, event, exc)
        return _FAILED_TRANSIENT if _is_transient(exc) else None
    _memory(database).last_failure.pop(event.id, None)
    if plan.note:
        logger.info("inbox event %s: %s", event.id, plan.note)
    if result is not None:
        logger.info(
            "inbox event %s (%s, store %s): %d new, %d accepted, %d refused, %d exceptions, "
            "%d cancelled, %d cancellation answers, %d stale",
            event.id,
            event.topic,
            ctx.store.name,
            result.created,
            result.accepted,
            result.refused,
            result.exceptions,
            result.cancelled,
            result.cancellation_answers,
            result.stale,
        )
    return result


async def process_inbox(
    database: Database, settings: Settings, *, limit: int = 100, store_id: int | None = None
) -> int:
    """Process up to ``limit`` due inbox events (of one store, with ``store_id``), oldest
    first; returns how many were handled (processed, failed once more, or given up). Safe
    to run in several workers at once."""
    events = await _due_events(database, limit, store_id)
    if not events:
        return 0
    pulled = _memory(database).assigned_pulled
    async with database.transaction() as session:
        for sid in {event.store_id for event in events}:
            pulled[sid] = max(pulled.get(sid, 0), await queues.pulled_through(session, sid))
    clients = _Clients(database, settings)
    unreachable: set[int] = set()
    handled = 0
    try:
        for event in events:
            # A store whose Shopify just failed us is left alone for the rest of this pass:
            # its other events would only wait for the same timeouts.
            if event.store_id in unreachable:
                continue
            outcome = await process_event(database, settings, event, clients)
            handled += 1
            if outcome is _FAILED_TRANSIENT:
                unreachable.add(event.store_id)
    finally:
        await clients.close()
    await _note_news(database, events)
    return handled


async def _note_news(database: Database, events: list[InboxEventRow]) -> None:
    """Record when each store's newest news arrived (reconciliation polls once it has
    been quiet for a while: ``flows.reconcile``)."""
    newest: dict[int, datetime] = {}
    for event in events:
        if event.source in ("webhook", "callback") and event.received_at is not None:
            at = as_utc(event.received_at)
            newest[event.store_id] = max(newest.get(event.store_id, at), at)
    if not newest:
        return
    async with database.transaction() as session:
        for store_id, at in newest.items():
            await queues.note_news(session, store_id, at)
