"""Processing: from what Shopify told us (inbox events) to work orders.

An inbox event is only a reason to look: each one is turned into a *pull* of the fulfillment
orders it concerns (a callback is a ping, NOTES.md "Fulfillment service"; webhook bodies can
be late, repeated or out of order). What Shopify says now is then *applied* to the work
orders: new work is validated, routed and accepted or refused through ``core.work``;
cancellations and cancellation requests are answered. Reconciliation (``flows.reconcile``)
applies its pulls through the same :func:`apply_remote`.

Claims without a claim column: pulls are reads and run outside any transaction; the event is
then applied and marked processed in ONE short transaction that starts with
``UPDATE inbox_events SET processed_at=... WHERE id=... AND processed_at IS NULL``. Two
workers racing on one event may both read Shopify, but only the first to commit applies it;
the other's update matches no row and it rolls back. One work order per (store, fulfillment
order) is the database's unique constraint; a lost race on it (or on the work order's row
version) rolls the transaction back and it is applied again against the winner's row.

Never backwards: a snapshot whose ``updatedAt`` is older than the work order's
``remote_updated_at`` is ignored; equal times are applied (Shopify's times have one-second
resolution) and every rule below is idempotent, so a repeat changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from fulfillbridge.config import Settings
from fulfillbridge.core.routing import RoutingError, Warehouse, choose_warehouse
from fulfillbridge.core.stores import Store
from fulfillbridge.core.validation import ValidationRules, validate
from fulfillbridge.core.work import (
    FINAL_STATES,
    Effect,
    Mode,
    Outcome,
    WorkOrder,
    WorkState,
    accept,
    answer_cancellation_request,
    cancelled_by_merchant,
    refuse,
    retry_exception,
)
from fulfillbridge.flows.connect import store_client
from fulfillbridge.flows.inventory import CATALOGUE_TOPICS, StoreBusy, apply_catalogue_event
from fulfillbridge.shopify import (
    BadRequest,
    MaxCostExceeded,
    QueryInvalid,
    ShopifyClient,
    ShopifyError,
    operation,
)
from fulfillbridge.shopify.mapping import (
    CANCELLED,
    IN_PROGRESS,
    OPEN,
    REJECTED,
    SUBMITTED,
    MappingError,
    RemoteFulfillmentOrder,
    ids_in_payload,
    to_remote,
)
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import InboxEventRow, StoreRow, WorkOrderRow, utcnow
from fulfillbridge.store.work import WorkRepository, to_domain

logger = logging.getLogger("fulfillbridge.processing")

ACTOR_SHOPIFY = "shopify"  # changes Shopify's news caused
ACTOR_BRIDGE = "fulfillbridge"  # decisions the bridge took (validation, routing, answers)

# A failing event is retried after 5 s, 10 s, 20 s ... at most 10 min apart.
RETRY_BASE_SECONDS = 5.0
RETRY_MAX_SECONDS = 600.0
# An event failing on our side (a bug, a query Shopify refuses) is given up after this many
# attempts; one failing because Shopify is unreachable, throttling or refusing our
# credentials keeps trying for longer (about 6 h). Either way reconciliation still covers it.
MAX_ATTEMPTS = 8
MAX_TRANSIENT_ATTEMPTS = 40
# Conflicts with another worker (unique constraint, row version) are applied again.
APPLY_RETRIES = 4
PAGE_SIZE = 25  # fulfillment orders per page (each with up to 50 lines)
# nodes(ids:) is charged per id: 20 fulfillment orders stay well under Shopify's 1000-point
# ceiling for one query (NOTES.md "Rate limits").
IDS_PER_READ = 20
MAX_PAGES = 400
NOTIFY_NEW_WORK = "new_work"
NOTIFY_CANCELLED = "cancelled"
# In fulfillment-service mode these webhooks say what the callback says (a request reached
# our location): like the callback, they are answered by one pull of the assigned orders,
# so a burst of N requests costs a few pulls rather than N reads.
FULFILLMENT_SERVICE_TOPICS_PULLING_ASSIGNED = (
    "fulfillment_orders/fulfillment_request_submitted",
    "fulfillment_orders/cancellation_request_submitted",
)


# Work whose order news can teach nothing: shipped in full (delivery is ours to report) or
# final. Not rejected work: the merchant may fix the order and ask again, and seeing the
# rejection in Shopify is what lets that new request be told apart. Reconciliation still
# reads every fulfillment order that changes, whatever its state.
_SETTLED = frozenset(
    state.value for state in (FINAL_STATES | {WorkState.SHIPPED}) - {WorkState.REJECTED}
)


class StoreNotReady(Exception):
    """The store lacks set-up this event needs (e.g. no fulfillment-service location)."""


# --------------------------------------------------------------------------- store context


@dataclass(frozen=True)
class StoreContext:
    """What processing needs to know about one store."""

    store: Store
    mode: Mode
    location_id: str | None  # our fulfillment service's location (fulfillment-service mode)
    managed_locations: tuple[str, ...]  # merchant locations we work (order management)
    rules: ValidationRules
    warehouses: tuple[Warehouse, ...]

    @property
    def store_id(self) -> int:
        return self.store.id

    def is_ours(self, location_id: str | None) -> bool:
        if location_id is None:
            return False
        if self.mode is Mode.FULFILLMENT_SERVICE:
            return self.location_id is not None and _same_gid(location_id, self.location_id)
        return any(_same_gid(location_id, managed) for managed in self.managed_locations)


def _same_gid(a: str, b: str) -> bool:
    # Shopify may append "?id=true"-like suffixes to gids (NOTES.md, fulfillment services).
    return a.split("?", 1)[0] == b.split("?", 1)[0]


def store_context(store: Store, settings: Settings) -> StoreContext:
    options = store.settings or {}
    mode = Mode(options.get("mode") or Mode.FULFILLMENT_SERVICE.value)
    catalogue = options.get("catalogue")
    return StoreContext(
        store=store,
        mode=mode,
        location_id=options.get("location_id"),
        managed_locations=tuple(options.get("managed_locations") or ()),
        rules=ValidationRules(
            require_billing_address=bool(options.get("require_billing_address", False)),
            catalogue=frozenset(catalogue) if catalogue is not None else None,
        ),
        warehouses=tuple(
            Warehouse(name=w.name, priority=w.priority, locations=tuple(w.locations))
            for w in settings.warehouses
        ),
    )


async def load_store(database: Database, store_id: int) -> tuple[Store, dict[str, str]]:
    async with database.transaction() as session:
        name = await session.scalar(select(StoreRow.name).where(StoreRow.id == store_id))
    if name is None:
        raise StoreNotReady(f"no store with id {store_id}")
    async with database.stores() as stores:
        return await stores.get(name), await stores.secrets(name)


def open_client(
    database: Database, settings: Settings, store: Store, secrets: dict[str, str]
) -> ShopifyClient:
    return store_client(database, settings, store, secrets)


# --------------------------------------------------------------------------- results


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


# --------------------------------------------------------------------------- pulls


async def read_all(
    client: ShopifyClient, name: str, variables: dict[str, Any], path: Sequence[str]
) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    async for node in client.paginate(
        name, variables, path=path, page_size=PAGE_SIZE, max_pages=MAX_PAGES
    ):
        if node:
            nodes.append(node)
    return nodes


def map_nodes(
    ctx: StoreContext, nodes: Sequence[dict[str, Any] | None]
) -> list[RemoteFulfillmentOrder]:
    return [
        to_remote(node, store=ctx.store.name, mode=ctx.mode)
        for node in nodes
        if node and str(node.get("id", "")).startswith("gid://shopify/FulfillmentOrder/")
    ]


async def pull_assigned(client: ShopifyClient, ctx: StoreContext) -> list[RemoteFulfillmentOrder]:
    """Requests waiting at our fulfillment-service location: new fulfillment requests and
    cancellation requests (what a callback ping means, NOTES.md "Fulfillment service")."""
    if ctx.location_id is None:
        raise StoreNotReady(
            f"store {ctx.store.name!r} has no fulfillment-service location yet: run "
            f"`fulfillbridge store setup {ctx.store.name}`"
        )
    found: list[RemoteFulfillmentOrder] = []
    for status in ("FULFILLMENT_REQUESTED", "CANCELLATION_REQUESTED"):
        nodes = await read_all(
            client,
            "AssignedFulfillmentOrders",
            {"assignmentStatus": status, "locationIds": [ctx.location_id]},
            ("assignedFulfillmentOrders",),
        )
        for remote in map_nodes(ctx, nodes):
            # Listed as CANCELLATION_REQUESTED: pending even if requestStatus reads otherwise.
            if status == "CANCELLATION_REQUESTED" and not remote.cancellation_pending:
                remote = replace(remote, cancellation_pending=True)
            found.append(remote)
    return found


async def pull_by_ids(
    client: ShopifyClient, ctx: StoreContext, ids: Sequence[str]
) -> list[RemoteFulfillmentOrder]:
    found: list[RemoteFulfillmentOrder] = []
    for start in range(0, len(ids), IDS_PER_READ):
        data = await client.execute(
            operation("FulfillmentOrdersByIds"), {"ids": list(ids[start : start + IDS_PER_READ])}
        )
        found += map_nodes(ctx, data.get("nodes") or [])
    return found


async def pull_order(
    client: ShopifyClient, ctx: StoreContext, order_id: str
) -> list[RemoteFulfillmentOrder]:
    """Every fulfillment order of one order (an unknown order has none)."""
    nodes: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(MAX_PAGES):
        data = await client.execute(
            operation("OrderFulfillmentOrders"),
            {"id": order_id, "first": PAGE_SIZE, "after": after},
        )
        order = data.get("order")
        if not order:
            return []
        connection = order.get("fulfillmentOrders") or {}
        nodes += [n for n in connection.get("nodes") or [] if n]
        page = connection.get("pageInfo") or {}
        if not page.get("hasNextPage") or not page.get("endCursor"):
            break
        after = page["endCursor"]
    return map_nodes(ctx, nodes)


# --------------------------------------------------------------------------- decisions


def _aware(value: datetime | None) -> datetime | None:
    # SQLite gives back naive datetimes: everything stored here is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _exception(order: WorkOrder, problems: Sequence[str]) -> Outcome:
    """Work that cannot be routed waits for an operator (a fix in the configuration), in
    either mode: refusing a merchant's request for our own set-up mistake would be wrong."""
    return Outcome(replace(order, state=WorkState.EXCEPTION, problems=tuple(problems)))


def decide_new_work(order: WorkOrder, ctx: StoreContext, location_id: str | None) -> Outcome:
    """Validate and route work in state received: accept it, refuse it, or flag it."""
    problems = validate(order, ctx.rules)
    if problems:
        return refuse(order, problems)
    try:
        warehouse = choose_warehouse(order, ctx.warehouses, location_id)
    except RoutingError as exc:
        return _exception(order, [str(exc)])
    return accept(order, warehouse=warehouse.name)


def _adopt(order: WorkOrder, ctx: StoreContext, location_id: str | None) -> Outcome:
    """A request Shopify shows as accepted already (e.g. accepted before this database
    existed): take it over as accepted work, with nothing to tell Shopify."""
    try:
        warehouse = choose_warehouse(order, ctx.warehouses, location_id)
    except RoutingError as exc:
        return _exception(order, [str(exc)])
    return Outcome(replace(order, state=WorkState.ACCEPTED, warehouse=warehouse.name))


def _new_work_kind(ctx: StoreContext, remote: RemoteFulfillmentOrder) -> str | None:
    """'request' for new work to validate, 'adopt' for accepted work to take over, None when
    the fulfillment order is none of our business (yet)."""
    if remote.order_cancelled or not ctx.is_ours(remote.location_id):
        return None
    if ctx.mode is Mode.FULFILLMENT_SERVICE:
        if remote.status == OPEN and remote.request_status == SUBMITTED:
            return "request"
        if remote.status == IN_PROGRESS and remote.request_status in {
            "ACCEPTED",
            "CANCELLATION_REQUESTED",
            "CANCELLATION_REJECTED",
        }:
            return "adopt"
        return None
    return "request" if remote.status == OPEN else None


def _notification(row: WorkOrderRow, order: WorkOrder, event: str) -> Effect:
    return Effect(
        event,
        {
            "event": event,
            "store": order.store,
            "work_order_id": row.id,
            "order_name": order.order_name,
            "fulfillment_order_id": order.remote_id,
            "order_id": row.order_remote_id,
            "state": order.state.value,
            "warehouse": order.warehouse,
            "lines": [
                {"line_id": line.line_id, "sku": line.sku, "quantity": line.quantity}
                for line in order.lines
            ],
        },
    )


def _notify(
    repo: WorkRepository, settings: Settings, row: WorkOrderRow, order: WorkOrder, event: str
) -> None:
    if settings.operation_webhook_url:
        repo.queue(row.store_id, row.id, _notification(row, order, event), target="operation")


async def _store(
    repo: WorkRepository,
    settings: Settings,
    row: WorkOrderRow,
    outcome: Outcome,
    result: ApplyResult,
    *,
    actor: str,
    detail: dict[str, Any],
) -> None:
    before = WorkState(row.state)
    await repo.store_outcome(row, outcome, actor=actor, detail=detail)
    after = outcome.order.state
    if after is before:
        return
    if after is WorkState.ACCEPTED:
        result.accepted += 1
        _notify(repo, settings, row, outcome.order, NOTIFY_NEW_WORK)
    elif after is WorkState.REJECTED:
        result.refused += 1
    elif after is WorkState.EXCEPTION:
        result.exceptions += 1
    elif after is WorkState.CANCELLED:
        result.cancelled += 1
        _notify(repo, settings, row, outcome.order, NOTIFY_CANCELLED)


def _record_remote(row: WorkOrderRow, remote: RemoteFulfillmentOrder) -> None:
    """Remember what Shopify said; unchanged news writes nothing (no new row version)."""
    if row.remote_status != remote.status:
        row.remote_status = remote.status
    if row.remote_request_status != remote.request_status:
        row.remote_request_status = remote.request_status
    if remote.updated_at is not None and _aware(row.remote_updated_at) != remote.updated_at:
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
    if row is None:
        kind = _new_work_kind(ctx, remote)
        if kind is None:
            result.ignored += 1
            return result
        row = await repo.create(
            ctx.store_id,
            remote.work,
            order_remote_id=remote.order_id,
            location_remote_id=remote.location_id,
            actor=ACTOR_SHOPIFY,
            remote_status=remote.status,
            remote_request_status=remote.request_status,
            remote_updated_at=remote.updated_at,
        )
        result.created += 1
        result.work_order_ids.append(row.id)
        if kind == "adopt":
            outcome = _adopt(remote.work, ctx, remote.location_id)
        else:
            outcome = decide_new_work(remote.work, ctx, remote.location_id)
            if remote.lines_truncated and outcome.order.state is WorkState.ACCEPTED:
                outcome = _exception(
                    remote.work,
                    ["the fulfillment order has more lines than were read: check it in Shopify"],
                )
        await _store(repo, settings, row, outcome, result, actor=ACTOR_BRIDGE, detail=detail)
        if kind == "adopt" and remote.cancellation_pending:
            await _answer_cancellation(repo, settings, row, ctx, remote, result, detail)
        return result

    result.work_order_ids.append(row.id)
    seen = _aware(row.remote_updated_at)
    if remote.updated_at is not None and seen is not None and remote.updated_at < seen:
        result.stale += 1
        return result
    newer = remote.updated_at is not None and (seen is None or remote.updated_at > seen)
    previous_request_status = row.remote_request_status
    _record_remote(row, remote)
    order = to_domain(row, ctx.store.name)
    if (
        order.state is WorkState.REJECTED
        and newer
        and previous_request_status == REJECTED
        and _new_work_kind(ctx, remote) == "request"
    ):
        # Shopify had our rejection and the merchant requested again (e.g. after fixing
        # the address): a new request for the same fulfillment order, taken in afresh.
        again = replace(remote.work, state=WorkState.RECEIVED, problems=())
        await repo.store_outcome(
            row, Outcome(again), actor=ACTOR_SHOPIFY, detail={**detail, "reason": "requested again"}
        )
        await _store(
            repo,
            settings,
            row,
            decide_new_work(again, ctx, remote.location_id),
            result,
            actor=ACTOR_BRIDGE,
            detail=detail,
        )
        result.updated += 1
        await session.flush()
        return result
    if order.is_final:
        result.updated += 1
        await session.flush()
        return result
    taken_back = _taken_back(ctx, order, remote, newer=newer)
    if taken_back is not None:
        await _store(
            repo,
            settings,
            row,
            cancelled_by_merchant(order),
            result,
            actor=ACTOR_SHOPIFY,
            detail={**detail, "reason": taken_back},
        )
    elif ctx.mode is Mode.FULFILLMENT_SERVICE and remote.cancellation_pending:
        if _unanswered(order, remote):
            await _answer_cancellation(repo, settings, row, ctx, remote, result, detail)
    elif order.cancel_requested and not remote.cancellation_pending:
        # Our answer reached Shopify: a later request will be answered again.
        await repo.store_outcome(
            row, Outcome(replace(order, cancel_requested=False)), actor=ACTOR_SHOPIFY
        )
    elif order.state is WorkState.EXCEPTION and newer and _new_work_kind(ctx, remote):
        # Shopify's data changed since the exception (e.g. an address was fixed): try again.
        retried = retry_exception(order).order
        fresh = replace(
            retried,
            lines=remote.work.lines,
            shipping_address=remote.work.shipping_address,
            billing_address=remote.work.billing_address,
        )
        await _store(
            repo,
            settings,
            row,
            decide_new_work(fresh, ctx, remote.location_id),
            result,
            actor=ACTOR_BRIDGE,
            detail={**detail, "reason": "changed in Shopify"},
        )
    result.updated += 1
    await session.flush()
    return result


def _taken_back(
    ctx: StoreContext, order: WorkOrder, remote: RemoteFulfillmentOrder, *, newer: bool
) -> str | None:
    """Why Shopify's news ends the work here, if it does: the order was cancelled, or,
    while nothing is shipped, the merchant closed the fulfillment order or moved it to a
    location this store does not work for."""
    if remote.order_cancelled or remote.status == CANCELLED:
        return "cancelled in Shopify"
    if any(line.shipped for line in order.lines):
        return None
    if remote.is_closed and order.state is not WorkState.SHIPPED:
        return "closed in Shopify"
    if newer and not ctx.is_ours(remote.location_id):
        return f"moved to {remote.location_id} in Shopify"
    return None


def _unanswered(order: WorkOrder, remote: RemoteFulfillmentOrder) -> bool:
    """Whether the pending cancellation request still needs our answer: none was given, or
    the one given was for an earlier request (the merchant asked again after a refusal)."""
    if not order.cancel_requested:
        return True
    request = remote.cancellation_request_id
    return request is not None and request != order.answered_cancellation


async def _answer_cancellation(
    repo: WorkRepository,
    settings: Settings,
    row: WorkOrderRow,
    ctx: StoreContext,
    remote: RemoteFulfillmentOrder,
    result: ApplyResult,
    detail: dict[str, Any],
) -> None:
    order = to_domain(row, ctx.store.name)
    outcome = answer_cancellation_request(order, settings.stages, settings.cancel_cutoff_stage)
    if not outcome.effects:
        return
    # Remember that this request is answered, so a repeat of the news does not answer twice.
    answered = replace(
        outcome.order, cancel_requested=True, answered_cancellation=remote.cancellation_request_id
    )
    outcome = replace(outcome, order=answered)
    result.cancellation_answers += 1
    await _store(
        repo,
        settings,
        row,
        outcome,
        result,
        actor=ACTOR_BRIDGE,
        detail={**detail, "reason": "cancellation requested"},
    )


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
        await _store(
            repo,
            settings,
            row,
            cancelled_by_merchant(order),
            result,
            actor=ACTOR_SHOPIFY,
            detail={"source": source, "reason": "order cancelled"},
        )
    await session.flush()
    return result


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class PullPlan:
    """What an event amounts to once Shopify has been asked."""

    remotes: tuple[RemoteFulfillmentOrder, ...] = ()
    cancelled_orders: tuple[str, ...] = ()
    note: str = ""
    # When this plan is a pull of every assigned fulfillment order: the highest inbox id of
    # the store when that pull started (every event up to it is answered by the pull).
    assigned_pull_watermark: int | None = None


def _order_gid(payload: dict[str, Any]) -> str | None:
    value = payload.get("admin_graphql_api_id")
    if isinstance(value, str) and value.startswith("gid://shopify/Order/"):
        return value
    raw = payload.get("id")
    if isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit()):
        return f"gid://shopify/Order/{raw}"
    return None


async def plan_event(
    client: ShopifyClient,
    ctx: StoreContext,
    source: str,
    topic: str,
    payload: dict[str, Any],
    *,
    answered: bool = False,
    watermark: Callable[[], Awaitable[int]] | None = None,
    settled: Callable[[str], Awaitable[bool]] | None = None,
) -> PullPlan:
    """Ask Shopify what an event is about (reads only). ``answered``: a pull of every
    assigned fulfillment order already covered this event; ``watermark`` reads the store's
    highest inbox id, taken just before such a pull; ``settled`` tells whether every local
    work order of an order is final."""
    payload = payload if isinstance(payload, dict) else {}
    service = ctx.mode is Mode.FULFILLMENT_SERVICE
    if source == "callback" or (service and topic in FULFILLMENT_SERVICE_TOPICS_PULLING_ASSIGNED):
        if not service:
            return PullPlan(note="callback ignored: the store is in order management mode")
        if answered:
            return PullPlan(note="already answered by a later pull of the assigned orders")
        mark = await watermark() if watermark is not None else None
        remotes = tuple(await pull_assigned(client, ctx))
        return PullPlan(remotes=remotes, assigned_pull_watermark=mark)
    if topic == "orders/cancelled":
        order_id = _order_gid(payload)
        if order_id is None:
            raise MappingError("orders/cancelled body names no order id")
        if payload.get("cancelled_at") is not None or "cancelled_at" not in payload:
            return PullPlan(cancelled_orders=(order_id,))
        return PullPlan(remotes=tuple(await pull_order(client, ctx, order_id)))
    if topic == "orders/create" and ctx.mode is Mode.FULFILLMENT_SERVICE:
        # A new order's fulfillment orders reach a fulfillment service through requests
        # (callback, fulfillment_request_submitted) and reconciliation; reading them now
        # would only spend points on work nobody asked us for yet.
        return PullPlan(note="orders/create: a fulfillment service waits for the request")
    if topic.startswith("orders/"):
        order_id = _order_gid(payload)
        if order_id is None:
            raise MappingError(f"{topic} body names no order id")
        if service and settled is not None and await settled(order_id):
            # Mostly the echo of our own fulfillment: finished work has nothing to learn
            # from it, and new work would come to a fulfillment service as a request.
            return PullPlan(note=f"{topic}: the order's work here is finished")
        return PullPlan(remotes=tuple(await pull_order(client, ctx, order_id)))
    if topic.startswith("fulfillment_orders/"):
        fo_ids, order_ids = ids_in_payload(payload)
        remotes = await pull_by_ids(client, ctx, fo_ids) if fo_ids else []
        if not fo_ids:
            for order_id in order_ids:
                remotes += await pull_order(client, ctx, order_id)
        return PullPlan(remotes=tuple(remotes))
    return PullPlan(note=f"topic {topic} needs no processing")


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


# --------------------------------------------------------------------------- the inbox


def retry_delay(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failure."""
    if attempts <= 0:
        return 0.0
    return min(RETRY_BASE_SECONDS * 2 ** (attempts - 1), RETRY_MAX_SECONDS)


# Failures seen by this process ((database URL, event id) -> monotonic time), so that
# retries back off from the last failure; other processes fall back on the schedule counted
# from reception.
_last_failure: dict[tuple[str, int], float] = {}
# A callback (or request webhook) is only a ping: a pull of every assigned fulfillment order
# that started after it arrived answers it, so a burst of N pings costs a few pulls, not N.
# Per database and store: the highest inbox id that existed when an applied pull started.
# Ids, not clocks: an id is allocated after its event was received, and allocation order
# holds across processes and machines whatever order the transactions commit in.
_assigned_pulled: dict[tuple[str, int], int] = {}


def _due(database: Database, row: InboxEventRow, now: datetime) -> bool:
    if not row.attempts:
        return True
    failed_at = _last_failure.get((database.url, row.id))
    if failed_at is not None and time.monotonic() - failed_at < retry_delay(row.attempts):
        return False
    waited = sum(retry_delay(n) for n in range(1, row.attempts + 1))
    received = _aware(row.received_at) or now
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
    _last_failure[(database.url, event.id)] = time.monotonic()
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
        _last_failure.pop((database.url, event.id), None)
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
        return await apply_plan(session, ctx, settings, plan, source=event.source)

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


async def _due_events(database: Database, limit: int) -> list[InboxEventRow]:
    now = datetime.now(UTC)
    due: list[InboxEventRow] = []
    after = 0
    # Look past events that are waiting for their retry, a bounded number of rows.
    for _ in range(20):
        async with database.transaction() as session:
            rows = list(
                await session.scalars(
                    select(InboxEventRow)
                    .where(InboxEventRow.processed_at.is_(None), InboxEventRow.id > after)
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


async def process_event(
    database: Database, settings: Settings, event: InboxEventRow, clients: _Clients
) -> ApplyResult | None:
    """Pull and apply one inbox event; a failure is recorded on the event, never raised."""
    key = (database.url, event.store_id)

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

    async def watermark() -> int:
        async with database.transaction() as session:
            highest = await session.scalar(
                select(func.max(InboxEventRow.id)).where(InboxEventRow.store_id == event.store_id)
            )
        return int(highest or 0)

    try:
        ctx, client = await clients.get(event.store_id)
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
                answered=event.id <= _assigned_pulled.get(key, 0),
                watermark=watermark,
                settled=settled,
            )
        result = await _claim_and_apply(database, ctx, settings, event, plan)
        if plan.assigned_pull_watermark is not None:
            # Only now, with the pull's results stored, may it answer other events.
            _assigned_pulled[key] = max(_assigned_pulled.get(key, 0), plan.assigned_pull_watermark)
    except Exception as exc:  # any failure must leave the event for a later attempt
        await _record_failure(database, event, exc)
        return _FAILED_TRANSIENT if _is_transient(exc) else None
    _last_failure.pop((database.url, event.id), None)
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


async def process_inbox(database: Database, settings: Settings, *, limit: int = 100) -> int:
    """Process up to ``limit`` due inbox events, oldest first; returns how many were handled
    (processed, failed once more, or given up). Safe to run in several workers at once."""
    events = await _due_events(database, limit)
    if not events:
        return 0
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
    return handled
