"""Fulfillments (shipped units) with their tracking and shipment events: creating one from
fulfillment order lines, updating tracking, recording events, cancelling one."""

from __future__ import annotations

from typing import Any

from fulfillbridge.sandbox.domain.orders import inventory
from fulfillbridge.sandbox.domain.orders.errors import INVALID_QUANTITY, fail
from fulfillbridge.sandbox.domain.orders.inputs import id_of, iso
from fulfillbridge.sandbox.domain.orders.model import (
    CLOSED,
    IN_PROGRESS,
    INCOMPLETE,
    OPEN,
    UNSUBMITTED,
    Fulfillment,
    FulfillmentEvent,
    FulfillmentLineItem,
    FulfillmentOrder,
    TrackingInfo,
)
from fulfillbridge.sandbox.domain.orders.payloads import OrderPayloads

# fulfillment order -> (FOLI id -> units to fulfil)
_Plan = list[tuple[FulfillmentOrder, dict[int, int]]]


def _tracking_list(raw: dict[str, Any] | None) -> list[TrackingInfo]:
    """A ``FulfillmentTrackingInput`` as tracking entries (``number``/``url`` first)."""
    if not raw:
        return []
    numbers = list(raw.get("numbers") or [])
    urls = list(raw.get("urls") or [])
    if raw.get("number"):
        numbers = [raw["number"], *[n for n in numbers if n != raw["number"]]]
    if raw.get("url"):
        urls = [raw["url"], *[u for u in urls if u != raw["url"]]]
    company = raw.get("company")
    if not numbers:
        return [TrackingInfo(None, urls[0] if urls else None, company)] if (urls or company) else []
    return [
        TrackingInfo(number, urls[i] if i < len(urls) else None, company)
        for i, number in enumerate(numbers)
    ]


# Statuses a fulfillment can be created from; INCOMPLETE is work its service gave up on,
# which the merchant may still fulfil (measured: CREATE_FULFILLMENT is offered).
FULFILLABLE = frozenset({OPEN, IN_PROGRESS, INCOMPLETE})


def _id_list(ids: list[int]) -> str:
    """Ids as Shopify prints them in these messages: ``[1, 2]``."""
    return "[" + ", ".join(str(i) for i in ids) + "]"


def by_location(fos: list[FulfillmentOrder]) -> list[list[FulfillmentOrder]]:
    """``fos`` grouped by assigned location (one fulfillment covers one location)."""
    groups: dict[int, list[FulfillmentOrder]] = {}
    for fo in fos:
        groups.setdefault(fo.location_id, []).append(fo)
    return list(groups.values())


class Fulfillments(OrderPayloads):
    """Creating, tracking and cancelling fulfillments."""

    def create_fulfillment(
        self, fulfillment_input: dict[str, Any], message: str | None = None
    ) -> Fulfillment:
        """fulfillmentCreate (and the deprecated fulfillmentCreateV2)."""
        plan = self._plan_fulfillment(fulfillment_input.get("lineItemsByFulfillmentOrder") or [])
        first = plan[0][0]
        order = self.orders[first.order_id]
        now = self.shop.clock.iso_now()
        catalog = self._catalog()
        fulfillment = Fulfillment(
            id=self.shop.next_id(),
            order_id=order.id,
            location_id=first.location_id,
            name=f"{order.name}.{len(order.fulfillment_ids) + 1}",
            created_at=now,
            updated_at=now,
            tracking=_tracking_list(fulfillment_input.get("trackingInfo")),
            fulfillment_order_ids=[fo.id for fo, _ in plan],
            origin_address=fulfillment_input.get("originAddress"),
            notify_customer=bool(fulfillment_input.get("notifyCustomer")),
            message=message,
        )
        # Measured: one fulfillment line item per order line, its quantity summed over the
        # fulfillment orders of the call that hold units of that line.
        by_line: dict[int, FulfillmentLineItem] = {}
        for fo, quantities in plan:
            for foli_id, qty in quantities.items():
                foli = fo.line(foli_id)
                assert foli is not None
                foli.remaining_quantity -= qty
                line = self.line_item(order, foli.line_item_id)
                line.fulfilled_quantity += qty
                fli = by_line.get(line.id)
                if fli is None:
                    fli = FulfillmentLineItem(self.shop.next_id(), line.id, 0)
                    by_line[line.id] = fli
                    fulfillment.line_items.append(fli)
                fli.quantity += qty
                fli.parts.append((fo.id, foli.id, qty))
                inventory.ship(catalog, line, fo.location_id, qty)
            if fo.remaining() == 0:
                fo.status = CLOSED
                fo.pending_cancellation_id = None
            elif fo.status in {OPEN, INCOMPLETE}:
                fo.status = IN_PROGRESS
            fo.updated_at = now
        self.fulfillments[fulfillment.id] = fulfillment
        order.fulfillment_ids.append(fulfillment.id)
        order.updated_at = now
        self.shop.emit("fulfillments/create", self.fulfillment_payload(fulfillment))
        order_payload = self.order_payload(order)
        if self.display_fulfillment_status(order) == "FULFILLED":
            self.shop.emit("orders/fulfilled", order_payload)
        else:
            self.shop.emit("orders/partially_fulfilled", order_payload)
        self.shop.emit("orders/updated", order_payload)
        return fulfillment

    def _plan_fulfillment(self, groups: list[dict[str, Any]]) -> _Plan:
        """Check a ``lineItemsByFulfillmentOrder`` list and say what it fulfils."""
        field_path = ["fulfillment", "lineItemsByFulfillmentOrder"]
        if not groups:
            raise fail(field_path, "Line items by fulfillment order can't be blank")
        # Input shape first (capture fulfillment-create-preconditions "nonPositiveQuantity").
        for gi, group in enumerate(groups):
            for li, entry in enumerate(group.get("fulfillmentOrderLineItems") or []):
                if int(entry.get("quantity", 0)) <= 0:
                    raise fail(
                        [*field_path, str(gi), "fulfillmentOrderLineItems", str(li), "quantity"],
                        "Quantity must be greater than 0",
                    )
        fos: list[FulfillmentOrder] = []
        for group in groups:
            fo_id = id_of(group.get("fulfillmentOrderId"), "FulfillmentOrder")
            fo = self.fulfillment_orders.get(fo_id) if fo_id is not None else None
            if fo is None:
                raise fail(["fulfillment"], "Fulfillment order does not exist.")
            if fo.status not in FULFILLABLE:
                raise fail(
                    ["fulfillment"],
                    f"Fulfillment order {fo.id} has an unfulfillable status= {fo.status.lower()}.",
                )
            fos.append(fo)
        # docs/shopify.md#fulfillments: one call covers one order at one location; the
        # wording (and the ids, numeric, in the order given) was measured on Shopify.
        order_ids = list(dict.fromkeys(fo.order_id for fo in fos))
        if len(order_ids) > 1:
            raise fail(
                ["fulfillment"],
                "All fulfillment orders must belong to the same order. "
                f"Multiple orders with ids {_id_list(order_ids)} were found.",
            )
        location_ids = list(dict.fromkeys(fo.location_id for fo in fos))
        if len(location_ids) > 1:
            raise fail(
                ["fulfillment"],
                "All fulfillment orders must be assigned to a single location. "
                f"Multiple locations with ids {_id_list(location_ids)} were found.",
            )
        plan: _Plan = []
        for fo, group in zip(fos, groups, strict=True):
            entries = group.get("fulfillmentOrderLineItems")
            if entries:
                quantities: dict[int, int] = {}
                for entry in entries:
                    foli_id = id_of(entry.get("id"), "FulfillmentOrderLineItem")
                    foli = fo.line(foli_id) if foli_id is not None else None
                    if foli is None:
                        raise fail(["fulfillment"], "Fulfillment order line item does not exist.")
                    qty = int(entry["quantity"])
                    if qty + quantities.get(foli.id, 0) > foli.remaining_quantity:
                        raise fail(["fulfillment"], INVALID_QUANTITY)
                    quantities[foli.id] = quantities.get(foli.id, 0) + qty
            else:
                quantities = fo.remaining_by_line()
            plan.append((fo, {k: v for k, v in quantities.items() if v > 0}))
        if not any(q for _, q in plan):
            raise fail(["fulfillment"], INVALID_QUANTITY)
        return plan

    def fulfil_everything(
        self, fos: list[FulfillmentOrder], fulfillment_input: dict[str, Any]
    ) -> Fulfillment:
        """One fulfillment of all that is left on ``fos`` (one location), with the other
        ``FulfillmentInput`` fields (tracking, origin, notification) from the given dict."""
        return self.create_fulfillment(
            {
                "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo.gid} for fo in fos],
                **fulfillment_input,
            }
        )

    def _require_fulfillment(self, global_id: str, field_path: list[str]) -> Fulfillment:
        fid = id_of(global_id, "Fulfillment")
        fulfillment = self.fulfillments.get(fid) if fid is not None else None
        if fulfillment is None:
            raise fail(field_path, "Fulfillment does not exist.")
        return fulfillment

    def update_tracking(
        self, fulfillment_gid: str, tracking_input: dict[str, Any], notify_customer: bool = False
    ) -> Fulfillment:
        """fulfillmentTrackingInfoUpdate; allowed on cancelled fulfillments too (capture
        2026-04_orders_fulfillment-state-preconditions.json)."""
        fulfillment = self._require_fulfillment(fulfillment_gid, ["fulfillmentId"])
        fulfillment.tracking = _tracking_list(tracking_input)
        fulfillment.notify_customer = notify_customer
        fulfillment.updated_at = self.shop.clock.iso_now()
        self._emit_fulfillment_updated(fulfillment)
        return fulfillment

    def create_event(self, event_input: dict[str, Any]) -> FulfillmentEvent:
        """fulfillmentEventCreate; accepted on cancelled fulfillments (captures
        fulfillment-state-preconditions and fulfillment-event-create-validation)."""
        fulfillment = self._require_fulfillment(
            event_input.get("fulfillmentId", ""), ["fulfillmentEvent", "fulfillmentId"]
        )
        now = self.shop.clock.iso_now()
        event = FulfillmentEvent(
            id=self.shop.next_id(),
            fulfillment_id=fulfillment.id,
            status=event_input["status"],
            created_at=now,
            happened_at=iso(event_input.get("happenedAt")) or now,
            message=event_input.get("message"),
            estimated_delivery_at=iso(event_input.get("estimatedDeliveryAt")),
            city=event_input.get("city"),
            province=event_input.get("province"),
            country=event_input.get("country"),
            zip=event_input.get("zip"),
            address1=event_input.get("address1"),
            latitude=event_input.get("latitude"),
            longitude=event_input.get("longitude"),
        )
        fulfillment.events.append(event)
        fulfillment.updated_at = now
        self.shop.emit("fulfillment_events/create", self.event_payload(event, fulfillment))
        self._emit_fulfillment_updated(fulfillment)
        return event

    def cancel_fulfillment(self, fulfillment_gid: str) -> Fulfillment:
        """fulfillmentCancel: idempotent on a cancelled fulfillment, allowed after DELIVERED
        (capture 2026-04_orders_fulfillment-state-preconditions.json). The units go back to
        their fulfillment orders, which reopen."""
        fulfillment = self._require_fulfillment(fulfillment_gid, ["id"])
        if fulfillment.status == "CANCELLED":
            return fulfillment
        now = self.shop.clock.iso_now()
        order = self.orders[fulfillment.order_id]
        catalog = self._catalog()
        for fli in fulfillment.line_items:
            line = self.line_item(order, fli.line_item_id)
            line.fulfilled_quantity -= fli.quantity
            for fo_id, foli_id, units in fli.parts:
                fo = self.fulfillment_orders.get(fo_id)
                foli = fo.line(foli_id) if fo is not None else None
                if fo is None or foli is None:
                    continue
                foli.remaining_quantity += units
                if order.cancelled_at is None and fo.status == CLOSED:
                    fo.status = OPEN if fo.request_status == UNSUBMITTED else IN_PROGRESS
                fo.updated_at = now
                if order.inventory_behaviour != "BYPASS":
                    inventory.restock(catalog, line, fo.location_id, units)
        fulfillment.status = "CANCELLED"
        fulfillment.updated_at = now
        order.updated_at = now
        self._emit_fulfillment_updated(fulfillment)
        self._emit_order_updated(order)
        return fulfillment
