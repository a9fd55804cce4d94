"""The way back: reverse fulfillment orders, the parcels that carry returned units
(reverse deliveries with tracking and a label) and what becomes of each unit
(dispositions; RESTOCKED puts it back into ``available``)."""

from __future__ import annotations

from typing import Any

from fulfillbridge.sandbox.domain.catalog import Catalog
from fulfillbridge.sandbox.domain.orders import (
    LineItem,
    OrderUserErrors,
    UserError,
)
from fulfillbridge.sandbox.domain.returns.model import (
    CLOSED,
    CUSTOM_LINE_RESTOCK,
    EMPTY_DISPOSITIONS,
    INVALID_DISPOSE_QUANTITY,
    NO_REVERSE_DELIVERY,
    NO_REVERSE_LINE,
    OPEN,
    RESTOCKED,
    SANDBOX_WORDING,
    SEVERAL_REVERSE_ORDERS,
    Disposition,
    Return,
    ReverseDelivery,
    ReverseDeliveryLineItem,
    ReverseFulfillmentOrder,
    ReverseFulfillmentOrderLineItem,
    number_of,
    refusal,
    user_error,
)
from fulfillbridge.sandbox.domain.returns.payloads import ReturnPayloads


class ReverseLogistics(ReturnPayloads):
    """Reverse fulfillment orders, reverse deliveries and dispositions."""

    def _open_reverse_order(self, ret: Return) -> ReverseFulfillmentOrder:
        rfo = ReverseFulfillmentOrder(
            id=self.shop.next_id(), return_id=ret.id, order_id=ret.order_id
        )
        for line in ret.line_items:
            rfo.line_items.append(
                ReverseFulfillmentOrderLineItem(
                    id=self.shop.next_id(),
                    return_line_item_id=line.id,
                    fulfillment_line_item_id=line.fulfillment_line_item_id,
                    total_quantity=line.quantity,
                )
            )
        self.reverse_orders[rfo.id] = rfo
        ret.reverse_order_ids.append(rfo.id)
        return rfo

    # ------------------------------------------------------------------ reverse deliveries
    def create_delivery(
        self,
        reverse_order_gid: Any,
        lines: list[dict[str, Any]],
        tracking: dict[str, Any] | None,
        label: dict[str, Any] | None,
    ) -> ReverseDelivery:
        """reverseDeliveryCreateWithShipping: which units travel back, with tracking and a
        label; an empty line list means every unit not yet on a delivery."""
        number = number_of(reverse_order_gid, "ReverseFulfillmentOrder")
        rfo = self.reverse_orders.get(number) if number is not None else None
        if rfo is None:
            raise refusal(
                ["reverseFulfillmentOrderId"], SANDBOX_WORDING["no_reverse_order"], "NOT_FOUND"
            )
        if rfo.status != OPEN:
            raise refusal(
                ["reverseFulfillmentOrderId"],
                SANDBOX_WORDING["reverse_order_not_open"],
                "INVALID_STATE",
            )
        on_deliveries: dict[int, int] = {}
        for delivery_id in rfo.delivery_ids:
            for dli in self.deliveries[delivery_id].line_items:
                key = dli.reverse_line_item_id
                on_deliveries[key] = on_deliveries.get(key, 0) + dli.quantity
        plan: list[tuple[int, int]] = []
        errors: list[UserError] = []
        if not lines:
            plan = [
                (x.id, x.total_quantity - on_deliveries.get(x.id, 0))
                for x in rfo.line_items
                if x.total_quantity > on_deliveries.get(x.id, 0)
            ]
        for index, entry in enumerate(lines):
            where = ["reverseDeliveryLineItems", str(index)]
            line_id = number_of(
                entry.get("reverseFulfillmentOrderLineItemId"), "ReverseFulfillmentOrderLineItem"
            )
            line = rfo.line(line_id) if line_id is not None else None
            if line is None:
                errors.append(
                    user_error(
                        [*where, "reverseFulfillmentOrderLineItemId"], NO_REVERSE_LINE, "NOT_FOUND"
                    )
                )
                continue
            quantity = int(entry.get("quantity", 0))
            taken = on_deliveries.get(line.id, 0) + sum(q for i, q in plan if i == line.id)
            if quantity <= 0 or quantity > line.total_quantity - taken:
                errors.append(user_error([*where, "quantity"], INVALID_DISPOSE_QUANTITY, "INVALID"))
                continue
            plan.append((line.id, quantity))
        if errors:
            raise OrderUserErrors(*errors)
        if not plan:
            raise refusal(["reverseDeliveryLineItems"], INVALID_DISPOSE_QUANTITY, "INVALID")
        now = self.shop.clock.iso_now()
        delivery = ReverseDelivery(id=self.shop.next_id(), reverse_order_id=rfo.id, created_at=now)
        delivery.line_items = [
            ReverseDeliveryLineItem(self.shop.next_id(), line_id, quantity)
            for line_id, quantity in plan
        ]
        self._apply_shipping(delivery, tracking, label)
        self.deliveries[delivery.id] = delivery
        rfo.delivery_ids.append(delivery.id)
        self._touch(self.returns[rfo.return_id])
        if delivery.tracking_number or delivery.tracking_url or delivery.label_url:
            self._emit_delivery(delivery)
        return delivery

    def update_delivery(
        self, delivery_gid: Any, tracking: dict[str, Any] | None, label: dict[str, Any] | None
    ) -> ReverseDelivery:
        """reverseDeliveryShippingUpdate: new tracking or label for a delivery."""
        number = number_of(delivery_gid, "ReverseDelivery")
        delivery = self.deliveries.get(number) if number is not None else None
        if delivery is None:
            raise refusal(["reverseDeliveryId"], NO_REVERSE_DELIVERY, "NOT_FOUND")
        self._apply_shipping(delivery, tracking, label)
        self._emit_delivery(delivery)
        return delivery

    def _apply_shipping(
        self,
        delivery: ReverseDelivery,
        tracking: dict[str, Any] | None,
        label: dict[str, Any] | None,
    ) -> None:
        now = self.shop.clock.iso_now()
        if tracking:
            if "number" in tracking:
                delivery.tracking_number = tracking.get("number")
            if "url" in tracking:
                delivery.tracking_url = tracking.get("url")
        if label and label.get("fileUrl"):
            delivery.label_url = label["fileUrl"]
            delivery.label_created_at = delivery.label_created_at or now
            delivery.label_updated_at = now

    # ------------------------------------------------------------------ dispositions
    def dispose(
        self, inputs: list[dict[str, Any]], *, field_prefix: list[str] | None = None
    ) -> list[ReverseFulfillmentOrderLineItem]:
        """reverseFulfillmentOrderDispose: all or nothing, one reverse fulfillment order."""
        prefix = field_prefix or ["dispositionInputs"]
        plan = self._plan_dispositions(inputs, prefix)
        return self._apply_dispositions(plan)

    def _plan_dispositions(
        self, inputs: list[dict[str, Any]], prefix: list[str]
    ) -> list[tuple[ReverseFulfillmentOrder, ReverseFulfillmentOrderLineItem, dict[str, Any]]]:
        if not inputs:
            raise refusal(prefix, EMPTY_DISPOSITIONS, "BLANK")
        errors: list[UserError] = []
        plan: list[
            tuple[ReverseFulfillmentOrder, ReverseFulfillmentOrderLineItem, dict[str, Any]]
        ] = []
        wanted: dict[int, int] = {}
        for index, entry in enumerate(inputs):
            where = [*prefix, str(index)]
            line_id = number_of(
                entry.get("reverseFulfillmentOrderLineItemId"), "ReverseFulfillmentOrderLineItem"
            )
            found = self.reverse_line(line_id) if line_id is not None else None
            if found is None:
                errors.append(
                    user_error(
                        [*where, "reverseFulfillmentOrderLineItemId"], NO_REVERSE_LINE, "NOT_FOUND"
                    )
                )
                continue
            rfo, line = found
            if rfo.status != OPEN:
                errors.append(
                    user_error(
                        [*where, "reverseFulfillmentOrderLineItemId"],
                        SANDBOX_WORDING["reverse_order_not_open"],
                        "INVALID_STATE",
                    )
                )
                continue
            quantity = int(entry.get("quantity", 0))
            if quantity <= 0 or quantity > line.remaining - wanted.get(line.id, 0):
                errors.append(user_error([*where, "quantity"], INVALID_DISPOSE_QUANTITY, "INVALID"))
                continue
            kind = entry.get("dispositionType")
            location_raw = entry.get("locationId")
            location_id = number_of(location_raw, "Location") if location_raw is not None else None
            if location_raw is not None and (
                location_id is None or location_id not in self.shop.locations
            ):
                errors.append(
                    user_error([*where, "locationId"], SANDBOX_WORDING["no_location"], "NOT_FOUND")
                )
                continue
            if kind == RESTOCKED:
                order_line = self._order_line(rfo, line)
                if order_line.inventory_item_id is None:
                    errors.append(
                        user_error([*where, "dispositionType"], CUSTOM_LINE_RESTOCK, "INVALID")
                    )
                    continue
                if location_id is None:
                    errors.append(
                        user_error(
                            [*where, "locationId"], SANDBOX_WORDING["location_required"], "BLANK"
                        )
                    )
                    continue
            wanted[line.id] = wanted.get(line.id, 0) + quantity
            plan.append((rfo, line, {"type": kind, "quantity": quantity, "location": location_id}))
        if not errors and len({rfo.id for rfo, _, _ in plan}) > 1:
            errors.append(user_error(prefix, SEVERAL_REVERSE_ORDERS, "INVALID"))
        if errors:
            raise OrderUserErrors(*errors)
        return plan

    def _order_line(
        self, rfo: ReverseFulfillmentOrder, line: ReverseFulfillmentOrderLineItem
    ) -> LineItem:
        order = self.orders.orders[rfo.order_id]
        ret = self.returns[rfo.return_id]
        return_line = ret.line(line.return_line_item_id)
        assert return_line is not None
        return self.orders.line_item(order, return_line.line_item_id)

    def _apply_dispositions(
        self,
        plan: list[tuple[ReverseFulfillmentOrder, ReverseFulfillmentOrderLineItem, dict[str, Any]]],
    ) -> list[ReverseFulfillmentOrderLineItem]:
        now = self.shop.clock.iso_now()
        catalog = self._catalog()
        touched: list[ReverseFulfillmentOrderLineItem] = []
        made: list[
            tuple[ReverseFulfillmentOrder, ReverseFulfillmentOrderLineItem, Disposition]
        ] = []
        for rfo, line, what in plan:
            disposition = Disposition(
                id=self.shop.next_id(),
                type=what["type"],
                quantity=what["quantity"],
                location_id=what["location"],
                created_at=now,
            )
            line.dispositions.append(disposition)
            made.append((rfo, line, disposition))
            if line not in touched:
                touched.append(line)
            if disposition.type == RESTOCKED and disposition.location_id is not None:
                item_id = self._order_line(rfo, line).inventory_item_id
                assert item_id is not None
                self._restock(catalog, item_id, disposition.location_id, disposition.quantity)
        for rfo in {id(r): r for r, _, _ in plan}.values():
            if all(x.remaining == 0 for x in rfo.line_items):
                rfo.status = CLOSED
            self._touch(self.returns[rfo.return_id])
            self._emit_dispositions(rfo, [(line, d) for r, line, d in made if r is rfo])
        return touched

    @staticmethod
    def _restock(catalog: Catalog, item_id: int, location_id: int, quantity: int) -> None:
        """Returned units are back on the shelf: available (and on_hand) go up; Catalog
        announces the level (inventory_levels/update). Untracked items have no count; an
        item not stocked at the location is stocked there first."""
        item = catalog.inventory_item(item_id)
        if item is None or not item.tracked:
            return
        if catalog.level(item_id, location_id) is None:
            catalog.activate(item_id, location_id)
        catalog.adjust_quantity(item_id, location_id, "available", quantity)
