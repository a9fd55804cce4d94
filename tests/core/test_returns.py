"""Return work: receipt and disposition rules, and how Shopify's news moves a return."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from fulfillbridge.core import returns
from fulfillbridge.core.errors import ReturnErrorCode
from fulfillbridge.core.returns import (
    Disposition,
    DispositionDecision,
    Receipt,
    RemoteReturn,
    RemoteReturnLine,
    RemoteReturnStatus,
    ReturnError,
    ReturnLine,
    ReturnState,
    ReturnTracking,
    ReturnWork,
    Shipped,
)

WAREHOUSES = ("main", "east")
R, N, M = Disposition.RESTOCKED, Disposition.NOT_RESTOCKED, Disposition.MISSING


def _work(state: ReturnState = ReturnState.EXPECTED, **line_changes: object) -> ReturnWork:
    tee = ReturnLine("rl-1", "rfo-1", "TEE-M", 3, title="Tee", warehouse="main")
    mug = ReturnLine("rl-2", "rfo-1", "MUG", 1, title="Mug", warehouse="main")
    return ReturnWork(
        store="acme",
        remote_id="ret-1",
        name="#1001-R1",
        order_remote_id="o-1",
        order_name="#1001",
        lines=(replace(tee, **line_changes), mug),  # type: ignore[arg-type]
        state=state,
    )


# --- receiving ------------------------------------------------------------------------------

RECEIPTS_REFUSED = [
    # (receipts, work line changes, message fragment, code)
    (
        [Receipt("rl-1", 4)],
        {},
        "expects 3 more unit(s); this receipt asks for 4",
        ReturnErrorCode.INVALID,
    ),
    # A line named twice is told the whole call against what it expects, not the remainder.
    (
        [Receipt("rl-1", 2), Receipt("rl-1", 2, "damaged")],
        {},
        "expects 3 more unit(s); this receipt asks for 4 (2 good, 2 damaged)",
        ReturnErrorCode.INVALID,
    ),
    ([Receipt("rl-1", 1)], {"received": 3}, "expects 0 more", ReturnErrorCode.INVALID),
    (
        [Receipt("rl-1", 1)],
        {"disposed": (("missing", 3),)},
        "expects 0 more",
        ReturnErrorCode.INVALID,
    ),
    ([Receipt("rl-1", 0)], {}, "must be positive", ReturnErrorCode.INVALID),
    ([Receipt("rl-1", -2)], {}, "must be positive", ReturnErrorCode.INVALID),
    ([Receipt("rl-1", 1, " ")], {}, "condition", ReturnErrorCode.INVALID),
    ([Receipt("rl-1", 1, "x" * 101)], {}, "condition", ReturnErrorCode.INVALID),
    ([Receipt("nope", 1)], {}, "has no line nope", ReturnErrorCode.INVALID),
    ([], {}, "at least one line", ReturnErrorCode.INVALID),
]


@pytest.mark.parametrize(("receipts", "changes", "message", "code"), RECEIPTS_REFUSED)
def test_receipts_that_do_not_fit_are_refused_whole(
    receipts: list[Receipt], changes: dict, message: str, code: ReturnErrorCode
) -> None:
    work = _work(**changes)
    with pytest.raises(ReturnError, match=re.escape(message)) as caught:
        returns.receive(work, receipts)
    assert caught.value.code is code


@pytest.mark.parametrize(
    "state",
    [
        ReturnState.REQUESTED,
        ReturnState.DECLINED,
        ReturnState.CANCELLED,
        ReturnState.CLOSED,
        ReturnState.DISPOSED,
    ],
)
def test_only_open_returns_take_receipts(state: ReturnState) -> None:
    with pytest.raises(ReturnError, match=f"it is {state.value}") as caught:
        returns.receive(_work(state), [Receipt("rl-1", 1)])
    assert caught.value.code is ReturnErrorCode.NOT_ALLOWED


def test_receipt_counts_units_by_condition_and_marks_the_return_received() -> None:
    outcome = returns.receive(_work(), [Receipt("TEE-M", 2, "good"), Receipt("rl-1", 1, "damaged")])
    tee = outcome.work.line("rl-1")
    assert outcome.work.state is ReturnState.RECEIVED
    assert tee.received == 3
    assert tee.conditions == (("damaged", 1), ("good", 2))
    assert outcome.effects == ()  # a receipt is ours: Shopify has no such state
    assert outcome.events == (returns.RETURN_RECEIVED,)
    assert outcome.work.line("MUG").received == 0


def test_a_sku_on_two_lines_must_be_named_by_line_id() -> None:
    work = _work()
    twin = ReturnLine("rl-3", "rfo-2", "TEE-M", 1)
    work = replace(work, lines=(*work.lines, twin))
    with pytest.raises(ReturnError, match="several lines of SKU TEE-M"):
        returns.receive(work, [Receipt("TEE-M", 1)])
    assert returns.receive(work, [Receipt("rl-3", 1)]).work.line("rl-3").received == 1


# --- disposing ------------------------------------------------------------------------------

DISPOSALS = [
    # (line changes, decisions, error fragment or None, restocked, not_restocked, missing)
    ({"received": 3}, [DispositionDecision("rl-1", R, 3)], None, 3, 0, 0),
    ({"received": 3}, [DispositionDecision("rl-1", R, 2, "east")], None, 2, 0, 0),
    (
        {"received": 2},
        [DispositionDecision("rl-1", R, 1), DispositionDecision("rl-1", N, 1)],
        None,
        1,
        1,
        0,
    ),
    ({"received": 2}, [DispositionDecision("rl-1", M, 1)], None, 0, 0, 1),
    ({"received": 2}, [DispositionDecision("rl-1", R, 3)], "has 2 received unit", 0, 0, 0),
    ({"received": 2}, [DispositionDecision("rl-1", M, 2)], "has 1 unreceived unit", 0, 0, 0),
    ({}, [DispositionDecision("rl-1", N, 1)], "has 0 received unit", 0, 0, 0),
    (
        {"received": 3, "disposed": (("restocked", 3),)},
        [DispositionDecision("rl-1", N, 1)],
        "has 0 received",
        0,
        0,
        0,
    ),
    ({"received": 1}, [DispositionDecision("rl-1", R, 1, "attic")], "unknown warehouse", 0, 0, 0),
    (
        {"received": 1, "warehouse": None},
        [DispositionDecision("rl-1", R, 1)],
        "needs a warehouse",
        0,
        0,
        0,
    ),
    ({"received": 1}, [DispositionDecision("rl-1", N, 1, "main")], "only restocked", 0, 0, 0),
    ({"received": 1}, [DispositionDecision("rl-1", R, 0)], "must be positive", 0, 0, 0),
    (
        {"received": 1},
        [DispositionDecision("rl-1", Disposition.PROCESSING_REQUIRED, 1)],
        "not one the operation decides",
        0,
        0,
        0,
    ),
]


@pytest.mark.parametrize(
    ("changes", "decisions", "error", "restocked", "not_restocked", "missing"), DISPOSALS
)
def test_disposition_rules(
    changes: dict,
    decisions: list[DispositionDecision],
    error: str | None,
    restocked: int,
    not_restocked: int,
    missing: int,
) -> None:
    work = _work(ReturnState.RECEIVED, **changes)
    if error is not None:
        with pytest.raises(ReturnError, match=error):
            returns.dispose(work, decisions, WAREHOUSES)
        return
    outcome = returns.dispose(work, decisions, WAREHOUSES)
    line = outcome.work.line("rl-1")
    assert line.disposed_as(R) == restocked
    assert line.disposed_as(N) == not_restocked
    assert line.disposed_as(M) == missing
    (effect,) = outcome.effects
    assert effect.kind == returns.RETURN_DISPOSE
    assert sum(item["quantity"] for item in effect.data["items"]) == sum(
        d.quantity for d in decisions
    )
    # Each item says what the line had disposed before it, counting earlier items.
    befores = [item["disposed_before"] for item in effect.data["items"]]
    assert befores == [sum(d.quantity for d in decisions[:i]) for i in range(len(decisions))]
    restock_items = [i for i in effect.data["items"] if i["kind"] == "restocked"]
    assert all(i["warehouse"] in WAREHOUSES for i in restock_items)
    assert outcome.events == (returns.RETURN_DISPOSED,)


def test_the_return_is_disposed_once_every_unit_is_accounted_for() -> None:
    work = returns.receive(_work(), [Receipt("rl-1", 2), Receipt("MUG", 1)]).work
    partly = returns.dispose(
        work, [DispositionDecision("rl-1", R, 2), DispositionDecision("MUG", N, 1)], WAREHOUSES
    )
    assert partly.work.state is ReturnState.RECEIVED
    missing = returns.dispose(partly.work, [DispositionDecision("rl-1", M, 1)], WAREHOUSES)
    assert missing.work.state is ReturnState.DISPOSED
    assert missing.effects[0].data["items"][0]["disposed_before"] == 2
    with pytest.raises(ReturnError, match="it is disposed"):
        returns.dispose(missing.work, [DispositionDecision("rl-1", M, 1)], WAREHOUSES)


# --- labels ---------------------------------------------------------------------------------


def test_a_label_goes_to_each_reverse_fulfillment_order_with_what_is_still_to_come() -> None:
    work = _work(received=1)
    work = replace(work, lines=(*work.lines, ReturnLine("rl-9", "rfo-2", "CAP", 2)))
    label = ReturnTracking("UPS", "1Z999", None, "https://labels.example/1.pdf")
    outcome = returns.attach_label(work, label)
    by_order = {e.data["reverse_order_id"]: e.data for e in outcome.effects}
    assert by_order["rfo-1"]["lines"] == [
        {"line_id": "rl-1", "quantity": 2},
        {"line_id": "rl-2", "quantity": 1},
    ]
    assert by_order["rfo-2"]["lines"] == [{"line_id": "rl-9", "quantity": 2}]
    assert by_order["rfo-1"]["number"] == "1Z999"
    assert outcome.work.tracking == (label,)


@pytest.mark.parametrize(
    ("tracking", "message"),
    [
        (ReturnTracking("UPS"), "tracking number or a label URL"),
        (ReturnTracking(number="1", url="ftp://x"), "http"),
        (ReturnTracking(label_url="file:///etc/passwd"), "http"),
    ],
)
def test_bad_labels_are_refused(tracking: ReturnTracking, message: str) -> None:
    with pytest.raises(ReturnError, match=message):
        returns.attach_label(_work(), tracking)


def test_no_label_once_everything_arrived_or_the_return_ended() -> None:
    work = returns.receive(_work(), [Receipt("rl-1", 3), Receipt("MUG", 1)]).work
    with pytest.raises(ReturnError, match="no units left"):
        returns.attach_label(work, ReturnTracking(number="1"))
    with pytest.raises(ReturnError, match="declined"):
        returns.attach_label(_work(ReturnState.DECLINED), ReturnTracking(number="1"))


# --- following Shopify ----------------------------------------------------------------------

SHIPPED = {"TEE-M": Shipped(7, "main"), "MUG": Shipped(7, "main")}


def _news(status: RemoteReturnStatus, **changes: object) -> RemoteReturn:
    lines = (
        RemoteReturnLine("rl-1", "rfo-1", "TEE-M", 3, reason="SIZE_TOO_SMALL"),
        RemoteReturnLine("rl-2", "rfo-1", "MUG", 1),
        RemoteReturnLine("rl-5", "rfo-1", "NOT-OURS", 1),
    )
    base = RemoteReturn("ret-1", "#1001-R1", "o-1", "#1001", status, lines)
    return replace(base, **changes)  # type: ignore[arg-type]


FOLLOW = [
    # (known state or None, Shopify status, new state, events)
    (None, RemoteReturnStatus.REQUESTED, ReturnState.REQUESTED, ()),
    (None, RemoteReturnStatus.OPEN, ReturnState.EXPECTED, (returns.RETURN_EXPECTED,)),
    (ReturnState.REQUESTED, RemoteReturnStatus.OPEN, ReturnState.EXPECTED, ("return_expected",)),
    (
        ReturnState.REQUESTED,
        RemoteReturnStatus.DECLINED,
        ReturnState.DECLINED,
        ("return_declined",),
    ),
    (
        ReturnState.EXPECTED,
        RemoteReturnStatus.CANCELLED,
        ReturnState.CANCELLED,
        ("return_cancelled",),
    ),
    (ReturnState.RECEIVED, RemoteReturnStatus.CLOSED, ReturnState.CLOSED, ("return_closed",)),
    (ReturnState.DISPOSED, RemoteReturnStatus.CLOSED, ReturnState.DISPOSED, ()),
    (ReturnState.RECEIVED, RemoteReturnStatus.OPEN, ReturnState.RECEIVED, ()),
    (ReturnState.EXPECTED, RemoteReturnStatus.OPEN, ReturnState.EXPECTED, ()),
    # A return first seen declined was never the operation's news.
    (None, RemoteReturnStatus.DECLINED, ReturnState.DECLINED, ()),
]


@pytest.mark.parametrize(("known", "status", "state", "events"), FOLLOW)
def test_follow_shopify_status(
    known: ReturnState | None,
    status: RemoteReturnStatus,
    state: ReturnState,
    events: tuple[str, ...],
) -> None:
    before = None
    if known is not None:
        before = returns.follow(None, _news(RemoteReturnStatus.OPEN), SHIPPED, store="acme")
        assert before is not None
        before_work = replace(before.work, state=known)
    outcome = returns.follow(before_work if known else None, _news(status), SHIPPED, store="acme")
    assert outcome is not None
    assert outcome.work.state is state
    assert outcome.events == events
    assert [line.sku for line in outcome.work.lines] == ["TEE-M", "MUG"]  # NOT-OURS left out


def test_a_return_of_nothing_the_operation_shipped_is_not_return_work() -> None:
    assert returns.follow(None, _news(RemoteReturnStatus.OPEN), {}, store="acme") is None


def test_following_keeps_receipts_and_takes_dispositions_made_in_shopify() -> None:
    first = returns.follow(None, _news(RemoteReturnStatus.OPEN), SHIPPED, store="acme")
    assert first is not None
    received = returns.receive(first.work, [Receipt("rl-1", 2)]).work
    news = _news(RemoteReturnStatus.OPEN)
    news = replace(
        news,
        lines=(
            replace(news.lines[0], dispositions=(("restocked", 1),)),
            replace(news.lines[1], dispositions=(("missing", 1),)),
        ),
        tracking=(ReturnTracking("USPS", "940011"),),
    )
    outcome = returns.follow(received, news, SHIPPED, store="acme")
    assert outcome is not None
    tee, mug = outcome.work.lines
    assert tee.received == 2 and tee.disposed_as(R) == 1
    assert mug.disposed_as(M) == 1 and mug.settled
    assert outcome.work.state is ReturnState.RECEIVED
    assert outcome.work.tracking == (ReturnTracking("USPS", "940011"),)
    assert outcome.events == (returns.RETURN_UPDATED,)
    # The same news again changes nothing and announces nothing.
    again = returns.follow(outcome.work, news, SHIPPED, store="acme")
    assert again is not None and again.work == outcome.work and again.events == ()


def test_shopify_never_lowers_what_we_recorded() -> None:
    first = returns.follow(None, _news(RemoteReturnStatus.OPEN), SHIPPED, store="acme")
    assert first is not None
    work = returns.receive(first.work, [Receipt("rl-1", 3)]).work
    work = returns.dispose(work, [DispositionDecision("rl-1", R, 3)], WAREHOUSES).work
    # Shopify has not seen our disposition yet (the write is queued).
    outcome = returns.follow(work, _news(RemoteReturnStatus.OPEN), SHIPPED, store="acme")
    assert outcome is not None
    assert outcome.work.line("rl-1").disposed_as(R) == 3
    assert outcome.work.line("rl-1").received == 3
