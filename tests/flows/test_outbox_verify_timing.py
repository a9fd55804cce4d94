"""When an unknown outcome is checked: a mutation Shopify answered with a 5xx is verified
about a second later (then two, four ...), not after a minute; so is one that got no answer
when a late copy would be refused (a hold with its handle); one whose late arrival could
double it still waits until Shopify is surely done with it."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from fulfillbridge.config import Settings
from fulfillbridge.core import work as core
from fulfillbridge.flows.outbox import send_due
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import as_utc
from tests.flows.outbox_helpers import (
    Admin,
    apply,
    new_work,
    order_for_service,
    outbox_rows,
)


def _executed(admin: Admin, operation: str) -> int:
    return sum(
        1
        for r in admin.requests()
        if r["operation"] == operation and r["status"] == 200 and not r["fault"]
    )


async def _send_under(admin: Admin, database: Database, settings: Settings, faults: dict) -> float:
    """Send the next due row while Shopify fails every request as ``faults`` says; returns
    in how many seconds the row is due again."""
    admin.faults({"api": faults, "seed": 5})
    try:
        assert await send_due(database, settings, worker_id="w", limit=1) == 1
    finally:
        admin.faults({})
    (row,) = [r for r in await outbox_rows(database) if r.status == "unknown"]
    return (as_utc(row.next_attempt_at) - datetime.now(UTC)).total_seconds()


async def _send_when_due(database: Database, settings: Settings, within: float) -> float:
    """Send until nothing is unknown; returns how long that took."""
    began = time.monotonic()
    while any(r.status == "unknown" for r in await outbox_rows(database)):
        assert time.monotonic() - began < within, "the unknown row was not verified in time"
        await send_due(database, settings, worker_id="w2", limit=5)
        await asyncio.sleep(0.1)
    return time.monotonic() - began


async def test_a_5xx_on_a_mutation_is_verified_within_seconds(
    database, settings, store_id, admin, service
) -> None:
    remote = order_for_service(admin, service, (2,))
    work_id = await new_work(database, store_id, remote)
    await apply(database, work_id, core.accept, warehouse="main")

    due_in = await _send_under(admin, database, settings, {"server_error": 1.0})
    assert 0.5 < due_in <= settings.outbox_verify_first_seconds + 0.5
    took = await _send_when_due(database, settings, within=5.0)
    assert took < 3.0

    (row,) = await outbox_rows(database, work_id)
    assert (row.kind, row.status, row.attempts) == ("accept_request", "done", 2)
    assert admin.fulfillment_order(remote.fo_id)["requestStatus"] == "ACCEPTED"
    assert _executed(admin, "FulfillmentOrderAcceptRequest") == 1


async def test_the_delay_grows_with_each_unknown_outcome(
    database, settings, store_id, admin, service
) -> None:
    remote = order_for_service(admin, service, (1,))
    work_id = await new_work(database, store_id, remote)
    await apply(database, work_id, core.accept, warehouse="main")
    delays = []
    for _ in range(3):
        delays.append(await _send_under(admin, database, settings, {"server_error": 1.0}))
        await asyncio.sleep(max(0.0, delays[-1]) + 0.05)
    assert [round(d) for d in delays] == [1, 2, 4]
    await _send_when_due(database, settings, within=10.0)
    assert _executed(admin, "FulfillmentOrderAcceptRequest") == 1


async def test_a_hold_without_any_answer_is_verified_within_seconds(
    database, settings, store_id, admin, service
) -> None:
    remote = order_for_service(admin, service, (1,))
    work_id = await new_work(database, store_id, remote)
    await apply(database, work_id, core.accept, warehouse="main")
    await send_due(database, settings, worker_id="w", limit=5)
    await apply(database, work_id, core.hold, "INVENTORY_OUT_OF_STOCK")

    # A dropped connection: the hold may still be placed later, but a late copy carries the
    # same handle and Shopify refuses it, so the hold is checked (and sent again) at once.
    due_in = await _send_under(admin, database, settings, {"drop": 1.0})
    assert 0.5 < due_in <= settings.outbox_verify_first_seconds + 0.5
    await _send_when_due(database, settings, within=5.0)
    fo = admin.fulfillment_order(remote.fo_id)
    assert fo["status"] == "ON_HOLD" and len(fo["fulfillmentHolds"]) == 1


async def test_a_partial_fulfillment_that_could_fit_twice_waits_the_settle_time(
    database, settings, store_id, admin, service
) -> None:
    remote = order_for_service(admin, service, (3,))
    (line,) = remote.lines
    work_id = await new_work(database, store_id, remote)
    await apply(database, work_id, core.accept, warehouse="main")
    await send_due(database, settings, worker_id="w", limit=5)
    await apply(database, work_id, core.ship, {line["id"]: 1}, [core.Tracking("UPS", "S1")])

    sent_at = datetime.now(UTC)
    due_in = await _send_under(admin, database, settings, {"drop": 1.0})
    assert 0.5 < due_in <= settings.outbox_verify_first_seconds + 0.5
    await asyncio.sleep(due_in + 0.05)
    # Shopify shows no fulfillment yet, and 1 of 3 units could be fulfilled twice: the
    # resend waits until the dropped request can surely no longer land.
    assert await send_due(database, settings, worker_id="w2", limit=1) == 1
    (_, row) = await outbox_rows(database, work_id)
    assert row.status == "unknown" and row.attempts == 1
    wait = (as_utc(row.next_attempt_at) - sent_at).total_seconds()
    assert settings.unknown_settle_seconds - 1 < wait <= settings.unknown_settle_seconds + 1
    assert admin.fulfillment_order(remote.fo_id)["fulfillments"]["nodes"] == []
