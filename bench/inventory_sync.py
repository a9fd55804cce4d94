"""Inventory sync of 10,000 SKU levels into a sandbox store on the Standard plan limits.

The sandbox runs over real HTTP (uvicorn on 127.0.0.1) with its default shop on the
Standard plan (bucket 2000 points, 100 points/s restored). The 10,000 variants are seeded
through the sandbox's domain API in-process (``Catalog`` on the shop's state), not by
10,000 GraphQL calls: seeding is not what is measured. The bridge runs in this process on a
SQLite file in a temporary home.

Measured:
1. the SKU mapping (``flows.inventory.refresh_mapping``), shown apart: through a bulk
   operation (the default, what ``fulfillbridge inventory map`` does), then page by page for
   comparison; time, calls and points of each;
2. the push of 10,000 changed levels (``flows.inventory.push``): wall time, calls made and
   points spent, read from the sandbox's request log; compared with the points the minimum
   number of calls (ceil(10,000 / 250)) needs at the cost of one such call;
3. the way most connectors do it, one inventorySetQuantities call per item, on the same
   sandbox: a sample of ``--sample`` calls is measured (through the same client, which
   waits for the bucket) and extrapolated to 10,000. The extrapolation takes the larger of
   the sample's per-call time times 10,000 and the time the bucket needs to restore the
   points: (10,000 x cost - bucket size) / restore rate.

Targets (issue 5): push under 30 s; points at most 1.1 x the minimum calls' points.

Usage: ``python bench/inventory_sync.py [--skus 10000] [--sample 500]``. Exit status 1 when a
target is missed or a level in the sandbox is not what was pushed.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from pathlib import Path

import httpx

from fulfillbridge.config import Settings
from fulfillbridge.core.inventory import CHUNK_SIZE, LevelTarget, RawRow
from fulfillbridge.core.stores import AuthKind
from fulfillbridge.flows import inventory
from fulfillbridge.flows.connect import store_client
from fulfillbridge.sandbox.domain.catalog import Catalog
from fulfillbridge.sandbox.server import SandboxServer
from fulfillbridge.sandbox.state import gid
from fulfillbridge.store.database import Database

DOMAIN = "demo-shop.myshopify.com"
TARGET_SECONDS = 30.0
TARGET_POINTS_RATIO = 1.1


def _seed(server: SandboxServer, count: int) -> tuple[Catalog, int, list[int]]:
    """``count`` tracked variants, each with its own SKU and a level of 0 at the location."""
    state = server.sandbox.shops[DOMAIN].state
    location = min(state.locations)
    catalog: Catalog = state.part("catalog", Catalog)
    items = []
    for n in range(count):
        product = catalog.create_product(f"Bench product {n}", default_variant=False)
        variant = catalog.add_variant(product.id, sku=f"BENCH-{n:05d}", tracked=True)
        catalog.activate(
            variant.inventory_item_id,
            location,
            available=0,
            on_hand=0,
        )
        items.append(variant.inventory_item_id)
    return catalog, location, items


def _log(server: SandboxServer) -> list[dict]:
    answer = httpx.get(f"{server.url}/__sandbox/shops/{DOMAIN}/requests", timeout=30)
    return answer.json()["requests"]


def _spent(entries: list[dict], operation: str) -> tuple[int, int]:
    mine = [e for e in entries if e["operation"] == operation and not e["throttled"]]
    return len(mine), sum(e["actual"] or 0 for e in mine)


async def _one_by_one(
    database: Database, settings: Settings, items: list[int], location: int, sample: int
) -> tuple[float, int, int]:
    """(seconds, calls, points) of ``sample`` single-item calls."""
    async with database.stores() as stores:
        store = await stores.get("bench")
    meter = inventory.CallMeter()
    started = time.perf_counter()
    async with store_client(database, settings, store, {"access_token": "shpat_sandbox"}) as client:
        for item in items[:sample]:
            target = LevelTarget(gid("InventoryItem", item), gid("Location", location), 7, None, 0)
            await inventory.send_chunk(client, meter, "bench-single", "on_hand", [target])
    return time.perf_counter() - started, meter.calls, meter.points


async def _run(server: SandboxServer, home: Path, count: int, sample: int) -> int:
    seed_started = time.perf_counter()
    catalog, location, items = _seed(server, count)
    print(f"seeded {count} variants in-process in {time.perf_counter() - seed_started:.1f} s")
    settings = Settings(home=home)
    database = Database.from_settings(settings)
    try:
        async with database.stores() as stores:
            await stores.add(
                name="bench",
                shop_domain=DOMAIN,
                auth_kind=AuthKind.TOKEN,
                secrets={"access_token": "shpat_sandbox"},
                api_base_url=f"{server.url}/shops/{DOMAIN}",
                settings={"location_id": gid("Location", location)},
            )
        for use_bulk in (True, False):
            started = time.perf_counter()
            mapping = await inventory.refresh_mapping(
                database, settings, "bench", use_bulk=use_bulk
            )
            print(
                f"mapping ({'bulk operation' if mapping.bulk else 'page by page'}): "
                f"{mapping.skus} SKUs in {time.perf_counter() - started:.1f} s, "
                f"{mapping.calls} calls, {mapping.points} points"
            )

        before = len(_log(server))
        rows = [
            RawRow(
                line=n + 2, store="bench", sku=f"BENCH-{n:05d}", warehouse="", quantity=n % 500 + 1
            )
            for n in range(count)
        ]
        started = time.perf_counter()
        report = await inventory.push(database, settings, rows)
        seconds = time.perf_counter() - started
        calls, points = _spent(_log(server)[before:], "InventorySetQuantities")
        minimum_calls = math.ceil(count / CHUNK_SIZE)
        per_call = points / calls if calls else 0
        minimum_points = minimum_calls * per_call
        ratio = points / minimum_points if minimum_points else float("inf")
        wrong = sum(
            1
            for n, item in enumerate(items)
            if catalog.quantity(item, location, "on_hand") != n % 500 + 1
        )
        print(
            f"push: {count} levels in {seconds:.1f} s, {calls} calls, {points} points "
            f"(minimum {minimum_calls} calls = {minimum_points:.0f} points; ratio {ratio:.2f}); "
            f"rejected {len(report.rejected)}, wrong levels in the sandbox {wrong}"
        )

        sample = min(sample, count)
        single_seconds, single_calls, single_points = await _one_by_one(
            database, settings, items, location, sample
        )
        cost = single_points / single_calls if single_calls else 0
        total_points = cost * count
        # Standard plan bucket (docs/shopify.md#the-bucket): 2000 points, 100 restored per second.
        bucket_bound = max(total_points - 2000, 0) / 100
        latency_bound = single_seconds / max(single_calls, 1) * count
        estimate = max(bucket_bound, latency_bound)
        print(
            f"one call per item: measured {single_calls} calls in {single_seconds:.1f} s, "
            f"{single_points} points; extrapolated to {count}: {count} calls, "
            f"{total_points:.0f} points, about {estimate:.0f} s "
            f"(max of {latency_bound:.0f} s at the sample's pace and {bucket_bound:.0f} s "
            "for the bucket to restore the points)"
        )
    finally:
        await database.close()
    ok = seconds < TARGET_SECONDS and ratio <= TARGET_POINTS_RATIO and wrong == 0
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=500)
    args = parser.parse_args()
    if not 1 <= args.skus <= 100_000 or not 1 <= args.sample <= 10_000:
        parser.error("--skus must be 1..100000 and --sample 1..10000")
    with SandboxServer() as server, tempfile.TemporaryDirectory() as home:
        return asyncio.run(_run(server, Path(home), args.skus, args.sample))


if __name__ == "__main__":
    sys.exit(main())
