"""GraphQL resolvers of the catalogue: products and variants (reads and writes).

Node builders (``product_node``, ``variant_node``) are public: other areas (orders' line
items) use them to render a variant or product the same way.
"""

from __future__ import annotations

from typing import Any

from fulfillbridge.sandbox.domain.catalog import (
    Catalog,
    CatalogError,
    InventoryItem,
    Product,
    SearchTerm,
    Variant,
    inventory_item_deleted_payload,
    inventory_item_payload,
    item_state,
    search_filter,
    term_matches_number,
    term_matches_text,
)
from fulfillbridge.sandbox.registry import (
    Context,
    TopLevelError,
    field_resolver,
    mutation,
    node_loader,
    query,
)
from fulfillbridge.sandbox.resolvers._common import (
    MAX_INPUT_ITEMS,
    rendered_page,
)
from fulfillbridge.sandbox.state import ShopState, gid, parse_gid

READ_PRODUCTS = ("read_products",)
WRITE_PRODUCTS = ("write_products",)


def catalog_of(shop: ShopState) -> Catalog:
    return shop.part("catalog", Catalog)


def primary_location_id(shop: ShopState) -> int | None:
    """The shop's first merchant-managed location (where new variants get stocked; the
    captures show a new productCreate variant with a level at "Shop location")."""
    own = [loc for loc in shop.locations.values() if loc.fulfillment_service_id is None]
    return min((loc.id for loc in own), default=None)


def _money(amount: str, shop: ShopState) -> dict[str, Any]:
    return {"amount": amount, "currencyCode": shop.currency_code}


def _count(n: int) -> dict[str, Any]:
    return {"count": n, "precision": "EXACT"}


def _count_up_to(n: int, limit: int | None) -> dict[str, Any]:
    return _count(n if limit is None else min(n, limit))


# --------------------------------------------------------------------------- nodes
def product_node(shop: ShopState, product: Product) -> dict[str, Any]:
    catalog = catalog_of(shop)
    variants = catalog.variants_of(product.id)
    prices = sorted(float(v.price) for v in variants) or [0.0]
    items = [catalog.item_of(v.id) for v in variants]
    return {
        "__typename": "Product",
        "id": product.gid,
        "legacyResourceId": str(product.id),
        "title": product.title,
        "handle": product.handle,
        "status": product.status,
        "vendor": product.vendor,
        "productType": product.product_type,
        "tags": list(product.tags),
        "descriptionHtml": product.description_html,
        "description": _strip_html(product.description_html),
        "createdAt": product.created_at,
        "updatedAt": product.updated_at,
        "publishedAt": product.created_at if product.status == "ACTIVE" else None,
        "totalInventory": catalog.total_inventory(product.id),
        "tracksInventory": any(item.tracked for item in items),
        "hasOnlyDefaultVariant": len(variants) == 1 and variants[0].title == "Default Title",
        "hasOutOfStockVariants": any(
            item.tracked and catalog.variant_inventory(v.id) <= 0
            for v, item in zip(variants, items, strict=True)
        ),
        "isGiftCard": False,
        "requiresSellingPlan": False,
        "variantsCount": _count(len(variants)),
        "priceRangeV2": {
            "minVariantPrice": _money(f"{prices[0]:.2f}", shop),
            "maxVariantPrice": _money(f"{prices[-1]:.2f}", shop),
        },
        "onlineStoreUrl": None,
        "onlineStorePreviewUrl": None,
        "templateSuffix": None,
        "giftCardTemplateSuffix": None,
        "category": None,
        "featuredMedia": None,
        "combinedListing": None,
        "combinedListingRole": None,
    }


def _strip_html(html: str) -> str:
    out, inside = [], False
    for ch in html:
        if ch == "<":
            inside = True
        elif ch == ">":
            inside = False
        elif not inside:
            out.append(ch)
    return "".join(out)


def variant_node(shop: ShopState, variant: Variant) -> dict[str, Any]:
    catalog = catalog_of(shop)
    item = catalog.item_of(variant.id)
    product = catalog.product(variant.product_id)
    quantity = catalog.variant_inventory(variant.id)
    title = product.title if product else ""
    return {
        "__typename": "ProductVariant",
        "id": variant.gid,
        "legacyResourceId": str(variant.id),
        "title": variant.title,
        "displayName": f"{title} - {variant.title}",
        "sku": item.sku,
        "barcode": variant.barcode,
        "price": variant.price,
        "compareAtPrice": variant.compare_at_price,
        "position": variant.position,
        "taxable": variant.taxable,
        "inventoryPolicy": variant.inventory_policy,
        "inventoryQuantity": quantity,
        "sellableOnlineQuantity": max(quantity, 0),
        "availableForSale": (
            not item.tracked or quantity > 0 or variant.inventory_policy == "CONTINUE"
        ),
        "requiresComponents": False,
        "showUnitPrice": False,
        "unitPrice": None,
        "unitPriceMeasurement": None,
        "createdAt": variant.created_at,
        "updatedAt": variant.updated_at,
        "selectedOptions": [
            {"name": name, "value": value} for name, value in variant.selected_options
        ],
    }


def _product_or_error(shop: ShopState, product_id: str) -> Product | None:
    number = parse_gid(product_id, "Product")
    return catalog_of(shop).product(number) if number is not None else None


# --------------------------------------------------------------------------- reads
@query("product", scopes=READ_PRODUCTS)
def resolve_product(_parent: Any, ctx: Context, id: str) -> dict[str, Any] | None:
    product = _product_or_error(ctx.shop, id)
    return product_node(ctx.shop, product) if product else None


def _product_match(shop: ShopState) -> Any:
    catalog = catalog_of(shop)

    def match(product: Product, term: SearchTerm) -> bool | None:
        f = term.field
        if f is None:
            return term.value.lower() in product.title.lower()
        if f == "id":
            return term_matches_number(term, product.id)
        if f == "title":
            return term_matches_text(term, product.title)
        if f == "handle":
            return term_matches_text(term, product.handle)
        if f == "status":
            return any(
                term_matches_text(SearchTerm(f, v), product.status) for v in term.value.split(",")
            )
        if f == "vendor":
            return term_matches_text(term, product.vendor)
        if f == "product_type":
            return term_matches_text(term, product.product_type)
        if f in {"tag", "tags"}:
            return any(term_matches_text(term, t) for t in product.tags)
        if f == "sku":
            return any(term_matches_text(term, catalog.sku_of(v)) for v in product.variant_ids)
        if f == "barcode":
            return any(
                term_matches_text(term, catalog.variant(v).barcode)  # type: ignore[union-attr]
                for v in product.variant_ids
            )
        return None

    return match


def _find_products(shop: ShopState, query: str | None) -> list[Product]:
    """Products matching a search query (shared by the list and its count)."""
    return search_filter(catalog_of(shop).products(), query, _product_match(shop))


@query("products", scopes=READ_PRODUCTS)
def resolve_products(
    _parent: Any, ctx: Context, query: str | None = None, **page: Any
) -> dict[str, Any]:
    products = _find_products(ctx.shop, query)
    return rendered_page(products, page, lambda p: product_node(ctx.shop, p))


@query("productsCount", scopes=READ_PRODUCTS)
def resolve_products_count(
    _parent: Any, ctx: Context, query: str | None = None, limit: int | None = None, **_: Any
) -> dict[str, Any]:
    return _count_up_to(len(_find_products(ctx.shop, query)), limit)


@query("productVariant", scopes=READ_PRODUCTS)
def resolve_product_variant(_parent: Any, ctx: Context, id: str) -> dict[str, Any] | None:
    number = parse_gid(id, "ProductVariant")
    variant = catalog_of(ctx.shop).variant(number) if number is not None else None
    return variant_node(ctx.shop, variant) if variant else None


def _variant_match(shop: ShopState) -> Any:
    catalog = catalog_of(shop)

    def match(variant: Variant, term: SearchTerm) -> bool | None:
        f = term.field
        sku = catalog.sku_of(variant.id)
        if f is None:
            text = term.value.lower()
            return text in variant.title.lower() or (sku is not None and text in sku.lower())
        if f == "sku":
            return term_matches_text(term, sku)
        if f == "id":
            return term_matches_number(term, variant.id)
        if f == "product_id":
            return term_matches_number(term, variant.product_id)
        if f == "title":
            return term_matches_text(term, variant.title)
        if f == "barcode":
            return term_matches_text(term, variant.barcode)
        if f == "inventory_quantity":
            return term_matches_number(term, catalog.variant_inventory(variant.id))
        if f == "product_status":
            product = catalog.product(variant.product_id)
            return product is not None and term_matches_text(term, product.status)
        return None

    return match


def _find_variants(shop: ShopState, query: str | None) -> list[Variant]:
    """Variants matching a search query (shared by the list and its count)."""
    return search_filter(catalog_of(shop).variants(), query, _variant_match(shop))


@query("productVariants", scopes=READ_PRODUCTS)
def resolve_product_variants(
    _parent: Any, ctx: Context, query: str | None = None, **page: Any
) -> dict[str, Any]:
    variants = _find_variants(ctx.shop, query)
    return rendered_page(variants, page, lambda v: variant_node(ctx.shop, v))


@query("productVariantsCount", scopes=READ_PRODUCTS)
def resolve_product_variants_count(
    _parent: Any, ctx: Context, query: str | None = None, limit: int | None = None, **_: Any
) -> dict[str, Any]:
    return _count_up_to(len(_find_variants(ctx.shop, query)), limit)


@field_resolver("Product", "variants", scopes=READ_PRODUCTS)
def resolve_product_variants_of(
    parent: dict[str, Any], ctx: Context, **page: Any
) -> dict[str, Any]:
    product_id = int(parent["legacyResourceId"])
    variants = catalog_of(ctx.shop).variants_of(product_id)
    return rendered_page(variants, page, lambda v: variant_node(ctx.shop, v))


@field_resolver("Product", "options")
def resolve_product_options(
    parent: dict[str, Any], ctx: Context, first: int | None = None
) -> list[dict[str, Any]]:
    catalog = catalog_of(ctx.shop)
    product = catalog.product(int(parent["legacyResourceId"]))
    if product is None:
        return []
    variants = catalog.variants_of(product.id)
    options = []
    for position, name in enumerate(product.options, start=1):
        values: list[str] = []
        for variant in variants:
            for option_name, value in variant.selected_options:
                if option_name == name and value not in values:
                    values.append(value)
        options.append(
            {
                "id": f"gid://shopify/ProductOption/{product.id}{position}",
                "name": name,
                "position": position,
                "values": values,
                "linkedMetafield": None,
                "optionValues": [
                    {
                        "id": f"gid://shopify/ProductOptionValue/{product.id}{position}{i}",
                        "name": value,
                        "hasVariants": True,
                        "linkedMetafieldValue": None,
                        "swatch": None,
                    }
                    for i, value in enumerate(values, start=1)
                ],
            }
        )
    return options[:first] if first is not None else options


@field_resolver("ProductVariant", "product", scopes=READ_PRODUCTS)
def resolve_variant_product(parent: dict[str, Any], ctx: Context) -> dict[str, Any]:
    catalog = catalog_of(ctx.shop)
    variant = catalog.variant(int(parent["legacyResourceId"]))
    product = catalog.product(variant.product_id) if variant else None
    if product is None:
        raise TopLevelError("The product of this variant no longer exists.", "RESOURCE_NOT_FOUND")
    return product_node(ctx.shop, product)


# ------------------------------------------------------------------------ writes
def _user_error(field: list[str] | None, message: str, code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"field": field, "message": message}
    if code is not None:
        error["code"] = code
    return error


def _options_from_input(options: list[dict[str, Any]] | None) -> list[tuple[str, list[str]]]:
    result = []
    for option in options or []:
        name = option.get("name") or ""
        values = [v.get("name") or "" for v in option.get("values") or []]
        result.append((name, values))
    return result


@mutation("productCreate", scopes=WRITE_PRODUCTS)
def resolve_product_create(
    _parent: Any,
    ctx: Context,
    product: dict[str, Any] | None = None,
    input: dict[str, Any] | None = None,
    media: Any = None,
) -> dict[str, Any]:
    """Shopify (2024-04 and later) makes one variant: "Default Title", or the first value of
    each option when ``productOptions`` are given. It is untracked, without SKU, and stocked
    at the primary location (capture: inventory-quantity-contracts-2026-04)."""
    data = product if product is not None else (input or {})
    title = data.get("title")
    if not title or not str(title).strip():
        return {
            "product": None,
            "shop": _shop(ctx),
            "userErrors": [_user_error(["title"], "Title can't be blank")],
        }
    options = _options_from_input(data.get("productOptions"))
    catalog = catalog_of(ctx.shop)
    created = catalog.create_product(
        str(title),
        handle=data.get("handle"),
        status=data.get("status") or "ACTIVE",
        vendor=data.get("vendor") or "",
        product_type=data.get("productType") or "",
        tags=list(data.get("tags") or []),
        description_html=data.get("descriptionHtml") or "",
        options=[name for name, _ in options] or None,
        default_variant=not options,
    )
    if options:
        catalog.add_variant(
            created.id, options=[(name, values[0] if values else "") for name, values in options]
        )
    _stock_new_variants(ctx.shop, catalog.variants_of(created.id))
    ctx.shop.emit("products/create", _product_payload(ctx.shop, created))
    items = ItemEvents(ctx.shop, [])
    items.watch(created.id)
    items.emit()
    return {"product": product_node(ctx.shop, created), "shop": _shop(ctx), "userErrors": []}


def _shop(ctx: Context) -> dict[str, Any]:
    from fulfillbridge.sandbox.resolvers.shop import shop_node

    return shop_node(ctx.shop)


def _stock_new_variants(shop: ShopState, variants: list[Variant]) -> None:
    location_id = primary_location_id(shop)
    if location_id is None:
        return
    catalog = catalog_of(shop)
    for variant in variants:
        item = catalog.item_of(variant.id)
        if not catalog.stocked_locations(item.id):
            catalog.activate(item.id, location_id)


class ItemEvents:
    """The inventory items of some products before a mutation, so that afterwards each
    created, changed or deleted item is announced once (inventory_items/create, /update,
    /delete; Shopify's webhook topic reference), with its state after the mutation: an item
    is created with its variant and deleted with it. The docs do not say whether a save that
    changes nothing sends an update; the sandbox sends one only when a field the body
    carries changed."""

    def __init__(self, shop: ShopState, product_ids: list[int]) -> None:
        self._shop = shop
        self._product_ids = list(product_ids)
        self._before: dict[int, tuple[InventoryItem, tuple[Any, ...]]] = {
            item.id: (item, item_state(item)) for item in self._items()
        }

    def watch(self, product_id: int) -> None:
        """Also announce the items of ``product_id`` (a product created meanwhile: all of
        its items are new)."""
        if product_id not in self._product_ids:
            self._product_ids.append(product_id)

    def _items(self) -> list[InventoryItem]:
        catalog = catalog_of(self._shop)
        return [
            catalog.item_of(variant.id)
            for product_id in self._product_ids
            if catalog.product(product_id) is not None
            for variant in catalog.variants_of(product_id)
        ]

    def emit(self) -> None:
        after = {item.id: item for item in self._items()}
        for item_id, (item, _) in self._before.items():
            if item_id not in after:
                self._shop.emit("inventory_items/delete", inventory_item_deleted_payload(item))
        for item_id, item in after.items():
            seen = self._before.get(item_id)
            if seen is None:
                self._shop.emit("inventory_items/create", inventory_item_payload(item))
            elif item_state(item) != seen[1]:
                self._shop.emit("inventory_items/update", inventory_item_payload(item))


def _product_payload(shop: ShopState, product: Product) -> dict[str, Any]:
    """REST-shaped products/* webhook body (the fields an integration reads)."""
    catalog = catalog_of(shop)
    return {
        "id": product.id,
        "admin_graphql_api_id": product.gid,
        "title": product.title,
        "handle": product.handle,
        "status": product.status.lower(),
        "vendor": product.vendor,
        "product_type": product.product_type,
        "tags": ", ".join(product.tags),
        "created_at": product.created_at,
        "updated_at": product.updated_at,
        "variants": [
            {
                "id": v.id,
                "admin_graphql_api_id": v.gid,
                "product_id": product.id,
                "title": v.title,
                "sku": catalog.sku_of(v.id) or "",
                "price": v.price,
                "position": v.position,
                "inventory_item_id": v.inventory_item_id,
                "inventory_quantity": catalog.variant_inventory(v.id),
                "old_inventory_quantity": catalog.variant_inventory(v.id),
                "inventory_policy": v.inventory_policy.lower(),
                "compare_at_price": v.compare_at_price,
                "barcode": v.barcode,
                "taxable": v.taxable,
                "created_at": v.created_at,
                "updated_at": v.updated_at,
            }
            for v in catalog.variants_of(product.id)
        ],
    }


@mutation("productDelete", scopes=WRITE_PRODUCTS)
def resolve_product_delete(
    _parent: Any, ctx: Context, input: dict[str, Any], synchronous: bool = True
) -> dict[str, Any]:
    number = parse_gid(input.get("id", ""), "Product")
    catalog = catalog_of(ctx.shop)
    if number is None or catalog.product(number) is None:
        return {
            "deletedProductId": None,
            "productDeleteOperation": None,
            "shop": _shop(ctx),
            "userErrors": [_user_error(["id"], "Product does not exist")],
        }
    items = ItemEvents(ctx.shop, [number])
    catalog.delete_product(number)
    ctx.shop.emit("products/delete", {"id": number})
    items.emit()
    return {
        "deletedProductId": gid("Product", number),
        "productDeleteOperation": None,
        "shop": _shop(ctx),
        "userErrors": [],
    }


def _variant_options(
    spec: dict[str, Any], product: Product, index_path: list[str]
) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    selected: list[tuple[str, str]] = []
    errors = []
    for position, value in enumerate(spec.get("optionValues") or []):
        name = value.get("optionName")
        if name is None and len(product.options) > position:
            name = product.options[position]
        if name not in product.options:
            errors.append(
                _user_error([*index_path, "optionValues", str(position)], "Option does not exist")
            )
            continue
        selected.append((str(name), str(value.get("name") or "")))
    order = {name: i for i, name in enumerate(product.options)}
    selected.sort(key=lambda pair: order.get(pair[0], 0))
    return selected, errors


def _apply_variant_input(
    shop: ShopState,
    variant: Variant,
    spec: dict[str, Any],
    path: list[str],
    *,
    quantities_key: str,
) -> list[dict[str, Any]]:
    """Copy the fields of a ProductVariantSetInput / ProductVariantsBulkInput onto a
    variant; returns userErrors (nothing is applied when there are any)."""
    catalog = catalog_of(shop)
    changes: dict[str, Any] = {}
    if "price" in spec and spec["price"] is not None:
        changes["price"] = spec["price"]
    for key, attr in (
        ("compareAtPrice", "compare_at_price"),
        ("barcode", "barcode"),
        ("taxable", "taxable"),
        ("inventoryPolicy", "inventory_policy"),
    ):
        if key in spec:
            changes[attr] = spec[key]
    if "sku" in spec:
        changes["sku"] = spec["sku"]
    item_input = spec.get("inventoryItem") or {}
    if "sku" in item_input:
        changes["sku"] = item_input["sku"]
    if item_input.get("tracked") is not None:
        changes["tracked"] = bool(item_input["tracked"])
    elif spec.get(quantities_key):
        # Giving quantities means the merchant counts this item.
        changes["tracked"] = True
    if item_input.get("requiresShipping") is not None:
        changes["requires_shipping"] = bool(item_input["requiresShipping"])
    weight = ((item_input.get("measurement") or {}).get("weight")) or None
    if weight:
        changes["weight_value"] = float(weight["value"])
        changes["weight_unit"] = weight["unit"]
    errors: list[dict[str, Any]] = []
    quantities = spec.get(quantities_key) or []
    for i, entry in enumerate(quantities):
        location_id = parse_gid(entry.get("locationId", ""), "Location")
        if location_id is None or location_id not in shop.locations:
            errors.append(
                _user_error([*path, quantities_key, str(i), "locationId"], "Location not found")
            )
    if errors:
        return errors
    try:
        catalog.update_variant(variant.id, **changes)
    except CatalogError as exc:
        return [_user_error(path, str(exc))]
    item = catalog.item_of(variant.id)
    for entry in quantities:
        location_id = parse_gid(entry["locationId"], "Location")
        assert location_id is not None
        catalog.activate(item.id, location_id)
        if quantities_key == "inventoryQuantities" and "availableQuantity" in entry:
            catalog.set_quantity(item.id, location_id, "available", entry["availableQuantity"])
        else:
            name = entry.get("name") or "available"
            catalog.set_quantity(item.id, location_id, name, entry["quantity"])
    return []


@mutation("productSet", scopes=WRITE_PRODUCTS)
def resolve_product_set(
    _parent: Any,
    ctx: Context,
    input: dict[str, Any],
    synchronous: bool = True,
    identifier: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create or replace a product with its options and variants (Shopify docs: productSet).
    Always synchronous in the sandbox: ``synchronous: false`` still answers with the
    product (and ``productSetOperation`` null)."""
    catalog = catalog_of(ctx.shop)
    shop = ctx.shop
    target: Product | None = None
    identifier = identifier or {}
    if identifier.get("id"):
        target = _product_or_error(shop, identifier["id"])
        if target is None:
            return _set_error(
                ["identifier", "id"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST"
            )
    elif identifier.get("handle"):
        target = next((p for p in catalog.products() if p.handle == identifier["handle"]), None)
    variants_input = input.get("variants") or []
    if len(variants_input) > 2048:
        return _set_error(["input", "variants"], "Too many variants", "VARIANTS_OVER_LIMIT")
    options = _options_from_input(input.get("productOptions"))
    if variants_input and not options:
        # Shopify requires productOptions with variants; infer the names the sandbox needs
        # only for the default "Title" option.
        names = {
            v.get("optionName") for spec in variants_input for v in spec.get("optionValues") or []
        }
        if names - {None, "Title"}:
            return _set_error(
                ["input", "productOptions"],
                "Options must be provided when variants are specified",
                "PRODUCT_OPTIONS_INPUT_MISSING",
            )
        options = [("Title", [])]
    title = input.get("title", target.title if target else None)
    if not title or not str(title).strip():
        return _set_error(["input", "title"], "Title can't be blank", "INVALID_PRODUCT")
    creating = target is None
    items = ItemEvents(shop, [target.id] if target is not None else [])
    if target is None:
        target = catalog.create_product(
            str(title),
            handle=input.get("handle") or identifier.get("handle"),
            status=input.get("status") or "ACTIVE",
            vendor=input.get("vendor") or "",
            product_type=input.get("productType") or "",
            tags=list(input.get("tags") or []),
            description_html=input.get("descriptionHtml") or "",
            options=[name for name, _ in options] or None,
            default_variant=not variants_input,
        )
    else:
        updates: dict[str, Any] = {"title": str(title)}
        for key, attr in (
            ("status", "status"),
            ("vendor", "vendor"),
            ("productType", "product_type"),
            ("descriptionHtml", "description_html"),
            ("handle", "handle"),
        ):
            if input.get(key) is not None:
                updates[attr] = input[key]
        if input.get("tags") is not None:
            updates["tags"] = list(input["tags"])
        if options:
            updates["options"] = [name for name, _ in options]
        catalog.update_product(target.id, **updates)
    errors: list[dict[str, Any]] = []
    kept: list[int] = []
    for i, spec in enumerate(variants_input):
        path = ["input", "variants", str(i)]
        selected, option_errors = _variant_options(spec, target, path)
        if option_errors:
            errors.extend(dict(e, code="OPTION_DOES_NOT_EXIST") for e in option_errors)
            continue
        existing = None
        if spec.get("id"):
            number = parse_gid(spec["id"], "ProductVariant")
            existing = catalog.variant(number) if number is not None else None
            if existing is None or existing.product_id != target.id:
                errors.append(
                    _user_error(
                        [*path, "id"], "Variant does not exist", "PRODUCT_VARIANT_DOES_NOT_EXIST"
                    )
                )
                continue
        if existing is None:
            existing = catalog.add_variant(target.id, options=selected or None)
        else:
            catalog.update_variant(existing.id, selected_options=selected)
            existing.title = " / ".join(v for _, v in selected) or existing.title
        errors.extend(
            _apply_variant_input(shop, existing, spec, path, quantities_key="inventoryQuantities")
        )
        kept.append(existing.id)
    if variants_input:
        for variant in list(catalog.variants_of(target.id)):
            if variant.id not in kept:
                catalog.delete_variant(variant.id)
    _stock_new_variants(shop, catalog.variants_of(target.id))
    shop.emit("products/create" if creating else "products/update", _product_payload(shop, target))
    items.watch(target.id)
    items.emit()
    return {
        "product": product_node(shop, target),
        "productSetOperation": None,
        "userErrors": [dict(e, code=e.get("code", "INVALID_VARIANT")) for e in errors],
    }


def _set_error(field: list[str], message: str, code: str) -> dict[str, Any]:
    return {
        "product": None,
        "productSetOperation": None,
        "userErrors": [_user_error(field, message, code)],
    }


def _variants_bulk_error(field: list[str], message: str, code: str) -> dict[str, Any]:
    """The answer of productVariantsBulkCreate/-Update when nothing is applied."""
    return {
        "product": None,
        "productVariants": None,
        "userErrors": [_user_error(field, message, code)],
    }


@mutation("productVariantsBulkCreate", scopes=WRITE_PRODUCTS)
def resolve_variants_bulk_create(
    _parent: Any,
    ctx: Context,
    productId: str,
    variants: list[dict[str, Any]],
    media: Any = None,
    strategy: str = "DEFAULT",
) -> dict[str, Any]:
    shop = ctx.shop
    catalog = catalog_of(shop)
    product = _product_or_error(shop, productId)
    if product is None:
        return _variants_bulk_error(
            ["productId"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST"
        )
    if len(variants) > MAX_INPUT_ITEMS:
        return _variants_bulk_error(["variants"], "Too many variants", "INVALID_INPUT")
    standalone = catalog.variants_of(product.id)
    items = ItemEvents(shop, [product.id])
    if product.options == ["Title"] and variants:
        # The first named option of the new variants replaces the implicit "Title" option.
        names = [v.get("optionName") for v in variants[0].get("optionValues") or []]
        if all(names):
            catalog.update_product(product.id, options=[str(n) for n in names])
    created: list[Variant] = []
    errors: list[dict[str, Any]] = []
    for i, spec in enumerate(variants):
        path = ["variants", str(i)]
        selected, option_errors = _variant_options(spec, product, path)
        if option_errors:
            errors.extend(option_errors)
            continue
        variant = catalog.add_variant(product.id, options=selected or None)
        errors.extend(
            _apply_variant_input(shop, variant, spec, path, quantities_key="inventoryQuantities")
        )
        created.append(variant)
    remove_standalone = strategy == "REMOVE_STANDALONE_VARIANT" or (
        strategy == "DEFAULT" and len(standalone) == 1 and standalone[0].title == "Default Title"
    )
    if created and remove_standalone:
        for variant in standalone:
            catalog.delete_variant(variant.id)
    _stock_new_variants(shop, created)
    if created:
        # New variants change the product: products/update (Shopify's webhook reference:
        # sent when a product or its variants change).
        catalog.update_product(product.id)
        shop.emit("products/update", _product_payload(shop, product))
    items.emit()
    return {
        "product": product_node(shop, product),
        "productVariants": [variant_node(shop, v) for v in created],
        "userErrors": [dict(e, code=e.get("code", "INVALID_INPUT")) for e in errors],
    }


@mutation("productVariantsBulkUpdate", scopes=WRITE_PRODUCTS)
def resolve_variants_bulk_update(
    _parent: Any,
    ctx: Context,
    productId: str,
    variants: list[dict[str, Any]],
    media: Any = None,
    allowPartialUpdates: bool = False,
) -> dict[str, Any]:
    shop = ctx.shop
    catalog = catalog_of(shop)
    product = _product_or_error(shop, productId)
    if product is None:
        return _variants_bulk_error(
            ["productId"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST"
        )
    targets: list[Variant] = []
    for i, spec in enumerate(variants):
        number = parse_gid(spec.get("id") or "", "ProductVariant")
        variant = catalog.variant(number) if number is not None else None
        if variant is None or variant.product_id != product.id:
            return _variants_bulk_error(
                ["variants", str(i), "id"],
                "Product variant does not exist",
                "PRODUCT_VARIANT_DOES_NOT_EXIST",
            )
        targets.append(variant)
    errors: list[dict[str, Any]] = []
    items = ItemEvents(shop, [product.id])
    for i, (variant, spec) in enumerate(zip(targets, variants, strict=True)):
        errors.extend(
            _apply_variant_input(
                shop, variant, spec, ["variants", str(i)], quantities_key="inventoryQuantities"
            )
        )
    shop.emit("products/update", _product_payload(shop, product))
    items.emit()
    return {
        "product": product_node(shop, product),
        "productVariants": [variant_node(shop, v) for v in targets],
        "userErrors": [dict(e, code=e.get("code", "INVALID_INPUT")) for e in errors],
    }


@node_loader("Product", scopes=READ_PRODUCTS)
def load_product(ctx: Context, numeric_id: int) -> dict[str, Any] | None:
    product = catalog_of(ctx.shop).product(numeric_id)
    return product_node(ctx.shop, product) if product else None


@node_loader("ProductVariant", scopes=READ_PRODUCTS)
def load_product_variant(ctx: Context, numeric_id: int) -> dict[str, Any] | None:
    variant = catalog_of(ctx.shop).variant(numeric_id)
    return variant_node(ctx.shop, variant) if variant else None
