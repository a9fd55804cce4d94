"""The outbox sender against the sandbox over real HTTP: each kind of write reaches Shopify
and leaves the state the sandbox (our Shopify twin) reports afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from fulfillbridge.config import Settings
from fulfillbridge.core import work as core
from fulfillbridge.core.stores import AuthKind
from fulfillbridge.flows.fulfillment_writes import tracking_input
from fulfillbridge.flows.outbox import requeue, send_due, skip
from fulfillbridge.flows.shopify_writes import hold_reason, rejection_reason
from fulfillbridge.store.models import OutboxRow, ShipmentRow, StoreRow
from fulfillbridge.store.work import WorkRepository
from tests.flows.outbox_helpers import (
    FAST,
    Admin,
    apply,
    bridge_settings,
    drain,
    new_work,
    order_for_service,
    outbox_rows,
    submit_cancellation,
)

STAGES = ["printing", "packing"]


@pytest.fixture
def settings(fb_home: Path) -> Settings:
    return bridge_settings(fb_home, stages=STAGES, cancel_cutoff_stage="packing")


async def accepted_work(database, store_id, admin, service, quantities=(2,)):
    remote = order_for_service(admin, service, quantities)
    work_id = await new_work(database, store_id, remote)
    await apply(database, work_id, core.accept, warehouse="main")
    return remote, work_id


async def test_accept_request_reaches_shopify(database, settings, store_id, admin, service):
    remote, work_id = await accepted_work(database, store_id, admin, service)
    assert admin.fulfillment_order(remote.fo_id)["requestStatus"] == "SUBMITTED"

    sent = await send_due(database, settings, worker_id="w1", policy=FAST)

    assert sent == 1
    fo = admin.fulfillment_order(remote.fo_id)
    assert (fo["status"], fo["requestStatus"]) == ("IN_PROGRESS", "ACCEPTED")
    (row,) = await outbox_rows(database, work_id)
    assert (row.status, row.attempts, row.claimed_by) == ("done", 1, None)
    assert row.result == {"status": "IN_PROGRESS", "request_status": "ACCEPTED"}
    # Nothing more is due.
    assert await send_due(database, settings, worker_id="w1", policy=FAST) == 0


async def test_reject_request_with_reason_and_message(database, settings, store_id, admin, service):
    remote = order_for_service(admin, service)
    work_id = await new_work(database, store_id, remote)
    await apply(database, work_id, core.refuse, ["line 1 has no SKU"])

    await drain(database, settings)

    fo = admin.fulfillment_order(remote.fo_id)
    assert (fo["status"], fo["requestStatus"]) == ("OPEN", "REJECTED")
    (row,) = await outbox_rows(database, work_id)
    assert row.status == "done"


async def test_progress_hold_release_in_order(database, settings, store_id, admin, service):
    remote, work_id = await accepted_work(database, store_id, admin, service)
    await apply(database, work_id, core.start_stage, "printing", STAGES)
    await apply(database, work_id, core.hold, "INCORRECT_ADDRESS", "flat number missing")

    await drain(database, settings)

    fo = admin.fulfillment_order(remote.fo_id)
    assert fo["status"] == "ON_HOLD"
    (hold,) = fo["fulfillmentHolds"]
    assert hold["reason"] == "INCORRECT_ADDRESS"
    assert hold["reasonNotes"] == "flat number missing"
    assert hold["handle"].startswith("fulfillbridge-")

    await apply(database, work_id, core.release)
    await drain(database, settings)

    fo = admin.fulfillment_order(remote.fo_id)
    assert fo["status"] == "IN_PROGRESS" and fo["fulfillmentHolds"] == []
    rows = await outbox_rows(database, work_id)
    assert [r.kind for r in rows] == [
        "accept_request",
        "report_progress",
        "hold",
        "release_hold",
    ]
    assert all(r.status == "done" for r in rows)
    assert rows[2].result["hold_id"] == hold["id"]
    assert rows[3].result["released"] == [hold["id"]]


async def test_release_leaves_the_merchants_own_hold(database, settings, store_id, admin, service):
    remote, work_id = await accepted_work(database, store_id, admin, service)
    await apply(database, work_id, core.hold, "awaiting payment")
    await drain(database, settings)
    # Another app of the merchant's could not be simulated here; a hold without our handle
    # prefix stands for it.
    admin(
        """mutation($id: ID!) { fulfillmentOrderHold(id: $id, fulfillmentHold: {
             reason: OTHER, reasonNotes: "merchant", handle: "merchant-hold"}) {
             userErrors { message } } }""",
        {"id": remote.fo_id},
    )
    await apply(database, work_id, core.release)
    await drain(database, settings)

    fo = admin.fulfillment_order(remote.fo_id)
    assert [h["handle"] for h in fo["fulfillmentHolds"]] == ["merchant-hold"]
    assert fo["status"] == "ON_HOLD"


async def test_partial_then_complete_fulfillment_with_several_packages(
    database, settings, store_id, admin, service
):
    remote, work_id = await accepted_work(database, store_id, admin, service, (3, 1))
    tee, mug = (line["id"] for line in remote.lines)
    first = await apply(
        database,
        work_id,
        core.ship,
        {tee: 2},
        [
            core.Tracking("UPS", "1Z001", "https://ups.example/1Z001"),
            core.Tracking("UPS", "1Z002", "https://ups.example/1Z002"),
        ],
    )
    async with database.transaction() as session:
        shipment = ShipmentRow(work_order_id=work_id, outbox_id=first[0], lines={}, tracking=[])
        session.add(shipment)
        await session.flush()
        shipment_id = shipment.id
    await drain(database, settings)

    fo = admin.fulfillment_order(remote.fo_id)
    assert fo["status"] == "IN_PROGRESS"
    assert {n["id"]: n["remainingQuantity"] for n in fo["lineItems"]["nodes"]} == {tee: 1, mug: 1}
    (fulfillment,) = fo["fulfillments"]["nodes"]
    assert [t["number"] for t in fulfillment["trackingInfo"]] == ["1Z001", "1Z002"]
    assert [t["url"] for t in fulfillment["trackingInfo"]] == [
        "https://ups.example/1Z001",
        "https://ups.example/1Z002",
    ]
    await apply(database, work_id, core.ship, None, [core.Tracking("DHL", "JD1", None)])
    await drain(database, settings)

    fo = admin.fulfillment_order(remote.fo_id)
    assert fo["status"] == "CLOSED"
    assert len(fo["fulfillments"]["nodes"]) == 2
    second = fo["fulfillments"]["nodes"][1]
    assert [n["quantity"] for n in second["fulfillmentLineItems"]["nodes"]] == [1, 1]
    assert second["trackingInfo"] == [{"company": "DHL", "number": "JD1", "url": None}]
    rows = await outbox_rows(database, work_id)
    assert [r.status for r in rows] == ["done", "done", "done"]
    assert rows[1].result["fulfillment_id"] == fulfillment["id"]
    async with database.transaction() as session:
        linked = await session.get(ShipmentRow, shipment_id)
        assert linked is not None
        assert linked.remote_fulfillment_id == fulfillment["id"]
        assert linked.status == "fulfilled"


async def test_tracking_update_and_delivered_event(database, settings, store_id, admin, service):
    remote, work_id = await accepted_work(database, store_id, admin, service)
    (ship_row,) = await apply(database, work_id, core.ship, None, [core.Tracking("UPS", "A1")])
    async with database.transaction() as session:
        shipment = ShipmentRow(work_order_id=work_id, outbox_id=ship_row, lines={}, tracking=[])
        session.add(shipment)
        await session.flush()
        shipment_id = shipment.id
    async with database.transaction() as session:
        repo = WorkRepository(session)
        row = await repo.get(work_id)
        repo.queue(
            row.store_id,
            work_id,
            core.Effect(
                core.UPDATE_TRACKING,
                {
                    "shipment_id": shipment_id,
                    "fulfillment_outbox_id": ship_row,
                    "tracking": [{"company": "UPS", "number": "A2", "url": None}],
                    "notify_customer": False,
                },
            ),
        )
        repo.queue(
            row.store_id,
            work_id,
            core.Effect(
                core.FULFILLMENT_EVENT,
                {
                    "shipment_id": shipment_id,
                    "fulfillment_outbox_id": ship_row,
                    "status": "DELIVERED",
                },
            ),
        )
    await drain(database, settings)

    (fulfillment,) = admin.fulfillment_order(remote.fo_id)["fulfillments"]["nodes"]
    assert [t["number"] for t in fulfillment["trackingInfo"]] == ["A2"]
    assert [e["status"] for e in fulfillment["events"]["nodes"]] == ["DELIVERED"]
    assert [r.status for r in await outbox_rows(database, work_id)] == ["done"] * 4


async def test_cancellation_accepted_before_cutoff(database, settings, store_id, admin, service):
    remote, work_id = await accepted_work(database, store_id, admin, service)
    await drain(database, settings)
    submit_cancellation(admin, remote.fo_id)
    await apply(database, work_id, core.answer_cancellation_request, STAGES, "packing")

    await drain(database, settings)

    fo = admin.fulfillment_order(remote.fo_id)
    assert (fo["status"], fo["requestStatus"]) == ("CLOSED", "CANCELLATION_ACCEPTED")


async def test_cancellation_rejected_after_cutoff(database, settings, store_id, admin, service):
    remote, work_id = await accepted_work(database, store_id, admin, service)
    await apply(database, work_id, core.start_stage, "packing", STAGES)
    await drain(database, settings)
    submit_cancellation(admin, remote.fo_id)
    await apply(database, work_id, core.answer_cancellation_request, STAGES, "packing")

    await drain(database, settings)

    fo = admin.fulfillment_order(remote.fo_id)
    assert (fo["status"], fo["requestStatus"]) == ("IN_PROGRESS", "CANCELLATION_REJECTED")


async def test_give_up_closes_the_fulfillment_order(database, settings, store_id, admin, service):
    remote, work_id = await accepted_work(database, store_id, admin, service)
    await apply(database, work_id, core.give_up, "printer broke")

    await drain(database, settings)

    fo = admin.fulfillment_order(remote.fo_id)
    assert (fo["status"], fo["requestStatus"]) == ("INCOMPLETE", "CLOSED")


async def test_shopify_refusal_fails_the_row_and_blocks_the_order(
    database, settings, store_id, admin, service
):
    # Never submitted: Shopify refuses to accept a request that was not made.
    remote = order_for_service(admin, service, submit=False)
    work_id = await new_work(database, store_id, remote)
    await apply(database, work_id, core.accept, warehouse="main")
    await apply(database, work_id, core.start_stage, "printing", STAGES)

    assert await send_due(database, settings, worker_id="w1", policy=FAST) == 1
    assert await send_due(database, settings, worker_id="w1", policy=FAST) == 0

    first, second = await outbox_rows(database, work_id)
    assert first.status == "failed"
    assert "request status unsubmitted" in first.last_error
    assert first.attempts == 1
    # The later row of the same work order waits for an operator.
    assert (second.status, second.attempts) == ("pending", 0)


async def test_rows_wait_only_for_earlier_rows_of_their_own_work_order(
    database, settings, store_id, admin, service
):
    stuck = order_for_service(admin, service, submit=False)  # accepting it will fail
    fine = order_for_service(admin, service)
    stuck_id = await new_work(database, store_id, stuck)
    fine_id = await new_work(database, store_id, fine)
    for work_id in (stuck_id, fine_id):
        await apply(database, work_id, core.accept, warehouse="main")
        await apply(database, work_id, core.start_stage, "printing", STAGES)

    for _ in range(3):
        await send_due(database, settings, worker_id="w", policy=FAST)

    assert [(r.kind, r.status) for r in await outbox_rows(database, stuck_id)] == [
        ("accept_request", "failed"),
        ("report_progress", "pending"),
    ]
    assert [r.status for r in await outbox_rows(database, fine_id)] == ["done", "done"]

    # The merchant submits the request after all; an operator sends the failed row again.
    admin(
        """mutation($id: ID!) { fulfillmentOrderSubmitFulfillmentRequest(id: $id) {
             userErrors { message } } }""",
        {"id": stuck.fo_id},
    )
    failed = (await outbox_rows(database, stuck_id))[0]
    await requeue(database, failed.id)
    await drain(database, settings)
    assert [r.status for r in await outbox_rows(database, stuck_id)] == ["done", "done"]
    assert admin.fulfillment_order(stuck.fo_id)["requestStatus"] == "ACCEPTED"


async def test_skipping_a_failed_row_lets_the_next_go(database, settings, store_id, admin, service):
    remote = order_for_service(admin, service, submit=False)
    work_id = await new_work(database, store_id, remote)
    await apply(database, work_id, core.accept, warehouse="main")
    await apply(database, work_id, core.hold, "OTHER", "waiting for artwork")
    await send_due(database, settings, worker_id="w", policy=FAST)
    first, second = await outbox_rows(database, work_id)
    assert (first.status, second.status) == ("failed", "pending")

    await skip(database, first.id, "accepted by hand in the Shopify admin")
    await drain(database, settings)

    first, second = await outbox_rows(database, work_id)
    assert first.status == "skipped" and "by hand" in first.last_error
    assert second.status == "done"
    assert admin.fulfillment_order(remote.fo_id)["fulfillmentHolds"][0]["reason"] == "OTHER"


async def test_already_done_user_error_counts_as_done(database, settings, store_id, admin, service):
    remote, work_id = await accepted_work(database, store_id, admin, service)
    # Someone (a previous run) accepted already: Shopify answers with a userError.
    admin(
        """mutation($id: ID!) { fulfillmentOrderAcceptFulfillmentRequest(id: $id) {
             userErrors { message } } }""",
        {"id": remote.fo_id},
    )
    await drain(database, settings)

    (row,) = await outbox_rows(database, work_id)
    assert row.status == "done"
    assert row.result["verified"] is True
    assert "accepted" in row.result["note"]


def test_reason_mappings() -> None:
    assert rejection_reason("line 2 has no SKU") == "INVALID_SKU"
    assert rejection_reason("shipping address is incomplete") == "INCORRECT_ADDRESS"
    assert rejection_reason("no SKU; address incomplete") == "OTHER"
    assert rejection_reason("PAYMENT_DECLINED") == "PAYMENT_DECLINED"
    assert hold_reason("awaiting payment") == "AWAITING_PAYMENT"
    assert hold_reason("INVENTORY_OUT_OF_STOCK") == "INVENTORY_OUT_OF_STOCK"
    assert hold_reason("machine maintenance") == "OTHER"


def test_tracking_input_shapes() -> None:
    assert tracking_input([]) is None
    assert tracking_input([{"company": "UPS", "number": "1", "url": "https://u/1"}]) == {
        "company": "UPS",
        "number": "1",
        "url": "https://u/1",
    }
    assert tracking_input(
        [{"company": "UPS", "number": "1", "url": "https://u/1"}, {"number": "2", "url": None}]
    ) == {"company": "UPS", "numbers": ["1", "2"]}


async def test_refused_credentials_fail_without_leaking_the_token(
    database, settings, sandbox_url, admin, service
):
    wrong_token = "shpat_wrong_secret_value_123"
    async with database.stores() as stores:
        store = await stores.add(
            name="other",
            shop_domain="demo-shop.myshopify.com",
            auth_kind=AuthKind.TOKEN,
            secrets={"access_token": wrong_token},
            api_base_url=sandbox_url,
        )
    remote = order_for_service(admin, service)
    work_id = await new_work(database, store.id, remote)
    await apply(database, work_id, core.accept, warehouse="main")

    await drain(database, settings)

    (row,) = await outbox_rows(database, work_id)
    assert row.status == "failed"
    assert "401" in row.last_error
    assert wrong_token not in row.last_error
    assert admin.fulfillment_order(remote.fo_id)["requestStatus"] == "SUBMITTED"


async def _merchant_order(admin: Admin) -> tuple[str, str]:
    """An order of a custom line, routed to the shop's own location: (order id, FO id)."""
    created = admin(
        """mutation { orderCreate(order: {lineItems: [{title: "Poster", quantity: 1,
             requiresShipping: true, sku: "POSTER-1"}]}) {
             order { id fulfillmentOrders(first: 2) { nodes { id } } }
             userErrors { message } } }"""
    )["orderCreate"]
    assert created["userErrors"] == []
    return created["order"]["id"], created["order"]["fulfillmentOrders"]["nodes"][0]["id"]


async def _queue_move(database, store_id, order_id, fo_id, location) -> int:
    order = core.WorkOrder(
        store="demo",
        remote_id=fo_id,
        order_name="#move",
        mode=core.Mode.ORDER_MANAGEMENT,
        lines=(core.WorkLine(line_id="1", sku="POSTER-1", quantity=1),),
    )
    async with database.transaction() as session:
        repo = WorkRepository(session)
        row = await repo.create(
            store_id, order, order_remote_id=order_id, location_remote_id=None, actor="test"
        )
        entry = repo.queue(store_id, row.id, core.Effect(core.MOVE, {"location_id": location}))
        await session.flush()
        return entry.id


async def test_move_to_another_location(database, settings, store_id, admin, service):
    order_id, fo_id = await _merchant_order(admin)
    assert admin.fulfillment_order(fo_id)["assignedLocation"]["location"]["id"] != (
        service.location_id
    )
    row_id = await _queue_move(database, store_id, order_id, fo_id, service.location_id)

    await drain(database, settings)

    fo = admin.fulfillment_order(fo_id)
    assert fo["assignedLocation"]["location"]["id"] == service.location_id
    (row,) = [r for r in await outbox_rows(database) if r.id == row_id]
    assert (row.status, row.result["moved_fulfillment_order_id"]) == ("done", fo_id)


async def test_unknown_move_that_happened_is_not_sent_again(
    database, settings, store_id, admin, service
):
    order_id, fo_id = await _merchant_order(admin)
    row_id = await _queue_move(database, store_id, order_id, fo_id, service.location_id)
    admin(
        """mutation($id: ID!, $loc: ID!) { fulfillmentOrderMove(id: $id, newLocationId: $loc) {
             userErrors { message } } }""",
        {"id": fo_id, "loc": service.location_id},
    )
    async with database.transaction() as session:
        row = await session.get(OutboxRow, row_id)
        row.status = "unknown"

    await drain(database, settings)

    (row,) = [r for r in await outbox_rows(database) if r.id == row_id]
    assert row.status == "done" and row.result["verified"] is True
    sent = [r for r in admin.requests() if r["operation"] == "FulfillmentOrderMove"]
    assert sent == []


async def test_a_refused_progress_report_never_blocks_the_cancellation_answer(
    database, settings, store_id, admin, service
):
    # The operator reports a stage just as the merchant asks to cancel: Shopify refuses the
    # progress report (the request is no longer plainly accepted). The answer to the
    # cancellation request, queued after it, must still go out.
    remote = order_for_service(admin, service)
    work_id = await new_work(database, store_id, remote)
    await apply(database, work_id, core.accept, warehouse="main")
    await drain(database, settings)
    submit_cancellation(admin, remote.fo_id)
    await apply(database, work_id, core.start_stage, "printing", STAGES)
    await apply(database, work_id, core.answer_cancellation_request, STAGES, "packing")
    await drain(database, settings)

    rows = [(r.kind, r.status) for r in await outbox_rows(database, work_id)]
    assert rows == [
        ("accept_request", "done"),
        ("report_progress", "skipped"),
        ("accept_cancellation", "done"),
    ]
    progress = (await outbox_rows(database, work_id))[1]
    assert "progress" in progress.last_error  # Shopify's reason is kept for operators
    assert admin.fulfillment_order(remote.fo_id)["requestStatus"] == "CANCELLATION_ACCEPTED"


async def test_a_row_that_cannot_be_loaded_is_given_back_for_later(
    database, settings, store_id, admin, service
):
    """Secrets sealed with a key this process lacks: the row is released with the reason
    and waits its backoff, and the other rows go on."""
    remote, work_id = await accepted_work(database, store_id, admin, service)
    async with database.transaction() as session:
        store_row = await session.get(StoreRow, store_id)
        assert store_row is not None
        store_row.sealed_secrets = Fernet(Fernet.generate_key()).encrypt(b"{}").decode()

    assert await send_due(database, settings, worker_id="w1", policy=FAST) == 1

    (row,) = await outbox_rows(database, work_id)
    assert (row.status, row.attempts, row.claimed_by, row.claimed_until) == (
        "pending",
        1,
        None,
        None,
    )
    assert row.last_error.startswith("could not load the row: ConfigError: stored secrets")
    assert admin.fulfillment_order(remote.fo_id)["requestStatus"] == "SUBMITTED"
