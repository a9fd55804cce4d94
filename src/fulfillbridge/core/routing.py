"""Routing: which warehouse or production line takes a work order.

Rule: among the warehouses that serve the order's Shopify location, in priority order
(lowest number first), the first that has stock for every line; when none has all of it,
the first of them (work waits for stock there). Unknown stock counts as enough: many
production lines make to order and keep no stock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fulfillbridge.core.errors import FulfillbridgeError, WorkErrorCode
from fulfillbridge.core.work import WorkOrder

# (warehouse name, sku) -> units available, or None when the warehouse does not track it.
StockLookup = Callable[[str, str], int | None]


@dataclass(frozen=True)
class Warehouse:
    name: str
    priority: int = 100
    # Shopify locations (opaque ids) this warehouse works for; empty = every location.
    locations: tuple[str, ...] = ()

    def serves(self, location: str | None) -> bool:
        return not self.locations or (location is not None and location in self.locations)


class RoutingError(FulfillbridgeError):
    """No warehouse can take the work, or a warehouse name is unknown."""

    default_code = WorkErrorCode.UNROUTABLE


def _has_stock(warehouse: Warehouse, order: WorkOrder, stock: StockLookup) -> bool:
    for line in order.lines:
        if not line.sku or line.remaining <= 0:
            continue
        available = stock(warehouse.name, line.sku)
        if available is not None and available < line.remaining:
            return False
    return True


def choose_warehouse(
    order: WorkOrder,
    warehouses: Sequence[Warehouse],
    location: str | None,
    stock: StockLookup = lambda _w, _s: None,
) -> Warehouse:
    candidates = sorted(
        (w for w in warehouses if w.serves(location)), key=lambda w: (w.priority, w.name)
    )
    if not candidates:
        raise RoutingError(
            f"no warehouse is configured for Shopify location {location}: map one to it"
        )
    for warehouse in candidates:
        if _has_stock(warehouse, order, stock):
            return warehouse
    return candidates[0]


def find_warehouse(warehouses: Sequence[Warehouse], name: str) -> Warehouse:
    for warehouse in warehouses:
        if warehouse.name == name:
            return warehouse
    known = ", ".join(w.name for w in warehouses) or "none"
    raise RoutingError(f"unknown warehouse {name!r} (configured: {known})")
