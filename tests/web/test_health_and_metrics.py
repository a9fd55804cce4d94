"""/healthz, /readyz and the database's figures in /metrics, on the real app over ASGI with
a real database (SQLite file; PostgreSQL too where the storage tests run on it)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from alembic import command
from prometheus_client.parser import text_string_to_metric_families

from fulfillbridge.config import load_settings
from fulfillbridge.store import db
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import (
    InboxEventRow,
    OutboxRow,
    StoreRow,
    ThrottleStateRow,
    WorkerHeartbeatRow,
)
from fulfillbridge.web.app import create_app
from tests.e2e.harness import free_port


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bridge")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a text exposition: (name, sorted labels) -> value."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.fixture
def settings_on(fb_home: Path, monkeypatch: pytest.MonkeyPatch):
    def on(url: str | None = None):
        if url is not None:
            monkeypatch.setenv("FULFILLBRIDGE_DATABASE_URL", url)
        return load_settings()

    return on


async def test_healthz_and_readyz_on_a_current_database(settings_on) -> None:
    app = create_app(settings_on())
    try:
        async with _client(app) as client:
            alive = await client.get("/healthz")
            ready = await client.get("/readyz")
    finally:
        await app.state.database.close()
    assert alive.status_code == 200 and alive.json()["status"] == "ok"
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "schema": ready.json()["schema"]}
    assert ready.json()["schema"]


async def test_readyz_is_503_when_the_schema_is_behind(settings_on) -> None:
    settings = settings_on()
    database = Database.from_settings(settings)  # migrated to head
    command.downgrade(db.alembic_config(database.url), "-1")
    app = create_app(settings, database=database)
    try:
        async with _client(app) as client:
            ready = await client.get("/readyz")
            alive = await client.get("/healthz")
    finally:
        await database.close()
    assert alive.status_code == 200  # alive says nothing about the database
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not ready"
    assert "schema is at revision" in body["reason"] and "db upgrade" in body["reason"]


async def test_readyz_and_metrics_when_the_database_cannot_be_reached(settings_on) -> None:
    # A PostgreSQL address where nothing listens.
    settings = settings_on(f"postgresql://bridge:pw@127.0.0.1:{free_port()}/bridge")
    database = Database.from_settings(settings, migrate=False)
    app = create_app(settings, database=database)
    try:
        async with _client(app) as client:
            ready = await client.get("/readyz")
            metrics = await client.get("/metrics")
    finally:
        await database.close()
    assert ready.status_code == 503
    assert ready.json()["reason"].startswith("database unreachable")
    assert "pw" not in ready.text
    # The scrape itself still answers, and says the database did not.
    assert metrics.status_code == 200
    assert samples(metrics.text)[("fulfillbridge_database_up", ())] == 0


async def test_metrics_report_the_backlog_from_the_database(database_url: str, settings_on) -> None:
    settings = settings_on(database_url)
    database = Database.from_settings(settings)
    now = datetime.now(UTC)
    async with database.transaction() as session:
        store = StoreRow(
            name="acme", shop_domain="acme.myshopify.com", auth_kind="token", sealed_secrets="x"
        )
        session.add(store)
        await session.flush()
        for n, age in enumerate((120, 30)):
            session.add(
                InboxEventRow(
                    store_id=store.id,
                    source="webhook",
                    topic="orders/create",
                    delivery_id=f"d{n}",
                    payload={},
                    received_at=now - timedelta(seconds=age),
                )
            )
        session.add(
            InboxEventRow(
                store_id=store.id,
                source="webhook",
                topic="orders/create",
                delivery_id="done",
                payload={},
                processed_at=now,
            )
        )
        rows = [
            # due for 300 s
            ("accept_request", "pending", now - timedelta(seconds=300), now, None),
            # backing off: waiting, not due
            ("accept_request", "unknown", now, now + timedelta(seconds=60), None),
            # left "sending" by a dead worker whose lease ran out: due
            ("create_fulfillment", "sending", now - timedelta(seconds=50), now, now),
            ("create_fulfillment", "failed", now, now, None),
            ("create_fulfillment", "done", now, now, None),
        ]
        for n, (kind, status, created, next_at, claimed_until) in enumerate(rows):
            session.add(
                OutboxRow(
                    store_id=store.id,
                    kind=kind,
                    payload={},
                    status=status,
                    created_at=created,
                    next_attempt_at=next_at,
                    claimed_until=claimed_until - timedelta(seconds=1) if claimed_until else None,
                    idempotency_key=f"k{n}",
                )
            )
        session.add(
            WorkerHeartbeatRow(
                worker_id="host-1-abc", host="host", pid=1, beat_at=now - timedelta(seconds=40)
            )
        )
        session.add(
            ThrottleStateRow(
                store_id=store.id,
                available=500.0,
                maximum=2000.0,
                restore_rate=100.0,
                measured_at=time.time() - 2.0,
            )
        )
    app = create_app(settings, database=database)
    try:
        async with _client(app) as client:
            response = await client.get("/metrics")
    finally:
        await database.close()
    assert response.status_code == 200
    found = samples(response.text)
    inbox = (("store", "acme"), ("topic", "orders/create"))
    assert found[("fulfillbridge_inbox_backlog", inbox)] == 2
    assert 115 <= found[("fulfillbridge_inbox_oldest_due_age_seconds", inbox)] <= 180
    accept = (("kind", "accept_request"), ("store", "acme"))
    ship = (("kind", "create_fulfillment"), ("store", "acme"))
    assert found[("fulfillbridge_outbox_backlog", accept)] == 2
    assert found[("fulfillbridge_outbox_due", accept)] == 1
    assert 295 <= found[("fulfillbridge_outbox_oldest_due_age_seconds", accept)] <= 360
    assert found[("fulfillbridge_outbox_backlog", ship)] == 1
    assert found[("fulfillbridge_outbox_due", ship)] == 1
    assert found[("fulfillbridge_outbox_failed", ship)] == 1
    assert found[("fulfillbridge_database_up", ())] == 1
    # 500 points two seconds ago, refilling at 100/s.
    available = found[("fulfillbridge_throttle_available_points", (("store", "acme"),))]
    assert 690 <= available <= 800
    assert found[("fulfillbridge_throttle_maximum_points", (("store", "acme"),))] == 2000
    beat = found[("fulfillbridge_worker_heartbeat_age_seconds", (("worker", "host-1-abc"),))]
    assert 39 <= beat <= 100
