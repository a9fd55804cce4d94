"""Webhook intake under load: the bridge's ``POST /webhooks/shopify`` over real HTTP.

Starts the bridge app (uvicorn, its own process, SQLite file in a temporary home) with one
connected store, then sends signed ``orders/create`` webhooks of a realistic size (about
3 KB) at a fixed rate for a bounded time over several keep-alive connections. A share of the
deliveries repeats an earlier webhook id, as Shopify's duplicates do. Prints the achieved
rate, latency percentiles (measured from each request's scheduled start, so time queued
behind a slow server counts), the server's CPU per webhook, duplicates refused and rows
stored, which must equal the unique deliveries answered 200.

The load generator is a minimal asyncio HTTP/1.1 client by default: it shares the machine
with the server, and httpx spends several times more CPU per request than the server does
(``--client httpx`` uses httpx anyway).

Goal (issue 4): p99 under 100 ms at 500 webhooks/s.

Usage: ``python bench/webhook_intake.py [--rate 500] [--seconds 10] [--connections 8]
[--duplicates 0.1] [--client raw|httpx]``. Exit status 1 when rows stored differ from
unique deliveries answered 200.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SHOP = "bench-shop.myshopify.com"
SECRET = "bench-webhook-secret"
STARTUP_TIMEOUT = 60.0
GOAL_P99_MS = 100.0
WARM_UP = 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the server process ----------------------------------------------------------------------


def _serve(home: str, port: int) -> None:
    """Run in the child process: connect the bench store, then serve the bridge app."""
    import uvicorn

    from fulfillbridge.config import Settings
    from fulfillbridge.core.stores import AuthKind
    from fulfillbridge.store.database import Database
    from fulfillbridge.web.app import create_app

    settings = Settings(home=Path(home), public_url=f"http://127.0.0.1:{port}")

    async def add_store() -> None:
        database = Database.from_settings(settings)
        try:
            async with database.stores() as stores:
                await stores.add(
                    name="bench",
                    shop_domain=SHOP,
                    auth_kind=AuthKind.TOKEN,
                    secrets={"access_token": "shpat_unused", "webhook_secret": SECRET},
                )
        finally:
            await database.close()

    asyncio.run(add_store())
    app = create_app(settings)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- the load generator ----------------------------------------------------------------------


@dataclass
class Delivery:
    webhook_id: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Results:
    latencies_ms: list[float] = field(default_factory=list)
    stored: int = 0
    duplicates: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    unique_ok: set[str] = field(default_factory=set)

    def fail(self, why: str) -> None:
        self.failures[why] = self.failures.get(why, 0) + 1


def _address(rng: random.Random) -> dict[str, object]:
    return {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": None,
        "address1": f"{rng.randint(1, 999)} Harbour Street",
        "address2": "Unit 4",
        "city": "Portsmouth",
        "province": "England",
        "province_code": "ENG",
        "country": "United Kingdom",
        "country_code": "GB",
        "zip": "PO1 3AX",
        "phone": "+44 20 7946 0000",
        "latitude": 50.79,
        "longitude": -1.09,
    }


def _order_payload(number: int, rng: random.Random) -> dict[str, object]:
    """An ``orders/create`` body of a realistic size (about 3 KB: three lines, addresses,
    customer), so JSON work is measured as Shopify's webhooks would cost it."""
    order_id = 5_000_000 + number
    lines = [
        {
            "id": order_id * 10 + line,
            "admin_graphql_api_id": f"gid://shopify/LineItem/{order_id * 10 + line}",
            "sku": rng.choice(("FB-TEE-BLK-M", "FB-MUG-WHT", "FB-CAP-NVY", "FB-POSTER-A3")),
            "name": "Classic Tee - Black / M",
            "title": "Classic Tee",
            "variant_title": "Black / M",
            "vendor": "Northwind Apparel",
            "quantity": rng.randint(1, 3),
            "price": "19.00",
            "grams": 180,
            "requires_shipping": True,
            "taxable": True,
            "fulfillable_quantity": 1,
            "fulfillment_service": "manual",
            "fulfillment_status": None,
            "product_id": 7_000_000 + line,
            "variant_id": 8_000_000 + line,
            "properties": [],
            "tax_lines": [{"title": "VAT", "price": "3.17", "rate": 0.2}],
            "discount_allocations": [],
        }
        for line in range(3)
    ]
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{10_000 + number}",
        "order_number": 10_000 + number,
        "email": "ada@example.com",
        "created_at": "2026-11-23T10:00:00+00:00",
        "updated_at": "2026-11-23T10:00:00+00:00",
        "currency": "GBP",
        "financial_status": "paid",
        "fulfillment_status": None,
        "total_price": "57.00",
        "subtotal_price": "57.00",
        "total_tax": "9.50",
        "tags": "",
        "note": None,
        "line_items": lines,
        "shipping_address": _address(rng),
        "billing_address": _address(rng),
        "customer": {"id": 9_000_000 + number, "email": "ada@example.com", "first_name": "Ada"},
        "shipping_lines": [{"title": "Standard", "price": "0.00", "code": "STANDARD"}],
    }


def _deliveries(count: int, duplicate_share: float, rng: random.Random) -> list[Delivery]:
    from fulfillbridge.shopify import sign_webhook

    made: list[Delivery] = []
    for number in range(count):
        if made and rng.random() < duplicate_share:
            made.append(rng.choice(made[-200:]))  # Shopify repeats recent deliveries
            continue
        webhook_id = str(uuid.uuid4())
        body = json.dumps(_order_payload(number, rng)).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": "2026-11-23T10:00:00Z",
            "X-Shopify-API-Version": "2026-07",
            "X-Shopify-Hmac-Sha256": sign_webhook(body, SECRET),
        }
        made.append(Delivery(webhook_id, body, headers))
    return made


async def _send(
    client: httpx.AsyncClient, url: str, delivery: Delivery, scheduled: float, results: Results
) -> None:
    try:
        response = await client.post(url, content=delivery.body, headers=delivery.headers)
    except httpx.HTTPError as exc:
        results.fail(type(exc).__name__)
        return
    results.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
    if response.status_code != 200:
        results.fail(f"HTTP {response.status_code}")
        return
    if response.json().get("duplicate"):
        results.duplicates += 1
    else:
        results.stored += 1
    results.unique_ok.add(delivery.webhook_id)


class _RawConnection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: the load generator shares
    the machine with the server, so it should spend as little CPU per request as it can."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, delivery: Delivery) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{name}: {value}" for name, value in delivery.headers.items()]
        head.append(f"Content-Length: {len(delivery.body)}")
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + delivery.body)
        status_line = await self._reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        length = 0
        while (line := await self._reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        return status, await self._reader.readexactly(length)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()


async def _send_raw(
    connection: _RawConnection, delivery: Delivery, scheduled: float, results: Results
) -> None:
    try:
        status, body = await connection.post("/webhooks/shopify", delivery)
    except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
        results.fail(type(exc).__name__)
        await connection.close()
        connection._writer = None
        return
    results.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
    if status != 200:
        results.fail(f"HTTP {status}")
        return
    if json.loads(body).get("duplicate"):
        results.duplicates += 1
    else:
        results.stored += 1
    results.unique_ok.add(delivery.webhook_id)


async def _drive_raw(
    port: int, deliveries: list[Delivery], rate: float, connections: int
) -> tuple[Results, float]:
    results = Results()
    pool = [_RawConnection("127.0.0.1", port) for _ in range(connections)]
    start = time.perf_counter()
    schedule = iter(enumerate(deliveries))

    async def sender(connection: _RawConnection) -> None:
        for index, delivery in schedule:
            scheduled = start + index / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await _send_raw(connection, delivery, scheduled, results)

    try:
        await asyncio.gather(*(sender(c) for c in pool))
    finally:
        for connection in pool:
            await connection.close()
    return results, time.perf_counter() - start


async def _drive(
    url: str, deliveries: list[Delivery], rate: float, connections: int
) -> tuple[Results, float]:
    results = Results()
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=10.0, trust_env=False) as client:
        # Warm the connections and the server's caches before the clock starts.
        await asyncio.gather(*(client.get(url.rsplit("/", 2)[0] + "/healthz") for _ in range(8)))
        # One sender per connection, each taking the next delivery when it is due; latency
        # counts from the due time, so time spent waiting for a free sender is included.
        start = time.perf_counter()
        schedule = iter(enumerate(deliveries))

        async def sender() -> None:
            for index, delivery in schedule:
                scheduled = start + index / rate
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await _send(client, url, delivery, scheduled, results)

        await asyncio.gather(*(sender() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    return results, elapsed


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the bridge exited during startup (status {process.returncode})")
        try:
            if httpx.get(url + "/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the bridge did not start in time")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _rows(home: Path) -> int:
    with sqlite3.connect(home / "fulfillbridge.db") as conn:
        return int(conn.execute("SELECT count(*) FROM inbox_events").fetchone()[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500.0, help="target webhooks per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to send")
    parser.add_argument("--connections", type=int, default=8, help="HTTP connections")
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of repeats")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator: minimal asyncio HTTP/1.1 (default, least CPU) or httpx",
    )
    parser.add_argument("--serve", nargs=2, metavar=("HOME", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        _serve(args.serve[0], int(args.serve[1]))
        return 0
    if not (0 < args.rate <= 5000 and 0 < args.seconds <= 300 and 1 <= args.connections <= 256):
        parser.error("rate must be in (0, 5000], seconds in (0, 300], connections in [1, 256]")
    with tempfile.TemporaryDirectory(prefix="fb-bench-") as tmp:
        home = Path(tmp) / "home"
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FULFILLBRIDGE_")}
        process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(home), str(port)], env=env
        )
        try:
            _wait_ready(base, process)
            count = int(args.rate * args.seconds)
            rng = random.Random(7)
            # A few deliveries first, outside the figures: the first request of a process
            # loads the store and opens the database writer.
            warm_up, _ = asyncio.run(_drive_raw(port, _deliveries(WARM_UP, 0.0, rng), 100, 2))
            deliveries = _deliveries(count, args.duplicates, rng)
            cpu_before = _cpu_seconds(process.pid)
            if args.client == "raw":
                run = _drive_raw(port, deliveries, args.rate, args.connections)
            else:
                run = _drive(base + "/webhooks/shopify", deliveries, args.rate, args.connections)
            results, elapsed = asyncio.run(run)
            cpu_after = _cpu_seconds(process.pid)
            if warm_up.stored != WARM_UP:
                raise SystemExit(f"warm-up failed: {warm_up.failures}")
            stored_rows = _rows(home) - warm_up.stored
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    answered = len(results.latencies_ms)
    p50, p95, p99 = (_percentile(results.latencies_ms, q) for q in (0.50, 0.95, 0.99))
    print(f"webhook intake: {count} deliveries at a target of {args.rate:.0f}/s, "
          f"{args.connections} connections ({args.client} client), SQLite")  # fmt: skip
    print(f"  achieved rate       {answered / elapsed:8.1f} /s over {elapsed:.1f} s")
    print(f"  latency p50         {p50:8.1f} ms")
    print(f"  latency p95         {p95:8.1f} ms")
    print(f"  latency p99         {p99:8.1f} ms   (goal < {GOAL_P99_MS:.0f} ms: "
          f"{'met' if p99 < GOAL_P99_MS else 'NOT met'})")  # fmt: skip
    print(f"  max latency         {max(results.latencies_ms, default=float('nan')):8.1f} ms")
    if cpu_before is not None and cpu_after is not None and answered:
        cpu_ms = (cpu_after - cpu_before) * 1000 / answered
        print(f"  server CPU          {cpu_ms:8.2f} ms per webhook "
              f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")  # fmt: skip
    print(f"  stored (new)        {results.stored:8d}")
    print(f"  duplicates refused  {results.duplicates:8d}")
    print(f"  failures            {sum(results.failures.values()):8d} {results.failures or ''}")
    print(f"  rows stored         {stored_rows:8d}   unique deliveries answered 200: "
          f"{len(results.unique_ok)}")  # fmt: skip
    if stored_rows != len(results.unique_ok) or stored_rows != results.stored:
        print("  MISMATCH: rows stored differ from unique deliveries")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
