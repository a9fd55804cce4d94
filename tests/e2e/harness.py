"""The whole system for end-to-end tests: the sandbox plays Shopify and the merchant, the
bridge runs as in production (its HTTP app under uvicorn, workers doing the work), and the
tests look at what Shopify ends up with, over GraphQL, as a merchant's admin would.

Nothing here reaches into the bridge's internals to make things happen: orders come from
the sandbox, the bridge learns of them from Shopify's webhooks and callbacks (or from its
own reconciliation, which one test calls directly), and the operation's actions go through
the REST API or the CLI.
Reading the bridge's database is only for waiting ("the work is accepted locally") and for
checks the merchant cannot see (one inbox row per webhook id, one outbox row per write).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fulfillbridge import metrics
from fulfillbridge.config import Settings
from fulfillbridge.flows.outbox import OutboxPolicy, send_due
from fulfillbridge.flows.reconcile import CHECKPOINT, read_checkpoint
from fulfillbridge.sandbox.shops import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_SHOP_DOMAIN,
)
from fulfillbridge.serving import BackgroundServer
from fulfillbridge.shopify import verify_webhook
from fulfillbridge.store.api_keys import ApiKeyRepository
from fulfillbridge.store.database import Database
from fulfillbridge.store.models import (
    InboxEventRow,
    OutboxRow,
    ShipmentRow,
    StoreRow,
    WorkOrderRow,
)
from fulfillbridge.worker import run_round, run_worker

GRAPHQL = "/admin/api/2026-07/graphql.json"
SHOP = DEFAULT_SHOP_DOMAIN
TOKEN = DEFAULT_ACCESS_TOKEN
# The sandbox signs webhooks and callbacks to the token app with its client secret; for a
# custom app that is the "API secret key" the store is added with.
WEBHOOK_SECRET = DEFAULT_CLIENT_SECRET
STORE = "acme"
STAGES = ("picking", "printing", "packing")
CUTOFF = "printing"  # cancellation requests are refused from this stage on
ADDRESS = {
    "firstName": "Grace",
    "lastName": "Hopper",
    "address1": "12 Bank St",
    "city": "Ottawa",
    "provinceCode": "ON",
    "countryCode": "CA",
    "zip": "K1P 5N2",
}
REPO_ROOT = Path(__file__).resolve().parents[2]

# The sender's timings with the waits shortened (the production defaults wait 60 s before
# verifying an unknown outcome and lease a row for 5 min), so that fault tests finish in
# seconds. Every rule is the same; only the clocks are faster. The lease must still outlast
# the slowest request a test makes (a dead worker's request may still run at Shopify).
FAST_OUTBOX = OutboxPolicy(
    lease_seconds=8.0,
    max_attempts=30,
    base_delay=0.05,
    max_delay=0.5,
    unknown_settle_seconds=0.3,
    verify_first_seconds=0.05,
    verify_max_seconds=0.5,
    request_timeout=10.0,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def eventually(
    check: Callable[[], Awaitable[Any]], *, timeout: float = 30.0, what: str = "condition"
) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def write_config(home: Path, public_url: str, **extra: Any) -> Path:
    """The bridge's config file under its home, so in-process code, CLI runs and worker
    processes all read the same settings."""
    values: dict[str, Any] = {
        "public_url": public_url,
        "stages": list(STAGES),
        "cancel_cutoff_stage": CUTOFF,
        "worker_poll_seconds": 0.1,
        # Reconciliation is exercised on purpose (tests call it or shorten this).
        "reconcile_interval_seconds": 3600.0,
        "log_level": "WARNING",
        **extra,
    }
    home.mkdir(parents=True, exist_ok=True)
    lines = []
    for key, value in values.items():
        if isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, list):
            lines.append(f"{key} = [{', '.join(repr(v).replace(chr(39), chr(34)) for v in value)}]")
        else:
            lines.append(f"{key} = {value}")
    path = home / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------- the merchant


class Merchant:
    """The shop's owner and Shopify's admin: GraphQL as the admin sends it, and the
    sandbox's merchant controls for what a merchant clicks."""

    def __init__(self, sandbox_url: str) -> None:
        self.url = sandbox_url
        self.http = httpx.AsyncClient(base_url=sandbox_url, timeout=60)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict:
        response = await self.http.post(
            GRAPHQL,
            json={"query": query, "variables": variables or {}},
            headers={"X-Shopify-Access-Token": TOKEN},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def control(self, path: str, body: Any, *, expect: int = 200) -> dict:
        response = await self.http.post(path, json=body)
        assert response.status_code == expect, f"{path}: {response.status_code} {response.text}"
        return response.json()

    # -- what the merchant sets up and does -----------------------------------------------
    async def auto_submit_requests(self, on: bool = True) -> None:
        await self.control(
            f"/__sandbox/shops/{SHOP}/settings", {"auto_submit_fulfillment_requests": on}
        )

    async def seed_catalogue(self, stock_at: str, products: int = 3) -> list[dict[str, Any]]:
        """Products with SKUs stocked at ``stock_at``; returns the tracked variants."""
        await self.control(
            f"/__sandbox/seed?shop={SHOP}",
            {"products": products, "orders": 0, "seed": 11, "stock_at": stock_at},
        )
        data = await self.graphql(
            """{ productVariants(first: 100) { nodes { id sku
                 inventoryItem { tracked } } } }"""
        )
        variants = [v for v in data["productVariants"]["nodes"] if v["inventoryItem"]["tracked"]]
        assert len(variants) >= 3, variants
        return variants

    async def locations(self) -> dict[str, str]:
        """Location name -> gid."""
        data = await self.graphql("{ locations(first: 20) { nodes { id name } } }")
        return {n["name"]: n["id"] for n in data["locations"]["nodes"]}

    async def stocked_at(self) -> dict[str, set[str]]:
        """Variant gid -> the location gids where it is stocked."""
        data = await self.graphql(
            """{ productVariants(first: 100) { nodes { id inventoryItem { tracked
                 inventoryLevels(first: 10) { nodes { location { id } } } } } } }"""
        )
        return {
            v["id"]: {
                lvl["location"]["id"] for lvl in v["inventoryItem"]["inventoryLevels"]["nodes"]
            }
            for v in data["productVariants"]["nodes"]
            if v["inventoryItem"]["tracked"]
        }

    async def order(
        self, lines: list[tuple[str, int]], *, address: dict[str, str] | None = ADDRESS
    ) -> dict[str, Any]:
        """A paid order (orderCreate); ``lines`` are (variant gid, quantity). Returns
        {id, name, fulfillment_orders: [{id, location}]}."""
        order_input: dict[str, Any] = {
            # The schema's default for requiresShipping is false; these are physical goods.
            "lineItems": [
                {"variantId": v, "quantity": q, "requiresShipping": True} for v, q in lines
            ],
            "financialStatus": "PAID",
            "email": "customer@example.com",
        }
        if address is not None:
            order_input["shippingAddress"] = address
            order_input["billingAddress"] = address
        created = (
            await self.graphql(
                """mutation($order: OrderCreateOrderInput!) { orderCreate(order: $order) {
                     order { id name fulfillmentOrders(first: 10) { nodes { id
                       assignedLocation { location { id } } } } }
                     userErrors { field message } } }""",
                {"order": order_input},
            )
        )["orderCreate"]
        assert created["userErrors"] == [], created["userErrors"]
        order = created["order"]
        return {
            "id": order["id"],
            "name": order["name"],
            "fulfillment_orders": [
                {"id": n["id"], "location": n["assignedLocation"]["location"]["id"]}
                for n in order["fulfillmentOrders"]["nodes"]
            ],
        }

    async def request_cancellation(self, fo_id: str, message: str) -> dict:
        return await self.control(
            f"/__sandbox/shops/{SHOP}/merchant",
            {
                "action": "submit_cancellation_request",
                "fulfillment_order_id": fo_id,
                "message": message,
            },
        )

    async def cancel_order(self, order_id: str) -> dict:
        return await self.control(
            f"/__sandbox/shops/{SHOP}/merchant",
            {"action": "cancel_order", "order_id": order_id, "reason": "CUSTOMER"},
        )

    async def subscribe(self, topic: str, uri: str) -> None:
        """Another of the merchant's apps subscribes to ``topic`` (an enum name)."""
        created = (
            await self.graphql(
                """mutation($topic: WebhookSubscriptionTopic!, $uri: String!) {
                     webhookSubscriptionCreate(topic: $topic,
                       webhookSubscription: { uri: $uri, format: JSON }) {
                     userErrors { field message } } }""",
                {"topic": topic, "uri": uri},
            )
        )["webhookSubscriptionCreate"]
        assert created["userErrors"] == [], created["userErrors"]

    async def faults(self, **settings: Any) -> None:
        """Sandbox fault injection (``{}`` clears every fault)."""
        await self.control("/__sandbox/faults", settings)

    async def deliveries(self) -> list[dict[str, Any]]:
        """The sandbox's log of webhook deliveries and callbacks for the shop."""
        response = await self.http.get("/__sandbox/state", params={"shop": SHOP})
        response.raise_for_status()
        return list(response.json()["parts"].get("outbound") or [])

    async def requests(self) -> list[dict[str, Any]]:
        """The shop's Admin API request log (operation names, statuses, faults)."""
        response = await self.http.get(f"/__sandbox/shops/{SHOP}/requests")
        response.raise_for_status()
        return list(response.json()["requests"])

    # -- what Shopify shows --------------------------------------------------------------
    async def shopify_orders(self) -> dict[str, dict[str, Any]]:
        """Every order as Shopify has it now, by order name (one query per order: a query
        over all of them would pass Shopify's 1000-point limit)."""
        listed = await self.graphql(
            "{ orders(first: 100, sortKey: CREATED_AT) { nodes { id name cancelledAt } } }"
        )
        orders: dict[str, dict[str, Any]] = {}
        for node in listed["orders"]["nodes"]:
            data = await self.graphql(_ORDER_STATE, {"id": node["id"]})
            orders[node["name"]] = {
                "id": node["id"],
                "cancelled": node["cancelledAt"] is not None,
                "fulfillment_orders": [
                    _fo_view(fo) for fo in data["order"]["fulfillmentOrders"]["nodes"]
                ],
            }
        return orders

    async def fulfillment_order(self, fo_id: str) -> dict[str, Any]:
        orders = await self.shopify_orders()
        for order in orders.values():
            for fo in order["fulfillment_orders"]:
                if fo["id"] == fo_id:
                    return fo
        raise AssertionError(f"Shopify has no fulfillment order {fo_id}")


_ORDER_STATE = """query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 3) { nodes {
  id status requestStatus
  assignedLocation { location { id } }
  fulfillmentHolds { id handle reason }
  lineItems(first: 5) { nodes { id sku totalQuantity remainingQuantity } }
  fulfillments(first: 4) { nodes { id status
    trackingInfo(first: 3) { company number url }
    fulfillmentLineItems(first: 5) { nodes { quantity lineItem { sku } } } } } } } } }"""


def _fo_view(fo: dict[str, Any]) -> dict[str, Any]:
    fulfillments = []
    for f in fo["fulfillments"]["nodes"]:
        quantities: dict[str, int] = {}
        for item in f["fulfillmentLineItems"]["nodes"]:
            sku = item["lineItem"]["sku"]
            quantities[sku] = quantities.get(sku, 0) + item["quantity"]
        fulfillments.append(
            {
                "id": f["id"],
                "status": f["status"],
                "numbers": sorted(t["number"] for t in f["trackingInfo"] if t["number"]),
                "companies": sorted({t["company"] for t in f["trackingInfo"] if t["company"]}),
                "urls": sorted(t["url"] for t in f["trackingInfo"] if t["url"]),
                "quantities": quantities,
            }
        )
    return {
        "id": fo["id"],
        "status": fo["status"],
        "request_status": fo["requestStatus"],
        "location": fo["assignedLocation"]["location"]["id"],
        "holds": fo["fulfillmentHolds"],
        "lines": {
            n["sku"]: (n["totalQuantity"], n["remainingQuantity"]) for n in fo["lineItems"]["nodes"]
        },
        "fulfillments": fulfillments,
    }


class WebhookListener:
    """What Shopify tells the merchant's other apps: a second endpoint subscribed to some
    topics (the rejection messages a merchant sees travel in webhook bodies, not in any
    field a query can read). Signatures are checked as any app would."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.server = BackgroundServer(
            Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        )

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        signature = request.headers.get("x-shopify-hmac-sha256", "")
        if not verify_webhook(body, signature, [WEBHOOK_SECRET]):
            return Response(status_code=401)
        self.received.append((request.headers.get("x-shopify-topic", ""), json.loads(body)))
        return Response(status_code=200)

    @property
    def url(self) -> str:
        return f"{self.server.url}/hook"

    def bodies(self, topic: str) -> list[dict[str, Any]]:
        return [body for got, body in self.received if got == topic]


# --------------------------------------------------------------------------- the bridge


@dataclass
class Bridge:
    """The bridge as deployed: settings from its config file, its HTTP app reachable at
    ``url`` (Shopify's webhooks and callbacks arrive there), its database."""

    settings: Settings
    database: Database
    url: str
    home: Path
    api_keys: list[str] = field(default_factory=list)

    async def api_key(self, name: str = "ops") -> str:
        """An API key for the operation (stored hashed, as `apikey create` does)."""
        async with self.database.transaction() as session:
            created = await ApiKeyRepository(session).create(name, [STORE])
        return created.plain

    def api(self, key: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=f"{self.url}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30
        )

    async def work_orders(self) -> list[WorkOrderRow]:
        async with self.database.transaction() as session:
            return list(await session.scalars(select(WorkOrderRow).order_by(WorkOrderRow.id)))

    async def work_for(self, fo_id: str) -> WorkOrderRow | None:
        rows = [w for w in await self.work_orders() if w.remote_id == fo_id]
        assert len(rows) <= 1, f"{len(rows)} work orders for {fo_id}"
        return rows[0] if rows else None

    async def outbox(self, work_id: int | None = None) -> list[OutboxRow]:
        async with self.database.transaction() as session:
            query = select(OutboxRow).where(OutboxRow.target == "shopify").order_by(OutboxRow.id)
            if work_id is not None:
                query = query.where(OutboxRow.work_order_id == work_id)
            return list(await session.scalars(query))

    async def shipments(self, work_id: int) -> list[ShipmentRow]:
        async with self.database.transaction() as session:
            return list(
                await session.scalars(
                    select(ShipmentRow)
                    .where(ShipmentRow.work_order_id == work_id)
                    .order_by(ShipmentRow.id)
                )
            )

    async def inbox_copies(self) -> dict[str, int]:
        """Stored inbox rows per delivery id (the webhook id Shopify sent)."""
        async with self.database.transaction() as session:
            rows = await session.execute(
                select(InboxEventRow.delivery_id, func.count()).group_by(InboxEventRow.delivery_id)
            )
            return {delivery: count for delivery, count in rows.all()}

    async def webhook_topics(self) -> set[str]:
        """Topics of the webhooks Shopify delivered and the bridge stored."""
        async with self.database.transaction() as session:
            rows = await session.scalars(
                select(InboxEventRow.topic).where(InboxEventRow.source == "webhook")
            )
            return set(rows.all())

    async def reconcile_checkpoint(self) -> datetime | None:
        """Where the store's reconciliation stands (None before the first backfill)."""
        async with self.database.transaction() as session:
            store_id = await session.scalar(select(StoreRow.id).where(StoreRow.name == STORE))
            return await read_checkpoint(session, store_id, CHECKPOINT)

    async def state_of(self, fo_id: str) -> str | None:
        row = await self.work_for(fo_id)
        return row.state if row is not None else None

    async def wait_state(self, fo_id: str, *states: str, timeout: float = 30.0) -> WorkOrderRow:
        async def reached() -> WorkOrderRow | None:
            row = await self.work_for(fo_id)
            return row if row is not None and row.state in states else None

        return await eventually(reached, timeout=timeout, what=f"{fo_id} to be {states}")

    async def wait_sent(self, fo_id: str | None = None, *, timeout: float = 30.0) -> None:
        """Until every Shopify write (of one work order, or of all) is done or skipped."""

        async def sent() -> bool:
            work_id = None
            if fo_id is not None:
                row = await self.work_for(fo_id)
                assert row is not None, f"no work order for {fo_id}"
                work_id = row.id
            rows = await self.outbox(work_id)
            return all(r.status in ("done", "skipped") for r in rows)

        await eventually(sent, timeout=timeout, what=f"the outbox of {fo_id or 'all work'}")


# --------------------------------------------------------------------------- workers


async def fast_rounds(
    settings: Settings, database: Database, stop: asyncio.Event, worker_id: str
) -> None:
    """The worker's own rounds (``worker.run_round``: inbox, reconciliation, outbox), with
    the outbox sender on ``FAST_OUTBOX`` timings."""
    sender = partial(send_due, policy=FAST_OUTBOX)
    while not stop.is_set():
        report = await run_round(database, settings, worker_id=worker_id, sender=sender)
        metrics.worker_round_done()
        if not report.busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.worker_poll_seconds)


@contextlib.asynccontextmanager
async def worker(
    bridge: Bridge, *, fast: bool = False, worker_id: str = "e2e-worker"
) -> AsyncIterator[asyncio.Task]:
    """A worker in this process for the duration of the block: ``run_worker`` as
    `fulfillbridge worker` runs it, or (``fast``) its rounds on shortened outbox timings."""
    stop = asyncio.Event()
    if fast:
        job = fast_rounds(bridge.settings, bridge.database, stop, worker_id)
    else:
        job = run_worker(bridge.settings, stop=stop, worker_id=worker_id, database=bridge.database)
    task = asyncio.create_task(job, name=worker_id)
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.shield(task), timeout=60)
    if task.exception() is not None:
        raise task.exception()  # type: ignore[misc]


def fulfillbridge_command(*args: str) -> list[str]:
    """The installed `fulfillbridge` command of this environment."""
    script = Path(sys.executable).with_name("fulfillbridge")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "fulfillbridge.cli", *args]


# --------------------------------------------------------------------------- the operation


class Operation:
    """The operation's production line, using the bridge's REST API as its software would."""

    def __init__(self, bridge: Bridge, key: str) -> None:
        self.http = bridge.api(key)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def work(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(50):
            params: dict[str, Any] = {"limit": 100}
            if cursor:
                params["cursor"] = cursor
            response = await self.http.get("/work", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        return items

    async def find(self, fo_id: str) -> dict[str, Any]:
        found = [w for w in await self.work() if w["fulfillment_order_id"] == fo_id]
        assert len(found) == 1, f"{len(found)} work items for {fo_id}"
        return found[0]

    async def detail(self, fo_id: str) -> dict[str, Any]:
        """One work order with its transitions and shipments."""
        work = await self.find(fo_id)
        response = await self.http.get(f"/work/{work['id']}")
        assert response.status_code == 200, response.text
        return response.json()

    async def act(
        self, fo_id: str, action: str, body: dict[str, Any] | None = None, *, expect: int = 200
    ) -> dict[str, Any]:
        work = await self.find(fo_id)
        response = await self.http.post(f"/work/{work['id']}/{action}", json=body)
        assert response.status_code == expect, f"{action}: {response.status_code} {response.text}"
        return response.json()

    async def stages(self, fo_id: str, *stages: str) -> None:
        for stage in stages:
            await self.act(fo_id, "stage", {"stage": stage})

    async def ship(
        self,
        fo_id: str,
        packages: list[dict[str, str]],
        lines: list[dict[str, Any]] | None = None,
        *,
        expect: int = 201,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"packages": packages}
        if lines is not None:
            body["lines"] = lines
        return await self.act(fo_id, "shipments", body, expect=expect)


def ups(number: str) -> dict[str, str]:
    return {"company": "UPS", "number": number, "url": f"https://www.ups.com/track?num={number}"}


class WorkerProcess:
    """A worker in a process of its own (killable), its output kept in a log file."""

    def __init__(self, command: list[str], log: Path) -> None:
        self.command = command
        self.log_path = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                self.command,
                cwd=REPO_ROOT,
                env=dict(os.environ),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM (a clean stop) and wait; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.process.wait, timeout)

    async def kill(self) -> None:
        """SIGKILL: the process dies wherever it is, no clean-up of any kind."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.process.wait, 10)

    def ensure_stopped(self) -> None:
        if self.alive:
            assert self.process is not None
            self.process.kill()
            self.process.wait(10)
