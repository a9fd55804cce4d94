"""The sandbox's catalogue: products, variants, inventory items and inventory levels.

Pure Python, no GraphQL. Obtain it as ``shop.part("catalog", Catalog)``.

Quantity model (Shopify docs, "inventory states"): every level stores ``on_hand`` plus the
states that are not sellable (``committed``, ``reserved``, ``damaged``, ``safety_stock``,
``quality_control``) and ``incoming``. ``available`` is derived:
``on_hand - committed - reserved - damaged - safety_stock - quality_control``.
Setting ``available`` therefore moves ``on_hand`` by the same delta (as the capture
2026-04_products_inventory-quantity-contracts-2026-04.json shows: one set of "available"
reports a change of both "available" and "on_hand").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from fulfillbridge.sandbox.state import gid

if TYPE_CHECKING:
    from fulfillbridge.sandbox.state import ShopState

_T = TypeVar("_T")

# Names Shopify accepts in InventoryLevel.quantities(names:) (Shopify docs).
QUANTITY_NAMES: tuple[str, ...] = (
    "available",
    "on_hand",
    "committed",
    "incoming",
    "reserved",
    "damaged",
    "safety_stock",
    "quality_control",
)
# States that are part of on_hand but not sellable.
UNAVAILABLE_NAMES: tuple[str, ...] = ("reserved", "damaged", "safety_stock", "quality_control")
STORED_NAMES: tuple[str, ...] = ("on_hand", "committed", "incoming", *UNAVAILABLE_NAMES)


class CatalogError(ValueError):
    """A catalogue rule was broken (unknown id, bad quantity name, ...)."""


@dataclass
class Product:
    id: int
    title: str
    handle: str
    status: str = "ACTIVE"  # ACTIVE | DRAFT | ARCHIVED
    vendor: str = ""
    product_type: str = ""
    tags: list[str] = field(default_factory=list)
    description_html: str = ""
    created_at: str = ""
    updated_at: str = ""
    # Option names in order, e.g. ["Color", "Size"]; Shopify's default is ["Title"].
    options: list[str] = field(default_factory=lambda: ["Title"])
    variant_ids: list[int] = field(default_factory=list)
    # URL of the product's first image (Product.featuredMedia); the sandbox never fetches it.
    image_url: str | None = None

    @property
    def gid(self) -> str:
        return gid("Product", self.id)


@dataclass
class Variant:
    id: int
    product_id: int
    inventory_item_id: int
    title: str = "Default Title"
    price: str = "0.00"
    compare_at_price: str | None = None
    barcode: str | None = None
    position: int = 1
    taxable: bool = True
    inventory_policy: str = "DENY"  # DENY | CONTINUE
    # [(option name, value)], in the product's option order.
    selected_options: list[tuple[str, str]] = field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""
    # URL of the variant's own image, when it has one (else the product's is shown).
    image_url: str | None = None

    @property
    def gid(self) -> str:
        return gid("ProductVariant", self.id)


@dataclass
class InventoryItem:
    id: int
    variant_id: int | None
    sku: str | None = None
    # productCreate makes untracked items (capture: inventory-quantity-contracts-2026-04).
    tracked: bool = False
    requires_shipping: bool = True
    weight_value: float = 0.0
    weight_unit: str = "KILOGRAMS"  # GRAMS | KILOGRAMS | OUNCES | POUNDS
    unit_cost: str | None = None
    country_code_of_origin: str | None = None
    harmonized_system_code: str | None = None
    created_at: str = ""
    updated_at: str = ""

    @property
    def gid(self) -> str:
        return gid("InventoryItem", self.id)


@dataclass
class InventoryLevel:
    id: int
    item_id: int
    location_id: int
    stored: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STORED_NAMES, 0))
    # When each name last changed (None until it does; capture: downstreamRead).
    updated: dict[str, str | None] = field(default_factory=dict)
    created_at: str = ""
    updated_at: str = ""

    @property
    def gid(self) -> str:
        # Shopify's shape: gid://shopify/InventoryLevel/<level id>?inventory_item_id=<item id>
        return f"gid://shopify/InventoryLevel/{self.id}?inventory_item_id={self.item_id}"

    def quantity(self, name: str) -> int:
        if name == "available":
            unavailable = sum(self.stored[n] for n in UNAVAILABLE_NAMES)
            return self.stored["on_hand"] - self.stored["committed"] - unavailable
        if name not in self.stored:
            raise CatalogError(f"unknown quantity name {name!r}")
        return self.stored[name]

    def quantities(self) -> dict[str, int]:
        return {name: self.quantity(name) for name in QUANTITY_NAMES}


@dataclass(frozen=True)
class QuantityChange:
    """One line of an inventory adjustment: ``name`` moved by ``delta`` at (item, location)."""

    name: str
    delta: int
    quantity_after: int
    item_id: int
    location_id: int


def inventory_item_payload(item: InventoryItem) -> dict[str, Any]:
    """REST-shaped body of the inventory_items/create and /update webhooks (Shopify's
    webhook reference for these topics; REST InventoryItem fields)."""
    return {
        "id": item.id,
        "sku": item.sku or "",
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "requires_shipping": item.requires_shipping,
        "cost": item.unit_cost,
        "country_code_of_origin": item.country_code_of_origin,
        "province_code_of_origin": None,
        "harmonized_system_code": item.harmonized_system_code,
        "tracked": item.tracked,
        "country_harmonized_system_codes": [],
        "admin_graphql_api_id": item.gid,
    }


def inventory_item_deleted_payload(item: InventoryItem) -> dict[str, Any]:
    """Body of inventory_items/delete: the id and customs fields, no SKU (Shopify's
    webhook reference)."""
    return {
        "id": item.id,
        "country_code_of_origin": item.country_code_of_origin,
        "province_code_of_origin": None,
        "harmonized_system_code": item.harmonized_system_code,
        "country_harmonized_system_codes": [],
        "admin_graphql_api_id": item.gid,
    }


def item_state(item: InventoryItem) -> tuple[Any, ...]:
    """What an inventory_items/update webhook reports a change of."""
    return (
        item.sku,
        item.tracked,
        item.requires_shipping,
        item.unit_cost,
        item.country_code_of_origin,
        item.harmonized_system_code,
        item.weight_value,
        item.weight_unit,
    )


def _handleize(title: str) -> str:
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in title)
    parts = [p for p in out.split("-") if p]
    return "-".join(parts) or "product"


class Catalog:
    """Products, variants, inventory items and levels of one shop."""

    def __init__(self, shop: ShopState) -> None:
        self.shop = shop
        self._products: dict[int, Product] = {}
        self._variants: dict[int, Variant] = {}
        self._items: dict[int, InventoryItem] = {}
        # (item id, location id) -> level
        self._levels: dict[tuple[int, int], InventoryLevel] = {}
        # item id -> location id -> level (the same objects; keeps per-item reads cheap)
        self._levels_by_item: dict[int, dict[int, InventoryLevel]] = {}

    # ----------------------------------------------------------------- products
    def create_product(
        self,
        title: str,
        *,
        handle: str | None = None,
        status: str = "ACTIVE",
        vendor: str = "",
        product_type: str = "",
        tags: list[str] | None = None,
        description_html: str = "",
        options: list[str] | None = None,
        default_variant: bool = True,
    ) -> Product:
        """A new product; with ``default_variant`` it gets the "Default Title" variant that
        Shopify's productCreate always adds (without SKU, untracked)."""
        if not title or not title.strip():
            raise CatalogError("Title can't be blank")
        now = self.shop.clock.iso_now()
        product = Product(
            id=self.shop.next_id(),
            title=title,
            handle=self._unique_handle(handle or _handleize(title)),
            status=status,
            vendor=vendor,
            product_type=product_type,
            tags=list(tags or []),
            description_html=description_html,
            created_at=now,
            updated_at=now,
            options=list(options or ["Title"]),
        )
        self._products[product.id] = product
        if default_variant:
            self.add_variant(product.id)
        return product

    def _unique_handle(self, wanted: str) -> str:
        taken = {p.handle for p in self._products.values()}
        if wanted not in taken:
            return wanted
        n = 1
        while f"{wanted}-{n}" in taken:
            n += 1
        return f"{wanted}-{n}"

    def update_product(self, product_id: int, **changes: Any) -> Product:
        product = self._require_product(product_id)
        _assign(product, changes, fixed={"id", "variant_ids"}, kind="product")
        product.updated_at = self.shop.clock.iso_now()
        return product

    def delete_product(self, product_id: int) -> None:
        product = self._require_product(product_id)
        for variant_id in list(product.variant_ids):
            self.delete_variant(variant_id)
        del self._products[product_id]

    def product(self, product_id: int) -> Product | None:
        return self._products.get(product_id)

    def products(self) -> list[Product]:
        return sorted(self._products.values(), key=lambda p: p.id)

    def _require_product(self, product_id: int) -> Product:
        return _required(self._products.get(product_id), f"unknown product {product_id}")

    # ----------------------------------------------------------------- variants
    def add_variant(
        self,
        product_id: int,
        *,
        sku: str | None = None,
        title: str | None = None,
        price: str | float | int = "0.00",
        compare_at_price: str | None = None,
        barcode: str | None = None,
        options: list[tuple[str, str]] | None = None,
        requires_shipping: bool = True,
        weight: float = 0.0,
        weight_unit: str = "KILOGRAMS",
        tracked: bool = False,
        inventory_policy: str = "DENY",
        taxable: bool = True,
    ) -> Variant:
        product = self._require_product(product_id)
        now = self.shop.clock.iso_now()
        selected = list(options or [])
        if title is None:
            title = " / ".join(v for _, v in selected) if selected else "Default Title"
        if not selected:
            selected = [(product.options[0] if product.options else "Title", title)]
        item = InventoryItem(
            id=self.shop.next_id(),
            variant_id=None,
            sku=sku or None,
            tracked=tracked,
            requires_shipping=requires_shipping,
            weight_value=float(weight),
            weight_unit=weight_unit,
            created_at=now,
            updated_at=now,
        )
        variant = Variant(
            id=self.shop.next_id(),
            product_id=product_id,
            inventory_item_id=item.id,
            title=title,
            price=_money(price),
            compare_at_price=compare_at_price,
            barcode=barcode,
            position=len(product.variant_ids) + 1,
            taxable=taxable,
            inventory_policy=inventory_policy,
            selected_options=selected,
            created_at=now,
            updated_at=now,
        )
        item.variant_id = variant.id
        self._items[item.id] = item
        self._variants[variant.id] = variant
        product.variant_ids.append(variant.id)
        product.updated_at = now
        return variant

    def update_variant(self, variant_id: int, **changes: Any) -> Variant:
        """Change variant attributes; ``sku``, ``tracked``, ``requires_shipping`` and weight
        live on the inventory item and are routed there."""
        variant = self._require_variant(variant_id)
        item = self._items[variant.inventory_item_id]
        item_keys = {"sku", "tracked", "requires_shipping", "weight_value", "weight_unit"}
        now = self.shop.clock.iso_now()
        for key, value in changes.items():
            if key in item_keys:
                setattr(item, key, (value or None) if key == "sku" else value)
                item.updated_at = now
            elif key == "price":
                variant.price = _money(value)
            elif hasattr(variant, key) and key not in {"id", "product_id", "inventory_item_id"}:
                setattr(variant, key, value)
            else:
                raise CatalogError(f"unknown variant attribute {key!r}")
        variant.updated_at = now
        return variant

    def delete_variant(self, variant_id: int) -> None:
        variant = self._require_variant(variant_id)
        product = self._products[variant.product_id]
        product.variant_ids.remove(variant_id)
        for position, vid in enumerate(product.variant_ids, start=1):
            self._variants[vid].position = position
        item_id = variant.inventory_item_id
        for location_id in list(self._levels_by_item.pop(item_id, {})):
            del self._levels[(item_id, location_id)]
        self._items.pop(item_id, None)
        del self._variants[variant_id]

    def variant(self, variant_id: int) -> Variant | None:
        return self._variants.get(variant_id)

    def variants(self) -> list[Variant]:
        return sorted(self._variants.values(), key=lambda v: v.id)

    def variants_of(self, product_id: int) -> list[Variant]:
        product = self._require_product(product_id)
        return [self._variants[vid] for vid in product.variant_ids]

    def variants_by_sku(self, sku: str) -> list[Variant]:
        """Every variant whose SKU is exactly ``sku`` (case-sensitive; docs/shopify.md#inventory:
        one SKU may belong to several variants, so callers get all of them)."""
        if not sku:
            return []
        return [v for v in self.variants() if self._items[v.inventory_item_id].sku == sku]

    def sku_of(self, variant_id: int) -> str | None:
        variant = self._require_variant(variant_id)
        return self._items[variant.inventory_item_id].sku

    def item_of(self, variant_id: int) -> InventoryItem:
        return self._items[self._require_variant(variant_id).inventory_item_id]

    def _require_variant(self, variant_id: int) -> Variant:
        return _required(self._variants.get(variant_id), f"unknown variant {variant_id}")

    # ----------------------------------------------------------- inventory items
    def inventory_item(self, item_id: int) -> InventoryItem | None:
        return self._items.get(item_id)

    def inventory_items(self) -> list[InventoryItem]:
        return sorted(self._items.values(), key=lambda i: i.id)

    def items_by_sku(self, sku: str) -> list[InventoryItem]:
        return [i for i in self.inventory_items() if sku and i.sku == sku]

    def update_item(self, item_id: int, **changes: Any) -> InventoryItem:
        item = self._require_item(item_id)
        _assign(item, changes, fixed={"id", "variant_id"}, kind="inventory item")
        item.updated_at = self.shop.clock.iso_now()
        return item

    def _require_item(self, item_id: int) -> InventoryItem:
        return _required(self._items.get(item_id), f"unknown inventory item {item_id}")

    def total_inventory(self, product_id: int) -> int:
        """Sum of available over the product's tracked variants (Product.totalInventory)."""
        return sum(self.variant_inventory(v.id) for v in self.variants_of(product_id))

    def variant_inventory(self, variant_id: int) -> int:
        """ProductVariant.inventoryQuantity: available summed over locations."""
        item = self.item_of(variant_id)
        return sum(level.quantity("available") for level in self.levels_of_item(item.id))

    # ---------------------------------------------------------- inventory levels
    def level(self, item_id: int, location_id: int) -> InventoryLevel | None:
        return self._levels.get((item_id, location_id))

    def level_by_id(self, level_id: int) -> InventoryLevel | None:
        for level in self._levels.values():
            if level.id == level_id:
                return level
        return None

    def levels_of_item(self, item_id: int) -> list[InventoryLevel]:
        return sorted(
            self._levels_by_item.get(item_id, {}).values(),
            key=lambda lv: lv.location_id,
        )

    def levels_at_location(self, location_id: int) -> list[InventoryLevel]:
        return sorted(
            (lv for (_, loc), lv in self._levels.items() if loc == location_id),
            key=lambda lv: lv.item_id,
        )

    def stocked_locations(self, item_id: int) -> list[int]:
        """Ids of the locations where the item is stocked (has a level), ascending."""
        return [lv.location_id for lv in self.levels_of_item(item_id)]

    def activate(
        self,
        item_id: int,
        location_id: int,
        *,
        available: int | None = None,
        on_hand: int | None = None,
    ) -> InventoryLevel:
        """Stock the item at the location (inventoryActivate); idempotent."""
        self._require_item(item_id)
        if location_id not in self.shop.locations:
            raise CatalogError(f"unknown location {location_id}")
        level = self._levels.get((item_id, location_id))
        if level is None:
            now = self.shop.clock.iso_now()
            level = InventoryLevel(
                id=self.shop.next_id(),
                item_id=item_id,
                location_id=location_id,
                created_at=now,
                updated_at=now,
            )
            self._levels[(item_id, location_id)] = level
            self._levels_by_item.setdefault(item_id, {})[location_id] = level
        if on_hand is not None:
            self.set_quantity(item_id, location_id, "on_hand", on_hand)
        if available is not None:
            self.set_quantity(item_id, location_id, "available", available)
        return level

    def deactivate(self, item_id: int, location_id: int) -> None:
        self._levels.pop((item_id, location_id), None)
        self._levels_by_item.get(item_id, {}).pop(location_id, None)

    def relocate_levels(self, source_id: int, destination_id: int) -> None:
        """Every level at ``source_id`` joins the item's level at ``destination_id`` (stocked
        there first when it was not), all stored quantities added, and leaves the source
        (locationDeactivate with a destination)."""
        for level in self.levels_at_location(source_id):
            target = self.activate(level.item_id, destination_id)
            now = self.shop.clock.iso_now()
            for name, value in level.stored.items():
                if value:
                    target.stored[name] += value
                    target.updated[name] = now
            target.updated["available"] = now
            target.updated_at = now
            self.deactivate(level.item_id, source_id)
            self._emit_level(target)

    def quantity(self, item_id: int, location_id: int, name: str) -> int:
        level = self._levels.get((item_id, location_id))
        return level.quantity(name) if level else 0

    def available(self, item_id: int, location_id: int) -> int:
        """Sellable quantity at one location (0 when the item is not stocked there)."""
        return self.quantity(item_id, location_id, "available")

    def set_quantity(
        self, item_id: int, location_id: int, name: str, quantity: int, *, emit: bool = True
    ) -> list[QuantityChange]:
        """Set ``name`` to ``quantity``; returns the changes (Shopify reports "available"
        and "on_hand" together when either moves the other)."""
        level = self._require_level(item_id, location_id)
        return self.adjust_quantity(
            item_id, location_id, name, quantity - level.quantity(name), emit=emit
        )

    def adjust_quantity(
        self, item_id: int, location_id: int, name: str, delta: int, *, emit: bool = True
    ) -> list[QuantityChange]:
        level = self._require_level(item_id, location_id)
        if name not in QUANTITY_NAMES:
            raise CatalogError(f"unknown quantity name {name!r}")
        if delta == 0:
            return []
        before_available = level.quantity("available")
        now = self.shop.clock.iso_now()
        # (name, delta) pairs that move; "available" is derived from the stored states.
        if name in {"available", "on_hand"}:
            # Moving available moves on_hand by the same amount, and vice versa.
            level.stored["on_hand"] += delta
            moved = [("available", delta), ("on_hand", delta)]
        elif name == "incoming":
            level.stored["incoming"] += delta
            moved = [("incoming", delta)]
        else:
            # committed / reserved / damaged / ...: part of on_hand, not sellable.
            level.stored[name] += delta
            moved = [(name, delta), ("available", -delta)]
        for n, _ in moved:
            level.updated[n] = now
        level.updated_at = now
        changes = [QuantityChange(n, d, level.quantity(n), item_id, location_id) for n, d in moved]
        if emit and level.quantity("available") != before_available:
            self._emit_level(level)
        return changes

    def move_quantity(
        self, item_id: int, location_id: int, from_name: str, to_name: str, quantity: int
    ) -> list[QuantityChange]:
        """Move ``quantity`` units from state ``from_name`` to ``to_name`` at one level
        (inventoryMoveQuantities). ``available`` is derived, so only the stored states move;
        on_hand moves too when one side is ``incoming`` (not yet on hand) and the other is
        not. Reports the two sides, then on_hand when it moved."""
        level = self._require_level(item_id, location_id)
        for name in (from_name, to_name):
            if name not in QUANTITY_NAMES or name in {"on_hand", "committed"}:
                raise CatalogError(f"quantity name {name!r} cannot be moved")
        if quantity == 0 or from_name == to_name:
            return []
        before_available = level.quantity("available")
        now = self.shop.clock.iso_now()
        if from_name != "available":
            level.stored[from_name] -= quantity
        if to_name != "available":
            level.stored[to_name] += quantity
        on_hand_delta = (quantity if to_name != "incoming" else 0) - (
            quantity if from_name != "incoming" else 0
        )
        level.stored["on_hand"] += on_hand_delta
        moved = [(from_name, -quantity), (to_name, quantity)]
        if on_hand_delta:
            moved.append(("on_hand", on_hand_delta))
        for name, _ in moved:
            level.updated[name] = now
        level.updated_at = now
        changes = [QuantityChange(n, d, level.quantity(n), item_id, location_id) for n, d in moved]
        if level.quantity("available") != before_available:
            self._emit_level(level)
        return changes

    def _require_level(self, item_id: int, location_id: int) -> InventoryLevel:
        return _required(
            self._levels.get((item_id, location_id)),
            f"inventory item {item_id} is not stocked at location {location_id}",
        )

    # --------------------------------------------------- order-driven movements
    def commit(self, item_id: int, location_id: int, qty: int) -> None:
        """An order line reserved ``qty`` units: committed goes up, available down.

        Untracked items are not counted (Shopify docs). A level is created on demand when
        the item was not stocked at the location, so available may go negative, as it does
        on Shopify when an order is assigned to a location without stock.
        """
        self._order_movement(item_id, location_id, qty, committed=+1, on_hand=0)

    def release_commit(self, item_id: int, location_id: int, qty: int) -> None:
        """Undo ``commit`` (order cancelled or line removed)."""
        self._order_movement(item_id, location_id, qty, committed=-1, on_hand=0)

    def fulfil(self, item_id: int, location_id: int, qty: int) -> None:
        """Units left the building: on_hand and committed both go down; available stays."""
        self._order_movement(item_id, location_id, qty, committed=-1, on_hand=-1)

    def _order_movement(
        self, item_id: int, location_id: int, qty: int, *, committed: int, on_hand: int
    ) -> None:
        if qty < 0:
            raise CatalogError("quantity must not be negative")
        item = self._require_item(item_id)
        if not item.tracked or qty == 0:
            return
        level = self._levels.get((item_id, location_id)) or self.activate(item_id, location_id)
        before = level.quantity("available")
        now = self.shop.clock.iso_now()
        # committed never drops below zero (a release after a manual correction).
        committed_delta = committed * qty
        if level.stored["committed"] + committed_delta < 0:
            committed_delta = -level.stored["committed"]
        level.stored["committed"] += committed_delta
        level.stored["on_hand"] += on_hand * qty
        for n in ("committed", "available") + (("on_hand",) if on_hand else ()):
            level.updated[n] = now
        level.updated_at = now
        if level.quantity("available") != before:
            self._emit_level(level)

    # ------------------------------------------------------------------ events
    def _emit_level(self, level: InventoryLevel) -> None:
        # REST-shaped payload of the inventory_levels/update webhook (Shopify docs).
        self.shop.emit(
            "inventory_levels/update",
            {
                "inventory_item_id": level.item_id,
                "location_id": level.location_id,
                "available": level.quantity("available"),
                "updated_at": level.updated_at,
                "admin_graphql_api_id": level.gid,
            },
        )

    def dump(self) -> dict[str, Any]:
        """A JSON-able view for the sandbox state endpoint."""
        return {
            "products": [
                {
                    "id": p.gid,
                    "title": p.title,
                    "variants": [
                        {
                            "id": self._variants[v].gid,
                            "sku": self._items[self._variants[v].inventory_item_id].sku,
                            "inventoryItemId": gid(
                                "InventoryItem", self._variants[v].inventory_item_id
                            ),
                        }
                        for v in p.variant_ids
                    ],
                }
                for p in self.products()
            ],
            "inventoryLevels": [
                {
                    "inventoryItemId": gid("InventoryItem", lv.item_id),
                    "locationId": gid("Location", lv.location_id),
                    "quantities": lv.quantities(),
                }
                for lv in sorted(self._levels.values(), key=lambda lv: lv.id)
            ],
        }


def _required(found: _T | None, message: str) -> _T:
    if found is None:
        raise CatalogError(message)
    return found


def _assign(record: Any, changes: dict[str, Any], *, fixed: set[str], kind: str) -> None:
    """Set a record's attributes by name; unknown and fixed (identity) ones are refused."""
    for key, value in changes.items():
        if not hasattr(record, key) or key in fixed:
            raise CatalogError(f"unknown {kind} attribute {key!r}")
        setattr(record, key, value)


def _money(value: str | float | int) -> str:
    try:
        return f"{float(value):.2f}"
    except (TypeError, ValueError) as exc:
        raise CatalogError(f"invalid price {value!r}") from exc


# ------------------------------------------------------------------ search syntax
@dataclass(frozen=True)
class SearchTerm:
    """One term of Shopify's search syntax: ``field:value`` (field None for free text)."""

    field: str | None
    value: str
    negated: bool = False
    comparator: str = ":"  # ":" | ":<" | ":>" | ":<=" | ":>="


def parse_search_query(query: str | None) -> list[list[SearchTerm]]:
    """Shopify's search syntax (Shopify docs: "API search syntax") reduced to what the
    sandbox needs: terms joined by an implicit AND, ``OR`` between groups, a leading ``-``
    or ``NOT`` to negate, quoted values, and the comparators ``:<``, ``:>``, ``:<=``,
    ``:>=``. Returns the OR-groups, each a list of terms that must all hold.
    """
    if not query or not query.strip():
        return []
    groups: list[list[SearchTerm]] = [[]]
    negate_next = False
    for token in _tokens(query):
        if token == "OR":
            groups.append([])
            continue
        if token == "AND":
            continue
        if token == "NOT":
            negate_next = True
            continue
        negated = negate_next
        negate_next = False
        if token.startswith("-") and len(token) > 1:
            negated, token = True, token[1:]
        field_name, comparator, value = _split_term(token)
        groups[-1].append(SearchTerm(field_name, value, negated, comparator))
    return [g for g in groups if g]


def _tokens(query: str) -> list[str]:
    tokens: list[str] = []
    current = ""
    quote: str | None = None
    for ch in query:
        if quote:
            if ch == quote:
                quote = None
            else:
                current += ch
        elif ch in "\"'":
            quote = ch
        elif ch.isspace():
            if current:
                tokens.append(current)
            current = ""
        else:
            current += ch
    if current:
        tokens.append(current)
    return tokens


def _split_term(token: str) -> tuple[str | None, str, str]:
    name, sep, rest = token.partition(":")
    if not sep or not name or not all(c.isalnum() or c in "_." for c in name):
        return None, ":", token
    for comparator in ("<=", ">=", "<", ">"):
        if rest.startswith(comparator):
            return name.lower(), ":" + comparator, rest[len(comparator) :]
    return name.lower(), ":", rest


def term_matches_text(term: SearchTerm, candidate: str | None) -> bool:
    """Case-insensitive exact match, or prefix match with a trailing ``*`` (Shopify's search
    is case-insensitive; ``sku:ABC*`` is a prefix search)."""
    if candidate is None:
        return False
    wanted = term.value.lower()
    have = candidate.lower()
    if wanted == "*":
        return have != ""
    if wanted.endswith("*"):
        return have.startswith(wanted[:-1])
    return have == wanted


def term_matches_number(term: SearchTerm, candidate: int | float | None) -> bool:
    if candidate is None:
        return False
    try:
        wanted = float(term.value)
    except ValueError:
        return False
    return {
        ":": candidate == wanted,
        ":<": candidate < wanted,
        ":>": candidate > wanted,
        ":<=": candidate <= wanted,
        ":>=": candidate >= wanted,
    }[term.comparator]


def search_filter(
    items: list[Any],
    query: str | None,
    match: Any,
) -> list[Any]:
    """Keep the items for which some OR-group has every term true. ``match(item, term)``
    returns True/False, or None for a field the resource does not support: Shopify ignores
    such terms (Shopify docs: an invalid field is ignored), so None counts as a match."""
    groups = parse_search_query(query)
    if not groups:
        return list(items)

    def holds(item: Any, term: SearchTerm) -> bool:
        result = match(item, term)
        if result is None:
            return True
        return (not result) if term.negated else bool(result)

    return [item for item in items if any(all(holds(item, t) for t in g) for g in groups)]
