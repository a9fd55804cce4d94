"""The SKU mapping kept fresh from Shopify's catalogue webhooks (``products/*`` and
``inventory_items/*``, which set-up subscribes to; the worker applies them).

The body of a webhook only says *what* to look at: it may arrive late, twice or out of
order, so the product concerned is read from Shopify now and replaces that product's
items; a deletion drops them, and their known levels with them. A SKU on two variants, in
one product or two, stays ambiguous and refused at push, never guessed.
"""

from __future__ import annotations

from typing import Any

from fulfillbridge.core.stores import Store
from fulfillbridge.flows.inventory.base import InventorySyncError, log
from fulfillbridge.flows.inventory.lock import store_lock
from fulfillbridge.flows.inventory.mapping import MAPPING_PAGE, item_entries
from fulfillbridge.shopify import ShopifyClient, operation
from fulfillbridge.shopify.gids import gid_from_webhook
from fulfillbridge.store.database import Database
from fulfillbridge.store.inventory import InventoryRepository, ItemEntry, MappingChange

# Webhook topics that change the mapping (Shopify topic paths; set-up subscribes to them).
PRODUCT_TOPICS = ("products/create", "products/update", "products/delete")
ITEM_TOPICS = ("inventory_items/create", "inventory_items/update", "inventory_items/delete")
CATALOGUE_TOPICS = frozenset(PRODUCT_TOPICS + ITEM_TOPICS)
PRODUCT_VARIANT_PAGES = 12  # 250 a page; Shopify allows 2,048 variants per product
# A catalogue event waits this long behind a push, then fails and is retried later.
CATALOGUE_LOCK_WAIT = 60.0


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

    The product's variants are read from Shopify now and replace that product's items (a
    late or repeated webhook then reads the same, current state, so a deleted variant never
    comes back). A deletion removes the product's or item's entries. A store never mapped
    is left alone: its first push reads the whole catalogue anyway."""
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
        product_id = gid_from_webhook(payload, "Product")
        if product_id is None:
            return f"{topic} ignored: the body names no product id"
        subject = f"{topic} {product_id}"
        products = [product_id]
    else:
        item_id = gid_from_webhook(payload, "InventoryItem")
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
        items += item_entries(variants)
    async with database.transaction() as session:
        change = await InventoryRepository(session).replace_products(
            store.id, products, items, removed_items=removed_items
        )
    note = _describe_change(subject + (" (deleted)" if gone or removed_items else ""), change)
    if change.duplicated:
        log.warning("store %s: SKU(s) on several variants after %s", store.name, note)
    return note
