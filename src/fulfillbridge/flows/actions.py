"""What the operation does to its work: stages, holds, shipments, tracking, delivery,
pickups, giving up, moving work, and fixing exceptions, from the API, the CLI or a CSV
upload.

Each command (``flows.work_commands``) is applied to ONE work order in ONE transaction: load
the row, turn it into a ``core.work.WorkOrder``, check the input (``flows.action_rules``),
call the pure core command, and store the outcome with ``WorkRepository.store_outcome`` (new
state, a transition with the actor, and the Shopify writes as outbox rows). A command that
cannot be applied raises :class:`ActionError` with a code and a message naming the problem,
and nothing is written. Finding work is ``flows.work_queries``; its views
``flows.work_views``; the names are re-exported here for the front ends.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from fulfillbridge.config import Settings
from fulfillbridge.core import work as core
from fulfillbridge.core.carriers import (
    TRACKING_URL_TEMPLATES,
    Package,
    normalised,
    parse_url_templates,
)
from fulfillbridge.core.routing import RoutingError
from fulfillbridge.core.work import Effect, Outcome, Tracking, WorkState
from fulfillbridge.flows import notify
from fulfillbridge.flows.action_rules import (
    checked_packages,
    core_call,
    fixed_order,
    move_location,
    move_warehouse,
    require,
    resolve_quantities,
    revalidate,
    route,
    text,
)
from fulfillbridge.flows.apply import announce
from fulfillbridge.flows.work_commands import (
    CONFLICT,
    HOLD_REASONS,
    INVALID,
    NOT_FOUND,
    SHIPPABLE,
    ActionError,
    ActionResult,
    Command,
    Deliver,
    FixException,
    GiveUp,
    Hold,
    MoveLocation,
    MoveWarehouse,
    OverrideException,
    ReadyForPickup,
    Release,
    RetryException,
    Ship,
    ShipLine,
    StartStage,
    UpdateTracking,
)
from fulfillbridge.flows.work_queries import (
    OPEN_WORK,
    SORTS,
    Position,
    find_work,
    get_work,
    list_work,
    store_names,
)
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

T = TypeVar("T")

__all__ = [
    "CONFLICT",
    "HOLD_REASONS",
    "INVALID",
    "NOT_FOUND",
    "OPEN_WORK",
    "SORTS",
    "ActionError",
    "ActionResult",
    "Command",
    "Deliver",
    "FixException",
    "GiveUp",
    "Hold",
    "MoveLocation",
    "MoveWarehouse",
    "OverrideException",
    "Position",
    "ReadyForPickup",
    "Release",
    "RetryException",
    "Ship",
    "ShipLine",
    "StartStage",
    "UpdateTracking",
    "apply",
    "dedupe_key",
    "find_work",
    "get_work",
    "in_transaction",
    "list_work",
    "resolve_quantities",
    "run_action",
    "shipment_view",
    "shipments_of",
    "store_names",
    "transition_view",
    "work_view",
]


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
            if text(stage, "stage") not in settings.stages:
                raise ActionError(
                    f"unknown stage {stage!r}: configured stages are {', '.join(settings.stages)}",
                    status=INVALID,
                    field="stage",
                )
            outcome = core_call(core.start_stage, order, stage.strip(), settings.stages)
        case Hold(reason=reason, notes=notes):
            code = text(reason, "reason").upper()
            if code not in HOLD_REASONS:
                raise ActionError(
                    f"hold reason {reason!r} is not one of {', '.join(HOLD_REASONS)}",
                    status=INVALID,
                    field="reason",
                )
            outcome = core_call(core.hold, order, code, notes)
            detail["notes"] = notes
        case Release():
            outcome = core_call(core.release, order)
        case ReadyForPickup():
            outcome = core_call(core.ready_for_pickup, order)
        case Ship():
            # A repeat is recognised before the state check: the first copy may have
            # shipped everything.
            if command.dedupe_key and await _already_shipped(session, command.dedupe_key):
                return ActionResult(row, store, applied=False)
            require(order, SHIPPABLE, "ship")
            packages = checked_packages(command.packages)
            quantities = resolve_quantities(order, command.lines)
            templates = parse_url_templates(store_row.settings.get(TRACKING_URL_TEMPLATES))
            tracking = [
                Tracking(p.company, p.number, p.url, dict(p.lines) if p.lines else None)
                for p in normalised(
                    [
                        Package(p["company"], p["number"], p["url"], p.get("lines"))
                        for p in packages
                    ],
                    templates,
                )
            ]
            outcome = core_call(
                core.ship, order, quantities, tracking, notify_customer=command.notify_customer
            )
            detail["lines"] = quantities
        case UpdateTracking():
            shipment = await _shipment(session, row, command.shipment_id)
            packages = checked_packages(command.packages)
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
            outcome = core_call(core.deliver, order)
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
            outcome = core_call(core.give_up, order, text(reason, "reason"))
            detail["reason"] = reason.strip()
        case MoveWarehouse(warehouse=name):
            outcome = move_warehouse(order, settings, row.location_remote_id, name)
            detail["from"] = order.warehouse
            detail["to"] = outcome.order.warehouse
        case MoveLocation(location_id=location):
            outcome = move_location(order, settings, store_row, row.location_remote_id, location)
            detail["from"] = row.location_remote_id
            detail["to"] = location
            row.location_remote_id = location
        case FixException():
            fixed = fixed_order(order, command)
            outcome = revalidate(fixed, settings, store_row, row.location_remote_id)
            detail["problems_before"] = list(order.problems)
        case RetryException():
            require(order, {WorkState.EXCEPTION}, "retry")
            outcome = revalidate(order, settings, store_row, row.location_remote_id)
            detail["problems_before"] = list(order.problems)
        case OverrideException(reason=reason):
            require(order, {WorkState.EXCEPTION}, "override")
            try:
                warehouse = route(order, settings, row.location_remote_id)
            except RoutingError as exc:
                raise ActionError(f"cannot override: {exc}") from None
            outcome = core_call(core.accept, order, warehouse=warehouse)
            detail["reason"] = text(reason, "reason")
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
    shipments: list[ShipmentRow] = []
    if isinstance(command, Ship):
        # One shipment (and one Shopify fulfillment) per carrier in the command.
        fulfillments = [q for q in queued if q.kind == core.CREATE_FULFILLMENT]
        for position, fulfillment in enumerate(fulfillments):
            if command.dedupe_key:
                # The derived key makes a second copy of this shipment a unique-key violation.
                suffix = f":{position}" if position else ""
                fulfillment.idempotency_key = command.dedupe_key + suffix
            each = ShipmentRow(
                work_order_id=row.id,
                outbox_id=fulfillment.id,
                lines=dict(fulfillment.payload["lines"]),
                tracking=list(fulfillment.payload["tracking"]),
            )
            session.add(each)
            shipments.append(each)
        await session.flush()
        shipment = shipments[0]
        announce(repo, settings, store_row.settings, row, store, notify.WORK_SHIPPED)
    elif isinstance(command, ReadyForPickup):
        announce(repo, settings, store_row.settings, row, store, notify.WORK_READY_FOR_PICKUP)
    await session.flush()
    return ActionResult(row, store, queued, shipment, shipments=shipments)


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
