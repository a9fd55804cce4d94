"""Seeding a sandbox shop with a catalogue, stock and orders of realistic variety.

``seed_shop(shop, products=N, orders=M, seed=S, variety=..., stock_at=...,
service_location_id=...)`` (also ``POST /__sandbox/seed?shop=...`` with the keyword arguments
as JSON) builds:

* a catalogue of apparel and print products with SKUs such as ``FB-TEE-BLK-M``
  (product code, colour, size), tracked inventory, and a few untracked print-on-demand
  posters;
* stock placed according to ``stock_at``:

  - ``"merchant"`` (default): two merchant locations ("Shop location" and "Warehouse
    East", added when missing): most variants are stocked at the first, every fourth only
    at the second, some at both;
  - ``"service"``: every variant is stocked only at a fulfillment-service location, so new
    orders route there (a line stocked at a service location goes to that service); custom
    lines (unknown SKU, no SKU) still go to the merchant's "Shop location";
  - ``"both"``: the catalogue is shared: the posters and every other variant are stocked at
    the service location, the rest at the merchant locations as with ``"merchant"``, so
    multi-line orders often get one fulfillment order at the service and one at the
    merchant. (Stocking a variant at the service *and* the merchant would send it to the
    service anyway, so "both" means "some here, some there".)

  ``service_location_id`` (integer or ``gid://shopify/Location/...``) names the
  fulfillment-service location for ``"service"``/``"both"``; by default the shop's only
  one (create it first with ``fulfillmentServiceCreate``);
* paid orders through the orders part's public ``create_order`` (inventory committed,
  ``DECREMENT_OBEYING_POLICY``), of these kinds, drawn with the ``variety`` shares:
  ``multi_line`` (2-3 lines), ``split`` (lines stocked only at different locations, so the
  order gets one fulfillment order per location), ``no_shipping_address``,
  ``unknown_sku`` (a custom line whose SKU is not in the catalogue), ``no_sku`` (a custom
  line without SKU); the rest are single-line orders. When the shop's merchant setting
  ``auto_submit_fulfillment_requests`` is on, orders routed to a service are submitted to
  it as they are created (``sandbox.domain.orders.settings``).

``variety`` is ``"realistic"`` (the default shares below), ``"simple"`` (single-line,
addressed, known SKUs only) or a dict overriding some shares. The same ``seed`` gives the
same shop. Bad options raise ``SeedOptionError`` (a ``TypeError``, which the control
endpoint answers with 400).

``create_orders(shop, count, seed=..., variety=...)`` runs the same order generator over the
shop's current catalogue (any variant stocked at an active location); the merchant-actions
control uses it. Its further options shape every order it makes (``OrderOptions``; all off
by default, so the orders are the plain paid ones above):

* ``personalised``: the first line carries properties (an ``Engraving`` text and an
  ``_artwork_url``), the order a note, a ``gift_message`` note attribute and a phone;
* ``delivery``: ``"standard"`` (default), ``"express"`` (shipping line "Express", code
  ``EXPRESS``), ``"local"`` (local delivery) or ``"pickup"`` (in-store pickup, no shipping
  address); the fulfillment orders' delivery method follows;
* ``payment_pending``: no payment yet (financial status PENDING, no transaction);
* ``fulfill_by``: a deadline (ISO 8601) on every fulfillment order;
* ``fulfill_at``: a fulfil-at (ISO 8601); a future one makes the fulfillment orders
  SCHEDULED until the sandbox clock passes it;
* ``min_delivery_at`` / ``max_delivery_at``: the delivery window promised to the buyer.

The catalogue's products have an image URL on a host that is never contacted
(``https://cdn.example.invalid/...``) and their inventory items an HS code and a country
of origin.

Both return a summary; its order part holds ``orders`` (how many were made),
``order_kinds``, ``order_errors`` (refused orders, at most 20 messages),
``created_orders`` (``{"id", "name", "kind", "fulfillment_orders": [{"id", "order_id",
"location_id", "at_fulfillment_service", "status", "request_status"}]}``),
``fulfillment_order_ids`` and ``service_fulfillment_order_ids``. Orders and fulfillment
orders are named by global id, locations by numeric id.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fulfillbridge.sandbox.domain.catalog import Catalog, InventoryItem, Variant
from fulfillbridge.sandbox.domain.orders.details import OrderExtras
from fulfillbridge.sandbox.state import Location, ShopState, gid, parse_gid

if TYPE_CHECKING:
    from fulfillbridge.sandbox.domain.orders import FulfillmentOrder, Order

MAX_PRODUCTS = 2000
MAX_ORDERS = 20000
REALISTIC_SHARES: dict[str, float] = {
    "multi_line": 0.30,
    "split": 0.15,
    "no_shipping_address": 0.10,
    "unknown_sku": 0.08,
    "no_sku": 0.07,
}
SIMPLE_SHARES: dict[str, float] = dict.fromkeys(REALISTIC_SHARES, 0.0)
STOCK_AT: tuple[str, ...] = ("merchant", "service", "both")
# Product images live on a reserved host name: the sandbox hands the URL out, never fetches.
IMAGE_HOST = "https://cdn.example.invalid"
# Customs data of each product line: (HS code, country of origin).
_CUSTOMS = {
    "TEE": ("610910", "PT"),
    "HOOD": ("611020", "PT"),
    "MUG": ("732393", "CN"),
    "CAP": ("650500", "VN"),
    "POSTER": ("491191", "CA"),
    "SOCK": ("611595", "TR"),
    "TOTE": ("420222", "IN"),
}
# (title, code, source, price) of each delivery choice of create_orders.
DELIVERIES: dict[str, tuple[str, str, str | None, str]] = {
    "standard": ("Standard", "STANDARD", None, "6.00"),
    "express": ("Express", "EXPRESS", None, "15.00"),
    "local": ("Local delivery", "LOCAL_DELIVERY", "shopify", "5.00"),
    "pickup": ("In-store pickup", "PICKUP", "shopify", "0.00"),
}

# (code, title, vendor, product type, colours, sizes, price, tracked, grams)
_PRODUCT_LINES: tuple[
    tuple[str, str, str, str, tuple[str, ...], tuple[str, ...], str, bool, int], ...
] = (
    (
        "TEE",
        "Classic Tee",
        "Northwind Apparel",
        "T-Shirt",
        ("BLK", "WHT", "NVY"),
        ("S", "M", "L", "XL"),
        "19.00",
        True,
        180,
    ),
    (
        "HOOD",
        "Heavy Hoodie",
        "Northwind Apparel",
        "Hoodie",
        ("BLK", "GRY"),
        ("M", "L", "XL"),
        "49.00",
        True,
        650,
    ),
    ("MUG", "Enamel Mug", "Harbor Goods", "Mug", ("WHT", "RED"), (), "14.50", True, 320),
    ("CAP", "Dad Cap", "Northwind Apparel", "Hat", ("BLK", "KHK", "NVY"), (), "22.00", True, 90),
    ("POSTER", "Art Print", "Paper Works", "Poster", (), ("A3", "A2"), "25.00", False, 150),
    ("SOCK", "Crew Socks", "Harbor Goods", "Socks", ("BLK", "WHT"), ("M", "L"), "9.00", True, 60),
    ("TOTE", "Canvas Tote", "Harbor Goods", "Bag", ("NAT",), (), "18.00", True, 210),
)
_COLOURS = {
    "BLK": "Black",
    "WHT": "White",
    "NVY": "Navy",
    "GRY": "Grey",
    "RED": "Red",
    "KHK": "Khaki",
    "NAT": "Natural",
}
_CITIES = (
    ("Ottawa", "ON", "CA", "K1P 1J1"),
    ("Toronto", "ON", "CA", "M5V 2T6"),
    ("Montreal", "QC", "CA", "H2X 1Y4"),
    ("Chicago", "IL", "US", "60601"),
    ("Portland", "OR", "US", "97205"),
)
_NAMES = (
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Katherine Johnson",
    "Linus Pauling",
    "Mary Jackson",
    "Edsger Dijkstra",
    "Barbara Liskov",
)


class SeedOptionError(TypeError):
    """An option of seed_shop that cannot be used (named in the message)."""


def _count(name: str, value: Any, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise SeedOptionError(f"{name} must be an integer between 0 and {limit}, got {value!r}")
    return value


def _shares(variety: Any) -> dict[str, float]:
    if variety == "realistic":
        return dict(REALISTIC_SHARES)
    if variety == "simple":
        return dict(SIMPLE_SHARES)
    if isinstance(variety, dict):
        unknown = set(variety) - set(REALISTIC_SHARES)
        if unknown:
            raise SeedOptionError(
                f"unknown variety key(s) {', '.join(sorted(unknown))}; use "
                f"{', '.join(REALISTIC_SHARES)}"
            )
        shares = dict(REALISTIC_SHARES)
        for key, value in variety.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SeedOptionError(f"variety.{key} must be a number between 0 and 1")
            if not 0 <= value <= 1:
                raise SeedOptionError(f"variety.{key} must be between 0 and 1, got {value}")
            shares[key] = float(value)
        if sum(shares.values()) > 1 + 1e-9:
            raise SeedOptionError("variety shares add up to more than 1")
        return shares
    raise SeedOptionError('variety must be "realistic", "simple" or an object of shares')


def _seed_number(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SeedOptionError(f"seed must be an integer, got {value!r}")
    return value


def _stock_at(value: Any) -> str:
    if value not in STOCK_AT:
        raise SeedOptionError(
            f"stock_at must be one of {', '.join(repr(v) for v in STOCK_AT)}, got {value!r}"
        )
    return str(value)


def _location_number(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return parse_gid(value, "Location")
    return None


@dataclass(frozen=True)
class OrderOptions:
    """How create_orders shapes each order (see the module docstring)."""

    personalised: bool = False
    delivery: str = "standard"
    payment_pending: bool = False
    extras: OrderExtras = field(default_factory=OrderExtras)


def _iso_option(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return value
    raise SeedOptionError(
        f"{name} must be an ISO 8601 time with a time zone (e.g. 2026-12-24T12:00:00Z), "
        f"got {value!r}"
    )


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SeedOptionError(f"{name} must be true or false, got {value!r}")
    return value


def order_options(
    *,
    personalised: Any = False,
    delivery: Any = "standard",
    payment_pending: Any = False,
    fulfill_by: Any = None,
    fulfill_at: Any = None,
    min_delivery_at: Any = None,
    max_delivery_at: Any = None,
) -> OrderOptions:
    """Checked create_orders options (a bad one raises ``SeedOptionError`` naming it)."""
    if delivery not in DELIVERIES:
        raise SeedOptionError(
            f"delivery must be one of {', '.join(repr(d) for d in DELIVERIES)}, got {delivery!r}"
        )
    return OrderOptions(
        personalised=_flag("personalised", personalised),
        delivery=str(delivery),
        payment_pending=_flag("payment_pending", payment_pending),
        extras=OrderExtras(
            fulfill_at=_iso_option("fulfill_at", fulfill_at),
            fulfill_by=_iso_option("fulfill_by", fulfill_by),
            min_delivery_at=_iso_option("min_delivery_at", min_delivery_at),
            max_delivery_at=_iso_option("max_delivery_at", max_delivery_at),
        ),
    )


def _service_location(shop: ShopState, stock_at: str, wanted: Any) -> Location | None:
    """The fulfillment-service location that receives stock (None for "merchant")."""
    if stock_at == "merchant":
        if wanted is not None:
            raise SeedOptionError(
                'service_location_id only applies with stock_at "service" or "both"'
            )
        return None
    services = sorted(
        (loc for loc in shop.locations.values() if loc.fulfillment_service_id is not None),
        key=lambda loc: loc.id,
    )
    if wanted is None:
        if not services:
            raise SeedOptionError(
                f'stock_at "{stock_at}" needs a fulfillment service location: create a '
                "fulfillment service (fulfillmentServiceCreate) first"
            )
        if len(services) > 1:
            ids = ", ".join(str(loc.id) for loc in services)
            raise SeedOptionError(
                f"the shop has several fulfillment service locations ({ids}): "
                "give service_location_id"
            )
        return services[0]
    number = _location_number(wanted)
    if number is None:
        raise SeedOptionError(
            "service_location_id must be a location id (an integer or "
            f"gid://shopify/Location/<n>), got {wanted!r}"
        )
    location = shop.locations.get(number)
    if location is None:
        raise SeedOptionError(f"service_location_id {number}: no such location in the shop")
    if location.fulfillment_service_id is None:
        raise SeedOptionError(
            f"service_location_id {number} ({location.name}) is a merchant location, not a "
            "fulfillment service location"
        )
    return location


def seed_shop(
    shop: ShopState,
    *,
    products: int = 12,
    orders: int = 30,
    seed: int = 0,
    variety: str | dict[str, float] = "realistic",
    stock_at: str = "merchant",
    service_location_id: int | str | None = None,
) -> dict[str, Any]:
    """Fill ``shop`` (see the module docstring); returns a summary of what was made."""
    products = _count("products", products, MAX_PRODUCTS)
    orders = _count("orders", orders, MAX_ORDERS)
    seed = _seed_number(seed)
    shares = _shares(variety)
    stock_at = _stock_at(stock_at)
    service = _service_location(shop, stock_at, service_location_id)
    if orders and not products:
        raise SeedOptionError("orders need a catalogue: give products > 0")
    rng = random.Random(seed)
    merchant = _locations(shop, 1 if stock_at == "service" else 2)
    catalog: Catalog = shop.part("catalog", Catalog)
    placement = _Placement(stock_at, merchant[0], merchant[-1], service)
    made = _catalogue(catalog, rng, products, placement)
    summary: dict[str, Any] = {
        "products": len(made["products"]),
        "variants": len(made["variants"]),
        "sample_skus": sorted({catalog.sku_of(v.id) or "" for v in made["variants"]} - {""})[:20],
        "locations": [loc.id for loc in merchant],
        "stock_at": stock_at,
        "service_location_id": service.id if service is not None else None,
        **_empty_order_summary(),
    }
    if orders:
        pool = _pool(shop, catalog, made["variants"])
        _orders(shop, catalog, rng, orders, shares, pool, summary, first_customer=1)
    return summary


def create_orders(
    shop: ShopState,
    count: int,
    *,
    seed: int | None = None,
    variety: str | dict[str, float] = "realistic",
    **options: Any,
) -> dict[str, Any]:
    """``count`` more orders over the shop's current catalogue, drawn like seed_shop's,
    each shaped by ``options`` (``order_options``: personalised, delivery, payment_pending,
    fulfill_by, fulfill_at, min_delivery_at, max_delivery_at).

    Without ``seed`` the draw is seeded with the number of orders the shop already has, so
    repeated calls give different but reproducible orders.
    """
    from fulfillbridge.sandbox.domain.orders import orders_of

    count = _count("count", count, MAX_ORDERS)
    shares = _shares(variety)
    shape = order_options(**options)
    existing = len(orders_of(shop).orders)
    rng = random.Random(existing if seed is None else _seed_number(seed))
    catalog: Catalog = shop.part("catalog", Catalog)
    pool = _pool(shop, catalog, catalog.variants())
    if count and not pool.variants:
        raise SeedOptionError(
            "the shop has no variant stocked at an active location to order: seed a catalogue first"
        )
    summary = _empty_order_summary()
    if count:
        _orders(
            shop,
            catalog,
            rng,
            count,
            shares,
            pool,
            summary,
            first_customer=existing + 1,
            shape=shape,
        )
    return summary


def _locations(shop: ShopState, wanted: int) -> list[Location]:
    """The shop's first ``wanted`` merchant locations, created when missing."""
    own = sorted(
        (loc for loc in shop.locations.values() if loc.fulfillment_service_id is None),
        key=lambda loc: loc.id,
    )
    now = shop.clock.iso_now()
    while len(own) < wanted:
        location_id = shop.next_id()
        name = "Shop location" if not own else "Warehouse East"
        location = Location(
            id=location_id,
            name=name,
            address1="200 Depot Road",
            city="Kingston",
            zip="K7L 3N6",
            created_at=now,
        )
        shop.locations[location_id] = location
        own.append(location)
    return own[:wanted]


@dataclass(frozen=True)
class _Placement:
    """Where seeded stock goes (see ``stock_at`` in the module docstring)."""

    stock_at: str
    primary: Location
    secondary: Location
    service: Location | None

    def at_service(self, index: int, tracked: bool) -> bool:
        if self.stock_at == "service":
            return True
        # "both": print-on-demand posters and every other variant go to the service.
        return self.stock_at == "both" and (not tracked or index % 2 == 0)


def _stock(
    catalog: Catalog, rng: random.Random, item: InventoryItem, index: int, placement: _Placement
) -> None:
    if placement.service is not None and placement.at_service(index, item.tracked):
        available = rng.randint(40, 200) if item.tracked else None
        catalog.activate(item.id, placement.service.id, available=available)
        return
    primary, secondary = placement.primary, placement.secondary
    if not item.tracked:
        catalog.activate(item.id, primary.id)
    elif index % 4 == 3:
        catalog.activate(item.id, secondary.id, available=rng.randint(40, 200))
    elif index % 4 == 2:
        catalog.activate(item.id, primary.id, available=rng.randint(40, 200))
        catalog.activate(item.id, secondary.id, available=rng.randint(10, 60))
    else:
        catalog.activate(item.id, primary.id, available=rng.randint(40, 200))


def _catalogue(
    catalog: Catalog, rng: random.Random, count: int, placement: _Placement
) -> dict[str, Any]:
    made: dict[str, Any] = {"products": [], "variants": []}
    for n in range(count):
        code, title, vendor, kind, colours, sizes, price, tracked, grams = _PRODUCT_LINES[
            n % len(_PRODUCT_LINES)
        ]
        series = n // len(_PRODUCT_LINES)
        sku_code = code if series == 0 else f"{code}{series + 1}"
        options = [name for name, values in (("Color", colours), ("Size", sizes)) if values]
        product = catalog.create_product(
            title if series == 0 else f"{title} {series + 1}",
            vendor=vendor,
            product_type=kind,
            tags=["seeded"],
            options=options or None,
            default_variant=not options,
        )
        catalog.update_product(product.id, image_url=f"{IMAGE_HOST}/products/{product.handle}.jpg")
        made["products"].append(product)
        combos: list[tuple[str | None, str | None]] = [
            (c, s) for c in (colours or (None,)) for s in (sizes or (None,))
        ]
        variants: list[Variant] = []
        if not options:
            variant = catalog.variants_of(product.id)[0]
            catalog.update_variant(variant.id, sku=f"FB-{sku_code}", price=price, tracked=tracked)
            variants.append(variant)
        else:
            for colour, size in combos:
                selected = []
                if colour:
                    selected.append(("Color", _COLOURS[colour]))
                if size:
                    selected.append(("Size", size))
                sku = "-".join(["FB", sku_code, *(p for p in (colour, size) if p)])
                variants.append(
                    catalog.add_variant(
                        product.id,
                        sku=sku,
                        price=price,
                        options=selected,
                        tracked=tracked,
                        weight=grams / 1000,
                    )
                )
        hs_code, origin = _CUSTOMS[code]
        for variant in variants:
            catalog.update_item(
                variant.inventory_item_id,
                harmonized_system_code=hs_code,
                country_code_of_origin=origin,
            )
            index = len(made["variants"])
            made["variants"].append(variant)
            _stock(catalog, rng, catalog.item_of(variant.id), index, placement)
    return made


@dataclass
class _Pool:
    """What the order generator draws from: every orderable variant, and the tracked
    variants stocked at exactly one location, grouped by location (for split orders)."""

    variants: list[Variant] = field(default_factory=list)
    single_location: list[list[Variant]] = field(default_factory=list)


def _pool(shop: ShopState, catalog: Catalog, variants: list[Variant]) -> _Pool:
    active = {loc.id for loc in shop.locations.values() if loc.is_active}
    pool = _Pool()
    groups: dict[int, list[Variant]] = {}
    for variant in variants:
        item = catalog.item_of(variant.id)
        stocked = [lid for lid in catalog.stocked_locations(item.id) if lid in active]
        if not stocked:
            continue
        pool.variants.append(variant)
        if item.tracked and len(stocked) == 1:
            groups.setdefault(stocked[0], []).append(variant)
    pool.single_location = [groups[lid] for lid in sorted(groups)]
    return pool


def _empty_order_summary() -> dict[str, Any]:
    return {
        "orders": 0,
        "order_kinds": dict.fromkeys(["single_line", *REALISTIC_SHARES], 0),
        "order_errors": [],
        "created_orders": [],
        "fulfillment_order_ids": [],
        "service_fulfillment_order_ids": [],
    }


def fulfillment_order_summary(shop: ShopState, fo: FulfillmentOrder) -> dict[str, Any]:
    """A fulfillment order as the seed and merchant-action summaries list it."""
    from fulfillbridge.sandbox.domain.orders import orders_of

    return {
        "id": fo.gid,
        "order_id": gid("Order", fo.order_id),
        "location_id": fo.location_id,
        "at_fulfillment_service": orders_of(shop).is_service_location(fo.location_id),
        "status": fo.status,
        "request_status": fo.request_status,
    }


def _record_order(shop: ShopState, order: Order, kind: str, summary: dict[str, Any]) -> None:
    from fulfillbridge.sandbox.domain.orders import orders_of

    fulfillment_orders = [
        fulfillment_order_summary(shop, fo) for fo in orders_of(shop).fos_of(order)
    ]
    for fo in fulfillment_orders:
        summary["fulfillment_order_ids"].append(fo["id"])
        if fo["at_fulfillment_service"]:
            summary["service_fulfillment_order_ids"].append(fo["id"])
    summary["created_orders"].append(
        {
            "id": order.gid,
            "name": order.name,
            "kind": kind,
            "fulfillment_orders": fulfillment_orders,
        }
    )
    summary["orders"] += 1
    summary["order_kinds"][kind] += 1


def _address(rng: random.Random, name: str) -> dict[str, Any]:
    city, province, country, postal = rng.choice(_CITIES)
    first, _, last = name.partition(" ")
    return {
        "firstName": first,
        "lastName": last,
        "address1": f"{rng.randint(1, 999)} {rng.choice(['King', 'Queen', 'Bank', 'Elm'])} St",
        "city": city,
        "provinceCode": province,
        "countryCode": country,
        "zip": postal,
        "phone": f"+1613555{rng.randint(1000, 9999)}",
    }


def _pick_kind(rng: random.Random, shares: dict[str, float]) -> str:
    roll = rng.random()
    for kind, share in shares.items():
        if roll < share:
            return kind
        roll -= share
    return "single_line"


def _variant_line(catalog: Catalog, variant: Variant, rng: random.Random) -> dict[str, Any]:
    return {"variantId": variant.gid, "quantity": rng.randint(1, 3)}


def _custom_line(
    rng: random.Random, currency: str, *, sku: str | None, title: str
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "title": title,
        "quantity": rng.randint(1, 2),
        "priceSet": {"shopMoney": {"amount": f"{rng.randint(5, 40)}.00", "currencyCode": currency}},
        "requiresShipping": True,
    }
    if sku is not None:
        line["sku"] = sku
    return line


def _orders(
    shop: ShopState,
    catalog: Catalog,
    rng: random.Random,
    count: int,
    shares: dict[str, float],
    pool: _Pool,
    summary: dict[str, Any],
    *,
    first_customer: int,
    shape: OrderOptions | None = None,
) -> None:
    from fulfillbridge.sandbox.domain.orders import OrderUserErrors, create_order

    shape = shape or OrderOptions()

    any_variant = pool.variants
    groups = pool.single_location
    for n in range(count):
        kind = _pick_kind(rng, shares)
        if kind == "split" and len(groups) < 2:
            kind = "multi_line"
        name = rng.choice(_NAMES)
        lines: list[dict[str, Any]] = [_variant_line(catalog, rng.choice(any_variant), rng)]
        if kind == "multi_line":
            for variant in rng.sample(any_variant, min(len(any_variant), rng.randint(2, 3))):
                if all(line.get("variantId") != variant.gid for line in lines):
                    lines.append(_variant_line(catalog, variant, rng))
        elif kind == "split":
            lines = [
                _variant_line(catalog, rng.choice(groups[0]), rng),
                _variant_line(catalog, rng.choice(groups[1]), rng),
            ]
        elif kind == "unknown_sku":
            lines.append(
                _custom_line(
                    rng,
                    shop.currency_code,
                    sku=f"FB-LEGACY-{rng.randint(100, 999)}",
                    title="Discontinued item",
                )
            )
        elif kind == "no_sku":
            lines.append(_custom_line(rng, shop.currency_code, sku=None, title="Gift wrapping"))
        title, code, source, shipping_price = DELIVERIES[shape.delivery]
        if shape.personalised:
            lines[0]["properties"] = [
                {"name": "Engraving", "value": f"For {name.split()[0]}, with love"},
                {
                    "name": "_artwork_url",
                    "value": f"{IMAGE_HOST}/artwork/{first_customer + n}.png",
                },
            ]
        total = _estimate_total(catalog, lines, float(shipping_price))
        order_input: dict[str, Any] = {
            "email": f"customer{first_customer + n}@example.com",
            "currency": shop.currency_code,
            "lineItems": lines,
            "financialStatus": "PAID",
            "transactions": [
                {
                    "kind": "SALE",
                    "status": "SUCCESS",
                    "gateway": "manual",
                    "amountSet": {
                        "shopMoney": {"amount": f"{total:.2f}", "currencyCode": shop.currency_code}
                    },
                }
            ],
            "shippingLines": [
                {
                    "title": title,
                    "code": code,
                    "priceSet": {
                        "shopMoney": {"amount": shipping_price, "currencyCode": shop.currency_code}
                    },
                    **({"source": source} if source else {}),
                }
            ],
            "tags": ["seeded", kind.replace("_", "-")],
        }
        if shape.payment_pending:
            order_input["financialStatus"] = "PENDING"
            del order_input["transactions"]
        if shape.personalised:
            order_input["note"] = "Please wrap it as a gift."
            order_input["customAttributes"] = [
                {"key": "gift_message", "value": f"Happy birthday, {name.split()[0]}!"}
            ]
            order_input["phone"] = f"+1613555{1000 + (first_customer + n) % 9000}"
        if kind != "no_shipping_address":
            address = _address(rng, name)
            if shape.delivery != "pickup":  # a pickup order has no shipping address
                order_input["shippingAddress"] = address
            order_input["billingAddress"] = address
        try:
            order = create_order(
                shop,
                order_input,
                {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"},
                extras=shape.extras,
            )
        except OrderUserErrors as exc:
            if len(summary["order_errors"]) < 20:
                summary["order_errors"].append(str(exc))
            continue
        _record_order(shop, order, kind, summary)


def _estimate_total(catalog: Catalog, lines: list[dict[str, Any]], shipping: float = 6.0) -> float:
    total = shipping
    for line in lines:
        if "variantId" in line:
            variant = catalog.variant(int(line["variantId"].rsplit("/", 1)[1]))
            price = float(variant.price) if variant else 0.0
        else:
            price = float(line["priceSet"]["shopMoney"]["amount"])
        total += price * line["quantity"]
    return total
