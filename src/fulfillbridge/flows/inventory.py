"""Inventory sync: the operation's stock levels into each store's Shopify inventory.

``refresh_mapping`` reads every variant of a store (SKU, inventory item, tracked, levels;
through a bulk operation when there is more than one page of them) and stores the
SKU -> item mapping with the quantities seen. ``push`` checks rows, maps them, keeps
only levels that differ from the last value we know, and writes them with
``inventorySetQuantities`` in chunks of up to 250:

- each call carries ``@idempotent(key)`` made from the chunk's content
  (``core.inventory.chunk_key``): a retry of the same chunk (lost answer, crash and rerun)
  reuses the key, and Shopify answers the first result without applying it again;
- ``changeFromQuantity`` is the last level we know (null when we never read it), so a change
  made in Shopify meanwhile is detected, not overwritten; on CHANGE_FROM_QUANTITY_STALE the
  item is read again and ``core.inventory.decide_stale`` decides;
- Shopify applies a call all or nothing: rows it refuses are split out, reported with
  Shopify's message, and the rest of the chunk is sent again (a new key: new content).

The mapping stays fresh without a full read: ``apply_catalogue_event`` (run by the worker
for the ``products/*`` and ``inventory_items/*`` webhooks set-up subscribes to) reads the
product concerned from Shopify again and replaces only that product's items; the body of a
webhook is never trusted for the mapping, since it may arrive late or out of order. A SKU
on two variants, in one product or two, stays ambiguous and refused, never guessed.

Warehouse -> location: the warehouse's first location in ``settings.warehouses``, else the
store's fulfillment-service location (``StoreRow.settings["location_id"]``); an empty
warehouse cell means the store's location. The quantity name set is the store's
``inventory_quantity_name`` ("available" or "on_hand"; default ``on_hand``, see
``core.inventory.DEFAULT_QUANTITY_NAME`` for why).

Pushes to one store queue up behind a lock row with a lease (``store_lock``), whatever
process they come from. ``poll_feeds`` (the worker, each round) fetches each store's
inventory feed once per interval, conditionally, and pushes it the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.exc import IntegrityError, OperationalError

from fulfillbridge.config import Settings
from fulfillbridge.core.errors import FulfillbridgeError, InventoryErrorCode
from fulfillbridge.core.inventory import (
    CHUNK_SIZE,
    DEFAULT_QUANTITY_NAME,
    QUANTITY_NAMES,
    LevelRow,
    LevelTarget,
    RawRow,
    Rejection,
    StaleDecision,
    changed_levels,
    check_rows,
    chunk_key,
    chunks,
    decide_stale,
)
from fulfillbridge.core.inventory_feed import feed_of, mask_url
from fulfillbridge.core.stores import Store, StoreNotFound
from fulfillbridge.flows.connect import client_for
from fulfillbridge.shopify import OutcomeUnknown, ShopifyClient, operation
from fulfillbridge.store import leases
from fulfillbridge.store.database import Database
from fulfillbridge.store.inventory import (
    InventoryRepository,
    ItemEntry,
    MappingChange,
    SkuEntry,
    StoreInventoryStatus,
    sku_entries,
)

log = logging.getLogger("fulfillbridge.flows.inventory")

REASON = "correction"  # Shopify's reason for a count that replaces the level
REFERENCE = "logistics://fulfillbridge/inventory-sync"
MAPPING_PAGE = 250
BULK_TIMEOUT = 600.0
_SEND_ATTEMPTS = 3  # same chunk, same key, after a lost answer
_SPLIT_PASSES = 5  # resends of a chunk after refused rows were split out
_STALE = "CHANGE_FROM_QUANTITY_STALE"
# A catalogue event waits this long behind a push, then fails and is retried later.
CATALOGUE_LOCK_WAIT = 60.0

Progress = Callable[[int, int], None]  # (levels done, levels to send)


class InventorySyncError(FulfillbridgeError):
    """A store-level failure (no store, unreadable settings); the message names it."""

    default_code = InventoryErrorCode.SYNC_FAILED


@dataclass
class CallMeter:
    """Calls made and points spent (actual cost where Shopify reports it)."""

    calls: int = 0
    points: int = 0

    async def execute(
        self, client: ShopifyClient, name: str, variables: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            return await client.execute(operation(name), variables, raise_user_errors=False)
        finally:
            self.calls += 1
            cost = client.last_cost
            if cost is not None:
                self.points += cost.actual if cost.actual is not None else cost.requested or 0


@dataclass
class StoreResult:
    store: str
    rows: int = 0
    applied: int = 0
    unchanged: int = 0
    rejected: int = 0
    calls: int = 0
    points: int = 0


@dataclass
class PushReport:
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    stores: dict[str, StoreResult] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def calls(self) -> int:
        return sum(s.calls for s in self.stores.values())

    @property
    def points(self) -> int:
        return sum(s.points for s in self.stores.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "rejected": [r.as_dict() for r in sorted(self.rejected, key=lambda r: r.line)],
            "stores": {name: vars(result) for name, result in self.stores.items()},
        }


@dataclass(frozen=True)
class MappingReport:
    store: str
    skus: int
    variants: int
    duplicated_skus: list[str]
    untracked_skus: int
    calls: int
    points: int
    bulk: bool  # read through a bulk operation (more than one page of variants)


# --- settings ---------------------------------------------------------------------------------


def quantity_name(store: Store) -> str:
    name = store.settings.get("inventory_quantity_name") or DEFAULT_QUANTITY_NAME
    if name not in QUANTITY_NAMES:
        raise InventorySyncError(
            f"store {store.name}: inventory_quantity_name {name!r} must be one of "
            f"{', '.join(QUANTITY_NAMES)}"
        )
    return name


def location_for(store: Store, settings: Settings, warehouse: str) -> str | None:
    """The Shopify location a warehouse's counts go to, or None when it has none."""
    default = store.settings.get("location_id")
    if not warehouse:
        return default
    for configured in settings.warehouses:
        if configured.name == warehouse:
            return configured.locations[0] if configured.locations else default
    return None


def _unmapped_reason(store: Store, settings: Settings, warehouse: str) -> str:
    names = [w.name for w in settings.warehouses]
    if warehouse and warehouse not in names:
        return f"warehouse {warehouse!r} is not configured (known: {', '.join(names)})"
    return (
        f"warehouse {warehouse or '(default)'!r} has no Shopify location: give it locations in "
        f"the settings or run `fulfillbridge store setup {store.name}`"
    )


# --- one push per store at a time --------------------------------------------------------------

LOCK_LEASE_SECONDS = 120.0  # renewed every third of it while the push runs
LOCK_WAIT_SECONDS = 300.0  # how long a push waits for the one before it
_LOCK_POLL = (0.05, 1.0)  # first and longest pause between two claims


class StoreBusy(InventorySyncError):
    """Another push held the store's lock for longer than this one could wait."""

    default_code = InventoryErrorCode.STORE_BUSY


async def _try_lock(database: Database, store_id: int, holder: str) -> bool:
    try:
        async with database.transaction() as session:
            return await leases.claim(
                session,
                leases.INVENTORY_PUSH,
                {"store_id": store_id},
                holder,
                now=datetime.now(UTC),
                seconds=LOCK_LEASE_SECONDS,
                create={},
            )
    except (IntegrityError, OperationalError):
        return False  # another claimer got in first, or SQLite was busy: try again


async def _keep_lock(database: Database, store: Store, holder: str) -> None:
    while True:
        await asyncio.sleep(LOCK_LEASE_SECONDS / 3)
        try:
            async with database.transaction() as session:
                kept = await leases.renew(
                    session,
                    leases.INVENTORY_PUSH,
                    {"store_id": store.id},
                    holder,
                    now=datetime.now(UTC),
                    seconds=LOCK_LEASE_SECONDS,
                )
        except OperationalError as exc:
            log.warning("store %s: push lock not renewed this time (%s)", store.name, exc)
            continue
        if not kept:
            log.warning("store %s: the push lock's lease ran out under this push", store.name)
            return


@asynccontextmanager
async def store_lock(
    database: Database, store: Store, *, wait: float | None = None
) -> AsyncIterator[None]:
    """Hold the store's push lock (a row in ``inventory_locks`` with a lease, so that
    pushes from several processes on one database queue up, and a crashed holder frees it
    after the lease). Raises ``StoreBusy`` after ``wait`` seconds without it."""
    holder = leases.new_holder()
    deadline = time.monotonic() + (LOCK_WAIT_SECONDS if wait is None else wait)
    pause = _LOCK_POLL[0]
    while not await _try_lock(database, store.id, holder):
        if time.monotonic() + pause > deadline:
            raise StoreBusy(
                f"another inventory push to store {store.name} is still running; "
                "send these rows again"
            )
        await asyncio.sleep(pause)
        pause = min(pause * 2, _LOCK_POLL[1])
    keeper = asyncio.create_task(_keep_lock(database, store, holder))
    try:
        yield
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        try:
            async with database.transaction() as session:
                await leases.release(session, leases.INVENTORY_PUSH, {"store_id": store.id}, holder)
        except Exception:  # the lease frees it anyway
            log.warning("store %s: push lock not released; its lease frees it", store.name)


# --- mapping ----------------------------------------------------------------------------------


def _items(variants: Sequence[dict[str, Any]]) -> list[ItemEntry]:
    """One entry per variant with a SKU and an inventory item (SKUs are case-sensitive,
    docs/shopify.md#inventory: kept as Shopify has them)."""
    items = []
    for variant in variants:
        sku = variant.get("sku")
        item = variant.get("inventoryItem")
        if not sku or not item:
            continue
        levels: dict[str, dict[str, int]] = {}
        for level in (item.get("inventoryLevels") or {}).get("nodes") or []:
            quantities = {q["name"]: q["quantity"] for q in level.get("quantities") or []}
            levels[level["location"]["id"]] = quantities
        items.append(
            ItemEntry(
                item_id=item["id"],
                sku=sku,
                tracked=bool(item.get("tracked")),
                product_id=(variant.get("product") or {}).get("id"),
                levels=levels,
            )
        )
    return items


async def _open(database: Database, settings: Settings, name: str) -> tuple[Store, ShopifyClient]:
    async with database.stores() as stores:
        store = await stores.get(name)
        secrets = await stores.secrets(name)
    return store, client_for(store, secrets, settings=settings, database=database)


async def _bulk_variants(
    client: ShopifyClient, meter: CallMeter, poll_seconds: float
) -> list[dict[str, Any]]:
    """Every variant through one bulk operation, levels put back under their item."""
    query = operation("VariantsForInventoryMappingBulk").document
    started = await meter.execute(client, "BulkQueryRun", {"query": query})
    payload = started["bulkOperationRunQuery"]
    if payload.get("userErrors") or not payload.get("bulkOperation"):
        raise InventorySyncError(f"the bulk mapping query was refused: {payload.get('userErrors')}")
    bulk_id = payload["bulkOperation"]["id"]
    deadline = time.monotonic() + BULK_TIMEOUT
    while True:
        status = (await meter.execute(client, "BulkOperationById", {"id": bulk_id}))[
            "bulkOperation"
        ]
        if status and status["status"] == "COMPLETED":
            break
        if not status or status["status"] in {"FAILED", "CANCELED", "CANCELING", "EXPIRED"}:
            raise InventorySyncError(f"the bulk mapping query ended {status and status['status']}")
        if time.monotonic() > deadline:
            raise InventorySyncError(f"the bulk mapping query took over {BULK_TIMEOUT:.0f} s")
        await asyncio.sleep(poll_seconds)
    if not status.get("url"):
        return []  # Shopify gives no file when nothing matched
    variants: list[dict[str, Any]] = []
    by_id: dict[str, dict[str, Any]] = {}
    # The result URL is pre-signed: no Shopify credentials go with the download.
    async with (
        httpx.AsyncClient(timeout=120, follow_redirects=True) as http,
        http.stream("GET", status["url"]) as response,
    ):
        if response.status_code != 200:
            raise InventorySyncError(f"bulk result download answered HTTP {response.status_code}")
        async for line in response.aiter_lines():
            if not line.strip():
                continue
            row = json.loads(line)
            parent = row.pop("__parentId", None)
            if parent is None:
                item = row.get("inventoryItem") or {}
                # Levels come as child rows (Shopify docs) or, from a server that keeps a
                # connection nested in an object inline, as edges; both end up as nodes.
                inline = item.get("inventoryLevels") or {}
                nodes = inline.get("nodes")
                if nodes is None:
                    nodes = [e.get("node") for e in inline.get("edges") or [] if e.get("node")]
                item["inventoryLevels"] = {"nodes": list(nodes)}
                variants.append(row)
                by_id[row["id"]] = item
                if item.get("id"):
                    by_id[item["id"]] = item
            elif parent in by_id:  # a level: a child row after its parent
                by_id[parent]["inventoryLevels"]["nodes"].append(row)
    return variants


async def _read_variants(
    client: ShopifyClient, meter: CallMeter, poll_seconds: float, use_bulk: bool
) -> tuple[list[dict[str, Any]], bool]:
    """All variants: one page when that is all there is, else a bulk operation (or, with
    ``use_bulk`` off, the following pages)."""
    variables: dict[str, Any] = {"first": MAPPING_PAGE}
    variants: list[dict[str, Any]] = []
    for _ in range(10_000):
        data = await meter.execute(client, "VariantsForInventoryMapping", variables)
        page = data["productVariants"]
        variants += page["nodes"]
        info = page["pageInfo"]
        if not info["hasNextPage"] or not info.get("endCursor"):
            return variants, False
        if use_bulk:
            return await _bulk_variants(client, meter, poll_seconds), True
        variables = {"first": MAPPING_PAGE, "after": info["endCursor"]}
    raise InventorySyncError("more than 10,000 pages of variants")


async def refresh_mapping(
    database: Database,
    settings: Settings,
    store_name: str,
    *,
    use_bulk: bool = True,
    bulk_poll_seconds: float = 0.5,
) -> MappingReport:
    """Read every variant of the store (SKU, inventory item, levels) and replace the
    store's SKU mapping (never in the middle of a push to the store)."""
    async with database.stores() as stores:
        store = await stores.get(store_name)
    async with store_lock(database, store):
        return await _refresh_mapping(
            database, settings, store_name, use_bulk=use_bulk, bulk_poll_seconds=bulk_poll_seconds
        )


async def _refresh_mapping(
    database: Database,
    settings: Settings,
    store_name: str,
    *,
    use_bulk: bool = True,
    bulk_poll_seconds: float = 0.5,
) -> MappingReport:
    store, client = await _open(database, settings, store_name)
    meter = CallMeter()
    async with client:
        variants, bulk = await _read_variants(client, meter, bulk_poll_seconds, use_bulk)
    items = _items(variants)
    entries = sku_entries(items)
    async with database.transaction() as session:
        await InventoryRepository(session).replace_mapping(store.id, items)
    return MappingReport(
        store=store.name,
        skus=len(entries),
        variants=len(variants),
        duplicated_skus=sorted(e.sku for e in entries if len(e.item_ids) > 1),
        untracked_skus=sum(1 for e in entries if not e.tracked),
        calls=meter.calls,
        points=meter.points,
        bulk=bulk,
    )


# --- the mapping kept fresh from webhooks ------------------------------------------------------

# Webhook topics that change the mapping (Shopify topic paths; set-up subscribes to them).
PRODUCT_TOPICS = ("products/create", "products/update", "products/delete")
ITEM_TOPICS = ("inventory_items/create", "inventory_items/update", "inventory_items/delete")
CATALOGUE_TOPICS = frozenset(PRODUCT_TOPICS + ITEM_TOPICS)
PRODUCT_VARIANT_PAGES = 12  # 250 a page; Shopify allows 2,048 variants per product


def _gid(payload: dict[str, Any], kind: str) -> str | None:
    """The resource's global id from a REST-shaped webhook body (``admin_graphql_api_id``,
    else the numeric ``id``)."""
    value = payload.get("admin_graphql_api_id")
    if isinstance(value, str) and value.startswith(f"gid://shopify/{kind}/"):
        return value.split("?", 1)[0]
    raw = payload.get("id")
    if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
        return f"gid://shopify/{kind}/{raw}"
    if isinstance(raw, str) and raw.isdigit():
        return f"gid://shopify/{kind}/{raw}"
    return None


async def _product_variants(client: ShopifyClient, product_id: str) -> list[dict[str, Any]] | None:
    """The product's variants as Shopify has them now; None when the product is gone."""
    variants: list[dict[str, Any]] = []
    variables: dict[str, Any] = {"id": product_id, "first": MAPPING_PAGE}
    for _ in range(PRODUCT_VARIANT_PAGES):
        data = await client.execute(operation("ProductVariantsForMapping"), variables)
        product = data.get("product")
        if not product:
            return None
        page = product["variants"]
        variants += [{**v, "product": {"id": product["id"]}} for v in page["nodes"] if v]
        info = page["pageInfo"]
        if not info["hasNextPage"] or not info.get("endCursor"):
            return variants
        variables = {**variables, "after": info["endCursor"]}
    raise InventorySyncError(f"product {product_id} has more variants than Shopify allows")


async def _item_products(client: ShopifyClient, item_id: str) -> list[str] | None:
    """The products of the item's variant(s) now; None when the item is gone."""
    data = await client.execute(operation("InventoryItemForMapping"), {"id": item_id})
    item = data.get("inventoryItem")
    if not item:
        return None
    variants = (item.get("variants") or {}).get("nodes") or []
    return sorted({v["product"]["id"] for v in variants if v and v.get("product")})


def _describe_change(subject: str, change: MappingChange) -> str:
    parts = [f"{subject}: {change.items} item(s) with a SKU"]
    if change.added:
        parts.append("mapped " + ", ".join(change.added))
    if change.removed:
        parts.append("no longer mapped " + ", ".join(change.removed))
    if change.duplicated:
        parts.append(
            "on several variants (refused at push until made unique in Shopify) "
            + ", ".join(change.duplicated)
        )
    return "; ".join(parts)


async def apply_catalogue_event(
    database: Database,
    client: ShopifyClient,
    store: Store,
    topic: str,
    payload: dict[str, Any],
) -> str:
    """Apply one ``products/*`` or ``inventory_items/*`` event under the store's push lock,
    so a mapping change never lands in the middle of a push that read the old one."""
    async with store_lock(database, store, wait=CATALOGUE_LOCK_WAIT):
        return await _apply_catalogue_event(database, client, store, topic, payload)


async def _apply_catalogue_event(
    database: Database,
    client: ShopifyClient,
    store: Store,
    topic: str,
    payload: dict[str, Any],
) -> str:
    """Bring the store's SKU mapping up to date after one ``products/*`` or
    ``inventory_items/*`` webhook; returns a note for the log.

    The body only says *what* to look at: the product's variants are read from Shopify
    now and replace that product's items (a late or repeated webhook then reads the same,
    current state, so a deleted variant never comes back). A deletion removes the
    product's or item's entries. A store never mapped is left alone: its first push reads
    the whole catalogue anyway."""
    if topic not in CATALOGUE_TOPICS:
        raise InventorySyncError(f"topic {topic} does not change the SKU mapping")
    payload = payload if isinstance(payload, dict) else {}
    async with database.transaction() as session:
        mapped, _ = await InventoryRepository(session).mapping_summary(store.id)
    if not mapped:
        return f"{topic}: no SKU mapping yet (the first push reads the whole catalogue)"
    products: list[str] = []
    removed_items: list[str] = []
    if topic in PRODUCT_TOPICS:
        product_id = _gid(payload, "Product")
        if product_id is None:
            return f"{topic} ignored: the body names no product id"
        subject = f"{topic} {product_id}"
        products = [product_id]
    else:
        item_id = _gid(payload, "InventoryItem")
        if item_id is None:
            return f"{topic} ignored: the body names no inventory item id"
        subject = f"{topic} {item_id}"
        found = None if topic == "inventory_items/delete" else await _item_products(client, item_id)
        if not found:  # gone, or (never seen) an item without a variant
            removed_items = [item_id]
        else:
            products = found
    items: list[ItemEntry] = []
    gone: list[str] = []
    for product_id in products:
        variants = None
        if topic != "products/delete":
            variants = await _product_variants(client, product_id)
        if variants is None:
            gone.append(product_id)
            continue
        items += _items(variants)
    async with database.transaction() as session:
        change = await InventoryRepository(session).replace_products(
            store.id, products, items, removed_items=removed_items
        )
    note = _describe_change(subject + (" (deleted)" if gone or removed_items else ""), change)
    if change.duplicated:
        log.warning("store %s: SKU(s) on several variants after %s", store.name, note)
    return note


# --- push -------------------------------------------------------------------------------------


@dataclass
class _Planned:
    """A checked row with its Shopify target and the id of its level record."""

    row: LevelRow
    target: LevelTarget
    level_id: int


def _resolve(
    store: Store,
    settings: Settings,
    rows: Sequence[LevelRow],
    mapping: dict[str, SkuEntry],
) -> tuple[list[tuple[LevelRow, str, str, int | None]], list[Rejection]]:
    """(row, item, location, quantity seen at mapping) per row, or the row's rejection."""
    name = quantity_name(store)
    resolved: list[tuple[LevelRow, str, str, int | None]] = []
    rejected: list[Rejection] = []
    for row in rows:

        def reject(reason: str, row: LevelRow = row) -> None:
            rejected.append(Rejection(row.line, reason, row.store, row.sku, row.warehouse or None))

        entry = mapping.get(row.sku)
        if entry is None:
            reject(
                f"unknown SKU {row.sku!r} in store {store.name} (SKUs are case-sensitive; run "
                f"`fulfillbridge inventory map {store.name}` if it was just added)"
            )
            continue
        if len(entry.item_ids) > 1:
            reject(
                f"SKU {row.sku!r} belongs to {len(entry.item_ids)} variants in store "
                f"{store.name}; make it unique in Shopify (not guessed)"
            )
            continue
        if not entry.tracked:
            reject(f"SKU {row.sku!r} is not tracked in Shopify: turn on inventory tracking")
            continue
        location = location_for(store, settings, row.warehouse)
        if location is None:
            reject(_unmapped_reason(store, settings, row.warehouse))
            continue
        seen = entry.levels.get(location, {}).get(name)
        resolved.append((row, entry.item_ids[0], location, seen))
    # Two warehouses may map to one location: Shopify refuses a repeated item/location pair.
    lines: dict[tuple[str, str], list[int]] = {}
    for row, item, location, _ in resolved:
        lines.setdefault((item, location), []).append(row.line)
    kept = []
    for entry_ in resolved:
        row, item, location, _ = entry_
        same = lines[(item, location)]
        if len(same) > 1:
            others = ", ".join(str(n) for n in same if n != row.line)
            rejected.append(
                Rejection(
                    row.line,
                    f"another row (line {others}) sets the same SKU at the same Shopify location",
                    row.store,
                    row.sku,
                    row.warehouse or None,
                )
            )
        else:
            kept.append(entry_)
    return kept, rejected


async def _plan(
    database: Database,
    store: Store,
    resolved: Sequence[tuple[LevelRow, str, str, int | None]],
    received_at: datetime,
) -> list[_Planned]:
    """Record the wanted levels (status pending) and build the targets to compare."""
    async with database.transaction() as session:
        repo = InventoryRepository(session)
        existing = await repo.levels(store.id)
        new = []
        changes = []
        for row, item, location, seen in resolved:
            level = existing.get((item, location))
            if level is None:
                new.append(
                    {
                        "item_id": item,
                        "location_id": location,
                        "sku": row.sku,
                        "warehouse": row.warehouse,
                        "wanted": row.quantity,
                        "known": seen,
                        "status": "pending",
                        "received_at": received_at,
                    }
                )
            elif level.wanted != row.quantity or level.status != "in_sync":
                changes.append(
                    {
                        "id": level.id,
                        "wanted": row.quantity,
                        "sku": row.sku,
                        "warehouse": row.warehouse,
                        "status": "pending" if level.known != row.quantity else "in_sync",
                        "reason": None,
                        "received_at": received_at,
                    }
                )
        await repo.add_levels(store.id, new)
        await repo.update_levels(changes)
        await session.flush()
        levels = await repo.levels(store.id) if new else existing
    planned = []
    for row, item, location, _ in resolved:
        level = levels[(item, location)]
        target = LevelTarget(
            item_id=item,
            location_id=location,
            quantity=row.quantity,
            known=level.known,
            revision=level.revision,
            line=row.line,
            sku=row.sku,
        )
        planned.append(_Planned(row, target, level.id))
    return planned


@dataclass
class ChunkResult:
    """What one chunk came to: applied targets, refused ones with reasons, stale ones."""

    applied: list[LevelTarget] = field(default_factory=list)
    refused: list[tuple[LevelTarget, str]] = field(default_factory=list)
    stale: list[LevelTarget] = field(default_factory=list)


def chunk_input(name: str, targets: Sequence[LevelTarget]) -> dict[str, Any]:
    return {
        "name": name,
        "reason": REASON,
        "referenceDocumentUri": REFERENCE,
        "quantities": [
            {
                "inventoryItemId": t.item_id,
                "locationId": t.location_id,
                "quantity": t.quantity,
                # Compare-and-set against the last level we know (docs/shopify.md#inventory:
                # must be present; null when we never read this level).
                "changeFromQuantity": t.known,
            }
            for t in targets
        ],
    }


def _index(field_path: Sequence[str] | None) -> int | None:
    # Shopify points at the entry: ["input", "quantities", "<i>", ...].
    if field_path and len(field_path) >= 3 and field_path[1] == "quantities":
        try:
            return int(field_path[2])
        except ValueError:
            return None
    return None


async def send_chunk(
    client: ShopifyClient,
    meter: CallMeter,
    store: str,
    name: str,
    targets: Sequence[LevelTarget],
) -> ChunkResult:
    """Write one chunk (at most 250 levels). Refused rows are split out and the rest is sent
    again until it goes through or nothing is left. A lost answer (OutcomeUnknown) is
    retried with the same key, which Shopify answers without applying twice."""
    result = ChunkResult()
    remaining = list(targets)
    for _ in range(_SPLIT_PASSES):
        if not remaining:
            break
        key = chunk_key(store, name, remaining)
        variables = {"input": chunk_input(name, remaining), "key": key}
        data: dict[str, Any] | None = None
        for attempt in range(_SEND_ATTEMPTS):
            try:
                data = await meter.execute(client, "InventorySetQuantities", variables)
                break
            except OutcomeUnknown:
                if attempt == _SEND_ATTEMPTS - 1:
                    raise
                log.warning("inventory chunk answer lost; retrying with the same key")
        assert data is not None
        payload = data["inventorySetQuantities"] or {}
        errors = payload.get("userErrors") or []
        if not errors:
            result.applied += remaining
            return result
        refused: dict[int, str] = {}
        stale: set[int] = set()
        for error in errors:
            index = _index(error.get("field"))
            if index is None or not 0 <= index < len(remaining):
                # Not about one row (e.g. the reason or name): every row is refused with it.
                result.refused += [
                    (t, f"Shopify refused the batch: {error['message']}") for t in remaining
                ]
                return result
            if error.get("code") == _STALE:
                stale.add(index)
            else:
                refused.setdefault(index, f"Shopify refused the row: {error['message']}")
        stale -= set(refused)
        result.refused += [(remaining[i], reason) for i, reason in sorted(refused.items())]
        result.stale += [remaining[i] for i in sorted(stale)]
        remaining = [t for i, t in enumerate(remaining) if i not in refused and i not in stale]
    for target in remaining:  # bounded: give the rest back as refused rather than loop
        result.refused.append((target, "not applied: Shopify kept refusing this batch"))
    return result


async def _reread(
    client: ShopifyClient, meter: CallMeter, name: str, targets: Sequence[LevelTarget]
) -> dict[tuple[str, str], tuple[int, datetime | None]]:
    """Current (quantity, updatedAt) of the targets' levels."""
    found: dict[tuple[str, str], tuple[int, datetime | None]] = {}
    ids = sorted({t.item_id for t in targets})
    for part in chunks(ids, CHUNK_SIZE):
        data = await meter.execute(client, "InventoryLevelsReread", {"ids": part})
        for node in data.get("nodes") or []:
            if not node:
                continue
            for level in (node.get("inventoryLevels") or {}).get("nodes") or []:
                for q in level.get("quantities") or []:
                    if q["name"] == name:
                        stamp = q.get("updatedAt")
                        found[(node["id"], level["location"]["id"])] = (
                            q["quantity"],
                            datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None,
                        )
    return found


@dataclass
class _Outcome:
    applied: list[LevelTarget] = field(default_factory=list)
    in_sync: list[tuple[LevelTarget, int]] = field(default_factory=list)  # with Shopify's value
    refused: list[tuple[LevelTarget, str, int | None]] = field(default_factory=list)


async def _settle_stale(
    client: ShopifyClient,
    meter: CallMeter,
    store: Store,
    name: str,
    stale: Sequence[LevelTarget],
    received_at: datetime,
    outcome: _Outcome,
) -> None:
    """Read stale levels again and apply the rule of ``core.inventory.decide_stale``."""
    pending = list(stale)
    retried = False
    for _ in range(2):
        if not pending:
            return
        current = await _reread(client, meter, name, pending)
        retry: list[LevelTarget] = []
        for target in pending:
            quantity, updated_at = current.get(target.key, (None, None))
            if quantity is None:
                outcome.refused.append((target, "the level vanished from Shopify", None))
                continue
            decision = decide_stale(
                wanted=target.quantity,
                current=quantity,
                current_updated_at=updated_at,
                received_at=received_at,
                already_retried=retried,
            )
            if decision is StaleDecision.IN_SYNC:
                outcome.in_sync.append((target, quantity))
            elif decision is StaleDecision.KEEP_SHOPIFY:
                outcome.refused.append(
                    (
                        target,
                        f"changed in Shopify since our last read (now {quantity}, changed "
                        f"{updated_at.isoformat() if updated_at else 'at an unknown time'}, "
                        "after this upload): Shopify's value kept; send a new count to override",
                        quantity,
                    )
                )
            else:
                retry.append(
                    LevelTarget(
                        target.item_id,
                        target.location_id,
                        target.quantity,
                        quantity,
                        target.revision,
                        target.line,
                        target.sku,
                    )
                )
        retried = True
        pending = []
        for part in chunks(retry):
            result = await send_chunk(client, meter, store.name, name, part)
            outcome.applied += result.applied
            outcome.refused += [(t, reason, None) for t, reason in result.refused]
            pending += result.stale


async def _send_all(
    client: ShopifyClient,
    meter: CallMeter,
    store: Store,
    name: str,
    targets: Sequence[LevelTarget],
    received_at: datetime,
    progress: Progress | None,
) -> _Outcome:
    outcome = _Outcome()
    stale: list[LevelTarget] = []
    done = 0
    for part in chunks(targets):
        result = await send_chunk(client, meter, store.name, name, part)
        outcome.applied += result.applied
        outcome.refused += [(t, reason, None) for t, reason in result.refused]
        stale += result.stale
        done += len(part)
        if progress is not None:
            progress(done, len(targets))
    await _settle_stale(client, meter, store, name, stale, received_at, outcome)
    return outcome


async def _record(
    database: Database,
    store: Store,
    planned: Sequence[_Planned],
    unchanged: Sequence[LevelTarget],
    outcome: _Outcome,
) -> None:
    ids = {p.target.key: p.level_id for p in planned}
    revisions = {p.target.key: p.target.revision for p in planned}
    changes = []
    for target in outcome.applied:
        changes.append(
            {
                "id": ids[target.key],
                "known": target.quantity,
                "revision": revisions[target.key] + 1,
                "status": "in_sync",
                "reason": None,
            }
        )
    for target, value in outcome.in_sync:
        changes.append(
            {
                "id": ids[target.key],
                "known": value,
                "revision": revisions[target.key] + 1,
                "status": "in_sync",
                "reason": None,
            }
        )
    for target, reason, value in outcome.refused:
        change: dict[str, Any] = {"id": ids[target.key], "status": "rejected", "reason": reason}
        if value is not None:
            change["known"] = value
            change["revision"] = revisions[target.key] + 1
        changes.append(change)
    for target in unchanged:
        changes.append({"id": ids[target.key], "status": "in_sync", "reason": None})
    async with database.transaction() as session:
        await InventoryRepository(session).update_levels(changes)


async def _push_store(
    database: Database,
    settings: Settings,
    store: Store,
    rows: Sequence[LevelRow],
    refused_early: Sequence[Rejection],
    received_at: datetime,
    report: PushReport,
    progress: Progress | None,
) -> None:
    started = datetime.now(UTC)
    result = report.stores.setdefault(store.name, StoreResult(store.name))
    result.rows += len(rows) + len(refused_early)
    name = quantity_name(store)
    async with database.transaction() as session:
        mapping = await InventoryRepository(session).mapping(store.id)
    meter = CallMeter()
    if not mapping and rows:
        mapped = await _refresh_mapping(database, settings, store.name)
        meter.calls += mapped.calls
        meter.points += mapped.points
        async with database.transaction() as session:
            mapping = await InventoryRepository(session).mapping(store.id)
    resolved, rejected = _resolve(store, settings, rows, mapping)
    rejected += refused_early
    planned = await _plan(database, store, resolved, received_at)
    to_send, unchanged = changed_levels(p.target for p in planned)
    outcome = _Outcome()
    if to_send:
        _, client = await _open(database, settings, store.name)
        async with client:
            outcome = await _send_all(client, meter, store, name, to_send, received_at, progress)
    await _record(database, store, planned, unchanged, outcome)
    by_key = {p.target.key: p.row for p in planned}
    for target, reason, _ in outcome.refused:
        row = by_key[target.key]
        rejected.append(Rejection(row.line, reason, row.store, row.sku, row.warehouse or None))
    refused_keys = {t.key for t, _, _ in outcome.refused}
    applied_keys = {t.key for t in outcome.applied}
    for p in planned:
        if p.target.key in refused_keys:
            continue
        report.accepted.append(
            {
                "line": p.row.line,
                "store": store.name,
                "sku": p.row.sku,
                "warehouse": p.row.warehouse or None,
                "quantity": p.row.quantity,
                "result": "applied" if p.target.key in applied_keys else "unchanged",
            }
        )
    result.applied += len(applied_keys)
    result.unchanged += len(planned) - len(applied_keys) - len(refused_keys)
    result.rejected += len(rejected)
    result.calls += meter.calls
    result.points += meter.points
    report.rejected += rejected
    async with database.transaction() as session:
        await InventoryRepository(session).record_sync(
            store.id,
            started_at=started,
            rows=result.rows,
            sent=len(to_send),
            applied=len(applied_keys),
            unchanged=result.unchanged,
            calls=meter.calls,
            points=meter.points,
            rejections=[r.as_dict() for r in sorted(rejected, key=lambda r: r.line)],
        )


async def push(
    database: Database,
    settings: Settings,
    rows: Sequence[RawRow],
    *,
    allowed_stores: frozenset[str] | None = None,
    received_at: datetime | None = None,
    progress: Progress | None = None,
    refused: Mapping[str, Sequence[Rejection]] | None = None,
) -> PushReport:
    """Check, map and write ``rows``. Every row ends up either accepted (applied, or already
    at that level) or rejected with its line and reason; good rows are applied whatever
    happens to the others. ``allowed_stores`` (an API key's stores) makes rows of other
    stores look exactly like rows of unknown stores. ``refused``: rows the caller already
    rejected (e.g. unreadable feed lines), recorded with their store's sync.

    Pushes to one store run one after the other, whichever process they come from
    (``store_lock``): a push reads the levels the previous one left, so its
    ``changeFromQuantity`` is never our own earlier value taken for a change in Shopify."""
    clock = time.monotonic()
    received = received_at or datetime.now(UTC)
    report = PushReport()
    good, rejected = check_rows(rows)
    async with database.stores() as stores:
        known = {s.name: s for s in await stores.list()}

    def ours(name: str | None) -> bool:
        return name in known and (allowed_stores is None or name in allowed_stores)

    by_store: dict[str, list[LevelRow]] = {}
    early: dict[str, list[Rejection]] = {}
    for store_name, found in (refused or {}).items():
        if ours(store_name):
            early.setdefault(store_name, []).extend(found)
        else:
            report.rejected.extend(found)
    for rejection in rejected:
        if rejection.store is not None and ours(rejection.store):
            early.setdefault(rejection.store, []).append(rejection)
        else:
            report.rejected.append(rejection)
    for row in good:
        if not ours(row.store):
            report.rejected.append(
                Rejection(
                    row.line,
                    f"unknown store {row.store!r}",
                    row.store,
                    row.sku,
                    row.warehouse or None,
                )
            )
            continue
        by_store.setdefault(row.store, []).append(row)
    for store_name in sorted(set(by_store) | set(early)):
        store_rows = by_store.get(store_name, [])
        store_early = early.get(store_name, [])
        try:
            async with store_lock(database, known[store_name]):
                await _push_store(
                    database,
                    settings,
                    known[store_name],
                    store_rows,
                    store_early,
                    received,
                    report,
                    progress,
                )
        except StoreBusy as exc:
            # Waited long enough: every row is still answered, none half-applied.
            report.stores.setdefault(store_name, StoreResult(store_name))
            report.stores[store_name].rows += len(store_rows) + len(store_early)
            report.stores[store_name].rejected += len(store_rows) + len(store_early)
            report.rejected += store_early
            report.rejected += [
                Rejection(r.line, str(exc), r.store, r.sku, r.warehouse or None) for r in store_rows
            ]
    report.rejected.sort(key=lambda r: r.line)
    report.accepted.sort(key=lambda a: a["line"])
    report.seconds = time.monotonic() - clock
    return report


async def status(
    database: Database, *, allowed_stores: frozenset[str] | None = None, store: str | None = None
) -> list[StoreInventoryStatus]:
    """Per store: last sync, levels in sync, pending, rejected rows with reasons."""
    async with database.stores() as stores:
        listed = [
            s
            for s in await stores.list()
            if (allowed_stores is None or s.name in allowed_stores)
            and (store is None or s.name == store)
        ]
    if store is not None and not listed:
        raise StoreNotFound(f"no store named {store!r}")
    out = []
    async with database.transaction() as session:
        repo = InventoryRepository(session)
        for s in listed:
            found = await repo.status(s.id, s.name)
            feed = feed_of(s)
            if feed is not None:
                polled = await repo.feed(s.id) or {}
                found = dataclasses.replace(
                    found,
                    feed={"url": mask_url(feed.url), "interval_seconds": feed.interval, **polled},
                )
            out.append(found)
    return out


async def fetch_stock(
    database: Database, store: Store, skus: Sequence[str] | None
) -> dict[str, int]:
    """What Shopify's fetch_stock callback gets: the levels the operation reported at the
    store's fulfillment-service location, by SKU."""
    location = store.settings.get("location_id")
    if not location:
        return {}
    async with database.transaction() as session:
        return await InventoryRepository(session).stock(store.id, location, skus)
