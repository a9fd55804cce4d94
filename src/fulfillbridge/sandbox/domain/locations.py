"""Merchant locations of a shop: adding, editing, activating, deactivating and deleting them
(pure domain; the GraphQL side is ``resolvers/locations.py``).

Rules follow Shopify's reference for ``locationAdd``, ``locationEdit``, ``locationActivate``,
``locationDeactivate`` and ``locationDelete`` and their error-code enums; no capture records
these mutations, so each message is the documented meaning of its code. Where the documents
leave a choice, the sandbox's rule is stated next to the code:

* "active inventory" is any inventory level at the location (an item stocked there, whatever
  its quantities), which is what ``Location.hasActiveInventory`` reports;
* "pending orders" are fulfillment orders at the location that are not finished (closed,
  cancelled or incomplete). With a destination, those still movable (OPEN or ON_HOLD, not
  yet submitted to or accepted by a service) move with ``fulfillmentOrderMove``'s rules;
  work a service already holds refuses the deactivation;
* a fulfillment service's location is managed by its service: it cannot be deactivated,
  edited to stop fulfilling online orders, or named as a destination.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fulfillbridge.sandbox.domain.catalog import Catalog
from fulfillbridge.sandbox.state import Location, ShopState, gid

MAX_NAME = 100  # the sandbox's limit; Shopify documents TOO_LONG without a number
_US_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
_FINISHED = {"CLOSED", "CANCELLED", "INCOMPLETE"}


@dataclass(frozen=True)
class LocationError:
    field: list[str] | None
    message: str
    code: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message, "code": self.code}


class LocationRefused(Exception):
    def __init__(self, errors: list[LocationError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


def _refuse(field: list[str] | None, message: str, code: str) -> LocationRefused:
    return LocationRefused([LocationError(field, message, code)])


# ------------------------------------------------------------------------- reading
def location_payload(location: Location) -> dict[str, Any]:
    """REST-shaped body of the locations/* webhooks (Shopify's webhook reference)."""
    return {
        "id": location.id,
        "name": location.name,
        "address1": location.address1,
        "address2": location.address2,
        "city": location.city,
        "zip": location.zip,
        "province": location.province_code,
        "country": location.country_code,
        "phone": location.phone,
        "created_at": location.created_at,
        "updated_at": location.updated_at or location.created_at,
        "country_code": location.country_code,
        "province_code": location.province_code,
        "legacy": location.fulfillment_service_id is not None,
        "active": location.is_active,
        "admin_graphql_api_id": gid("Location", location.id),
    }


def has_active_inventory(shop: ShopState, location_id: int) -> bool:
    return bool(shop.part("catalog", Catalog).levels_at_location(location_id))


def _unfinished_fulfillment_orders(shop: ShopState, location_id: int) -> list[Any]:
    orders = shop.parts.get("orders")
    if orders is None:
        return []
    return sorted(
        (
            fo
            for fo in orders.fulfillment_orders.values()
            if fo.location_id == location_id and fo.status not in _FINISHED
        ),
        key=lambda fo: fo.id,
    )


def has_pending_orders(shop: ShopState, location_id: int) -> bool:
    return bool(_unfinished_fulfillment_orders(shop, location_id))


def _movable(fo: Any) -> bool:
    return fo.status in {"OPEN", "ON_HOLD"} and fo.request_status in {"UNSUBMITTED", "REJECTED"}


def is_deactivatable(shop: ShopState, location: Location) -> bool:
    return location.is_active and location.fulfillment_service_id is None


def is_deletable(shop: ShopState, location: Location) -> bool:
    return (
        not location.is_active
        and location.fulfillment_service_id is None
        and not has_active_inventory(shop, location.id)
        and not has_pending_orders(shop, location.id)
    )


def _other_online_location(shop: ShopState, location: Location) -> bool:
    return any(
        other.id != location.id and other.is_active and other.fulfills_online_orders
        for other in shop.locations.values()
    )


# ------------------------------------------------------------------------ changing
def _check_name(
    shop: ShopState, name: str | None, path: list[str], *, own_id: int | None = None
) -> list[LocationError]:
    if name is None or not name.strip():
        return [LocationError(path, "Name can't be blank", "BLANK")]
    if len(name) > MAX_NAME:
        return [
            LocationError(path, f"Name is too long (maximum is {MAX_NAME} characters)", "TOO_LONG")
        ]
    if any(
        other.id != own_id and other.name.strip().lower() == name.strip().lower()
        for other in shop.locations.values()
    ):
        return [LocationError(path, "Name has already been taken", "TAKEN")]
    return []


def _check_address(address: dict[str, Any], path: list[str], country: str) -> list[LocationError]:
    zip_code = address.get("zip")
    if country == "US" and zip_code and not _US_ZIP.match(zip_code.strip()):
        return [
            LocationError([*path, "zip"], "Zip is not a valid US zip code", "INVALID_US_ZIPCODE")
        ]
    return []


def add_location(
    shop: ShopState,
    name: str,
    address: dict[str, Any],
    fulfills_online_orders: bool = True,
    attach: Callable[[Location], list[LocationError]] | None = None,
) -> Location:
    """locationAdd: a new active merchant location; emits locations/create. ``attach`` writes
    what belongs to the new location (its metafields) once it exists; errors it returns undo
    the addition."""
    errors = _check_name(shop, name, ["input", "name"])
    country = address.get("countryCode") or ""
    errors += _check_address(address, ["input", "address"], country)
    if errors:
        raise LocationRefused(errors)
    now = shop.clock.iso_now()
    location = Location(
        id=shop.next_id(),
        name=name.strip(),
        address1=address.get("address1") or "",
        address2=address.get("address2"),
        city=address.get("city") or "",
        province_code=address.get("provinceCode") or "",
        country_code=country,
        zip=address.get("zip") or "",
        phone=address.get("phone"),
        fulfills_online_orders=fulfills_online_orders,
        created_at=now,
        updated_at=now,
    )
    shop.locations[location.id] = location
    attached = attach(location) if attach is not None else []
    if attached:
        del shop.locations[location.id]
        raise LocationRefused(attached)
    shop.emit("locations/create", location_payload(location))
    return location


def require_location(
    shop: ShopState, location_id: int | None, path: list[str], code: str
) -> Location:
    location = shop.locations.get(location_id) if location_id is not None else None
    if location is None:
        raise _refuse(path, "Location not found.", code)
    return location


def edit_location(
    shop: ShopState,
    location_id: int | None,
    changes: dict[str, Any],
    attach: Callable[[Location], list[LocationError]] | None = None,
) -> Location:
    """locationEdit: absent keys stay; emits locations/update when something changed.
    ``attach`` writes the location's metafields after every other check passed."""
    location = require_location(shop, location_id, ["id"], "NOT_FOUND")
    errors: list[LocationError] = []
    if "name" in changes and changes["name"] is not None:
        errors += _check_name(shop, changes["name"], ["input", "name"], own_id=location.id)
    address = changes.get("address") or {}
    country = address.get("countryCode") or location.country_code
    errors += _check_address(address, ["input", "address"], country)
    online = changes.get("fulfillsOnlineOrders")
    if online is False and location.fulfills_online_orders:
        if location.fulfillment_service_id is not None:
            errors.append(
                LocationError(
                    ["input", "fulfillsOnlineOrders"],
                    "Online order fulfillment cannot be changed for a fulfillment service "
                    "location.",
                    "CANNOT_MODIFY_ONLINE_ORDER_FULFILLMENT_FOR_FS_LOCATION",
                )
            )
        elif not _other_online_location(shop, location):
            errors.append(
                LocationError(
                    ["input", "fulfillsOnlineOrders"],
                    "At least one location must fulfill online orders.",
                    "CANNOT_DISABLE_ONLINE_ORDER_FULFILLMENT",
                )
            )
    if errors:
        raise LocationRefused(errors)
    attached = attach(location) if attach is not None else []
    if attached:
        raise LocationRefused(attached)
    before = location_payload(location)
    if changes.get("name") is not None:
        location.name = changes["name"].strip()
    for key, attr in (
        ("address1", "address1"),
        ("address2", "address2"),
        ("city", "city"),
        ("zip", "zip"),
        ("phone", "phone"),
        ("provinceCode", "province_code"),
        ("countryCode", "country_code"),
    ):
        if key in address and (address[key] is not None or attr in {"address2", "phone"}):
            setattr(location, attr, address[key])
    if online is not None:
        location.fulfills_online_orders = online
    if location_payload(location) != before:
        location.updated_at = shop.clock.iso_now()
        shop.emit("locations/update", location_payload(location))
    return location


def activate_location(shop: ShopState, location_id: int | None) -> Location:
    """locationActivate; an active location is answered as it is (nothing changes)."""
    location = require_location(shop, location_id, ["locationId"], "LOCATION_NOT_FOUND")
    if location.is_active:
        return location
    if any(
        other.id != location.id
        and other.is_active
        and other.name.strip().lower() == location.name.strip().lower()
        for other in shop.locations.values()
    ):
        raise _refuse(
            ["locationId"],
            "There is already an active location with this name.",
            "HAS_NON_UNIQUE_NAME",
        )
    now = shop.clock.iso_now()
    location.is_active = True
    location.deactivated_at = None
    location.updated_at = now
    shop.emit("locations/activate", location_payload(location))
    return location


def deactivate_location(
    shop: ShopState, location_id: int | None, destination_id: int | None, *, has_destination: bool
) -> Location:
    """locationDeactivate: checks everything first, then moves inventory levels and movable
    fulfillment orders to the destination, switches the location off and emits
    locations/deactivate."""
    location = require_location(shop, location_id, ["locationId"], "LOCATION_NOT_FOUND")
    if location.fulfillment_service_id is not None:
        raise _refuse(
            ["locationId"],
            "Location is permanently blocked from deactivation.",
            "PERMANENTLY_BLOCKED_FROM_DEACTIVATION_ERROR",
        )
    if not location.is_active:
        return location
    destination: Location | None = None
    if has_destination:
        destination = shop.locations.get(destination_id) if destination_id is not None else None
        if destination is not None and destination.id == location.id:
            raise _refuse(
                ["destinationLocationId"],
                "Destination location is the same as the location to be deactivated.",
                "DESTINATION_LOCATION_IS_THE_SAME_LOCATION",
            )
        if destination is None or not destination.is_active:
            raise _refuse(
                ["destinationLocationId"],
                "Destination location is not found or inactive.",
                "DESTINATION_LOCATION_NOT_FOUND_OR_INACTIVE",
            )
        if destination.fulfillment_service_id is not None:
            raise _refuse(
                ["destinationLocationId"],
                "Destination location is not Shopify managed.",
                "DESTINATION_LOCATION_NOT_SHOPIFY_MANAGED",
            )
    if location.fulfills_online_orders and not _other_online_location(shop, location):
        raise _refuse(
            ["locationId"],
            "At least one location must fulfill online orders.",
            "CANNOT_DISABLE_ONLINE_ORDER_FULFILLMENT",
        )
    pending = _unfinished_fulfillment_orders(shop, location.id)
    if pending and (destination is None or not all(_movable(fo) for fo in pending)):
        raise _refuse(
            ["locationId"],
            "Location could not be deactivated because it has pending orders.",
            "HAS_FULFILLMENT_ORDERS_ERROR",
        )
    catalog: Catalog = shop.part("catalog", Catalog)
    if destination is None and catalog.levels_at_location(location.id):
        raise _refuse(
            ["locationId"],
            "Location could not be deactivated without specifying where to relocate "
            "inventory at the location.",
            "HAS_ACTIVE_INVENTORY_ERROR",
        )
    if destination is not None:
        catalog.relocate_levels(location.id, destination.id)
        # Every pending one passed _movable, which is what fulfillmentOrderMove accepts.
        for fo in pending:
            shop.parts["orders"].move(fo, gid("Location", destination.id), None)
    now = shop.clock.iso_now()
    location.is_active = False
    location.deactivated_at = now
    location.updated_at = now
    shop.emit("locations/deactivate", location_payload(location))
    return location


def delete_location(shop: ShopState, location_id: int | None) -> int:
    """locationDelete: only an inactive location with no inventory and no pending orders."""
    location = require_location(shop, location_id, ["locationId"], "LOCATION_NOT_FOUND")
    if location.is_active:
        raise _refuse(
            ["locationId"],
            "The location cannot be deleted while it is active.",
            "LOCATION_IS_ACTIVE",
        )
    if has_active_inventory(shop, location.id):
        raise _refuse(
            ["locationId"],
            "The location cannot be deleted while it has inventory.",
            "LOCATION_HAS_INVENTORY",
        )
    if has_pending_orders(shop, location.id):
        raise _refuse(
            ["locationId"],
            "The location cannot be deleted while it has pending orders.",
            "LOCATION_HAS_PENDING_ORDERS",
        )
    del shop.locations[location.id]
    metafields = shop.parts.get("metafields")
    if metafields is not None:
        metafields.drop_owner(gid("Location", location.id))
    shop.emit("locations/delete", {"id": location.id})
    return location.id
