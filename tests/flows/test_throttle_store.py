"""The shared throttle bucket: two clients in two threads (each with its own event loop and
database connection, as two worker processes would have) draw from one nearly empty sandbox
bucket without being throttled, because they share one estimate in ``throttle_state``."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from fulfillbridge.config import Settings
from fulfillbridge.sandbox.shops import DEFAULT_ACCESS_TOKEN, DEFAULT_SHOP_DOMAIN
from fulfillbridge.shopify import (
    LocalThrottleBucket,
    ShopifyClient,
    StaticToken,
    ThrottleBucket,
    ThrottleStatus,
    operation,
)
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import ThrottleStateRow
from fulfillbridge.store.throttle import SharedThrottleBucket
from tests.flows.outbox_helpers import connect_store

REQUESTS_PER_CLIENT = 4
NEARLY_EMPTY = 10


def _empty_bucket(sandbox_url: str) -> None:
    response = httpx.post(
        f"{sandbox_url}/__sandbox/shops/{DEFAULT_SHOP_DOMAIN}/bucket",
        json={"available": NEARLY_EMPTY},
    )
    response.raise_for_status()


def _log(sandbox_url: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{sandbox_url}/__sandbox/shops/{DEFAULT_SHOP_DOMAIN}/requests")
    response.raise_for_status()
    return [r for r in response.json()["requests"] if r["operation"] == "Locations"]


async def _client_run(sandbox_url: str, make_bucket: Any, results: list[Any]) -> None:
    bucket = await make_bucket()
    client = ShopifyClient(
        DEFAULT_SHOP_DOMAIN,
        StaticToken(DEFAULT_ACCESS_TOKEN),
        api_base_url=sandbox_url,
        bucket=bucket,
        # Enough attempts to get through; every throttled answer shows in the sandbox's log.
        max_attempts=10,
    )
    async with client:
        for _ in range(REQUESTS_PER_CLIENT):
            data = await client.execute(operation("Locations"), {"first": 50})
            results.append(len(data["locations"]["nodes"]))


def _run_two_threads(sandbox_url: str, make_bucket: Any) -> list[Any]:
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            asyncio.run(_client_run(sandbox_url, make_bucket, results))
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "clients did not finish in time"
    assert errors == []
    return results


@pytest.fixture
def settings(fb_home: Path, database_url: str) -> Settings:
    # Both engines: PostgreSQL locks the row with FOR UPDATE, SQLite with a no-op write.
    return Settings(home=fb_home, database_url=database_url)


async def test_two_processes_share_one_bucket_and_are_never_throttled(
    settings: Settings, sandbox_url: str
) -> None:
    database = Database.from_settings(settings)
    store_id = await connect_store(database, sandbox_url)
    await database.close()
    _empty_bucket(sandbox_url)

    opened: list[Database] = []

    async def shared() -> ThrottleBucket:
        # Each thread opens the database itself, like a separate process.
        own = Database.from_settings(settings, migrate=False)
        opened.append(own)
        return SharedThrottleBucket(own, store_id)

    results = _run_two_threads(sandbox_url, shared)

    assert len(results) == 2 * REQUESTS_PER_CLIENT
    log = _log(sandbox_url)
    # Only the very first request can meet the empty bucket: nobody had a reading yet. It
    # is retried after the refill; after it every request waited for its points.
    throttled = [i for i, r in enumerate(log) if r["throttled"]]
    assert throttled in ([], [0])
    assert len(log) == 2 * REQUESTS_PER_CLIENT + len(throttled)
    for db in opened:
        # The engines belong to the threads' finished loops; dispose synchronously.
        db.engine.sync_engine.dispose()


async def test_separate_estimates_get_throttled(settings: Settings, sandbox_url: str) -> None:
    """The control: the same load with one estimate per process runs into THROTTLED (so
    the test above would catch a bucket that does not really share)."""
    _empty_bucket(sandbox_url)

    async def local() -> ThrottleBucket:
        return LocalThrottleBucket()

    results = _run_two_threads(sandbox_url, local)

    assert len(results) == 2 * REQUESTS_PER_CLIENT
    throttled = [i for i, r in enumerate(_log(sandbox_url)) if r["throttled"]]
    assert len(throttled) > 1


async def test_reservations_and_readings(settings: Settings, sandbox_url: str) -> None:
    database = Database.from_settings(settings)
    try:
        store_id = await connect_store(database, sandbox_url)
        now = [1000.0]
        slept: list[float] = []

        async def fake_sleep(seconds: float) -> None:
            slept.append(seconds)
            now[0] += seconds

        bucket = SharedThrottleBucket(database, store_id, clock=lambda: now[0], sleep=fake_sleep)
        other = SharedThrottleBucket(database, store_id, clock=lambda: now[0], sleep=fake_sleep)
        assert await bucket.estimate() is None
        await bucket.acquire(50)  # the probe
        await bucket.update(ThrottleStatus(2000, 100, 100), released=50)
        assert await bucket.estimate() == 100
        # One process reserves; the other sees the points gone and waits for the refill.
        await bucket.acquire(80)
        assert await other.estimate() == 20
        await other.acquire(70)
        # 70 points (plus the safety point) missing 51 at 100 per second: about half a second.
        assert slept and sum(slept) == pytest.approx(0.51, abs=0.02)
        # A reading lower than the estimate wins, and the other process's request, still in
        # flight, stays reserved: Shopify may have taken the reading before it arrived.
        await bucket.update(ThrottleStatus(2000, 5, 100), released=80)
        assert await bucket.estimate() == pytest.approx(5 - 70)
        # Its answer gives the reservation back; a higher reading does not raise the estimate.
        await other.update(ThrottleStatus(2000, 900, 100), released=70)
        assert await bucket.estimate() == pytest.approx(5)
        # A request that got no reading back gives its reservation back.
        before = await other.estimate()
        await bucket.acquire(10)
        await bucket.update(None, released=10)
        assert before is not None and await other.estimate() == pytest.approx(before, abs=10)
        # A reservation nobody gave back (its process died mid-request) lapses.
        await bucket.acquire(1)
        now[0] += 200
        assert await other.estimate() == pytest.approx(2000)
    finally:
        await database.close()


async def test_a_reservation_waits_for_the_row_another_process_holds(
    settings: Settings, sandbox_url: str
) -> None:
    """The lock itself, not a lucky interleaving: while one process holds the store's row
    in its step, another process's reservation cannot read the row until that step ends."""
    holder = Database.from_settings(settings)
    other = Database.from_settings(settings, migrate=False)  # its own engine, as a process
    try:
        store_id = await connect_store(holder, sandbox_url)
        first = SharedThrottleBucket(holder, store_id)
        await first.acquire(10)  # the probe writes the row
        await first.update(ThrottleStatus(2000, 1000, 100), released=10)
        waiting: asyncio.Task[None] | None = None
        async with holder.transaction() as session:
            await first._locked_row(session)
            waiting = asyncio.create_task(SharedThrottleBucket(other, store_id).acquire(10))
            await asyncio.sleep(0.5)
            assert not waiting.done()  # held back by the lock
        await asyncio.wait_for(waiting, timeout=10)
        async with holder.transaction() as session:
            row = await session.get(ThrottleStateRow, store_id)
            assert row is not None and row.reserved == pytest.approx(10)  # it got its points
    finally:
        await holder.close()
        await other.close()
