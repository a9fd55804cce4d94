"""Writes sent again before an earlier attempt is surely over, while that attempt is still
running at the sandbox and lands after the resend: a hold (its handle makes the late copy a
duplicate Shopify refuses) and a fulfillment of everything left (the late copy asks for
more units than remain) end up once; a partial fulfillment that could fit twice waits, and
so does the release of a hold sent again early."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime

from fulfillbridge.config import Settings
from fulfillbridge.core import work as core
from fulfillbridge.flows.outbox import send_due
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import as_utc
from tests.flows.outbox_helpers import (
    FAST,
    Admin,
    apply,
    new_work,
    order_for_service,
    outbox_rows,
)

# The sandbox holds each write this long before running it; the client gives up sooner, so
# the first attempt lands at Shopify after the resend.
SLOW_SECONDS = 1.0
SETTLE = 4.0
EARLY = replace(FAST, request_timeout=0.3, unknown_settle_seconds=SETTLE)


def _arrived(admin: Admin, operation: str) -> int:
    """Requests of ``operation`` the sandbox ran to the end (answered or not)."""
    return sum(1 for r in admin.requests() if r["operation"] == operation and r["status"] == 200)


async def _accepted(database: Database, settings: Settings, store_id: int, remote) -> int:
    work_id = await new_work(database, store_id, remote)
    await apply(database, work_id, core.accept, warehouse="main")
    assert await send_due(database, settings, worker_id="w", policy=EARLY) == 1
    return work_id


async def _send_slowly(admin: Admin, database: Database, settings: Settings) -> None:
    """One attempt of the next due row that times out while the sandbox still holds it;
    the faults are cleared at once, so the resend goes through while it is held."""
    admin.faults({"api": {"slow": 1.0, "slow_seconds": SLOW_SECONDS, "mutations_only": True}})
    try:
        assert await send_due(database, settings, worker_id="w", limit=1, policy=EARLY) == 1
    finally:
        admin.faults({})


async def _send_again_now(database: Database, settings: Settings) -> None:
    await asyncio.sleep(0.1)  # EARLY verifies 0.02 s after the attempt
    await send_due(database, settings, worker_id="w2", limit=1, policy=EARLY)


async def test_a_hold_sent_again_early_is_placed_once(
    database, settings, store_id, admin, service
) -> None:
    remote = order_for_service(admin, service, (2,))
    work_id = await _accepted(database, settings, store_id, remote)
    await apply(database, work_id, core.hold, "INVENTORY_OUT_OF_STOCK")

    began = time.monotonic()
    await _send_slowly(admin, database, settings)
    await _send_again_now(database, settings)
    (_, hold) = await outbox_rows(database, work_id)
    assert hold.status == "done"
    assert time.monotonic() - began < SLOW_SECONDS  # before the first copy landed
    await asyncio.sleep(SLOW_SECONDS + 0.3)  # the late copy lands and is refused

    assert _arrived(admin, "FulfillmentOrderHold") == 2
    fo = admin.fulfillment_order(remote.fo_id)
    assert fo["status"] == "ON_HOLD"
    assert [h["handle"] for h in fo["fulfillmentHolds"]] == [hold.result["handle"]]

    # The release waits until the hold's first attempt can no longer land (else the late
    # copy would hold the order again after it), then goes.
    (release_id,) = await apply(database, work_id, core.release)
    await send_due(database, settings, worker_id="w2", policy=EARLY)
    (_, _, release) = await outbox_rows(database, work_id)
    assert release.id == release_id and release.status == "pending" and release.attempts == 0
    unsettled = datetime.fromisoformat(hold.result["unsettled_until"])
    assert abs((as_utc(release.next_attempt_at) - unsettled).total_seconds()) < 0.01
    await asyncio.sleep(max(0.0, (unsettled - datetime.now(UTC)).total_seconds()) + 0.05)
    await send_due(database, settings, worker_id="w2", policy=EARLY)
    (_, _, release) = await outbox_rows(database, work_id)
    assert release.status == "done"
    fo = admin.fulfillment_order(remote.fo_id)
    assert fo["status"] != "ON_HOLD" and fo["fulfillmentHolds"] == []


async def test_a_fulfillment_of_everything_left_sent_again_early_is_created_once(
    database, settings, store_id, admin, service
) -> None:
    remote = order_for_service(admin, service, (2, 1))
    work_id = await _accepted(database, settings, store_id, remote)
    tee, mug = (line["id"] for line in remote.lines)
    # Both lines whole: a second copy asks for more units than remain on either.
    await apply(database, work_id, core.ship, {tee: 2, mug: 1}, [core.Tracking("UPS", "E1")])

    began = time.monotonic()
    await _send_slowly(admin, database, settings)
    await _send_again_now(database, settings)
    (_, ship) = await outbox_rows(database, work_id)
    assert ship.status == "done" and time.monotonic() - began < SLOW_SECONDS
    await asyncio.sleep(SLOW_SECONDS + 0.3)

    assert _arrived(admin, "FulfillmentCreate") == 2
    fo = admin.fulfillment_order(remote.fo_id)
    assert fo["status"] == "CLOSED"
    (fulfillment,) = fo["fulfillments"]["nodes"]
    assert fulfillment["id"] == ship.result["fulfillment_id"]


async def test_most_of_a_line_sent_again_early_is_created_once(
    database, settings, store_id, admin, service
) -> None:
    remote = order_for_service(admin, service, (3,))
    work_id = await _accepted(database, settings, store_id, remote)
    (line,) = remote.lines
    # 2 of 3: once one copy is in, 1 unit is left and the other copy is refused.
    await apply(database, work_id, core.ship, {line["id"]: 2}, [core.Tracking("UPS", "M1")])

    await _send_slowly(admin, database, settings)
    await _send_again_now(database, settings)
    await asyncio.sleep(SLOW_SECONDS + 0.3)

    (_, ship) = await outbox_rows(database, work_id)
    assert ship.status == "done"
    assert _arrived(admin, "FulfillmentCreate") == 2
    fo = admin.fulfillment_order(remote.fo_id)
    (fulfillment,) = fo["fulfillments"]["nodes"]
    assert [n["quantity"] for n in fulfillment["fulfillmentLineItems"]["nodes"]] == [2]
    assert [n["remainingQuantity"] for n in fo["lineItems"]["nodes"]] == [1]


async def test_a_partial_fulfillment_that_could_fit_twice_waits_for_the_late_copy(
    database, settings, store_id, admin, service
) -> None:
    remote = order_for_service(admin, service, (3,))
    work_id = await _accepted(database, settings, store_id, remote)
    (line,) = remote.lines
    await apply(database, work_id, core.ship, {line["id"]: 1}, [core.Tracking("UPS", "W1")])

    await _send_slowly(admin, database, settings)
    await _send_again_now(database, settings)
    (_, ship) = await outbox_rows(database, work_id)
    # Not at Shopify yet and 1 of 3 could go twice: no resend before the settle time.
    assert ship.status == "unknown" and ship.attempts == 1
    assert _arrived(admin, "FulfillmentCreate") == 0
    unsettled = datetime.fromisoformat(ship.result["unsettled_until"])
    assert abs((as_utc(ship.next_attempt_at) - unsettled).total_seconds()) < 0.01

    await asyncio.sleep((unsettled - datetime.now(UTC)).total_seconds() + 0.05)
    await send_due(database, settings, worker_id="w2", limit=1, policy=EARLY)
    (_, ship) = await outbox_rows(database, work_id)
    # The late copy landed meanwhile: found by the check, not sent a second time.
    assert (ship.status, ship.result["verified"]) == ("done", True)
    assert _arrived(admin, "FulfillmentCreate") == 1
    (fulfillment,) = admin.fulfillment_order(remote.fo_id)["fulfillments"]["nodes"]
    assert fulfillment["id"] == ship.result["fulfillment_id"]
