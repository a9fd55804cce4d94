"""The chaos suite: the real system, in real processes, while things break.

Processes (each its own OS process, on 127.0.0.1): the sandbox playing Shopify, the bridge's
HTTP app (``fulfillbridge serve --no-worker``) and ``--workers`` worker processes, on one
database (a SQLite file, or a fresh PostgreSQL database when
``FULFILLBRIDGE_TEST_POSTGRES_URL`` or ``--postgres URL`` names a server). The script plays
the merchant (orders with fulfillment requests sent automatically) and the operation
(shipments through ``/api/v1``), and injects, phase by phase:

1. **kill -9 mid-mutation**: every Shopify write is slowed down at the sandbox; once a worker
   has marked a write "sending" (it is at Shopify) the worker holding it is killed, for an
   acceptance and again for a fulfillment. The write runs at Shopify after its sender died.
2. **API faults**: 5xx, 429 THROTTLED, dropped connections and lost answers (the write ran,
   then the connection dropped or a 502 came back), with webhook drops, duplicates and
   reordering; a worker holding claims is killed half-way.
3. **blackout**: the bridge's HTTP app is killed while orders arrive (callbacks and webhooks
   fail and are retried by the sandbox), then started again on the same port.

Then the faults are cleared, every accepted order is shipped, and the run waits for the bridge
to finish. It reports, per fulfillment order: **lost** (never accepted, or shipped and never
fulfilled, with nothing left to do), **doubled** (two work orders, or two fulfillments, or
more units fulfilled than ordered), **stuck** (work still waiting at the end), and the
latency of request -> accepted and shipment -> fulfillment. Exit status 0 when nothing was
lost, doubled or stuck; 1 otherwise; 2 when the run could not finish.

The workers run ``tests/e2e/worker_process.py`` (the worker's own rounds with the outbox
lease shortened to seconds) while the settings have no ``worker_lease_seconds``; where they
do, plain ``fulfillbridge worker`` with that setting shortened.

Usage: ``python bench/chaos.py [--orders 5] [--workers 2] [--postgres URL] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402
from tests.e2e.harness import (  # noqa: E402
    SHOP,
    STORE,
    TOKEN,
    WEBHOOK_SECRET,
    WorkerProcess,
    free_port,
    fulfillbridge_command,
    write_config,
)

from fulfillbridge.config import Settings, load_settings  # noqa: E402
from fulfillbridge.store.db import normalize_url  # noqa: E402

ACCEPT, FULFIL = "accept_request", "create_fulfillment"
SLOW_SECONDS = 2.5  # a slowed write: the kill lands while Shopify still holds it
LEASE_SECONDS = 8.0
WEBHOOK_BACKOFF = 0.01  # the sandbox's retry schedule, 100 times faster


class RunFailed(Exception):
    """The run could not go on (start-up failed, the time limit passed)."""


@dataclass
class Options:
    orders: int = 5  # orders per phase
    workers: int = 2
    postgres: str | None = None
    time_limit: float = 240.0
    keep: Path | None = None
    seed: int = 7


@dataclass
class Report:
    created: list[str] = field(default_factory=list)
    lost: dict[str, str] = field(default_factory=dict)
    doubled: dict[str, str] = field(default_factory=dict)
    stuck: dict[str, str] = field(default_factory=dict)
    request_to_accepted: list[float] = field(default_factory=list)
    shipment_to_fulfillment: list[float] = field(default_factory=list)
    kills: list[str] = field(default_factory=list)
    slow: list[str] = field(default_factory=list)  # phases that outlasted their wait
    faults: Counter[str] = field(default_factory=Counter)
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    database: str = "sqlite"

    @property
    def ok(self) -> bool:
        return not (self.lost or self.doubled or self.stuck)

    def text(self) -> str:
        lines = [
            f"chaos run on {self.database}: {len(self.created)} fulfillment orders "
            f"in {self.seconds:.1f} s",
            f"kills: {'; '.join(self.kills) or 'none'}",
            "faults inflicted by the sandbox: "
            + (", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())) or "none"),
            f"lost {len(self.lost)}  doubled {len(self.doubled)}  stuck {len(self.stuck)}",
        ]
        lines += [f"  slower than the phase allowed: {note}" for note in self.slow]
        for label, found in (("lost", self.lost), ("doubled", self.doubled), ("stuck", self.stuck)):
            lines += [f"  {label}: {fo} ({why})" for fo, why in sorted(found.items())]
        lines.append(f"{'latency (s)':<26}{'n':>5}{'p50':>9}{'p95':>9}{'max':>9}")
        for label, values in (
            ("request -> accepted", self.request_to_accepted),
            ("shipment -> fulfillment", self.shipment_to_fulfillment),
        ):
            if values:
                lines.append(
                    f"{label:<26}{len(values):>5}{_percentile(values, 0.5):>9.2f}"
                    f"{_percentile(values, 0.95):>9.2f}{max(values):>9.2f}"
                )
            else:
                lines.append(f"{label:<26}{0:>5}")
        if self.metrics:
            lines.append(
                "metrics: " + ", ".join(f"{k} {v:g}" for k, v in sorted(self.metrics.items()))
            )
        return "\n".join(lines)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(share * 100) - 1]


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _gid_number(gid: str) -> str:
    return gid.rsplit("/", 1)[-1]


class Chaos:
    def __init__(self, options: Options, workdir: Path) -> None:
        self.options = options
        self.workdir = workdir
        self.home = workdir / "home"
        self.report = Report()
        self.deadline = time.monotonic() + options.time_limit
        self.bridge_port = free_port()
        self.sandbox_port = free_port()
        self.bridge_url = f"http://127.0.0.1:{self.bridge_port}"
        self.sandbox_url = f"http://127.0.0.1:{self.sandbox_port}"
        self.sandbox: WorkerProcess | None = None
        self.serve: WorkerProcess | None = None
        self.workers: dict[str, WorkerProcess] = {}
        self.worker_ports: dict[str, int] = {}
        self.started = 0
        self.engine: Engine | None = None
        self.http = httpx.AsyncClient(timeout=30, trust_env=False)
        self.api: httpx.AsyncClient | None = None
        self.asked_at: dict[str, float] = {}  # fulfillment order -> when its order was made
        self.shipped_at: dict[str, float] = {}  # fulfillment order -> when it was shipped
        self.database_url: str | None = None
        self._pg_admin: str | None = None

    # -- time ----------------------------------------------------------------------------------

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    async def until(self, check: Any, what: str, timeout: float) -> Any:
        limit = min(time.monotonic() + timeout, self.deadline)
        while time.monotonic() < limit:
            found = check()
            if found:
                return found
            await asyncio.sleep(0.05)
        raise RunFailed(f"timed out waiting for {what}")

    # -- processes -----------------------------------------------------------------------------

    def _process(self, name: str, command: list[str]) -> WorkerProcess:
        return WorkerProcess(command, self.workdir / f"{name}.log").start()

    def start_worker(self) -> str:
        self.started += 1
        name = f"chaos-w{self.started}"
        port = free_port()
        if "worker_lease_seconds" in Settings.model_fields:
            command = fulfillbridge_command("worker", "--metrics-port", str(port))
        else:
            command = [sys.executable, "-m", "tests.e2e.worker_process", "--worker-id", name]
            command += ["--metrics-port", str(port)]
        self.workers[name] = self._process(name, command)
        self.worker_ports[name] = port
        return name

    async def kill_worker(self, name: str, why: str) -> None:
        await self.workers.pop(name).kill()
        self.worker_ports.pop(name, None)
        self.report.kills.append(f"{name} {why}")

    def start_serve(self) -> None:
        command = fulfillbridge_command(
            "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(self.bridge_port)
        )
        self.serve = self._process(f"serve{len(self.report.kills)}", command)

    async def wait_http(self, url: str, what: str) -> None:
        async def answered() -> bool:
            with contextlib.suppress(httpx.HTTPError):
                return (await self.http.get(url, timeout=1)).status_code == 200
            return False

        limit = time.monotonic() + 30
        while time.monotonic() < limit:
            if await answered():
                return
            await asyncio.sleep(0.1)
        raise RunFailed(f"the {what} did not answer {url}")

    # -- set-up --------------------------------------------------------------------------------

    def _fresh_postgres(self, server: str) -> str:
        admin = normalize_url(server, asynchronous=False)
        name = f"chaos_{uuid.uuid4().hex[:10]}"
        engine = create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        self._pg_admin = server
        return make_url(server).set(database=name).render_as_string(hide_password=False)

    def _drop_postgres(self) -> None:
        if self._pg_admin is None or self.database_url is None:
            return
        name = make_url(self.database_url).database
        admin = normalize_url(self._pg_admin, asynchronous=False)
        engine = create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with contextlib.suppress(Exception), engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    async def start(self) -> None:
        os.environ["FULFILLBRIDGE_HOME"] = str(self.home)
        os.environ["FULFILLBRIDGE_SANDBOX_WEBHOOK_BACKOFF"] = str(WEBHOOK_BACKOFF)
        extra: dict[str, Any] = {"reconcile_interval_seconds": 3.0, "worker_poll_seconds": 0.2}
        if "worker_lease_seconds" in Settings.model_fields:
            # The product's settle time (60 s): a write that got no answer is sent again
            # early only where core.resend shows a late copy cannot double it.
            extra |= {"worker_lease_seconds": LEASE_SECONDS}
        if self.options.postgres:
            self.database_url = self._fresh_postgres(self.options.postgres)
            extra["database_url"] = self.database_url
            self.report.database = "postgresql"
        write_config(self.home, self.bridge_url, **extra)
        settings = load_settings()
        self.sandbox = self._process(
            "sandbox",
            [
                sys.executable,
                "-m",
                "fulfillbridge.sandbox.server",
                "--port",
                str(self.sandbox_port),
            ],
        )
        await self.wait_http(f"{self.sandbox_url}/__sandbox/clock", "sandbox")
        self.start_serve()
        await self.wait_http(f"{self.bridge_url}/readyz", "bridge")
        await self._connect(settings)
        self.engine = create_engine(
            normalize_url(settings.effective_database_url, asynchronous=False), poolclass=NullPool
        )
        for _ in range(self.options.workers):
            self.start_worker()
        await self.control(
            f"/__sandbox/shops/{SHOP}/settings", {"auto_submit_fulfillment_requests": True}
        )
        await self.control(
            f"/__sandbox/seed?shop={SHOP}",
            {"products": 4, "orders": 0, "seed": self.options.seed, "stock_at": "service"},
        )

    async def _connect(self, settings: Settings) -> None:
        from fulfillbridge.core.stores import AuthKind
        from fulfillbridge.flows import configure, connect, setup
        from fulfillbridge.store.api_keys import ApiKeyRepository
        from fulfillbridge.store.database import Database

        await connect.add_store(
            settings,
            name=STORE,
            shop=SHOP,
            kind=AuthKind.TOKEN,
            token=TOKEN,
            webhook_secret=WEBHOOK_SECRET,
            api_url=self.sandbox_url,
        )
        await configure.configure_store(settings, STORE, mode="fulfillment_service")
        await setup.setup_store(settings, STORE)
        database = Database.from_settings(settings, migrate=False)
        try:
            async with database.transaction() as session:
                key = (await ApiKeyRepository(session).create("chaos", [STORE])).plain
        finally:
            await database.close()
        self.api = httpx.AsyncClient(
            base_url=f"{self.bridge_url}/api/v1",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
            trust_env=False,
        )

    async def control(self, path: str, body: Any) -> dict[str, Any]:
        response = await self.http.post(f"{self.sandbox_url}{path}", json=body)
        if response.status_code != 200:
            raise RunFailed(f"{path}: {response.status_code} {response.text}")
        return dict(response.json())

    async def faults(self, **settings: Any) -> None:
        await self.control("/__sandbox/faults", {"seed": self.options.seed, **settings})

    # -- the bridge's database (read only) -----------------------------------------------------

    def rows(self, sql: str) -> list[Any]:
        assert self.engine is not None
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql)).all())

    def work(self) -> dict[str, list[tuple[int, str]]]:
        found: dict[str, list[tuple[int, str]]] = {}
        for work_id, remote_id, state in self.rows("SELECT id, remote_id, state FROM work_orders"):
            found.setdefault(remote_id, []).append((work_id, state))
        return found

    def writes(self) -> list[Any]:
        return self.rows(
            "SELECT o.kind, o.status, o.done_at, o.claimed_by, o.claimed_until, w.remote_id "
            "FROM outbox o JOIN work_orders w ON w.id = o.work_order_id WHERE o.target = 'shopify'"
        )

    def holder_of(self, kind: str | None, statuses: tuple[str, ...]) -> str | None:
        """The live worker holding a claim on a write of ``kind`` in one of ``statuses``."""
        now = time.time()
        for row_kind, status, _done, claimed_by, claimed_until, _fo in self.writes():
            if kind is not None and row_kind != kind:
                continue
            if status not in statuses or not claimed_by:
                continue
            until = _epoch(claimed_until)
            name = self._worker_named(str(claimed_by))
            if until is not None and until > now and name is not None:
                return name
        return None

    def _worker_named(self, holder: str) -> str | None:
        """The live worker a claim's holder names: by its id (``chaos-wN#...``), or by its
        process id inside `fulfillbridge worker`'s default id (``host-PID-xxxxxx#...``)."""
        base = holder.split("#", 1)[0]
        for name, process in self.workers.items():
            pid = process.process.pid if process.process is not None else None
            if base == name or (pid is not None and f"-{pid}-" in f"{base}-"):
                return name
        return None

    def busy(self) -> bool:
        waiting = self.rows("SELECT count(*) FROM inbox_events WHERE processed_at IS NULL")
        unsent = self.rows(
            "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending', 'unknown')"
        )
        return bool(waiting[0][0] or unsent[0][0])

    # -- the merchant and the operation --------------------------------------------------------

    async def create_orders(self, count: int) -> list[str]:
        began = time.time()
        made = await self.control(
            f"/__sandbox/shops/{SHOP}/merchant",
            {"action": "create_orders", "count": count, "variety": "simple"},
        )
        fos = list(made["service_fulfillment_order_ids"])
        for fo in fos:
            self.asked_at[fo] = began
        self.report.created += fos
        return fos

    def accepted(self, fos: list[str]) -> list[str]:
        done = {
            fo for kind, status, *_r, fo in self.writes() if kind == ACCEPT and status == "done"
        }
        return [fo for fo in fos if fo in done]

    async def ship(self, fo: str) -> None:
        """The operation ships the whole fulfillment order once (the same idempotency key if
        the call has to be repeated)."""
        assert self.api is not None
        if fo in self.shipped_at:
            return
        [(work_id, _state)] = self.work()[fo]
        number = f"1ZCHAOS{_gid_number(fo)}"
        key = str(uuid.uuid4())
        began = time.time()
        for _ in range(20):
            with contextlib.suppress(httpx.TransportError):
                response = await self.api.post(
                    f"/work/{work_id}/shipments",
                    json={"packages": [{"company": "UPS", "number": number}]},
                    headers={"Idempotency-Key": key},
                )
                if response.status_code in (200, 201):
                    self.shipped_at[fo] = began
                    return
                if response.status_code == 409:  # not shippable yet (still being accepted)
                    await asyncio.sleep(0.3)
                    continue
                raise RunFailed(f"shipping {fo}: {response.status_code} {response.text}")
            await asyncio.sleep(0.3)
        raise RunFailed(f"shipping {fo} kept failing")

    async def ship_accepted(self) -> None:
        waiting = [fo for fo in self.report.created if fo not in self.shipped_at]
        for fo in self.accepted(waiting):
            await self.ship(fo)

    # -- the phases ----------------------------------------------------------------------------

    async def kill_mid_write(self, kind: str, make_work: Any) -> None:
        """Slow every write down, make work of ``kind``, and kill the worker whose write of
        that kind is at Shopify."""
        await self.faults(api={"slow": 1.0, "slow_seconds": SLOW_SECONDS, "mutations_only": True})
        await make_work()
        holder = await self.until(
            lambda: self.holder_of(kind, ("sending",)), f"a {kind} write in flight", 40
        )
        await asyncio.sleep(0.5)  # the request is at the sandbox, its answer seconds away
        await self.kill_worker(holder, f"(kill -9 while its {kind} was at Shopify)")
        self.start_worker()
        await self.faults()

    async def phase_kills(self) -> None:
        first = await self.create_orders(2)
        await self.until(lambda: len(self.accepted(first)) == len(first), "first acceptances", 60)

        async def more_orders() -> None:
            await self.create_orders(self.options.orders)

        await self.kill_mid_write(ACCEPT, more_orders)

        async def shipments() -> None:
            for fo in first:
                await self.ship(fo)

        await self.kill_mid_write(FULFIL, shipments)

    def fulfilled(self, fos: list[str]) -> list[str]:
        done = {
            fo for kind, status, *_r, fo in self.writes() if kind == FULFIL and status == "done"
        }
        return [fo for fo in fos if fo in done]

    async def through(self, fos: list[str], what: str) -> None:
        """Until ``fos`` are accepted, then shipped and fulfilled (under whatever faults).
        Orders still short of that after the wait are noted and the run goes on: the final
        check says whether they were lost, stuck or just late."""
        try:
            await self.until(lambda: len(self.accepted(fos)) == len(fos), f"{what}", 90)
        except RunFailed:
            self.report.slow.append(f"{what}: {len(self.accepted(fos))}/{len(fos)} accepted")
        for fo in self.accepted(fos):
            await self.ship(fo)
        shipped = [fo for fo in fos if fo in self.shipped_at]
        try:
            await self.until(lambda: self.fulfilled(shipped) == shipped, f"{what}", 90)
        except RunFailed:
            done = len(self.fulfilled(shipped))
            self.report.slow.append(f"{what}: {done}/{len(shipped)} fulfilled")

    async def phase_faults(self) -> None:
        await self.faults(
            api={
                "server_error": 0.15,
                "throttle": 0.15,
                "drop": 0.1,
                "lost": 0.15,
                # A short run meets every kind at least once, whatever the draws give.
                "first": ["drop", "server_error", "throttle", "lost"],
            },
            webhooks={"drop": 0.2, "duplicate": 0.2, "reorder": 0.2},
        )
        fos = await self.create_orders(self.options.orders)
        holder = await self.until(
            lambda: self.holder_of(None, ("pending", "sending", "unknown")),
            "a worker holding claims",
            30,
        )
        await self.kill_worker(holder, "(kill -9 while holding claims, API faults on)")
        self.start_worker()
        await self.through(fos, "orders under API and webhook faults")
        # Every write's answer lost half the time, as a 502 this time.
        await self.faults(api={"lost": 0.5, "lost_as": "bad_gateway", "mutations_only": True})
        await self.through(
            await self.create_orders(self.options.orders), "orders with lost answers"
        )

    async def phase_blackout(self) -> None:
        await self.faults(webhooks={"duplicate": 0.3, "reorder": 0.3})
        assert self.serve is not None
        await self.serve.kill()
        self.report.kills.append("serve (blackout of the HTTP app for 3 s)")
        await self.create_orders(self.options.orders)
        await asyncio.sleep(3.0)
        self.start_serve()
        await self.wait_http(f"{self.bridge_url}/healthz", "bridge after the blackout")

    async def finish(self) -> None:
        await self.faults()
        limit = time.monotonic() + max(10.0, self.remaining() - 15.0)
        quiet_since: float | None = None
        while time.monotonic() < limit:
            await self.ship_accepted()
            everything_shipped = len(self.shipped_at) == len(self.report.created)
            if everything_shipped and not self.busy():
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 1.5:
                    return
            else:
                quiet_since = None
            await asyncio.sleep(0.3)

    # -- the verdict ---------------------------------------------------------------------------

    async def verify(self) -> None:
        report = self.report
        state = (
            await self.http.get(f"{self.sandbox_url}/__sandbox/state", params={"shop": SHOP})
        ).json()["parts"]["orders"]
        work = self.work()
        writes = self.writes()
        done: dict[tuple[str, str], float] = {}
        open_writes: Counter[str] = Counter()
        for kind, status, done_at, _by, _until, fo in writes:
            if status == "done" and done_at is not None:
                moment = _epoch(done_at)
                assert moment is not None
                done[(kind, fo)] = min(done.get((kind, fo), moment), moment)
            elif status in ("pending", "sending", "unknown", "failed"):
                open_writes[fo] += 1
        inbox_waiting = self.rows("SELECT count(*) FROM inbox_events WHERE processed_at IS NULL")
        for fo in report.created:
            number = _gid_number(fo)
            shop_fo = state["fulfillment_orders"].get(number)
            fulfillments = [
                f
                for f in state["fulfillments"].values()
                if int(number) in f["fulfillment_order_ids"] and f["status"] == "SUCCESS"
            ]
            ordered = sum(line["total_quantity"] for line in (shop_fo or {}).get("line_items", []))
            units = sum(line["quantity"] for f in fulfillments for line in f["line_items"])
            if len(work.get(fo, [])) > 1:
                report.doubled[fo] = f"{len(work[fo])} work orders"
            elif len(fulfillments) > 1:
                report.doubled[fo] = f"{len(fulfillments)} fulfillments at Shopify"
            elif ordered and units > ordered:
                report.doubled[fo] = f"{units} units fulfilled of {ordered}"
            if fo in report.doubled:
                continue
            finished = len(fulfillments) == 1 and (shop_fo or {}).get("status") == "CLOSED"
            if finished:
                pass
            elif open_writes[fo] or inbox_waiting[0][0]:
                report.stuck[fo] = f"{open_writes[fo]} writes still open"
            elif fo not in work:
                report.lost[fo] = "the bridge never took the request in"
            elif (ACCEPT, fo) not in done:
                report.lost[fo] = "never accepted at Shopify"
            else:
                report.lost[fo] = "shipped but never fulfilled at Shopify"
            if (ACCEPT, fo) in done and fo in self.asked_at:
                report.request_to_accepted.append(done[(ACCEPT, fo)] - self.asked_at[fo])
            if (FULFIL, fo) in done and fo in self.shipped_at:
                report.shipment_to_fulfillment.append(done[(FULFIL, fo)] - self.shipped_at[fo])
        log = (await self.http.get(f"{self.sandbox_url}/__sandbox/shops/{SHOP}/requests")).json()
        report.faults = Counter(e["fault"] for e in log["requests"] if e.get("fault"))
        await self.scrape()

    async def scrape(self) -> None:
        """The figures monitoring would have seen: the bridge's /metrics and each live
        worker's metrics port."""
        totals: Counter[str] = Counter()
        wanted = {
            "fulfillbridge_verifications_total",
            "fulfillbridge_shopify_throttled_total",
            "fulfillbridge_request_to_accepted_seconds_count",
            "fulfillbridge_shipment_to_fulfillment_seconds_count",
        }
        for port in self.worker_ports.values():
            with contextlib.suppress(httpx.HTTPError):
                body = (await self.http.get(f"http://127.0.0.1:{port}/metrics")).text
                for family in text_string_to_metric_families(body):
                    for sample in family.samples:
                        if sample.name in wanted:
                            totals[sample.name] += sample.value
        # Late arrivals (a duplicated webhook sent later, a retried callback) can land just
        # after the run settled: give the workers a moment to drain them, as monitoring
        # would see a backlog come and go.
        backlog_names = ("fulfillbridge_outbox_backlog", "fulfillbridge_inbox_backlog")
        deadline = time.monotonic() + 30.0
        while True:
            backlog: Counter[str] = Counter()
            bridge = (await self.http.get(f"{self.bridge_url}/metrics")).text
            for family in text_string_to_metric_families(bridge):
                for sample in family.samples:
                    if sample.name in backlog_names:
                        backlog[sample.name] += sample.value
            if not any(backlog.values()) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1.0)
        totals.update(backlog)
        self.report.metrics = dict(totals)

    # -- the whole run -------------------------------------------------------------------------

    async def run(self) -> Report:
        began = time.monotonic()
        try:
            await self.start()
            await self.phase_kills()
            await self.phase_faults()
            await self.phase_blackout()
            await self.finish()
            await self.verify()
        finally:
            self.report.seconds = time.monotonic() - began
            await self.stop()
        return self.report

    async def stop(self) -> None:
        for process in [*self.workers.values(), self.serve, self.sandbox]:
            if process is not None and process.alive:
                with contextlib.suppress(Exception):
                    await process.stop(timeout=10)
                process.ensure_stopped()
        await self.http.aclose()
        if self.api is not None:
            await self.api.aclose()
        if self.engine is not None:
            self.engine.dispose()
        self._drop_postgres()


async def run_chaos(options: Options, workdir: Path) -> Report:
    return await Chaos(options, workdir).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=5, help="orders per phase")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("FULFILLBRIDGE_TEST_POSTGRES_URL"),
        help="a PostgreSQL server URL (a fresh database is made on it); default: SQLite",
    )
    parser.add_argument("--time-limit", type=float, default=240.0)
    parser.add_argument("--keep", type=Path, default=None, help="keep logs and data here")
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args(argv)
    options = Options(
        orders=arguments.orders,
        workers=arguments.workers,
        postgres=arguments.postgres,
        time_limit=arguments.time_limit,
        keep=arguments.keep,
        seed=arguments.seed,
    )
    for key in [k for k in os.environ if k.startswith("FULFILLBRIDGE_") and "TEST" not in k]:
        del os.environ[key]
    with contextlib.ExitStack() as stack:
        if options.keep is not None:
            options.keep.mkdir(parents=True, exist_ok=True)
            workdir = options.keep
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fb-chaos-")))
        try:
            report = asyncio.run(run_chaos(options, workdir))
        except RunFailed as exc:
            print(f"the chaos run could not finish: {exc}", file=sys.stderr)
            return 2
    print(report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
