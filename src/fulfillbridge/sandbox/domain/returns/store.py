"""The state of the returns part and the lookups every operation builds on."""

from __future__ import annotations

from typing import Any

from fulfillbridge.sandbox.domain.catalog import Catalog
from fulfillbridge.sandbox.domain.orders import (
    Fulfillment,
    FulfillmentLineItem,
    Order,
    Orders,
    orders_of,
)
from fulfillbridge.sandbox.domain.returns.model import (
    CANCELED,
    DECLINED,
    NOT_FOUND,
    OPEN,
    REQUESTED,
    Return,
    ReverseDelivery,
    ReverseFulfillmentOrder,
    ReverseFulfillmentOrderLineItem,
    by_id,
    number_of,
    refusal,
)
from fulfillbridge.sandbox.state import ShopState


class ReturnsStore:
    """The returns of one shop and what hangs off them: state and lookups."""

    def __init__(self, shop: ShopState) -> None:
        self.shop = shop
        self.returns: dict[int, Return] = {}
        self.reverse_orders: dict[int, ReverseFulfillmentOrder] = {}
        self.deliveries: dict[int, ReverseDelivery] = {}

    # ------------------------------------------------------------------ lookups
    @property
    def orders(self) -> Orders:
        return orders_of(self.shop)

    def _catalog(self) -> Catalog:
        catalog: Catalog = self.shop.part("catalog", Catalog)
        return catalog

    def get(self, global_id: Any) -> Return | None:
        number = number_of(global_id, "Return")
        return self.returns.get(number) if number is not None else None

    def of_order(self, order_id: int) -> list[Return]:
        return sorted((r for r in self.returns.values() if r.order_id == order_id), key=by_id)

    def reverse_orders_of(self, ret: Return) -> list[ReverseFulfillmentOrder]:
        return [self.reverse_orders[i] for i in ret.reverse_order_ids]

    def reverse_line(
        self, line_id: int
    ) -> tuple[ReverseFulfillmentOrder, ReverseFulfillmentOrderLineItem] | None:
        for rfo in self.reverse_orders.values():
            found = rfo.line(line_id)
            if found is not None:
                return rfo, found
        return None

    def fulfillment_line(
        self, order: Order, fli_id: int
    ) -> tuple[Fulfillment, FulfillmentLineItem] | None:
        for fulfillment in self.orders.fulfillments_of(order):
            for fli in fulfillment.line_items:
                if fli.id == fli_id:
                    return fulfillment, fli
        return None

    def returned_quantity(self, order_id: int, fli_id: int) -> int:
        """Units of a fulfillment line that returns already claim (cancelled and declined
        returns release theirs)."""
        return sum(
            line.quantity
            for ret in self.of_order(order_id)
            if ret.status not in {CANCELED, DECLINED}
            for line in ret.line_items
            if line.fulfillment_line_item_id == fli_id
        )

    def returnable_quantity(self, order: Order, fulfillment: Fulfillment, fli_id: int) -> int:
        if fulfillment.status == "CANCELLED":
            return 0
        fli = next((x for x in fulfillment.line_items if x.id == fli_id), None)
        if fli is None:
            return 0
        return max(fli.quantity - self.returned_quantity(order.id, fli_id), 0)

    def order_return_status(self, order: Order) -> str:
        """OrderReturnStatus of an order."""
        live = [r for r in self.of_order(order.id) if r.status not in {CANCELED, DECLINED}]
        if not live:
            return "NO_RETURN"
        if any(r.status == REQUESTED for r in live):
            return "RETURN_REQUESTED"
        if any(r.status == OPEN for r in live):
            return "IN_PROGRESS"
        return "RETURNED"

    def _require(self, global_id: Any, path: list[str]) -> Return:
        ret = self.get(global_id)
        if ret is None:
            raise refusal(path, NOT_FOUND, "NOT_FOUND")
        return ret

    def _touch(self, ret: Return) -> str:
        now = self.shop.clock.iso_now()
        ret.updated_at = now
        order = self.orders.order(ret.order_id)
        if order is not None:
            order.updated_at = now
        return now
