"""What every part of the inventory sync shares: its errors, the call meter, and where a
store's counts go (read from the store's settings and the warehouses configured)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fulfillbridge.config import Settings
from fulfillbridge.core.errors import FulfillbridgeError, InventoryErrorCode
from fulfillbridge.core.inventory import DEFAULT_QUANTITY_NAME, QUANTITY_NAMES, StoreLevels
from fulfillbridge.core.stores import Store
from fulfillbridge.shopify import QueryCost, ShopifyClient, operation

# One logger for the whole sync, whichever module writes.
log = logging.getLogger("fulfillbridge.flows.inventory")


class InventorySyncError(FulfillbridgeError):
    """A store-level failure (no store, unreadable settings); the message names it."""

    default_code = InventoryErrorCode.SYNC_FAILED


class StoreBusy(InventorySyncError):
    """Another push held the store's lock for longer than this one could wait."""

    default_code = InventoryErrorCode.STORE_BUSY


@dataclass
class CallMeter:
    """Calls made and points spent (actual cost where Shopify reports it)."""

    calls: int = 0
    points: int = 0

    def count(self, cost: QueryCost | None) -> None:
        """Count one call that cost ``cost``."""
        self.calls += 1
        if cost is not None:
            self.points += cost.actual if cost.actual is not None else cost.requested or 0

    async def execute(
        self, client: ShopifyClient, name: str, variables: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            return await client.execute(operation(name), variables, raise_user_errors=False)
        finally:
            self.count(client.last_cost)


def quantity_name(store: Store) -> str:
    name = store.settings.get("inventory_quantity_name") or DEFAULT_QUANTITY_NAME
    if name not in QUANTITY_NAMES:
        raise InventorySyncError(
            f"store {store.name}: inventory_quantity_name {name!r} must be one of "
            f"{', '.join(QUANTITY_NAMES)}"
        )
    return name


def store_levels(store: Store, settings: Settings) -> StoreLevels:
    """Where the store's counts go: its quantity name, its own (fulfillment-service)
    location, and each configured warehouse's locations."""
    return StoreLevels(
        store=store.name,
        quantity_name=quantity_name(store),
        default_location=store.settings.get("location_id"),
        warehouse_locations={w.name: tuple(w.locations) for w in settings.warehouses},
    )
