"""The shop itself, its locations, the calling app's installation, and ``node``/``nodes``.

Field names follow the vendored schema (``Shop``, ``ShopPlan``, ``Location``,
``AppInstallation``). ``node``/``nodes`` dispatch on the global id's kind to the loaders other
areas register with ``registry.node_loader``.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import GraphQLObjectType

from fulfillbridge.sandbox.domain.locations import (
    has_active_inventory,
    has_pending_orders,
    is_deactivatable,
    is_deletable,
)
from fulfillbridge.sandbox.graphql import AccessDenied
from fulfillbridge.sandbox.pagination import connection
from fulfillbridge.sandbox.registry import (
    Context,
    TopLevelError,
    node_loader,
    node_loaders,
    query,
)
from fulfillbridge.sandbox.resolvers._common import page_args
from fulfillbridge.sandbox.state import Location, ShopState, gid, parse_gid
from fulfillbridge.shopify.schema import admin_schema

LOCATION_SCOPES = ("read_locations",)

# Plan names as Shopify shows them in ShopPlan.publicDisplayName (Shopify docs).
_PLAN_DISPLAY = {
    "Basic": "Basic",
    "Standard": "Grow",
    "Advanced": "Advanced",
    "Plus": "Plus",
    "Enterprise": "Commerce Components",
}


# -- shop ------------------------------------------------------------------------------------
@query("shop")
def resolve_shop(_parent: Any, ctx: Context) -> dict[str, Any]:
    return shop_node(ctx.shop)


def shop_node(shop: ShopState) -> dict[str, Any]:
    plan_name = _PLAN_DISPLAY.get(shop.plan, shop.plan)
    return {
        "__typename": "Shop",
        "id": gid("Shop", shop.shop_id),
        "name": shop.name,
        "email": shop.email,
        "contactEmail": shop.email,
        "shopOwnerName": shop.name + " owner",
        "myshopifyDomain": shop.domain,
        "url": f"https://{shop.domain}",
        "currencyCode": shop.currency_code,
        "enabledPresentmentCurrencies": [shop.currency_code],
        "ianaTimezone": "America/Toronto",
        "timezoneAbbreviation": "EST",
        "timezoneOffset": "-0500",
        "timezoneOffsetMinutes": -300,
        "weightUnit": "KILOGRAMS",
        "unitSystem": "METRIC_SYSTEM",
        "taxesIncluded": False,
        "taxShipping": False,
        "setupRequired": False,
        "checkoutApiSupported": True,
        "orderNumberFormatPrefix": "#",
        "orderNumberFormatSuffix": "",
        "description": None,
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
        "plan": {
            "displayName": plan_name,
            "publicDisplayName": plan_name,
            "partnerDevelopment": False,
            "shopifyPlus": shop.plan in ("Plus", "Enterprise"),
        },
        "primaryDomain": {
            "__typename": "Domain",
            "id": gid("Domain", shop.shop_id),
            "host": shop.domain,
            "url": f"https://{shop.domain}",
            "sslEnabled": True,
            "localization": None,
            "marketWebPresence": None,
        },
        "shipsToCountries": ["CA", "US"],
    }


# -- locations -------------------------------------------------------------------------------
def location_node(shop: ShopState, location: Location) -> dict[str, Any]:
    """A Location as GraphQL returns it (fulfillment-service and inventory fields are left
    to the areas that own them, which register field resolvers on Location)."""
    node: dict[str, Any] = {
        "__typename": "Location",
        "id": gid("Location", location.id),
        "legacyResourceId": str(location.id),
        "name": location.name,
        "isActive": location.is_active,
        # Shopify's reference: activatable/deactivatable/deletable say whether the matching
        # mutation would succeed now; a fulfillment service's location is its service's.
        "activatable": not location.is_active and location.fulfillment_service_id is None,
        "deactivatable": is_deactivatable(shop, location),
        "deactivatedAt": location.deactivated_at,
        "deletable": is_deletable(shop, location),
        "fulfillsOnlineOrders": location.fulfills_online_orders,
        "shipsInventory": location.ships_inventory,
        "isFulfillmentService": location.fulfillment_service_id is not None,
        "isPrimary": location.id == min(shop.locations, default=location.id),
        "hasActiveInventory": has_active_inventory(shop, location.id),
        "hasUnfulfilledOrders": has_pending_orders(shop, location.id),
        "addressVerified": True,
        "createdAt": location.created_at or shop.clock.iso_now(),
        "updatedAt": location.updated_at or location.created_at or shop.clock.iso_now(),
        "localPickupSettingsV2": None,
        "suggestedAddresses": [],
        "address": {
            "address1": location.address1,
            "address2": location.address2,
            "city": location.city,
            "province": location.province_code,
            "provinceCode": location.province_code,
            "country": location.country_code,
            "countryCode": location.country_code,
            "zip": location.zip,
            "phone": location.phone,
            "latitude": None,
            "longitude": None,
            "formatted": [
                location.address1,
                f"{location.city} {location.province_code} {location.zip}",
                location.country_code,
            ],
        },
    }
    if location.fulfillment_service_id is None:
        node["fulfillmentService"] = None
    return node


def location_node_by_id(shop: ShopState, location_id: int) -> dict[str, Any]:
    """The Location a record points at; a bare stub when it has since gone away."""
    location = shop.locations.get(location_id)
    if location is None:
        return {"__typename": "Location", "id": gid("Location", location_id), "name": ""}
    return location_node(shop, location)


_TERM = re.compile(r'(?:(\w+):)?(?:"([^"]*)"|(\S+))')


def _matches(location: Location, search: str | None) -> bool:
    """Shopify's search syntax, the parts that make sense for locations: free text matches
    the name; ``name:``, ``id:``, ``active:``, ``fulfills_online_orders:`` filter."""
    if not search:
        return True
    for match in _TERM.finditer(search):
        key, quoted, bare = match.groups()
        value = (quoted if quoted is not None else bare or "").lower()
        if key is None:
            if value in ("and",):
                continue
            if value.rstrip("*") not in location.name.lower():
                return False
        elif key == "name":
            if value.rstrip("*") not in location.name.lower():
                return False
        elif key == "id":
            wanted = parse_gid(value, "Location") if value.startswith("gid://") else value
            if str(wanted) != str(location.id):
                return False
        elif key == "active":
            if (value == "true") != location.is_active:
                return False
        elif key == "fulfills_online_orders" and (
            (value == "true") != location.fulfills_online_orders
        ):
            return False
    return True


def _locations_connection(
    shop: ShopState, locations: list[Location], args: dict[str, Any]
) -> dict[str, Any]:
    # Keyed on the legacyResourceId string (so cursors carry a string, not a number).
    return connection(
        [location_node(shop, loc) for loc in locations],
        **page_args(args),
        cursor_of=lambda node: node["legacyResourceId"],
    )


@query("locations", scopes=LOCATION_SCOPES)
def resolve_locations(
    _parent: Any,
    ctx: Context,
    sortKey: str = "NAME",
    query: str | None = None,
    includeLegacy: bool = False,
    includeInactive: bool = False,
    **page: Any,
) -> dict[str, Any]:
    shop = ctx.shop
    chosen = [
        loc
        for loc in shop.locations.values()
        if (includeInactive or loc.is_active) and _matches(loc, query)
    ]
    if sortKey == "NAME":
        chosen.sort(key=lambda loc: (loc.name.lower(), loc.id))
    else:
        chosen.sort(key=lambda loc: loc.id)
    return _locations_connection(shop, chosen, page)


@query("locationsAvailableForDeliveryProfilesConnection", scopes=LOCATION_SCOPES)
def resolve_delivery_locations(_parent: Any, ctx: Context, **page: Any) -> dict[str, Any]:
    shop = ctx.shop
    chosen = sorted((loc for loc in shop.locations.values() if loc.is_active), key=lambda x: x.id)
    return _locations_connection(shop, chosen, page)


@query("location", scopes=LOCATION_SCOPES)
def resolve_location(_parent: Any, ctx: Context, id: str | None = None) -> dict[str, Any] | None:
    shop = ctx.shop
    if id is None:
        # Shopify: without an id, the shop's primary (first) location.
        if not shop.locations:
            return None
        return location_node(shop, shop.locations[min(shop.locations)])
    numeric = _numeric_id(id, "Location")
    location = shop.locations.get(numeric) if numeric is not None else None
    return location_node(shop, location) if location else None


@node_loader("Location", scopes=LOCATION_SCOPES)
def load_location(ctx: Context, numeric_id: int) -> dict[str, Any] | None:
    location = ctx.shop.locations.get(numeric_id)
    return location_node(ctx.shop, location) if location else None


# -- app installation ------------------------------------------------------------------------
@query("currentAppInstallation")
def resolve_current_app_installation(_parent: Any, ctx: Context) -> dict[str, Any]:
    from fulfillbridge.sandbox.shops import SCOPE_DESCRIPTIONS

    app_title = ctx.extra.get("app_title", "fulfillbridge")
    scopes = [
        {"handle": scope, "description": SCOPE_DESCRIPTIONS.get(scope, scope)}
        for scope in sorted(ctx.granted_scopes)
    ]
    app = {
        "__typename": "App",
        "id": gid("App", int(ctx.app_id) if ctx.app_id.isdigit() else 0),
        "title": app_title,
        "handle": app_title.lower().replace(" ", "-"),
        "apiKey": ctx.extra.get("client_id", ""),
        "description": None,
        "developerName": None,
        "embedded": False,
        "published": False,
        "shopifyDeveloped": False,
        "previouslyInstalled": False,
        "webhookApiVersion": ctx.extra.get("api_version", "2026-07"),
        "requestedAccessScopes": scopes,
        "availableAccessScopes": scopes,
        "optionalAccessScopes": [],
    }
    return {
        "__typename": "AppInstallation",
        "id": gid("AppInstallation", int(ctx.app_id) if ctx.app_id.isdigit() else 0),
        "accessScopes": scopes,
        "app": app,
        "launchUrl": f"https://{ctx.shop.domain}/admin/apps/{app['handle']}",
        "uninstallUrl": None,
        "activeSubscriptions": [],
    }


# -- node / nodes ----------------------------------------------------------------------------
def _numeric_id(value: str, kind: str) -> int | None:
    return parse_gid(value, kind)


def _invalid_id(value: str) -> TopLevelError:
    # Shopify's answer to a malformed global id in node(id:).
    return TopLevelError(
        f"Invalid global id '{value}'", "argumentLiteralsIncompatible", typeName="CoercionError"
    )


def _load_node(ctx: Context, value: str) -> dict[str, Any] | None:
    if not isinstance(value, str) or not value.startswith("gid://shopify/"):
        raise _invalid_id(value)
    kind = value[len("gid://shopify/") :].split("/", 1)[0]
    numeric = parse_gid(value, kind)
    if numeric is None:
        raise _invalid_id(value)
    spec = node_loaders().get(kind)
    if spec is None:
        schema_type = admin_schema().get_type(kind)
        if isinstance(schema_type, GraphQLObjectType) and "id" in schema_type.fields:
            raise TopLevelError(
                f"node(id:) for {kind} is not implemented by the sandbox",
                "NOT_IMPLEMENTED_BY_SANDBOX",
            )
        return None  # not a kind Shopify knows: no such node
    if spec.scopes and not any(ctx.has_scope(s) for s in spec.scopes):
        raise AccessDenied("node", spec.scopes)
    return spec.loader(ctx, numeric)


@query("node")
def resolve_node(_parent: Any, ctx: Context, id: str) -> dict[str, Any] | None:
    return _load_node(ctx, id)


@query("nodes")
def resolve_nodes(_parent: Any, ctx: Context, ids: list[str]) -> list[dict[str, Any] | None]:
    if len(ids) > 250:
        # docs/shopify.md#input-limits: input arrays are capped at 250 items.
        raise TopLevelError(
            f"The input array size of {len(ids)} is greater than the maximum allowed of 250.",
            "MAX_INPUT_SIZE_EXCEEDED",
        )
    return [_load_node(ctx, value) for value in ids]
