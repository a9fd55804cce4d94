"""The inventory flow against the sandbox over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from fulfillbridge.config import Settings
from fulfillbridge.core.inventory import LevelTarget, RawRow, chunk_key
from fulfillbridge.flows import inventory
from fulfillbridge.flows.connect import store_client
from fulfillbridge.sandbox.state import gid
from fulfillbridge.store.database import Database
from fulfillbridge.store.inventory import InventoryRepository
from tests.inventory.conftest import DOMAIN, Shop, add_store


def rows(*specs: tuple[str, str, object]) -> list[RawRow]:
    """(sku, warehouse, quantity) rows of store acme, numbered from line 2."""
    return [
        RawRow(line=i + 2, store="acme", sku=sku, warehouse=warehouse, quantity=qty)
        for i, (sku, warehouse, qty) in enumerate(specs)
    ]


def set_calls(sandbox_url: str) -> int:
    log = httpx.get(f"{sandbox_url}/__sandbox/shops/{DOMAIN}/requests").json()["requests"]
    return sum(1 for entry in log if entry["operation"] == "InventorySetQuantities")


async def test_push_applies_changed_levels_and_a_repeat_writes_nothing(
    database: Database, settings: Settings, shop: Shop, sandbox_url: str
) -> None:
    for n in range(5):
        shop.add(f"SKU-{n}", available=3)
    await add_store(database, sandbox_url, shop)
    upload = rows(*((f"SKU-{n}", "main", 10 + n) for n in range(4)), ("SKU-4", "", 3))

    first = await inventory.push(database, settings, upload)

    assert first.rejected == []
    assert [a["result"] for a in first.accepted] == ["applied"] * 4 + ["unchanged"]
    assert [shop.on_hand(f"SKU-{n}") for n in range(5)] == [10, 11, 12, 13, 3]
    calls = set_calls(sandbox_url)
    assert calls == 1  # four levels, one chunk; the unchanged one is not sent

    again = await inventory.push(database, settings, upload)
    assert [a["result"] for a in again.accepted] == ["unchanged"] * 5
    assert set_calls(sandbox_url) == calls
    assert again.calls == 0


async def test_bad_rows_are_reported_per_line_and_good_rows_applied(
    database: Database, settings: Settings, shop: Shop, sandbox_url: str
) -> None:
    shop.add("GOOD", available=1)
    shop.add("DUP")
    shop.add("DUP")  # one SKU on two variants
    shop.add("LOOSE", tracked=False)
    shop.add("TWICE", available=1)
    await add_store(database, sandbox_url, shop)
    upload = rows(
        ("GOOD", "main", 7),
        ("DUP", "main", 1),
        ("NOPE", "main", 1),
        ("good", "main", 1),  # SKUs are case-sensitive
        ("LOOSE", "main", 1),
        ("GOOD", "mars", 1),
        ("TWICE", "main", 2),
        ("TWICE", "main", 3),
        ("GOOD", "berlin", -1),
        ("GOOD", "berlin", 1_000_000_001),
        ("GOOD", "berlin", "many"),
    )
    upload.append(RawRow(line=40, store="globex", sku="GOOD", warehouse="main", quantity=1))

    report = await inventory.push(database, settings, upload)

    reasons = {r.line: r.reason for r in report.rejected}
    assert [a["line"] for a in report.accepted] == [2]
    assert shop.on_hand("GOOD") == 7
    assert "belongs to 2 variants" in reasons[3]
    assert "unknown SKU 'NOPE'" in reasons[4]
    assert "unknown SKU 'good'" in reasons[5]
    assert "not tracked" in reasons[6]
    assert "warehouse 'mars' is not configured" in reasons[7]
    assert "duplicate row" in reasons[8] and "line 9" in reasons[8]
    assert "duplicate row" in reasons[9]
    assert "negative" in reasons[10]
    assert "above Shopify's limit" in reasons[11]
    assert "not a whole number" in reasons[12]
    assert reasons[40] == "unknown store 'globex'"
    assert shop.on_hand("TWICE") == 1


async def test_a_row_shopify_refuses_is_split_out_and_the_rest_applied(
    database: Database, settings: Settings, shop: Shop, sandbox_url: str
) -> None:
    for n in range(3):
        shop.add(f"A-{n}", available=0, at=[shop.location])
    await add_store(database, sandbox_url, shop)
    # A-1 is not stocked at Berlin: only Shopify knows, and refuses that entry.
    upload = rows(("A-0", "main", 5), ("A-1", "berlin", 6), ("A-2", "main", 7))

    report = await inventory.push(database, settings, upload)

    assert [r.line for r in report.rejected] == [3]
    assert "not stocked at the location" in report.rejected[0].reason
    assert shop.on_hand("A-0") == 5 and shop.on_hand("A-2") == 7
    assert set_calls(sandbox_url) == 2  # the whole chunk, then the chunk without A-1
    status = (await inventory.status(database))[0]
    assert status.in_sync == 2 and status.pending == 0
    assert status.rejected_levels[0]["sku"] == "A-1"
    assert status.last_rejections[0]["line"] == 3


async def test_stale_level_newer_in_shopify_is_kept_older_is_overwritten(
    database: Database, settings: Settings, shop: Shop, sandbox_url: str
) -> None:
    shop.add("NEWER", available=4)
    shop.add("OLDER", available=4)
    await add_store(database, sandbox_url, shop)
    await inventory.refresh_mapping(database, settings, "acme")
    # Someone changes both levels in Shopify after we read them.
    shop.catalog.set_quantity(shop.items["NEWER"], shop.location, "on_hand", 9)
    shop.catalog.set_quantity(shop.items["OLDER"], shop.location, "on_hand", 9)
    now = datetime.now(UTC)

    # NEWER: the upload was received before Shopify's change -> Shopify's value is kept.
    kept = await inventory.push(
        database, settings, rows(("NEWER", "main", 20)), received_at=now - timedelta(hours=1)
    )
    assert shop.on_hand("NEWER") == 9
    assert "changed in Shopify" in kept.rejected[0].reason

    # OLDER: the upload is newer than Shopify's change -> sent again from the value read.
    applied = await inventory.push(
        database, settings, rows(("OLDER", "main", 30)), received_at=now + timedelta(hours=1)
    )
    assert applied.rejected == []
    assert shop.on_hand("OLDER") == 30


async def test_a_retried_chunk_is_applied_once(
    database: Database, settings: Settings, shop: Shop, sandbox_url: str
) -> None:
    item = shop.add("RETRY", available=2)
    await add_store(database, sandbox_url, shop)
    events: list[str] = []
    shop.state.listeners.append(lambda topic, _payload: events.append(topic))
    target = LevelTarget(
        gid("InventoryItem", item), gid("Location", shop.location), 12, known=2, revision=0
    )
    async with database.stores() as stores:
        store = await stores.get("acme")
    async with store_client(database, settings, store, {"access_token": "shpat_sandbox"}) as client:
        meter = inventory.CallMeter()
        first = await inventory.send_chunk(client, meter, "acme", "on_hand", [target])
        # The answer is "lost": the same chunk goes again, with the same key.
        second = await inventory.send_chunk(client, meter, "acme", "on_hand", [target])

    assert first.applied == second.applied == [target]
    assert second.stale == []  # without the key it would be stale: the level is 12 now
    assert shop.on_hand("RETRY") == 12
    assert events.count("inventory_levels/update") == 1
    assert set_calls(sandbox_url) == 2
    assert chunk_key("acme", "on_hand", [target]) == chunk_key("acme", "on_hand", [target])


async def test_quantity_name_is_a_store_setting(
    database: Database, settings: Settings, shop: Shop, sandbox_url: str
) -> None:
    shop.add("AV", available=1)
    await add_store(database, sandbox_url, shop, inventory_quantity_name="available")
    await inventory.push(database, settings, rows(("AV", "main", 8)))
    assert shop.catalog.quantity(shop.items["AV"], shop.location, "available") == 8


async def test_a_large_catalogue_is_mapped_through_a_bulk_operation(
    database: Database, settings: Settings, shop: Shop, sandbox_url: str
) -> None:
    for n in range(260):
        shop.add(f"BULK-{n:03d}", available=n)
    shop.add("BULK-000")  # a duplicate, seen through the bulk rows too
    await add_store(database, sandbox_url, shop)

    mapped = await inventory.refresh_mapping(database, settings, "acme", bulk_poll_seconds=0.05)

    assert mapped.bulk and mapped.variants == 261 and mapped.skus == 260
    assert mapped.duplicated_skus == ["BULK-000"]
    log = httpx.get(f"{sandbox_url}/__sandbox/shops/{DOMAIN}/requests").json()["requests"]
    assert "BulkQueryRun" in [entry["operation"] for entry in log]
    # Each item is kept with its product, so a webhook about one product replaces its own.
    async with database.stores() as stores:
        store_id = (await stores.get("acme")).id
    async with database.transaction() as session:
        items = await InventoryRepository(session).items_of(store_id)
    assert len(items) == 261 and all(i.product_id for i in items)
    assert len({i.product_id for i in items}) == 261  # one product per variant here
    paged = await inventory.refresh_mapping(database, settings, "acme", use_bulk=False)
    assert not paged.bulk and (paged.variants, paged.skus, paged.calls) == (261, 260, 2)
    # The levels read in bulk are the known levels: a row at its current value sends nothing.
    report = await inventory.push(database, settings, rows(("BULK-007", "main", 7)))
    assert report.accepted[0]["result"] == "unchanged" and report.calls == 0
