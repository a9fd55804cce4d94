"""GraphQL mutations of merchant locations: locationAdd, locationEdit, locationActivate,
locationDeactivate and locationDelete (rules in ``sandbox/domain/locations.py``).

From 2026-04 Shopify requires ``@idempotent(key:)`` on locationActivate and
locationDeactivate (their reference pages); the others take none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fulfillbridge.sandbox.domain import locations as domain
from fulfillbridge.sandbox.registry import Context, mutation
from fulfillbridge.sandbox.resolvers.inventory import run_idempotent
from fulfillbridge.sandbox.resolvers.metafields import set_owner_metafields
from fulfillbridge.sandbox.resolvers.shop import location_node
from fulfillbridge.sandbox.state import Location, gid, parse_gid

WRITE_LOCATIONS = ("write_locations",)
# Codes LocationAddUserErrorCode and LocationEditUserErrorCode both have.
_SHARED_CODES = frozenset(
    {"BLANK", "INVALID", "INVALID_TYPE", "INVALID_VALUE", "TOO_LONG", "TOO_SHORT", "TAKEN"}
)


def _answer(
    errors_key: str,
    action: Callable[[], Location],
    render: Callable[[Location], dict[str, Any]],
    empty: dict[str, Any],
) -> dict[str, Any]:
    try:
        location = action()
    except domain.LocationRefused as refused:
        return {**empty, errors_key: [e.as_dict() for e in refused.errors]}
    return {**render(location), errors_key: []}


def _metafields_writer(
    ctx: Context, input: dict[str, Any]
) -> Callable[[Location], list[domain.LocationError]] | None:
    inputs = input.get("metafields")
    if not inputs:
        return None

    def attach(location: Location) -> list[domain.LocationError]:
        errors = set_owner_metafields(
            ctx, gid("Location", location.id), inputs, ["input", "metafields"]
        )
        # LocationAdd/EditUserErrorCode share most metafield codes (INVALID_VALUE, BLANK...);
        # one they lack is reported as INVALID.
        return [
            domain.LocationError(
                e["field"], e["message"], e["code"] if e["code"] in _SHARED_CODES else "INVALID"
            )
            for e in errors
        ]

    return attach


@mutation("locationAdd", scopes=WRITE_LOCATIONS)
def resolve_location_add(_parent: Any, ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    shop = ctx.shop
    return _answer(
        "userErrors",
        lambda: domain.add_location(
            shop,
            input["name"],
            input.get("address") or {},
            input.get("fulfillsOnlineOrders", True) is not False,
            _metafields_writer(ctx, input),
        ),
        lambda location: {"location": location_node(shop, location)},
        {"location": None},
    )


@mutation("locationEdit", scopes=WRITE_LOCATIONS)
def resolve_location_edit(
    _parent: Any, ctx: Context, id: str, input: dict[str, Any]
) -> dict[str, Any]:
    shop = ctx.shop
    return _answer(
        "userErrors",
        lambda: domain.edit_location(
            shop, parse_gid(id, "Location"), input, _metafields_writer(ctx, input)
        ),
        lambda location: {"location": location_node(shop, location)},
        {"location": None},
    )


@mutation("locationActivate", scopes=WRITE_LOCATIONS)
def resolve_location_activate(_parent: Any, ctx: Context, locationId: str) -> dict[str, Any]:
    shop = ctx.shop

    def apply() -> dict[str, Any]:
        return _answer(
            "locationActivateUserErrors",
            lambda: domain.activate_location(shop, parse_gid(locationId, "Location")),
            lambda location: {"location": location_node(shop, location)},
            {"location": None},
        )

    return run_idempotent(
        ctx,
        "locationActivate",
        {"locationId": locationId},
        apply,
        lambda error: {"location": None, "locationActivateUserErrors": [error]},
    )


@mutation("locationDeactivate", scopes=WRITE_LOCATIONS)
def resolve_location_deactivate(
    _parent: Any, ctx: Context, locationId: str, destinationLocationId: str | None = None
) -> dict[str, Any]:
    shop = ctx.shop

    def apply() -> dict[str, Any]:
        return _answer(
            "locationDeactivateUserErrors",
            lambda: domain.deactivate_location(
                shop,
                parse_gid(locationId, "Location"),
                parse_gid(destinationLocationId, "Location")
                if destinationLocationId is not None
                else None,
                has_destination=destinationLocationId is not None,
            ),
            lambda location: {"location": location_node(shop, location)},
            {"location": None},
        )

    return run_idempotent(
        ctx,
        "locationDeactivate",
        {"locationId": locationId, "destinationLocationId": destinationLocationId},
        apply,
        lambda error: {"location": None, "locationDeactivateUserErrors": [error]},
    )


@mutation("locationDelete", scopes=WRITE_LOCATIONS)
def resolve_location_delete(_parent: Any, ctx: Context, locationId: str) -> dict[str, Any]:
    try:
        deleted = domain.delete_location(ctx.shop, parse_gid(locationId, "Location"))
    except domain.LocationRefused as refused:
        return {
            "deletedLocationId": None,
            "locationDeleteUserErrors": [e.as_dict() for e in refused.errors],
        }
    return {"deletedLocationId": gid("Location", deleted), "locationDeleteUserErrors": []}
