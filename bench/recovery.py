"""Recovery in seconds: a worker killed while it holds claims, and Shopify misbehaving.

One sandbox shop (a fulfillment service whose merchant submits requests automatically), the
bridge's app (``fulfillbridge serve --no-worker``) and two ``fulfillbridge worker``
processes on one database (SQLite in a temporary home, or a fresh PostgreSQL database on
the server ``--database-url`` names).

1. **kill -9.** Every Admin API answer is slowed (``--slow`` seconds), a burst of orders is
   made, and as soon as a worker holds outbox claims it is killed with SIGKILL (found by
   the pid in its heartbeat row). Printed: how long after the kill the rows it held were
   done by the other worker (the bound is the claim's lease, ``worker_lease_seconds``).
2. **Faults.** The sandbox answers 4 % of Admin API calls with a 5xx, 4 % with 429
   THROTTLED, drops 1 % of connections and answers 1 % after 35 s (longer than the
   client's timeout), drops 10 % of webhook deliveries and duplicates another 10 %, while
   the merchant makes ``--orders`` orders at ``--rate`` a second. Printed: created ->
   accepted p50/p99/max, and THROTTLED answers that were Shopify's bucket (not injected).

Both phases end with the checks: every fulfillment order has one work order and was
accepted exactly once at Shopify.

Usage: ``python bench/recovery.py [--database-url URL] [--orders 100] [--rate 2]
[--slow 2] [--time-limit 400]``. Exit status 0 when nothing was lost or doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import order_flow as flow

SHOP, TOKEN, SECRET, STORE = flow.SHOP, flow.TOKEN, flow.CLIENT_SECRET, flow.STORE
ACCEPT = "accept_request"
FAULTS = {
    "seed": 11,
    "api": {"server_error": 0.04, "throttle": 0.04, "drop": 0.01, "slow": 0.01,
            "slow_seconds": 35.0},
    "webhooks": {"drop": 0.1, "duplicate": 0.1},
}  # fmt: skip


class Recovery(flow.Run):
    """The order-flow bench's set-up (sandbox, app, store, API key) with two workers."""

    async def sandbox_call(self, path: str, body: Any) -> dict[str, Any]:
        assert self.sandbox is not None
        response = await self.sandbox.post(path, json=body)
        flow._expect(response, 200, f"sandbox {path}")
        return dict(response.json())

    async def faults(self, settings: dict[str, Any]) -> None:
        await self.sandbox_call("/__sandbox/faults", settings)

    def claims(self) -> dict[str, list[int]]:
        """Worker id -> the outbox rows it holds now."""
        assert self.db is not None
        held: dict[str, list[int]] = {}
        now = time.time()
        for row_id, holder, until in self.db.rows(
            "SELECT id, claimed_by, claimed_until FROM outbox WHERE claimed_by IS NOT NULL"
        ):
            ends = flow._epoch(until)
            if ends is not None and ends > now:
                held.setdefault(holder.split("#")[0], []).append(row_id)
        return held

    def worker_pid(self, worker_id: str) -> int | None:
        assert self.db is not None
        found = self.db.rows("SELECT pid FROM worker_heartbeats WHERE worker_id = ?", (worker_id,))
        return int(found[0][0]) if found else None

    async def kill_phase(self, orders: int, slow: float) -> dict[str, Any]:
        assert self.db is not None
        await self.faults({"api": {"slow": 1.0, "slow_seconds": slow}})
        began, _took, made = await self.create_orders(orders)
        victim: tuple[str, list[int]] | None = None
        while victim is None:
            if self.remaining() <= 0:
                raise flow.RunFailed("no worker ever held outbox claims")
            held = self.claims()
            if held:
                victim = max(held.items(), key=lambda item: len(item[1]))
            else:
                await asyncio.sleep(0.05)
        worker_id, rows = victim
        pid = self.worker_pid(worker_id)
        if pid is None:
            raise flow.RunFailed(f"worker {worker_id} has no heartbeat row")
        os.kill(pid, signal.SIGKILL)
        killed_at = time.time()
        await self.faults({})
        name = next(n for n, p in self.processes.running.items() if p.popen.pid == pid)
        self.processes.running.pop(name).popen.wait(timeout=10)

        def rows_done() -> bool:
            assert self.db is not None
            return len(self.db.done_by_outbox_id(rows)) == len(rows)

        await self.wait_until(rows_done, "the killed worker's rows to be done")
        done = self.db.done_by_outbox_id(rows)
        accepted = self.db.done_by_fulfillment_order(ACCEPT)

        def all_accepted() -> bool:
            assert self.db is not None
            accepted.update(self.db.done_by_fulfillment_order(ACCEPT))
            return all(fo in accepted for fo in made)

        await self.wait_until(all_accepted, "every order of the kill phase accepted")
        delays = sorted(done[r] - killed_at for r in rows)
        return {
            "rows": len(rows),
            "p50": flow._percentile(delays, 0.5),
            "max": delays[-1],
            "all_accepted_after": max(accepted[fo] for fo in made) - began,
        }

    async def fault_phase(self, orders: int, rate: float) -> dict[str, Any]:
        assert self.db is not None and self.sandbox is not None
        seen = len((await self.sandbox.get(f"/__sandbox/shops/{SHOP}/requests")).json()["requests"])
        await self.faults(FAULTS)
        started: dict[str, float] = {}
        first = time.monotonic()
        try:
            for index in range(orders):
                await asyncio.sleep(max(0.0, first + index / rate - time.monotonic()))
                began, _took, made = await self.create_orders(1)
                started[made[0]] = began
            done: dict[str, float] = {}

            def all_accepted() -> bool:
                assert self.db is not None
                accepted = self.db.done_by_fulfillment_order(ACCEPT)
                done.update({fo: accepted[fo] for fo in started if fo in accepted})
                return len(done) == len(started)

            await self.wait_until(all_accepted, "every order of the fault phase accepted")
        finally:
            await self.faults({})
        log = (await self.sandbox.get(f"/__sandbox/shops/{SHOP}/requests")).json()["requests"]
        log = log[seen:]
        latencies = sorted(done[fo] - started[fo] for fo in started)
        return {
            "orders": len(started),
            "p50": flow._percentile(latencies, 0.5),
            "p99": flow._percentile(latencies, 0.99),
            "max": latencies[-1],
            "throttled": sum(1 for e in log if e["throttled"] and not e.get("fault")),
            "faults": sum(1 for e in log if e.get("fault")),
            "calls": len(log),
        }


async def main_async(args: argparse.Namespace) -> int:
    options = flow.Options(
        orders=0,
        paced=0,
        rate=args.rate,
        concurrency=4,
        worker="separate",
        poll=1.0,
        plan="Standard",
        time_limit=args.time_limit,
        workers=2,
        database_url=args.database_url,
    )
    with tempfile.TemporaryDirectory(prefix="fb-recovery-") as workdir:
        run = Recovery(options, Path(workdir))
        status = 0
        try:
            await run.start()
            warm = await run.create_orders(2)
            await run.wait_until(
                lambda: all(
                    fo in run.db.done_by_fulfillment_order(ACCEPT)  # type: ignore[union-attr]
                    for fo in warm[2]
                ),
                "the warm-up orders accepted",
            )
            lease = run.settings().worker_lease_seconds
            killed = await run.kill_phase(args.kill_orders, args.slow)
            print(f"kill -9 of a worker holding {killed['rows']} outbox claims (lease {lease:g} s,"
                  f" every answer slowed to {args.slow:g} s while it worked):")  # fmt: skip
            print(f"  its rows done by the other worker {killed['p50']:.1f} s (p50),"
                  f" {killed['max']:.1f} s (max) after the kill; all"
                  f" {args.kill_orders} orders accepted {killed['all_accepted_after']:.1f} s"
                  " after they were made")  # fmt: skip
            faulted = await run.fault_phase(args.orders, args.rate)
            print("faults (5xx 4 %, 429 4 %, dropped 1 %, 35 s answers 1 %; webhooks dropped"
                  f" 10 %, duplicated 10 %), {faulted['orders']} orders"
                  f" at {args.rate:g}/s:")  # fmt: skip
            print(f"  created -> accepted p50 {faulted['p50']:.2f} s, p99 {faulted['p99']:.2f} s,"
                  f" max {faulted['max']:.2f} s; {faulted['calls']} API calls, {faulted['faults']}"
                  f" faults injected, {faulted['throttled']} THROTTLED by the bucket")  # fmt: skip
        except flow.RunFailed as exc:
            print(f"RUN DID NOT FINISH: {exc}")
            status = 2
        finally:
            if run.db is not None and run.sandbox is not None:
                problems = [p for p in await run.verify() if "fulfill" not in p]
                for problem in problems:
                    print(f"  PROBLEM: {problem}")
                if problems and status == 0:
                    status = 1
                if status == 0:
                    print("checks: every fulfillment order has one work order, accepted once.")
            await run.close()
            run.processes.stop()
            run.drop_database()
        return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL server database (default: SQLite)")
    parser.add_argument("--orders", type=int, default=100, help="orders of the fault phase")
    parser.add_argument("--rate", type=float, default=2.0, help="orders a second (fault phase)")
    parser.add_argument("--kill-orders", type=int, default=30, help="orders of the kill phase")
    parser.add_argument("--slow", type=float, default=2.0, help="seconds per answer (kill phase)")
    parser.add_argument("--time-limit", type=float, default=400.0)
    args = parser.parse_args(argv)
    if args.database_url and not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a postgresql:// URL")
    if not (1 <= args.orders <= 1000 and 1 <= args.kill_orders <= 500):
        parser.error("--orders must be in [1, 1000], --kill-orders in [1, 500]")
    if not (0 < args.rate <= 50 and 0 < args.slow <= 10 and 60 <= args.time_limit <= 1800):
        parser.error("--rate in (0, 50], --slow in (0, 10], --time-limit in [60, 1800]")
    with flow._clean_environment():
        return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
