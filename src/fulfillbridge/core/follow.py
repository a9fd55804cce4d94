"""How Shopify's news changes a work order: one pure function, :func:`follow`.

Given the work order (or none yet) and a snapshot of its fulfillment order, it returns the
steps to store, in order: each an ``Outcome`` (new order and effects for Shopify), who caused
it, why, and what to tell the operation. Flows store the steps in one transaction; nothing
here reads a clock, a database or the network.

What is followed (each a rule below):
- new work: validated and routed, then accepted or refused; a request Shopify already shows
  accepted is adopted; a scheduled fulfillment order is upcoming work until it opens;
  in order management, an order not yet paid waits (unless the store allows it);
- a request made again after our rejection is taken in afresh;
- the order cancelled, or the fulfillment order closed or moved away before anything
  shipped, ends the work;
- a cancellation request is answered (fulfillment service);
- a hold placed in Shopify by somebody else stops the work; its release resumes it;
- lines added, removed or re-quantified by an order edit, a split or a merge; shipped
  quantities never go backwards;
- a new shipping address (flagged when packing had begun), new notes, personalisation,
  delivery method, deadlines and payment state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from fulfillbridge.core.details import HELD_BY_US, PaymentState
from fulfillbridge.core.news import RemoteFulfillmentOrder, RemoteStatus, RequestStatus
from fulfillbridge.core.routing import RoutingError, Warehouse, choose_warehouse
from fulfillbridge.core.shipping import ShippingRules, map_delivery
from fulfillbridge.core.validation import ValidationRules, validate
from fulfillbridge.core.work import (
    ACTIVE_STATES,
    Mode,
    Outcome,
    WorkLine,
    WorkOrder,
    WorkState,
    accept,
    answer_cancellation_request,
    cancelled_by_merchant,
    held_in_shopify,
    refuse,
    released_in_shopify,
    retry_exception,
)

ACTOR_SHOPIFY = "shopify"  # changes Shopify's news caused
ACTOR_BRIDGE = "fulfillbridge"  # decisions the bridge took (validation, routing, answers)

# Events told to the operation (its webhooks).
NEW_WORK = "new_work"
UPDATED = "updated"
ON_HOLD = "on_hold"
RELEASED = "released"
CANCELLATION_REQUESTED = "cancellation_requested"
CANCELLED = "cancelled"
SCHEDULED = "scheduled"

# States in which Shopify's edits still matter to the operation.
_FOLLOWED = ACTIVE_STATES | {WorkState.SCHEDULED}
_NEW_STATES = frozenset({WorkState.RECEIVED, WorkState.EXCEPTION, WorkState.SCHEDULED})


@dataclass(frozen=True)
class Policy:
    """The store's rules that decisions need."""

    mode: Mode
    rules: ValidationRules = field(default_factory=ValidationRules)
    warehouses: tuple[Warehouse, ...] = ()
    stages: tuple[str, ...] = ()
    cancel_cutoff_stage: str | None = None
    # From this stage on, a changed address is flagged (the parcel may be labelled already).
    packed_stage: str | None = None
    allow_payment_pending: bool = False
    shipping: ShippingRules = field(default_factory=ShippingRules)


@dataclass(frozen=True)
class Seen:
    """What the work order's row remembers of Shopify: its last updatedAt and request status."""

    updated_at: datetime | None = None
    request_status: str | None = None


@dataclass(frozen=True)
class Step:
    outcome: Outcome
    actor: str
    reason: str | None = None
    notify: str | None = None


@dataclass(frozen=True)
class Decision:
    """``create``: a new work order starts from ``initial``; ``stale``: older news than the
    work order has seen (nothing to do); ``ignored``: none of this store's business."""

    steps: tuple[Step, ...] = ()
    create: bool = False
    initial: WorkOrder | None = None
    stale: bool = False
    ignored: bool = False
    note: str = ""


# --------------------------------------------------------------------------- new work


def decide_new_work(order: WorkOrder, policy: Policy, location_id: str | None) -> Outcome:
    """Validate and route work in state received: accept it, refuse it, or flag it."""
    problems = validate(order, policy.rules)
    if problems:
        return refuse(order, problems)
    try:
        warehouse = choose_warehouse(order, policy.warehouses, location_id)
    except RoutingError as exc:
        return exception(order, [str(exc)])
    return accept(order, warehouse=warehouse.name)


def exception(order: WorkOrder, problems: Sequence[str]) -> Outcome:
    """Work that cannot be routed waits for an operator (a fix in the configuration), in
    either mode: refusing a merchant's request for our own set-up mistake would be wrong."""
    return Outcome(replace(order, state=WorkState.EXCEPTION, problems=tuple(problems)))


def _adopt(order: WorkOrder, policy: Policy, location_id: str | None) -> Outcome:
    """A request Shopify shows as accepted already (e.g. accepted before this database
    existed): taken over as accepted work, with nothing to tell Shopify."""
    try:
        warehouse = choose_warehouse(order, policy.warehouses, location_id)
    except RoutingError as exc:
        return exception(order, [str(exc)])
    return Outcome(replace(order, state=WorkState.ACCEPTED, warehouse=warehouse.name))


def new_work_kind(policy: Policy, remote: RemoteFulfillmentOrder, *, ours: bool) -> str | None:
    """'request' for new work to validate, 'adopt' for accepted work to take over,
    'scheduled' for upcoming work, 'unpaid' for an order that waits for its payment, None
    when the fulfillment order is none of our business (yet)."""
    if remote.order_cancelled or not ours:
        return None
    if remote.status == RemoteStatus.SCHEDULED:
        return "scheduled"
    if policy.mode is Mode.FULFILLMENT_SERVICE:
        if remote.status == RemoteStatus.OPEN and remote.request_status == RequestStatus.SUBMITTED:
            return "request"
        if remote.status == RemoteStatus.IN_PROGRESS and remote.request_status in {
            RequestStatus.ACCEPTED,
            RequestStatus.CANCELLATION_REQUESTED,
            RequestStatus.CANCELLATION_REJECTED,
        }:
            return "adopt"
        return None
    # Work held in Shopify from the start (an exchange's new items wait for the returned
    # ones: AWAITING_RETURN_ITEMS) is shown as work on hold, not hidden until released.
    held = remote.status == RemoteStatus.ON_HOLD and bool(remote.foreign_holds)
    if remote.status != RemoteStatus.OPEN and not held:
        return None
    if remote.payment is PaymentState.PAID or policy.allow_payment_pending:
        return "request"
    return "unpaid"


def _payment_flags(order: WorkOrder) -> tuple[str, ...]:
    kept = tuple(flag for flag in order.flags if not flag.startswith("payment "))
    payment = order.details.payment
    if payment in (PaymentState.PENDING, PaymentState.NOT_PAYABLE):
        status = order.details.financial_status or payment.value
        return (*kept, f"payment {payment.value} ({status.lower()})")
    return kept


def _prepared(remote: RemoteFulfillmentOrder, policy: Policy) -> WorkOrder:
    """The snapshot as a work order, with the store's carrier mapping applied."""
    work = remote.work
    delivery = map_delivery(work.details.delivery, policy.shipping)
    work = replace(work, details=replace(work.details, delivery=delivery))
    return replace(work, flags=_payment_flags(work))


def _new(remote: RemoteFulfillmentOrder, policy: Policy, kind: str) -> Decision:
    work = _prepared(remote, policy)
    if kind == "scheduled":
        upcoming = replace(work, state=WorkState.SCHEDULED)
        return Decision(create=True, initial=upcoming, steps=(), note="scheduled")
    if kind == "adopt":
        outcome = _adopt(work, policy, remote.location_id)
    else:
        outcome = decide_new_work(work, policy, remote.location_id)
        if remote.lines_truncated and outcome.order.state is WorkState.ACCEPTED:
            outcome = exception(
                work, ["the fulfillment order has more lines than were read: check it in Shopify"]
            )
    steps = [_step(outcome, ACTOR_BRIDGE, None, work)]
    holds = remote.foreign_holds
    if remote.status == RemoteStatus.ON_HOLD and holds and outcome.order.state in ACTIVE_STATES:
        first = holds[0]
        held = held_in_shopify(outcome.order, first.reason, first.held_by)
        steps.append(Step(held, ACTOR_SHOPIFY, f"held: {first.describe()}", ON_HOLD))
    if kind == "adopt" and remote.cancellation_pending:
        answer = _answer(outcome.order, remote, policy)
        if answer is not None:
            steps.append(answer)
    return Decision(create=True, initial=work, steps=tuple(steps))


def _step(outcome: Outcome, actor: str, reason: str | None, before: WorkOrder) -> Step:
    """A step, telling the operation of the states it acts on."""
    after = outcome.order.state
    notify = None
    if after is not before.state:
        if after is WorkState.ACCEPTED and before.state in _NEW_STATES:
            notify = NEW_WORK
        elif after is WorkState.CANCELLED:
            notify = CANCELLED
    return Step(outcome, actor, reason, notify)


# --------------------------------------------------------------------------- existing work


def follow(
    order: WorkOrder | None,
    remote: RemoteFulfillmentOrder,
    policy: Policy,
    *,
    ours: bool,
    seen: Seen = Seen(),
) -> Decision:
    """The steps that bring ``order`` up to ``remote`` (see the module's list of rules).
    ``ours``: the fulfillment order is assigned to a location this store works."""
    if order is None:
        kind = new_work_kind(policy, remote, ours=ours)
        if kind is None:
            return Decision(ignored=True)
        if kind == "unpaid":
            return Decision(ignored=True, note=f"{remote.work.order_name} waits for payment")
        return _new(remote, policy, kind)

    if (
        remote.updated_at is not None
        and seen.updated_at is not None
        and remote.updated_at < seen.updated_at
    ):
        return Decision(stale=True)
    newer = remote.updated_at is not None and (
        seen.updated_at is None or remote.updated_at > seen.updated_at
    )
    kind = new_work_kind(policy, remote, ours=ours)

    if (
        order.state is WorkState.REJECTED
        and newer
        and seen.request_status == RequestStatus.REJECTED
        and kind == "request"
    ):
        # Shopify had our rejection and the merchant asked again (e.g. after fixing the
        # address): a new request for the same fulfillment order, taken in afresh.
        again = replace(_prepared(remote, policy), state=WorkState.RECEIVED, problems=())
        return Decision(
            steps=(
                Step(Outcome(again), ACTOR_SHOPIFY, "requested again"),
                _step(
                    decide_new_work(again, policy, remote.location_id), ACTOR_BRIDGE, None, again
                ),
            )
        )
    if order.is_final:
        return Decision()

    taken_back = _taken_back(order, remote, ours=ours, newer=newer)
    if taken_back is not None:
        ended = cancelled_by_merchant(order)
        return Decision(steps=(_step(ended, ACTOR_SHOPIFY, taken_back, order),))

    steps: list[Step] = []
    if order.state is WorkState.SCHEDULED:
        if kind in ("request", "adopt"):
            fresh = replace(_prepared(remote, policy), state=WorkState.RECEIVED)
            outcome = decide_new_work(fresh, policy, remote.location_id)
            return Decision(steps=(_step(outcome, ACTOR_BRIDGE, "opened in Shopify", fresh),))
        return Decision(steps=tuple(_changes(order, remote, policy)))

    if policy.mode is Mode.FULFILLMENT_SERVICE and remote.cancellation_pending:
        if _unanswered(order, remote):
            answer = _answer(order, remote, policy)
            if answer is not None:
                return Decision(steps=(answer,))
        return Decision()
    if order.cancel_requested and not remote.cancellation_pending:
        # Our answer reached Shopify: a later request will be answered again.
        steps.append(Step(Outcome(replace(order, cancel_requested=False)), ACTOR_SHOPIFY))
        order = steps[-1].outcome.order
    if order.state is WorkState.EXCEPTION:
        if newer and kind in ("request", "adopt"):
            # Shopify's data changed since the exception (e.g. an address was fixed).
            retried = retry_exception(order).order
            fresh = replace(
                _prepared(remote, policy),
                state=retried.state,
                problems=(),
                flags=order.flags,
            )
            outcome = decide_new_work(fresh, policy, remote.location_id)
            steps.append(_step(outcome, ACTOR_BRIDGE, "changed in Shopify", fresh))
        return Decision(steps=tuple(steps))
    if order.state is WorkState.SHIPPED:
        steps += _held_after_shipping(order, remote)
    elif order.state in _FOLLOWED:
        steps += _changes(order, remote, policy)
    return Decision(steps=tuple(steps))


def _taken_back(
    order: WorkOrder, remote: RemoteFulfillmentOrder, *, ours: bool, newer: bool
) -> str | None:
    """Why Shopify's news ends the work here, if it does: the order was cancelled, or,
    while nothing is shipped, the merchant closed the fulfillment order or moved it to a
    location this store does not work for."""
    if remote.order_cancelled or remote.status == RemoteStatus.CANCELLED:
        return "cancelled in Shopify"
    if any(line.shipped for line in order.lines):
        return None
    if remote.is_closed and order.state not in (WorkState.SHIPPED, WorkState.READY_FOR_PICKUP):
        return "closed in Shopify"
    if newer and not ours:
        return f"moved to {remote.location_id} in Shopify"
    return None


def _unanswered(order: WorkOrder, remote: RemoteFulfillmentOrder) -> bool:
    """Whether the pending cancellation request still needs our answer: none was given, or
    the one given was for an earlier request (the merchant asked again after a refusal)."""
    if not order.cancel_requested:
        return True
    request = remote.cancellation_request_id
    return request is not None and request != order.answered_cancellation


def _answer(order: WorkOrder, remote: RemoteFulfillmentOrder, policy: Policy) -> Step | None:
    outcome = answer_cancellation_request(order, policy.stages, policy.cancel_cutoff_stage)
    if not outcome.effects:
        return None
    # Remember that this request is answered, so a repeat of the news does not answer twice.
    answered = replace(
        outcome.order, cancel_requested=True, answered_cancellation=remote.cancellation_request_id
    )
    notify = CANCELLED if answered.state is WorkState.CANCELLED else CANCELLATION_REQUESTED
    return Step(replace(outcome, order=answered), ACTOR_BRIDGE, "cancellation requested", notify)


# --------------------------------------------------------------------------- the merchant's changes


def _changes(order: WorkOrder, remote: RemoteFulfillmentOrder, policy: Policy) -> list[Step]:
    steps: list[Step] = []
    holds = remote.foreign_holds
    if remote.status == RemoteStatus.ON_HOLD and holds:
        first = holds[0]
        same = order.held_by == first.held_by and order.hold_reason == first.reason
        ours_already = order.state is WorkState.ON_HOLD and order.held_by == HELD_BY_US
        if not (order.state is WorkState.ON_HOLD and same) and not ours_already:
            outcome = held_in_shopify(order, first.reason, first.held_by)
            steps.append(Step(outcome, ACTOR_SHOPIFY, f"held: {first.describe()}", ON_HOLD))
            order = outcome.order
    elif (
        order.state is WorkState.ON_HOLD
        and order.held_by not in (None, HELD_BY_US)
        and not holds
        and remote.status != RemoteStatus.ON_HOLD
    ):
        outcome = released_in_shopify(order)
        steps.append(Step(outcome, ACTOR_SHOPIFY, "hold released in Shopify", RELEASED))
        order = outcome.order
    edited = _edited(order, remote, policy)
    if edited is not None:
        steps.append(edited)
    return steps


def _edited(order: WorkOrder, remote: RemoteFulfillmentOrder, policy: Policy) -> Step | None:
    """The lines, address and details as Shopify now has them, if anything changed."""
    fresh = _prepared(remote, policy)
    reasons: list[str] = []
    problems = list(order.problems)
    lines, line_reasons, line_problems = _merge_lines(order.lines, fresh.lines)
    reasons += line_reasons
    problems += [p for p in line_problems if p not in problems]
    flags = list(fresh.flags)
    for flag in order.flags:
        if not flag.startswith("payment ") and flag not in flags:
            flags.append(flag)
    address = order.shipping_address
    if fresh.shipping_address is not None and fresh.shipping_address != order.shipping_address:
        address = fresh.shipping_address
        reasons.append("shipping address changed")
        if _packing_begun(order, policy):
            flag = f"shipping address changed after {order.stage or 'shipping'} began"
            if flag not in flags:
                flags.append(flag)
    details = fresh.details
    if details != order.details:
        reasons += _detail_changes(order, fresh)
    changed = replace(
        order,
        lines=lines,
        shipping_address=address,
        billing_address=fresh.billing_address or order.billing_address,
        details=details,
        flags=tuple(flags),
        problems=tuple(problems),
    )
    if changed == order:
        return None
    if (
        changed.state is WorkState.PARTIALLY_SHIPPED
        and lines
        and all(line.remaining == 0 for line in lines)
    ):
        changed = replace(changed, state=WorkState.SHIPPED)
    reason = "; ".join(reasons) or "changed in Shopify"
    return Step(Outcome(changed), ACTOR_SHOPIFY, reason, UPDATED)


HELD_AFTER_SHIPPING = "shipped while held in Shopify"


def _held_after_shipping(order: WorkOrder, remote: RemoteFulfillmentOrder) -> list[Step]:
    """The operation shipped before the bridge heard of a hold placed in Shopify: Shopify
    refuses the fulfillment until the hold is released (the outbox keeps it waiting). The
    work is flagged meanwhile, and the flag goes with the release."""
    flagged = tuple(f for f in order.flags if f.startswith(HELD_AFTER_SHIPPING))
    holds = remote.foreign_holds
    expected = any(line.remaining for line in remote.work.lines)
    if remote.status == RemoteStatus.ON_HOLD and holds and expected and not flagged:
        flag = (
            f"{HELD_AFTER_SHIPPING} ({holds[0].describe()}): the fulfillment is sent once "
            "the hold is released"
        )
        held = replace(order, flags=(*order.flags, flag))
        return [Step(Outcome(held), ACTOR_SHOPIFY, f"held: {holds[0].describe()}", ON_HOLD)]
    if flagged and remote.status != RemoteStatus.ON_HOLD:
        kept = tuple(f for f in order.flags if f not in flagged)
        released = replace(order, flags=kept)
        return [Step(Outcome(released), ACTOR_SHOPIFY, "hold released in Shopify", RELEASED)]
    return []


def _packing_begun(order: WorkOrder, policy: Policy) -> bool:
    if order.state is WorkState.PARTIALLY_SHIPPED:
        return True
    stages = list(policy.stages)
    mark = policy.packed_stage
    if order.stage is None or mark is None or mark not in stages or order.stage not in stages:
        return False
    return stages.index(order.stage) >= stages.index(mark)


def _merge_lines(
    current: tuple[WorkLine, ...], fresh: tuple[WorkLine, ...]
) -> tuple[tuple[WorkLine, ...], list[str], list[str]]:
    """Shopify's lines with our shipped counts (never lower than what we shipped)."""
    reasons: list[str] = []
    problems: list[str] = []
    ours = {line.line_id: line for line in current}
    merged: list[WorkLine] = []
    for line in fresh:
        before = ours.pop(line.line_id, None)
        if before is None:
            merged.append(line)
            reasons.append(f"line added: {line.sku or line.title} x{line.quantity}")
            continue
        shipped = max(before.shipped, line.shipped)
        quantity = line.quantity
        if quantity < shipped:
            problems.append(
                f"line {line.sku or line.title} was reduced to {quantity} in Shopify, but "
                f"{shipped} already shipped"
            )
            quantity = shipped
        if quantity != before.quantity:
            reasons.append(f"{line.sku or line.title}: quantity {before.quantity} -> {quantity}")
        merged.append(replace(line, shipped=shipped, quantity=quantity))
    for gone in ours.values():
        if gone.shipped:
            # Shipped units stay on record even if Shopify moved the line's rest elsewhere.
            merged.append(replace(gone, quantity=gone.shipped))
            if gone.quantity != gone.shipped:
                reasons.append(f"{gone.sku or gone.title}: unshipped units removed")
        else:
            reasons.append(f"line removed: {gone.sku or gone.title}")
    return tuple(merged), reasons, problems


def _detail_changes(order: WorkOrder, fresh: WorkOrder) -> list[str]:
    before, after = order.details, fresh.details
    reasons = []
    for name, label in (
        ("note", "note"),
        ("note_attributes", "note attributes"),
        ("tags", "tags"),
        ("delivery", "delivery method"),
        ("fulfill_by", "deadline"),
        ("fulfill_at", "fulfill-at time"),
        ("payment", "payment"),
        ("metafields", "metafields"),
    ):
        if getattr(before, name) != getattr(after, name):
            reasons.append(f"{label} changed")
    old = {line.line_id: line for line in order.lines}
    for line in fresh.lines:
        was = old.get(line.line_id)
        if was is not None and was.properties != line.properties:
            reasons.append(f"personalisation of {line.sku or line.title} changed")
    return reasons
