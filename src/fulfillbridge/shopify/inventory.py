"""Shopify's inventory shapes, read and written by pure functions (no I/O).

- :func:`set_quantities_input` builds ``inventorySetQuantities``'s input, with
  ``changeFromQuantity`` always present (compare-and-set; null when the level was never
  read; Shopify requires the field).
- :func:`sort_set_quantities_errors` reads its userErrors: Shopify points at the refused
  entry with the field path ``["input", "quantities", "<i>", ...]``; an error pointing
  elsewhere (the name, the reason) concerns the whole call.
- :func:`level_quantities` reads the ``InventoryLevelsReread`` answer.
- :func:`variant_items` and :func:`assemble_variant_rows` read variants (a page of
  ``productVariants``, or the rows of the bulk query) into one entry per inventory item.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

STALE = "CHANGE_FROM_QUANTITY_STALE"
REASON = "correction"  # Shopify's reason for a count that replaces the level
REFERENCE = "logistics://fulfillbridge/inventory-sync"


class QuantityWrite(Protocol):
    """One level to set: the item at the location to ``quantity``, if it still holds
    ``known`` (``changeFromQuantity``)."""

    @property
    def item_id(self) -> str: ...
    @property
    def location_id(self) -> str: ...
    @property
    def quantity(self) -> int: ...
    @property
    def known(self) -> int | None: ...


def set_quantities_input(name: str, writes: Iterable[QuantityWrite]) -> dict[str, Any]:
    """``InventorySetQuantitiesInput`` setting the ``name`` quantity ("available" or
    "on_hand") of each level."""
    return {
        "name": name,
        "reason": REASON,
        "referenceDocumentUri": REFERENCE,
        "quantities": [
            {
                "inventoryItemId": w.item_id,
                "locationId": w.location_id,
                "quantity": w.quantity,
                "changeFromQuantity": w.known,
            }
            for w in writes
        ],
    }


def quantity_index(field_path: Sequence[str] | None) -> int | None:
    """The index of the ``quantities`` entry a userError points at, or None."""
    if field_path and len(field_path) >= 3 and field_path[1] == "quantities":
        try:
            return int(field_path[2])
        except ValueError:
            return None
    return None


@dataclass
class SetQuantitiesErrors:
    """userErrors of one ``inventorySetQuantities`` call of ``count`` entries, sorted:
    ``batch`` is the message of an error about the whole call (then nothing else counts),
    ``refused`` Shopify's message per refused entry, ``stale`` the entries whose level
    changed since it was read (an entry both refused and stale counts as refused)."""

    batch: str | None = None
    refused: dict[int, str] = field(default_factory=dict)
    stale: set[int] = field(default_factory=set)


def sort_set_quantities_errors(
    errors: Iterable[Mapping[str, Any]], count: int
) -> SetQuantitiesErrors:
    found = SetQuantitiesErrors()
    for error in errors:
        index = quantity_index(error.get("field"))
        if index is None or not 0 <= index < count:
            return SetQuantitiesErrors(batch=str(error.get("message")))
        if error.get("code") == STALE:
            found.stale.add(index)
        else:
            found.refused.setdefault(index, str(error.get("message")))
    found.stale -= set(found.refused)
    return found


def _time(stamp: str | None) -> datetime | None:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None


def level_quantities(
    data: Mapping[str, Any], name: str
) -> dict[tuple[str, str], tuple[int, datetime | None]]:
    """(item, location) -> (quantity, updatedAt) of the ``name`` quantity in an
    ``InventoryLevelsReread`` answer.

    Shopify answers ``updatedAt: null`` for ``on_hand`` even right after it changed (the
    recorded inventory-quantity-contracts capture), while ``available`` moves with it and
    carries the time; so a null time is taken from the newest quantity of the level."""
    found: dict[tuple[str, str], tuple[int, datetime | None]] = {}
    for node in data.get("nodes") or []:
        if not node:
            continue
        for level in (node.get("inventoryLevels") or {}).get("nodes") or []:
            quantities = level.get("quantities") or []
            times = [t for t in (_time(q.get("updatedAt")) for q in quantities) if t]
            for q in quantities:
                if q["name"] == name:
                    found[(node["id"], level["location"]["id"])] = (
                        q["quantity"],
                        _time(q.get("updatedAt")) or max(times, default=None),
                    )
    return found


@dataclass(frozen=True)
class VariantItem:
    """What a variant says about its inventory item."""

    item_id: str
    sku: str
    tracked: bool
    product_id: str | None
    # location gid -> {quantity name: quantity}
    levels: dict[str, dict[str, int]]


def variant_items(variants: Iterable[Mapping[str, Any]]) -> list[VariantItem]:
    """One entry per variant with a SKU and an inventory item (SKUs are case-sensitive:
    kept exactly as Shopify has them)."""
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
            VariantItem(
                item_id=item["id"],
                sku=sku,
                tracked=bool(item.get("tracked")),
                product_id=(variant.get("product") or {}).get("id"),
                levels=levels,
            )
        )
    return items


def assemble_variant_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The variants of the ``VariantsForInventoryMappingBulk`` result rows, each item's
    levels put back under it as ``inventoryLevels.nodes`` (the shape of a paged read)."""
    variants: list[dict[str, Any]] = []
    by_id: dict[str, dict[str, Any]] = {}
    for row in rows:
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
