"""The state of the orders part and what every operation builds on: lookups, values
derived from the records (fulfillable quantities, display statuses), and the bookkeeping
shared by the mutations (timestamps, new fulfillment orders, moving units between them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fulfillbridge.sandbox.domain.catalog import Catalog
from fulfillbridge.sandbox.domain.orders import inventory
from fulfillbridge.sandbox.domain.orders.errors import NotFound, fail
from fulfillbridge.sandbox.domain.orders.inputs import hour_floor, id_of
from fulfillbridge.sandbox.domain.orders.model import (
    CANCELLED,
    CLOSED,
    IN_PROGRESS,
    ON_HOLD,
    SCHEDULED,
    Fulfillment,
    FulfillmentOrder,
    FulfillmentOrderLineItem,
    LineItem,
    Order,
)

if TYPE_CHECKING:
    from fulfillbridge.sandbox.state import Location, ShopState


class OrdersStore:
    """All orders, fulfillment orders and fulfillments of one shop."""

    def __init__(self, shop: ShopState) -> None:
        self.shop = shop
        self.orders: dict[int, Order] = {}
        self.fulfillment_orders: dict[int, FulfillmentOrder] = {}
        self.fulfillments: dict[int, Fulfillment] = {}
        self._next_number = 1001
        # Location ids in routing priority order; None means "ascending id" (the order in
        # which locations were created, Shopify's default priority).
        self.location_priority: list[int] | None = None

    # ------------------------------------------------------------------ lookups
    def _catalog(self) -> Catalog:
        return self.shop.part("catalog", Catalog)

    def order(self, order_id: int) -> Order | None:
        return self.orders.get(order_id)

    def fulfillment_order(self, fo_id: int) -> FulfillmentOrder | None:
        return self.fulfillment_orders.get(fo_id)

    def fulfillment(self, fulfillment_id: int) -> Fulfillment | None:
        return self.fulfillments.get(fulfillment_id)

    def require_fo(self, global_id: str) -> FulfillmentOrder:
        """The fulfillment order a mutation names, or ``NotFound`` (captured top-level
        error "Invalid id: gid://shopify/FulfillmentOrder/0")."""
        fo_id = id_of(global_id, "FulfillmentOrder")
        fo = self.fulfillment_orders.get(fo_id) if fo_id is not None else None
        if fo is None:
            raise NotFound(global_id)
        return fo

    def fos_of(self, order: Order) -> list[FulfillmentOrder]:
        return [self.fulfillment_orders[i] for i in order.fulfillment_order_ids]

    def fulfillments_of(self, order: Order) -> list[Fulfillment]:
        return [self.fulfillments[i] for i in order.fulfillment_ids]

    def line_item(self, order: Order, line_item_id: int) -> LineItem:
        return next(li for li in order.line_items if li.id == line_item_id)

    def order_of(self, fo: FulfillmentOrder) -> Order:
        return self.orders[fo.order_id]

    def location(self, location_id: int) -> Location | None:
        return self.shop.locations.get(location_id)

    def is_service_location(self, location_id: int) -> bool:
        location = self.location(location_id)
        return location is not None and location.fulfillment_service_id is not None

    def list_orders(self) -> list[Order]:
        return sorted(self.orders.values(), key=lambda o: o.id)

    # ----------------------------------------------------------------- derived values
    def held_quantity(self, line: LineItem, order: Order) -> int:
        return sum(
            foli.remaining_quantity
            for fo in self.fos_of(order)
            if fo.status == ON_HOLD
            for foli in fo.line_items
            if foli.line_item_id == line.id
        )

    def fulfillable_quantity(self, line: LineItem, order: Order) -> int:
        # quantity minus fulfilled, removed and held units: matches every capture (a hold of
        # 2 of 5 leaves 3; a cancelled unfulfilled order still reads 1 of 1).
        left = line.quantity - line.fulfilled_quantity - line.removed_quantity
        return max(left - self.held_quantity(line, order), 0)

    def display_fulfillment_status(self, order: Order) -> str:
        wanted = sum(li.quantity - li.removed_quantity for li in order.line_items)
        done = sum(li.fulfilled_quantity for li in order.line_items)
        if wanted > 0 and done >= wanted:
            return "FULFILLED"
        if done > 0:
            return "PARTIALLY_FULFILLED"
        active = [fo for fo in self.fos_of(order) if fo.status not in {CLOSED, CANCELLED}]
        if any(fo.status == IN_PROGRESS for fo in active):
            return "IN_PROGRESS"
        if active and all(fo.status == ON_HOLD for fo in active):
            return "ON_HOLD"
        if active and all(fo.status == SCHEDULED for fo in active):
            return "SCHEDULED"
        return "UNFULFILLED"

    def display_financial_status(self, order: Order) -> str | None:
        return order.financial_status

    # ----------------------------------------------------------------- bookkeeping
    def _touch_fo(self, *fos: FulfillmentOrder | None) -> None:
        now = self.shop.clock.iso_now()
        for fo in fos:
            if fo is not None:
                fo.updated_at = now
                self.orders[fo.order_id].updated_at = now

    def _new_fo(
        self, order: Order, location_id: int, *, like: FulfillmentOrder | None = None
    ) -> FulfillmentOrder:
        now = self.shop.clock.iso_now()
        fo = FulfillmentOrder(
            id=self.shop.next_id(),
            order_id=order.id,
            location_id=location_id,
            created_at=now,
            updated_at=now,
            fulfill_at=like.fulfill_at if like else hour_floor(now),
            fulfill_by=like.fulfill_by if like else None,
            delivery_method=like.delivery_method if like else "SHIPPING",
        )
        self.fulfillment_orders[fo.id] = fo
        order.fulfillment_order_ids.append(fo.id)
        return fo

    def _new_sibling(
        self, fo: FulfillmentOrder, location_id: int | None = None
    ) -> FulfillmentOrder:
        """An empty fulfillment order of the same order and dates as ``fo`` (at its location
        unless another is given), to receive units taken from ``fo``."""
        target = fo.location_id if location_id is None else location_id
        return self._new_fo(self.order_of(fo), target, like=fo)

    def _take(
        self,
        source: FulfillmentOrder,
        target: FulfillmentOrder,
        quantities: dict[int, int],
        *,
        drop_emptied: bool = False,
    ) -> None:
        """Move ``quantities`` (source FOLI id -> units) of remaining work to ``target``.

        ``drop_emptied``: a line left with nothing at all leaves ``source`` (what Shopify
        shows after a move or a split of a whole line). Without it the line stays as 0/0,
        as on the fulfillment order a merge or a released hold empties (captures
        residualSplitDeadlineMerge and holdRelease)."""
        for foli_id, qty in quantities.items():
            src = source.line(foli_id)
            if src is None or qty <= 0:
                continue
            src.total_quantity -= qty
            src.remaining_quantity -= qty
            dst = next((x for x in target.line_items if x.line_item_id == src.line_item_id), None)
            if dst is None:
                dst = FulfillmentOrderLineItem(self.shop.next_id(), src.line_item_id, 0, 0)
                target.line_items.append(dst)
            dst.total_quantity += qty
            dst.remaining_quantity += qty
        if drop_emptied:
            kept = [x for x in source.line_items if x.total_quantity > 0]
            if kept:
                source.line_items = kept

    def _split_off_unlisted(
        self, fo: FulfillmentOrder, quantities: dict[int, int]
    ) -> FulfillmentOrder | None:
        """When ``quantities`` names only part of ``fo``, move every unit it does not name
        into a new fulfillment order at the same location and return that one."""
        if not quantities:
            return None
        rest = {x.id: x.remaining_quantity - quantities.get(x.id, 0) for x in fo.line_items}
        if not any(v > 0 for v in rest.values()):
            return None
        split_off = self._new_sibling(fo)
        self._take(fo, split_off, {k: v for k, v in rest.items() if v > 0}, drop_emptied=True)
        return split_off

    def _parse_line_quantities(
        self,
        fo: FulfillmentOrder,
        lines: list[dict[str, Any]] | None,
        field_prefix: list[str],
        *,
        zero_message: str = "Quantity must be greater than 0",
        zero_code: str | None = None,
        too_many_message: str = "Invalid fulfillment order line item quantity requested.",
        too_many_code: str | None = None,
    ) -> dict[int, int]:
        """FOLI id -> quantity from a ``[FulfillmentOrderLineItemInput]`` list."""
        if not lines:
            return {}
        seen: set[int] = set()
        out: dict[int, int] = {}
        for index, entry in enumerate(lines):
            qty = int(entry.get("quantity", 0))
            if qty <= 0:
                raise fail([*field_prefix, str(index), "quantity"], zero_message, zero_code)
            foli_id = id_of(entry.get("id"), "FulfillmentOrderLineItem")
            if foli_id in seen:
                raise fail(
                    field_prefix,
                    "must contain unique line item ids",
                    "DUPLICATED_FULFILLMENT_ORDER_LINE_ITEMS",
                )
            seen.add(foli_id or -1)
            foli = fo.line(foli_id) if foli_id is not None else None
            if foli is None or qty > foli.remaining_quantity:
                raise fail(field_prefix[:1] or None, too_many_message, too_many_code)
            out[foli.id] = qty
        return out

    def _move_commitments(self, order_id: int, moved: FulfillmentOrder, old_location: int) -> None:
        """``moved`` changed location: its lines' committed stock follows it."""
        order = self.orders[order_id]
        if order.inventory_behaviour == "BYPASS":
            return
        catalog = self._catalog()
        for foli in moved.line_items:
            line = self.line_item(order, foli.line_item_id)
            inventory.move_commitment(
                catalog, line, old_location, moved.location_id, foli.remaining_quantity
            )
