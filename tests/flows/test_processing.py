"""Processing inbox events against the sandbox over real HTTP: fulfillment requests
accepted or rejected, order-management work pulled, cancellations, duplicates and old
news, failing and poison events, and two workers on one inbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from fulfillbridge.core.work import WorkState, start_stage
from fulfillbridge.flows.connect import store_client
from fulfillbridge.flows.processing import (
    MAX_ATTEMPTS,
    apply_remote,
    apply_with_retries,
    process_inbox,
    pull_by_ids,
    store_context,
)
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import InboxEventRow, WorkOrderRow
from fulfillbridge.store.work import WorkRepository, to_domain
from tests.flows.processing_helpers import (
    ADDRESS,
    STORE,
    Bridge,
    Merchant,
    bridge_settings,
    order_payload,
    send_outbox,
)


@pytest.fixture
def merchant(sandbox_url: str) -> Iterator[Merchant]:
    merchant = Merchant(sandbox_url)
    yield merchant
    merchant.close()


@pytest.fixture
async def bridge(fb_home) -> AsyncIterator[Bridge]:
    settings = bridge_settings(
        fb_home,
        operation_webhook_url="http://127.0.0.1:9/hooks",
        operation_webhook_secret="operation-test-secret",
    )
    database = Database.from_settings(settings)
    yield Bridge(settings, database)
    await database.close()


@pytest.fixture
async def any_bridge(fb_home, database_url: str) -> AsyncIterator[Bridge]:
    """A bridge on each database engine (SQLite, and PostgreSQL when one is available)."""
    settings = bridge_settings(
        fb_home,
        database_url=database_url,
        operation_webhook_url="http://127.0.0.1:9/hooks",
        operation_webhook_secret="operation-test-secret",
    )
    database = Database.from_settings(settings)
    yield Bridge(settings, database)
    await database.close()


async def _service_store(bridge: Bridge, merchant: Merchant, **options) -> str:
    location = merchant.create_service()
    await bridge.connect(merchant.url, mode="fulfillment_service", location_id=location, **options)
    return location


def _requested_order(merchant: Merchant, location: str, sku: str | None = "TEE-1", **kw) -> dict:
    variant = merchant.product(sku, location)
    order = merchant.order([{"variantId": variant, "quantity": 2, "requiresShipping": True}], **kw)
    (fo,) = order["fulfillment_orders"]
    assert fo["location"] == location
    merchant.request_fulfillment(fo["id"])
    return {**order, "fo": fo["id"]}


# --------------------------------------------------------------------- fulfillment service


async def test_fulfillment_request_is_validated_routed_and_accepted(bridge, merchant) -> None:
    location = await _service_store(bridge, merchant)
    order = _requested_order(merchant, location)
    await bridge.callback()

    assert await process_inbox(bridge.database, bridge.settings, limit=10) == 1

    work = await bridge.work_order(order["fo"])
    assert work.state == WorkState.ACCEPTED.value
    assert work.warehouse == "main"
    assert work.order_name == order["name"]
    assert work.order_remote_id == order["id"]
    assert work.location_remote_id == location
    assert work.remote_request_status == "SUBMITTED"
    assert work.lines[0]["sku"] == "TEE-1" and work.lines[0]["quantity"] == 2
    assert work.shipping_address["city"] == "Ottawa"
    steps = [(t.from_state, t.to_state) for t in await bridge.transitions(work.id)]
    assert steps == [(None, "received"), ("received", "accepted")]
    to_shopify = await bridge.outbox(target="shopify")
    assert [(row.kind, row.work_order_id) for row in to_shopify] == [("accept_request", work.id)]
    (announce,) = await bridge.outbox(target="operation")
    assert announce.kind == "new_work" and announce.payload["fulfillment_order_id"] == order["fo"]
    (event,) = await bridge.inbox()
    assert event.processed_at is not None and event.last_error is None

    sent = await send_outbox(bridge)
    if sent is not None:  # the outbox sender exists: Shopify hears the answer
        assert merchant.fulfillment_order(order["fo"])["requestStatus"] == "ACCEPTED"


async def test_invalid_request_is_rejected_with_every_reason(bridge, merchant) -> None:
    location = await _service_store(bridge, merchant, require_billing_address=True)
    order = _requested_order(merchant, location, sku=None, address=None)
    await bridge.callback()

    await process_inbox(bridge.database, bridge.settings, limit=10)

    work = await bridge.work_order(order["fo"])
    assert work.state == WorkState.REJECTED.value
    assert work.problems == [
        "shipping address is missing",
        "billing address is missing",
        "line 'Product without SKU' has no SKU: set one on the product variant",
    ]
    (reject,) = await bridge.outbox(target="shopify")
    assert reject.kind == "reject_request"
    assert "shipping address is missing" in reject.payload["message"]
    assert "has no SKU" in reject.payload["message"]
    assert await bridge.outbox(target="operation") == []  # no new work to announce

    await send_outbox(bridge)
    assert merchant.fulfillment_order(order["fo"])["requestStatus"] == "REJECTED"


async def test_a_request_made_again_after_a_rejection_is_taken_in_again(bridge, merchant) -> None:
    location = await _service_store(bridge, merchant)
    order = _requested_order(merchant, location, address=None)
    await bridge.callback()
    await process_inbox(bridge.database, bridge.settings, limit=10)
    await send_outbox(bridge)
    assert merchant.fulfillment_order(order["fo"])["requestStatus"] == "REJECTED"
    await bridge.event("orders/updated", order_payload(order["id"]))  # we see the rejection
    await process_inbox(bridge.database, bridge.settings, limit=10)
    merchant.http.post("/__sandbox/clock", json={"advance": 2}).raise_for_status()

    merchant.request_fulfillment(order["fo"])
    await bridge.callback()
    await process_inbox(bridge.database, bridge.settings, limit=10)

    work = await bridge.work_order(order["fo"])
    assert work.state == "rejected"
    steps = [(t.from_state, t.to_state) for t in await bridge.transitions(work.id)]
    assert steps == [
        (None, "received"),
        ("received", "rejected"),
        ("rejected", "received"),
        ("received", "rejected"),
    ]
    kinds = [r.kind for r in await bridge.outbox(target="shopify")]
    assert kinds == ["reject_request", "reject_request"]


async def test_sku_outside_the_catalogue_is_rejected(bridge, merchant) -> None:
    location = await _service_store(bridge, merchant, catalogue=["MUG-1"])
    order = _requested_order(merchant, location, sku="TEE-9")
    await bridge.callback()
    await process_inbox(bridge.database, bridge.settings, limit=10)
    work = await bridge.work_order(order["fo"])
    assert work.state == "rejected"
    assert work.problems == ["SKU TEE-9 (line 'Product TEE-9') is not in the catalogue"]


async def test_unroutable_request_waits_as_an_exception(bridge, merchant) -> None:
    bridge.settings = bridge_settings(
        bridge.settings.home,
        warehouses=[{"name": "east", "locations": ["gid://shopify/Location/999999"]}],
    )
    location = await _service_store(bridge, merchant)
    order = _requested_order(merchant, location)
    await bridge.callback()
    await process_inbox(bridge.database, bridge.settings, limit=10)
    work = await bridge.work_order(order["fo"])
    assert work.state == "exception"
    assert work.problems == [
        f"no warehouse is configured for Shopify location {location}: map one to it"
    ]
    assert await bridge.outbox(target="shopify") == []  # the merchant's request stays open


async def _accepted_request(bridge: Bridge, merchant: Merchant, location: str) -> dict:
    order = _requested_order(merchant, location)
    await bridge.callback()
    await process_inbox(bridge.database, bridge.settings, limit=10)
    await send_outbox(bridge)
    assert merchant.fulfillment_order(order["fo"])["requestStatus"] == "ACCEPTED"
    return order


async def test_cancellation_request_before_the_cutoff_is_accepted(bridge, merchant) -> None:
    location = await _service_store(bridge, merchant)
    order = await _accepted_request(bridge, merchant, location)
    merchant.request_cancellation(order["fo"])
    await bridge.callback("CANCELLATION_REQUEST")
    await bridge.event(
        "fulfillment_orders/cancellation_request_submitted",
        {"fulfillment_order": {"id": order["fo"]}},
    )

    await process_inbox(bridge.database, bridge.settings, limit=10)

    work = await bridge.work_order(order["fo"])
    assert work.state == "cancelled"
    kinds = [row.kind for row in await bridge.outbox(target="shopify")]
    assert kinds.count("accept_cancellation") == 1  # two events, one answer
    assert [row.kind for row in await bridge.outbox(target="operation")] == [
        "new_work",
        "cancelled",
    ]
    await send_outbox(bridge)
    remote = merchant.fulfillment_order(order["fo"])
    assert (remote["status"], remote["requestStatus"]) == ("CLOSED", "CANCELLATION_ACCEPTED")


async def test_cancellation_request_after_the_cutoff_is_rejected_once(bridge, merchant) -> None:
    location = await _service_store(bridge, merchant)
    order = await _accepted_request(bridge, merchant, location)
    # The operation reached the cut-off stage (as flows.actions would record it).
    async with bridge.database.transaction() as session:
        repo = WorkRepository(session)
        row = await repo.find(bridge.store_id, order["fo"])
        outcome = start_stage(to_domain(row, STORE), "packing", bridge.settings.stages)
        await repo.store_outcome(row, outcome, actor="operator")
    await send_outbox(bridge)  # progress reported before the merchant asks to cancel
    merchant.request_cancellation(order["fo"])
    await bridge.callback("CANCELLATION_REQUEST")
    await process_inbox(bridge.database, bridge.settings, limit=10)
    await bridge.callback("CANCELLATION_REQUEST")  # Shopify pings again: nothing new
    await process_inbox(bridge.database, bridge.settings, limit=10)

    work = await bridge.work_order(order["fo"])
    assert work.state == "in_progress" and work.cancel_requested is True
    rejections = [
        r for r in await bridge.outbox(target="shopify") if r.kind == "reject_cancellation"
    ]
    assert len(rejections) == 1
    assert (
        rejections[0].payload["message"]
        == "Work has reached packing and can no longer be cancelled."
    )
    await send_outbox(bridge)
    remote = merchant.fulfillment_order(order["fo"])
    assert remote["requestStatus"] == "CANCELLATION_REJECTED"


# --------------------------------------------------------------------- order management


async def _managed_store(bridge: Bridge, merchant: Merchant) -> str:
    location = merchant.merchant_location()
    await bridge.connect(merchant.url, mode="order_management", managed_locations=[location])
    return location


def _custom_line(sku: str | None, quantity: int = 1) -> dict:
    line = {
        "title": f"Poster {sku or 'without SKU'}",
        "quantity": quantity,
        "requiresShipping": True,
        "priceSet": {"shopMoney": {"amount": "10.00", "currencyCode": "USD"}},
    }
    if sku:
        line["sku"] = sku
    return line


async def test_order_management_pulls_accepts_and_flags(bridge, merchant) -> None:
    location = await _managed_store(bridge, merchant)
    good = merchant.order([_custom_line("POSTER-A3", 2)])
    bad = merchant.order([_custom_line(None)], address=None)
    await bridge.event("orders/create", order_payload(good["id"]))
    await bridge.event("orders/create", order_payload(bad["id"]))

    assert await process_inbox(bridge.database, bridge.settings, limit=10) == 2

    good_work = await bridge.work_order(good["fulfillment_orders"][0]["id"])
    assert good_work.state == "accepted" and good_work.mode == "order_management"
    assert good_work.location_remote_id == location
    bad_work = await bridge.work_order(bad["fulfillment_orders"][0]["id"])
    assert bad_work.state == "exception"
    assert bad_work.problems == [
        "shipping address is missing",
        "line 'Poster without SKU' has no SKU: set one on the product variant",
    ]
    # Nothing to tell Shopify on acceptance in this mode; progress is reported later.
    assert await bridge.outbox(target="shopify") == []


async def test_order_management_ignores_locations_it_does_not_manage(bridge, merchant) -> None:
    await bridge.connect(
        merchant.url, mode="order_management", managed_locations=["gid://shopify/Location/1"]
    )
    order = merchant.order([_custom_line("POSTER-A3")])
    await bridge.event("orders/create", order_payload(order["id"]))
    await process_inbox(bridge.database, bridge.settings, limit=10)
    assert await bridge.work_orders() == []
    (event,) = await bridge.inbox()
    assert event.processed_at is not None


async def test_orders_cancelled_stops_every_work_order_of_the_order(bridge, merchant) -> None:
    await _managed_store(bridge, merchant)
    order = merchant.order([_custom_line("POSTER-A3")])
    await bridge.event("orders/create", order_payload(order["id"]))
    await process_inbox(bridge.database, bridge.settings, limit=10)
    merchant.cancel_order(order["id"])
    await bridge.event(
        "orders/cancelled", order_payload(order["id"], cancelled_at="2026-11-23T10:00:00Z")
    )

    await process_inbox(bridge.database, bridge.settings, limit=10)

    (work,) = await bridge.work_orders()
    assert work.state == "cancelled"
    steps = [(t.to_state, t.actor) for t in await bridge.transitions(work.id)]
    assert steps[-1] == ("cancelled", "shopify")
    assert [r.kind for r in await bridge.outbox(target="operation")] == ["new_work", "cancelled"]


async def test_an_order_cancelled_before_it_was_seen_creates_no_work(bridge, merchant) -> None:
    await _managed_store(bridge, merchant)
    order = merchant.order([_custom_line("POSTER-A3")])
    merchant.cancel_order(order["id"])
    # Out of order: the cancellation is processed first, the creation after it.
    await bridge.event("orders/cancelled", order_payload(order["id"], cancelled_at="x"))
    await bridge.event("orders/create", order_payload(order["id"]))
    await process_inbox(bridge.database, bridge.settings, limit=10)
    assert await bridge.work_orders() == []


# --------------------------------------------------------------------- repeats and old news


async def test_repeated_events_change_nothing_twice(any_bridge, merchant) -> None:
    bridge = any_bridge
    location = await _service_store(bridge, merchant)
    order = _requested_order(merchant, location)
    await bridge.callback()
    await bridge.event(
        "fulfillment_orders/fulfillment_request_submitted",
        {
            "original_fulfillment_order": {"id": order["fo"]},
            "submitted_fulfillment_order": {"id": order["fo"]},
        },
    )
    await bridge.event("orders/updated", order_payload(order["id"]))
    assert (
        await bridge.event("orders/updated", {"id": 1}, delivery_id=bridge.deliveries[-1]) is False
    )

    await process_inbox(bridge.database, bridge.settings, limit=10)
    await bridge.callback()
    await process_inbox(bridge.database, bridge.settings, limit=10)

    (work,) = await bridge.work_orders()
    assert work.state == "accepted"
    assert len(await bridge.transitions(work.id)) == 2
    assert [r.kind for r in await bridge.outbox()] == ["accept_request", "new_work"]
    assert all(e.processed_at is not None for e in await bridge.inbox())


async def test_older_news_never_moves_a_work_order_backwards(bridge, merchant) -> None:
    location = await _service_store(bridge, merchant)
    order = _requested_order(merchant, location)
    ctx_store = None
    async with bridge.database.stores() as stores:
        ctx_store = await stores.get(STORE)
    ctx = store_context(ctx_store, bridge.settings)
    async with store_client(
        bridge.database, bridge.settings, ctx_store, {"access_token": "shpat_sandbox"}
    ) as client:
        (old,) = await pull_by_ids(client, ctx, [order["fo"]])
    await bridge.callback()
    await process_inbox(bridge.database, bridge.settings, limit=10)
    # Shopify moved on (our answer arrived); the work order saw that newer state.
    async with bridge.database.transaction() as session:
        await session.execute(
            update(WorkOrderRow)
            .where(WorkOrderRow.remote_id == order["fo"])
            .values(remote_updated_at=old.updated_at + timedelta(seconds=5))
        )
    before = await bridge.work_order(order["fo"])

    async with bridge.database.transaction() as session:
        result = await apply_remote(session, ctx, bridge.settings, old, source="webhook")

    assert result.stale == 1
    after = await bridge.work_order(order["fo"])
    assert (after.state, after.version, after.remote_request_status) == (
        before.state,
        before.version,
        before.remote_request_status,
    )


# --------------------------------------------------------------------- failures


async def test_a_failing_event_is_kept_and_retried_later(bridge, merchant) -> None:
    location = merchant.create_service()
    # Shopify unreachable: nothing listens on port 9.
    await bridge.connect("http://127.0.0.1:9", mode="fulfillment_service", location_id=location)
    await bridge.callback()
    await bridge.callback()

    # The store's second event is left for later: Shopify just failed the first.
    assert await process_inbox(bridge.database, bridge.settings, limit=10) == 1

    event, waiting = await bridge.inbox()
    assert waiting.attempts == 0 and waiting.processed_at is None
    assert event.processed_at is None and event.attempts == 1
    assert "ConnectError" in event.last_error and "shpat_" not in event.last_error
    # Backing off: the failed event is not tried again at once (the other one is).
    assert await process_inbox(bridge.database, bridge.settings, limit=10) == 1
    event, waiting = await bridge.inbox()
    assert (event.attempts, waiting.attempts) == (1, 1)


async def test_a_poison_event_is_given_up_with_its_error_kept(bridge, merchant) -> None:
    await _managed_store(bridge, merchant)
    await bridge.event("orders/create", {"note": "no order id in here"})
    # It failed every earlier attempt, long ago.
    async with bridge.database.transaction() as session:
        await session.execute(
            update(InboxEventRow).values(
                attempts=MAX_ATTEMPTS - 1, received_at=datetime.now(UTC) - timedelta(days=1)
            )
        )

    await process_inbox(bridge.database, bridge.settings, limit=10)

    (event,) = await bridge.inbox()
    assert event.processed_at is not None
    assert event.attempts == MAX_ATTEMPTS
    assert event.last_error.startswith(f"gave up after {MAX_ATTEMPTS} attempts: MappingError")
    assert "names no order id" in event.last_error


async def test_two_workers_on_one_inbox_create_each_work_order_once(any_bridge, merchant) -> None:
    bridge = any_bridge
    location = await _service_store(bridge, merchant)
    orders = [_requested_order(merchant, location, sku=f"SKU-{n}") for n in range(3)]
    for order in orders:
        await bridge.event(
            "fulfillment_orders/fulfillment_request_submitted",
            {"submitted_fulfillment_order": {"id": order["fo"]}},
        )
        await bridge.callback()
    second = Database.from_settings(bridge.settings)
    try:
        handled = await asyncio.gather(
            process_inbox(bridge.database, bridge.settings, limit=20),
            process_inbox(second, bridge.settings, limit=20),
        )
    finally:
        await second.close()

    assert sum(handled) >= 6
    works = await bridge.work_orders()
    assert sorted(w.remote_id for w in works) == sorted(o["fo"] for o in orders)
    assert all(w.state == "accepted" for w in works)
    accepts = [r.work_order_id for r in await bridge.outbox(target="shopify")]
    assert sorted(accepts) == sorted(w.id for w in works)  # one answer per request
    assert all(e.processed_at is not None and e.last_error is None for e in await bridge.inbox())
    assert ADDRESS["city"] == works[0].shipping_address["city"]


async def test_two_workers_applying_one_request_race_safely(any_bridge, merchant) -> None:
    """Two transactions create the same work order at once: the unique constraint lets one
    win, the other is applied again against the winner's row and changes nothing."""
    bridge = any_bridge
    location = await _service_store(bridge, merchant)
    order = _requested_order(merchant, location)
    async with bridge.database.stores() as stores:
        store = await stores.get(STORE)
    ctx = store_context(store, bridge.settings)
    async with store_client(
        bridge.database, bridge.settings, store, {"access_token": "shpat_sandbox"}
    ) as client:
        (remote,) = await pull_by_ids(client, ctx, [order["fo"]])
    second = Database.from_settings(bridge.settings)

    async def apply(session):
        await asyncio.sleep(0)  # let the other transaction start too
        return await apply_remote(session, ctx, bridge.settings, remote, source="webhook")

    try:
        results = await asyncio.gather(
            apply_with_retries(bridge.database, apply), apply_with_retries(second, apply)
        )
    finally:
        await second.close()

    assert sorted(r.created for r in results) == [0, 1]
    (work,) = await bridge.work_orders()
    assert work.state == "accepted"
    assert [r.kind for r in await bridge.outbox(target="shopify")] == ["accept_request"]


async def test_an_exception_is_tried_again_when_shopify_has_newer_data(bridge, merchant) -> None:
    location = merchant.merchant_location()
    await bridge.connect(
        merchant.url, mode="order_management", managed_locations=[location], catalogue=["A"]
    )
    order = merchant.order([_custom_line("POSTER-A3")])
    fo_id = order["fulfillment_orders"][0]["id"]
    await bridge.event("orders/create", order_payload(order["id"]))
    await process_inbox(bridge.database, bridge.settings, limit=10)
    assert (await bridge.work_order(fo_id)).state == "exception"

    await bridge.configure(catalogue=["A", "POSTER-A3"])  # the operator adds the SKU
    await bridge.event("orders/updated", order_payload(order["id"]))
    await process_inbox(bridge.database, bridge.settings, limit=10)
    assert (await bridge.work_order(fo_id)).state == "exception"  # nothing new in Shopify

    merchant.http.post("/__sandbox/clock", json={"advance": 2}).raise_for_status()
    held = merchant(
        """mutation($id: ID!) { fulfillmentOrderHold(id: $id, fulfillmentHold: {reason: OTHER,
             reasonNotes: "check"}) { userErrors { message } } }""",
        {"id": fo_id},
    )["fulfillmentOrderHold"]
    assert held["userErrors"] == []
    released = merchant(
        """mutation($id: ID!) { fulfillmentOrderReleaseHold(id: $id) {
             userErrors { message } } }""",
        {"id": fo_id},
    )["fulfillmentOrderReleaseHold"]
    assert released["userErrors"] == []
    await bridge.event("fulfillment_orders/hold_released", {"fulfillment_order": {"id": fo_id}})
    await process_inbox(bridge.database, bridge.settings, limit=10)

    work = await bridge.work_order(fo_id)
    assert work.state == "accepted" and work.problems == []
    steps = [(t.from_state, t.to_state, t.actor) for t in await bridge.transitions(work.id)]
    assert steps[-1] == ("exception", "accepted", "fulfillbridge")


async def test_work_moved_to_a_location_not_managed_stops(bridge, merchant) -> None:
    merchant.http.post(
        "/__sandbox/seed", json={"products": 0, "orders": 0}
    ).raise_for_status()  # adds a second merchant location
    locations = merchant("{ locations(first: 10) { nodes { id name isFulfillmentService } } }")
    names = {n["name"]: n["id"] for n in locations["locations"]["nodes"]}
    managed, other = names["Shop location"], names["Warehouse East"]
    await bridge.connect(merchant.url, mode="order_management", managed_locations=[managed])
    order = merchant.order([_custom_line("POSTER-A3")])
    fo_id = order["fulfillment_orders"][0]["id"]
    await bridge.event("orders/create", order_payload(order["id"]))
    await process_inbox(bridge.database, bridge.settings, limit=10)
    assert (await bridge.work_order(fo_id)).state == "accepted"

    merchant.http.post("/__sandbox/clock", json={"advance": 2}).raise_for_status()
    moved = merchant(
        """mutation($id: ID!, $to: ID!) { fulfillmentOrderMove(id: $id, newLocationId: $to) {
             movedFulfillmentOrder { id assignedLocation { location { id } } }
             userErrors { message } } }""",
        {"id": fo_id, "to": other},
    )["fulfillmentOrderMove"]
    assert moved["userErrors"] == []
    await bridge.event("fulfillment_orders/moved", {"original_fulfillment_order": {"id": fo_id}})
    await process_inbox(bridge.database, bridge.settings, limit=10)

    work = await bridge.work_order(fo_id)
    assert work.state == "cancelled"
    assert [r.kind for r in await bridge.outbox(target="operation")] == ["new_work", "cancelled"]


async def test_a_burst_of_pings_costs_one_pull_and_a_later_ping_another(
    bridge, merchant, sandbox_url
) -> None:
    import httpx

    location = await _service_store(bridge, merchant)
    orders = [_requested_order(merchant, location) for _ in range(5)]
    for _ in orders:
        await bridge.callback()  # Shopify pings once per request

    def assigned_pulls() -> int:
        log = httpx.get(f"{sandbox_url}/__sandbox/shops/demo-shop.myshopify.com/requests").json()
        entries = log["requests"] if isinstance(log, dict) else log
        listings = ("AssignedFulfillmentOrderChanges", "AssignedFulfillmentOrders")
        reads = sum(1 for e in entries if e.get("operation") in listings)
        return reads // 2  # one pull lists requests and cancellation requests (a page each)

    before = assigned_pulls()
    assert await process_inbox(bridge.database, bridge.settings, limit=50) == 5
    assert assigned_pulls() - before == 1  # one pull answered all five pings
    for order in orders:
        assert (await bridge.work_order(order["fo"])).state == WorkState.ACCEPTED.value
    assert all(event.processed_at is not None for event in await bridge.inbox())

    # A ping that arrives after that pull started is not covered by it: it pulls again.
    late = _requested_order(merchant, location)
    await bridge.callback()
    assert await process_inbox(bridge.database, bridge.settings, limit=50) == 1
    assert assigned_pulls() - before == 2
    assert (await bridge.work_order(late["fo"])).state == WorkState.ACCEPTED.value


async def test_a_fulfillment_service_reads_order_news_only_while_its_work_is_open(
    bridge, merchant, sandbox_url
) -> None:
    """orders/create and the orders/updated that follows finished work cost no read in
    fulfillment-service mode; orders/updated about open work is still read."""
    import httpx

    def reads() -> int:
        log = httpx.get(f"{sandbox_url}/__sandbox/shops/demo-shop.myshopify.com/requests").json()
        entries = log["requests"] if isinstance(log, dict) else log
        return sum(1 for e in entries if e.get("operation") == "OrderFulfillmentOrders")

    location = await _service_store(bridge, merchant)
    order = _requested_order(merchant, location)
    await bridge.event("orders/create", order_payload(order["id"]))
    await bridge.callback()
    await process_inbox(bridge.database, bridge.settings, limit=10)
    assert (await bridge.work_order(order["fo"])).state == "accepted"
    assert reads() == 0

    await bridge.event("orders/updated", order_payload(order["id"]))
    await process_inbox(bridge.database, bridge.settings, limit=10)
    assert reads() == 1  # open work: the news is read

    merchant.cancel_order(order["id"])
    await bridge.event("orders/cancelled", order_payload(order["id"], cancelled_at="x"))
    await process_inbox(bridge.database, bridge.settings, limit=10)
    assert (await bridge.work_order(order["fo"])).state == "cancelled"
    await bridge.event("orders/updated", order_payload(order["id"]))
    await process_inbox(bridge.database, bridge.settings, limit=10)
    assert reads() == 1  # finished work: nothing to learn
    assert all(e.processed_at is not None for e in await bridge.inbox())
