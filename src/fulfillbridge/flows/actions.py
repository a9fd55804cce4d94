"""What the operation does to its work: stages, holds, shipments, tracking, delivery, giving
up, moving work, and fixing exceptions, from the API, the CLI or a CSV upload.

Each command is applied to ONE work order in ONE transaction: load the row, turn it into a
``core.work.WorkOrder``, call the pure core command, and store the outcome with
``WorkRepository.store_outcome`` (new state, a transition with the actor, and the Shopify
writes as outbox rows). A command that cannot be applied raises :class:`ActionError` with a
4xx-worthy status and a message naming the problem, and nothing is written.

The module also answers the read side both front ends share: finding work by a reference
(work id, order name, Shopify id), listing it with keyset pagination, and a plain-data view
of a work order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from fulfillbridge.config import Settings
from fulfillbridge.core import work as core
from fulfillbridge.core.errors import FulfillbridgeError, WorkErrorCode
from fulfillbridge.core.routing import RoutingError, Warehouse, choose_warehouse, find_warehouse
from fulfillbridge.core.validation import ValidationRules, validate
from fulfillbridge.core.work import (
    Effect,
    Mode,
    Outcome,
    Tracking,
    TransitionError,
    WorkOrder,
    WorkState,
)
from fulfillbridge.flows import notify
from fulfillbridge.flows.apply import announce
from fulfillbridge.flows.work_views import shipment_view, shipments_of, transition_view, work_view
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import (
    OutboxRow,
    ShipmentRow,
    StoreRow,
    WorkOrderRow,
    WorkTransitionRow,
)
from fulfillbridge.store.work import WorkRepository, to_domain

__all__ = ["shipment_view", "shipments_of", "transition_view", "work_view"]

T = TypeVar("T")

NOT_FOUND = WorkErrorCode.NOT_FOUND
CONFLICT = WorkErrorCode.NOT_ALLOWED
INVALID = WorkErrorCode.INVALID

# Shopify's FulfillmentHoldReason enum (vendored admin-2026-07 schema).
HOLD_REASONS = (
    "AWAITING_PAYMENT",
    "HIGH_RISK_OF_FRAUD",
    "INCORRECT_ADDRESS",
    "INVENTORY_OUT_OF_STOCK",
    "UNKNOWN_DELIVERY_DATE",
    "ONLINE_STORE_POST_PURCHASE_CROSS_SELL",
    "AWAITING_RETURN_ITEMS",
    "OTHER",
)
SHIPPABLE = frozenset({WorkState.ACCEPTED, WorkState.IN_PROGRESS, WorkState.PARTIALLY_SHIPPED})
# fulfillmentOrderMove only takes OPEN or ON_HOLD fulfillment orders whose request is
# unsubmitted or rejected (sandbox fulfillment_orders.move, after Shopify docs); locally that
# is work with no stage reported and nothing shipped.
MOVABLE = frozenset(
    {WorkState.RECEIVED, WorkState.ACCEPTED, WorkState.EXCEPTION, WorkState.ON_HOLD}
)


class ActionError(FulfillbridgeError):
    """A command that cannot be applied; ``code`` says which kind of failure (the web layer
    turns it into an HTTP status) and ``field`` names the request field at fault, when there
    is one. ``status=`` is the earlier spelling of ``code=``, still used by the raise sites."""

    default_code = WorkErrorCode.NOT_ALLOWED

    def __init__(
        self,
        message: str,
        *,
        code: WorkErrorCode | None = None,
        status: WorkErrorCode | None = None,
        field: str | None = None,
    ):
        super().__init__(message, code=code or status)
        self.field = field


# --- commands -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartStage:
    stage: str


@dataclass(frozen=True)
class Hold:
    reason: str
    notes: str = ""


@dataclass(frozen=True)
class Release:
    pass


@dataclass(frozen=True)
class ShipLine:
    """Units of one line, named by its line id or its SKU."""

    quantity: int
    line_id: str | None = None
    sku: str | None = None


@dataclass(frozen=True)
class Ship:
    lines: tuple[ShipLine, ...] | None  # None: everything that remains
    packages: tuple[Tracking, ...] = ()
    notify_customer: bool = True
    # A key derived from the request (e.g. a CSV row): the same key never ships twice.
    dedupe_key: str | None = None


@dataclass(frozen=True)
class UpdateTracking:
    shipment_id: int
    packages: tuple[Tracking, ...]
    notify_customer: bool = True


@dataclass(frozen=True)
class Deliver:
    pass


@dataclass(frozen=True)
class GiveUp:
    reason: str


@dataclass(frozen=True)
class MoveWarehouse:
    warehouse: str


@dataclass(frozen=True)
class MoveLocation:
    location_id: str


@dataclass(frozen=True)
class FixException:
    """Correct the data behind an exception, then validate again."""

    shipping_address: dict[str, str] | None = None
    billing_address: dict[str, str] | None = None
    skus: dict[str, str] = field(default_factory=dict)  # line id -> SKU


@dataclass(frozen=True)
class RetryException:
    pass


@dataclass(frozen=True)
class OverrideException:
    reason: str


@dataclass(frozen=True)
class ReadyForPickup:
    """A pickup order is ready at the counter (Shopify tells the customer)."""


Command = (
    StartStage
    | ReadyForPickup
    | Hold
    | Release
    | Ship
    | UpdateTracking
    | Deliver
    | GiveUp
    | MoveWarehouse
    | MoveLocation
    | FixException
    | RetryException
    | OverrideException
)


@dataclass
class ActionResult:
    row: WorkOrderRow
    store: str
    queued: list[OutboxRow] = field(default_factory=list)
    shipment: ShipmentRow | None = None
    # False when a dedupe key showed the same command was applied before.
    applied: bool = True


# --- finding work ---------------------------------------------------------------------------


async def store_names(session: AsyncSession) -> dict[int, str]:
    rows = await session.execute(select(StoreRow.id, StoreRow.name))
    return {store_id: name for store_id, name in rows.all()}


def _visible(names: dict[int, str], stores: Collection[str] | None) -> dict[int, str]:
    if stores is None:
        return names
    return {store_id: name for store_id, name in names.items() if name in stores}


async def get_work(
    session: AsyncSession, work_id: int, *, stores: Collection[str] | None = None
) -> tuple[WorkOrderRow, str]:
    """The work order with this id, if its store is among ``stores`` (None: any)."""
    row = await session.get(WorkOrderRow, work_id)
    names = _visible(await store_names(session), stores)
    if row is None or row.store_id not in names:
        raise ActionError(f"no work order {work_id}", status=NOT_FOUND)
    return row, names[row.store_id]


async def find_work(
    session: AsyncSession,
    ref: str,
    *,
    store: str | None = None,
    stores: Collection[str] | None = None,
) -> tuple[WorkOrderRow, str]:
    """Work by reference: a work id (digits), an order name (``#1001``), or a Shopify
    FulfillmentOrder or Order gid. When an order has several work orders, the one still
    open is chosen; if that is still ambiguous the error lists the ids to use."""
    ref = ref.strip()
    if not ref:
        raise ActionError("no order given", status=INVALID, field="order")
    if ref.isdigit():
        row, name = await get_work(session, int(ref), stores=stores)
        if store is not None and name != store:
            raise ActionError(
                f"work order {ref} belongs to store {name}, not {store}", status=NOT_FOUND
            )
        return row, name
    names = _visible(await store_names(session), stores)
    if store is not None:
        if store not in names.values():
            raise ActionError(f"no store named {store!r}", status=NOT_FOUND, field="store")
        names = {k: v for k, v in names.items() if v == store}
    if ref.startswith("gid://shopify/FulfillmentOrder/"):
        match = WorkOrderRow.remote_id == ref
    elif ref.startswith("gid://shopify/Order/"):
        match = WorkOrderRow.order_remote_id == ref
    else:
        match = WorkOrderRow.order_name == ref
    rows = list(
        await session.scalars(
            select(WorkOrderRow)
            .where(match, WorkOrderRow.store_id.in_(list(names)))
            .order_by(WorkOrderRow.id)
        )
    )
    where = f" in store {store}" if store else ""
    if not rows:
        raise ActionError(f"no work order for {ref}{where}", status=NOT_FOUND, field="order")
    if len({row.store_id for row in rows}) > 1:
        found = ", ".join(sorted({names[row.store_id] for row in rows}))
        raise ActionError(
            f"{ref} exists in several stores ({found}): name one with --store", field="order"
        )
    if len(rows) > 1:
        open_rows = [row for row in rows if WorkState(row.state) not in core.FINAL_STATES]
        if len(open_rows) == 1:
            rows = open_rows
        else:
            ids = ", ".join(str(row.id) for row in rows)
            raise ActionError(
                f"{ref}{where} has several work orders ({ids}): use the work id", field="order"
            )
    return rows[0], names[rows[0].store_id]


@dataclass(frozen=True)
class Position:
    """Where a page ended: (updated_at, id) when sorted by change, (deadline, id) when
    sorted by deadline (a None deadline sorts last)."""

    updated_at: datetime | None
    work_id: int
    sort: str = "updated"


SORTS = ("updated", "deadline")
# Work that still has to leave: a deadline matters only for it.
OPEN_WORK = frozenset(
    {
        WorkState.SCHEDULED,
        WorkState.RECEIVED,
        WorkState.ACCEPTED,
        WorkState.IN_PROGRESS,
        WorkState.ON_HOLD,
        WorkState.PARTIALLY_SHIPPED,
        WorkState.EXCEPTION,
    }
)


def _utc(value: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they were written in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def list_work(
    session: AsyncSession,
    *,
    stores: Collection[str] | None = None,
    store: str | None = None,
    states: Collection[WorkState] = (),
    updated_since: datetime | None = None,
    due_before: datetime | None = None,
    overdue: bool = False,
    sort: str = "updated",
    now: datetime | None = None,
    after: Position | None = None,
    limit: int = 50,
) -> tuple[list[tuple[WorkOrderRow, str]], Position | None]:
    """A page of work and the position to continue from (None when there is no more):
    oldest change first, or (``sort="deadline"``) the nearest deadline first, work
    without a deadline last. ``due_before`` and ``overdue`` keep open work whose
    deadline falls before that time or has passed."""
    if sort not in SORTS:
        raise ActionError(f"sort {sort!r} is not one of {', '.join(SORTS)}", status=INVALID)
    if after is not None and after.sort != sort:
        raise ActionError("the cursor was issued for another sort order", status=INVALID)
    names = _visible(await store_names(session), stores)
    if store is not None:
        names = {k: v for k, v in names.items() if v == store}
    query = select(WorkOrderRow).where(WorkOrderRow.store_id.in_(list(names)))
    if states:
        query = query.where(WorkOrderRow.state.in_([s.value for s in states]))
    if updated_since is not None:
        query = query.where(WorkOrderRow.updated_at >= _utc(updated_since))
    deadline_limits = [_utc(due_before)] if due_before is not None else []
    if overdue:
        deadline_limits.append(_utc(now or datetime.now(UTC)))
    if deadline_limits:
        query = query.where(
            WorkOrderRow.fulfill_by.is_not(None),
            WorkOrderRow.fulfill_by < min(deadline_limits),
            WorkOrderRow.state.in_([s.value for s in OPEN_WORK]),
        )
    column = WorkOrderRow.fulfill_by if sort == "deadline" else WorkOrderRow.updated_at
    if after is not None:
        if after.updated_at is None:
            query = query.where(column.is_(None), WorkOrderRow.id > after.work_id)
        else:
            at = _utc(after.updated_at)
            query = query.where(
                or_(
                    column > at,
                    and_(column == at, WorkOrderRow.id > after.work_id),
                    column.is_(None),
                )
            )
    query = query.order_by(column.is_(None), column, WorkOrderRow.id).limit(limit + 1)
    rows = list(await session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    page = [(row, names[row.store_id]) for row in rows]
    last = None
    if more and rows:
        key = rows[-1].fulfill_by if sort == "deadline" else rows[-1].updated_at
        last = Position(_utc(key) if key is not None else None, rows[-1].id, sort)
    return page, last


# --- applying commands ----------------------------------------------------------------------


def _warehouses(settings: Settings) -> list[Warehouse]:
    return [Warehouse(w.name, w.priority, tuple(w.locations)) for w in settings.warehouses]


def _rules(store_settings: dict[str, Any]) -> ValidationRules:
    catalogue = store_settings.get("catalogue")
    return ValidationRules(
        require_billing_address=bool(store_settings.get("require_billing_address", False)),
        catalogue=frozenset(catalogue) if catalogue is not None else None,
    )


def _core(fn: Callable[..., Outcome], *args: Any, **kwargs: Any) -> Outcome:
    try:
        return fn(*args, **kwargs)
    except TransitionError as exc:
        raise ActionError(str(exc), status=CONFLICT) from None


def _require(order: WorkOrder, allowed: Collection[WorkState], action: str) -> None:
    if order.state not in allowed:
        try:
            core._require(order, frozenset(allowed), action)
        except TransitionError as exc:  # the core's words name a hold placed in Shopify
            raise ActionError(str(exc)) from None


def _text(value: str, name: str) -> str:
    value = value.strip()
    if not value:
        raise ActionError(f"{name} must not be empty", status=INVALID, field=name)
    return value


def _packages(packages: Sequence[Tracking]) -> list[dict[str, Any]]:
    shown = []
    for index, package in enumerate(packages):
        where = f"packages[{index}]"
        if not package.company.strip():
            raise ActionError(f"{where}.company is empty", status=INVALID, field=where)
        if not package.number.strip():
            raise ActionError(f"{where}.number is empty", status=INVALID, field=where)
        if package.url and not package.url.startswith(("http://", "https://")):
            raise ActionError(f"{where}.url is not an http(s) URL", status=INVALID, field=where)
        shown.append(
            {
                "company": package.company.strip(),
                "number": package.number.strip(),
                "url": package.url,
            }
        )
    return shown


def resolve_quantities(order: WorkOrder, lines: Sequence[ShipLine] | None) -> dict[str, int]:
    """Line id -> units to ship. Lines named by SKU take units from the lines with that SKU,
    in order. Every problem names the line or SKU and what remains."""
    if lines is None or not lines:
        wanted = {line.line_id: line.remaining for line in order.lines if line.remaining > 0}
        if not wanted:
            raise ActionError(f"nothing left to ship on {order.order_name}")
        return wanted
    left = {line.line_id: line.remaining for line in order.lines}
    wanted: dict[str, int] = {}
    for index, item in enumerate(lines):
        where = f"lines[{index}]"
        if item.quantity <= 0:
            raise ActionError(
                f"{where}.quantity must be positive, got {item.quantity}",
                status=INVALID,
                field=where,
            )
        if item.line_id:
            if item.line_id not in left:
                raise ActionError(
                    f"{order.order_name} has no line {item.line_id!r}", status=INVALID, field=where
                )
            candidates = [item.line_id]
            label = f"line {item.line_id}"
        elif item.sku:
            candidates = [line.line_id for line in order.lines if line.sku == item.sku]
            if not candidates:
                raise ActionError(
                    f"{order.order_name} has no line with SKU {item.sku!r}",
                    status=INVALID,
                    field=where,
                )
            label = f"SKU {item.sku}"
        else:
            raise ActionError(f"{where} needs a sku or a line_id", status=INVALID, field=where)
        available = sum(left[c] for c in candidates)
        if item.quantity > available:
            raise ActionError(
                f"{label} has {available} left to ship on {order.order_name}, not {item.quantity}",
                status=INVALID,
                field=where,
            )
        needed = item.quantity
        for candidate in candidates:
            take = min(needed, left[candidate])
            if take:
                left[candidate] -= take
                wanted[candidate] = wanted.get(candidate, 0) + take
                needed -= take
    return wanted


def _route(order: WorkOrder, settings: Settings, location: str | None) -> str:
    return choose_warehouse(order, _warehouses(settings), location).name


def _revalidate(
    order: WorkOrder, settings: Settings, store_row: StoreRow, location: str | None
) -> Outcome:
    """Validate again from the start: accept when clean, else stay an exception with the
    current problems (a retry never rejects a request at Shopify by itself)."""
    received = _core(core.retry_exception, order).order
    problems = validate(received, _rules(store_row.settings or {}))
    if not problems:
        try:
            warehouse = _route(received, settings, location)
        except RoutingError as exc:
            problems = [str(exc)]
        else:
            return _core(core.accept, received, warehouse=warehouse)
    return Outcome(replace(received, state=WorkState.EXCEPTION, problems=tuple(problems)))


def _fixed(order: WorkOrder, command: FixException) -> WorkOrder:
    _require(order, {WorkState.EXCEPTION}, "fix")
    known = {f.name for f in fields(core.Address)}
    changes: dict[str, Any] = {}
    for name in ("shipping_address", "billing_address"):
        given = getattr(command, name)
        if given is None:
            continue
        unknown = sorted(set(given) - known)
        if unknown:
            raise ActionError(
                f"{name} has unknown fields {', '.join(unknown)} "
                f"(known: {', '.join(sorted(known))})",
                status=INVALID,
                field=name,
            )
        current = getattr(order, name)
        base = asdict(current) if current else {}
        changes[name] = core.Address(**{**base, **{k: str(v) for k, v in given.items()}})
    lines = list(order.lines)
    for line_id, sku in command.skus.items():
        if not sku.strip():
            raise ActionError(f"SKU for line {line_id} is empty", status=INVALID, field="skus")
        for index, line in enumerate(lines):
            if line.line_id == line_id:
                lines[index] = replace(line, sku=sku.strip())
                break
        else:
            raise ActionError(
                f"{order.order_name} has no line {line_id!r}", status=INVALID, field="skus"
            )
    if not changes and not command.skus:
        raise ActionError("nothing to fix: give an address or SKUs", status=INVALID)
    return replace(order, lines=tuple(lines), **changes)


async def apply(
    session: AsyncSession,
    settings: Settings,
    row: WorkOrderRow,
    store: str,
    command: Command,
    *,
    actor: str,
) -> ActionResult:
    """Apply ``command`` to ``row`` inside the caller's transaction."""
    store_row = await session.get(StoreRow, row.store_id)
    assert store_row is not None  # a foreign key guarantees it
    order = to_domain(row, store)
    repo = WorkRepository(session)
    detail: dict[str, Any] = {"action": _action_name(command)}
    shipment: ShipmentRow | None = None
    extra_effects: tuple[Effect, ...] = ()

    match command:
        case StartStage(stage=stage):
            if _text(stage, "stage") not in settings.stages:
                raise ActionError(
                    f"unknown stage {stage!r}: configured stages are {', '.join(settings.stages)}",
                    status=INVALID,
                    field="stage",
                )
            outcome = _core(core.start_stage, order, stage.strip(), settings.stages)
        case Hold(reason=reason, notes=notes):
            code = _text(reason, "reason").upper()
            if code not in HOLD_REASONS:
                raise ActionError(
                    f"hold reason {reason!r} is not one of {', '.join(HOLD_REASONS)}",
                    status=INVALID,
                    field="reason",
                )
            outcome = _core(core.hold, order, code, notes)
            detail["notes"] = notes
        case Release():
            outcome = _core(core.release, order)
        case ReadyForPickup():
            outcome = _core(core.ready_for_pickup, order)
        case Ship():
            # A repeat is recognised before the state check: the first copy may have
            # shipped everything.
            if command.dedupe_key and await _already_shipped(session, command.dedupe_key):
                return ActionResult(row, store, applied=False)
            _require(order, SHIPPABLE, "ship")
            packages = _packages(command.packages)
            quantities = resolve_quantities(order, command.lines)
            tracking = [Tracking(p["company"], p["number"], p["url"]) for p in packages]
            outcome = _core(
                core.ship, order, quantities, tracking, notify_customer=command.notify_customer
            )
            detail["lines"] = quantities
        case UpdateTracking():
            shipment = await _shipment(session, row, command.shipment_id)
            packages = _packages(command.packages)
            if not packages:
                raise ActionError("give at least one package", status=INVALID, field="packages")
            shipment.tracking = packages
            outcome = Outcome(order)
            extra_effects = (
                Effect(
                    core.UPDATE_TRACKING,
                    {
                        "shipment_id": shipment.id,
                        "fulfillment_outbox_id": shipment.outbox_id,
                        "tracking": packages,
                        "notify_customer": command.notify_customer,
                    },
                ),
            )
            detail["shipment_id"] = shipment.id
        case Deliver():
            outcome = _core(core.deliver, order)
            now = datetime.now(UTC)
            events = []
            for each in await shipments_of(session, row.id):
                if each.delivered_at is None:
                    each.delivered_at = now
                    events.append(
                        Effect(
                            core.FULFILLMENT_EVENT,
                            {
                                "shipment_id": each.id,
                                "fulfillment_outbox_id": each.outbox_id,
                                "status": "DELIVERED",
                            },
                        )
                    )
            extra_effects = tuple(events)
        case GiveUp(reason=reason):
            outcome = _core(core.give_up, order, _text(reason, "reason"))
            detail["reason"] = reason.strip()
        case MoveWarehouse(warehouse=name):
            outcome = _move_warehouse(order, settings, row.location_remote_id, name)
            detail["from"] = order.warehouse
            detail["to"] = outcome.order.warehouse
        case MoveLocation(location_id=location):
            outcome = _move_location(order, settings, store_row, row.location_remote_id, location)
            detail["from"] = row.location_remote_id
            detail["to"] = location
            row.location_remote_id = location
        case FixException():
            fixed = _fixed(order, command)
            outcome = _revalidate(fixed, settings, store_row, row.location_remote_id)
            detail["problems_before"] = list(order.problems)
        case RetryException():
            _require(order, {WorkState.EXCEPTION}, "retry")
            outcome = _revalidate(order, settings, store_row, row.location_remote_id)
            detail["problems_before"] = list(order.problems)
        case OverrideException(reason=reason):
            _require(order, {WorkState.EXCEPTION}, "override")
            try:
                warehouse = _route(order, settings, row.location_remote_id)
            except RoutingError as exc:
                raise ActionError(f"cannot override: {exc}") from None
            outcome = _core(core.accept, order, warehouse=warehouse)
            detail["reason"] = _text(reason, "reason")
            detail["overridden_problems"] = list(order.problems)
        case _:  # pragma: no cover - the type checker sees every case
            raise ActionError(f"unknown command {command!r}", status=INVALID)

    if extra_effects:
        outcome = Outcome(outcome.order, outcome.effects + extra_effects, outcome.note)
    recorded = (
        outcome.order.state.value != row.state
        or outcome.order.stage != row.stage
        or bool(outcome.effects)
    )
    queued = await repo.store_outcome(row, outcome, actor=actor, detail=detail)
    if not recorded:
        # store_outcome records state/stage changes and Shopify writes; record the rest
        # (a warehouse move, an exception that stays one) so every action has its actor.
        session.add(
            WorkTransitionRow(
                work_order_id=row.id,
                from_state=row.state,
                to_state=row.state,
                stage=row.stage,
                actor=actor,
                detail=detail,
            )
        )
    # A row whose only change is a side table still gets a new version and updated_at, so
    # pagination by updated_since sees it and concurrent writers conflict.
    row.updated_at = datetime.now(UTC)
    if isinstance(command, Ship):
        fulfillment = next(q for q in queued if q.kind == core.CREATE_FULFILLMENT)
        if command.dedupe_key:
            # The derived key makes a second copy of this shipment a unique-key violation.
            fulfillment.idempotency_key = command.dedupe_key
        shipment = ShipmentRow(
            work_order_id=row.id,
            outbox_id=fulfillment.id,
            lines=dict(fulfillment.payload["lines"]),
            tracking=list(fulfillment.payload["tracking"]),
        )
        session.add(shipment)
        await session.flush()
        announce(repo, settings, store_row.settings, row, store, notify.WORK_SHIPPED)
    elif isinstance(command, ReadyForPickup):
        announce(repo, settings, store_row.settings, row, store, notify.WORK_READY_FOR_PICKUP)
    await session.flush()
    return ActionResult(row, store, queued, shipment)


def _action_name(command: Command) -> str:
    name = type(command).__name__
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


async def _already_shipped(session: AsyncSession, dedupe_key: str) -> bool:
    found = await session.scalar(
        select(OutboxRow.id).where(OutboxRow.idempotency_key == dedupe_key)
    )
    return found is not None


async def _shipment(session: AsyncSession, row: WorkOrderRow, shipment_id: int) -> ShipmentRow:
    shipment = await session.get(ShipmentRow, shipment_id)
    if shipment is None or shipment.work_order_id != row.id:
        raise ActionError(
            f"work order {row.id} has no shipment {shipment_id}",
            status=NOT_FOUND,
            field="shipment_id",
        )
    return shipment


def _move_warehouse(
    order: WorkOrder, settings: Settings, location: str | None, name: str
) -> Outcome:
    if order.is_final:
        raise ActionError(f"cannot move {order.order_name}: it is {order.state.value}")
    try:
        warehouse = find_warehouse(_warehouses(settings), _text(name, "warehouse"))
    except RoutingError as exc:
        raise ActionError(str(exc), status=INVALID, field="warehouse") from None
    if not warehouse.serves(location):
        raise ActionError(
            f"warehouse {warehouse.name} does not work for Shopify location {location}",
            status=INVALID,
            field="warehouse",
        )
    if warehouse.name == order.warehouse:
        raise ActionError(f"{order.order_name} is already at {warehouse.name}", field="warehouse")
    return Outcome(replace(order, warehouse=warehouse.name))


def _move_location(
    order: WorkOrder,
    settings: Settings,
    store_row: StoreRow,
    current: str | None,
    location: str,
) -> Outcome:
    if order.mode is not Mode.ORDER_MANAGEMENT:
        raise ActionError(
            f"{order.order_name} was requested from this fulfillment service's own location; "
            "only order-management work can move between merchant locations"
        )
    managed = list((store_row.settings or {}).get("managed_locations") or [])
    if location not in managed:
        raise ActionError(
            f"location {location!r} is not one this store manages ({', '.join(managed) or 'none'})",
            status=INVALID,
            field="location_id",
        )
    if location == current:
        raise ActionError(f"{order.order_name} is already at {location}", field="location_id")
    if (
        order.state not in MOVABLE
        or order.stage is not None
        or any(line.shipped for line in order.lines)
    ):
        raise ActionError(
            f"cannot move {order.order_name}: it is {order.state.value}"
            + (f" at stage {order.stage}" if order.stage else "")
            + "; Shopify moves only fulfillment orders that are open or on hold"
        )
    warehouse = order.warehouse
    candidates = _warehouses(settings)
    if warehouse is None or not find_warehouse(candidates, warehouse).serves(location):
        try:
            warehouse = choose_warehouse(order, candidates, location).name
        except RoutingError as exc:
            raise ActionError(str(exc), status=INVALID, field="location_id") from None
    moved = replace(order, warehouse=warehouse)
    return Outcome(moved, (Effect(core.MOVE, {"location_id": location}),))


# --- transactions ---------------------------------------------------------------------------


async def in_transaction(
    database: Database, work: Callable[[AsyncSession], Awaitable[T]], *, attempts: int = 2
) -> T:
    """Run ``work`` in one transaction; when another writer changed the same work order in
    between (optimistic version check), run it once more on fresh data."""
    for attempt in range(attempts):
        try:
            async with database.transaction() as session:
                result = await work(session)
            database.ring()  # outbox rows may wait for a worker
            return result
        except StaleDataError:
            if attempt + 1 == attempts:
                raise ActionError(
                    "the work order was changed by someone else at the same time; try again"
                ) from None
    raise AssertionError("unreachable")


async def run_action(
    database: Database,
    settings: Settings,
    ref: str,
    command: Command,
    *,
    actor: str,
    store: str | None = None,
    stores: Collection[str] | None = None,
) -> ActionResult:
    """Find the work by reference and apply ``command`` in one transaction (CLI, CSV)."""

    async def work(session: AsyncSession) -> ActionResult:
        row, name = await find_work(session, ref, store=store, stores=stores)
        return await apply(session, settings, row, name, command, actor=actor)

    try:
        return await in_transaction(database, work)
    except IntegrityError:
        # Only a dedupe key can collide: another run applied the same shipment just now.
        if isinstance(command, Ship) and command.dedupe_key:
            async with database.transaction() as session:
                row, name = await find_work(session, ref, store=store, stores=stores)
                return ActionResult(row, name, applied=False)
        raise


def dedupe_key(*parts: object) -> str:
    """A stable key for a command derived from its content (at most 128 characters)."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return f"import:{digest}"
