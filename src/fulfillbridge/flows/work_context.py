"""What processing and reconciliation need to know about one store: its mode, its
locations, and the rules decisions take (``core.follow.Policy``), from the store's settings
and the installation's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fulfillbridge.config import Settings
from fulfillbridge.core.errors import FulfillbridgeError, StoreErrorCode
from fulfillbridge.core.follow import Policy
from fulfillbridge.core.routing import Warehouse
from fulfillbridge.core.shipping import ShippingRuleError, ShippingRules, parse_rules
from fulfillbridge.core.stores import Store
from fulfillbridge.core.validation import ValidationRules
from fulfillbridge.core.work import Mode
from fulfillbridge.flows.connect import store_client
from fulfillbridge.shopify import ShopifyClient
from fulfillbridge.shopify.gids import same_resource
from fulfillbridge.store.database import Database


class StoreNotReady(FulfillbridgeError):
    """The store lacks set-up this event needs (e.g. no fulfillment-service location)."""

    default_code = StoreErrorCode.NOT_READY


@dataclass(frozen=True)
class StoreContext:
    """What processing needs to know about one store."""

    store: Store
    location_id: str | None  # our fulfillment service's location (fulfillment-service mode)
    managed_locations: tuple[str, ...]  # merchant locations we work (order management)
    policy: Policy  # the mode, validation, warehouses and the rest decisions need
    # Metafields to read per owner (order, product, variant): "namespace.key".
    metafield_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def store_id(self) -> int:
        return self.store.id

    @property
    def mode(self) -> Mode:
        return self.policy.mode

    @property
    def rules(self) -> ValidationRules:
        return self.policy.rules

    @property
    def warehouses(self) -> tuple[Warehouse, ...]:
        return self.policy.warehouses

    @property
    def reads_customer(self) -> bool:
        """Shopify refuses an order's email and phone without read_customers."""
        return "read_customers" in self.store.granted_scopes

    def is_ours(self, location_id: str | None) -> bool:
        if location_id is None:
            return False
        if self.mode is Mode.FULFILLMENT_SERVICE:
            return self.location_id is not None and same_resource(location_id, self.location_id)
        return any(same_resource(location_id, managed) for managed in self.managed_locations)


def shipping_rules(options: dict[str, Any]) -> ShippingRules:
    """The store's shipping-method mapping; a table that no longer parses maps nothing
    (``store configure`` refuses such a table, so this only guards hand edits)."""
    try:
        return parse_rules(options.get("shipping_rules"))
    except ShippingRuleError:
        return ShippingRules()


def validation_rules(options: dict[str, Any]) -> ValidationRules:
    """The store's validation choices (``store configure``)."""
    catalogue = options.get("catalogue")
    return ValidationRules(
        require_billing_address=bool(options.get("require_billing_address", False)),
        catalogue=frozenset(catalogue) if catalogue is not None else None,
    )


def warehouses_of(settings: Settings) -> tuple[Warehouse, ...]:
    return tuple(Warehouse(w.name, w.priority, tuple(w.locations)) for w in settings.warehouses)


def store_context(store: Store, settings: Settings) -> StoreContext:
    options = store.settings or {}
    policy = Policy(
        mode=Mode(options.get("mode") or Mode.FULFILLMENT_SERVICE.value),
        rules=validation_rules(options),
        warehouses=warehouses_of(settings),
        stages=tuple(settings.stages),
        cancel_cutoff_stage=settings.cancel_cutoff_stage,
        packed_stage=settings.cancel_cutoff_stage or settings.stages[-1],
        allow_payment_pending=bool(options.get("allow_payment_pending", False)),
        shipping=shipping_rules(options),
    )
    return StoreContext(
        store=store,
        location_id=options.get("location_id"),
        managed_locations=tuple(options.get("managed_locations") or ()),
        policy=policy,
        metafield_keys={
            owner: tuple(keys)
            for owner, keys in (options.get("metafields") or {}).items()
            if isinstance(keys, list) and keys
        },
    )


async def load_store(database: Database, store_id: int) -> tuple[Store, dict[str, str]]:
    async with database.stores() as stores:
        found = await stores.get_with_secrets(store_id)
    if found is None:
        raise StoreNotReady(f"no store with id {store_id}")
    return found


def open_client(
    database: Database, settings: Settings, store: Store, secrets: dict[str, str]
) -> ShopifyClient:
    """A client for the store that shares the store's throttle bucket with every other
    worker (``flows.connect.store_client``)."""
    return store_client(database, settings, store, secrets)
