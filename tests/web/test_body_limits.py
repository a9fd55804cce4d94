"""Request bodies are bounded before anything reads them whole, and JSON depth is bounded
before anything parses it: the real app in-process for the answers, and a real
``fulfillbridge serve`` process for its memory under a stream of 100 MB posts."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from fulfillbridge.shopify import sign_webhook
from fulfillbridge.store.database import Database
from fulfillbridge.web.app import create_app
from fulfillbridge.web.limits import MAX_JSON_DEPTH, SHOPIFY_BODY_BYTES, json_too_deep
from tests.api.seeding import add_key, add_store, api_settings
from tests.helpers import now_header

SHOP = "acme.myshopify.com"
SECRET = "acme-webhook-secret"
MB = 1024 * 1024


async def _stream(total: int, chunk: bytes = b"a" * 65536) -> AsyncIterator[bytes]:
    """``total`` bytes made one chunk at a time, never held together."""
    sent = 0
    while sent < total:
        yield chunk
        sent += len(chunk)


@pytest.fixture
async def http(fb_home: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = api_settings(fb_home, f"sqlite:///{fb_home.parent / 'limits.db'}")
    database = Database.from_settings(settings)
    app = create_app(settings, database=database)
    store_id = await add_store(database, "acme")
    async with database.stores() as stores:
        await stores.add_secrets("acme", {"webhook_secret": SECRET, "callback_token": "tok"})
    key = await add_key(database, "acme-ops", ["acme"])
    assert store_id
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://bridge.test",
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    ) as client:
        yield client
    await database.close()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/webhooks/shopify"),
        ("POST", "/shopify/acme/tok/fulfillment_order_notification"),
        ("GET", "/shopify/acme/tok/fetch_tracking_numbers"),
        ("GET", "/shopify/acme/tok/fetch_stock"),
        ("PUT", "/api/v1/inventory"),
        ("POST", "/api/v1/work/1/stage"),
        ("POST", "/dashboard/work/1/retry"),
    ],
)
async def test_a_body_past_the_limit_is_413_declared_or_not(
    http: httpx.AsyncClient, method: str, path: str
) -> None:
    # Declared: refused on the header alone.
    declared = await http.request(
        method, path, content=b"x" * (SHOPIFY_BODY_BYTES + 1) if "api" not in path else b"x"
    )
    if "api" in path:  # the API's limit is larger: declare past it without sending it all
        declared = await http.request(
            method, path, content=_stream(100 * MB), headers={"Content-Length": str(100 * MB)}
        )
    assert declared.status_code == 413, declared.text
    # Not declared (chunked): counted while read, refused as soon as it passes the limit.
    streamed = await http.request(method, path, content=_stream(100 * MB))
    assert streamed.status_code == 413, streamed.text
    assert "larger than" in streamed.text
    # The security headers are on the refusal too.
    assert streamed.headers["x-frame-options"] == "DENY"


async def test_the_api_reads_no_body_before_the_key_is_known(http: httpx.AsyncClient) -> None:
    pulled = 0

    async def counted() -> AsyncIterator[bytes]:
        nonlocal pulled
        async for chunk in _stream(100 * MB):
            pulled += len(chunk)
            yield chunk

    for headers in ({"Authorization": ""}, {"Authorization": "Bearer fbk_not_a_key"}):
        answer = await http.put("/api/v1/inventory", content=counted(), headers=headers)
        assert answer.status_code == 401, answer.text
    assert pulled < 2 * MB, pulled


async def test_a_content_length_that_is_not_a_number_is_400(http: httpx.AsyncClient) -> None:
    answer = await http.post("/webhooks/shopify", content=b"{}", headers={"Content-Length": "lots"})
    assert answer.status_code == 400 and "Content-Length" in answer.json()["error"]


async def test_deeply_nested_signed_json_is_400_not_500(http: httpx.AsyncClient) -> None:
    body = b'{"id": 1, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Webhook-Id": "deep-1",
        "X-Shopify-Triggered-At": now_header(),
        "X-Shopify-Hmac-Sha256": sign_webhook(body, SECRET),
    }
    webhook = await http.post("/webhooks/shopify", content=body, headers=headers)
    assert webhook.status_code == 400, webhook.text
    assert f"deeper than {MAX_JSON_DEPTH} levels" in webhook.json()["error"]
    callback = await http.post(
        "/shopify/acme/tok/fulfillment_order_notification", content=body, headers=headers
    )
    assert callback.status_code == 400 and "deeper than" in callback.json()["error"]
    api = await http.post(
        "/api/v1/work/1/stage",
        content=b'{"stage": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert api.status_code == 400 and "deeper than" in api.json()["detail"]
    # Just within the bound, the body reaches the route (and is judged there).
    fine = await http.post(
        "/api/v1/work/1/stage",
        content=json.dumps({"stage": [[[1]]]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert fine.status_code == 422


def test_depth_counts_brackets_outside_strings_only() -> None:
    assert not json_too_deep(b'{"a": "' + b"[" * 500 + b'"}')
    assert not json_too_deep(b'["\\"[[[[", ' + b"[" * 63 + b"]" * 63 + b"]", 64)
    assert json_too_deep(b"[" * 65 + b"]" * 65, 64)
    assert not json_too_deep(b"[" * 64 + b"]" * 64, 64)


# --- a real server process -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """``fulfillbridge serve`` in its own process: (pid, port)."""
    port = _free_port()
    env = {
        **os.environ,
        "FULFILLBRIDGE_HOME": str(tmp_path / "home"),
        "FULFILLBRIDGE_PORT": str(port),
        "FULFILLBRIDGE_LOG_LEVEL": "WARNING",
    }
    env.pop("FULFILLBRIDGE_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "fulfillbridge.cli", "serve", "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "the server did not start"
            assert time.monotonic() < deadline, "the server did not answer in 30 s"
            time.sleep(0.2)
        yield process.pid, port
    finally:
        process.terminate()
        process.wait(timeout=20)


def _send_100_mb(port: int, method: str, path: str, *, declare: bool) -> bytes:
    """Send a 100 MB body made on the fly; returns what the server answered (empty when it
    closed before the answer could be read)."""
    total, chunk = 100 * MB, b"[" * 65536
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        length = f"Content-Length: {total}" if declare else "Transfer-Encoding: chunked"
        sock.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\n{length}\r\n\r\n".encode()
        )
        sent = 0
        sock.setblocking(False)
        try:
            while sent < total:
                piece = chunk if declare else b"%x\r\n%s\r\n" % (len(chunk), chunk)
                view = memoryview(piece)
                while view:
                    try:
                        view = view[sock.send(view) :]
                    except BlockingIOError:
                        try:  # the server stopped reading: its answer is waiting
                            return sock.recv(65536)
                        except BlockingIOError:
                            time.sleep(0.001)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            return b""
        sock.setblocking(True)
        try:
            return sock.recv(65536)
        except ConnectionResetError:
            return b""


def test_a_stream_of_100_mb_posts_leaves_the_server_at_its_idle_memory(
    served: tuple[int, int],
) -> None:
    pid, port = served
    for _ in range(5):  # warm up: the routes' code paths are loaded once
        httpx.post(f"http://127.0.0.1:{port}/webhooks/shopify", content=b"{}")
    idle = _status_kb(pid, "VmHWM")
    answers = []
    started = time.monotonic()
    for method, path, declare in (
        ("POST", "/webhooks/shopify", False),
        ("POST", "/webhooks/shopify", True),
        ("POST", "/shopify/acme/tok/fulfillment_order_notification", False),
        ("GET", "/shopify/acme/tok/fetch_tracking_numbers", False),
        ("PUT", "/api/v1/inventory", False),
    ):
        answers.append(_send_100_mb(port, method, path, declare=declare))
    peak = _status_kb(pid, "VmHWM")
    assert time.monotonic() - started < 60
    # Whatever reached us of the answers is a 413, or the API's 401 given before its body
    # was read (a connection reset may swallow one).
    assert all(a.startswith((b"HTTP/1.1 413", b"HTTP/1.1 401")) for a in answers if a), answers
    assert any(answers)
    # The peak grew by a few MB at most (500 MB were sent; the Shopify routes read 2 MB at
    # most, the API nothing before the key is known). Without the limit it grows by 100s.
    assert peak - idle < 12 * 1024, f"peak RSS grew by {(peak - idle) // 1024} MB"


async def test_the_openapi_document_names_these_refusals(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/openapi.json")).json()["paths"]
    webhook = paths["/webhooks/shopify"]["post"]["responses"]
    assert {"400", "401", "413"} <= set(webhook)
    assert "unknown shop is answered the same" in webhook["401"]["description"]
    for path in (
        "/shopify/{store}/{token}/fulfillment_order_notification",
        "/shopify/{store}/{token}/fetch_tracking_numbers",
        "/shopify/{store}/{token}/fetch_stock",
    ):
        answers = next(iter(paths[path].values()))["responses"]
        assert {"401", "404"} <= set(answers), path
        assert "wrong callback token are answered the same" in answers["404"]["description"]
    stage = paths["/api/v1/work/{work_id}/stage"]["post"]["responses"]
    assert "There was an error parsing the body" in stage["400"]["description"]
    assert (
        "Idempotency-Key was already used with a different request body"
        in (stage["422"]["description"])
    )
    assert "413" in paths["/api/v1/inventory"]["put"]["responses"]
