"""The work-order state machine: pure, no I/O."""

from __future__ import annotations

import pytest

from fulfillbridge.core import work
from fulfillbridge.core.work import Mode, Tracking, TransitionError, WorkLine, WorkOrder, WorkState

STAGES = ("printing", "picking", "packing")


def _order(mode: Mode = Mode.FULFILLMENT_SERVICE, **changes) -> WorkOrder:
    base = WorkOrder(
        store="acme",
        remote_id="fo-1",
        order_name="#1001",
        mode=mode,
        lines=(WorkLine("l1", "TEE-M", 2, title="Tee"), WorkLine("l2", "MUG", 1, title="Mug")),
    )
    return work.replace(base, **changes) if changes else base


def test_accept_in_service_mode_tells_shopify() -> None:
    outcome = work.accept(_order(), warehouse="main")
    assert outcome.order.state is WorkState.ACCEPTED
    assert outcome.order.warehouse == "main"
    assert [e.kind for e in outcome.effects] == [work.ACCEPT_REQUEST]


def test_accept_in_order_management_mode_needs_no_request_answer() -> None:
    outcome = work.accept(_order(Mode.ORDER_MANAGEMENT), warehouse="main")
    assert outcome.effects == ()


def test_refuse_rejects_requests_but_makes_exceptions_of_pulled_orders() -> None:
    rejected = work.refuse(_order(), ["shipping address is missing"])
    assert rejected.order.state is WorkState.REJECTED
    assert rejected.effects[0].kind == work.REJECT_REQUEST
    assert "shipping address" in rejected.effects[0].data["message"]
    exception = work.refuse(_order(Mode.ORDER_MANAGEMENT), ["no SKU"])
    assert exception.order.state is WorkState.EXCEPTION and exception.effects == ()
    retried = work.retry_exception(exception.order)
    assert retried.order.state is WorkState.RECEIVED and retried.order.problems == ()
    with pytest.raises(TransitionError):
        work.refuse(_order(), [])


def test_stages_move_forward_only_and_report_progress() -> None:
    order = work.accept(_order(), warehouse="main").order
    printing = work.start_stage(order, "printing", STAGES)
    assert printing.order.state is WorkState.IN_PROGRESS
    assert printing.effects[0].data == {"stage": "printing"}
    packing = work.start_stage(printing.order, "packing", STAGES).order
    with pytest.raises(TransitionError, match="only move forward"):
        work.start_stage(packing, "picking", STAGES)
    with pytest.raises(TransitionError, match="unknown stage"):
        work.start_stage(packing, "gilding", STAGES)
    with pytest.raises(TransitionError, match="received"):
        work.start_stage(_order(), "printing", STAGES)


def test_hold_and_release_return_to_the_interrupted_state() -> None:
    order = work.start_stage(work.accept(_order(), warehouse="w").order, "picking", STAGES).order
    held = work.hold(order, "AWAITING_PAYMENT", "card declined")
    assert held.order.state is WorkState.ON_HOLD
    assert held.effects[0].data["reason"] == "AWAITING_PAYMENT"
    with pytest.raises(TransitionError):
        work.hold(held.order, "OTHER")
    with pytest.raises(TransitionError):
        work.ship(held.order, None, [])
    released = work.release(held.order)
    assert released.order.state is WorkState.IN_PROGRESS
    assert released.effects[0].kind == work.RELEASE_HOLD


def test_partial_then_complete_shipment() -> None:
    order = work.accept(_order(), warehouse="w").order
    first = work.ship(order, {"l1": 1}, [Tracking("UPS", "1Z1")])
    assert first.order.state is WorkState.PARTIALLY_SHIPPED
    assert first.effects[0].data["lines"] == {"l1": 1}
    assert first.effects[0].data["tracking"][0]["number"] == "1Z1"
    with pytest.raises(TransitionError, match="1 left to ship, not 2"):
        work.ship(first.order, {"l1": 2}, [])
    with pytest.raises(TransitionError, match="no line"):
        work.ship(first.order, {"nope": 1}, [])
    with pytest.raises(TransitionError, match="positive"):
        work.ship(first.order, {"l1": 0, "l2": 1}, [])
    rest = work.ship(first.order, None, [Tracking("UPS", "1Z2"), Tracking("UPS", "1Z3")])
    assert rest.order.state is WorkState.SHIPPED
    assert rest.effects[0].data["lines"] == {"l1": 1, "l2": 1}
    with pytest.raises(TransitionError):
        work.ship(rest.order, None, [])
    assert work.deliver(rest.order).order.state is WorkState.DELIVERED


def test_cancellation_request_accepted_before_cutoff_rejected_after() -> None:
    order = work.accept(_order(), warehouse="w").order
    early = work.start_stage(order, "printing", STAGES).order
    accepted = work.answer_cancellation_request(early, STAGES, cutoff_stage="picking")
    assert accepted.order.state is WorkState.CANCELLED
    assert accepted.effects[0].kind == work.ACCEPT_CANCELLATION
    late = work.start_stage(early, "packing", STAGES).order
    rejected = work.answer_cancellation_request(late, STAGES, cutoff_stage="picking")
    assert rejected.order.state is WorkState.IN_PROGRESS
    assert rejected.effects[0].kind == work.REJECT_CANCELLATION
    assert "packing" in rejected.effects[0].data["message"]
    shipped = work.ship(order, {"l1": 1}, []).order
    after_ship = work.answer_cancellation_request(shipped, STAGES, cutoff_stage=None)
    assert after_ship.effects[0].kind == work.REJECT_CANCELLATION


def test_merchant_cancel_closes_locally_and_is_idempotent() -> None:
    order = work.accept(_order(), warehouse="w").order
    cancelled = work.cancelled_by_merchant(order)
    assert cancelled.order.state is WorkState.CANCELLED and cancelled.effects == ()
    again = work.cancelled_by_merchant(cancelled.order)
    assert again.order == cancelled.order and again.note == "already final"


def test_give_up_needs_reason_and_active_work() -> None:
    order = work.accept(_order(), warehouse="w").order
    with pytest.raises(TransitionError, match="reason"):
        work.give_up(order, "  ")
    closed = work.give_up(order, "printer broke")
    assert closed.order.state is WorkState.INCOMPLETE
    assert closed.effects[0].data == {"message": "printer broke"}
    with pytest.raises(TransitionError):
        work.give_up(_order(), "not accepted yet")
