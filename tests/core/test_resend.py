"""When a write whose outcome is unknown may be sent again before the earlier attempt is
surely over (core.resend): table tests of the fulfillment rule and of each kind."""

from __future__ import annotations

import pytest

from fulfillbridge.core import resend
from fulfillbridge.core import work as core

A, B = "gid://shopify/FulfillmentOrderLineItem/1", "gid://shopify/FulfillmentOrderLineItem/2"


@pytest.mark.parametrize(
    ("requested", "remaining", "safe", "why"),
    [
        ({A: 2}, {A: 2}, True, "everything left on the line"),
        ({A: 2}, {A: 3}, True, "most of the line: 1 left after one copy"),
        ({A: 1}, {A: 3}, False, "a third of the line fits three times"),
        ({A: 1}, {A: 2}, False, "half of the line fits twice"),
        ({A: 2}, {A: 4}, False, "exactly half fits twice"),
        ({A: 3}, {A: 5}, True, "more than half"),
        ({A: 1, B: 5}, {A: 3, B: 5}, True, "one line that cannot fit twice is enough"),
        ({A: 1, B: 1}, {A: 3, B: 2}, False, "every line fits twice"),
        ({}, {A: 3}, True, "no lines named: everything left, the order closes"),
        ({A: 0}, {A: 3}, True, "zero units named is no line"),
        ({A: 2}, {}, False, "remaining units not read prove nothing"),
        ({A: 1, B: 1}, {A: 3}, False, "the unread line proves nothing, the read one fits"),
        ({A: 5}, {A: 3}, True, "more than remains: refused either way"),
    ],
)
def test_fulfillment_cannot_double(requested, remaining, safe, why) -> None:
    assert resend.fulfillment_cannot_double(requested, remaining) is safe, why


@pytest.mark.parametrize(
    ("kind", "remaining", "now"),
    [
        (core.ACCEPT_REQUEST, None, True),
        (core.REJECT_REQUEST, None, True),
        (core.ACCEPT_CANCELLATION, None, True),
        (core.REJECT_CANCELLATION, None, True),
        (core.CLOSE, None, True),
        (core.REPORT_PROGRESS, None, True),
        (core.PREPARED_FOR_PICKUP, None, True),
        (core.HOLD, None, True),
        (core.CREATE_FULFILLMENT, {A: 2}, True),
        (core.CREATE_FULFILLMENT, {A: 4}, False),
        (core.CREATE_FULFILLMENT, None, False),
        (core.RELEASE_HOLD, None, False),
        (core.UPDATE_TRACKING, None, False),
        (core.FULFILLMENT_EVENT, None, False),
        (core.MOVE, None, False),
    ],
)
def test_may_resend_now(kind, remaining, now) -> None:
    assert resend.may_resend_now(kind, requested={A: 2}, remaining=remaining) is now


@pytest.mark.parametrize(
    ("kind", "early"),
    [
        (core.ACCEPT_REQUEST, True),
        (core.HOLD, True),
        (core.CREATE_FULFILLMENT, True),
        (core.FULFILLMENT_EVENT, False),
        (core.UPDATE_TRACKING, False),
        (core.RELEASE_HOLD, False),
        (core.MOVE, False),
    ],
)
def test_verify_early(kind, early) -> None:
    assert resend.verify_early(kind) is early


def test_a_release_waits_for_the_holds_it_undoes() -> None:
    assert resend.UNDONE_BY == {core.RELEASE_HOLD: core.HOLD}
