"""Work orders: the operation's view of one Shopify fulfillment order, and its states.

A work order moves through ``received → accepted → in_progress (stages) → shipped
(partially, then completely) → delivered``, or ends ``rejected``, ``cancelled`` or
``incomplete`` (given up); ``on_hold`` and ``exception`` are detours. Each transition is a
pure function of the current order and a command; it returns the new order and the effects
to carry out at Shopify (sent later, in order, through the outbox). Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from fulfillbridge.core.carriers import Package, by_company
from fulfillbridge.core.details import HELD_BY_US, DeliveryKind, OrderDetails, Pairs
from fulfillbridge.core.errors import FulfillbridgeError, WorkErrorCode


class Mode(StrEnum):
    FULFILLMENT_SERVICE = "fulfillment_service"  # Shopify sends requests to our location
    ORDER_MANAGEMENT = "order_management"  # we work the merchant's own locations


class WorkState(StrEnum):
    SCHEDULED = "scheduled"  # upcoming: Shopify opens it at its fulfill-at time
    RECEIVED = "received"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    READY_FOR_PICKUP = "ready_for_pickup"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    INCOMPLETE = "incomplete"


FINAL_STATES = frozenset(
    {WorkState.DELIVERED, WorkState.REJECTED, WorkState.CANCELLED, WorkState.INCOMPLETE}
)
# States in which the operation is (or may be) working on the order.
ACTIVE_STATES = frozenset(
    {WorkState.ACCEPTED, WorkState.IN_PROGRESS, WorkState.PARTIALLY_SHIPPED, WorkState.ON_HOLD}
)


class TransitionError(FulfillbridgeError):
    """A command that the work order's state does not allow; the message says why."""

    default_code = WorkErrorCode.NOT_ALLOWED


@dataclass(frozen=True)
class WorkLine:
    line_id: str  # the Shopify fulfillment-order line item id (opaque here)
    sku: str | None
    quantity: int
    shipped: int = 0
    title: str = ""
    requires_shipping: bool = True
    # What to make: the product, how it is personalised, what it costs, what customs need.
    variant_id: str | None = None
    product_id: str | None = None
    product_title: str = ""
    variant_title: str = ""
    options: Pairs = ()
    vendor: str = ""
    image_url: str | None = None
    properties: Pairs = ()
    unit_price: str | None = None  # a decimal in the order's currency, as Shopify wrote it
    discounted_unit_price: str | None = None
    weight_grams: float | None = None
    hs_code: str | None = None
    country_of_origin: str | None = None
    inventory_item_id: str | None = None
    metafields: dict[str, Any] = field(default_factory=dict)

    @property
    def remaining(self) -> int:
        return self.quantity - self.shipped

    @property
    def line_total(self) -> str | None:
        if self.unit_price is None:
            return None
        try:
            return str(Decimal(self.unit_price) * self.quantity)
        except ArithmeticError:
            return None


@dataclass(frozen=True)
class Address:
    name: str = ""
    address1: str = ""
    address2: str = ""
    city: str = ""
    province_code: str = ""
    zip: str = ""
    country_code: str = ""
    phone: str = ""

    @property
    def is_complete(self) -> bool:
        return bool(self.address1 and self.city and self.country_code)


@dataclass(frozen=True)
class Tracking:
    company: str
    number: str
    url: str | None = None
    # Line id -> units in this package; needed when a shipment's packages go with several
    # carriers (one Shopify fulfillment per carrier, see core.carriers.by_company).
    lines: dict[str, int] | None = None

    def shown(self) -> dict[str, Any]:
        out: dict[str, Any] = {"company": self.company, "number": self.number, "url": self.url}
        if self.lines:
            out["lines"] = dict(self.lines)
        return out


@dataclass(frozen=True)
class WorkOrder:
    store: str
    remote_id: str  # the Shopify fulfillment order's id
    order_name: str
    mode: Mode
    lines: tuple[WorkLine, ...]
    state: WorkState = WorkState.RECEIVED
    stage: str | None = None
    warehouse: str | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    # The state a hold interrupted, to return to on release.
    held_from: WorkState | None = None
    hold_reason: str | None = None
    # Who holds it: "fulfillbridge" (the operation asked), "merchant", or another app's title.
    held_by: str | None = None
    problems: tuple[str, ...] = ()
    cancel_requested: bool = False
    # The merchant cancellation request last answered (Shopify's id), when known.
    answered_cancellation: str | None = None
    details: OrderDetails = field(default_factory=OrderDetails)
    # Things an operator should look at that do not stop the work (an address changed
    # after packing began, payment still pending).
    flags: tuple[str, ...] = ()

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    def line(self, line_id: str) -> WorkLine:
        for line in self.lines:
            if line.line_id == line_id:
                return line
        raise TransitionError(f"{self.order_name} has no line {line_id}")


# --- effects: what must happen at Shopify, in order -----------------------------------------


@dataclass(frozen=True)
class Effect:
    """Something to tell Shopify. ``kind`` names it; the outbox sends it."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


ACCEPT_REQUEST = "accept_request"
REJECT_REQUEST = "reject_request"
REPORT_PROGRESS = "report_progress"
HOLD = "hold"
RELEASE_HOLD = "release_hold"
CREATE_FULFILLMENT = "create_fulfillment"
ACCEPT_CANCELLATION = "accept_cancellation"
REJECT_CANCELLATION = "reject_cancellation"
CLOSE = "close"
MOVE = "move"
# Operator actions on an existing fulfillment (see flows.actions): the payload names the
# shipment and the outbox row that created its fulfillment.
UPDATE_TRACKING = "update_tracking"
FULFILLMENT_EVENT = "fulfillment_event"
PREPARED_FOR_PICKUP = "prepared_for_pickup"


@dataclass(frozen=True)
class Outcome:
    order: WorkOrder
    effects: tuple[Effect, ...] = ()
    note: str = ""


def require_state(
    order: WorkOrder, allowed: set[WorkState] | frozenset[WorkState], action: str
) -> None:
    """Refuse ``action`` unless the order is in one of the ``allowed`` states; a hold
    placed in Shopify is named in the refusal."""
    if order.state not in allowed:
        if order.state is WorkState.ON_HOLD and order.held_by and order.held_by != HELD_BY_US:
            raise TransitionError(
                f"cannot {action} {order.order_name}: it is on hold in Shopify by "
                f"{order.held_by} ({order.hold_reason or 'no reason given'}); it can go on "
                "once the hold is released there"
            )
        raise TransitionError(f"cannot {action} {order.order_name}: it is {order.state.value}")


# --- commands ---------------------------------------------------------------------------------


def accept(order: WorkOrder, *, warehouse: str) -> Outcome:
    """Validation passed and a warehouse was chosen: take the work."""
    require_state(order, {WorkState.RECEIVED, WorkState.EXCEPTION}, "accept")
    effects: tuple[Effect, ...] = ()
    if order.mode is Mode.FULFILLMENT_SERVICE:
        effects = (Effect(ACCEPT_REQUEST, {"message": f"Accepted by {warehouse}"}),)
    accepted = replace(order, state=WorkState.ACCEPTED, warehouse=warehouse, problems=())
    return Outcome(accepted, effects)


def refuse(order: WorkOrder, problems: Sequence[str]) -> Outcome:
    """Validation failed. A fulfillment request is rejected with the reasons the merchant
    sees; an order we pull (order management) becomes an exception for an operator."""
    require_state(order, {WorkState.RECEIVED, WorkState.EXCEPTION}, "refuse")
    if not problems:
        raise TransitionError("refusing needs at least one reason")
    if order.mode is Mode.FULFILLMENT_SERVICE:
        message = "; ".join(problems)
        rejected = replace(order, state=WorkState.REJECTED, problems=tuple(problems))
        return Outcome(rejected, (Effect(REJECT_REQUEST, {"message": message}),))
    return Outcome(replace(order, state=WorkState.EXCEPTION, problems=tuple(problems)))


def retry_exception(order: WorkOrder) -> Outcome:
    """An operator fixed the cause: validate again from the start."""
    require_state(order, {WorkState.EXCEPTION}, "retry")
    return Outcome(replace(order, state=WorkState.RECEIVED, problems=()))


def start_stage(order: WorkOrder, stage: str, stages: Sequence[str]) -> Outcome:
    """Report a production stage (e.g. printing, picking, packing)."""
    if stage not in stages:
        raise TransitionError(f"unknown stage {stage!r}: configured stages are {', '.join(stages)}")
    require_state(
        order,
        {WorkState.ACCEPTED, WorkState.IN_PROGRESS, WorkState.PARTIALLY_SHIPPED},
        "report a stage of",
    )
    if order.stage in stages and stages.index(stage) < stages.index(order.stage):
        raise TransitionError(
            f"{order.order_name} is already at {order.stage}; stages only move forward"
        )
    state = (
        WorkState.PARTIALLY_SHIPPED
        if order.state is WorkState.PARTIALLY_SHIPPED
        else (WorkState.IN_PROGRESS)
    )
    moved = replace(order, state=state, stage=stage)
    return Outcome(moved, (Effect(REPORT_PROGRESS, {"stage": stage}),))


def hold(order: WorkOrder, reason: str, notes: str = "") -> Outcome:
    require_state(order, ACTIVE_STATES - {WorkState.ON_HOLD}, "hold")
    held = replace(
        order,
        state=WorkState.ON_HOLD,
        held_from=order.state,
        hold_reason=reason,
        held_by=HELD_BY_US,
    )
    return Outcome(held, (Effect(HOLD, {"reason": reason, "notes": notes}),))


def release(order: WorkOrder) -> Outcome:
    require_state(order, {WorkState.ON_HOLD}, "release")
    if order.held_by and order.held_by != HELD_BY_US:
        raise TransitionError(
            f"cannot release {order.order_name}: the hold ({order.hold_reason}) was placed in "
            f"Shopify by {order.held_by}, and only they can release it"
        )
    return Outcome(_unheld(order), (Effect(RELEASE_HOLD),))


def _unheld(order: WorkOrder) -> WorkOrder:
    return replace(
        order,
        state=order.held_from or WorkState.ACCEPTED,
        held_from=None,
        hold_reason=None,
        held_by=None,
    )


def held_in_shopify(order: WorkOrder, reason: str, held_by: str) -> Outcome:
    """The merchant (or Shopify, or another app) put the fulfillment order on hold: the
    work stops where it is; nothing to tell Shopify."""
    if order.state is WorkState.ON_HOLD:
        return Outcome(replace(order, hold_reason=reason, held_by=held_by))
    require_state(order, ACTIVE_STATES | {WorkState.RECEIVED, WorkState.EXCEPTION}, "hold")
    held = replace(
        order,
        state=WorkState.ON_HOLD,
        held_from=order.state,
        hold_reason=reason,
        held_by=held_by,
    )
    return Outcome(held)


def released_in_shopify(order: WorkOrder) -> Outcome:
    """Shopify shows no hold any more: back to where the hold interrupted the work."""
    if order.state is not WorkState.ON_HOLD:
        return Outcome(order, note="not on hold")
    return Outcome(_unheld(order))


def ready_for_pickup(order: WorkOrder) -> Outcome:
    """A pickup order is packed and waits at the counter: Shopify tells the customer."""
    require_state(order, {WorkState.ACCEPTED, WorkState.IN_PROGRESS}, "mark ready for pickup")
    if order.details.delivery.kind is not DeliveryKind.PICKUP:
        raise TransitionError(
            f"{order.order_name} is not a pickup order (delivery: "
            f"{order.details.delivery.kind.value}); ship it instead"
        )
    return Outcome(replace(order, state=WorkState.READY_FOR_PICKUP), (Effect(PREPARED_FOR_PICKUP),))


def ship(
    order: WorkOrder,
    quantities: dict[str, int] | None,
    tracking: Sequence[Tracking],
    *,
    notify_customer: bool = True,
) -> Outcome:
    """A shipment left: ``quantities`` by line id (None = everything that remains)."""
    require_state(
        order,
        {WorkState.ACCEPTED, WorkState.IN_PROGRESS, WorkState.PARTIALLY_SHIPPED},
        "ship",
    )
    if order.details.delivery.kind is DeliveryKind.PICKUP:
        raise TransitionError(
            f"{order.order_name} is collected by the customer: mark it ready for pickup "
            "instead of shipping it"
        )
    if quantities is None:
        quantities = {line.line_id: line.remaining for line in order.lines if line.remaining}
    if not quantities or not any(quantities.values()):
        raise TransitionError(f"nothing left to ship on {order.order_name}")
    lines = []
    by_id = {line.line_id: line for line in order.lines}
    for line_id, quantity in quantities.items():
        line = by_id.get(line_id)
        if line is None:
            raise TransitionError(f"{order.order_name} has no line {line_id}")
        if quantity <= 0:
            raise TransitionError(f"quantity for line {line_id} must be positive, got {quantity}")
        if quantity > line.remaining:
            raise TransitionError(
                f"line {line.sku or line_id} has {line.remaining} left to ship, not {quantity}"
            )
    for line in order.lines:
        lines.append(replace(line, shipped=line.shipped + quantities.get(line.line_id, 0)))
    complete = all(line.remaining == 0 for line in lines)
    shipped = replace(
        order,
        lines=tuple(lines),
        state=WorkState.SHIPPED if complete else WorkState.PARTIALLY_SHIPPED,
    )
    # One fulfillment per carrier: Shopify's tracking input holds one company.
    packages = [Package(t.company, t.number, t.url, t.lines) for t in tracking]
    groups = by_company(packages, {k: v for k, v in quantities.items() if v})
    by_number = {(t.company, t.number): t for t in tracking}
    effects = tuple(
        Effect(
            CREATE_FULFILLMENT,
            {
                "lines": group_lines,
                "tracking": [by_number[(p.company, p.number)].shown() for p in group],
                "notify_customer": notify_customer,
            },
        )
        for group_lines, group in groups
    )
    return Outcome(shipped, effects)


def deliver(order: WorkOrder) -> Outcome:
    require_state(order, {WorkState.SHIPPED}, "mark delivered")
    return Outcome(replace(order, state=WorkState.DELIVERED))


def cancelled_by_merchant(order: WorkOrder) -> Outcome:
    """The order was cancelled in Shopify: stop and close locally; nothing to tell Shopify."""
    if order.is_final:
        return Outcome(order, note="already final")
    return Outcome(replace(order, state=WorkState.CANCELLED, held_from=None))


def answer_cancellation_request(
    order: WorkOrder, stages: Sequence[str], cutoff_stage: str | None
) -> Outcome:
    """A merchant asked to cancel accepted work: accept while the work has not reached
    ``cutoff_stage`` (and nothing shipped), otherwise reject with a message."""
    if order.is_final:
        return Outcome(order, note="already final")
    shipped_any = any(line.shipped for line in order.lines)
    past_cutoff = (
        cutoff_stage is not None
        and order.stage is not None
        and order.stage in stages
        and cutoff_stage in stages
        and stages.index(order.stage) >= stages.index(cutoff_stage)
    )
    if shipped_any or order.state in (WorkState.SHIPPED, WorkState.PARTIALLY_SHIPPED):
        message = "Part of this order has already shipped and cannot be cancelled."
        return Outcome(order, (Effect(REJECT_CANCELLATION, {"message": message}),))
    if past_cutoff:
        message = f"Work has reached {order.stage} and can no longer be cancelled."
        return Outcome(order, (Effect(REJECT_CANCELLATION, {"message": message}),))
    closed = replace(order, state=WorkState.CANCELLED, held_from=None)
    return Outcome(closed, (Effect(ACCEPT_CANCELLATION, {"message": "Cancelled before work"}),))


def give_up(order: WorkOrder, reason: str) -> Outcome:
    """The operation cannot complete accepted work: close it as incomplete."""
    require_state(order, ACTIVE_STATES, "give up")
    if not reason.strip():
        raise TransitionError("giving up needs a reason")
    return Outcome(
        replace(order, state=WorkState.INCOMPLETE), (Effect(CLOSE, {"message": reason}),)
    )
