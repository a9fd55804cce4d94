"""Exactly once to Shopify: lost answers, injected API faults, a crashed worker and two
workers at once never make a write happen twice; every check reads the sandbox's state and
its request log."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from fulfillbridge.config import Settings
from fulfillbridge.core import work as core
from fulfillbridge.flows.outbox import send_due
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import OutboxRow
from tests.flows.outbox_helpers import (
    FAST,
    Admin,
    apply,
    bridge_settings,
    connect_store,
    drain,
    new_work,
    order_for_service,
    outbox_rows,
)

# A request slower than the client waits: the client gives up (outcome unknown) while the
# sandbox still carries the mutation out a moment later, like a Shopify timeout.
SLOW_SECONDS = 0.8
LOSING = replace(FAST, request_timeout=0.25, unknown_settle_seconds=SLOW_SECONDS + 0.3)


def mutation_counts(admin: Admin) -> Counter[str]:
    """Mutations the sandbox executed (answered 200, not throttled), by operation name."""
    return Counter(
        r["operation"]
        for r in admin.requests()
        if r["status"] == 200 and not r["throttled"] and r["operation"]
    )


async def lose_answer(admin: Admin, database: Database, settings: Settings) -> OutboxRow:
    """Send the next due row while every answer is too slow for the client, let the
    sandbox finish it, then let the sender go on; returns the row as it ends."""
    before = {r.id: r.status for r in await outbox_rows(database)}
    admin.faults({"api": {"slow": 1.0, "slow_seconds": SLOW_SECONDS}, "seed": 3})
    try:
        assert await send_due(database, settings, worker_id="w", limit=1, policy=LOSING) == 1
    finally:
        await asyncio.sleep(SLOW_SECONDS + 0.3)  # the sandbox completes the mutation
        admin.faults({})
    (unknown,) = [r for r in await outbox_rows(database) if r.status != before.get(r.id)]
    assert unknown.status == "unknown", unknown.last_error
    assert "may or may not have run" in unknown.last_error
    await drain(database, settings, policy=LOSING)
    (finished,) = [r for r in await outbox_rows(database) if r.id == unknown.id]
    return finished


async def test_lost_answers_are_verified_not_sent_again(
    database, settings, store_id, admin, service
):
    remote = order_for_service(admin, service, (3,))
    (line,) = remote.lines
    work_id = await new_work(database, store_id, remote)

    await apply(database, work_id, core.accept, warehouse="main")
    accepted = await lose_answer(admin, database, settings)
    assert (accepted.kind, accepted.status) == ("accept_request", "done")
    assert accepted.result["verified"] is True

    await apply(database, work_id, core.hold, "INVENTORY_OUT_OF_STOCK")
    held = await lose_answer(admin, database, settings)
    assert (held.kind, held.status, held.result["verified"]) == ("hold", "done", True)
    await apply(database, work_id, core.release)
    await drain(database, settings)

    await apply(database, work_id, core.ship, {line["id"]: 1}, [core.Tracking("UPS", "P1")])
    first = await lose_answer(admin, database, settings)
    # The same parcel contents again, with a different tracking number.
    await apply(database, work_id, core.ship, {line["id"]: 1}, [core.Tracking("UPS", "P2")])
    second = await lose_answer(admin, database, settings)
    await apply(database, work_id, core.ship, None, [])  # no tracking: matched by lines
    third = await lose_answer(admin, database, settings)

    fo = admin.fulfillment_order(remote.fo_id)
    fulfillments = fo["fulfillments"]["nodes"]
    assert [[t["number"] for t in f["trackingInfo"]] for f in fulfillments] == [["P1"], ["P2"], []]
    assert fo["status"] == "CLOSED"
    assert [first.result["fulfillment_id"], second.result["fulfillment_id"]] == [
        fulfillments[0]["id"],
        fulfillments[1]["id"],
    ]
    assert third.result["fulfillment_id"] == fulfillments[2]["id"]
    assert all(r.result.get("verified") for r in (first, second, third))
    counts = mutation_counts(admin)
    assert counts["FulfillmentOrderAcceptRequest"] == 1
    assert counts["FulfillmentOrderHold"] == 1
    assert counts["FulfillmentCreate"] == 3


async def test_lost_close_and_cancellation_answers(database, settings, store_id, admin, service):
    closing = order_for_service(admin, service)
    cancelling = order_for_service(admin, service)
    closing_id = await new_work(database, store_id, closing)
    cancelling_id = await new_work(database, store_id, cancelling)
    for work_id in (closing_id, cancelling_id):
        await apply(database, work_id, core.accept, warehouse="main")
    await drain(database, settings)

    await apply(database, closing_id, core.give_up, "machine broke")
    closed = await lose_answer(admin, database, settings)
    assert (closed.kind, closed.status, closed.result["verified"]) == ("close", "done", True)

    admin(
        """mutation($id: ID!) { fulfillmentOrderSubmitCancellationRequest(id: $id) {
             userErrors { message } } }""",
        {"id": cancelling.fo_id},
    )
    await apply(database, cancelling_id, core.answer_cancellation_request, ["printing"], None)
    answered = await lose_answer(admin, database, settings)
    assert (answered.kind, answered.status) == ("accept_cancellation", "done")

    assert admin.fulfillment_order(closing.fo_id)["status"] == "INCOMPLETE"
    fo = admin.fulfillment_order(cancelling.fo_id)
    assert fo["requestStatus"] == "CANCELLATION_ACCEPTED"
    counts = mutation_counts(admin)
    assert counts["FulfillmentOrderClose"] == 1
    assert counts["FulfillmentOrderAcceptCancellation"] == 1


async def test_injected_faults_give_exactly_one_fulfillment_per_shipment(
    database, settings, store_id, admin, service
):
    orders = [order_for_service(admin, service, (2, 1)) for _ in range(3)]
    work_ids = []
    for index, remote in enumerate(orders):
        work_id = await new_work(database, store_id, remote)
        work_ids.append(work_id)
        tee = remote.lines[0]["id"]
        await apply(database, work_id, core.accept, warehouse="main")
        await apply(database, work_id, core.start_stage, "printing", ["printing", "packing"])
        await apply(database, work_id, core.ship, {tee: 1}, [core.Tracking("UPS", f"A{index}")])
        await apply(database, work_id, core.ship, None, [core.Tracking("UPS", f"B{index}")])

    admin.faults({"api": {"server_error": 0.5, "drop": 0.2}, "seed": 1})
    await drain(database, settings, rounds=400)
    admin.faults({})

    rows = await outbox_rows(database)
    assert [r.status for r in rows] == ["done"] * len(rows)
    # The faults really happened: rows needed more than one attempt.
    assert max(r.attempts for r in rows) > 1
    for index, remote in enumerate(orders):
        fo = admin.fulfillment_order(remote.fo_id)
        assert (fo["status"], fo["requestStatus"]) == ("CLOSED", "ACCEPTED")
        numbers = [[t["number"] for t in f["trackingInfo"]] for f in fo["fulfillments"]["nodes"]]
        assert numbers == [[f"A{index}"], [f"B{index}"]]
    assert mutation_counts(admin)["FulfillmentCreate"] == 6


async def test_random_faults_including_answers_lost_after_the_write(
    database, settings, store_id, admin, service
):
    """Errors before the write, dropped connections, and answers slower than the client
    waits while the sandbox still carries the write out: still one fulfillment each."""
    orders = [order_for_service(admin, service, (2,)) for _ in range(2)]
    for index, remote in enumerate(orders):
        work_id = await new_work(database, store_id, remote)
        (line,) = remote.lines
        await apply(database, work_id, core.accept, warehouse="main")
        await apply(database, work_id, core.hold, "awaiting payment")
        await apply(database, work_id, core.release)
        await apply(
            database, work_id, core.ship, {line["id"]: 1}, [core.Tracking("UPS", f"C{index}")]
        )
        await apply(database, work_id, core.ship, None, [core.Tracking("UPS", f"D{index}")])

    admin.faults(
        {
            "api": {"server_error": 0.2, "drop": 0.1, "slow": 0.3, "slow_seconds": SLOW_SECONDS},
            "seed": 7,
        }
    )
    await drain(database, settings, policy=LOSING, rounds=600)
    await asyncio.sleep(SLOW_SECONDS)  # nothing is still running in the sandbox
    admin.faults({})

    rows = await outbox_rows(database)
    assert [r.status for r in rows] == ["done"] * len(rows)
    # Some writes went through although their answer never came: found by verification.
    assert any((r.result or {}).get("verified") for r in rows)
    for index, remote in enumerate(orders):
        fo = admin.fulfillment_order(remote.fo_id)
        assert fo["status"] == "CLOSED" and fo["fulfillmentHolds"] == []
        numbers = [[t["number"] for t in f["trackingInfo"]] for f in fo["fulfillments"]["nodes"]]
        assert numbers == [[f"C{index}"], [f"D{index}"]]
    counts = mutation_counts(admin)
    assert counts["FulfillmentCreate"] == 4
    assert counts["FulfillmentOrderHold"] == 2


async def test_crashed_workers_row_is_verified_by_the_next_worker(
    database, settings, store_id, admin, service
):
    remote = order_for_service(admin, service, (2,))
    work_id = await new_work(database, store_id, remote)
    await apply(database, work_id, core.accept, warehouse="main")
    await drain(database, settings)
    (ship_id,) = await apply(database, work_id, core.ship, None, [core.Tracking("UPS", "Z9")])
    # The dead worker had claimed the row, marked it sending and sent it; Shopify ran it.
    admin(
        """mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) {
             userErrors { message } } }""",
        {
            "f": {
                "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": remote.fo_id}],
                "trackingInfo": {"company": "UPS", "number": "Z9"},
            }
        },
    )
    past = datetime.now(UTC) - timedelta(seconds=5)
    async with database.transaction() as session:
        await session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == ship_id)
            .values(status="sending", claimed_by="dead#1", claimed_until=past, attempts=1)
        )

    assert await send_due(database, settings, worker_id="alive", policy=FAST) == 1

    (_, row) = await outbox_rows(database, work_id)
    assert (row.status, row.attempts, row.claimed_by) == ("done", 2, None)
    assert row.result["verified"] is True
    fulfillments = admin.fulfillment_order(remote.fo_id)["fulfillments"]["nodes"]
    assert len(fulfillments) == 1
    assert row.result["fulfillment_id"] == fulfillments[0]["id"]


async def test_live_claims_are_respected_and_expired_ones_taken_over(
    database, settings, store_id, admin, service
):
    remote = order_for_service(admin, service)
    work_id = await new_work(database, store_id, remote)
    (row_id,) = await apply(database, work_id, core.accept, warehouse="main")
    soon = datetime.now(UTC) + timedelta(seconds=60)
    async with database.transaction() as session:
        await session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == row_id)
            .values(claimed_by="other#1", claimed_until=soon)
        )
    assert await send_due(database, settings, worker_id="w2", policy=FAST) == 0
    assert admin.fulfillment_order(remote.fo_id)["requestStatus"] == "SUBMITTED"

    # The other worker died before sending: once its lease ends the row goes out.
    async with database.transaction() as session:
        await session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == row_id)
            .values(claimed_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert await send_due(database, settings, worker_id="w2", policy=FAST) == 1
    assert admin.fulfillment_order(remote.fo_id)["requestStatus"] == "ACCEPTED"


def _worker_thread(settings: Settings, name: str, sent: list[int], errors: list[BaseException]):
    async def run() -> None:
        database = Database.from_settings(settings, migrate=False)
        try:
            for _ in range(200):
                count = await send_due(database, settings, worker_id=name, limit=3, policy=FAST)
                sent.append(count)
                rows = await outbox_rows(database)
                if all(r.status == "done" for r in rows):
                    return
                await asyncio.sleep(0.01)
        finally:
            await database.close()

    try:
        asyncio.run(run())
    except BaseException as exc:  # reported by the test
        errors.append(exc)


async def test_two_workers_at_once_never_send_a_row_twice(
    fb_home, database_url, sandbox_url, admin, service
):
    settings = bridge_settings(fb_home, database_url=database_url)
    database = Database.from_settings(settings)
    try:
        store_id = await connect_store(database, sandbox_url)
        orders = [order_for_service(admin, service, (1,)) for _ in range(5)]
        for index, remote in enumerate(orders):
            work_id = await new_work(database, store_id, remote)
            await apply(database, work_id, core.accept, warehouse="main")
            await apply(database, work_id, core.ship, None, [core.Tracking("UPS", f"T{index}")])
    finally:
        await database.close()

    sent: dict[str, list[int]] = {"a": [], "b": []}
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_worker_thread, args=(settings, name, sent[name], errors))
        for name in sent
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert not any(t.is_alive() for t in threads)

    assert sum(sent["a"]) + sum(sent["b"]) == 10
    counts = mutation_counts(admin)
    assert counts["FulfillmentOrderAcceptRequest"] == 5
    assert counts["FulfillmentCreate"] == 5
    for index, remote in enumerate(orders):
        fo = admin.fulfillment_order(remote.fo_id)
        assert [f["trackingInfo"][0]["number"] for f in fo["fulfillments"]["nodes"]] == [
            f"T{index}"
        ]
    database = Database.from_settings(settings, migrate=False)
    try:
        rows = await outbox_rows(database)
    finally:
        await database.close()
    assert [(r.status, r.attempts) for r in rows] == [("done", 1)] * 10
