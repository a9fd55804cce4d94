"""Per-shop state of the sandbox: the shop itself, its locations, ids, and the parts each
domain module owns (catalogue and inventory, orders and fulfillment, fulfillment services,
webhook subscriptions and bulk operations).

Everything lives in memory; ``/__sandbox/reset`` drops it. Mutations run under one lock per
shop (see ``sandbox.graphql``) so the state needs no locking of its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fulfillbridge.sandbox.clock import SandboxClock

# Plan presets: bucket size and restore rate (points/second). docs/shopify.md#the-bucket:
# restore rates by plan are documented; every captured response on a development store
# shows 2000 / 100; other bucket sizes are unverified, so they are configurable defaults,
# not truths.
PLANS: dict[str, tuple[int, int]] = {
    "Basic": (2000, 100),
    "Standard": (2000, 100),
    "Advanced": (4000, 200),
    "Plus": (20000, 1000),
    "Enterprise": (40000, 2000),
}


@dataclass
class Location:
    id: int
    name: str
    address1: str = "1 Main Street"
    city: str = "Ottawa"
    province_code: str = "ON"
    country_code: str = "CA"
    zip: str = "K1A 0B1"
    is_active: bool = True
    fulfills_online_orders: bool = True
    ships_inventory: bool = True
    # Set when the location belongs to a fulfillment service (id of that service).
    fulfillment_service_id: int | None = None
    created_at: str = ""
    updated_at: str = ""
    address2: str | None = None
    phone: str | None = None
    # When locationDeactivate last switched it off (None while active).
    deactivated_at: str | None = None


# Called with (topic, payload) when the shop raises a webhook-worthy event; the outbound
# module subscribes to it. Fulfillment-service callbacks use topic "__callback__".
EventListener = Callable[[str, dict[str, Any]], None]


@dataclass
class ShopState:
    domain: str  # e.g. "demo-shop.myshopify.com"
    name: str
    plan: str
    clock: SandboxClock
    shop_id: int = 0
    email: str = "owner@example.com"
    currency_code: str = "USD"
    locations: dict[int, Location] = field(default_factory=dict)
    # Domain parts: set by the modules that own them (see sandbox.domain).
    parts: dict[str, Any] = field(default_factory=dict)
    listeners: list[EventListener] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1001))

    def next_id(self) -> int:
        """A fresh numeric id; all resource kinds share one sequence, like large Shopify ids."""
        return next(self._ids)

    def emit(self, topic: str, payload: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            listener(topic, payload)

    def part(self, name: str, factory: Callable[[ShopState], Any]) -> Any:
        """The domain part ``name``, created on first use."""
        existing = self.parts.get(name)
        if existing is None:
            existing = self.parts[name] = factory(self)
        return existing


def gid(kind: str, numeric_id: int) -> str:
    return f"gid://shopify/{kind}/{numeric_id}"


def parse_gid(value: str, kind: str | None = None) -> int | None:
    """The numeric id of a global id (``?id=true``-style suffixes ignored), or None."""
    if not isinstance(value, str) or not value.startswith("gid://shopify/"):
        return None
    rest = value[len("gid://shopify/") :].split("?", 1)[0]
    found_kind, _, number = rest.partition("/")
    if kind is not None and found_kind != kind:
        return None
    return int(number) if number.isdigit() else None
