"""End-to-end times of the order flow through the real system.

Three processes talk over real HTTP on 127.0.0.1, as in production:

- the sandbox (our Shopify twin, uvicorn, its own process) with a shop whose merchant
  submits fulfillment requests automatically and whose catalogue is stocked at our
  fulfillment service's location;
- the bridge's HTTP app (``fulfillbridge serve --no-worker``, uvicorn, its own process)
  receiving the sandbox's callbacks and webhooks and the operation's API calls;
- one worker (``fulfillbridge worker``, its own process; ``--worker embedded`` runs it inside
  the ``fulfillbridge serve`` process instead, the embedded default);

all on one SQLite file (WAL) in a temporary home. This script plays the merchant (sandbox
controls) and the operation (``POST /api/v1/work/{id}/shipments`` with an API key) and
reads the bridge's database (read-only) for the moments writes reached Shopify.

What is timed:

- **request → accepted**: from just before the merchant's ``create_orders`` call (orders are
  created and their fulfillment requests submitted inside that call) to the moment the
  bridge's ``accept_request`` write is done at Shopify (the outbox row's ``done_at``, set
  when Shopify's answer to ``fulfillmentOrderAcceptFulfillmentRequest`` came back). Paced:
  orders created one at a time at ``--rate``; burst: ``--orders`` created in one call, with
  the throughput from that call to the last acceptance.
- **shipment → Shopify fulfillment**: from just before the operation's shipment POST to the
  moment the ``create_fulfillment`` write is done (``fulfillmentCreate`` answered). Paced at
  ``--rate``, then all burst orders at once over ``--concurrency`` API connections.
- **Shopify API calls and points per order**, from the sandbox's request log
  (``GET /__sandbox/shops/{domain}/requests``), per phase and per operation, with the
  inbound deliveries (callbacks and webhooks) the bridge stored per order and the CPU each
  process spent per order.

Before the figures count, two warm-up orders go through the whole flow. At the end every
fulfillment order is checked, in the bridge's database and in Shopify (GraphQL): exactly one
work order, accepted once, fulfilled exactly once, nothing failed.

Usage: ``python bench/order_flow.py [--orders 200] [--paced 20] [--rate 4]
[--concurrency 4] [--worker separate|embedded] [--workers 1|1,2,4] [--database-url URL]
[--poll 1.0] [--plan Standard] [--time-limit 180]``. ``--workers 1,2,4`` runs the whole flow
once per count (separate worker processes on the one store) and ends with a table comparing
orders/s and points per order against the first run; ``--database-url`` (PostgreSQL) gives
each run a fresh database on that server. Exit status: 0 when every order arrived exactly
once; 1 when an order was lost or doubled (or a write failed); 2 when the run could not
finish (start-up failure or the time limit; the figures gathered so far are printed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

SHOP = "bench-shop.myshopify.com"
TOKEN = "shpat_bench_order_flow"
CLIENT_SECRET = "bench-order-flow-client-secret"
STORE = "bench"
API_VERSION = "2026-07"
WARM_UP_ORDERS = 2
PRODUCTS = 8
STARTUP_TIMEOUT = 30.0
VERIFY_RESERVE = 6.0  # seconds of the time limit kept for the final checks
SETTLE_LIMIT = 30.0  # longest wait for the bridge to fall quiet between phases
POLL_INTERVAL = 0.02  # how often the bridge's database is read while waiting
REQUEST_LOG_LIMIT = 5000  # the sandbox keeps this many log entries per shop
ACCEPT, FULFIL = "accept_request", "create_fulfillment"

_VERIFY_QUERY = """query BenchVerify($after: String) {
  orders(first: 25, after: $after, sortKey: CREATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id name fulfillments(first: 5) { id status }
      fulfillmentOrders(first: 5) { nodes { id status requestStatus } } } } }"""


class RunFailed(Exception):
    """The run could not go on (start-up failed, time ran out, Shopify refused a step)."""


# --- processes -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def errors_logged(self) -> int:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return 0
        return text.count("Traceback") + text.count(" ERROR ")


class Processes:
    """The child processes of a run, stopped (terminate, then kill) when the run ends."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.running: dict[str, Process] = {}

    def start(self, name: str, args: list[str]) -> Process:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [sys.executable, *args], stdout=out, stderr=subprocess.STDOUT, env=self.env
            )
        process = Process(name, popen, log)
        self.running[name] = process
        return process

    def check_alive(self) -> None:
        for process in self.running.values():
            if process.popen.poll() is not None:
                raise RunFailed(
                    f"the {process.name} process exited (status {process.popen.returncode}):\n"
                    + process.tail()
                )

    def cpu(self) -> dict[str, float | None]:
        return {name: _cpu_seconds(p.popen.pid) for name, p in self.running.items()}

    def stop(self) -> None:
        for process in self.running.values():
            if process.popen.poll() is None:
                process.popen.terminate()
        for process in self.running.values():
            try:
                process.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait(timeout=5)


async def _wait_http(url: str, processes: Processes, deadline: float, *, what: str) -> None:
    async with httpx.AsyncClient(timeout=1.0, trust_env=False) as http:
        while time.monotonic() < deadline:
            processes.check_alive()
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RunFailed(f"the {what} did not answer {url} in time")


# --- the bridge's database (read-only) --------------------------------------------------------


def _epoch(value: str | datetime | None) -> float | None:
    """A stored timestamp as epoch seconds (SQLite keeps UTC without an offset)."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class BridgeDb:
    """Reads of the bridge's database (its SQLite file, or a PostgreSQL URL); autocommit,
    so each read sees the latest commit."""

    def __init__(self, where: Path | str) -> None:
        self._postgres = isinstance(where, str)
        if isinstance(where, str):
            import psycopg

            self._conn: Any = psycopg.connect(where, autocommit=True)
        else:
            self._conn = sqlite3.connect(
                f"file:{where}?mode=ro", uri=True, timeout=10.0, isolation_level=None
            )

    def close(self) -> None:
        self._conn.close()

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self._postgres:
            sql = sql.replace("?", "%s")
        return list(self._conn.execute(sql, params).fetchall())

    def done_by_fulfillment_order(self, kind: str) -> dict[str, float]:
        """Fulfillment order gid -> when the ``kind`` write for it was done (earliest)."""
        done: dict[str, float] = {}
        for remote_id, done_at in self.rows(
            "SELECT w.remote_id, o.done_at FROM outbox o JOIN work_orders w"
            " ON w.id = o.work_order_id WHERE o.kind = ? AND o.status = 'done'",
            (kind,),
        ):
            moment = _epoch(done_at)
            if moment is not None:
                done[remote_id] = min(done.get(remote_id, moment), moment)
        return done

    def done_by_outbox_id(self, ids: list[int]) -> dict[int, float]:
        found: dict[int, float] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row_id, done_at in self.rows(
                f"SELECT id, done_at FROM outbox WHERE status = 'done' AND id IN ({marks})",
                tuple(chunk),
            ):
                moment = _epoch(done_at)
                if moment is not None:
                    found[row_id] = moment
        return found

    def work_ids(self) -> dict[str, list[int]]:
        """Fulfillment order gid -> the work orders made for it (one, unless doubled)."""
        found: dict[str, list[int]] = {}
        for work_id, remote_id in self.rows("SELECT id, remote_id FROM work_orders"):
            found.setdefault(remote_id, []).append(work_id)
        return found

    def busy(self) -> bool:
        """Inbound events waiting, or writes not yet finished."""
        waiting = self.rows("SELECT count(*) FROM inbox_events WHERE processed_at IS NULL")
        unsent = self.rows(
            "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending', 'unknown')"
        )
        return bool(waiting[0][0] or unsent[0][0])

    def last_inbox_id(self) -> int:
        return int(self.rows("SELECT coalesce(max(id), 0) FROM inbox_events")[0][0])

    def inbox_between(self, after: int, upto: int) -> Counter[str]:
        return Counter(
            f"{source} {topic}"
            for source, topic in self.rows(
                "SELECT source, topic FROM inbox_events WHERE id > ? AND id <= ?", (after, upto)
            )
        )


# --- what a phase measured ---------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    count: int
    started: dict[Any, float] = field(default_factory=dict)  # key -> epoch seconds
    done: dict[Any, float] = field(default_factory=dict)
    api_answer: list[float] = field(default_factory=list)  # seconds, bridge API round trips
    calls: list[dict[str, Any]] | None = None  # sandbox request log entries of the phase
    inbound: Counter[str] = field(default_factory=Counter)
    cpu: dict[str, float] = field(default_factory=dict)
    burst: bool = False
    finished: bool = False
    settled: bool = False  # the bridge fell quiet before the accounts were closed
    quiet_after: float | None = None  # seconds from the last done write to quiet

    def latencies(self) -> list[float]:
        return [self.done[k] - self.started[k] for k in self.started if k in self.done]

    def throughput(self) -> float | None:
        if not self.done:
            return None
        span = max(self.done.values()) - min(self.started.values())
        return len(self.done) / span if span > 0 else None


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def fresh_postgres_database(server_url: str) -> str:
    """A new, empty database on the server ``server_url`` names; returns its URL."""
    import psycopg

    name = f"fb_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _old = server_url.rpartition("/")
    return f"{base}/{name}"


def drop_postgres_database(server_url: str, url: str) -> None:
    import psycopg

    name = url.rpartition("/")[2]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Options:
    orders: int
    paced: int
    rate: float
    concurrency: int
    worker: str
    poll: float
    plan: str
    time_limit: float
    keep: Path | None = None
    workers: int = 1
    database_url: str | None = None  # a PostgreSQL server database: a fresh one per run


class Run:
    def __init__(self, options: Options, workdir: Path) -> None:
        self.options = options
        self.home = workdir / "home"
        self.started_at = time.monotonic()
        self.deadline = self.started_at + options.time_limit
        env = {k: v for k, v in os.environ.items() if not k.startswith("FULFILLBRIDGE_")}
        self.bridge_port = _free_port()
        self.sandbox_port = _free_port()
        self.bridge_url = f"http://127.0.0.1:{self.bridge_port}"
        self.sandbox_url = f"http://127.0.0.1:{self.sandbox_port}"
        env |= {
            "FULFILLBRIDGE_HOME": str(self.home),
            "FULFILLBRIDGE_PUBLIC_URL": self.bridge_url,
            "FULFILLBRIDGE_WORKER_POLL_SECONDS": str(options.poll),
            "FULFILLBRIDGE_LOG_LEVEL": "WARNING",
        }
        self.database_url: str | None = None
        if options.database_url:
            self.database_url = fresh_postgres_database(options.database_url)
            env["FULFILLBRIDGE_DATABASE_URL"] = self.database_url
        self.processes = Processes(workdir, env)
        self.phases: list[Phase] = []
        self.fulfillment_orders: list[str] = []  # every one made, warm-up included
        self.api_key = ""
        self.db: BridgeDb | None = None
        self.sandbox: httpx.AsyncClient | None = None
        self.bridge: httpx.AsyncClient | None = None
        self._log_seen = 0
        self._inbox_seen = 0
        self._cpu_seen: dict[str, float | None] = {}
        self.log_saturated = False
        self.request_log: list[dict[str, Any]] = []

    # -- time --------------------------------------------------------------------------------

    def remaining(self, reserve: float = VERIFY_RESERVE) -> float:
        return self.deadline - reserve - time.monotonic()

    async def wait_until(self, done: Callable[[], bool], what: str) -> None:
        while not done():
            if self.remaining() <= 0:
                raise RunFailed(f"time limit reached while waiting for {what}")
            self.processes.check_alive()
            await asyncio.sleep(POLL_INTERVAL)

    # -- start-up ----------------------------------------------------------------------------

    def settings(self) -> Any:
        from fulfillbridge.config import Settings

        return Settings(
            home=self.home,
            public_url=self.bridge_url,
            worker_poll_seconds=self.options.poll,
            database_url=self.database_url,
        )

    async def start(self) -> None:
        start_by = time.monotonic() + STARTUP_TIMEOUT
        self.processes.start(
            "sandbox", ["-m", "fulfillbridge.sandbox.server", "--port", str(self.sandbox_port)]
        )
        await _wait_http(
            f"{self.sandbox_url}/__sandbox/clock", self.processes, start_by, what="sandbox"
        )
        self.sandbox = httpx.AsyncClient(base_url=self.sandbox_url, timeout=30, trust_env=False)
        added = await self.sandbox.post(
            "/__sandbox/shops",
            json={
                "domain": SHOP,
                "plan": self.options.plan,
                "access_token": TOKEN,
                "client_secret": CLIENT_SECRET,
            },
        )
        _expect(added, 201, "adding the bench shop to the sandbox")
        await self._connect_store()
        serve = ["-m", "fulfillbridge.cli", "serve", "--port", str(self.bridge_port)]
        serve += ["--host", "127.0.0.1"]
        if self.options.worker == "separate":
            self.processes.start("bridge", [*serve, "--no-worker"])
            for number in range(1, self.options.workers + 1):
                self.processes.start(f"worker-{number}", ["-m", "fulfillbridge.cli", "worker"])
        else:
            self.processes.start("bridge", serve)
        await self._set_up_store()
        await _wait_http(f"{self.bridge_url}/healthz", self.processes, start_by, what="bridge")
        self.bridge = httpx.AsyncClient(
            base_url=self.bridge_url,
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=30,
            trust_env=False,
            limits=httpx.Limits(max_connections=self.options.concurrency),
        )
        self.db = BridgeDb(self.database_url or self.home / "fulfillbridge.db")
        settings_set = await self.sandbox.post(
            f"/__sandbox/shops/{SHOP}/settings", json={"auto_submit_fulfillment_requests": True}
        )
        _expect(settings_set, 200, "turning on automatic fulfillment requests")
        seeded = await self.sandbox.post(
            f"/__sandbox/seed?shop={SHOP}",
            json={"products": PRODUCTS, "orders": 0, "seed": 7, "stock_at": "service"},
        )
        _expect(seeded, 200, "seeding the catalogue at the service location")

    async def _connect_store(self) -> None:
        """Store ``bench`` in the bridge's database (this also creates and migrates it)."""
        from fulfillbridge.core.stores import AuthKind
        from fulfillbridge.flows import configure, connect

        settings = self.settings()
        await connect.add_store(
            settings,
            name=STORE,
            shop=SHOP,
            kind=AuthKind.TOKEN,
            token=TOKEN,
            webhook_secret=CLIENT_SECRET,
            api_url=f"{self.sandbox_url}/shops/{SHOP}",
        )
        await configure.configure_store(settings, STORE, mode="fulfillment_service")

    async def _set_up_store(self) -> None:
        from fulfillbridge.flows import setup
        from fulfillbridge.store.api_keys import ApiKeyRepository
        from fulfillbridge.store.database import Database

        settings = self.settings()
        await setup.setup_store(settings, STORE)
        database = Database.from_settings(settings, migrate=False)
        try:
            async with database.transaction() as session:
                created = await ApiKeyRepository(session).create("bench-operation", [STORE])
            self.api_key = created.plain
        finally:
            await database.close()

    # -- the merchant and the operation -------------------------------------------------------

    async def create_orders(self, count: int) -> tuple[float, float, list[str]]:
        """The merchant's orders: (moment asked, seconds the call took, service FO gids)."""
        assert self.sandbox is not None
        began = time.time()
        response = await self.sandbox.post(
            f"/__sandbox/shops/{SHOP}/merchant",
            json={"action": "create_orders", "count": count, "variety": "simple"},
        )
        took = time.time() - began
        _expect(response, 200, "creating orders")
        body = response.json()
        made = list(body["service_fulfillment_order_ids"])
        if body["orders"] != count or len(made) != count:
            raise RunFailed(
                f"asked for {count} orders at the service, the sandbox made {body['orders']} "
                f"orders with {len(made)} fulfillment orders there: {body['order_errors']}"
            )
        self.fulfillment_orders += made
        return began, took, made

    async def ship(self, work_id: int, phase: Phase) -> None:
        assert self.bridge is not None
        number = f"1ZBENCH{work_id:08d}"
        began = time.time()
        response = await self.bridge.post(
            f"/api/v1/work/{work_id}/shipments",
            json={
                "packages": [
                    {
                        "company": "UPS",
                        "number": number,
                        "url": f"https://www.ups.com/track?tracknum={number}",
                    }
                ],
                "notify_customer": False,
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        phase.api_answer.append(time.time() - began)
        _expect(response, 201, f"posting the shipment of work order {work_id}")
        queued = [q["id"] for q in response.json()["queued"] if q["kind"] == FULFIL]
        if len(queued) != 1:
            raise RunFailed(f"a shipment of work {work_id} queued {queued} fulfillment writes")
        phase.started[queued[0]] = began

    # -- phases ------------------------------------------------------------------------------

    async def boundary(self, phase: Phase | None, *, settle: bool = True) -> None:
        """Between phases: let the bridge fall quiet (the webhooks Shopify sends about our
        own writes are still being pulled), then close the phase's accounts."""
        assert self.db is not None and self.sandbox is not None
        settle_by = time.monotonic() + (SETTLE_LIMIT if settle else 0.0)
        quiet_since: float | None = None  # epoch seconds
        settled = False
        while time.monotonic() < settle_by and self.remaining() > 0:
            if self.db.busy():
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.time()
            elif time.time() - quiet_since > min(self.options.poll, 1.0) + 0.1:
                settled = True  # quiet for longer than an idle worker's nap
                break
            await asyncio.sleep(0.05)
        log = (await self.sandbox.get(f"/__sandbox/shops/{SHOP}/requests")).json()["requests"]
        self.request_log = log
        inbox = self.db.last_inbox_id()
        cpu = self.processes.cpu()
        if phase is not None:
            phase.settled = settled
            if settled and quiet_since is not None and phase.done:
                phase.quiet_after = max(0.0, quiet_since - max(phase.done.values()))
            if len(log) >= REQUEST_LOG_LIMIT:
                self.log_saturated = True
            else:
                phase.calls = log[self._log_seen :]
            phase.inbound = self.db.inbox_between(self._inbox_seen, inbox)
            phase.cpu = {
                name: after - before
                for name, after in cpu.items()
                if after is not None and (before := self._cpu_seen.get(name)) is not None
            }
        self._log_seen, self._inbox_seen, self._cpu_seen = len(log), inbox, cpu

    async def wait_for_phase(self, phase: Phase, done: Callable[[], bool], what: str) -> None:
        try:
            await self.wait_until(done, what)
        except RunFailed:
            await self.boundary(phase, settle=False)  # the accounts so far, for the report
            raise
        phase.finished = True
        await self.boundary(phase)

    async def accept_phase(self, name: str, count: int, *, burst: bool) -> Phase:
        assert self.db is not None
        phase = Phase(name, count, burst=burst)
        self.phases.append(phase)
        if burst:
            began, took, made = await self.create_orders(count)
            phase.started = dict.fromkeys(made, began)
            phase.api_answer.append(took)
        else:
            first = time.monotonic()
            for index in range(count):
                await asyncio.sleep(max(0.0, first + index / self.options.rate - time.monotonic()))
                began, took, made = await self.create_orders(1)
                phase.started[made[0]] = began
                phase.api_answer.append(took)

        def all_accepted() -> bool:
            assert self.db is not None
            accepted = self.db.done_by_fulfillment_order(ACCEPT)
            phase.done = {k: accepted[k] for k in phase.started if k in accepted}
            return len(phase.done) == len(phase.started)

        await self.wait_for_phase(phase, all_accepted, f"{name}: every order accepted")
        return phase

    async def ship_phase(self, name: str, orders: list[str], *, burst: bool) -> Phase:
        assert self.db is not None
        phase = Phase(name, len(orders), burst=burst)
        self.phases.append(phase)
        work = self.db.work_ids()
        ids = [work[fo][0] for fo in orders]
        if burst:
            gate = asyncio.Semaphore(self.options.concurrency)

            async def one(work_id: int) -> None:
                async with gate:
                    await self.ship(work_id, phase)

            await asyncio.gather(*(one(work_id) for work_id in ids))
        else:
            first = time.monotonic()
            for index, work_id in enumerate(ids):
                await asyncio.sleep(max(0.0, first + index / self.options.rate - time.monotonic()))
                await self.ship(work_id, phase)

        def all_fulfilled() -> bool:
            assert self.db is not None
            phase.done = self.db.done_by_outbox_id(list(phase.started))
            return len(phase.done) == len(phase.started)

        await self.wait_for_phase(phase, all_fulfilled, f"{name}: every fulfillment created")
        return phase

    async def execute(self) -> None:
        await self.start()
        await self.boundary(None)
        warm = await self.accept_phase("warm-up", WARM_UP_ORDERS, burst=True)
        await self.ship_phase("warm-up", list(warm.started), burst=True)
        self.phases.clear()  # the warm-up's figures do not count
        # Paced first: its light-load figures are the cheap ones, and stay complete when a
        # burst then runs out of time.
        if self.options.paced:
            paced = await self.accept_phase(
                "request → accepted, paced", self.options.paced, burst=False
            )
            await self.ship_phase("shipment → fulfillment, paced", list(paced.started), burst=False)
        if self.options.orders:
            burst = await self.accept_phase(
                "request → accepted, burst", self.options.orders, burst=True
            )
            await self.ship_phase("shipment → fulfillment, burst", list(burst.started), burst=True)

    # -- checks ------------------------------------------------------------------------------

    async def verify(self) -> list[str]:
        """Every fulfillment order: one work order, accepted once, fulfilled exactly once."""
        assert self.db is not None and self.sandbox is not None
        problems: list[str] = []
        work = self.db.work_ids()
        expected = set(self.fulfillment_orders)
        for fo in expected:
            if fo not in work:
                problems.append(f"{fo}: no work order (lost)")
            elif len(work[fo]) > 1:
                problems.append(f"{fo}: {len(work[fo])} work orders (doubled)")
        extra = set(work) - expected
        if extra:
            problems.append(f"{len(extra)} work orders for fulfillment orders never made")
        for kind, times in self.db.rows(
            "SELECT kind, count(*) FROM outbox WHERE status = 'done' AND kind IN (?, ?)"
            " GROUP BY kind, work_order_id HAVING count(*) > 1",
            (ACCEPT, FULFIL),
        ):
            problems.append(f"a work order has {times} {kind} writes done (doubled)")
        for kind, status, number in self.db.rows(
            "SELECT kind, status, count(*) FROM outbox"
            " WHERE status IN ('failed', 'unknown', 'sending') GROUP BY kind, status"
        ):
            problems.append(f"{number} {kind} writes are {status}")
        problems += await self._verify_in_shopify(expected)
        return problems

    async def _verify_in_shopify(self, expected: set[str]) -> list[str]:
        assert self.sandbox is not None
        problems: list[str] = []
        seen: dict[str, tuple[str, str, int]] = {}
        after: str | None = None
        url = f"/shops/{SHOP}/admin/api/{API_VERSION}/graphql.json"
        for _page in range(200):
            if self.remaining(reserve=0) <= 0:
                return [*problems, "time limit reached while reading Shopify's state back"]
            answer = await self.sandbox.post(
                url,
                json={"query": _VERIFY_QUERY, "variables": {"after": after}},
                headers={"X-Shopify-Access-Token": TOKEN},
            )
            body = answer.json()
            if any((e.get("extensions") or {}).get("code") == "THROTTLED"
                   for e in body.get("errors") or []):  # fmt: skip
                await asyncio.sleep(1.0)
                continue
            if answer.status_code != 200 or "errors" in body:
                return [*problems, f"reading Shopify's orders failed: {body}"]
            orders = body["data"]["orders"]
            for order in orders["nodes"]:
                fulfilled = len(order["fulfillments"])
                for fo in order["fulfillmentOrders"]["nodes"]:
                    seen[fo["id"]] = (fo["status"], fo["requestStatus"], fulfilled)
            if not orders["pageInfo"]["hasNextPage"]:
                break
            after = orders["pageInfo"]["endCursor"]
        ended = Counter()
        for fo in expected:
            status, request, fulfilled = seen.get(fo, ("missing", "missing", 0))
            ended[(status, request, fulfilled)] += 1
        for (status, request, fulfilled), number in sorted(ended.items()):
            if (status, request, fulfilled) != ("CLOSED", "ACCEPTED", 1):
                problems.append(
                    f"{number} fulfillment orders ended {status}/{request} with {fulfilled} "
                    "fulfillments in Shopify (want CLOSED/ACCEPTED with exactly 1)"
                )
        return problems

    async def close(self) -> None:
        for client in (self.sandbox, self.bridge):
            if client is not None:
                await client.aclose()
        if self.db is not None:
            self.db.close()

    def drop_database(self) -> None:
        if self.database_url and self.options.database_url and self.options.keep is None:
            drop_postgres_database(self.options.database_url, self.database_url)


def _expect(response: httpx.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise RunFailed(f"{what}: HTTP {response.status_code} {response.text[:500]}")


# --- the report --------------------------------------------------------------------------------


def _print_parameters(options: Options) -> None:
    worker = (
        f"{options.workers} worker(s), `fulfillbridge worker`, each its own process"
        if options.worker == "separate"
        else "1 worker inside the `fulfillbridge serve` process (embedded)"
    )
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print("order flow, end to end (bench/order_flow.py)")
    print(f"  sandbox Shopify    own process, shop on the {options.plan} plan, variety 'simple'"
          " (one line, addressed, known SKU: every order is accepted)")  # fmt: skip
    print("  bridge             `fulfillbridge serve` (uvicorn), own process")
    print(f"  worker             {worker}; idle poll every {options.poll:g} s")
    if options.database_url:
        print("  database           PostgreSQL, a fresh database for the run")
    else:
        print("  database           SQLite (WAL) in a temporary home")
    print(f"  orders             {WARM_UP_ORDERS} warm-up (not counted), {options.paced} paced at "
          f"{options.rate:g}/s, burst of {options.orders} in one call")  # fmt: skip
    print(f"  shipments          paced at {options.rate:g}/s, burst over {options.concurrency} "
          "API connections; one package each, no stages reported before")  # fmt: skip
    print(f"  machine            {os.cpu_count()} CPUs, load average {load} at the start")


def _print_timings(phases: list[Phase]) -> None:
    print()
    head = f"{'measure':34} {'orders':>7} {'p50':>8} {'p95':>8} {'max':>8} {'rate':>10}"
    print(head + "   caller's API call p50")
    print("-" * (len(head) + 24))
    for phase in phases:
        values = phase.latencies()
        done = f"{len(values)}/{phase.count}"
        if values:
            p50, p95, top = (f"{x:7.3f}s" for x in (
                _percentile(values, 0.5), _percentile(values, 0.95), max(values)))  # fmt: skip
        else:
            p50 = p95 = top = f"{'-':>8}"
        rate = phase.throughput() if phase.burst else None
        rate_text = f"{rate:7.1f} /s" if rate else f"{'':>10}"
        answer = f"{statistics.median(phase.api_answer) * 1000:7.1f} ms" if phase.api_answer else ""
        print(f"{phase.name:34} {done:>7} {p50} {p95} {top} {rate_text}   {answer}")
    print("  rate (bursts): orders done / (last done - burst start). For the order burst the"
          " caller's call is the merchant's create_orders of all of them.")  # fmt: skip


def _points(call: dict[str, Any], which: str) -> int:
    value = call[which]
    return int(value) if value is not None else 0


def _print_costs(phases: list[Phase], saturated: bool) -> None:
    print()
    print(f"{'Shopify API, per order':34} {'calls':>7} {'points':>8} {'requested':>10} "
          f"{'THROTTLED':>10} {'inbound':>8} {'quiet after':>12}   CPU ms per order")  # fmt: skip
    operations: Counter[str] = Counter()
    actual_by_operation: Counter[str] = Counter()
    requested_by_operation: Counter[str] = Counter()
    counted = 0
    for phase in phases:
        cpu = ", ".join(
            f"{name} {seconds * 1000 / phase.count:.0f}" for name, seconds in phase.cpu.items()
        )
        inbound = sum(phase.inbound.values()) / phase.count
        quiet = (
            f"{phase.quiet_after:10.1f} s"
            if phase.quiet_after is not None
            else ("not quiet" if phase.finished else "cut short")
        )
        if phase.calls is None:
            print(f"{phase.name:34} {'n/a':>7} {'n/a':>8} {'n/a':>10} {'n/a':>10} "
                  f"{inbound:8.2f} {quiet:>12}   {cpu}")  # fmt: skip
            continue
        counted += phase.count
        actual = sum(_points(c, "actual") for c in phase.calls)
        requested = sum(_points(c, "requested") for c in phase.calls)
        throttled = sum(1 for c in phase.calls if c["throttled"])
        for call in phase.calls:
            name = call["operation"] or "(unnamed)"
            operations[name] += 1
            actual_by_operation[name] += _points(call, "actual")
            requested_by_operation[name] += _points(call, "requested")
        print(f"{phase.name:34} {len(phase.calls) / phase.count:7.2f} "
              f"{actual / phase.count:8.1f} {requested / phase.count:10.1f} {throttled:10d} "
              f"{inbound:8.2f} {quiet:>12}   {cpu}")  # fmt: skip
    print("  points: actual cost charged; requested: the up-front cost the bucket must hold"
          " before a call may go; THROTTLED: calls Shopify refused. inbound: callbacks and"
          " webhooks the bridge stored. quiet after: from the phase's last write done until no"
          " inbound event or write was left (the webhooks about our own writes still being"
          " pulled). Per order = divided by the orders the phase started.")  # fmt: skip
    if saturated:
        print(f"  (n/a: the sandbox's request log holds {REQUEST_LOG_LIMIT} entries; lower"
              " --orders to count every call)")  # fmt: skip
    if counted:
        print(f"  by operation, over the {counted} orders of the counted phases:")
        for name, calls in operations.most_common():
            print(f"    {name:40} {calls / counted:6.2f} calls "
                  f"{actual_by_operation[name] / counted:7.1f} points "
                  f"{requested_by_operation[name] / counted:8.1f} requested")  # fmt: skip
    inbound_total: Counter[str] = Counter()
    for phase in phases:
        inbound_total.update(phase.inbound)
    total_orders = sum(phase.count for phase in phases)
    if inbound_total:
        print(f"  inbound deliveries stored by the bridge, per order (over {total_orders}):")
        for topic, number in inbound_total.most_common():
            print(f"    {topic:62} {number / total_orders:6.2f}")


# --- entry point -------------------------------------------------------------------------------


@dataclass
class Summary:
    """What one run gives the comparison between worker counts."""

    workers: int
    status: int
    orders_per_second: float | None = None
    points_per_order: float | None = None
    throttled: int = 0
    accept_p50: float | None = None
    accept_p99: float | None = None


def summarise(workers: int, status: int, phases: list[Phase]) -> Summary:
    summary = Summary(workers, status)
    bursts = [p for p in phases if p.burst]
    accepted = next((p for p in bursts if p.name.startswith("request")), None)
    if accepted is not None:
        summary.orders_per_second = accepted.throughput()
        values = accepted.latencies()
        if values:
            summary.accept_p50 = _percentile(values, 0.5)
            summary.accept_p99 = _percentile(values, 0.99)
    counted = [p for p in bursts if p.calls is not None]
    if counted and accepted is not None:
        points = sum(_points(c, "actual") for p in counted for c in p.calls or [])
        summary.points_per_order = points / accepted.count
    summary.throttled = sum(
        1 for p in phases for c in p.calls or [] if c["throttled"] and not c.get("fault")
    )
    return summary


def _print_comparison(summaries: list[Summary]) -> None:
    base = summaries[0]
    print()
    print("worker processes compared (burst: orders/s from the merchant's call to the last"
          " acceptance; points: actual cost of the burst's acceptances and fulfillments per"
          " order; THROTTLED: answers Shopify refused for the bucket)")  # fmt: skip
    print(f"{'workers':>8} {'orders/s':>9} {'ratio':>6} {'points/order':>13} {'ratio':>6} "
          f"{'THROTTLED':>10} {'accept p50':>11} {'accept p99':>11}  status")  # fmt: skip

    def ratio(value: float | None, first: float | None) -> str:
        return f"{value / first:6.2f}" if value and first else f"{'-':>6}"

    def number(value: float | None, width: int, unit: str = "") -> str:
        return f"{value:{width - len(unit)}.2f}{unit}" if value is not None else f"{'-':>{width}}"

    for s in summaries:
        print(f"{s.workers:8d} {number(s.orders_per_second, 9)} "
              f"{ratio(s.orders_per_second, base.orders_per_second)} "
              f"{number(s.points_per_order, 13)} "
              f"{ratio(s.points_per_order, base.points_per_order)} "
              f"{s.throttled:10d} {number(s.accept_p50, 11, 's')} {number(s.accept_p99, 11, 's')}"
              f"  {['ok', 'LOST OR DOUBLED', 'unfinished'][s.status]}")  # fmt: skip


async def _main(options: Options, counts: list[int]) -> int:
    summaries: list[Summary] = []
    for workers in counts:
        if len(counts) > 1:
            print(f"\n=== {workers} worker process(es) ===")
        status, phases = await _run_once(replace(options, workers=workers))
        summaries.append(summarise(workers, status, phases))
    if len(summaries) > 1:
        _print_comparison(summaries)
    return max(s.status for s in summaries)


async def _run_once(options: Options) -> tuple[int, list[Phase]]:
    with contextlib.ExitStack() as stack:
        if options.keep is not None:
            workdir = options.keep
            workdir.mkdir(parents=True, exist_ok=True)
            if any(workdir.iterdir()):
                raise SystemExit(f"--keep {workdir}: the directory must be empty")
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fb-bench-")))
        run = Run(options, workdir)
        _print_parameters(options)
        status = 0
        try:
            try:
                await run.execute()
            except RunFailed as exc:
                print(f"\nRUN DID NOT FINISH: {exc}")
                status = 2
            except Exception as exc:  # e.g. set-up refused: say what, then clean up
                print(f"\nRUN DID NOT FINISH: {type(exc).__name__}: {exc}")
                status = 2
            if run.db is not None and run.sandbox is not None:
                problems = await run.verify()
                if status == 0 or any("doubled" in p for p in problems):
                    for problem in problems:
                        print(f"  PROBLEM: {problem}")
                    if problems:
                        status = 1
            _print_timings(run.phases)
            _print_costs(run.phases, run.log_saturated)
            errors = {name: p.errors_logged() for name, p in run.processes.running.items()}
            logged = ", ".join(f"{n} in {name}" for name, n in errors.items() if n)
            print()
            if logged:
                print(f"errors logged by the processes: {logged}")
            total = len(run.fulfillment_orders)
            elapsed = time.monotonic() - run.started_at
            if status == 0:
                print(f"checks: all {total} fulfillment orders (warm-up included) have one "
                      "work order, were accepted once and fulfilled exactly once in Shopify; "
                      f"nothing failed. Run took {elapsed:.1f} s.")  # fmt: skip
            elif status == 1:
                print(f"FAILED: orders lost or doubled (see PROBLEM lines); {elapsed:.1f} s")
            else:
                for name, process in run.processes.running.items():
                    if process.errors_logged():
                        print(f"--- last lines of the {name} log ---\n{process.tail()}")
        finally:
            await run.close()
            if options.keep is not None:
                (options.keep / "requests.json").write_text(json.dumps(run.request_log))
            run.processes.stop()
            run.drop_database()
        return status, run.phases


@contextlib.contextmanager
def _clean_environment() -> Iterator[None]:
    """This process's own settings come from the command line, never the caller's env."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("FULFILLBRIDGE_")}
    for key in saved:
        del os.environ[key]
    try:
        yield
    finally:
        os.environ.update(saved)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200, help="orders in the burst")
    parser.add_argument("--paced", type=int, default=20, help="orders created one at a time")
    parser.add_argument("--rate", type=float, default=4.0, help="paced orders (and shipments) /s")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="API connections for the shipment burst"
    )
    parser.add_argument(
        "--worker",
        choices=("separate", "embedded"),
        default="separate",
        help="`fulfillbridge worker` process (default) or the worker inside `serve`",
    )
    parser.add_argument(
        "--poll", type=float, default=1.0, help="worker_poll_seconds (the product's default: 1)"
    )
    parser.add_argument(
        "--plan",
        choices=("Basic", "Standard", "Advanced", "Plus", "Enterprise"),
        default="Standard",
        help="the sandbox shop's Shopify plan (sets the rate limit)",
    )
    parser.add_argument(
        "--time-limit", type=float, default=180.0, help="seconds for the whole run, start-up in"
    )
    parser.add_argument(
        "--workers",
        default="1",
        help="worker processes, or a comma-separated list to compare (e.g. 1,2,4: one run each)",
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL database URL on a server where this user may create databases: each"
        " run works in a fresh database there (default: SQLite in the temporary home)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="work in DIR (empty or new) and keep the database and process logs there",
    )
    args = parser.parse_args(argv)
    if not (0 <= args.orders <= 2000 and 0 <= args.paced <= 500 and args.orders + args.paced):
        parser.error("--orders must be in [0, 2000], --paced in [0, 500], not both 0")
    if not (0 < args.rate <= 100 and 1 <= args.concurrency <= 64 and 0 < args.poll <= 10):
        parser.error("--rate must be in (0, 100], --concurrency in [1, 64], --poll in (0, 10]")
    if not 15 <= args.time_limit <= 600:
        parser.error("--time-limit must be in [15, 600] seconds")
    try:
        counts = [int(part) for part in args.workers.split(",")]
    except ValueError:
        parser.error(f"--workers must be numbers separated by commas, got {args.workers!r}")
    if not counts or not all(1 <= n <= 16 for n in counts):
        parser.error("--workers: each count must be in [1, 16]")
    if args.worker == "embedded" and counts != [1]:
        parser.error("--worker embedded runs one worker: use --worker separate to compare")
    if args.database_url and not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a postgresql:// URL")
    if args.keep is not None and len(counts) > 1:
        parser.error("--keep keeps one run: give one --workers count")
    options = Options(
        orders=args.orders,
        paced=args.paced,
        rate=args.rate,
        concurrency=args.concurrency,
        worker=args.worker,
        poll=args.poll,
        plan=args.plan,
        time_limit=args.time_limit,
        keep=args.keep,
        database_url=args.database_url,
    )
    with _clean_environment():
        return asyncio.run(_main(options, counts))


if __name__ == "__main__":
    sys.exit(main())
