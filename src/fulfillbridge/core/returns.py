"""Return work: what customers send back to the operation, and what becomes of each unit.

A return the merchant approved, for items the operation shipped, is *expected*: its lines
name the SKU, how many units come back, why, and the work order that shipped them. The
operation then records what arrived (``receive``: per line, quantity and condition) and
decides each unit's fate (``dispose``: restocked at a warehouse, not restocked, or missing);
the disposition is the one thing sent to Shopify. Money (refunds) is the merchant's.

States: ``requested`` (the customer asked; the merchant has not approved) → ``expected`` →
``received`` (something arrived) → ``disposed`` (every unit accounted for); Shopify may
end it ``declined``, ``cancelled`` or ``closed`` at any point. Shopify's news is followed by
:func:`follow`; the operation's commands return the new return work, the effects to send to
Shopify and the events to announce. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from fulfillbridge.core.errors import FulfillbridgeError, ReturnErrorCode


class ReturnState(StrEnum):
    REQUESTED = "requested"
    EXPECTED = "expected"
    RECEIVED = "received"
    DISPOSED = "disposed"
    CLOSED = "closed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


FINAL_RETURN_STATES = frozenset(
    {ReturnState.DISPOSED, ReturnState.CLOSED, ReturnState.DECLINED, ReturnState.CANCELLED}
)
# States in which units may still arrive and be recorded.
OPEN_RETURN_STATES = frozenset({ReturnState.EXPECTED, ReturnState.RECEIVED})


class Disposition(StrEnum):
    """What became of a returned unit (Shopify's reverse-fulfillment dispositions)."""

    RESTOCKED = "restocked"  # back on a warehouse shelf: inventory goes up there
    NOT_RESTOCKED = "not_restocked"  # arrived, not sellable
    MISSING = "missing"  # never arrived
    PROCESSING_REQUIRED = "processing_required"  # only seen from Shopify, never sent by us


# Dispositions the operation may decide; each needs the units to have arrived, or not.
DECIDABLE = (Disposition.RESTOCKED, Disposition.NOT_RESTOCKED, Disposition.MISSING)
_ARRIVED = frozenset({Disposition.RESTOCKED, Disposition.NOT_RESTOCKED})

# Longest free text kept from the operation (a condition) per receipt.
MAX_CONDITION_LENGTH = 100

# Effects (outbox kinds) and events (notifications to the operation).
RETURN_DISPOSE = "return_dispose"
RETURN_LABEL = "return_label"
RETURN_EXPECTED = "return_expected"
RETURN_RECEIVED = "return_received"
RETURN_DISPOSED = "return_disposed"
RETURN_DECLINED = "return_declined"
RETURN_CANCELLED = "return_cancelled"
RETURN_CLOSED = "return_closed"
RETURN_UPDATED = "return_updated"
RETURN_EVENTS = (
    RETURN_EXPECTED,
    RETURN_RECEIVED,
    RETURN_DISPOSED,
    RETURN_DECLINED,
    RETURN_CANCELLED,
    RETURN_CLOSED,
    RETURN_UPDATED,
)


class ReturnError(FulfillbridgeError):
    """A receipt, disposition or label the return does not allow; the message says why."""

    default_code = ReturnErrorCode.INVALID


class ReturnNotAllowed(ReturnError):
    default_code = ReturnErrorCode.NOT_ALLOWED


class ReturnNotFound(FulfillbridgeError, LookupError):
    default_code = ReturnErrorCode.NOT_FOUND


Counts = tuple[tuple[str, int], ...]  # (name, quantity) pairs, in a fixed order


def _add(counts: Counts, name: str, quantity: int) -> Counts:
    merged = dict(counts)
    merged[name] = merged.get(name, 0) + quantity
    return tuple(sorted((k, v) for k, v in merged.items() if v))


@dataclass(frozen=True)
class ReturnLine:
    """One reverse-fulfillment-order line: ``expected`` units of one SKU coming back."""

    line_id: str  # Shopify's reverse fulfillment order line item id (opaque here)
    reverse_order_id: str  # its reverse fulfillment order
    sku: str | None
    expected: int
    title: str = ""
    reason: str = ""
    customer_note: str = ""
    # The original shipment: the work order that shipped these units, and from where.
    work_order_id: int | None = None
    warehouse: str | None = None
    inventory_item_id: str | None = None
    received: int = 0
    conditions: Counts = ()  # received units by condition
    disposed: Counts = ()  # units by Disposition value

    def disposed_as(self, kind: Disposition) -> int:
        return dict(self.disposed).get(kind.value, 0)

    @property
    def disposed_total(self) -> int:
        return sum(quantity for _name, quantity in self.disposed)

    @property
    def arrived_undecided(self) -> int:
        """Received units not yet restocked or set aside."""
        decided = sum(self.disposed_as(kind) for kind in _ARRIVED)
        return max(0, self.received - decided)

    @property
    def never_arrived_undecided(self) -> int:
        """Units neither received nor marked missing."""
        return max(0, self.expected - self.received - self.disposed_as(Disposition.MISSING))

    @property
    def settled(self) -> bool:
        return self.disposed_total >= self.expected


@dataclass(frozen=True)
class ReturnTracking:
    """The return shipment: the customer's (from Shopify) or a label the operation bought."""

    carrier: str | None = None
    number: str | None = None
    url: str | None = None
    label_url: str | None = None


@dataclass(frozen=True)
class ReturnWork:
    store: str
    remote_id: str  # Shopify's Return id
    name: str  # e.g. "#1001-R1"
    order_remote_id: str
    order_name: str
    lines: tuple[ReturnLine, ...]
    state: ReturnState = ReturnState.EXPECTED
    decline_reason: str | None = None
    decline_note: str | None = None
    tracking: tuple[ReturnTracking, ...] = ()
    exchange_items: int = 0  # new items Shopify sends in exchange (normal work orders)

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_RETURN_STATES

    def line(self, line_id: str) -> ReturnLine:
        """The line with this id, or the one line with this SKU."""
        for line in self.lines:
            if line.line_id == line_id:
                return line
        by_sku = [line for line in self.lines if line.sku is not None and line.sku == line_id]
        if len(by_sku) == 1:
            return by_sku[0]
        if by_sku:
            raise ReturnError(
                f"return {self.name} has several lines of SKU {line_id}: name the line id"
            )
        raise ReturnError(f"return {self.name} has no line {line_id}")


@dataclass(frozen=True)
class ReturnEffect:
    """Something to tell Shopify (an outbox row); ``kind`` names it."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReturnOutcome:
    work: ReturnWork
    effects: tuple[ReturnEffect, ...] = ()
    events: tuple[str, ...] = ()  # to announce to the operation
    note: str = ""


def _require_open(work: ReturnWork, action: str) -> None:
    if work.state not in OPEN_RETURN_STATES:
        raise ReturnNotAllowed(f"cannot {action} return {work.name}: it is {work.state.value}")


# --- the operation's commands ---------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    line_id: str  # a line id, or the line's SKU
    quantity: int
    condition: str = "good"


def receive(work: ReturnWork, receipts: Sequence[Receipt]) -> ReturnOutcome:
    """Units arrived. Each receipt names a line, how many and in what condition; more than
    the line still expects is refused, and so is the whole call with it."""
    _require_open(work, "receive")
    if not receipts:
        raise ReturnError("a receipt needs at least one line")
    lines = {line.line_id: line for line in work.lines}
    # Compared per line over the whole call, so a line named twice (good and damaged) is
    # told the units asked for in all against the units it still expects.
    asked: dict[str, list[Receipt]] = {}
    for receipt in receipts:
        asked.setdefault(work.line(receipt.line_id).line_id, []).append(receipt)
    for line_id, parts in asked.items():
        line = lines[line_id]
        room = line.never_arrived_undecided
        total = sum(part.quantity for part in parts)
        if total > room and all(part.quantity > 0 for part in parts):
            split = (
                " (" + ", ".join(f"{p.quantity} {p.condition.strip()}" for p in parts) + ")"
                if len(parts) > 1
                else ""
            )
            raise ReturnError(
                f"line {line.sku or line.line_id} of return {work.name} expects {room} more "
                f"unit(s); this receipt asks for {total}{split}"
            )
    for receipt in receipts:
        line = lines[work.line(receipt.line_id).line_id]
        condition = receipt.condition.strip()
        if receipt.quantity <= 0:
            raise ReturnError(
                f"quantity for line {line.sku or line.line_id} must be positive, "
                f"got {receipt.quantity}"
            )
        if not condition or len(condition) > MAX_CONDITION_LENGTH:
            raise ReturnError(
                f"condition for line {line.sku or line.line_id} must be 1 to "
                f"{MAX_CONDITION_LENGTH} characters"
            )
        lines[line.line_id] = replace(
            line,
            received=line.received + receipt.quantity,
            conditions=_add(line.conditions, condition, receipt.quantity),
        )
    received = replace(
        work, lines=tuple(lines[line.line_id] for line in work.lines), state=ReturnState.RECEIVED
    )
    return ReturnOutcome(received, events=(RETURN_RECEIVED,))


@dataclass(frozen=True)
class DispositionDecision:
    line_id: str  # a line id, or the line's SKU
    kind: Disposition
    quantity: int
    warehouse: str | None = None  # where restocked units go (restocked only)


def dispose(
    work: ReturnWork,
    decisions: Sequence[DispositionDecision],
    warehouses: Collection[str],
) -> ReturnOutcome:
    """Decide what becomes of units: restock received ones at a warehouse of the operation
    (one of ``warehouses``), set received ones aside, or mark unreceived ones missing. One
    Shopify write carries the whole decision; the return is ``disposed`` once every unit
    of every line is accounted for."""
    _require_open(work, "dispose of")
    if not decisions:
        raise ReturnError("a disposition needs at least one line")
    lines = {line.line_id: line for line in work.lines}
    items: list[dict[str, Any]] = []
    for decision in decisions:
        line = lines[work.line(decision.line_id).line_id]
        label = line.sku or line.line_id
        if decision.kind not in DECIDABLE:
            raise ReturnError(
                f"disposition {decision.kind.value!r} is not one the operation decides: "
                f"choose {', '.join(kind.value for kind in DECIDABLE)}"
            )
        if decision.quantity <= 0:
            raise ReturnError(
                f"quantity for line {label} must be positive, got {decision.quantity}"
            )
        warehouse = decision.warehouse
        if decision.kind is Disposition.RESTOCKED:
            warehouse = warehouse or line.warehouse
            if not warehouse:
                raise ReturnError(f"restocking line {label} needs a warehouse")
            if warehouse not in warehouses:
                raise ReturnError(
                    f"unknown warehouse {warehouse!r} for line {label}: known are "
                    f"{', '.join(sorted(warehouses)) or 'none'}"
                )
        elif warehouse is not None:
            raise ReturnError(f"only restocked units go to a warehouse (line {label})")
        if decision.kind is Disposition.MISSING:
            room = line.never_arrived_undecided
            what = "unreceived unit(s) left to mark missing"
        else:
            room = line.arrived_undecided
            what = "received unit(s) not yet disposed of"
        if decision.quantity > room:
            raise ReturnError(
                f"line {label} of return {work.name} has {room} {what}, not {decision.quantity}"
            )
        items.append(
            {
                "line_id": line.line_id,
                "reverse_order_id": line.reverse_order_id,
                "sku": line.sku,
                "kind": decision.kind.value,
                "quantity": decision.quantity,
                "warehouse": warehouse,
                "inventory_item_id": line.inventory_item_id,
                # What the line had disposed in all before this write: Shopify's total
                # reaching before + quantity shows the write took effect.
                "disposed_before": line.disposed_total,
            }
        )
        lines[line.line_id] = replace(
            line, disposed=_add(line.disposed, decision.kind.value, decision.quantity)
        )
    new_lines = tuple(lines[line.line_id] for line in work.lines)
    done = all(line.settled for line in new_lines)
    state = ReturnState.DISPOSED if done else work.state
    if state is ReturnState.EXPECTED and any(line.disposed_total for line in new_lines):
        state = ReturnState.RECEIVED  # something was decided: the return is being worked
    disposed = replace(work, lines=new_lines, state=state)
    return ReturnOutcome(
        disposed, (ReturnEffect(RETURN_DISPOSE, {"items": items}),), (RETURN_DISPOSED,)
    )


def attach_label(work: ReturnWork, tracking: ReturnTracking) -> ReturnOutcome:
    """The operation bought the return label: Shopify shows it (and the tracking) to the
    customer, one reverse delivery per reverse fulfillment order of the return."""
    _require_open(work, "attach a label to")
    if not (tracking.number or tracking.label_url):
        raise ReturnError("a return label needs a tracking number or a label URL")
    for url, what in ((tracking.url, "tracking URL"), (tracking.label_url, "label URL")):
        if url is not None and not url.startswith(("https://", "http://")):
            raise ReturnError(f"the {what} must be an http(s) URL, got {url!r}")
    by_order: dict[str, list[dict[str, Any]]] = {}
    for line in work.lines:
        remaining = line.never_arrived_undecided
        if remaining:
            by_order.setdefault(line.reverse_order_id, []).append(
                {"line_id": line.line_id, "quantity": remaining}
            )
    if not by_order:
        raise ReturnNotAllowed(f"return {work.name} has no units left to come back")
    effects = tuple(
        ReturnEffect(
            RETURN_LABEL,
            {
                "reverse_order_id": order_id,
                "lines": order_lines,
                "carrier": tracking.carrier,
                "number": tracking.number,
                "url": tracking.url,
                "label_url": tracking.label_url,
            },
        )
        for order_id, order_lines in by_order.items()
    )
    labelled = replace(work, tracking=(*work.tracking, tracking))
    return ReturnOutcome(labelled, effects, (RETURN_UPDATED,))


# --- Shopify's news -------------------------------------------------------------------------


class RemoteReturnStatus(StrEnum):
    """Shopify's ReturnStatus, in our words (``shopify/returns.py`` maps it)."""

    REQUESTED = "requested"
    OPEN = "open"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    CLOSED = "closed"


@dataclass(frozen=True)
class RemoteReturnLine:
    line_id: str
    reverse_order_id: str
    sku: str | None
    quantity: int
    title: str = ""
    reason: str = ""
    customer_note: str = ""
    inventory_item_id: str | None = None
    order_line_id: str | None = None  # the order's line item the units were sold as
    fulfillment_line_id: str | None = None  # the shipment's line the units came from
    dispositions: Counts = ()  # by Disposition value, as Shopify records them


@dataclass(frozen=True)
class RemoteReturn:
    remote_id: str
    name: str
    order_remote_id: str
    order_name: str
    status: RemoteReturnStatus
    lines: tuple[RemoteReturnLine, ...] = ()
    decline_reason: str | None = None
    decline_note: str | None = None
    tracking: tuple[ReturnTracking, ...] = ()
    exchange_items: int = 0


@dataclass(frozen=True)
class Shipped:
    """Where a SKU of the order was shipped from by the operation: the original shipment."""

    work_order_id: int
    warehouse: str | None


_STATUS_TO_STATE = {
    RemoteReturnStatus.REQUESTED: ReturnState.REQUESTED,
    RemoteReturnStatus.DECLINED: ReturnState.DECLINED,
    RemoteReturnStatus.CANCELLED: ReturnState.CANCELLED,
    RemoteReturnStatus.CLOSED: ReturnState.CLOSED,
}
_END_EVENTS = {
    ReturnState.DECLINED: RETURN_DECLINED,
    ReturnState.CANCELLED: RETURN_CANCELLED,
    ReturnState.CLOSED: RETURN_CLOSED,
}


def _merge_line(known: ReturnLine | None, news: RemoteReturnLine, shipped: Shipped) -> ReturnLine:
    disposed: Counts = known.disposed if known else ()
    # Dispositions made elsewhere (the merchant's admin) count too; ours never go down.
    for name, quantity in news.dispositions:
        ours = dict(disposed).get(name, 0)
        if quantity > ours:
            disposed = _add(disposed, name, quantity - ours)
    base = known or ReturnLine(
        line_id=news.line_id,
        reverse_order_id=news.reverse_order_id,
        sku=news.sku,
        expected=news.quantity,
    )
    return replace(
        base,
        reverse_order_id=news.reverse_order_id,
        sku=news.sku,
        expected=max(news.quantity, base.received),
        title=news.title,
        reason=news.reason,
        customer_note=news.customer_note,
        inventory_item_id=news.inventory_item_id,
        work_order_id=shipped.work_order_id,
        warehouse=base.warehouse if known and base.warehouse else shipped.warehouse,
        disposed=disposed,
    )


def follow(
    known: ReturnWork | None,
    news: RemoteReturn,
    shipped: Mapping[str, Shipped],
    *,
    store: str,
) -> ReturnOutcome | None:
    """Shopify's view of a return, applied to what we know of it. ``shipped`` maps the
    order's SKUs the operation shipped to their shipment; lines of other SKUs are not the
    operation's and are left out. None when nothing of the return is ours."""
    known_lines = {line.line_id: line for line in known.lines} if known else {}
    lines = tuple(
        _merge_line(known_lines.get(line.line_id), line, shipped[line.sku])
        for line in news.lines
        if line.sku is not None and line.sku in shipped
    )
    if not lines and known is None:
        return None
    if not lines and known is not None:
        lines = known.lines
    state = _state_for(known, news, lines)
    work = ReturnWork(
        store=store,
        remote_id=news.remote_id,
        name=news.name,
        order_remote_id=news.order_remote_id,
        order_name=news.order_name,
        lines=lines,
        state=state,
        decline_reason=news.decline_reason,
        decline_note=news.decline_note,
        tracking=_merged_tracking(known.tracking if known else (), news.tracking),
        exchange_items=news.exchange_items,
    )
    before = known.state if known else None
    events: tuple[str, ...] = ()
    if state is not before:
        if state is ReturnState.EXPECTED or (
            before in (None, ReturnState.REQUESTED) and state in OPEN_RETURN_STATES
        ):
            events = (RETURN_EXPECTED,)
        elif state in _END_EVENTS and before is not None and before is not ReturnState.DISPOSED:
            events = (_END_EVENTS[state],)
        elif state is ReturnState.DISPOSED:
            events = (RETURN_DISPOSED,)
    elif known is not None and work != known and state is not ReturnState.REQUESTED:
        events = (RETURN_UPDATED,)
    return ReturnOutcome(work, events=events)


def _state_for(
    known: ReturnWork | None, news: RemoteReturn, lines: Iterable[ReturnLine]
) -> ReturnState:
    if news.status in _STATUS_TO_STATE:
        target = _STATUS_TO_STATE[news.status]
        # A return we finished stays disposed when Shopify closes it afterwards.
        if target is ReturnState.CLOSED and known and known.state is ReturnState.DISPOSED:
            return ReturnState.DISPOSED
        return target
    lines = tuple(lines)
    if lines and all(line.settled for line in lines):
        return ReturnState.DISPOSED
    if known is not None and known.state in (ReturnState.RECEIVED, ReturnState.DISPOSED):
        return ReturnState.RECEIVED
    if any(line.received or line.disposed_total for line in lines):
        return ReturnState.RECEIVED
    return ReturnState.EXPECTED


def _merged_tracking(
    ours: tuple[ReturnTracking, ...], theirs: tuple[ReturnTracking, ...]
) -> tuple[ReturnTracking, ...]:
    seen = {(t.number, t.label_url) for t in ours}
    return ours + tuple(t for t in theirs if (t.number, t.label_url) not in seen)
