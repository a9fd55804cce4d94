"""Seeding a sandbox shop with a catalogue, stock and orders of realistic variety.

``seed_shop(shop, products=N, orders=M, seed=S, variety=...)`` (also ``POST
/__sandbox/seed?shop=...`` with the keyword arguments as JSON) builds:

* a catalogue of apparel and print products with SKUs such as ``FB-TEE-BLK-M``
  (product code, colour, size), tracked inventory, and a few untracked print-on-demand
  posters;
* two merchant locations ("Shop location" and "Warehouse East", added when missing): most
  variants are stocked at the first, every fourth only at the second, some at both;
* paid orders through the orders part's public ``create_order`` (inventory committed,
  ``DECREMENT_OBEYING_POLICY``), of these kinds, drawn with the ``variety`` shares:
  ``multi_line`` (2-3 lines), ``split`` (one line stocked only at each location, so the
  order gets one fulfillment order per location), ``no_shipping_address``,
  ``unknown_sku`` (a custom line whose SKU is not in the catalogue), ``no_sku`` (a custom
  line without SKU); the rest are single-line orders.

``variety`` is ``"realistic"`` (the default shares below), ``"simple"`` (single-line,
addressed, known SKUs only) or a dict overriding some shares. The same ``seed`` gives the
same shop. Bad options raise ``SeedOptionError`` (a ``TypeError``, which the control
endpoint answers with 400).
"""

from __future__ import annotations

import random
from typing import Any

from fulfillbridge.sandbox.domain.catalog import Catalog, Variant
from fulfillbridge.sandbox.state import Location, ShopState

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


def seed_shop(
    shop: ShopState,
    *,
    products: int = 12,
    orders: int = 30,
    seed: int = 0,
    variety: str | dict[str, float] = "realistic",
) -> dict[str, Any]:
    """Fill ``shop`` (see the module docstring); returns a summary of what was made."""
    products = _count("products", products, MAX_PRODUCTS)
    orders = _count("orders", orders, MAX_ORDERS)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise SeedOptionError(f"seed must be an integer, got {seed!r}")
    shares = _shares(variety)
    if orders and not products:
        raise SeedOptionError("orders need a catalogue: give products > 0")
    rng = random.Random(seed)
    primary, secondary = _locations(shop)
    catalog: Catalog = shop.part("catalog", Catalog)
    made = _catalogue(shop, catalog, rng, products, primary, secondary)
    summary: dict[str, Any] = {
        "products": len(made["products"]),
        "variants": len(made["variants"]),
        "sample_skus": sorted({catalog.sku_of(v.id) or "" for v in made["variants"]} - {""})[:20],
        "locations": [primary.id, secondary.id],
        "orders": 0,
        "order_kinds": dict.fromkeys(["single_line", *REALISTIC_SHARES], 0),
        "order_errors": [],
    }
    if orders:
        _orders(shop, catalog, rng, orders, shares, made, summary)
    return summary


def _locations(shop: ShopState) -> tuple[Location, Location]:
    own = sorted(
        (loc for loc in shop.locations.values() if loc.fulfillment_service_id is None),
        key=lambda loc: loc.id,
    )
    now = shop.clock.iso_now()
    while len(own) < 2:
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
    return own[0], own[1]


def _catalogue(
    shop: ShopState,
    catalog: Catalog,
    rng: random.Random,
    count: int,
    primary: Location,
    secondary: Location,
) -> dict[str, Any]:
    made: dict[str, Any] = {
        "products": [],
        "variants": [],
        "primary_only": [],
        "secondary_only": [],
        "both": [],
    }
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
        for variant in variants:
            item = catalog.item_of(variant.id)
            index = len(made["variants"])
            made["variants"].append(variant)
            if not item.tracked:
                catalog.activate(item.id, primary.id)
                made["primary_only"].append(variant)
                continue
            if index % 4 == 3:
                catalog.activate(item.id, secondary.id, available=rng.randint(40, 200))
                made["secondary_only"].append(variant)
            elif index % 4 == 2:
                catalog.activate(item.id, primary.id, available=rng.randint(40, 200))
                catalog.activate(item.id, secondary.id, available=rng.randint(10, 60))
                made["both"].append(variant)
            else:
                catalog.activate(item.id, primary.id, available=rng.randint(40, 200))
                made["primary_only"].append(variant)
    return made


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
    made: dict[str, Any],
    summary: dict[str, Any],
) -> None:
    from fulfillbridge.sandbox.domain.orders import OrderUserErrors, create_order

    tracked_primary = [v for v in made["primary_only"] if catalog.item_of(v.id).tracked]
    any_variant = made["variants"]
    for n in range(count):
        kind = _pick_kind(rng, shares)
        if kind == "split" and not (tracked_primary and made["secondary_only"]):
            kind = "multi_line"
        name = rng.choice(_NAMES)
        lines: list[dict[str, Any]] = [_variant_line(catalog, rng.choice(any_variant), rng)]
        if kind == "multi_line":
            for variant in rng.sample(any_variant, min(len(any_variant), rng.randint(2, 3))):
                if all(line.get("variantId") != variant.gid for line in lines):
                    lines.append(_variant_line(catalog, variant, rng))
        elif kind == "split":
            lines = [
                _variant_line(catalog, rng.choice(tracked_primary), rng),
                _variant_line(catalog, rng.choice(made["secondary_only"]), rng),
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
        total = _estimate_total(catalog, lines)
        order_input: dict[str, Any] = {
            "email": f"customer{n + 1}@example.com",
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
                    "title": "Standard",
                    "code": "STANDARD",
                    "priceSet": {
                        "shopMoney": {"amount": "6.00", "currencyCode": shop.currency_code}
                    },
                }
            ],
            "tags": ["seeded", kind.replace("_", "-")],
        }
        if kind != "no_shipping_address":
            order_input["shippingAddress"] = _address(rng, name)
            order_input["billingAddress"] = order_input["shippingAddress"]
        try:
            create_order(shop, order_input, {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"})
        except OrderUserErrors as exc:
            if len(summary["order_errors"]) < 20:
                summary["order_errors"].append(str(exc))
            continue
        summary["orders"] += 1
        summary["order_kinds"][kind] += 1


def _estimate_total(catalog: Catalog, lines: list[dict[str, Any]]) -> float:
    total = 6.0  # shipping
    for line in lines:
        if "variantId" in line:
            variant = catalog.variant(int(line["variantId"].rsplit("/", 1)[1]))
            price = float(variant.price) if variant else 0.0
        else:
            price = float(line["priceSet"]["shopMoney"]["amount"])
        total += price * line["quantity"]
    return total
