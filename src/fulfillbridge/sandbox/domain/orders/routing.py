"""Which location fulfils what: routing a new order's lines into fulfillment orders, and
rerouting untouched fulfillment orders among allowed locations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fulfillbridge.sandbox.domain.orders.errors import fail
from fulfillbridge.sandbox.domain.orders.model import (
    OPEN,
    UNSUBMITTED,
    FulfillmentOrder,
    FulfillmentOrderLineItem,
    LineItem,
    Order,
)
from fulfillbridge.sandbox.domain.orders.store import OrdersStore

if TYPE_CHECKING:
    from fulfillbridge.sandbox.domain.catalog import Catalog
    from fulfillbridge.sandbox.state import Location


def _stock_allows(catalog: Catalog, item_id: int | None, location_id: int, quantity: int) -> bool:
    """The location can ship ``quantity`` units of the item: it stocks the item and, when
    the item is tracked, has that many available. A custom line (no item) ships anywhere."""
    if item_id is None:
        return True
    if catalog.level(item_id, location_id) is None:
        return False
    item = catalog.inventory_item(item_id)
    tracked = item is not None and item.tracked
    return not tracked or catalog.available(item_id, location_id) >= quantity


class Routing(OrdersStore):
    """Assigning order lines to locations."""

    def ordered_locations(self) -> list[Location]:
        """Active locations in routing priority (configured order, then ascending id)."""
        active = [loc for loc in self.shop.locations.values() if loc.is_active]
        if self.location_priority:
            rank = {lid: i for i, lid in enumerate(self.location_priority)}
            return sorted(active, key=lambda loc: (rank.get(loc.id, len(rank)), loc.id))
        return sorted(active, key=lambda loc: loc.id)

    def _route(self, order: Order) -> None:
        """Create the order's fulfillment orders, one per assigned location.

        Like Shopify's default routing: a line stocked at a fulfillment-service location goes
        to that service; among merchant locations, the first in priority order that can ship
        every stocked line gets them all; otherwise each line goes to the first location
        with enough available stock (or the first that stocks it). Custom lines (no variant)
        follow the single merchant location when there is one, else the first active
        merchant location.
        """
        catalog = self._catalog()
        locations = self.ordered_locations()
        merchant = [
            loc
            for loc in locations
            if loc.fulfillment_service_id is None and loc.fulfills_online_orders
        ] or [loc for loc in locations if loc.fulfillment_service_id is None]
        assignment: dict[int, int] = {}
        stocked_lines: list[LineItem] = []
        custom_lines: list[LineItem] = []
        for line in order.line_items:
            if line.inventory_item_id is None:
                custom_lines.append(line)
                continue
            stocked_at = set(catalog.stocked_locations(line.inventory_item_id))
            service_loc = next(
                (
                    loc
                    for loc in locations
                    if loc.fulfillment_service_id is not None and loc.id in stocked_at
                ),
                None,
            )
            if service_loc is not None:
                assignment[line.id] = service_loc.id
            elif not stocked_at:
                custom_lines.append(line)
            else:
                stocked_lines.append(line)

        def can_ship(loc: Location, line: LineItem) -> bool:
            return _stock_allows(catalog, line.inventory_item_id, loc.id, line.quantity)

        whole = next(
            (loc for loc in merchant if all(can_ship(loc, li) for li in stocked_lines)), None
        )
        if stocked_lines:
            for line in stocked_lines:
                if whole is not None:
                    assignment[line.id] = whole.id
                    continue
                assert line.inventory_item_id is not None
                best = next((loc for loc in merchant if can_ship(loc, line)), None)
                if best is None:
                    stocked_at = set(catalog.stocked_locations(line.inventory_item_id))
                    best = next((loc for loc in merchant if loc.id in stocked_at), None)
                if best is None and merchant:
                    best = merchant[0]
                if best is not None:
                    assignment[line.id] = best.id
        merchant_targets = {assignment[li.id] for li in stocked_lines if li.id in assignment}
        if len(merchant_targets) == 1:
            default_target: int | None = next(iter(merchant_targets))
        else:
            default_target = merchant[0].id if merchant else None
        for line in custom_lines:
            if default_target is not None:
                assignment[line.id] = default_target
        by_location: dict[int, list[LineItem]] = {}
        for line in order.line_items:
            target = assignment.get(line.id)
            if target is None:
                continue  # a shop without locations cannot route (no fulfillment order)
            by_location.setdefault(target, []).append(line)
        rank = {loc.id: i for i, loc in enumerate(locations)}
        for location_id in sorted(by_location, key=lambda lid: (rank.get(lid, len(rank)), lid)):
            fo = self._new_fo(order, location_id)
            for line in by_location[location_id]:
                fo.line_items.append(
                    FulfillmentOrderLineItem(
                        self.shop.next_id(), line.id, line.quantity, line.quantity
                    )
                )

    def reroute(
        self,
        fos: list[FulfillmentOrder],
        included: list[int] | None,
        excluded: list[int] | None,
    ) -> list[FulfillmentOrder]:
        """fulfillmentOrdersReroute: route untouched open fulfillment orders again among the
        allowed locations (Shopify docs). The recorded call failed on Shopify's side, so the
        rules here are the documented ones: the first allowed location, in priority order,
        that can ship every line wins; no such location is a userError."""
        catalog = self._catalog()
        allowed = [
            loc
            for loc in self.ordered_locations()
            if (not included or loc.id in included) and loc.id not in (excluded or [])
        ]
        moved: list[FulfillmentOrder] = []
        for index, fo in enumerate(fos):
            if fo.status != OPEN or fo.request_status != UNSUBMITTED or not fo.untouched():
                raise fail(
                    ["fulfillmentOrderIds", str(index)],
                    "Fulfillment order is not in a reroutable state.",
                )
            order = self.order_of(fo)

            def ships(loc: Location, fo: FulfillmentOrder = fo, order: Order = order) -> bool:
                return all(
                    _stock_allows(
                        catalog,
                        self.line_item(order, foli.line_item_id).inventory_item_id,
                        loc.id,
                        foli.remaining_quantity,
                    )
                    for foli in fo.line_items
                )

            target = next((loc for loc in allowed if ships(loc)), None)
            if target is None:
                raise fail(
                    ["fulfillmentOrderIds", str(index)],
                    "No allowed location can fulfill the fulfillment order.",
                )
            if target.id != fo.location_id:
                old = fo.location_id
                fo.location_id = target.id
                self._move_commitments(fo.order_id, fo, old)
                self._touch_fo(fo)
                moved.append(fo)
        return moved
