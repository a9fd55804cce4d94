"""What the operator's console reads beyond the API's views: work found by filters and
free text (order name, SKU, customer, tracking) in numbered pages, the exceptions queue
with ages, each store's health, inventory rejections in full, and the figures behind the
charts (orders in and shipped per hour, latencies, backlog). Read-only; every change goes
through ``flows.actions`` like the API's. Limited to the stores the viewer may see."""

from __future__ import annotations

import statistics
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.core.work import ACCEPT_REQUEST, CREATE_FULFILLMENT, WorkState
from fulfillbridge.flows import store_signals
from fulfillbridge.flows.setup import FULFILLMENT_SERVICE, TOPIC_SCOPES, topics_for
from fulfillbridge.flows.work_queries import OPEN_WORK, store_names
from fulfillbridge.shopify import has_scope
from fulfillbridge.store.models import (
    CheckpointRow,
    InboxEventRow,
    InventoryLevelRow,
    InventorySyncRow,
    OutboxRow,
    ShipmentRow,
    StoreRow,
    ThrottleStateRow,
    WorkOrderRow,
    WorkTransitionRow,
    as_utc,
)

PER_PAGE = 50
MAX_SEARCH = 200  # characters of free text


def _visible(names: dict[int, str], stores: Collection[str] | None) -> dict[int, str]:
    return {k: v for k, v in names.items() if stores is None or v in stores}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


@dataclass(frozen=True)
class WorkFilter:
    store: str | None = None
    state: WorkState | None = None
    stage: str | None = None
    overdue: bool = False
    exception: bool = False
    text: str = ""


@dataclass
class Page:
    items: list[Any]
    page: int
    pages: int
    total: int


def _pages(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


async def search_work(
    session: AsyncSession,
    wanted: WorkFilter,
    *,
    stores: Collection[str] | None,
    page: int = 1,
    per_page: int = PER_PAGE,
    now: datetime | None = None,
) -> Page:
    """Work matching the filter, newest change first, as (row, store name) pairs."""
    names = _visible(await store_names(session), stores)
    if wanted.store:
        names = {k: v for k, v in names.items() if v == wanted.store}
    conditions: list[Any] = [WorkOrderRow.store_id.in_(list(names))]
    if wanted.state is not None:
        conditions.append(WorkOrderRow.state == wanted.state.value)
    if wanted.exception:
        conditions.append(WorkOrderRow.state == WorkState.EXCEPTION.value)
    if wanted.stage:
        conditions.append(WorkOrderRow.stage == wanted.stage)
    if wanted.overdue:
        conditions += [
            WorkOrderRow.fulfill_by.is_not(None),
            WorkOrderRow.fulfill_by < (now or datetime.now(UTC)),
            WorkOrderRow.state.in_([s.value for s in OPEN_WORK]),
        ]
    text = wanted.text.strip()[:MAX_SEARCH]
    if text:
        pattern = _like(text)

        def contains(column: Any) -> Any:
            return func.lower(cast(column, String)).like(pattern, escape="\\")

        tracked = exists().where(
            ShipmentRow.work_order_id == WorkOrderRow.id, contains(ShipmentRow.tracking)
        )
        conditions.append(
            or_(
                func.lower(WorkOrderRow.order_name).like(pattern, escape="\\"),
                contains(WorkOrderRow.lines),  # SKUs and titles
                contains(WorkOrderRow.shipping_address),  # the customer's name
                contains(WorkOrderRow.details),  # e-mail and phone
                tracked,
            )
        )
    where = and_(*conditions)
    total = await session.scalar(select(func.count()).select_from(WorkOrderRow).where(where)) or 0
    pages = _pages(total, per_page)
    page = min(max(page, 1), pages)
    rows = await session.scalars(
        select(WorkOrderRow)
        .where(where)
        .order_by(WorkOrderRow.updated_at.desc(), WorkOrderRow.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page([(row, names[row.store_id]) for row in rows], page, pages, total)


@dataclass(frozen=True)
class QueuedException:
    work_id: int
    store: str
    order_name: str
    problems: list[str]
    since: datetime
    age_seconds: float


async def exceptions_queue(
    session: AsyncSession,
    *,
    stores: Collection[str] | None,
    page: int = 1,
    per_page: int = PER_PAGE,
    now: datetime | None = None,
) -> Page:
    """Work in exception, oldest first, with how long it has waited."""
    now = now or datetime.now(UTC)
    names = _visible(await store_names(session), stores)
    where = and_(
        WorkOrderRow.store_id.in_(list(names)), WorkOrderRow.state == WorkState.EXCEPTION.value
    )
    total = await session.scalar(select(func.count()).select_from(WorkOrderRow).where(where)) or 0
    pages = _pages(total, per_page)
    page = min(max(page, 1), pages)
    entered = (
        select(
            WorkTransitionRow.work_order_id.label("work_id"),
            func.max(WorkTransitionRow.at).label("since"),
        )
        .where(WorkTransitionRow.to_state == WorkState.EXCEPTION.value)
        .group_by(WorkTransitionRow.work_order_id)
        .subquery()
    )
    since = func.coalesce(entered.c.since, WorkOrderRow.created_at)
    rows = await session.execute(
        select(WorkOrderRow, since)
        .outerjoin(entered, entered.c.work_id == WorkOrderRow.id)
        .where(where)
        .order_by(since, WorkOrderRow.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    items = []
    for row, at in rows.all():
        at = as_utc(at) if isinstance(at, datetime) else as_utc(row.created_at)
        items.append(
            QueuedException(
                row.id,
                names[row.store_id],
                row.order_name,
                list(row.problems or []),
                at,
                (now - at).total_seconds(),
            )
        )
    return Page(items, page, pages, total)


@dataclass
class StoreHealth:
    name: str
    shop_domain: str
    shop_name: str | None
    mode: str
    auth_kind: str
    token_expires_at: datetime | None
    scopes: list[str]
    last_contact_at: datetime | None  # Shopify's last answer that carried a cost
    last_news_at: datetime | None  # the last webhook, callback or poll result stored
    last_poll_at: datetime | None
    poll_failures: store_signals.Signal | None
    refused_webhooks: store_signals.Signal | None
    inbox_waiting: int
    inbox_failing: int
    last_inbox_error: str | None
    writes_failed: int
    writes_pending: int
    bucket: tuple[float, float] | None  # (available, maximum)
    setup_drift: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not (
            self.poll_failures or self.inbox_failing or self.writes_failed or self.setup_drift
        )


def setup_drift(settings: dict[str, Any], granted: Collection[str] = ()) -> list[str]:
    """What the store's remembered set-up lacks for its mode (``store setup`` repairs it).
    A topic whose scope was not granted is skipped by set-up on purpose, so not missing."""
    mode = settings.get("mode", FULFILLMENT_SERVICE)
    try:
        wanted = topics_for(mode)
    except Exception:
        return [f"unknown mode {mode!r}"]
    drift = []
    subscribed = settings.get("webhook_subscriptions") or {}
    if not subscribed:
        return ["set-up never ran: run fulfillbridge store setup"]
    missing = [
        topic
        for topic in wanted
        if topic not in subscribed
        and (topic not in TOPIC_SCOPES or has_scope(list(granted), TOPIC_SCOPES[topic]))
    ]
    if missing:
        drift.append("webhooks not subscribed: " + ", ".join(missing))
    if mode == FULFILLMENT_SERVICE and not settings.get("fulfillment_service_id"):
        drift.append("no fulfillment service registered")
    return drift


async def stores_health(
    session: AsyncSession, *, stores: Collection[str] | None
) -> list[StoreHealth]:
    query = select(StoreRow).order_by(StoreRow.name)
    if stores is not None:
        query = query.where(StoreRow.name.in_(list(stores)))
    rows = list(await session.scalars(query))
    ids = [row.id for row in rows]
    news = dict(
        (
            await session.execute(
                select(InboxEventRow.store_id, func.max(InboxEventRow.received_at))
                .where(InboxEventRow.store_id.in_(ids))
                .group_by(InboxEventRow.store_id)
            )
        ).all()
    )
    inbox: dict[int, tuple[int, int]] = {}
    for store_id, waiting, failing in await session.execute(
        select(
            InboxEventRow.store_id,
            func.count(),
            func.count(InboxEventRow.last_error),
        )
        .where(InboxEventRow.store_id.in_(ids), InboxEventRow.processed_at.is_(None))
        .group_by(InboxEventRow.store_id)
    ):
        inbox[store_id] = (waiting, failing)
    last_errors: dict[int, str] = {}
    for store_id, error in await session.execute(
        select(InboxEventRow.store_id, InboxEventRow.last_error)
        .where(
            InboxEventRow.store_id.in_(ids),
            InboxEventRow.processed_at.is_(None),
            InboxEventRow.last_error.is_not(None),
        )
        .order_by(InboxEventRow.id)
    ):
        last_errors[store_id] = error or ""
    writes: dict[int, dict[str, int]] = {i: {} for i in ids}
    for store_id, status, count in await session.execute(
        select(OutboxRow.store_id, OutboxRow.status, func.count())
        .where(OutboxRow.store_id.in_(ids))
        .group_by(OutboxRow.store_id, OutboxRow.status)
    ):
        writes[store_id][status] = count
    buckets = {
        row.store_id: row
        for row in await session.scalars(
            select(ThrottleStateRow).where(ThrottleStateRow.store_id.in_(ids))
        )
    }
    polls = dict(
        (
            await session.execute(
                select(CheckpointRow.store_id, CheckpointRow.updated_at).where(
                    CheckpointRow.store_id.in_(ids), CheckpointRow.name == "reconcile_run"
                )
            )
        ).all()
    )
    found = await store_signals.signals(session, ids)
    result = []
    for row in rows:
        bucket = buckets.get(row.id)
        contact = datetime.fromtimestamp(bucket.measured_at, UTC) if bucket else None
        waiting, failing = inbox.get(row.id, (0, 0))
        result.append(
            StoreHealth(
                name=row.name,
                shop_domain=row.shop_domain,
                shop_name=row.shop_name,
                mode=(row.settings or {}).get("mode", FULFILLMENT_SERVICE),
                auth_kind=row.auth_kind,
                token_expires_at=as_utc(row.token_expires_at) if row.token_expires_at else None,
                scopes=list(row.granted_scopes or []),
                last_contact_at=contact,
                last_news_at=as_utc(news[row.id]) if row.id in news else None,
                last_poll_at=as_utc(polls[row.id]) if row.id in polls else None,
                poll_failures=found.get((row.id, store_signals.RECONCILE_FAILURES)),
                refused_webhooks=found.get((row.id, store_signals.REFUSED_WEBHOOKS)),
                inbox_waiting=waiting,
                inbox_failing=failing,
                last_inbox_error=last_errors.get(row.id),
                writes_failed=sum(
                    n for s, n in writes[row.id].items() if s in ("failed", "unknown")
                ),
                writes_pending=writes[row.id].get("pending", 0),
                bucket=(bucket.available, bucket.maximum) if bucket else None,
                setup_drift=setup_drift(row.settings or {}, row.granted_scopes or []),
            )
        )
    return result


@dataclass(frozen=True)
class Rejection:
    store: str
    sku: str
    warehouse: str
    reason: str
    at: datetime | None
    source: str  # "shopify" (a level Shopify refused) or "upload" (a row the last upload lost)


async def inventory_rejections(
    session: AsyncSession,
    *,
    stores: Collection[str] | None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Page:
    """Every rejected level and every row the last upload of each store could not use."""
    names = _visible(await store_names(session), stores)
    ids = list(names)
    items: list[Rejection] = []
    for row in await session.scalars(
        select(InventoryLevelRow)
        .where(InventoryLevelRow.store_id.in_(ids), InventoryLevelRow.status == "rejected")
        .order_by(InventoryLevelRow.store_id, InventoryLevelRow.sku)
    ):
        items.append(
            Rejection(
                names[row.store_id],
                row.sku,
                row.warehouse,
                row.reason or "",
                as_utc(row.updated_at),
                "shopify",
            )
        )
    latest = (
        select(func.max(InventorySyncRow.id))
        .where(InventorySyncRow.store_id.in_(ids))
        .group_by(InventorySyncRow.store_id)
    )
    for sync in await session.scalars(
        select(InventorySyncRow).where(InventorySyncRow.id.in_(latest))
    ):
        at = as_utc(sync.finished_at or sync.started_at)
        for each in sync.rejections or []:
            items.append(
                Rejection(
                    names[sync.store_id],
                    str(each.get("sku") or ""),
                    str(each.get("warehouse") or ""),
                    str(each.get("reason") or ""),
                    at,
                    "upload",
                )
            )
    total = len(items)
    pages = _pages(total, per_page)
    page = min(max(page, 1), pages)
    return Page(items[(page - 1) * per_page : page * per_page], page, pages, total)


# --- charts ----------------------------------------------------------------------------------


@dataclass
class Activity:
    hours: list[datetime]  # the start of each hour, oldest first
    received: list[int]
    shipped: list[int]
    accept_latency: list[float | None]  # median seconds per hour: request -> accepted
    fulfil_latency: list[float | None]  # median seconds per hour: shipment -> fulfillment
    backlog: dict[str, int]  # open work by state, now


def _hour(at: datetime) -> datetime:
    return as_utc(at).replace(minute=0, second=0, microsecond=0)


async def activity(
    session: AsyncSession,
    *,
    stores: Collection[str] | None,
    hours: int = 24,
    now: datetime | None = None,
) -> Activity:
    now = now or datetime.now(UTC)
    first = _hour(now) - timedelta(hours=hours - 1)
    slots = [first + timedelta(hours=i) for i in range(hours)]
    index = {slot: i for i, slot in enumerate(slots)}
    names = _visible(await store_names(session), stores)
    ids = list(names)
    received = [0] * hours
    shipped = [0] * hours
    for (at,) in await session.execute(
        select(WorkOrderRow.created_at).where(
            WorkOrderRow.store_id.in_(ids), WorkOrderRow.created_at >= first
        )
    ):
        if (slot := index.get(_hour(at))) is not None:
            received[slot] += 1
    accept: list[list[float]] = [[] for _ in slots]
    for created, done in await session.execute(
        select(WorkOrderRow.created_at, OutboxRow.done_at)
        .join(WorkOrderRow, WorkOrderRow.id == OutboxRow.work_order_id)
        .where(
            OutboxRow.store_id.in_(ids),
            OutboxRow.kind == ACCEPT_REQUEST,
            OutboxRow.status == "done",
            OutboxRow.done_at >= first,
        )
    ):
        if done is not None and (slot := index.get(_hour(done))) is not None:
            accept[slot].append(max((as_utc(done) - as_utc(created)).total_seconds(), 0.0))
    fulfil: list[list[float]] = [[] for _ in slots]
    for created, done in await session.execute(
        select(ShipmentRow.created_at, OutboxRow.done_at)
        .join(WorkOrderRow, WorkOrderRow.id == ShipmentRow.work_order_id)
        .outerjoin(
            OutboxRow,
            and_(OutboxRow.id == ShipmentRow.outbox_id, OutboxRow.kind == CREATE_FULFILLMENT),
        )
        .where(WorkOrderRow.store_id.in_(ids), ShipmentRow.created_at >= first)
    ):
        if (slot := index.get(_hour(created))) is not None:
            shipped[slot] += 1
            if done is not None:
                fulfil[slot].append(max((as_utc(done) - as_utc(created)).total_seconds(), 0.0))
    backlog = {
        state: count
        for state, count in await session.execute(
            select(WorkOrderRow.state, func.count())
            .where(
                WorkOrderRow.store_id.in_(ids),
                WorkOrderRow.state.in_([s.value for s in OPEN_WORK]),
            )
            .group_by(WorkOrderRow.state)
        )
    }

    def medians(values: list[list[float]]) -> list[float | None]:
        return [statistics.median(v) if v else None for v in values]

    return Activity(slots, received, shipped, medians(accept), medians(fulfil), backlog)
