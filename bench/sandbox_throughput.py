"""Throughput of the Shopify sandbox over real HTTP.

Starts the sandbox (uvicorn, one worker, its own process), adds an Enterprise-plan shop so the
leaky bucket does not shape the numbers, then drives it with httpx for a fixed time and prints
requests per second with p50/p99 latency for:

- a small query, ``{ shop { name } }`` (target: at least 300 requests/s on one core);
- ``fulfillmentCreate`` on a fresh order each time, when the sandbox serves ``orderCreate``
  and ``fulfillmentCreate`` (otherwise the run says it was skipped and why).

Usage: ``python bench/sandbox_throughput.py [--seconds 5] [--concurrency 4]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import httpx

GRAPHQL = "/shops/bench.myshopify.com/admin/api/2026-07/graphql.json"
HEADERS = {"X-Shopify-Access-Token": "shpat_bench"}
SMALL_QUERY = "{ shop { name } }"
ORDER_CREATE = """mutation($order: OrderCreateOrderInput!) {
  orderCreate(order: $order) {
    order { id fulfillmentOrders(first: 5) { nodes { id } } }
    userErrors { field message }
  }
}"""
FULFILLMENT_CREATE = """mutation($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo { number } }
    userErrors { field message }
  }
}"""
ORDER = {
    "email": "bench@example.com",
    "test": True,
    "lineItems": [
        {
            "title": "Bench item",
            "quantity": 1,
            "priceSet": {"shopMoney": {"amount": "10.00", "currencyCode": "USD"}},
            "requiresShipping": True,
        }
    ],
}
STARTUP_TIMEOUT = 60.0


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    elapsed: float = 0.0
    server_cpu: float | None = None

    def report(self) -> str:
        if not self.latencies:
            return f"{self.name}: no successful requests ({self.failures} failures)"
        ordered = sorted(self.latencies)
        p50 = statistics.median(ordered) * 1000
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        rate = len(ordered) / self.elapsed
        line = (
            f"{self.name}: {rate:7.1f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
            f"({len(ordered)} ok, {self.failures} failed, {self.elapsed:.1f} s)"
        )
        if self.server_cpu:
            # What one fully busy server core would sustain at this cost per request.
            served = len(ordered) + self.failures
            line += (
                f"  server CPU {self.server_cpu:.2f} s = {served / self.server_cpu:.0f} req/s/core"
            )
        return line


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used, where /proc tells it (Linux)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


@contextlib.contextmanager
def _sandbox_process() -> Iterator[tuple[str, int]]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "fulfillbridge.sandbox.server", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"the sandbox exited during startup:\n{error[-2000:]}")
            try:
                httpx.get(f"{url}/__sandbox/clock", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not start in time") from None
                time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


async def _drive(
    pid: int,
    name: str,
    seconds: float,
    concurrency: int,
    client: httpx.AsyncClient,
    step: Callable[[httpx.AsyncClient, Result], Awaitable[None]],
) -> Result:
    result = Result(name)
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            await step(client, result)

    cpu_before = _cpu_seconds(pid)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - started
    cpu_after = _cpu_seconds(pid)
    if cpu_before is not None and cpu_after is not None:
        result.server_cpu = cpu_after - cpu_before
    return result


class _RawConnection:
    """A bare HTTP/1.1 keep-alive connection: httpx's own overhead would otherwise cap the
    small-query rate below what the server sustains on two shared cores."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: str) -> _RawConnection:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"X-Shopify-Access-Token: {HEADERS['X-Shopify-Access-Token']}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        payload = await self.reader.readexactly(length)
        return int(status_line.split()[1]), payload

    def close(self) -> None:
        self.writer.close()


async def _drive_raw(pid: int, url: str, name: str, seconds: float, concurrency: int) -> Result:
    result = Result(name)
    body = json.dumps({"query": SMALL_QUERY}).encode()
    connections = [await _RawConnection.open(url) for _ in range(concurrency)]
    deadline = time.perf_counter() + seconds

    async def worker(connection: _RawConnection) -> None:
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            status, payload = await connection.post(GRAPHQL, body)
            took = time.perf_counter() - began
            if status == 200 and b'"errors"' not in payload:
                result.latencies.append(took)
            else:
                result.failures += 1

    cpu_before = _cpu_seconds(pid)
    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker(c) for c in connections))
    finally:
        for connection in connections:
            connection.close()
    result.elapsed = time.perf_counter() - started
    cpu_after = _cpu_seconds(pid)
    if cpu_before is not None and cpu_after is not None:
        result.server_cpu = cpu_after - cpu_before
    return result


async def _small_query(client: httpx.AsyncClient, result: Result) -> None:
    began = time.perf_counter()
    response = await client.post(GRAPHQL, json={"query": SMALL_QUERY})
    took = time.perf_counter() - began
    body = response.json()
    if response.status_code == 200 and "errors" not in body:
        result.latencies.append(took)
    else:
        result.failures += 1


async def _fulfillment_create(client: httpx.AsyncClient, result: Result) -> None:
    created = (
        await client.post(GRAPHQL, json={"query": ORDER_CREATE, "variables": {"order": ORDER}})
    ).json()
    try:
        order = created["data"]["orderCreate"]["order"]
        fulfillment_order_id = order["fulfillmentOrders"]["nodes"][0]["id"]
    except (KeyError, IndexError, TypeError):
        result.failures += 1
        return
    variables = {
        "fulfillment": {
            "notifyCustomer": False,
            "trackingInfo": {"number": "BENCH-1", "company": "Bench"},
            "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fulfillment_order_id}],
        }
    }
    began = time.perf_counter()
    response = await client.post(
        GRAPHQL, json={"query": FULFILLMENT_CREATE, "variables": variables}
    )
    took = time.perf_counter() - began
    body = response.json()
    payload = (body.get("data") or {}).get("fulfillmentCreate") or {}
    if response.status_code == 200 and "errors" not in body and not payload.get("userErrors"):
        result.latencies.append(took)
    else:
        result.failures += 1


def _fulfillment_skip_reason() -> str | None:
    from fulfillbridge.sandbox import registry
    from fulfillbridge.sandbox.graphql import load_resolvers

    load_resolvers()
    served = registry.registered_fields()
    missing = [f for f in ("orderCreate", "fulfillmentCreate") if ("Mutation", f) not in served]
    if missing:
        return f"the sandbox has no resolver for {', '.join(missing)}"
    return None


async def _run(url: str, pid: int, seconds: float, concurrency: int) -> list[str]:
    lines: list[str] = []
    setup = httpx.post(
        f"{url}/__sandbox/shops",
        json={"domain": "bench", "plan": "Enterprise", "access_token": "shpat_bench"},
    )
    setup.raise_for_status()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=url, headers=HEADERS, limits=limits, timeout=30
    ) as client:
        await _drive(pid, "warm-up", 1.0, concurrency, client, _small_query)
        small = await _drive_raw(pid, url, "{ shop { name } }", seconds, concurrency)
        lines.append(small.report())
        via_httpx = await _drive(
            pid, "{ shop { name } } via httpx", seconds, concurrency, client, _small_query
        )
        lines.append(via_httpx.report())
        reason = _fulfillment_skip_reason()
        if reason is not None:
            lines.append(f"fulfillmentCreate: skipped ({reason})")
        else:
            fulfil = await _drive(
                pid, "fulfillmentCreate", seconds, concurrency, client, _fulfillment_create
            )
            lines.append(
                fulfil.report() + "  [each after an untimed orderCreate, whose CPU is counted]"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time per scenario")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight")
    arguments = parser.parse_args()
    if not 0 < arguments.seconds <= 600 or not 0 < arguments.concurrency <= 256:
        parser.error("--seconds must be in (0, 600] and --concurrency in (0, 256]")
    with _sandbox_process() as (url, pid):
        print(f"sandbox at {url}, {arguments.concurrency} in flight, {arguments.seconds:g} s each")
        for line in asyncio.run(_run(url, pid, arguments.seconds, arguments.concurrency)):
            print(line)


if __name__ == "__main__":
    main()
