"""Unit tests of the sandbox catalogue (pure domain, no HTTP)."""

from __future__ import annotations

from typing import Any

import pytest

from fulfillbridge.sandbox.clock import SandboxClock
from fulfillbridge.sandbox.domain.catalog import Catalog, CatalogError
from fulfillbridge.sandbox.state import Location, ShopState


def _shop() -> tuple[ShopState, list[tuple[str, dict[str, Any]]]]:
    shop = ShopState("unit.myshopify.com", "Unit", "Basic", SandboxClock())
    shop.locations[1] = Location(1, "Main")
    shop.locations[2] = Location(2, "Overflow")
    events: list[tuple[str, dict[str, Any]]] = []
    shop.listeners.append(lambda topic, payload: events.append((topic, payload)))
    return shop, events


def _tracked_variant(catalog: Catalog, sku: str = "FB-TEE-BLK-M") -> int:
    product = catalog.create_product("Tee", default_variant=False)
    variant = catalog.add_variant(product.id, sku=sku, tracked=True, price=19.5)
    return variant.id


def test_create_product_gets_default_untracked_variant() -> None:
    shop, _ = _shop()
    catalog = shop.part("catalog", Catalog)
    product = catalog.create_product("My Shirt")
    assert product.handle == "my-shirt"
    [variant] = catalog.variants_of(product.id)
    item = catalog.item_of(variant.id)
    assert variant.title == "Default Title"
    assert item.sku is None and item.tracked is False and item.requires_shipping is True
    assert catalog.variant(variant.id) is variant
    assert shop.part("catalog", Catalog) is catalog


def test_handles_are_unique_and_blank_title_refused() -> None:
    shop, _ = _shop()
    catalog = shop.part("catalog", Catalog)
    assert catalog.create_product("Mug").handle == "mug"
    assert catalog.create_product("Mug").handle == "mug-1"
    with pytest.raises(CatalogError, match="Title"):
        catalog.create_product("  ")


def test_variants_by_sku_is_exact_case_sensitive_and_returns_all() -> None:
    shop, _ = _shop()
    catalog = shop.part("catalog", Catalog)
    a = _tracked_variant(catalog, "FB-TEE-BLK-M")
    b = _tracked_variant(catalog, "FB-TEE-BLK-M")
    _tracked_variant(catalog, "fb-tee-blk-m")
    _tracked_variant(catalog, "FB-TEE-BLK-MX")
    assert [v.id for v in catalog.variants_by_sku("FB-TEE-BLK-M")] == [a, b]
    assert catalog.variants_by_sku("FB-TEE") == []
    assert catalog.variants_by_sku("") == []


def test_setting_available_moves_on_hand_and_emits() -> None:
    shop, events = _shop()
    catalog = shop.part("catalog", Catalog)
    item_id = catalog.item_of(_tracked_variant(catalog)).id
    catalog.activate(item_id, 1)
    changes = catalog.set_quantity(item_id, 1, "available", 5)
    assert [(c.name, c.delta) for c in changes] == [("available", 5), ("on_hand", 5)]
    assert catalog.available(item_id, 1) == 5
    assert catalog.quantity(item_id, 1, "on_hand") == 5
    assert events[-1][0] == "inventory_levels/update"
    assert events[-1][1]["available"] == 5
    assert events[-1][1]["inventory_item_id"] == item_id
    # Reserved stock stays on hand but is no longer available.
    catalog.adjust_quantity(item_id, 1, "reserved", 2)
    assert catalog.available(item_id, 1) == 3
    assert catalog.quantity(item_id, 1, "on_hand") == 5


def test_commit_release_and_fulfil() -> None:
    shop, events = _shop()
    catalog = shop.part("catalog", Catalog)
    item_id = catalog.item_of(_tracked_variant(catalog)).id
    catalog.activate(item_id, 1, available=10)
    catalog.commit(item_id, 1, 3)
    level = catalog.level(item_id, 1)
    assert level is not None
    assert level.quantities()["committed"] == 3
    assert catalog.available(item_id, 1) == 7
    catalog.release_commit(item_id, 1, 1)
    assert catalog.available(item_id, 1) == 8
    count = len(events)
    catalog.fulfil(item_id, 1, 2)
    assert level.quantity("on_hand") == 8
    assert level.quantity("committed") == 0
    assert catalog.available(item_id, 1) == 8
    assert len(events) == count  # available did not move, no webhook


def test_commit_on_unstocked_location_creates_level_and_untracked_is_ignored() -> None:
    shop, _ = _shop()
    catalog = shop.part("catalog", Catalog)
    tracked = catalog.item_of(_tracked_variant(catalog)).id
    catalog.commit(tracked, 2, 1)
    assert catalog.stocked_locations(tracked) == [2]
    assert catalog.available(tracked, 2) == -1
    product = catalog.create_product("Sticker")
    untracked = catalog.item_of(catalog.variants_of(product.id)[0].id).id
    catalog.commit(untracked, 1, 4)
    assert catalog.stocked_locations(untracked) == []


def test_activate_requires_known_item_and_location() -> None:
    shop, _ = _shop()
    catalog = shop.part("catalog", Catalog)
    item_id = catalog.item_of(_tracked_variant(catalog)).id
    with pytest.raises(CatalogError, match="location"):
        catalog.activate(item_id, 99)
    with pytest.raises(CatalogError, match="inventory item"):
        catalog.activate(424242, 1)
    with pytest.raises(CatalogError, match="not stocked"):
        catalog.set_quantity(item_id, 2, "available", 1)
    catalog.activate(item_id, 2)
    catalog.activate(item_id, 1)
    assert catalog.stocked_locations(item_id) == [1, 2]


def test_totals_and_update_variant_routes_item_fields() -> None:
    shop, _ = _shop()
    catalog = shop.part("catalog", Catalog)
    variant_id = _tracked_variant(catalog)
    item_id = catalog.item_of(variant_id).id
    catalog.activate(item_id, 1, available=4)
    catalog.activate(item_id, 2, available=6)
    variant = catalog.variant(variant_id)
    assert variant is not None
    assert catalog.variant_inventory(variant_id) == 10
    assert catalog.total_inventory(variant.product_id) == 10
    catalog.update_variant(variant_id, sku="NEW-SKU", price="5")
    assert catalog.sku_of(variant_id) == "NEW-SKU"
    assert variant.price == "5.00"
    catalog.delete_product(variant.product_id)
    assert catalog.variant(variant_id) is None
    assert catalog.inventory_item(item_id) is None
    assert catalog.level(item_id, 1) is None
