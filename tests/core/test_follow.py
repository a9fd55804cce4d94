"""core.follow: how Shopify's news changes a work order. Pure: a table of cases, each a
work order (or none), a snapshot of its fulfillment order, and what must come out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from fulfillbridge.core import follow as f
from fulfillbridge.core.details import Delivery, DeliveryKind, Hold, OrderDetails, PaymentState
from fulfillbridge.core.news import RemoteFulfillmentOrder
from fulfillbridge.core.routing import Warehouse
from fulfillbridge.core.shipping import parse_rules
from fulfillbridge.core.work import (
    Address,
    Mode,
    TransitionError,
    WorkLine,
    WorkOrder,
    WorkState,
    ready_for_pickup,
    release,
    ship,
    start_stage,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
STAGES = ("picking", "packing")
ADDRESS = Address(name="Ada", address1="1 Main St", city="Leeds", country_code="GB")
PAID = OrderDetails(payment=PaymentState.PAID, financial_status="PAID")


def _work(mode: Mode = Mode.ORDER_MANAGEMENT, **changes: object) -> WorkOrder:
    base = WorkOrder(
        store="acme",
        remote_id="gid://shopify/FulfillmentOrder/1",
        order_name="#1001",
        mode=mode,
        lines=(WorkLine("l1", "MUG", 2, title="Mug"),),
        shipping_address=ADDRESS,
        details=PAID,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _remote(
    work: WorkOrder | None = None,
    *,
    status: str = "OPEN",
    request: str = "UNSUBMITTED",
    at: datetime = T0,
    holds: tuple[Hold, ...] = (),
    **changes: object,
) -> RemoteFulfillmentOrder:
    snapshot = replace(work or _work(), state=WorkState.RECEIVED, warehouse=None)
    base = RemoteFulfillmentOrder(
        work=snapshot,
        order_id="gid://shopify/Order/1",
        location_id="gid://shopify/Location/1",
        status=status,
        request_status=request,
        updated_at=at,
        order_cancelled=False,
        cancellation_pending=False,
        holds=holds,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _policy(mode: Mode = Mode.ORDER_MANAGEMENT, **changes: object) -> f.Policy:
    base = f.Policy(
        mode=mode,
        warehouses=(Warehouse("main", 1),),
        stages=STAGES,
        cancel_cutoff_stage="packing",
        packed_stage="packing",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _accepted(**changes: object) -> WorkOrder:
    return _work(state=WorkState.ACCEPTED, warehouse="main", **changes)


def _final(decision: f.Decision) -> WorkOrder:
    return decision.steps[-1].outcome.order


MERCHANT_HOLD = Hold("HIGH_RISK_OF_FRAUD", "High risk of fraud", "check the card", "merchant")


# --------------------------------------------------------------------------- new work


@pytest.mark.parametrize(
    ("mode", "status", "request_status", "payment", "allow", "expected"),
    [
        (Mode.ORDER_MANAGEMENT, "OPEN", "UNSUBMITTED", PaymentState.PAID, False, "request"),
        (Mode.ORDER_MANAGEMENT, "OPEN", "UNSUBMITTED", PaymentState.PENDING, False, "unpaid"),
        (Mode.ORDER_MANAGEMENT, "OPEN", "UNSUBMITTED", PaymentState.PENDING, True, "request"),
        (Mode.ORDER_MANAGEMENT, "SCHEDULED", "UNSUBMITTED", PaymentState.PAID, False, "scheduled"),
        (Mode.ORDER_MANAGEMENT, "ON_HOLD", "UNSUBMITTED", PaymentState.PAID, False, None),
        (Mode.FULFILLMENT_SERVICE, "OPEN", "SUBMITTED", PaymentState.PENDING, False, "request"),
        (Mode.FULFILLMENT_SERVICE, "IN_PROGRESS", "ACCEPTED", PaymentState.PAID, False, "adopt"),
        (Mode.FULFILLMENT_SERVICE, "OPEN", "UNSUBMITTED", PaymentState.PAID, False, None),
    ],
)
def test_new_work_kind(
    mode: Mode,
    status: str,
    request_status: str,
    payment: PaymentState,
    allow: bool,
    expected: str | None,
) -> None:
    work = _work(mode, details=replace(PAID, payment=payment))
    remote = _remote(work, status=status, request=request_status)
    policy = _policy(mode, allow_payment_pending=allow)
    assert f.new_work_kind(policy, remote, ours=True) == expected
    assert f.new_work_kind(policy, remote, ours=False) is None


def test_new_paid_work_is_accepted_and_announced() -> None:
    decision = f.follow(None, _remote(), _policy(), ours=True)
    assert decision.create and decision.initial is not None
    assert _final(decision).state is WorkState.ACCEPTED
    assert decision.steps[-1].notify == f.NEW_WORK


def test_unpaid_order_waits_and_payment_pending_allowed_is_flagged() -> None:
    pending = _work(details=replace(PAID, payment=PaymentState.PENDING, financial_status="PENDING"))
    waiting = f.follow(None, _remote(pending), _policy(), ours=True)
    assert waiting.ignored and "waits for payment" in waiting.note
    allowed = f.follow(None, _remote(pending), _policy(allow_payment_pending=True), ours=True)
    order = _final(allowed)
    assert order.state is WorkState.ACCEPTED
    assert order.flags == ("payment pending (pending)",)
    # Paid later: the flag goes.
    paid = f.follow(order, _remote(at=T0 + timedelta(minutes=1)), _policy(), ours=True)
    assert _final(paid).flags == ()


def test_scheduled_work_is_upcoming_until_it_opens() -> None:
    upcoming = f.follow(None, _remote(status="SCHEDULED"), _policy(), ours=True)
    assert upcoming.initial is not None and upcoming.initial.state is WorkState.SCHEDULED
    assert upcoming.steps == ()
    opened = f.follow(upcoming.initial, _remote(at=T0 + timedelta(hours=1)), _policy(), ours=True)
    assert _final(opened).state is WorkState.ACCEPTED
    assert opened.steps[-1].notify == f.NEW_WORK


def test_carrier_mapping_is_applied_to_new_work() -> None:
    rules = parse_rules(
        {
            "rules": [{"name_contains": "express", "carrier": "UPS", "service": "Express Saver"}],
            "default": {"carrier": "Royal Mail", "service": "Tracked 48"},
        }
    )
    express = _work(details=replace(PAID, delivery=Delivery(presented_name="Express (1-2 days)")))
    decided = _final(f.follow(None, _remote(express), _policy(shipping=rules), ours=True))
    assert decided.details.delivery.carrier == "UPS"
    assert decided.details.delivery.carrier_service == "Express Saver"
    assert decided.details.delivery.mapping_rule == "rule 1"
    standard = _final(f.follow(None, _remote(), _policy(shipping=rules), ours=True))
    assert standard.details.delivery.carrier == "Royal Mail"
    assert standard.details.delivery.mapping_rule == "default"
    nothing = _final(f.follow(None, _remote(), _policy(), ours=True))
    assert nothing.details.delivery.carrier is None


# --------------------------------------------------------------------------- holds


def test_merchant_hold_stops_the_work_and_release_resumes_it() -> None:
    order = start_stage(_accepted(), "picking", STAGES).order
    held = f.follow(order, _remote(status="ON_HOLD", holds=(MERCHANT_HOLD,)), _policy(), ours=True)
    on_hold = _final(held)
    assert on_hold.state is WorkState.ON_HOLD
    assert on_hold.held_by == "merchant" and on_hold.hold_reason == "HIGH_RISK_OF_FRAUD"
    assert on_hold.held_from is WorkState.IN_PROGRESS
    assert held.steps[0].notify == f.ON_HOLD and held.steps[0].outcome.effects == ()
    with pytest.raises(TransitionError, match="on hold in Shopify by merchant"):
        ship(on_hold, None, [])
    with pytest.raises(TransitionError, match="only they can release it"):
        release(on_hold)
    # The same news again changes nothing.
    again = f.follow(
        on_hold, _remote(status="ON_HOLD", holds=(MERCHANT_HOLD,)), _policy(), ours=True
    )
    assert again.steps == ()
    released = f.follow(on_hold, _remote(at=T0 + timedelta(minutes=5)), _policy(), ours=True)
    back = _final(released)
    assert back.state is WorkState.IN_PROGRESS and back.held_by is None
    assert released.steps[0].notify == f.RELEASED
    assert ship(back, None, []).order.state is WorkState.SHIPPED


def test_our_own_hold_is_not_released_by_older_news() -> None:
    from fulfillbridge.core.work import hold

    ours = hold(_accepted(), "OTHER").order
    assert f.follow(ours, _remote(), _policy(), ours=True).steps == ()
    ours_in_shopify = Hold("OTHER", held_by="fulfillbridge")
    seen = f.follow(ours, _remote(status="ON_HOLD", holds=(ours_in_shopify,)), _policy(), ours=True)
    assert seen.steps == ()


# --------------------------------------------------------------------------- edits


def test_edit_adds_a_line_and_reduces_another() -> None:
    order = _accepted(
        lines=(WorkLine("l1", "MUG", 2, title="Mug"), WorkLine("l2", "TEE", 3, title="Tee"))
    )
    edited = replace(
        order,
        lines=(
            WorkLine("l1", "MUG", 2, title="Mug"),
            WorkLine("l2", "TEE", 1, title="Tee"),
            WorkLine("l3", "CAP", 1, title="Cap"),
        ),
    )
    decision = f.follow(order, _remote(edited, at=T0 + timedelta(minutes=1)), _policy(), ours=True)
    after = _final(decision)
    assert [(line.sku, line.quantity) for line in after.lines] == [
        ("MUG", 2),
        ("TEE", 1),
        ("CAP", 1),
    ]
    assert decision.steps[-1].notify == f.UPDATED
    assert "line added: CAP x1" in (decision.steps[-1].reason or "")
    assert "TEE: quantity 3 -> 1" in (decision.steps[-1].reason or "")
    assert after.state is WorkState.ACCEPTED


def test_an_edit_never_takes_shipped_units_back() -> None:
    order = ship(_accepted(lines=(WorkLine("l1", "MUG", 3, title="Mug"),)), {"l1": 2}, []).order
    assert order.state is WorkState.PARTIALLY_SHIPPED
    edited = replace(order, lines=(WorkLine("l1", "MUG", 1, title="Mug"),))
    decision = f.follow(order, _remote(edited, at=T0 + timedelta(minutes=1)), _policy(), ours=True)
    after = _final(decision)
    assert after.lines[0].quantity == 2 and after.lines[0].shipped == 2
    assert any("2 already shipped" in p for p in after.problems)
    assert after.state is WorkState.SHIPPED  # nothing left to ship


def test_address_change_is_followed_and_flagged_once_packing_began() -> None:
    new = replace(ADDRESS, address1="9 New Rd")
    accepted = _accepted()
    moved = _final(f.follow(accepted, _remote(_work(shipping_address=new)), _policy(), ours=True))
    assert moved.shipping_address == new and moved.flags == ()
    packing = start_stage(accepted, "packing", STAGES).order
    flagged = _final(f.follow(packing, _remote(_work(shipping_address=new)), _policy(), ours=True))
    assert flagged.shipping_address == new
    assert flagged.flags == ("shipping address changed after packing began",)


def test_older_news_is_stale_and_a_repeat_changes_nothing() -> None:
    order = _accepted()
    stale = f.follow(order, _remote(at=T0), _policy(), ours=True, seen=f.Seen(T0 + timedelta(1)))
    assert stale.stale
    assert f.follow(order, _remote(), _policy(), ours=True, seen=f.Seen(T0)).steps == ()


# --------------------------------------------------------------------------- endings


def test_cancelled_or_moved_away_ends_unshipped_work() -> None:
    order = _accepted()
    cancelled = f.follow(order, _remote(order_cancelled=True), _policy(), ours=True)
    assert _final(cancelled).state is WorkState.CANCELLED
    assert cancelled.steps[0].notify == f.CANCELLED
    moved = f.follow(order, _remote(at=T0), _policy(), ours=False, seen=f.Seen(T0 - timedelta(1)))
    assert _final(moved).state is WorkState.CANCELLED
    assert "moved to" in (moved.steps[0].reason or "")


def test_cancellation_request_is_answered_once() -> None:
    order = _accepted(mode=Mode.FULFILLMENT_SERVICE)
    remote = _remote(
        replace(order, mode=Mode.FULFILLMENT_SERVICE),
        status="IN_PROGRESS",
        request="ACCEPTED",
        cancellation_pending=True,
        cancellation_request_id="r1",
    )
    policy = _policy(Mode.FULFILLMENT_SERVICE)
    answered = f.follow(order, remote, policy, ours=True)
    assert _final(answered).state is WorkState.CANCELLED
    assert answered.steps[0].outcome.effects[0].kind == "accept_cancellation"
    assert f.follow(_final(answered), remote, policy, ours=True).steps == ()


def test_pickup_orders_are_marked_ready_not_shipped() -> None:
    pickup = _accepted(details=replace(PAID, delivery=Delivery(kind=DeliveryKind.PICKUP)))
    with pytest.raises(TransitionError, match="ready for pickup"):
        ship(pickup, None, [])
    ready = ready_for_pickup(pickup)
    assert ready.order.state is WorkState.READY_FOR_PICKUP
    assert [e.kind for e in ready.effects] == ["prepared_for_pickup"]
    with pytest.raises(TransitionError, match="not a pickup order"):
        ready_for_pickup(_accepted())


def test_work_shipped_before_a_hold_was_heard_of_is_flagged_until_released() -> None:
    shipped = ship(_accepted(), None, []).order
    news = _remote(status="ON_HOLD", holds=(MERCHANT_HOLD,))  # Shopify still expects 2
    flagged = f.follow(shipped, news, _policy(), ours=True)
    (step,) = flagged.steps
    assert step.notify == f.ON_HOLD and step.outcome.effects == ()
    assert step.outcome.order.state is WorkState.SHIPPED
    assert step.outcome.order.flags[0].startswith("shipped while held in Shopify")
    assert f.follow(step.outcome.order, news, _policy(), ours=True).steps == ()
    released = f.follow(step.outcome.order, _remote(), _policy(), ours=True)
    assert released.steps[0].notify == f.RELEASED
    assert released.steps[0].outcome.order.flags == ()
    # Once Shopify has the fulfillment, a later hold on the closed order flags nothing.
    done = replace(shipped, lines=(WorkLine("l1", "MUG", 2, shipped=2, title="Mug"),))
    closed = _remote(done, status="ON_HOLD", holds=(MERCHANT_HOLD,))
    assert f.follow(shipped, closed, _policy(), ours=True).steps == ()


def test_storefront_values_are_bounded_and_made_valid_text() -> None:
    from fulfillbridge.core.details import MAX_PROPERTIES, bounded_pairs

    raw = [("Engraving", "To \udcff Ada?"), ("Long", "x" * 5000)]
    raw += [(f"k{n}", "v") for n in range(300)]
    kept, warnings = bounded_pairs(raw, "property")
    assert kept[0] == ("Engraving", "To \ufffd Ada?")  # a real question mark stays
    assert len(kept[1][1]) == 4000 and len(kept) == MAX_PROPERTIES
    assert len(warnings) == 3 and warnings[-1].startswith("302 property entries")
