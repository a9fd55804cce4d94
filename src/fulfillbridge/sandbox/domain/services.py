"""Fulfillment services of the sandbox (pure Python, no GraphQL).

Each service owns a Location in ``shop.locations`` (``fulfillment_service_id`` set), named
like the service and renamed with it (capture
2026-04_shipping-fulfillments_fulfillment-service-lifecycle.json). Obtain the part as
``services_of(shop)``.

Callback URLs: Shopify only accepts callback hosts that the app is allowed to use (its
configured app/redirect hosts and the shop's own origin; capture
...fulfillment-service-callback-url-validation.json accepted mock.shop and the shop domain,
refused example.com and shopify.com). The sandbox cannot know a real app's configuration,
so its allow-list is ``ALLOWED_CALLBACK_HOSTS`` plus the shop domain, changeable per shop
through ``Services.allowed_callback_hosts``. It includes 127.0.0.1 and localhost because
the project's tests receive callbacks there; Shopify itself would refuse those hosts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fulfillbridge.sandbox.domain.orders import OrderUserErrors, UserError
from fulfillbridge.sandbox.state import Location, gid, parse_gid

if TYPE_CHECKING:
    from fulfillbridge.sandbox.state import ShopState

ALLOWED_CALLBACK_HOSTS: frozenset[str] = frozenset({"127.0.0.1", "localhost", "mock.shop"})


@dataclass
class FulfillmentService:
    id: int
    name: str
    handle: str
    location_id: int
    app_id: str
    callback_url: str | None = None
    tracking_support: bool = False
    inventory_management: bool = False
    requires_shipping_method: bool = True

    @property
    def gid(self) -> str:
        # Shopify returns the id with a "?id=true" suffix (both service captures).
        return f"{gid('FulfillmentService', self.id)}?id=true"

    @property
    def plain_gid(self) -> str:
        # fulfillmentServiceDelete's deletedId has no suffix (lifecycle capture).
        return gid("FulfillmentService", self.id)


def _handleize(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


class Services:
    """The fulfillment services of one shop."""

    def __init__(self, shop: ShopState) -> None:
        self.shop = shop
        self.services: dict[int, FulfillmentService] = {}
        self.allowed_callback_hosts: set[str] = set(ALLOWED_CALLBACK_HOSTS)

    def get(self, service_id: int) -> FulfillmentService | None:
        return self.services.get(service_id)

    def find(self, global_id: str) -> FulfillmentService | None:
        service_id = parse_gid(global_id, "FulfillmentService")
        return self.services.get(service_id) if service_id is not None else None

    def all(self) -> list[FulfillmentService]:
        return sorted(self.services.values(), key=lambda s: s.id)

    def of_app(self, app_id: str) -> list[FulfillmentService]:
        return [s for s in self.all() if s.app_id == app_id]

    def by_location(self, location_id: int) -> FulfillmentService | None:
        return next((s for s in self.services.values() if s.location_id == location_id), None)

    # ------------------------------------------------------------------ validation
    def _callback_errors(self, url: str | None) -> list[UserError]:
        if url is None:
            return []
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"}:
            # Capture: "Callback url protocol ftp:// is not supported".
            return [
                UserError(
                    ["callbackUrl"], f"Callback url protocol {parts.scheme}:// is not supported"
                )
            ]
        host = (parts.hostname or "").lower()
        if host not in self.allowed_callback_hosts and host != self.shop.domain.lower():
            return [UserError(["callbackUrl"], "Callback url is not allowed")]
        return []

    def _unique_handle(self, name: str) -> str:
        base = _handleize(name) or "fulfillment-service"
        taken = {s.handle for s in self.services.values()} | {"manual"}
        handle, n = base, 1
        while handle in taken:
            n += 1
            handle = f"{base}-{n}"
        return handle

    # ------------------------------------------------------------------ mutations
    def create(
        self,
        *,
        name: str,
        app_id: str,
        callback_url: str | None = None,
        tracking_support: bool = False,
        inventory_management: bool = False,
        requires_shipping_method: bool = True,
    ) -> FulfillmentService:
        errors: list[UserError] = []
        if not name or not name.strip():
            errors.append(UserError(["name"], "Name can't be blank"))
        elif any(s.name == name for s in self.services.values()):
            errors.append(UserError(["name"], "Name has already been taken"))
        errors += self._callback_errors(callback_url)
        if errors:
            raise OrderUserErrors(*errors)
        now = self.shop.clock.iso_now()
        location = Location(
            id=self.shop.next_id(),
            name=name,
            fulfills_online_orders=True,
            # Capture: a service's location reads shipsInventory false.
            ships_inventory=False,
            created_at=now,
        )
        service = FulfillmentService(
            id=self.shop.next_id(),
            name=name,
            handle=self._unique_handle(name),
            location_id=location.id,
            app_id=app_id,
            callback_url=callback_url,
            tracking_support=tracking_support,
            inventory_management=inventory_management,
            requires_shipping_method=requires_shipping_method,
        )
        location.fulfillment_service_id = service.id
        self.shop.locations[location.id] = location
        self.services[service.id] = service
        return service

    def update(
        self, global_id: str, changes: dict[str, Any], *, app_id: str | None = None
    ) -> FulfillmentService:
        """``changes`` holds the GraphQL arguments that were given (camelCase)."""
        service = self.find(global_id)
        if service is None or (app_id is not None and service.app_id != app_id):
            raise OrderUserErrors(UserError(["id"], "Fulfillment service could not be found."))
        errors: list[UserError] = []
        name = changes.get("name")
        if "name" in changes and (name is None or not str(name).strip()):
            errors.append(UserError(["name"], "Name can't be blank"))
        if "callbackUrl" in changes:
            errors += self._callback_errors(changes["callbackUrl"])
        if errors:
            raise OrderUserErrors(*errors)
        if name:
            service.name = name
            location = self.shop.locations.get(service.location_id)
            if location is not None:
                location.name = name
        if "callbackUrl" in changes:
            service.callback_url = changes["callbackUrl"]
        if changes.get("trackingSupport") is not None:
            service.tracking_support = bool(changes["trackingSupport"])
        if changes.get("inventoryManagement") is not None:
            service.inventory_management = bool(changes["inventoryManagement"])
        # docs/shopify.md#creating-and-updating: an omitted requiresShippingMethod resets to
        # true on update.
        requires = changes.get("requiresShippingMethod")
        service.requires_shipping_method = True if requires is None else bool(requires)
        return service

    def delete(
        self,
        global_id: str,
        *,
        app_id: str | None = None,
        inventory_action: str | None = None,
        destination_location_id: str | None = None,
    ) -> str:
        """Delete the service and its location; returns the deleted id (no suffix)."""
        service = self.find(global_id)
        if service is None or (app_id is not None and service.app_id != app_id):
            raise OrderUserErrors(UserError(["id"], "Fulfillment service could not be found."))
        if inventory_action == "TRANSFER" and destination_location_id is not None:
            destination = parse_gid(destination_location_id, "Location")
            if destination is None or destination not in self.shop.locations:
                raise OrderUserErrors(
                    UserError(["destinationLocationId"], "Destination location could not be found.")
                )
        del self.services[service.id]
        # Capture "location-after-delete": the location no longer resolves.
        self.shop.locations.pop(service.location_id, None)
        return service.plain_gid


def services_of(shop: ShopState) -> Services:
    return shop.part("services", Services)
