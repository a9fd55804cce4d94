"""The worker loop against the sandbox over real HTTP: one round, and a loop that keeps
taking in work until it is told to stop."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from fulfillbridge.flows.intake import Intake
from fulfillbridge.flows.reconcile import CHECKPOINT, read_checkpoint
from fulfillbridge.sandbox.shops import DEFAULT_SHOP_DOMAIN
from fulfillbridge.shopify import sign_webhook
from fulfillbridge.store.database import Database
from fulfillbridge.worker import run_worker
from tests.flows.processing_helpers import STORE, Bridge, Merchant, bridge_settings


@pytest.fixture
def merchant(sandbox_url: str) -> Iterator[Merchant]:
    merchant = Merchant(sandbox_url)
    yield merchant
    merchant.close()


@pytest.fixture
async def bridge(fb_home) -> AsyncIterator[Bridge]:
    settings = bridge_settings(fb_home, worker_poll_seconds=0.05)
    database = Database.from_settings(settings)
    yield Bridge(settings, database)
    await database.close()


def _request(merchant: Merchant, location: str, sku: str) -> str:
    variant = merchant.product(sku, location)
    order = merchant.order([{"variantId": variant, "quantity": 1, "requiresShipping": True}])
    (fo,) = order["fulfillment_orders"]
    merchant.request_fulfillment(fo["id"])
    return fo["id"]


async def test_one_round_processes_reconciles_and_sends(bridge, merchant) -> None:
    location = merchant.create_service()
    await bridge.connect(merchant.url, mode="fulfillment_service", location_id=location)
    lost = _request(merchant, location, "LOST-1")  # no event: the backfill finds it
    told = _request(merchant, location, "TOLD-1")
    await bridge.callback()

    await run_worker(bridge.settings, once=True, worker_id="worker-a")

    assert {w.remote_id: w.state for w in await bridge.work_orders()} == {
        lost: "accepted",
        told: "accepted",
    }
    assert all(e.processed_at is not None for e in await bridge.inbox())
    async with bridge.database.transaction() as session:
        assert await read_checkpoint(session, bridge.store_id, CHECKPOINT) is not None
    assert {merchant.fulfillment_order(f)["requestStatus"] for f in (lost, told)} == {"ACCEPTED"}
    assert {row.status for row in await bridge.outbox()} == {"done"}


async def test_the_loop_takes_in_new_work_until_stopped(bridge, merchant) -> None:
    location = merchant.create_service()
    await bridge.connect(merchant.url, mode="fulfillment_service", location_id=location)
    stop = asyncio.Event()
    loop = asyncio.create_task(run_worker(bridge.settings, stop=stop, worker_id="worker-b"))
    try:
        fo_id = _request(merchant, location, "LATER-1")
        await bridge.callback()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            works = await bridge.work_orders()
            if works and works[0].state == "accepted":
                break
            await asyncio.sleep(0.05)
        assert [(w.remote_id, w.state) for w in await bridge.work_orders()] == [(fo_id, "accepted")]
    finally:
        stop.set()
        await asyncio.wait_for(loop, timeout=10)
    assert loop.done() and loop.exception() is None


async def test_work_taken_in_by_the_same_process_wakes_an_idle_worker(fb_home, merchant) -> None:
    """The worker polls every 60 s here: only the doorbell rung by the intake's commit can
    get the request accepted within seconds."""
    settings = bridge_settings(fb_home, worker_poll_seconds=60)
    database = Database.from_settings(settings)
    bridge = Bridge(settings, database)
    intake = Intake(database)
    stop = asyncio.Event()
    loop: asyncio.Task[None] | None = None
    try:
        location = merchant.create_service()
        await bridge.connect(merchant.url, mode="fulfillment_service", location_id=location)
        async with database.stores() as stores:
            await stores.update_secrets(STORE, {"webhook_secret": "doorbell-secret"})
        loop = asyncio.create_task(
            run_worker(settings, stop=stop, worker_id="idle", database=database)
        )
        await asyncio.sleep(1.0)  # the first round has run; the worker now sleeps
        fo_id = _request(merchant, location, "BELL-1")
        body = json.dumps({"kind": "FULFILLMENT_REQUEST"}).encode()
        headers = {
            "X-Shopify-Shop-Domain": DEFAULT_SHOP_DOMAIN,
            "X-Shopify-Hmac-Sha256": sign_webhook(body, "doorbell-secret"),
            "X-Shopify-Webhook-Id": "bell-1",
        }
        assert (await intake.callback(STORE, headers, body)).stored
        started = time.monotonic()
        while time.monotonic() - started < 15:
            works = await bridge.work_orders()
            if works and works[0].state == "accepted":
                break
            await asyncio.sleep(0.05)
        assert [(w.remote_id, w.state) for w in await bridge.work_orders()] == [(fo_id, "accepted")]
        assert time.monotonic() - started < 15
    finally:
        stop.set()
        if loop is not None:
            await asyncio.wait_for(loop, timeout=10)
        await intake.close()
        await database.close()
