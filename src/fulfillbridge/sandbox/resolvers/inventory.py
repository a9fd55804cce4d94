"""GraphQL resolvers of inventory: items, levels, quantities and their mutations.

Rules and messages come from the captures 2026-04_products_inventory-quantity-contracts-
2026-04.json, ..._inventorySetQuantities-name-validation.json and ...-quantity-bounds.json;
the rest from Shopify's docs (error-code descriptions), as marked.

Idempotency (Shopify docs, "idempotent requests"): from 2026-04 the inventory mutations
need ``@idempotent(key: ...)`` on the mutation field. A key seen before with the same input
answers the stored result without applying anything again. A key seen before with a
*different* input is refused with IDEMPOTENCY_KEY_PARAMETER_MISMATCH ("The same idempotency
key cannot be used with different operation parameters." — the error code's documented
meaning; the exact field path is not documented, the sandbox reports none). Keys are kept
per shop and per mutation for the life of the sandbox state (Shopify keeps them for a
limited time; not modelled).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLString, value_from_ast

from fulfillbridge.sandbox.domain.catalog import (
    Catalog,
    InventoryItem,
    InventoryLevel,
    QuantityChange,
    SearchTerm,
    inventory_item_payload,
    item_state,
    search_filter,
    term_matches_number,
    term_matches_text,
)
from fulfillbridge.sandbox.pagination import connection
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
    legacy_id_connection,
    page_args,
    rendered_page,
)
from fulfillbridge.sandbox.resolvers.catalog import catalog_of, variant_node
from fulfillbridge.sandbox.resolvers.shop import location_node_by_id
from fulfillbridge.sandbox.state import ShopState, gid, parse_gid

READ_INVENTORY = ("read_inventory", "read_products")
WRITE_INVENTORY = ("write_inventory",)
MAX_QUANTITY = 1_000_000_000  # captures: quantity-bounds, name-validation

# Capture inventory-quantity-contracts-2026-04 (setOnHandInvalidReason) lists them.
VALID_REASONS = (
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_canceled",
    "movement_created",
    "movement_received",
    "movement_updated",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
)
_REASON_MESSAGE = (
    "The specified reason is invalid. Valid values are: " + ", ".join(VALID_REASONS) + "."
)
# Names inventoryAdjustQuantities accepts (Shopify docs: quantity names an app may adjust).
ADJUSTABLE_NAMES = (
    "available",
    "damaged",
    "incoming",
    "quality_control",
    "reserved",
    "safety_stock",
)
_STALE_MESSAGE = "The changeFromQuantity value does not match persisted value."
# inventorySetOnHandQuantities words it differently.
_ON_HAND_STALE_MESSAGE = "The changeFromQuantity argument no longer matches the persisted quantity."
_MISSING_DIRECTIVE = "The @idempotent directive is required for this mutation but was not provided."


# ------------------------------------------------------------------------- nodes
def inventory_item_node(shop: ShopState, item: InventoryItem) -> dict[str, Any]:
    catalog = catalog_of(shop)
    return {
        "__typename": "InventoryItem",
        "id": item.gid,
        "legacyResourceId": str(item.id),
        "sku": item.sku,
        "tracked": item.tracked,
        "requiresShipping": item.requires_shipping,
        "createdAt": item.created_at,
        "updatedAt": item.updated_at,
        "countryCodeOfOrigin": item.country_code_of_origin,
        "provinceCodeOfOrigin": None,
        "harmonizedSystemCode": item.harmonized_system_code,
        "inventoryHistoryUrl": None,
        "unitCost": (
            {"amount": item.unit_cost, "currencyCode": shop.currency_code}
            if item.unit_cost is not None
            else None
        ),
        "locationsCount": {"count": len(catalog.stocked_locations(item.id)), "precision": "EXACT"},
        "trackedEditable": {"locked": False, "reason": None},
        "measurement": {
            "id": f"gid://shopify/InventoryItemMeasurement/{item.id}",
            "weight": {"unit": item.weight_unit, "value": item.weight_value},
            "shippingPackage": None,
        },
    }


def inventory_level_node(level: InventoryLevel) -> dict[str, Any]:
    return {
        "__typename": "InventoryLevel",
        "id": level.gid,
        "createdAt": level.created_at,
        "updatedAt": level.updated_at,
        "isActive": True,
        "canDeactivate": True,
        "deactivationAlert": None,
        "_item_id": level.item_id,
        "_location_id": level.location_id,
    }


def _parse_level_gid(value: str) -> tuple[int, int | None] | None:
    """(level id, item id) of gid://shopify/InventoryLevel/<id>?inventory_item_id=<item>."""
    if not isinstance(value, str) or not value.startswith("gid://shopify/InventoryLevel/"):
        return None
    rest = value[len("gid://shopify/InventoryLevel/") :]
    number, _, query_string = rest.partition("?")
    if not number.isdigit():
        return None
    item_id = None
    for pair in query_string.split("&"):
        key, _, raw = pair.partition("=")
        if key == "inventory_item_id" and raw.isdigit():
            item_id = int(raw)
    return int(number), item_id


# ------------------------------------------------------------------------- reads
@query("inventoryItem", scopes=READ_INVENTORY)
def resolve_inventory_item(_parent: Any, ctx: Context, id: str) -> dict[str, Any] | None:
    number = parse_gid(id, "InventoryItem")
    item = catalog_of(ctx.shop).inventory_item(number) if number is not None else None
    return inventory_item_node(ctx.shop, item) if item else None


def _item_match(catalog: Catalog) -> Any:
    def match(item: InventoryItem, term: SearchTerm) -> bool | None:
        if term.field is None:
            return item.sku is not None and term.value.lower() in item.sku.lower()
        if term.field == "sku":
            return term_matches_text(term, item.sku)
        if term.field == "id":
            return term_matches_number(term, item.id)
        if term.field == "tracked":
            return term_matches_text(term, "true" if item.tracked else "false")
        return None

    return match


@query("inventoryItems", scopes=READ_INVENTORY)
def resolve_inventory_items(
    _parent: Any, ctx: Context, query: str | None = None, **page: Any
) -> dict[str, Any]:
    catalog = catalog_of(ctx.shop)
    items = search_filter(catalog.inventory_items(), query, _item_match(catalog))
    return rendered_page(items, page, lambda i: inventory_item_node(ctx.shop, i))


@query("inventoryLevel", scopes=READ_INVENTORY)
def resolve_inventory_level(_parent: Any, ctx: Context, id: str) -> dict[str, Any] | None:
    parsed = _parse_level_gid(id)
    if parsed is None:
        return None
    level = catalog_of(ctx.shop).level_by_id(parsed[0])
    if level is None or (parsed[1] is not None and parsed[1] != level.item_id):
        return None
    return inventory_level_node(level)


@field_resolver("InventoryItem", "duplicateSkuCount")
def resolve_item_duplicate_sku_count(parent: dict[str, Any], ctx: Context) -> int:
    # Resolved only when asked for: it scans the whole catalogue, which made every page of
    # items (and every bulk query over variants) quadratic in the catalogue's size.
    sku = parent.get("sku")
    return max(len(catalog_of(ctx.shop).items_by_sku(sku)) - 1, 0) if sku else 0


@field_resolver("InventoryItem", "variant", scopes=READ_INVENTORY)
def resolve_item_variant(parent: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    catalog = catalog_of(ctx.shop)
    item = catalog.inventory_item(int(parent["legacyResourceId"]))
    variant = catalog.variant(item.variant_id) if item and item.variant_id else None
    return variant_node(ctx.shop, variant) if variant else None


@field_resolver("InventoryItem", "variants", scopes=READ_INVENTORY)
def resolve_item_variants(parent: dict[str, Any], ctx: Context, **page: Any) -> dict[str, Any]:
    node = resolve_item_variant(parent, ctx)
    return legacy_id_connection([node] if node else [], page)


@field_resolver("InventoryItem", "inventoryLevel", scopes=READ_INVENTORY)
def resolve_item_level(
    parent: dict[str, Any], ctx: Context, locationId: str, includeInactive: bool = False
) -> dict[str, Any] | None:
    location_id = parse_gid(locationId, "Location")
    if location_id is None:
        return None
    level = catalog_of(ctx.shop).level(int(parent["legacyResourceId"]), location_id)
    return inventory_level_node(level) if level else None


def _levels_connection(levels: list[InventoryLevel], args: dict[str, Any]) -> dict[str, Any]:
    return connection(
        [inventory_level_node(lv) for lv in levels],
        cursor_of=lambda node: int(node["id"].split("/")[-1].split("?")[0]),
        **page_args(args),
    )


@field_resolver("InventoryItem", "inventoryLevels", scopes=READ_INVENTORY)
def resolve_item_levels(parent: dict[str, Any], ctx: Context, **page: Any) -> dict[str, Any]:
    levels = catalog_of(ctx.shop).levels_of_item(int(parent["legacyResourceId"]))
    return _levels_connection(levels, page)


@field_resolver("Location", "inventoryLevels", scopes=READ_INVENTORY)
def resolve_location_levels(parent: dict[str, Any], ctx: Context, **page: Any) -> dict[str, Any]:
    location_id = parse_gid(parent["id"], "Location")
    levels = catalog_of(ctx.shop).levels_at_location(location_id) if location_id else []
    return _levels_connection(levels, page)


@field_resolver("Location", "inventoryLevel", scopes=READ_INVENTORY)
def resolve_location_level(
    parent: dict[str, Any], ctx: Context, inventoryItemId: str, includeInactive: bool = False
) -> dict[str, Any] | None:
    location_id = parse_gid(parent["id"], "Location")
    item_id = parse_gid(inventoryItemId, "InventoryItem")
    if location_id is None or item_id is None:
        return None
    level = catalog_of(ctx.shop).level(item_id, location_id)
    return inventory_level_node(level) if level else None


def _level_of(parent: dict[str, Any], ctx: Context) -> InventoryLevel:
    level = catalog_of(ctx.shop).level(parent["_item_id"], parent["_location_id"])
    if level is None:
        raise TopLevelError("This inventory level no longer exists.", "RESOURCE_NOT_FOUND")
    return level


@field_resolver("InventoryLevel", "item", scopes=READ_INVENTORY)
def resolve_level_item(parent: dict[str, Any], ctx: Context) -> dict[str, Any]:
    item = catalog_of(ctx.shop).inventory_item(parent["_item_id"])
    if item is None:
        raise TopLevelError("This inventory item no longer exists.", "RESOURCE_NOT_FOUND")
    return inventory_item_node(ctx.shop, item)


@field_resolver("InventoryLevel", "location")
def resolve_level_location(parent: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return location_node_by_id(ctx.shop, parent["_location_id"])


@field_resolver("InventoryLevel", "quantities", scopes=READ_INVENTORY)
def resolve_level_quantities(
    parent: dict[str, Any], ctx: Context, names: list[str]
) -> list[dict[str, Any]]:
    level = _level_of(parent, ctx)
    known = level.quantities()
    out = []
    for name in names:
        if name not in known:
            raise TopLevelError(
                f"Invalid quantity name: {name!r}. Valid names are: {', '.join(known)}.",
                "BAD_REQUEST",
            )
        out.append(
            {
                "id": f"gid://shopify/InventoryQuantity/{level.id}?inventory_item_id="
                f"{level.item_id}&name={name}",
                "name": name,
                "quantity": known[name],
                # Capture quantity-contracts (downstreamRead): on_hand reads null even after
                # set, adjust and on_hand changes; the other names carry their last change.
                "updatedAt": None if name == "on_hand" else level.updated.get(name),
            }
        )
    return out


# ------------------------------------------------------------------- idempotency
@dataclass
class _IdempotencyStore:
    """Results of inventory mutations by (mutation, key), with the input they answered."""

    results: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)


def _store(shop: ShopState) -> _IdempotencyStore:
    return shop.part("inventory_idempotency", lambda _shop: _IdempotencyStore())


def idempotency_key(ctx: Context) -> str | None:
    """The ``key`` of ``@idempotent`` on the field being resolved (literal or variable)."""
    info = ctx.extra.get("info")
    if info is None:
        return None
    for directive in info.field_nodes[0].directives or ():
        if directive.name.value != "idempotent":
            continue
        for argument in directive.arguments or ():
            if argument.name.value == "key":
                value = value_from_ast(argument.value, GraphQLString, info.variable_values)
                return value if isinstance(value, str) and value else None
    return None


def _fingerprint(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, default=str)


_MISMATCH = {
    "field": None,
    "message": "The same idempotency key cannot be used with different operation parameters.",
    "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
}


def run_idempotent(
    ctx: Context,
    name: str,
    payload: Any,
    apply: Callable[[], dict[str, Any]],
    refused: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    """``apply()`` once per ``@idempotent`` key of mutation ``name``: the same key and input
    answer the stored result; the same key with other input answers ``refused(error)``;
    no key at all is Shopify's top-level error."""
    key = idempotency_key(ctx)
    if key is None:
        raise TopLevelError(_MISSING_DIRECTIVE, "BAD_REQUEST")
    store = _store(ctx.shop)
    fingerprint = _fingerprint(payload)
    seen = store.results.get((name, key))
    if seen is not None:
        if seen[0] != fingerprint:
            return refused(dict(_MISMATCH))
        return seen[1]
    result = apply()
    store.results[(name, key)] = (fingerprint, result)
    return result


def _idempotent(ctx: Context, name: str, payload: Any, apply: Any) -> dict[str, Any]:
    return run_idempotent(
        ctx,
        name,
        payload,
        apply,
        lambda error: {"inventoryAdjustmentGroup": None, "userErrors": [error]},
    )


def _require_change_from(entries: list[dict[str, Any]], input_type: str) -> None:
    # changeFromQuantity is nullable in the schema but must be present from 2026-04
    # (capture: missingSetChangeFromQuantity & co.). graphql-core leaves absent keys out.
    for entry in entries:
        if "changeFromQuantity" not in entry:
            raise TopLevelError(
                f"{input_type} must include the following argument: changeFromQuantity.",
                "INVALID_FIELD_ARGUMENTS",
            )


def _check_size(entries: list[Any]) -> None:
    if len(entries) > MAX_INPUT_ITEMS:
        # Shopify's wording for oversized input arrays.
        raise TopLevelError(
            f"The input array size of {len(entries)} is greater than the maximum allowed of "
            f"{MAX_INPUT_ITEMS}.",
            "MAX_INPUT_SIZE_EXCEEDED",
        )


# --------------------------------------------------------------- group building
def _group(
    shop: ShopState, reason: str, reference: str | None, changes: list[QuantityChange]
) -> dict[str, Any]:
    group_id = shop.next_id()
    return {
        "__typename": "InventoryAdjustmentGroup",
        "id": gid("InventoryAdjustmentGroup", group_id),
        "createdAt": shop.clock.iso_now(),
        "reason": reason,
        "referenceDocumentUri": reference,
        "app": None,
        "staffMember": None,
        "_changes": [
            {
                "name": c.name,
                "delta": c.delta,
                # The captures show null here for set/adjust results.
                "quantityAfterChange": None,
                "ledgerDocumentUri": None,
                "_item_id": c.item_id,
                "_location_id": c.location_id,
            }
            for c in changes
        ],
    }


@field_resolver("InventoryAdjustmentGroup", "changes")
def resolve_group_changes(
    parent: dict[str, Any],
    ctx: Context,
    inventoryItemIds: list[str] | None = None,
    locationIds: list[str] | None = None,
    quantityNames: list[str] | None = None,
) -> list[dict[str, Any]]:
    items = {parse_gid(i, "InventoryItem") for i in inventoryItemIds or []}
    locations = {parse_gid(i, "Location") for i in locationIds or []}
    out = []
    for change in parent["_changes"]:
        if inventoryItemIds is not None and change["_item_id"] not in items:
            continue
        if locationIds is not None and change["_location_id"] not in locations:
            continue
        if quantityNames is not None and change["name"] not in quantityNames:
            continue
        out.append(change)
    return out


@field_resolver("InventoryChange", "item")
def resolve_change_item(parent: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    item = catalog_of(ctx.shop).inventory_item(parent["_item_id"])
    if item is None:
        return {"__typename": "InventoryItem", "id": gid("InventoryItem", parent["_item_id"])}
    return inventory_item_node(ctx.shop, item)


@field_resolver("InventoryChange", "location")
def resolve_change_location(parent: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return location_node_by_id(ctx.shop, parent["_location_id"])


# -------------------------------------------------------------- shared checks
def _error(path: list[str], message: str, code: str) -> dict[str, Any]:
    return {"field": path, "message": message, "code": code}


def _check_targets(
    shop: ShopState, entries: list[dict[str, Any]], list_name: str, *, unique: bool = False
) -> tuple[list[dict[str, Any]], list[tuple[int, int] | None]]:
    """Unknown items/locations and (with ``unique``) duplicate pairs; returns errors and the
    (item, location) pairs. Only inventorySetQuantities refuses duplicates (capture
    name-validation, duplicatePair); the other mutations have no such error code."""
    catalog = catalog_of(shop)
    errors: list[dict[str, Any]] = []
    pairs: list[tuple[int, int] | None] = []
    for i, entry in enumerate(entries):
        path = ["input", list_name, str(i)]
        item_id = parse_gid(entry.get("inventoryItemId", ""), "InventoryItem")
        location_id = parse_gid(entry.get("locationId", ""), "Location")
        ok = True
        if item_id is None or catalog.inventory_item(item_id) is None:
            errors.append(
                _error(
                    [*path, "inventoryItemId"],
                    "The specified inventory item could not be found.",
                    "INVALID_INVENTORY_ITEM",
                )
            )
            ok = False
        if location_id is None or location_id not in shop.locations:
            errors.append(
                _error(
                    [*path, "locationId"],
                    "The specified location could not be found.",
                    "INVALID_LOCATION",
                )
            )
            ok = False
        pairs.append((item_id, location_id) if ok and item_id and location_id else None)
    if not unique:
        return errors, pairs
    seen: dict[tuple[int, int], list[int]] = {}
    for i, pair in enumerate(pairs):
        if pair is not None:
            seen.setdefault(pair, []).append(i)
    for indexes in seen.values():
        if len(indexes) > 1:
            for i in indexes:
                errors.append(
                    _error(
                        ["input", list_name, str(i), "locationId"],
                        "The combination of inventoryItemId and locationId must be unique.",
                        "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                    )
                )
    return errors, pairs


def _check_reason(reason: str) -> list[dict[str, Any]]:
    if reason in VALID_REASONS:
        return []
    return [_error(["input", "reason"], _REASON_MESSAGE, "INVALID_REASON")]


def _check_bounds(quantity: int, path: list[str], *, allow_negative: bool) -> dict[str, Any] | None:
    if quantity > MAX_QUANTITY:
        return _error(
            path, "The quantity can't be higher than 1,000,000,000.", "INVALID_QUANTITY_TOO_HIGH"
        )
    if not allow_negative and quantity < 0:
        return _error(path, "The quantity can't be negative.", "INVALID_QUANTITY_NEGATIVE")
    if quantity < -MAX_QUANTITY:
        return _error(
            path, "The quantity can't be lower than -1,000,000,000.", "INVALID_QUANTITY_TOO_LOW"
        )
    return None


def _check_stocked(
    catalog: Catalog, pair: tuple[int, int], path: list[str]
) -> dict[str, Any] | None:
    if catalog.level(*pair) is None:
        return _error(
            [*path, "locationId"],
            "The specified inventory item is not stocked at the location.",
            "ITEM_NOT_STOCKED_AT_LOCATION",
        )
    return None


def _failed(errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"inventoryAdjustmentGroup": None, "userErrors": errors}


def _name_refused(message: str, code: str) -> dict[str, Any]:
    return _failed([_error(["input", "name"], message, code)])


def _check_new_quantities(
    entries: list[dict[str, Any]], list_name: str, *, allow_negative: bool
) -> list[dict[str, Any]]:
    errors = []
    for i, entry in enumerate(entries):
        path = ["input", list_name, str(i), "quantity"]
        bound = _check_bounds(entry["quantity"], path, allow_negative=allow_negative)
        if bound:
            errors.append(bound)
    return errors


_EntryCheck = Callable[[dict[str, Any], tuple[int, int], list[str]], list[dict[str, Any]]]
_EntryChange = Callable[[dict[str, Any], tuple[int, int]], list[QuantityChange]]


def _check_stale(
    entry: dict[str, Any], current: int, path: list[str], message: str
) -> list[dict[str, Any]]:
    expected = entry.get("changeFromQuantity")
    if expected is None or current == expected:
        return []
    return [_error([*path, "changeFromQuantity"], message, "CHANGE_FROM_QUANTITY_STALE")]


def _check_and_apply(
    shop: ShopState,
    data: dict[str, Any],
    list_name: str,
    pairs: list[tuple[int, int] | None],
    check: _EntryCheck,
    change: _EntryChange,
    *,
    nothing_is_null: bool = False,
) -> dict[str, Any]:
    """Second pass, once every target exists: an entry whose item is not stocked at its
    location fails on that alone, the others get the mutation's own ``check``. With no
    errors, ``change`` applies every entry and the answer is the adjustment group."""
    catalog = catalog_of(shop)
    entries = data.get(list_name) or []
    errors: list[dict[str, Any]] = []
    for i, (entry, pair) in enumerate(zip(entries, pairs, strict=True)):
        assert pair is not None
        path = ["input", list_name, str(i)]
        not_stocked = _check_stocked(catalog, pair, path)
        if not_stocked:
            errors.append(not_stocked)
        else:
            errors += check(entry, pair, path)
    if errors:
        return _failed(errors)
    changes: list[QuantityChange] = []
    for entry, pair in zip(entries, pairs, strict=True):
        assert pair is not None
        changes += change(entry, pair)
    if nothing_is_null and not changes:
        # Measured on Shopify: an inventoryAdjustQuantities whose every delta is 0 answers
        # no group and no userErrors.
        return {"inventoryAdjustmentGroup": None, "userErrors": []}
    return {
        "inventoryAdjustmentGroup": _group(
            shop, data["reason"], data.get("referenceDocumentUri"), changes
        ),
        "userErrors": [],
    }


def _run_quantity_mutation(
    ctx: Context,
    mutation_name: str,
    input: dict[str, Any],
    list_name: str,
    input_type: str,
    run: Callable[[ShopState, dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    """The request-level checks (top-level errors) the quantity mutations share, then
    ``run`` under the request's idempotency key."""
    entries = input.get(list_name) or []
    _check_size(entries)
    _require_change_from(entries, input_type)
    return _idempotent(ctx, mutation_name, input, lambda: run(ctx.shop, input))


# -------------------------------------------------------------------- mutations
@mutation("inventorySetQuantities", scopes=WRITE_INVENTORY)
def resolve_inventory_set_quantities(
    _parent: Any, ctx: Context, input: dict[str, Any]
) -> dict[str, Any]:
    return _run_quantity_mutation(
        ctx,
        "inventorySetQuantities",
        input,
        "quantities",
        "InventoryQuantityInput",
        _set_quantities,
    )


def _set_quantities(shop: ShopState, data: dict[str, Any]) -> dict[str, Any]:
    catalog = catalog_of(shop)
    name = data["name"]
    quantities = data.get("quantities") or []
    if name not in ("available", "on_hand"):
        # Capture name-validation: damaged / committed are refused this way.
        return _name_refused(
            "The quantity name must be either 'available' or 'on_hand'.", "INVALID_NAME"
        )
    errors = _check_reason(data["reason"])
    target_errors, pairs = _check_targets(shop, quantities, "quantities", unique=True)
    errors += target_errors
    # Capture quantity-bounds: on_hand may not go below 0, available may (to -1e9).
    errors += _check_new_quantities(quantities, "quantities", allow_negative=name == "available")
    if errors:
        return _failed(errors)

    def check(entry: dict[str, Any], pair: tuple[int, int], path: list[str]) -> list[Any]:
        return _check_stale(entry, catalog.quantity(*pair, name), path, _STALE_MESSAGE)

    return _check_and_apply(
        shop,
        data,
        "quantities",
        pairs,
        check,
        lambda entry, pair: catalog.set_quantity(*pair, name, entry["quantity"]),
    )


@mutation("inventoryAdjustQuantities", scopes=WRITE_INVENTORY)
def resolve_inventory_adjust_quantities(
    _parent: Any, ctx: Context, input: dict[str, Any]
) -> dict[str, Any]:
    return _run_quantity_mutation(
        ctx,
        "inventoryAdjustQuantities",
        input,
        "changes",
        "InventoryChangeInput",
        _adjust_quantities,
    )


def _adjust_quantities(shop: ShopState, data: dict[str, Any]) -> dict[str, Any]:
    catalog = catalog_of(shop)
    name = data["name"]
    entries = data.get("changes") or []
    if name not in ADJUSTABLE_NAMES:
        return _name_refused(
            "The quantity name must be one of: " + ", ".join(ADJUSTABLE_NAMES) + ".",
            "INVALID_QUANTITY_NAME",
        )
    errors = _check_reason(data["reason"])
    target_errors, pairs = _check_targets(shop, entries, "changes")
    errors += target_errors
    if errors:
        return _failed(errors)

    def check(entry: dict[str, Any], pair: tuple[int, int], path: list[str]) -> list[Any]:
        current = catalog.quantity(*pair, name)
        bound = _check_bounds(current + entry["delta"], [*path, "delta"], allow_negative=True)
        stale = _check_stale(entry, current, path, _STALE_MESSAGE)
        return [bound, *stale] if bound else stale

    return _check_and_apply(
        shop,
        data,
        "changes",
        pairs,
        check,
        lambda entry, pair: catalog.adjust_quantity(*pair, name, entry["delta"]),
        nothing_is_null=True,
    )


@mutation("inventorySetOnHandQuantities", scopes=WRITE_INVENTORY)
def resolve_inventory_set_on_hand(
    _parent: Any, ctx: Context, input: dict[str, Any]
) -> dict[str, Any]:
    return _run_quantity_mutation(
        ctx,
        "inventorySetOnHandQuantities",
        input,
        "setQuantities",
        "InventorySetQuantityInput",
        _set_on_hand,
    )


def _set_on_hand(shop: ShopState, data: dict[str, Any]) -> dict[str, Any]:
    catalog = catalog_of(shop)
    entries = data.get("setQuantities") or []
    errors = _check_reason(data["reason"])
    target_errors, pairs = _check_targets(shop, entries, "setQuantities")
    errors += target_errors
    errors += _check_new_quantities(entries, "setQuantities", allow_negative=False)
    if errors:
        return _failed(errors)

    def check(entry: dict[str, Any], pair: tuple[int, int], path: list[str]) -> list[Any]:
        current = catalog.quantity(*pair, "on_hand")
        return _check_stale(entry, current, path, _ON_HAND_STALE_MESSAGE)

    return _check_and_apply(
        shop,
        data,
        "setQuantities",
        pairs,
        check,
        lambda entry, pair: catalog.set_quantity(*pair, "on_hand", entry["quantity"]),
    )


@mutation("inventoryActivate", scopes=WRITE_INVENTORY)
def resolve_inventory_activate(
    _parent: Any,
    ctx: Context,
    inventoryItemId: str,
    locationId: str,
    available: int | None = None,
    onHand: int | None = None,
    stockAtLegacyLocation: bool = False,
) -> dict[str, Any]:
    """Stock an item at a location (Shopify docs: inventoryActivate); quantities optional."""
    catalog = catalog_of(ctx.shop)
    item_id = parse_gid(inventoryItemId, "InventoryItem")
    location_id = parse_gid(locationId, "Location")
    if item_id is None or catalog.inventory_item(item_id) is None:
        return {
            "inventoryLevel": None,
            "userErrors": [
                {"field": ["inventoryItemId"], "message": "Inventory item does not exist"}
            ],
        }
    if location_id is None or location_id not in ctx.shop.locations:
        return {
            "inventoryLevel": None,
            "userErrors": [{"field": ["locationId"], "message": "Location does not exist"}],
        }
    for name, value in (("available", available), ("onHand", onHand)):
        if value is not None and not -MAX_QUANTITY <= value <= MAX_QUANTITY:
            return {
                "inventoryLevel": None,
                "userErrors": [
                    {"field": [name], "message": "The quantity can't be higher than 1,000,000,000."}
                ],
            }
    already = catalog.level(item_id, location_id) is not None
    level = catalog.activate(item_id, location_id)
    if not already:
        if onHand is not None:
            catalog.set_quantity(item_id, location_id, "on_hand", onHand)
        if available is not None:
            catalog.set_quantity(item_id, location_id, "available", available)
    return {"inventoryLevel": inventory_level_node(level), "userErrors": []}


@mutation("inventoryItemUpdate", scopes=WRITE_INVENTORY)
def resolve_inventory_item_update(
    _parent: Any, ctx: Context, id: str, input: dict[str, Any]
) -> dict[str, Any]:
    catalog = catalog_of(ctx.shop)
    item_id = parse_gid(id, "InventoryItem")
    item = catalog.inventory_item(item_id) if item_id is not None else None
    if item is None:
        return {
            "inventoryItem": None,
            "userErrors": [{"field": ["id"], "message": "Inventory item does not exist"}],
        }
    changes: dict[str, Any] = {}
    if "sku" in input:
        changes["sku"] = input["sku"] or None
    for key, attr in (
        ("tracked", "tracked"),
        ("requiresShipping", "requires_shipping"),
        ("countryCodeOfOrigin", "country_code_of_origin"),
        ("harmonizedSystemCode", "harmonized_system_code"),
    ):
        if input.get(key) is not None:
            changes[attr] = input[key]
    if input.get("cost") is not None:
        changes["unit_cost"] = f"{float(input['cost']):.2f}"
    weight = (input.get("measurement") or {}).get("weight")
    if weight:
        changes["weight_value"] = float(weight["value"])
        changes["weight_unit"] = weight["unit"]
    before = item_state(item)
    catalog.update_item(item.id, **changes)
    if item_state(item) != before:  # inventory_items/update (Shopify's webhook reference)
        ctx.shop.emit("inventory_items/update", inventory_item_payload(item))
    return {"inventoryItem": inventory_item_node(ctx.shop, item), "userErrors": []}


@field_resolver("ProductVariant", "inventoryItem")
def resolve_variant_inventory_item(parent: dict[str, Any], ctx: Context) -> dict[str, Any]:
    catalog = catalog_of(ctx.shop)
    variant = catalog.variant(int(parent["legacyResourceId"]))
    if variant is None:
        raise TopLevelError("This product variant no longer exists.", "RESOURCE_NOT_FOUND")
    return inventory_item_node(ctx.shop, catalog.item_of(variant.id))


@node_loader("InventoryItem", scopes=READ_INVENTORY)
def load_inventory_item(ctx: Context, numeric_id: int) -> dict[str, Any] | None:
    item = catalog_of(ctx.shop).inventory_item(numeric_id)
    return inventory_item_node(ctx.shop, item) if item else None


@node_loader("InventoryLevel", scopes=READ_INVENTORY)
def load_inventory_level(ctx: Context, numeric_id: int) -> dict[str, Any] | None:
    level = catalog_of(ctx.shop).level_by_id(numeric_id)
    return inventory_level_node(level) if level else None


# ------------------------------------------------------------ inventoryMoveQuantities
# Shopify's reference (inventoryMoveQuantities, InventoryMoveQuantitiesUserErrorCode): the
# states a move may take from or give to, one location per change, a ledger document on
# every side except ``available``, and its own upper bound. Messages are the documented
# meanings of the codes; the unknown-id ones are captured (quantity-contracts capture).
MOVABLE_NAMES = ("available", "damaged", "incoming", "quality_control", "reserved", "safety_stock")
MAX_MOVE_QUANTITY = 2_000_000_000
_MOVE_STALE_MESSAGE = "The changeFromQuantity argument no longer matches the persisted quantity."
_SIDES = ("from", "to")


@mutation("inventoryMoveQuantities", scopes=WRITE_INVENTORY)
def resolve_inventory_move_quantities(
    _parent: Any, ctx: Context, input: dict[str, Any]
) -> dict[str, Any]:
    entries = input.get("changes") or []
    _check_size(entries)
    for entry in entries:
        _require_change_from([entry["from"], entry["to"]], "InventoryMoveQuantityTerminalInput")
    return _idempotent(
        ctx, "inventoryMoveQuantities", input, lambda: _move_quantities(ctx.shop, input)
    )


def _check_ledger(terminal: dict[str, Any], path: list[str]) -> dict[str, Any] | None:
    ledger = terminal.get("ledgerDocumentUri")
    where = [*path, "ledgerDocumentUri"]
    if terminal["name"] == "available":
        if ledger is not None:
            return _error(
                where,
                "A ledger document URI is not allowed when adjusting available.",
                "INVALID_AVAILABLE_DOCUMENT",
            )
        return None
    if ledger is None:
        return _error(
            where,
            "A ledger document URI is required except when adjusting available.",
            "INVALID_QUANTITY_DOCUMENT",
        )
    if ledger.lower().startswith("gid://shopify/"):
        return _error(
            where,
            "Internal (gid://shopify/) ledger documents are not allowed to be adjusted via API.",
            "INTERNAL_LEDGER_DOCUMENT",
        )
    if not _is_uri(ledger):
        return _error(where, "The specified ledger document is invalid.", "INVALID_LEDGER_DOCUMENT")
    return None


def _is_uri(value: str) -> bool:
    scheme, sep, rest = value.partition("://")
    return bool(sep and rest.strip() and scheme and scheme.replace("-", "").isalnum())


def _move_entry_errors(shop: ShopState, entry: dict[str, Any], path: list[str]) -> list[Any]:
    """Checks of one change that need no stock: ids, names, quantity, ledger documents."""
    catalog = catalog_of(shop)
    errors: list[dict[str, Any]] = []
    item_id = parse_gid(entry["inventoryItemId"], "InventoryItem")
    if item_id is None or catalog.inventory_item(item_id) is None:
        errors.append(
            _error(
                [*path, "inventoryItemId"],
                "The specified inventory item could not be found.",
                "INVALID_INVENTORY_ITEM",
            )
        )
    locations = []
    for side in _SIDES:
        location_id = parse_gid(entry[side]["locationId"], "Location")
        locations.append(location_id)
        if location_id is None or location_id not in shop.locations:
            errors.append(
                _error(
                    [*path, side, "locationId"],
                    "The specified location could not be found.",
                    "INVALID_LOCATION",
                )
            )
    if errors:
        return errors
    if locations[0] != locations[1]:
        errors.append(
            _error(
                [*path, "to", "locationId"],
                "The quantities can't be moved between different locations.",
                "DIFFERENT_LOCATIONS",
            )
        )
    for side in _SIDES:
        if entry[side]["name"] not in MOVABLE_NAMES:
            errors.append(
                _error(
                    [*path, side, "name"],
                    "The specified quantity name is invalid.",
                    "INVALID_QUANTITY_NAME",
                )
            )
    if entry["from"]["name"] == entry["to"]["name"]:
        errors.append(
            _error(
                [*path, "to", "name"],
                "The quantity names for each change can't be the same.",
                "SAME_QUANTITY_NAME",
            )
        )
    quantity = entry["quantity"]
    if quantity < 0:
        errors.append(
            _error(
                [*path, "quantity"], "The quantity can't be negative.", "INVALID_QUANTITY_NEGATIVE"
            )
        )
    elif quantity > MAX_MOVE_QUANTITY:
        errors.append(
            _error(
                [*path, "quantity"],
                "The quantity can't be higher than 2,000,000,000.",
                "INVALID_QUANTITY_TOO_HIGH",
            )
        )
    for side in _SIDES:
        if entry[side]["name"] in MOVABLE_NAMES:
            ledger_error = _check_ledger(entry[side], [*path, side])
            if ledger_error:
                errors.append(ledger_error)
    return errors


def _move_quantities(shop: ShopState, data: dict[str, Any]) -> dict[str, Any]:
    catalog = catalog_of(shop)
    entries = data.get("changes") or []
    errors = _check_reason(data["reason"])
    if not _is_uri(data["referenceDocumentUri"]):
        errors.append(
            _error(
                ["input", "referenceDocumentUri"],
                "The specified reference document is invalid.",
                "INVALID_REFERENCE_DOCUMENT",
            )
        )
    for i, entry in enumerate(entries):
        errors += _move_entry_errors(shop, entry, ["input", "changes", str(i)])
    if errors:
        return _failed(errors)
    targets: list[tuple[int, int]] = []
    for i, entry in enumerate(entries):
        path = ["input", "changes", str(i)]
        item_id = parse_gid(entry["inventoryItemId"], "InventoryItem")
        location_id = parse_gid(entry["from"]["locationId"], "Location")
        assert item_id is not None and location_id is not None
        targets.append((item_id, location_id))
        not_stocked = _check_stocked(catalog, (item_id, location_id), [*path, "from"])
        if not_stocked:
            errors.append(not_stocked)
            continue
        for side in _SIDES:
            current = catalog.quantity(item_id, location_id, entry[side]["name"])
            errors += _check_stale(entry[side], current, [*path, side], _MOVE_STALE_MESSAGE)
    if errors:
        return _failed(errors)
    changes: list[QuantityChange] = []
    ledgers: list[dict[str, str | None]] = []
    for entry, (item_id, location_id) in zip(entries, targets, strict=True):
        moved = catalog.move_quantity(
            item_id, location_id, entry["from"]["name"], entry["to"]["name"], entry["quantity"]
        )
        changes += moved
        by_name = {entry[side]["name"]: entry[side].get("ledgerDocumentUri") for side in _SIDES}
        ledgers += [{"ledger": by_name.get(c.name)} for c in moved]
    if not changes:
        return {"inventoryAdjustmentGroup": None, "userErrors": []}
    group = _group(shop, data["reason"], data["referenceDocumentUri"], changes)
    for line, ledger in zip(group["_changes"], ledgers, strict=True):
        line["ledgerDocumentUri"] = ledger["ledger"]
    return {"inventoryAdjustmentGroup": group, "userErrors": []}
