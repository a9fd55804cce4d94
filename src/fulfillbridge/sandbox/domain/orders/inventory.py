"""Stock an order line holds at locations: committing units when an order is placed,
moving the commitment with its fulfillment order, using it up on fulfilment, giving it back
on cancellation. ``LineItem.committed`` remembers what each line committed where, so every
reversal undoes exactly what was done."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fulfillbridge.sandbox.domain.catalog import Catalog
    from fulfillbridge.sandbox.domain.orders.model import LineItem


def _add(line: LineItem, location_id: int, qty: int) -> None:
    line.committed[location_id] = line.committed.get(location_id, 0) + qty


def commit(catalog: Catalog, line: LineItem, location_id: int, qty: int) -> None:
    """Promise ``qty`` units at the location to the line (custom lines hold no stock)."""
    if line.inventory_item_id is None:
        return
    catalog.commit(line.inventory_item_id, location_id, qty)
    _add(line, location_id, qty)


def move_commitment(
    catalog: Catalog, line: LineItem, old_location: int, new_location: int, limit: int
) -> None:
    """Carry up to ``limit`` committed units from one location to another."""
    here = line.committed.get(old_location, 0)
    qty = min(here, limit)
    if line.inventory_item_id is None or qty <= 0:
        return
    catalog.release_commit(line.inventory_item_id, old_location, qty)
    catalog.commit(line.inventory_item_id, new_location, qty)
    line.committed[old_location] = here - qty
    _add(line, new_location, qty)


def release_all(catalog: Catalog, line: LineItem) -> None:
    """Give back every unit the line committed anywhere (order cancelled)."""
    for location_id, qty in list(line.committed.items()):
        if line.inventory_item_id is not None and qty > 0:
            catalog.release_commit(line.inventory_item_id, location_id, qty)
        line.committed[location_id] = 0


def ship(catalog: Catalog, line: LineItem, location_id: int, qty: int) -> None:
    """``qty`` units left the location: the commitment (as far as there is one) is used up."""
    committed_here = line.committed.get(location_id, 0)
    if line.inventory_item_id is not None and committed_here > 0:
        shipped = min(committed_here, qty)
        catalog.fulfil(line.inventory_item_id, location_id, shipped)
        line.committed[location_id] = committed_here - shipped


def restock(catalog: Catalog, line: LineItem, location_id: int, qty: int) -> None:
    """A cancelled fulfillment's units are back on the shelf and promised to the order
    again (tracked items only)."""
    if line.inventory_item_id is None:
        return
    item = catalog.inventory_item(line.inventory_item_id)
    if item is not None and item.tracked:
        catalog.adjust_quantity(line.inventory_item_id, location_id, "on_hand", qty)
        catalog.adjust_quantity(line.inventory_item_id, location_id, "committed", qty)
        _add(line, location_id, qty)
