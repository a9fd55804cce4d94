"""Many stores, several worker processes: does work spread, and does it stay cheap?

One sandbox process serves ``--stores`` shops (50 by default), each connected to the bridge
as a fulfillment service whose merchant submits fulfillment requests automatically. The
bridge's app (``fulfillbridge serve --no-worker``) and N ``fulfillbridge worker`` processes
share one PostgreSQL database (a fresh one per run, on the server ``--database-url`` names).
After a warm-up order per store come two phases. Paced: one order at a time, each at the
next store in turn, ``--paced-rate`` per second for ``--paced-seconds`` (a steady rate the
system keeps up with): its request -> accepted p50/p99 is the latency an order sees when
nothing is queued. Burst: every shop gets ``--orders`` orders in one merchant call, all
shops at once, until every fulfillment request is accepted at Shopify: its orders/s is the
throughput, and its p99 is close to the burst's whole length (the last of 1,000 orders made
at once waits for the others).

Printed per run (one run per count in ``--workers``, default 1,2,4), with ratios against the
first: orders/s (orders / seconds from the first merchant call to the last acceptance), CPU
seconds per order of the bridge's processes (app and workers; the sandbox's apart), Shopify
points per order (actual cost, every shop's request log), THROTTLED answers, and request ->
accepted p50/p99 of the burst and of the paced phase. Every fulfillment order is then
checked: one work order, accepted once. ``--profile DIR`` runs every process under cProfile.

Usage: ``python bench/many_stores.py --database-url postgresql://user@127.0.0.1:5432/db
[--stores 50] [--orders 20] [--workers 1,2,4] [--paced-rate 4] [--paced-seconds 30]
[--time-limit 300] [--profile DIR]``. Exit status 0 when
every run finished with nothing lost or doubled, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import order_flow as flow

TOKEN = "shpat_bench_many_stores"
SECRET = "bench-many-stores-client-secret"
PRODUCTS = 4
SETUP_AT_ONCE = 8  # stores set up concurrently
ACCEPT = "accept_request"


def shop_of(index: int) -> str:
    return f"bench-{index:03d}.myshopify.com"


@dataclass
class Result:
    workers: int
    orders: int
    finished: bool = False
    problems: list[str] = field(default_factory=list)
    seconds: float | None = None
    latencies: list[float] = field(default_factory=list)
    # CPU seconds of the burst by who spent them (app, workers, sandbox, PostgreSQL, this
    # benchmark) and the machine's CPUs busy, as a share of all of them.
    cpu_by_part: dict[str, float] = field(default_factory=dict)
    machine_busy: float | None = None
    transactions: int | None = None  # PostgreSQL transactions in the run's database
    points: int = 0
    calls: int = 0
    calls_by_operation: Counter[str] = field(default_factory=Counter)
    throttled: int = 0
    stages: dict[str, float] = field(default_factory=dict)
    # The paced phase: one order at a time across the stores at a steady rate.
    paced: list[float] = field(default_factory=list)
    paced_rate: float | None = None  # orders per second actually made

    @property
    def orders_per_second(self) -> float | None:
        return self.orders / self.seconds if self.seconds else None

    @property
    def bridge_cpu(self) -> float | None:
        """CPU seconds of the bridge's processes (the app and the workers) in the burst."""
        parts = self.cpu_by_part
        return parts["app"] + parts["workers"] if parts else None

    @property
    def sandbox_cpu(self) -> float | None:
        return self.cpu_by_part.get("sandbox")

    @property
    def cpu_per_order(self) -> float | None:
        return self.bridge_cpu / self.orders if self.bridge_cpu is not None else None

    @property
    def points_per_order(self) -> float | None:
        return self.points / self.orders if self.orders else None


class Run:
    def __init__(self, args: argparse.Namespace, workers: int, workdir: Path) -> None:
        self.args = args
        self.workers = workers
        self.home = workdir / "home"
        self.deadline = time.monotonic() + args.time_limit
        self.bridge_port, self.sandbox_port = flow._free_port(), flow._free_port()
        self.bridge_url = f"http://127.0.0.1:{self.bridge_port}"
        self.sandbox_url = f"http://127.0.0.1:{self.sandbox_port}"
        self.database_url = flow.fresh_postgres_database(args.database_url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("FULFILLBRIDGE_")}
        env |= {
            "FULFILLBRIDGE_HOME": str(self.home),
            "FULFILLBRIDGE_PUBLIC_URL": self.bridge_url,
            "FULFILLBRIDGE_DATABASE_URL": self.database_url,
            "FULFILLBRIDGE_LOG_LEVEL": "WARNING",
        }
        self.processes = flow.Processes(workdir, env)
        self.profile: Path | None = args.profile
        self.sandbox: httpx.AsyncClient | None = None
        self.db: flow.BridgeDb | None = None

    def start_process(self, name: str, args: list[str]) -> None:
        """Start a child, under cProfile when ``--profile`` names a directory (the profile is
        written when the process stops cleanly at the end of the run)."""
        if self.profile is not None:
            out = self.profile / f"w{self.workers}-{name}.prof"
            args = ["-m", "cProfile", "-o", str(out), *args]
        self.processes.start(name, args)

    def settings(self) -> Any:
        from fulfillbridge.config import Settings

        return Settings(home=self.home, public_url=self.bridge_url, database_url=self.database_url)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    async def start(self) -> None:
        start_by = time.monotonic() + 60
        self.start_process(
            "sandbox", ["-m", "fulfillbridge.sandbox.server", "--port", str(self.sandbox_port)]
        )
        await flow._wait_http(
            f"{self.sandbox_url}/__sandbox/clock", self.processes, start_by, what="sandbox"
        )
        self.sandbox = httpx.AsyncClient(base_url=self.sandbox_url, timeout=60, trust_env=False)
        from fulfillbridge.core.stores import AuthKind
        from fulfillbridge.flows import configure, connect

        settings = self.settings()
        for index in range(self.args.stores):
            shop = shop_of(index)
            added = await self.sandbox.post(
                "/__sandbox/shops",
                json={
                    "domain": shop,
                    "plan": "Standard",
                    "access_token": TOKEN,
                    "client_secret": SECRET,
                },
            )
            flow._expect(added, 201, f"adding {shop} to the sandbox")
            await connect.add_store(
                settings,
                name=f"s{index:03d}",
                shop=shop,
                kind=AuthKind.TOKEN,
                token=TOKEN,
                webhook_secret=SECRET,
                api_url=f"{self.sandbox_url}/shops/{shop}",
            )
            await configure.configure_store(settings, f"s{index:03d}", mode="fulfillment_service")
        serve = ["-m", "fulfillbridge.cli", "serve", "--port", str(self.bridge_port)]
        self.start_process("bridge", [*serve, "--host", "127.0.0.1", "--no-worker"])
        await flow._wait_http(f"{self.bridge_url}/healthz", self.processes, start_by, what="bridge")
        await self._set_up_stores()
        for index in range(self.args.stores):
            shop = shop_of(index)
            on = await self.sandbox.post(
                f"/__sandbox/shops/{shop}/settings", json={"auto_submit_fulfillment_requests": True}
            )
            flow._expect(on, 200, "turning on automatic fulfillment requests")
            seeded = await self.sandbox.post(
                f"/__sandbox/seed?shop={shop}",
                json={"products": PRODUCTS, "orders": 0, "seed": index, "stock_at": "service"},
            )
            flow._expect(seeded, 200, f"seeding {shop}")
        for number in range(1, self.workers + 1):
            self.start_process(f"worker-{number}", ["-m", "fulfillbridge.cli", "worker"])
        self.db = flow.BridgeDb(self.database_url)

    async def _set_up_stores(self) -> None:
        from fulfillbridge.flows import setup

        settings = self.settings()
        gate = asyncio.Semaphore(SETUP_AT_ONCE)

        async def one(index: int) -> None:
            async with gate:
                await setup.setup_store(settings, f"s{index:03d}")

        await asyncio.gather(*(one(i) for i in range(self.args.stores)))

    def accepted(self) -> dict[tuple[str, str], float]:
        """(store, fulfillment order gid) -> when its acceptance was done at Shopify (gids
        are per shop: two shops may use the same one)."""
        assert self.db is not None
        done: dict[tuple[str, str], float] = {}
        for store, remote_id, done_at in self.db.rows(
            "SELECT s.name, w.remote_id, o.done_at FROM outbox o"
            " JOIN work_orders w ON w.id = o.work_order_id JOIN stores s ON s.id = w.store_id"
            " WHERE o.kind = ? AND o.status = 'done'",
            (ACCEPT,),
        ):
            moment = flow._epoch(done_at)
            if moment is not None:
                key = (store, remote_id)
                done[key] = min(done.get(key, moment), moment)
        return done

    async def create_orders(self, shop: str, count: int) -> tuple[float, list[tuple[str, str]]]:
        assert self.sandbox is not None
        began = time.time()
        response = await self.sandbox.post(
            f"/__sandbox/shops/{shop}/merchant",
            json={"action": "create_orders", "count": count, "variety": "simple"},
        )
        flow._expect(response, 200, f"creating orders at {shop}")
        made = list(response.json()["service_fulfillment_order_ids"])
        if len(made) != count:
            raise flow.RunFailed(f"{shop}: asked for {count} requests, got {len(made)}")
        store = f"s{int(shop.split('-')[1].split('.')[0]):03d}"
        return began, [(store, fo) for fo in made]

    async def all_accepted(
        self, started: dict[tuple[str, str], float], what: str
    ) -> dict[tuple[str, str], float]:
        while True:
            accepted = self.accepted()
            done = {fo: accepted[fo] for fo in started if fo in accepted}
            if len(done) == len(started):
                return done
            if self.remaining() <= 0:
                raise flow.RunFailed(f"time limit: {len(done)}/{len(started)} {what} accepted")
            self.processes.check_alive()
            await asyncio.sleep(0.05)

    async def request_logs(self) -> list[list[dict[str, Any]]]:
        """Each shop's request log, in the order of the shops."""
        assert self.sandbox is not None
        logs: list[list[dict[str, Any]]] = []
        for index in range(self.args.stores):
            got = await self.sandbox.get(f"/__sandbox/shops/{shop_of(index)}/requests")
            logs.append(got.json()["requests"])
        return logs

    def cpu_by_part(self) -> dict[str, float]:
        """CPU seconds so far of each part: the app, the workers, the sandbox, PostgreSQL's
        processes (ended backends counted through their parent) and this benchmark."""
        parts: dict[str, float] = {"app": 0.0, "workers": 0.0, "sandbox": 0.0}
        for name, seconds in self.processes.cpu().items():
            part = "workers" if name.startswith("worker") else "app" if name == "bridge" else name
            parts[part] = parts.get(part, 0.0) + (seconds or 0.0)
        parts["postgres"] = _postgres_cpu_seconds()
        usage = os.times()
        parts["benchmark"] = usage.user + usage.system
        return parts

    def transactions(self) -> int:
        """Commits and rollbacks so far in the run's database (PostgreSQL's statistics;
        this benchmark's own reads count too, a few per second)."""
        assert self.db is not None
        self.db.rows("SELECT pg_stat_clear_snapshot()")
        ((count,),) = self.db.rows(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database"
            " WHERE datname = current_database()"
        )
        return int(count)

    async def execute(self, result: Result) -> None:
        await self.start()
        shops = [shop_of(i) for i in range(self.args.stores)]
        warm: dict[tuple[str, str], float] = {}
        for shop in shops:
            began, made = await self.create_orders(shop, 1)
            warm |= dict.fromkeys(made, began)
        await self.all_accepted(warm, "warm-up requests")
        await asyncio.sleep(3.0)  # the warm-up's echoes die down
        if self.args.paced_seconds > 0:
            await self.paced_phase(shops, result)
            await asyncio.sleep(3.0)
        seen_log = [len(entries) for entries in await self.request_logs()]
        parts_before, machine_before = self.cpu_by_part(), _machine_ticks()
        transactions_before = self.transactions()
        made = await asyncio.gather(*(self.create_orders(shop, self.args.orders) for shop in shops))
        started = {fo: began for began, fos in made for fo in fos}
        done = await self.all_accepted(started, "burst requests")
        result.finished = True
        result.seconds = max(done.values()) - min(started.values())
        result.latencies = [done[fo] - started[fo] for fo in started]
        parts_after, machine_after = self.cpu_by_part(), _machine_ticks()
        await asyncio.sleep(1.5)  # PostgreSQL publishes its counts within a second
        result.transactions = self.transactions() - transactions_before
        result.cpu_by_part = {k: parts_after[k] - parts_before.get(k, 0.0) for k in parts_after}
        if machine_before is not None and machine_after is not None:
            busy = machine_after[0] - machine_before[0]
            total = machine_after[1] - machine_before[1]
            result.machine_busy = busy / total if total else None
        # Each shop's calls since the burst began (the logs are kept per shop).
        log = [
            entry
            for seen, entries in zip(seen_log, await self.request_logs(), strict=True)
            for entry in entries[seen:]
        ]
        result.calls = len(log)
        result.calls_by_operation.update(str(e.get("operation") or "?") for e in log)
        result.points = sum(int(e["actual"] or 0) for e in log)
        result.throttled = sum(1 for e in log if e["throttled"] and not e.get("fault"))
        result.problems = self.verify(set(started) | set(warm))
        result.stages = self.stages(min(started.values()))

    async def paced_phase(self, shops: list[str], result: Result) -> None:
        """Orders made one at a time, each at the next store in turn, at ``--paced-rate``
        per second for ``--paced-seconds``: latency when the system keeps up."""
        rate, count = self.args.paced_rate, int(self.args.paced_rate * self.args.paced_seconds)
        began = time.monotonic()

        async def one(index: int) -> tuple[float, list[tuple[str, str]]]:
            await asyncio.sleep(max(0.0, began + index / rate - time.monotonic()))
            return await self.create_orders(shops[index % len(shops)], 1)

        made = await asyncio.gather(*(one(i) for i in range(count)))
        result.paced_rate = count / max(1e-9, time.monotonic() - began)
        started = {fo: at for at, fos in made for fo in fos}
        done = await self.all_accepted(started, "paced requests")
        result.paced = [done[fo] - started[fo] for fo in started]

    def stages(self, since: float) -> dict[str, float]:
        """Median seconds of each step for the burst: the callback's arrival after the
        merchant's call, its wait in the inbox, and the acceptance's wait in the outbox."""
        assert self.db is not None
        arrive, wait, send = [], [], []
        for received, processed in self.db.rows(
            "SELECT received_at, processed_at FROM inbox_events WHERE source = 'callback'"
        ):
            r, p = flow._epoch(received), flow._epoch(processed)
            if r is not None and r >= since:
                arrive.append(r - since)
                if p is not None:
                    wait.append(p - r)
        for created, done in self.db.rows(
            "SELECT created_at, done_at FROM outbox WHERE kind = ? AND status = 'done'", (ACCEPT,)
        ):
            c, d = flow._epoch(created), flow._epoch(done)
            if c is not None and d is not None and c >= since:
                send.append(d - c)
        found = {"callback arrives": arrive, "inbox wait": wait, "outbox wait": send}
        return {k: flow._percentile(v, 0.5) for k, v in found.items() if v}

    def verify(self, expected: set[tuple[str, str]]) -> list[str]:
        assert self.db is not None
        problems = []
        work: dict[tuple[str, str], int] = {}
        for store, remote_id in self.db.rows(
            "SELECT s.name, w.remote_id FROM work_orders w JOIN stores s ON s.id = w.store_id"
        ):
            work[(store, remote_id)] = work.get((store, remote_id), 0) + 1
        for key in expected:
            if work.get(key, 0) != 1:
                problems.append(f"{key[0]} {key[1]}: {work.get(key, 0)} work orders")
        for (times,) in self.db.rows(
            "SELECT count(*) FROM outbox WHERE status = 'done' AND kind = ?"
            " GROUP BY work_order_id HAVING count(*) > 1",
            (ACCEPT,),
        ):
            problems.append(f"a work order was accepted {times} times")
        return problems

    async def close(self) -> None:
        if self.sandbox is not None:
            await self.sandbox.aclose()
        if self.db is not None:
            self.db.close()
        self.processes.stop()
        flow.drop_postgres_database(self.args.database_url, self.database_url)


async def run_once(args: argparse.Namespace, workers: int) -> Result:
    result = Result(workers, args.stores * args.orders)
    with tempfile.TemporaryDirectory(prefix="fb-many-") as workdir:
        run = Run(args, workers, Path(workdir))
        try:
            await run.execute(result)
        except flow.RunFailed as exc:
            result.problems.append(f"run did not finish: {exc}")
        finally:
            await run.close()
    return result


def _machine_ticks() -> tuple[int, int] | None:
    """(busy, total) clock ticks of all CPUs since boot (Linux /proc/stat; None elsewhere)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def _postgres_cpu_seconds() -> float:
    """CPU seconds of every process named ``postgres`` on this machine, with the ended
    children each has waited for (a backend ends with its connection)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, rest = text.split("(", 1)[1].rsplit(")", 1)
        if name != "postgres":
            continue
        fields = rest.split()
        total += sum(int(v) for v in fields[11:15]) / tick
    return total


def _ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:5.2f}x" if value and base else f"{'-':>6}"


def _num(value: float | None, fmt: str, width: int) -> str:
    return format(value, fmt).rjust(width) if value is not None else "-".rjust(width)


def report(results: list[Result], args: argparse.Namespace) -> None:
    base = results[0]
    print()
    print(f"{args.stores} stores x {args.orders} orders, PostgreSQL, {os.cpu_count()} CPUs")
    print(f"{'workers':>7} {'orders/s':>9} {'':>6} {'CPU s/order':>12} {'':>6} "
          f"{'points/order':>13} {'':>6} {'THROTTLED':>10} {'p50':>7} {'p99':>7}"
          f" {'paced p50':>9} {'p99':>7}  checks")  # fmt: skip
    for r in results:
        p50 = flow._percentile(r.latencies, 0.5) if r.latencies else None
        p99 = flow._percentile(r.latencies, 0.99) if r.latencies else None
        paced50 = flow._percentile(r.paced, 0.5) if r.paced else None
        paced99 = flow._percentile(r.paced, 0.99) if r.paced else None
        print(f"{r.workers:7d} {_num(r.orders_per_second, '.1f', 9)} "
              f"{_ratio(r.orders_per_second, base.orders_per_second)} "
              f"{_num(r.cpu_per_order, '.4f', 12)} {_ratio(r.cpu_per_order, base.cpu_per_order)} "
              f"{_num(r.points_per_order, '.1f', 13)} "
              f"{_ratio(r.points_per_order, base.points_per_order)} {r.throttled:10d} "
              f"{_num(p50, '.2f', 6)}s {_num(p99, '.2f', 6)}s "
              f"{_num(paced50, '.2f', 8)}s {_num(paced99, '.2f', 6)}s  "
              f"{'ok' if not r.problems else '; '.join(r.problems[:3])}")  # fmt: skip
        if r.cpu_by_part:
            print(" " * 8 + "CPU ms/order: " + ", ".join(
                f"{k} {v / r.orders * 1000:.1f}" for k, v in r.cpu_by_part.items())
                + (f"; the {os.cpu_count()} CPUs {r.machine_busy:.0%} busy"
                   if r.machine_busy is not None else "")
                + (f"; {r.transactions / r.orders:.1f} database transactions per order"
                   if r.transactions is not None else ""))  # fmt: skip
        if r.calls_by_operation:
            ranked = r.calls_by_operation.most_common()
            print(" " * 8 + f"Shopify calls per order {r.calls / r.orders:.2f}: " + ", ".join(
                f"{name} {count / r.orders:.2f}" for name, count in ranked[:6]))  # fmt: skip
        if r.stages:
            print(" " * 8 + "medians: " + ", ".join(f"{k} {v:.2f}s" for k, v in r.stages.items()))
    print("  orders/s: burst orders / (last acceptance - first merchant call); CPU: the bridge's"
          " app and workers (the sandbox's is apart: "
          + ", ".join(f"{r.sandbox_cpu / r.orders * 1000:.1f} ms" for r in results
                      if r.sandbox_cpu is not None)
          + " per order); points: actual cost over every shop's calls during the burst;"
          " p50/p99: request -> accepted in the burst; paced: request -> accepted with "
          + ", ".join(f"{r.paced_rate:.1f}" for r in results if r.paced_rate)
          + " orders/s made one at a time across the stores (the rate the system keeps up"
          " with), before the burst.")  # fmt: skip


async def main_async(args: argparse.Namespace, counts: list[int]) -> int:
    results = []
    for workers in counts:
        print(f"run: {workers} worker process(es) ...", flush=True)
        results.append(await run_once(args, workers))
    report(results, args)
    return 0 if all(r.finished and not r.problems for r in results) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL server database URL")
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--orders", type=int, default=20, help="orders per store in the burst")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts to compare")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per run")
    parser.add_argument("--paced-rate", type=float, default=4.0, help="orders/s of the paced phase")
    parser.add_argument(
        "--paced-seconds",
        type=float,
        default=30.0,
        help="length of the paced phase before the burst (0: none)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="directory for a cProfile file per process and run (w<N>-<process>.prof)",
    )
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a postgresql:// URL")
    if not (1 <= args.stores <= 200 and 1 <= args.orders <= 100):
        parser.error("--stores must be in [1, 200], --orders in [1, 100]")
    try:
        counts = [int(n) for n in args.workers.split(",")]
    except ValueError:
        parser.error(f"--workers must be numbers separated by commas, got {args.workers!r}")
    if not counts or not all(1 <= n <= 16 for n in counts):
        parser.error("--workers: each count must be in [1, 16]")
    if not (0.1 <= args.paced_rate <= 100 and 0 <= args.paced_seconds <= 600):
        parser.error("--paced-rate must be in [0.1, 100], --paced-seconds in [0, 600]")
    if not 30 <= args.time_limit <= 1800:
        parser.error("--time-limit must be in [30, 1800] seconds")
    with flow._clean_environment():
        return asyncio.run(main_async(args, counts))


if __name__ == "__main__":
    sys.exit(main())
