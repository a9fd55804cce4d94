"""Reconciliation and backfill: asking Shopify directly instead of waiting to be told.

Shopify tells apps to reconcile with periodic jobs because webhooks can be lost, late or out
of order (docs/shopify.md#duplicates-and-order). ``reconcile_store`` reads the fulfillment
orders and orders changed since the store's checkpoint and applies them through the same
code as webhook-triggered pulls (``flows.processing.apply_plan``), so a lost webhook costs
at most one interval. ``backfill_store`` reads all open work once, at set-up: a page when
there is little, a bulk operation (JSONL, Shopify docs "Perform bulk operations") when there
is a lot.

Checkpoints (``checkpoints`` rows per store): ``reconcile`` holds the newest ``updatedAt``
seen (Shopify's clock), advanced only after everything up to it was applied; each poll
starts ``OVERLAP_SECONDS`` earlier to tolerate clock skew and changes committed late within
one second. ``reconcile_run`` holds when a poll last started (this host's clock; the row's
``updated_at`` is the lease ``store.leases.RECONCILE_POLL``), so that several workers poll
each store once per interval.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.config import Settings
from fulfillbridge.core.stores import AuthKind, Store
from fulfillbridge.core.work import Mode
from fulfillbridge.flows import seen
from fulfillbridge.flows.connect import store_client
from fulfillbridge.flows.processing import (
    PAGE_SIZE,
    ApplyResult,
    PullPlan,
    StoreContext,
    apply_plan,
    apply_with_retries,
    latest_per_fulfillment_order,
    map_nodes,
    read_all,
    read_variables,
    store_context,
)
from fulfillbridge.flows.pulls import pull_by_ids, with_metafields
from fulfillbridge.flows.returns import reconcile_returns, returns_enabled
from fulfillbridge.shopify import ShopifyClient, operation, run_bulk_query
from fulfillbridge.shopify.mapping import (
    RemoteFulfillmentOrder,
    assemble_bulk_rows,
    parse_time,
    to_remote_order,
)
from fulfillbridge.store import leases
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import CheckpointRow, StoreQueueRow, StoreRow, as_utc

logger = logging.getLogger("fulfillbridge.reconcile")

CHECKPOINT = "reconcile"
RUN_CHECKPOINT = "reconcile_run"
OVERLAP_SECONDS = 120.0
# More open fulfillment orders than this and the backfill uses a bulk operation.
BULK_THRESHOLD = 250
BULK_POLL_SECONDS = 1.0
BULK_TIMEOUT_SECONDS = 900.0
APPLY_CHUNK = 50  # fulfillment orders applied per transaction
PROBE_PAGE_SIZE = 100  # ids and times per page of the first look


@dataclass
class ReconcileSummary:
    store: str
    kind: str  # "poll" or "backfill"
    since: datetime | None
    checkpoint: datetime | None
    fulfillment_orders: int = 0  # changed since the checkpoint (the overlap included)
    read_in_full: int = 0  # of those, new to us since we last read them
    orders: int = 0
    used_bulk: bool = False
    result: ApplyResult = field(default_factory=ApplyResult)
    returns: int = 0  # returns stored (new or changed), for stores with returns on


# --------------------------------------------------------------------------- checkpoints


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def read_checkpoint(session: AsyncSession, store_id: int, name: str) -> datetime | None:
    row = await session.get(CheckpointRow, (store_id, name))
    return parse_time(row.value) if row is not None else None


async def _write_checkpoint(
    session: AsyncSession, store_id: int, name: str, value: datetime
) -> None:
    row = await session.get(CheckpointRow, (store_id, name))
    if row is None:
        session.add(CheckpointRow(store_id=store_id, name=name, value=_iso(value)))
    elif (parse_time(row.value) or value) <= value:
        row.value = _iso(value)
    await session.flush()


async def claim_reconcile_run(database: Database, store_id: int, interval: float) -> bool:
    """True when this worker should poll the store now: its interval elapsed and no other
    worker claimed the round first (the lease ``store.leases.RECONCILE_POLL``)."""
    now = datetime.now(UTC)
    key = {"store_id": store_id, "name": RUN_CHECKPOINT}
    try:
        async with database.transaction() as session:
            # A look first: a round not due writes nothing.
            if not await leases.is_free(
                session, leases.RECONCILE_POLL, key, now=now, seconds=interval
            ):
                return False
            return await leases.claim(
                session,
                leases.RECONCILE_POLL,
                key,
                now=now,
                seconds=interval,
                values={"value": _iso(now)},
                create={},
            )
    except IntegrityError:
        return False  # the store went away meanwhile


# --------------------------------------------------------------------------- reading Shopify


def bulk_open_query(*, with_customer: bool) -> str:
    """The bulk backfill's query; without read_customers, without the order's email and
    phone (a bulk query takes no variables, so the lines are cut from its text)."""
    query = operation("BulkOpenFulfillmentOrders").document
    if with_customer:
        return query
    kept = [line for line in query.splitlines() if line.strip() not in ("email", "phone")]
    return "\n".join(kept)


async def _open_fulfillment_orders(
    client: ShopifyClient,
    ctx: StoreContext,
    *,
    bulk_threshold: int,
    poll_seconds: float,
    timeout: float,
) -> tuple[list[dict[str, Any]], bool]:
    """All open fulfillment orders: (nodes, whether a bulk operation was used)."""
    first = await client.execute(
        operation("OpenFulfillmentOrders"),
        read_variables(ctx, {"first": max(1, min(bulk_threshold, PAGE_SIZE))}),
    )
    connection = first["fulfillmentOrders"]
    nodes = [n for n in connection.get("nodes") or [] if n]
    if not (connection.get("pageInfo") or {}).get("hasNextPage"):
        return nodes, False
    # More than one page of open work: one bulk operation instead of many pages.
    query = bulk_open_query(with_customer=ctx.reads_customer)
    rows = await run_bulk_query(client, query, poll_seconds=poll_seconds, timeout=timeout)
    return assemble_bulk_rows(rows), True


# --------------------------------------------------------------------------- applying


async def _apply_in_chunks(
    database: Database,
    ctx: StoreContext,
    settings: Settings,
    remotes: Sequence[RemoteFulfillmentOrder],
    cancelled_orders: Sequence[str],
    *,
    source: str,
    checkpoint: datetime | None,
) -> ApplyResult:
    """Apply in transactions of ``APPLY_CHUNK``; the checkpoint moves with the last one."""
    total = ApplyResult()
    ordered = latest_per_fulfillment_order(remotes)
    chunks: list[PullPlan] = [PullPlan(cancelled_orders=tuple(cancelled_orders))]
    for start in range(0, len(ordered), APPLY_CHUNK):
        chunks.append(PullPlan(remotes=tuple(ordered[start : start + APPLY_CHUNK])))
    for index, plan in enumerate(chunks):
        last = index == len(chunks) - 1

        async def run(
            session: AsyncSession, plan: PullPlan = plan, last: bool = last
        ) -> ApplyResult:
            result = await apply_plan(session, ctx, settings, plan, source=source)
            if last and checkpoint is not None:
                await _write_checkpoint(session, ctx.store_id, CHECKPOINT, checkpoint)
            return result

        total.add(await apply_with_retries(database, run))
    return total


async def _load_by_name(database: Database, name: str) -> tuple[Store, dict[str, str]]:
    async with database.stores() as stores:
        return await stores.get(name), await stores.secrets(name)


def is_ready(store: Store, secrets: dict[str, str]) -> bool:
    """Whether the store can be polled: credentials usable and set-up done for its mode."""
    if store.auth_kind is AuthKind.OAUTH and not secrets.get("access_token"):
        return False
    options = store.settings or {}
    if (options.get("mode") or Mode.FULFILLMENT_SERVICE.value) == Mode.ORDER_MANAGEMENT.value:
        return bool(options.get("managed_locations"))
    return bool(options.get("location_id"))


async def backfill_store(
    database: Database,
    settings: Settings,
    store_name: str,
    *,
    bulk_threshold: int = BULK_THRESHOLD,
    poll_seconds: float = BULK_POLL_SECONDS,
    timeout: float = BULK_TIMEOUT_SECONDS,
) -> ReconcileSummary:
    """Take in every open fulfillment order of the store (at set-up), then start the
    reconciliation checkpoint at the time the backfill began."""
    store, secrets = await _load_by_name(database, store_name)
    ctx = store_context(store, settings)
    began = datetime.now(UTC)
    async with store_client(database, settings, store, secrets) as client:
        nodes, used_bulk = await _open_fulfillment_orders(
            client, ctx, bulk_threshold=bulk_threshold, poll_seconds=poll_seconds, timeout=timeout
        )
        remotes = await with_metafields(client, ctx, map_nodes(ctx, nodes))
    newest = max((r.updated_at for r in remotes if r.updated_at), default=None)
    checkpoint = max(began, newest) if newest else began
    result = await _apply_in_chunks(
        database, ctx, settings, remotes, (), source="backfill", checkpoint=checkpoint
    )
    logger.info(
        "backfill of %s: %d open fulfillment orders (%s), %d new work orders",
        store_name,
        len(remotes),
        "bulk" if used_bulk else "paged",
        result.created,
    )
    return ReconcileSummary(
        store=store_name,
        kind="backfill",
        since=None,
        checkpoint=checkpoint,
        fulfillment_orders=len(remotes),
        read_in_full=len(remotes),
        used_bulk=used_bulk,
        result=result,
    )


async def reconcile_store(
    database: Database,
    settings: Settings,
    store_name: str,
    *,
    overlap_seconds: float = OVERLAP_SECONDS,
) -> ReconcileSummary:
    """Apply everything Shopify changed since the store's checkpoint; a store without a
    checkpoint is backfilled instead."""
    store, secrets = await _load_by_name(database, store_name)
    ctx = store_context(store, settings)
    async with database.transaction() as session:
        checkpoint = await read_checkpoint(session, store.id, CHECKPOINT)
    if checkpoint is None:
        return await backfill_store(database, settings, store_name)
    since = checkpoint - timedelta(seconds=overlap_seconds)
    search = f"updated_at:>='{_iso(since)}'"
    async with store_client(database, settings, store, secrets) as client:
        # Ids and times first (a few points); only what changed since we last saw it is
        # read in full, so a poll that finds nothing new costs two small queries.
        changes = await read_all(
            client,
            "FulfillmentOrderChangesSince",
            {"query": search},
            ("fulfillmentOrders",),
            page_size=PROBE_PAGE_SIZE,
        )
        changed = await seen.changed_since_read(database, store.id, seen.stamps(changes))
        order_nodes = await read_all(client, "OrdersUpdatedSince", {"query": search}, ("orders",))
        remotes = await pull_by_ids(client, ctx, changed) if changed else []
        returns_stored = 0
        if returns_enabled(store):
            applied = await reconcile_returns(database, client, settings, store, since=since)
            returns_stored = applied.stored
    seen.remember_read(database, store.id, remotes)
    fo_times = [t for t in (parse_time(str(n.get("updatedAt") or "")) for n in changes) if t]
    orders = [to_remote_order(node) for node in order_nodes]
    times = fo_times + [o.updated_at for o in orders if o.updated_at]
    newest = max([checkpoint, *times])
    result = await _apply_in_chunks(
        database,
        ctx,
        settings,
        remotes,
        [o.order_id for o in orders if o.cancelled],
        source="poll",
        checkpoint=newest,
    )
    if result.created or result.cancelled or result.cancellation_answers:
        logger.info(
            "reconciliation of %s recovered %d new, %d cancelled, %d cancellation answers",
            store_name,
            result.created,
            result.cancelled,
            result.cancellation_answers,
        )
    return ReconcileSummary(
        store=store_name,
        kind="poll",
        since=since,
        checkpoint=newest,
        fulfillment_orders=len(changes),
        read_in_full=len(remotes),
        orders=len(orders),
        result=result,
        returns=returns_stored,
    )


async def _due_stores(database: Database, settings: Settings) -> dict[int, bool]:
    """Stores whose poll is due now, in one read: {store id: polled early}. A store is due
    when its interval elapsed since its last poll started, or early (at most every
    ``reconcile_quiet_seconds``) when an event of it failed or news came in since its last
    poll and has been quiet that long since (a webhook lost in a busy spell is then found
    once the spell ends)."""
    now = datetime.now(UTC)
    interval = timedelta(seconds=settings.reconcile_interval_seconds)
    quiet = timedelta(seconds=settings.reconcile_quiet_seconds)
    async with database.transaction() as session:
        rows = await session.execute(
            select(
                StoreRow.id,
                CheckpointRow.updated_at,
                StoreQueueRow.reconcile_wanted,
                StoreQueueRow.last_event_at,
            )
            .outerjoin(
                CheckpointRow,
                and_(CheckpointRow.store_id == StoreRow.id, CheckpointRow.name == RUN_CHECKPOINT),
            )
            .outerjoin(StoreQueueRow, StoreQueueRow.store_id == StoreRow.id)
        )
        found = rows.all()
    due: dict[int, bool] = {}
    for store_id, last_run, wanted, last_news in found:
        ran = as_utc(last_run) if last_run is not None else None
        news = as_utc(last_news) if last_news is not None else None
        if ran is None or now - ran >= interval:
            due[store_id] = False
        elif now - ran >= quiet and (
            wanted or (news is not None and news > ran and now - news >= quiet)
        ):
            due[store_id] = True
    return due


async def _clear_wanted(database: Database, store_id: int) -> None:
    async with database.transaction() as session:
        await session.execute(
            update(StoreQueueRow)
            .where(StoreQueueRow.store_id == store_id)
            .values(reconcile_wanted=False)
        )


async def reconcile_due_stores(database: Database, settings: Settings) -> list[ReconcileSummary]:
    """Poll every ready store whose interval elapsed, or sooner when it went quiet after
    news or an event failed (``reconcile_quiet_seconds`` after its last poll at the
    earliest); claimed, so several workers poll each store once. A store that fails is
    logged and left for the next interval."""
    due = await _due_stores(database, settings)
    if not due:
        return []
    async with database.stores() as stores:
        ready = []
        for store in await stores.list():
            if store.id in due and is_ready(store, await stores.secrets(store.name)):
                ready.append(store)
    summaries: list[ReconcileSummary] = []
    for store in ready:
        early = due[store.id]
        seconds = settings.reconcile_quiet_seconds if early else settings.reconcile_interval_seconds
        if not await claim_reconcile_run(database, store.id, seconds):
            continue
        if early:
            await _clear_wanted(database, store.id)
        try:
            summaries.append(await reconcile_store(database, settings, store.name))
        except Exception as exc:  # one store's trouble must not stop the others
            logger.warning(
                "reconciliation of %s failed: %s: %s", store.name, type(exc).__name__, exc
            )
    return summaries


__all__ = [
    "BULK_THRESHOLD",
    "OVERLAP_SECONDS",
    "ReconcileSummary",
    "backfill_store",
    "claim_reconcile_run",
    "is_ready",
    "read_checkpoint",
    "reconcile_due_stores",
    "reconcile_store",
]
