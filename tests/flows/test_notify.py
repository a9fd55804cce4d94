"""Signed webhooks to the operation: delivered by the outbox sender to a real local HTTP
receiver, signed over the raw body, retried with the same delivery id after a failure."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fulfillbridge.core import work as core
from fulfillbridge.flows import notify
from fulfillbridge.flows.outbox import send_due
from fulfillbridge.serving import BackgroundServer
from fulfillbridge.store.database import Database
from fulfillbridge.store.work import WorkRepository
from tests.flows.outbox_helpers import (
    FAST,
    bridge_settings,
    connect_store,
    drain,
    outbox_rows,
)

SECRET = "operation-shared-secret"


class Receiver:
    """A tiny webhook endpoint that fails the first ``failures`` deliveries with a 500."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[tuple[bytes, dict[str, str], int]] = []
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> JSONResponse:
        body = await request.body()
        status = 500 if len(self.received) < self.failures else 200
        self.received.append((body, dict(request.headers), status))
        return JSONResponse({"ok": status == 200}, status_code=status)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    hook = Receiver(failures=2)
    with BackgroundServer(hook.app) as server:
        yield hook, f"{server.url}/hook"


@pytest.fixture
async def database(fb_home: Path) -> AsyncIterator[Database]:
    db = Database.from_settings(bridge_settings(fb_home))
    yield db
    await db.close()


async def _queue(database: Database, store_id: int, kind: str, data: dict[str, Any]) -> int:
    async with database.transaction() as session:
        row = WorkRepository(session).queue(
            store_id, None, core.Effect(kind, data), target="operation"
        )
        await session.flush()
        return row.id


async def test_signed_delivery_retried_after_server_errors(
    fb_home: Path, database: Database, sandbox_url: str, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    settings = bridge_settings(fb_home, operation_webhook_url=url, operation_webhook_secret=SECRET)
    store_id = await connect_store(database, sandbox_url)
    row_id = await _queue(database, store_id, notify.WORK_NEW, {"order_name": "#1001"})

    await drain(database, settings)

    assert [status for _, _, status in hook.received] == [500, 500, 200]
    bodies = {body for body, _, _ in hook.received}
    assert len(bodies) == 1  # the same delivery each time
    body, headers, _ = hook.received[-1]
    assert notify.verify(body, headers["x-fulfillbridge-signature"], SECRET)
    assert not notify.verify(body, headers["x-fulfillbridge-signature"], "another secret")
    assert headers["x-fulfillbridge-event"] == "new_work"
    (row,) = await outbox_rows(database)
    assert headers["x-fulfillbridge-delivery"] == row.idempotency_key
    assert {h["x-fulfillbridge-delivery"] for _, h, _ in hook.received} == {row.idempotency_key}
    document = json.loads(body)
    assert document["event"] == "new_work"
    assert document["store"] == "demo"
    assert document["data"] == {"order_name": "#1001"}
    assert (row.id, row.status, row.attempts) == (row_id, "done", 3)


async def test_gives_up_after_the_attempt_bound(
    fb_home: Path, database: Database, sandbox_url: str
) -> None:
    hook = Receiver(failures=100)
    with BackgroundServer(hook.app) as server:
        settings = bridge_settings(
            fb_home, operation_webhook_url=f"{server.url}/hook", operation_webhook_secret=SECRET
        )
        store_id = await connect_store(database, sandbox_url)
        await _queue(database, store_id, notify.WORK_CANCELLED, {})
        await drain(database, settings, policy=replace(FAST, max_attempts=3))

    (row,) = await outbox_rows(database)
    assert row.status == "failed"
    assert row.attempts == 3
    assert "HTTP 500" in row.last_error and "gave up after 3 attempts" in row.last_error
    assert len(hook.received) == 3


async def test_no_webhook_configured_skips_the_row(
    fb_home: Path, database: Database, sandbox_url: str
) -> None:
    settings = bridge_settings(fb_home)
    store_id = await connect_store(database, sandbox_url)
    await _queue(database, store_id, notify.WORK_NEW, {})

    assert await send_due(database, settings, worker_id="w", policy=FAST) == 1

    (row,) = await outbox_rows(database)
    assert row.status == "skipped"
    assert "operation_webhook_url" in row.last_error


def test_signature_is_base64_hmac_sha256() -> None:
    # Known value: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
    signed = notify.sign(b"The quick brown fox jumps over the lazy dog", "key")
    assert signed == "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="
    assert not notify.verify(b"x", None, "key")
    assert not notify.verify(b"x", notify.sign(b"x", "key"), "")
