"""The store's SKU mapping, read whole: every variant (SKU, inventory item, tracked,
levels) into ``inventory_items``, one page when that is all there is, else one bulk
operation (or, with ``use_bulk`` off, page after page)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fulfillbridge.config import Settings
from fulfillbridge.flows.connect import open_store_client
from fulfillbridge.flows.inventory.base import CallMeter, InventorySyncError
from fulfillbridge.flows.inventory.lock import store_lock
from fulfillbridge.shopify import BulkOperationFailed, ShopifyClient, operation, run_bulk_query
from fulfillbridge.shopify.inventory import assemble_variant_rows, variant_items
from fulfillbridge.store.database import Database
from fulfillbridge.store.inventory import InventoryRepository, ItemEntry, sku_entries

MAPPING_PAGE = 250
BULK_TIMEOUT = 600.0


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


def item_entries(variants: Iterable[dict[str, Any]]) -> list[ItemEntry]:
    """What the variants say, as the mapping stores it."""
    return [
        ItemEntry(
            item_id=item.item_id,
            sku=item.sku,
            tracked=item.tracked,
            product_id=item.product_id,
            levels=item.levels,
        )
        for item in variant_items(variants)
    ]


async def _bulk_variants(
    client: ShopifyClient, meter: CallMeter, poll_seconds: float
) -> list[dict[str, Any]]:
    """Every variant through one bulk operation, levels put back under their item."""
    query = operation("VariantsForInventoryMappingBulk").document
    try:
        rows = await run_bulk_query(
            client, query, poll_seconds=poll_seconds, timeout=BULK_TIMEOUT, on_call=meter.count
        )
    except BulkOperationFailed as exc:
        raise InventorySyncError(f"the bulk mapping query failed: {exc}") from exc
    return assemble_variant_rows(rows)


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
        return await refresh_mapping_locked(
            database, settings, store_name, use_bulk=use_bulk, bulk_poll_seconds=bulk_poll_seconds
        )


async def refresh_mapping_locked(
    database: Database,
    settings: Settings,
    store_name: str,
    *,
    use_bulk: bool = True,
    bulk_poll_seconds: float = 0.5,
) -> MappingReport:
    """:func:`refresh_mapping` for a caller that holds the store's lock already."""
    store, client = await open_store_client(database, settings, store_name)
    meter = CallMeter()
    async with client:
        variants, bulk = await _read_variants(client, meter, bulk_poll_seconds, use_bulk)
    items = item_entries(variants)
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
