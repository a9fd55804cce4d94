"""GraphQL resolvers of metafields and metaobjects: ``metafieldsSet``, ``metafield`` and
``metafields`` on orders, products, variants and locations, ``metaobjectDefinitionCreate``,
``metaobjectCreate``, ``metaobjectDelete`` and ``Metafield.reference``."""

from __future__ import annotations

from typing import Any

from fulfillbridge.sandbox.domain.catalog import Catalog
from fulfillbridge.sandbox.domain.metafields import (
    OWNER_KINDS,
    Metafield,
    Metaobject,
    MetaUserErrors,
    metafields_of,
)
from fulfillbridge.sandbox.domain.orders import orders_of
from fulfillbridge.sandbox.pagination import connection
from fulfillbridge.sandbox.registry import Context, field_resolver, mutation, node_loader
from fulfillbridge.sandbox.resolvers._common import page_args
from fulfillbridge.sandbox.state import ShopState, parse_gid

# Writing an owner's metafields needs write access to the owner (Shopify docs, metafieldsSet).
WRITE_OWNERS = ("write_orders", "write_products", "write_locations")
READ_METAOBJECTS = ("read_metaobjects",)


def _app_namespace(ctx: Context) -> str:
    # An omitted namespace is the app's reserved one (Shopify docs: "$app" namespaces).
    return f"app--{ctx.app_id}"


def _owner_exists(shop: ShopState, owner_id: str) -> bool:
    catalog: Catalog = shop.part("catalog", Catalog)
    for kind in OWNER_KINDS:
        number = parse_gid(owner_id, kind)
        if number is None:
            continue
        if kind == "Order":
            return orders_of(shop).order(number) is not None
        if kind == "Location":
            return number in shop.locations
        if kind == "Product":
            return catalog.product(number) is not None
        return catalog.variant(number) is not None
    return False


def metafield_node(metafield: Metafield) -> dict[str, Any]:
    kind = metafield.owner_id.split("/")[3]
    return {
        "__typename": "Metafield",
        "_mf": metafield,
        "id": metafield.gid,
        "legacyResourceId": str(metafield.id),
        "namespace": metafield.namespace,
        "key": metafield.key,
        "type": metafield.type,
        "value": metafield.value,
        "ownerType": OWNER_KINDS[kind],
        "createdAt": metafield.created_at,
        "updatedAt": metafield.updated_at,
        "description": None,
        "definition": None,
        "compareDigest": f"{metafield.id}-{metafield.updated_at}",
        "sizeInBytes": len(metafield.value.encode()),
    }


def metaobject_node(shop: ShopState, metaobject: Metaobject) -> dict[str, Any]:
    part = metafields_of(shop)
    definition = part.definitions.get(metaobject.type)
    fields = definition.fields if definition else []
    return {
        "__typename": "Metaobject",
        "_mo": metaobject,
        "id": metaobject.gid,
        "handle": metaobject.handle,
        "type": metaobject.type,
        "displayName": part.display_name(metaobject),
        "createdAt": metaobject.created_at,
        "updatedAt": metaobject.updated_at,
        # Every field the definition has, in its order; an unset one has a null value.
        "fields": [
            {
                "__typename": "MetaobjectField",
                "key": f.key,
                "type": f.type,
                "value": metaobject.values.get(f.key),
                "reference": None,
            }
            for f in fields
        ],
    }


def _definition_node(shop: ShopState, type_name: str) -> dict[str, Any]:
    definition = metafields_of(shop).definitions[type_name]
    return {
        "__typename": "MetaobjectDefinition",
        "id": definition.gid,
        "type": definition.type,
        "name": definition.name,
        "description": None,
        "displayNameKey": definition.display_name_key,
        "createdAt": definition.created_at,
        "updatedAt": definition.created_at,
        "metaobjectsCount": sum(
            1 for m in metafields_of(shop).metaobjects.values() if m.type == definition.type
        ),
        "fieldDefinitions": [
            {
                "__typename": "MetaobjectFieldDefinition",
                "key": f.key,
                "name": f.name,
                "required": f.required,
                "description": None,
                "type": {"__typename": "MetafieldDefinitionType", "name": f.type},
            }
            for f in definition.fields
        ],
    }


# --------------------------------------------------------------------- HasMetafields
def _metafields(
    parent: dict[str, Any],
    ctx: Context,
    namespace: str | None = None,
    keys: list[str] | None = None,
    **page: Any,
) -> dict[str, Any]:
    found = metafields_of(ctx.shop).of(parent["id"])
    if namespace is not None:
        found = [m for m in found if m.namespace == namespace]
    if keys is not None:
        # "namespace.key" (Shopify docs, HasMetafields.metafields keys).
        wanted = {tuple(k.split(".", 1)) for k in keys if "." in k}
        found = [m for m in found if (m.namespace, m.key) in wanted]
    nodes = [metafield_node(m) for m in found]
    return connection(nodes, **page_args(page), cursor_of=lambda n: n["_mf"].id)


def _metafield(
    parent: dict[str, Any], ctx: Context, key: str, namespace: str | None = None
) -> dict[str, Any] | None:
    found = metafields_of(ctx.shop).get(parent["id"], namespace or _app_namespace(ctx), key)
    return metafield_node(found) if found is not None else None


for _owner in OWNER_KINDS:
    field_resolver(_owner, "metafields")(_metafields)
    field_resolver(_owner, "metafield")(_metafield)


@field_resolver("Metafield", "jsonValue")
def resolve_json_value(parent: dict[str, Any], ctx: Context) -> Any:
    import json

    metafield: Metafield = parent["_mf"]
    if metafield.type == "json":
        return json.loads(metafield.value)
    if metafield.type == "number_integer":
        return int(metafield.value)
    if metafield.type == "boolean":
        return metafield.value == "true"
    return metafield.value


@field_resolver("Metafield", "reference")
def resolve_reference(parent: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    """The referenced record, or null once it is gone (the value keeps its id)."""
    metafield: Metafield = parent["_mf"]
    if metafield.type == "metaobject_reference":
        number = parse_gid(metafield.value, "Metaobject")
        found = metafields_of(ctx.shop).metaobject(number) if number is not None else None
        return metaobject_node(ctx.shop, found) if found is not None else None
    if metafield.type in {"product_reference", "variant_reference"}:
        from fulfillbridge.sandbox.resolvers.catalog import product_node, variant_node

        catalog: Catalog = ctx.shop.part("catalog", Catalog)
        if metafield.type == "product_reference":
            number = parse_gid(metafield.value, "Product")
            product = catalog.product(number) if number is not None else None
            return product_node(ctx.shop, product) if product is not None else None
        number = parse_gid(metafield.value, "ProductVariant")
        variant = catalog.variant(number) if number is not None else None
        return variant_node(ctx.shop, variant) if variant is not None else None
    return None


@field_resolver("Metaobject", "field")
def resolve_metaobject_field(parent: dict[str, Any], ctx: Context, key: str) -> Any:
    return next((f for f in parent["fields"] if f["key"] == key), None)


# ------------------------------------------------------------------------- mutations
def _errors(exc: MetaUserErrors, *, element_key: bool = False) -> list[dict[str, Any]]:
    out = []
    for error in exc.errors:
        entry = dict(error)
        if element_key:
            entry["elementKey"] = None
        out.append(entry)
    return out


def set_owner_metafields(
    ctx: Context, owner_id: str, inputs: list[dict[str, Any]], path: list[str]
) -> list[dict[str, Any]]:
    """The ``metafields`` input of a mutation that creates or edits their owner (locationAdd,
    locationEdit): written all or nothing; returns the userErrors, their fields under
    ``path`` (``["input", "metafields", "0", "value"]``). MetafieldInput leaves key and
    value optional in the schema; a metafield without them is refused here."""
    missing = [
        {
            "field": [*path, str(i), name],
            "message": f"{name.title()} can't be blank.",
            "code": "BLANK",
        }
        for i, entry in enumerate(inputs)
        for name in ("key", "value")
        if entry.get(name) is None
    ]
    if missing:
        return missing
    try:
        metafields_of(ctx.shop).set_many(
            [{**entry, "ownerId": owner_id} for entry in inputs],
            lambda owner: _owner_exists(ctx.shop, owner),
            _app_namespace(ctx),
        )
    except MetaUserErrors as exc:
        return [
            {
                "field": [*path, *(e["field"] or [])[1:]],
                "message": e["message"],
                "code": e["code"],
            }
            for e in exc.errors
        ]
    return []


@mutation("metafieldsSet", scopes=WRITE_OWNERS)
def resolve_metafields_set(
    _parent: Any, ctx: Context, metafields: list[dict[str, Any]]
) -> dict[str, Any]:
    part = metafields_of(ctx.shop)
    try:
        written = part.set_many(
            metafields, lambda owner: _owner_exists(ctx.shop, owner), _app_namespace(ctx)
        )
    except MetaUserErrors as exc:
        return {"metafields": None, "userErrors": _errors(exc)}
    return {"metafields": [metafield_node(m) for m in written], "userErrors": []}


@mutation("metaobjectDefinitionCreate", scopes=("write_metaobject_definitions",))
def resolve_definition_create(
    _parent: Any, ctx: Context, definition: dict[str, Any]
) -> dict[str, Any]:
    try:
        created = metafields_of(ctx.shop).create_definition(definition)
    except MetaUserErrors as exc:
        return {"metaobjectDefinition": None, "userErrors": _errors(exc, element_key=True)}
    return {"metaobjectDefinition": _definition_node(ctx.shop, created.type), "userErrors": []}


@mutation("metaobjectCreate", scopes=("write_metaobjects",))
def resolve_metaobject_create(
    _parent: Any, ctx: Context, metaobject: dict[str, Any]
) -> dict[str, Any]:
    try:
        created = metafields_of(ctx.shop).create_metaobject(metaobject)
    except MetaUserErrors as exc:
        return {"metaobject": None, "userErrors": _errors(exc, element_key=True)}
    return {"metaobject": metaobject_node(ctx.shop, created), "userErrors": []}


@mutation("metaobjectDelete", scopes=("write_metaobjects",))
def resolve_metaobject_delete(_parent: Any, ctx: Context, id: str) -> dict[str, Any]:
    try:
        deleted = metafields_of(ctx.shop).delete_metaobject(id)
    except MetaUserErrors as exc:
        return {"deletedId": None, "userErrors": _errors(exc, element_key=True)}
    return {"deletedId": deleted, "userErrors": []}


@node_loader("Metaobject", scopes=READ_METAOBJECTS)
def load_metaobject(ctx: Context, numeric: int) -> dict[str, Any] | None:
    found = metafields_of(ctx.shop).metaobject(numeric)
    return metaobject_node(ctx.shop, found) if found is not None else None
