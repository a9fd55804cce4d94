"""Returns: from Shopify's news to return work, and the operation's receipts, dispositions
and labels back to Shopify.

* **Intake.** A ``returns/*`` or ``reverse_*`` webhook names a return (or a reverse
  delivery, a reverse fulfillment order, an order): :func:`pull_for_event` reads the
  returns concerned from Shopify (never trusting the body), and :func:`apply_returns`
  follows each (``core.returns.follow``) in the transaction that marks the event processed.
  Only the SKUs the operation shipped for that order become return lines; a return of
  nothing the operation shipped is left alone. Reconciliation (:func:`reconcile_returns`)
  reads orders changed since its checkpoint and the returns still open, through the same
  code, so a lost webhook costs at most one interval.
* **The operation's commands** (:class:`Receive`, :class:`Dispose`, :class:`AttachLabel`,
  through :func:`apply_command` or :func:`act`) apply the pure rules and store the
  return, its history and its outbox rows in one transaction; dispositions
  (``reverseFulfillmentOrderDispose``) and labels (``reverseDeliveryCreateWithShipping``)
  go out through the outbox (``return_writes``).
* **Telling the operation.** Each change announces ``return_expected``,
  ``return_received``, ``return_disposed``, ``return_declined``, ``return_cancelled``,
  ``return_closed`` or ``return_updated`` (outbox rows with target ``operation``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from fulfillbridge.config import Settings
from fulfillbridge.core import returns as core
from fulfillbridge.core.inventory import location_for
from fulfillbridge.core.returns import (
    DispositionDecision,
    Receipt,
    RemoteReturn,
    ReturnError,
    ReturnNotFound,
    ReturnOutcome,
    ReturnTracking,
    Shipped,
)
from fulfillbridge.core.stores import AuthKind, Store
from fulfillbridge.flows import notify
from fulfillbridge.flows.inventory.base import store_levels
from fulfillbridge.flows.work_queries import store_names
from fulfillbridge.flows.work_views import json_ready
from fulfillbridge.shopify import ShopifyClient, operation
from fulfillbridge.shopify.returns import RETURN_TOPICS, ids_in_webhook, remote_return
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import ReturnWorkRow, StoreRow, WorkOrderRow, as_utc
from fulfillbridge.store.returns import ReturnRepository, line_to_json, to_domain

logger = logging.getLogger("fulfillbridge.returns")

__all__ = [
    "RETURN_TOPICS",
    "AttachLabel",
    "Dispose",
    "Receive",
    "ReturnCommand",
    "ReturnResult",
    "act",
    "apply_command",
    "apply_returns",
    "get_return",
    "list_returns",
    "pull_for_event",
    "reconcile_returns",
    "return_view",
    "returns_enabled",
]


def returns_enabled(store: Store) -> bool:
    return bool((store.settings or {}).get("returns", False))


# --------------------------------------------------------------------------- views


def _age_hours(since: datetime | None, now: datetime) -> float | None:
    if since is None:
        return None
    return round((now - as_utc(since)).total_seconds() / 3600, 1)


def return_view(row: ReturnWorkRow, store: str, *, now: datetime | None = None) -> dict[str, Any]:
    """A return as the API, the CLI, the CSV export and the notifications show it."""
    now = now or datetime.now(UTC)
    work = to_domain(row, store)
    lines = []
    for line in work.lines:
        data = line_to_json(line)
        data["arrived_undecided"] = line.arrived_undecided
        data["still_expected"] = line.never_arrived_undecided
        lines.append(data)
    return json_ready(
        {
            "id": row.id,
            "store": store,
            "return_id": row.remote_id,
            "name": row.name,
            "order_id": row.order_remote_id,
            "order_name": row.order_name,
            "state": row.state,
            "lines": lines,
            "tracking": [dict(t) for t in row.tracking or []],
            "decline": (
                {"reason": row.decline_reason, "note": row.decline_note}
                if row.decline_reason
                else None
            ),
            "exchange_items": row.exchange_items,
            "expected_at": as_utc(row.expected_at) if row.expected_at else None,
            "received_at": as_utc(row.received_at) if row.received_at else None,
            "age_hours": _age_hours(row.expected_at, now),
            "updated_at": as_utc(row.updated_at) if row.updated_at else None,
        }
    )


def _announce(
    repo: ReturnRepository,
    settings: Settings,
    store_settings: dict[str, Any] | None,
    row: ReturnWorkRow,
    store: str,
    events: Sequence[str],
) -> None:
    if not events or not notify.target_url(settings, store_settings):
        return
    view = return_view(row, store)
    for event in events:
        data = {**view, "event": event}
        repo.queue(row.store_id, row.id, core.ReturnEffect(event, data), target="operation")


# --------------------------------------------------------------------------- intake


async def _return_ids_of_order(client: ShopifyClient, order_id: str) -> list[str]:
    data = await client.execute(operation("OrderReturns"), {"id": order_id})
    order = data.get("order") or {}
    return [node["id"] for node in (order.get("returns") or {}).get("nodes") or []]


async def _read_returns(client: ShopifyClient, ids: Sequence[str]) -> list[RemoteReturn]:
    found = []
    for return_id in dict.fromkeys(ids):
        data = await client.execute(operation("ReturnById"), {"id": return_id})
        if data.get("return"):
            found.append(remote_return(data["return"]))
    return found


async def pull_for_event(client: ShopifyClient, payload: dict[str, Any]) -> list[RemoteReturn]:
    """The returns a webhook body is about, as Shopify has them now."""
    ids = ids_in_webhook(payload)
    if "Return" in ids:
        return await _read_returns(client, [ids["Return"]])
    order_id = ids.get("Order")
    if order_id is None and "ReverseDelivery" in ids:
        data = await client.execute(
            operation("ReverseDeliveryOrder"), {"id": ids["ReverseDelivery"]}
        )
        reverse = (data.get("reverseDelivery") or {}).get("reverseFulfillmentOrder") or {}
        order_id = (reverse.get("order") or {}).get("id")
    if order_id is None and "ReverseFulfillmentOrder" in ids:
        data = await client.execute(
            operation("ReverseFulfillmentOrderOrder"), {"id": ids["ReverseFulfillmentOrder"]}
        )
        order_id = ((data.get("reverseFulfillmentOrder") or {}).get("order") or {}).get("id")
    if order_id is None:
        return []
    return await _read_returns(client, await _return_ids_of_order(client, order_id))


async def _shipped_for(session: AsyncSession, store_id: int, order_id: str) -> dict[str, Shipped]:
    """The order's SKUs the operation shipped, each with the work order that shipped it."""
    rows = await session.scalars(
        select(WorkOrderRow)
        .where(WorkOrderRow.store_id == store_id, WorkOrderRow.order_remote_id == order_id)
        .order_by(WorkOrderRow.id)
    )
    shipped: dict[str, Shipped] = {}
    for row in rows:
        for line in row.lines or []:
            if line.get("sku") and int(line.get("shipped") or 0) > 0:
                shipped.setdefault(line["sku"], Shipped(row.id, row.warehouse))
    return shipped


@dataclass
class ReturnsApplied:
    stored: int = 0
    unchanged: int = 0
    not_ours: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        parts = [f"{self.stored} return(s) stored, {self.unchanged} unchanged"]
        if self.not_ours:
            parts.append(
                "not for work the operation shipped (left alone): " + ", ".join(self.not_ours)
            )
        return "; ".join(parts)


async def apply_returns(
    session: AsyncSession,
    settings: Settings,
    store: Store,
    pulled: Sequence[RemoteReturn],
    *,
    actor: str = "shopify",
) -> ReturnsApplied:
    """Follow each return read from Shopify, in the caller's transaction."""
    repo = ReturnRepository(session)
    applied = ReturnsApplied()
    for news in pulled:
        row = await repo.find(store.id, news.remote_id)
        known = to_domain(row, store.name) if row is not None else None
        shipped = await _shipped_for(session, store.id, news.order_remote_id)
        outcome = core.follow(known, news, shipped, store=store.name)
        if outcome is None:
            applied.not_ours.append(f"{news.name} (order {news.order_name or '?'})")
            continue
        if known is not None and outcome.work == known:
            applied.unchanged += 1
            continue
        row, _queued = await repo.store_outcome(
            store.id, row, outcome, actor=actor, detail={"shopify_status": news.status.value}
        )
        _announce(repo, settings, store.settings, row, store.name, outcome.events)
        applied.stored += 1
    return applied


async def reconcile_returns(
    database: Database,
    client: ShopifyClient,
    settings: Settings,
    store: Store,
    *,
    since: datetime | None,
) -> ReturnsApplied:
    """Read again the returns of orders changed since ``since`` that the bridge worked,
    and every return still open here; apply what changed."""
    async with database.transaction() as session:
        ids = await ReturnRepository(session).open_remote_ids(store.id)
        worked = set(
            await session.scalars(
                select(WorkOrderRow.order_remote_id).where(WorkOrderRow.store_id == store.id)
            )
        )
    if since is not None:
        query = f"updated_at:>='{since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'"
        async for order in client.paginate(
            operation("OrdersWithReturnsSince"), {"query": query}, path=("orders",)
        ):
            if order["id"] in worked and order.get("returnStatus") not in (None, "NO_RETURN"):
                ids += await _return_ids_of_order(client, order["id"])
    pulled = await _read_returns(client, ids)
    async with database.transaction() as session:
        return await apply_returns(session, settings, store, pulled, actor="reconcile")


# --------------------------------------------------------------------------- queries


async def get_return(
    session: AsyncSession, return_id: int, *, stores: Collection[str] | None = None
) -> tuple[ReturnWorkRow, str]:
    """The return with this id, if its store is among ``stores`` (None: any)."""
    row = await session.get(ReturnWorkRow, return_id)
    names = await store_names(session)
    if (
        row is None
        or row.store_id not in names
        or (stores is not None and names[row.store_id] not in stores)
    ):
        raise ReturnNotFound(f"no return {return_id}")
    return row, names[row.store_id]


async def list_returns(
    database: Database,
    *,
    stores: Collection[str] | None = None,
    store: str | None = None,
    states: Sequence[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Returns as views, oldest first; ``states`` filters (e.g. expected, received)."""
    for state in states or ():
        if state not in {s.value for s in core.ReturnState}:
            known = ", ".join(s.value for s in core.ReturnState)
            raise ReturnError(f"unknown return state {state!r}: choose from {known}")
    async with database.transaction() as session:
        names = await store_names(session)
        visible = {
            i: n
            for i, n in names.items()
            if (stores is None or n in stores) and (store is None or n == store)
        }
        if store is not None and not visible:
            raise ReturnNotFound(f"no store named {store!r}")
        rows = await ReturnRepository(session).listing(
            store_ids=list(visible), states=states, limit=limit, offset=offset
        )
        return [return_view(row, visible[row.store_id]) for row in rows]


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class ReturnResult:
    view: dict[str, Any]
    queued: list[tuple[int, str]]  # outbox rows (id, kind) for Shopify


@dataclass(frozen=True)
class Receive:
    """Units arrived (per line: quantity and condition)."""

    receipts: tuple[Receipt, ...]


@dataclass(frozen=True)
class Dispose:
    """What becomes of returned units; restocked ones go to a warehouse's Shopify location
    (``warehouses[].locations``, else the store's own location)."""

    decisions: tuple[DispositionDecision, ...]


@dataclass(frozen=True)
class AttachLabel:
    """The operation bought the return label: its tracking and label go to Shopify."""

    tracking: ReturnTracking


ReturnCommand = Receive | Dispose | AttachLabel


def _decide(
    command: ReturnCommand,
    work: core.ReturnWork,
    store_row: StoreRow,
    settings: Settings,
    shipped_from: dict[int, str | None],
) -> tuple[ReturnOutcome, dict[str, Any]]:
    if isinstance(command, Receive):
        detail = {"received": [r.__dict__ for r in command.receipts]}
        return core.receive(work, command.receipts), detail
    if isinstance(command, AttachLabel):
        return core.attach_label(work, command.tracking), {"label": command.tracking.__dict__}
    warehouses = {w.name for w in settings.warehouses}
    outcome = core.dispose(work, command.decisions, warehouses)
    place = store_levels(_store_of(store_row), settings)
    lines = {line.line_id: line for line in work.lines}
    for effect in outcome.effects:
        for item in effect.data["items"]:
            if item["kind"] != core.Disposition.RESTOCKED.value:
                continue
            line = lines[item["line_id"]]
            location = _restock_location(place, str(item["warehouse"]), line, shipped_from)
            if location is None:
                raise ReturnError(
                    f"warehouse {item['warehouse']!r} has no Shopify location to restock at: "
                    f"give it locations in the settings or run `fulfillbridge store setup "
                    f"{store_row.name}`"
                )
            item["location_id"] = location
    detail = {"disposed": [{**d.__dict__, "kind": d.kind.value} for d in command.decisions]}
    return outcome, detail


def _restock_location(
    place: Any, warehouse: str, line: core.ReturnLine, shipped_from: dict[int, str | None]
) -> str | None:
    """Where restocked units go: the warehouse's configured location; for a warehouse
    without one, the location the units were shipped from when it shipped them, else the
    store's own location."""
    configured = place.warehouse_locations.get(warehouse)
    if configured:
        return str(configured[0])
    if warehouse == line.warehouse and line.work_order_id is not None:
        origin = shipped_from.get(line.work_order_id)
        if origin:
            return origin
    return location_for(place, warehouse)


async def apply_command(
    session: AsyncSession,
    settings: Settings,
    return_id: int,
    command: ReturnCommand,
    *,
    actor: str,
    stores: Collection[str] | None = None,
) -> ReturnResult:
    """Apply an operation's command to a return in the caller's transaction: the new state,
    its history, its Shopify writes and its notifications."""
    row, store_name = await get_return(session, return_id, stores=stores)
    store_row = await session.get(StoreRow, row.store_id)
    assert store_row is not None  # a foreign key guarantees it
    work = to_domain(row, store_name)
    origins = {line.work_order_id for line in work.lines if line.work_order_id is not None}
    shipped_from: dict[int, str | None] = {}
    if origins:
        found = await session.execute(
            select(WorkOrderRow.id, WorkOrderRow.location_remote_id).where(
                WorkOrderRow.id.in_(origins)
            )
        )
        shipped_from = {work_id: location for work_id, location in found.all()}
    outcome, detail = _decide(command, work, store_row, settings, shipped_from)
    repo = ReturnRepository(session)
    row, queued = await repo.store_outcome(row.store_id, row, outcome, actor=actor, detail=detail)
    _announce(repo, settings, store_row.settings, row, store_name, outcome.events)
    await session.flush()
    return ReturnResult(return_view(row, store_name), [(q.id, q.kind) for q in queued])


async def act(
    database: Database,
    settings: Settings,
    return_id: int,
    command: ReturnCommand,
    *,
    actor: str,
    stores: Collection[str] | None = None,
) -> ReturnResult:
    """:func:`apply_command` in its own transaction (the CLI), tried once more when another
    writer changed the return at the same time."""
    for attempt in range(2):
        try:
            async with database.transaction() as session:
                result = await apply_command(
                    session, settings, return_id, command, actor=actor, stores=stores
                )
            database.ring()  # outbox rows may wait for a worker
            return result
        except StaleDataError:
            if attempt:
                raise ReturnError(
                    "the return was changed by someone else at the same time; try again"
                ) from None
    raise AssertionError("unreachable")


def _store_of(row: StoreRow) -> Store:
    """What ``store_levels`` reads of a store: its name and settings."""
    return Store(
        id=row.id,
        name=row.name,
        shop_domain=row.shop_domain,
        auth_kind=AuthKind(row.auth_kind),
        settings=dict(row.settings or {}),
    )
