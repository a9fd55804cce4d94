"""GraphQL resolvers of fulfillment services: fulfillmentServiceCreate/Update/Delete,
fulfillmentService(id), Shop.fulfillmentServices and Location.fulfillmentService
(capture 2026-04_shipping-fulfillments_fulfillment-service-lifecycle.json)."""

from __future__ import annotations

from typing import Any

from fulfillbridge.sandbox.domain.orders import OrderUserErrors
from fulfillbridge.sandbox.domain.services import FulfillmentService, services_of
from fulfillbridge.sandbox.registry import Context, field_resolver, mutation, node_loader, query
from fulfillbridge.sandbox.resolvers.orders import user_errors
from fulfillbridge.sandbox.state import ShopState, parse_gid

READ_SERVICES = ("read_fulfillments", "write_fulfillments")
WRITE_SERVICES = ("write_fulfillments",)


def _location(shop: ShopState, location_id: int) -> dict[str, Any] | None:
    from fulfillbridge.sandbox.resolvers.shop import location_node

    location = shop.locations.get(location_id)
    return location_node(shop, location) if location is not None else None


def service_node(shop: ShopState, service: FulfillmentService) -> dict[str, Any]:
    return {
        "__typename": "FulfillmentService",
        "id": service.gid,
        "handle": service.handle,
        "serviceName": service.name,
        "callbackUrl": service.callback_url,
        "trackingSupport": service.tracking_support,
        "inventoryManagement": service.inventory_management,
        "requiresShippingMethod": service.requires_shipping_method,
        "fulfillmentOrdersOptIn": True,
        "type": "THIRD_PARTY",
        "location": _location(shop, service.location_id),
    }


def manual_service_node(shop: ShopState, location_id: int | None = None) -> dict[str, Any]:
    """The built-in "manual" service of merchant-managed locations (captures show it with
    id gid://shopify/FulfillmentService/manual and the shop's first location)."""
    if location_id is None:
        own = [loc.id for loc in shop.locations.values() if loc.fulfillment_service_id is None]
        location_id = min(own, default=None)
    return {
        "__typename": "FulfillmentService",
        "id": "gid://shopify/FulfillmentService/manual",
        "handle": "manual",
        "serviceName": "Manual",
        "callbackUrl": None,
        "trackingSupport": False,
        "inventoryManagement": False,
        "requiresShippingMethod": True,
        "fulfillmentOrdersOptIn": True,
        "type": "MANUAL",
        "location": _location(shop, location_id) if location_id is not None else None,
    }


@query("fulfillmentService", scopes=READ_SERVICES)
def resolve_service(_parent: Any, ctx: Context, id: str) -> dict[str, Any] | None:
    service = services_of(ctx.shop).find(id)
    return service_node(ctx.shop, service) if service is not None else None


@field_resolver("Shop", "fulfillmentServices", scopes=READ_SERVICES)
def resolve_shop_services(_parent: Any, ctx: Context) -> list[dict[str, Any]]:
    services = services_of(ctx.shop).all()
    return [manual_service_node(ctx.shop), *(service_node(ctx.shop, s) for s in services)]


@field_resolver("Location", "fulfillmentService")
def resolve_location_service(parent: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    location_id = parse_gid(parent.get("id", ""), "Location")
    if location_id is None:
        return None
    service = services_of(ctx.shop).by_location(location_id)
    return service_node(ctx.shop, service) if service is not None else None


@mutation("fulfillmentServiceCreate", scopes=WRITE_SERVICES)
def resolve_service_create(
    _parent: Any,
    ctx: Context,
    name: str,
    callbackUrl: str | None = None,
    trackingSupport: bool = False,
    inventoryManagement: bool = False,
    requiresShippingMethod: bool = True,
    fulfillmentOrdersOptIn: bool = True,
) -> dict[str, Any]:
    try:
        service = services_of(ctx.shop).create(
            name=name,
            app_id=ctx.app_id,
            callback_url=callbackUrl,
            tracking_support=bool(trackingSupport),
            inventory_management=bool(inventoryManagement),
            requires_shipping_method=requiresShippingMethod is not False,
        )
    except OrderUserErrors as exc:
        return {"fulfillmentService": None, "userErrors": user_errors(exc, with_code=False)}
    return {"fulfillmentService": service_node(ctx.shop, service), "userErrors": []}


@mutation("fulfillmentServiceUpdate", scopes=WRITE_SERVICES)
def resolve_service_update(_parent: Any, ctx: Context, id: str, **changes: Any) -> dict[str, Any]:
    changes.pop("fulfillmentOrdersOptIn", None)
    try:
        service = services_of(ctx.shop).update(id, changes, app_id=ctx.app_id)
    except OrderUserErrors as exc:
        return {"fulfillmentService": None, "userErrors": user_errors(exc, with_code=False)}
    return {"fulfillmentService": service_node(ctx.shop, service), "userErrors": []}


@mutation("fulfillmentServiceDelete", scopes=WRITE_SERVICES)
def resolve_service_delete(
    _parent: Any,
    ctx: Context,
    id: str,
    destinationLocationId: str | None = None,
    inventoryAction: str | None = None,
) -> dict[str, Any]:
    try:
        deleted = services_of(ctx.shop).delete(
            id,
            app_id=ctx.app_id,
            inventory_action=inventoryAction,
            destination_location_id=destinationLocationId,
        )
    except OrderUserErrors as exc:
        return {"deletedId": None, "userErrors": user_errors(exc, with_code=False)}
    return {"deletedId": deleted, "userErrors": []}


@node_loader("FulfillmentService", scopes=READ_SERVICES)
def load_service(ctx: Context, numeric: int) -> dict[str, Any] | None:
    service = services_of(ctx.shop).get(numeric)
    return service_node(ctx.shop, service) if service is not None else None
